"""The Cython backend's instruction-set levels (fastpg/_cy/__init__.py): the
level loaded is one the CPU supports, every module built for it is loaded
from its directory (cimports included), FASTPG_ISA forces a level or makes
the backend unavailable with the reason, and every level computes the same
bits as the baseline on every kernel built for it, flat-stream return scans
aside (within tolerance there)."""
import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest

cy = pytest.importorskip("fastpg._cy", reason="the Cython backend is not built")


def _run(code, isa, tmp_path=None):
    env = dict(os.environ, FASTPG_ISA=isa)
    res = subprocess.run([sys.executable, "-c", textwrap.dedent(code)], env=env,
                         capture_output=True, text=True, timeout=600,
                         cwd=tmp_path or os.getcwd())
    assert res.returncode == 0, res.stderr[-3000:]
    return res.stdout


def test_loaded_level_is_supported_and_consistent():
    assert cy.ISA in cy.LEVELS and cy.CPU_ISA in cy.LEVELS
    assert cy.LEVELS.index(cy.ISA) <= cy.LEVELS.index(cy.CPU_ISA)
    # policy before policy_linear: policy's cimports load policy_linear, which
    # must come from the same directory as an import of it would
    for name in ("returns", "offpolicy", "policy", "policy_linear", "tabular", "replay"):
        __import__(f"fastpg._cy.{name}")
        where = os.path.basename(os.path.dirname(sys.modules[f"fastpg._cy.{name}"].__file__))
        assert where == ("_" + cy.ISA if name in cy.ISA_MODULES else "_cy"), (name, where)


@pytest.mark.parametrize("level", cy.LEVELS)
def test_forced_level(level):
    if cy.LEVELS.index(level) > cy.LEVELS.index(cy.CPU_ISA) or \
            (level != "baseline" and not cy._built(level)):
        pytest.skip(f"{level}: not supported by this CPU ({cy.CPU_ISA}) or not built")
    out = _run("""
        import sys, fastpg, fastpg._cy as cy, numpy as np
        r = fastpg.discounted_returns(np.ones(5, np.float32), 0.5, backend="cython")
        print(cy.ISA, ",".join(cy.ISA_MODULES) or "-", sys.modules["fastpg._cy.returns"].__file__, r[0])
    """, level)
    isa, modules, path, first = out.split()
    assert isa == level and first == "1.9375"
    if level == "baseline":
        assert modules == "-" and "/_cy/returns." in path
    else:
        assert "returns" in modules.split(",") and f"/_cy/_{level}/returns." in path


@pytest.mark.parametrize("value,says", [("avx3", "must be one of auto, baseline, avx2"),
                                        ("", None)])
def test_bad_or_empty_setting(value, says):
    out = _run("""
        import fastpg
        print(fastpg.why_unavailable("cython"))
    """, value)
    if says is None:
        assert out.strip() == "None"
    else:
        assert says in out and "FASTPG_ISA" in out and "build it" not in out


def test_level_the_cpu_lacks_is_refused():
    top = cy.LEVELS[-1]
    if cy.CPU_ISA == top:
        pytest.skip(f"this CPU supports every level ({top})")
    out = _run("import fastpg; print(fastpg.why_unavailable('cython'))", top)
    assert f"FASTPG_ISA={top}: this CPU supports only {cy.CPU_ISA}" in out


# every kernel of the modules built per level, at the table's small and bench sizes
_OUTCOMES = """
    import sys, numpy as np, fastpg._cy as cy
    from fastpg.bench.specs import SPECS
    fams = {"returns": "returns", "offpolicy": "offpolicy", "policy_linear": "policy"}
    want = {fams[m] for m in cy.ISA_MODULES} or set(fams.values())
    out = {}
    for spec in SPECS:
        if spec.family not in want:
            continue
        for size in ("small", "bench"):  # the remainder loops, and the vector ones
            for dt in spec.dtypes:
                args, kw = spec.args(size, dt, seed=7)
                res, arrays = spec.outcome(args, kw, "cython")
                res = res if isinstance(res, tuple) else (res,)
                for i, a in enumerate(list(res) + arrays):
                    if isinstance(a, np.ndarray) or np.isscalar(a):
                        out[f"{spec.name}.{size}.{np.dtype(dt).name}.{i}"] = np.asarray(a)
    np.savez(sys.argv[1] if len(sys.argv) > 1 else "out.npz", **out)
    print(cy.ISA, len(out))
"""


def test_every_level_computes_the_same_bits(tmp_path):
    levels = [lv for lv in cy.LEVELS[1:cy.LEVELS.index(cy.CPU_ISA) + 1] if cy._built(lv)]
    if not levels:
        pytest.skip(f"no level above the baseline is built and supported (CPU {cy.CPU_ISA})")
    base = _run(_OUTCOMES, "baseline", tmp_path)
    os.rename(tmp_path / "out.npz", tmp_path / "baseline.npz")
    want = np.load(tmp_path / "baseline.npz")
    assert base.split()[0] == "baseline" and int(base.split()[1]) > 20
    for level in levels:
        got_out = _run(_OUTCOMES, level, tmp_path)
        assert got_out.split() == [level, base.split()[1]]
        got = np.load(tmp_path / "out.npz")
        assert sorted(got.files) == sorted(want.files)
        for k in want.files:
            a, b = want[k], got[k]
            assert a.dtype == b.dtype and a.shape == b.shape, k
            # bit for bit, NaN payloads included
            assert a.tobytes() == b.tobytes(), f"{k} differs between baseline and {level}"


_FLAT = """
    import sys, numpy as np, fastpg, fastpg._cy as cy
    rng = np.random.default_rng(5)
    T = 40_003
    r, v, nv = rng.standard_normal((3, T))
    term, trunc = rng.random((2, T)) < 0.004
    out = {}
    for dt in (np.float32, np.float64):
        a = [x.astype(dt) for x in (r, v, nv)]
        g = rng.uniform(0.9, 1.0, T).astype(dt)
        out[f"disc.{dt.__name__}"] = fastpg.discounted_returns(a[0], g, term, trunc, a[2],
                                                                backend="cython")
        out[f"gae.{dt.__name__}"] = fastpg.gae(a[0], a[1], a[2], 0.99, 0.95, term, trunc,
                                               backend="cython").advantages
        out[f"lam.{dt.__name__}"] = fastpg.lambda_returns(a[0], a[2], 0.99, 0.9, term, trunc,
                                                          backend="cython")
    np.savez("flat.npz", **out)
    print(cy.ISA)
"""


def test_flat_streams_agree_across_levels(tmp_path):
    """The one exception to the same bits: a flat stream's vector chunks are
    as wide as the level (src_cython/fpg_scan_simd.h), the baseline runs 4
    scalar chains, so the sums associate differently; within tolerance."""
    levels = [lv for lv in cy.LEVELS[1:cy.LEVELS.index(cy.CPU_ISA) + 1] if cy._built(lv)]
    if not levels:
        pytest.skip(f"no level above the baseline is built and supported (CPU {cy.CPU_ISA})")
    assert _run(_FLAT, "baseline", tmp_path).strip() == "baseline"
    os.rename(tmp_path / "flat.npz", tmp_path / "baseline.npz")
    want = np.load(tmp_path / "baseline.npz")
    for level in levels:
        assert _run(_FLAT, level, tmp_path).strip() == level
        got = np.load(tmp_path / "flat.npz")
        for k in want.files:
            f32 = k.endswith("float32")
            np.testing.assert_allclose(got[k], want[k], rtol=2e-5 if f32 else 1e-12,
                                       atol=2e-5 if f32 else 1e-12, err_msg=f"{k} at {level}")

"""`fastpg bench`'s account of ``backend="auto"``: which backend each
workload's calls resolve to, and the pick against the fastest backend."""
import json

import numpy as np
import pytest

import fastpg
from fastpg import _backend, cli
from fastpg.bench.auto import AUTO_SLACK, auto_pick, auto_summary, print_summary


def _mdp(S, A=4, seed=0):
    rng = np.random.default_rng(seed)
    P = rng.random((S, A, S))
    P /= P.sum(-1, keepdims=True)
    return P, rng.random((S, A))


def test_auto_pick_follows_the_width_rule():
    """value_iteration passes S for a dense P and 0 for a sparse one: the
    pick is what resolve says for each, and the call still runs."""
    P, R = _mdp(32)
    dense = auto_pick(lambda: fastpg.value_iteration(P, R, 0.9, backend="auto"))
    assert dense == (_backend.resolve("value_iteration", "auto", 32),)
    idx = np.broadcast_to(np.arange(4), (32, 4, 4)).copy()
    probs = np.full((32, 4, 4), 0.25)
    sparse = auto_pick(lambda: fastpg.value_iteration((idx, probs), R, 0.9, backend="auto"))
    assert sparse == (_backend.resolve("value_iteration", "auto", 0),)
    if _backend.available("numba") and _backend.available("cython"):
        assert dense == ("numba",) and sparse == ("cython",)
    assert _backend.kernel.__name__ == "kernel"  # the spy is gone


def test_auto_pick_sees_every_kernel_of_a_workload_and_restores_on_error():
    """A workload that calls several kernels reports each; an exception in
    the workload leaves _backend.kernel as it was."""
    fastpg_gae = (lambda: fastpg.gae(np.ones((8, 2)), np.zeros((8, 2)), np.zeros(2), 0.9, 0.9,
                                     backend="auto"))

    def two():
        fastpg_gae()
        fastpg.discounted_returns(np.ones(8), 0.9, backend="numpy")

    got = auto_pick(two)
    assert "numpy" in got and set(got) <= set(_backend.BACKENDS)
    real = _backend.kernel
    with pytest.raises(ZeroDivisionError):
        auto_pick(lambda: (fastpg_gae(), 1 / 0))
    assert _backend.kernel is real
    assert auto_pick(lambda: None) == ()


def _row(kernel, backend, rate, auto):
    return dict(kernel=kernel, size="s", backend=backend, elements_per_s=rate, auto=auto,
                median_s=1.0 / rate)


def test_auto_summary_compares_rates_and_flags_slow_picks(capsys):
    rows = [_row("k1", "numpy", 1.0, False), _row("k1", "numba", 100.0, False),
            _row("k1", "cython", 95.0, True),                    # within 10%
            _row("k2", "numba", 100.0, True), _row("k2", "cython", 80.0, False),
            _row("k3", "numba", 100.0, False), _row("k3", "cython", 80.0, True),  # 1.25x
            _row("k4", "numba", 1.0, False), _row("k4", "cython", 1.0, False),  # no pick
            _row("k1", "np.add.at*", 1000.0, False)]  # not a backend: ignored
    got = {s["kernel"]: s for s in auto_summary(rows)}
    assert set(got) == {"k1", "k2", "k3"}
    assert got["k1"]["pick"] == "cython" and got["k1"]["fastest"] == "numba"
    assert got["k1"]["ratio"] == pytest.approx(100 / 95)
    assert got["k2"]["ratio"] == 1.0
    assert got["k3"]["ratio"] == pytest.approx(1.25) and 1.25 > AUTO_SLACK
    print_summary(list(got.values()))
    out = capsys.readouterr().out
    assert "on 2 of 3 workloads" in out and "k3 s runs cython, 1.25x numba's time" in out


def test_bench_marks_what_auto_runs(tmp_path, capsys):
    path = tmp_path / "b.json"
    assert cli.main(["bench", "--kernels", "value_iteration", "--json", str(path)]) == 0
    out = capsys.readouterr().out
    data = json.loads(path.read_text())
    rows = data["results"]
    pick = _backend.resolve("value_iteration", "auto", 0)  # the quick size is sparse
    assert [r["backend"] for r in rows if r["auto"]] == [pick]
    assert f"{pick} (auto)" in out
    [entry] = data["auto"]
    assert entry["pick"] == pick and entry["ratio"] >= 1.0
    assert "within 10% of the fastest backend" in out

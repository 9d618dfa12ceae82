"""The command line: `fastpg info`, `fastpg bench` (restricted to one small
workload to keep the suite fast) and `python -m fastpg`."""
import json
import os
import subprocess
import sys

import pytest

from fastpg import _backend, cli


def test_info(capsys):
    assert cli.main(["info"]) == 0
    text = capsys.readouterr().out
    assert "fastpg" in text
    for b in _backend.BACKENDS:
        assert b in text


def test_bench_json_and_table(tmp_path, capsys):
    path = tmp_path / "b.json"
    assert cli.main(["bench", "--kernels", "gae", "--sizes", "T2048xB64-f32",
                     "--json", str(path)]) == 0
    text = capsys.readouterr().out
    assert "cold start" in text
    data = json.loads(path.read_text())
    rows = data["results"]
    backends = [b for b in _backend.BACKENDS if _backend.available(b)]
    assert [r["backend"] for r in rows] == backends
    for r in rows:
        assert r["kernel"] == "gae" and r["size"] == "T2048xB64-f32"
        assert r["median_s"] > 0 and r["elements_per_s"] > 0
        assert r["speedup_vs_numpy"] > 0
    assert data["copy_bandwidth_bytes_per_s"] is None  # only measured for the flat streams
    assert set(data["cold_start_s"]) == set(backends)
    if "cython" in backends:  # which build of the Cython kernels was measured
        from fastpg import _cy
        assert data["cython_isa"] == dict(loaded=_cy.ISA, cpu=_cy.CPU_ISA, modules=_cy.ISA_MODULES)
    assert all(t is not None and t > 0 for t in data["cold_start_s"].values())


def test_bench_table_runs_the_kernel_table(tmp_path, capsys):
    """--table: kernels of the kernel table, replay included, on every backend."""
    path = tmp_path / "t.json"
    assert cli.main(["bench", "--table", "--kernels", "uniform_gather,softmax,td0",
                     "--json", str(path)]) == 0
    rows = json.loads(path.read_text())["results"]
    backends = [b for b in _backend.BACKENDS if _backend.available(b)]
    got = {(r["kernel"], r["backend"]) for r in rows}
    want = {(k, b) for k in ("uniform_gather", "softmax", "td0") for b in backends
            if not (k == "td0" and b == "numpy")}  # a reference loop: not timed here
    assert got == want and all(r["median_s"] > 0 for r in rows)
    assert "uniform_gather" in capsys.readouterr().out


def test_bench_plot(tmp_path):
    pytest.importorskip("matplotlib")
    path = tmp_path / "b.png"
    assert cli.main(["bench", "--kernels", "discounted_returns", "--sizes", "T2048xB64-f64",
                     "--plot", str(path)]) == 0
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


#: command lines that must stop before any work with one "fastpg: error:" line, exit 2
BAD_COMMANDS = {
    "unknown kernel": (["bench", "--kernels", "nope"], "--kernels"),
    "unknown size": (["bench", "--sizes", "huge"], "--sizes"),
    "json into a missing directory": (["bench", "--json", "/nonexistent/b.json"], "--json"),
    "plot into a directory": (["bench", "--plot", "/"], "--plot"),
    "gamma 2": (["train", "sarsa", "--env", "CliffWalking-v1", "--gamma", "2"], "--gamma"),
    "lr 0": (["train", "sarsa", "--env", "CliffWalking-v1", "--lr", "0"], "--lr"),
    "lr 1.5 for a tabular agent": (["train", "sarsa", "--env", "CliffWalking-v1", "--lr", "1.5"],
                                   "--lr"),
    "lr -1": (["train", "reinforce", "--env", "CartPole-v1", "--lr", "-1"], "--lr"),
    "epsilon 2": (["train", "q-learning", "--env", "CliffWalking-v1", "--epsilon", "2"],
                  "--epsilon"),
    "seed -1": (["train", "reinforce", "--env", "CartPole-v1", "--seed", "-1"], "--seed"),
    "steps -5": (["train", "q-learning", "--env", "CliffWalking-v1", "--steps", "-5"], "--steps"),
    "episodes 0": (["train", "reinforce", "--env", "CartPole-v1", "--episodes", "0"],
                   "--episodes"),
    "episodes 1.5": (["train", "reinforce", "--env", "CartPole-v1", "--episodes", "1.5"],
                     "--episodes"),
    "num-envs 0": (["train", "reinforce", "--env", "CartPole-v1", "--num-envs", "0"],
                   "--num-envs"),
    "num-envs for a tabular agent": (["train", "sarsa", "--env", "CliffWalking-v1",
                                      "--num-envs", "2"], "--num-envs"),
    "baseline for a tabular agent": (["train", "sarsa", "--env", "CliffWalking-v1",
                                      "--baseline", "mean"], "--baseline"),
    "steps for reinforce": (["train", "reinforce", "--env", "CartPole-v1", "--steps", "10"],
                            "--steps"),
    "a tabular agent on CartPole": (["train", "q-learning", "--env", "CartPole-v1"],
                                    "Discrete observations"),
    "unknown env": (["train", "q-learning", "--env", "NoSuchEnv-v0"], "cannot make env"),
    "unknown agent": (["train", "dqn", "--env", "CartPole-v1"], "invalid choice"),
    "e2e seeds 0": (["bench", "--e2e", "--seeds", "0"], "--seeds"),
    "table unknown kernel": (["bench", "--table", "--kernels", "nope"], "--kernels"),
}


@pytest.mark.parametrize("case", list(BAD_COMMANDS))
def test_bad_command_lines_are_one_error_line(capsys, case):
    argv, pattern = BAD_COMMANDS[case]
    with pytest.raises(SystemExit) as exc:
        cli.main(argv)
    assert exc.value.code == 2
    captured = capsys.readouterr()
    assert captured.err.startswith("fastpg: error: ") and captured.err.count("\n") == 1
    assert pattern in captured.err and "Traceback" not in captured.err
    assert captured.out == ""  # stopped before any work


def test_bad_backend_variable_is_one_error_line():
    res = subprocess.run([sys.executable, "-m", "fastpg", "info"], capture_output=True, text=True,
                         env=dict(os.environ, FASTPG_BACKEND="bogus"), timeout=120)
    assert res.returncode == 2
    assert res.stderr.startswith("fastpg: error: FASTPG_BACKEND") and "Traceback" not in res.stderr


def test_plot_path_without_suffix_reports_the_file_written(tmp_path, capsys):
    pytest.importorskip("matplotlib")
    assert cli.main(["train", "q-learning", "--env", "fastpg/HOMLMDP-v0", "--steps", "100",
                     "--quiet", "--plot", str(tmp_path / "policy")]) == 0
    assert (tmp_path / "policy.png").exists()
    assert f"wrote {tmp_path / 'policy.png'}" in capsys.readouterr().out


def test_python_dash_m():
    res = subprocess.run([sys.executable, "-m", "fastpg", "info"], capture_output=True, text=True,
                         timeout=120)
    assert res.returncode == 0, res.stderr
    assert "selected backend" in res.stdout


def test_bench_flat_stream_reports_bandwidth_fraction(tmp_path):
    path = tmp_path / "b.json"
    assert cli.main(["bench", "--kernels", "discounted_returns", "--sizes", "flat1M-f32",
                     "--json", str(path)]) == 0
    data = json.loads(path.read_text())
    assert data["copy_bandwidth_bytes_per_s"] > 0
    rows = data["results"]
    assert rows and all(r["backend"] != "numpy" for r in rows)  # the Python loop is skipped
    assert all(0 < r["fraction_of_copy_bandwidth"] for r in rows)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_train_homl_chapter_schedule(capsys, seed):
    """The HOML chapter's Q-learning (10,000 steps of uniform exploration,
    alpha_k = 0.05 / (1 + 0.005 k), gamma 0.9) finds the optimal policy
    [0, 0, 1]; a constant alpha of 0.05 does not (the README's command)."""
    argv = ["train", "q-learning", "--env", "fastpg/HOMLMDP-v0", "--steps", "10000",
            "--epsilon", "1", "--lr", "0.05", "--alpha-decay", "0.005", "--gamma", "0.9",
            "--seed", str(seed), "--quiet"]
    assert cli.main(argv) == 0
    out = capsys.readouterr().out
    assert "greedy policy: [0, 0, 1]" in out
    assert "Q: [[" in out


def test_bench_e2e_small_run(tmp_path, capsys, monkeypatch):
    from .conftest import need
    need("stable_baselines3")
    from fastpg.bench import e2e as _e2e
    # the command's wiring, not PPO: SB3's default 2048-step rollouts (16,384
    # steps and 2,560 minibatches before anything is reported) cut to 64
    monkeypatch.setitem(_e2e.PPO_CONFIGS, "PPO-2048", lambda: dict(n_steps=64, batch_size=64))
    path = tmp_path / "e2e.json"
    assert cli.main(["bench", "--e2e", "--e2e-steps", "512,1300", "--seeds", "1",
                     "--json", str(path)]) == 0
    out = capsys.readouterr().out
    assert "PPO fastpg vs sb3" in out and "DQN fastpg-per vs sb3" in out
    assert "DQN buffers side by side" in out
    data = json.loads(path.read_text())
    assert [(r["algo"], r["variant"]) for r in data["runs"]] == [
        ("PPO", "sb3"), ("PPO", "fastpg"), ("PPO-2048", "sb3"), ("PPO-2048", "fastpg"),
        ("DQN", "sb3"), ("DQN", "fastpg"), ("DQN", "fastpg-per"), ("DQN", "side-by-side")]
    assert set(data["summary"]) == {"PPO sb3", "PPO fastpg", "PPO-2048 sb3", "PPO-2048 fastpg",
                                    "DQN sb3", "DQN fastpg", "DQN fastpg-per",
                                    "DQN side-by-side"}
    assert len(data["summary"]["DQN side-by-side"]["ratios"]) == 1


def test_bench_e2e_errors_are_one_line(monkeypatch, capsys):
    for argv in (["bench", "--e2e", "--e2e-steps", "10"], ["bench", "--e2e", "--seeds", "0"]):
        with pytest.raises(SystemExit) as exc:
            cli.main(argv)
        assert exc.value.code == 2
        err = capsys.readouterr().err
        assert err.startswith("fastpg: error: ") and err.count("\n") == 1
    monkeypatch.setitem(sys.modules, "stable_baselines3", None)  # not installed
    with pytest.raises(SystemExit) as exc:
        cli.main(["bench", "--e2e"])
    assert exc.value.code == 2
    assert "pip install 'fastpg[sb3]'" in capsys.readouterr().err


def test_cold_start_imports_this_fastpg_not_the_working_directory(tmp_path, monkeypatch):
    """`fastpg bench` run inside a source checkout (an install elsewhere): the
    fresh process must not pick up ./fastpg instead of the running package."""
    (tmp_path / "fastpg").mkdir()
    (tmp_path / "fastpg" / "__init__.py").write_text("raise ImportError('the wrong fastpg')")
    monkeypatch.chdir(tmp_path)
    from fastpg.bench import run
    assert run.cold_start("numpy") > 0

"""Every script in examples/ runs (as a user would run it) and learns more than
a random policy does (CartPole-v1: about 22 per episode; the GridWorld: a
greedy return of 0, the goal gives 10)."""
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from .conftest import need

EXAMPLES = sorted((Path(__file__).resolve().parent.parent / "examples").glob("*.py"))


def test_the_examples_are_there():
    assert {p.name for p in EXAMPLES} >= {"sb3_ppo_cartpole.py", "sb3_dqn_per.py",
                                          "torch_dqn.py", "torch_reinforce.py", "torch_vtrace.py",
                                          "ray_apex_gridworld.py", "ray_impala_cartpole.py"}


@pytest.fixture(scope="module")
def runs(request):
    """The selected examples, started together two at a time (each on one
    thread: small networks gain nothing from a second one, and two scripts
    keep both cores busy); test -> future of its CompletedProcess."""
    from concurrent.futures import ThreadPoolExecutor

    chosen = [item.callspec.params["path"] for item in request.session.items
              if item.originalname == "test_example_runs"]
    env = dict(os.environ, PYTHONUNBUFFERED="1", OMP_NUM_THREADS="1", NUMBA_NUM_THREADS="1")

    def run(path):
        return subprocess.run([sys.executable, str(path)], capture_output=True, text=True,
                              timeout=300, cwd=path.parent, env=env)

    with ThreadPoolExecutor(2) as pool:
        yield {path: pool.submit(run, path) for path in chosen}


@pytest.mark.parametrize("path", EXAMPLES, ids=[p.stem for p in EXAMPLES])
def test_example_runs(path, runs):
    need("torch")
    if path.name.startswith("sb3_"):
        need("stable_baselines3")
    if path.name.startswith("ray_"):
        need("ray")
    res = runs[path].result()
    assert res.returncode == 0, res.stderr[-3000:]
    last = res.stdout.strip().splitlines()[-1]
    # the summary line: "... return <x> ..." (greedy or mean of the last episodes)
    value = float(re.search(r"(?:return|last \d+:) (-?[\d.]+)", last).group(1))
    assert value > (5 if "gridworld" in path.name else 50), last

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


#: path -> future of its CompletedProcess; started by conftest's
#: pytest_collection_finish, so that the examples run in the background while
#: the rest of the suite runs (one at a time: pytest itself keeps one core busy)
STARTED = {}
_POOL = []


def start(paths):
    """Run the example scripts ``paths`` one after another in a background thread."""
    from concurrent.futures import ThreadPoolExecutor

    env = dict(os.environ, PYTHONUNBUFFERED="1", OMP_NUM_THREADS="1", NUMBA_NUM_THREADS="1")

    def run(path):
        return subprocess.run([sys.executable, str(path)], capture_output=True, text=True,
                              timeout=300, cwd=path.parent, env=env)

    if not _POOL:
        _POOL.append(ThreadPoolExecutor(1))
    for path in paths:
        if path not in STARTED:
            STARTED[path] = _POOL[0].submit(run, path)


def stop():
    """Wait for the running example and drop the ones not started (session end)."""
    if _POOL:
        _POOL.pop().shutdown(wait=True, cancel_futures=True)


@pytest.fixture(scope="module")
def runs():
    return STARTED


@pytest.mark.parametrize("path", EXAMPLES, ids=[p.stem for p in EXAMPLES])
def test_example_runs(path, runs):
    need("torch")
    if path.name.startswith("sb3_"):
        need("stable_baselines3")
    if path.name.startswith("ray_"):
        need("ray")
    start([path])  # a no-op when the collection hook started it
    res = runs[path].result()
    assert res.returncode == 0, res.stderr[-3000:]
    last = res.stdout.strip().splitlines()[-1]
    # the summary line: "... return <x> ..." (greedy or mean of the last episodes)
    value = float(re.search(r"(?:return|last \d+:) (-?[\d.]+)", last).group(1))
    assert value > (5 if "gridworld" in path.name else 50), last

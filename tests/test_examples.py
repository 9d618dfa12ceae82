"""Every script in examples/ runs (as a user would run it) and learns more than
a random policy does (CartPole-v1: about 22 per episode)."""
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
                                          "torch_dqn.py", "torch_reinforce.py"}


@pytest.mark.parametrize("path", EXAMPLES, ids=[p.stem for p in EXAMPLES])
def test_example_runs(path):
    need("torch")
    if path.name.startswith("sb3_"):
        need("stable_baselines3")
    res = subprocess.run([sys.executable, str(path)], capture_output=True, text=True,
                         timeout=300, cwd=path.parent, env=dict(os.environ, PYTHONUNBUFFERED="1"))
    assert res.returncode == 0, res.stderr[-3000:]
    last = res.stdout.strip().splitlines()[-1]
    # the summary line: "... return <x> ..." (greedy or mean of the last episodes)
    value = float(re.search(r"(?:return|last \d+:) (-?[\d.]+)", last).group(1))
    assert value > 50, last

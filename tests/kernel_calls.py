"""One call of every public kernel function, on small float64 NumPy inputs:
the kernel table's "tiny" calls (fastpg.bench.specs), behind the call-path
tests (tensors in and out, read-only inputs) and the bad-input sweeps."""
import numpy as np

from fastpg.bench.specs import SPECS

#: every public kernel function: (name, array arguments, other arguments); the
#: tabular updates write their first array(s) (the tables) in place
CALLS = [(s.name, *s.args("tiny", np.float64)) for s in SPECS if s.public]

#: how many leading arrays of each call are tables updated in place
IN_PLACE = {"q_learning": 1, "sarsa": 1, "expected_sarsa": 1, "double_q_learning": 2, "td0": 1,
            "q_learning_rollout": 1}

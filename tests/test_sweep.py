"""The generated bad-input sweep (tests/sweep.py): every argument of every
public kernel, buffer method and sum-tree method, replaced by each bad value
of its kind, must raise ValueError/TypeError naming the argument and leave
tables and buffers unchanged; valid extreme data (NaN, inf, underflow) must
give each compiled backend the reference's result."""
import pytest

import fastpg

from . import sweep


@pytest.mark.parametrize("family", ["returns", "policy", "tabular", "replay"])
def test_every_bad_input_is_refused_by_name(backend, family):
    cases = [c for c in sweep.all_cases(fastpg, backend) if c.family == family]
    assert len(cases) > 100
    failures = []
    for case in cases:
        result, detail = sweep.outcome(case)
        if result != "ok":
            failures.append(f"{case.id}: {result} {detail}")
    assert not failures, "\n".join(failures)

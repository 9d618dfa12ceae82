"""The workloads live in the package (fastpg.bench.workloads) so `fastpg bench` works from any install."""
from fastpg.bench.workloads import *  # noqa: F401,F403
from fastpg.bench.workloads import (  # noqa: F401
    N_REF, POLICY_QUICK, POLICY_SIZES, QUICK, REPLAY_BATCH, REPLAY_SIZES, REPLAY_WORKLOADS, SIZES,
    TABULAR_QUICK, TABULAR_SIZES, TABULAR_UPDATES, VI_SIZES, add_at_q_learning, call, call_policy,
    call_replay, call_tabular, call_vi, make, make_policy, make_replay, make_tabular, make_vi,
    policy_rows, seed_policy_loop, seed_style_loop)

"""The workloads live in the package (fastpg._workloads) so `fastpg bench` works from any install."""
from fastpg._workloads import *  # noqa: F401,F403
from fastpg._workloads import (N_REF, POLICY_QUICK, POLICY_SIZES, QUICK, SIZES,  # noqa: F401
                               TABULAR_QUICK, TABULAR_SIZES, TABULAR_UPDATES, VI_SIZES,
                               add_at_q_learning, call, call_tabular, call_vi, make_tabular,
                               make_vi,
                               call_policy, make, make_policy, policy_rows, seed_policy_loop,
                               seed_style_loop, REPLAY_BATCH, REPLAY_SIZES,
                               REPLAY_WORKLOADS, call_replay, make_replay)

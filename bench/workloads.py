"""The workloads live in the package (fastpg._workloads) so `fastpg bench` works from any install."""
from fastpg._workloads import *  # noqa: F401,F403
from fastpg._workloads import (POLICY_QUICK, POLICY_SIZES, QUICK, SIZES, call,  # noqa: F401
                               call_policy, make, make_policy, policy_rows, seed_policy_loop,
                               seed_style_loop)

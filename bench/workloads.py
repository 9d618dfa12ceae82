"""The workloads live in the package (fastpg._workloads) so `fastpg bench` works from any install."""
from fastpg._workloads import *  # noqa: F401,F403
from fastpg._workloads import QUICK, SIZES, call, make, seed_style_loop  # noqa: F401

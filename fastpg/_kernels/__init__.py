"""Kernels written once for both compilers (Cython's pure-Python mode and
numba): each module here is compiled by Cython as ``fastpg._cy.<family>``,
typed by ``src_cython/<family>.pxd``, and jitted by numba in
``fastpg._numba.<family>`` (docs/design.md, "One source for both compilers")."""

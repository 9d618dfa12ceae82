"""Compiled Cython kernels (built from src_cython/ by setup.py) and their .pxd files."""

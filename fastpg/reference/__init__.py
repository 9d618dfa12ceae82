"""NumPy reference kernels: the executable specification, one module per family."""

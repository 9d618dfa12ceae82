"""The benchmark suite behind ``fastpg bench``: the workloads (sizes, inputs,
the plain-NumPy REINFORCE and Adam of the end-to-end run), the runner, and
the Stable-Baselines3 comparison (``--e2e``). Imported only when a benchmark
runs; ``bench/`` (pytest-benchmark) uses the same workloads."""

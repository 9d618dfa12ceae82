"""Every ```python block of the README runs (in order, one namespace, in a temp dir)."""
import os
import re

import matplotlib
import pytest

from .conftest import need

matplotlib.use("Agg")

README = os.path.join(os.path.dirname(__file__), os.pardir, "README.md")


def _blocks():
    with open(README, encoding="utf-8") as fh:
        return re.findall(r"```python\n(.*?)```", fh.read(), flags=re.S)


def test_readme_has_examples():
    assert len(_blocks()) >= 3


def test_readme_python_blocks_run(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    ns = {}
    for i, code in enumerate(_blocks()):
        for module in ("torch", "stable_baselines3", "ray"):  # the integration blocks
            if f"import {module}" in code or f"from {module}" in code or \
                    (module == "stable_baselines3" and "integrations.sb3" in code):
                need(module)
        try:
            exec(compile(code, f"README block {i}", "exec"), ns)
        except Exception as exc:  # pragma: no cover - the message says which block
            pytest.fail(f"README python block {i} failed: {exc!r}\n{code}")

"""The README's Python example runs as written (docs that are never run rot)."""

from __future__ import annotations

import re
from pathlib import Path

README = Path(__file__).resolve().parents[1] / "README.md"


def test_readme_python_example_runs(capsys) -> None:
    blocks = re.findall(r"```python\n(.*?)```", README.read_text(), flags=re.S)
    assert blocks, "README has no python example"
    namespace: dict = {}
    exec(compile(blocks[0], str(README), "exec"), namespace)  # noqa: S102 - our own README
    res, driven = namespace["res"], namespace["driven"]
    assert res.regime == "chaotic" and res.lambda_max > 0.05  # the default GRU is chaotic
    assert driven.k == 32 and driven.units == "1/step"  # full (h, c) tangent space of the LSTM
    assert namespace["traj"].shape == (200, 100)

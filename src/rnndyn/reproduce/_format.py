"""Verdict names and number formatting shared by the claim registry and its figures (a leaf)."""

from __future__ import annotations

import math

VERDICTS = ("agrees", "partly", "disagrees", "no paper value")


def _fmt(x: float | None) -> str:
    if x is None:
        return "—"
    x = float(x)
    if not math.isfinite(x):
        return str(x)
    if x == 0:
        return "0"
    a = abs(x)
    if a >= 1e4 or a < 1e-3:
        return f"{x:.3g}"
    return f"{x:.4g}"

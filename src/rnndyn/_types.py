"""Shared type aliases and the axis convention.

Axis order everywhere in rnndyn is ``(*batch, T, n)``: any number of leading batch axes, then
time (for trajectories and input sequences), then the flat state (``n = state_size``) or input
(``d = input_size``) axis. Jacobians are ``(*batch, n, n)`` with ``jac[..., i, j] =
d h_next[i] / d h[j]``. Arrays from other libraries (time-first torch RNN outputs, say) are
converted to this order at the boundary.
"""

from __future__ import annotations

import torch

Tensor = torch.Tensor

#: Relative tolerances used by analyses, per dtype (one table, never sprinkled through the code).
DEFAULT_RTOL: dict[torch.dtype, float] = {
    torch.float64: 1e-10,
    torch.float32: 1e-5,
    torch.float16: 1e-2,
    torch.bfloat16: 1e-2,
}


def default_rtol(dtype: torch.dtype) -> float:
    """Return the analysis tolerance for ``dtype`` (``sqrt(eps)``-scale for unknown dtypes)."""
    if dtype in DEFAULT_RTOL:
        return DEFAULT_RTOL[dtype]
    return float(torch.finfo(dtype).eps) ** 0.5

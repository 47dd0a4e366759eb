"""Small shared pieces of :mod:`rnndyn.chaos`: Wilson intervals, ragged helpers (results use
:class:`rnndyn.Result`)."""

from __future__ import annotations

import math
import numbers

import torch

Tensor = torch.Tensor


def wilson_interval(k: int, n: int, *, z: float = 1.959963984540054) -> tuple[float, float]:
    r"""Wilson score interval for a binomial proportion (95 % by default).

    .. math:: \frac{\hat p + z^2/2n \pm z\sqrt{\hat p(1-\hat p)/n + z^2/4n^2}}{1 + z^2/n}

    It stays inside ``[0, 1]`` and is informative at ``k = 0`` (upper end ``~ z^2/n``), which the
    normal approximation is not.

    Raises:
        TypeError: ``k`` or ``n`` is not an integer count.
        ValueError: ``n < 1``, ``k`` outside ``[0, n]``, or ``z`` not a finite number > 0.

    Example:
        >>> lo, hi = wilson_interval(0, 1000)
        >>> (lo, round(hi, 5))
        (0.0, 0.00383)
    """
    for name, v in (("k", k), ("n", n)):
        if isinstance(v, bool) or not isinstance(v, numbers.Integral):
            raise TypeError(f"`{name}` must be an int (a count); got {type(v).__name__} {v!r}")
    k, n = int(k), int(n)
    if isinstance(z, bool) or not isinstance(z, numbers.Real) or not (math.isfinite(z) and z > 0):
        raise ValueError(f"`z` must be a finite number > 0 (1.96 for 95 %); got {z!r}")
    if n <= 0:
        raise ValueError(f"`n` must be an int >= 1; got {n}")
    if not 0 <= k <= n:
        raise ValueError(f"`k` must be in [0, n={n}]; got {k}")
    p = k / n
    z2 = z * z
    centre = (p + z2 / (2 * n)) / (1 + z2 / n)
    half = z * math.sqrt(p * (1 - p) / n + z2 / (4 * n * n)) / (1 + z2 / n)
    lo, hi = max(0.0, centre - half), min(1.0, centre + half)
    if k == 0:
        lo = 0.0
    if k == n:
        hi = 1.0
    return lo, hi


def ragged_arange(counts: Tensor) -> tuple[Tensor, Tensor]:
    """For per-row ``counts`` return (row id, position within row) of every ragged element."""
    rows = torch.repeat_interleave(torch.arange(counts.numel(), device=counts.device), counts)
    starts = torch.cumsum(counts, 0) - counts
    pos = torch.arange(rows.numel(), device=counts.device) - starts[rows]
    return rows, pos


def ragged_to_padded(values: Tensor, rows: Tensor, n_rows: int, fill: float) -> tuple[Tensor, Tensor]:
    """Pack ragged ``values`` (grouped by ``rows``, already in order within a row) into ``(n_rows, K)``."""
    counts = torch.bincount(rows, minlength=n_rows)
    k = max(int(counts.max()) if counts.numel() else 0, 1)
    out = torch.full((n_rows, k), fill, dtype=values.dtype, device=values.device)
    starts = torch.cumsum(counts, 0) - counts
    pos = torch.arange(rows.numel(), device=values.device) - starts[rows]
    out[rows, pos] = values
    return out, counts


def sort_ragged(values: Tensor, rows: Tensor, *carry: Tensor) -> tuple[Tensor, ...]:
    """Sort ragged values by (row, value) with two stable sorts; ``carry`` tensors follow."""
    v, i1 = torch.sort(values, stable=True)
    r = rows[i1]
    r, i2 = torch.sort(r, stable=True)
    perm = i1[i2]
    return (values[perm], r, *(c[perm] for c in carry))

"""Small linear-algebra helpers shared by the analyses (below the model layer: imports nothing
from rnndyn), so that :mod:`rnndyn.spectra` and :mod:`rnndyn.fixed_points` need not import each
other."""

from __future__ import annotations

import torch
import torch.nn.functional as F

from rnndyn._checks import broadcast_shapes

Tensor = torch.Tensor

#: frames narrower than this take the padded ``F.linear`` layout in :func:`matmul_frame` on the CPU
FRAME_LINEAR_MAX = 128


def _row_padding(rows: int, device: torch.device) -> int:
    """Zero rows that bring a narrow block of ``rows`` stacked vectors to a multiple of 4 on the
    CPU (``rows <`` :data:`FRAME_LINEAR_MAX`), where MKL's narrow products are erratic; 0 elsewhere."""
    return -rows % 4 if device.type == "cpu" and rows < FRAME_LINEAR_MAX else 0


def matmul_frame(w: Tensor, q: Tensor) -> Tensor:
    """``w @ q`` for a weight matrix ``w`` ``(m, n)`` and a tangent frame ``q`` ``(*batch, n, k)``.

    The same product as ``torch.matmul(w, q)``, laid out for the BLAS. Measured with torch 2.13's
    MKL on this project's 2-core AMD EPYC (single thread, CPU time,
    ``benchmarks/bench_matmul_frame.py``), ``w @ q`` with a narrow frame runs far below the
    machine's GEMM speed and depends erratically on ``k``: for ``(3000, 1000) @ (1000, 11)``
    9.7 ms against 4.5 ms for the transposed form ``q^T w^T`` with ``k`` zero-padded to a
    multiple of 4 (18.9 against 5.0 ms at k = 16). The transposed form alone is erratic too (9.9 ms
    at k = 11, 4.4 ms at k = 12), hence the padding. So on the CPU, for ``1 < k <`` :data:`FRAME_LINEAR_MAX`,
    the product is formed as ``F.linear(q^T, w)`` on a zero-padded frame and the padding dropped
    (the padding rows contribute nothing to the kept entries). Wide frames (full spectra) and
    ``k = 1`` (a GEMV) keep ``torch.matmul``, as does every other device.

    Returns ``(*batch, m, k)`` (a transposed view when the padded layout is used).

    Example:
        >>> w, q = torch.randn(5, 4, dtype=torch.float64), torch.randn(2, 4, 3, dtype=torch.float64)
        >>> bool(torch.allclose(matmul_frame(w, q), w @ q, rtol=1e-14, atol=1e-14))
        True
    """
    k = q.shape[-1]
    if q.device.type != "cpu" or k == 1 or k >= FRAME_LINEAR_MAX:
        return torch.matmul(w, q)
    rows = q.mT
    pad = _row_padding(k, q.device)
    if pad:
        rows = torch.cat([rows, rows.new_zeros(*rows.shape[:-2], pad, rows.shape[-1])], dim=-2)
    return F.linear(rows, w)[..., :k, :].mT


def matmul_fused(w: Tensor, v: Tensor, q: Tensor) -> tuple[Tensor, Tensor]:
    """``(w @ v, w @ q)`` from **one** product, so that a step with its tangent reads the weights
    once (for large weights the product is memory-bound: ``w`` is streamed from memory at every step).

    ``w``: ``(m, n)``; ``v``: ``(*batch, n)``; ``q``: ``(*batch, n, k)``; batch shapes broadcast.
    Returns ``(*batch, m)`` and ``(*batch, m, k)``. The vector and the frame are stacked as the
    rows of one ``(k + 1, n)`` matrix (zero-padded to a multiple of 4 rows on the CPU for
    ``k + 1 <`` :data:`FRAME_LINEAR_MAX`, as in :func:`matmul_frame`) and multiplied by
    ``F.linear``: a single copy of the frame, and the result's ``w @ q`` is a transposed view
    whose columns are contiguous, the layout the row scalings of a tangent product and LAPACK's QR
    read fastest.

    Example:
        >>> w, v, q = (torch.randn(*s, dtype=torch.float64) for s in [(5, 4), (2, 4), (2, 4, 3)])
        >>> wv, wq = matmul_fused(w, v, q)
        >>> bool(torch.allclose(wv, v @ w.T) and torch.allclose(wq, w @ q))
        True
    """
    batch = v.shape[:-1] if v.shape[:-1] == q.shape[:-2] else broadcast_shapes(v.shape[:-1], q.shape[:-2])
    n, k = q.shape[-2], q.shape[-1]
    pad = _row_padding(k + 1, q.device)
    rows = torch.empty(*batch, k + 1 + pad, n, dtype=q.dtype, device=q.device)
    rows[..., 0, :] = v
    rows[..., 1 : k + 1, :] = q.mT
    if pad:
        rows[..., k + 1 :, :] = 0.0
    out = F.linear(rows, w)
    return out[..., 0, :], out[..., 1 : k + 1, :].mT


def eigvals(jac: Tensor) -> Tensor:
    """Eigenvalues of ``(*batch, n, n)`` real matrices, on the input's device.

    On the CPU this calls NumPy's LAPACK ``geev`` (values only) matrix by matrix: measured 8x
    faster than ``torch.linalg.eigvals`` on batched 512 x 512 float64 matrices with torch 2.13
    (benchmarks/RESULTS.md). On CUDA it is ``torch.linalg.eigvals``.

    Example:
        >>> import torch
        >>> eigvals(torch.tensor([[0.0, -2.0], [2.0, 0.0]], dtype=torch.float64)).imag.abs().round(decimals=12).tolist()
        [2.0, 2.0]
    """
    if jac.device.type != "cpu":
        return torch.linalg.eigvals(jac)
    import numpy as np

    arr = jac.detach().numpy().reshape(-1, *jac.shape[-2:])
    out = np.empty(arr.shape[:-1], dtype=np.complex128 if arr.dtype == np.float64 else np.complex64)
    for k in range(arr.shape[0]):
        out[k] = np.linalg.eigvals(arr[k])
    return torch.from_numpy(out).reshape(*jac.shape[:-1])


__all__ = ["eigvals", "matmul_frame", "matmul_fused"]

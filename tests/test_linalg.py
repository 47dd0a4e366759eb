"""rnndyn._linalg.matmul_frame / matmul_fused: the BLAS-friendly layouts are the same products as
torch.matmul."""

from __future__ import annotations

import pytest
import torch

from rnndyn._linalg import FRAME_LINEAR_MAX, matmul_frame, matmul_fused


@pytest.mark.parametrize("k", [1, 2, 3, 4, 5, 11, 12, 13, FRAME_LINEAR_MAX - 1, FRAME_LINEAR_MAX])
@pytest.mark.parametrize("batch", [(), (1,), (3,), (2, 2)])
def test_matmul_frame_equals_matmul(k: int, batch: tuple[int, ...]) -> None:
    g = torch.Generator().manual_seed(k)
    w = torch.randn(37, 29, generator=g, dtype=torch.float64)
    q = torch.randn(*batch, 29, k, generator=g, dtype=torch.float64)
    out = matmul_frame(w, q)
    ref = torch.matmul(w, q)
    assert out.shape == ref.shape
    # summation order may differ between the two BLAS calls: agreement to rounding, never more
    assert torch.allclose(out, ref, rtol=1e-13, atol=1e-13)


def test_matmul_frame_broadcast_frame_and_float32() -> None:
    g = torch.Generator().manual_seed(0)
    w = torch.randn(8, 6, generator=g)
    q = torch.randn(6, 5, generator=g)  # no batch, float32: dtype kept
    out = matmul_frame(w, q)
    assert out.dtype == torch.float32
    assert torch.allclose(out, w @ q, rtol=1e-5, atol=1e-5)


def test_matmul_frame_differentiable() -> None:
    """Gradient diagnostics may differentiate through a tangent product: same gradient as matmul."""
    g = torch.Generator().manual_seed(1)
    w = torch.randn(7, 7, generator=g, dtype=torch.float64, requires_grad=True)
    q = torch.randn(7, 3, generator=g, dtype=torch.float64)
    (ga,) = torch.autograd.grad(matmul_frame(w, q).square().sum(), w)
    (gb,) = torch.autograd.grad((w @ q).square().sum(), w)
    assert torch.allclose(ga, gb, rtol=1e-13, atol=1e-13)


@pytest.mark.parametrize(
    "k", [1, 2, 3, 4, 11, FRAME_LINEAR_MAX - 2, FRAME_LINEAR_MAX - 1, FRAME_LINEAR_MAX + 3]
)
@pytest.mark.parametrize(("vbatch", "qbatch"), [((), ()), ((3,), (3,)), ((2, 3), (3,)), ((1,), (2, 1))])
def test_matmul_fused_equals_two_matmuls(k: int, vbatch: tuple[int, ...], qbatch: tuple[int, ...]) -> None:
    """(w @ v, w @ q) from one product, over the padding threshold and with broadcast batches."""
    g = torch.Generator().manual_seed(k)
    w = torch.randn(23, 17, generator=g, dtype=torch.float64)
    v = torch.randn(*vbatch, 17, generator=g, dtype=torch.float64)
    q = torch.randn(*qbatch, 17, k, generator=g, dtype=torch.float64)
    wv, wq = matmul_fused(w, v, q)
    batch = torch.broadcast_shapes(vbatch, qbatch)
    assert wv.shape == (*batch, 23) and wq.shape == (*batch, 23, k)
    assert torch.allclose(wv, (v @ w.T).expand(*batch, 23), rtol=1e-13, atol=1e-13)
    assert torch.allclose(wq, torch.matmul(w, q).expand(*batch, 23, k), rtol=1e-13, atol=1e-13)


def test_matmul_fused_differentiable_in_all_arguments() -> None:
    g = torch.Generator().manual_seed(2)
    w, v, q = (
        torch.randn(*s, generator=g, dtype=torch.float64, requires_grad=True)
        for s in [(6, 5), (2, 5), (2, 5, 3)]
    )
    wv, wq = matmul_fused(w, v, q)
    got = torch.autograd.grad(wv.sin().sum() + wq.square().sum(), (w, v, q))
    ref = torch.autograd.grad((v @ w.T).sin().sum() + (w @ q).square().sum(), (w, v, q))
    for a, b in zip(got, ref, strict=True):
        assert torch.allclose(a, b, rtol=1e-13, atol=1e-13)

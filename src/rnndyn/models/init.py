"""Weight initialisations, all driven by a ``torch.Generator`` (never the global RNG).

Weights are drawn on the CPU in float64 from ``generator`` and then cast and moved, so the same
seed gives the same network on any device and dtype. ``fan_in`` is the last axis of ``shape``
(torch's ``weight[out, in]`` layout).
"""

from __future__ import annotations

import math

import torch

from rnndyn._checks import (
    check_choice,
    check_device,
    check_generator,
    check_nonnegative,
    check_real,
    int_tuple,
)

Tensor = torch.Tensor

INITS = ("gaussian", "he", "xavier", "glorot", "orthogonal", "uniform")


def _shape(shape: object, generator: object, *, min_ndim: int = 1) -> tuple[int, ...]:
    """Check ``shape`` (a tuple of ints >= 1, at least ``min_ndim`` of them) and ``generator``."""
    check_generator(generator)
    ints = int_tuple(shape)
    if ints is None:
        raise TypeError(f"`shape` must be a tuple of ints, e.g. (n, n); got {shape!r}")
    if len(ints) < min_ndim or any(s < 1 for s in ints):
        raise ValueError(f"`shape` must have at least {min_ndim} dimension(s), each >= 1; got {ints}")
    return ints


def _finish(w: Tensor, dtype: torch.dtype | None, device: torch.device | str | None) -> Tensor:
    if dtype is not None and not (isinstance(dtype, torch.dtype) and dtype.is_floating_point):
        raise TypeError(f"`dtype` must be a floating-point torch.dtype (e.g. torch.float64); got {dtype!r}")
    if device is not None:
        device = check_device(device)
    return w.to(dtype=dtype or torch.get_default_dtype(), device=device)


def gaussian(
    shape: tuple[int, ...],
    *,
    gain: float = 1.0,
    generator: torch.Generator | None = None,
    dtype: torch.dtype | None = None,
    device: torch.device | str | None = None,
) -> Tensor:
    r"""The papers' Gaussian-gain initialisation: :math:`W_{ij} \sim \mathcal N(0, g^2/\mathrm{fan\_in})`."""
    shape = _shape(shape, generator)
    gain = check_nonnegative(gain, "gain")
    fan_in = shape[-1]
    w = torch.randn(*shape, generator=generator, dtype=torch.float64) * (gain / math.sqrt(fan_in))
    return _finish(w, dtype, device)


def he(
    shape: tuple[int, ...],
    *,
    gain: float = 1.0,
    generator: torch.Generator | None = None,
    dtype: torch.dtype | None = None,
    device: torch.device | str | None = None,
) -> Tensor:
    r"""He (Kaiming) normal: :math:`\mathcal N(0, 2 g^2/\mathrm{fan\_in})`."""
    return gaussian(
        shape,
        gain=math.sqrt(2.0) * check_nonnegative(gain, "gain"),
        generator=generator,
        dtype=dtype,
        device=device,
    )


def xavier(
    shape: tuple[int, ...],
    *,
    gain: float = 1.0,
    generator: torch.Generator | None = None,
    dtype: torch.dtype | None = None,
    device: torch.device | str | None = None,
) -> Tensor:
    r"""Xavier/Glorot normal: :math:`\mathcal N(0, 2 g^2/(\mathrm{fan\_in}+\mathrm{fan\_out}))`."""
    shape = _shape(shape, generator)
    gain = check_nonnegative(gain, "gain")
    fan_in, fan_out = shape[-1], shape[-2] if len(shape) > 1 else 1
    std = gain * math.sqrt(2.0 / (fan_in + fan_out))
    w = torch.randn(*shape, generator=generator, dtype=torch.float64) * std
    return _finish(w, dtype, device)


def orthogonal(
    shape: tuple[int, ...],
    *,
    gain: float = 1.0,
    generator: torch.Generator | None = None,
    dtype: torch.dtype | None = None,
    device: torch.device | str | None = None,
) -> Tensor:
    """``gain`` times a Haar-random (semi-)orthogonal matrix (QR of a Gaussian, sign-fixed)."""
    shape = _shape(shape, generator, min_ndim=2)
    if len(shape) != 2:
        raise ValueError(f"`shape` must be (rows, cols) for an orthogonal matrix; got {shape}")
    gain = check_nonnegative(gain, "gain")
    rows, cols = shape[-2], shape[-1]
    a = torch.randn(max(rows, cols), min(rows, cols), generator=generator, dtype=torch.float64)
    q, r = torch.linalg.qr(a)
    q = q * torch.sign(torch.diagonal(r)).unsqueeze(0)
    w = q if rows >= cols else q.T
    return _finish(gain * w[:rows, :cols], dtype, device)


def uniform(
    shape: tuple[int, ...],
    *,
    gain: float = 1.0,
    generator: torch.Generator | None = None,
    dtype: torch.dtype | None = None,
    device: torch.device | str | None = None,
) -> Tensor:
    """Uniform on ``(-a, a)`` with ``a = gain`` (e.g. ``gain = 1/sqrt(n)`` for PLRNN, torch RNNs)."""
    shape = _shape(shape, generator)
    a = check_real(gain, "gain", low=0.0)
    w = (torch.rand(*shape, generator=generator, dtype=torch.float64) * 2.0 - 1.0) * a
    return _finish(w, dtype, device)


def init_weight(
    kind: str,
    shape: tuple[int, ...],
    *,
    gain: float = 1.0,
    generator: torch.Generator | None = None,
    dtype: torch.dtype | None = None,
    device: torch.device | str | None = None,
) -> Tensor:
    """Dispatch on ``kind`` in ``INITS`` ("glorot" is an alias of "xavier")."""
    check_choice(kind, "init", INITS)
    check_generator(generator)
    fn = {
        "gaussian": gaussian,
        "he": he,
        "xavier": xavier,
        "glorot": xavier,
        "orthogonal": orthogonal,
        "uniform": uniform,
    }[kind]
    return fn(shape, gain=gain, generator=generator, dtype=dtype, device=device)


__all__ = ["INITS", "gaussian", "he", "init_weight", "orthogonal", "uniform", "xavier"]

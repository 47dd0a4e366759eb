"""Jacobians of maps and flows: analytic (from the model), autograd, finite differences, and
matrix-free tangent products. This is the only module that calls ``torch.func``.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import func

from rnndyn._checks import check_tensor
from rnndyn.models.base import AbstractSystem

Tensor = torch.Tensor
RHS = Callable[[Tensor, "Tensor | None"], Tensor]


def _broadcast(h: Tensor, x: Tensor | None) -> tuple[Tensor, Tensor | None, torch.Size]:
    if x is None:
        return h, None, h.shape[:-1]
    batch = torch.broadcast_shapes(h.shape[:-1], x.shape[:-1])
    return h.expand(*batch, h.shape[-1]), x.expand(*batch, x.shape[-1]), batch


def autograd_jacobian(fn: RHS, h: Tensor, x: Tensor | None = None) -> Tensor:
    """Jacobian ``d fn(h, x) / d h`` by reverse-mode autograd, vectorised over the batch.

    Args:
        fn: a function of ``(h, x)`` acting on one state ``(n,)`` or a batch ``(*batch, n)``.
        h: ``(*batch, n)``. x: ``(*batch, d)`` or ``None``.

    Returns:
        ``(*batch, n, n)``.
    """
    h, x, batch = _broadcast(h, x)
    n = h.shape[-1]
    hf = h.reshape(-1, n)
    if x is None:
        jac = func.vmap(func.jacrev(lambda hh: fn(hh, None)))(hf)
    else:
        xf = x.reshape(-1, x.shape[-1])
        jac = func.vmap(func.jacrev(fn, argnums=0))(hf, xf)
    return jac.reshape(*batch, n, n)


def finite_difference_jacobian(
    fn: RHS, h: Tensor, x: Tensor | None = None, *, eps: float | None = None
) -> Tensor:
    """Central finite-difference Jacobian (the independent oracle for analytic Jacobians).

    The step defaults to ``eps_machine ** (1/3)`` scaled by ``max(1, |h_j|)``, which balances
    truncation (O(eps^2)) against round-off (O(eps_machine / eps)).
    """
    h, x, batch = _broadcast(h, x)
    n = h.shape[-1]
    if eps is None:
        eps = float(torch.finfo(h.dtype).eps) ** (1.0 / 3.0)
    cols = []
    with torch.no_grad():
        for j in range(n):
            step = eps * torch.clamp(h[..., j].abs(), min=1.0)
            e = torch.zeros_like(h)
            e[..., j] = step
            diff = fn(h + e, x) - fn(h - e, x)
            cols.append(diff / (2.0 * step.unsqueeze(-1)))
    return torch.stack(cols, dim=-1).reshape(*batch, n, n)


def tangent_map(fn: RHS, h: Tensor, vectors: Tensor, x: Tensor | None = None) -> Tensor:
    """Matrix-free product ``J(h) @ V`` by forward-mode autodiff (one JVP per column of V).

    Args:
        fn: batched right-hand side ``(h, x) -> out``.
        h: ``(*batch, n)``. vectors: ``(*batch, n, k)``. x: ``(*batch, d)`` or ``None``.

    Returns:
        ``(*batch, n, k)``; costs ``k`` JVPs instead of forming the ``n x n`` Jacobian.
    """

    def one(v: Tensor) -> Tensor:
        return func.jvp(lambda hh: fn(hh, x), (h,), (v,))[1]

    return func.vmap(one, in_dims=-1, out_dims=-1)(vectors)


def jacobian(system: AbstractSystem, h: Tensor, x: Tensor | None = None) -> Tensor:
    """The Jacobian of a map's step or a flow's vector field at ``h`` (analytic if the model has
    one, autograd otherwise).

    Shape:
        ``h``: ``(*batch, n)``; ``x``: ``(*batch, d)`` or ``None``; returns ``(*batch, n, n)``
        with ``jac[..., i, j] = d out[i] / d h[j]``.

    Example:
        >>> import torch, rnndyn as rd
        >>> jac = rd.jacobian(rd.Henon(), torch.tensor([0.1, 0.2], dtype=torch.float64))
        >>> round(float(torch.linalg.det(jac)), 12)  # det = -b = -0.3 everywhere
        -0.3
    """
    if not isinstance(system, AbstractSystem):
        raise TypeError(f"`system` must be an rnndyn model; got {type(system).__name__}")
    check_tensor(h, "h")
    return system.jacobian(h, x)


__all__ = ["autograd_jacobian", "finite_difference_jacobian", "jacobian", "tangent_map"]

"""Jacobians of maps and flows: analytic (from the model), autograd, finite differences, and
matrix-free tangent products. The autodiff helpers live in :mod:`rnndyn._autodiff` (below the
model layer, the only module that calls ``torch.func``) and are re-exported here.
"""

from __future__ import annotations

import torch

from rnndyn._autodiff import (
    RHS,
    autograd_jacobian,
    finite_difference_jacobian,
    reverse_tangent_map,
    tangent_map,
)
from rnndyn._checks import check_finite_parameters, check_tensor
from rnndyn.models.base import AbstractSystem

Tensor = torch.Tensor


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

    Raises:
        TypeError: ``system`` is not an rnndyn model or ``h`` not a tensor. ValueError: bad
        shapes, or a NaN/inf parameter of ``system`` (named).
    """
    if not isinstance(system, AbstractSystem):
        raise TypeError(f"`system` must be an rnndyn model; got {type(system).__name__}")
    check_tensor(h, "h")
    check_finite_parameters(system)  # NaN/inf weights are bad input: named, not a NaN Jacobian
    return system.jacobian(h, x)


__all__ = [
    "RHS",
    "autograd_jacobian",
    "finite_difference_jacobian",
    "jacobian",
    "reverse_tangent_map",
    "tangent_map",
]

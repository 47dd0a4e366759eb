"""Turning a flow into a map: the one place that owns ``dt``.

Explicit Runge--Kutta methods are tables (Butcher tableaux) fed to one stepping routine. The
discretised map's analytic Jacobian is the *exact* tangent of the integrator step (not the
flow's Jacobian times ``dt``), so Lyapunov exponents of the map are exact for the discrete
system and converge to the flow's with the method's order.
"""

from __future__ import annotations

from typing import NamedTuple

import torch

from rnndyn._checks import check_choice, check_real
from rnndyn.models.base import AbstractFlow, AbstractMap

Tensor = torch.Tensor


class ButcherTableau(NamedTuple):
    """An explicit Runge--Kutta method: stage coefficients ``a`` (strictly lower), weights ``b``."""

    name: str
    order: int
    a: tuple[tuple[float, ...], ...]
    b: tuple[float, ...]


METHODS: dict[str, ButcherTableau] = {
    "euler": ButcherTableau("euler", 1, ((),), (1.0,)),
    "heun": ButcherTableau("heun", 2, ((), (1.0,)), (0.5, 0.5)),
    "rk4": ButcherTableau(
        "rk4",
        4,
        ((), (0.5,), (0.0, 0.5), (0.0, 0.0, 1.0)),
        (1 / 6, 1 / 3, 1 / 3, 1 / 6),
    ),
}


class Discretised(AbstractMap):
    """A flow stepped by an explicit Runge--Kutta method with fixed ``dt``.

    The input ``x`` is held constant over a step (zero-order hold). Build it with
    :func:`discretise`; the wrapped flow is ``.flow``.
    """

    def __init__(self, flow: AbstractFlow, dt: float, method: str) -> None:
        super().__init__()
        self.flow = flow
        self.dt = dt
        self.method = method
        self.tableau = METHODS[method]
        self.state_size = flow.state_size
        self.input_size = flow.input_size
        self.state_parts = flow.state_parts

    def _stages(self, h: Tensor, x: Tensor | None) -> tuple[list[Tensor], list[Tensor]]:
        tab, dt = self.tableau, self.dt
        ks: list[Tensor] = []
        ys: list[Tensor] = []
        for row in tab.a:
            y = h
            for aij, kj in zip(row, ks, strict=False):
                if aij != 0.0:
                    y = y + dt * aij * kj
            ys.append(y)
            ks.append(self.flow._vector_field(y, x))
        return ys, ks

    def _step(self, h: Tensor, x: Tensor | None) -> Tensor:
        _, ks = self._stages(h, x)
        out = h
        for bi, ki in zip(self.tableau.b, ks, strict=True):
            out = out + self.dt * bi * ki
        return out

    def _jacobian(self, h: Tensor, x: Tensor | None) -> Tensor:
        # Tangent of the RK step: with stage points y_i = h + dt sum_j a_ij k_j and
        # K_i = dk_i/dh = Jf(y_i) (I + dt sum_j a_ij K_j), the step's Jacobian is
        # I + dt sum_i b_i K_i (exact for the discrete map, not an approximation).
        tab, dt = self.tableau, self.dt
        ys, _ = self._stages(h, x)
        n = self.state_size
        eye = torch.eye(n, dtype=h.dtype, device=h.device)
        big_k: list[Tensor] = []
        for i, row in enumerate(tab.a):
            dy = eye
            for aij, kj in zip(row, big_k, strict=False):
                if aij != 0.0:
                    dy = dy + dt * aij * kj
            big_k.append(self.flow._jacobian(ys[i], x) @ dy)
        jac = eye.expand(*h.shape[:-1], n, n)
        for bi, ki in zip(tab.b, big_k, strict=True):
            jac = jac + dt * bi * ki
        return jac

    def _jacobian_product(self, h: Tensor, x: Tensor | None, q: Tensor) -> Tensor:
        """The step's exact tangent applied to ``q`` ``(*batch, n, k)`` without forming the
        ``n x n`` tangent: the same recursion as :meth:`_jacobian` with ``q`` in place of the
        identity, so each stage costs one flow Jacobian and an ``n x n x k`` product."""
        tab, dt = self.tableau, self.dt
        ys, _ = self._stages(h, x)
        big_k: list[Tensor] = []
        for i, row in enumerate(tab.a):
            dy = q
            for aij, kj in zip(row, big_k, strict=False):
                if aij != 0.0:
                    dy = dy + dt * aij * kj
            big_k.append(self.flow._jacobian(ys[i], x) @ dy)
        out = q
        for bi, ki in zip(tab.b, big_k, strict=True):
            out = out + dt * bi * ki
        return out

    def initial_state(self, batch_shape=(), *, generator=None, scale=0.5):  # type: ignore[override]
        return self.flow.initial_state(batch_shape, generator=generator, scale=scale)

    def extra_repr(self) -> str:
        return f"dt={self.dt}, method={self.method!r}"


def discretise(flow: AbstractFlow, *, dt: float, method: str = "rk4") -> Discretised:
    """Discretise a flow into a map with step ``dt`` and an explicit Runge--Kutta ``method``.

    Args:
        flow: an :class:`~rnndyn.models.base.AbstractFlow` (e.g. ``RateRNN``, ``Lorenz63``).
        dt: time step (> 0). Exponents of the resulting map are reported per unit time.
        method: ``"euler"`` (order 1), ``"heun"`` (2) or ``"rk4"`` (4).

    Returns:
        A :class:`Discretised` map whose analytic Jacobian is the exact tangent of the step.

    Raises:
        TypeError: ``flow`` is not a flow. ValueError: ``dt <= 0`` or an unknown method.

    Example:
        >>> import torch, rnndyn as rd
        >>> m = rd.discretise(rd.Lorenz63().double(), dt=0.01, method="rk4")
        >>> m.units
        '1/time'
    """
    if isinstance(flow, AbstractMap):
        raise TypeError(f"`flow` must be a flow (AbstractFlow); got the map {type(flow).__name__}")
    if not isinstance(flow, AbstractFlow):
        raise TypeError(f"`flow` must be an rnndyn flow (AbstractFlow); got {type(flow).__name__}")
    dt = check_real(dt, "dt", low=0.0, low_open=True)
    check_choice(method, "method", METHODS)
    return Discretised(flow, dt, method)


__all__ = ["METHODS", "ButcherTableau", "Discretised", "discretise"]

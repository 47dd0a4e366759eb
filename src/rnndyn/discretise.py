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

    def _step_and_tangent(self, h: Tensor, x: Tensor | None, Q: Tensor) -> tuple[Tensor, Tensor]:
        """The step and its exact tangent applied to ``Q`` ``(*batch, n, k)``, without forming
        any ``n x n`` matrix: the recursion of :meth:`_jacobian` with ``Q`` in place of the
        identity, each stage one call of the flow's tangent product,
        ``(k_i, K_i) = flow._step_and_tangent(y_i, x, Y_i)`` with ``y_i = h + dt sum_j a_ij k_j``
        and ``Y_i = Q + dt sum_j a_ij K_j``; then ``h' = h + dt sum_i b_i k_i`` and
        ``J Q = Q + dt sum_i b_i K_i`` (Hairer, Norsett & Wanner 1993, *Solving ODEs I*, §II.1;
        docs/theory/chaos.md §3.2)."""
        tab, dt = self.tableau, self.dt
        ks: list[Tensor] = []
        big_k: list[Tensor] = []
        for row in tab.a:
            y, dy = h, Q
            for aij, kj, big_kj in zip(row, ks, big_k, strict=False):
                if aij != 0.0:
                    y = y + dt * aij * kj
                    dy = dy + dt * aij * big_kj
            k_i, big_k_i = self.flow._step_and_tangent(y, x, dy)
            ks.append(k_i)
            big_k.append(big_k_i)
        out, jq = h, Q
        for bi, ki, big_ki in zip(tab.b, ks, big_k, strict=True):
            out = out + dt * bi * ki
            jq = jq + dt * bi * big_ki
        return out, jq

    def _jacobian_product(self, h: Tensor, x: Tensor | None, q: Tensor) -> Tensor:
        """``J @ q`` alone (see :meth:`_step_and_tangent`)."""
        return self._step_and_tangent(h, x, q)[1]

    @property
    def tangent_size(self) -> int:
        """The flow's tangent size."""
        return self.flow.tangent_size

    @property
    def dtype(self) -> torch.dtype:
        """The flow's dtype (its parameters', or its explicit dtype when it has none)."""
        return self.flow.dtype

    @property
    def device(self) -> torch.device:
        """The flow's device."""
        return self.flow.device

    @property
    def has_analytic_jacobian(self) -> bool:
        """Whether the wrapped flow has an analytic Jacobian (the RK tangent is then analytic)."""
        return self.flow.has_analytic_jacobian

    @property
    def has_tangent_product(self) -> bool:
        """Whether the RK tangent product is analytic (the flow has a Jacobian or a product)."""
        return self.flow.has_analytic_jacobian or self.flow.has_tangent_product

    def spectral_theory(
        self, h: Tensor, x: Tensor | None = None, *, factorised: bool = True, n_points: int = 256
    ) -> object | None:
        """The flow's prediction (the spectrum of the vector field's Jacobian at ``h``)."""
        return self.flow.spectral_theory(h, x, factorised=factorised, n_points=n_points)

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

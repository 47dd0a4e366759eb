"""Wrappers that change how a model is driven but not what it is: :func:`autonomous`.

A wrapper passes every declared hook of :class:`~rnndyn.models.base.AbstractSystem` on to the
model it wraps (``tangent_size``, ``_step_and_tangent``, ``_jacobian``, ``spectral_theory``,
``dtype``/``device`` through the wrapped module's parameters, ``initial_state``, ``state_parts``,
``dt``), so every analysis sees the same system as without the wrapper.
"""

from __future__ import annotations

import torch

from rnndyn.models.base import AbstractFlow, AbstractMap, AbstractSystem

Tensor = torch.Tensor


class _AutonomousMixin:
    """The hooks of a zero-input wrapper; ``inner`` is the wrapped system. Every hook passes
    ``x = None``, which the model contract defines as zero input: no zero tensor is built and
    multiplied at every step."""

    inner: AbstractSystem

    def _rhs(self, h: Tensor, x: Tensor | None) -> Tensor:
        return self.inner._rhs(h, None)

    def _jacobian(self, h: Tensor, x: Tensor | None) -> Tensor:
        return self.inner._jacobian(h, None)

    def _step_and_tangent(self, h: Tensor, x: Tensor | None, Q: Tensor) -> tuple[Tensor, Tensor]:
        return self.inner._step_and_tangent(h, None, Q)

    @property
    def tangent_size(self) -> int:
        return self.inner.tangent_size

    @property
    def has_analytic_jacobian(self) -> bool:
        return self.inner.has_analytic_jacobian

    @property
    def has_tangent_product(self) -> bool:
        return self.inner.has_tangent_product

    @property
    def dtype(self) -> torch.dtype:
        return self.inner.dtype

    @property
    def device(self) -> torch.device:
        return self.inner.device

    def spectral_theory(
        self, h: Tensor, x: Tensor | None = None, *, factorised: bool = True, n_points: int = 256
    ) -> object | None:
        return self.inner.spectral_theory(h, None, factorised=factorised, n_points=n_points)

    def initial_state(self, batch_shape=(), *, generator=None, scale=0.5):  # type: ignore[no-untyped-def]
        return self.inner.initial_state(batch_shape, generator=generator, scale=scale)

    def _reference_tensor(self) -> Tensor | None:
        return self.inner._reference_tensor()

    def extra_repr(self) -> str:
        return "input held at zero"


class AutonomousMap(_AutonomousMixin, AbstractMap):  # type: ignore[misc]
    """A map with its input held at zero (``input_size = 0``); build it with :func:`autonomous`."""

    def __init__(self, inner: AbstractMap) -> None:
        AbstractMap.__init__(self)
        self.inner = inner
        self.state_size = inner.state_size
        self.input_size = 0
        self.state_parts = inner.state_parts
        self.dt = inner.dt

    def _step(self, h: Tensor, x: Tensor | None) -> Tensor:
        return self.inner._step(h, None)


class AutonomousFlow(_AutonomousMixin, AbstractFlow):  # type: ignore[misc]
    """A flow with its input held at zero (``input_size = 0``); build it with :func:`autonomous`."""

    def __init__(self, inner: AbstractFlow) -> None:
        AbstractFlow.__init__(self)
        self.inner = inner
        self.state_size = inner.state_size
        self.input_size = 0
        self.state_parts = inner.state_parts

    def _vector_field(self, h: Tensor, x: Tensor | None) -> Tensor:
        return self.inner._vector_field(h, None)


def autonomous(system: AbstractSystem) -> AutonomousMap | AutonomousFlow:
    r"""The free (zero-input) dynamics of a driven model, :math:`h \mapsto F(h, 0)`, as a model
    with ``input_size = 0``.

    Every hook passes through (see the module docstring), including ``tangent_size`` (an h-only
    LSTM keeps its ``L H``-dimensional tangent space) and the matrix-free tangent product. The
    wrapped model's parameters are shared, not copied: training the model changes the wrapper.
    A model that is already autonomous is wrapped all the same (the wrapper is then a no-op).

    Args:
        system: a map or a flow (any :class:`~rnndyn.models.base.AbstractSystem`).

    Returns:
        :class:`AutonomousMap` for a map, :class:`AutonomousFlow` for a flow.

    Raises:
        TypeError: ``system`` is not an rnndyn model.

    Example:
        >>> import torch, rnndyn as rd
        >>> net = rd.from_torch(torch.nn.LSTM(2, 3, dtype=torch.float64), lstm_state="h")
        >>> free = rd.autonomous(net)
        >>> free.input_size, free.state_size, free.tangent_size
        (0, 6, 3)
    """
    if isinstance(system, AbstractMap):
        return AutonomousMap(system)
    if isinstance(system, AbstractFlow):
        return AutonomousFlow(system)
    raise TypeError(
        f"`system` must be an rnndyn model (AbstractMap or AbstractFlow); got {type(system).__name__}. "
        "Wrap a torch.nn RNN/GRU/LSTM with rnndyn.from_torch(module) first"
    )


__all__ = ["AutonomousFlow", "AutonomousMap", "autonomous"]

"""The system contract every analysis consumes.

A model is a ``torch.nn.Module`` that is either

* a **map** (:class:`AbstractMap`): ``step(h, x=None) -> h_next``, or
* a **flow** (:class:`AbstractFlow`): ``vector_field(h, x=None) -> dh/dt``,

on a flat state ``h`` of shape ``(*batch, n)`` with ``n = state_size``. Structured states (LSTM
``(h, c)``, the gated flow's ``(h, z, r)``) are flat inside rnndyn and split only for the user
with :meth:`AbstractSystem.split_state`.

Subclasses implement the *raw* functions ``_step`` / ``_vector_field`` (no validation, used in
hot loops) and may override ``_jacobian`` with an analytic Jacobian
``jac[..., i, j] = d out[i] / d h[j]``; the default is autograd (``torch.func``). The public
``step`` / ``vector_field`` / ``jacobian`` validate their arguments first.

A flow becomes a map only through :func:`rnndyn.discretise`, the one place that owns ``dt``.
"""

from __future__ import annotations

import torch
from torch import nn

from rnndyn._checks import check_input, check_state, check_tensor

Tensor = torch.Tensor


class AbstractSystem(nn.Module):
    """Common base of maps and flows. Not used directly; subclass a map or a flow.

    Subclasses must set ``state_size`` and ``input_size`` (ints) in ``__init__`` and may set
    ``state_parts`` (names and sizes of the blocks of the flat state, in order).
    """

    state_size: int
    input_size: int = 0
    #: names and sizes of the blocks of the flat state; default: one block "h"
    state_parts: tuple[tuple[str, int], ...] | None = None

    # ------------------------------------------------------------------ raw functions
    def _rhs(self, h: Tensor, x: Tensor | None) -> Tensor:  # pragma: no cover - abstract
        raise NotImplementedError

    def _jacobian(self, h: Tensor, x: Tensor | None) -> Tensor:
        """Jacobian of the raw right-hand side; override with an analytic form where known."""
        from rnndyn.jacobians import autograd_jacobian

        return autograd_jacobian(self._rhs, h, x)

    @property
    def has_analytic_jacobian(self) -> bool:
        """Whether this model overrides the autograd Jacobian with an analytic one."""
        return type(self)._jacobian is not AbstractSystem._jacobian

    # ------------------------------------------------------------------ validation
    def _reference_tensor(self) -> Tensor | None:
        for p in self.parameters():
            return p
        for b in self.buffers():
            if torch.is_floating_point(b):
                return b
        return None

    def _validate(self, h: Tensor, x: Tensor | None, *, name: str = "h") -> tuple[Tensor, Tensor | None]:
        check_state(h, self.state_size, name)
        ref = self._reference_tensor()
        if ref is not None:
            if h.dtype != ref.dtype:
                raise TypeError(
                    f"`{name}` has dtype {h.dtype} but {type(self).__name__}'s parameters are "
                    f"{ref.dtype}; convert one of them (model.to({h.dtype}) or {name}.to({ref.dtype}))"
                )
            if h.device != ref.device:
                raise ValueError(
                    f"`{name}` is on {h.device} but {type(self).__name__}'s parameters are on "
                    f"{ref.device}; move one of them"
                )
        x = check_input(x, self.input_size, h.shape[:-1], "x")
        if x is not None and x.dtype != h.dtype:
            raise TypeError(f"`x` must have the dtype of `{name}` ({h.dtype}); got {x.dtype}")
        return h, x

    # ------------------------------------------------------------------ public helpers
    def jacobian(self, h: Tensor, x: Tensor | None = None) -> Tensor:
        """Jacobian of one step (maps) or of the vector field (flows).

        Args:
            h: state, shape ``(*batch, n)``.
            x: input, shape ``(*batch, d)``, or ``None`` (zero input).

        Returns:
            ``(*batch, n, n)`` tensor with ``jac[..., i, j] = d out[i] / d h[j]``.
        """
        h, x = self._validate(h, x)
        return self._jacobian(h, x)

    def split_state(self, h: Tensor) -> dict[str, Tensor]:
        """Split a flat state ``(*batch, n)`` (or trajectory ``(*batch, T, n)``) into named parts."""
        check_tensor(h, "h")
        if h.shape[-1] != self.state_size:
            raise ValueError(f"`h` must have shape (*batch, {self.state_size}); got {tuple(h.shape)}")
        parts = self.state_parts or (("h", self.state_size),)
        out: dict[str, Tensor] = {}
        start = 0
        for part_name, size in parts:
            out[part_name] = h[..., start : start + size]
            start += size
        return out

    def join_state(self, **parts: Tensor) -> Tensor:
        """Inverse of :meth:`split_state`: concatenate named parts into the flat state."""
        names = self.state_parts or (("h", self.state_size),)
        expected = [n for n, _ in names]
        if sorted(parts) != sorted(expected):
            raise ValueError(f"join_state expects parts {expected}; got {sorted(parts)}")
        for part_name, size in names:
            check_tensor(parts[part_name], part_name)
            if parts[part_name].shape[-1] != size:
                raise ValueError(
                    f"`{part_name}` must have shape (*batch, {size}); got {tuple(parts[part_name].shape)}"
                )
        return torch.cat([parts[n] for n, _ in names], dim=-1)

    def initial_state(
        self,
        batch_shape: tuple[int, ...] | torch.Size = (),
        *,
        generator: torch.Generator | None = None,
        scale: float = 0.5,
    ) -> Tensor:
        """A random initial state ``scale * N(0, 1)`` of shape ``(*batch_shape, n)``.

        Drawn on the CPU with ``generator`` (reproducible across devices), then moved to the
        model's dtype and device. Reference systems override this with a point in their basin.
        """
        ref = self._reference_tensor()
        dtype = ref.dtype if ref is not None else torch.get_default_dtype()
        device = ref.device if ref is not None else torch.device("cpu")
        h0 = torch.randn(*batch_shape, self.state_size, generator=generator, dtype=torch.float64)
        return (scale * h0).to(dtype=dtype, device=device)

    def extra_repr(self) -> str:
        return f"state_size={self.state_size}, input_size={self.input_size}"


class AbstractMap(AbstractSystem):
    """A discrete-time system ``h_{t+1} = F(h_t, x_{t+1})``.

    Subclasses implement ``_step(h, x)``. ``dt`` is ``None`` for native maps (exponents are
    reported per step) and the time step for discretised flows (exponents per unit time).
    """

    dt: float | None = None

    def _step(self, h: Tensor, x: Tensor | None) -> Tensor:  # pragma: no cover - abstract
        raise NotImplementedError

    def _rhs(self, h: Tensor, x: Tensor | None) -> Tensor:
        return self._step(h, x)

    def step(self, h: Tensor, x: Tensor | None = None) -> Tensor:
        """One step of the map.

        Shape:
            ``h``: ``(*batch, n)``; ``x``: ``(*batch, d)`` or ``None``; returns ``(*batch, n)``.
        """
        h, x = self._validate(h, x)
        return self._step(h, x)

    def forward(self, h: Tensor, x: Tensor | None = None) -> Tensor:
        return self.step(h, x)

    @property
    def units(self) -> str:
        """Units of rates computed on this map: ``"1/step"`` or ``"1/time"``."""
        return "1/step" if self.dt is None else "1/time"


class AbstractFlow(AbstractSystem):
    """A continuous-time system ``dh/dt = f(h, x)``; implement ``_vector_field(h, x)``."""

    def _vector_field(self, h: Tensor, x: Tensor | None) -> Tensor:  # pragma: no cover
        raise NotImplementedError

    def _rhs(self, h: Tensor, x: Tensor | None) -> Tensor:
        return self._vector_field(h, x)

    def vector_field(self, h: Tensor, x: Tensor | None = None) -> Tensor:
        """The time derivative ``dh/dt`` at ``h`` (shape ``(*batch, n)``)."""
        h, x = self._validate(h, x)
        return self._vector_field(h, x)

    def forward(self, h: Tensor, x: Tensor | None = None) -> Tensor:
        return self.vector_field(h, x)


def trace_divergence(system: AbstractSystem, h: Tensor, x: Tensor | None = None) -> Tensor:
    """Trace of the Jacobian (flows) — a helper for sum-rule checks."""
    return torch.diagonal(system.jacobian(h, x), dim1=-2, dim2=-1).sum(-1)


__all__ = ["AbstractFlow", "AbstractMap", "AbstractSystem", "trace_divergence"]

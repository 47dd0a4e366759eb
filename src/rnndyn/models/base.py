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

**The declared hooks** every analysis uses (and every wrapper passes on); each has a default that
is always correct, and models override them where they know better:

* ``tangent_size`` (default ``state_size``): dimension of the tangent space, the leading block of
  the flat state that is perturbed (the h-only LSTM of Vogt et al. 2022 has fewer).
* ``step_and_tangent(h, x, Q) -> (F(h, x), J(h, x) @ Q)`` (validating) and its raw form
  ``_step_and_tangent`` (hot loops call it, models override it with matrix-free products). ``F``
  is the step of a map, the vector field of a flow; ``J = dF/dh`` restricted to the tangent space;
  ``Q`` is ``(*batch, tangent_size, k)``. Default: ``_rhs`` and ``_jacobian(h, x) @ Q``.
* ``spectral_theory(h, x)``: the random-matrix prediction of the Jacobian's spectrum at that
  state (from :mod:`rnndyn.meanfield.rmt`), or ``None`` (the default) where no theory applies.
* ``dtype`` / ``device``: what the model computes in: its floating parameters/buffers, or for a
  parameter-free model an explicit ``dtype`` (``self.dtype = torch.float32`` in ``__init__``,
  or ``model.to(dtype)``), float64 when none is set.
"""

from __future__ import annotations

import torch
from torch import nn

from rnndyn._checks import (
    broadcast_shapes,
    check_finite,
    check_generator,
    check_input,
    check_positive_int,
    check_real,
    check_state,
    check_tensor,
    int_tuple,
)

Tensor = torch.Tensor


def initial_state_args(
    batch_shape: object, generator: object, scale: object
) -> tuple[tuple[int, ...], float]:
    """Validate the arguments of ``initial_state`` (every model's and reference system's): a batch
    shape of ints >= 0, a ``torch.Generator`` or ``None``, a finite ``scale >= 0`` (a NaN or
    negative scale gave NaN or mirrored states silently)."""
    check_generator(generator)
    shape = int_tuple(batch_shape)
    if shape is None:
        raise TypeError(f"`batch_shape` must be a tuple of ints, e.g. (8,) or (); got {batch_shape!r}")
    if any(b < 0 for b in shape):
        raise ValueError(f"`batch_shape` must hold ints >= 0; got {shape}")
    return shape, check_real(scale, "scale", low=0.0)


class AbstractSystem(nn.Module):
    """Common base of maps and flows. Not used directly; subclass a map or a flow.

    Subclasses must set ``state_size`` and ``input_size`` (ints) in ``__init__`` and may set
    ``state_parts`` (names and sizes of the blocks of the flat state, in order).
    """

    state_size: int
    input_size: int = 0
    #: names and sizes of the blocks of the flat state; default: one block "h"
    state_parts: tuple[tuple[str, int], ...] | None = None

    #: explicit dtype/device of a parameter-free model (``None``: float64 / CPU); set through the
    #: ``dtype`` / ``device`` setters or ``.to(...)``
    _explicit_dtype: torch.dtype | None = None
    _explicit_device: torch.device | None = None
    #: explicit tangent size (``None``: ``state_size``); set through the ``tangent_size`` setter
    _tangent_size: int | None = None

    # ------------------------------------------------------------------ raw functions
    def _rhs(self, h: Tensor, x: Tensor | None) -> Tensor:  # pragma: no cover - abstract
        raise NotImplementedError

    def _jacobian(self, h: Tensor, x: Tensor | None) -> Tensor:
        """Jacobian of the raw right-hand side; override with an analytic form where known.

        Returns ``(*batch, tangent_size, tangent_size)``; the autograd default differentiates the
        whole state (``(*batch, n, n)``), which :meth:`_step_and_tangent` restricts to the
        tangent block.
        """
        from rnndyn._autodiff import autograd_jacobian

        return autograd_jacobian(self._rhs, h, x)

    def _step_and_tangent(self, h: Tensor, x: Tensor | None, Q: Tensor) -> tuple[Tensor, Tensor]:
        """Raw (unvalidated) ``(F(h, x), J(h, x) @ Q)``: ``F`` is :meth:`_rhs` (the step of a map,
        the vector field of a flow) and ``J`` its Jacobian restricted to the tangent space.

        The default forms the dense Jacobian and is therefore always correct; models override it
        with matrix-free products (a few ``(n, n) @ (n, k)`` products and diagonal scalings).
        ``Q``: ``(*batch, tangent_size, k)``; returns ``(*batch, n)`` and ``(*batch, tangent_size, k)``.
        """
        jac = self._jacobian(h, x)
        m = self.tangent_size
        if jac.shape[-1] != m:
            jac = jac[..., :m, :m]
        return self._rhs(h, x), torch.matmul(jac, Q)

    @property
    def has_analytic_jacobian(self) -> bool:
        """Whether this model overrides the autograd Jacobian with an analytic one."""
        return type(self)._jacobian is not AbstractSystem._jacobian

    @property
    def has_tangent_product(self) -> bool:
        """Whether this model overrides the dense default of :meth:`_step_and_tangent`."""
        return type(self)._step_and_tangent is not AbstractSystem._step_and_tangent

    # ------------------------------------------------------------------ declared hooks
    @property
    def tangent_size(self) -> int:
        """Dimension of the tangent space (a leading block of the flat state); default
        ``state_size``. Lyapunov spectra have at most ``tangent_size`` exponents."""
        return self.state_size if self._tangent_size is None else self._tangent_size

    @tangent_size.setter
    def tangent_size(self, value: int) -> None:
        value = check_positive_int(value, "tangent_size")
        self._tangent_size = value

    def spectral_theory(
        self, h: Tensor, x: Tensor | None = None, *, factorised: bool = True, n_points: int = 256
    ) -> object | None:
        """The random-matrix prediction of the Jacobian's spectrum at one state ``h`` ``(n,)``
        (a :class:`rnndyn.meanfield.rmt.SpectralSupport`), or ``None`` where no theory applies
        (the default). Models with a theory override it by calling :mod:`rnndyn.meanfield.rmt`
        with the statistics of their state; :func:`rnndyn.spectra.predicted_support` is the
        validating entry point.

        Args:
            h: one state ``(n,)``. x: its input ``(d,)`` or ``None``.
            factorised: GRU only: the factorised or the exact unfactorised support boundary.
            n_points: number of points on the predicted boundary.
        """
        return None

    @property
    def dtype(self) -> torch.dtype:
        """The dtype the model computes in: that of its floating parameters/buffers; for a
        parameter-free model the explicit ``dtype`` it was given (float64 when none)."""
        ref = self._reference_tensor()
        if ref is not None:
            return ref.dtype
        return self._explicit_dtype if self._explicit_dtype is not None else torch.float64

    @dtype.setter
    def dtype(self, value: torch.dtype) -> None:
        if not isinstance(value, torch.dtype) or not value.is_floating_point:
            raise TypeError(f"`dtype` must be a floating-point torch.dtype; got {value!r}")
        self._explicit_dtype = value

    @property
    def device(self) -> torch.device:
        """The device the model computes on (its parameters'; CPU for parameter-free models
        unless moved with ``.to(device)``)."""
        ref = self._reference_tensor()
        if ref is not None:
            return ref.device
        return self._explicit_device if self._explicit_device is not None else torch.device("cpu")

    @device.setter
    def device(self, value: torch.device | str) -> None:
        self._explicit_device = torch.device(value)

    def _declare(self, dtype: torch.dtype | None, device: torch.device | None) -> None:
        # every rnndyn system inside (a wrapped model, a discretised flow) follows, so that
        # parameter-free models keep their explicit dtype/device in step with their wrappers
        for m in self.modules():
            if isinstance(m, AbstractSystem):
                if dtype is not None and dtype.is_floating_point:
                    m._explicit_dtype = dtype
                if device is not None:
                    m._explicit_device = torch.device(device)

    def to(self, *args, **kwargs):  # type: ignore[no-untyped-def]
        device, dtype, _, _ = torch._C._nn._parse_to(*args, **kwargs)
        self._declare(dtype, device)
        return super().to(*args, **kwargs)

    def double(self):  # type: ignore[no-untyped-def]
        self._declare(torch.float64, None)
        return super().double()

    def float(self):  # type: ignore[no-untyped-def]
        self._declare(torch.float32, None)
        return super().float()

    # ------------------------------------------------------------------ validation
    def _reference_tensor(self) -> Tensor | None:
        for p in self.parameters():
            if torch.is_floating_point(p):
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
        elif self._explicit_dtype is not None and h.dtype != self._explicit_dtype:
            raise TypeError(
                f"`{name}` has dtype {h.dtype} but {type(self).__name__} computes in "
                f"{self._explicit_dtype} (its declared dtype); convert one of them"
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

    def step_and_tangent(self, h: Tensor, x: Tensor | None, Q: Tensor) -> tuple[Tensor, Tensor]:
        r"""One step (maps) or the vector field (flows) together with the tangent product.

        .. math::

            (h, x, Q) \mapsto \big(F(h, x),\; J(h, x)\,Q\big), \qquad
            J = \partial F / \partial h \text{ restricted to the tangent space},

        the building block of every tangent-space analysis (Lyapunov spectra, covariant vectors,
        gradient diagnostics). Matrix-free where the model overrides :meth:`_step_and_tangent`.

        Args:
            h: state ``(*batch, n)``.
            x: input ``(*batch, d)`` or ``None`` (zero input).
            Q: tangent vectors ``(*batch, tangent_size, k)`` (``k >= 1`` columns).

        Returns:
            ``(h_next, JQ)`` of shapes ``(*batch, n)`` and ``(*batch, tangent_size, k)``.

        Raises:
            TypeError: ``Q`` not a floating tensor of ``h``'s dtype. ValueError: wrong shapes,
            non-finite entries, or ``Q`` on another device.
        """
        h, x = self._validate(h, x)
        check_tensor(Q, "Q")
        m = self.tangent_size
        if Q.ndim < 2 or Q.shape[-2] != m or Q.shape[-1] < 1:
            raise ValueError(f"`Q` must have shape (*batch, {m}, k) with k >= 1; got {tuple(Q.shape)}")
        if Q.dtype != h.dtype:
            raise TypeError(f"`Q` must have the dtype of `h` ({h.dtype}); got {Q.dtype}")
        if Q.device != h.device:
            raise ValueError(f"`Q` must be on the device of `h` ({h.device}); got {Q.device}")
        try:
            broadcast_shapes(Q.shape[:-2], h.shape[:-1])
        except RuntimeError:
            raise ValueError(
                f"`Q` batch shape {tuple(Q.shape[:-2])} does not broadcast with the state's batch "
                f"shape {tuple(h.shape[:-1])}"
            ) from None
        check_finite(Q, "Q")
        return self._step_and_tangent(h, x, Q)

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
        batch_shape, scale = initial_state_args(batch_shape, generator, scale)
        dtype, device = self.dtype, self.device
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
    _system_kind = "map"  # read by rnndyn._checks.check_map (which imports no model)

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

    _system_kind = "flow"  # read by rnndyn._checks.check_map

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


def _frob_gain(w: Tensor) -> float:
    """Empirical gain ``||W||_F / sqrt(N)`` (equals ``g`` for ``N(0, g^2/N)`` entries): the gain the
    random-matrix predictions of :meth:`AbstractSystem.spectral_theory` use."""
    return float(w.detach().double().pow(2).sum().div(w.shape[0]).sqrt())


def _np(t: Tensor):  # type: ignore[no-untyped-def]
    """A tensor as a float64 NumPy array (the input format of :mod:`rnndyn.meanfield.rmt`)."""
    return t.detach().to("cpu", torch.float64).numpy()


def trace_divergence(system: AbstractSystem, h: Tensor, x: Tensor | None = None) -> Tensor:
    """Trace of the Jacobian (flows) — a helper for sum-rule checks."""
    return torch.diagonal(system.jacobian(h, x), dim1=-2, dim2=-1).sum(-1)


__all__ = ["AbstractFlow", "AbstractMap", "AbstractSystem", "trace_divergence"]

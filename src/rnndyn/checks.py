r"""Self-checks that can fail: a model's tangent against autograd, and finite parameters.

:func:`check_jacobian` compares the tangent products an analysis uses (the model's
``_step_and_tangent`` and its dense ``_jacobian``) with forward-mode autodiff of the model's own
step, ``J V = d/d\epsilon F(h + \epsilon V)|_0`` (:func:`torch.func.jvp`), at a few states and
random directions. A hand-written Jacobian that is wrong by a factor 1.1 gives a relative error
near 0.1; a correct one agrees to round-off (``~1e-15`` in float64). Lyapunov runs call it on
sampled states of their own trajectory, so a wrong Jacobian makes the result ``failed`` instead
of printing wrong exponents with ``success`` (docs/lyapunov.md, "Self-checks").
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import torch

from rnndyn._checks import (
    check_finite_parameters,
    check_generator,
    check_positive_int,
    check_real,
    check_tensor,
)
from rnndyn._results import Check, Result, Status

Tensor = torch.Tensor

__all__ = ["JacobianCheckResult", "check_finite_parameters", "check_jacobian", "jacobian_check"]


def model_name(model: Any) -> str:
    """``VanillaRNN``, or ``Discretised(Lorenz63, dt=0.05, rk4)`` for discretised flows."""
    flow = getattr(model, "flow", None)
    if flow is not None and hasattr(model, "dt"):
        return f"Discretised({type(flow).__name__}, dt={model.dt}, {getattr(model, 'method', '?')})"
    return type(model).__name__


def _default_rtol(dtype: torch.dtype) -> float:
    # a correct tangent agrees with autograd to a few ulps times the conditioning of the step;
    # 10 sqrt(eps) (1.5e-7 in float64, 3.5e-3 in float32) leaves that margin and still flags any
    # Jacobian that is wrong by more than a part in a million
    return 10.0 * math.sqrt(float(torch.finfo(dtype).eps))


def _rhs(model: Any) -> Any:
    fn = getattr(model, "_rhs", None)
    if fn is None:  # models predating the declared hooks
        fn = getattr(model, "_step", None) or model._vector_field
    return fn


def _relative_error(a: Tensor, b: Tensor) -> float:
    """Symmetric relative Frobenius error per state, maximised over states."""
    diff = torch.linalg.matrix_norm(a - b)
    scale = torch.linalg.matrix_norm(a) + torch.linalg.matrix_norm(b)
    tiny = torch.finfo(a.dtype).tiny
    err = 2.0 * diff / torch.clamp(scale, min=tiny)
    err = torch.where(torch.isfinite(err), err, torch.full_like(err, math.inf))
    return float(err.max()) if err.numel() else 0.0


def jacobian_check(
    model: Any,
    states: Tensor,
    inputs: Tensor | None = None,
    *,
    n_directions: int = 3,
    generator: torch.Generator | None = None,
    rtol: float | None = None,
) -> Check:
    """The model's tangent products vs autograd JVPs at ``states`` ``(N, n)`` (raw, no
    validation; used inside analyses). Returns a :class:`~rnndyn.Check` named ``"jacobian"``
    whose failure status is ``failed``; see :func:`check_jacobian` for the public form."""
    name = model_name(model)
    dtype = states.dtype
    rtol = _default_rtol(dtype) if rtol is None else rtol
    n = int(model.state_size)
    m = int(getattr(model, "tangent_size", n))
    states = states.reshape(-1, n)
    if inputs is not None:
        inputs = inputs.reshape(states.shape[0], -1)
    finite = torch.isfinite(states).all(-1)
    if inputs is not None:
        finite = finite & torch.isfinite(inputs).all(-1)
    states = states[finite]
    inputs = inputs[finite] if inputs is not None else None
    if states.shape[0] == 0:
        return Check(
            name="jacobian",
            passed=True,
            detail=f"{name}: no finite state to check the Jacobian at (skipped)",
        )
    k = max(1, min(n_directions, m))
    v = torch.randn(states.shape[0], m, k, generator=generator, dtype=torch.float64)
    v = v.to(dtype=dtype, device=states.device)
    fn = _rhs(model)
    vfull = v if m == n else torch.cat([v, v.new_zeros(v.shape[0], n - m, k)], dim=-2)
    from rnndyn._autodiff import reverse_tangent_map, tangent_map

    try:  # reverse mode (double vjp): no functorch transform, so no torch._dynamo import (~2 s)
        ref = reverse_tangent_map(fn, states, vfull, inputs)[..., :m, :]
    except RuntimeError:  # an op without a differentiable backward: forward mode instead
        with torch.enable_grad():
            ref = tangent_map(fn, states, vfull, inputs)[..., :m, :]
    ref = ref.detach()
    errors: dict[str, float] = {}
    with torch.no_grad():
        jac = model._jacobian(states, inputs)
        if jac.shape[-1] != m:
            jac = jac[..., :m, :m]
        errors["_jacobian"] = _relative_error(torch.matmul(jac, v), ref)
        step_and_tangent = getattr(model, "_step_and_tangent", None)
        if step_and_tangent is not None:
            errors["_step_and_tangent"] = _relative_error(step_and_tangent(states, inputs, v)[1], ref)
        product = getattr(model, "_jacobian_product", None)
        if product is not None:
            errors["_jacobian_product"] = _relative_error(product(states, inputs, v), ref)
    worst_name = max(errors, key=lambda key: errors[key])
    worst = errors[worst_name]
    passed = worst <= rtol
    where = f"{states.shape[0]} state(s), {k} random direction(s)"
    if passed:
        detail = f"{name}: tangent agrees with autograd JVP to {worst:.1e} at {where}"
    else:
        detail = (
            f"{name}: {worst_name} disagrees with the autograd JVP of the model's step by a relative "
            f"error of {worst:.3g} (tolerance {rtol:.1e}) at {where}; the hand-written Jacobian is "
            "wrong, so the exponents are too. Fix the model's _jacobian/_step_and_tangent "
            "(rd.check_jacobian(model) reproduces this)"
        )
    return Check(
        name="jacobian", passed=passed, value=worst, tolerance=rtol, detail=detail, status=Status.FAILED
    )


@dataclass(frozen=True, kw_only=True)
class JacobianCheckResult(Result):
    """Outcome of :func:`check_jacobian`.

    Attributes:
        model: the model's name. max_error: the largest relative error found (Frobenius norm of
        ``J V`` minus the autograd JVP over their mean norm). tolerance: the threshold.
        n_states / n_directions: how many states and random directions were compared.
    """

    model: str
    max_error: float
    tolerance: float
    n_states: int
    n_directions: int


def check_jacobian(
    model: Any,
    h: Tensor | None = None,
    x: Tensor | None = None,
    *,
    n_states: int = 4,
    n_directions: int = 3,
    generator: torch.Generator | None = None,
    rtol: float | None = None,
) -> JacobianCheckResult:
    r"""Check a model's hand-written tangent against autograd.

    For states ``h_s`` and random directions ``v``, compares the products the analyses use,
    ``J(h_s) v`` from the model's ``_jacobian`` (and ``_step_and_tangent``, and any fused
    product), with autograd's derivative of the model's own step, :math:`\mathrm{JVP}(h_s, V)`
    (computed in reverse mode by the double-vjp trick, :func:`rnndyn.jacobians.reverse_tangent_map`;
    forward mode for a step whose backward is not differentiable),

    .. math:: e = \max_s \frac{2\,\lVert J(h_s) V - \mathrm{JVP}(h_s, V)\rVert_F}
                          {\lVert J(h_s) V\rVert_F + \lVert \mathrm{JVP}(h_s, V)\rVert_F},

    and passes when ``e <= rtol``. Use it when you write your own model with an analytic
    Jacobian; :func:`rnndyn.lyapunov_spectrum` runs the same check on states of its trajectory.

    Args:
        model: any rnndyn map or flow.
        h: states ``(N, n)`` or ``(n,)`` to check at; default ``n_states`` states from
            ``model.initial_state`` drawn from ``generator``.
        x: inputs matching ``h`` (``(N, d)``), or ``None`` (zeros for input-driven models).
        n_states: number of default states. n_directions: random directions per state.
        generator: randomness for the default states and the directions.
        rtol: tolerance on ``e`` (default ``10 sqrt(eps)`` of the dtype: 1.5e-7 in float64).

    Returns:
        :class:`JacobianCheckResult` with ``status`` ``success`` or ``failed`` (the message
        names the model, the product that disagrees and the error size).

    Raises:
        TypeError / ValueError: not an rnndyn model, or states/inputs of the wrong shape.

    Example:
        >>> import torch, rnndyn as rd
        >>> rd.check_jacobian(rd.Henon(), generator=torch.Generator().manual_seed(0)).status
        <Status.SUCCESS: 'success'>
    """
    from rnndyn.models.base import AbstractSystem

    if not isinstance(model, AbstractSystem):
        raise TypeError(f"`model` must be an rnndyn model (AbstractSystem); got {type(model).__name__}")
    check_generator(generator)
    n_states = check_positive_int(n_states, "n_states")
    n_directions = check_positive_int(n_directions, "n_directions")
    if rtol is not None:
        rtol = check_real(rtol, "rtol", low=0.0, low_open=True)
    check_finite_parameters(model, "model")
    n = model.state_size
    if h is None:
        h = model.initial_state((n_states,), generator=generator)
    else:
        check_tensor(h, "h")
        if h.ndim not in (1, 2) or h.shape[-1] != n or h.numel() == 0:
            raise ValueError(f"`h` must have shape (N, {n}) with N >= 1, or ({n},); got {tuple(h.shape)}")
        h = h.reshape(-1, n)
    d = model.input_size
    if x is None and d > 0:
        x = torch.zeros(h.shape[0], d, dtype=h.dtype, device=h.device)
    elif x is not None:
        check_tensor(x, "x")
        if d == 0:
            raise ValueError(f"`x` must be None: {type(model).__name__} has input_size 0")
        if x.shape[-1] != d or x.numel() not in (d, h.shape[0] * d):
            raise ValueError(f"`x` must have shape ({h.shape[0]}, {d}) or ({d},); got {tuple(x.shape)}")
        x = x.reshape(-1, d).expand(h.shape[0], d)
    # dtype against the model's, finite values (a NaN state was silently skipped: status success)
    model._validate(h, x)
    check = jacobian_check(model, h, x, n_directions=n_directions, generator=generator, rtol=rtol)
    status = Status.SUCCESS if check.passed else Status.FAILED
    return JacobianCheckResult(
        model=model_name(model),
        max_error=check.value if check.value is not None else 0.0,
        tolerance=check.tolerance if check.tolerance is not None else _default_rtol(h.dtype),
        n_states=int(h.shape[0]),
        n_directions=max(1, min(n_directions, int(getattr(model, "tangent_size", n)))),
        status=status,
        message=check.detail,
        checks=(check,),
    )

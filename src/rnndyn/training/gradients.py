"""Gradient diagnostics: loss gradients and tangent products vs horizon ([MMD22] §2.1-2.2).

docs/theory/chaos.md §2.1 (eqs. 5-6): ``dL_T/dtheta = sum_r (dL_T/dz_T)(prod_k J_{T-k})(d+z_r/dtheta)``,
the same Jacobian products that define lambda_max (eq. 4). Theorem 2: on a chaotic attractor
``|dz_T/dz_1|`` and ``|dL_T/dtheta|`` grow like ``exp(lambda_max T)``. This module measures both
norms against the horizon ``T`` on orbits started on the attractor, fits the exponential growth
rate (slope of the mean log-norm) and sets it beside the model's lambda_max.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from rnndyn._checks import check_generator, check_map, check_positive_int, check_state
from rnndyn._results import Result, Status

Tensor = torch.Tensor


@dataclass(frozen=True, kw_only=True)
class GradientHorizonResult(Result):
    """Norms vs horizon and their fitted growth rates (per step, natural log).

    Attributes:
        horizons: the ``T`` values. log_tangent_norm / log_grad_norm: mean over trajectories of
        ``ln |prod J|_2`` and ``ln |dL_T/dtheta|`` (``(len(horizons),)``; per trajectory in the
        ``*_per_trajectory`` arrays). tangent_rate / grad_rate: least-squares slopes.
        lambda_max: the model's exponent from :func:`rnndyn.lyapunov_spectrum` (``None`` if
        not computed). units: ``"1/step"``.
    """

    horizons: list[int]
    log_tangent_norm: list[float]
    log_grad_norm: list[float]
    tangent_rate: float
    grad_rate: float
    lambda_max: float | None
    lambda_max_stderr: float | None
    log_tangent_per_trajectory: list[list[float]]
    log_grad_per_trajectory: list[list[float]]
    units: str = "1/step"


def _slope(x: Sequence[float], y: Sequence[float]) -> float:
    return float(np.polyfit(np.asarray(x, float), np.asarray(y, float), 1)[0])


def gradient_horizon(
    system: Any,
    *,
    horizons: Sequence[int] = tuple(range(5, 65, 5)),
    n_trajectories: int = 8,
    n_transient: int = 500,
    h0: Tensor | None = None,
    loss: str = "readout",
    lyapunov: bool = True,
    lyapunov_steps: int = 3000,
    generator: torch.Generator | None = None,
) -> GradientHorizonResult:
    r"""Norm of tangent products and of loss gradients vs horizon T, with growth rates.

    For each trajectory (started after ``n_transient`` steps, i.e. on the attractor) and each
    ``T``: the spectral norm :math:`\|J_T \cdots J_1\|_2` (log-scaled product, no overflow), and
    :math:`\|\partial L_T/\partial\theta\|_2` over all trainable parameters for
    :math:`L_T = u\cdot z_T` with a fixed random unit vector ``u`` (``loss="readout"``) or
    :math:`L_T = \tfrac12\|z_T\|^2` (``loss="energy"``), by autograd through a fresh rollout of
    ``T`` steps from a detached ``z_0``.

    Args:
        system: an rnndyn map with parameters (e.g. ``rd.VanillaRNN``; a :class:`ForcedRNN`'s
            ``latent_map()``). Autonomous: inputs are zero.
        horizons: strictly increasing integer horizons ``T >= 1`` (at least two).
        h0: one initial state ``(state_size,)`` shared by the trajectories (default: drawn).
        n_trajectories: independent initial conditions (drawn with ``generator``).
        lyapunov: also compute lambda_max with :func:`rnndyn.lyapunov_spectrum` (k = 1).

    Returns:
        :class:`GradientHorizonResult`; Theorem 2 of [MMD22] predicts ``tangent_rate ~
        grad_rate ~ lambda_max`` when ``lambda_max > 0``.
    """
    check_map(system)
    check_generator(generator)
    if isinstance(horizons, str) or not hasattr(horizons, "__iter__"):
        raise TypeError(
            f"`horizons` must be a sequence of ints >= 1; got {type(horizons).__name__} {horizons!r}"
        )
    hs = [check_positive_int(int(t) if isinstance(t, numbers.Integral) else t, "horizons") for t in horizons]
    if len(hs) < 2 or any(b <= a for a, b in zip(hs, hs[1:], strict=False)):
        raise ValueError(f"`horizons` must be at least two increasing ints >= 1; got {list(horizons)}")
    n_traj = check_positive_int(n_trajectories, "n_trajectories")
    if loss not in ("readout", "energy"):
        raise ValueError(f"`loss` must be 'readout' or 'energy'; got {loss!r}")
    if h0 is not None:
        h0 = check_state(h0, system.state_size, "h0")
        if h0.ndim == 2 and h0.shape[0] == 1:
            h0 = h0[0]
        if h0.ndim != 1:
            raise ValueError(f"`h0` must be one state of shape ({system.state_size},); got {tuple(h0.shape)}")
    d = system.input_size

    def x_of(z: Tensor) -> Tensor | None:
        return None if d == 0 else z.new_zeros(*z.shape[:-1], d)

    with torch.no_grad():
        z = (
            system.initial_state((n_traj,), generator=generator)
            if h0 is None
            else h0.expand(n_traj, -1).clone()
        )
        for _ in range(check_positive_int(n_transient, "n_transient", minimum=0)):
            z = system._step(z, x_of(z))
    n = system.state_size
    u = torch.randn(n, generator=generator, dtype=torch.float64).to(z)
    u = u / u.norm()
    params = [p for p in system.parameters() if p.requires_grad]
    if not params:
        raise ValueError("`system` has no trainable parameters; the loss gradient is undefined")
    Tmax = hs[-1]
    log_tan = np.zeros((n_traj, len(hs)))
    log_grad = np.zeros((n_traj, len(hs)))
    with torch.no_grad():
        # tangent products along each orbit: M_T = J_T ... J_1, kept as exp(s) * M with |M| = 1,
        # through the model's declared step_and_tangent (matrix-free; tangent_size columns)
        m = system.tangent_size
        M = torch.eye(m, dtype=z.dtype, device=z.device).expand(n_traj, m, m).clone()
        scale = torch.zeros(n_traj, dtype=torch.float64)
        zz = z.clone()
        k = 0
        for t in range(1, Tmax + 1):
            zz, M = system._step_and_tangent(zz, x_of(zz), M)
            nrm = torch.linalg.matrix_norm(M, ord=2)
            scale += nrm.double().log().cpu()
            M = M / nrm[:, None, None]
            if t == hs[k]:
                log_tan[:, k] = scale.numpy()
                k += 1
    for i in range(n_traj):
        for k, T in enumerate(hs):
            zi = z[i].detach()
            for _ in range(T):
                zi = system._step(zi, x_of(zi))
            L = u @ zi if loss == "readout" else 0.5 * (zi * zi).sum()
            grads = torch.autograd.grad(L, params, allow_unused=True)
            sq = sum(float((g.double() ** 2).sum()) for g in grads if g is not None)
            log_grad[i, k] = 0.5 * math.log(sq) if sq > 0 else -math.inf
    mt, mg = log_tan.mean(0), log_grad.mean(0)
    lam = lam_se = None
    lyap_res = None
    if lyapunov:
        from rnndyn.lyapunov import lyapunov_spectrum

        res = lyapunov_spectrum(
            system,
            k=1,
            n_steps=check_positive_int(lyapunov_steps, "lyapunov_steps"),
            n_transient=n_transient,
            n_trajectories=min(n_traj, 4),
            generator=generator,
            throw=False,
        )
        lyap_res = res
        lam = float(res.exponents[0]) * (system.dt or 1.0)  # per step
        lam_se = float(res.stderr[0]) * (system.dt or 1.0) if res.stderr is not None else None
    status, message = Status.SUCCESS, f"norms at {len(hs)} horizons over {n_traj} trajectories"
    if not np.isfinite(mg).all():
        status, message = Status.WARNING, "a loss gradient vanished exactly (log-norm -inf)"
    if lyap_res is not None and lyap_res.status is not Status.SUCCESS:
        status = Status.worst(status, Status.WARNING)
        message += f"; lambda_max: {lyap_res.status.value} ({lyap_res.message})"
    return GradientHorizonResult(
        horizons=hs,
        log_tangent_norm=mt.tolist(),
        log_grad_norm=mg.tolist(),
        tangent_rate=_slope(hs, mt),
        grad_rate=_slope(hs, mg) if np.isfinite(mg).all() else -math.inf,
        lambda_max=lam,
        lambda_max_stderr=lam_se,
        log_tangent_per_trajectory=log_tan.tolist(),
        log_grad_per_trajectory=log_grad.tolist(),
        status=status,
        message=message,
    )


__all__ = ["GradientHorizonResult", "gradient_horizon"]

"""Scrambling of nearby trajectories (finite-time Li--Yorke pairs) for any rnndyn map.

docs/theory/chaos.md §1.4 (Li--Yorke pair: liminf d_t = 0, limsup d_t > 0) and §1.5 items 4b, 5:
pairs started ``eps`` apart; on the window ``[T/2, T]`` a pair is *scrambled* if its distance
comes below ``low * diam`` and also exceeds ``high * diam`` (a finite-time proxy only).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import torch

from rnndyn._checks import check_generator, check_map, check_positive_int, check_real
from rnndyn._diagnostics import divergence_bound, state_escaped
from rnndyn._results import AnalysisError, Result, Status
from rnndyn.chaos._networks import ScalarNetwork
from rnndyn.checks import check_finite_parameters

Tensor = torch.Tensor


@dataclass(frozen=True, eq=False, kw_only=True)
class ScramblingResult(Result):
    """Distances of trajectory pairs started ``eps`` apart.

    Attributes:
        distance: ``(n_pairs, n_steps)`` Euclidean distance ``d_t`` after each recorded step.
        diameter: extent of the reference trajectories (norm of the per-coordinate range).
        liminf, limsup: ``(n_pairs,)`` min / max of ``d_t / diameter`` over the window.
        scrambled: ``(n_pairs,)`` ``liminf < low`` and ``limsup > high``.
        fraction_scrambled: mean of ``scrambled``. fraction_close / fraction_far: fraction of
            (pair, step) in the window with ``d_t < low * diam`` / ``> high * diam``.
        lambda_max: largest Lyapunov exponent (``rd.max_lyapunov`` for maps, the 1-D exponent for a
            scalar network); lambda_source says which. window: ``(t0, t1)`` step indices.
    """

    distance: Tensor
    diameter: float
    liminf: Tensor
    limsup: Tensor
    scrambled: Tensor
    fraction_scrambled: float
    fraction_close: float
    fraction_far: float
    lambda_max: float
    lambda_source: str
    window: tuple[int, int]
    eps: float
    low: float
    high: float

    _repr_fields = (
        "diameter",
        "fraction_scrambled",
        "fraction_close",
        "fraction_far",
        "lambda_max",
        "lambda_source",
        "window",
        "eps",
    )


def scrambling(
    system: Any,
    *,
    n_pairs: int = 32,
    eps: float = 1e-7,
    n_steps: int = 2000,
    n_transient: int = 200,
    low: float = 1e-3,
    high: float = 0.1,
    h0: Tensor | None = None,
    lyapunov: bool = True,
    generator: torch.Generator | None = None,
) -> ScramblingResult:
    r"""Scrambling statistics of pairs of trajectories started ``eps`` apart.

    For each of ``n_pairs`` reference points (after ``n_transient`` steps) a partner is placed at
    distance ``eps`` in a random direction; both are iterated ``n_steps`` times. Over the window
    (second half) the pair's :math:`\liminf` and :math:`\limsup` of :math:`d_t/\mathrm{diam}` are
    approximated by min and max; the pair is scrambled if it comes closer than ``low`` and
    separates beyond ``high`` (docs/theory/chaos.md §1.5 items 4b and 5). In high dimension, chaotic
    pairs seldom return close: a small scrambled fraction there is not evidence of order --
    look at ``lambda_max``.

    Args:
        system: any rnndyn map (``AbstractMap``; discretise flows first) or a
            :class:`ScalarNetwork` (its first network).
        h0: ``(n_pairs, n)`` reference starting points (default ``system.initial_state``; for a
            scalar network uniform on ``[0, 1]``).
        lyapunov: also compute ``lambda_max`` (``rd.max_lyapunov`` over the same points).

    Example:
        >>> import torch, rnndyn as rd
        >>> net = rd.chaos.ScalarNetwork.from_weights([1, 1], [1e-5, -0.502], [1.9999, -4.0])
        >>> res = rd.chaos.scrambling(net, n_pairs=8, n_steps=1000, generator=torch.Generator().manual_seed(0))
        >>> round(res.lambda_max, 3), res.fraction_scrambled >= 0.5  # lambda_max ~ ln 2
        (0.693, True)
    """
    n_pairs = check_positive_int(n_pairs, "n_pairs")
    eps = check_real(eps, "eps", low=0.0, low_open=True)
    n_steps = check_positive_int(n_steps, "n_steps", minimum=2)
    n_transient = check_positive_int(n_transient, "n_transient", minimum=0)
    low = check_real(low, "low", low=0.0, low_open=True)
    high = check_real(high, "high", low=low, low_open=True)
    check_generator(generator)
    if isinstance(system, ScalarNetwork):
        net = system.select(0)

        def step(x: Tensor) -> Tensor:
            return net(x.reshape(1, -1)).reshape(x.shape)

        n = 1
        if h0 is None:
            h0 = torch.rand(n_pairs, 1, generator=generator, dtype=torch.float64).to(net.dtype).to(net.device)
    else:
        check_map(system)
        n = system.state_size

        def step(x: Tensor) -> Tensor:
            return system._step(x, None)

        if h0 is None:
            h0 = system.initial_state((n_pairs,), generator=generator)
        check_finite_parameters(system)
    h = torch.as_tensor(h0).reshape(n_pairs, n)
    bound = divergence_bound(h)
    with torch.no_grad():
        for _ in range(n_transient):
            h = step(h)
        u = torch.randn(n_pairs, n, generator=generator, dtype=torch.float64).to(h)
        g = h + eps * u / torch.linalg.vector_norm(u, dim=-1, keepdim=True)
        dists, refs = [], []
        for _ in range(n_steps):
            h, g = step(h), step(g)
            dists.append(torch.linalg.vector_norm(g - h, dim=-1))
            refs.append(h)
    d = torch.stack(dists, -1)
    traj = torch.stack(refs, 1)
    if not bool(torch.isfinite(d).all()) or state_escaped(traj, bound):
        raise AnalysisError(
            f"diverged: the trajectories escaped (non-finite or max-norm > {bound:.1g}, 1e8 times the "
            "initial scale); scrambling needs bounded dynamics (reduce the gain)"
        )
    t0 = n_steps // 2
    w = traj[:, t0:]
    diam = float(torch.linalg.vector_norm(w.amax((0, 1)) - w.amin((0, 1))))
    status, message = Status.SUCCESS, f"{n_pairs} pairs over steps {t0}..{n_steps}, diameter {diam:.3g}"
    if diam == 0.0:
        diam = 1.0
        status, message = (
            Status.WARNING,
            "the trajectories collapsed to a point (diameter 0); distances not normalised",
        )
    rel = d[:, t0:] / diam
    liminf, limsup = rel.amin(-1), rel.amax(-1)
    scrambled = (liminf < low) & (limsup > high)
    lam, src = math.nan, "not computed"
    if lyapunov:
        lam, src = _lambda_max(system, n_steps, generator)
    return ScramblingResult(
        distance=d,
        diameter=diam,
        liminf=liminf,
        limsup=limsup,
        scrambled=scrambled,
        fraction_scrambled=float(scrambled.double().mean()),
        fraction_close=float((rel < low).double().mean()),
        fraction_far=float((rel > high).double().mean()),
        lambda_max=lam,
        lambda_source=src,
        window=(t0, n_steps),
        eps=eps,
        low=low,
        high=high,
        status=status,
        message=message,
    )


def _lambda_max(system: Any, n_steps: int, generator: torch.Generator | None) -> tuple[float, str]:
    if isinstance(system, ScalarNetwork):
        from rnndyn.chaos._detect import lyapunov_exponent_1d

        net = system.select(0)
        x0 = torch.rand(1, 8, generator=generator, dtype=torch.float64).to(net.dtype).to(net.device)
        res = lyapunov_exponent_1d(net, n_steps=max(n_steps, 1000), n_transient=200, x0=x0)
        return float(res.exponent[0]), "lyapunov_exponent_1d (largest of 8 orbits)"
    try:
        from rnndyn.lyapunov import max_lyapunov
    except ImportError:  # pragma: no cover - the engine ships with rnndyn
        return math.nan, "unavailable"
    res = max_lyapunov(
        system,
        n_steps=max(n_steps, 1000),
        n_transient=200,
        n_trajectories=4,
        generator=generator,
        throw=False,
    )
    return float(res.lambda_max), "rd.max_lyapunov (two-trajectory, 4 trajectories)"


__all__ = ["ScramblingResult", "scrambling"]

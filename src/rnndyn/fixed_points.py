r"""Fixed points, slow points and slow manifolds of maps (Sussillo & Barak 2013, for maps).

:func:`find_fixed_points` minimises the *speed*

.. math:: q(h)=\tfrac12\,\lVert F(h,x)-h\rVert^2

from many starting states at once (by default states sampled along trajectories, where the
dynamics actually goes), polishes the minima with Newton's method on :math:`F(h)-h=0` using the
model's (analytic) Jacobian, removes duplicates and classifies each point by the eigenvalues of
its Jacobian: the number of unstable directions (:math:`|\lambda|>1`), the spectral radius, and
the number of *slow* directions (:math:`|\lambda-1|<\epsilon`) which, for a continuum of fixed
points (a line attractor), equals the dimension of the slow manifold (docs/theory/gated.md §5.3:
closed update gates put eigenvalues at exactly 1; the line attractors of Krishnamurthy, Can & Schwab 2022, arXiv:2007.14823, at initialisation).

Local minima of q that are not zeros are reported as *slow points* with their speed. Odd maps
(F(-h) = -F(h), tested numerically) get the verified partner -h* of every point, and the result
says how complete the search was (Good--Turing: how many points only one start found).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch

import rnndyn._fixed_point_defaults as _D
from rnndyn._checks import (
    check_choice,
    check_compute_dtype,
    check_finite,
    check_finite_parameters,
    check_generator,
    check_like,
    check_map,
    check_positive_int,
    check_real,
    check_state,
    check_tensor,
)
from rnndyn._results import AnalysisError, Check, Result, Status, status_from_checks
from rnndyn._types import default_rtol
from rnndyn.models.base import AbstractMap

Tensor = torch.Tensor

#: a slow point needs |grad q| <= this * |F(h) - h| (a stationary point of q)
_STATIONARY = 1e-4
#: classification labels of fixed points
STABILITY = ("stable", "saddle", "unstable", "marginal")
#: kinds of slow points: a local minimum of q (a ghost), or a point on a slow manifold
SLOW_KINDS = ("minimum", "manifold")
#: crawl detection: a start whose (reduced) speed q does not halve over this many iterations
_CRAWL_WINDOW = 5
#: a stage of the slow-manifold search fails when its q does not halve over this many iterations
#: (checked from iteration 6 on: Newton on the reduced problem converges quadratically)
_STAGE_WINDOW = 3
#: stages of the slow-manifold search: the freezing threshold shrinks by this factor per stage
_STAGE_FACTOR = 10.0
#: iterations allowed per stage of the slow-manifold search
_STAGE_ITER = 15
#: odd-symmetry probe: number of random states, and the private seed that draws them (the
#: caller's generator is not touched, so adding the probe changes no start)
_PROBES = 8
_PROBE_SEED = 20131
#: odd symmetry holds when |F(-h) + F(h)| and |(J(-h) - J(h)) Q| (3 random directions Q) are below
#: this many ulps (times sqrt(n) and the size of the terms) at every probe
_SYMMETRY_ULPS = 64.0
#: the box of the spread starts leaves out states with norm above this many times the median norm
_ESCAPE = 10.0
#: the default advice multiplies the number of starts by this factor
_MORE_STARTS = 4


#: raised by :func:`find_fixed_points` (``throw=True``) when nothing converged: the one
#: exception for failed analyses, :class:`rnndyn.AnalysisError`, under its old name.
FixedPointError = AnalysisError


@dataclass(frozen=True, kw_only=True)
class FixedPointResult(Result):
    r"""Fixed points and slow points of a map at a constant input.

    Attributes:
        points: ``(K, n)`` distinct fixed points (residual :math:`\lVert F(h)-h\rVert\le` tol),
            sorted by speed.
        speeds: ``(K,)`` :math:`q=\tfrac12\lVert F(h)-h\rVert^2` at each point.
        eigenvalues: ``(K, m)`` complex eigenvalues of the Jacobian at each point, sorted by
            decreasing modulus.
        spectral_radius: ``(K,)``.
        n_unstable: ``(K,)`` number of eigenvalues with :math:`|\lambda|>1+` ``marginal_tol``.
        n_slow: ``(K,)`` number of eigenvalues with :math:`|\lambda-1|<` ``eps_slow``.
        stability: per point ``"stable"``, ``"saddle"`` (some unstable directions),
            ``"unstable"`` (all unstable) or ``"marginal"`` (none unstable, some on the unit
            circle within ``marginal_tol``).
        slow_points: ``(M, n)`` points with speed above the tolerance but below ``slow_tol``,
            sorted by speed: local minima of q (stationary:
            :math:`\lVert\nabla q\rVert\le10^{-4}\lVert F(h)-h\rVert`; ghosts) or points on a
            slow manifold (every row of ``F(h) - h`` outside the rows held free is below ``tol``).
        slow_speeds: ``(M,)`` their speeds q.
        slow_kind: per slow point ``"minimum"`` or ``"manifold"``.
        slow_eigenvalues: ``(M, m)`` complex eigenvalues of the Jacobian at each slow point,
            sorted by decreasing modulus.
        slow_n_slow: ``(M,)`` eigenvalues of the Jacobian with :math:`|\lambda-1|<` ``eps_slow``
            at each slow point (the slow directions the point can move along).
        slow_n_frozen: ``(M,)`` rows of ``J - I`` held free when the point was converged onto the
            slow manifold (the manifold's dimension at the last threshold that converged; 0 for
            minima).
        input: the constant input ``(d,)`` or ``None``.
        tol, slow_tol, eps_slow, marginal_tol, freeze_tol: the thresholds used
            (``freeze_tol`` is ``nan`` when the slow-manifold stage was off).
        n_initial: number of starts; n_converged: starts that reached a fixed point (before
            de-duplication); n_iterations: minimiser iterations used.
        slow_manifold_dimension: the median of ``n_slow`` over the fixed points, or, when no
            fixed point was found, of ``slow_n_slow`` over the slow points (0 if neither): the
            dimension of a continuum of fixed points / slow manifold through them.
        points_dimension: number of principal components needed for 95% of the variance of
            the fixed and slow points found (a line attractor gives 1; 0 for < 3 points).
        hits: ``(K,)`` starts that converged to each point (0 for a point added by symmetry).
        hits_spread: ``(K,)`` of those, the starts drawn from the spread box (a point with
            ``hits_spread == hits > 0`` was reached only from off the trajectories).
        starts_from: the start distribution the census refers to: ``"mixed"``,
            ``"trajectory"``, ``"spread"`` (see :func:`find_fixed_points`) or
            ``"initial_states"`` (given).
        starts: that distribution in words (counts, transient, box, noise), as the census
            message gives it.
        spread_box: ``(2, n)`` the lower and upper corners of the box the spread starts were
            drawn from, or ``None`` when there were none.
        from_symmetry: ``(K,)`` ``True`` for a point found by no start but added as the partner
            :math:`-h^*` of a found point of an odd map (each re-verified: Newton polish, then
            its residual recomputed from the map and below ``tol``).
        odd_map: the map was found odd at the constant input, :math:`F(-h)=-F(h)` and
            :math:`J(-h)=J(h)` (in 3 random directions) to round-off at 8 random states.
        symmetry_error: the largest relative deviation from those two relations at the probes
            (``odd_map`` needs it below :math:`64\,\epsilon_{\rm mach}\sqrt n`).
        n_isolated: points counted for completeness: those without an eigenvalue within
            :math:`\sqrt{\epsilon_{\rm mach}}` of 1 (points of a continuum of fixed points,
            such as a line attractor, are uncountable and left out).
        n_found_once: distinct isolated points (for an odd map: pairs :math:`\pm h^*`) reached
            by exactly one start, :math:`N_1`.
        p_new: Good--Turing estimate :math:`N_1/S` (:math:`S` starts) of the probability that
            one more start converges to an isolated point (pair) not in the list.
        n_points_estimate: estimated number of isolated points, found or not: the bias-corrected
            Chao1 estimate :math:`D+N_1(N_1-1)/(2(N_2+1))` of the number of pairs (:math:`D`
            found, :math:`N_2` found by exactly two starts), unseen pairs counted twice.
        completeness_tol: the largest ``p_new`` for which the search counts as complete.
        checks: ``completeness`` (``p_new`` <= ``completeness_tol``; imposes ``warning``) when
            isolated points were found; ``symmetry_partners`` (every partner of an odd map's
            point verified; imposes ``warning``) when the map is odd.
        status: ``success`` (fixed points found, each residual recomputed and below ``tol``, and
            the completeness check passed: no sign that further starts would find new points),
            ``warning`` (fixed points found but the search looks incomplete, or slow points
            only; the message says which and what to change) or ``not_converged`` (nothing
            found: the message says what to change); message.
    """

    points: Tensor
    speeds: Tensor
    eigenvalues: Tensor
    spectral_radius: Tensor
    n_unstable: Tensor
    n_slow: Tensor
    stability: tuple[str, ...]
    slow_points: Tensor
    slow_speeds: Tensor
    slow_kind: tuple[str, ...]
    slow_eigenvalues: Tensor
    slow_n_slow: Tensor
    slow_n_frozen: Tensor
    input: Tensor | None
    tol: float
    slow_tol: float
    eps_slow: float
    marginal_tol: float
    freeze_tol: float
    n_initial: int
    n_converged: int
    n_iterations: int
    slow_manifold_dimension: int
    points_dimension: int
    hits: Tensor
    hits_spread: Tensor
    starts_from: str
    starts: str
    spread_box: Tensor | None
    from_symmetry: Tensor
    odd_map: bool
    symmetry_error: float
    n_isolated: int
    n_found_once: int
    p_new: float
    n_points_estimate: float
    completeness_tol: float

    _dict_properties = ("n_points", "n_stable", "line_attractor", "n_added_by_symmetry", "complete")

    @property
    def n_added_by_symmetry(self) -> int:
        """Points found by no start, added as partners :math:`-h^*` of an odd map's points."""
        return int(self.from_symmetry.sum())

    @property
    def complete(self) -> bool:
        """Isolated points were found and the completeness check passed (``p_new`` at most
        ``completeness_tol``); ``False`` when nothing countable was found."""
        return any(c.name == "completeness" and c.passed for c in self.checks)

    @property
    def n_points(self) -> int:
        return int(self.points.shape[0])

    @property
    def n_stable(self) -> int:
        return sum(s == "stable" for s in self.stability)

    @property
    def line_attractor(self) -> bool:
        """A one-dimensional continuum of fixed points: one slow direction and the points along a line."""
        return self.slow_manifold_dimension == 1 and self.points_dimension == 1 and self.n_points >= 3


# ----------------------------------------------------------------------------- numerics
def _full_jacobian(system: AbstractMap, h: Tensor, x: Tensor | None) -> Tensor:
    """``dF/dh`` on the whole flat state (some wrappers' ``jacobian`` covers a sub-space only)."""
    if system.tangent_size == system.state_size:
        return system._jacobian(h, x)
    from rnndyn.jacobians import autograd_jacobian

    return autograd_jacobian(system._step, h, x)


def _residual(system: AbstractMap, h: Tensor, x: Tensor | None) -> Tensor:
    return system._step(h, x) - h


def _half_sq(r: Tensor) -> Tensor:
    return 0.5 * (r * r).sum(-1)


def _sub(x: Tensor | None, idx: Tensor) -> Tensor | None:
    return None if x is None else x[idx]


def _kept(r: Tensor, keep: Tensor | None) -> Tensor:
    """The residual on the kept rows (the others zeroed); all of it when ``keep`` is None."""
    return r if keep is None else r * keep


def _levenberg_marquardt(
    system: AbstractMap,
    h: Tensor,
    x: Tensor | None,
    *,
    res_tol: float,
    max_iter: int,
    freeze: Tensor | None = None,
    crawl: float | None = None,
    handoff: bool = True,
) -> tuple[Tensor, int, Tensor, Tensor, Tensor]:
    r"""Batched Levenberg--Marquardt minimisation of q (damped Gauss--Newton on F(h) - h).

    Each start has its own damping mu; a step is taken only if it lowers q (so q decreases
    monotonically and the iteration finds fixed points *and* non-zero local minima of q, the
    slow points). Starts stop when the residual is below ``res_tol`` or the step stalls.

    ``freeze`` (one threshold per start) solves the *reduced* problem: at every iteration the
    rows i of ``J - I`` with :math:`\lVert(J-I)_{i,:}\rVert<` ``freeze`` (units whose update
    hardly depends on the state, e.g. closed update gates) are left out of the residual, the
    merit function and the Gauss--Newton system; the iteration then converges (quadratically,
    with minimum-norm steps) onto the manifold where every other row of ``F(h) - h`` vanishes.
    A start of the reduced problem stops as *crawling* (failed) when its reduced q does not
    halve over ``_STAGE_WINDOW`` iterations (from the second window on).

    ``crawl`` (plain problem): a start stops as *crawling* when ``J - I`` has a row below
    ``crawl`` while the residual on the other rows is above ``res_tol`` (the signature of a
    slow manifold: the well-determined rows do not converge because the minimiser slides along
    the flat ones): at once, at its first iteration (``handoff``), or when its q has not halved
    over ``_CRAWL_WINDOW`` iterations.

    Returns ``(h, iterations, converged, crawled, n_frozen)``: ``converged`` says the (reduced)
    residual is below ``res_tol``; ``n_frozen`` counts the rows left out at the last step.
    """
    b, n = h.shape
    reduced = freeze is not None
    eye = torch.eye(n, dtype=h.dtype, device=h.device)
    tiny = torch.finfo(h.dtype).tiny
    mu = torch.full((b,), 1e-3, dtype=h.dtype, device=h.device)
    r = _residual(system, h, x)
    keep = torch.ones((b, n), dtype=torch.bool, device=h.device)
    q = _half_sq(r)
    finite = torch.isfinite(q)
    converged = torch.zeros_like(finite) if reduced else finite & (r.norm(dim=-1) <= res_tol)
    active = finite & ~converged
    crawled = torch.zeros_like(active)
    stall = torch.zeros(b, dtype=torch.long, device=h.device)
    q_window = q.clone()
    # progress windows: the reduced problem from its second window, crawl detection from its first
    windowed = reduced or crawl is not None
    window = _STAGE_WINDOW if reduced else _CRAWL_WINDOW
    first_check = 2 * window if reduced else window
    it = 0
    for it in range(1, max_iter + 1):  # noqa: B007
        idx = active.nonzero().squeeze(-1)
        if idx.numel() == 0:
            break
        hi, ri, mi = h[idx], r[idx], mu[idx]
        xi = _sub(x, idx)
        jr = _full_jacobian(system, hi, xi) - eye
        rows = jr.norm(dim=-1)
        hand = None
        ki = None  # rows kept (reduced problem); None: all rows
        if reduced:
            ki = rows >= freeze[idx].unsqueeze(-1)
            keep[idx] = ki
            jr = jr * ki.unsqueeze(-1)
        ri_m = _kept(ri, ki)
        qi = _half_sq(ri_m)
        if reduced:
            now = ri_m.norm(dim=-1) <= res_tol  # the reduced residual may already be converged
            if it == 1:
                q_window[idx] = qi
        elif crawl is not None:
            flat = rows < crawl
            unresolved = flat.any(-1) & ((ri * ~flat).norm(dim=-1) > res_tol)
            if it == 1 and handoff:  # flat rows at the start: straight to the reduced problem
                hand = unresolved
                crawled[idx] = hand
        jt = jr.transpose(-1, -2)
        a = jt @ jr
        g = (jt @ ri_m.unsqueeze(-1)).squeeze(-1)
        scale = torch.diagonal(a, dim1=-2, dim2=-1).mean(-1).clamp_min(tiny)
        lhs = a + (mi * scale).unsqueeze(-1).unsqueeze(-1) * eye
        chol, info = torch.linalg.cholesky_ex(lhs)
        step = -torch.cholesky_solve(g.unsqueeze(-1), chol).squeeze(-1)
        step = torch.where((info == 0).unsqueeze(-1), step, torch.zeros_like(step))
        h_new = hi + step
        r_new = _residual(system, h_new, xi)
        q_new = _half_sq(_kept(r_new, ki))
        ok = torch.isfinite(q_new) & (q_new < qi) & (info == 0)
        if reduced:
            ok &= ~now  # converged starts keep their point
        if hand is not None:
            ok &= ~hand
        h[idx] = torch.where(ok.unsqueeze(-1), h_new, hi)
        r[idx] = torch.where(ok.unsqueeze(-1), r_new, ri)
        q_i = torch.where(ok, q_new, qi)
        rel = (qi - q_i) / qi.clamp_min(tiny)
        q[idx] = q_i
        mu[idx] = torch.where(ok, mi * 0.3, mi * 10.0).clamp(1e-12, 1e16)
        # stall: tiny relative progress on q for 8 accepted/rejected steps, or damping at its cap
        tiny_progress = rel < 1e-10
        stall[idx] = torch.where(tiny_progress, stall[idx] + 1, torch.zeros_like(stall[idx]))
        conv_i = _kept(r[idx], ki).norm(dim=-1) <= res_tol
        converged[idx] = conv_i
        done = conv_i | (stall[idx] >= 8) | (mu[idx] >= 1e16)
        if hand is not None:
            done |= hand
        if windowed and it % window == 0:
            if it >= first_check:
                slow = q_i > 0.5 * q_window[idx]
                if not reduced:
                    slow &= unresolved
                crawled[idx] = slow & ~conv_i
                done |= crawled[idx]
            q_window[idx] = q_i
        active[idx] = ~done
    n_frozen = (~keep).sum(-1)
    return h, it, converged, crawled, n_frozen


def _slow_manifold(
    system: AbstractMap,
    h: Tensor,
    x: Tensor | None,
    *,
    res_tol: float,
    freeze: float,
    freeze_min: float,
    max_iter: int,
) -> tuple[Tensor, Tensor, Tensor, int]:
    r"""Converge starts onto the slow manifold by stages of the reduced problem.

    A stage solves the reduced problem of :func:`_levenberg_marquardt` at a threshold
    :math:`\delta`: rows of ``J - I`` below :math:`\delta` are held free, every other row of
    ``F(h) - h`` is driven below ``res_tol``. The first threshold is ``freeze``; a start whose
    first stage fails retries from its start at ``10 freeze`` and ``100 freeze`` (rows just
    above the threshold can need moves that open or close other gates); after a converged stage
    the threshold shrinks tenfold (down to ``freeze_min``) while the stages converge and the
    full residual is above ``res_tol``. A stage that fails leaves the start at the point of its
    last converged stage, so every point marked ``on_manifold`` has, up to ``res_tol``, its
    whole residual in the rows held free there: it moves only along them.

    Returns ``(h, on_manifold, n_frozen, iterations)``: ``n_frozen`` counts the rows held free
    at the last converged stage.
    """
    b = h.shape[0]
    start = h.clone()
    on = torch.zeros(b, dtype=torch.bool, device=h.device)
    n_frozen = torch.zeros(b, dtype=torch.long, device=h.device)
    delta = torch.full((b,), freeze, dtype=h.dtype, device=h.device)
    live = torch.ones(b, dtype=torch.bool, device=h.device)
    iterations = 0
    while bool(live.any()):
        idx = live.nonzero().squeeze(-1)
        xi = _sub(x, idx)
        hs, it, conv, _, nf = _levenberg_marquardt(
            system, h[idx].clone(), xi, res_tol=res_tol, max_iter=max_iter, freeze=delta[idx]
        )
        iterations += it
        good = idx[conv]
        h[good] = hs[conv]
        on[good] = True
        n_frozen[good] = nf[conv]
        full = _residual(system, hs, xi).norm(dim=-1) <= res_tol
        # converged: next, smaller threshold; failed before any success: a larger one, from the start
        retry = ~conv & ~on[idx] & (delta[idx] < freeze * _STAGE_FACTOR**2 * 1.01)
        delta[idx] = torch.where(conv, delta[idx] / _STAGE_FACTOR, delta[idx] * _STAGE_FACTOR)
        h[idx[retry]] = start[idx[retry]]
        live[idx] = (conv & ~full & (delta[idx] >= freeze_min)) | retry
    return h, on, n_frozen, iterations


def _newton_polish(
    system: AbstractMap, h: Tensor, x: Tensor | None, *, res_tol: float, n_iter: int = 8
) -> Tensor:
    r"""Newton on F(h) - h = 0 with the (analytic) Jacobian; minimum-norm least-squares steps
    so that a singular ``J - I`` (a continuum of fixed points) does not break it; a step is
    kept only if it lowers the residual."""
    if h.shape[0] == 0:
        return h
    n = h.shape[-1]
    eye = torch.eye(n, dtype=h.dtype, device=h.device)
    r = _residual(system, h, x)
    for _ in range(n_iter):
        norm = r.norm(dim=-1)
        if bool((norm <= res_tol * 1e-2).all()):
            break
        jr = _full_jacobian(system, h, x) - eye
        try:
            if h.device.type == "cpu":
                # gelsy (complete orthogonal factorisation) also gives minimum-norm steps for rank-deficient
                # J - I, at a fraction of the cost of the SVD-based gelsd
                step = -torch.linalg.lstsq(jr, r.unsqueeze(-1), driver="gelsy").solution.squeeze(-1)
            else:
                step = -(torch.linalg.pinv(jr) @ r.unsqueeze(-1)).squeeze(-1)
        except RuntimeError:  # pragma: no cover - LAPACK failure on pathological input
            break
        h_new = h + step
        r_new = _residual(system, h_new, x)
        better = torch.isfinite(r_new).all(-1) & (r_new.norm(dim=-1) < norm)
        h = torch.where(better.unsqueeze(-1), h_new, h)
        r = torch.where(better.unsqueeze(-1), r_new, r)
    return h


def _dedup(points: Tensor, speeds: Tensor, tol: float, *, with_index: bool = False) -> tuple[Tensor, ...]:
    """Greedy de-duplication: keep the slowest point of every cluster of radius ``tol``
    (``with_index``: also the indices of the kept points in ``points``)."""
    if points.shape[0] <= 1:
        idx = torch.arange(points.shape[0], device=points.device)
        return (points, speeds, idx) if with_index else (points, speeds)
    order = torch.argsort(speeds)
    pts, sp = points[order], speeds[order]
    # exact pairwise distances (the matrix-multiply shortcut loses ~sqrt(eps)|h| to cancellation)
    dist = torch.cdist(pts, pts, compute_mode="donot_use_mm_for_euclid_dist")
    keep = torch.ones(pts.shape[0], dtype=torch.bool, device=pts.device)
    # sequential greedy pass on CPU booleans (K is small after convergence filtering)
    close = (dist <= tol).cpu()
    keep_cpu = keep.cpu()
    for i in range(pts.shape[0]):
        if keep_cpu[i]:
            dup = close[i].clone()
            dup[: i + 1] = False
            keep_cpu &= ~dup
    keep = keep_cpu.to(pts.device)
    if with_index:
        return pts[keep], sp[keep], order[keep]
    return pts[keep], sp[keep]


def _pca_dimension(points: Tensor, frac: float = 0.95) -> int:
    if points.shape[0] < 3:
        return 0
    c = points - points.mean(0, keepdim=True)
    s = torch.linalg.svdvals(c.double())
    var = s * s
    total = float(var.sum())
    if total <= 0:
        return 0
    cum = torch.cumsum(var, 0) / total
    return int((cum < frac).sum()) + 1


def _classify(
    ev: Tensor, marginal_tol: float, eps_slow: float
) -> tuple[Tensor, Tensor, Tensor, tuple[str, ...]]:
    mod = ev.abs()
    n_unstable = (mod > 1 + marginal_tol).sum(-1)
    n_marginal = ((mod - 1).abs() <= marginal_tol).sum(-1)
    n_slow = ((ev - 1).abs() < eps_slow).sum(-1)
    m = ev.shape[-1]
    labels = []
    for u, mg in zip(n_unstable.tolist(), n_marginal.tolist(), strict=True):
        if u == 0:
            labels.append("marginal" if mg > 0 else "stable")
        elif u == m:
            labels.append("unstable")
        else:
            labels.append("saddle")
    return n_unstable, n_slow, mod.amax(-1) if m else mod.sum(-1), tuple(labels)


@torch.no_grad()
def _odd_symmetry(
    system: AbstractMap, x: Tensor | None, probes: Tensor, directions: Tensor
) -> tuple[bool, float]:
    r"""Whether ``h -> F(h, x)`` is odd, tested numerically at the ``probes`` ``(P, n)``.

    An odd map has :math:`F(-h)=-F(h)` and, differentiating, :math:`J(-h)=J(h)`. Both are
    checked at every probe to round-off, the second in the random unit ``directions``
    ``(P, n, k)`` (matrix-free, through the ``step_and_tangent`` hook; the dense Jacobian when
    the tangent space is a sub-space): the relative errors
    :math:`\lVert F(-h)+F(h)\rVert/(\lVert F(h)\rVert+\lVert h\rVert+1)` and
    :math:`\lVert (J(-h)-J(h))Q\rVert_F/(\lVert J(h)Q\rVert_F+1)` must stay below
    ``_SYMMETRY_ULPS`` ulps times :math:`\sqrt n`. Only the contract hooks are used (never the
    model's type). Returns ``(odd, largest relative error)``; a non-finite value, or a map that
    raises at a probe, is not odd (error ``inf``).
    """
    n = probes.shape[-1]
    xb = None if x is None else x.expand(probes.shape[0], x.shape[-1])
    try:
        if system.tangent_size == n:
            f_plus, jq_plus = system._step_and_tangent(probes, xb, directions)
            f_minus, jq_minus = system._step_and_tangent(-probes, xb, directions)
        else:
            f_plus, f_minus = system._step(probes, xb), system._step(-probes, xb)
            jq_plus = _full_jacobian(system, probes, xb) @ directions
            jq_minus = _full_jacobian(system, -probes, xb) @ directions
    except (RuntimeError, ValueError):  # a map undefined at the probes (e.g. h < 0): no symmetry used
        return False, math.inf
    err_f = (f_minus + f_plus).norm(dim=-1) / (f_plus.norm(dim=-1) + probes.norm(dim=-1) + 1)
    err_j = (jq_minus - jq_plus).flatten(-2).norm(dim=-1) / (jq_plus.flatten(-2).norm(dim=-1) + 1)
    err = float(torch.cat([err_f, err_j]).max())
    if not math.isfinite(err):
        return False, math.inf
    bound = _SYMMETRY_ULPS * torch.finfo(probes.dtype).eps * math.sqrt(n)
    return err <= bound, err


def _spectrum(system: AbstractMap, points: Tensor, x: Tensor | None) -> Tensor:
    """Eigenvalues of the Jacobian at each of ``points`` ``(K, n)``, by decreasing modulus."""
    from rnndyn._linalg import eigvals

    if points.shape[0] == 0:
        return torch.zeros((0, system.tangent_size), dtype=torch.complex128, device=points.device)
    xk = None if x is None else x.expand(points.shape[0], x.shape[0])
    ev = eigvals(system._jacobian(points, xk))
    return torch.gather(ev, -1, torch.argsort(ev.abs(), dim=-1, descending=True, stable=True))


def _isolated(ev: Tensor, tol: float) -> Tensor:
    """Points whose Jacobian has no eigenvalue within ``tol`` of 1 (not on a continuum)."""
    if ev.shape[0] == 0 or ev.shape[-1] == 0:
        return torch.ones(ev.shape[0], dtype=torch.bool)
    return ((ev - 1).abs().amin(-1) > tol).cpu()


def _partners(points: Tensor, dedup: float) -> Tensor:
    r"""Index of the point within ``dedup`` of :math:`-h` for each point ``h`` (itself for
    :math:`h\approx0`), -1 where there is none."""
    if points.shape[0] == 0:
        return torch.zeros(0, dtype=torch.long)
    dist = torch.cdist(-points, points, compute_mode="donot_use_mm_for_euclid_dist")
    best, idx = dist.min(-1)
    return torch.where(best <= dedup, idx, torch.full_like(idx, -1)).cpu()


def _completeness(
    hits: Tensor, partner: Tensor, isolated: Tensor, n_starts: int, odd: bool
) -> tuple[int, int, int, float, float]:
    r"""Good--Turing completeness of a search over the isolated points.

    The species are the isolated points, or for an odd map the pairs :math:`\pm h^*` (a start
    that finds one finds both); a pair's count is the starts that reached either point. With
    :math:`D` species found, :math:`N_1` (:math:`N_2`) of them by exactly one (two) starts and
    :math:`S` starts, the Good--Turing estimate of the probability that the next start reaches
    an unseen species is :math:`N_1/S` (Good 1953), and the bias-corrected Chao1 estimate of the
    number of species is :math:`D+N_1(N_1-1)/(2(N_2+1))` (Chao 1984, 2005); unseen pairs add two
    points each. Returns ``(n_isolated, D, N_1, p_new, points_estimate)``.
    """
    counts: list[int] = []
    n_iso = 0
    seen: set[int] = set()
    for i in range(hits.shape[0]):
        if not bool(isolated[i]) or i in seen:
            continue
        j = int(partner[i]) if odd else -1
        members = {i} if j < 0 or not bool(isolated[j]) else {i, j}
        seen |= members
        n_iso += len(members)
        counts.append(sum(int(hits[k]) for k in members))
    found = [c for c in counts if c > 0]
    d, n1, n2 = len(found), sum(c == 1 for c in found), sum(c == 2 for c in found)
    p_new = n1 / n_starts
    unseen = n1 * (n1 - 1) / (2 * (n2 + 1))
    return n_iso, d, n1, p_new, n_iso + (2 if odd else 1) * unseen


def _visited_box(states: Tensor) -> tuple[Tensor, Tensor]:
    """Lower and upper corners of the box spanned by ``states`` ``(S, n)``, leaving out escaping
    states (norm above ``_ESCAPE`` times the median norm; e.g. a map's orbits on their way to
    infinity, which would make the box astronomically large)."""
    norm = states.norm(dim=-1)
    kept = states[norm <= _ESCAPE * norm.median()]
    return kept.amin(0), kept.amax(0)


def _start_description(starts_from: str, b: int, n_spread: int, n_transient: int, noise: float) -> str:
    """The start distribution in words, for the census (``FixedPointResult.starts``)."""
    if starts_from == "initial_states":
        words = f"{b} given initial_states"
    else:
        on = (
            f"{b - n_spread} state(s) after a {n_transient}-step transient from the model's random initial states"
            if n_transient
            else f"{b - n_spread} of the model's random initial states"
        )
        spread = f"{n_spread} uniform in the box of the visited states" + (
            "" if _D.SPREAD_FACTOR == 1 else f" widened {_D.SPREAD_FACTOR:g}x about its centre"
        )
        words = {"trajectory": on, "spread": spread, "mixed": f"{on} and {spread}"}[starts_from]
    return words + (f", plus Gaussian noise of std {noise:g}" if noise > 0 else "")


# ----------------------------------------------------------------------------- public
def _check_constant_input(x0: torch.Tensor | None, dtype: torch.dtype, device: torch.device) -> None:
    # the input joins the state in every step: it must match the compute dtype (as in
    # lyapunov_spectrum), not be cast silently
    if x0 is not None:
        check_like(x0, "inputs", dtype, device)


def find_fixed_points(
    system: AbstractMap,
    *,
    n_initial: int = _D.N_INITIAL,
    tol: float | None = None,
    inputs: Tensor | None = None,
    initial_states: Tensor | None = None,
    starts_from: str = _D.STARTS_FROM,
    n_transient: int = _D.N_TRANSIENT,
    noise: float = _D.NOISE,
    max_iter: int = _D.MAX_ITER,
    slow_tol: float = _D.SLOW_TOL,
    eps_slow: float = _D.EPS_SLOW,
    marginal_tol: float = _D.MARGINAL_TOL,
    dedup_tol: float | None = None,
    method: str = _D.METHOD,
    slow_manifold: bool = _D.SLOW_MANIFOLD,
    freeze_tol: float | None = None,
    completeness_tol: float = _D.COMPLETENESS_TOL,
    generator: torch.Generator | None = None,
    throw: bool = True,
) -> FixedPointResult:
    r"""Fixed points and slow points of a map by speed minimisation from many starts.

    Minimises :math:`q(h)=\tfrac12\lVert F(h,x)-h\rVert^2` (Sussillo & Barak 2013) from
    ``n_initial`` starts in one batch with a Levenberg--Marquardt iteration on
    :math:`F(h)-h` (``method="lm"``, uses the model's Jacobian: one ``n x n`` solve per start
    and step) or with Adam on q (``method="adam"``, matrix-free, for very large ``n``), then
    polishes with Newton's method (analytic Jacobian; minimum-norm steps, so continua of
    fixed points are handled), de-duplicates, and classifies every point by its Jacobian's
    eigenvalues.

    **Slow manifolds** (``slow_manifold=True``, with ``method="lm"``). Where some units barely
    move, e.g. closed update gates (:math:`\sigma(z_i)\approx0` at large :math:`\alpha_z`),
    the rows i of :math:`J-I` are tiny and :math:`F(h)-h` is nearly flat along a manifold
    whose dimension is the number of such units (docs/theory/gated.md §5.3; Can, Krishnamurthy
    & Schwab 2020; Krishnamurthy, Can & Schwab 2022). Minimising q there crawls along the
    manifold without converging. A start whose q does not halve in 5 iterations while
    :math:`J-I` has rows below ``freeze_tol`` and the other rows are not converged is handed to
    a staged *reduced* problem: rows with :math:`\lVert(J-I)_{i,:}\rVert<\delta` are held
    free and the others driven to zero (Levenberg--Marquardt, quadratic convergence onto the
    manifold), with :math:`\delta=` ``freeze_tol``, ``freeze_tol/10``, ... while the stages
    converge (down to :math:`\sqrt{\epsilon_{\rm mach}}`). The point of the last converged
    stage is a fixed point if its full residual, recomputed, is below ``tol`` (units frozen to
    machine precision: a numerical continuum of fixed points), otherwise a *slow point* of
    kind ``"manifold"``: it moves only along the free rows, with the reported speed. Each slow
    point gets its number of slow directions (``slow_n_slow``, eigenvalues) and of free rows
    (``slow_n_frozen``); a result with slow points only has status ``warning``.

    **Odd maps.** If :math:`F(-h,x)=-F(h,x)` (e.g. a tanh RNN without bias at zero input; not
    a GRU with state-dependent gates, :math:`\sigma(-a)=1-\sigma(a)`), every fixed point
    :math:`h^*` has the partner :math:`-h^*` with the same Jacobian. The symmetry is tested
    numerically through the model's hooks (:math:`F(-h)=-F(h)` and :math:`J(-h)Q=J(h)Q` to
    round-off at 8 random states, from a private seed: ``generator`` is not consumed); for an
    odd map the partner of every isolated point missing from the list is Newton-polished and
    kept only if its recomputed residual is below ``tol`` (``from_symmetry``, ``hits`` 0).

    **Completeness.** ``hits`` counts the starts that reached each point. With :math:`N_1`
    isolated points (pairs :math:`\pm h^*` for odd maps) reached by exactly one of the
    :math:`S` starts, :math:`p_{\rm new}=N_1/S` (Good--Turing) estimates the probability that
    one more start finds a new point, and Chao1 the number of points. The check
    ``completeness`` passes when :math:`p_{\rm new}\le` ``completeness_tol``; when it fails a
    result with fixed points is ``warning`` (not ``success``) and its message says how many more
    starts to try. Points of a continuum (an eigenvalue within :math:`\sqrt{\epsilon_{\rm
    mach}}` of 1) are neither counted nor mirrored.

    **Starts, and what the census refers to.** ``initial_states`` if given; otherwise
    ``n_initial`` of the model's random initial states are run for ``n_transient`` steps, and
    ``starts_from`` says which states start the search: ``"trajectory"`` the states after the
    transient (on the attractor, where the fixed points that shape the dynamics live),
    ``"spread"`` states uniform in the box of the visited states (spanned by the initial states
    and the states after the transient, leaving out escaping ones, with a norm above 10 times the
    median; ``spread_box``), ``"mixed"``
    (default) the last ``n_initial // 2`` starts spread, the others on trajectories. Unstable
    points off the attractor (a saddle between two basins, a repeller) are never approached by
    trajectories, and a Newton-like minimiser started on the attractor rarely leaves it: with
    ``"trajectory"`` starts they can be missed while the census says "complete", since the census
    can only count what its starts reach. Gaussian ``noise`` of that standard deviation is added to
    every start. The result records the distribution (``starts_from``, ``starts`` in words, the
    census message quotes it) and which points the spread starts reached (``hits_spread``).

    Choosing tolerances: ``tol`` bounds the residual :math:`\lVert F(h)-h\rVert_2` of an
    accepted fixed point; the default :math:`10^{-10}\sqrt n` (float64; :math:`10^{-5}\sqrt n`
    in float32) is near round-off for O(1) states. ``slow_tol`` is the largest speed q of a
    reported slow point; ``eps_slow`` the radius around 1 counted as a slow direction.

    Args:
        system: a map (discretise flows first; their fixed points are the flow's).
        n_initial: number of starts (ignored when ``initial_states`` is given).
        tol: residual tolerance (> 0).
        inputs: one constant input ``(d,)`` (input-conditioned fixed points), or ``None``.
        initial_states: ``(*batch, n)`` explicit starts (``starts_from`` is then not used).
        starts_from: ``"mixed"`` (default), ``"trajectory"`` or ``"spread"`` (see Starts above).
        n_transient: steps run from random states to obtain trajectory samples.
        noise: std of Gaussian noise added to the starts.
        max_iter: minimiser iterations.
        slow_tol: speed threshold for slow points.
        eps_slow: slow directions are eigenvalues with :math:`|\lambda-1|<` ``eps_slow``.
        marginal_tol: eigenvalues with :math:`||\lambda|-1|\le` this are marginal, not unstable.
        dedup_tol: distance below which two fixed points are the same; default
            ``max(1e3 * tol, 1e-7 * sqrt(n))``.
        method: ``"lm"`` (default) or ``"adam"``.
        slow_manifold: hand crawling starts to the staged reduced problem (see above); ``False``
            gives the plain minimisation.
        freeze_tol: the first threshold :math:`\delta` on the row norms of :math:`J-I`
            (default ``eps_slow``: a row below it relaxes more slowly than a slow direction).
        completeness_tol: the largest Good--Turing probability ``p_new`` in ``[0, 1]`` for which
            the search counts as complete (default 0.01; 1 never downgrades the status).
        generator: randomness of starts and noise.
        throw: raise :class:`FixedPointError` when neither fixed nor slow points were found
            (``False``: return a result with ``status="not_converged"``).

    Returns:
        :class:`FixedPointResult`.

    Raises:
        TypeError: a flow or non-rnndyn object; bad argument types.
        ValueError: ``tol <= 0``, ``completeness_tol`` outside [0, 1], an unknown ``starts_from``,
            wrong state / input
            shapes, a non-square Jacobian, a NaN/inf parameter of ``system`` (named).
        FixedPointError: nothing found and ``throw=True``.

    References:
        D. Sussillo, O. Barak, *Opening the black box: low-dimensional dynamics in
        high-dimensional recurrent neural networks*, Neural Computation 25 (2013).
        I. J. Good, *The population frequencies of species and the estimation of population
        parameters*, Biometrika 40 (1953) (:math:`N_1/S`). A. Chao, *Nonparametric estimation
        of the number of classes in a population*, Scand. J. Statist. 11 (1984) (Chao1).

    Example:
        >>> import torch, rnndyn as rd
        >>> starts = torch.linspace(0.05, 0.95, 10, dtype=torch.float64).unsqueeze(-1)
        >>> res = rd.find_fixed_points(rd.Logistic(r=2.5).double(), initial_states=starts)
        >>> order = res.points[:, 0].argsort()
        >>> [round(v, 9) + 0.0 for v in res.points[order, 0].tolist()]  # 0 and 1 - 1/r
        [0.0, 0.6]
        >>> [res.stability[i] for i in order]  # slopes r = 2.5 and 2 - r = -0.5
        ['unstable', 'stable']
    """
    check_map(system)
    check_finite_parameters(system)  # NaN/inf weights: named here, not numpy's LinAlgError later
    if not isinstance(throw, bool):  # throw="no" would raise
        raise TypeError(f"`throw` must be a bool; got {type(throw).__name__} {throw!r}")
    check_generator(generator)
    n_initial = check_positive_int(n_initial, "n_initial")
    n_transient = check_positive_int(n_transient, "n_transient", minimum=0)
    max_iter = check_positive_int(max_iter, "max_iter")
    method = check_choice(method, "method", ("lm", "adam"))
    starts_from = check_choice(starts_from, "starts_from", _D.STARTS_FROM_CHOICES)
    noise = check_real(noise, "noise", low=0.0)
    slow_tol = check_real(slow_tol, "slow_tol", low=0.0, low_open=True)
    eps_slow = check_real(eps_slow, "eps_slow", low=0.0, low_open=True)
    marginal_tol = check_real(marginal_tol, "marginal_tol", low=0.0)
    if not isinstance(slow_manifold, bool):
        raise TypeError(
            f"`slow_manifold` must be a bool; got {type(slow_manifold).__name__} {slow_manifold!r}"
        )
    freeze_v = (
        eps_slow if freeze_tol is None else check_real(freeze_tol, "freeze_tol", low=0.0, low_open=True)
    )
    completeness_tol = check_real(completeness_tol, "completeness_tol", low=0.0, high=1.0)
    n = system.state_size
    dtype, device = system.dtype, system.device
    check_compute_dtype(dtype)  # Cholesky and eigenvalues: no half kernels

    # constant input
    x0 = None
    if inputs is not None:
        check_tensor(inputs, "inputs")
        check_finite(inputs, "inputs")
        if system.input_size == 0:
            raise ValueError(f"`inputs` must be None: {type(system).__name__} has input_size 0")
        if inputs.ndim != 1 or inputs.shape[0] != system.input_size:
            raise ValueError(
                f"`inputs` must be one constant input of shape ({system.input_size},); got {tuple(inputs.shape)}"
            )
        x0 = inputs

    # starts
    if initial_states is not None:
        check_state(initial_states, n, "initial_states")
        if initial_states.numel() == 0:
            raise ValueError(
                f"`initial_states` must hold at least one state (*batch, {n}); got shape {tuple(initial_states.shape)}"
            )
        if system._reference_tensor() is None and system._explicit_dtype is None:
            # parameter-free maps without a declared dtype follow the starts' dtype and device
            dtype, device = initial_states.dtype, initial_states.device
            check_compute_dtype(dtype, "initial_states")
        elif initial_states.dtype != dtype:
            raise TypeError(
                f"`initial_states` has dtype {initial_states.dtype} but {type(system).__name__} computes in "
                f"{dtype}; convert one of them (model.to({initial_states.dtype}) or initial_states.to({dtype}))"
            )
        elif initial_states.device != device:
            raise ValueError(
                f"`initial_states` must be on the model's device {device}; got {initial_states.device}"
            )
        _check_constant_input(x0, dtype, device)
        h = initial_states.reshape(-1, n).clone()
        starts_from, n_spread, box = "initial_states", 0, None
    else:
        _check_constant_input(x0, dtype, device)
        h0 = system.initial_state((n_initial,), generator=generator)
        h = h0
        with torch.no_grad():
            xs = None if x0 is None else x0.expand(n_initial, x0.shape[0])
            for _ in range(n_transient):
                h_next = system._step(h, xs)
                bad = ~torch.isfinite(h_next).all(-1)
                if bool(bad.any()):  # escaping starts (e.g. outside a map's basin) restart
                    h_next = torch.where(bad.unsqueeze(-1), h0, h_next)
                h = h_next
        h = h.clone()
        box = None
        n_spread = {"trajectory": 0, "spread": n_initial, "mixed": n_initial // 2}[starts_from]
        if n_spread:
            lo, hi = _visited_box(torch.cat([h0, h]))
            # uniform in the box of the visited states widened SPREAD_FACTOR times about its centre:
            # unstable points off the attractor (saddles between basins, repellers) are reachable
            u = torch.rand(n_spread, n, generator=generator, dtype=torch.float64).to(h)
            centre, half = 0.5 * (hi + lo), 0.5 * (hi - lo)
            h[n_initial - n_spread :] = centre + _D.SPREAD_FACTOR * half * (2 * u - 1)
            box = (centre - _D.SPREAD_FACTOR * half, centre + _D.SPREAD_FACTOR * half)
    if noise > 0:
        h = h + noise * torch.randn(h.shape, generator=generator, dtype=torch.float64).to(h)
    b = h.shape[0]
    start_words = _start_description(starts_from, b, n_spread, n_transient, noise)
    tol_v = (
        default_rtol(dtype) * math.sqrt(n) if tol is None else check_real(tol, "tol", low=0.0, low_open=True)
    )
    if dedup_tol is None:
        dedup_v = max(1e3 * tol_v, 1e-7 * math.sqrt(n))
    else:
        dedup_v = check_real(dedup_tol, "dedup_tol", low=0.0, low_open=True)
    xb = None if x0 is None else x0.expand(b, x0.shape[0])

    with torch.no_grad():
        jac0 = _full_jacobian(system, h[:1], None if xb is None else xb[:1])
        if jac0.shape[-2:] != (n, n):
            raise ValueError(
                f"the Jacobian of {type(system).__name__} must be square ({n}, {n}); got {tuple(jac0.shape[-2:])}"
            )
        use_manifold = slow_manifold and method == "lm"
        # Chunks of starts keep each batched n x n buffer near 16 MB: freed blocks are then
        # reused by the allocator instead of being unmapped and page-faulted back in at every
        # iteration (measured: the system time of a 1000-start n = 128 search dropped by half).
        chunk = max(1, (1 << 21) // (n * n))
        crawled = torch.zeros(b, dtype=torch.bool, device=h.device)
        if method == "lm":
            n_iter = 0
            for s0 in range(0, b, chunk):
                part = slice(s0, s0 + chunk)
                h[part], it, _, crawled[part], _ = _levenberg_marquardt(
                    system,
                    h[part].clone(),
                    None if xb is None else xb[part],
                    res_tol=tol_v,
                    max_iter=max_iter,
                    crawl=freeze_v if use_manifold else None,
                )
                n_iter = max(n_iter, it)
        else:
            h, n_iter = _adam(system, h, xb, res_tol=tol_v, max_iter=max_iter)
        # crawling starts: converge onto the slow manifold (reduced problem, in stages)
        on_manifold = torch.zeros(b, dtype=torch.bool, device=h.device)
        n_frozen = torch.zeros(b, dtype=torch.long, device=h.device)
        if use_manifold and bool(crawled.any()):
            cidx = crawled.nonzero().squeeze(-1)
            for s0 in range(0, cidx.numel(), chunk):
                sub = cidx[s0 : s0 + chunk]
                h_sub, on_sub, nf_sub, it = _slow_manifold(
                    system,
                    h[sub].clone(),
                    _sub(xb, sub),
                    res_tol=tol_v,
                    freeze=freeze_v,
                    freeze_min=math.sqrt(torch.finfo(dtype).eps),
                    max_iter=min(max_iter, _STAGE_ITER),
                )
                h[sub], on_manifold[sub], n_frozen[sub] = h_sub, on_sub, nf_sub
                n_iter = max(n_iter, it)
            # starts that crawled but reached no slow manifold go on with the plain minimisation
            fidx = (crawled & ~on_manifold).nonzero().squeeze(-1)
            for s0 in range(0, fidx.numel(), chunk):
                sub = fidx[s0 : s0 + chunk]
                h[sub], it, _, _, _ = _levenberg_marquardt(
                    system,
                    h[sub].clone(),
                    _sub(xb, sub),
                    res_tol=tol_v,
                    max_iter=max_iter,
                    crawl=freeze_v,
                    handoff=False,
                )
                n_iter = max(n_iter, it)
        res_norm = _residual(system, h, xb).norm(dim=-1)
        finite = torch.isfinite(res_norm)
        # polish everything that is close to a zero (Newton converges quadratically there); points
        # on a slow manifold whose residual is above tol are not: Newton would slide them along it
        near = finite & (0.5 * res_norm**2 < slow_tol) & (~on_manifold | (res_norm <= tol_v))
        idx = near.nonzero().squeeze(-1)
        if idx.numel():
            h[idx] = _newton_polish(system, h[idx], _sub(xb, idx), res_tol=tol_v)
        # verification: every residual is recomputed from the map itself
        r = _residual(system, h, xb)
        res_norm = r.norm(dim=-1)
        q = 0.5 * res_norm**2
        conv = torch.isfinite(res_norm) & (res_norm <= tol_v)
        slow = torch.isfinite(res_norm) & ~conv & (q < slow_tol)
        stationary = torch.zeros_like(slow)
        if bool(slow.any()):
            # a slow point is a local minimum of q: grad q = (J - I)^T r small relative to r;
            # or a point converged onto a slow manifold; starts still crawling through a flat slow
            # region are counted, not reported
            sidx = slow.nonzero().squeeze(-1)
            jr = _full_jacobian(system, h[sidx], _sub(xb, sidx)) - torch.eye(
                n, dtype=h.dtype, device=h.device
            )
            grad = (jr.transpose(-1, -2) @ r[sidx].unsqueeze(-1)).squeeze(-1)
            stationary[sidx] = grad.norm(dim=-1) <= _STATIONARY * res_norm[sidx]
            if use_manifold:
                # on a slow manifold also when the residual lies (up to tol) in the flat rows already
                # (e.g. a start whose open units had settled during the transient)
                flat = jr.norm(dim=-1) < freeze_v
                confined = flat.any(-1) & ((r[sidx] * ~flat).norm(dim=-1) <= tol_v) & ~on_manifold[sidx]
                on_manifold[sidx] |= confined
                n_frozen[sidx] = torch.where(confined, flat.sum(-1), n_frozen[sidx])
        slow &= stationary | on_manifold
        n_crawling = int((torch.isfinite(res_norm) & ~conv & (q < slow_tol) & ~slow).sum())
        pts, sp = _dedup(h[conv], q[conv], dedup_v)
        # every converged start counts for the point it reached (within dedup_tol of a kept one)
        if pts.shape[0]:
            owner = torch.cdist(h[conv], pts, compute_mode="donot_use_mm_for_euclid_dist").argmin(-1).cpu()
            hits = torch.bincount(owner, minlength=pts.shape[0])
            from_spread = (torch.arange(b) >= b - n_spread)[conv.cpu()]
            hits_spread = torch.bincount(owner[from_spread], minlength=pts.shape[0])
        else:
            hits = hits_spread = torch.zeros(0, dtype=torch.long)
        sel = slow.nonzero().squeeze(-1)
        kind_all = torch.where(on_manifold[sel], 1, 0)  # 0 minimum, 1 manifold
        spts, ssp, keep_s = _dedup(h[sel], q[sel], max(dedup_v, 1e-4 * math.sqrt(n)), with_index=True)
        skind = tuple(SLOW_KINDS[int(k)] for k in kind_all[keep_s].tolist())
        sfrozen = torch.where(on_manifold[sel], n_frozen[sel], 0)[keep_s].cpu()
        ev = _spectrum(system, pts, x0)
        # points of a continuum of fixed points (an eigenvalue 1 to round-off) are not countable
        cont_tol = math.sqrt(torch.finfo(dtype).eps)
        isolated = _isolated(ev, cont_tol)
        # odd maps: add the partner -h* of every isolated point, verified like the others
        scale = max(1.0, float(pts.abs().max())) if pts.shape[0] else 1.0
        probe_gen = torch.Generator().manual_seed(_PROBE_SEED)
        probes = scale * torch.randn(_PROBES, n, generator=probe_gen, dtype=torch.float64)
        directions = torch.randn(_PROBES, n, 3, generator=probe_gen, dtype=torch.float64)
        directions = directions / directions.norm(dim=-2, keepdim=True)
        odd, sym_err = _odd_symmetry(
            system, x0, probes.to(dtype=dtype, device=device), directions.to(dtype=dtype, device=device)
        )
        n_partner_tried = n_partner_failed = 0
        added = torch.zeros(0, n, dtype=h.dtype, device=h.device)
        if odd and pts.shape[0]:
            missing = isolated & (_partners(pts, dedup_v) < 0)
            cand = -pts[missing.to(pts.device)]
            n_partner_tried = cand.shape[0]
            if n_partner_tried:
                xc = None if x0 is None else x0.expand(n_partner_tried, x0.shape[0])
                cand = _newton_polish(system, cand, xc, res_tol=tol_v)
                r_c = _residual(system, cand, xc).norm(dim=-1)
                verified = torch.isfinite(r_c) & (r_c <= tol_v)
                n_partner_failed = n_partner_tried - int(verified.sum())
                # a partner polished onto a listed point is that point (not a failure)
                near = torch.cdist(cand, pts, compute_mode="donot_use_mm_for_euclid_dist").amin(-1)
                ok = verified & (near > dedup_v)
                added = cand[ok]
                ev_added = _spectrum(system, added, x0)
                pts = torch.cat([pts, added])
                sp = torch.cat([sp, 0.5 * r_c[ok] ** 2])
                hits = torch.cat([hits, torch.zeros(added.shape[0], dtype=torch.long)])
                hits_spread = torch.cat([hits_spread, torch.zeros(added.shape[0], dtype=torch.long)])
                ev = torch.cat([ev, ev_added])
                isolated = torch.cat([isolated, _isolated(ev_added, cont_tol)])
        # the origin is fixed for every odd map (F(0) = -F(0)); said, not listed, when no start reached it
        origin_note = ""
        if odd and not (pts.shape[0] and float(pts.norm(dim=-1).min()) <= dedup_v):
            zero = torch.zeros(1, n, dtype=dtype, device=device)
            r0 = float(_residual(system, zero, None if x0 is None else x0.expand(1, x0.shape[0])).norm())
            if r0 <= tol_v:
                origin_note = (
                    f"the origin is a fixed point too (|F(0)| = {r0:.1g}: odd map) but no start reached it; "
                    "it is not listed (pass it in initial_states to classify it)"
                )
        from_sym = torch.zeros(pts.shape[0], dtype=torch.bool)
        from_sym[pts.shape[0] - added.shape[0] :] = True
        order = torch.argsort(sp, stable=True)
        pts, sp, ev = pts[order], sp[order], ev[order]
        order = order.cpu()
        hits, from_sym, isolated = hits[order], from_sym[order], isolated[order]
        hits_spread = hits_spread[order]
        sev = _spectrum(system, spts, x0)
        s_slow = ((sev - 1).abs() < eps_slow).sum(-1).cpu()
    n_unstable, n_slow, spr, labels = _classify(ev, marginal_tol, eps_slow)
    if n_slow.numel():
        dim = int(n_slow.double().median().round())
    elif s_slow.numel():
        dim = int(s_slow.double().median().round())
    else:
        dim = 0
    pdim = _pca_dimension(torch.cat([pts, spts]) if spts.shape[0] else pts)
    # completeness over the isolated points
    partner = _partners(pts, dedup_v)
    n_iso, n_species, n1, p_new, n_est = _completeness(hits, partner, isolated, b, odd)
    checks: list[Check] = []
    notes: list[str] = []
    if odd and pts.shape[0]:
        note = (
            f"odd map (F(-h) = -F(h) and J(-h) = J(h) at {_PROBES} random states to {sym_err:.1g}): "
            f"{added.shape[0]} partner(s) -h* added that no start found, each Newton-polished and its residual "
            "recomputed below tol"
        )
        if n_partner_failed:
            note += f"; {n_partner_failed} candidate partner(s) failed that verification and were left out"
        notes.append(note)
        checks.append(
            Check(
                name="symmetry_partners",
                passed=n_partner_failed == 0,
                value=n_partner_failed,
                tolerance=0,
                detail=f"{n_partner_tried} partner(s) -h* of points of an odd map verified as fixed points "
                f"(residual <= tol = {tol_v:.3g}); {n_partner_failed} failed",
                status=Status.WARNING,
            )
        )
    if pts.shape[0] and n_iso < pts.shape[0]:
        notes.append(
            f"{pts.shape[0] - n_iso} point(s) on a continuum of fixed points (an eigenvalue within {cont_tol:.1e} "
            "of 1): not counted for completeness"
        )
    if n_iso:
        unit = "point(s) up to sign" if odd else "point(s)"
        more = (
            f"more initial_states (about {_MORE_STARTS * b})"
            if initial_states is not None
            else f"more starts (n_initial={_MORE_STARTS * b})"
        )
        n_reach = int(hits[isolated].sum())
        head = (
            f"completeness: {n_species} isolated {unit} found by {n_reach} of {b} starts, "
            f"{n1} of them by one start only"
        )
        if n_spread and n_spread < b:
            only = int(((hits_spread == hits) & (hits > 0) & isolated).sum())
            head += f", {only} point(s) only from the {n_spread} spread starts (off the trajectories)"
        if p_new <= completeness_tol:
            detail = (
                f"{head}; Good-Turing probability that one more start finds a new one {p_new:.2g} "
                f"<= completeness_tol = {completeness_tol:g}, for starts drawn like these ({start_words})"
            )
            if starts_from == "trajectory":
                detail += (
                    "; points off the attractor (saddles between basins, repellers) are not sampled: "
                    "starts_from='mixed' adds starts spread over the box of the visited states"
                )
        else:
            detail = (
                f"{head}: one more start drawn like these ({start_words}) finds a new one with probability "
                f"{p_new:.2g} (Good-Turing) > completeness_tol = {completeness_tol:g}, about {n_est:.0f} "
                f"isolated points estimated (Chao1; {n_iso} found): {more} may find more"
            )
            n_conv = int(conv.sum())
            if 2 * n_conv < b:
                detail += f" (only {n_conv} of {b} starts reached a fixed point: a larger max_iter or noise may help too)"
        notes.append(detail)
        checks.append(
            Check(
                name="completeness",
                passed=p_new <= completeness_tol,
                value=p_new,
                tolerance=completeness_tol,
                detail=detail,
                status=Status.WARNING,
            )
        )
    n_manifold = skind.count("manifold")
    n_minimum = skind.count("minimum")
    manifold_note = ""
    if n_manifold:
        on = torch.tensor([k == "manifold" for k in skind])
        speeds = (2 * ssp[on.to(ssp.device)]).sqrt()
        manifold_note = (
            f"{n_manifold} on a slow manifold: |F(h) - h| = {float(speeds.min()):.2g} to {float(speeds.max()):.2g} "
            f"lies in the rows of J - I below the freezing threshold (units that barely move, e.g. closed update "
            f"gates; median {int(sfrozen[on].double().median().round())} rows), every other row is below tol; "
            f"median {int(s_slow[on].double().median().round())} slow directions |lambda - 1| < {eps_slow:g}"
        )
    if pts.shape[0]:
        status = Status.SUCCESS
        counts = {lab: labels.count(lab) for lab in STABILITY if labels.count(lab)}
        message = (
            f"{pts.shape[0]} fixed point(s) ("
            + ", ".join(f"{v} {k}" for k, v in counts.items())
            + f") from {b} starts; {spts.shape[0]} slow point(s)"
        )
        if manifold_note:
            message += f" ({manifold_note})"
        if n_crawling:
            message += f"; {n_crawling} start(s) still moving through slow regions after {n_iter} iterations"
        message += "".join(f"; {note}" for note in notes)
        status = status_from_checks(checks, status)
    elif spts.shape[0]:
        status = Status.WARNING
        parts = [manifold_note] if manifold_note else []
        if n_minimum:
            parts.append(f"{n_minimum} local minima of q (ghosts)")
        message = (
            f"no fixed point within tol = {tol_v:.3g}; {spts.shape[0]} slow point(s) with q < {slow_tol:g}: "
            + "; ".join(parts)
        )
        if n_crawling:
            message += f"; {n_crawling} start(s) still moving through slow regions after {n_iter} iterations"
    else:
        status = Status.NOT_CONVERGED
        message = (
            f"no fixed or slow point found from {b} starts (tol = {tol_v:.3g}, slow_tol = {slow_tol:g}); "
            "try more starts, noise, a larger max_iter or initial_states"
        )
    if origin_note:
        message += f"; {origin_note}"
    if status == Status.NOT_CONVERGED and throw:
        raise AnalysisError(message)
    return FixedPointResult(
        points=pts,
        speeds=sp,
        eigenvalues=ev,
        spectral_radius=spr,
        n_unstable=n_unstable,
        n_slow=n_slow,
        stability=labels,
        slow_points=spts,
        slow_speeds=ssp,
        slow_kind=skind,
        slow_eigenvalues=sev,
        slow_n_slow=s_slow,
        slow_n_frozen=sfrozen,
        input=x0,
        tol=tol_v,
        slow_tol=slow_tol,
        eps_slow=eps_slow,
        marginal_tol=marginal_tol,
        freeze_tol=freeze_v if slow_manifold and method == "lm" else math.nan,
        n_initial=b,
        n_converged=int(conv.sum()),
        n_iterations=n_iter,
        slow_manifold_dimension=dim,
        points_dimension=pdim,
        hits=hits,
        hits_spread=hits_spread,
        starts_from=starts_from,
        starts=start_words,
        spread_box=None if box is None else torch.stack(box).cpu(),
        from_symmetry=from_sym,
        odd_map=odd,
        symmetry_error=sym_err,
        n_isolated=n_iso,
        n_found_once=n1,
        p_new=p_new,
        n_points_estimate=float(n_est),
        completeness_tol=completeness_tol,
        status=status,
        message=message,
        checks=tuple(checks),
    )


def _adam(
    system: AbstractMap, h: Tensor, x: Tensor | None, *, res_tol: float, max_iter: int
) -> tuple[Tensor, int]:
    """Matrix-free minimisation of q with Adam (gradients by autograd; no Jacobians formed)."""
    params = [p for p in system.parameters() if p.requires_grad]
    flags = [p.requires_grad for p in params]
    for p in params:
        p.requires_grad_(False)
    try:
        var = h.clone().requires_grad_(True)
        opt = torch.optim.Adam([var], lr=1e-2)
        it = 0
        with torch.enable_grad():
            for it in range(1, max_iter + 1):  # noqa: B007
                opt.zero_grad()
                r = _residual(system, var, x)
                q = _half_sq(r)
                if bool((r.detach().norm(dim=-1) <= res_tol).all()):
                    break
                q.sum().backward()
                opt.step()
        return var.detach(), it
    finally:
        for p, f in zip(params, flags, strict=True):
            p.requires_grad_(f)


def fixed_point_summary(result: FixedPointResult) -> list[tuple[str, str]]:
    """Rows ``(quantity, value)`` for a summary table (``rnndyn fixed-points`` / ``analyze``).

    Example:
        >>> import torch, rnndyn as rd
        >>> starts = torch.linspace(0.05, 0.95, 10, dtype=torch.float64).unsqueeze(-1)
        >>> res = rd.find_fixed_points(rd.Logistic(r=2.5).double(), initial_states=starts)
        >>> fixed_point_summary(res)[0]
        ('fixed points', '2 (1 stable, 1 unstable)')
    """
    counts = {lab: result.stability.count(lab) for lab in STABILITY if result.stability.count(lab)}
    rows = [
        (
            "fixed points",
            f"{result.n_points}"
            + (" (" + ", ".join(f"{v} {k}" for k, v in counts.items()) + ")" if counts else ""),
        ),
        (
            f"slow points (q < {result.slow_tol:g})",
            str(result.slow_points.shape[0])
            + (
                " ("
                + ", ".join(
                    f"{result.slow_kind.count(k)} {'on a slow manifold' if k == 'manifold' else 'minima of q'}"
                    for k in SLOW_KINDS
                    if result.slow_kind.count(k)
                )
                + ")"
                if result.slow_kind
                else ""
            ),
        ),
        ("starts / converged", f"{result.n_initial} / {result.n_converged}"),
        ("starts drawn (what the census counts)", result.starts),
    ]
    if result.odd_map and result.n_points:
        rows.append(("odd map F(-h) = -F(h)", f"yes: {result.n_added_by_symmetry} partner(s) -h* added"))
    if result.n_isolated:
        verdict = "complete" if result.complete else "incomplete"
        rows.append(
            (
                "completeness (Good-Turing)",
                f"{verdict}: {result.n_found_once} found by one start only, p_new = {result.p_new:.2g} "
                f"(tol {result.completeness_tol:g}); about {result.n_points_estimate:.0f} isolated points (Chao1)",
            )
        )
    if result.n_points:
        spr = result.spectral_radius
        rows.append(
            (
                "spectral radius at fixed points (min / max)",
                f"{float(spr.min()):.4g} / {float(spr.max()):.4g}",
            )
        )
        rows.append(
            (
                "unstable directions (min / max)",
                f"{int(result.n_unstable.min())} / {int(result.n_unstable.max())}",
            )
        )
        rows.append(
            (
                f"slow directions |lambda - 1| < {result.eps_slow:g} (median)",
                str(result.slow_manifold_dimension),
            )
        )
    elif result.slow_points.shape[0]:
        speed = (2 * result.slow_speeds).sqrt()
        rows.append(
            (
                "speed |F(h) - h| at slow points (min / max)",
                f"{float(speed.min()):.3g} / {float(speed.max()):.3g}",
            )
        )
        rows.append(
            (
                f"slow directions |lambda - 1| < {result.eps_slow:g} at slow points (median)",
                str(result.slow_manifold_dimension),
            )
        )
        if "manifold" in result.slow_kind:
            on = torch.tensor([k == "manifold" for k in result.slow_kind])
            rows.append(
                (
                    "rows of J - I held free at slow-manifold points (median)",
                    str(int(result.slow_n_frozen[on].double().median().round())),
                )
            )
    rows.append(("dimension of the set of points (PCA 95%)", str(result.points_dimension)))
    if result.line_attractor:
        rows.append(("slow manifold", "line attractor (1-D continuum of fixed points)"))
    elif result.slow_manifold_dimension > 1 or (result.slow_manifold_dimension and not result.n_points):
        rows.append(
            (
                "slow manifold",
                f"{result.slow_manifold_dimension}-D"
                + ("" if result.n_points else " (slow points only: no fixed point within tol)"),
            )
        )
    return rows


__all__ = ["STABILITY", "FixedPointError", "FixedPointResult", "find_fixed_points", "fixed_point_summary"]

r"""Diagnostics of Lyapunov runs: convergence, stationarity, divergence, multistability, the sum
rule and the flow-divergence check (docs/lyapunov.md, "Statuses and checks").

Each diagnostic returns :class:`~rnndyn.Check` records; the result's status is the worst outcome
of its checks (:func:`rnndyn._results.status_from_checks`).

Convergence. With ``lambda(T)`` the running estimate after ``T`` averaged steps, the drift over
the last half is ``|lambda(T) - lambda(T/2)|``. For a settled estimate with independent noise,
``lambda(T) - lambda(T/2) = (m_2 - m_1)/2`` (``m_1, m_2`` the means of the two halves) has the
standard deviation of ``lambda(T)`` itself, so it is compared with ``Z_DRIFT`` reported standard
errors; a systematic ``1/T`` bias (frame alignment, transient) gives a drift equal to the bias
left in ``lambda(T)``, so the same test catches it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import torch

from rnndyn._results import Check, Status

Tensor = torch.Tensor

#: number of standard errors a drift / a cluster gap may reach before it counts.
Z_DRIFT = 4.0
Z_CLUSTER = 5.0
#: number of top exponents whose convergence is checked.
N_CHECKED = 3
#: time blocks need at least this many steps each for their spread to estimate the error.
MIN_BLOCK_STEPS = 10
#: a state whose max-norm exceeds DIVERGENCE_FACTOR * max(1, max-norm of the initial state)
#: counts as diverged (unbounded growth), long before float overflow.
DIVERGENCE_FACTOR = 1e8
#: below this many trajectories their spread alone is not trusted as the error.
MIN_TRAJECTORIES = 8
#: e-foldings of the slowest exponent the transient should cover.
MIN_E_FOLDINGS = 3.0
#: stationarity: number of time blocks (at most; each >= MIN_BLOCK_STEPS steps, at least
#: MIN_STATIONARITY_BLOCKS of them) and the noise units the two halves' means may differ by.
N_STATIONARITY_BLOCKS = 20
MIN_STATIONARITY_BLOCKS = 8
Z_STATIONARITY = 5.0
#: a difference between the halves below this fraction of the spectrum's scale (the largest
#: |lambda| checked) is negligible: a state converging onto a fixed point leaves a deterministic
#: trend of ~1e-8 relative (noise ~1e-9) that changes no reported digit
STATIONARITY_RTOL = 1e-6
#: ... and the bias |m_2 - m_1| / 2 must exceed this many reported standard errors: a transient
#: confined to the first block gives a bias of about one standard error by construction (the
#: block spread is that one block), an error bar that covers it
STATIONARITY_BIAS_SE = 1.5
#: with K >= 12 blocks the largest squared successive difference is left out of the noise (one
#: abrupt change, e.g. an escape within one block, would otherwise inflate it); the mean of the
#: other K - 2 is biased low for stationary blocks by these factors (simulated: 2e6 sets of K
#: independent Gaussian block means, seed 7)
_TRIMMED_MSSD_BIAS = {
    12: 1.3747, 13: 1.3531, 14: 1.3321, 15: 1.3154, 16: 1.2988,
    17: 1.2852, 18: 1.2730, 19: 1.2619, 20: 1.2520,
}  # fmt: skip
#: time-step bias that counts as negligible, relative to max(1, |value|): the flow-divergence
#: check and, through the Richardson estimate of the bias, the step-halving check
DT_BIAS_RTOL = 1e-6


# ------------------------------------------------------------------------------- divergence
def divergence_bound(h0: Tensor) -> float:
    """State max-norm above which a trajectory started at ``h0`` counts as diverged."""
    h0 = h0.detach()
    scale = float(h0.abs().max()) if h0.numel() and bool(torch.isfinite(h0).all()) else 1.0
    return DIVERGENCE_FACTOR * max(1.0, scale)


def state_escaped(h: Tensor, bound: float) -> bool:
    """Whether ``h`` is non-finite or beyond ``bound`` (max-norm)."""
    h = h.detach()
    return not bool(torch.isfinite(h).all()) or float(h.abs().max()) > bound


# ------------------------------------------------------------------------ per-step averages
@dataclass
class StepAverages:
    """Streaming (O(1) memory) sums along the averaged trajectory: ``ln|det J|`` of the map
    (sum rule) and, for discretised flows, the trace of the flow's Jacobian (flow-divergence
    check). ``observe`` returns the map's Jacobian when it formed it (so the caller can reuse it)."""

    logdet: bool = True
    trace: bool = False
    count: int = 0
    logdet_sum: Tensor | None = None
    trace_sum: Tensor | None = None

    def observe(self, system: Any, h: Tensor, x: Tensor | None, jac: Tensor | None = None) -> Tensor | None:
        """Add step ``(h, x)``: ``ln|det J|`` of the map (``jac`` if already formed, restricted to
        the tangent space) and, when enabled, the trace of the flow's Jacobian at ``h``."""
        if self.logdet:
            if jac is None:
                jac = system._jacobian(h, x)
                m = int(getattr(system, "tangent_size", system.state_size))
                if jac.shape[-1] != m:
                    jac = jac[..., :m, :m]
            ld = torch.linalg.slogdet(jac)[1]
            self.logdet_sum = ld if self.logdet_sum is None else self.logdet_sum + ld
        if self.trace:
            tr = torch.diagonal(system.flow._jacobian(h, x), dim1=-2, dim2=-1).sum(-1)
            self.trace_sum = tr if self.trace_sum is None else self.trace_sum + tr
        self.count += 1
        return jac

    def mean_logdet(self) -> float | None:
        if self.logdet_sum is None or self.count == 0:
            return None
        return float(self.logdet_sum.detach().to("cpu", torch.float64).mean()) / self.count

    def mean_trace(self) -> float | None:
        if self.trace_sum is None or self.count == 0:
            return None
        return float(self.trace_sum.detach().to("cpu", torch.float64).mean()) / self.count


def sum_rule_check(
    total: float, mean_logdet: float, scale: float, dtype: torch.dtype, k: int
) -> tuple[dict, Check]:
    r"""Sum of the exponents against the mean ``ln|det J|`` (times ``scale``): equal up to the
    round-off of the QR accumulation. Reported with an absolute error, and a relative one only
    when the expected sum is not near zero (standard map: sum 0)."""
    expected = mean_logdet * scale
    if total == expected:  # includes both -inf (a singular Jacobian along the trajectory)
        abs_err = 0.0
    else:
        abs_err = abs(total - expected)
    size = max(1.0, abs(expected), abs(total)) if math.isfinite(expected) and math.isfinite(total) else 1.0
    rel = abs_err / abs(expected) if abs(expected) > 1e-8 * size else None
    tol = math.sqrt(float(torch.finfo(dtype).eps)) * size * max(1, k)
    passed = math.isfinite(abs_err) and abs_err <= tol
    detail = (
        f"sum of exponents {total:.6g} vs mean ln|det J| {expected:.6g}: absolute error {abs_err:.2g}"
        + ("" if passed else "; the QR accumulation lost precision (use float64, a smaller qr_every)")
    )
    info = {
        "sum": total,
        "expected": expected,
        "abs_error": abs_err,
        "rel_error": rel,
        "quantity": "mean ln|det J| of the map",
    }
    return info, Check(
        name="sum_rule", passed=passed, value=abs_err, tolerance=tol, detail=detail, status=Status.WARNING
    )


def flow_divergence_check(total: float, mean_trace: float, stderr: Tensor, dt: float) -> tuple[dict, Check]:
    r"""Sum of the exponents of a discretised flow (per unit time) against the time-averaged
    divergence ``<tr Df>`` of the flow along the same trajectory. For the flow they are equal
    (Liouville: :math:`\sum_i\lambda_i = \langle \nabla\cdot f\rangle`); the discrete map's sum is
    ``<ln|det J_map|>/dt``, so a difference is the time-step bias of the integrator. It fails when
    the bias exceeds the exponents' reported standard errors (``2 max stderr``, floor ``1e-6``)."""
    bias = abs(total - mean_trace)
    se = stderr[torch.isfinite(stderr)]
    se_max = float(se.max()) if se.numel() else 0.0
    tol = max(2.0 * se_max, DT_BIAS_RTOL * max(1.0, abs(mean_trace)))
    passed = bias <= tol
    detail = (
        f"sum of exponents {total:.6g} vs time-averaged flow divergence <tr Df> {mean_trace:.6g}: "
        f"time-step bias {bias:.2g} at dt = {dt:g}"
    )
    if not passed:
        detail += (
            f", larger than the exponents' standard errors (max {se_max:.2g}): the exponents are "
            f"those of the discrete map, not the flow; reduce dt (e.g. dt = {dt / 2:g}) or use "
            "check_dt=True"
        )
    info = {"sum": total, "mean_trace": mean_trace, "bias": bias, "dt": dt}
    return info, Check(
        name="flow_divergence", passed=passed, value=bias, tolerance=tol, detail=detail, status=Status.WARNING
    )


# ------------------------------------------------------------------------------ convergence
def block_means(cum: Tensor, steps: Tensor, n_steps: int, n_blocks: int) -> Tensor | None:
    """Per-block means ``(n_blocks', k)`` of a cumulative sum ``cum`` ``(C, k)`` recorded at
    ``steps``; boundaries at the recorded checkpoints closest to ``j n_steps / n_blocks``."""
    targets = [round((j + 1) * n_steps / n_blocks) for j in range(n_blocks)]
    bounds = [int(torch.argmin((steps - tg).abs())) for tg in targets]
    prev_sum = torch.zeros_like(cum[0])
    prev_step = 0
    means = []
    for b in bounds:
        s = int(steps[b])
        if s <= prev_step:
            continue
        mean = (cum[b] - prev_sum) / (s - prev_step)
        # a column at -inf (singular Jacobian) stays -inf instead of -inf - (-inf) = NaN
        means.append(torch.where(torch.isneginf(cum[b]), cum[b], mean))
        prev_sum, prev_step = cum[b], s
    if len(means) < 2:
        return None
    return torch.stack(means)


def block_stderr(cum: Tensor, steps: Tensor, n_steps: int, n_blocks: int, scale: float) -> Tensor:
    """Standard error of the sorted exponents from time blocks of one (or a mean) trajectory."""
    means = block_means(cum, steps, n_steps, n_blocks)
    if means is None:
        return torch.full_like(cum[0], math.nan)
    blocks = torch.sort(means * scale, dim=-1, descending=True).values
    return blocks.std(0, unbiased=True) / math.sqrt(blocks.shape[0])


def convergence_stderr(
    stderr: Tensor,
    method: str,
    batch: int,
    cum: Tensor,
    steps: Tensor,
    n_steps: int,
    n_blocks: int,
    scale: float,
) -> Tensor:
    """The error the drift is compared with: the reported one, except that the spread of fewer
    than ``MIN_TRAJECTORIES`` trajectories (1-6 degrees of freedom) is replaced by the larger of it
    and the time-block error of the mean trajectory."""
    if method != "trajectories" or batch >= MIN_TRAJECTORIES or n_blocks < 2:
        return stderr
    blocks = block_stderr(cum.mean(0), steps, n_steps, n_blocks, scale)
    if not bool(torch.isfinite(blocks).all()):
        return stderr
    return torch.maximum(stderr, blocks)


@dataclass
class Convergence:
    """What the convergence diagnostics found (also stored in ``LyapunovResult.convergence``)."""

    drift: list[float] = field(default_factory=list)
    tolerance: list[float] = field(default_factory=list)
    half_steps: int = 0
    e_foldings_transient: float = math.nan
    slowest_rate: float = math.nan
    checks: list[Check] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {
            "drift": self.drift,
            "drift_tolerance": self.tolerance,
            "half_steps": self.half_steps,
            "e_foldings_transient": self.e_foldings_transient,
            "slowest_rate": self.slowest_rate,
            "n_checked": len(self.drift),
        }


def convergence_checks(
    *,
    running_sorted: Tensor,
    steps: Tensor,
    exps: Tensor,
    stderr: Tensor,
    stderr_method: str,
    n_steps: int,
    n_transient: int,
    n_blocks: int,
    step_time: float,
    near_zero_tol: float,
    units: str,
) -> Convergence:
    """Drift of the top exponents over the last half, the error estimate's reliability and the
    e-foldings covered by the transient.

    Args:
        running_sorted: ``(C, k)`` running estimates (sorted per trajectory, mean over them).
        steps: ``(C,)`` averaged steps at each checkpoint. exps / stderr: final values.
        step_time: time per step (``dt`` of a discretised flow, 1 for maps).
    """
    conv = Convergence()
    finite_exps = exps[torch.isfinite(exps)]
    # e-foldings of the slowest non-zero exponent covered by the transient
    rates = finite_exps.abs()
    rates = rates[rates > near_zero_tol] if math.isfinite(near_zero_tol) else rates
    if rates.numel():
        conv.slowest_rate = float(rates.min())
        conv.e_foldings_transient = n_transient * step_time * conv.slowest_rate
    # the top finite exponents (-inf ones, from exactly singular Jacobians, have nothing to settle)
    idx = [i for i in range(exps.numel()) if math.isfinite(float(exps[i]))][:N_CHECKED]
    top = len(idx)
    if top == 0:
        return conv
    exps, stderr, running_sorted = exps[idx], stderr[idx], running_sorted[:, idx]
    # 1. is there an error estimate at all, and are the blocks long enough for it?
    block_len = n_steps / max(n_blocks, 1)
    if stderr_method == "none" or not bool(torch.isfinite(stderr[:top]).all()):
        conv.checks.append(
            Check(
                name="convergence",
                passed=False,
                detail=f"no error estimate from {n_steps} averaged steps; run at least "
                f"{10 * MIN_BLOCK_STEPS * 10} steps (n_steps) or several trajectories",
                status=Status.NOT_CONVERGED,
            )
        )
        return conv
    # blocks shorter than MIN_BLOCK_STEPS are correlated, so their spread underestimates the
    # error, unless they agree to round-off (an exactly periodic or fixed-point Jacobian)
    exact = bool((stderr[:top] <= 1e-10 * torch.clamp(exps[:top].abs(), min=1.0)).all())
    if stderr_method.startswith("time_blocks") and block_len < MIN_BLOCK_STEPS and not exact:
        need = MIN_BLOCK_STEPS * n_blocks
        conv.checks.append(
            Check(
                name="convergence",
                passed=False,
                value=float(n_steps),
                tolerance=float(need),
                detail=f"the time-block error needs blocks of >= {MIN_BLOCK_STEPS} steps; with "
                f"{n_steps} averaged steps the error bar is not meaningful: increase n_steps to "
                f">= {need} (better {10 * need})",
                status=Status.NOT_CONVERGED,
            )
        )
        return conv
    # 2. drift over the last half
    half = int(torch.argmin((steps - n_steps / 2).abs()))
    conv.half_steps = int(steps[half])
    final = exps[:top]
    mid = running_sorted[half, :top]
    drift = (final - mid).abs()
    scale_floor = 1e-9 * torch.clamp(final.abs(), min=1.0)
    tol = Z_DRIFT * stderr[:top] + scale_floor
    finite = torch.isfinite(final) & torch.isfinite(mid)
    drift = torch.where(finite, drift, torch.zeros_like(drift))
    conv.drift = [float(v) for v in drift]
    conv.tolerance = [float(v) for v in tol]
    ratio = drift / tol
    worst = int(torch.argmax(ratio))
    settled = bool((ratio <= 1.0).all()) and conv.half_steps > 0
    if settled:
        detail = (
            f"top {top} exponent(s) settled: drift over the last half (steps {conv.half_steps}..{n_steps}) "
            f"<= {Z_DRIFT:g} standard errors ({stderr_method.replace('_', ' ')})"
        )
    else:
        r = float(ratio[worst])
        factor = max(4, math.ceil(min(r * r, 100.0)))
        detail = (
            f"lambda_{idx[worst] + 1} still drifts by {float(drift[worst]):.3g} {units} over the last half "
            f"(tolerance {float(tol[worst]):.2g} = {Z_DRIFT:g} standard errors): increase n_steps to "
            f">= {factor * n_steps}"
        )
        if math.isfinite(conv.e_foldings_transient) and conv.e_foldings_transient < MIN_E_FOLDINGS:
            need = math.ceil(MIN_E_FOLDINGS / (conv.slowest_rate * step_time))
            detail += (
                f" and n_transient to >= {need} (the transient covers {conv.e_foldings_transient:.2g} "
                f"e-foldings of the slowest exponent, {conv.slowest_rate:.3g} {units})"
            )
    conv.checks.append(
        Check(
            name="convergence",
            passed=settled,
            value=float(ratio[worst]) * Z_DRIFT,
            tolerance=Z_DRIFT,
            detail=detail,
            status=Status.NOT_CONVERGED,
        )
    )
    return conv


# ----------------------------------------------------------------------------- stationarity
@dataclass(frozen=True)
class StationarityStats:
    """Column-wise statistics of :func:`stationarity_stats` (each shaped like a column)."""

    m1: Tensor
    m2: Tensor
    diff: Tensor
    noise: Tensor
    z: Tensor
    bias: Tensor
    se: Tensor
    material: Tensor
    bad: Tensor


def stationarity_stats(
    blocks: Tensor, stderr: Tensor, exps: Tensor, size: float | Tensor
) -> StationarityStats:
    """The statistics of :func:`stationarity_check` for every column of ``blocks`` ``(K, *cols)``
    (finite block means in result units; each column an independent series, nothing is sorted):
    the halves' means, the trimmed von Neumann noise of their difference, ``z``, the bias the
    trend leaves in the mean and whether it is material (above ``STATIONARITY_BIAS_SE`` standard
    errors ``stderr``, ``1e-9 max(1, |exps|)`` and ``STATIONARITY_RTOL size``); ``bad`` where both
    fail. ``size`` is the scale ``1e-6`` refers to: the spectrum's largest ``|lambda|`` checked, or
    per column."""
    nb = blocks.shape[0]
    h = nb // 2
    m1, m2 = blocks[:h].mean(0), blocks[h:].mean(0)
    diff = (m2 - m1).abs()
    d2 = (blocks[1:] - blocks[:-1]) ** 2
    if nb in _TRIMMED_MSSD_BIAS:
        d2 = torch.sort(d2, dim=0).values[:-1] * _TRIMMED_MSSD_BIAS[nb]
    sigma = torch.sqrt(d2.mean(0) / 2)
    noise = sigma * math.sqrt(1.0 / h + 1.0 / (nb - h))
    se = torch.where(torch.isfinite(stderr), stderr, torch.zeros_like(stderr))
    z = torch.where(noise > 0, diff / noise, torch.where(diff > 0, math.inf, 0.0))
    # the bias the trend leaves in lambda(T) (the mean of all blocks): half the difference of the
    # halves for a transient in the first half, the last block's distance for one that is still
    # going on at the end (an escape in the last blocks); it must exceed the reported error bar
    bias = torch.maximum(diff / 2, (blocks[-1] - blocks.mean(0)).abs())
    lower = torch.maximum(STATIONARITY_BIAS_SE * se, 1e-9 * torch.clamp(exps.abs(), min=1.0))
    if isinstance(size, Tensor):
        floor = torch.maximum(lower, STATIONARITY_RTOL * size)
    else:
        floor = torch.clamp(lower, min=STATIONARITY_RTOL * size)
    material = bias > floor
    bad = (z > Z_STATIONARITY) & material
    return StationarityStats(m1, m2, diff, noise, z, bias, se, material, bad)


def stationarity_check(
    *,
    cum: Tensor,
    steps: Tensor,
    exps: Tensor,
    stderr: Tensor,
    n_steps: int,
    n_transient: int,
    scale: float,
    units: str,
) -> Check | None:
    r"""Whether the local growth rates are stationary over the averaged steps.

    The run is cut into ``K`` time blocks (``K = min(20, n_steps // 10)``, at least 8; fewer
    recorded checkpoints: ``None``). For each of the top three finite exponents, with block means
    ``b_1 .. b_K`` (sorted per block, as the time-block error), the two halves' means ``m_1``,
    ``m_2`` are compared with a noise that a trend does not inflate: the von Neumann estimate
    from successive differences,

    .. math:: \sigma_b^2 = \frac{1}{2(K-1)}\sum_j (b_{j+1} - b_j)^2, \qquad
              z = \frac{|m_2 - m_1|}{\sigma_b\sqrt{1/K_1 + 1/K_2}}

    (J. von Neumann, Ann. Math. Statist. 12, 367 (1941)); with ``K >= 12`` blocks the largest
    ``(b_{j+1} - b_j)^2`` is left out and the mean of the rest rescaled to be unbiased
    (``_TRIMMED_MSSD_BIAS``), so that one abrupt change (an escape within one block, at the end
    of the run) does not hide itself in the noise. For stationary blocks ``z`` is roughly
    t-distributed; the spread of the blocks themselves (the time-block standard error, and the
    ``convergence`` check's tolerance) counts a trend as noise, so a slow escape from an unstable
    fixed point passed it. The check fails when ``z > Z_STATIONARITY`` (5) **and**
    ``|m_2 - m_1| / 2``, the bias a transient in the first half leaves in ``lambda(T)``, exceeds
    ``STATIONARITY_BIAS_SE`` (1.5) reported standard errors ``stderr`` (inside the error bar it
    changes nothing the result claims; a transient within the first block alone gives about one
    by construction) and ``STATIONARITY_RTOL max_i |lambda_i|`` (1e-6 of the
    spectrum's scale: a state that converges onto a fixed point leaves a deterministic trend of
    ~1e-8 relative whose noise is ~1e-9) and a round-off floor ``1e-9 max(1, |lambda|)``.

    Args:
        cum: ``(C, k)`` cumulative ``ln R_ii`` (natural log, per step) of the mean trajectory.
        steps: ``(C,)`` averaged steps at each checkpoint. exps / stderr: the final ``(k,)``
            exponents and the error they are reported with (sorted, in result units).
        scale: result units per natural-log step (``1 / (dt ln b)``).

    Returns:
        A :class:`~rnndyn.Check` named ``"stationarity"`` (failure status ``not_converged``), or
        ``None`` when the run has too few blocks to judge.
    """
    idx = [i for i in range(exps.numel()) if math.isfinite(float(exps[i]))][:N_CHECKED]
    n_blk = min(N_STATIONARITY_BLOCKS, n_steps // MIN_BLOCK_STEPS)
    if not idx or n_blk < MIN_STATIONARITY_BLOCKS:
        return None
    means = block_means(cum, steps, n_steps, n_blk)
    if means is None or means.shape[0] < MIN_STATIONARITY_BLOCKS:
        return None
    blocks = torch.sort(means * scale, dim=-1, descending=True).values[:, idx]
    if not bool(torch.isfinite(blocks).all()):
        return None
    nb = blocks.shape[0]
    st = stationarity_stats(blocks, stderr[idx], exps[idx], float(exps[idx].abs().max()))
    m1, m2, diff, noise, z, bias, se = st.m1, st.m2, st.diff, st.noise, st.z, st.bias, st.se
    material, bad = st.material, st.bad
    worst = int(torch.argmax(torch.where(bad, z, torch.where(material, z, torch.zeros_like(z)))))
    i = idx[worst]
    z_w = float(z[worst])
    where = (
        f"lambda_{i + 1}: the mean over the second half of the {n_steps} averaged steps is "
        f"{float(m2[worst]):.4g} against {float(m1[worst]):.4g} over the first half (difference "
        f"{float(diff[worst]):.3g} {units}, {z_w:.3g} times its noise {float(noise[worst]):.2g} from "
        f"successive differences of {nb} time blocks; last block {float(blocks[-1, worst]):.4g})"
    )
    if not bool(bad.any()):
        return Check(
            name="stationarity",
            passed=True,
            value=z_w,
            tolerance=Z_STATIONARITY,
            detail=f"the local growth rates are stationary: the halves' means of the top {len(idx)} "
            f"exponent(s) differ by <= {Z_STATIONARITY:g} noise units or leave a bias below "
            f"{STATIONARITY_BIAS_SE:g} standard errors (worst {where}",
            status=Status.NOT_CONVERGED,
        )
    return Check(
        name="stationarity",
        passed=False,
        value=z_w,
        tolerance=Z_STATIONARITY,
        detail=f"the local growth rates still change along the run: {where}, a bias of about "
        f"{float(bias[worst]):.2g} in lambda_{i + 1}, more than {STATIONARITY_BIAS_SE:g} standard errors "
        f"({float(se[worst]):.2g}). The trajectory has not reached its attractor (a transient, e.g. a "
        "slow escape from an unstable fixed point), so the exponents mix the transient with the "
        f"attractor: increase n_transient to >= {n_transient + n_steps} (the whole of this run) and "
        "check that the rates stay put",
        status=Status.NOT_CONVERGED,
    )


# --------------------------------------------------------------------------- multistability
def trajectory_clusters(lam: Tensor, se: Tensor, *, floor: float) -> list[dict[str, Any]]:
    """Group trajectories whose ``lambda_max`` agree within their own errors.

    Sorted values are split where the gap between neighbours exceeds
    ``Z_CLUSTER * sqrt(se_a^2 + se_b^2) + floor``. Returns one dict per cluster:
    ``count``, ``lambda_max`` (cluster mean), ``trajectories`` (indices).
    """
    order = torch.argsort(lam)
    groups: list[list[int]] = [[int(order[0])]]
    for a, b in zip(order[:-1].tolist(), order[1:].tolist(), strict=True):
        gap = float(lam[b] - lam[a])
        tol = Z_CLUSTER * math.sqrt(float(se[a]) ** 2 + float(se[b]) ** 2) + floor
        if gap > tol:
            groups.append([b])
        else:
            groups[-1].append(b)
    out = []
    for g in sorted(groups, key=lambda g: -float(lam[g].mean())):
        out.append({"count": len(g), "lambda_max": float(lam[g].mean()), "trajectories": sorted(g)})
    return out


def multistability_check(clusters: list[dict[str, Any]], units: str) -> Check:
    n = len(clusters)
    if n <= 1:
        return Check(
            name="multistability",
            passed=True,
            value=float(n),
            tolerance=1.0,
            detail="all trajectories agree on lambda_max within their own errors",
            status=Status.WARNING,
        )
    parts = ", ".join(
        f"{c['count']} at lambda_max {c['lambda_max']:.4g} (trajectories {c['trajectories']})"
        for c in clusters
    )
    return Check(
        name="multistability",
        passed=False,
        value=float(n),
        tolerance=1.0,
        detail=f"the trajectories disagree beyond their errors: {n} clusters ({units}): {parts}; "
        "the mean over trajectories mixes attractors, report the clusters separately",
        status=Status.WARNING,
    )


def multistability(
    lam1: Tensor, cum: Tensor, steps: Tensor, n_steps: int, n_blocks: int, scale: float, units: str
) -> tuple[list[dict[str, Any]], Check | None]:
    """Clusters of the per-trajectory ``lam1`` ``(batch,)`` by their own time-block errors (from
    the cumulative sums ``cum`` ``(batch, C, k)``), and the multistability check; ``([], None)``
    when it cannot be judged (fewer than 2 trajectories or blocks, non-finite values or errors)."""
    if lam1.numel() < 2 or n_blocks < 2 or not bool(torch.isfinite(lam1).all()):
        return [], None
    se = torch.stack([block_stderr(c, steps, n_steps, n_blocks, scale)[0] for c in cum])
    if not bool(torch.isfinite(se).all()):
        return [], None
    clusters = trajectory_clusters(lam1, se, floor=1e-9 * max(1.0, float(lam1.abs().max())))
    return clusters, multistability_check(clusters, units)


def divergence_check(escaped: bool, at_step: int | None, bound: float, where: str) -> Check:
    if not escaped:
        return Check(
            name="bounded",
            passed=True,
            tolerance=bound,
            detail=f"state stayed below {bound:.1g} (max-norm)",
            status=Status.DIVERGED,
        )
    return Check(
        name="bounded",
        passed=False,
        tolerance=bound,
        detail=f"the state escaped (non-finite or max-norm > {bound:.1g}) {where}",
        status=Status.DIVERGED,
    )

r"""lambda_max of a recorded time series: nearest-neighbour divergence (Rosenstein / Kantz).

For users with recordings rather than models (a measured trajectory, the hidden states of a
network saved elsewhere, benchmark data): no Jacobian is needed. Two classic estimators of the
divergence curve ``S(k)`` of initially close points of the (delay-embedded) series:

* **Rosenstein et al. (1993)**: for each reference point ``y_i`` take its nearest neighbour
  ``y_j`` outside a Theiler window ``|i - j| > w``; ``S(k) = < ln |y_{i+k} - y_{j+k}| >_i``.
* **Kantz (1994)**: ``S(k) = < ln < |y_{i+k} - y_{j+k}| >_{j in U_eps(i)} >_i`` over all
  neighbours within ``eps``.

In both, ``S(k) ~ S(0) + lambda_max k dt`` in the linear range before saturation; the slope is
fitted by least squares. Mikhaeil, Monfared and Durstewitz (NeurIPS 2022, arXiv:2110.07238) use
this slope to set the teacher-forcing interval ``tau = ln 2 / lambda_max`` (docs/training.md).

References:
    M. T. Rosenstein, J. J. Collins, C. J. De Luca, "A practical method for calculating largest
    Lyapunov exponents from small data sets", Physica D 65, 117 (1993);
    H. Kantz, "A robust method to estimate the maximal Lyapunov exponent of a time series",
    Phys. Lett. A 185, 77 (1994); the project's docs/clv.md (section "From data").
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch

from rnndyn import _diagnostics as diag
from rnndyn._checks import check_choice, check_generator, check_positive_int, check_real
from rnndyn._results import Check, Result, Status, status_from_checks

Tensor = torch.Tensor


@dataclass(frozen=True, kw_only=True)
class DataLyapunovResult(Result):
    """Nearest-neighbour divergence estimate of lambda_max.

    Attributes:
        lambda_max: fitted slope per unit time (``dt`` given) or per sample (``dt = 1``).
        divergence: ``S(k)`` for ``k = 0 .. horizon`` (natural log).
        fit_range: ``(k0, k1)`` used for the slope. fit_r2: coefficient of determination of the
            linear fit over it.
        predictability_steps: ``ln 2 / (lambda_max dt)`` in samples.
        n_reference: reference points averaged. theiler: the Theiler window used.
        checks: ``linear_range`` (a fit over >= 3 points with R^2 >= 0.95; status ``warning``
            otherwise), ``distinct_neighbours`` (only when it fails) and ``stationarity`` (the
            slope of the reference points in the first half of the series against the second;
            ``not_converged`` when the recording holds a transient; absent with fewer than 80
            reference points).
    """

    lambda_max: float
    divergence: np.ndarray = field(repr=False)
    fit_range: tuple[int, int]
    fit_r2: float
    dt: float
    method: str
    n_reference: int
    theiler: int

    _dict_properties = ("predictability_steps", "units")
    _repr_fields = ("lambda_max", "method", "fit_range", "fit_r2", "n_reference")

    @property
    def units(self) -> str:
        return "1/time" if self.dt != 1.0 else "1/step"

    @property
    def predictability_steps(self) -> float:
        if self.lambda_max <= 0:
            return math.inf
        return math.log(2.0) / (self.lambda_max * self.dt)


def _embed(x: np.ndarray, m: int, delay: int) -> np.ndarray:
    # delay embedding of every column: y_t = (x_t, x_{t-delay}, ..., x_{t-(m-1)delay})
    T = x.shape[0] - (m - 1) * delay
    if T < 10:
        raise ValueError(
            f"`series` is too short for embedding_dim={m}, delay={delay}: need at least "
            f"{10 + (m - 1) * delay} samples per series; got T = {x.shape[0]}"
        )
    return np.concatenate([x[(m - 1 - i) * delay : (m - 1 - i) * delay + T] for i in range(m)], axis=1)


def _as_real_array(series: Any) -> np.ndarray:
    """``series`` as a float64 NumPy array; complex, boolean and non-numeric data are refused."""
    if isinstance(series, torch.Tensor):
        x = series.detach().cpu()
        if x.is_complex() or x.dtype == torch.bool:
            raise TypeError(f"`series` must hold real numbers; got a tensor of dtype {x.dtype}")
        return x.to(torch.float64).numpy()
    try:
        x = np.asarray(series)
    except ValueError as exc:  # ragged nested lists
        raise TypeError(
            f"`series` must be a real array (T,), (T, n) or (n_series, T, n); got {exc}"
        ) from None
    if x.dtype.kind not in "iuf":
        raise TypeError(
            f"`series` must hold real numbers (int or float); got {type(series).__name__} of dtype {x.dtype}"
        )
    return x.astype(np.float64)


def _mean_period(x: np.ndarray) -> int:
    # Theiler window default: the mean period from the power spectrum (Rosenstein et al. 1993)
    xs = x - x.mean(0)
    p = (np.abs(np.fft.rfft(xs, axis=0)) ** 2).sum(1)
    f = np.fft.rfftfreq(x.shape[0])
    p[0] = 0.0
    mean_f = float((f * p).sum() / max(p.sum(), 1e-300))
    return max(1, int(round(1.0 / mean_f))) if mean_f > 0 else 10


def lyapunov_from_data(
    series: Any,
    *,
    dt: float = 1.0,
    method: str = "rosenstein",
    embedding_dim: int = 1,
    delay: int = 1,
    theiler: int | None = None,
    horizon: int | None = None,
    fit_range: tuple[int, int] | None = None,
    n_reference: int = 2000,
    radius: float | None = None,
    generator: torch.Generator | None = None,
) -> DataLyapunovResult:
    r"""Largest Lyapunov exponent of a recorded time series from nearest-neighbour divergence.

    .. math::

        S(k) = \Bigl\langle \ln \lVert y_{i+k} - y_{j(i)+k} \rVert \Bigr\rangle_i
        \approx S(0) + \lambda_\text{max}\, k\, \Delta t,

    ``j(i)`` the nearest neighbour of ``y_i`` outside the Theiler window (Rosenstein), or the
    mean distance over all neighbours within ``radius`` inside the logarithm (Kantz). The slope
    is a least-squares fit over the linear range of ``S``. What matters day to day: ``theiler``
    (at least the autocorrelation time, so that neighbours are not the same stretch of
    trajectory), ``horizon`` / ``fit_range`` (the fit must stop before ``S`` saturates at the
    attractor size) and, for scalar recordings, ``embedding_dim`` and ``delay``. Check the
    figure of ``divergence`` before trusting the number; for a model, prefer the QR method
    (:func:`rnndyn.lyapunov_spectrum`), which is exact in the limit of long runs.

    Args:
        series: ``(T,)``, ``(T, n)`` or ``(n_series, T, n)`` (tensor or array); each series is
            searched separately and the divergence curves pooled.
        dt: sampling step; the exponent is reported per unit of ``dt`` (per sample for 1).
        method: ``"rosenstein"`` (nearest neighbour) or ``"kantz"`` (all neighbours in ``radius``).
        embedding_dim, delay: delay embedding of every coordinate (1 = use the series as is,
            right for full-state data such as the Lorenz benchmarks).
        theiler: exclude neighbours closer than this in time (default: the mean period).
        horizon: divergence steps ``k`` followed (default ``6 * theiler``).
        fit_range: ``(k0, k1)`` for the slope; default: automatic, from ``k0 = 0`` to the
            first ``k`` at which ``S(k)`` has covered 70 % of its rise to the plateau, the linear
            range before saturation.
        n_reference: reference points (drawn with ``generator``) per pooled estimate.
        radius: Kantz neighbourhood (default: 2x the median nearest-neighbour distance).

    Returns:
        :class:`DataLyapunovResult`.

    Raises:
        ValueError: NaN/inf data, a series too short for the horizon, bad ``fit_range``, a
            ``radius`` that is not positive or is given with ``method="rosenstein"``, a series
            without divergence (constant or exactly periodic: every neighbour distance is 0).
        TypeError: complex, boolean or non-numeric ``series``; ``fit_range`` not two ints.

    References:
        M. T. Rosenstein et al., Physica D 65, 117 (1993); H. Kantz, Phys. Lett. A 185, 77
        (1994); cross-checked against ``nolds.lyap_r`` in the project's tests and benchmarks.

    Example:
        >>> import numpy as np
        >>> x = np.empty(4001); x[0] = 0.3
        >>> for t in range(4000):
        ...     x[t + 1] = 4 * x[t] * (1 - x[t])
        >>> r = lyapunov_from_data(x, theiler=5, horizon=8, fit_range=(0, 4),
        ...                         generator=torch.Generator().manual_seed(0))
        >>> round(r.lambda_max, 2)  # ln 2 = 0.693
        0.7
    """
    from scipy.spatial import cKDTree

    check_choice(method, "method", ("rosenstein", "kantz"))
    dt = check_real(dt, "dt", low=0.0, low_open=True)
    embedding_dim = check_positive_int(embedding_dim, "embedding_dim")
    delay = check_positive_int(delay, "delay")
    n_reference = check_positive_int(n_reference, "n_reference", minimum=10)
    check_generator(generator)
    if radius is not None:
        if method != "kantz":
            raise ValueError(
                f"`radius` applies to method='kantz' only (Rosenstein uses the nearest neighbour); "
                f"got radius={radius!r} with method={method!r}"
            )
        radius = check_real(radius, "radius", low=0.0, low_open=True)
    if fit_range is not None:
        if (
            not isinstance(fit_range, tuple | list)
            or len(fit_range) != 2
            or any(isinstance(v, bool) or not isinstance(v, int | np.integer) for v in fit_range)
        ):
            raise TypeError(f"`fit_range` must be a pair of ints (k0, k1); got {fit_range!r}")
        fit_range = (int(fit_range[0]), int(fit_range[1]))
    x = _as_real_array(series)
    if x.ndim == 1:
        x = x[:, None]
    if x.ndim == 2:
        x = x[None]
    if x.ndim != 3:
        raise ValueError(f"`series` must have shape (T,), (T, n) or (n_series, T, n); got {x.shape}")
    if not np.isfinite(x).all():
        raise ValueError(f"`series` must be finite; got {int((~np.isfinite(x)).sum())} NaN/inf entries")
    ys = [_embed(s, embedding_dim, delay) for s in x]
    if theiler is None:
        theiler = _mean_period(ys[0])
    theiler = check_positive_int(theiler, "theiler", minimum=0)
    horizon = check_positive_int(
        horizon if horizon is not None else 6 * max(theiler, 1), "horizon", minimum=2
    )
    if fit_range is not None:
        k0, k1 = fit_range
        if not (0 <= k0 < k1 <= horizon):
            raise ValueError(f"`fit_range` must satisfy 0 <= k0 < k1 <= horizon={horizon}; got {fit_range}")

    gen = generator if generator is not None else torch.Generator().manual_seed(0)
    # one tree over all series: neighbours may come from any series; the Theiler window and
    # the horizon apply within a series
    lengths = [y.shape[0] for y in ys]
    if min(lengths) <= horizon + 2 * theiler + 2:
        raise ValueError(
            f"`series` too short (T = {min(lengths)}) for horizon={horizon} and theiler={theiler}"
        )
    Y = np.concatenate(ys, axis=0)
    sid = np.concatenate([np.full(n, s) for s, n in enumerate(lengths)])
    tid = np.concatenate([np.arange(n) for n in lengths])
    usable = tid < np.array(lengths)[sid] - horizon
    tree = cKDTree(Y)
    cand_idx = np.nonzero(usable)[0]
    pick = torch.randperm(len(cand_idx), generator=gen)[:n_reference].numpy()
    idx = cand_idx[pick]
    kq = min(len(Y), 2 * theiler + 8)
    dist, nb = tree.query(Y[idx], k=kq)

    def valid(i: int, js: np.ndarray) -> np.ndarray:
        return usable[js] & ((sid[js] != sid[i]) | (np.abs(tid[js] - tid[i]) > theiler))

    if method == "kantz" and radius is None:
        firsts = [dist[r, np.argmax(valid(i, nb[r]))] for r, i in enumerate(idx) if valid(i, nb[r]).any()]
        radius = 2.0 * float(np.median(firsts)) if firsts else None
    sums = np.zeros(horizon + 1)
    counts = np.zeros(horizon + 1)
    n_ref_used = 0
    rows: list[np.ndarray] = []  # each used reference's ln-divergence curve, for the stationarity check
    row_times: list[int] = []
    n_coincide = 0  # references with a neighbour pair at distance exactly 0 at some k
    k = np.arange(horizon + 1)
    for r_i, i in enumerate(idx):
        if method == "rosenstein":
            ok = valid(i, nb[r_i])
            if not ok.any():
                continue
            js = nb[r_i][ok][:1]
        else:
            js = np.array(tree.query_ball_point(Y[i], radius), dtype=int)
            js = js[valid(i, js)] if len(js) else js
            if len(js) == 0:
                continue
        d = np.linalg.norm(Y[i + k][None] - Y[js[:, None] + k[None]], axis=-1)  # (n_nb, horizon+1)
        with np.errstate(divide="ignore"):
            s = np.log(d.mean(0))
        good = np.isfinite(s)
        n_coincide += int(not good.all())
        sums[good] += s[good]
        counts[good] += 1
        n_ref_used += 1
        rows.append(np.where(good, s, np.nan))
        row_times.append(int(tid[i]))
    if n_ref_used == 0:
        within = f" within `radius` = {radius:.3g}" if method == "kantz" and radius is not None else ""
        raise ValueError(
            f"no reference point has a neighbour outside the Theiler window (`theiler` = {theiler}){within}; "
            "shorten `theiler`" + (" or enlarge `radius`" if within else "")
        )
    if not counts.any():
        raise ValueError(
            "`series` has no divergence to fit: every neighbour pair coincides at every k (distance 0), "
            "as for a constant or exactly periodic series"
        )
    # a k at which every pair coincided has no divergence value: NaN, never a silent 0
    S = np.where(counts > 0, sums / np.maximum(counts, 1), np.nan)
    if fit_range is None:
        lo, hi = S[0], np.nanmax(S)
        above = np.nonzero(S >= lo + 0.7 * (hi - lo))[0]
        k1 = int(above[0]) if len(above) else horizon
        k0 = 0
        if k1 - k0 < 2:
            k1 = min(horizon, k0 + 2)
    k = np.arange(k0, k1 + 1)
    k = k[np.isfinite(S[k])]
    if len(k) < 2:
        raise ValueError(
            f"`series` has no divergence to fit over k = {k0}..{k1}: every neighbour pair coincides "
            "(distance 0) there, as for a series that is constant or exactly periodic from some point on"
        )
    coef = np.polyfit(k, S[k], 1)
    slope = float(coef[0])
    resid = S[k] - np.polyval(coef, k)
    ss = float(((S[k] - S[k].mean()) ** 2).sum())
    r2 = 1.0 - float((resid**2).sum()) / ss if ss > 0 else 0.0
    linear = len(k) >= 3 and r2 >= 0.95
    checks = (
        Check(
            name="linear_range",
            passed=linear,
            value=r2,
            tolerance=0.95,
            detail=f"R^2 of the linear fit of S(k) over k = {k0}..{k1} ({len(k)} points; need >= 3 "
            "and R^2 >= 0.95); otherwise set fit_range from a plot of `divergence`",
            status=Status.WARNING,
        ),
    )
    share = n_coincide / n_ref_used
    if share > 0.01:
        checks += (
            Check(
                name="distinct_neighbours",
                passed=False,
                value=share,
                tolerance=0.01,
                detail=f"{n_coincide} of {n_ref_used} reference points ({100 * share:.0f}%) have a neighbour "
                "pair at distance exactly 0 (log 0) at some k, left out of S(k): the series is partly "
                "constant or exactly periodic in floating point (a transient onto a fixed point or cycle), "
                "or quantised (integer or rounded data), and the slope rests on a biased subset; fit the "
                "part of the series before it collapses, or use unrounded data",
                status=Status.WARNING,
            ),
        )
    stationarity = _stationarity_check(np.stack(rows), np.array(row_times), k, slope / dt, dt)
    if stationarity is not None:
        checks += (stationarity,)
    status = status_from_checks(checks)
    message = (
        f"slope of S(k) over k = {k0}..{k1}"
        if linear
        else "no clear linear range in the divergence curve; choose fit_range from a plot of `divergence`"
    )
    if share > 0.01:
        message += "; " + checks[1].detail
    if stationarity is not None and not stationarity.passed:
        message += "; " + stationarity.detail
    return DataLyapunovResult(
        lambda_max=slope / dt,
        divergence=S,
        fit_range=(int(k0), int(k1)),
        dt=dt,
        method=method,
        n_reference=n_ref_used,
        theiler=int(theiler),
        fit_r2=r2,
        checks=checks,
        status=status,
        message=message,
    )


def _block_slopes(rows: np.ndarray, k: np.ndarray, n_blocks: int, dt: float) -> np.ndarray | None:
    """Least-squares slopes over ``k`` of the mean curves of ``n_blocks`` consecutive groups of
    ``rows`` (references sorted by time); ``None`` when a group has no finite value at some ``k``."""
    out = []
    kc = k - k.mean()
    for group in np.array_split(rows, n_blocks):
        counts = np.isfinite(group).sum(0)
        if not counts.all():
            return None
        curve = np.nansum(group, 0) / counts
        out.append(float((kc * (curve - curve.mean())).sum() / (kc**2).sum()) / dt)
    return np.array(out)


def _stationarity_check(
    rows: np.ndarray, times: np.ndarray, k: np.ndarray, lam: float, dt: float
) -> Check | None:
    r"""The ``stationarity`` check of :func:`rnndyn.lyapunov_spectrum` (docs/lyapunov.md) on the
    divergence estimate: the reference points, sorted by their time in the series, form ``K =
    min(20, R // 10)`` blocks (at least 8, else ``None``); each block's ``S_b(k)`` gives a slope over
    the fitted ``k``. The two halves' mean slopes are compared with the trimmed von Neumann noise of
    successive block slopes (5 units) and the bias they leave in ``lambda`` with 1.5 standard
    errors of 10 such blocks and 1e-6 ``|lambda|`` (:func:`rnndyn._diagnostics.stationarity_stats`)."""
    n_blk = min(diag.N_STATIONARITY_BLOCKS, rows.shape[0] // diag.MIN_BLOCK_STEPS)
    if n_blk < diag.MIN_STATIONARITY_BLOCKS or len(k) < 2:
        return None
    rows = rows[np.argsort(times, kind="stable")][:, k]
    slopes = _block_slopes(rows, k, n_blk, dt)
    err = _block_slopes(rows, k, 10, dt)
    if slopes is None or err is None:
        return None
    se = torch.tensor([err.std(ddof=1) / math.sqrt(len(err))], dtype=torch.float64)
    blocks = torch.tensor(slopes, dtype=torch.float64)[:, None]
    lam_t = torch.tensor([lam], dtype=torch.float64)
    st = diag.stationarity_stats(blocks, se, lam_t, abs(lam))
    where = (
        f"the slope of S(k) over k = {int(k[0])}..{int(k[-1])} from the reference points in the second half of "
        f"the series is {float(st.m2[0]):.4g} against {float(st.m1[0]):.4g} from those in the first half "
        f"(difference {float(st.diff[0]):.3g}, {float(st.z[0]):.3g} times its noise {float(st.noise[0]):.2g} "
        f"from successive differences of {n_blk} blocks of reference points in time order; last block "
        f"{slopes[-1]:.4g})"
    )
    if not bool(st.bad[0]):
        return Check(
            name="stationarity",
            passed=True,
            value=float(st.z[0]),
            tolerance=diag.Z_STATIONARITY,
            detail=f"the divergence rates are stationary along the series: {where}",
            status=Status.NOT_CONVERGED,
        )
    return Check(
        name="stationarity",
        passed=False,
        value=float(st.z[0]),
        tolerance=diag.Z_STATIONARITY,
        detail=f"the divergence rates still change along the series: {where}, a bias of about "
        f"{float(st.bias[0]):.2g} in lambda_max, more than {diag.STATIONARITY_BIAS_SE:g} standard errors "
        f"({float(se[0]):.2g}). The recording holds a transient (e.g. a slow escape from an unstable fixed "
        "point), so lambda_max mixes the transient with the attractor: fit a recording made after a longer "
        "transient (or drop its first part) and check that the rates stay put",
        status=Status.NOT_CONVERGED,
    )


#: the name used by rnndyn.training (kept for its callers)
estimate_lambda_max = lyapunov_from_data

__all__ = ["DataLyapunovResult", "estimate_lambda_max", "lyapunov_from_data"]

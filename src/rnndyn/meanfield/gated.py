"""Fixed-point mean-field theory of the GRU and the continuous-time gated network.

Theory: docs/theory/gated.md §4.2 (004-10) and the poster's version [Q-001], the single scalar
equation (D-1), the spectral shaping parameter rho (004-19), Cor. 4.6 (a fixed point is stable
iff rho < 1), Theorem 4.8 / (004-28) (marginal stability iff rho (1 - theta) < 1 as
alpha_z -> infinity) and the critical values of §6.2 (g_h = 2, alpha_r* = 2 sqrt 2, g*(alpha_r),
g_ms(alpha_r)).

Nonzero fixed points solve ``g_h^2 = G(Delta; alpha_r, sigma_b)`` with ``Delta`` the variance of
the candidate pre-activation u^h (= the variance of h of the continuous-time model); the right
side does not depend on g_h, so a whole (g_h, alpha_r) plane costs one evaluation of G per
alpha_r plus a vectorised root polish. Branches are found completely: G is tabulated on a log
grid, its extrema are located and refined, and every monotone piece holds at most one root.

The GRU (004-10) and the gated flow (P-1) share these equations (docs/theory/gated.md §4.2: "can be mapped
to GRU MFT"); only the names differ: ``c_phi = <phi(u^h)^2>`` is the GRU's C_h and ``delta`` is
the flow's C_h.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
from scipy.optimize import brentq, minimize_scalar
from scipy.special import ndtri

from rnndyn._checks import check_choice, check_real
from rnndyn._results import Result, Status, status_from_checks
from rnndyn.meanfield.quadrature import dsigmoid, dtanh, gaussian_expectation, sigmoid
from rnndyn.meanfield.vanilla import _residual_check

#: alpha_r above which the FP bifurcation is subcritical (zero bias): a_1 = alpha_r^2/4 - 2 = 0 (D-2).
ALPHA_R_STAR = 2.0 * math.sqrt(2.0)
#: zero-bias instability of the zero fixed point, g_h sigma(0) = 1 (004-21).
G_H_ZERO_FP = 2.0

_DELTA_LO = 1e-10


def _phi2(u: np.ndarray) -> np.ndarray:
    return np.tanh(u) ** 2


def _dphi2(u: np.ndarray) -> np.ndarray:
    return dtanh(u) ** 2


def _sig2(u: np.ndarray) -> np.ndarray:
    return sigmoid(u) ** 2


def _dsig2(u: np.ndarray) -> np.ndarray:
    return dsigmoid(u) ** 2


def _nonneg_array(x: np.ndarray | float, name: str) -> np.ndarray:
    """``x`` as a float array, every entry finite and >= 0; else an error naming ``name``."""
    if isinstance(x, str | bytes) or isinstance(x, bool | np.bool_):
        raise TypeError(
            f"`{name}` must be a number or an array of numbers >= 0; got {type(x).__name__} {x!r}"
        )
    try:
        arr = np.asarray(x, dtype=float)
    except (TypeError, ValueError) as exc:
        raise TypeError(
            f"`{name}` must be a number or an array of numbers >= 0; got {type(x).__name__} {x!r} ({exc})"
        ) from None
    if not np.all(np.isfinite(arr)) or np.any(arr < 0):
        raise ValueError(f"`{name}` must be finite and >= 0; got {x!r}")
    return arr


def fixed_point_moments(delta: np.ndarray | float, alpha_r: float, bias_std: float = 0.0) -> dict:
    """Gaussian moments at a fixed point with candidate pre-activation variance ``delta``.

    Returns a dict of arrays: ``c_phi = <phi^2>_delta`` (the GRU's C_h), ``v_r = alpha_r^2 c_phi +
    sigma_b^2`` (the variance of u^r, the flow's C_r without bias), ``c_sigma_r = <sigma^2>_{v_r}``,
    ``c_dsigma_r = <sigma'^2>_{v_r}``, ``c_dphi = <phi'^2>_delta``.
    """
    delta = np.asarray(delta, dtype=float)
    c_phi = gaussian_expectation(_phi2, delta)
    v_r = alpha_r * alpha_r * c_phi + bias_std * bias_std
    return {
        "c_phi": c_phi,
        "v_r": v_r,
        "c_sigma_r": gaussian_expectation(_sig2, v_r),
        "c_dsigma_r": gaussian_expectation(_dsig2, v_r),
        "c_dphi": gaussian_expectation(_dphi2, delta),
    }


def gain_function(delta: np.ndarray | float, alpha_r: float, bias_std: float = 0.0) -> np.ndarray:
    """:math:`G(\\Delta)=(\\Delta-\\sigma_b^2)/(\\langle\\phi^2\\rangle_\\Delta\\langle\\sigma^2\\rangle_{\\alpha_r^2\\langle\\phi^2\\rangle_\\Delta+\\sigma_b^2})`.

    Nonzero fixed points are the solutions of ``g_h^2 = G(Delta)`` (docs/theory/gated.md (D-1), with the
    quenched bias of (004-10)). ``G -> 4`` as ``Delta -> 0`` at zero bias.

    >>> round(float(gain_function(1e-8, 0.0)), 6)
    4.0
    """
    delta = _nonneg_array(delta, "delta")
    alpha_r = check_real(alpha_r, "alpha_r", low=0.0)
    bias_std = check_real(bias_std, "bias_std", low=0.0)
    c_phi = gaussian_expectation(_phi2, delta)
    c_sig = gaussian_expectation(_sig2, alpha_r * alpha_r * c_phi + bias_std * bias_std)
    return (delta - bias_std**2) / (c_phi * c_sig)


def spectral_shaping(
    delta: np.ndarray | float, g_h: np.ndarray | float, alpha_r: float, bias_std: float = 0.0
):
    """Spectral shaping parameter (004-19) at a fixed point:

    .. math:: \\rho=g_h^2\\langle\\phi'^2\\rangle_\\Delta\\big(\\langle\\sigma^2\\rangle_{v}+\\alpha_r^2C_h\\langle\\sigma'^2\\rangle_{v}\\big),
       \\quad C_h=\\langle\\phi^2\\rangle_\\Delta,\\ v=\\alpha_r^2C_h+\\sigma_b^2 .

    At the zero fixed point (Delta = 0, zero bias) it is ``g_h^2 / 4``.

    >>> round(float(spectral_shaping(0.0, 1.5, 3.0)), 6)
    0.5625
    """
    delta = _nonneg_array(delta, "delta")
    g2 = _nonneg_array(g_h, "g_h") ** 2
    alpha_r = check_real(alpha_r, "alpha_r", low=0.0)
    bias_std = check_real(bias_std, "bias_std", low=0.0)
    m = fixed_point_moments(delta, alpha_r, bias_std)
    return g2 * m["c_dphi"] * (m["c_sigma_r"] + alpha_r * alpha_r * m["c_phi"] * m["c_dsigma_r"])


# ----------------------------------------------------------------------------------------------
# branch structure of G and vectorised root finding


@dataclass(frozen=True)
class _Branches:
    """Monotone pieces of G on (delta_lo, delta_hi]: edges in delta and G at the edges."""

    edges: np.ndarray  # delta at piece boundaries (increasing)
    g_edges: np.ndarray  # G at those boundaries
    grid: np.ndarray
    g_grid: np.ndarray


def _branches(alpha_r: float, bias_std: float, delta_hi: float, n_grid: int = 360) -> _Branches:
    lo = bias_std**2 + _DELTA_LO * max(1.0, bias_std**2)
    grid = lo + np.geomspace(_DELTA_LO * max(1.0, bias_std**2), delta_hi, n_grid)
    grid[0] = lo
    gg = gain_function(grid, alpha_r, bias_std)
    d = np.diff(gg)
    edges = [grid[0]]
    g_edges = [gg[0]]
    for i in range(1, d.size):
        if np.sign(d[i]) != np.sign(d[i - 1]) and d[i] != 0 and d[i - 1] != 0:
            # extremum in (grid[i-1], grid[i+1]); refine in log delta
            sgn = 1.0 if d[i - 1] < 0 else -1.0  # minimum if decreasing then increasing
            res = minimize_scalar(
                lambda x, sgn=sgn: sgn * float(gain_function(math.exp(x), alpha_r, bias_std)),
                bounds=(math.log(grid[i - 1]), math.log(grid[i + 1])),
                method="bounded",
                options={"xatol": 1e-12},
            )
            edges.append(math.exp(res.x))
            g_edges.append(sgn * res.fun)
    edges.append(grid[-1])
    g_edges.append(gg[-1])
    return _Branches(np.array(edges), np.array(g_edges), grid, gg)


def _solve_on_piece(
    target: np.ndarray, a: float, b: float, alpha_r: float, bias_std: float, br: _Branches, n_iter: int = 40
):
    """Solve G(delta) = target (vector) on a monotone piece [a, b]: a tight bracket from the
    tabulated G, then vectorised Illinois regula falsi in log delta. Entries whose target is outside
    the range of G on the piece come back NaN (no root there)."""
    ga, gb = float(gain_function(a, alpha_r, bias_std)), float(gain_function(b, alpha_r, bias_std))
    inside = (br.grid > a) & (br.grid < b)
    xs = np.concatenate([[a], br.grid[inside], [b]])
    gs = np.concatenate([[ga], br.g_grid[inside], [gb]])
    lo_g, hi_g = min(ga, gb), max(ga, gb)
    ok = (target >= lo_g) & (target <= hi_g)
    # the piece is monotone: locate each target between two tabulated points
    order = gs if gb >= ga else -gs
    tt = target if gb >= ga else -target
    k = np.clip(np.searchsorted(np.maximum.accumulate(order), tt) - 1, 0, xs.size - 2)
    x0, x1 = np.log(xs[k]), np.log(xs[k + 1])
    f0, f1 = gs[k] - target, gs[k + 1] - target
    lo_x, hi_x = np.minimum(x0, x1), np.maximum(x0, x1)
    x = x0.copy()
    tol = 1e-13 * np.maximum(1.0, np.abs(target))
    done = ~ok | (f0 == 0)
    x = np.where(f0 == 0, x0, x)
    for _ in range(n_iter):
        act = ~done
        if not act.any():
            break
        denom = np.where(f1 - f0 == 0, 1.0, f1 - f0)
        xn = np.clip(x1 - f1 * (x1 - x0) / denom, lo_x, hi_x)
        fx = np.zeros_like(xn)
        fx[act] = gain_function(np.exp(xn[act]), alpha_r, bias_std) - target[act]
        x = np.where(act, xn, x)
        conv = act & (np.abs(fx) <= tol)
        same = np.sign(fx) == np.sign(f1)
        f0 = np.where(act, np.where(same, 0.5 * f0, f1), f0)
        x0 = np.where(act & ~same, x1, x0)
        x1 = np.where(act, xn, x1)
        f1 = np.where(act, fx, f1)
        done = done | conv
    return np.where(ok, np.exp(x), np.nan)


def _critical_g_star(br: _Branches) -> tuple[float, float]:
    """g* (smallest g_h with a nonzero FP) and the delta where it occurs (0 when at the origin)."""
    i = int(np.argmin(br.g_edges))
    return math.sqrt(br.g_edges[i]), (0.0 if i == 0 else float(br.edges[i]))


# ----------------------------------------------------------------------------------------------
# results


@dataclass(frozen=True, kw_only=True)
class FixedPointMFTResult(Result):
    """All fixed points of the mean-field equations at one parameter point.

    Attributes (one entry per nonzero branch, ordered by increasing ``delta``):
        delta: variance of the candidate pre-activation u^h (= C_h of the gated flow).
        c_phi: ``<phi(u^h)^2>`` (= C_h of the GRU, ``<h^2>`` at the fixed point).
        c_sigma_r: ``<sigma(u^r)^2>``; v_r: variance of u^r (= C_r of the flow).
        rho: spectral shaping parameter (004-19); the FP is stable iff ``rho < 1`` (Cor. 4.6).
        marginal: ``rho (1 - theta) < 1``: marginally stable as alpha_z -> infinity (004-28).
        edge_delta: Theorem 4.8 leading edge ``r_spec - 1 ~ exp(-alpha_z sqrt(C) Phi^{-1}(1/rho))``
            at the given ``alpha_z`` (``inf`` when rho (1-theta) >= 1; up to an O(1) prefactor).
    Scalars: ``zero_fp`` (whether h = 0 is a fixed point), ``zero_fp_rho`` (its rho = g_h^2/4),
    ``zero_fp_stable``, ``theta`` (closed-gate fraction, 1/2 at zero mean bias), ``g_star``
    (FP-bifurcation gain at this alpha_r), ``residual`` (largest relative residual
    ``|g_h^2 - G(delta)| / g_h^2`` of the fixed-point equation over the branches; ``status`` is
    ``success`` when it is ``<= RESIDUAL_TOL``, ``not_converged`` otherwise), ``status``,
    ``message``, ``checks``.
    """

    model: str
    g_h: float
    alpha_r: float
    alpha_z: float
    bias_std: float
    delta: np.ndarray = field(repr=False)
    c_phi: np.ndarray = field(repr=False)
    c_sigma_r: np.ndarray = field(repr=False)
    v_r: np.ndarray = field(repr=False)
    rho: np.ndarray = field(repr=False)
    marginal: np.ndarray = field(repr=False)
    edge_delta: np.ndarray = field(repr=False)
    zero_fp: bool = True
    zero_fp_rho: float = 0.0
    zero_fp_stable: bool = True
    theta: float = 0.5
    g_star: float = 2.0
    residual: float = 0.0

    _dict_properties = ("n_nonzero",)
    _repr_fields = (
        "model",
        "g_h",
        "alpha_r",
        "alpha_z",
        "n_nonzero",
        "delta",
        "rho",
        "zero_fp_stable",
        "g_star",
    )

    @property
    def n_nonzero(self) -> int:
        return int(self.delta.size)


def _edge(rho: np.ndarray, c: np.ndarray, alpha_z: float, theta: float) -> np.ndarray:
    # (004-26/27) [D]: r_spec - 1 ~ exp(-alpha_z sqrt(C_h) Phi^{-1}(1/rho)) at zero mean bias
    out = np.full(rho.shape, np.inf)
    m = (rho * (1.0 - theta) < 1.0) & (rho > 1.0)
    out[m] = np.exp(-alpha_z * np.sqrt(c[m]) * ndtri(1.0 / rho[m]))
    return out


def _check_model(model: str) -> str:
    return check_choice(model, "model", ("gru", "gated_flow"))


def fixed_points(
    g_h: float,
    alpha_r: float,
    *,
    model: str = "gru",
    alpha_z: float = 0.0,
    bias_std: float = 0.0,
) -> FixedPointMFTResult:
    """All mean-field fixed points of the GRU (004-10) or the gated flow (P-1) at one point.

    .. math::
        C_h=\\langle\\phi^2\\rangle_{g_h^2C_hC_{\\sigma(r)}+\\sigma_b^2},\\qquad
        C_{\\sigma(r)}=\\langle\\sigma^2\\rangle_{\\alpha_r^2C_h+\\sigma_b^2}

    Every nonzero branch is returned with its spectral shaping parameter rho (004-19); by Cor.
    4.6 a fixed point is stable iff rho < 1, and every nonzero MFT fixed point has rho >= 1.
    The update gate does not change the fixed points; ``alpha_z`` only enters the marginal-
    stability edge (Theorem 4.8). ``model="gated_flow"`` supports zero bias only (its biases are
    parametrised differently, docs/theory/gated.md §2.4).

    Args:
        g_h: candidate gain, ``> 0``.
        alpha_r: reset-gate gain, ``>= 0``.
        model: ``"gru"`` or ``"gated_flow"``.
        alpha_z: update-gate gain, ``>= 0``.
        bias_std: std of the quenched Gaussian biases (GRU), ``>= 0``.

    Returns:
        :class:`FixedPointMFTResult`.

    Raises:
        ValueError: out-of-range parameters.

    References:
        Can, Krishnamurthy, Schwab (2020) eq. (10), Cor. 4.6, Thm 4.8; docs/theory/gated.md §4.2, §5.5–5.6.

    >>> r = fixed_points(3.0, 0.0)
    >>> r.n_nonzero, round(float(r.rho[0]), 3), r.zero_fp_stable
    (1, 1.139, False)
    >>> fixed_points(1.8, 20.0).n_nonzero  # subcritical: two nonzero FPs below g_h = 2
    2
    """
    model = _check_model(model)
    g_h = check_real(g_h, "g_h", low=0.0, low_open=True)
    alpha_r = check_real(alpha_r, "alpha_r", low=0.0)
    alpha_z = check_real(alpha_z, "alpha_z", low=0.0)
    bias_std = check_real(bias_std, "bias_std", low=0.0)
    if model == "gated_flow" and bias_std > 0:
        raise ValueError(f"`bias_std` must be 0 for model='gated_flow'; got {bias_std}")
    table = solve_plane(np.array([g_h]), alpha_r, alpha_z=alpha_z, bias_std=bias_std)
    keep = np.isfinite(table["delta"][0])
    delta = table["delta"][0][keep]
    m = fixed_point_moments(delta, alpha_r, bias_std)
    rho = table["rho"][0][keep]
    theta = 0.5
    zero = bias_std == 0.0
    zrho = g_h * g_h / 4.0 if zero else float("nan")
    residual = 0.0
    if delta.size:
        residual = float(np.max(np.abs(g_h * g_h - gain_function(delta, alpha_r, bias_std)))) / (g_h * g_h)
    chk = _residual_check(residual, f"g_h^2 = G(delta) over {delta.size} nonzero branch(es)")
    notes = [chk.detail] + ([] if zero else ["nonzero bias: h = 0 is not a fixed point"])
    return FixedPointMFTResult(
        model=model, g_h=g_h, alpha_r=alpha_r, alpha_z=alpha_z, bias_std=bias_std,
        delta=delta, c_phi=m["c_phi"], c_sigma_r=m["c_sigma_r"], v_r=m["v_r"], rho=rho,
        marginal=(rho * (1 - theta) < 1) & (rho > 1), edge_delta=_edge(rho, m["c_phi"], alpha_z, theta),
        zero_fp=zero, zero_fp_rho=zrho, zero_fp_stable=bool(zero and zrho < 1), theta=theta,
        g_star=table["g_star"], residual=residual, status=status_from_checks([chk]),
        message="; ".join(notes), checks=(chk,),
    )  # fmt: skip


def solve_plane(
    g_h: np.ndarray, alpha_r: float, *, alpha_z: float = 0.0, bias_std: float = 0.0, max_branches: int = 3
):
    """All nonzero FP branches for a vector of g_h at one alpha_r (the phase-diagram kernel).

    Returns a dict: ``delta`` and ``rho`` arrays of shape ``(len(g_h), max_branches)`` (NaN where a
    branch does not exist at that g_h), ``g_star`` and ``delta_star`` (FP-bifurcation point).
    """
    g_h = np.asarray(g_h, dtype=float)
    delta_hi = max(1e3, 4.0 * float(np.max(g_h)) ** 2 + 10.0 * bias_std**2)
    br = _branches(alpha_r, bias_std, delta_hi)
    target = g_h**2
    cols = []
    for a, b in zip(br.edges[:-1], br.edges[1:], strict=True):
        cols.append(_solve_on_piece(target, a, b, alpha_r, bias_std, br))
    delta = np.full((g_h.size, max_branches), np.nan)
    rho = np.full((g_h.size, max_branches), np.nan)
    if cols:
        stacked = np.stack(cols, axis=1)  # (n, pieces), increasing delta
        # at zero bias the first piece starts at delta -> 0: a "root" there is the zero FP itself
        for i in range(g_h.size):
            roots = stacked[i][np.isfinite(stacked[i])]
            if bias_std == 0.0:
                roots = roots[roots > 10 * _DELTA_LO]
            roots = np.unique(np.round(roots, 14))[:max_branches]
            delta[i, : roots.size] = roots
    ok = np.isfinite(delta)
    if ok.any():
        rho[ok] = spectral_shaping(
            delta[ok], np.broadcast_to(g_h[:, None], delta.shape)[ok], alpha_r, bias_std
        )
    g_star, d_star = _critical_g_star(br)
    _ = alpha_z
    return {"delta": delta, "rho": rho, "g_star": g_star, "delta_star": d_star, "branches": br}


# ----------------------------------------------------------------------------------------------
# critical lines (docs/theory/gated.md §6.2)


def bifurcation_gain(alpha_r: float, *, bias_std: float = 0.0) -> float:
    """FP-proliferation curve ``g*(alpha_r) = sqrt(min_{Delta>0} G(Delta; alpha_r))`` (§6.2).

    Equals 2 for ``alpha_r <= 2 sqrt 2`` and decreases towards sqrt 2 as alpha_r -> infinity.

    >>> round(bifurcation_gain(10.0), 4), round(bifurcation_gain(20.0), 4)
    (1.754, 1.6278)
    """
    alpha_r = check_real(alpha_r, "alpha_r", low=0.0)
    bias_std = check_real(bias_std, "bias_std", low=0.0)
    return _critical_g_star(_branches(alpha_r, bias_std, 1e3))[0]


def critical_alpha_r(g_h: float) -> float:
    """Inverse of :func:`bifurcation_gain`: the alpha_r at which nonzero FPs appear at fixed g_h.

    Defined for ``sqrt 2 < g_h < 2`` (zero bias); CKS20's "critical alpha_r".

    >>> round(critical_alpha_r(1.75), 1)
    10.2
    """
    g_h = check_real(g_h, "g_h", low=math.sqrt(2.0), high=2.0, low_open=True, high_open=True)
    hi = 10.0
    while bifurcation_gain(hi) > g_h:
        hi *= 2.0
        if hi > 1e7:
            raise ValueError(f"`g_h` too close to sqrt(2) for a finite critical alpha_r; got {g_h}")
    return brentq(lambda a: bifurcation_gain(a) - g_h, ALPHA_R_STAR, hi, xtol=1e-10)


def marginal_stability_gain(alpha_r: float, *, theta: float = 0.5, _br: _Branches | None = None) -> float:
    """Upper edge ``g_ms(alpha_r)`` of region 5: the upper FP branch reaches ``rho = 1/(1-theta)``.

    Along a branch rho is a function of Delta only (g_h^2 = G(Delta)), so this is one root in
    Delta. Returns ``nan`` when the branch already has ``rho >= 1/(1-theta)`` at g_h = 2 (no
    region 5 above the zero-FP line; happens for alpha_r >~ 9 at zero bias).

    >>> round(marginal_stability_gain(0.0), 2), round(marginal_stability_gain(4.0), 2)
    (6.55, 3.22)
    """
    alpha_r = check_real(alpha_r, "alpha_r", low=0.0)
    theta = check_real(theta, "theta", low=0.0, high=1.0, high_open=True)
    target = 1.0 / (1.0 - theta)

    def rho_on_branch(log_d: float) -> float:
        d = math.exp(log_d)
        return float(spectral_shaping(d, math.sqrt(float(gain_function(d, alpha_r))), alpha_r)) - target

    br = _branches(alpha_r, 0.0, 1e4) if _br is None else _br
    a = float(br.edges[-2])  # start of the last (increasing) piece
    # the upper branch at g_h = 2 (or its start)
    lo = math.log(max(a, _DELTA_LO * 10))
    if rho_on_branch(lo) >= 0:
        return float("nan")
    ld = brentq(rho_on_branch, lo, math.log(br.edges[-1]), xtol=1e-12)
    g = math.sqrt(float(gain_function(math.exp(ld), alpha_r)))
    return g if g > G_H_ZERO_FP else float("nan")


__all__ = [
    "ALPHA_R_STAR",
    "FixedPointMFTResult",
    "G_H_ZERO_FP",
    "bifurcation_gain",
    "critical_alpha_r",
    "fixed_point_moments",
    "fixed_points",
    "gain_function",
    "marginal_stability_gain",
    "solve_plane",
    "spectral_shaping",
]


# ----------------------------------------------------------------------------------------------
# time-dependent DMFT of the gated flow (docs/theory/gated.md §4.6-4.8)


@dataclass(frozen=True, kw_only=True)
class GatedFlowDMFTResult(Result):
    """Time-dependent DMFT of the gated flow (P-1) where the notes give it in closed form.

    Attributes: ``c_h0`` (``<h^2>``), ``tau``/``c_h`` (autocorrelation of h), ``lambda_max`` (per
    unit time), ``method`` (which exact reduction was used), ``residual`` (that of the SCS
    self-consistency equation solved, 0 for the exact zero-fixed-point branch), ``status``,
    ``message``, ``checks`` (those of the SCS solution).
    """

    g_h: float
    alpha_r: float
    alpha_z: float
    c_h0: float
    lambda_max: float
    method: str
    tau: np.ndarray = field(repr=False)
    c_h: np.ndarray = field(repr=False)
    residual: float = 0.0
    units: str = "per unit time"


def gated_flow_dmft(
    g_h: float, *, alpha_r: float = 0.0, alpha_z: float = 0.0, throw: bool = True
) -> GatedFlowDMFTResult:
    """DMFT lambda_max and autocorrelation of the gated flow (P-1), where the theory gives them.

    * ``alpha_z = alpha_r = 0``: the gates are constant (sigma(0) = 1/2) and (P-1) is the SCS
      network with gain ``g_h / 2`` and time constant 2 (docs/theory/gated.md §2.4, §8 #20), so
      ``lambda_max = lambda_SCS(g_h/2) / 2``, ``C_h(tau) = Delta_SCS(tau/2)``. For ``g_h <= 2``
      the zero FP is the attractor and ``lambda_max = -1/2 + g_h/4`` (§4.8 check).
    * otherwise: no closed form; raises ``NotImplementedError`` pointing to
      :func:`rnndyn.meanfield.gated_dmft`, the numerical DMFT (§4.6-4.8) for any gains.

    >>> r = gated_flow_dmft(3.0)
    >>> round(r.lambda_max, 4), round(r.c_h0, 3)
    (0.0234, 0.748)
    >>> gated_flow_dmft(1.5).lambda_max
    -0.125
    """
    from rnndyn.meanfield.vanilla import scs_dmft

    g_h = check_real(g_h, "g_h", low=0.0, low_open=True)
    alpha_r = check_real(alpha_r, "alpha_r", low=0.0)
    alpha_z = check_real(alpha_z, "alpha_z", low=0.0)
    if alpha_r > 0 or alpha_z > 0:
        raise NotImplementedError(
            "the DMFT of the gated flow is not given in closed form (the SCS mapping) unless alpha_r = "
            f"alpha_z = 0; got alpha_r={alpha_r}, alpha_z={alpha_z}: use rnndyn.meanfield.gated_dmft, the numerical "
            "DMFT of docs/theory/gated.md §4.6-4.8 (exact Gaussian route for alpha_z = 0, sampled otherwise)"
        )
    if g_h <= G_H_ZERO_FP:
        return GatedFlowDMFTResult(
            g_h=g_h, alpha_r=0.0, alpha_z=0.0, c_h0=0.0, lambda_max=-0.5 + g_h / 4.0,
            method="zero fixed point (disk centre -1/2, radius g_h/4)", tau=np.zeros(1), c_h=np.zeros(1),
            residual=0.0, status=Status.SUCCESS, message="exact: the zero fixed point is the attractor",
            checks=(_residual_check(0.0, "C_h = 0 (exact)"),),
        )  # fmt: skip
    r = scs_dmft(g_h / 2.0, throw=throw)
    return GatedFlowDMFTResult(
        g_h=g_h, alpha_r=0.0, alpha_z=0.0, c_h0=r.delta0, lambda_max=r.lambda_max / 2.0,
        method="SCS with g = g_h/2, time constant 2", tau=2.0 * r.tau, c_h=r.delta, residual=r.residual,
        status=r.status, message=r.message, checks=r.checks,
    )  # fmt: skip


__all__ += ["GatedFlowDMFTResult", "gated_flow_dmft"]

"""Mean-field theory of vanilla random networks (docs/theory/chaos.md §4.2–4.3).

* :func:`discrete_meanfield`: the annealed mean field of ``x_{t+1} = g J tanh(x_t)`` (+ bias),
  ``q = g^2 <tanh^2>_q + sigma_b^2`` and ``lambda_max = 1/2 ln(g^2 <sech^4>_q)`` per step.
* :func:`scs_dmft`: the Sompolinsky–Crisanti–Sommers (1988) DMFT of ``dh/dt = -h + J tanh(h)``:
  the variance ``Delta_0`` from energy conservation, the autocorrelation ``Delta(tau)`` from the
  "particle" equation, and ``lambda_max`` from the ground state of a Schrödinger operator, with
  the neutral mode ``E_1 = -1`` as a built-in check.

Both return frozen :class:`rnndyn.Result` dataclasses that report the residual of the
self-consistency equation they solved and set ``status`` from it (``success`` when it is below
``RESIDUAL_TOL``, ``not_converged`` otherwise; a failed built-in check is ``failed``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
from scipy.integrate import solve_ivp
from scipy.linalg import eigh_tridiagonal
from scipy.optimize import brentq

from rnndyn._checks import check_positive_int, check_real
from rnndyn._results import AnalysisError, Check, Result, Status, status_from_checks
from rnndyn.meanfield.quadrature import CorrelationTable, dtanh, gaussian_expectation, logcosh


def _tanh2(u: np.ndarray) -> np.ndarray:
    return np.tanh(u) ** 2


def _sech4(u: np.ndarray) -> np.ndarray:
    return dtanh(u) ** 2


#: largest relative residual of a self-consistency equation reported as ``success``.
RESIDUAL_TOL = 1e-8


def _residual_check(residual: float, what: str) -> Check:
    ok = bool(np.isfinite(residual)) and residual <= RESIDUAL_TOL
    return Check(
        name="self_consistency",
        passed=ok,
        value=residual,
        tolerance=RESIDUAL_TOL,
        detail=f"relative residual of {what}: {residual:.2g}"
        + ("" if ok else " (the root finder stopped early; the numbers are not a solution)"),
        status=Status.NOT_CONVERGED,
    )


@dataclass(frozen=True, kw_only=True)
class DiscreteMeanFieldResult(Result):
    """Annealed mean field of the discrete-time random tanh network (docs/theory/chaos.md §4.3).

    Attributes:
        g, bias_std: parameters.
        q: stationary variance of the pre-activation ``x``.
        lambda_max: maximal Lyapunov exponent, per step.
        residual: relative residual ``|g^2 <tanh^2>_q + sigma_b^2 - q| / max(q, 1)`` of the
            solution (``status`` is ``success`` when it is ``<= RESIDUAL_TOL``).
    """

    g: float
    bias_std: float
    q: float
    lambda_max: float
    residual: float
    units: str = "per step"


def discrete_meanfield(g: float, *, bias_std: float = 0.0) -> DiscreteMeanFieldResult:
    """Mean field of ``x_{t+1} = g J tanh(x_t) + b``, ``J ~ N(0, 1/N)``, ``b ~ N(0, bias_std^2)``.

    .. math::
        q = g^2\\langle\\tanh^2\\rangle_q + \\sigma_b^2,\\qquad
        \\lambda_{\\max} = \\tfrac12\\ln\\big(g^2\\langle\\operatorname{sech}^4\\rangle_q\\big)

    (docs/theory/chaos.md §4.3 [D]). For ``g <= 1`` and no bias ``q = 0`` and ``lambda_max = ln g``.

    Args:
        g: gain, ``> 0``.
        bias_std: standard deviation of the quenched bias, ``>= 0``.

    Returns:
        :class:`DiscreteMeanFieldResult` (``lambda_max`` per step).

    Raises:
        ValueError: ``g <= 0`` or non-finite, ``bias_std < 0``.

    References:
        docs/theory/chaos.md §4.3 (table reproduced by the tests to < 1%).

    >>> r = discrete_meanfield(2.0)
    >>> round(r.q, 3), round(r.lambda_max, 4)
    (2.121, 0.1547)
    """
    g = check_real(g, "g", low=0.0, low_open=True)
    sb = check_real(bias_std, "bias_std", low=0.0)
    sb2 = sb * sb
    if g <= 1.0 and sb2 == 0.0:
        chk = _residual_check(0.0, "q = g^2 <tanh^2>_q (q = 0 exactly)")
        return DiscreteMeanFieldResult(
            g=g,
            bias_std=sb,
            q=0.0,
            lambda_max=math.log(g),
            residual=0.0,
            status=Status.SUCCESS,
            message="q = 0 (g <= 1): the origin is stable",
            checks=(chk,),
        )

    def f(q: float) -> float:
        return (g * g * float(gaussian_expectation(_tanh2, q)) + sb2 - q) / q

    lo = 1e-12 if sb2 == 0 else sb2 * (1 - 1e-12)
    hi = g * g + sb2 + 1.0
    q = brentq(f, lo, hi, xtol=1e-14, rtol=1e-14)
    lam = 0.5 * math.log(g * g * float(gaussian_expectation(_sech4, q)))
    res = abs(g * g * float(gaussian_expectation(_tanh2, q)) + sb2 - q) / max(q, 1.0)
    chk = _residual_check(res, "q = g^2 <tanh^2>_q + sigma_b^2")
    return DiscreteMeanFieldResult(
        g=g,
        bias_std=sb,
        q=float(q),
        lambda_max=lam,
        residual=res,
        status=status_from_checks([chk]),
        message=chk.detail,
        checks=(chk,),
    )


@dataclass(frozen=True, kw_only=True)
class SCSDMFTResult(Result):
    """DMFT of the continuous-time random rate network (SCS 1988; docs/theory/chaos.md §4.2).

    Attributes:
        g: gain.
        delta0: ``Delta_0 = <h^2>``.
        tau, delta: the autocorrelation ``Delta(tau)`` on ``tau >= 0``.
        lambda_max: maximal Lyapunov exponent per unit time, ``-1 + sqrt(-E_0)``.
        ground_energy: ``E_0`` of ``-d^2/dtau^2 - g^2 C_{tanh'}(tau)``.
        neutral_energy: ``E_1`` (the neutral mode ``dDelta/dtau``); exactly ``-1`` in theory.
        residual: relative residual of the energy-conservation equation for ``Delta_0``,
            ``|g^2 (<Phi^2> - <Phi>^2) / Delta_0^2 - 1/2| / (1/2)`` (``Phi = ln cosh``).
        checks: ``self_consistency`` (the residual, ``not_converged`` above ``RESIDUAL_TOL``)
            and ``neutral_mode`` (``|E_1 + 1| <= 1e-2``, ``failed`` otherwise).
    """

    g: float
    delta0: float
    lambda_max: float
    ground_energy: float
    neutral_energy: float
    residual: float
    tau: np.ndarray = field(repr=False)
    delta: np.ndarray = field(repr=False)
    units: str = "per unit time"


#: the one exception for failed analyses (kept under its old name for mean-field code).
MeanFieldError = AnalysisError


def _delta0_equation(g: float, d: float) -> float:
    # V(Delta_0) = V(0): Delta_0^2 / 2 = g^2 (<Phi^2> - <Phi>^2), Phi = ln cosh (docs/theory/chaos.md §4.2)
    m1 = float(gaussian_expectation(logcosh, d))
    m2 = float(gaussian_expectation(lambda u: logcosh(u) ** 2, d))
    return g * g * (m2 - m1 * m1) / (d * d) - 0.5


def _solve_delta0(g: float) -> float:
    return brentq(lambda d: _delta0_equation(g, d), 1e-9, 2.0 * g * g + 2.0, xtol=1e-13, rtol=1e-13)


def _ground_states(w: np.ndarray, h: float) -> tuple[float, float]:
    """Two lowest eigenvalues of ``-d^2/dtau^2 - w(tau)`` (Dirichlet, 3-point stencil)."""
    d = 2.0 / h**2 - w
    e = np.full(w.size - 1, -1.0 / h**2)
    vals = eigh_tridiagonal(d, e, eigvals_only=True, select="i", select_range=(0, 1))
    return float(vals[0]), float(vals[1])


def scs_potential_eigen(
    tau: np.ndarray, well: np.ndarray, *, n_grid: int = 6000, tail_rate: float, tau_max: float
) -> tuple[float, float]:
    """Ground and first excited energies of ``-d^2/dtau^2 - well(|tau|)`` on ``[-tau_max, tau_max]``.

    ``well`` is given on ``tau >= 0`` and continued by its last value. Second-order differences
    on two grids, Richardson-extrapolated (error O(h^4)).
    """
    out = []
    for n in (n_grid, 2 * n_grid):
        grid = np.linspace(-tau_max, tau_max, n + 1)
        w = np.interp(np.abs(grid), tau, well, right=well[-1])
        out.append(_ground_states(w, grid[1] - grid[0]))
    e0 = (4 * out[1][0] - out[0][0]) / 3
    e1 = (4 * out[1][1] - out[0][1]) / 3
    _ = tail_rate
    return e0, e1


def scs_dmft(
    g: float,
    *,
    n_grid: int = 4000,
    degree: int = 48,
    throw: bool = True,
) -> SCSDMFTResult:
    """DMFT of ``dh/dt = -h + J tanh(h)``, ``J_ij ~ N(0, g^2/N)`` (Sompolinsky, Crisanti, Sommers 1988).

    Steps (docs/theory/chaos.md §4.2 [D]):

    1. :math:`\\Delta_0` from :math:`V(\\Delta_0)=V(0)`, :math:`V(\\Delta)=-\\Delta^2/2+g^2C_{\\ln\\cosh}(\\Delta;\\Delta_0)`;
    2. :math:`\\ddot\\Delta=\\Delta-g^2C_{\\tanh}(\\Delta)`, :math:`\\Delta(0)=\\Delta_0`, :math:`\\dot\\Delta(0)=0`;
    3. ground state :math:`E_0` of :math:`-\\partial_\\tau^2-g^2C_{\\tanh'}(\\Delta(\\tau))`;
       :math:`\\lambda_{\\max}=-1+\\sqrt{-E_0}`. The neutral mode :math:`\\dot\\Delta` has :math:`E_1=-1`.

    Two-time integrals are Chebyshev-tabulated in the lag covariance (``degree``), the
    Schrödinger operator uses ``n_grid`` points with Richardson extrapolation.

    Args:
        g: gain, ``> 0``. For ``g <= 1`` the origin is stable: ``Delta_0 = 0``, ``lambda_max = g - 1``.
        n_grid: Schrödinger grid size (on the symmetric interval).
        degree: Chebyshev degree of the correlation tables.
        throw: raise :class:`rnndyn.AnalysisError` when the neutral-mode check fails; otherwise
            return ``status="failed"`` with the reason.

    Returns:
        :class:`SCSDMFTResult` (per unit time).

    Raises:
        ValueError: bad ``g``; AnalysisError (alias ``MeanFieldError``): a failed check with
        ``throw=True``.

    References:
        H. Sompolinsky, A. Crisanti, H.-J. Sommers, PRL 61, 259 (1988); docs/theory/chaos.md §4.2.

    >>> r = scs_dmft(2.0)
    >>> round(r.delta0, 3), round(r.lambda_max, 3), round(r.neutral_energy, 3)
    (1.925, 0.112, -1.0)
    """
    g = check_real(g, "g", low=0.0, low_open=True)
    n_grid = check_positive_int(n_grid, "n_grid", minimum=200)
    degree = check_positive_int(degree, "degree", minimum=8)
    if g <= 1.0:
        return SCSDMFTResult(
            g=g, delta0=0.0, lambda_max=g - 1.0, ground_energy=-(g**2), neutral_energy=float("nan"),
            residual=0.0, tau=np.zeros(1), delta=np.zeros(1), status=Status.SUCCESS,
            message="g <= 1: the origin is globally stable, lambda_max = g - 1 (exact)",
            checks=(_residual_check(0.0, "Delta_0 = 0 (exact)"),),
        )  # fmt: skip
    d0 = _solve_delta0(g)
    c_tanh = CorrelationTable(np.tanh, d0, c_min=0.0, degree=degree)
    c_dtanh = CorrelationTable(dtanh, d0, c_min=0.0, degree=degree)
    w_inf = g * g * float(c_dtanh(0.0))  # g^2 <tanh'>^2
    kappa2 = 1.0 - w_inf
    if kappa2 <= 0:
        msg = f"linearised decay rate^2 = 1 - g^2<phi'>^2 = {kappa2:.3g} <= 0; no homoclinic orbit"
        nan = float("nan")
        out = SCSDMFTResult(
            g=g, delta0=d0, lambda_max=nan, ground_energy=nan, neutral_energy=nan, residual=nan,
            tau=np.zeros(1), delta=np.zeros(1), status=Status.FAILED, message=msg,
        )  # fmt: skip
        if throw:
            raise AnalysisError(msg, result=out)
        return out
    kappa = math.sqrt(kappa2)

    def rhs(_t: float, y: np.ndarray) -> list[float]:
        return [y[1], y[0] - g * g * float(c_tanh(y[0]))]

    small = 1e-7 * d0

    def ev_small(_t: float, y: np.ndarray) -> float:
        return y[0] - small

    def ev_turn(_t: float, y: np.ndarray) -> float:
        return y[1] if _t > 0 else -1.0

    ev_small.terminal = True  # type: ignore[attr-defined]
    ev_turn.terminal = True  # type: ignore[attr-defined]
    ev_turn.direction = 1  # type: ignore[attr-defined]
    t_end = 60.0 / kappa + 50.0
    sol = solve_ivp(
        rhs, (0.0, t_end), [d0, 0.0], method="DOP853", rtol=1e-11, atol=1e-14 * max(d0, 1.0),
        events=(ev_small, ev_turn), dense_output=True,
    )  # fmt: skip
    t_stop = float(sol.t[-1])
    d_stop = max(float(sol.y[0, -1]), 0.0)
    tau_max = t_stop + 30.0 / kappa
    tau = np.linspace(0.0, tau_max, 8 * n_grid + 1)
    delta = np.where(
        tau <= t_stop,
        sol.sol(np.minimum(tau, t_stop))[0],
        d_stop * np.exp(-kappa * (tau - t_stop)),
    )
    delta = np.clip(delta, 0.0, d0)
    well = g * g * c_dtanh(delta)
    e0, e1 = scs_potential_eigen(tau, well, n_grid=n_grid, tail_rate=kappa, tau_max=tau_max)
    lam = -1.0 + math.sqrt(max(-e0, 0.0))
    residual = abs(_delta0_equation(g, d0)) / 0.5
    checks = [
        _residual_check(residual, "the energy-conservation equation for Delta_0"),
        Check(
            name="neutral_mode",
            passed=abs(e1 + 1.0) <= 1e-2,
            value=abs(e1 + 1.0),
            tolerance=1e-2,
            detail=f"neutral mode dDelta/dtau: E_1 = {e1:.5f}, expected -1",
            status=Status.FAILED,
        ),
    ]
    status = status_from_checks(checks)
    msg = "; ".join(c.detail for c in checks)
    keep = slice(None, None, 8)
    out = SCSDMFTResult(
        g=g, delta0=d0, lambda_max=lam, ground_energy=e0, neutral_energy=e1, residual=residual,
        tau=tau[keep], delta=delta[keep], status=status, message=msg, checks=tuple(checks),
    )  # fmt: skip
    if throw and status is Status.FAILED:
        raise AnalysisError(f"neutral-mode check failed: E_1 = {e1:.5f}, expected -1", result=out)
    return out


__all__ = [
    "DiscreteMeanFieldResult",
    "MeanFieldError",
    "SCSDMFTResult",
    "discrete_meanfield",
    "scs_dmft",
]

"""Numerical tools shared by the stationary and two-time DMFT solvers.

Nothing here knows the gated-flow, GRU or LSTM equations; the solvers pass their maps and
coefficients in:

* :class:`Grid`: the lag grid ``tau_k = k dt`` and its even periodic extension (spectral filters);
* :func:`table`: two-time Gaussian integrals ``<f(x) f(x')>`` on a lag grid (Chebyshev tables);
* :func:`anderson`: Anderson-accelerated fixed-point iteration of a correlation map;
* :func:`relaxation_time`: ``int C(tau) dtau / C(0)`` on the grid;
* :func:`perron`, :func:`perron_root`: the Perron root of a positive linear map, and the growth
  rate ``lambda`` at which a frozen-noise tangent map has Perron root 1;
* :func:`fast_size`, :func:`circulant_sqrt`, :func:`fft_last`, :func:`rfft_first`: circulant-
  embedding sampling of stationary Gaussian paths and the FFTs it needs;
* :func:`heun_coefficients`, :func:`block_scan`: Heun's method for ``dx/dt = -s x + q`` as the
  linear recursion ``x_{k+1} = a_k x_k + b_k``, done in cache-sized blocks.

Used by :mod:`rnndyn.meanfield.dmft` (gated flow), :mod:`rnndyn.meanfield.dmft_discrete` (GRU,
LSTM) and :mod:`rnndyn.meanfield.dmft_ageing` (two-time gated flow). NumPy/SciPy only at import:
the torch helpers import torch when they run (the theory floor stays numpy-only).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import TYPE_CHECKING

import numpy as np
from scipy.sparse.linalg import LinearOperator, eigs

from rnndyn.meanfield.quadrature import CorrelationTable

if TYPE_CHECKING:  # torch is imported where the sampled routes run (the theory floor stays numpy-only)
    import torch

__all__ = [
    "Grid",
    "anderson",
    "block_scan",
    "circulant_sqrt",
    "fast_size",
    "fft_last",
    "heun_coefficients",
    "perron",
    "perron_root",
    "relaxation_time",
    "rfft_first",
    "table",
]


# ----------------------------------------------------------------------------------------------
# lag grid and Gaussian tables


class Grid:
    """Lag grid ``tau_k = k dt`` (k = 0..K) and its even periodic extension of length 2K."""

    def __init__(self, dt: float, tau_max: float) -> None:
        self.dt = dt
        self.K = max(int(round(tau_max / dt)), 8)
        self.tau = np.arange(self.K + 1) * dt
        self.P = 2 * self.K
        self.omega = 2.0 * np.pi * np.fft.rfftfreq(self.P, dt)

    def ext(self, c: np.ndarray) -> np.ndarray:
        return np.concatenate([c, c[-2:0:-1]])

    def spectrum(self, c: np.ndarray) -> np.ndarray:
        return np.fft.rfft(self.ext(c)).real

    def from_spectrum(self, s: np.ndarray) -> np.ndarray:
        return np.fft.irfft(s, self.P)[: self.K + 1]

    def filt(self, c: np.ndarray, fac: np.ndarray) -> np.ndarray:
        return self.from_spectrum(self.spectrum(c) * fac)


def table(f: Callable, c: np.ndarray, degree: int) -> np.ndarray:
    """Two-time Gaussian integral of ``f`` at lag covariances ``c`` (variance ``c[0]``)."""
    v0 = float(c[0])
    if v0 <= 0.0:
        val = float(f(np.zeros(1))[0])
        return np.full_like(c, val * val)
    cc = np.clip(c, -v0, v0)
    lo = min(float(cc.min()), 0.0)
    return CorrelationTable(f, v0, c_min=lo, degree=degree)(cc)


# ----------------------------------------------------------------------------------------------
# fixed-point iteration


def anderson(
    fmap: Callable[[np.ndarray], np.ndarray],
    x0: np.ndarray,
    *,
    tol: float,
    max_iter: int,
    depth: int = 6,
    beta: float = 0.5,
    blocks: tuple[slice, ...],
    progress: Callable[[int, float], None] | None = None,
    zero_below: float = 1e-6,
) -> tuple[np.ndarray, float, int]:
    """Anderson-accelerated fixed-point iteration ``x = fmap(x)``; returns ``(x, residual, iters)``.

    Iterates whose entries all fall below ``zero_below`` are taken to collapse onto the exact
    zero solution (used when the zero solution is linearly stable). The default is ten times the
    solvers' ``ZERO_TOL`` (1e-7); the solvers pass their own."""
    x = x0.copy()
    floor = zero_below
    xs: list[np.ndarray] = []
    gs: list[np.ndarray] = []
    res = float("inf")
    best = (x.copy(), res)
    for it in range(1, max_iter + 1):
        fx = fmap(x)
        gx = fx - x
        res = max(float(np.max(np.abs(gx[b]))) / max(float(x[b][0]), float(fx[b][0]), 1e-300) for b in blocks)
        if progress is not None:
            progress(it, res)
        if not np.isfinite(res):
            return best[0], best[1], it
        if res < best[1]:
            best = (fx.copy(), res)
        if res < tol:
            return fx, res, it
        if max(x[b][0] for b in blocks) < floor and max(fx[b][0] for b in blocks) < floor:
            return np.zeros_like(fx), 0.0, it  # collapsing onto the exact zero solution
        xs.append(x.copy())
        gs.append(gx.copy())
        xs, gs = xs[-depth:], gs[-depth:]
        if len(xs) > 1:
            dx = np.stack([xs[j + 1] - xs[j] for j in range(len(xs) - 1)], axis=1)
            dg = np.stack([gs[j + 1] - gs[j] for j in range(len(gs) - 1)], axis=1)
            gam = np.linalg.lstsq(dg, gx, rcond=None)[0]
            cand = x + beta * gx - (dx + beta * dg) @ gam
            # safeguard: an extrapolation that leaves the cone of variances (C(0) >= |C(tau)|) or
            # jumps far is replaced by a plain damped step, and the history is reset
            big = 4.0 * max(float(np.max(np.abs(x))), float(np.max(np.abs(fx))))
            bad = any(cand[b][0] <= 0 for b in blocks) or not np.all(np.isfinite(cand))
            if bad or float(np.max(np.abs(cand))) > big:
                cand = x + beta * gx
                xs, gs = [], []
            x = cand
        else:
            x = x + beta * gx
        for b in blocks:
            x[b][0] = max(x[b][0], 0.0)
    return best[0], best[1], max_iter


def relaxation_time(tau: np.ndarray, c_h: np.ndarray) -> float:
    """``int C_h(tau) dtau / C_h(0)`` over the grid ``tau`` (trapezoid); 0 when ``C_h(0) <= 0``."""
    if c_h[0] <= 0:
        return 0.0
    return float(np.trapezoid(c_h, tau) / c_h[0])


# ----------------------------------------------------------------------------------------------
# Perron roots


def perron(
    apply: Callable[[np.ndarray], np.ndarray], n: int, v0: np.ndarray | None
) -> tuple[float, np.ndarray]:
    """Largest-real-part eigenvalue of the ``n x n`` linear map ``apply`` and its eigenvector (largest
    entry 1), by ARPACK from ``v0`` (power iteration if ARPACK fails). Returns ``(mu, v)``.

    Without ``v0`` the start is the all-ones vector (it overlaps the Perron vector of a positive
    map), not ARPACK's own random start, which SciPy draws from fresh OS entropy: the result is the
    same, bit for bit, on every call."""
    op = LinearOperator((n, n), matvec=lambda v: apply(np.real(v)), dtype=float)
    if v0 is None:
        v0 = np.ones(n)
    try:
        vals, vecs = eigs(op, k=1, which="LR", v0=v0, tol=1e-10, maxiter=5000)
    except Exception:  # ARPACK may fail near degeneracy; fall back to power iteration
        v = v0.copy()
        mu = 0.0
        for _ in range(2000):
            w = apply(v)
            mu_new = float(np.max(np.abs(w)) / np.max(np.abs(v)))
            v = w / np.max(np.abs(w))
            if abs(mu_new - mu) < 1e-12 * max(mu_new, 1.0):
                break
            mu = mu_new
        return mu_new, v
    v = np.real(vecs[:, 0])
    return float(np.real(vals[0])), v / (v[np.argmax(np.abs(v))])


def perron_root(
    tangent: Callable[[np.ndarray, float], np.ndarray],
    q0: np.ndarray,
    *,
    tol: float = 1e-3,
    tol_q: float = 1e-3,
    max_iter: int = 40,
    depth: int = 6,
    lam0: float = 0.0,
    dlam: float = 0.1,
    lam_range: tuple[float, float] = (-1.0, 8.0),
) -> tuple[float, bool, int]:
    """Largest ``lambda`` with Perron(T_lambda) = 1 for a frozen-noise tangent map ``Q -> T_lambda(Q)``.

    The Perron vector and the root are found together, as the fixed point of
    ``(Q, lambda) -> (T_lambda(Q) / T_lambda(Q)(0), lambda + log mu / s)`` with
    ``mu = T_lambda(Q)(0) / Q(0)`` and ``s`` the secant slope of ``-log mu`` between the first two
    maps (at ``lam0`` and ``lam0 + dlam``), accelerated by Anderson mixing (depth ``depth``; the
    lambda entry weighted by ``sqrt(len(Q)) s``). A plain power iteration converges slowly here
    (the second eigenvalue is ~0.7 of the first: the lag-0 estimate of log mu still moved by 2e-3
    per map after 7 maps), so fixing lambda and power-iterating was both slower and less accurate.
    Converged when ``|log mu| < tol`` and the Perron vector moves by less than ``tol_q``
    (sup norm, ``Q(0) = 1``); the returned lambda carries the last Newton correction
    ``log mu / s``; lambda is kept in ``lam_range``. Returns ``(lambda, converged, maps)``."""
    n = q0.size
    maps = 0

    def step(q: np.ndarray, lam: float) -> tuple[np.ndarray, float]:
        nonlocal maps
        maps += 1
        qn = tangent(q, lam)
        mu = float(qn[0] / q[0])
        if not (np.isfinite(mu) and mu > 0):
            raise RuntimeError(f"tangent map gave a non-positive Perron estimate {mu!r} at lambda={lam}")
        return qn / qn[0], math.log(mu)

    q, f0 = step(q0 / q0[0], lam0)
    q, f1 = step(q, lam0 + dlam)
    slope = min(max((f0 - f1) / dlam, 1.0), 50.0)  # -d log mu / d lambda
    lam = lam0 + dlam + f1 / slope
    w = math.sqrt(n) * slope
    x = np.concatenate([q, [w * lam]])
    xs: list[np.ndarray] = []
    rs: list[np.ndarray] = []
    for _ in range(max_iter):
        lam = float(x[n]) / w
        qn, f = step(x[:n], lam)
        rq = qn - x[:n]
        if abs(f) < tol and float(np.max(np.abs(rq))) < tol_q:
            return lam + f / slope, True, maps
        r = np.concatenate([rq, [w * f / slope]])  # G(x) - x: lambda moves by log mu / s
        xs.append(x.copy())
        rs.append(r)
        xs, rs = xs[-depth:], rs[-depth:]
        gx = x + r
        if len(xs) > 1:
            dx = np.stack([xs[j + 1] - xs[j] for j in range(len(xs) - 1)], axis=1)
            dr = np.stack([rs[j + 1] - rs[j] for j in range(len(rs) - 1)], axis=1)
            cand = gx - (dx + dr) @ np.linalg.lstsq(dr, r, rcond=None)[0]
            # safeguard: a non-finite extrapolation or a jump in lambda by more than 0.5 is
            # replaced by the plain step, and the history is reset
            if np.all(np.isfinite(cand)) and abs(cand[n] - x[n]) <= 0.5 * w:
                gx = cand
            else:
                xs, rs = [], []
        x = gx
        x[n] = min(max(x[n], lam_range[0] * w), lam_range[1] * w)
    return float(x[n]) / w, False, maps


# ----------------------------------------------------------------------------------------------
# stationary Gaussian paths: circulant embedding and FFTs


def fast_size(n: int) -> int:
    """Smallest ``2^a 3^b >= n`` (a fast FFT length)."""
    best = 1 << int(math.ceil(math.log2(max(n, 1))))
    p3 = 1
    while p3 < best:
        p2 = p3
        while p2 < n:
            p2 *= 2
        best = min(best, p2)
        p3 *= 3
    return best


def circulant_sqrt(c: np.ndarray, n: int) -> tuple[np.ndarray, float]:
    """sqrt of the circulant-embedding eigenvalues (length 2n) of lags ``c`` padded to ``n``."""
    cp = np.zeros(n + 1)
    m = min(c.size, n + 1)
    cp[:m] = c[:m]
    ext = np.concatenate([cp, cp[-2:0:-1]])
    lam = np.fft.fft(ext).real
    neg = float(-lam[lam < 0].sum() / max(lam[lam > 0].sum(), 1e-300))
    return np.sqrt(np.clip(lam, 0.0, None) / ext.size), neg


def fft_last(x: torch.Tensor) -> torch.Tensor:
    """Complex FFT along the last dimension; ``x`` is a temporary (overwritten on the CPU).

    On the CPU through ``scipy.fft`` (pocketfft) on the tensor's memory: for the path lengths here
    (2600 points, 1000 paths) it took half the time of ``torch.fft`` (31.7 vs 61.7 ms; the two
    agree to rounding). Other devices use ``torch.fft``."""
    import torch

    if x.device.type != "cpu":
        return torch.fft.fft(x, dim=-1)
    import scipy.fft

    return torch.from_numpy(
        scipy.fft.fft(x.numpy(), axis=-1, overwrite_x=True, workers=torch.get_num_threads())
    )


def rfft_first(x: torch.Tensor, n: int) -> torch.Tensor:
    """Real FFT along dim 0 zero-padded to ``n`` (``scipy.fft`` on the CPU: 21 vs 38 ms for the
    (1000, 2000) windows here; ``torch.fft`` on other devices)."""
    import torch

    if x.device.type != "cpu":
        return torch.fft.rfft(x, n=n, dim=0)
    import scipy.fft

    return torch.from_numpy(scipy.fft.rfft(x.numpy(), n=n, axis=0, workers=torch.get_num_threads()))


# ----------------------------------------------------------------------------------------------
# linear recursions: Heun's method and the blocked scan


def heun_coefficients(s: torch.Tensor, q: torch.Tensor, dt: float) -> tuple[torch.Tensor, torch.Tensor]:
    """Heun's step for ``dx/dt = -s x + q`` (s, q sampled on the grid, time-major) as
    ``x_{k+1} = a_k x_k + b_k``."""
    import torch

    # a = 1 - dt (s0 + s1)/2 + dt^2 s0 s1/2 = ((1 - dt s0)(1 - dt s1) + 1)/2,
    # b = dt (q0 + q1 - dt s1 q0)/2 = dt (q0 (1 - dt s1) + q1)/2: few passes over the paths
    e = 1.0 - dt * s
    a = (e[:-1] * e[1:]).add_(1.0).mul_(0.5)
    b = torch.addcmul(q[1:], q[:-1], e[1:]).mul_(0.5 * dt)
    return a.expand_as(b), b


def block_scan(
    x0: torch.Tensor,
    n: int,
    coefficients: Callable[[int, int], tuple[torch.Tensor, torch.Tensor]],
    block: int = 48,
) -> torch.Tensor:
    """``x_{k+1} = a_k x_k + b_k`` along dim 0 for ``k < n``; returns ``x`` ``(n + 1, *x0.shape)``.

    ``coefficients(t0, t1)`` gives ``(a_k, b_k)`` for ``t0 <= k < t1``: blocks of ``block`` steps
    are formed and done at once, so the coefficient arrays of one block stay in the cache (forming
    them for the whole path first read and wrote each of them through memory). With
    :math:`A_j=\\prod_{i\\le j}a_i`, :math:`x_{s+j+1}=A_j(x_s+\\sum_{i\\le j}b_i/A_i)`. Exact for any
    positive ``a``, small ones included (the terms of the sum grow with ``i`` when ``a < 1``, so the
    rounding error is relative to the result: a tiny ``a_i`` only makes the earlier terms
    negligible, as it makes the history); a block whose products leave ``(1e-250, 1e250)`` (or
    with an ``a <= 0``) is done by the plain loop."""
    import torch

    out = torch.empty((n + 1, *x0.shape), dtype=x0.dtype, device=x0.device)
    out[0] = x0
    x = out[0]
    for t0 in range(0, n, block):
        t1 = min(t0 + block, n)
        a, b = coefficients(t0, t1)
        dst = out[t0 + 1 : t1 + 1]
        cp = torch.cumprod(a, 0)
        lo, hi = torch.aminmax(cp)
        if 1e-250 < float(lo) and float(hi) < 1e250:
            torch.mul(cp, torch.cumsum(b / cp, 0).add_(x), out=dst)
        else:  # a product under- or overflows (or a factor is <= 0): the plain loop
            for k in range(t1 - t0):
                x = a[k] * x + b[k]
                dst[k] = x
        x = out[t1]
    return out


def check_seed(seed: object, name: str = "seed") -> int:
    """An int >= 0 (NumPy integers too); ``TypeError``/``ValueError`` naming ``name`` otherwise
    (:func:`rnndyn._checks.check_positive_int` with minimum 0)."""
    from rnndyn._checks import check_positive_int

    return check_positive_int(seed, name, minimum=0)


def check_flag(value: object, name: str) -> bool:
    """``True`` or ``False`` (NumPy bools too); a ``TypeError`` naming ``name`` otherwise."""
    if not isinstance(value, bool | np.bool_):
        raise TypeError(f"`{name}` must be True or False; got {type(value).__name__} {value!r}")
    return bool(value)


def summary_tail(result: object) -> str:
    """The lines a one-line DMFT summary is followed by: the message (why the status, what to
    change) and one line per self-check, as :meth:`rnndyn.Result.summary` prints them."""
    lines = []
    message = getattr(result, "message", "")
    if message:
        lines.append(f"  {message}")
    for check in getattr(result, "checks", ()):
        lines.append(f"  check {check.line()}")
    return "".join("\n" + line for line in lines)

"""Time-dependent DMFT of the discrete GRU and LSTM (Can, Krishnamurthy, Schwab 2020).

The networks are rnndyn's :class:`rnndyn.GRU` and :class:`rnndyn.LSTM` (docs/theory/gated.md §2.2,
§2.3; CKS20, arXiv:2002.00025), with the gate convention of the model: ``z = 0`` keeps the memory,

.. math::
    h_t=(1-z_t)h_{t-1}+z_t\\phi(u^h_t),\\quad z_t=\\sigma(W_zh_{t-1}+b_z),\\quad
    u^h_t=W_h(r_t\\odot h_{t-1}),\\quad r_t=\\sigma(W_rh_{t-1}+b_r),

:math:`(W_z,W_r,W_h)_{ij}\\sim\\mathcal N(0,(\\alpha_z^2,\\alpha_r^2,g_h^2)/N)`. As ``N -> infinity``
every pre-activation becomes an independent stationary Gaussian process driven by the lagged
state correlation :math:`C_h(\\tau)=\\langle h_th_{t+\\tau}\\rangle` (docs/theory/gated.md §4.1,
(004-44)-(004-47)); lags are integer steps:

.. math::
    \\langle\\eta_z\\eta_z'\\rangle=\\alpha_z^2C_h(\\tau),\\quad
    \\langle\\eta_r\\eta_r'\\rangle=\\alpha_r^2C_h(\\tau),\\quad
    \\langle\\eta_h\\eta_h'\\rangle=g_h^2C_{\\sigma(r)}(\\tau)C_h(\\tau),\\qquad
    h_t=(1-\\sigma(\\eta_z(t)+b_z))h_{t-1}+\\sigma(\\eta_z(t)+b_z)\\phi(\\eta_h(t)).

The LSTM (docs/theory/gated.md §4.5): :math:`c_t=f_tc_{t-1}+i_t\\phi(\\eta_c(t))`,
:math:`h_t=o_t\\phi(c_t)`, :math:`k_t=\\sigma(\\eta_k(t)+b_k)` for ``k = f, i, o``, with
:math:`\\langle\\eta_k\\eta_k'\\rangle=\\alpha_k^2C_h(\\tau)` and
:math:`\\langle\\eta_c\\eta_c'\\rangle=g^2C_h(\\tau)`. Because ``o`` is independent of ``c``,
:math:`C_h=C_{\\sigma(o)}\\,C_{\\phi(c)}` with :math:`C_{\\sigma(o)}` an exact two-time integral.

Routes (all on the lags ``0..tau_max``):

* GRU, ``alpha_z = 0``, ``method="gaussian"`` (exact; derived, docs/theory/gated.md §4.4): the gate
  is the constant :math:`\\bar z=\\sigma(b_z)`, ``h`` is a linear filter of :math:`\\phi(\\eta_h)`,
  and :math:`(1+\\bar a^2)C_h(\\tau)-\\bar a[C_h(\\tau+1)+C_h(\\tau-1)]=\\bar z^2C_\\phi(\\tau)`,
  :math:`\\bar a=1-\\bar z`; the closure needs only second moments because only the fields must
  be Gaussian. Solved in Fourier space, :math:`S_h(\\omega)=\\bar z^2S_\\phi(\\omega)/(1+\\bar
  a^2-2\\bar a\\cos\\omega)`, with Chebyshev-tabulated two-time integrals and Anderson acceleration.
* ``method="sampled"`` (any gains; the Eissfeller-Opper iteration, docs/theory/gated.md §4.7):
  ``M`` stationary Gaussian paths of the fields per map by circulant embedding (FFT), the
  single-site recursion iterated, :math:`C_h` re-estimated by FFT autocorrelation; the random
  numbers are frozen across iterations (a deterministic sample-average map, Anderson applies) and
  the statistical error is the residual against fresh paths (``residual_fresh``, ~ ``1/sqrt(M)``).

The maximal Lyapunov exponent per step (derived here, see :func:`gru_gaussian_lyapunov` and the
sampled tangent process in :func:`gru_dmft` / :func:`lstm_dmft`).

References:
    T. Can, K. Krishnamurthy, D. J. Schwab, Gating creates slow modes and controls phase-space
    complexity in GRUs and LSTMs, MSML 2020, arXiv:2002.00025 (the effective processes);
    H. Eissfeller, M. Opper, PRL 68, 2094 (1992); docs/theory/gated.md §4.1, §4.4, §4.5, §4.7, §4.8.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
from scipy.optimize import brentq

from rnndyn._checks import check_choice, check_device, check_positive_int, check_real
from rnndyn._results import Check, Result, Status
from rnndyn.meanfield._numerics import (
    Grid,
    anderson,
    block_scan,
    check_flag,
    check_seed,
    circulant_sqrt,
    fast_size,
    fft_last,
    perron,
    perron_root,
    relaxation_time,
    rfft_first,
    summary_tail,
    table,
)
from rnndyn.meanfield.quadrature import dsigmoid, dtanh, sigmoid

if TYPE_CHECKING:  # torch is imported where the sampled route runs (the theory floor stays numpy-only)
    import torch

SUCCESS, WARNING, NOT_CONVERGED = Status.SUCCESS, Status.WARNING, Status.NOT_CONVERGED
#: Equal-time variance below which a solution is the zero fixed point.
ZERO_TOL = 1e-7

__all__ = ["DiscreteDMFTResult", "gru_dmft", "gru_gaussian_lyapunov", "lstm_dmft"]


# ----------------------------------------------------------------------------------------------
# result


@dataclass(frozen=True, kw_only=True)
class DiscreteDMFTResult(Result):
    """Stationary DMFT solution of the discrete GRU or LSTM at one parameter point.

    Attributes:
        model: ``"gru"`` or ``"lstm"``.
        params: the gains and scalar biases (``g_h, alpha_z, alpha_r, bias_z, bias_r`` for the
            GRU; ``g, alpha_f, alpha_i, alpha_o, bias_f, bias_i, bias_o`` for the LSTM).
        method: ``"gaussian"`` (exact, GRU with ``alpha_z = 0``) or ``"sampled"``.
        tau: integer lags ``0..tau_max`` (steps).
        c_h: :math:`C_h(\\tau)=\\langle h_th_{t+\\tau}\\rangle`.
        c_phi: GRU: :math:`\\langle\\phi(\\eta_h)\\phi(\\eta_h')\\rangle` (candidate); LSTM:
            :math:`\\langle\\phi(c)\\phi(c')\\rangle`.
        gates: gate correlations :math:`\\langle\\sigma(\\eta_k+b_k)\\sigma(\\eta_k'+b_k)\\rangle`
            (GRU ``z, r``; LSTM ``f, i, o``), exact two-time Gaussian integrals.
        c_c: LSTM only: :math:`C_c(\\tau)` (zeros for the GRU).
        c_h0, c_phi0: equal-time values.
        variances: equal-time values of every correlation (``h``, ``phi``, each gate, ``c``,
            and the pre-activation variances ``eta_*``).
        relaxation_time: :math:`\\sum_\\tau C_h(\\tau)/C_h(0)` (trapezoid from lag 0; steps).
        lambda_max: maximal Lyapunov exponent per step (NaN when not requested).
        lambda_method: how it was computed.
        residual: sup-norm self-consistency residual of :math:`C_h` relative to :math:`C_h(0)`
            (``"sampled"``: of the frozen-noise map).
        residual_fresh: ``"sampled"``: residual against an independent set of paths (the
            statistical error, ~ ``1/sqrt(M)``); NaN for ``"gaussian"``.
        iterations, n_samples: solver work.
        zero_fixed_point: the solution is ``C_h = 0``.
        status, message, checks: see :class:`rnndyn.Result`.
    """

    model: str
    params: dict
    method: str
    c_h0: float
    c_phi0: float
    relaxation_time: float
    lambda_max: float
    lambda_method: str
    residual: float
    residual_fresh: float
    iterations: int
    n_samples: int
    zero_fixed_point: bool
    variances: dict
    tau: np.ndarray = field(repr=False)
    c_h: np.ndarray = field(repr=False)
    c_phi: np.ndarray = field(repr=False)
    c_c: np.ndarray = field(repr=False)
    gates: dict = field(repr=False)
    units: str = "per step"

    _repr_fields = ("model", "params", "method", "c_h0", "lambda_max", "residual")

    def summary(self) -> str:
        p = ", ".join(f"{k}={v:g}" for k, v in self.params.items())
        return (
            f"DMFT {self.model} {p} [{self.method}]: C_h(0)={self.c_h0:.5g}, "
            f"tau_relax={self.relaxation_time:.4g} steps, lambda_max={self.lambda_max:.5g}/step, "
            f"residual={self.residual:.2g}, status={self.status}"
        ) + summary_tail(self)

    def plot(self, path: str | Path) -> Path:
        """Save a figure of the correlation functions (matplotlib object API, imported lazily)."""
        from rnndyn.meanfield._figures import plot_discrete_dmft

        return plot_discrete_dmft(self, path)


# ----------------------------------------------------------------------------------------------
# helpers


def _shifted(f: Callable[[np.ndarray], np.ndarray], b: float) -> Callable[[np.ndarray], np.ndarray]:
    return (lambda u: f(u + b)) if b != 0.0 else f


def _gate_corr(cov: np.ndarray, bias: float, degree: int, f=sigmoid) -> np.ndarray:
    """:math:`\\langle f(\\eta+b)f(\\eta'+b)\\rangle` for a zero-mean Gaussian ``eta`` with lag
    covariances ``cov`` (a constant :math:`f(b)^2` when ``cov`` vanishes)."""
    return table(_shifted(f, bias), cov, degree)


def _check_grid(tau_max: int) -> int:
    return check_positive_int(tau_max, "tau_max", minimum=8)


class _Paths:
    """Frozen-noise stationary Gaussian paths (circulant embedding) and lag autocorrelations.

    Paths are time-major ``(n_t, m)`` (a step of all paths is one contiguous row, as the scans of
    the single-site recursions read them). The frozen noise of the iteration (``offset = 0``) is
    drawn once and kept, up to ``CACHE_BYTES``; beyond that (large ``M``) it is drawn again from
    its seed at every map (the same numbers either way)."""

    #: memory for the kept frozen noise (complex128, ``ceil(m / 2) * 2 n_t`` numbers per field)
    CACHE_BYTES = 768 * 2**20

    def __init__(self, *, K: int, n_burn: int, n_win: int, M: int, seed: int, chunk: int, device) -> None:
        self.K, self.n_burn, self.n_win, self.M = K, n_burn, n_win, M
        self.n_t = n_burn + n_win
        self.P = 2 * self.n_t
        self.seed, self.chunk, self.device = seed, chunk, device
        self.nfft = fast_size(n_win + K + 1)  # zero padding: linear (not circular) lags
        self.chunks = [(i, min(chunk, M - i)) for i in range(0, M, chunk)]
        self._noise: dict[tuple, torch.Tensor] = {}
        self._noise_bytes = 0

    def sqrt_spectrum(self, cov: np.ndarray) -> tuple[np.ndarray, float]:
        return circulant_sqrt(cov, self.n_t)

    def _draw(self, tag: int, ci: int, m: int, offset: int) -> torch.Tensor:
        import torch

        key = (tag, ci, offset)
        if key in self._noise:
            return self._noise[key]
        rng = np.random.default_rng([self.seed, offset, tag, ci])  # numpy's ziggurat: ~10x torch.randn
        half = (m + 1) // 2
        w = torch.view_as_complex(torch.from_numpy(rng.standard_normal((half, self.P, 2)))).to(self.device)
        size = w.numel() * w.element_size()
        if offset == 0 and self._noise_bytes + size <= self.CACHE_BYTES:
            self._noise[key] = w
            self._noise_bytes += size
        return w

    def path(self, sq: np.ndarray, tag: int, ci: int, m: int, offset: int) -> torch.Tensor:
        """``m`` paths, time-major ``(n_t, m)``, with circulant sqrt-spectrum ``sq``; the same
        ``(tag, ci, offset)`` always gives the same random numbers (frozen noise). Column ``j`` is
        the real part of draw ``j`` for ``j < ceil(m/2)``, then the imaginary parts."""
        import torch

        w = self._draw(tag, ci, m, offset)
        y = fft_last(w * torch.as_tensor(sq, device=self.device))[:, : self.n_t]
        half = y.shape[0]
        return torch.view_as_real(y).permute(1, 2, 0).reshape(self.n_t, 2 * half)[:, :m]

    def autocorr(self, x: torch.Tensor) -> torch.Tensor:
        """Sum over paths of the unbiased lag autocorrelation (lags ``0..K``) of the time-major
        ``x`` ``(n_win, m)``: the power spectra are summed before one inverse FFT."""
        import torch

        f = rfft_first(x, self.nfft)
        power = (f.real.square() + f.imag.square()).sum(1)
        ac = torch.fft.irfft(power, n=self.nfft)[: self.K + 1]
        denom = torch.arange(self.n_win, self.n_win - self.K - 1, -1, device=x.device, dtype=x.dtype)
        return ac / denom

    def window(self, x: torch.Tensor) -> torch.Tensor:
        """The measured steps ``t = n_burn .. n_t - 1`` of a scan output (row ``t + 1`` is step ``t``)."""
        return x[self.n_burn + 1 :]


def _even(c: torch.Tensor) -> np.ndarray:
    return c.cpu().numpy()


# ----------------------------------------------------------------------------------------------
# GRU: exact Gaussian route and its Lyapunov exponent


def _gru_fields(c_h: np.ndarray, g_h: float, alpha_r: float, bias_r: float, degree: int) -> tuple:
    """``(C_sigma(r), Delta)``: the reset-gate correlation and the eta_h covariance."""
    if alpha_r > 0:
        c_sr = _gate_corr(alpha_r * alpha_r * c_h, bias_r, degree)
    else:
        c_sr = np.full(c_h.size, float(sigmoid(np.array([bias_r]))[0]) ** 2)
    return c_sr, g_h * g_h * c_sr * c_h


def _gru_gaussian_map(grid: Grid, g_h: float, alpha_r: float, bias_z: float, bias_r: float, degree: int):
    zb = float(sigmoid(np.array([bias_z]))[0])
    ab = 1.0 - zb
    fac = zb * zb / (1.0 + ab * ab - 2.0 * ab * np.cos(grid.omega))

    def fmap(c_h: np.ndarray) -> np.ndarray:
        _, delta = _gru_fields(c_h, g_h, alpha_r, bias_r, degree)
        return grid.filt(table(np.tanh, delta, degree), fac)

    return fmap


def gru_gaussian_lyapunov(
    c_h: np.ndarray,
    *,
    g_h: float,
    alpha_r: float = 0.0,
    bias_z: float = 0.0,
    bias_r: float = 0.0,
    degree: int = 40,
) -> float:
    """:math:`\\lambda_{\\max}` per step of the GRU at ``alpha_z = 0`` from a two-replica eigenproblem.

    Derivation (derived here; the discrete-time analogue of docs/theory/gated.md §4.8). The tangent
    of the effective process is :math:`\\delta h_t=\\bar a\\,\\delta h_{t-1}+\\bar z\\,\\phi'(\\eta_h(t))
    \\,\\delta\\eta_h(t)`, with :math:`\\delta\\eta_h=W_h(r\\odot\\delta h+h\\odot\\sigma'(\\eta_r)
    \\delta\\eta_r)`, :math:`\\delta\\eta_r=W_r\\delta h`. At large N the tangent field is Gaussian
    and independent of the site's own fields (the cross terms vanish because
    :math:`\\langle h\\,\\delta h\\rangle=0`: the tangent is odd in the tangent fields), with
    covariance :math:`A(\\tau)K_h(t-1,t'-1)`,
    :math:`A=g_h^2[C_{\\sigma(r)}+\\alpha_r^2C_hC_{\\sigma'(r)}]`. With
    :math:`K_h(t,t')=e^{\\lambda(t+t')}\\psi(t-t')` the stationary filter gives

    .. math::
        \\hat\\psi(\\omega)=\\frac{\\bar z^2e^{-2\\lambda}}{1+b^2-2b\\cos\\omega}
        \\,\\widehat{[C_{\\phi'}A\\,\\psi]}(\\omega),\\qquad b=\\bar ae^{-\\lambda}<1,

    :math:`C_{\\phi'}` the two-time integral of :math:`\\phi'` at the :math:`\\eta_h` covariance.
    The kernel is positive and decreasing in :math:`\\lambda`; :math:`\\lambda_{\\max}` is the root
    of ``Perron(T_lambda) = 1``. Checks: at the zero fixed point it is
    :math:`\\ln(\\bar a+\\bar z g_h\\sigma(b_r))` (the spectral radius of the zero-FP Jacobian,
    :math:`\\ln(1/2+g_h/4)` at zero bias); for :math:`\\bar z\\to1`, :math:`\\alpha_r=0` it is
    :math:`\\tfrac12\\ln(g^2\\langle\\phi'^2\\rangle_q)` of the vanilla map with
    :math:`g=g_h\\sigma(b_r)` (docs/theory/chaos.md §4.3).

    Args:
        c_h: stationary :math:`C_h(\\tau)` on the integer lags ``0..K`` (decayed at ``K``).
        g_h, alpha_r: gains. bias_z, bias_r: scalar gate biases.
        degree: Chebyshev degree of the two-time integral tables.

    Returns:
        lambda_max per step.

    Raises:
        ValueError: ``c_h`` not finite / too short.

    References:
        CKS20 (arXiv:2002.00025) for the process; docs/theory/gated.md §4.4, §4.8.
    """
    c_h = np.asarray(c_h, dtype=float)
    if c_h.ndim != 1 or c_h.size < 9 or not np.all(np.isfinite(c_h)):
        raise ValueError(f"`c_h` must be a finite 1-D array of >= 9 lags; got shape {c_h.shape}")
    grid = Grid(1.0, float(c_h.size - 1))
    zb = float(sigmoid(np.array([bias_z]))[0])
    ab = 1.0 - zb
    c_sr, delta = _gru_fields(c_h, g_h, alpha_r, bias_r, degree)
    a = g_h * g_h * c_sr
    if alpha_r > 0:
        a = a + g_h * g_h * alpha_r * alpha_r * c_h * _gate_corr(
            alpha_r * alpha_r * c_h, bias_r, degree, dsigmoid
        )
    kern = table(dtanh, delta, degree) * a
    cosw = np.cos(grid.omega)

    def make(lam: float) -> Callable[[np.ndarray], np.ndarray]:
        b = ab * math.exp(-lam)
        fac = zb * zb * math.exp(-2.0 * lam) / (1.0 + b * b - 2.0 * b * cosw)
        return lambda psi: grid.filt(kern * psi, fac)

    state: dict = {"v": None}

    def f(lam: float) -> float:
        mu, v = perron(make(lam), c_h.size, state["v"])
        state["v"] = np.abs(v) + 1e-12
        return math.log(max(mu, 1e-300))

    lo = math.log(ab) + 1e-3 if ab > 0 else -5.0
    while f(lo) < 0:
        lo -= 5.0
        if lo < -200:
            raise RuntimeError("lambda_max bracket failed (no root above -200)")
    hi = max(lo + 1.0, 1.0)
    while f(hi) > 0:
        hi *= 2.0
        if hi > 1e3:
            raise RuntimeError("lambda_max bracket failed (no root below 1e3)")
    return float(brentq(f, lo, hi, xtol=1e-11, rtol=1e-12))


# ----------------------------------------------------------------------------------------------
# sampled single-site processes


class _GRUSampler:
    def __init__(self, paths: _Paths, *, g_h, alpha_z, alpha_r, bias_z, bias_r, degree) -> None:
        self.p, self.g_h, self.alpha_z, self.alpha_r = paths, g_h, alpha_z, alpha_r
        self.bias_z, self.bias_r, self.degree = bias_z, bias_r, degree
        self.zbar = float(sigmoid(np.array([bias_z]))[0])

    def _forward_paths(self, c_h: np.ndarray, ci: int, m: int, offset: int) -> tuple:
        """``eta_h`` ``(n_t, m)`` and the update gate ``z`` (``(n_t, m)``, or ``(n_t, 1)`` constant)."""
        import torch

        _, delta = _gru_fields(c_h, self.g_h, self.alpha_r, self.bias_r, self.degree)
        sq_h, neg = self.p.sqrt_spectrum(delta)
        eta_h = self.p.path(sq_h, 0, ci, m, offset)
        if self.alpha_z > 0:
            sq_z, neg_z = self.p.sqrt_spectrum(self.alpha_z**2 * c_h)
            z = torch.sigmoid(self.p.path(sq_z, 1, ci, m, offset) + self.bias_z)
            neg = max(neg, neg_z)
        else:
            z = torch.full((self.p.n_t, 1), self.zbar, dtype=torch.float64, device=self.p.device)
        return eta_h, z, neg

    def forward(self, c_h: np.ndarray, *, offset: int = 0) -> dict:
        import torch

        p = self.p
        acc = torch.zeros(p.K + 1, dtype=torch.float64, device=p.device)
        neg = 0.0
        for ci, (_, m) in enumerate(p.chunks):
            eta_h, z, neg = self._forward_paths(c_h, ci, m, offset)
            acc += p.autocorr(p.window(self._run(torch.tanh(eta_h), z)))
        return {"c_h": _even(acc / p.M), "neg": neg}

    def _run(self, phi: torch.Tensor, z: torch.Tensor) -> torch.Tensor:
        """``h_t = (1 - z_t) h_{t-1} + z_t phi_t`` from ``h_{-1} = 0`` (the GRU's single-site
        recursion, linear in h) as a blocked scan; returns ``(n_t + 1, m)``, row ``t + 1`` = ``h_t``."""
        import torch

        def coefficients(t0: int, t1: int) -> tuple[torch.Tensor, torch.Tensor]:
            zt = z[t0:t1]
            b = zt * phi[t0:t1]
            return (1.0 - zt).expand_as(b), b

        return block_scan(torch.zeros_like(phi[0]), self.p.n_t, coefficients)

    def tangent(self, c_h: np.ndarray, q: np.ndarray, lam: float) -> np.ndarray:
        """One application of the tangent map ``Q -> Q_new`` (see :func:`gru_dmft`):
        ``u_t = e^{-lam}[(1 - z_t) u_{t-1} + z_t phi'_t x_h(t) + (phi_t - h_{t-1}) z_t(1 - z_t) x_z(t)]``,
        a scan in ``u``; the lambda-independent factors are computed once per ``C_h``."""
        import torch

        p = self.p
        if getattr(self, "_tkey", None) is not c_h:  # the frozen forward paths, computed once per C_h
            c_sr, _ = _gru_fields(c_h, self.g_h, self.alpha_r, self.bias_r, self.degree)
            a = self.g_h**2 * c_sr
            if self.alpha_r > 0:
                ar2 = self.alpha_r**2
                a = a + self.g_h**2 * ar2 * c_h * _gate_corr(ar2 * c_h, self.bias_r, self.degree, dsigmoid)
            self._tkey, self._tcache, self._ta = c_h, {}, a
        sq_xh, _ = p.sqrt_spectrum(self._ta * q)
        sq_xz, _ = p.sqrt_spectrum(self.alpha_z**2 * q)
        e = math.exp(-lam)
        acc = torch.zeros(p.K + 1, dtype=torch.float64, device=p.device)
        for ci, (_, m) in enumerate(p.chunks):
            if ci not in self._tcache:
                eta_h, z, _ = self._forward_paths(c_h, ci, m, 0)
                phi = torch.tanh(eta_h)
                co = {"z": z, "zd": z * (1.0 - phi * phi)}
                if self.alpha_z > 0:  # (phi_t - h_{t-1}) sigma'(z_t)
                    co["hz"] = (phi - self._run(phi, z)[:-1]) * (z * (1.0 - z))
                self._tcache[ci] = co
            co = self._tcache[ci]
            xh = p.path(sq_xh, 2, ci, m, 0)
            xz = p.path(sq_xz, 3, ci, m, 0) if self.alpha_z > 0 else None

            def coefficients(t0: int, t1: int, co=co, xh=xh, xz=xz) -> tuple[torch.Tensor, torch.Tensor]:  # noqa: ANN001
                b = co["zd"][t0:t1] * xh[t0:t1]
                if xz is not None:
                    b = b + co["hz"][t0:t1] * xz[t0:t1]
                return (e * (1.0 - co["z"][t0:t1])).expand_as(b), e * b

            u = block_scan(torch.zeros(m, dtype=torch.float64, device=p.device), p.n_t, coefficients)
            acc += p.autocorr(p.window(u))
        return _even(acc / p.M)


class _LSTMSampler:
    def __init__(self, paths: _Paths, *, g, alphas: dict, biases: dict, degree) -> None:
        self.p, self.g, self.alphas, self.biases, self.degree = paths, g, alphas, biases, degree

    def _gate(self, k: str, c_h: np.ndarray, tag: int, ci: int, m: int, offset: int) -> torch.Tensor:
        """Gate ``k`` on the paths: ``(n_t, m)``, or ``(n_t, 1)`` when constant (alpha = 0)."""
        import torch

        b = self.biases[k]
        if self.alphas[k] > 0:
            sq, _ = self.p.sqrt_spectrum(self.alphas[k] ** 2 * c_h)
            return torch.sigmoid(self.p.path(sq, tag, ci, m, offset) + b)
        return torch.full(
            (self.p.n_t, 1), float(sigmoid(np.array([b]))[0]), dtype=torch.float64, device=self.p.device
        )

    def _fields(self, c_h: np.ndarray, ci: int, m: int, offset: int) -> tuple:
        sq_c, neg = self.p.sqrt_spectrum(self.g**2 * c_h)
        eta_c = self.p.path(sq_c, 0, ci, m, offset)
        return eta_c, self._gate("f", c_h, 1, ci, m, offset), self._gate("i", c_h, 2, ci, m, offset), neg

    def gate_corr(self, k: str, c_h: np.ndarray) -> np.ndarray:
        return _gate_corr(self.alphas[k] ** 2 * c_h, self.biases[k], self.degree)

    def forward(self, c_h: np.ndarray, *, offset: int = 0, want_all: bool = False) -> dict:
        import torch

        p = self.p
        acc_phi = torch.zeros(p.K + 1, dtype=torch.float64, device=p.device)
        acc_c = torch.zeros_like(acc_phi)
        neg = 0.0
        for ci, (_, m) in enumerate(p.chunks):
            eta_c, f, i, neg = self._fields(c_h, ci, m, offset)
            c = p.window(self._run(torch.tanh(eta_c), f, i))
            acc_phi += p.autocorr(torch.tanh(c))
            if want_all:
                acc_c += p.autocorr(c)
        c_phi = _even(acc_phi / p.M)
        out = {"c_h": self.gate_corr("o", c_h) * c_phi, "c_phic": c_phi, "neg": neg}
        if want_all:
            out["c_c"] = _even(acc_c / p.M)
        return out

    def _run(self, cand: torch.Tensor, f: torch.Tensor, i: torch.Tensor) -> torch.Tensor:
        """``c_t = f_t c_{t-1} + i_t cand_t`` from ``c_{-1} = 0`` as a blocked scan; returns
        ``(n_t + 1, m)``, row ``t + 1`` = ``c_t``."""
        import torch

        def coefficients(t0: int, t1: int) -> tuple[torch.Tensor, torch.Tensor]:
            b = i[t0:t1] * cand[t0:t1]
            return f[t0:t1].expand_as(b), b

        return block_scan(torch.zeros_like(cand[0]), self.p.n_t, coefficients)

    def _tangent_coefficients(self, c_h: np.ndarray, ci: int, m: int) -> dict:
        """The lambda-independent factors of the LSTM tangent step on the frozen forward paths."""
        import torch

        p, al = self.p, self.alphas
        eta_c, f, i, _ = self._fields(c_h, ci, m, 0)
        cand = torch.tanh(eta_c)
        o = self._gate("o", c_h, 3, ci, m, 0)
        c = self._run(cand, f, i)
        co = {"f": f, "dc": i * (1.0 - cand * cand)}
        if al["i"] > 0:
            co["di"] = cand * (i * (1.0 - i))
        if al["f"] > 0:
            co["df"] = c[:-1] * (f * (1.0 - f))  # c_{t-1} sigma'(f_t)
        tc = torch.tanh(p.window(c))
        co["do"] = o[p.n_burn :] * (1.0 - tc * tc)
        if al["o"] > 0:
            co["to"] = tc * (o * (1.0 - o))[p.n_burn :]
        return co

    def tangent(self, c_h: np.ndarray, q: np.ndarray, lam: float) -> np.ndarray:
        """One application of the LSTM tangent map ``Q -> Q_new`` (see :func:`lstm_dmft`):
        ``v_t = e^{-lam}[f_t v_{t-1} + i_t phi'(eta_c) x_c + cand_t sigma'_i x_i + c_{t-1} sigma'_f x_f]``
        (a scan in ``v``), ``u_t = o_t phi'(c_t) v_t + e^{-lam} phi(c_t) sigma'_o x_o``."""
        import torch

        p, al = self.p, self.alphas
        sq = {"c": p.sqrt_spectrum(self.g**2 * q)[0]}
        for k in ("f", "i", "o"):
            sq[k] = p.sqrt_spectrum(al[k] ** 2 * q)[0]
        e = math.exp(-lam)
        acc = torch.zeros(p.K + 1, dtype=torch.float64, device=p.device)
        if getattr(self, "_tkey", None) is not c_h:  # the frozen forward paths, computed once per C_h
            self._tkey, self._tcache = c_h, {}
        for ci, (_, m) in enumerate(p.chunks):
            if ci not in self._tcache:
                self._tcache[ci] = self._tangent_coefficients(c_h, ci, m)
            co = self._tcache[ci]
            x = {
                k: p.path(sq[k], 4 + j, ci, m, 0)
                for j, k in enumerate(("c", "f", "i", "o"))
                if k == "c" or al[k] > 0
            }

            def coefficients(t0: int, t1: int, co=co, x=x) -> tuple[torch.Tensor, torch.Tensor]:  # noqa: ANN001
                b = co["dc"][t0:t1] * x["c"][t0:t1]
                if "di" in co:
                    b = b + co["di"][t0:t1] * x["i"][t0:t1]
                if "df" in co:
                    b = b + co["df"][t0:t1] * x["f"][t0:t1]
                return (e * co["f"][t0:t1]).expand_as(b), e * b

            v = p.window(
                block_scan(torch.zeros(m, dtype=torch.float64, device=p.device), p.n_t, coefficients)
            )
            u = co["do"] * v
            if "to" in co:
                u = u + e * co["to"] * x["o"][p.n_burn :]
            acc += p.autocorr(u)
        return _even(acc / p.M)


def _sampled_lyapunov(
    tangent: Callable[[np.ndarray, float], np.ndarray], q0: np.ndarray, *, tol: float, max_iter: int = 40
) -> tuple[float, bool]:
    """Largest ``lambda`` with Perron(T_lambda) = 1 for a frozen-noise tangent map.

    The Perron vector ``Q`` and ``lambda`` are found together by :func:`rnndyn.meanfield._numerics.perron_root`
    (Anderson-mixed fixed point of ``(Q, lambda)``; ``|log mu| < tol``, ``Q`` moving by < 1e-3).
    It replaced one power step per lambda with a secant step on ``log mu`` (converged when
    ``|log mu| < tol`` twice in a row): at the same tolerance 6-8 tangent maps instead of 12-15,
    within 3e-5 (GRU) and 8e-5 (LSTM) of the exact root of the frozen-noise map, where the former
    iteration was within 2e-5 and 6e-5. Returns ``(lambda, converged)``."""
    lam, ok, _ = perron_root(tangent, q0, tol=tol, tol_q=1e-3, max_iter=max_iter, lam_range=(-10.0, 10.0))
    return float(lam), ok


# ----------------------------------------------------------------------------------------------
# public solvers


def _common_checks(kw: dict) -> dict:
    out = dict(kw)
    out["tau_max"] = _check_grid(kw["tau_max"])
    out["n_samples"] = check_positive_int(kw["n_samples"], "n_samples", minimum=16)
    out["burn_in"] = check_positive_int(kw["burn_in"], "burn_in", minimum=0)
    out["window"] = check_positive_int(kw["window"], "window", minimum=1)
    if out["window"] < 2 * out["tau_max"]:
        raise ValueError(f"`window` must be >= 2 * tau_max = {2 * out['tau_max']}; got {out['window']}")
    out["tol"] = check_real(kw["tol"], "tol", low=0.0, low_open=True)
    out["max_iter"] = check_positive_int(kw["max_iter"], "max_iter")
    out["degree"] = check_positive_int(kw["degree"], "degree", minimum=8)
    out["chunk"] = check_positive_int(kw["chunk"], "chunk", minimum=2)
    if kw["initial_amplitude"] is not None:
        out["initial_amplitude"] = check_real(
            kw["initial_amplitude"], "initial_amplitude", low=0.0, low_open=True
        )
    out["seed"] = check_seed(kw["seed"])
    return out


def _decay_check(c_h: np.ndarray, noise: float) -> tuple[Check, float]:
    tail = float(np.mean(c_h[-max(c_h.size // 10, 1) :])) / c_h[0] if c_h[0] > 0 else 0.0
    tol = max(5e-3, noise)
    chk = Check(
        name="decay_at_tau_max", passed=bool(abs(tail) <= tol), value=abs(tail), tolerance=tol,
        detail="C_h near tau_max relative to C_h(0); raise tau_max (and window) if not", status=WARNING,
    )  # fmt: skip
    return chk, tail


def _solve_sampled(sampler, c_start: np.ndarray, o: dict, zero_below: float) -> tuple:
    def smap(c: np.ndarray) -> np.ndarray:
        return sampler.forward(c)["c_h"]

    return anderson(
        smap, c_start, tol=o["tol"], max_iter=o["max_iter"], blocks=(slice(0, c_start.size),),
        progress=o["progress"], depth=8, beta=0.7, zero_below=zero_below,
    )  # fmt: skip


def _finish(
    *, model, params, method, tau, c_h, c_phi, c_c, gates, variances, residual, residual_fresh, iters,
    m_used, lam, lam_method, notes, status, o, clipped, fixed_point=False, lam_zero=float("nan"),
) -> DiscreteDMFTResult:  # fmt: skip
    zero = bool(c_h[0] < ZERO_TOL)
    noise = 3.0 * residual_fresh if np.isfinite(residual_fresh) else 0.0
    checks = [
        Check(name="residual", passed=bool(residual < o["tol"] or zero), value=float(residual), tolerance=o["tol"],
              detail="sup-norm self-consistency residual of C_h (frozen-noise map for 'sampled')",
              status=NOT_CONVERGED),
    ]  # fmt: skip
    if not zero and not fixed_point:
        chk, _ = _decay_check(c_h, noise)
        checks.append(chk)
    if clipped is not None and not zero:
        checks.append(
            Check(name="circulant_embedding", passed=bool(clipped <= 1e-3), value=float(clipped), tolerance=1e-3,
                  detail="fraction of the circulant-embedding spectrum clipped at 0 (raise tau_max)", status=WARNING)
        )  # fmt: skip
    lam0 = lam_zero if np.isfinite(lam_zero) else lam  # the zero solution's exponent
    if zero and np.isfinite(lam0):
        # C_h = 0 cannot be the attractor when its own exponent is positive: the iteration
        # collapsed onto the unstable zero solution (sampling noise, a short lag window), so the
        # stationary solution was not found
        checks.append(
            Check(name="zero_solution_stable", passed=bool(lam0 <= 0.0), value=float(lam0), tolerance=0.0,
                  detail="exponent of the zero solution; > 0: it is unstable and the iteration collapsed "
                  "onto it (raise n_samples or initial_amplitude)", status=NOT_CONVERGED)
        )  # fmt: skip
    for chk in checks:
        if not chk.passed:
            status = Status.worst(status, chk.status)
            notes.append(f"{chk.name}: {chk.value:.2g} > {chk.tolerance:.2g}")
    if zero:
        if not (np.isfinite(lam0) and lam0 > 0.0):
            notes.append("the activity decays: the solution is the zero fixed point")
    elif fixed_point:
        notes.append("lag-independent start: the fixed-point (time-independent) solution")
    return DiscreteDMFTResult(
        model=model, params=params, method=method, c_h0=float(c_h[0]), c_phi0=float(c_phi[0]),
        relaxation_time=relaxation_time(tau.astype(float), c_h), lambda_max=float(lam), lambda_method=lam_method,
        residual=float(residual), residual_fresh=float(residual_fresh), iterations=int(iters), n_samples=int(m_used),
        zero_fixed_point=zero, variances=variances, tau=tau, c_h=c_h, c_phi=c_phi, c_c=c_c, gates=gates,
        status=status, message="; ".join(notes) if notes else "converged", checks=tuple(checks),
    )  # fmt: skip


def gru_dmft(
    g_h: float,
    *,
    alpha_z: float = 0.0,
    alpha_r: float = 0.0,
    bias_z: float = 0.0,
    bias_r: float = 0.0,
    method: str = "auto",
    lyapunov: bool = True,
    lyapunov_method: str = "auto",
    tau_max: int = 100,
    n_samples: int = 2000,
    burn_in: int = 200,
    window: int = 1000,
    tol: float = 1e-7,
    max_iter: int = 200,
    initial_amplitude: float | None = None,
    initial: str = "decaying",
    seed: int = 0,
    device: str | torch.device = "cpu",
    degree: int = 40,
    chunk: int = 4000,
    progress: Callable[[int, float], None] | None = None,
) -> DiscreteDMFTResult:
    """Stationary DMFT of the discrete GRU (:class:`rnndyn.GRU`, zero candidate bias).

    The effective process (docs/theory/gated.md §4.1, (004-44)-(004-48), in the model's convention
    ``z = 0`` = memory):

    .. math::
        h_t=(1-\\sigma(\\eta_z(t)+b_z))h_{t-1}+\\sigma(\\eta_z(t)+b_z)\\phi(\\eta_h(t)),\\quad
        \\langle\\eta_z\\eta_z'\\rangle=\\alpha_z^2C_h(\\tau),\\ \\langle\\eta_h\\eta_h'\\rangle=
        g_h^2C_{\\sigma(r)}(\\tau)C_h(\\tau),\\ C_{\\sigma(r)}=\\langle\\sigma(\\eta_r+b_r)
        \\sigma(\\eta_r'+b_r)\\rangle_{\\alpha_r^2C_h}.

    ``method="gaussian"`` (``alpha_z = 0``, exact) solves
    :math:`(1+\\bar a^2)C_h(\\tau)-\\bar a[C_h(\\tau+1)+C_h(\\tau-1)]=\\bar z^2C_\\phi(\\tau)`
    (docs/theory/gated.md §4.4; :math:`\\bar z=\\sigma(b_z)`, :math:`\\bar a=1-\\bar z`);
    ``"sampled"`` iterates the process on ``n_samples`` frozen Gaussian paths (any ``alpha_z``).

    ``lambda_max`` per step: ``"eigen"`` (``alpha_z = 0``) is :func:`gru_gaussian_lyapunov`;
    ``"sampled"`` (derived) integrates the tangent process on the frozen paths,
    :math:`u_t=e^{-\\lambda}[(1-z_t)u_{t-1}+(\\phi(\\eta_h)-h_{t-1})\\sigma'(\\eta_z+b_z)\\xi_z
    +z_t\\phi'(\\eta_h)\\xi_h]` with Gaussian tangent fields of covariances
    :math:`\\alpha_z^2Q` and :math:`g_h^2[C_{\\sigma(r)}+\\alpha_r^2C_hC_{\\sigma'(r)}]Q`,
    :math:`Q=\\langle u_tu_{t+\\tau}\\rangle`, and finds the largest ``lambda`` at which this linear
    map of ``Q`` has Perron root 1.

    Args:
        g_h: candidate gain ``> 0``. alpha_z, alpha_r: gate gains ``>= 0``.
        bias_z, bias_r: scalar gate biases (the model's ``bias_z``, ``bias_r``); quenched bias
            variance and a candidate bias are not supported.
        method: ``"auto"`` (gaussian when ``alpha_z = 0``), ``"gaussian"`` or ``"sampled"``.
        lyapunov: also compute ``lambda_max``. lyapunov_method: ``"auto"``, ``"eigen"``, ``"sampled"``.
        tau_max: largest lag (steps). n_samples: paths per map (sampled). burn_in, window: path
            steps discarded / used (sampled; ``window >= 2 tau_max``).
        tol: tolerance on the sup-norm residual. max_iter: Anderson iterations.
        initial_amplitude: ``C_h(0)`` of the initial guess (default 1); a small value finds the zero
            solution where it is stable.
        initial: ``"decaying"`` (``C_h(\\tau)`` decaying: the time-dependent solution) or
            ``"constant"`` (a lag-independent start: the map keeps constants, so this returns the
            fixed-point MFT solution, docs/theory/gated.md §4.2; gaussian route only).
        seed: frozen-noise seed (sampled). device: torch device (sampled).
        degree: Chebyshev degree of the two-time integral tables. chunk: paths per batch.
        progress: callback ``(iteration, residual)``.

    Returns:
        :class:`DiscreteDMFTResult` (``status`` ``not_converged`` when the residual stays above
        ``tol``; the best iterate is returned, never NaN; ``warning`` when ``C_h`` has not decayed at
        ``tau_max`` or the embedding clipped spectrum).

    Raises:
        ValueError: negative gains, ``method="gaussian"`` or ``lyapunov_method="eigen"`` with
            ``alpha_z > 0``, a bad grid. TypeError: non-numeric arguments.

    References:
        CKS20, arXiv:2002.00025 (the GRU's effective process and the bound below (004-52));
        Eissfeller & Opper (1992); docs/theory/gated.md §4.1, §4.4, §4.7, §4.8.

    >>> from rnndyn.meanfield import discrete_meanfield
    >>> r = gru_dmft(4.0, bias_z=30.0, tau_max=8, degree=20)  # z -> 1: the vanilla map, g = g_h / 2
    >>> m = discrete_meanfield(2.0)                           # its mean-field q and lambda
    >>> round(r.c_h0 * 4, 3), round(r.lambda_max, 4), round(m.q, 3), round(m.lambda_max, 4)
    (2.121, 0.1547, 2.121, 0.1547)
    """

    g_h = check_real(g_h, "g_h", low=0.0, low_open=True)
    alpha_z = check_real(alpha_z, "alpha_z", low=0.0)
    alpha_r = check_real(alpha_r, "alpha_r", low=0.0)
    bias_z = check_real(bias_z, "bias_z", low=-40.0, high=40.0)
    bias_r = check_real(bias_r, "bias_r", low=-40.0, high=40.0)
    method = check_choice(method, "method", ("auto", "gaussian", "sampled"))
    lyapunov_method = check_choice(lyapunov_method, "lyapunov_method", ("auto", "eigen", "sampled"))
    initial = check_choice(initial, "initial", ("decaying", "constant"))
    o = _common_checks(dict(
        tau_max=tau_max, n_samples=n_samples, burn_in=burn_in, window=window, tol=tol, max_iter=max_iter,
        degree=degree, chunk=chunk, initial_amplitude=initial_amplitude, seed=seed, progress=progress,
    ))  # fmt: skip
    lyapunov = check_flag(lyapunov, "lyapunov")
    device = check_device(device)
    if method == "auto":
        method = "gaussian" if alpha_z == 0 else "sampled"
    if method == "gaussian" and alpha_z > 0:
        raise ValueError(
            f"`method`='gaussian' needs alpha_z = 0 (h is not a linear filter otherwise); got {alpha_z}"
        )
    if lyapunov_method == "auto":
        lyapunov_method = "eigen" if alpha_z == 0 else "sampled"
    if lyapunov_method == "eigen" and alpha_z > 0:
        raise ValueError(f"`lyapunov_method`='eigen' needs alpha_z = 0; got alpha_z={alpha_z}")
    if initial == "constant" and method != "gaussian":
        raise ValueError("`initial`='constant' (the fixed-point solution) needs method='gaussian'")
    params = {"g_h": g_h, "alpha_z": alpha_z, "alpha_r": alpha_r, "bias_z": bias_z, "bias_r": bias_r}
    K = o["tau_max"]
    grid = Grid(1.0, float(K))
    tau = np.arange(K + 1)
    amp = 1.0 if o["initial_amplitude"] is None else o["initial_amplitude"]
    # decay time min(10, tau_max / 10) steps: fewest Anderson maps over the tested points (g_h = 2.5-4,
    # z in (0.3, 1)) while C_h(tau_max) starts small (Anderson can also converge to the unstable
    # lag-independent FP solution from a nearly constant start)
    x0 = amp * (np.ones(K + 1) if initial == "constant" else np.exp(-tau / min(10.0, K / 10.0)))
    # the zero solution is linearly stable iff g_h sigma(b_r) < 1 (spectral radius of the zero-FP
    # Jacobian a + z g_h sigma(b_r) < 1): there an iterate that shrank by 1e-4 is in its basin
    s_r = float(sigmoid(np.array([bias_r]))[0])
    zero_below = 1e-4 * amp if g_h * s_r < 1.0 else ZERO_TOL * 10.0
    notes: list[str] = []
    status = SUCCESS
    gmap = _gru_gaussian_map(grid, g_h, alpha_r, bias_z, bias_r, o["degree"])
    xg, res_g, it_g = anderson(
        gmap, x0, tol=o["tol"] if method == "gaussian" else 1e-3, max_iter=o["max_iter"] if method == "gaussian" else 60,
        blocks=(slice(0, K + 1),), progress=progress if method == "gaussian" else None, depth=10, beta=1.0,
        zero_below=zero_below,
    )  # fmt: skip
    residual_fresh = float("nan")
    clipped = None
    sampler = None
    m_used = 0
    if method == "gaussian":
        c_h, residual, iters = xg, res_g, it_g
        if c_h[0] < ZERO_TOL:
            c_h, residual = np.zeros(K + 1), 0.0
        if residual >= o["tol"]:
            status = NOT_CONVERGED
            notes.append(
                f"residual {residual:.2g} >= tol {o['tol']:g} after {iters} iterations (raise max_iter)"
            )
    else:
        m_used = o["n_samples"]
        paths = _Paths(
            K=K, n_burn=o["burn_in"], n_win=o["window"], M=m_used, seed=o["seed"], chunk=o["chunk"],
            device=device,
        )  # fmt: skip
        sampler = _GRUSampler(
            paths, g_h=g_h, alpha_z=alpha_z, alpha_r=alpha_r, bias_z=bias_z, bias_r=bias_r, degree=o["degree"]
        )
        c_start = xg if xg[0] > ZERO_TOL else x0
        c_h, residual, iters = _solve_sampled(sampler, c_start, o, zero_below)
        if c_h[0] < ZERO_TOL:
            c_h, residual = np.zeros(K + 1), 0.0
        else:
            fresh = sampler.forward(c_h, offset=1)
            residual_fresh = float(np.max(np.abs(fresh["c_h"] - c_h)) / c_h[0])
            clipped = fresh["neg"]
            if residual >= o["tol"]:
                status = NOT_CONVERGED
                notes.append(
                    f"residual {residual:.2g} >= tol {o['tol']:g} after {iters} iterations (raise max_iter)"
                )
    c_sr, delta = _gru_fields(c_h, g_h, alpha_r, bias_r, o["degree"])
    c_phi = table(np.tanh, delta, o["degree"])
    c_z = _gate_corr(alpha_z * alpha_z * c_h, bias_z, o["degree"])
    # the zero solution's exponent (exact), also without lyapunov: it decides whether a collapse
    # onto C_h = 0 is the answer (stable) or a failed search (unstable)
    lam_zero = math.log(1.0 - float(sigmoid(np.array([bias_z]))[0]) * (1.0 - g_h * s_r))
    lam, lam_method = float("nan"), "not computed"
    if lyapunov:
        if c_h[0] < ZERO_TOL:
            lam = lam_zero
            lam_method = "zero fixed point: ln(1 - z + z g_h sigma(b_r)) (exact)"
        elif lyapunov_method == "eigen":
            lam = gru_gaussian_lyapunov(
                c_h, g_h=g_h, alpha_r=alpha_r, bias_z=bias_z, bias_r=bias_r, degree=o["degree"]
            )
            lam_method = "two-replica eigenproblem (derived; alpha_z = 0)"
        else:
            if sampler is None:
                raise ValueError("`lyapunov_method`='sampled' needs method='sampled'")
            lam, ok = _sampled_lyapunov(lambda q, la: sampler.tangent(c_h, q, la), c_h.copy(), tol=2e-4)
            lam_method = "sampled tangent process (derived)"
            if not ok:
                status = Status.worst(status, NOT_CONVERGED)
                notes.append("the sampled tangent iteration for lambda_max did not settle (40 maps)")
    variances = {
        "h": float(c_h[0]), "phi": float(c_phi[0]), "sigma_z": float(c_z[0]), "sigma_r": float(c_sr[0]),
        "eta_h": float(delta[0]), "eta_z": alpha_z**2 * float(c_h[0]), "eta_r": alpha_r**2 * float(c_h[0]),
    }  # fmt: skip
    return _finish(
        model="gru", params=params, method=method, tau=tau, c_h=c_h, c_phi=c_phi, c_c=np.zeros(K + 1),
        gates={"z": c_z, "r": c_sr}, variances=variances, residual=residual, residual_fresh=residual_fresh,
        iters=iters, m_used=m_used, lam=lam, lam_method=lam_method, notes=notes, status=status, o=o,
        clipped=clipped, fixed_point=initial == "constant", lam_zero=lam_zero,
    )  # fmt: skip


def lstm_dmft(
    g: float,
    *,
    alpha_f: float = 0.0,
    alpha_i: float = 0.0,
    alpha_o: float = 0.0,
    bias_f: float = 0.0,
    bias_i: float = 0.0,
    bias_o: float = 0.0,
    lyapunov: bool = True,
    tau_max: int = 100,
    n_samples: int = 2000,
    burn_in: int = 200,
    window: int = 1000,
    tol: float = 1e-7,
    max_iter: int = 200,
    initial_amplitude: float | None = None,
    seed: int = 0,
    device: str | torch.device = "cpu",
    degree: int = 40,
    chunk: int = 4000,
    progress: Callable[[int, float], None] | None = None,
) -> DiscreteDMFTResult:
    """Stationary DMFT of the discrete LSTM (:class:`rnndyn.LSTM`, zero candidate bias), sampled.

    The effective process (docs/theory/gated.md §4.5, (004-53)-(004-56)):

    .. math::
        c_t=f_tc_{t-1}+i_t\\phi(\\eta_c(t)),\\quad h_t=o_t\\phi(c_t),\\quad
        k_t=\\sigma(\\eta_k(t)+b_k),\\quad \\langle\\eta_k\\eta_k'\\rangle=\\alpha_k^2C_h(\\tau),\\
        \\langle\\eta_c\\eta_c'\\rangle=g^2C_h(\\tau),

    all fields independent. ``c`` and ``h`` are not Gaussian, so the map is sampled; the output gate
    is independent of ``c``, hence :math:`C_h=C_{\\sigma(o)}C_{\\phi(c)}` with the exact two-time
    integral :math:`C_{\\sigma(o)}` (only :math:`C_{\\phi(c)}` carries sampling noise).

    ``lambda_max`` per step (derived): the tangent :math:`\\delta c_t=f_t\\delta c_{t-1}+c_{t-1}
    \\sigma'_f\\xi_f+\\phi(\\eta_c)\\sigma'_i\\xi_i+i_t\\phi'(\\eta_c)\\xi_c`,
    :math:`\\delta h_t=o_t\\phi'(c_t)\\delta c_t+\\phi(c_t)\\sigma'_o\\xi_o`, the tangent fields
    Gaussian with covariances :math:`\\alpha_k^2K_h`, :math:`g^2K_h`, integrated on the frozen paths
    with the growth factor :math:`e^{-\\lambda}` per step; the largest ``lambda`` with Perron root 1.

    Args:
        g: candidate gain ``> 0``. alpha_f, alpha_i, alpha_o: gate gains ``>= 0``.
        bias_f, bias_i, bias_o: scalar gate biases (the model's); ``bias_c`` and a quenched bias
            variance are not supported.
        Others: as :func:`gru_dmft`.

    Returns:
        :class:`DiscreteDMFTResult` with ``c_phi`` = :math:`C_{\\phi(c)}`, ``c_c``, gates ``f, i, o``.

    Raises:
        ValueError: negative gains, a bad grid. TypeError: non-numeric arguments.

    References:
        CKS20, arXiv:2002.00025 §5; docs/theory/gated.md §4.5, §4.7.
    """

    g = check_real(g, "g", low=0.0, low_open=True)
    alphas = {
        k: check_real(v, f"alpha_{k}", low=0.0) for k, v in (("f", alpha_f), ("i", alpha_i), ("o", alpha_o))
    }
    biases = {
        k: check_real(v, f"bias_{k}", low=-40.0, high=40.0)
        for k, v in (("f", bias_f), ("i", bias_i), ("o", bias_o))
    }
    o = _common_checks(dict(
        tau_max=tau_max, n_samples=n_samples, burn_in=burn_in, window=window, tol=tol, max_iter=max_iter,
        degree=degree, chunk=chunk, initial_amplitude=initial_amplitude, seed=seed, progress=progress,
    ))  # fmt: skip
    lyapunov = check_flag(lyapunov, "lyapunov")
    device = check_device(device)
    params = {
        "g": g,
        **{f"alpha_{k}": v for k, v in alphas.items()},
        **{f"bias_{k}": v for k, v in biases.items()},
    }
    K = o["tau_max"]
    tau = np.arange(K + 1)
    amp = 0.5 if o["initial_amplitude"] is None else o["initial_amplitude"]
    x0 = amp * np.exp(-tau / 3.0)
    s = {k: float(sigmoid(np.array([b]))[0]) for k, b in biases.items()}
    # zero FP: c' = f c + i g W h, h = o c (linearised): Jacobian eigenvalues fill the disk centred at
    # sigma(b_f) with radius g sigma(b_i) sigma(b_o) (docs/theory/gated.md §5.7)
    rate0 = s["f"] + g * s["i"] * s["o"]
    zero_below = 1e-4 * amp if rate0 < 1.0 else ZERO_TOL * 10.0
    paths = _Paths(
        K=K, n_burn=o["burn_in"], n_win=o["window"], M=o["n_samples"], seed=o["seed"], chunk=o["chunk"],
        device=device,
    )  # fmt: skip
    sampler = _LSTMSampler(paths, g=g, alphas=alphas, biases=biases, degree=o["degree"])
    c_h, residual, iters = _solve_sampled(sampler, x0, o, zero_below)
    notes: list[str] = []
    status = SUCCESS
    residual_fresh = float("nan")
    clipped = None
    if c_h[0] < ZERO_TOL:
        c_h, residual = np.zeros(K + 1), 0.0
        fin = {"c_phic": np.zeros(K + 1), "c_c": np.zeros(K + 1)}
    else:
        fin = sampler.forward(c_h, want_all=True)
        fresh = sampler.forward(c_h, offset=1)
        residual_fresh = float(np.max(np.abs(fresh["c_h"] - c_h)) / c_h[0])
        clipped = fresh["neg"]
        if residual >= o["tol"]:
            status = NOT_CONVERGED
            notes.append(
                f"residual {residual:.2g} >= tol {o['tol']:g} after {iters} iterations (raise max_iter)"
            )
    gates = {k: sampler.gate_corr(k, c_h) for k in ("f", "i", "o")}
    lam_zero = math.log(rate0)  # the zero solution's exponent (exact), also without lyapunov
    lam, lam_method = float("nan"), "not computed"
    if lyapunov:
        if c_h[0] < ZERO_TOL:
            lam, lam_method = (
                lam_zero,
                "zero fixed point: ln(sigma(b_f) + g sigma(b_i) sigma(b_o)) (exact)",
            )
        else:
            lam, ok = _sampled_lyapunov(lambda q, la: sampler.tangent(c_h, q, la), c_h.copy(), tol=2e-4)
            lam_method = "sampled tangent process (derived)"
            if not ok:
                status = Status.worst(status, NOT_CONVERGED)
                notes.append("the sampled tangent iteration for lambda_max did not settle (40 maps)")
    variances = {
        "h": float(c_h[0]), "phi_c": float(fin["c_phic"][0]), "c": float(fin["c_c"][0]),
        **{f"sigma_{k}": float(v[0]) for k, v in gates.items()},
        "eta_c": g * g * float(c_h[0]), **{f"eta_{k}": alphas[k] ** 2 * float(c_h[0]) for k in alphas},
    }  # fmt: skip
    return _finish(
        model="lstm", params=params, method="sampled", tau=tau, c_h=c_h, c_phi=fin["c_phic"], c_c=fin["c_c"],
        gates=gates, variances=variances, residual=residual, residual_fresh=residual_fresh, iters=iters,
        m_used=o["n_samples"], lam=lam, lam_method=lam_method, notes=notes, status=status, o=o, clipped=clipped,
        lam_zero=lam_zero,
    )  # fmt: skip

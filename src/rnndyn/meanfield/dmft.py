"""Time-dependent DMFT of the continuous-time gated RNN (Krishnamurthy, Can, Schwab 2022).

The network (docs/theory/gated.md §2.4, (P-1); KCS22, arXiv:2007.14823)

.. math::
    \\dot h_i=\\sigma(z_i)\\Big[-h_i+g_h\\sum_j J^h_{ij}\\sigma(r_j)\\phi(h_j)\\Big],\\quad
    \\dot z_i=-z_i+\\alpha_z\\sum_jJ^z_{ij}\\phi(h_j),\\quad
    \\dot r_i=-r_i+\\alpha_r\\sum_jJ^r_{ij}\\phi(h_j),\\qquad J_{ij}\\sim\\mathcal N(0,1/N),

becomes, as ``N -> infinity``, one site driven by independent Gaussian fields (docs/theory/gated.md
§4.6): :math:`\\dot h=\\sigma(z)(-h+g_h\\eta_h)`, :math:`\\dot z=-z+\\alpha_z\\eta_z`,
:math:`\\dot r=-r+\\alpha_r\\eta_r` with :math:`\\langle\\eta_h\\eta_h'\\rangle=C_\\phi C_{\\sigma(r)}`
and :math:`\\langle\\eta_z\\eta_z'\\rangle=\\langle\\eta_r\\eta_r'\\rangle=C_\\phi`. ``z`` and ``r`` are
Gaussian (linear filters of Gaussian fields): in the stationary state their spectra are
:math:`\\alpha^2 S_\\phi(\\omega)/(1+\\omega^2)`, and :math:`C_{\\sigma(r)}` is an exact two-time
Gaussian integral of :math:`C_r`. Only ``h`` is non-Gaussian (for ``alpha_z > 0``).

Two solvers of the stationary self-consistency, both on a lag grid ``tau_k = k dt``:

* :func:`gated_dmft` with ``method="gaussian"`` (``alpha_z = 0`` only): ``h`` is Gaussian and
  :math:`(1-\\bar s^{-2}\\partial_\\tau^2)C_h=g_h^2C_\\phi C_{\\sigma(r)}`,
  :math:`(1-\\partial_\\tau^2)C_r=\\alpha_r^2C_\\phi` (docs/theory/gated.md §4.6), solved exactly in
  Fourier space with Chebyshev-tabulated two-time integrals and Anderson acceleration.
* ``method="sampled"`` (any ``alpha_z``): the Eissfeller–Opper iteration (docs/theory/gated.md
  §4.7). ``M`` paths of ``eta_h`` and ``z`` are drawn from the current correlations by circulant
  embedding (FFT), ``h`` is integrated with Heun's method, and :math:`C_\\phi` is re-estimated. The
  random numbers are frozen across iterations (sample-average approximation), so the map is
  deterministic and Anderson acceleration applies; the statistical error is then measured as the
  residual against a *fresh* set of paths, which falls as ``1/sqrt(M)``.

The maximal Lyapunov exponent (docs/theory/gated.md §4.8) comes from the linearised (tangent)
single-site process with exponential growth :math:`e^{\\lambda t}`: the tangent fields are
Gaussian with a kernel ``Q(tau)`` that must reproduce itself; :math:`\\lambda_{\\max}` is the
largest ``lambda`` at which the Perron root of that linear map is 1. For ``alpha_z = 0`` this is the
two-replica eigenproblem of §4.8, solved deterministically; for ``alpha_z > 0`` the tangent paths
are sampled on the frozen forward paths.

References:
    K. Krishnamurthy, T. Can, D. J. Schwab, Theory of gating in recurrent neural networks,
    Phys. Rev. X 12, 011011 (2022), arXiv:2007.14823; H. Sompolinsky, A. Crisanti,
    H.-J. Sommers, PRL 61, 259 (1988); H. Eissfeller, M. Opper, PRL 68, 2094 (1992);
    docs/theory/gated.md §4.6-4.8.
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
    heun_coefficients,
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
#: sigma(0): the constant update / reset gate when alpha = 0 at zero bias.
S_BAR = 0.5
#: Sampled route: beyond these (clipped fraction of the circulant spectrum, C_h(tau_max)/C_h(0))
#: the lag window does not resolve the stationary solution and the status is ``not_converged``.
UNRESOLVED_CLIP = 1e-2
UNRESOLVED_TAIL = 0.05


# ----------------------------------------------------------------------------------------------
# results


@dataclass(frozen=True, kw_only=True)
class DMFTResult(Result):
    """Stationary DMFT solution of the gated flow at one ``(g_h, alpha_z, alpha_r)``.

    Attributes:
        g_h, alpha_z, alpha_r: parameters (zero biases, unit gate time constants).
        method: ``"gaussian"`` (exact, alpha_z = 0) or ``"sampled"``.
        tau: lags ``0, dt, ..., tau_max`` (per unit time).
        c_h, c_phi, c_sigma_r, c_z, c_r: :math:`C_h(\\tau)`, :math:`C_\\phi`, :math:`C_{\\sigma(r)}`,
            :math:`C_z`, :math:`C_r` on ``tau``.
        c_h0, c_phi0, c_sigma_r0, c_z0, c_r0: the equal-time values.
        relaxation_time: :math:`\\int_0^{\\tau_{\\max}}C_h(\\tau)d\\tau/C_h(0)` (0 at the zero FP).
        lambda_max: maximal Lyapunov exponent per unit time (NaN when not requested).
        lambda_method: how it was computed.
        residual: sup-norm self-consistency residual of :math:`C_\\phi` relative to
            :math:`C_\\phi(0)` (for ``"sampled"``: of the frozen-noise map).
        residual_fresh: ``"sampled"`` only: the residual against an independent set of paths
            (the statistical error, ~ ``1/sqrt(M)``); NaN for ``"gaussian"``.
        iterations, n_samples, dt: solver settings actually used.
        zero_fixed_point: whether the solution is ``C_h = 0`` (activity decays).
        status, message, checks: :class:`rnndyn.Status` and the self-checks (residual, decay of
            the correlations at ``tau_max``, circulant embedding).
    """

    g_h: float
    alpha_z: float
    alpha_r: float
    method: str
    c_h0: float
    c_phi0: float
    c_sigma_r0: float
    c_z0: float
    c_r0: float
    relaxation_time: float
    lambda_max: float
    lambda_method: str
    residual: float
    residual_fresh: float
    iterations: int
    n_samples: int
    dt: float
    zero_fixed_point: bool
    tau: np.ndarray = field(repr=False)
    c_h: np.ndarray = field(repr=False)
    c_phi: np.ndarray = field(repr=False)
    c_sigma_r: np.ndarray = field(repr=False)
    c_z: np.ndarray = field(repr=False)
    c_r: np.ndarray = field(repr=False)
    units: str = "per unit time"

    _repr_fields = ("g_h", "alpha_z", "alpha_r", "method", "c_h0", "lambda_max", "residual")

    def summary(self) -> str:
        return (
            f"DMFT gated flow g_h={self.g_h:g} alpha_z={self.alpha_z:g} alpha_r={self.alpha_r:g} "
            f"[{self.method}]: C_h(0)={self.c_h0:.5g}, tau_relax={self.relaxation_time:.4g}, "
            f"lambda_max={self.lambda_max:.5g}, residual={self.residual:.2g}, status={self.status}"
        ) + summary_tail(self)

    def plot(self, path: str | Path) -> Path:
        """Save a figure of the correlation functions (matplotlib, imported lazily)."""
        from rnndyn.meanfield._figures import plot_gated_dmft

        return plot_gated_dmft(self, path)


# ----------------------------------------------------------------------------------------------
# gate correlations


def _gate_corrs(c_r: np.ndarray, degree: int) -> tuple[np.ndarray, np.ndarray]:
    """``C_sigma(r)`` and ``C_sigma'(r)`` from the Gaussian ``C_r``."""
    return table(sigmoid, c_r, degree), table(dsigmoid, c_r, degree)


# ----------------------------------------------------------------------------------------------
# exact Gaussian route (alpha_z = 0)


def _gaussian_map(grid: Grid, g_h: float, alpha_r: float, degree: int):
    fh = g_h * g_h / (1.0 + grid.omega**2 / S_BAR**2)
    fr = 1.0 / (1.0 + grid.omega**2)
    n = grid.K + 1

    def fmap(x: np.ndarray) -> np.ndarray:
        # x = (C_h, C_r / alpha_r^2): both blocks are O(C_phi), so one Anderson step suits both
        ch, cr = x[:n], alpha_r * alpha_r * x[n:]
        cphi = table(np.tanh, ch, degree)
        csr = table(sigmoid, cr, degree) if alpha_r > 0 else np.full(n, S_BAR**2)
        return np.concatenate([grid.filt(cphi * csr, fh), grid.filt(cphi, fr)])

    return fmap


def _initial_guess(grid: Grid, g_h: float, alpha_r: float, amplitude: float | None) -> np.ndarray:
    a = max(g_h * g_h / 2.0, 1.0) if amplitude is None else amplitude
    ch = a * np.exp(-grid.tau / 4.0)
    return np.concatenate([ch, 0.5 * np.exp(-grid.tau / 4.0)])


# ----------------------------------------------------------------------------------------------
# Lyapunov exponent: tangent process


def gaussian_lyapunov(
    tau: np.ndarray,
    c_h: np.ndarray,
    c_r: np.ndarray,
    *,
    g_h: float,
    alpha_r: float,
    degree: int = 40,
) -> float:
    """:math:`\\lambda_{\\max}` of the gated flow at ``alpha_z = 0`` from the two-replica eigenproblem.

    With :math:`K(t,t')=e^{\\lambda(t+t')}\\psi(t-t')` (docs/theory/gated.md §4.8, derived; SCS 1988
    for the ungated case):

    .. math::
        \\big[(1+\\lambda/\\bar s)^2-\\bar s^{-2}\\partial_\\tau^2\\big]\\psi_h
        =g_h^2\\big[C_{\\sigma(r)}C_{\\phi'}\\psi_h+C_\\phi C_{\\sigma'(r)}\\psi_r\\big],\\qquad
        \\big[(1+\\lambda)^2-\\partial_\\tau^2\\big]\\psi_r=\\alpha_r^2C_{\\phi'}\\psi_h,

    :math:`\\bar s=\\sigma(0)=1/2`. Eliminating :math:`\\psi_r` gives a positive operator
    :math:`T_\\lambda` on even functions of :math:`\\tau`; :math:`\\lambda_{\\max}` is the root of
    ``Perron(T_lambda) = 1`` (decreasing in lambda). At the zero fixed point it is
    :math:`-1/2+g_h/4` exactly.

    Args:
        tau: uniform lag grid from 0 (the correlations must have decayed at its end).
        c_h, c_r: stationary :math:`C_h(\\tau)`, :math:`C_r(\\tau)`.
        g_h, alpha_r: gains.
        degree: Chebyshev degree of the two-time integral tables.

    Returns:
        lambda_max per unit time.

    References:
        Krishnamurthy, Can, Schwab (2022), arXiv:2007.14823 (their analytic lambda_max formula was not
        available to us; this is the derived two-replica form); docs/theory/gated.md §4.8.
    """
    grid = Grid(float(tau[1] - tau[0]), float(tau[-1]))
    if grid.K + 1 != tau.size:
        raise ValueError(f"`tau` must be a uniform grid from 0; got {tau.size} points")
    c_dphi = table(dtanh, c_h, degree)
    c_phi = table(np.tanh, c_h, degree)
    if alpha_r > 0:
        c_sr, c_dsr = _gate_corrs(c_r, degree)
    else:
        c_sr, c_dsr = np.full(tau.size, S_BAR**2), np.full(tau.size, dsigmoid(np.zeros(1))[0] ** 2)
    w2 = grid.omega**2
    a_h = g_h * g_h * c_sr * c_dphi
    a_r = g_h * g_h * c_phi * c_dsr

    def make(lam: float) -> Callable[[np.ndarray], np.ndarray]:
        inv_a = 1.0 / ((1.0 + lam / S_BAR) ** 2 + w2 / S_BAR**2)
        inv_b = alpha_r * alpha_r / ((1.0 + lam) ** 2 + w2)

        def apply(psi: np.ndarray) -> np.ndarray:
            src = a_h * psi
            if alpha_r > 0:
                src = src + a_r * grid.filt(c_dphi * psi, inv_b)
            return grid.filt(src, inv_a)

        return apply

    state: dict = {"v": None}

    def f(lam: float) -> float:
        mu, v = perron(make(lam), tau.size, state["v"])
        state["v"] = np.abs(v)
        return math.log(max(mu, 1e-300))

    lo = -S_BAR * (1 - 1e-6)
    hi = 1.0
    while f(hi) > 0:
        hi *= 2.0
        if hi > 1e3:
            raise RuntimeError("lambda_max bracket failed (no root below 1e3)")
    return float(brentq(f, lo, hi, xtol=1e-10, rtol=1e-12))


# ----------------------------------------------------------------------------------------------
# sampled route


class _Sampler:
    """Frozen-noise Monte Carlo of the single-site process (and optionally its tangent)."""

    def __init__(
        self,
        grid: Grid,
        *,
        g_h: float,
        alpha_z: float,
        alpha_r: float,
        n_samples: int,
        burn_in: float,
        window: float,
        seed: int,
        device: torch.device,
        chunk: int,
        degree: int,
        h_start: str = "field",
    ) -> None:

        self.grid, self.g_h, self.alpha_z, self.alpha_r = grid, g_h, alpha_z, alpha_r
        self.M, self.seed, self.device, self.chunk, self.degree = n_samples, seed, device, chunk, degree
        self.h_start = check_choice(h_start, "h_start", ("field", "zero"))
        self.n_burn = int(round(burn_in / grid.dt))
        self.n_win = max(int(round(window / grid.dt)), grid.K + 1)
        self.n_t = self.n_burn + self.n_win
        # circulant embedding on lags 0..n_t (size 2 n_t) and its angular frequencies
        self.P = 2 * self.n_t
        self.omega = 2.0 * np.pi * np.fft.fftfreq(self.P, grid.dt)
        self.nfft = fast_size(self.n_win + grid.K + 1)  # zero padding: linear (not circular) lags
        self._cache: dict[tuple, torch.Tensor] = {}

    # -- Gaussian path generation --------------------------------------------------------------
    def _noise(self, key: tuple, m: int, gen: torch.Generator) -> torch.Tensor:
        """Complex standard normals for ``m`` paths; frozen (cached) for the iteration's own keys.

        Drawn in float32 (the stream is part of the frozen-noise map, kept as it was) and held
        as complex128, so that a map evaluation does not convert them again."""
        import torch

        if key in self._cache:
            return self._cache[key]
        half = (m + 1) // 2
        re = torch.randn(half, self.P, generator=gen, dtype=torch.float32)
        im = torch.randn(half, self.P, generator=gen, dtype=torch.float32)
        w = torch.complex(re, im).to(device=self.device, dtype=torch.complex128)
        if key[0] >= 0:
            self._cache[key] = w
        return w

    def _paths(self, sq: np.ndarray, w: torch.Tensor, m: int) -> torch.Tensor:
        """``m`` real paths (length n_t) with circulant sqrt-spectrum ``sq`` (two per complex draw).

        Time-major: returns ``(n_t, m)``, column ``j`` the real part of draw ``j`` for
        ``j < half`` and the imaginary part of draw ``j - half`` after it."""
        import torch

        y = fft_last(w * torch.as_tensor(sq, device=self.device))[:, : self.n_t]
        half = y.shape[0]
        y = torch.view_as_real(y).permute(1, 2, 0).reshape(self.n_t, 2 * half)
        return y[:, :m]

    def _spectra(self, c_phi: np.ndarray) -> dict:
        """All circulant square-root spectra needed for the forward paths."""
        c_r = self.c_r(c_phi)
        c_sr = table(sigmoid, c_r, self.degree) if self.alpha_r > 0 else np.full(c_phi.size, S_BAR**2)
        sq_eta, neg = circulant_sqrt(c_phi * c_sr, self.n_t)
        sq_phi, _ = circulant_sqrt(c_phi, self.n_t)
        sq_z = self.alpha_z * sq_phi / np.sqrt(1.0 + self.omega**2)
        return {"eta": sq_eta, "z": sq_z, "neg": neg}

    def _forward_noise(self, sp: dict, m: int, ci: int, seed_offset: int) -> tuple:
        import torch

        gen = torch.Generator().manual_seed(self.seed * 1_000_003 + seed_offset * 7919 + ci)
        key = 0 if seed_offset == 0 else -1  # only the iteration's own noise is cached
        eta = self._paths(sp["eta"], self._noise((key, ci, "eta"), m, gen), m)
        z = self._paths(sp["z"], self._noise((key, ci, "z"), m, gen), m) if self.alpha_z > 0 else None
        return eta, z

    def c_r(self, c_phi: np.ndarray) -> np.ndarray:
        return self.grid.filt(c_phi, self.alpha_r**2 / (1.0 + self.grid.omega**2))

    def c_z(self, c_phi: np.ndarray) -> np.ndarray:
        return self.grid.filt(c_phi, self.alpha_z**2 / (1.0 + self.grid.omega**2))

    def _autocorr(self, x: torch.Tensor) -> torch.Tensor:
        """Sum over paths of the unbiased lag autocorrelation (lags 0..K) of the columns of the
        time-major ``x`` ``(n_win, m)``: the power spectra are summed before one inverse FFT."""
        import torch

        f = rfft_first(x, self.nfft)
        power = (f.real.square() + f.imag.square()).sum(1)
        ac = torch.fft.irfft(power, n=self.nfft)[: self.grid.K + 1]
        denom = torch.arange(self.n_win, self.n_win - self.grid.K - 1, -1, device=x.device, dtype=x.dtype)
        return ac / denom

    # -- forward map ---------------------------------------------------------------------------
    def forward(self, c_phi: np.ndarray, *, seed_offset: int = 0, want_h: bool = False) -> dict:
        """New ``C_phi`` (and ``C_h``) from M paths; frozen noise for a fixed ``seed_offset``."""
        import torch

        sp = self._spectra(c_phi)
        K, dt, g = self.grid.K, self.grid.dt, self.g_h
        acc_phi = torch.zeros(K + 1, dtype=torch.float64, device=self.device)
        acc_h = torch.zeros_like(acc_phi)
        chunks = []
        done = 0
        ci = 0
        while done < self.M:
            m = min(self.chunk, self.M - done)
            eta, z = self._forward_noise(sp, m, ci, seed_offset)
            h = self._integrate(eta, z, g, dt)
            a = self._autocorr(torch.tanh(h))
            acc_phi += a
            chunks.append((a / m).cpu().numpy())
            if want_h:
                acc_h += self._autocorr(h)
            done += m
            ci += 1
        out = {"c_phi": (acc_phi / self.M).cpu().numpy(), "neg": sp["neg"], "chunks": chunks}
        if want_h:
            out["c_h"] = (acc_h / self.M).cpu().numpy()
        return out

    def _h_path(self, eta: torch.Tensor, z: torch.Tensor | None, g: float, dt: float) -> torch.Tensor:
        """Heun steps of dh/dt = sigma(z)(-h + g eta); the whole path ``(n_t, m)``.

        The path starts at ``h(0) = g eta(0)`` (``h_start="field"``, the default), the value a site
        relaxes to when its gate is open: for ``alpha_z > 0`` the gate closes sites for times far
        beyond any burn-in (rates sigma(z) spread over decades), and a start at 0 left those
        sites with too little variance (C_h(0) 7 % low at g_h = 4, alpha_z = 10). With
        ``alpha_z = 0`` the start is forgotten as exp(-burn_in/2). ``h_start="zero"``: the old start.

        The equation is linear in h, so Heun's step is ``h_{k+1} = a_k h_k + b_k`` with
        ``a_k = 1 - dt(s_k + s_{k+1})/2 + dt^2 s_k s_{k+1}/2``,
        ``b_k = dt(q_k + q_{k+1} - dt s_{k+1} q_k)/2``, ``q = s g eta``: the same numbers as the
        step-by-step loop, evaluated as a blocked scan (:func:`block_scan`) whose coefficients
        are formed block by block (48 steps), so that they stay in the cache."""
        import torch

        s_const = torch.full_like(eta[:, :1], S_BAR) if z is None else None

        def coefficients(t0: int, t1: int) -> tuple[torch.Tensor, torch.Tensor]:
            s = torch.sigmoid(z[t0 : t1 + 1]) if z is not None else s_const[t0 : t1 + 1]
            return heun_coefficients(s, s * (g * eta[t0 : t1 + 1]), dt)

        return block_scan(self._h0(eta, g), eta.shape[0] - 1, coefficients)

    def _h0(self, eta: torch.Tensor, g: float) -> torch.Tensor:
        return g * eta[0] if self.h_start == "field" else 0.0 * eta[0]

    def _integrate(self, eta: torch.Tensor, z: torch.Tensor | None, g: float, dt: float) -> torch.Tensor:
        """Heun steps of dh/dt = sigma(z)(-h + g eta); returns h on the window (n_win, m)."""
        return self._h_path(eta, z, g, dt)[self.n_burn :]

    def _integrate_stepwise(
        self, eta: torch.Tensor, z: torch.Tensor | None, g: float, dt: float
    ) -> torch.Tensor:
        """Reference: the step-by-step Heun loop of :meth:`_integrate` (time-major, ``(n_win, m)``)."""
        import torch

        m = eta.shape[1]
        s = torch.sigmoid(z) if z is not None else None
        h = self._h0(eta, g).clone()
        out = torch.empty(self.n_win, m, dtype=torch.float64, device=eta.device)
        ge = g * eta
        for k in range(self.n_t - 1):
            if k >= self.n_burn:
                out[k - self.n_burn] = h
            s0 = S_BAR if s is None else s[k]
            s1 = S_BAR if s is None else s[k + 1]
            k1 = s0 * (ge[k] - h)
            h = h + 0.5 * dt * (k1 + s1 * (ge[k + 1] - (h + dt * k1)))
        out[-1] = h
        return out

    # -- tangent map ----------------------------------------------------------------------------
    def tangent_setup(self, c_phi: np.ndarray) -> None:
        self._c_phi = c_phi
        self._sp = self._spectra(c_phi)
        c_r = self.c_r(c_phi)
        if self.alpha_r > 0:
            self._c_sr, self._c_dsr = _gate_corrs(c_r, self.degree)
        else:
            self._c_sr = np.full(c_phi.size, S_BAR**2)
            self._c_dsr = np.zeros(c_phi.size)
        self._fwd: dict[int, tuple] = {}  # the frozen forward paths per chunk (computed once)

    def _forward_paths(self, m: int, ci: int) -> dict:
        """The frozen forward paths of chunk ``ci`` as the lambda-independent coefficients of the
        tangent step (:meth:`_tangent_coefficients`), computed once per tangent root."""
        if ci not in self._fwd:
            eta, z = self._forward_noise(self._sp, m, ci, 0)
            h = self._h_path(eta, z, self.g_h, self.grid.dt)
            self._fwd[ci] = self._tangent_coefficients(eta, z, h, self.g_h, self.grid.dt)
        return self._fwd[ci]

    def tangent(self, q: np.ndarray, lam: float, *, seed_offset: int = 0) -> np.ndarray:
        """One application of the tangent map ``Q -> Q_new`` at growth rate ``lam``.

        ``Q(tau) = <phi'(h) u_h phi'(h') u_h'>`` is the covariance of the tangent fields of z and r;
        the tangent field of h has covariance ``C_sigma(r) Q + C_phi C_sigma'(r) K_r`` with
        ``K_r = filter(alpha_r^2 Q)`` (u_r Gaussian, independent of the site's own h and r).
        """
        import torch

        grid, dt, g = self.grid, self.grid.dt, self.g_h
        om2 = grid.omega**2
        k_r = grid.filt(q, self.alpha_r**2 / ((1.0 + lam) ** 2 + om2)) if self.alpha_r > 0 else 0.0
        sq_zeta, _ = circulant_sqrt(self._c_sr * q + self._c_phi * self._c_dsr * k_r, self.n_t)
        sq_q, _ = circulant_sqrt(q, self.n_t)
        sq_uz = self.alpha_z * sq_q / np.sqrt((1.0 + lam) ** 2 + self.omega**2)
        acc = torch.zeros(grid.K + 1, dtype=torch.float64, device=self.device)
        done = 0
        ci = 0
        while done < self.M:
            m = min(self.chunk, self.M - done)
            co = self._forward_paths(m, ci)  # the frozen forward paths
            gen2 = torch.Generator().manual_seed(self.seed * 1_000_003 + 500_009 + seed_offset * 7919 + ci)
            key = 1000 + seed_offset
            zeta = self._paths(sq_zeta, self._noise((key, ci, "zeta"), m, gen2), m)
            uz = self._paths(sq_uz, self._noise((key, ci, "uz"), m, gen2), m) if self.alpha_z > 0 else None
            w = self._tangent_window(co, zeta, uz, g, dt, lam)
            acc += self._autocorr(w)
            done += m
            ci += 1
        return (acc / self.M).cpu().numpy()

    def _integrate_tangent(
        self, eta, z, zeta, uz, g: float, dt: float, lam: float, *, h=None
    ) -> torch.Tensor:
        """Forward h and tangent u_h (Heun, jointly); returns phi'(h) u_h on the window (n_win, m).

        Given the forward path, Heun's step for ``du/dt = -(s + lam) u + s g zeta + s' xi u_z``
        (``xi = -h + g eta``, evaluated at Heun's predictor of h) is again
        ``u_{k+1} = a_k u_k + b_k``: a blocked scan, the same numbers as the joint loop."""
        if h is None:
            h = self._h_path(eta, z, g, dt)
        return self._tangent_window(self._tangent_coefficients(eta, z, h, g, dt), zeta, uz, g, dt, lam)

    def _tangent_coefficients(self, eta, z, h, g: float, dt: float) -> dict:  # noqa: ANN001
        """The parts of the tangent step that do not depend on lambda or the tangent fields:
        ``s = sigma(z)``, ``s'(z_k) xi_k`` at both ends of each step (``xi`` at Heun's predictor
        of h at the right end) and ``phi'(h)`` on the window. Kept per chunk for all tangent
        maps of one lambda root (the forward paths are frozen)."""
        import torch

        co: dict = {}
        if z is not None:
            s = torch.sigmoid(z)
            ds = s * (1.0 - s)
            s0 = s[:-1]
            xi0 = g * eta[:-1] - h[:-1]
            xi1 = g * eta[1:] - h[:-1] - dt * s0 * xi0  # xi at Heun's predictor of h
            co["dxi0"] = ds[:-1] * xi0
            co["dxi1"] = ds[1:] * xi1
        else:
            s = torch.full_like(eta[:, :1], S_BAR)
        co["s"] = s
        co["dphi"] = 1.0 - torch.tanh(h[self.n_burn :]) ** 2
        return co

    def _tangent_window(self, co: dict, zeta, uz, g: float, dt: float, lam: float):  # noqa: ANN001
        """phi'(h) u_h on the window from the coefficients of :meth:`_tangent_coefficients`:
        Heun's step of ``du/dt = -(s + lam) u + q``, ``q = s g zeta + s' xi u_z``, as the scan
        ``u_{k+1} = a_k u_k + b_k``, its coefficients formed block by block (:func:`block_scan`)."""
        import torch

        s, dxi0, dxi1 = co["s"], co.get("dxi0"), co.get("dxi1")

        def coefficients(t0: int, t1: int) -> tuple[torch.Tensor, torch.Tensor]:
            sb = s[t0 : t1 + 1]
            sgz = sb * (g * zeta[t0 : t1 + 1])
            q0, q1 = sgz[:-1], sgz[1:]
            if dxi0 is not None:
                q0 = q0 + dxi0[t0:t1] * uz[t0:t1]
                q1 = q1 + dxi1[t0:t1] * uz[t0 + 1 : t1 + 1]
            p0, p1 = sb[:-1] + lam, sb[1:] + lam
            a = 1.0 - 0.5 * dt * (p0 + p1) + 0.5 * dt * dt * p0 * p1
            return a.expand_as(q0), 0.5 * dt * (q0 + q1 - dt * p1 * q0)

        u = block_scan(torch.zeros_like(zeta[0]), zeta.shape[0] - 1, coefficients)
        return co["dphi"] * u[self.n_burn :]


def _sampled_lyapunov(
    sampler: _Sampler, c_phi: np.ndarray, *, tol: float, tol_q: float
) -> tuple[float, bool, int]:
    """Largest lambda with Perron(T_lambda) = 1 for the sampled tangent map (frozen noise):
    :func:`perron_root` started from ``Q = C_phi``. Returns ``(lambda, converged, maps)``."""
    sampler.tangent_setup(c_phi)
    return perron_root(sampler.tangent, c_phi.copy(), tol=tol, tol_q=tol_q)


def sample_correlations(
    tau: np.ndarray,
    c_phi: np.ndarray,
    *,
    g_h: float,
    alpha_z: float = 0.0,
    alpha_r: float = 0.0,
    n_samples: int = 2000,
    burn_in: float = 30.0,
    window: float = 100.0,
    seed: int = 0,
    device: str | torch.device = "cpu",
    degree: int = 40,
) -> dict:
    """One Monte Carlo step of the DMFT map: ``C_phi -> (C_phi_new, C_h)`` from ``n_samples`` paths.

    Draws ``eta_h`` (covariance :math:`C_\\phi C_{\\sigma(r)}`) and ``z`` (spectrum
    :math:`\alpha_z^2S_\\phi/(1+\\omega^2)`) by circulant embedding, integrates
    :math:`\\dot h=\\sigma(z)(-h+g_h\\eta_h)` (Heun, step ``tau[1]``), and re-estimates the
    correlations on the lags ``tau`` (docs/theory/gated.md §4.7). At a self-consistent solution
    ``C_phi_new - C_phi`` is pure sampling noise, of order ``1/sqrt(n_samples)``.

    Args:
        tau: uniform lag grid from 0. c_phi: :math:`C_\\phi(\tau)` on it.
        g_h, alpha_z, alpha_r: gains. n_samples: paths. burn_in, window: path lengths (time).
        seed: noise seed. device: torch device. degree: Chebyshev degree for :math:`C_{\\sigma(r)}`.

    Returns:
        dict with ``c_phi``, ``c_h`` (arrays on ``tau``), ``stderr`` (standard error of ``c_phi``
        per lag, from 8 independent batches) and ``clipped`` (fraction of the circulant spectrum
        clipped at 0).

    Raises:
        ValueError: bad grid or parameters.
    """

    tau = np.asarray(tau, dtype=float)
    c_phi = np.asarray(c_phi, dtype=float)
    if tau.ndim != 1 or tau.size < 3 or tau[0] != 0 or not np.allclose(np.diff(tau), tau[1]):
        raise ValueError(f"`tau` must be a uniform 1-D grid starting at 0; got shape {tau.shape}")
    if c_phi.shape != tau.shape or not np.all(np.isfinite(c_phi)):
        raise ValueError(f"`c_phi` must be finite with the shape of tau {tau.shape}; got {c_phi.shape}")
    g_h = check_real(g_h, "g_h", low=0.0, low_open=True)
    alpha_z = check_real(alpha_z, "alpha_z", low=0.0)
    alpha_r = check_real(alpha_r, "alpha_r", low=0.0)
    n_samples = check_positive_int(n_samples, "n_samples", minimum=16)
    grid = Grid(float(tau[1]), float(tau[-1]))
    sampler = _Sampler(
        grid, g_h=g_h, alpha_z=alpha_z, alpha_r=alpha_r, n_samples=n_samples, burn_in=burn_in,
        window=window, seed=seed, device=check_device(device), chunk=max(n_samples // 8, 2), degree=degree,
    )  # fmt: skip
    out = sampler.forward(c_phi, want_h=True)
    ch = np.stack(out["chunks"])
    stderr = ch.std(axis=0, ddof=1) / math.sqrt(ch.shape[0])
    return {"c_phi": out["c_phi"], "c_h": out["c_h"], "stderr": stderr, "clipped": out["neg"]}


# ----------------------------------------------------------------------------------------------
# public solver


def gated_dmft(
    g_h: float,
    *,
    alpha_z: float = 0.0,
    alpha_r: float = 0.0,
    method: str = "auto",
    lyapunov: bool = True,
    lyapunov_method: str = "auto",
    dt: float = 0.1,
    tau_max: float | None = None,
    n_samples: int = 2000,
    burn_in: float = 30.0,
    window: float = 100.0,
    tol: float = 1e-6,
    max_iter: int = 200,
    initial_amplitude: float | None = None,
    seed: int = 0,
    device: str | torch.device = "cpu",
    degree: int = 40,
    chunk: int = 2000,
    progress: Callable[[int, float], None] | None = None,
) -> DMFTResult:
    """Stationary DMFT of the continuous-time gated RNN (KCS22) at zero biases.

    Solves the self-consistency of docs/theory/gated.md §4.6 (the effective process (P-3))

    .. math::
        \\dot h=\\sigma(z)(-h+g_h\\eta_h),\\ \\dot z=-z+\\alpha_z\\eta_z,\\ \\dot r=-r+\\alpha_r\\eta_r,\\quad
        \\langle\\eta_h\\eta_h'\\rangle=C_\\phi C_{\\sigma(r)},\\ \\langle\\eta_z\\eta_z'\\rangle=\\langle\\eta_r\\eta_r'\\rangle=C_\\phi,

    for the stationary :math:`C_h(\\tau)`, :math:`C_\\phi(\\tau)`, :math:`C_{\\sigma(r)}(\\tau)`,
    :math:`C_z(\\tau)`, :math:`C_r(\\tau)`, starting from a large amplitude so that the chaotic
    solution is found where it coexists with the stable zero fixed point (the discontinuous
    transition at large ``alpha_r``). With ``lyapunov=True`` also
    :math:`\\lambda_{\\max}` (docs/theory/gated.md §4.8; see :func:`gaussian_lyapunov`).

    Args:
        g_h: candidate gain, ``> 0``.
        alpha_z, alpha_r: update- and reset-gate gains, ``>= 0``.
        method: ``"gaussian"`` (exact, requires ``alpha_z = 0``), ``"sampled"``, or ``"auto"``
            (gaussian when ``alpha_z = 0``).
        lyapunov: also compute ``lambda_max``.
        lyapunov_method: ``"eigen"`` (two-replica eigenproblem, needs ``alpha_z = 0``),
            ``"sampled"`` (tangent process on the sampled paths; needs ``method="sampled"``) or
            ``"auto"`` (eigen when ``alpha_z = 0``).
        dt: lag-grid spacing and (sampled) Heun step.
        tau_max: largest lag kept (default 100 for the Gaussian route, 50 for the sampled one).
        n_samples: paths per iteration (sampled). burn_in, window: path length discarded /
            used for the estimates (sampled), in units of time.
        tol: convergence tolerance of the sup-norm residual of the (frozen-noise) map.
        max_iter: Anderson iterations.
        initial_amplitude: initial ``C_h(0)`` guess (default ``max(g_h^2/2, 1)``); a small value
            finds the zero solution where both exist.
        seed: seed of the frozen noise (sampled). device: torch device (sampled).
        degree: Chebyshev degree of the two-time Gaussian integral tables.
        chunk: paths integrated at once (memory).
        progress: optional callback ``(iteration, residual)``.

    Returns:
        :class:`DMFTResult`; ``status`` is ``"not_converged"`` when the residual stays above
        ``tol`` (the best iterate is returned, never NaN) and, for the sampled route, when the
        lag window does not resolve the stationary solution (more than ``UNRESOLVED_CLIP`` of the
        circulant spectrum clipped or ``C_h(tau_max)/C_h(0) > UNRESOLVED_TAIL``: the slow regime
        of large ``alpha_z``, where the relaxation time grows with ``tau_max``; check
        ``lag_window_resolves``); ``"warning"`` when the correlations have not quite decayed at
        ``tau_max`` (enlarge it) or the circulant embedding clipped a little of the spectrum.

    Raises:
        ValueError: out-of-range parameters, ``method="gaussian"`` with ``alpha_z > 0``.

    References:
        Krishnamurthy, Can, Schwab, PRX 12, 011011 (2022), arXiv:2007.14823 (the DMFT of the gated
        RNN and its Lyapunov exponent); Sompolinsky, Crisanti, Sommers (1988);
        Eissfeller & Opper (1992); docs/theory/gated.md §4.6-4.8.

    >>> from rnndyn.meanfield import scs_dmft
    >>> r = gated_dmft(3.0, degree=20)  # alpha_z = alpha_r = 0: SCS with g = 1.5, time x 2
    >>> s = scs_dmft(1.5)               # (degree 20 moves c_h0 and lambda_max by < 1e-8 here)
    >>> round(r.c_h0, 4), round(r.lambda_max, 4), round(s.delta0, 4), round(s.lambda_max / 2, 4)
    (0.7477, 0.0234, 0.7477, 0.0234)
    """

    g_h = check_real(g_h, "g_h", low=0.0, low_open=True)
    alpha_z = check_real(alpha_z, "alpha_z", low=0.0)
    alpha_r = check_real(alpha_r, "alpha_r", low=0.0)
    method = check_choice(method, "method", ("auto", "gaussian", "sampled"))
    dt = check_real(dt, "dt", low=0.0, high=0.5, low_open=True)
    if tau_max is None:
        tau_max = 100.0 if (method == "gaussian" or (method == "auto" and alpha_z == 0)) else 50.0
    tau_max = check_real(tau_max, "tau_max", low=10 * dt)
    n_samples = check_positive_int(n_samples, "n_samples", minimum=2)
    burn_in = check_real(burn_in, "burn_in", low=0.0)
    window = check_real(window, "window", low=0.0)
    tol = check_real(tol, "tol", low=0.0, low_open=True)
    max_iter = check_positive_int(max_iter, "max_iter")
    degree = check_positive_int(degree, "degree", minimum=8)
    chunk = check_positive_int(chunk, "chunk", minimum=2)
    device = check_device(device)
    if initial_amplitude is not None:
        initial_amplitude = check_real(initial_amplitude, "initial_amplitude", low=0.0, low_open=True)
    seed = check_seed(seed)
    lyapunov = check_flag(lyapunov, "lyapunov")
    if method == "auto":
        method = "gaussian" if alpha_z == 0 else "sampled"
    lyapunov_method = check_choice(lyapunov_method, "lyapunov_method", ("auto", "eigen", "sampled"))
    if lyapunov_method == "auto":
        lyapunov_method = "eigen" if alpha_z == 0 else "sampled"
    if lyapunov_method == "eigen" and alpha_z > 0:
        raise ValueError(f"`lyapunov_method`='eigen' needs alpha_z = 0; got alpha_z={alpha_z}")
    if lyapunov_method == "sampled" and method == "gaussian":
        raise ValueError("`lyapunov_method`='sampled' needs method='sampled' (or 'auto' with alpha_z > 0)")
    if method == "gaussian" and alpha_z > 0:
        raise ValueError(
            f"`method`='gaussian' needs alpha_z = 0 (h is non-Gaussian otherwise); got alpha_z={alpha_z}"
        )
    grid = Grid(dt, tau_max)
    n = grid.K + 1

    # exact Gaussian solve: the answer for alpha_z = 0, the starting point for the sampled route
    gmap = _gaussian_map(grid, g_h, alpha_r, degree)
    blocks = (slice(0, n), slice(n, 2 * n))
    x0 = _initial_guess(grid, g_h, alpha_r, initial_amplitude)
    # below g_h = 2 the zero solution is linearly stable (rate -1/2 + g_h/4): an iterate that has
    # shrunk by 1e-4 is inside its basin. Above, only an exactly vanishing iterate counts.
    zero_below = 1e-4 * float(x0[0]) if g_h < 2.0 else ZERO_TOL * 10.0
    g_iters = max_iter if method == "gaussian" else min(max_iter, 60)
    xg, res_g, it_g = anderson(
        gmap, x0, tol=tol if method == "gaussian" else 1e-6, max_iter=g_iters,
        blocks=blocks, progress=progress if method == "gaussian" else None, depth=10, beta=1.0,
        zero_below=zero_below,
    )  # fmt: skip
    if xg[0] < ZERO_TOL:  # collapsed onto the zero solution: it is exact
        xg = np.zeros_like(xg)
        res_g = 0.0
    ch, cr = xg[:n], alpha_r * alpha_r * xg[n:]
    notes: list[str] = []
    status = SUCCESS
    residual_fresh = float("nan")
    clipped = 0.0
    m_used = 0
    sampler = None
    if method == "gaussian":
        residual, iters = res_g, it_g
        c_phi = table(np.tanh, ch, degree)
        c_z = np.zeros(n)
        if residual >= tol:
            status = NOT_CONVERGED
            notes.append(f"residual {residual:.2g} >= tol {tol:g} after {iters} iterations (raise max_iter)")
    else:
        m_used = n_samples
        sampler = _Sampler(
            grid, g_h=g_h, alpha_z=alpha_z, alpha_r=alpha_r, n_samples=n_samples, burn_in=burn_in,
            window=window, seed=seed, device=device, chunk=chunk, degree=degree,
        )  # fmt: skip
        c_start = (
            table(np.tanh, ch, degree)
            if ch[0] > 0
            else table(np.tanh, _initial_guess(grid, g_h, alpha_r, initial_amplitude)[:n], degree)
        )

        def smap(c: np.ndarray) -> np.ndarray:
            return sampler.forward(c)["c_phi"]

        c_phi, residual, iters = anderson(
            smap, c_start, tol=tol, max_iter=max_iter, blocks=(slice(0, n),), progress=progress,
            beta=0.7, zero_below=1e-4 * float(c_start[0]) if g_h < 2.0 else ZERO_TOL * 10.0,
        )  # fmt: skip
        if c_phi[0] < ZERO_TOL:
            c_phi = np.zeros(n)
            ch = np.zeros(n)
            residual = 0.0
        else:
            fin = sampler.forward(c_phi, want_h=True)
            ch = fin["c_h"]
            fresh = sampler.forward(c_phi, seed_offset=1)
            residual_fresh = float(np.max(np.abs(fresh["c_phi"] - c_phi)) / c_phi[0])
            clipped = float(fin["neg"])
            if clipped > 1e-3:
                status = WARNING
                notes.append(f"circulant embedding clipped {clipped:.1e} of the spectrum")
        cr = sampler.c_r(c_phi)
        c_z = sampler.c_z(c_phi)
        if residual >= tol and c_phi[0] > 0:
            status = NOT_CONVERGED
            notes.append(f"residual {residual:.2g} >= tol {tol:g} after {iters} iterations (raise max_iter)")
    zero = bool(ch[0] < ZERO_TOL)
    if alpha_r > 0:
        c_sr = table(sigmoid, cr, degree)
    else:
        c_sr = np.full(n, S_BAR**2)
    tail = float(np.mean(ch[-max(n // 10, 1) :])) / ch[0] if not zero else 0.0
    noise = 3.0 * residual_fresh if np.isfinite(residual_fresh) else 0.0
    if not zero and status == SUCCESS and abs(tail) > max(5e-3, noise):
        status = WARNING
        notes.append(f"C_h(tau_max)/C_h(0) = {tail:.2g}: correlations not decayed, raise tau_max")
    resolved = zero or method == "gaussian" or (clipped <= UNRESOLVED_CLIP and abs(tail) <= UNRESOLVED_TAIL)
    if not resolved:
        status = NOT_CONVERGED
        notes.append(
            f"the stationary solution is not resolved on the lag window (tau_max = {grid.tau[-1]:g}): "
            f"C_h(tau_max)/C_h(0) = {tail:.2g}, {clipped:.1e} of the embedding spectrum clipped, relaxation "
            f"time {relaxation_time(grid.tau, ch):.3g} = {relaxation_time(grid.tau, ch) / grid.tau[-1]:.2f} "
            + (
                f"tau_max. The update gate (C_z(0) = {c_z[0]:.3g}) holds sites closed for times that grow "
                "with the window, so C_h and the relaxation time depend on tau_max (lambda_max much less; "
                "docs/meanfield.md)"
                if alpha_z > 0
                else "tau_max: raise tau_max (and window)"
            )
        )
    # the zero solution's own exponent (exact at zero biases: KCS22's zero-FP spectrum, centre -1/2,
    # radius g_h/4); > 0: C_h = 0 is unstable, so an iteration that collapsed onto it did not find
    # the stationary solution
    lam_zero = -0.5 + g_h / 4.0
    lam, lam_method = float("nan"), "not computed"
    if lyapunov:
        if zero:
            lam, lam_method = lam_zero, "zero fixed point: -1/2 + g_h/4 (exact)"
        elif lyapunov_method == "eigen":
            lam = gaussian_lyapunov(grid.tau, ch, cr, g_h=g_h, alpha_r=alpha_r, degree=degree)
            lam_method = "two-replica eigenproblem (Gaussian h)"
        else:
            assert sampler is not None
            # log-mu tolerance 2e-4 and Perron-vector tolerance 1e-3: within 6e-5 of the exact root of
            # the frozen-noise map at five points (1e-3 in log mu: up to 2.7e-4, at g_h = 6, alpha_z = 5),
            # far below the sampling error of lambda
            lam, ok, _ = _sampled_lyapunov(sampler, c_phi, tol=2e-4, tol_q=1e-3)
            lam_method = "sampled tangent process"
            if not ok:
                status = Status.worst(status, NOT_CONVERGED)
                notes.append("the sampled tangent iteration for lambda_max did not settle (40 maps)")
    if zero and lam_zero <= 0.0:
        notes.append("the activity decays: the solution is the zero fixed point")
    checks = [
        Check(name="residual", passed=bool(residual < tol or zero), value=float(residual), tolerance=tol,
              detail="sup-norm self-consistency residual of the (frozen-noise) map", status=NOT_CONVERGED),
        Check(name="decay_at_tau_max", passed=bool(abs(tail) <= max(5e-3, noise)), value=abs(tail),
              tolerance=max(5e-3, noise), detail="C_h near tau_max relative to C_h(0); raise tau_max if not",
              status=WARNING),
    ]  # fmt: skip
    if zero:
        checks.append(Check(
            name="zero_solution_stable", passed=bool(lam_zero <= 0.0), value=lam_zero, tolerance=0.0,
            status=NOT_CONVERGED,
            detail="exponent -1/2 + g_h/4 of the zero solution; > 0: it is unstable and the iteration collapsed "
            "onto it (raise initial_amplitude or n_samples)",
        ))  # fmt: skip
        if lam_zero > 0.0:
            status = Status.worst(status, NOT_CONVERGED)
            notes.append(
                f"the iteration collapsed onto C_h = 0, which is unstable at g_h = {g_h:g} (its exponent "
                f"-1/2 + g_h/4 = {lam_zero:.3g} > 0): the stationary solution was not found; raise "
                "initial_amplitude or n_samples"
            )
    if method == "sampled" and not zero:
        checks.append(Check(
            name="lag_window_resolves", passed=bool(resolved), value=max(clipped, abs(tail)),
            tolerance=UNRESOLVED_TAIL, status=NOT_CONVERGED,
            detail=f"circulant embedding clipped <= {UNRESOLVED_CLIP:g} and C_h(tau_max)/C_h(0) <= {UNRESOLVED_TAIL:g}",
        ))  # fmt: skip
    return DMFTResult(
        g_h=g_h, alpha_z=alpha_z, alpha_r=alpha_r, method=method, c_h0=float(ch[0]),
        c_phi0=float(c_phi[0]), c_sigma_r0=float(c_sr[0]), c_z0=float(c_z[0]), c_r0=float(cr[0]),
        relaxation_time=relaxation_time(grid.tau, ch), lambda_max=float(lam), lambda_method=lam_method,
        residual=float(residual), residual_fresh=residual_fresh, iterations=int(iters), n_samples=m_used,
        dt=dt, zero_fixed_point=zero, tau=grid.tau, c_h=ch, c_phi=c_phi, c_sigma_r=c_sr, c_z=c_z, c_r=cr,
        status=status, message="; ".join(notes), checks=tuple(checks),
    )  # fmt: skip


# ----------------------------------------------------------------------------------------------
# the chaotic solution across the plane: onset line and per-point theory


@dataclass(frozen=True, kw_only=True)
class ChaosOnsetResult(Result):
    """Onset gain ``g_c(alpha_r)`` of the chaotic DMFT solution (alpha_z = 0, zero biases).

    Attributes:
        alpha_r: reset-gate gain.
        g_c: smallest ``g_h`` (to ``tol``) with a nonzero stationary DMFT solution; 2 where the
            transition is continuous (the chaotic solution grows from zero at the zero-FP line).
        discontinuous: ``g_c < 2``: the chaotic solution appears with a finite amplitude while
            the zero fixed point is still stable (region 3 of KCS22).
        c_h0_at_onset, lambda_at_onset: ``C_h(0)`` and ``lambda_max`` of the chaotic solution at
            the upper bracket ``g_c + tol`` (finite at a discontinuous transition).
        bracket: the final ``(zero, chaotic)`` gains. status, message.
    """

    alpha_r: float
    g_c: float
    discontinuous: bool
    c_h0_at_onset: float
    lambda_at_onset: float
    bracket: tuple[float, float]


def chaos_onset(
    alpha_r: float,
    *,
    g_min: float = 1.2,
    tol: float = 5e-3,
    dt: float = 0.2,
    tau_max: float = 100.0,
    progress: Callable[[float, bool], None] | None = None,
) -> ChaosOnsetResult:
    """Onset line ``g_c(alpha_r)`` of the chaotic solution of the gated-flow DMFT (alpha_z = 0).

    The stationary DMFT (:func:`gated_dmft`, exact Gaussian route) is solved from a large initial
    amplitude; a nonzero solution means a time-dependent (chaotic) state exists. ``g_c`` is
    bracketed by bisection in ``g_h`` on ``[g_min, 2]``. For small ``alpha_r`` the chaotic solution
    bifurcates continuously from ``C_h = 0`` at ``g_h = 2`` (``g_c = 2``); for large ``alpha_r`` it
    appears with a finite amplitude and a positive ``lambda_max`` below 2, where the zero fixed
    point is still linearly stable: the discontinuous transition (KCS22, region 3;
    docs/theory/gated.md §4.8, §6.3). Near ``g_c`` the iteration slows down (a saddle-node of
    solutions), so points within ``tol`` of the line are uncertain.

    Args:
        alpha_r: reset-gate gain, ``>= 0``.
        g_min: lower end of the search (``>= 0.5``; returned as ``g_c`` with status
            ``"warning"`` if the chaotic solution exists already there).
        tol: bisection tolerance in ``g_h``.
        dt, tau_max: lag grid of the DMFT solves.
        progress: optional callback ``(g_h, chaotic)`` per solve.

    Returns:
        :class:`ChaosOnsetResult`.

    Raises:
        ValueError: bad arguments.

    References:
        Krishnamurthy, Can, Schwab, PRX 12, 011011 (2022), arXiv:2007.14823 (phase diagram);
        docs/theory/gated.md §6.2 (recipe 4a).
    """
    alpha_r = check_real(alpha_r, "alpha_r", low=0.0)
    g_min = check_real(g_min, "g_min", low=0.5, high=2.0, high_open=True)
    tol = check_real(tol, "tol", low=1e-4)

    def chaotic(g: float) -> tuple[bool, DMFTResult]:
        r = gated_dmft(g, alpha_r=alpha_r, lyapunov=False, dt=dt, tau_max=tau_max)
        ok = not r.zero_fixed_point
        if progress is not None:
            progress(g, ok)
        return ok, r

    top = 2.0 - 1e-3
    is_c, r_top = chaotic(top)
    if not is_c:
        return ChaosOnsetResult(
            alpha_r=alpha_r, g_c=2.0, discontinuous=False, c_h0_at_onset=0.0, lambda_at_onset=float("nan"),
            bracket=(top, 2.0), status=SUCCESS, message="continuous transition at the zero-FP line g_h = 2",
        )  # fmt: skip
    is_c, r_lo = chaotic(g_min)
    if is_c:
        return ChaosOnsetResult(
            alpha_r=alpha_r, g_c=g_min, discontinuous=True, c_h0_at_onset=r_lo.c_h0, lambda_at_onset=float("nan"),
            bracket=(g_min, g_min), status=WARNING, message=f"chaotic solution exists already at g_min = {g_min}",
        )  # fmt: skip
    lo, hi, r_hi = g_min, top, r_top
    while hi - lo > tol:
        mid = 0.5 * (lo + hi)
        is_c, r = chaotic(mid)
        if is_c:
            hi, r_hi = mid, r
        else:
            lo = mid
    lam = gaussian_lyapunov(r_hi.tau, r_hi.c_h, r_hi.c_r, g_h=hi, alpha_r=alpha_r)
    return ChaosOnsetResult(
        alpha_r=alpha_r, g_c=0.5 * (lo + hi), discontinuous=True, c_h0_at_onset=r_hi.c_h0, lambda_at_onset=lam,
        bracket=(lo, hi), status=SUCCESS,
        message=f"chaotic solution exists for g_h >= {hi:.4f}, decays at {lo:.4f} (zero FP stable below 2)",
    )  # fmt: skip


def dmft_phase_point(g_h: float, alpha_r: float, *, alpha_z: float = 0.0, n_samples: int = 2000) -> dict:
    """Per-point DMFT theory for a (g_h, alpha_r) phase diagram: is there chaos, and how much.

    Returns a dict: ``chaotic`` (a nonzero stationary DMFT solution, found from a large initial
    amplitude), ``c_h0``, ``relaxation_time``, ``lambda_max`` (of the chaotic solution, or
    ``-1/2 + g_h/4`` at the zero FP), ``zero_fp_stable`` (``g_h < 2``), ``status``, ``message``.
    Region 3 of KCS22 is ``chaotic and zero_fp_stable``. ``alpha_z > 0`` uses the sampled route
    (``n_samples`` paths) and is ~5x slower (6-8 s CPU per point with lambda_max at M = 2000).

    References:
        Krishnamurthy, Can, Schwab (2022), arXiv:2007.14823; docs/theory/gated.md §4.6-4.8, §6.
    """
    r = gated_dmft(g_h, alpha_r=alpha_r, alpha_z=alpha_z, n_samples=n_samples)
    return {
        "chaotic": not r.zero_fixed_point,
        "c_h0": r.c_h0,
        "relaxation_time": r.relaxation_time,
        "lambda_max": r.lambda_max,
        "zero_fp_stable": g_h < 2.0,
        "status": r.status,
        "message": r.message,
    }


def dmft_region_point(model: str, g_h: float, alpha_r: float, alpha_z: float, theta: float) -> dict:
    """Per-point theory ``"dmft"`` for ``rd.phase_diagram``: regions 1-5 with the time-dependent DMFT.

    Regions (KCS22; docs/theory/gated.md §6.1): below the zero-FP line ``g_h < 2`` the point is 3
    (stable FP and chaos) when the DMFT has a chaotic solution (:func:`dmft_phase_point`), else
    2 when nonzero fixed points exist (``g_h > g*``), else 1. Above it, 5 when a nonzero MFT
    fixed point has ``1 < rho < 1/(1 - theta)`` (marginal stability as alpha_z -> infinity), else
    4. The DMFT runs at the given ``alpha_z`` (sampled route when > 0). Returns ``region`` plus
    ``lambda_max``, ``c_h0``, ``relaxation_time`` and ``chaotic`` (0/1) as floats.

    Raises:
        ValueError: ``model`` other than ``"gated_flow"`` (the discrete GRU DMFT is not built).
    """
    from rnndyn.meanfield.gated import fixed_points

    if model != "gated_flow":
        raise ValueError(f"`model` must be 'gated_flow' for theory='dmft'; got {model!r}")
    pt = dmft_phase_point(g_h, alpha_r, alpha_z=alpha_z)
    fp = fixed_points(g_h, alpha_r, model="gated_flow", alpha_z=alpha_z)
    if g_h < 2.0:
        region = 3 if pt["chaotic"] else (2 if fp.n_nonzero > 0 else 1)
    else:
        marginal = bool(np.any((fp.rho > 1.0) & (fp.rho * (1.0 - theta) < 1.0)))
        region = 5 if marginal else 4
    return {
        "region": region,
        "lambda_max": pt["lambda_max"],
        "c_h0": pt["c_h0"],
        "relaxation_time": pt["relaxation_time"],
        "chaotic": float(pt["chaotic"]),
    }


__all__ = [
    "ChaosOnsetResult",
    "DMFTResult",
    "chaos_onset",
    "dmft_phase_point",
    "dmft_region_point",
    "gated_dmft",
    "gaussian_lyapunov",
    "sample_correlations",
]

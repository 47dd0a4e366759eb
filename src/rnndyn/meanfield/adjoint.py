"""Gradients at initialisation from the adjoint DMFT of the continuous-time gated RNN (KCS22).

The network (P-1) of docs/theory/gated.md §2.4 (``rd.GatedRateRNN`` at zero biases, unit gate
time constants; its weights are ``W_h = g_h J^h``, ``W_z = alpha_z J^z``, ``W_r = alpha_r J^r``,
``J_ij ~ N(0, 1/N)``) is read out at the horizon ``T`` by a random linear readout

.. math:: F=\\frac1N\\sum_i v_i\\,h_i(T),\\qquad v_i\\sim\\mathcal N(0,1)\\ \\text{independent of the network.}

The adjoint :math:`\\lambda(t)=\\partial F/\\partial x(t)` obeys
:math:`-\\dot\\lambda=\\mathcal D(t)^\\top\\lambda`, :math:`\\lambda_h(T)=v/N` (the Jacobian (P-2),
docs/theory/gated.md §3.5), and the weight gradients are time integrals of outer products,
e.g. :math:`\\partial F/\\partial W^h_{ij}=\\int_0^Tdt\\,\\lambda_{h,i}\\sigma(z_i)\\,\\phi(h_j)\\sigma(r_j)`.
With :math:`\\mu=N\\lambda` and the time to go :math:`u=T-t`, the large-``N`` single-site adjoint
process is (derived here; docs/meanfield.md, "Gradients at initialisation from the adjoint DMFT")

.. math::
    \\partial_u\\mu_h=-\\sigma(z)\\mu_h+\\phi'(h)\\big[\\sigma(r)\\,g_h\\tilde\\eta_h+\\alpha_z\\tilde\\eta_z+\\alpha_r\\tilde\\eta_r\\big],\\quad
    \\partial_u\\mu_z=-\\mu_z+\\sigma'(z)\\,\\xi\\,\\mu_h,\\quad
    \\partial_u\\mu_r=-\\mu_r+g_h\\phi(h)\\sigma'(r)\\,\\tilde\\eta_h,

:math:`\\mu_h(0)=v`, :math:`\\mu_z(0)=\\mu_r(0)=0`, on a forward path of the stationary DMFT
(:func:`rnndyn.meanfield.gated_dmft`), :math:`\\xi=-h+g_h\\eta_h`. The backward fields
:math:`\\tilde\\eta_x=\\sum_jJ^x_{ji}(\\cdot)_j` are Gaussian, independent of each other and of the
forward fields, with covariances :math:`C_a=\\langle\\sigma(z)\\mu_h\\,\\sigma(z')\\mu_h'\\rangle`,
:math:`C_{\\mu_z}` and :math:`C_{\\mu_r}` (self-consistency). The random readout makes this exact at
large ``N``: the adjoint is linear in ``v``, so the Onsager reaction of the transposed couplings
averages to zero (for a loss such as ``|h(T)|^2`` it does not). The squared gradient norms are

.. math::
    \\|\\partial F/\\partial W^h\\|^2=\\int_0^T\\!\\!\\int_0^Tdu\\,du'\\,C_a(u,u')C_\\phi(u-u')C_{\\sigma(r)}(u-u'),\\qquad
    \\|\\partial F/\\partial W^{z,r}\\|^2=\\int\\!\\!\\int C_{\\mu_{z,r}}(u,u')C_\\phi(u-u'),

O(1) as ``N -> infinity``; :math:`\\|\\partial F/\\partial J^h\\|^2=g_h^2\\|\\partial F/\\partial W^h\\|^2`
(likewise :math:`\\alpha_z^2`, :math:`\\alpha_r^2`). This is the poster's formula
:math:`\\int\\!\\int C_{\\lambda_h}C_\\phi C_{\\sigma_r}` with the update gate inside the adjoint
correlation: :math:`C_{\\lambda_h}\\to C_{\\sigma(z)\\lambda_h}`.

Two solvers on the grid ``u_k = k dt``; one solve gives the norms for every horizon ``T <= horizon``
(the forward state is stationary, so the adjoint statistics depend on ``u`` only):

* ``"gaussian"`` (``alpha_z = 0``; exact): ``h`` is Gaussian and the two-time kernels obey
  :math:`(\\partial_u+\\tfrac12)(\\partial_{u'}+\\tfrac12)C_{\\mu_h}=C_{\\phi'}[\\tfrac{g_h^2}4C_{\\sigma(r)}C_{\\mu_h}+\\alpha_r^2C_{\\mu_r}]`,
  :math:`(\\partial_u+1)(\\partial_{u'}+1)C_{\\mu_r}=\\tfrac{g_h^2}4C_\\phi C_{\\sigma'(r)}C_{\\mu_h}`,
  :math:`C_{\\mu_h}(0,u')=e^{-u'/2}`, :math:`C_{\\mu_r}(0,u')=0`: a Goursat problem marched on
  anti-diagonals (second order). ``||dF/dW^z||^2`` needs a four-point average and is only sampled.
* ``"sampled"`` (any ``alpha_z``): ``M`` forward paths are drawn from the DMFT correlations
  (circulant embedding) and the adjoint is marched in ``u``; at each step the backward fields are
  drawn conditionally on their past (an incrementally extended Cholesky factor of the sampled
  covariances :math:`C_a`, :math:`\\alpha_z^2C_{\\mu_z}+\\alpha_r^2C_{\\mu_r}`) with a Heun step iterated
  to self-consistency, so one backward sweep solves the causal (Volterra) self-consistency.

References:
    K. Krishnamurthy, T. Can, D. J. Schwab, Theory of gating in recurrent neural networks,
    Phys. Rev. X 12, 011011 (2022), arXiv:2007.14823 (model, DMFT, adjoint/gradient DMFT);
    docs/theory/gated.md §2.4, §3.5, §4.6, §4.8.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from rnndyn._checks import check_choice, check_device, check_positive_int, check_real
from rnndyn._results import Check, Result, Status, status_from_checks
from rnndyn.meanfield._numerics import check_seed
from rnndyn.meanfield._numerics import table as _table
from rnndyn.meanfield.dmft import DMFTResult, gated_dmft
from rnndyn.meanfield.quadrature import dsigmoid, dtanh, sigmoid

if TYPE_CHECKING:  # torch is imported inside the sampled route (the theory floor stays numpy-only)
    import torch

#: sigma(0): the gates at zero bias when their gain is 0.
S_BAR = 0.5
LOSSES = ("readout",)


@dataclass(frozen=True, kw_only=True)
class AdjointGradientResult(Result):
    """Predicted squared gradient norms of the readout loss against the horizon ``T``.

    Attributes:
        g_h, alpha_z, alpha_r: parameters (zero biases). loss: ``"readout"``
            (:math:`F=\\tfrac1N\\sum_iv_ih_i(T)`, ``v ~ N(0, I)``). method: ``"gaussian"``/``"sampled"``.
        horizon: the horizons ``T = 0, dt, ..., horizon``.
        norm_j_h, norm_j_z, norm_j_r: :math:`\\mathbb E\\|\\partial F/\\partial J^{h,z,r}\\|_F^2` on
            ``horizon`` (``J`` the unit-variance couplings; O(1) as N -> infinity).
        norm_w_h, norm_w_z, norm_w_r: the same for the weights ``W = gain * J`` (the model's
            ``weight_hh``, ``weight_hz``, ``weight_hr``): ``norm_j = gain^2 norm_w``. NaN for
            ``norm_w_z`` from the Gaussian route (not computed: see ``message``).
        stderr_w_h, stderr_w_z, stderr_w_r: sampled route with ``replicas >= 2``: standard
            error of the mean over the independent sweeps (NaN otherwise).
        state_norm: :math:`C_{\\mu_h}(T,T)=N\\,\\mathbb E\\|\\partial F/\\partial h(0)\\|^2` on ``horizon``.
        c_lambda: :math:`C_{\\mu_h}(u,u')` on ``horizon x horizon`` (the adjoint correlation,
            :math:`\\mu=N\\lambda`); left out of ``to_dict``.
        growth_rate: ``(1/2) d ln state_norm / dT`` over the last quarter of the horizons.
        lambda_max: the forward DMFT's maximal Lyapunov exponent (NaN when not computed).
        n_samples, dt: settings used (``n_samples`` counts all replicas' paths). forward: the forward :class:`DMFTResult`.
    """

    g_h: float
    alpha_z: float
    alpha_r: float
    loss: str
    method: str
    dt: float
    n_samples: int
    growth_rate: float
    lambda_max: float
    horizon: np.ndarray = field(repr=False)
    norm_j_h: np.ndarray = field(repr=False)
    norm_j_z: np.ndarray = field(repr=False)
    norm_j_r: np.ndarray = field(repr=False)
    norm_w_h: np.ndarray = field(repr=False)
    norm_w_z: np.ndarray = field(repr=False)
    norm_w_r: np.ndarray = field(repr=False)
    stderr_w_h: np.ndarray = field(repr=False)
    stderr_w_z: np.ndarray = field(repr=False)
    stderr_w_r: np.ndarray = field(repr=False)
    state_norm: np.ndarray = field(repr=False)
    c_lambda: np.ndarray = field(repr=False)
    forward: DMFTResult = field(repr=False)

    _repr_fields = ("g_h", "alpha_z", "alpha_r", "method", "growth_rate", "lambda_max")
    _dict_exclude = ("c_lambda", "forward")

    def at(self, T: float) -> dict[str, float]:
        """The predicted norms at the horizon nearest ``T`` (a dict of floats)."""
        k = int(np.argmin(np.abs(self.horizon - T)))
        names = ("norm_j_h", "norm_j_z", "norm_j_r", "norm_w_h", "norm_w_z", "norm_w_r", "state_norm")
        return {"T": float(self.horizon[k]), **{n: float(getattr(self, n)[k]) for n in names}}

    def plot(self, path: str | Path) -> Path:
        """Save a figure of the predicted norms against ``T`` (matplotlib, imported lazily)."""
        from rnndyn.meanfield._figures import plot_adjoint_gradients

        return plot_adjoint_gradients(self, path)


# ----------------------------------------------------------------------------------------------
# helpers


def _square_integrals(f: np.ndarray, dt: float) -> np.ndarray:
    """Trapezoid integrals of the symmetric ``f(u, u')`` over the squares ``[0, u_k]^2`` for all k."""
    n = f.shape[0]
    p = np.cumsum(np.cumsum(f, axis=0), axis=1)
    diag_p = p[np.arange(n), np.arange(n)]
    row0 = np.cumsum(f[0])
    rowk = np.array([f[k, : k + 1].sum() for k in range(n)])
    out = diag_p - row0 - rowk + 0.25 * (f[0, 0] + 2.0 * f[0] + np.diag(f))
    out[0] = 0.0
    return dt * dt * out


def _kernel(c: np.ndarray, n: int) -> np.ndarray:
    """Lags ``0..n-1`` of a stationary covariance, zero beyond its grid."""
    out = np.zeros(n)
    m = min(n, c.size)
    out[:m] = c[:m]
    return out


def _lag_matrix(k: np.ndarray) -> np.ndarray:
    n = k.size
    idx = np.abs(np.arange(n)[:, None] - np.arange(n)[None, :])
    return k[idx]


def _growth_rate(horizon: np.ndarray, state_norm: np.ndarray) -> float:
    n = horizon.size
    lo = max(int(0.75 * (n - 1)), 1)
    if n - lo < 2 or np.any(state_norm[lo:] <= 0):
        return float("nan")
    slope = np.polyfit(horizon[lo:], np.log(state_norm[lo:]), 1)[0]
    return float(0.5 * slope)


# ----------------------------------------------------------------------------------------------
# exact Gaussian route (alpha_z = 0)


def _gaussian_route(fwd: DMFTResult, n: int, dt: float, degree: int) -> dict:
    """Goursat marching of the two-time adjoint kernels (alpha_z = 0)."""
    g_h, alpha_r = fwd.g_h, fwd.alpha_r
    c_h = _kernel(fwd.c_h, n)
    c_r = _kernel(fwd.c_r, n)
    k_phi = _table(np.tanh, c_h, degree)
    k_dphi = _table(dtanh, c_h, degree)
    if alpha_r > 0:
        k_sr = _table(sigmoid, c_r, degree)
        k_dsr = _table(dsigmoid, c_r, degree)
    else:
        k_sr = np.full(n, S_BAR**2)
        k_dsr = np.full(n, float(dsigmoid(np.zeros(1))[0]) ** 2)
    s2 = S_BAR * S_BAR
    lag = _lag_matrix(np.arange(n))
    p = (k_dphi * g_h * g_h * s2 * k_sr)[lag]  # C_mu_h -> C_mu_h
    q = (k_dphi * alpha_r * alpha_r)[lag]  # C_mu_r -> C_mu_h
    w = (g_h * g_h * s2 * k_phi * k_dsr)[lag]  # C_mu_h -> C_mu_r
    u = np.arange(n) * dt
    ch = np.zeros((n, n))
    cr = np.zeros((n, n))
    ch[0, :] = ch[:, 0] = np.exp(-S_BAR * u)
    fh = np.zeros((n, n))
    fr = np.zeros((n, n))
    fh[0, :] = fh[:, 0] = p[0, :] * ch[0, :]
    fr[0, :] = fr[:, 0] = w[0, :] * ch[0, :]
    eh, er = math.exp(-S_BAR * dt), math.exp(-dt)
    c = 0.25 * dt * dt
    for d in range(2, 2 * n - 1):
        i = np.arange(max(1, d - n + 1), min(d, n))
        j = d - i
        ok = j >= 1
        i, j = i[ok], j[ok]
        rh = (
            eh * (ch[i - 1, j] + ch[i, j - 1])
            - eh * eh * ch[i - 1, j - 1]
            + c * (eh * (fh[i - 1, j] + fh[i, j - 1]) + eh * eh * fh[i - 1, j - 1])
        )
        rr = (
            er * (cr[i - 1, j] + cr[i, j - 1])
            - er * er * cr[i - 1, j - 1]
            + c * (er * (fr[i - 1, j] + fr[i, j - 1]) + er * er * fr[i - 1, j - 1])
        )
        pij, qij, wij = p[i, j], q[i, j], w[i, j]
        x_h = (rh + c * qij * rr) / (1.0 - c * pij - c * c * qij * wij)
        x_r = rr + c * wij * x_h
        ch[i, j], cr[i, j] = x_h, x_r
        fh[i, j] = pij * x_h + qij * x_r
        fr[i, j] = wij * x_h
    b_h = (k_phi * k_sr)[lag]
    b_phi = k_phi[lag]
    nan = np.full(n, np.nan)
    return {
        "c_mu_h": ch,
        "w_h": _square_integrals(s2 * ch * b_h, dt),
        "w_z": nan,
        "w_r": _square_integrals(cr * b_phi, dt),
        "se_h": nan,
        "se_z": nan,
        "se_r": nan,
    }


# ----------------------------------------------------------------------------------------------
# sampled route (any alpha_z)


def _stationary_paths(c: np.ndarray, n_t: int, m: int, gen: torch.Generator, device) -> torch.Tensor:  # noqa: ANN001
    """``m`` stationary Gaussian paths of length ``n_t`` with lag covariance ``c`` (circulant embedding)."""
    import torch

    cp = _kernel(c, n_t)
    ext = np.concatenate([cp, cp[-2:0:-1]])
    lam = np.clip(np.fft.fft(ext).real, 0.0, None)
    sq = torch.as_tensor(np.sqrt(lam / ext.size), device=device)
    half = (m + 1) // 2
    re = torch.randn(half, ext.size, generator=gen, dtype=torch.float64).to(device)
    im = torch.randn(half, ext.size, generator=gen, dtype=torch.float64).to(device)
    y = torch.fft.fft(torch.complex(re, im) * sq)
    return torch.cat([y.real, y.imag], 0)[:m, :n_t].contiguous()


class _Cholesky:
    """Lower-triangular factor of a covariance extended one row at a time (causal sampling)."""

    def __init__(self, n: int, device, jitter: float = 1e-11) -> None:  # noqa: ANN001
        import torch

        self.L = torch.zeros(n, n, dtype=torch.float64, device=device)
        self.jitter = jitter
        self.scale = 0.0

    def row(self, j: int, k: torch.Tensor) -> torch.Tensor:
        """Row ``j`` of the factor for the covariance row ``k = K[j, :j+1]`` (not stored)."""
        import torch

        self.scale = max(self.scale, float(k[j]))
        eps = self.jitter * self.scale + 1e-300
        out = torch.zeros(j + 1, dtype=torch.float64, device=k.device)
        if j > 0:
            out[:j] = torch.linalg.solve_triangular(self.L[:j, :j], k[:j, None], upper=False)[:, 0]
        d = float(k[j]) - float(out[:j] @ out[:j])
        out[j] = math.sqrt(max(d, 0.0) + eps)
        return out

    def set(self, j: int, r: torch.Tensor) -> None:
        self.L[j, : j + 1] = r


def _sampled_route(
    fwd: DMFTResult,
    n: int,
    dt: float,
    m: int,
    burn_in: float,
    seed: int,
    device,
    progress,  # noqa: ANN001
) -> dict:
    import torch

    g_h, a_z, a_r = fwd.g_h, fwd.alpha_z, fwd.alpha_r
    gen = torch.Generator().manual_seed(int(seed) * 1_000_003 + 17)
    n_burn = int(round(burn_in / dt))
    n_t = n_burn + n
    eta = _stationary_paths(fwd.c_phi * fwd.c_sigma_r, n_t, m, gen, device)
    z = _stationary_paths(fwd.c_z, n_t, m, gen, device) if a_z > 0 else None
    r = _stationary_paths(fwd.c_r, n_t, m, gen, device) if a_r > 0 else None
    # forward single-site paths (Heun), dh/dt = sigma(z)(-h + g_h eta)
    sz_all = torch.sigmoid(z) if z is not None else torch.full_like(eta, S_BAR)
    ge = g_h * eta
    h = torch.zeros(m, dtype=torch.float64, device=device)
    hs = torch.empty(m, n, dtype=torch.float64, device=device)
    for k in range(n_t):
        if k >= n_burn:
            hs[:, k - n_burn] = h
        if k < n_t - 1:
            k1 = sz_all[:, k] * (ge[:, k] - h)
            hp = h + dt * k1
            h = h + 0.5 * dt * (k1 + sz_all[:, k + 1] * (ge[:, k + 1] - hp))
    # forward quantities in time-to-go order (u_j <-> t = T - u_j), shape (n, m)
    win = slice(n_burn, n_t)
    flip = lambda x: torch.flip(x[:, win] if x.shape[1] == n_t else x, dims=[1]).T.contiguous()  # noqa: E731
    hh = flip(hs)
    phi = torch.tanh(hh)
    dphi = 1.0 - phi * phi
    sz = flip(sz_all)
    dsz = sz * (1.0 - sz)
    xi = flip(ge) - hh
    if r is not None:
        sr = flip(torch.sigmoid(r))
        dsr = sr * (1.0 - sr)
    else:
        sr = torch.full_like(hh, S_BAR)
        dsr = torch.full_like(hh, S_BAR * (1.0 - S_BAR))
    noise_h = torch.randn(n, m, generator=gen, dtype=torch.float64).to(device)
    noise_q = torch.randn(n, m, generator=gen, dtype=torch.float64).to(device)
    v = torch.randn(m, generator=gen, dtype=torch.float64).to(device)
    A = torch.zeros(n, m, dtype=torch.float64, device=device)  # sigma(z) mu_h
    MH = torch.zeros_like(A)
    MZ = torch.zeros_like(A)
    MR = torch.zeros_like(A)
    chol_a, chol_q = _Cholesky(n, device), _Cholesky(n, device)
    has_q = (a_z > 0) or (a_r > 0)

    def fields(j: int, mu_h, mu_z, mu_r):  # noqa: ANN001, ANN202
        a = sz[j] * mu_h
        A[j] = a
        ka = A[: j + 1] @ a / m
        ra = chol_a.row(j, ka)
        et_h = ra @ noise_h[: j + 1]
        if has_q:
            MZ[j], MR[j] = mu_z, mu_r
            kq = (a_z * a_z * (MZ[: j + 1] @ mu_z) + a_r * a_r * (MR[: j + 1] @ mu_r)) / m
            rq = chol_q.row(j, kq)
            et_q = rq @ noise_q[: j + 1]
        else:
            rq, et_q = None, torch.zeros_like(a)
        return ra, rq, et_h, et_q

    def rhs(j: int, mu_h, mu_z, mu_r, et_h, et_q):  # noqa: ANN001, ANN202
        dh = -sz[j] * mu_h + dphi[j] * (sr[j] * g_h * et_h + et_q)
        dz = -mu_z + dsz[j] * xi[j] * mu_h
        dr = -mu_r + g_h * phi[j] * dsr[j] * et_h
        return dh, dz, dr

    mu_h, mu_z, mu_r = v.clone(), torch.zeros_like(v), torch.zeros_like(v)
    ra, rq, et_h, et_q = fields(0, mu_h, mu_z, mu_r)
    chol_a.set(0, ra)
    if rq is not None:
        chol_q.set(0, rq)
    MH[0] = mu_h
    f0 = rhs(0, mu_h, mu_z, mu_r, et_h, et_q)
    for j in range(1, n):
        prev = (mu_h, mu_z, mu_r)
        new = tuple(x + dt * f for x, f in zip(prev, f0, strict=True))  # predictor
        for _ in range(2):  # trapezoid corrector, iterated with the fields drawn at the new point
            ra, rq, et_h, et_q = fields(j, *new)
            f1 = rhs(j, *new, et_h, et_q)
            new = tuple(x + 0.5 * dt * (a + b) for x, a, b in zip(prev, f0, f1, strict=True))
        mu_h, mu_z, mu_r = new
        ra, rq, et_h, et_q = fields(j, mu_h, mu_z, mu_r)
        chol_a.set(j, ra)
        if rq is not None:
            chol_q.set(j, rq)
        MH[j] = mu_h
        MZ[j], MR[j] = mu_z, mu_r
        f0 = rhs(j, mu_h, mu_z, mu_r, et_h, et_q)
        if progress is not None and (j % 20 == 0 or j == n - 1):
            progress(j, n - 1)
    lag = _lag_matrix(np.arange(n))
    k_phi = _kernel(fwd.c_phi, n)
    b_h = (k_phi * _kernel(fwd.c_sigma_r, n))[lag]
    b_phi = k_phi[lag]

    def gram(x: torch.Tensor, sl: slice = slice(None)) -> np.ndarray:
        xs = x[:, sl]
        return (xs @ xs.T / xs.shape[1]).cpu().numpy()

    return {
        "c_mu_h": gram(MH),
        "w_h": _square_integrals(gram(A) * b_h, dt),
        "w_z": _square_integrals(gram(MZ) * b_phi, dt),
        "w_r": _square_integrals(gram(MR) * b_phi, dt),
    }


def _replicated(fwd, n, dt, m, burn_in, seed, device, progress, replicas):  # noqa: ANN001, ANN202
    """Mean over independent sampled sweeps and the standard error between them."""
    runs = [
        _sampled_route(fwd, n, dt, m, burn_in, seed + 7919 * k, device, progress) for k in range(replicas)
    ]
    out = {key: np.mean([r[key] for r in runs], axis=0) for key in runs[0]}
    for key in ("w_h", "w_z", "w_r"):
        se = (
            np.std([r[key] for r in runs], axis=0, ddof=1) / math.sqrt(replicas)
            if replicas > 1
            else np.full(n, np.nan)
        )
        out["se_" + key[2:]] = se
    return out


# ----------------------------------------------------------------------------------------------
# public entry


def adjoint_gradient_norms(
    g_h: float,
    *,
    alpha_z: float = 0.0,
    alpha_r: float = 0.0,
    horizon: float = 20.0,
    loss: str = "readout",
    method: str = "auto",
    dt: float = 0.1,
    n_samples: int = 4000,
    burn_in: float = 40.0,
    forward: DMFTResult | None = None,
    forward_samples: int = 2000,
    replicas: int = 1,
    seed: int = 0,
    device: str | torch.device = "cpu",
    degree: int = 40,
    progress: Callable[[int, int], None] | None = None,
) -> AdjointGradientResult:
    """Expected squared gradient norms at initialisation of the gated flow, from the adjoint DMFT.

    For the readout loss :math:`F=\\tfrac1N\\sum_iv_ih_i(T)` (``v ~ N(0, I)`` independent of the
    network; the network runs on its stationary state from ``t = 0`` to the horizon ``T``)
    predicts, as ``N -> infinity``,

    .. math::
        \\mathbb E\\|\\partial F/\\partial J^h\\|^2=g_h^2\\!\\int_0^T\\!\\!\\int_0^T\\!C_{\\sigma(z)\\mu_h}(u,u')\\,C_\\phi(u-u')\\,C_{\\sigma(r)}(u-u')\\,du\\,du',\\quad
        \\mathbb E\\|\\partial F/\\partial J^{z,r}\\|^2=\\alpha_{z,r}^2\\!\\int\\!\\!\\int C_{\\mu_{z,r}}C_\\phi,

    with the adjoint correlations of the single-site adjoint process (module docstring) solved
    self-consistently on the forward DMFT solution. The readout is chosen because it makes the
    adjoint DMFT exact (gradient independence: the adjoint is linear in ``v``); the norms are
    O(1) in ``N``.

    Args:
        g_h: gain, ``> 0``. alpha_z, alpha_r: gate gains, ``>= 0``.
        horizon: largest horizon ``T`` (> 0); the norms are returned for every ``T`` on the grid.
        loss: ``"readout"`` (the only loss with an exact adjoint DMFT here).
        method: ``"gaussian"`` (exact, ``alpha_z = 0``; no ``J^z`` weight norm), ``"sampled"``,
            or ``"auto"`` (gaussian when ``alpha_z = 0``).
        dt: grid step of the forward lags and of the adjoint (<= 0.5).
        n_samples: adjoint paths per sweep (sampled route); the error falls as
            ``1/sqrt(n_samples)``. Near the transition the self-consistency amplifies sampling
            noise (g_h = 3, alpha = 0, T = 20: +-30 % at 2000, +-5 % at 8000): use >= 8000.
        replicas: independent sampled sweeps (different noise) averaged; with ``>= 2`` the
            ``stderr_w_*`` fields hold their standard error (NaN otherwise).
        burn_in: forward-path transient discarded (sampled route), time units.
        forward: a converged :func:`~rnndyn.meanfield.gated_dmft` result at the same gains and
            ``dt`` (solved here when ``None``, with ``tau_max >= horizon``).
        forward_samples: paths of the forward DMFT when it is solved here with ``alpha_z > 0``.
        seed: noise seed (sampled routes). device: torch device (sampled route).
        degree: Chebyshev degree of the two-time Gaussian integrals (Gaussian route).
        progress: optional callback ``(step, total)``.

    Returns:
        :class:`AdjointGradientResult` (``status`` from the forward solve and the checks).

    Raises:
        ValueError: negative or non-finite gains, ``horizon <= 0``, unknown ``loss``/``method``,
            ``method="gaussian"`` with ``alpha_z > 0``, a ``forward`` at other parameters.

    References:
        Krishnamurthy, Can, Schwab, PRX 12, 011011 (2022), arXiv:2007.14823;
        docs/theory/gated.md §3.5, §4.6; docs/meanfield.md.

    >>> r = adjoint_gradient_norms(1.5, horizon=4.0)   # zero fixed point: phi(h) = 0, no weight gradient
    >>> float(r.norm_j_h[-1]), round(float(r.state_norm[-1]), 4)  # e^-T I_0(g_h T / 2)
    (0.0, 0.0894)
    """

    g_h = check_real(g_h, "g_h", low=0.0, low_open=True)
    alpha_z = check_real(alpha_z, "alpha_z", low=0.0)
    alpha_r = check_real(alpha_r, "alpha_r", low=0.0)
    horizon = check_real(horizon, "horizon", low=0.0, low_open=True)
    loss = check_choice(loss, "loss", LOSSES)
    method = check_choice(method, "method", ("auto", "gaussian", "sampled"))
    dt = check_real(dt, "dt", low=0.0, high=0.5, low_open=True)
    n_samples = check_positive_int(n_samples, "n_samples", minimum=16)
    burn_in = check_real(burn_in, "burn_in", low=0.0)
    forward_samples = check_positive_int(forward_samples, "forward_samples", minimum=16)
    replicas = check_positive_int(replicas, "replicas")
    degree = check_positive_int(degree, "degree", minimum=8)
    seed = check_seed(seed)
    device = check_device(device)
    if method == "auto":
        method = "gaussian" if alpha_z == 0 else "sampled"
    if method == "gaussian" and alpha_z > 0:
        raise ValueError(
            f"`method`='gaussian' needs alpha_z = 0 (h is non-Gaussian otherwise); got alpha_z={alpha_z}"
        )
    n = int(round(horizon / dt)) + 1
    if n < 3:
        raise ValueError(f"`horizon` must span at least 2 steps of dt={dt}; got horizon={horizon}")
    if forward is None:
        forward = gated_dmft(
            g_h, alpha_z=alpha_z, alpha_r=alpha_r, dt=dt, tau_max=max(100.0 if alpha_z == 0 else 50.0, horizon),
            n_samples=forward_samples, seed=seed, device=device, lyapunov=alpha_z == 0,
        )  # fmt: skip
    else:
        if not isinstance(forward, DMFTResult):
            raise TypeError(f"`forward` must be a DMFTResult or None; got {type(forward).__name__}")
        same = (forward.g_h, forward.alpha_z, forward.alpha_r) == (g_h, alpha_z, alpha_r)
        if not same or abs(forward.dt - dt) > 1e-12:
            raise ValueError(
                f"`forward` was solved at g_h={forward.g_h}, alpha_z={forward.alpha_z}, "
                f"alpha_r={forward.alpha_r}, dt={forward.dt}; expected {g_h}, {alpha_z}, {alpha_r}, {dt}"
            )
    if method == "gaussian":
        sol = _gaussian_route(forward, n, dt, degree)
        used = 0
    else:
        sol = _replicated(forward, n, dt, n_samples, burn_in, seed, device, progress, replicas)
        used = n_samples * replicas
    hor = np.arange(n) * dt
    state = np.diag(sol["c_mu_h"]).copy()
    growth = _growth_rate(hor, state)
    lam = float(forward.lambda_max)
    notes = []
    if forward.status != Status.SUCCESS:
        notes.append(f"forward DMFT {forward.status.value}: {forward.message}")
    if method == "gaussian":
        notes.append(
            "norm_w_z (the W^z gradient; norm_j_z = 0 exactly at alpha_z = 0) is not computed by the Gaussian "
            "route: method='sampled' gives it"
        )
    tail = (
        abs(float(forward.c_phi[-1])) / max(float(forward.c_phi[0]), 1e-300) if forward.c_phi[0] > 0 else 0.0
    )
    checks = [
        Check(name="forward_dmft", passed=forward.ok, value=float(forward.residual), detail=(
            "status of the forward DMFT the adjoint runs on"), status=forward.status if not forward.ok else Status.WARNING),
        Check(name="forward_decay", passed=tail <= 1e-2, value=tail, tolerance=1e-2, detail=(
            "C_phi at the forward tau_max relative to C_phi(0): lags beyond it are taken as 0"), status=Status.WARNING),
    ]  # fmt: skip
    if np.isfinite(lam) and np.isfinite(growth) and horizon >= 15.0:
        checks.append(Check(name="growth_vs_lambda_max", passed=abs(growth - lam) <= 0.02 + 0.1 * abs(lam),
                            value=abs(growth - lam), tolerance=0.02 + 0.1 * abs(lam), status=Status.WARNING,
                            detail="growth rate of N|dF/dh(0)|^2 / 2 against the forward DMFT lambda_max"))  # fmt: skip
    finite = all(np.all(np.isfinite(sol[k])) for k in ("c_mu_h", "w_h", "w_r"))
    checks.append(
        Check(name="finite", passed=finite, detail="adjoint correlations finite", status=Status.FAILED)
    )
    status = status_from_checks(checks)
    wn = {k: np.asarray(sol[k], dtype=float) for k in ("w_h", "w_z", "w_r")}
    return AdjointGradientResult(
        g_h=g_h, alpha_z=alpha_z, alpha_r=alpha_r, loss=loss, method=method, dt=dt, n_samples=used,
        growth_rate=growth, lambda_max=lam, horizon=hor,
        norm_j_h=g_h * g_h * wn["w_h"], norm_j_z=(alpha_z * alpha_z * wn["w_z"]) if method == "sampled" else np.zeros(n),
        norm_j_r=alpha_r * alpha_r * wn["w_r"], norm_w_h=wn["w_h"], norm_w_z=wn["w_z"], norm_w_r=wn["w_r"],
        stderr_w_h=sol["se_h"], stderr_w_z=sol["se_z"], stderr_w_r=sol["se_r"], state_norm=state,
        c_lambda=sol["c_mu_h"], forward=forward, status=status, message="; ".join(notes), checks=tuple(checks),
    )  # fmt: skip


__all__ = ["LOSSES", "AdjointGradientResult", "adjoint_gradient_norms"]

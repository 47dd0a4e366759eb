"""Two-time (non-stationary) DMFT of the continuous-time gated RNN, started from the networks'
initial condition: correlations :math:`C(t, t')` at every pair of times, and their ageing.

The stationary solvers of :mod:`rnndyn.meanfield.dmft` assume that the correlations depend on
``t - t'`` only. With an update gate (``alpha_z > 0``) that assumption fails: the relaxation time
of the window-limited stationary solution grows with the window (docs/meanfield.md, "Why the
alpha_z > 0 DMFT does not converge"). This module drops it. The single site of
docs/theory/gated.md §4.6 (KCS22, arXiv:2007.14823, the mean-field form of their Eq. (1)),

.. math::
    \\dot h=\\sigma(z)\\,(-h+g_h\\eta_h),\\qquad \\dot z=-z+\\alpha_z\\eta_z,\\qquad
    \\dot r=-r+\\alpha_r\\eta_r,

is driven by Gaussian fields with the *two-time* covariances

.. math::
    \\langle\\eta_h(t)\\eta_h(t')\\rangle=\\mathbb E[\\phi(h_t)\\sigma(r_t)\\phi(h_{t'})\\sigma(r_{t'})],
    \\qquad\\langle\\eta_z(t)\\eta_z(t')\\rangle=\\langle\\eta_r(t)\\eta_r(t')\\rangle
    =\\mathbb E[\\phi(h_t)\\phi(h_{t'})],

on a grid ``t_k = k dt``, ``0 <= t <= t_max``, from ``h(0), z(0), r(0)`` independent
``N(0, init_var)`` as in a network started from i.i.d. Gaussian states. The Eissfeller–Opper
iteration (Eissfeller and Opper 1992; docs/theory/gated.md §4.7) on the ``(t, t')`` grid: draw
``M`` paths of the fields by the Cholesky factors of the current covariance matrices (lower
triangular, so a field up to time ``t`` depends on the covariances up to ``t`` only), integrate
the ``M`` single sites with Heun's method (fields linear between grid points), re-estimate the
covariances from the paths, repeat. The random numbers are frozen across iterations, so the map is
deterministic and its residual measures convergence; the statistical error is ``~ 1/sqrt(M)``.
Cost per iteration ``O(n_t^2 M)`` for ``n_t = t_max/dt + 1`` grid times (two products of
``(n_t, M)`` matrices, one Cholesky of ``(n_t, n_t)``), independent of whether the state is
stationary.

References:
    K. Krishnamurthy, T. Can, D. J. Schwab, Theory of gating in recurrent neural networks,
    Phys. Rev. X 12, 011011 (2022), arXiv:2007.14823; H. Eissfeller, M. Opper, New method for
    studying the dynamics of disordered spin systems without finite-size effects, PRL 68, 2094
    (1992); docs/theory/gated.md §4.6-4.7; docs/meanfield.md ("Two-time DMFT and ageing").
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from rnndyn._checks import check_device, check_positive_int, check_real
from rnndyn._results import Check, Result, Status
from rnndyn.meanfield._numerics import block_scan, heun_coefficients, summary_tail

if TYPE_CHECKING:  # torch is imported where the solver runs (the theory floor stays importable without it)
    import torch

#: Relative diagonal jitter tried, in turn, when a covariance matrix is not numerically positive
#: definite (smooth fields on a fine grid give very small conditional variances).
_JITTERS = (0.0, 1e-13, 1e-11, 1e-9, 1e-7)
#: A Cholesky that needs more relative jitter than this fails the ``covariance_factorised`` check.
JITTER_TOL = 1e-9


@dataclass(frozen=True, kw_only=True)
class AgeingDMFTResult(Result):
    """Two-time DMFT solution of the gated flow from a Gaussian initial condition.

    Attributes:
        g_h, alpha_z, alpha_r: parameters (zero biases, unit gate time constants).
        init_var: variances of ``h(0), z(0), r(0)``.
        t: grid times ``0, dt, ..., t_max``.
        c_h, c_phi, c_z: :math:`C_h(t,t')`, :math:`C_\\phi(t,t')`, :math:`C_z(t,t')` on ``t x t``.
        c_h_stderr: standard error of :math:`C_h(t,t')` from the spread of the replicas
            (``n_replicas > 1``); with one replica the naive ``1/sqrt(M)`` error of the diagonal.
        n_replicas: independent frozen-noise solutions averaged.
        ages: waiting times ``t_w``; ``lag``: the lag of the ageing indicator.
        ageing: the normalised correlation :math:`C_h(t_w,t_w+\\tau)/\\sqrt{C_h(t_w,t_w)C_h(t_w+\\tau,t_w+\\tau)}`
            at each age for ``tau = lag`` (constant in ``t_w`` for a stationary state, growing
            when the dynamics slows down with age).
        lambda_ages: finite-time Lyapunov exponent over ``[t_w, t_w + lag]`` at each age: the growth
            rate of the mean squared tangent norm ``E[dh^2 + dz^2 + dr^2]`` of the two-replica
            linearisation (the network's ``|dx|^2 / N``, self-averaging), NaN without
            ``lyapunov``. lambda_late, lambda_late_stderr: the same rate fitted over the second half
            of the window, and its standard error from the replicas. log_tangent_norm:
            ``log sqrt(E[dh^2 + dz^2 + dr^2])`` on ``t`` (mean over replicas; NaN without ``lyapunov``).
        residual: sup-norm change of the covariances in the last iteration relative to
            ``max C_phi(t, t)`` (the frozen-noise map's residual).
        iterations, n_samples, dt: settings actually used. jitter: the largest relative jitter
            the Cholesky factors needed.
        status, message, checks: :class:`rnndyn.Status` and the self-checks.
    """

    g_h: float
    alpha_z: float
    alpha_r: float
    init_var: tuple[float, float, float]
    dt: float
    n_samples: int
    iterations: int
    residual: float
    jitter: float
    lag: float
    n_replicas: int
    lambda_late: float
    lambda_late_stderr: float
    t: np.ndarray = field(repr=False)
    c_h: np.ndarray = field(repr=False)
    c_phi: np.ndarray = field(repr=False)
    c_z: np.ndarray = field(repr=False)
    c_h_stderr: np.ndarray = field(repr=False)
    ages: np.ndarray = field(repr=False)
    ageing: np.ndarray = field(repr=False)
    lambda_ages: np.ndarray = field(repr=False)
    log_tangent_norm: np.ndarray = field(repr=False)
    units: str = "per unit time"

    _repr_fields = ("g_h", "alpha_z", "alpha_r", "lambda_late", "iterations", "residual")

    def correlation_at_age(self, t_w: float) -> tuple[np.ndarray, np.ndarray]:
        """``(tau, C_h(t_w, t_w + tau))`` for ``0 <= tau <= t_max - t_w`` (``t_w`` on the grid)."""
        t_w = check_real(t_w, "t_w", low=0.0)
        i = int(round(t_w / self.dt))
        if i >= self.t.size:
            raise ValueError(f"`t_w` must be at most t_max = {self.t[-1]:g}; got {t_w:g}")
        return self.t[: self.t.size - i], self.c_h[i, i:].copy()

    def summary(self) -> str:
        ages = ", ".join(f"{a:g}: {v:.3f}" for a, v in zip(self.ages, self.ageing, strict=True))
        return (
            f"two-time DMFT gated flow g_h={self.g_h:g} alpha_z={self.alpha_z:g} alpha_r={self.alpha_r:g}, "
            f"t_max={self.t[-1]:g}, dt={self.dt:g}, M={self.n_samples} x {self.n_replicas}: C_h(t_max, t_max)="
            f"{self.c_h[-1, -1]:.4g}; corr(t_w, t_w + {self.lag:g}) at t_w = {ages}; lambda over the "
            f"second half {self.lambda_late:.4g} +- {self.lambda_late_stderr:.2g}; "
            f"residual={self.residual:.2g}, status={self.status}"
        ) + summary_tail(self)

    def plot(self, path: str | Path) -> Path:
        """Save a figure: C_h(t_w, t_w + tau) against tau for each age, and the equal-time
        variances against t (matplotlib, imported lazily)."""
        from rnndyn.meanfield._figures import plot_ageing_dmft

        return plot_ageing_dmft(self, path)


def _cholesky(c: torch.Tensor) -> tuple[torch.Tensor, float]:
    """Lower Cholesky factor of a covariance matrix; returns ``(L, jitter)``.

    The correlation matrix ``c / (s s^T)``, ``s = sqrt(diag c)``, is factorised (then ``L = [s] L~``),
    so that variances that grow or decay by orders of magnitude along the window (tangent
    processes, decaying activity) are all resolved; where that fails, the smallest relative
    diagonal jitter from :data:`_JITTERS` that makes it succeed is added. Rows with zero variance
    get a zero row (no field)."""
    import torch

    d = torch.diagonal(c).clamp(min=0.0)
    pos = d > 0.0
    if not bool(pos.any()):
        return torch.zeros_like(c), 0.0
    sd = torch.where(pos, d.sqrt(), torch.ones_like(d))
    corr = c / torch.outer(sd, sd)
    corr[~pos, :] = 0.0
    corr[:, ~pos] = 0.0
    idx = torch.nonzero(~pos).flatten()
    corr[idx, idx] = 1.0
    eye = torch.eye(c.shape[0], dtype=c.dtype, device=c.device)
    for jit in _JITTERS:
        low, info = torch.linalg.cholesky_ex(corr + jit * eye)
        if int(info) == 0:
            return low * torch.where(pos, sd, torch.zeros_like(sd))[:, None], jit
    raise np.linalg.LinAlgError("covariance not positive definite even with jitter 1e-7")


def _heun_paths(x0: torch.Tensor, s: torch.Tensor, q: torch.Tensor, dt: float) -> torch.Tensor:
    """Heun paths of the linear ``dx/dt = -s x + q`` (``s``, ``q`` on the grid, time-major, ``s``
    broadcastable to ``q``), as the blocked linear scan shared with the stationary solvers
    (:func:`rnndyn.meanfield._numerics.block_scan`: the same numbers as the step-by-step loop)."""
    s = s.expand_as(q)
    return block_scan(
        x0, q.shape[0] - 1, lambda t0, t1: heun_coefficients(s[t0 : t1 + 1], q[t0 : t1 + 1], dt)
    )


def _filtered(eta: torch.Tensor, x0: torch.Tensor, gain: float, dt: float) -> torch.Tensor:
    """Heun paths of ``dx/dt = -x + gain eta`` (``eta`` time-major ``(n_t, M)``, linear between
    grid points), from ``x0``."""
    return _heun_paths(x0, eta.new_ones(1, 1), gain * eta, dt)


def _h_paths(eta_h: torch.Tensor, s: torch.Tensor, h0: torch.Tensor, g_h: float, dt: float) -> torch.Tensor:
    """Heun paths of ``dh/dt = s (-h + g_h eta_h)`` with the gate ``s = sigma(z)`` on the grid."""
    return _heun_paths(h0, s, s * (g_h * eta_h), dt)


def _mm(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """``a @ b``; on the CPU through NumPy's BLAS (zero-copy views), measured 1.4x faster than
    torch's for the ``(n_t, n_t) @ (n_t, M)`` products here (2-core AMD EPYC, OpenBLAS vs MKL)."""
    import torch

    if a.device.type == "cpu":
        return torch.from_numpy(a.numpy() @ b.numpy())
    return a @ b


def _gram(a: torch.Tensor) -> torch.Tensor:
    """``a a^T / M`` for time-major paths ``a`` ``(n_t, M)``; on the CPU through NumPy, which
    takes the symmetric rank-k update (half the products; measured 2.3x faster than torch here)."""
    import torch

    if a.device.type == "cpu":
        x = a.numpy()
        return torch.from_numpy(x @ x.T) / a.shape[1]
    return (a @ a.T) / a.shape[1]


def _normals(rng: np.random.Generator, shape: tuple[int, ...], device: torch.device) -> torch.Tensor:
    """Frozen standard normals from NumPy's generator (the same numbers on every device)."""
    import torch

    return torch.from_numpy(rng.standard_normal(shape)).to(device)


def _frozen_noise(
    rng: np.random.Generator, shape: tuple[int, ...], alpha_z: float, alpha_r: float, device: torch.device
) -> tuple[torch.Tensor, torch.Tensor | None, torch.Tensor | None]:
    """The frozen normals ``(w_h, w_z, w_r)`` of one solve, ``(n_t, M)`` each, drawn in this order;
    a gate with zero gain has no field (``None``)."""
    return (
        _normals(rng, shape, device),
        _normals(rng, shape, device) if alpha_z > 0 else None,
        _normals(rng, shape, device) if alpha_r > 0 else None,
    )


def _iterate(
    paths_of: Any,
    *,
    w: tuple[torch.Tensor, torch.Tensor | None, torch.Tensor | None],
    z0: torch.Tensor,
    r0: torch.Tensor,
    alpha_z: float,
    alpha_r: float,
    t: np.ndarray,
    dt: float,
    max_iter: int,
    tol: float,
    damping: float,
    local_scale: bool,
    progress: Any = None,
) -> tuple[Any, float, float, torch.Tensor, int]:
    """The causal frozen-noise iteration shared by the forward and the tangent process.

    Fields from the lower Cholesky factors of the two covariances and the frozen normals
    ``w = (w_h, w_z, w_r)``: ``eta_h`` from the source covariance, the ``z`` and ``r`` fields from
    the ``phi`` covariance, filtered by ``dx/dt = -x + alpha eta`` from ``z0``, ``r0`` (free decay
    when ``alpha = 0``). ``paths_of(eta_h, z, r) -> (src, phi, paths)`` integrates the sites; the
    covariances ``E[src src']``, ``E[phi phi']`` are re-estimated and mixed (undamped while the
    causal front moves, i.e. while the relative change exceeds 0.1, then by ``damping``). The
    change is relative to ``max_t C_phi(t, t)``, or with ``local_scale`` to
    ``sqrt(K(t,t) K(t',t'))`` entry by entry (a tangent process grows exponentially).
    Returns ``(paths, residual, jitter, c_phi, iterations)``."""
    import torch

    w_h, w_z, w_r = w
    n_t = t.size
    decay = torch.exp(-torch.as_tensor(t, device=w_h.device))[:, None]
    c_src = torch.zeros((n_t, n_t), dtype=torch.float64, device=w_h.device)
    c_phi = torch.zeros_like(c_src)
    l_phi = torch.zeros_like(c_src)
    residual, jitter, it, paths = float("inf"), 0.0, 0, None
    for it in range(1, max_iter + 1):
        l_src, j1 = _cholesky(c_src)
        eta_h = _mm(l_src, w_h)
        jitter = max(jitter, j1)
        if w_z is not None or w_r is not None:
            l_phi, j2 = _cholesky(c_phi)
            jitter = max(jitter, j2)
        z = _filtered(_mm(l_phi, w_z), z0, alpha_z, dt) if w_z is not None else decay * z0
        r = _filtered(_mm(l_phi, w_r), r0, alpha_r, dt) if w_r is not None else decay * r0
        src, phi, paths = paths_of(eta_h, z, r)
        new_phi = _gram(phi)
        new_src = _gram(src)
        if local_scale:
            d_src, d_phi = torch.diagonal(new_src), torch.diagonal(new_phi)
            sc = torch.sqrt(torch.outer(d_src, d_src)) + 1e-300
            sp = torch.sqrt(torch.outer(d_phi, d_phi)) + 1e-300
            residual = max(
                float(((new_src - c_src).abs() / sc).max()), float(((new_phi - c_phi).abs() / sp).max())
            )
        else:
            scale = max(float(torch.diagonal(new_phi).max()), 1e-300)
            residual = max(float((new_phi - c_phi).abs().max()), float((new_src - c_src).abs().max())) / scale
        # undamped while the causal front moves through the window (each iteration then fixes
        # a longer stretch of time), damped once the change is small (frozen-noise maps of
        # chaotic sites overshoot: a plain iteration stalls at the 1e-2 level)
        eps = 1.0 if residual > 0.1 else damping
        c_phi = (1.0 - eps) * c_phi + eps * new_phi
        c_src = (1.0 - eps) * c_src + eps * new_src
        if progress is not None:
            progress(it, residual)
        if not np.isfinite(residual) or residual <= tol:
            break
    return paths, residual, jitter, c_phi, it


def _replica(
    *,
    g_h: float,
    alpha_z: float,
    alpha_r: float,
    t: np.ndarray,
    dt: float,
    iv: tuple[float, float, float],
    m: int,
    max_iter: int,
    tol: float,
    damping: float,
    seed: int,
    progress: Any,
    device: torch.device,
) -> dict[str, Any]:
    """One frozen-noise solution of the forward process with ``M`` paths."""
    import torch

    rng = np.random.default_rng(seed)
    w = _frozen_noise(rng, (t.size, m), alpha_z, alpha_r, device)
    h0, z0, r0 = (float(np.sqrt(v)) * _normals(rng, (m,), device) for v in iv)

    def paths_of(eta_h: torch.Tensor, z: torch.Tensor, r: torch.Tensor) -> tuple:
        h = _h_paths(eta_h, torch.sigmoid(z), h0, g_h, dt)
        phi = torch.tanh(h)
        return phi * torch.sigmoid(r), phi, (h, z, r, eta_h)

    paths, residual, jitter, c_phi, it = _iterate(
        paths_of, w=w, z0=z0, r0=r0, alpha_z=alpha_z, alpha_r=alpha_r, t=t, dt=dt, max_iter=max_iter, tol=tol,
        damping=damping, local_scale=False, progress=progress,
    )  # fmt: skip
    h, z = paths[0], paths[1]
    return {
        "c_h": _gram(h).cpu().numpy(), "c_phi": c_phi.cpu().numpy(), "c_z": _gram(z).cpu().numpy(),
        "residual": residual, "jitter": jitter, "iterations": it,
        "naive_stderr": np.diag(((h * h).std(dim=1) / np.sqrt(m)).cpu().numpy()), "paths": paths,
    }  # fmt: skip


def _tangent_replica(
    paths: tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor],
    *,
    g_h: float,
    alpha_z: float,
    alpha_r: float,
    t: np.ndarray,
    dt: float,
    max_iter: int,
    tol: float,
    damping: float,
    seed: int,
) -> tuple[np.ndarray, float, int]:
    """Mean squared tangent norm ``E[dh^2 + dz^2 + dr^2](t)`` of the two-replica linearisation on
    frozen forward paths (docs/theory/gated.md §4.8, without the stationarity assumption):

    ``dh' = s(z)(-dh + g_h deta_h) + s'(z)(-h + g_h eta_h) dz``, ``dz' = -dz + alpha_z deta_z``,
    ``dr' = -dr + alpha_r deta_r``; ``deta_h`` Gaussian with covariance
    ``E[ds(t) ds(t')]``, ``ds = phi'(h) s(r) dh + phi(h) s'(r) dr``, and ``deta_z, deta_r`` with
    ``E[phi'(h) dh phi'(h') dh']``, independent of the forward fields (flipping the perturbation
    alone is a symmetry of the linear process). Started from ``dh, dz, dr ~ N(0, 1)``; the same
    causal frozen-noise iteration as the forward solve (:func:`_iterate`). Returns
    ``(norm2, residual, iterations)``."""
    import torch

    h, z, r, eta_h = paths
    rng = np.random.default_rng(seed)
    w = _frozen_noise(rng, h.shape, alpha_z, alpha_r, h.device)
    dh0, dz0, dr0 = (_normals(rng, (h.shape[1],), h.device) for _ in range(3))
    sz, sr = torch.sigmoid(z), torch.sigmoid(r)
    force = sz * (1.0 - sz) * (g_h * eta_h - h)  # s'(z)(-h + g_h eta_h): multiplies dz
    phi = torch.tanh(h)
    dphi = 1.0 - phi * phi

    def paths_of(deta_h: torch.Tensor, dz: torch.Tensor, dr: torch.Tensor) -> tuple:
        # Heun for dh' = -s dh + (s g_h deta_h + force dz) (linear, coefficients on the grid)
        dh = _heun_paths(dh0, sz, sz * (g_h * deta_h) + force * dz, dt)
        a = dphi * dh
        return a * sr + phi * sr * (1.0 - sr) * dr, a, (dh, dz, dr)

    (dh, dz, dr), residual, _, _, it = _iterate(
        paths_of, w=w, z0=dz0, r0=dr0, alpha_z=alpha_z, alpha_r=alpha_r, t=t, dt=dt, max_iter=max_iter, tol=tol,
        damping=damping, local_scale=True,
    )  # fmt: skip
    return (dh * dh + dz * dz + dr * dr).mean(dim=1).cpu().numpy(), residual, it


def gated_dmft_ageing(
    g_h: float,
    *,
    alpha_z: float = 0.0,
    alpha_r: float = 0.0,
    t_max: float = 100.0,
    dt: float = 0.2,
    n_samples: int = 2000,
    init_var: Sequence[float] = (1.0, 1.0, 1.0),
    max_iter: int = 200,
    tol: float | None = None,
    damping: float = 0.5,
    ages: Sequence[float] | None = None,
    lag: float = 10.0,
    n_replicas: int = 2,
    lyapunov: bool = True,
    seed: int = 0,
    device: str | torch.device = "cpu",
    progress: Any = None,
) -> AgeingDMFTResult:
    r"""Two-time DMFT of the continuous-time gated RNN from a Gaussian initial condition.

    Solves the single-site process of docs/theory/gated.md §4.6 with two-time covariances
    :math:`C(t, t')` (module docstring) by the Eissfeller–Opper iteration on the ``(t, t')`` grid,
    frozen noise: the Cholesky factors are lower triangular, so the map is causal and each
    iteration fixes the solution over a longer initial stretch of time (undamped while that front
    moves, then damped).
    At ``alpha_z = 0`` the late-time correlations approach the stationary solution of
    :func:`rnndyn.meanfield.gated_dmft`; for ``alpha_z > 0`` they show whether, and how, the
    dynamics age (``ageing``), which a stationary theory cannot describe.

    Args:
        g_h, alpha_z, alpha_r: gains (``>= 0``), zero biases, unit gate time constants.
        t_max, dt: time window and grid step (Heun's method; the error is ``O(dt^2)``).
        n_samples: sample paths ``M`` (statistical error ``~ 1/sqrt(M)``).
        init_var: variances of ``h(0), z(0), r(0)`` (independent Gaussians, as a network
            started from i.i.d. ``N(0, init_var)`` states).
        max_iter, tol: stop when the covariances change by less than ``tol`` (relative to
            ``max_t C_phi(t, t)``) in one iteration. Default ``0.5 / sqrt(M)``, half the
            statistical error: for chaotic sites the frozen-noise map does not contract below
            a few 1e-3 (the Cholesky factor of a smooth, ill-conditioned covariance moves the
            individual paths much more than their covariance), so iterating further only
            reshuffles sampling noise; in the decaying regime it contracts to round-off (~1e-6).
        damping: mixing ``C <- (1 - damping) C + damping C_new`` once the relative change is
            below 0.1 (before that the iteration is undamped: it is causal, and each iteration
            extends the converged stretch of time).
        ages: waiting times for the ageing indicator (default: 0.1, 0.25, 0.5 and 0.75 of
            ``t_max - lag``); ``lag``: its lag.
        n_replicas: independent solutions (own frozen noise) averaged; their spread is the
            reported standard error ``c_h_stderr``. Like a finite network of ``M`` units, one
            solution carries collective fluctuations that slow dynamics amplify well beyond
            ``1/sqrt(M)`` (measured: 5-10 % of C_h at g_h = 3, M = 4000), so one replica gives no
            honest error bar.
        lyapunov: also solve the tangent (two-replica) process on each replica's forward paths
            (about twice the cost): finite-time Lyapunov exponents per age and over the second half.
        seed: seed of the frozen noise (replica ``k`` uses ``seed * 7919 + k``); the noise is drawn
            by NumPy on the host, so every device solves the same frozen-noise problem.
        device: where the paths and covariances live (float64); the ``O(n_t^2 M)`` products
            dominate, so a GPU allows much larger ``M``.
        progress: optional callable ``progress(iteration, residual)``.

    Returns:
        :class:`AgeingDMFTResult`; ``status`` ``not_converged`` when ``max_iter`` is reached.

    Raises:
        ValueError / TypeError: negative gains, a non-positive ``t_max``/``dt``/``lag``, ``lag``
        beyond ``t_max``, ages outside ``[0, t_max - lag]``, bad ``init_var``.

    Example:
        >>> r = gated_dmft_ageing(0.0, t_max=4.0, dt=0.1, n_samples=400, init_var=(1.0, 0.0, 0.0), lag=1.0)
        >>> bool(abs(r.c_h[20, 30] / r.c_h[0, 0] - np.exp(-(2.0 + 3.0) / 2)) < 5e-4)
        True

    References:
        KCS22 (arXiv:2007.14823); Eissfeller and Opper, PRL 68, 2094 (1992);
        docs/theory/gated.md §4.6-4.7; docs/meanfield.md.
    """
    g_h = check_real(g_h, "g_h", low=0.0)
    alpha_z = check_real(alpha_z, "alpha_z", low=0.0)
    alpha_r = check_real(alpha_r, "alpha_r", low=0.0)
    t_max = check_real(t_max, "t_max", low=0.0, low_open=True)
    dt = check_real(dt, "dt", low=0.0, low_open=True)
    lag = check_real(lag, "lag", low=0.0, low_open=True)
    if dt > t_max:
        raise ValueError(f"`dt` must be at most `t_max` ({t_max}); got {dt}")
    if lag > t_max:
        raise ValueError(f"`lag` must be at most `t_max` ({t_max}); got {lag}")
    n_samples = check_positive_int(n_samples, "n_samples", minimum=2)
    tol = 0.5 / np.sqrt(n_samples) if tol is None else check_real(tol, "tol", low=0.0, low_open=True)
    max_iter = check_positive_int(max_iter, "max_iter")
    n_replicas = check_positive_int(n_replicas, "n_replicas")
    damping = check_real(damping, "damping", low=0.0, high=1.0, low_open=True)
    seed = check_positive_int(seed, "seed", minimum=0)
    device = check_device(device)
    iv = tuple(float(v) for v in init_var)
    if len(iv) != 3 or not all(np.isfinite(v) and v >= 0 for v in iv):
        raise ValueError(
            f"`init_var` must be three finite variances >= 0 for (h, z, r); got {tuple(init_var)}"
        )
    n_t = int(round(t_max / dt)) + 1
    t = np.arange(n_t) * dt
    n_lag = int(round(lag / dt))
    if n_lag < 1:
        raise ValueError(f"`lag` must be at least one grid step `dt` ({dt}); got {lag}")
    if ages is None:
        span = t[-1] - n_lag * dt
        ages_arr = np.array([f * span for f in (0.1, 0.25, 0.5, 0.75)])
    else:
        ages_arr = np.asarray([check_real(a, "ages", low=0.0) for a in ages], dtype=float)
    age_idx = np.round(ages_arr / dt).astype(int)
    if np.any(age_idx + n_lag >= n_t):
        raise ValueError(
            f"`ages` must lie in [0, t_max - lag] = [0, {t[-1] - n_lag * dt:g}]; got {ages_arr.tolist()}"
        )

    m = n_samples

    params = dict(g_h=g_h, alpha_z=alpha_z, alpha_r=alpha_r, t=t, dt=dt, iv=iv, m=m, max_iter=max_iter,
                  tol=tol, damping=damping, progress=progress, device=device)  # fmt: skip
    # NumPy's BLAS (the CPU products) single-threaded: its worker threads spin after each call and
    # then compete with torch's for the cores; measured at 2 threads, (4, 10, 0), t_max = 60,
    # M = 2000: 18.2 s with both pools, 6.0 s with BLAS on one thread, 6.4 s with torch alone
    from threadpoolctl import threadpool_limits

    runs: list[dict[str, Any]] = []
    lam_ages, lam_late, ells, tan_res = [], [], [], 0.0
    with threadpool_limits(limits=1, user_api="blas"):
        for rep in range(n_replicas):
            run = _replica(seed=seed * 7919 + rep, **params)
            if lyapunov:
                norm2, res_t, _ = _tangent_replica(
                    run["paths"], g_h=g_h, alpha_z=alpha_z, alpha_r=alpha_r, t=t, dt=dt, max_iter=max_iter, tol=tol,
                    damping=damping, seed=seed * 7919 + rep + 104729,
                )  # fmt: skip
                with np.errstate(divide="ignore"):
                    ell = 0.5 * np.log(norm2)
                ells.append(ell)
                lam_ages.append((ell[age_idx + n_lag] - ell[age_idx]) / (n_lag * dt))
                half = n_t // 2
                lam_late.append(float(np.polyfit(t[half:], ell[half:], 1)[0]))
                tan_res = max(tan_res, res_t)
            run.pop("paths")  # the forward paths are large: keep only the correlations
            runs.append(run)
    if lyapunov:
        lambda_ages = np.mean(lam_ages, axis=0)
        log_norm = np.mean(ells, axis=0)
        lambda_late = float(np.mean(lam_late))
        lambda_late_stderr = (
            float(np.std(lam_late, ddof=1) / np.sqrt(n_replicas)) if n_replicas > 1 else float("nan")
        )
    else:
        lambda_ages = np.full(age_idx.size, np.nan)
        log_norm = np.full(n_t, np.nan)
        lambda_late = lambda_late_stderr = float("nan")
    c_h = np.mean([r["c_h"] for r in runs], axis=0)
    c_phi = np.mean([r["c_phi"] for r in runs], axis=0)
    c_z = np.mean([r["c_z"] for r in runs], axis=0)
    residual = max(r["residual"] for r in runs)
    jitter = max(r["jitter"] for r in runs)
    it = max(r["iterations"] for r in runs)
    if n_replicas > 1:
        # the replicas are independent solutions (independent noise): their spread is the error,
        # which near slow (critical or gated) dynamics is several times the naive 1/sqrt(M)
        stderr = np.std([r["c_h"] for r in runs], axis=0, ddof=1) / np.sqrt(n_replicas)
    else:
        stderr = runs[0]["naive_stderr"]
    d = np.diagonal(c_h)
    with np.errstate(invalid="ignore", divide="ignore"):
        ageing = c_h[age_idx, age_idx + n_lag] / np.sqrt(d[age_idx] * d[age_idx + n_lag])

    residual = max(residual, tan_res)
    finite = bool(np.all(np.isfinite(c_h)) and np.isfinite(residual))
    if lyapunov:
        finite = finite and bool(np.isfinite(lambda_late) and np.all(np.isfinite(lambda_ages)))
    checks = (
        Check(name="residual", passed=bool(finite and residual <= tol), value=float(residual), tolerance=tol,
              detail=f"frozen-noise map, {it} iterations", status=Status.NOT_CONVERGED),
        Check(name="covariance_factorised", passed=bool(jitter <= JITTER_TOL), value=float(jitter),
              tolerance=JITTER_TOL, detail="relative diagonal jitter the Cholesky factors needed",
              status=Status.WARNING),
        Check(name="finite", passed=finite, value=float(finite), tolerance=1.0, detail="all correlations finite",
              status=Status.DIVERGED),
    )  # fmt: skip
    if not finite:
        status, msg = Status.DIVERGED, "non-finite correlations: reduce dt"
    elif residual > tol:
        status = Status.NOT_CONVERGED
        msg = f"residual {residual:.2g} > tol {tol:g} after {it} iterations: raise max_iter or shorten t_max"
    elif jitter > JITTER_TOL:
        status = Status.WARNING
        msg = f"the covariances needed a relative jitter of {jitter:g} to factorise: increase dt"
    else:
        status = Status.SUCCESS
        msg = (
            f"converged in at most {it} iterations (residual {residual:.1g} <= {tol:g}); standard error "
            f"of C_h up to {float(np.max(stderr)):.2g} ({n_replicas} replicas of M = {m} paths"
            + (
                ", from their spread)"
                if n_replicas > 1
                else ", one replica: the naive 1/sqrt(M) error of C_h(t, t))"
            )
        )
    return AgeingDMFTResult(
        g_h=g_h, alpha_z=alpha_z, alpha_r=alpha_r, init_var=iv, dt=dt, n_samples=m, iterations=it,
        residual=float(residual), jitter=float(jitter), lag=n_lag * dt, t=t, c_h=c_h, c_phi=c_phi, c_z=c_z,
        c_h_stderr=stderr, n_replicas=n_replicas, lambda_ages=lambda_ages, log_tangent_norm=log_norm, lambda_late=lambda_late,
        lambda_late_stderr=lambda_late_stderr, ages=age_idx * dt, ageing=ageing, status=status, message=msg, checks=checks,
    )  # fmt: skip


__all__ = ["AgeingDMFTResult", "gated_dmft_ageing"]

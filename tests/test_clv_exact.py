"""Exact oracles for the summaries of a CLV run (standard errors, localisation, units of the
finite-time exponents), written from a mutation audit: each test kills plausible bugs that the
tests in tests/test_clv.py let pass.

Oracles: an input-driven scalar map ``h' = e^{x} h`` (``ln R = x_t`` exactly), an upper-triangular
linear map (its Gram-Schmidt vectors are the coordinate axes and its CLVs its eigenvectors), and
the Euler map of the driven flow ``h' = x(t) h`` (one-step growth ``1 + dt x_t`` exactly).
"""

from __future__ import annotations

import math

import pytest
import torch

import rnndyn as rd
from model_zoo import DrivenFlow, DrivenScalar, Linear
from model_zoo import close as _close

F64 = torch.float64


def gen(seed: int) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def _clv(system: rd.AbstractMap, x: torch.Tensor, **kw) -> rd.CLVResult:  # noqa: ANN003
    return rd.covariant_lyapunov_vectors(
        system, inputs=x, h0=torch.ones(x.shape[0], 1, dtype=F64), keep_vectors=False, **kw
    )


def test_clv_standard_errors_are_those_of_the_inputs() -> None:
    # one trajectory: 10 time blocks of the window; several: their spread / sqrt(B)
    n = 200
    x = 0.2 * torch.randn(1, n + 20, 1, generator=gen(0), dtype=F64)
    res = _clv(DrivenScalar(), x, n_steps=n, n_backward_transient=20)
    window = x[0, :n, 0]
    assert float(res.exponents[0]) == pytest.approx(float(window.mean()), abs=1e-14)
    blocks = window.view(10, -1).mean(1)
    assert float(res.stderr[0]) == pytest.approx(float(blocks.std(unbiased=True)) / math.sqrt(10), rel=1e-12)
    x = 0.2 * torch.randn(3, n + 20, 1, generator=gen(1), dtype=F64)
    x = x - x[:, :n].mean() + 0.004  # lambda = 0.004, inside its error bar
    res = _clv(DrivenScalar(), x, n_steps=n, n_backward_transient=20)
    per = x[:, :n, 0].mean(1)
    assert float(res.stderr[0]) == pytest.approx(float(per.std(unbiased=True)) / math.sqrt(3), rel=1e-12)
    # 0 < lambda < 3 se: neutral, not unstable
    assert (
        res.zero_tol == pytest.approx(3 * float(res.stderr[0]), rel=1e-12)
        and 0 < float(res.exponents[0]) < res.zero_tol
    )
    assert (res.n_unstable, res.n_neutral, res.n_stable) == (0, 1, 0)
    # one dimension: the CLV growth factor is R, and the CLV exponent the mean over trajectories
    assert float(res.clv_exponents[0]) == pytest.approx(float(per.mean()), abs=1e-14)


def test_localisation_of_gram_schmidt_vectors_and_clvs_of_an_upper_triangular_map() -> None:
    # A upper triangular with eigenvalues 2 > 1 > 0.5 down the diagonal: the Gram-Schmidt vectors
    # converge to the coordinate axes (IPR sum_j q_j^4 = 1 each), the CLVs to A's eigenvectors
    a = torch.tensor([[2.0, 1.0, 0.5], [0.0, 1.0, 0.3], [0.0, 0.0, 0.5]], dtype=F64)
    res = rd.covariant_lyapunov_vectors(
        Linear(a), n_steps=30, n_transient=80, n_backward_transient=80, generator=gen(2)
    )
    assert res.status == "success", res.message
    _close(res.ipr_gs, torch.ones(3, dtype=F64), rtol=0, atol=1e-12)
    evals, evecs = torch.linalg.eig(a)
    v = evecs.real[:, torch.argsort(evals.real, descending=True)]
    v = v / torch.linalg.vector_norm(v, dim=0)
    expected = (v**4).sum(0)  # 1, 1/2 and that of (0.067, -0.6, 1)/|.|
    _close(res.ipr_clv, expected, rtol=0, atol=1e-10)
    assert float(res.ipr_clv[1]) == pytest.approx(0.5, abs=1e-10)


def test_clv_and_finite_time_exponents_of_a_discretised_flow_are_per_unit_time() -> None:
    # Euler map of h' = x(t) h at dt = 0.1: ln R_t = ln(1 + dt x_t), exponents per unit time
    dt, n = 0.1, 200
    x = 0.5 * torch.randn(1, n + 20, 1, generator=gen(3), dtype=F64)
    res = _clv(rd.discretise(DrivenFlow(), dt=dt, method="euler"), x, n_steps=n, n_backward_transient=20)
    assert res.units == "1/time" and res.dt == dt
    growth = torch.log1p(dt * x[0, :n, 0])  # natural log per step
    assert float(res.exponents[0]) == pytest.approx(float(growth.mean()) / dt, abs=1e-12)
    assert float(res.clv_exponents[0]) == pytest.approx(float(growth.mean()) / dt, abs=1e-12)  # 1-D: d = R
    f = rd.finite_time_exponents(res, window=20)
    _close(f.values[0, :, 0], growth.view(-1, 20).mean(1) / dt, rtol=0, atol=1e-12)
    assert float(f.step_variance[0]) == pytest.approx(float(growth.var(unbiased=True)) / dt**2, rel=1e-12)
    # the large-window variance of a mean with autocorrelation time tau: sigma^2 tau / L
    assert float(f.predicted_variance[0]) == pytest.approx(
        float(f.step_variance[0] * f.autocorrelation_time[0]) / 20, rel=1e-12
    )


def _direct_tau(y: torch.Tensor, c: float = 5.0) -> torch.Tensor:
    """Sokal's windowed tau by direct lag sums (no FFT): acov(l) = sum_i z_i z_{i+l} / (T - l),
    averaged over trajectories; the smallest M <= T/2 with M >= c (1 + 2 sum_{l<=M} |rho(l)|)."""
    b, t, k = y.shape
    z = y - y.mean(1, keepdim=True)
    acov = torch.stack(
        [(z[:, : t - lag] * z[:, lag:]).sum(1).mean(0) / (t - lag) for lag in range(t // 2 + 1)]
    )
    rho = acov / acov[0]
    out = torch.full((k,), math.nan, dtype=y.dtype)
    for j in range(k):
        for m in range(1, t // 2 + 1):
            if m >= c * (1 + 2 * float(rho[1 : m + 1, j].abs().sum())):
                out[j] = 1 + 2 * float(rho[1 : m + 1, j].sum())
                break
    return out


def test_autocorrelation_time_equals_direct_lag_sums() -> None:
    # cross-method: the FFT autocovariance with the 1/(T - l) normalisation against direct sums,
    # on short correlated and anticorrelated series where the normalisation changes tau by %
    from rnndyn.clv import _autocorrelation_time

    e = torch.randn(2, 161, 3, generator=gen(4), dtype=F64)
    y = torch.stack([e[:, 1:, 0] + 0.8 * e[:, :-1, 0], e[:, 1:, 1] - 0.6 * e[:, :-1, 1], e[:, 1:, 2]], -1)
    tau, note = _autocorrelation_time(y)
    expected = _direct_tau(y)
    assert note == ("", "", "") and bool(torch.isfinite(expected).all())
    _close(tau, expected, rtol=1e-10, atol=0)


def test_localisation_is_averaged_over_recorded_times_and_trajectories() -> None:
    # the IPR of each CLV, sum_j v_j^4 of the unit vectors, varies along a Henon orbit; the
    # reported value is its mean over all recorded times of both trajectories
    res = rd.covariant_lyapunov_vectors(
        rd.Henon(), n_steps=40, n_transient=50, n_backward_transient=50, n_trajectories=2, generator=gen(5)
    )
    ipr = (res.vectors**4).sum(-2)  # (B, R, k)
    assert float(ipr.std()) > 0.01
    _close(res.ipr_clv, ipr.mean((0, 1)), rtol=0, atol=1e-13)
    _close(res.ipr_clv_std, ipr.flatten(0, 1).std(0), rtol=0, atol=1e-13)


def test_backward_convergence_resolves_angles_below_the_sine_floor() -> None:
    # A = diag(2, 1, 0.5, 0.25) (upper triangular, gaps ln 2): the two backward starts' CLV i
    # (i >= 1) approach each other like 2^-t, so 3 more backward steps divide their angle by 8
    # exactly, down at 1e-10, where sqrt(1 - cos^2) could only say 0 or >= 1.5e-8 (cos rounds to 1)
    a = torch.tensor(
        [[2.0, 0.7, 0.2, -0.4], [0.0, 1.0, 0.5, 0.3], [0.0, 0.0, 0.5, 0.6], [0.0, 0.0, 0.0, 0.25]], dtype=F64
    )

    def per_vector(bt: int) -> torch.Tensor:
        res = rd.covariant_lyapunov_vectors(
            Linear(a), n_steps=10, n_transient=40, n_backward_transient=bt, generator=gen(7)
        )
        return res.backward_convergence_per_vector

    p33, p36 = per_vector(33), per_vector(36)
    assert bool((p36[1:] > 1e-13).all() and (p33[1:] < 1e-8).all()), (p33, p36)
    _close(p33[1:] / p36[1:], torch.full((3,), 8.0, dtype=F64), rtol=1e-4, atol=0)


def test_forward_convergence_measures_the_gram_schmidt_subspaces_of_two_random_frames() -> None:
    # the same map: span(q_1..q_i) of two random frames approach each other like 2^-t (each gap
    # ln 2), so 3 more transient steps divide the distance by 8; span(q_1..q_4) is the whole space
    a = torch.tensor(
        [[2.0, 0.7, 0.2, -0.4], [0.0, 1.0, 0.5, 0.3], [0.0, 0.0, 0.5, 0.6], [0.0, 0.0, 0.0, 0.25]], dtype=F64
    )

    def run(n_transient: int) -> rd.CLVResult:
        return rd.covariant_lyapunov_vectors(
            Linear(a), n_steps=10, n_transient=n_transient, n_backward_transient=60, generator=gen(7)
        )

    r20, r23, r60 = run(20), run(23), run(60)
    f20, f23 = r20.forward_convergence_per_vector, r23.forward_convergence_per_vector
    _close(f20[:3] / f23[:3], torch.full((3,), 8.0, dtype=F64), rtol=1e-4, atol=0)
    assert float(f20[3]) < 1e-15 and r20.forward_convergence == pytest.approx(float(f20.max()), rel=1e-15)
    # 2^-20 ~ 1e-6: not converged to 1e-6 yet (the backward starts are), with the advice
    assert r20.status == "not_converged" and not r20.check("forward_convergence").passed, r20.message
    assert r20.check("backward_convergence").passed and "forward transient was too short" in r20.message
    assert "lengthen n_transient" in r20.message
    assert r60.status == "success" and r60.forward_convergence < 1e-15, r60.message


@pytest.mark.parametrize("n, k", [(6, 6), (7, 4)])
def test_subspace_sines_against_principal_angles_by_svd(n: int, k: int) -> None:
    # Frobenius norm of the sines of the principal angles between span(q_1..q_i) and span(p_1..p_i):
    # the singular values of the part of q_1..q_i outside span(p_1..p_i) (k < n: also outside P)
    from rnndyn.clv import _subspace_sines

    q = torch.linalg.qr(torch.randn(2, n, k, generator=gen(11), dtype=F64))[0]
    p = torch.linalg.qr(q + 1e-3 * torch.randn(2, n, k, generator=gen(12), dtype=F64))[0]
    ref = torch.empty(2, k, dtype=F64)
    for b in range(2):
        for i in range(1, k + 1):
            qi, pi = q[b, :, :i], p[b, :, :i]
            ref[b, i - 1] = torch.linalg.svdvals(qi - pi @ (pi.T @ qi)).norm()
    got = _subspace_sines(q, p)
    _close(got, ref, rtol=1e-10, atol=1e-15)
    assert bool((ref[:, : min(k, n - 1)] > 1e-4).all())  # the test can fail: the angles are not 0


def test_finite_time_exponents_carry_an_unconverged_forward_frame_as_a_warning() -> None:
    a = torch.tensor([[2.0, 0.7, 0.2], [0.0, 1.0, 0.5], [0.0, 0.0, 0.5]], dtype=F64)
    short = rd.covariant_lyapunov_vectors(
        Linear(a), n_steps=40, n_transient=5, n_backward_transient=60, generator=gen(7)
    )
    assert not short.check("forward_convergence").passed  # 2^-5 apart
    for which in ("gs", "clv"):
        f = rd.finite_time_exponents(short, window=4, which=which)
        chk = f.check("forward_convergence")
        assert f.status == "warning" and not chk.passed and chk.value == short.forward_convergence
        assert "Gram-Schmidt vectors did not converge" in f.message
    long = rd.covariant_lyapunov_vectors(
        Linear(a), n_steps=40, n_transient=60, n_backward_transient=60, generator=gen(7)
    )
    f = rd.finite_time_exponents(long, window=4)
    assert f.status == "success" and all(c.name != "forward_convergence" for c in f.checks), f.message

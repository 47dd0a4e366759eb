"""Covariant Lyapunov vectors with a QR every ``qr_every = m`` steps (issue 17): oracle tests.

With the frame re-orthonormalised every m steps, ``J_{t+m-1} ... J_t Q_t = Q_{t+m} R`` and ``R`` is
the product of the m one-step factors; the backward iteration ``C_t = R^{-1} C_{t+m}`` and the
CLVs between QR events ``V_{t+j} = J_{t+j-1} ... J_t Q_t C_t`` (columns normalised) are the same
vectors as those of the run with a QR every step, from the same random backward start. So:

- cross-method: an m-run against the 1-run of the same system, h0, generator and transients:
  ``log_r`` / ``log_growth`` rows are sums of m consecutive 1-run rows, exponents, standard errors,
  vectors (every recorded time, including those between QR events), angles and IPRs equal;
- exact: a non-normal linear map, whose CLVs are its eigenvectors and whose growth per event is
  ``m ln|eigenvalue|``, and an input-driven scalar map, ``ln R = x_t`` per step;
- invariant: covariance ``J_t v_i(t) = d v_i(t+1)`` (``d > 0``) at every step, with ``J_t`` from
  autograd of the model's step, and ``ln |J_{t+m-1} ... J_t v_i(t)|`` = the event's ``log_growth``.

Spec: the lead's session-11 spec of ``qr_every`` (CLVResult.qr_every, per-event log_r/log_growth,
ipr_gs and min_angle at the recorded times that are multiples of qr_every, "auto").
"""

from __future__ import annotations

import functools
import math

import pytest
import torch

import rnndyn as rd
from model_zoo import NON_NORMAL_A as A
from model_zoo import NON_NORMAL_EIGS as EIGS
from model_zoo import NON_NORMAL_S as S
from model_zoo import DrivenDiagonal, DrivenScalar, close
from model_zoo import Linear as LinearMap
from model_zoo import line_sine as _sin

F64 = torch.float64


def gen(seed: int) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def _sum_rows(x: torch.Tensor, m: int) -> torch.Tensor:
    """(B, T, k) -> (B, T // m, k): sums of m consecutive rows."""
    b, t, k = x.shape
    return x.reshape(b, t // m, m, k).sum(2)


# ------------------------------------------------------------------ the systems and cached runs
# n_steps = 60: a multiple of 2 and 3, and of 10 blocks x m (one-trajectory standard errors); the
# backward transients are multiples of 6 (test 2 has one that is not) and long enough for every
# CLV to converge (backward_convergence < 1e-6 in the 1-runs, asserted below), so the vectors are
# the CLVs, not just the same iterates
def _system(name: str) -> tuple[rd.AbstractMap, dict]:
    if name == "henon":
        return rd.Henon().double(), dict(n_transient=100, n_backward_transient=60, n_trajectories=1)
    if name == "lorenz":  # Lorenz-63, RK4 at dt = 0.05: exponents 0.9, 0, -14.6 per unit time
        sys_ = rd.discretise(rd.Lorenz63().double(), dt=0.05, method="rk4")
        return sys_, dict(n_transient=100, n_backward_transient=390, n_trajectories=1)
    if name == "tanh":  # exponents 0.09, -0.11, .., -1.9 over this short window: zero_tol given,
        # so that the unstable and stable subspaces (min_angle) are both there
        net = rd.VanillaRNN(12, g=3.0, generator=gen(4), dtype=F64)
        return net, dict(k=6, n_transient=200, n_backward_transient=198, n_trajectories=2, zero_tol=0.02)
    if name == "linear":
        return LinearMap(A), dict(n_transient=80, n_backward_transient=78, h0=torch.zeros(2, 4, dtype=F64))
    raise KeyError(name)


@functools.cache
def _run(name: str, m: int | str, record_every: int = 1, n_steps: int = 60) -> rd.CLVResult:
    system, kw = _system(name)
    return rd.covariant_lyapunov_vectors(
        system, n_steps=n_steps, record_every=record_every, qr_every=m, generator=gen(7), **kw
    )


#: Lorenz-63 costs ~0.5 s a run (RK4 tangents over 550 steps forward and back): slow
SYSTEMS = ["henon", "tanh", "linear", pytest.param("lorenz", marks=pytest.mark.slow)]


# ------------------------------------------------------------------ 1. cross-method: m vs 1
@pytest.mark.parametrize("name", SYSTEMS)
@pytest.mark.parametrize("m", [2, 3])
def test_qr_every_m_equals_qr_every_step(name: str, m: int) -> None:
    one, res = _run(name, 1), _run(name, m)
    assert one.qr_every == 1 and res.qr_every == m
    assert one.backward_convergence < 1e-6, one.backward_convergence  # converged CLVs
    n_events = 60 // m
    b, k = one.log_r.shape[0], one.k
    # per QR event: row e is the sum over steps [e m, (e+1) m) of the one-step values
    assert res.log_r.shape == res.log_growth.shape == (b, n_events, k)
    close(res.log_r, _sum_rows(one.log_r, m), rtol=1e-10, atol=1e-12)
    close(res.log_growth, _sum_rows(one.log_growth, m), rtol=1e-10, atol=1e-10)
    # the averages are per step, not per event (a mean over events would be m times larger)
    close(res.exponents, one.exponents, rtol=1e-12, atol=1e-12)
    close(res.clv_exponents, one.clv_exponents, rtol=1e-12, atol=1e-12)
    close(res.stderr, one.stderr, rtol=1e-9, atol=1e-13)
    assert res.zero_tol == pytest.approx(one.zero_tol, rel=1e-9)
    assert (res.n_unstable, res.n_neutral, res.n_stable) == (one.n_unstable, one.n_neutral, one.n_stable)
    # every recorded time, including those between QR events (from the non-orthonormal frame)
    assert torch.equal(res.times, one.times) and res.times.tolist() == list(range(60))
    close(res.states, one.states, rtol=0, atol=1e-12)
    assert res.vectors.shape == one.vectors.shape
    unit = torch.linalg.vector_norm(res.vectors, dim=-2)
    close(unit, torch.ones_like(unit), rtol=0, atol=1e-12)  # normalised in between too
    # signs included: V = Q C with diag C > 0 at QR steps and positive column norms in between fix
    # the sign as in the 1-run (measured: 1.5e-11 at most here)
    close(res.vectors, one.vectors, rtol=0, atol=1e-9)
    assert res.angle_pairs == one.angle_pairs
    close(res.angles, one.angles, rtol=0, atol=1e-9)
    close(res.ipr_clv, one.ipr_clv, rtol=0, atol=1e-10)
    close(res.ipr_clv_std, one.ipr_clv_std, rtol=0, atol=1e-10)
    # Gram-Schmidt IPRs: only at the QR events is the frame orthonormal; the m-run averages them
    # over the recorded times that are multiples of m, as the 1-run recording every m-th step
    sparse = _run(name, 1, m)
    assert sparse.times.tolist() == list(range(0, 60, m))
    close(res.ipr_gs, sparse.ipr_gs, rtol=0, atol=1e-12)
    close(res.ipr_gs_std, sparse.ipr_gs_std, rtol=0, atol=1e-12)
    # the same random backward starts: the same convergence measure (to its resolution: a sin from
    # sqrt(1 - cos^2) resolves ~1.5e-8), and the telescoping identity per event
    assert res.backward_convergence == pytest.approx(one.backward_convergence, abs=5e-8)
    assert res.growth_identity_residual < 1e-10 and res.check("growth_identity").passed
    assert res.status == one.status, res.message


# ------------------------------------------------------------------ 2. exact: non-normal linear map
def test_linear_map_clvs_are_its_eigenvectors_at_every_step_between_qr_events() -> None:
    # QR every 3rd step; the backward transient (80) is not a multiple of 3 (a short last event)
    m = 3
    res = rd.covariant_lyapunov_vectors(
        LinearMap(A), n_steps=30, n_transient=80, n_backward_transient=80, qr_every=m,
        h0=torch.zeros(2, 4, dtype=F64), generator=gen(0),
    )  # fmt: skip
    assert res.qr_every == m and res.status == "success", res.message
    v = res.vectors  # (B, 30, n, k)
    assert v.shape == (2, 30, 4, 4)
    for i in range(4):
        err = _sin(v[..., i], S[:, i].expand(2, 30, 4))
        assert float(err.max()) < 1e-8, (i, float(err.max()))
    # growth per event: A^3 s_i = eig_i^3 s_i; the converged Gram-Schmidt frame is the Schur basis,
    # whose one-step R is triangular with the eigenvalues on the diagonal, so ln R per event too
    per_event = (m * torch.log(EIGS)).expand(2, 10, 4)
    close(res.log_growth, per_event, rtol=0, atol=1e-10)
    close(res.log_r, per_event, rtol=0, atol=1e-10)
    close(res.exponents, torch.log(EIGS), rtol=0, atol=1e-12)
    close(res.clv_exponents, torch.log(EIGS), rtol=0, atol=1e-12)


# ------------------------------------------------------------------ 3. covariance in between
def _jacobians_by_autograd(system: rd.AbstractMap, h: torch.Tensor) -> torch.Tensor:
    """d step / d h at the states h (..., n), by reverse-mode autograd of the raw step (row i of
    every state's Jacobian from one backward pass of output i summed over the states, which do
    not interact): independent of the model's analytic Jacobian and of the engine's tangents."""
    n = h.shape[-1]
    with torch.enable_grad():
        flat = h.detach().reshape(-1, n).clone().requires_grad_(True)
        out = system._step(flat, None)
        rows = [torch.autograd.grad(out[:, i].sum(), flat, retain_graph=True)[0] for i in range(n)]
    return torch.stack(rows, -2).reshape(*h.shape, n)


def test_clvs_between_qr_events_are_covariant() -> None:
    m = 2
    net, _ = _system("tanh")
    res = _run("tanh", m)
    jac = _jacobians_by_autograd(net, res.states)  # J_t at t = 0 .. 59
    v = res.vectors  # (B, 60, n, k)
    jv = (jac[:, :-1] @ v[:, :-1]).transpose(-2, -1)  # J_t v_i(t), (B, 59, k, n)
    nxt = v[:, 1:].transpose(-2, -1)
    # parallel at every step: the odd t are the steps that start between QR events
    assert float(_sin(jv, nxt).max()) < 1e-8, float(_sin(jv, nxt).max())
    # and with d > 0 (no sign flip of a column between the frames): J v(t)/|J v(t)| = v(t+1)
    unit = jv / torch.linalg.vector_norm(jv, dim=-1, keepdim=True)
    assert float((unit - nxt).abs().max()) < 1e-8, float((unit - nxt).abs().max())
    # each event's growth: ln |J_{t+1} J_t v_i(t)| at t = 0, 2, .., 58 (a sum over the event's
    # two steps, not a mean)
    two = jac[:, 1::2] @ jac[:, 0::2]  # (B, 30, n, n) = J_{2e+1} J_{2e}
    growth = torch.log(torch.linalg.vector_norm(two @ v[:, 0::2], dim=-2))  # (B, 30, k)
    close(growth, res.log_growth, rtol=0, atol=1e-10)


# ------------------------------------------------------------------ 4. min_angle
@pytest.mark.parametrize("name", ["henon", "tanh"])
def test_min_angle_is_nan_between_qr_events_and_unchanged_at_them(name: str) -> None:
    for m in (2, 3):
        one, res = _run(name, 1), _run(name, m)
        assert bool(torch.isfinite(one.min_angle).all())  # both subspaces exist at every time
        at_event = res.times % m == 0
        assert bool(torch.isnan(res.min_angle[:, ~at_event]).all())
        close(res.min_angle[:, at_event], one.min_angle[:, at_event], rtol=0, atol=1e-9)
        assert res.min_angle_overall == pytest.approx(float(one.min_angle[:, at_event].min()), abs=1e-9)


def test_min_angle_of_a_linear_map_at_qr_events_is_the_principal_angle() -> None:
    # exponents ln 2 > 0 = ln 1 > ln 0.5 > ln 0.25: unstable span(s_0), stable span(s_2, s_3);
    # independent: principal angle from the SVD of orthonormal bases of the eigen-subspaces
    res = _run("linear", 3)
    assert (res.n_unstable, res.n_neutral, res.n_stable) == (1, 1, 2)
    qu, qs = torch.linalg.qr(S[:, :1])[0], torch.linalg.qr(S[:, 2:])[0]
    expected = math.acos(float(torch.linalg.svdvals(qu.T @ qs)[0]))
    at_event = res.times % 3 == 0
    close(res.min_angle[:, at_event], torch.full((2, 20), expected, dtype=F64), rtol=0, atol=1e-9)
    assert bool(torch.isnan(res.min_angle[:, ~at_event]).all())


# ------------------------------------------------------------------ 5. record_every with qr_every
def test_record_every_three_with_qr_every_two() -> None:
    # recorded times 0, 3, 6, ..: those at odd steps (3, 9, ..) fall between QR events
    one, res = _run("tanh", 1), _run("tanh", 2, 3)
    assert res.times.tolist() == list(range(0, 60, 3)) and res.qr_every == 2
    close(res.vectors, one.vectors[:, ::3], rtol=0, atol=1e-9)
    close(res.states, one.states[:, ::3], rtol=0, atol=1e-12)
    close(res.angles, one.angles[:, ::3], rtol=0, atol=1e-9)
    odd = res.times % 2 == 1
    assert bool(torch.isnan(res.min_angle[:, odd]).all())
    close(res.min_angle[:, ~odd], one.min_angle[:, ::6], rtol=0, atol=1e-9)
    # CLV IPR over all recorded times; Gram-Schmidt IPR over the times 0, 6, 12, ..
    ipr = (one.vectors[:, ::3] ** 4).sum(-2)
    close(res.ipr_clv, ipr.mean((0, 1)), rtol=0, atol=1e-10)
    close(res.ipr_gs, _run("tanh", 1, 6).ipr_gs, rtol=0, atol=1e-12)
    # the per-event series do not depend on what is recorded
    close(res.log_growth, _sum_rows(one.log_growth, 2), rtol=1e-10, atol=1e-10)


def test_reflector_frame_between_qr_events() -> None:
    # a full spectrum of a net with n >= 16 and a dense Jacobian: at the QR steps that are not
    # recorded the engine keeps the frame as Householder reflectors (sign flips tracked), and the
    # recorded frames between QR events (t = 3, 9, ..) are J Q_H times those flips
    net = rd.VanillaRNN(16, g=3.0, generator=gen(41), dtype=F64)
    eng = rd.LyapunovEngine(net)
    assert eng.householder and eng.tangent == "dense"
    kw = dict(n_steps=60, n_transient=100, n_backward_transient=102, record_every=3, zero_tol=0.02)
    one = rd.covariant_lyapunov_vectors(net, generator=gen(7), **kw)
    res = rd.covariant_lyapunov_vectors(net, generator=gen(7), qr_every=2, **kw)
    # exponents 0.08 .. -2.2 in the first 10 columns, down to -13 in the last: the event ratio
    # e^{2 (lambda_1 - lambda_i)} costs the last columns their precision (1e-6 measured), so the
    # top 10 are compared at 1e-9 and the signs of all (a flip would reverse a column)
    close(res.vectors[..., :10], one.vectors[..., :10], rtol=0, atol=1e-9)
    assert bool(((res.vectors * one.vectors).sum(-2) > 0.99).all())
    close(res.log_r[..., :10], _sum_rows(one.log_r, 2)[..., :10], rtol=1e-10, atol=1e-12)
    at_event = res.times % 2 == 0
    assert bool(torch.isnan(res.min_angle[:, ~at_event]).all())
    close(res.min_angle[:, at_event], one.min_angle[:, at_event], rtol=0, atol=1e-9)


# ------------------------------------------------------------------ 6. finite-time exponents
def test_finite_time_exponents_of_an_m_run_equal_those_of_the_one_run() -> None:
    one, res = _run("tanh", 1), _run("tanh", 3)
    with pytest.raises(ValueError, match="`window`.*qr_every|qr_every.*`window`"):
        rd.finite_time_exponents(res, window=5)
    with pytest.raises(ValueError, match="window"):
        rd.finite_time_exponents(res, window=4)
    for which in ("gs", "clv"):
        f1 = rd.finite_time_exponents(one, window=6, which=which)
        fm = rd.finite_time_exponents(res, window=6, which=which)
        assert fm.values.shape == f1.values.shape == (2, 10, 6)
        close(fm.values, f1.values, rtol=1e-10, atol=1e-12)  # ln of a product vs sum of lns
        close(fm.mean, f1.mean, rtol=1e-10, atol=1e-12)
        close(fm.variance, f1.variance, rtol=1e-9, atol=1e-14)


def test_finite_time_exponent_statistics_are_per_qr_event_rates_of_a_driven_scalar_map() -> None:
    # h' = e^{x_t} h: ln R = x_t per step exactly, so the event rate is the mean of x over the event
    m, n = 2, 400
    x = 0.3 * torch.randn(1, n + 20, 1, generator=gen(21), dtype=F64)
    res = rd.covariant_lyapunov_vectors(
        DrivenScalar(), inputs=x, n_steps=n, n_backward_transient=20, qr_every=m,
        h0=torch.ones(1, 1, dtype=F64), keep_vectors=False,
    )  # fmt: skip
    rates = x[:, :n].reshape(1, n // m, m, 1).mean(2)  # (1, 200, 1)
    f = rd.finite_time_exponents(res, window=10)
    close(f.values[0, :, 0], x[0, :n, 0].view(-1, 10).mean(1), rtol=0, atol=1e-14)
    assert float(f.step_variance[0]) == pytest.approx(float(rates.var(unbiased=True)), rel=1e-12)
    # tau in steps: m times that of the event series; the window variance sigma_e^2 tau_e / (L / m)
    from rnndyn.clv import _autocorrelation_time

    tau_events = _autocorrelation_time(rates)[0]
    assert float(f.autocorrelation_time[0]) == pytest.approx(m * float(tau_events[0]), rel=1e-12)
    assert float(f.predicted_variance[0]) == pytest.approx(
        float(f.step_variance[0] * f.autocorrelation_time[0]) / 10, rel=1e-12
    )


# ------------------------------------------------------------------ 7. "auto"
def _rotation() -> LinearMap:
    """A rotation of R^3: every exponent 0 at every step, from any frame (spread 0)."""
    c, s = math.cos(0.7), math.sin(0.7)
    r1 = torch.tensor([[c, -s, 0.0], [s, c, 0.0], [0.0, 0.0, 1.0]], dtype=F64)
    r2 = torch.tensor([[1.0, 0.0, 0.0], [0.0, c, -s], [0.0, s, c]], dtype=F64)
    return LinearMap(r1 @ r2)


def test_auto_qr_every() -> None:
    from rnndyn.lyapunov import _AUTO_MAX_QR_EVERY, _AUTO_MIN_TRANSIENT

    def run(system: rd.AbstractMap, n_steps: int, n_transient: int, m: int | str = "auto") -> rd.CLVResult:
        return rd.covariant_lyapunov_vectors(
            system, n_steps=n_steps, n_transient=n_transient, n_backward_transient=20, qr_every=m,
            keep_vectors=False, hyperbolicity=False, generator=gen(3),
        )  # fmt: skip

    # spread 0: the cap, reduced to the largest divisor of n_steps not above it
    for n_steps in (60, 64, 61):
        expected = max(d for d in range(1, _AUTO_MAX_QR_EVERY + 1) if n_steps % d == 0)
        assert run(_rotation(), n_steps, _AUTO_MIN_TRANSIENT).qr_every == expected  # 15, 16, 1
    # too short a transient to estimate the spread: a QR every step
    assert run(_rotation(), 60, _AUTO_MIN_TRANSIENT - 1).qr_every == 1
    # a spread above ln(1e7) per step (ln 2 - ln 1e-4 = 9.9): a QR every step
    assert run(LinearMap(torch.diag(torch.tensor([2.0, 1e-4], dtype=F64))), 60, 50).qr_every == 1
    # Henon: spread 2.04 per step, ln(1e7) / 2.04 = 7.9 -> 7, then the divisor 6 of 60
    res = run(rd.Henon().double(), 60, 100)
    assert res.qr_every == 6 and res.log_r.shape == (1, 10, 2) and res.to_dict()["qr_every"] == 6
    # the auto run is the run with that qr_every, and as accurate as the 1-run to the ratio it
    # allows (e^{6 x 2.04} = 2e5 here; measured 1e-13)
    six, one = run(rd.Henon().double(), 60, 100, 6), run(rd.Henon().double(), 60, 100, 1)
    close(res.log_r, six.log_r, rtol=0, atol=1e-12)
    close(res.log_growth, six.log_growth, rtol=0, atol=1e-12)
    close(res.log_r, _sum_rows(one.log_r, 6), rtol=1e-10, atol=1e-12)


def test_qr_round_off_check_is_eps_times_the_growth_ratio_of_one_event() -> None:
    # h' = diag(2, 1e-4) h: the Gram-Schmidt frame is the axes, R = diag(2^m, 1e-4^m) per event,
    # so x = ln R_11 - ln R_22 = m ln(2e4) = 9.90 m exactly and the estimate is eps e^x; the
    # largest qr_every that keeps it below convergence_tol = 1e-6 is int(ln(1e-6 / eps) / 9.90) = 2
    lin = LinearMap(torch.diag(torch.tensor([2.0, 1e-4], dtype=F64)))
    eps = float(torch.finfo(F64).eps)
    kw = dict(n_steps=12, n_transient=50, n_backward_transient=12, keep_vectors=False, generator=gen(5))
    one = rd.covariant_lyapunov_vectors(lin, qr_every=1, **kw)
    assert "qr_round_off" not in [c.name for c in one.checks] and one.status == "success", one.message
    for m, passed in ((2, True), (3, False)):
        res = rd.covariant_lyapunov_vectors(lin, qr_every=m, **kw)
        chk = res.check("qr_round_off")
        assert chk.value == pytest.approx(eps * 2e4**m, rel=1e-9) and chk.tolerance == 1e-6
        assert chk.passed is passed and "qr_every <= 2" in chk.detail
        assert res.status == ("success" if passed else "warning"), res.message
        assert passed or "qr_every <= 2" in res.message
    # the largest event, not a typical one: h' = diag(e^{u_t}, e^{w_t}) h has ln R_t = (u_t, w_t)
    # (the frame is the axes), so x = max over events of the event's sum of u_t - w_t
    m, n = 2, 40
    u = torch.randn(1, 20 + n + 10, 2, generator=gen(6), dtype=F64) * torch.tensor([0.3, 2.0], dtype=F64)
    u[..., 1] -= 6.0
    res = rd.covariant_lyapunov_vectors(
        DrivenDiagonal(2), inputs=u, n_steps=n, n_transient=20, n_backward_transient=10, qr_every=m,
        h0=torch.ones(1, 2, dtype=F64), keep_vectors=False,
    )  # fmt: skip
    w = u[:, 20 : 20 + n]
    gap = _sum_rows(w[..., :1] - w[..., 1:], m)  # (1, 20, 1)
    close(res.log_r[..., :1] - res.log_r[..., 1:], gap, rtol=0, atol=1e-12)
    assert float(gap.max()) > float(gap.mean()) + 2.0  # the maximum is not a typical event
    chk = res.check("qr_round_off")
    assert chk.value == pytest.approx(eps * math.exp(float(gap.max())), rel=1e-9)


# ------------------------------------------------------------------ 8. bad input
def test_bad_qr_every_gives_clear_errors() -> None:
    h = rd.Henon()
    for bad in (0, -1, 2.5, True, "Auto", "2", None):
        with pytest.raises((TypeError, ValueError), match="qr_every") as info:
            rd.covariant_lyapunov_vectors(h, n_steps=12, qr_every=bad)
        assert repr(bad) in str(info.value) or str(bad) in str(info.value), str(info.value)
    with pytest.raises((TypeError, ValueError), match="qr_every"):
        rd.covariant_lyapunov_vectors(h, n_steps=12, qr_every=2.0)  # a float, even a whole one
    with pytest.raises(ValueError, match="n_steps.*qr_every|qr_every.*n_steps") as info:
        rd.covariant_lyapunov_vectors(h, n_steps=10, qr_every=3)
    assert "10" in str(info.value) and "3" in str(info.value)


# ------------------------------------------------------------------ 9. spill and store
def test_spilled_and_stored_m_run_equals_the_in_memory_m_run(tmp_path) -> None:  # noqa: ANN001
    net = rd.VanillaRNN(10, g=2.5, generator=gen(7), dtype=F64)
    kw = dict(k=5, n_steps=40, n_transient=20, n_backward_transient=30, qr_every=2)
    ref = rd.covariant_lyapunov_vectors(net, generator=gen(8), **kw)
    assert ref.memory["storage"] == "memory" and ref.qr_every == 2
    path = tmp_path / "clv.zarr"
    st = rd.covariant_lyapunov_vectors(net, generator=gen(8), max_memory=20_000, store=path, **kw)
    assert (st.memory["storage"], st.memory["vectors"]) == ("spill", "zarr")
    assert st.memory["spilled_bytes"] > 0 and st.qr_every == 2
    assert torch.equal(st.log_r, ref.log_r) and torch.equal(st.log_growth, ref.log_growth)
    assert torch.equal(st.angles, ref.angles) and torch.equal(st.ipr_gs, ref.ipr_gs)
    for j in (0, 1, 19, 38, 39):  # odd j: between QR events (frames kept non-orthonormal)
        assert torch.equal(st.vectors_at(j), ref.vectors[:, j]), j
    # the same settings may overwrite the store; another qr_every is refused
    rd.covariant_lyapunov_vectors(net, generator=gen(8), max_memory=20_000, store=path, **kw)
    with pytest.raises(ValueError, match="other settings.*qr_every: store has 2, this run 4"):
        rd.covariant_lyapunov_vectors(net, generator=gen(8), store=path, **{**kw, "qr_every": 4})


def test_store_of_an_m_run_refuses_a_run_with_a_qr_every_step(tmp_path) -> None:  # noqa: ANN001
    net = rd.VanillaRNN(4, g=2.5, generator=gen(7), dtype=F64)
    kw = dict(n_steps=4, n_transient=0, n_backward_transient=2, keep_vectors=True, store=tmp_path / "c")
    rd.covariant_lyapunov_vectors(net, qr_every=2, generator=gen(8), **kw)
    with pytest.raises(ValueError, match="other settings.*qr_every"):
        rd.covariant_lyapunov_vectors(net, qr_every=1, generator=gen(8), **kw)


# ------------------------------------------------------------------ 10. inputs-driven
def test_driven_scalar_map_events_sum_the_inputs() -> None:
    m, n = 2, 40
    x = 0.5 * torch.randn(2, n + 10, 1, generator=gen(30), dtype=F64)
    res = rd.covariant_lyapunov_vectors(
        DrivenScalar(), inputs=x, n_steps=n, n_backward_transient=10, qr_every=m,
        h0=torch.ones(2, 1, dtype=F64),
    )  # fmt: skip
    expected = _sum_rows(x[:, :n], m)  # ln R = x_t per step; one dimension: d = R
    close(res.log_r, expected, rtol=0, atol=1e-14)
    close(res.log_growth, expected, rtol=0, atol=1e-14)
    close(res.exponents, x[:, :n, 0].mean(1).mean(0, keepdim=True), rtol=0, atol=1e-14)
    close(res.stderr, x[:, :n, 0].mean(1).std().reshape(1) / math.sqrt(2), rtol=1e-12, atol=0)


def test_input_driven_network_m_run_equals_one_run() -> None:
    net = rd.VanillaRNN(8, g=2.0, input_size=2, bias_std=0.2, generator=gen(31), dtype=F64)
    x = torch.randn(2, 50 + 60 + 90, 2, generator=gen(32), dtype=F64)
    kw = dict(inputs=x, n_steps=60, n_transient=50, n_backward_transient=90)
    one = rd.covariant_lyapunov_vectors(net, qr_every=1, generator=gen(33), **kw)
    res = rd.covariant_lyapunov_vectors(net, qr_every=2, generator=gen(33), **kw)
    assert one.backward_convergence < 1e-6, one.backward_convergence
    close(res.log_r, _sum_rows(one.log_r, 2), rtol=1e-10, atol=1e-12)
    close(res.log_growth, _sum_rows(one.log_growth, 2), rtol=1e-10, atol=1e-10)
    # exponents -0.23 .. -5.0 per step: one event resolves a ratio e^{2 x 4.8} ~ 1e4, so the last
    # exponents carry ~eps 1e4 relative round-off (measured 2e-12 absolute on -5.0)
    close(res.exponents, one.exponents, rtol=1e-11, atol=1e-12)
    close(res.clv_exponents, one.clv_exponents, rtol=1e-11, atol=1e-12)
    close(res.vectors, one.vectors, rtol=0, atol=1e-9)


def test_one_trajectory_stderr_uses_time_blocks_of_whole_qr_events() -> None:
    """n_steps = 60, m = 4: 15 events in 10 blocks (2, 2, 2, 2, 2, 1, 1, 1, 1, 1 events), which do not
    fall on the 1-run's 6-step blocks; the error is the spread of the block rates built from the
    1-run's per-step ln R_ii summed over the same steps."""
    one, four = _run("henon", 1), _run("henon", 4)
    steps = [b.shape[0] * 4 for b in torch.tensor_split(torch.arange(15), 10)]
    rates = torch.stack([b.sum(0) / b.shape[0] for b in torch.split(one.log_r[0], steps)])
    close(four.stderr, rates.std(0, unbiased=True) / math.sqrt(10), rtol=1e-10, atol=0.0)
    # not the 1-run's own blocks (a per-step spreading of the events would give a third value)
    assert not torch.allclose(four.stderr, one.stderr, rtol=1e-3)

"""Lyapunov engine: oracles from docs/theory/chaos.md §4 (exact cases, invariants, literature values,
cross-method checks) and the failure policy."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
import torch

import rnndyn as rd
from rnndyn.lyapunov import LyapunovEngine, TangentState, kaplan_yorke_dimension
from rnndyn.models.base import AbstractMap

F64 = torch.float64


def gen(seed: int) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


class LinearMap(AbstractMap):
    """h' = A h (+ B x): exponents are ln|eig(A)| (an exact oracle)."""

    def __init__(self, a: torch.Tensor, input_size: int = 0) -> None:
        super().__init__()
        self.state_size, self.input_size = a.shape[0], input_size
        self.register_buffer("a", a.to(F64))
        self.register_buffer("b", torch.ones(a.shape[0], max(input_size, 1), dtype=F64)[:, :input_size])

    def _step(self, h, x):
        out = h @ self.a.T
        return out if x is None else out + x @ self.b.T

    def _jacobian(self, h, x):
        return self.a.expand(*h.shape[:-1], *self.a.shape)


# ------------------------------------------------------------------------------ exact cases
def test_diagonal_map_exact() -> None:
    diag = torch.tensor([2.0, -1.0, 0.5, -0.1], dtype=F64)
    # h0 = 0 is a fixed point: the Jacobian is A all the same and the state stays bounded (from a
    # random h0 the |2| direction escapes, which is reported as "diverged", see below)
    res = rd.lyapunov_spectrum(
        LinearMap(torch.diag(diag)),
        n_steps=400,
        n_transient=60,
        h0=torch.zeros(4, dtype=F64),
        generator=gen(0),
    )
    assert res.status == "success", res.message
    expected = torch.sort(diag.abs().log(), descending=True).values
    assert torch.allclose(res.exponents, expected, atol=1e-12, rtol=0)
    assert res.units == "1/step" and res.n_near_zero == 1  # the |a| = 1 direction


def test_linear_map_exact_and_tangent_modes_agree() -> None:
    # non-normal A with real eigenvalues 1.5, 1.0, 0.7, -0.2: QR iteration converges to |eig|
    s = torch.randn(4, 4, generator=gen(1), dtype=F64) + 2 * torch.eye(4, dtype=F64)
    eig = torch.tensor([1.5, 1.0, 0.7, -0.2], dtype=F64)
    a = s @ torch.diag(eig) @ torch.linalg.inv(s)
    expected = eig.abs().log()
    for tangent in ("dense", "jvp"):
        res = rd.lyapunov_spectrum(
            LinearMap(a),
            n_steps=600,
            n_transient=300,
            h0=torch.zeros(4, dtype=F64),
            generator=gen(2),
            tangent=tangent,
        )
        assert res.status == "success", res.message
        assert res.tangent == tangent
        assert torch.allclose(res.exponents, expected, atol=1e-9, rtol=0), tangent
        assert abs(res.sum_check["sum"] - math.log(abs(float(torch.linalg.det(a))))) < 1e-10


def test_singular_jacobian_gives_minus_inf_and_a_note() -> None:
    res = rd.lyapunov_spectrum(
        LinearMap(torch.diag(torch.tensor([0.5, 0.0], dtype=F64))),
        n_steps=50,
        n_transient=5,
        generator=gen(0),
    )
    assert res.status == "success" and "singular" in res.message
    assert res.exponents[0].item() == pytest.approx(math.log(0.5), abs=1e-12)
    assert res.exponents[1].item() == -math.inf


def test_logistic_r4_is_ln2() -> None:
    res = rd.lyapunov_spectrum(
        rd.Logistic(r=4.0), n_steps=5000, n_transient=100, n_trajectories=16, generator=gen(3)
    )
    assert res.status == "success", res.message  # no false alarm on a literature value
    err = abs(res.lambda_max - math.log(2.0))
    assert err < 0.004 and err < 5 * res.stderr[0].item() + 1e-4
    assert res.stderr_method == "trajectories"
    assert res.predictability_time == pytest.approx(math.log(2.0) / res.lambda_max)


def test_henon_sum_rule_and_lambda1() -> None:
    res = rd.lyapunov_spectrum(rd.Henon(), n_steps=4000, n_transient=100, generator=gen(4))
    assert res.status == "success", res.message  # no false alarm on a literature value
    assert abs(res.exponents.sum().item() - math.log(0.3)) < 1e-6 * abs(math.log(0.3))
    assert res.exponents[0].item() == pytest.approx(0.4192, abs=0.01)  # literature value
    assert res.stderr_method == "time_blocks" and 0 < res.stderr[0].item() < 0.01
    # D_KY = 1 + lambda_1 / |lambda_2| (about 1.26 for the Henon attractor)
    lam = res.exponents
    assert res.kaplan_yorke_dimension == pytest.approx(1 + lam[0].item() / abs(lam[1].item()))
    assert res.entropy_rate == pytest.approx(lam[0].item())
    assert res.regime == "chaotic"


def test_lorenz63_reference_values() -> None:
    # docs/theory/chaos.md §4.1: (0.9056, 0, -14.5723), tolerances 0.02 / 0.01 / 0.05; sum -(sigma+1+beta).
    # Modest T (30 time units) but 96 trajectories in one batched run.
    m = rd.discretise(rd.Lorenz63(), dt=0.02, method="rk4")
    res = rd.lyapunov_spectrum(m, n_steps=1500, n_transient=500, n_trajectories=96, generator=gen(5))
    assert res.status == "success", res.message  # no false alarm on a literature value
    assert res.units == "1/time"
    ref = [0.9056, 0.0, -14.5723]
    for lam, r, tol in zip(res.exponents.tolist(), ref, (0.02, 0.01, 0.05), strict=True):
        assert abs(lam - r) < tol, (lam, r, res.stderr)
    assert res.sum_check["rel_error"] < 1e-10  # exact for the RK4 map
    assert abs(res.exponents.sum().item() + 13.6667) < 2e-3 * 13.6667  # flow value, RK4 error
    assert res.n_near_zero == 1
    assert res.kaplan_yorke_dimension == pytest.approx(2.062, abs=0.003)


@pytest.mark.slow
def test_lorenz63_long_run() -> None:
    m = rd.discretise(rd.Lorenz63(), dt=0.01, method="rk4")
    res = rd.lyapunov_spectrum(m, n_steps=100_000, n_transient=2000, n_trajectories=8, generator=gen(6))
    assert res.status == "success", res.message  # no false alarm on a literature value
    ref = [0.9056, 0.0, -14.5723]
    for lam, r, tol in zip(res.exponents.tolist(), ref, (0.02, 0.01, 0.05), strict=True):
        assert abs(lam - r) < tol
    assert abs(res.exponents.sum().item() + 13.66667) < 1e-4 * 13.66667


# ------------------------------------------------------------------------------ random networks
def test_contracting_network_matches_spectral_radius() -> None:
    # g < 1: the orbit falls onto h = 0, where J = g W exactly: lambda_i = ln|eig(g W)| (moduli of
    # complex pairs are shared, so compare the top exponent, the sum and the spectrum loosely)
    net = rd.VanillaRNN(32, g=0.6, generator=gen(7), dtype=F64)
    eig = torch.linalg.eigvals(net.weight_hh.detach()).abs().log()
    res = rd.lyapunov_spectrum(net, n_steps=1500, n_transient=300, generator=gen(8))
    assert res.status == "success", res.message  # no false alarm on a literature value
    assert res.lambda_max == pytest.approx(eig.max().item(), abs=5e-3)
    assert res.exponents.sum().item() == pytest.approx(eig.sum().item(), abs=1e-6)
    assert torch.allclose(res.exponents, torch.sort(eig, descending=True).values, atol=0.02)
    assert abs(res.lambda_max - math.log(0.6)) < 0.25  # N -> inf prediction ln g; N = 32 spread
    assert res.regime == "stable" and res.entropy_rate == 0.0 and res.kaplan_yorke_dimension == 0.0


def test_discretised_rate_network_units_and_eigenvalues() -> None:
    # CT, g < 1: Euler map at the fixed point, I + dt(-I + g W): exponents ln|mu|/dt per unit time
    dt = 0.1
    flow = rd.RateRNN(24, g=0.5, generator=gen(9), dtype=F64)
    m = rd.discretise(flow, dt=dt, method="euler")
    mu = torch.linalg.eigvals((1 - dt) * torch.eye(24, dtype=F64) + dt * flow.weight_hh.detach())
    res = rd.lyapunov_spectrum(m, n_steps=2000, n_transient=300, generator=gen(10))
    # the Euler map's exponents (the oracle here) differ from the flow's by O(dt): flagged, nothing else
    assert res.status == "warning" and res.failed_checks == (res.check("flow_divergence"),), res.message
    assert res.units == "1/time" and res.dt == dt
    assert res.lambda_max == pytest.approx((mu.abs().log().max() / dt).item(), abs=5e-3)
    assert abs(res.lambda_max - (0.5 - 1.0)) < 0.15  # g - 1 (SCS, docs/theory/chaos.md §4.2)


def test_scs_zero_diagonal_euler_sum_rule() -> None:
    # docs/theory/chaos.md §4.2: with W_ii = 0, sum_i lambda_i / N = ln(1 - dt)/dt for the Euler map [D]
    n, dt = 48, 0.05
    flow = rd.RateRNN(n, g=4.0, zero_diagonal=True, generator=gen(11), dtype=F64)
    m = rd.discretise(flow, dt=dt, method="euler")
    res = rd.lyapunov_spectrum(m, n_steps=1000, n_transient=400, n_trajectories=2, generator=gen(12))
    # Euler at dt = 0.05: sum/N = ln(1 - dt)/dt = -1.026 against the flow's -1: a time-step bias
    assert res.status == "warning" and res.failed_checks == (res.check("flow_divergence"),), res.message
    assert res.sum_check["rel_error"] < 1e-8  # exact: sum = mean ln|det J| / dt
    per_unit = res.exponents.sum().item() / n
    assert per_unit == pytest.approx(math.log(1 - dt) / dt, rel=2e-3)
    assert res.regime == "chaotic"


def test_qr_agrees_with_two_trajectory_estimate() -> None:
    net = rd.VanillaRNN(48, g=3.0, generator=gen(13), dtype=F64)
    h0 = net.initial_state((8,), generator=gen(14))
    qr = rd.lyapunov_spectrum(net, k=3, n_steps=2000, n_transient=300, h0=h0, generator=gen(15))
    two = rd.max_lyapunov(net, n_steps=2000, n_transient=300, h0=h0, generator=gen(15))
    assert qr.status == "success" and two.status == "success", (qr.message, two.message)
    assert two.method == "two_trajectory" and two.k == 1
    se = math.hypot(qr.stderr[0].item(), two.stderr[0].item())
    assert abs(qr.lambda_max - two.lambda_max) < max(4 * se, 0.01), (qr.lambda_max, two.lambda_max, se)
    assert qr.lambda_max > 0.1


def test_max_lyapunov_linear_map() -> None:
    res = rd.max_lyapunov(
        LinearMap(torch.diag(torch.tensor([0.9, 0.3], dtype=F64))),
        n_steps=2000,
        n_transient=50,
        generator=gen(0),
    )
    assert res.lambda_max == pytest.approx(math.log(0.9), abs=1e-4)  # O(1/T) alignment error
    assert res.status == "success", res.message  # no false alarm on a literature value


# ------------------------------------------------------------------------------ consistency
def test_qr_every_and_householder_do_not_change_exponents() -> None:
    net = rd.VanillaRNN(32, g=2.0, generator=gen(16), dtype=F64)
    h0 = net.initial_state((1,), generator=gen(17))
    ref = rd.lyapunov_spectrum(net, n_steps=300, n_transient=50, h0=h0, generator=gen(18), qr_every=1)
    for qr_every in (2, "auto"):
        res = rd.lyapunov_spectrum(
            net, n_steps=300, n_transient=50, h0=h0, generator=gen(18), qr_every=qr_every
        )
        assert torch.allclose(res.exponents[:5], ref.exponents[:5], atol=1e-12, rtol=0)
        assert torch.allclose(res.exponents, ref.exponents, atol=1e-6, rtol=0)
    eng = LyapunovEngine(net, qr_every=1)  # the explicit-QR path against ref, both QR every step
    eng.householder = False
    explicit = eng.run(n_steps=300, n_transient=50, h0=h0, generator=gen(18))
    assert torch.allclose(explicit.exponents, ref.exponents, atol=1e-10, rtol=0)
    assert ref.sum_check["rel_error"] < 1e-12


def test_auto_qr_every_in_the_transient(monkeypatch) -> None:  # noqa: ANN001
    # "auto" runs the transient's first quarter (>= 20 steps) with a QR every step and the rest
    # with m picked from it; the averaging's m from the whole transient. The exponents match the
    # QR-every-step run from the same frame on the same trajectory.
    net = rd.VanillaRNN(48, g=1.5, generator=gen(22), dtype=F64)
    h0 = net.initial_state((1,), generator=gen(23))
    calls = []
    advance = LyapunovEngine.advance

    def spy(self, state, *, n_steps, qr_every=1, **kw):  # noqa: ANN001, ANN003, ANN202
        calls.append((n_steps, qr_every))
        return advance(self, state, n_steps=n_steps, qr_every=qr_every, **kw)

    monkeypatch.setattr(LyapunovEngine, "advance", spy)
    res = rd.lyapunov_spectrum(net, n_steps=200, n_transient=100, h0=h0, generator=gen(24))
    (probe, m0), (rest, m1), (avg, m2) = calls
    assert (probe, m0, rest, avg) == (25, 1, 75, 200) and m1 > 1 and m2 == res.qr_every > 1
    monkeypatch.setattr(LyapunovEngine, "advance", advance)
    ref = rd.lyapunov_spectrum(net, n_steps=200, n_transient=100, h0=h0, generator=gen(24), qr_every=1)
    assert torch.allclose(res.exponents, ref.exponents, atol=1e-8, rtol=0)


def test_batched_equals_unbatched_engine_level() -> None:
    net = rd.GRU(12, g_h=3.0, alpha_z=1.0, alpha_r=10.0, generator=gen(19), dtype=F64)
    eng = LyapunovEngine(net, k=5)
    h = net.initial_state((3,), generator=gen(20))
    batched = eng.advance(eng.init(h, generator=gen(21)), n_steps=60)
    for i in range(3):
        one = TangentState(
            h[i : i + 1], eng.init(h, generator=gen(21)).q[i : i + 1], torch.zeros(1, 5, dtype=F64)
        )
        one = eng.advance(one, n_steps=60)
        assert torch.allclose(one.log_r[0], batched.log_r[i], atol=1e-9, rtol=0)
        assert torch.allclose(one.q[0], batched.q[i], atol=1e-9)


def test_input_driven_batch_equals_separate_runs() -> None:
    # B input sequences drive B trajectories in one batched run; the contracting net makes the
    # exponents depend on the input sequence only, so separate runs must agree
    net = rd.VanillaRNN(16, g=0.8, input_size=3, generator=gen(22), dtype=F64)
    inputs = 1.5 * torch.randn(4, 900, 3, generator=gen(23), dtype=F64)
    res = rd.lyapunov_spectrum(net, k=4, n_transient=400, inputs=inputs, generator=gen(24))
    assert res.n_trajectories == 4 and res.n_steps == 500 and res.per_trajectory.shape == (4, 4)
    assert (res.per_trajectory[0] - res.per_trajectory[1]).abs().max() > 1e-3  # inputs matter
    for b in range(4):
        one = rd.lyapunov_spectrum(net, k=4, n_transient=400, inputs=inputs[b], generator=gen(25))
        assert torch.allclose(one.exponents, res.per_trajectory[b], atol=1e-7, rtol=0)
    assert torch.allclose(res.exponents, res.per_trajectory.mean(0))


def test_log_base_units_and_to_dict() -> None:
    h0 = torch.tensor([[0.1, 0.1]], dtype=F64)
    nat = rd.lyapunov_spectrum(rd.Henon(), n_steps=500, h0=h0, generator=gen(0))
    bits = rd.lyapunov_spectrum(rd.Henon(), n_steps=500, h0=h0, generator=gen(0), log_base=2)
    assert torch.allclose(bits.exponents * math.log(2), nat.exponents, atol=1e-12)
    assert bits.predictability_time == pytest.approx(nat.predictability_time)
    d = nat.to_dict()
    text = json.dumps(d)  # plain Python all the way down
    assert "kaplan_yorke_dimension" in text and d["lambda_max"] == nat.lambda_max
    assert np.asarray(d["running"]).shape == tuple(nat.running.shape)
    # running estimates end at the final estimate
    assert torch.allclose(nat.running[:, -1], nat.per_trajectory)
    assert int(nat.running_steps[-1]) == 500


def test_kaplan_yorke_cases() -> None:
    assert kaplan_yorke_dimension(torch.tensor([-0.1, -1.0])) == 0.0
    assert kaplan_yorke_dimension(torch.tensor([0.5, 0.2])) == 2.0
    assert math.isnan(kaplan_yorke_dimension(torch.tensor([0.5, 0.2]), complete=False))
    assert kaplan_yorke_dimension(torch.tensor([1.0, -4.0])) == pytest.approx(1.25)


# ------------------------------------------------------------------------------ bad input
def test_bad_arguments_raise_clear_errors() -> None:
    net = rd.VanillaRNN(4, g=0.5, input_size=2, generator=gen(0), dtype=F64)
    with pytest.raises(ValueError, match="`k` must be <= state_size = 4; got 5"):
        rd.lyapunov_spectrum(net, k=5, n_steps=10)
    with pytest.raises(ValueError, match="`n_steps`"):
        rd.lyapunov_spectrum(net, n_steps=0)
    with pytest.raises(TypeError, match="`n_steps` is required"):
        rd.lyapunov_spectrum(net)
    with pytest.raises(ValueError, match=r"`inputs` must have shape \(B, T, 2\)"):
        rd.lyapunov_spectrum(net, n_steps=5, inputs=torch.zeros(3, 10, 5, dtype=F64))
    with pytest.raises(ValueError, match="must cover n_transient"):
        rd.lyapunov_spectrum(net, n_steps=20, inputs=torch.zeros(3, 10, 2, dtype=F64))
    with pytest.raises(ValueError, match="ambiguous"):
        rd.lyapunov_spectrum(net, n_steps=5, inputs=torch.zeros(3, 10, 2, dtype=F64), n_trajectories=2)
    with pytest.raises(ValueError, match="`inputs` must be None"):
        rd.lyapunov_spectrum(rd.Henon(), n_steps=5, inputs=torch.zeros(10, 1, dtype=F64))
    with pytest.raises(ValueError, match="`h0` must have shape"):
        rd.lyapunov_spectrum(net, n_steps=5, h0=torch.zeros(2, 3, dtype=F64))
    with pytest.raises(TypeError, match="Discretise it first"):
        rd.lyapunov_spectrum(rd.Lorenz63(), n_steps=5)
    with pytest.raises(TypeError, match="Discretise it first"):
        rd.max_lyapunov(rd.Lorenz63(), n_steps=5)
    with pytest.raises(ValueError, match="`qr_every`"):
        rd.lyapunov_spectrum(net, n_steps=5, qr_every=0)
    with pytest.raises(ValueError, match="`tangent`"):
        rd.lyapunov_spectrum(net, n_steps=5, tangent="fd")
    with pytest.raises(ValueError, match="`log_base`"):
        rd.lyapunov_spectrum(net, n_steps=5, log_base=1.0)


def test_divergence_raises_or_is_reported() -> None:
    blowup = LinearMap(torch.diag(torch.tensor([3.0, 0.5], dtype=F64)))  # 3^700 overflows
    with pytest.raises(rd.AnalysisError, match="diverged"):
        rd.lyapunov_spectrum(blowup, n_steps=2000, generator=gen(0))
    res = rd.lyapunov_spectrum(blowup, n_steps=2000, generator=gen(0), throw=False)
    assert res.status == "diverged" and not res.success and "diverged" in res.message
    assert torch.isnan(res.exponents).all()
    json.dumps(res.to_dict())
    two = rd.max_lyapunov(blowup, n_steps=2000, generator=gen(0), throw=False)
    assert two.status == "diverged" and math.isnan(two.lambda_max)
    with pytest.raises(rd.AnalysisError, match="diverged"):
        rd.max_lyapunov(blowup, n_steps=2000, generator=gen(0))


# ------------------------------------------------------------------------------ slow / gpu
def _meanfield_discrete(g: float) -> float:
    """docs/theory/chaos.md §4.3 [D]: q = g^2 <tanh^2(sqrt(q) z)>, lambda = 1/2 ln(g^2 <sech^4>)."""
    z, w = np.polynomial.hermite_e.hermegauss(201)
    w = w / w.sum()
    q = g * g
    for _ in range(2000):
        q = g * g * float(np.sum(w * np.tanh(math.sqrt(q) * z) ** 2))
    sech4 = float(np.sum(w / np.cosh(math.sqrt(q) * z) ** 4))
    return 0.5 * math.log(g * g * sech4)


@pytest.mark.slow
@pytest.mark.parametrize(("g", "table"), [(2.0, 0.1547), (3.0, 0.3102)])
def test_discrete_random_network_meanfield(g: float, table: float) -> None:
    # h' = tanh(g W h) is conjugate to x' = g W tanh(x) (x = g W h): same exponents
    assert _meanfield_discrete(g) == pytest.approx(table, abs=2e-4)
    net = rd.VanillaRNN(400, g=g, generator=gen(30), dtype=F64)
    res = rd.lyapunov_spectrum(net, k=1, n_steps=5000, n_transient=1000, n_trajectories=4, generator=gen(31))
    assert res.status == "success", res.message  # no false alarm on a literature value
    assert res.lambda_max == pytest.approx(table, rel=0.05), (res.lambda_max, res.stderr)


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_cuda_matches_cpu() -> None:
    net = rd.VanillaRNN(32, g=2.0, generator=gen(40), dtype=F64)
    h0 = net.initial_state((2,), generator=gen(41))
    cpu = rd.lyapunov_spectrum(net, n_steps=100, h0=h0, generator=gen(42))
    gpu = rd.lyapunov_spectrum(net.to("cuda"), n_steps=100, h0=h0.cuda(), generator=gen(42))
    assert torch.allclose(cpu.exponents, gpu.exponents, atol=1e-8)


def test_fused_vanilla_product_matches_jvp_with_inputs() -> None:
    # the registered fused step (phi'(a) * (W Q)) against matrix-free forward-mode products
    net = rd.VanillaRNN(20, g=2.5, input_size=2, bias_std=0.3, generator=gen(50), dtype=F64)
    inputs = torch.randn(2, 120, 2, generator=gen(51), dtype=F64)
    fused = rd.lyapunov_spectrum(net, k=5, n_transient=20, inputs=inputs, generator=gen(52))
    jvp = rd.lyapunov_spectrum(net, k=5, n_transient=20, inputs=inputs, generator=gen(52), tangent="jvp")
    assert fused.tangent == "dense" and jvp.tangent == "jvp"
    assert torch.allclose(fused.per_trajectory, jvp.per_trajectory, atol=1e-10, rtol=0)


def test_lstm_h_only_tangent_space() -> None:
    """VPSL22's LSTM convention: the tangent space is h only (c carried, not perturbed).

    Oracles: the sum of the exponents equals the mean ln|det dh_t/dh_{t-1}| along the orbit, and
    the dense and matrix-free (jvp, c held fixed) tangent products give the same spectrum.
    """
    torch.manual_seed(0)  # nn.LSTM draws its own weights; overwritten below from a generator
    module = torch.nn.LSTM(2, 6).double()
    gen = torch.Generator().manual_seed(3)
    with torch.no_grad():
        for p in module.parameters():
            p.copy_(torch.randn(p.shape, generator=gen, dtype=torch.float64) * 1.2)
    full = rd.from_torch(module)
    h_only = rd.from_torch(module, lstm_state="h")
    inputs = torch.randn(2, 300, 2, generator=gen, dtype=torch.float64)
    kw = {"n_transient": 50, "inputs": inputs}
    dense = rd.lyapunov_spectrum(
        h_only, tangent="dense", sum_check=True, generator=torch.Generator().manual_seed(1), **kw
    )
    jvp = rd.lyapunov_spectrum(h_only, tangent="jvp", generator=torch.Generator().manual_seed(1), **kw)
    assert dense.k == 6 and dense.state_size == 12
    torch.testing.assert_close(dense.exponents, jvp.exponents, rtol=1e-9, atol=1e-9)
    assert dense.sum_check["rel_error"] < 1e-9
    both = rd.lyapunov_spectrum(full, **kw)
    assert both.k == 12  # the full (h, c) spectrum has 2n exponents (MMD22 Remark 3)
    with pytest.raises(ValueError, match="`k` must be <= tangent_size = 6"):
        rd.lyapunov_spectrum(h_only, k=7, n_steps=10)


class _StepOnlyLinear(AbstractMap):
    """h' = A h with neither an analytic Jacobian nor a tangent product (autograd only)."""

    def __init__(self, a: torch.Tensor) -> None:
        super().__init__()
        self.state_size, self.input_size = a.shape[0], 0
        self.register_buffer("a", a.to(F64))

    def _step(self, h, x):
        return h @ self.a.T


def test_automatic_tangent_for_step_only_models_is_exact_either_way() -> None:
    """A model with only ``_step`` follows k < n directions by forward-mode JVPs and the full
    spectrum by the autograd Jacobian (faster there: benchmarks/bench_tangent_choice.py); both
    give ln|eig(A)| of a non-normal 12 x 12 A."""
    n = 12
    s = torch.randn(n, n, generator=gen(5), dtype=F64) + 3 * torch.eye(n, dtype=F64)
    eig = 1.1 * 0.8 ** torch.arange(n, dtype=F64) * (-1.0) ** torch.arange(n, dtype=F64)  # |eig| apart
    a = s @ torch.diag(eig) @ torch.linalg.inv(s)
    for k, route in ((3, "jvp"), (n, "dense")):
        res = rd.lyapunov_spectrum(
            _StepOnlyLinear(a),
            k=k,
            n_steps=400,
            n_transient=200,
            h0=torch.zeros(n, dtype=F64),
            generator=gen(6),
        )
        assert res.tangent == route
        assert torch.allclose(res.exponents, eig[:k].abs().log(), atol=1e-8, rtol=0), (k, res.exponents)

"""Oracles for the gated and PLRNN model families (GRU, LSTM, GatedRateRNN, PLRNN).

The conformance suite (test_conformance.py) already checks analytic = autograd = finite
differences for every ZOO entry; here are the model-specific facts of docs/theory/gated.md §3, §5.2,
§5.7, §8 and docs/theory/chaos.md §2.1, with stated tolerances.

Zero-fixed-point disks are tested at N = 400 (N = 300 for the 2N/3N-state models) with two
estimators: the second moment ``R = sqrt(2 <|lambda - c|^2>)`` of a uniform disk (measured
within 0.4% of the prediction over 6 seeds) and the largest ``|lambda - c|``, which overshoots
by O(sqrt(log N / N)) edge fluctuations (measured +1.5% ... +6% at N = 400).
"""

from __future__ import annotations

import math

import pytest
import torch

import rnndyn as rd
from rnndyn.jacobians import autograd_jacobian
from rnndyn.models.presets import load_presets, reference_value
from rnndyn.models.registry import build_model

F64 = torch.float64


def _g(seed: int) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def _sigmoid(x: float) -> float:
    return 1.0 / (1.0 + math.exp(-x))


def _eig(jac: torch.Tensor) -> torch.Tensor:
    with torch.no_grad():
        return torch.linalg.eigvals(jac.detach())


def _check_disk(ev: torch.Tensor, centre: float, radius: float) -> None:
    """Eigenvalues fill the uniform disk |lambda - centre| <= radius (finite-N tolerances)."""
    assert abs(complex(ev.mean()) - centre) < 0.01, "centre (mean eigenvalue)"
    dist = (ev - centre).abs()
    r_moment = math.sqrt(2.0 * float((dist**2).mean()))
    assert r_moment == pytest.approx(radius, rel=0.02), "radius from the second moment"
    assert 0.98 * radius < float(dist.max()) < 1.10 * radius, "radius from the outermost eigenvalue"
    # a uniform disk has a quarter of its mass within half its radius
    assert float((dist < radius / 2).double().mean()) == pytest.approx(0.25, abs=0.03)


# --------------------------------------------------------------------------- GRU


@pytest.mark.parametrize(
    ("g_h", "bias_z", "bias_r"),
    [(1.5, 0.0, 0.0), (2.4, 0.0, 0.0), (3.0, 1.0, -0.5)],
)
def test_gru_zero_fixed_point_disk(g_h: float, bias_z: float, bias_r: float) -> None:
    # docs/theory/gated.md §5.2 (004-20): disk centre 1 - sigma(b_z), radius g_h sigma(b_z) sigma(b_r)
    n = 400
    net = rd.GRU(
        n, g_h=g_h, alpha_z=2.0, alpha_r=2.0, bias_z=bias_z, bias_r=bias_r, generator=_g(0), dtype=F64
    )
    h0 = torch.zeros(n, dtype=F64)
    torch.testing.assert_close(net.step(h0), h0, rtol=0, atol=0)  # a fixed point (b_h = 0)
    ev = _eig(net.jacobian(h0))
    sz, sr = _sigmoid(bias_z), _sigmoid(bias_r)
    _check_disk(ev, 1.0 - sz, g_h * sz * sr)
    # Cor. 4.3 (004-21): stable iff g_h sigma(b_r) < 1
    assert (float(ev.abs().max()) < 1.0) == (g_h * sr < 1.0)


def test_gru_subcritical_decays_at_the_zero_fp_rate() -> None:
    # g_h = 1.5 < 2, zero bias: the zero FP is stable and attracts a random O(1) state; the
    # late decay rate per step is the spectral radius of the zero-FP Jacobian.
    n = 200
    net = rd.GRU(n, g_h=1.5, alpha_z=1.0, alpha_r=1.0, generator=_g(1), dtype=F64)
    with torch.no_grad():
        traj = rd.simulate(net, net.initial_state(generator=_g(2), scale=1.0), n_steps=400)
    norms = traj.norm(dim=-1)
    assert float(norms[-1]) < 1e-12 * float(norms[0])
    rate = (float(norms[-1]) / float(norms[-101])) ** (1.0 / 100)
    spectral_radius = float(_eig(net.jacobian(torch.zeros(n, dtype=F64))).abs().max())
    assert rate == pytest.approx(spectral_radius, rel=0.01)


def test_gru_update_gate_closed_is_memory() -> None:
    # (004-5) with z = 0 means memory: a very negative update bias freezes the state
    net = rd.GRU(6, g_h=3.0, bias_z=-60.0, generator=_g(3), dtype=F64)
    h = net.initial_state(generator=_g(4))
    torch.testing.assert_close(net.step(h), h, rtol=1e-20, atol=1e-20)
    torch.testing.assert_close(net.jacobian(h), torch.eye(6, dtype=F64), rtol=0, atol=1e-20)


def test_gru_reset_gate_is_column_wise() -> None:
    # (004-4): u_h = W_h (r * h); check the candidate by hand on one state
    net = rd.GRU(5, input_size=2, bias_std=0.3, generator=_g(5), dtype=F64)
    h = net.initial_state(generator=_g(6))
    x = torch.randn(2, generator=_g(7), dtype=F64)
    with torch.no_grad():
        z = torch.sigmoid(net.weight_hz @ h + net.weight_iz @ x + net.bias_z)
        r = torch.sigmoid(net.weight_hr @ h + net.weight_ir @ x + net.bias_r)
        cand = torch.tanh(net.weight_hh @ (r * h) + net.weight_ih @ x + net.bias_h)
        torch.testing.assert_close(net.step(h, x), (1 - z) * h + z * cand, rtol=1e-14, atol=1e-14)


def test_gru_bias_std_is_the_bias_standard_deviation() -> None:
    n = 500
    net = rd.GRU(n, g_h=1.0, bias_z=0.5, bias_r=0.5, bias_h=0.5, bias_std=0.7, generator=_g(8), dtype=F64)
    b = torch.cat([net.bias_z, net.bias_r, net.bias_h]).detach()  # 3n iid N(0.5, 0.7^2) draws
    assert float(b.mean()) == pytest.approx(0.5, abs=4 * 0.7 / math.sqrt(3 * n))
    assert float(b.std()) == pytest.approx(0.7, abs=4 * 0.7 / math.sqrt(2 * 3 * n))


# --------------------------------------------------------------------------- LSTM


def test_lstm_alpha_o_zero_has_n_zero_eigenvalues() -> None:
    # docs/theory/gated.md §3.4 and §8 #16: with alpha_o = 0 the second block row is [Psi] x the
    # first, so the 2n x 2n Jacobian has rank n (n exact zero eigenvalues) at *any* state
    n = 60
    net = rd.LSTM(n, g=3.0, alpha_f=2.0, alpha_i=2.0, alpha_o=0.0, input_size=3, bias_std=0.5,
                  generator=_g(9), dtype=F64)  # fmt: skip
    state = net.initial_state((2,), generator=_g(10), scale=1.0)
    x = torch.randn(2, 3, generator=_g(11), dtype=F64)
    jac = net.jacobian(state, x).detach()
    assert torch.linalg.matrix_rank(jac).tolist() == [n, n]
    for b in range(2):
        ev = _eig(jac[b])
        assert int((ev.abs() < 1e-9).sum()) == n
    # with alpha_o > 0 the rank is full (the [W] W_o term breaks the degeneracy)
    full = rd.LSTM(n, g=3.0, alpha_o=1.0, generator=_g(9), dtype=F64)
    assert int(torch.linalg.matrix_rank(full.jacobian(state[0]).detach())) == 2 * n


@pytest.mark.parametrize(("g", "bias_f", "bias_i", "bias_o"), [(1.5, 0.0, 0.0, 0.0), (2.0, 0.5, -0.3, 0.8)])
def test_lstm_zero_fixed_point(g: float, bias_f: float, bias_i: float, bias_o: float) -> None:
    # docs/theory/gated.md §5.7 Cor. 5.3 (004-37): n zero eigenvalues + disk centre sigma(b_f),
    # radius g sigma(b_i) sigma(b_o); Cor. 5.4: stable iff sigma(b_f) + g sigma(b_i) sigma(b_o) < 1
    n = 300
    net = rd.LSTM(n, g=g, alpha_f=1.0, alpha_i=1.0, alpha_o=1.0, bias_f=bias_f, bias_i=bias_i,
                  bias_o=bias_o, generator=_g(12), dtype=F64)  # fmt: skip
    zero = torch.zeros(2 * n, dtype=F64)
    torch.testing.assert_close(net.step(zero), zero, rtol=0, atol=0)
    ev = _eig(net.jacobian(zero))
    order = ev.abs().argsort()
    assert float(ev.abs()[order[n - 1]]) < 1e-9, "n exact zero eigenvalues"
    centre, radius = _sigmoid(bias_f), g * _sigmoid(bias_i) * _sigmoid(bias_o)
    _check_disk(ev[order[n:]], centre, radius)
    if (g, bias_f) == (1.5, 0.0):  # docs/theory/gated.md §8 #15: max |lambda| = 0.875 +- 0.015 (N=600)
        assert float(ev.abs().max()) == pytest.approx(0.875, abs=0.03)


def test_lstm_state_order_and_h_only_jacobian() -> None:
    n = 5
    net = rd.LSTM(n, input_size=2, bias_std=0.4, generator=_g(13), dtype=F64)
    state = net.initial_state((3,), generator=_g(14))
    x = torch.randn(3, 2, generator=_g(15), dtype=F64)
    parts = net.split_state(state)
    h, c = parts["h"], parts["c"]
    with torch.no_grad():  # (004-6)-(004-8) by hand, in the flat order [h, c]
        f = torch.sigmoid(h @ net.weight_hf.T + x @ net.weight_if.T + net.bias_f)
        i = torch.sigmoid(h @ net.weight_hi.T + x @ net.weight_ii.T + net.bias_i)
        o = torch.sigmoid(h @ net.weight_ho.T + x @ net.weight_io.T + net.bias_o)
        c_new = f * c + i * torch.tanh(h @ net.weight_hc.T + x @ net.weight_ic.T + net.bias_c)
        torch.testing.assert_close(net.step(state, x), torch.cat([o * torch.tanh(c_new), c_new], -1))
    # h-only Jacobian = d h_t / d h_{t-1} at fixed c_{t-1} (autograd) = top-left block of the full one
    jh = net.jacobian_h_only(state, x)
    assert jh.shape == (3, n, n)
    torch.testing.assert_close(jh, net.jacobian(state, x)[..., :n, :n], rtol=0, atol=0)

    for b in range(3):  # c_{t-1} held fixed per sample

        def h_map(hh: torch.Tensor, xx: torch.Tensor | None, b: int = b) -> torch.Tensor:
            return net._step(torch.cat([hh, c[b]], dim=-1), xx)[..., :n]

        torch.testing.assert_close(jh[b], autograd_jacobian(h_map, h[b], x[b]), rtol=1e-12, atol=1e-12)
    with pytest.raises(ValueError, match=r"`h` must have shape \(\*batch, 10\)"):
        net.jacobian_h_only(h)


# --------------------------------------------------------------------------- gated flow


def test_gated_flow_zero_fixed_point() -> None:
    # docs/theory/gated.md §3.5 / §8 #19: eigenvalue -1 with multiplicity 2n, the rest a disk centred
    # at -1/2 with radius g_h/4; lambda_max = -1/2 + g_h/4 = -0.125 at g_h = 1.5 (+-0.015 at N=400)
    n, g_h = 300, 1.5
    net = rd.GatedRateRNN(n, g_h=g_h, alpha_z=2.0, alpha_r=3.0, generator=_g(16), dtype=F64)
    zero = torch.zeros(3 * n, dtype=F64)
    assert float(net.vector_field(zero).detach().abs().max()) == 0.0
    ev = _eig(net.jacobian(zero))
    at_minus_one = (ev + 1).abs() < 1e-9
    assert int(at_minus_one.sum()) == 2 * n
    bulk = ev[~at_minus_one]
    _check_disk(bulk, -0.5, g_h / 4)
    assert float(bulk.real.max()) == pytest.approx(-0.5 + g_h / 4, abs=0.025)


def test_gated_flow_gates_off_is_scs_with_half_gain_and_double_time() -> None:
    # docs/theory/gated.md §2.4 "Limits": alpha_z = alpha_r = 0, z = r = 0 gives
    # 2 dh/dt = -h + (g_h/2) J phi(h): RateRNN with weight W_h / 2 and time constant 2
    n, g_h = 40, 3.0
    gated = rd.GatedRateRNN(n, g_h=g_h, alpha_z=0.0, alpha_r=0.0, generator=_g(17), dtype=F64)
    rate = rd.RateRNN(n, g=g_h / 2, generator=_g(18), dtype=F64)
    with torch.no_grad():
        rate.weight_hh.copy_(gated.weight_hh / 2)
    h = rate.initial_state((4,), generator=_g(19), scale=1.0)
    zeros = torch.zeros_like(h)
    state = torch.cat([h, zeros, zeros], dim=-1)
    with torch.no_grad():
        vf = gated.split_state(gated.vector_field(state))
        torch.testing.assert_close(vf["h"], 0.5 * rate.vector_field(h), rtol=1e-14, atol=1e-14)
        assert float(vf["z"].abs().max()) == 0.0 and float(vf["r"].abs().max()) == 0.0
        torch.testing.assert_close(
            gated.jacobian(state)[..., :n, :n], 0.5 * rate.jacobian(h), rtol=1e-14, atol=1e-14
        )
        # RK4 with dt = 0.2 on the gated flow = RK4 with dt = 0.1 on the SCS flow, step by step
        tg = rd.simulate(rd.discretise(gated, dt=0.2, method="rk4"), state, n_steps=50)
        tr = rd.simulate(rd.discretise(rate, dt=0.1, method="rk4"), h, n_steps=50)
    torch.testing.assert_close(tg[..., :n], tr, rtol=1e-11, atol=1e-11)


def test_gated_flow_time_constants_and_input() -> None:
    n = 6
    net = rd.GatedRateRNN(n, g_h=2.0, alpha_z=1.0, alpha_r=1.0, tau_z=4.0, tau_r=0.5, beta_h=0.3,
                          beta_z=-0.2, beta_r=0.1, input_size=2, generator=_g(20), dtype=F64)  # fmt: skip
    state = net.initial_state(generator=_g(21), scale=1.0)
    x = torch.randn(2, generator=_g(22), dtype=F64)
    h, z, r = net.split_state(state).values()
    with torch.no_grad():  # (P-1) by hand with the biases inside phi / sigma
        phi = torch.tanh(h + 0.3)
        dh = torch.sigmoid(z - 0.2) * (
            -h + net.weight_hh @ (phi * torch.sigmoid(r + 0.1)) + net.weight_ih @ x
        )
        dz = (-z + net.weight_hz @ phi) / 4.0
        dr = (-r + net.weight_hr @ phi) / 0.5
        torch.testing.assert_close(
            net.vector_field(state, x), torch.cat([dh, dz, dr]), rtol=1e-14, atol=1e-14
        )


# --------------------------------------------------------------------------- PLRNN


def test_plrnn_mmd22_init_and_piecewise_linearity() -> None:
    m = 20
    net = rd.PLRNN(m, input_size=3, generator=_g(23), dtype=F64)
    bound = 1 / math.sqrt(m)
    for p in (net.weight_diag, net.weight_hh, net.bias):
        assert float(p.detach().abs().max()) < bound  # U(-1/sqrt(M), 1/sqrt(M)), docs/theory/chaos.md §2.1
    assert float(torch.diagonal(net.weight_hh.detach()).abs().max()) == 0.0  # W is off-diagonal
    # within one orthant the map is affine: F(z + d) - F(z) = J(z) d exactly (up to rounding)
    z = net.initial_state(generator=_g(24), scale=1.0)
    x = torch.randn(3, generator=_g(25), dtype=F64)
    d = 1e-3 * torch.randn(m, generator=_g(26), dtype=F64)
    assert bool(((z + d).sign() == z.sign()).all())
    with torch.no_grad():
        diff = net.step(z + d, x) - net.step(z, x)
        torch.testing.assert_close(diff, net.jacobian(z, x) @ d, rtol=1e-12, atol=1e-15)
    # the diagonal of weight_hh is ignored: A carries the self-coupling
    with torch.no_grad():
        before = net.step(z, x)
        net.weight_hh.fill_diagonal_(5.0)
        torch.testing.assert_close(net.step(z, x), before, rtol=0, atol=0)


# --------------------------------------------------------------------------- errors, registry, presets


@pytest.mark.parametrize(
    ("cls", "kwargs", "arg"),
    [
        (rd.GRU, {"g_h": -1.0}, "g_h"),
        (rd.GRU, {"alpha_z": -0.1}, "alpha_z"),
        (rd.GRU, {"alpha_r": -2.0}, "alpha_r"),
        (rd.GRU, {"bias_std": -0.5}, "bias_std"),
        (rd.GRU, {"bias_z": float("nan")}, "bias_z"),
        (rd.GRU, {"init": "kaiming"}, "init"),
        (rd.LSTM, {"g": -1.0}, "g"),
        (rd.LSTM, {"alpha_f": -1.0}, "alpha_f"),
        (rd.LSTM, {"alpha_i": -1.0}, "alpha_i"),
        (rd.LSTM, {"alpha_o": -1.0}, "alpha_o"),
        (rd.LSTM, {"bias_c": float("inf")}, "bias_c"),
        (rd.GatedRateRNN, {"g_h": -3.0}, "g_h"),
        (rd.GatedRateRNN, {"alpha_r": -1.0}, "alpha_r"),
        (rd.GatedRateRNN, {"tau_z": 0.0}, "tau_z"),
        (rd.GatedRateRNN, {"tau_r": -1.0}, "tau_r"),
        (rd.PLRNN, {"gain": -1.0}, "gain"),
        (rd.PLRNN, {"input_size": -1}, "input_size"),
    ],
)
def test_bad_arguments_raise_value_error_naming_the_argument(cls, kwargs, arg) -> None:
    with pytest.raises(ValueError, match=f"`{arg}`"):
        cls(4, **kwargs)


@pytest.mark.parametrize("cls", [rd.GRU, rd.LSTM, rd.GatedRateRNN, rd.PLRNN])
def test_bad_types_raise_type_error(cls) -> None:
    with pytest.raises(TypeError, match="`n`"):
        cls(4.0)
    with pytest.raises(ValueError, match="`n`"):
        cls(0)
    with pytest.raises(TypeError, match="`generator`"):
        cls(4, generator=0)


@pytest.mark.parametrize("cls", [rd.GRU, rd.LSTM, rd.GatedRateRNN, rd.PLRNN])
def test_same_seed_same_network_on_any_dtype(cls) -> None:
    a = cls(5, input_size=2, generator=_g(30), dtype=F64)
    b = cls(5, input_size=2, generator=_g(30), dtype=torch.float32)
    c = cls(5, input_size=2, generator=_g(31), dtype=F64)
    for (name, pa), pb, pc in zip(a.named_parameters(), b.parameters(), c.parameters(), strict=True):
        torch.testing.assert_close(pa.float(), pb, msg=name)
        assert pb.dtype == torch.float32
        if pa.numel() and name.startswith("weight_h"):
            assert not torch.equal(pa, pc)


def test_registry_builds_every_family() -> None:
    expected = {"gru": rd.GRU, "lstm": rd.LSTM, "plrnn": rd.PLRNN}
    for name, cls in expected.items():
        model = build_model(name, n=6, seed=1)
        assert isinstance(model, cls) and next(model.parameters()).dtype == F64
    gated = build_model("gated", n=4, params={"g_h": 1.5, "tau_z": 2.0}, dt=0.1)
    assert isinstance(gated, rd.Discretised) and isinstance(gated.flow, rd.GatedRateRNN)
    assert gated.state_size == 12 and gated.flow.tau_z == 2.0
    with pytest.raises(TypeError, match="does not take"):
        build_model("gru", n=4, params={"g": 2.0})


def test_presets_build_and_reference_values() -> None:
    p = load_presets()
    for name, preset in p["presets"].items():
        model = build_model(preset["model"], n=8, params=preset["params"])
        assert isinstance(model, rd.AbstractMap), name
        assert preset["source"], name
    for name, ref in p["reference"].items():
        assert ref["source"] and ref["status"] and ref["description"], name
    assert reference_value("gru_reset_gate_switch_alpha_r")["value"] == pytest.approx(
        2 * math.sqrt(2), rel=1e-15
    )
    # the reference tables against the library's mean-field solvers (the tables come from the
    # theory notes' own quadrature, docs/theory/gated.md §6.2; an independent scipy.integrate.quad
    # check replaced the entries where the notes' Gauss-Hermite rule was inaccurate): g*(alpha_r)
    # to the table's 4 decimals, Delta* (midpoint of the two branches just above g*) to its 3
    from rnndyn import meanfield as mf

    curve = reference_value("gru_fp_bifurcation_curve")
    g_lib = {a: mf.bifurcation_gain(a) for a in curve["alpha_r"]}
    for a, g_star in zip(curve["alpha_r"], curve["g_star"], strict=True):
        assert g_lib[a] == pytest.approx(g_star, abs=1e-4), a
    for a, d_star in zip(curve["alpha_r"], curve["delta_star"], strict=True):
        if a in (10.0, 100.0, 1000.0):
            d = mf.fixed_points(g_lib[a] + 1e-6, a).delta
            assert float(d.mean()) == pytest.approx(d_star, abs=1.5e-4 if a == 1000.0 else 1.5e-3), a
    edge = reference_value("gru_marginal_stability_edge")  # the notes' 2-3 decimals
    for a, g_ms in zip(edge["alpha_r"], edge["g_ms"], strict=True):
        assert mf.marginal_stability_gain(a) == pytest.approx(g_ms, abs=0.02), a
    upper = reference_value("gru_upper_fp_rho_alpha_r0")  # 3 decimals
    for g, rho in zip(upper["g_h"], upper["rho"], strict=True):
        assert float(mf.fixed_points(g, 0.0).rho[-1]) == pytest.approx(rho, abs=1.5e-3), g
    disc = reference_value("discrete_random_rnn_mean_field")  # 3-4 significant digits
    for g, q, lam in zip(disc["g"], disc["q"], disc["lambda_max"], strict=True):
        r = mf.discrete_meanfield(g)
        assert (r.q, r.lambda_max) == pytest.approx((q, lam), rel=1e-2, abs=1e-4), g
    assert reference_value("logistic_r4")["value"] == pytest.approx(math.log(2), rel=1e-15)
    assert reference_value("henon_exponent_sum")["value"] == pytest.approx(math.log(0.3), rel=1e-15)
    lorenz = reference_value("lorenz63")
    assert lorenz["exponent_sum"] == pytest.approx(-(10 + 1 + 8 / 3), rel=1e-15)
    assert sum(lorenz["exponents"]) == pytest.approx(lorenz["exponent_sum"], abs=2e-4)
    # the presets' zero-FP disk agrees with the model (centre 1/2, radius g_h/4 at zero bias)
    disk = reference_value("gru_zero_fp_disk")
    net = rd.GRU(4, g_h=1.0, generator=_g(40), dtype=F64)
    jac = net.jacobian(torch.zeros(4, dtype=F64))
    torch.testing.assert_close(
        jac, disk["centre"] * torch.eye(4, dtype=F64) + disk["radius_over_g_h"] * net.weight_hh
    )
    with pytest.raises(ValueError, match="`name`"):
        reference_value("no_such_value")


@pytest.mark.slow
@pytest.mark.parametrize("alpha_r", [0.0, 5.0, 10.0, 20.0])
def test_gru_spectral_radius_from_shaping_parameter(alpha_r: float) -> None:
    # docs/theory/gated.md §5.4 (004-120/121) and §8 #5: with alpha_z = 0 the Jacobian's spectral
    # radius at a time-dependent state is (1 + sqrt(rho))/2, rho (004-19) from the state itself.
    # Measured at N = 600 over 3 seeds: |emp/pred - 1| <= 0.2-3.1% (alpha_r = 0), 2.5-3.5% (5),
    # 0.6-4.4% (10), 0.6-3.0% (20); the notes (§8 #5) quote +-3% -- too tight at this N, hence 6%.
    n, g_h = 600, 3.0
    net = rd.GRU(n, g_h=g_h, alpha_z=0.0, alpha_r=alpha_r, generator=_g(50), dtype=F64).requires_grad_(False)
    traj = rd.simulate(net, net.initial_state(generator=_g(51), scale=1.0), n_steps=300)
    h = traj[-1]
    r = torch.sigmoid(h @ net.weight_hr.T)
    dphi2 = (1 - torch.tanh((r * h) @ net.weight_hh.T) ** 2).pow(2).mean()
    rho = (
        g_h**2
        * float(dphi2)
        * float((r**2).mean() + alpha_r**2 * (h**2).mean() * (r * (1 - r)).pow(2).mean())
    )
    radius = float(_eig(net.jacobian(h)).abs().max())
    assert radius == pytest.approx((1 + math.sqrt(rho)) / 2, rel=0.06)


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
@pytest.mark.parametrize("cls", [rd.GRU, rd.LSTM, rd.GatedRateRNN, rd.PLRNN])
def test_cuda_matches_cpu(cls) -> None:
    cpu = cls(16, input_size=2, generator=_g(60), dtype=F64)
    gpu = cls(16, input_size=2, generator=_g(60), dtype=F64, device="cuda")
    h = cpu.initial_state((3,), generator=_g(61))
    x = torch.randn(3, 2, generator=_g(62), dtype=F64)
    out = gpu._rhs(h.cuda(), x.cuda())
    assert out.device.type == "cuda"
    torch.testing.assert_close(out.cpu(), cpu._rhs(h, x), rtol=1e-12, atol=1e-12)
    torch.testing.assert_close(
        gpu.jacobian(h.cuda(), x.cuda()).cpu(), cpu.jacobian(h, x), rtol=1e-12, atol=1e-12
    )


# --------------------------------------------------------------------------- spectral_theory wiring


def _fro_gain(w: torch.Tensor) -> float:
    return float(w.detach().pow(2).sum().div(w.shape[0]).sqrt())


def test_spectral_theory_takes_each_gain_from_its_own_matrix() -> None:
    # docs/theory/gated.md §5: every prediction uses g_hat = ||W||_F / sqrt(N) of its own matrix
    # (distinct gains, so that a matrix read for another shows)
    kw = {"generator": _g(70), "dtype": F64}
    cases = [
        (
            rd.GRU(20, g_h=1.3, alpha_z=0.6, alpha_r=2.2, **kw),
            {"g_h": "hh", "alpha_z": "hz", "alpha_r": "hr"},
        ),
        (
            rd.LSTM(20, g=1.3, alpha_f=0.6, alpha_i=0.9, alpha_o=2.2, **kw),
            {"g": "hc", "alpha_f": "hf", "alpha_i": "hi", "alpha_o": "ho"},
        ),
        (
            rd.GatedRateRNN(20, g_h=1.3, alpha_z=0.6, alpha_r=2.2, **kw),
            {"g_h": "hh", "alpha_z": "hz", "alpha_r": "hr"},
        ),
    ]
    for net, gains in cases:
        params = net.spectral_theory(net.initial_state(generator=_g(71)), n_points=8).params
        for key, w in gains.items():
            assert params[key] == pytest.approx(_fro_gain(getattr(net, f"weight_{w}")), rel=1e-12), (net, key)


def test_gated_flow_theory_sees_the_gate_biases() -> None:
    # The Jacobian (P-2) depends on z and r only through sigma(z + beta_z), sigma(r + beta_r): the flow
    # with biases at (h, z, r) has exactly the Jacobian of the bias-free flow (same weights) at
    # (h, z + beta_z, r + beta_r), so the two predictions must coincide
    n = 30
    biased = rd.GatedRateRNN(n, g_h=3.0, beta_z=-1.5, beta_r=0.7, generator=_g(72), dtype=F64)
    plain = rd.GatedRateRNN(n, g_h=3.0, generator=_g(72), dtype=F64)
    h, z, r = biased.split_state(biased.initial_state(generator=_g(73), scale=1.0)).values()
    s_biased = torch.cat([h, z, r])
    s_plain = torch.cat([h, z - 1.5, r + 0.7])
    with torch.no_grad():
        torch.testing.assert_close(biased.jacobian(s_biased), plain.jacobian(s_plain), rtol=0, atol=1e-15)
        a, b = biased.spectral_theory(s_biased, n_points=16), plain.spectral_theory(s_plain, n_points=16)
    assert a.rightmost == pytest.approx(b.rightmost, rel=1e-10)
    assert a.radius == pytest.approx(b.radius, rel=1e-10)

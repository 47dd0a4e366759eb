"""Random-matrix predictions (rnndyn.meanfield.rmt) against finite-N Jacobian spectra.

Each test is one prediction of docs/theory/gated.md §8 (number in the name), with N in the hundreds
and the tolerance stated next to it. Larger-N versions are marked slow.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

import rnndyn as rd
from rnndyn.meanfield import rmt
from rnndyn.spectra import _frob_gain, jacobian_spectrum, predicted_support

F64 = torch.float64


def _gen(seed: int) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def _ev(jac: torch.Tensor) -> np.ndarray:
    return np.linalg.eigvals(jac.detach().numpy())


# ----------------------------------------------------------------------------- closed forms
def test_closed_forms_and_limits() -> None:
    # Prop. 4.2 / Cor. 4.3: disk centre 1 - sigma(b_z), radius g_h sigma(b_z) sigma(b_r)
    s = rmt.gru_zero_fixed_point(3.0, bias_z=1.0, bias_r=-2.0)
    z, r = 1 / (1 + math.exp(-1.0)), 1 / (1 + math.exp(2.0))
    assert s.centre.real == pytest.approx(1 - z, abs=1e-15)
    assert s.radius == pytest.approx(1 - z + 3.0 * z * r, abs=1e-15)
    assert s.stable == (3.0 * r < 1)
    assert not rmt.gru_zero_fixed_point(2.01).stable and rmt.gru_zero_fixed_point(1.99).stable
    # LSTM zero FP threshold g = 2 (Cor. 5.4), gated flow threshold g_h = 2 (rate 1/2 - g_h/4)
    assert rmt.lstm_zero_fixed_point(1.99).stable and not rmt.lstm_zero_fixed_point(2.01).stable
    assert rmt.gated_flow_zero_fixed_point(1.99).stable and not rmt.gated_flow_zero_fixed_point(2.01).stable
    assert rmt.gated_flow_zero_fixed_point(1.5).max_real == pytest.approx(-0.125, abs=1e-15)
    # MFT rho at the zero FP: (g_h sigma(0))^2; the MFT support is then the zero-FP disk
    assert rmt.gru_rho_mean_field(g_h=1.5, alpha_r=4.0, C_h=0.0) == pytest.approx(0.5625, abs=1e-12)
    mf = rmt.gru_support_mean_field(g_h=1.5, alpha_z=4.0, alpha_r=4.0, C_h=0.0)
    assert (mf.leftmost, mf.rightmost) == pytest.approx((0.125, 0.875), abs=1e-9)
    assert np.abs(np.abs(mf.boundary - 0.5) - 0.375).max() < 1e-6
    # (004-120): alpha_z = 0 radius
    assert rmt.gru_alpha_z0_radius(2.25) == pytest.approx(1.25)
    # slow-mode fraction limits: 0 without update-gate spread, theta = 1/2 as alpha_z -> inf
    assert rmt.slow_mode_fraction(0.05, alpha_z=0.0, C_h=1.0) == 0.0
    assert rmt.slow_mode_fraction(0.05, alpha_z=1e8, C_h=1.0) == pytest.approx(0.5, abs=1e-6)
    assert rmt.closed_gate_fraction(alpha_z=3.0, C_h=1.0, bias_z=-1.0) == pytest.approx(
        0.5 + 0.5 * math.erf(1 / 3 / 2**0.5)
    )


def test_generic_lemma_support_matches_random_matrix() -> None:
    """§5.0 special case A + B J: support g^2 <B^2 / |lambda - A|^2> >= 1 (synthetic, N = 500)."""
    rng = np.random.default_rng(0)
    n = 500
    a = rng.uniform(-0.5, 0.5, n)
    b = rng.uniform(0.5, 1.5, n)
    mat = np.diag(a) + b[:, None] * rng.standard_normal((n, n)) / np.sqrt(n)
    ev = np.linalg.eigvals(mat)
    s = rmt.support_from_function(lambda lam: rmt._inv_sq(lam, a) @ (b * b / n) - 1.0, a, model="generic")
    assert ev.real.max() == pytest.approx(s.rightmost, rel=0.04)
    assert ev.real.min() == pytest.approx(s.leftmost, rel=0.04)
    assert np.abs(ev).max() == pytest.approx(s.radius, rel=0.04)
    # almost every eigenvalue lies inside the traced support
    inside = s.contains(ev * 0.98)
    assert inside.mean() > 0.97


def test_support_from_function_exact_disk() -> None:
    s = rmt.support_from_function(lambda lam: 0.25 / np.abs(lam - 0.3) ** 2 - 1.0, [0.3])
    assert np.abs(np.abs(s.boundary - 0.3) - 0.5).max() < 1e-9
    assert (s.rightmost, s.leftmost, s.radius) == pytest.approx((0.8, -0.2, 0.8), abs=1e-9)


def test_marginal_stability_edge_values() -> None:
    # §8 #12 MFT edge at rho = 1.5 (solved), and the asymptotic rate Phi^{-1}(1/rho) = 0.43
    got = [rmt.marginal_stability_edge(1.5, alpha_z=a, C_h=1.0) for a in (4, 8, 12, 16)]
    assert got == pytest.approx([0.035, 0.0086, 0.0019, 0.00036], rel=0.03)
    rate = -(math.log(got[3]) - math.log(got[2])) / 4
    assert rate == pytest.approx(0.43, abs=0.02)
    with pytest.raises(ValueError, match="rho"):
        rmt.marginal_stability_edge(0.9, alpha_z=4.0, C_h=1.0)


def test_prop_4_5_rho_linear_in_alpha_r() -> None:
    """Prop. 4.5: rho -> g_h^2 <phi'^2> (<sigma^2> + alpha_r sqrt(C_h) / (6 sqrt(2 pi)))."""
    errs = []
    for ar in (10.0, 20.0, 40.0, 80.0):
        exact = rmt.gru_rho_mean_field(g_h=3.0, alpha_r=ar, C_h=0.5)
        dphi2 = rmt._gru_mft_moments(3.0, ar, 0.5, 0.0, 0.0, 0.0)[2]
        approx = rmt.gru_rho_large_alpha_r(g_h=3.0, alpha_r=ar, C_h=0.5, dphi_sq_mean=dphi2)
        errs.append(abs(approx / exact - 1))
    assert errs == sorted(errs, reverse=True) and errs[-1] < 0.01


def test_lstm_large_gate_terms_are_the_asymptotes_of_the_exact_moments() -> None:
    """Prop. 5.5: A = alpha_o^2 <phi(c)^2> <sigma'(u^o)^2> with u^o ~ N(0, alpha_o^2 C_h), and
    <sigma'(alpha x)^2> -> (1/alpha) int sigma'^2 / sqrt(2 pi C_h) = 1 / (6 alpha sqrt(2 pi C_h)) as
    alpha -> inf (int sigma'^2 = int_0^1 s(1 - s) ds = 1/6): the asymptote against the Gaussian
    moment by quadrature, relative error O(alpha^-2) (measured 9e-5 at alpha = 100, 9e-7 at 1000)."""
    from rnndyn.meanfield.quadrature import dsigmoid, gaussian_expectation

    c_h, phi2, odphi2, cand2 = 0.7, 0.5, 0.2, 0.4
    for alpha, tol in ((100.0, 2e-4), (1000.0, 2e-6)):
        a, b = rmt.lstm_large_gate_terms(
            alpha_o=alpha,
            alpha_i=alpha,
            C_h=c_h,
            phi_c_sq_mean=phi2,
            o_dphi_sq_mean=odphi2,
            cand_sq_mean=cand2,
        )
        ds2 = float(gaussian_expectation(lambda u: dsigmoid(u) ** 2, alpha * alpha * c_h))
        assert a == pytest.approx(alpha**2 * phi2 * ds2, rel=tol)
        assert b == pytest.approx(alpha**2 * odphi2 * cand2 * ds2, rel=tol)
    assert (
        rmt.lstm_large_gate_terms(
            alpha_o=0.0, alpha_i=3.0, C_h=c_h, phi_c_sq_mean=phi2, o_dphi_sq_mean=odphi2, cand_sq_mean=cand2
        )[0]
        == 0.0
    )


def test_unfactorised_equals_factorised_when_reset_constant() -> None:
    rng = np.random.default_rng(1)
    n = 200
    # with r and phi'(u^h) constant over sites the MFT factorisation is exact
    kw = dict(u_z=rng.normal(0, 2, n), u_r=np.zeros(n), u_h=np.full(n, 0.3), h_prev=rng.normal(0, 0.5, n))
    a = rmt.gru_support(g_h=3.0, alpha_z=2.0, alpha_r=0.0, **kw)
    b = rmt.gru_support(g_h=3.0, alpha_z=2.0, alpha_r=0.0, factorised=False, **kw)
    assert a.rightmost == pytest.approx(b.rightmost, rel=1e-9)
    assert a.leftmost == pytest.approx(b.leftmost, rel=1e-9)


def test_supports_carry_unit_total_mass() -> None:
    """Every predicted law is a probability measure: bulk mass + atom masses = 1, and a uniform
    disk's density is its bulk mass over its area (Prop. 4.2, Cor. 5.3, (004-22), §3.5, §3.4)."""
    z = np.zeros(3)
    lstm_kw = dict(
        g=1.5, alpha_f=1.0, alpha_i=1.0, u_f=z + 0.3, u_i=z, u_o=z + 0.5, u_c=z + 0.2, c_prev=z + 0.4
    )
    laws = {
        "gru0": rmt.gru_zero_fixed_point(1.5, bias_z=0.3),
        "lstm0": rmt.lstm_zero_fixed_point(1.5),
        "flow0": rmt.gated_flow_zero_fixed_point(1.5),
        "binary": rmt.gru_binary_gate_spectrum(theta=0.3, f_u=0.6, g_h=3.0, r_bar=0.5),
        "lstm_a0": rmt.lstm_support(alpha_o=0.0, **lstm_kw),
        "lstm": rmt.lstm_support(alpha_o=2.0, **lstm_kw),
    }
    for name, s in laws.items():
        assert s.bulk_mass + sum(m for _, m in s.atoms) == pytest.approx(1.0, abs=1e-15), name
        if s.density is not None:
            r = float(np.abs(s.boundary - s.centre).max())
            assert s.density * math.pi * r * r == pytest.approx(s.bulk_mass, rel=1e-12), name
    # alpha_o = 0: half the 2N eigenvalues are exactly 0 (§3.4), the bulk carries the other half
    assert dict(laws["lstm_a0"].atoms) == {0: 0.5} and laws["lstm"].atoms == ()


def test_gated_flow_zero_fp_atoms_sit_at_minus_one_over_tau() -> None:
    """§3.5: N eigenvalues at -1/tau_z and N at -1/tau_r exactly (N = 10 Jacobian, tau_z = 2, tau_r = 4)."""
    n = 10
    flow = rd.GatedRateRNN(
        n, g_h=1.5, alpha_z=2.0, alpha_r=2.0, tau_z=2.0, tau_r=4.0, generator=_gen(31), dtype=F64
    )
    ev = _ev(flow.jacobian(torch.zeros(3 * n, dtype=F64)))
    s = rmt.gated_flow_zero_fixed_point(1.5, tau_z=2.0, tau_r=4.0)
    for where, mass in s.atoms:
        assert np.sum(np.abs(ev - where) < 1e-9) == round(mass * 3 * n)
    assert sorted(w for w, _ in s.atoms) == [-0.5, -0.25]


def test_infinitely_slow_update_gate_drops_out_of_the_flow_curve() -> None:
    """§5.8: the update-gate term carries 1/|1 + tau_z lambda|^2; as tau_z -> inf it vanishes and the
    curve is that of xi = 0 (the gate cannot follow the motion)."""
    rng = np.random.default_rng(5)
    kw = dict(
        g_h=3.0,
        alpha_z=3.0,
        alpha_r=1.0,
        h=rng.normal(0, 1, 50),
        z=rng.normal(0, 2, 50),
        r=rng.normal(0, 1, 50),
    )
    moving = rmt.gated_flow_support(xi=rng.normal(0, 1, 50), tau_z=1e9, **kw)
    still = rmt.gated_flow_support(xi=np.zeros(50), tau_z=1e9, **kw)
    assert moving.rightmost == pytest.approx(still.rightmost, abs=1e-9)
    assert rmt.gated_flow_support(xi=rng.normal(0, 1, 50), **kw).rightmost > still.rightmost + 1e-3


def test_mean_field_support_agrees_with_the_fixed_point_mft_and_the_solved_edge() -> None:
    """At a nonzero MFT fixed point: rho of the RMT module (u^h ~ N(0, g^2 C_h <sigma^2>)) is the
    fixed-point module's rho (004-19), and the support's right edge 1 + delta solves
    rho <z^2 / (delta + z)^2> = 1 with u^z ~ N(0, alpha_z^2 C_h) (marginal_stability_edge)."""
    from rnndyn import meanfield as mf

    fp = mf.fixed_points(3.0, 2.0)
    c_h, rho = float(fp.c_phi[0]), float(fp.rho[0])
    assert rmt.gru_rho_mean_field(g_h=3.0, alpha_r=2.0, C_h=c_h) == pytest.approx(rho, rel=1e-9)
    s = rmt.gru_support_mean_field(g_h=3.0, alpha_z=8.0, alpha_r=2.0, C_h=c_h, n_points=8)
    assert s.rho == pytest.approx(rho, rel=1e-9)
    edge = rmt.marginal_stability_edge(rho, alpha_z=8.0, C_h=c_h)
    assert s.rightmost - 1.0 == pytest.approx(edge, rel=1e-6)


def test_alpha_z0_radius_with_bias_is_the_zero_fp_disk() -> None:
    """Cor. 4.4 at the zero FP: rho = (g_h sigma(b_r))^2 and r = 1 - z + z sqrt(rho) is Prop. 4.2's radius."""
    s = rmt.gru_zero_fixed_point(1.5, bias_z=1.2, bias_r=-0.4, n_points=8)
    assert rmt.gru_alpha_z0_radius(s.rho, bias_z=1.2) == pytest.approx(s.radius, rel=1e-14)


def test_rmt_bad_input() -> None:
    with pytest.raises(ValueError, match="g_h"):
        rmt.gru_zero_fixed_point(-1.0)
    with pytest.raises(ValueError, match="same length"):
        rmt.gru_support(g_h=1, alpha_z=1, alpha_r=1, u_z=[0, 0], u_r=[0, 0, 0], u_h=[0, 0], h_prev=[0, 0])
    with pytest.raises(ValueError, match="finite"):
        rmt.vanilla_support(1.0, dphi=[1.0, float("nan")])
    with pytest.raises(ValueError, match="theta"):
        rmt.gru_binary_gate_spectrum(theta=1.5, f_u=0.5, g_h=1.0, r_bar=0.5)
    with pytest.raises(TypeError, match="slow_mode_fraction"):
        rmt.slow_mode_fraction(0.05, alpha_z=1.0)


# ----------------------------------------------------------------------------- §8 against networks
def test_8_1_vanilla_zero_fp_radius() -> None:
    """#1: vanilla zero FP spectral radius = g (N = 400; +-5%)."""
    for g in (0.8, 1.2):
        net = rd.VanillaRNN(400, g=g, generator=_gen(1), dtype=F64)
        res = jacobian_spectrum(net, states=torch.zeros(1, 400, dtype=F64), theory=True)
        assert res.theory.radius == pytest.approx(_frob_gain(net.weight_hh), rel=1e-12)
        assert float(res.spectral_radius[0]) == pytest.approx(g, rel=0.05)


def test_8_2_gru_zero_fp_disk() -> None:
    """#2: GRU zero FP: uniform disk centre 1/2, radius g_h / 4 (N = 400; +-0.03, fraction +-0.03)."""
    net = rd.GRU(400, g_h=1.5, alpha_z=2.0, alpha_r=3.0, generator=_gen(2), dtype=F64)
    ev = _ev(net.jacobian(torch.zeros(400, dtype=F64)))
    assert ev.real.min() == pytest.approx(0.125, abs=0.03)
    assert ev.real.max() == pytest.approx(0.875, abs=0.03)
    assert np.mean(np.abs(ev - 0.5) < 1.5 / 8) == pytest.approx(0.25, abs=0.03)
    theory = predicted_support(net, torch.zeros(400, dtype=F64))
    assert theory.rightmost == pytest.approx(0.5 + _frob_gain(net.weight_hh) / 4, rel=1e-9)


def test_8_5_alpha_z0_radius_from_state() -> None:
    """#5: alpha_z = 0: spectral radius = (1 + sqrt(rho_hat)) / 2, rho_hat from the state (N = 400; +-4%)."""
    for ar in (0.0, 5.0):
        net = rd.GRU(400, g_h=3.0, alpha_z=0.0, alpha_r=ar, generator=_gen(3), dtype=F64)
        res = jacobian_spectrum(net, n_states=2, n_steps=20, n_transient=200, theory=True, generator=_gen(4))
        pred = rmt.gru_alpha_z0_radius(res.theory.rho)
        assert res.theory.spectral_radius == pytest.approx(pred, rel=1e-6)  # the disk of Cor. 4.4
        assert float(res.spectral_radius[0]) == pytest.approx(pred, rel=0.04)


@pytest.mark.parametrize("params", [(3.0, 5.0, 0.0), (3.0, 5.0, 5.0), (6.0, 1.0, 2.0)])
def test_8_6_gru_spectral_curve(params: tuple[float, float, float]) -> None:
    """#6: rightmost real root of F (004-18) = max Re(lambda), state statistics (N = 500; +-5%);
    leftmost +-0.16 (finite-N: the reset-gate product term converges slowly, ~0.03 at N = 1000)."""
    g_h, az, ar = params
    net = rd.GRU(500, g_h=g_h, alpha_z=az, alpha_r=ar, generator=_gen(5), dtype=F64)
    res = jacobian_spectrum(net, n_states=2, n_steps=20, n_transient=200, generator=_gen(6))
    for k in range(2):
        pred = predicted_support(net, res.states[k], factorised=False)
        assert float(res.max_real[k]) == pytest.approx(pred.rightmost, rel=0.05)
        assert float(res.eigenvalues[k].real.min()) == pytest.approx(pred.leftmost, abs=0.16)


def test_8_10_slow_modes_grow_with_alpha_z() -> None:
    """#10: fraction with |lambda - 1| < 0.05 ~= P(z < 0.05) and grows with alpha_z (N = 300; +-0.03)."""
    fracs = []
    for az in (0.0, 5.0, 20.0):
        net = rd.GRU(300, g_h=3.0, alpha_z=az, alpha_r=0.0, generator=_gen(7), dtype=F64)
        res = jacobian_spectrum(net, n_states=2, n_steps=20, n_transient=200, generator=_gen(8))
        h = res.states
        z = torch.sigmoid(h @ net.weight_hz.detach().T + net.bias_z.detach())
        for k in range(2):
            assert float(res.slow_fraction[k]) == pytest.approx(
                rmt.slow_mode_fraction(0.05, z=z[k]), abs=0.03
            )
        mft = rmt.slow_mode_fraction(0.05, alpha_z=az, C_h=float((h**2).mean()))
        assert res.mean_slow_fraction == pytest.approx(mft, abs=0.05)  # MFT law of u^z: looser
        fracs.append(res.mean_slow_fraction)
    assert fracs[0] < 0.02 < fracs[1] < fracs[2] < 0.5


def test_8_11_binary_gate_density_synthetic() -> None:
    """#11: binary update gate (004-22): exact atoms at 1 and 0, uniform bulk of radius +-4% (N = 600)."""
    rng = np.random.default_rng(3)
    n, theta, f_u, g_h, r_bar = 600, 0.5, 0.6, 3.0, 0.5
    z = np.ones(n)
    z[: int(theta * n)] = 0.0
    dphi = (rng.uniform(size=n) < f_u).astype(float)
    mat = np.diag(1 - z) + (z * dphi)[:, None] * (g_h * rng.standard_normal((n, n)) / np.sqrt(n)) * r_bar
    ev = np.linalg.eigvals(mat)
    pred = rmt.gru_binary_gate_spectrum(theta=theta, f_u=np.mean(dphi[z == 1]), g_h=g_h, r_bar=r_bar)
    assert np.sum(np.abs(ev - 1) < 1e-8) == int(theta * n)
    n_zero_exact = int(np.sum((z == 1) & (dphi == 0)))
    assert np.sum(np.abs(ev) < 1e-6) == n_zero_exact
    bulk = np.abs(ev[(np.abs(ev - 1) > 1e-8) & (np.abs(ev) > 1e-6)])
    # uniform disk: the fraction within radius s is (s / R)^2, so R = quantile(q) / sqrt(q); the
    # largest modulus itself overshoots R by ~ sqrt(log n / 4n) ~ 8% at this size
    assert np.quantile(bulk, 0.9) / np.sqrt(0.9) == pytest.approx(pred.radius, rel=0.04)
    assert np.mean(bulk < pred.radius / 2) == pytest.approx(0.25, abs=0.04)
    assert bulk.size / n == pytest.approx(pred.bulk_mass, abs=1e-12)
    assert dict(pred.atoms)[1] == theta


def test_8_12_marginal_stability_synthetic() -> None:
    """#12 (small version): edge r_spec - 1 vs the MFT edge at rho = 1.5, alpha_z = 4 (N = 500; factor 1.5)."""
    rng = np.random.default_rng(4)
    n, az = 500, 4.0
    z = 1 / (1 + np.exp(-az * rng.standard_normal(n)))
    mat = np.diag(1 - z) + z[:, None] * rng.standard_normal((n, n)) * np.sqrt(1.5 / n)
    edge = np.linalg.eigvals(mat).real.max() - 1
    pred = rmt.marginal_stability_edge(1.5, alpha_z=az, C_h=1.0)
    assert 1 / 1.5 < edge / pred < 1.5


def test_8_15_16_lstm_zero_eigenvalues_and_zero_fp() -> None:
    """#15: zero FP: N exact zeros + disk centre 1/2, radius 3/8 (g = 1.5; max|lambda| +-0.03).
    #16: alpha_o = 0: exactly N zero eigenvalues at a generic state."""
    n = 250
    net = rd.LSTM(n, g=1.5, generator=_gen(9), dtype=F64)
    ev = _ev(net.jacobian(torch.zeros(2 * n, dtype=F64)))
    assert np.sum(np.abs(ev) < 1e-8) == n
    assert np.abs(ev).max() == pytest.approx(0.875, abs=0.03)
    pred = rmt.lstm_zero_fixed_point(1.5)
    assert pred.spectral_radius == 0.875 and dict(pred.atoms)[0] == 0.5
    net0 = rd.LSTM(n, g=3.0, alpha_f=2.0, alpha_i=2.0, alpha_o=0.0, generator=_gen(10), dtype=F64)
    state = rd.simulate(net0, n_steps=1, n_transient=100, generator=_gen(11))[0]
    ev0 = _ev(net0.jacobian(state))
    assert np.sum(np.abs(ev0) < 1e-7) == n
    assert dict(predicted_support(net0, state).atoms)[0] == 0.5


def test_8_17_lstm_resolvent_and_boundary() -> None:
    """#17: (1/2N) tr (lambda - D)^{-1} = [<(lambda - f)^{-1}> + 1/lambda] / 2 outside the support
    (1e-3), and Cor. 5.2's rightmost point vs the top eigenvalue (N = 300; +-6%)."""
    n = 300
    net = rd.LSTM(n, g=3.0, alpha_f=1.0, alpha_i=1.0, alpha_o=1.0, generator=_gen(12), dtype=F64)
    state = rd.simulate(net, n_steps=1, n_transient=200, generator=_gen(13))[0]
    jac = net.jacobian(state).detach().numpy()
    f = torch.sigmoid(state[:n] @ net.weight_hf.detach().T + net.bias_f.detach()).numpy()
    for lam in (3.0, 2.0 + 1.5j, -2.5):
        emp = np.trace(np.linalg.inv(lam * np.eye(2 * n) - jac)) / (2 * n)
        assert abs(emp - complex(rmt.lstm_resolvent(lam, f=f))) < 1e-3
    ev = np.linalg.eigvals(jac)
    pred = predicted_support(net, state)
    assert ev.real.max() == pytest.approx(pred.rightmost, rel=0.06)


def test_8_17b_lstm_curve_tail_is_the_jacobian_row_second_moment() -> None:
    """Cor. 5.2's F(lambda) + 1 -> (A + <B>) / |lambda|^2 far out, and A + <B> is the mean squared row
    norm of the h -> h block of the Jacobian (each gate's Gaussian coupling contributes its
    coefficient^2; cross terms average out): N = 200, large alpha_f and alpha_o so that every term
    of A and B matters (measured agreement 0.2%; the tolerance 1.5%)."""
    n = 200
    net = rd.LSTM(n, g=3.0, alpha_f=4.0, alpha_i=1.0, alpha_o=3.0, generator=_gen(21), dtype=F64)
    state = rd.simulate(net, n_steps=1, n_transient=200, generator=_gen(22))[0]
    jac = net.jacobian(state).detach().numpy()
    measured = float(np.mean(np.sum(jac[:n, :n] ** 2, axis=1)))
    pred = predicted_support(net, state)
    x = 1e5
    tail = (float(np.real(pred.support_function(np.array([x + 0j]))[0])) + 1.0) * x * x
    assert tail == pytest.approx(measured, rel=0.015)
    assert pred.params["A"] > 0.05 * tail  # the output-gate term is a visible part of the sum


def test_8_19_gated_flow_zero_fp_and_curve() -> None:
    """#19: CT zero FP: 2N eigenvalues at -1, bulk right edge -0.125 (g_h = 1.5; +-0.03); §5.8 curve
    at a generic state: rightmost real point vs max Re(lambda) (N = 200; +-0.05 absolute)."""
    n = 200
    flow = rd.GatedRateRNN(n, g_h=1.5, alpha_z=2.0, alpha_r=2.0, generator=_gen(14), dtype=F64)
    ev = _ev(flow.jacobian(torch.zeros(3 * n, dtype=F64)))
    assert np.sum(np.abs(ev + 1) < 1e-9) == 2 * n
    assert ev.real.max() == pytest.approx(-0.125, abs=0.03)
    flow3 = rd.GatedRateRNN(n, g_h=3.0, alpha_z=0.0, alpha_r=5.0, generator=_gen(15), dtype=F64)
    fmap = rd.discretise(flow3, dt=0.1, method="rk4")
    res = jacobian_spectrum(
        fmap, n_states=1, n_steps=10, n_transient=300, continuous=True, theory=True, generator=_gen(16)
    )
    assert res.continuous and res.theory.continuous
    assert float(res.max_real[0]) == pytest.approx(res.theory.rightmost, abs=0.05)


# ----------------------------------------------------------------------------- slow, larger N
@pytest.mark.slow
@pytest.mark.parametrize("params", [(3.0, 5.0, 0.0), (3.0, 5.0, 5.0), (6.0, 1.0, 2.0)])
def test_8_6_gru_spectral_curve_large_n(params: tuple[float, float, float]) -> None:
    """#6 at N = 1000: the predicted support's rightmost and leftmost real points against the
    extreme eigenvalues, averaged over 6 states (each state's own prediction).

    The extreme eigenvalue of one N = 1000 Jacobian fluctuates from state to state by more than the
    per-state tolerance this test used to apply to 3 states (6 % right, 0.12 left). Measured over 12
    states (2026-12-02, seed 7), state minus prediction: (6, 1, 2) rightmost -6.8 % .. +4.6 %
    (mean -0.6 %), leftmost -0.073 .. +0.103 (mean +0.010, one state's leftmost an isolated real
    eigenvalue 0.17 beyond the next); (3, 5, 5) right -3.9 .. +4.2 % (mean +0.2 %), left
    -0.082 .. +0.078 (mean +0.016); (3, 5, 0) right -1.1 .. +0.3 %, left -0.045 .. +0.033. So
    which state a code change happens to sample decided pass or fail (the old version failed at
    (6, 1, 2): one state's leftmost -0.683 against -0.559). The prediction is unbiased, so the
    test checks the mean over 6 states, 3 standard errors of those spreads (4.5 % and 0.06):
    tighter than before on average, and every single state must stay within twice the old bound,
    which still catches a wrong theory at one state.
    """
    g_h, az, ar = params
    net = rd.GRU(1000, g_h=g_h, alpha_z=az, alpha_r=ar, generator=_gen(5), dtype=F64)
    res = jacobian_spectrum(net, n_states=6, n_steps=60, n_transient=500, generator=_gen(6))
    for fact in (True, False):
        right, left = [], []
        for k in range(6):
            pred = predicted_support(net, res.states[k], factorised=fact)
            right.append(float(res.max_real[k]) / pred.rightmost - 1.0)
            left.append(float(res.eigenvalues[k].real.min()) - pred.leftmost)
        assert abs(np.mean(right)) < 0.045 and abs(np.mean(left)) < 0.06, (fact, right, left)
        assert max(map(abs, right)) < 0.12 and max(map(abs, left)) < 0.24, (fact, right, left)


@pytest.mark.slow
def test_8_12_marginal_stability_large_n() -> None:
    """#12 at N = 1500: edges at alpha_z = 4, 8, 12 within a factor 1.5 of the MFT edge."""
    rng = np.random.default_rng(5)
    n = 1500
    x = rng.standard_normal(n)
    big = rng.standard_normal((n, n)) * np.sqrt(1.5 / n)
    for az in (4.0, 8.0, 12.0):
        z = 1 / (1 + np.exp(-az * x))
        edge = np.linalg.eigvals(np.diag(1 - z) + z[:, None] * big).real.max() - 1
        ratio = edge / rmt.marginal_stability_edge(1.5, alpha_z=az, C_h=1.0)
        assert 1 / 1.5 < ratio < 1.5, (az, edge, ratio)

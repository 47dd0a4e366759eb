"""Oracle tests of the discrete GRU / LSTM DMFT (rnndyn.meanfield.dmft_discrete).

Exact limits (the vanilla map, the fixed-point MFT, the zero fixed point, the LSTM with a closed
forget gate), cross-method checks (sampled map vs the exact Gaussian route) and, in slow tests,
finite-N networks. Numbers measured once are in docs/meanfield.md.
"""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
from scipy.optimize import brentq

from rnndyn import meanfield as mf
from rnndyn.meanfield import dmft_discrete as dd
from rnndyn.meanfield.quadrature import gaussian_expectation, sigmoid

FAST = {"tau_max": 32, "degree": 20, "tol": 1e-7}


@pytest.fixture(scope="module")
def gru_reset():
    """The exact (Gaussian-route) solution at g_h = 3, alpha_r = 5."""
    return dd.gru_dmft(3.0, alpha_r=5.0, **FAST)


def test_z_to_one_is_the_vanilla_discrete_map():
    # sigma(b_z) -> 1: h_t = phi(eta_h), Var(eta_h) = (g_h/2)^2 C_h(0) = q of x' = g J tanh x, g = g_h/2
    r = dd.gru_dmft(4.0, bias_z=30.0, tau_max=8, degree=16)
    ref = mf.discrete_meanfield(2.0)
    assert r.status == "success" and r.method == "gaussian"
    assert r.variances["eta_h"] == pytest.approx(ref.q, rel=1e-6)
    assert r.c_h0 * 4.0 == pytest.approx(ref.q, rel=1e-6)
    assert np.max(np.abs(r.c_h[1:])) < 1e-6 * r.c_h0  # no memory: C_h(tau >= 1) = 0
    assert r.lambda_max == pytest.approx(ref.lambda_max, abs=1e-6)
    assert r.lambda_max == pytest.approx(0.1547, abs=1e-4)


def test_fixed_point_solution_equals_fixed_point_mft_and_bounds_the_chaotic_one(gru_reset):
    fp = mf.fixed_points(3.0, 5.0)
    const = dd.gru_dmft(3.0, alpha_r=5.0, initial="constant", **FAST)
    # a lag-independent C_h is kept by the map: it is the FP MFT (004-10), and its exponent is
    # ln(1 - z + z sqrt(rho)), the log spectral radius of the FP Jacobian (rho of (004-19))
    assert const.c_h0 == pytest.approx(float(np.max(fp.c_phi)), rel=1e-7)
    assert np.ptp(const.c_h) < 1e-9
    assert const.lambda_max == pytest.approx(
        math.log(0.5 + 0.5 * math.sqrt(float(fp.rho[np.argmax(fp.c_phi)]))), abs=1e-7
    )
    # the time-dependent solution: C_h decays, and C_h(0) <= C_phi(0) (004-52) <= the FP value
    r = gru_reset
    assert r.status == "success" and r.c_h[-1] < 1e-3 * r.c_h0
    assert r.c_h0 <= r.c_phi0 + 1e-12
    assert r.c_h0 < float(np.max(fp.c_phi))
    # the stationary difference equation (1 + a^2) C(t) - a [C(t+1) + C(t-1)] = z^2 C_phi(t), a = z = 1/2
    c = np.concatenate([[r.c_h[1]], r.c_h])  # even: C(-1) = C(1)
    lhs = 1.25 * c[1:-1] - 0.5 * (c[2:] + c[:-2])
    assert np.max(np.abs(lhs - 0.25 * r.c_phi[:-1])) < 1e-6 * r.c_h0
    assert r.lambda_max > 0.05


def test_zero_fixed_point_exponent():
    # below the transition the solution collapses to C_h = 0 and lambda = ln(a + z g_h sigma(b_r))
    bz, br = 1.0, -0.5
    zb, sr = float(sigmoid(np.array(bz))), float(sigmoid(np.array(br)))
    r = dd.gru_dmft(1.5, alpha_r=2.0, bias_z=bz, bias_r=br, tau_max=20, degree=16)
    exact = math.log(1.0 - zb + zb * 1.5 * sr)
    assert r.zero_fixed_point and r.c_h0 == 0.0 and r.lambda_max == pytest.approx(exact, abs=1e-12)
    # the eigenproblem itself reproduces it on C_h = 0 (an independent path through the code)
    lam = dd.gru_gaussian_lyapunov(np.zeros(21), g_h=1.5, alpha_r=2.0, bias_z=bz, bias_r=br, degree=16)
    assert lam == pytest.approx(exact, abs=1e-8)


def test_lstm_zero_fixed_point_exponent():
    # below the transition C_h = 0 and lambda = ln(sigma(b_f) + g sigma(b_i) sigma(b_o)): the log
    # spectral radius of the zero-FP Jacobian (Can, Krishnamurthy & Schwab 2020, Cor. 5.3-5.4)
    bf, bi, bo = 0.4, -0.3, 0.2
    sf, si, so = (float(sigmoid(np.array(b))) for b in (bf, bi, bo))
    r = dd.lstm_dmft(1.2, alpha_f=2.0, alpha_i=1.0, alpha_o=3.0, bias_f=bf, bias_i=bi, bias_o=bo,
                     n_samples=16, tau_max=8, degree=8, window=16, burn_in=0)  # fmt: skip
    assert sf + 1.2 * si * so < 1.0
    assert r.zero_fixed_point and r.status == "success" and "decays" in r.message
    assert r.lambda_max == pytest.approx(math.log(sf + 1.2 * si * so), abs=1e-12)


def test_collapse_onto_an_unstable_zero_solution_is_not_success():
    # g_h = 2.1 > 2: the zero solution is unstable (lambda = ln(1/2 + 2.1/4) = ln 1.025 > 0), but
    # with 16 sampled paths the iteration collapses onto C_h = 0. It was reported 'success: the
    # activity decays' with that positive exponent; it is 'not_converged', the check named
    r = dd.gru_dmft(2.1, alpha_z=1.0, n_samples=16, tau_max=8, degree=8, window=16, burn_in=0)
    assert r.zero_fixed_point and r.lambda_max == pytest.approx(math.log(1.025), abs=1e-12)
    assert r.status == "not_converged" and "decays" not in r.message
    assert not r.check("zero_solution_stable").passed


def test_collapse_is_judged_by_the_exact_zero_exponent_without_lyapunov():
    # lyapunov=False must not turn a collapse onto the unstable zero solution into 'success: the
    # activity decays' (it did: the check used lambda_max, which was not computed). The zero
    # solution's exponent is exact: ln(1/2 + g_h/4) = 0.025 at g_h = 2.1; ln(s_f + g s_i s_o) < 0 for the LSTM
    r = dd.gru_dmft(2.1, alpha_z=1.0, n_samples=16, tau_max=8, degree=8, window=16, burn_in=0, lyapunov=False)
    assert r.zero_fixed_point and math.isnan(r.lambda_max)
    assert r.status == "not_converged" and "decays" not in r.message
    chk = r.check("zero_solution_stable")
    assert not chk.passed and chk.value == pytest.approx(math.log(0.5 + 2.1 / 4), abs=1e-12)
    ok = dd.lstm_dmft(1.2, alpha_f=2.0, alpha_i=1.0, alpha_o=3.0, bias_f=0.4, bias_i=-0.3, bias_o=0.2,
                      n_samples=16, tau_max=8, degree=8, window=16, burn_in=0, lyapunov=False)  # fmt: skip
    assert ok.zero_fixed_point and ok.status == "success" and "decays" in ok.message
    assert ok.check("zero_solution_stable").passed


def test_lag_window_checks_fire():
    # C_h = exp(-tau/5) on lags 0..12 has not decayed (C(12)/C(0) = 0.09 > 5e-3): the decay check fails;
    # on lags 0..60 it passes (C(54..60)/C(0) <= 2e-5)
    tau = np.arange(13.0)
    chk, tail = dd._decay_check(np.exp(-tau / 5.0), 0.0)
    assert not chk.passed and tail == pytest.approx(math.exp(-12 / 5), rel=1e-12)
    assert dd._decay_check(np.exp(-np.arange(61.0) / 5.0), 0.0)[0].passed
    # a lag window of 8 steps at g_h = 3, alpha_z = 2 truncates C_h: the circulant embedding of the
    # sampled route clips > 1e-3 of its spectrum, and the result says so
    r = dd.gru_dmft(
        3.0, alpha_z=2.0, tau_max=8, n_samples=16, window=16, burn_in=0, degree=8, max_iter=2, lyapunov=False
    )
    emb = r.check("circulant_embedding")
    assert not emb.passed and emb.value > 1e-2 and r.status == "not_converged"


def test_sampled_map_is_stationary_at_the_exact_solution(gru_reset):
    import torch

    r = gru_reset
    paths = dd._Paths(K=32, n_burn=60, n_win=300, M=400, seed=3, chunk=100, device=torch.device("cpu"))
    s = dd._GRUSampler(paths, g_h=3.0, alpha_z=0.0, alpha_r=5.0, bias_z=0.0, bias_r=0.0, degree=20)
    parts = [s.forward(r.c_h, offset=k)["c_h"] for k in range(4)]
    mean = np.mean(parts, axis=0)
    err = np.std(parts, axis=0, ddof=1) / 2.0
    assert abs(mean[0] - r.c_h0) < 4 * err[0] + 1e-12
    assert np.max(np.abs(mean - r.c_h)) / r.c_h0 < 0.03


def _lstm_closed_forget(g, alpha_o, b_i, b_o):
    """Exact C_h(0) and lambda of the LSTM with f = 0, constant input gate (no memory)."""
    si = float(sigmoid(np.array(b_i)))

    def so2(c):
        return float(gaussian_expectation(lambda u: sigmoid(u + b_o) ** 2, alpha_o**2 * c))

    def cphi2(c):
        return float(gaussian_expectation(lambda u: np.tanh(si * np.tanh(u)) ** 2, g * g * c))

    c0 = brentq(lambda c: so2(c) * cphi2(c) - c, 1e-6, 1.0)
    d = g * g * c0
    dphi = float(
        gaussian_expectation(lambda u: ((1 - np.tanh(si * np.tanh(u)) ** 2) * (1 - np.tanh(u) ** 2)) ** 2, d)
    )
    ds2 = float(
        gaussian_expectation(lambda u: (sigmoid(u + b_o) * (1 - sigmoid(u + b_o))) ** 2, alpha_o**2 * c0)
    )
    lam = 0.5 * math.log(g * g * so2(c0) * si * si * dphi + alpha_o**2 * ds2 * cphi2(c0))
    return c0, lam


def test_lstm_closed_forget_gate_exact_limit():
    # bias_f = -30: c_t = i phi(eta_c), h_t = o phi(c_t): C_h(0) solves a scalar equation, C_h(tau>=1) = 0,
    # and lambda = 1/2 ln(g^2 <o^2> i^2 <phi'(c)^2 phi'(eta_c)^2> + alpha_o^2 <sigma'_o^2> <phi(c)^2>)
    c0, lam = _lstm_closed_forget(6.0, 2.0, 0.5, 0.3)  # C_h(0) = 0.05762, lambda = 0.1921
    r = dd.lstm_dmft(
        6.0, alpha_o=2.0, bias_f=-30.0, bias_i=0.5, bias_o=0.3, tau_max=8, window=200, burn_in=2,
        n_samples=2000, degree=16, tol=1e-5,
    )  # fmt: skip
    assert r.residual < 1e-5 and r.method == "sampled"
    assert r.c_h0 == pytest.approx(c0, rel=0.02)  # sampling error ~ 1/sqrt(2000 * 200)
    # no memory: C_h(tau >= 1) = 0 exactly; the sampled solution's lag-1 value carries the sampling
    # noise amplified by the near-neutral correlation map (measured 0.07 C_h(0) at M = 400, window 100)
    assert np.max(np.abs(r.c_h[1:])) < 0.15 * r.c_h0
    assert r.lambda_max == pytest.approx(lam, abs=0.01)


def test_bad_input_and_non_convergence():
    with pytest.raises(ValueError, match="g_h"):
        dd.gru_dmft(-1.0)
    with pytest.raises(ValueError, match="alpha_r"):
        dd.gru_dmft(2.0, alpha_r=-1.0)
    with pytest.raises(ValueError, match="method"):
        dd.gru_dmft(2.0, alpha_z=1.0, method="gaussian")
    with pytest.raises(ValueError, match="lyapunov_method"):
        dd.gru_dmft(2.0, alpha_z=1.0, lyapunov_method="eigen")
    with pytest.raises(ValueError, match="window"):
        dd.gru_dmft(2.0, method="sampled", tau_max=100, window=50)
    with pytest.raises(ValueError, match="alpha_o"):
        dd.lstm_dmft(2.0, alpha_o=-0.1)
    with pytest.raises(ValueError, match="g"):
        dd.lstm_dmft(float("nan"))
    with pytest.raises(TypeError, match="tau_max"):
        dd.gru_dmft(2.0, tau_max=10.5)
    with pytest.raises(ValueError, match="initial"):
        dd.gru_dmft(2.0, alpha_z=1.0, initial="constant")
    r = dd.gru_dmft(3.0, alpha_r=5.0, max_iter=2, tau_max=20, degree=16)
    assert r.status == "not_converged" and np.all(np.isfinite(r.c_h)) and math.isfinite(r.lambda_max)
    d = json.loads(json.dumps(r.to_dict()))
    assert d["status"] == "not_converged" and d["model"] == "gru"


def test_cli_gru_dmft_json_and_figure(tmp_path):
    from typer.testing import CliRunner

    from rnndyn.cli import app

    out = tmp_path / "figs"
    js = tmp_path / "d.json"
    res = CliRunner().invoke(
        app, ["meanfield", "gru", "--dmft", "--g-h", "1.5", "--alpha-r", "2", "--tau-max", "20", "--json", str(js),
              "--out", str(out)],
    )  # fmt: skip
    assert res.exit_code == 0, res.output
    d = json.loads(js.read_text())
    assert d["model"] == "gru" and d["zero_fixed_point"] is True
    assert d["lambda_max"] == pytest.approx(math.log(0.5 + 1.5 / 4), abs=1e-12)
    assert list(out.glob("*.png"))
    bad = CliRunner().invoke(app, ["meanfield", "scs", "--dmft"])
    assert bad.exit_code != 0 and "--dmft" in bad.output
    bad = CliRunner().invoke(app, ["meanfield", "lstm", "--dmft", "--method", "gaussian"])
    assert bad.exit_code != 0 and "method" in bad.output
    bad = CliRunner().invoke(app, ["meanfield", "lstm"])
    assert bad.exit_code != 0 and "--dmft" in bad.output


# ------------------------------------------------------------------------------------------ slow
# Run with `pytest -m slow tests/test_dmft_discrete.py`; measured numbers are in docs/meanfield.md.


@pytest.mark.slow
def test_sampled_solver_and_tangent_match_the_gaussian_route(gru_reset):
    r = dd.gru_dmft(3.0, alpha_r=5.0, method="sampled", lyapunov_method="sampled", n_samples=4000, **FAST)
    assert r.status == "success"
    assert np.max(np.abs(r.c_h - gru_reset.c_h)) / gru_reset.c_h0 < 0.03
    assert r.lambda_max == pytest.approx(gru_reset.lambda_max, abs=0.01)


@pytest.mark.slow
def test_sampling_error_scales_as_inverse_sqrt_samples(gru_reset):
    import torch

    def rms(m):
        errs = []
        for seed in range(4):
            p = dd._Paths(K=32, n_burn=60, n_win=300, M=m, seed=seed, chunk=1000, device=torch.device("cpu"))
            s = dd._GRUSampler(p, g_h=3.0, alpha_z=0.0, alpha_r=5.0, bias_z=0.0, bias_r=0.0, degree=20)
            errs.append(s.forward(gru_reset.c_h)["c_h"] - gru_reset.c_h)
        return float(np.sqrt(np.mean(np.square(errs))))

    ratio = rms(250) / rms(4000)
    assert 2.5 < ratio < 6.5  # sqrt(16) = 4


def _network(model, n, seed, transient, steps, **gains):
    import torch

    import rnndyn as rd

    gen = torch.Generator().manual_seed(seed)
    net = (rd.GRU if model == "gru" else rd.LSTM)(n, generator=gen, dtype=torch.float64, **gains)
    with torch.no_grad():
        h = torch.randn(net.state_size, generator=gen, dtype=torch.float64)
        for _ in range(transient):
            h = net.step(h)
        traj = torch.empty(steps, n, dtype=torch.float64)
        for t in range(steps):
            h = net.step(h)
            traj[t] = h[:n]
    x = traj.numpy()
    c = np.array([np.mean(x[: steps - k] * x[k:]) for k in range(11)])
    h0 = torch.randn(1, net.state_size, generator=gen, dtype=torch.float64)
    lam = rd.max_lyapunov(net, n_steps=steps, n_transient=transient, h0=h0, generator=gen, throw=False)
    return c, float(lam.exponents.reshape(-1)[0])


@pytest.mark.slow
def test_gru_correlation_and_exponent_against_network(gru_reset):
    # N = 2000 (docs/meanfield.md): C_h(0..5) within 1 %, lambda 0.1303 vs 0.1321
    c, lam = _network("gru", 1500, 0, 300, 1500, g_h=3.0, alpha_z=0.0, alpha_r=5.0)
    th = gru_reset.c_h[:11]
    assert np.max(np.abs(c[:6] - th[:6])) / th[0] < 0.04
    assert lam == pytest.approx(gru_reset.lambda_max, abs=0.012)


@pytest.mark.slow
def test_gru_update_gate_against_network():
    r = dd.gru_dmft(3.0, alpha_z=5.0, alpha_r=5.0, n_samples=2000, window=600)  # tau_max 100: C_h decays
    c, lam = _network("gru", 1500, 1, 300, 1500, g_h=3.0, alpha_z=5.0, alpha_r=5.0)
    assert r.status.ok, r.message
    assert np.max(np.abs(c[:6] - r.c_h[:6])) / r.c_h0 < 0.06
    assert lam == pytest.approx(r.lambda_max, abs=0.015)


@pytest.mark.slow
def test_lstm_against_network():
    r = dd.lstm_dmft(6.0, alpha_f=2.0, alpha_i=2.0, alpha_o=2.0, n_samples=2000, tau_max=60, window=600)
    c, lam = _network("lstm", 1000, 0, 300, 1500, g=6.0, alpha_f=2.0, alpha_i=2.0, alpha_o=2.0)
    assert r.status in ("success", "warning")
    assert np.max(np.abs(c[:6] - r.c_h[:6])) / r.c_h0 < 0.08
    assert lam == pytest.approx(r.lambda_max, abs=0.02)


def _small_paths(m: int = 48):
    import torch

    return dd._Paths(K=8, n_burn=20, n_win=60, M=m, seed=4, chunk=m, device=torch.device("cpu"))


def test_gru_scans_equal_the_step_by_step_recursions():
    # the blocked scans of the sampled GRU (forward h and tangent u) against the plain loops of the
    # single-site recursions: h_t = h + z (phi - h), u_t = e^-lam [(1 - z) u + z phi' x_h + (phi - h) z' x_z]
    import torch

    p = _small_paths()
    s = dd._GRUSampler(p, g_h=3.0, alpha_z=5.0, alpha_r=2.0, bias_z=0.3, bias_r=0.0, degree=16)
    c_h = 0.4 * np.exp(-np.arange(9) / 3.0)
    eta, z, _ = s._forward_paths(c_h, 0, p.M, 0)
    phi = torch.tanh(eta)
    h = torch.zeros(p.M, dtype=torch.float64)
    hs = [h]
    for t in range(p.n_t):
        h = h + z[t] * (phi[t] - h)
        hs.append(h)
    ref = torch.stack(hs)
    fast = s._run(phi, z)
    assert torch.max(torch.abs(fast - ref)) < 1e-13 * torch.max(torch.abs(ref))
    # tangent: one map through the sampler against the loop on the same frozen paths
    q, lam = c_h / c_h[0], 0.07
    out = s.tangent(c_h, q, lam)
    c_sr, _ = dd._gru_fields(c_h, 3.0, 2.0, 0.0, 16)
    a = 9.0 * c_sr + 9.0 * 4.0 * c_h * dd._gate_corr(4.0 * c_h, 0.0, 16, dd.dsigmoid)
    xh = p.path(p.sqrt_spectrum(a * q)[0], 2, 0, p.M, 0)
    xz = p.path(p.sqrt_spectrum(25.0 * q)[0], 3, 0, p.M, 0) * z * (1 - z)
    u, h, us = torch.zeros(p.M, dtype=torch.float64), torch.zeros(p.M, dtype=torch.float64), []
    for t in range(p.n_t):
        u = math.exp(-lam) * ((1 - z[t]) * u + z[t] * (1 - phi[t] ** 2) * xh[t] + (phi[t] - h) * xz[t])
        h = h + z[t] * (phi[t] - h)
        if t >= p.n_burn:
            us.append(u)
    ref_t = p.autocorr(torch.stack(us)).numpy() / p.M
    assert np.max(np.abs(out - ref_t)) < 1e-12 * np.max(np.abs(ref_t))


def test_lstm_scans_equal_the_step_by_step_recursions():
    # c_t = f c + i cand and the tangent v_t = e^-lam [f v + i phi'(eta_c) x_c + cand i' x_i + c f' x_f],
    # u_t = o phi'(c) v + e^-lam phi(c) o' x_o, against plain loops on the same frozen paths
    import torch

    p = _small_paths()
    al = {"f": 2.0, "i": 1.5, "o": 2.5}
    s = dd._LSTMSampler(p, g=5.0, alphas=al, biases={"f": 0.5, "i": 0.0, "o": -0.2}, degree=16)
    c_h = 0.2 * np.exp(-np.arange(9) / 3.0)
    q, lam = c_h / c_h[0], -0.05
    out = s.tangent(c_h, q, lam)
    eta_c, f, i, _ = s._fields(c_h, 0, p.M, 0)
    o = s._gate("o", c_h, 3, 0, p.M, 0)
    cand = torch.tanh(eta_c)
    x = {k: p.path(p.sqrt_spectrum((25.0 if k == "c" else al[k] ** 2) * q)[0], 4 + j, 0, p.M, 0)
         for j, k in enumerate(("c", "f", "i", "o"))}  # fmt: skip
    e = math.exp(-lam)
    c, v = torch.zeros(p.M, dtype=torch.float64), torch.zeros(p.M, dtype=torch.float64)
    cs, us = [], []
    for t in range(p.n_t):
        src = f[t] * v + i[t] * (1 - cand[t] ** 2) * x["c"][t] + cand[t] * i[t] * (1 - i[t]) * x["i"][t]
        v = e * (src + c * f[t] * (1 - f[t]) * x["f"][t])
        c = f[t] * c + i[t] * cand[t]
        cs.append(c)
        if t >= p.n_burn:
            tc = torch.tanh(c)
            us.append(o[t] * (1 - tc**2) * v + e * tc * o[t] * (1 - o[t]) * x["o"][t])
    ref_c = torch.stack(cs)
    fast_c = s._run(cand, f, i)[1:]
    assert torch.max(torch.abs(fast_c - ref_c)) < 1e-13 * torch.max(torch.abs(ref_c))
    ref_t = p.autocorr(torch.stack(us)).numpy() / p.M
    assert np.max(np.abs(out - ref_t)) < 1e-12 * np.max(np.abs(ref_t))

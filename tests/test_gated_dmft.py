"""Oracle tests of the time-dependent DMFT of the gated flow (rnndyn.meanfield.dmft).

Oracles: the exact reduction to the SCS DMFT when the gates are constant; the zero-fixed-point
exponent -1/2 + g_h/4; the exact Gaussian route against the sampled (Monte Carlo) route; the
statistical residual ~ 1/sqrt(M). Theory-vs-simulation runs are marked slow.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from rnndyn.meanfield.dmft import DMFTResult, gated_dmft, gaussian_lyapunov, sample_correlations
from rnndyn.meanfield.vanilla import scs_dmft


def _scs_compare(g_h: float, tau_max: float = 140.0, dt: float = 0.1) -> tuple[float, float]:
    # alpha_z = alpha_r = 0: sigma(z) = sigma(r) = 1/2, so dh/dt = (1/2)(-h + (g_h/2) J phi(h)):
    # with t' = t/2 this is SCS with g = g_h/2. Hence C_h(tau) = Delta_SCS(tau/2) and
    # lambda_max = lambda_SCS(g_h/2) / 2.
    r = gated_dmft(g_h, tau_max=tau_max, dt=dt)
    s = scs_dmft(g_h / 2.0)
    ref = np.interp(r.tau / 2.0, s.tau, s.delta, right=0.0)
    err_c = float(np.max(np.abs(r.c_h - ref)) / s.delta0)
    err_l = abs(r.lambda_max - s.lambda_max / 2.0) / (s.lambda_max / 2.0)
    assert r.status == "success", r.message
    return err_c, err_l


def test_constant_gates_reduce_to_scs():
    # g_h = 6 (SCS g = 3): 1.3 s against 2.7 s at g_h = 3 (now in the slow list); measured errors
    # 2.4e-5 (C_h) and 1.6e-7 (lambda), and a 0.1 % wrong gain in the map fails both (2.4e-3, 1.5e-3)
    err_c, err_l = _scs_compare(6.0)
    assert err_c < 1e-3
    assert err_l < 1e-3


@pytest.mark.slow
@pytest.mark.parametrize(("g_h", "tau_max"), [(2.4, 400.0), (3.0, 140.0), (4.0, 140.0)])
def test_constant_gates_reduce_to_scs_more_gains(g_h, tau_max):
    # near onset (g_h = 2.4: SCS g = 1.2) the correlation time is long: a longer lag grid
    err_c, err_l = _scs_compare(g_h, tau_max=tau_max, dt=0.2 if tau_max > 200 else 0.1)
    assert err_c < 1e-3
    assert err_l < 1e-3


@pytest.mark.parametrize("g_h", [0.5, 1.5, 1.9])
@pytest.mark.parametrize("alpha_r", [0.0, 10.0])
def test_zero_fixed_point_exponent_from_eigenproblem(g_h, alpha_r):
    # C_h = C_r = 0: C_phi' = 1, C_sigma(r) = 1/4, C_phi = 0 -> -1/2 + g_h/4 (disk centre -1/2, radius g_h/4)
    tau = np.arange(401) * 0.1
    lam = gaussian_lyapunov(tau, np.zeros(401), np.zeros(401), g_h=g_h, alpha_r=alpha_r)
    assert abs(lam - (-0.5 + g_h / 4.0)) < 1e-8


def test_below_onset_solution_is_zero_fixed_point():
    r = gated_dmft(1.5, alpha_r=20.0)
    assert r.zero_fixed_point and r.c_h0 == 0.0
    assert r.lambda_max == pytest.approx(-0.125, abs=1e-12)
    assert r.status == "success"


@pytest.fixture(scope="module")
def region3() -> DMFTResult:
    """The stationary DMFT at g_h = 1.9, alpha_r = 20 (~1 s): shared by the two region-3 tests."""
    return gated_dmft(1.9, alpha_r=20.0)


@pytest.fixture(scope="module")
def dmft_3_5(gated_dmft_3_5) -> DMFTResult:
    """The exact (Gaussian-route) DMFT at g_h = 3, alpha_r = 5 on lags [0, 40], with lambda_max
    (conftest.py: solved once per run, test_adjoint_dmft uses it too)."""
    return gated_dmft_3_5


def test_discontinuous_onset_at_large_alpha_r(region3):
    # alpha_r = 20, g_h = 1.9 < 2: the zero FP is linearly stable (lambda = -0.025) but a chaotic
    # solution with finite amplitude and positive exponent exists (region 3)
    r = region3
    assert not r.zero_fixed_point
    assert r.c_h0 > 0.05
    assert r.lambda_max > 0.05
    small = gated_dmft(1.9, alpha_r=20.0, initial_amplitude=1e-3, lyapunov=False)
    assert small.zero_fixed_point  # both solutions exist: the transition is discontinuous


def test_sampled_map_is_stationary_at_the_exact_gaussian_solution(dmft_3_5):
    # alpha_z = 0: the exact (Fourier) solution must be a fixed point of the Monte Carlo map up to
    # sampling noise: circulant sampling + Heun integration + estimator against the exact route
    ex = dmft_3_5  # the correlations do not depend on lyapunov=True (computed after them)
    o = sample_correlations(ex.tau, ex.c_phi, g_h=3.0, alpha_r=5.0, n_samples=2000, window=60.0, burn_in=20.0)
    d = o["c_phi"] - ex.c_phi
    assert abs(d[0]) < 4.0 * o["stderr"][0]
    assert np.max(np.abs(d)) / ex.c_phi0 < 0.04
    assert abs(o["c_h"][0] - ex.c_h0) / ex.c_h0 < 0.05
    assert o["clipped"] < 1e-3


def _second_difference(c: np.ndarray, dt: float) -> np.ndarray:
    # d^2 C / d tau^2 on the lags 0 .. K-1 of an even function (C(-dt) = C(dt))
    full = np.concatenate([[c[1]], c])
    return (full[2:] - 2.0 * full[1:-1] + full[:-2]) / dt**2


def test_stationary_solution_solves_the_dmft_odes(dmft_3_5):
    # docs/theory/gated.md §4.6 at alpha_z = 0 in the time domain (the solver works in Fourier space):
    # (1 - d^2/dtau^2) C_r = alpha_r^2 C_phi (tau_r = 1) and (1 - 4 d^2/dtau^2) C_h = g_h^2 C_phi C_sigma(r)
    # (time constant 1/sigma(0) = 2); second differences at dt = 0.1 agree to 4e-5 (measured 1.2e-5, 4e-5)
    r = dmft_3_5
    dr = r.c_r[:-1] - _second_difference(r.c_r, r.dt) - 25.0 * r.c_phi[:-1]
    dh = r.c_h[:-1] - 4.0 * _second_difference(r.c_h, r.dt) - 9.0 * r.c_phi[:-1] * r.c_sigma_r[:-1]
    assert np.max(np.abs(dr)) < 1e-4 * 25.0 * r.c_phi0
    assert np.max(np.abs(dh)) < 1e-4 * 9.0 * r.c_phi0 * r.c_sigma_r0
    # equal-time moments are Gaussian expectations at the equal-time variances
    from rnndyn.meanfield.quadrature import gaussian_expectation, sigmoid

    assert r.c_phi0 == pytest.approx(float(gaussian_expectation(lambda u: np.tanh(u) ** 2, r.c_h0)), rel=1e-9)
    assert r.c_sigma_r0 == pytest.approx(
        float(gaussian_expectation(lambda u: sigmoid(u) ** 2, r.c_r0)), rel=1e-9
    )
    # the documented relaxation time: int_0^tau_max C_h dtau / C_h(0)
    assert r.relaxation_time == pytest.approx(float(np.trapezoid(r.c_h, r.tau)) / r.c_h0, rel=1e-12)


def test_bad_input_is_a_clear_error():
    with pytest.raises(ValueError, match="g_h"):
        gated_dmft(-1.0)
    with pytest.raises(ValueError, match="alpha_z"):
        gated_dmft(2.0, alpha_z=-1.0)
    with pytest.raises(ValueError, match="method"):
        gated_dmft(2.0, alpha_z=1.0, method="gaussian")
    with pytest.raises(ValueError, match="lyapunov_method"):
        gated_dmft(2.0, alpha_z=1.0, lyapunov_method="eigen")
    with pytest.raises(TypeError, match="n_samples"):
        gated_dmft(2.0, n_samples=1.5)
    with pytest.raises(ValueError, match="g_h"):
        gated_dmft(float("nan"))


def test_non_convergence_is_a_status_not_nan():
    r = gated_dmft(3.0, max_iter=2, lyapunov=False)
    assert r.status == "not_converged"
    assert "residual" in r.message
    assert np.all(np.isfinite(r.c_h)) and math.isfinite(r.c_h0)
    d = r.to_dict()
    assert d["status"] == "not_converged" and d["lambda_max"] is None


def test_result_roundtrip_and_plot(tmp_path, dmft_3_5):
    r = dmft_3_5
    assert r.lambda_max is not None
    assert isinstance(r, DMFTResult)
    d = r.to_dict()
    assert d["c_h0"] == pytest.approx(r.c_h0) and len(d["c_h"]) == r.tau.size
    # equal-time bound: C_h(0) <= g_h^2 C_phi(0) C_sigma(r)(0) (C_h''(0) <= 0; docs/theory/gated.md §4.4)
    assert r.c_h0 <= 9.0 * r.c_phi0 * r.c_sigma_r0
    p = r.plot(tmp_path / "dmft.png")
    assert p.exists() and p.stat().st_size > 1000


# ------------------------------------------------------------------------------------------------
# slow: statistics of the sampled route, the sampled tangent process, simulation


@pytest.mark.slow
def test_sampling_error_scales_as_inverse_sqrt_samples():
    ex = gated_dmft(3.0, alpha_r=5.0, lyapunov=False, tau_max=40.0)
    rms = {}
    for m in (500, 8000):
        errs = []
        for seed in range(4):
            o = sample_correlations(
                ex.tau, ex.c_phi, g_h=3.0, alpha_r=5.0, n_samples=m, window=60.0, burn_in=20.0, seed=seed
            )
            errs.append(np.mean((o["c_phi"] - ex.c_phi) ** 2))
        rms[m] = math.sqrt(np.mean(errs))
    ratio = rms[500] / rms[8000]  # 1/sqrt(M): 4
    assert 2.5 < ratio < 6.0, rms


@pytest.mark.slow
def test_sampled_solver_matches_gaussian_route():
    exact = gated_dmft(3.0, alpha_r=5.0, lyapunov=False)
    samp = gated_dmft(
        3.0, alpha_r=5.0, method="sampled", n_samples=4000, window=60.0, burn_in=20.0,
        tau_max=40.0, lyapunov=False, seed=1, tol=1e-6,
    )  # fmt: skip
    assert samp.status in ("success", "warning"), samp.message
    ref = np.interp(samp.tau, exact.tau, exact.c_h)
    assert samp.residual_fresh < 0.02
    assert np.max(np.abs(samp.c_h - ref)) / exact.c_h0 < 0.05


@pytest.mark.slow
def test_sampled_tangent_matches_eigenproblem():
    # alpha_z = 0: the sampled tangent process and the two-replica eigenproblem on the same C_h
    kw = dict(method="sampled", n_samples=3000, window=80.0, burn_in=30.0, tau_max=50.0, tol=1e-6)
    eig = gated_dmft(3.0, alpha_r=5.0, lyapunov_method="eigen", **kw)
    smp = gated_dmft(3.0, alpha_r=5.0, lyapunov_method="sampled", **kw)
    assert abs(eig.lambda_max - smp.lambda_max) < 0.01, (eig.lambda_max, smp.lambda_max)


def test_cli_dmft_and_gradients(tmp_path):
    import json

    from typer.testing import CliRunner

    from rnndyn.cli import app

    runner = CliRunner()
    res = runner.invoke(app, ["meanfield", "gated_flow", "--dmft", "--g-h", "1.5", "--alpha-r", "2",
                              "--json", str(tmp_path / "d.json")])  # fmt: skip
    assert res.exit_code == 0, res.output
    d = json.loads((tmp_path / "d.json").read_text())
    assert d["lambda_max"] == pytest.approx(-0.125) and d["zero_fixed_point"] is True
    res = runner.invoke(app, ["meanfield", "gradients", "--rho", "1.5", "--law", "binary_gate",
                              "--json", str(tmp_path / "g.json")])  # fmt: skip
    assert res.exit_code == 0, res.output
    assert json.loads((tmp_path / "g.json").read_text())["limit"] == pytest.approx(2.0)
    res = runner.invoke(app, ["meanfield", "gated_flow", "--dmft", "--g-h", "-1"])
    assert res.exit_code == 2 and "`--g-h`" in res.output


def _simulate_gated_flow(
    g_h, alpha_z, alpha_r, *, n, seed, t_transient=150.0, t_measure=250.0, dt=0.1, return_corr=False
):
    """Finite-N gated flow (rd.GatedRateRNN's weights), RK4; lambda_max by two-trajectory
    renormalisation of the full (h, z, r) separation every time unit; <h^2> after the transient."""
    import torch

    import rnndyn as rd

    gen = torch.Generator().manual_seed(seed)
    net = rd.GatedRateRNN(n, g_h=g_h, alpha_z=alpha_z, alpha_r=alpha_r, generator=gen, dtype=torch.float64)
    wh = net.weight_hh.detach()
    wzr = torch.cat([net.weight_hz.detach(), net.weight_hr.detach()], 0)

    def f(x):
        h, z, r = x[:, :n], x[:, n : 2 * n], x[:, 2 * n :]
        phi = torch.tanh(h)
        u_zr = phi @ wzr.T
        return torch.cat(
            [torch.sigmoid(z) * (-h + (phi * torch.sigmoid(r)) @ wh.T), -z + u_zr[:, :n], -r + u_zr[:, n:]], 1
        )

    x0 = torch.randn(3 * n, generator=gen, dtype=torch.float64)
    d = torch.randn(3 * n, generator=gen, dtype=torch.float64)
    d0 = 1e-7
    x = torch.stack([x0, x0 + d0 * d / d.norm()])
    n_tr, n_ms, unit = int(t_transient / dt), int(t_measure / dt), int(round(1 / dt))
    logs, h2, hs = [], [], []
    for k in range(n_tr + n_ms):
        k1 = f(x)
        k2 = f(x + 0.5 * dt * k1)
        k3 = f(x + 0.5 * dt * k2)
        x = x + dt / 6 * (k1 + 2 * k2 + 2 * k3 + f(x + dt * k3))
        if (k + 1) % unit == 0:
            sep = x[1] - x[0]
            dist = float(sep.norm())
            if k >= n_tr:
                logs.append(math.log(dist / d0))
                h2.append(float((x[0, :n] ** 2).mean()))
                hs.append(x[0, :n].clone())
            x[1] = x[0] + sep * (d0 / dist)
    if return_corr:
        h = torch.stack(hs).numpy()  # one sample per time unit
        return float(np.mean(logs)), [float(np.mean(h[: h.shape[0] - m] * h[m:])) for m in (0, 1, 2, 5)]
    return float(np.mean(logs)), float(np.mean(h2))


@pytest.mark.slow
def test_correlation_function_against_network():
    # N = 1000 gated flow at (g_h, alpha_z, alpha_r) = (3, 0, 5): C_h(0), C_h(1), C_h(2), C_h(5)
    # measured 1.265, 1.234, 1.145, 0.738 vs DMFT 1.280, 1.248, 1.158, 0.741 (docs/meanfield.md)
    r = gated_dmft(3.0, alpha_r=5.0)
    lam, corr = _simulate_gated_flow(
        3.0, 0.0, 5.0, n=1000, seed=0, t_transient=200.0, t_measure=150.0, return_corr=True
    )
    for lag, c in zip((0, 1, 2, 5), corr, strict=True):
        assert abs(c - np.interp(lag, r.tau, r.c_h)) / r.c_h0 < 0.05, (lag, c)
    assert abs(lam - r.lambda_max) / r.lambda_max < 0.15


@pytest.mark.slow
def test_region3_chaos_against_simulation():
    # alpha_r = 20, g_h = 1.95 < 2: DMFT chaos (lambda 0.145, C_h(0) 0.222) where the zero FP is stable
    r = gated_dmft(1.95, alpha_r=20.0)
    lam, h2 = _simulate_gated_flow(1.95, 0.0, 20.0, n=800, seed=0)
    assert abs(lam - r.lambda_max) < 0.03, (lam, r.lambda_max)
    assert abs(h2 - r.c_h0) / r.c_h0 < 0.35, (h2, r.c_h0)
    # below the DMFT onset the network decays at the zero-FP rate -1/2 + g_h/4
    lam, h2 = _simulate_gated_flow(1.5, 0.0, 20.0, n=400, seed=0, t_transient=100.0, t_measure=100.0)
    assert abs(lam - (-0.125)) < 0.02 and h2 < 1e-6


@pytest.mark.slow
def test_dmft_regions_two_and_three_at_large_alpha_r():
    from rnndyn.meanfield.dmft import dmft_region_point

    # alpha_r = 20: FP bifurcation g* = 1.628 < 1.7 < DMFT onset g_c = 1.757 < 1.9 < 2
    assert dmft_region_point("gated_flow", 1.7, 20.0, 0.0, 0.5)["region"] == 2
    out = dmft_region_point("gated_flow", 1.9, 20.0, 0.0, 0.5)
    assert out["region"] == 3 and out["chaotic"] == 1.0 and out["lambda_max"] > 0.05
    with pytest.raises(ValueError, match="model"):
        dmft_region_point("gru", 1.9, 20.0, 0.0, 0.5)


@pytest.mark.slow
def test_chaos_onset_line_continuous_and_discontinuous():
    # ~20 s CPU (50 s on a loaded machine). alpha_r = 0: the exact map to SCS (g = g_h / 2) puts the onset at g_h = 2, continuous.
    # alpha_r = 20: the onset lies between the mean-field FP bifurcation g* = 1.628 and the zero-FP
    # line 2, and within what N = 500 networks show (decay at g_h = 1.7, chaos with lambda ~ 0.1 at
    # 1.95: test_meanfield.py::test_gated_flow_discontinuous_transition_overlay; docs/theory/gated.md
    # §6.3 item 1, g_c ~ 1.8 +- 0.05 for N ~ 10^3), with a finite lambda_max there (the jump).
    # Measured (dt = 0.4, tau_max = 40): g_c = 1.7556, lambda at onset 0.098, C_h(0) 0.034.
    from rnndyn.meanfield import bifurcation_gain, chaos_onset

    zero = chaos_onset(0.0, dt=0.4, tau_max=40.0)
    assert zero.status == "success" and zero.g_c == 2.0 and not zero.discontinuous
    r = chaos_onset(20.0, tol=0.02, dt=0.4, tau_max=40.0)
    assert r.status == "success" and r.discontinuous, r.message
    lo, hi = r.bracket
    assert lo <= r.g_c <= hi and hi - lo <= 0.02
    assert bifurcation_gain(20.0) < lo and hi < 2.0
    assert 1.7 < r.g_c < 1.95
    assert 0.05 < r.lambda_at_onset < 0.2 and r.c_h0_at_onset > 0.0
    # the bracket is what the stationary DMFT says at its two ends
    assert gated_dmft(lo, alpha_r=20.0, lyapunov=False, dt=0.4, tau_max=40.0).zero_fixed_point
    assert not gated_dmft(hi, alpha_r=20.0, lyapunov=False, dt=0.4, tau_max=40.0).zero_fixed_point


def test_chaos_onset_bad_input_names_the_argument():
    from rnndyn.meanfield import chaos_onset

    with pytest.raises(ValueError, match="alpha_r"):
        chaos_onset(-1.0)
    with pytest.raises(ValueError, match="g_min"):
        chaos_onset(5.0, g_min=2.5)
    with pytest.raises(ValueError, match="tol"):
        chaos_onset(5.0, tol=0.0)


def test_chaos_onset_and_region_rule_on_a_solver_with_a_known_threshold(monkeypatch):
    # the bisection, the bracket's meaning and the region rule, against a stand-in DMFT whose chaotic
    # solution exists exactly for g_h >= g_c (the real solves are the slow test above)
    from types import SimpleNamespace

    import rnndyn.meanfield.dmft as dm

    g_c = {"value": 1.8317}

    def fake(g, **_kw):
        chaotic = g >= g_c["value"]
        return SimpleNamespace(
            zero_fixed_point=not chaotic, c_h0=g - g_c["value"] if chaotic else 0.0, relaxation_time=1.0,
            lambda_max=0.1 if chaotic else -0.5 + g / 4, status="success", message="",
            tau=np.arange(3.0), c_h=np.zeros(3), c_r=np.zeros(3),
        )  # fmt: skip

    monkeypatch.setattr(dm, "gated_dmft", fake)
    # the exponent is evaluated on the chaotic end of the bracket: the stand-in returns the gain it got
    monkeypatch.setattr(dm, "gaussian_lyapunov", lambda tau, c_h, c_r, *, g_h, alpha_r: g_h)
    r = dm.chaos_onset(20.0, tol=1e-3)
    lo, hi = r.bracket
    assert lo < g_c["value"] <= hi and hi - lo <= 1e-3 and abs(r.g_c - g_c["value"]) <= 1e-3
    assert r.status == "success" and r.discontinuous
    assert r.lambda_at_onset == hi and r.c_h0_at_onset == pytest.approx(hi - g_c["value"])
    g_c["value"] = 2.5  # no chaotic solution below g_h = 2: the continuous transition at 2
    r = dm.chaos_onset(0.0)
    assert r.g_c == 2.0 and not r.discontinuous
    # dmft_region_point: below 2, 3 if chaotic, else 2 with nonzero FPs (g* = 1.628 at alpha_r = 20),
    # else 1; above 2, 5 iff a FP has 1 < rho < 1/(1 - theta) (rho = 1.363 at g_h = 4, alpha_r = 0)
    g_c["value"] = 1.8317
    assert [dm.dmft_region_point("gated_flow", g, 20.0, 0.0, 0.5)["region"] for g in (1.9, 1.7, 1.5)] == [
        3,
        2,
        1,
    ]
    assert dm.dmft_region_point("gated_flow", 4.0, 0.0, 0.0, 0.5)["region"] == 5
    assert dm.dmft_region_point("gated_flow", 4.0, 0.0, 0.0, 0.25)["region"] == 4
    assert (
        dm.dmft_phase_point(1.9, 20.0)["zero_fp_stable"]
        and not dm.dmft_phase_point(2.2, 20.0)["zero_fp_stable"]
    )


def test_phase_diagram_with_dmft_theory(region3, monkeypatch):
    import rnndyn.meanfield.dmft as dmft_module
    from rnndyn.phases import phase_diagram

    # the (1.9, 20) point's DMFT is the one region3 solved (same arguments, deterministic): reuse it
    reused = []

    def solve(g_h, **kw):
        if (g_h, kw) == (1.9, {"alpha_r": 20.0, "alpha_z": 0.0, "n_samples": 2000}):
            reused.append(g_h)
            return region3
        return gated_dmft(g_h, **kw)

    monkeypatch.setattr(dmft_module, "gated_dmft", solve)
    ds = phase_diagram("gated_flow", g_h=[1.9], alpha_r=[0.0, 20.0], theory="dmft")
    assert reused == [1.9]
    assert ds.region.values.tolist() == [[1, 3]]  # alpha_r = 20: region 3 (chaos beside the stable FP)
    assert ds.lambda_max.values[0, 0] == pytest.approx(-0.025) and ds.lambda_max.values[0, 1] > 0.05
    assert ds.attrs["theory_name"] == "dmft"


def _small_sampler(alpha_z: float, alpha_r: float = 0.0, m: int = 64):
    import torch

    from rnndyn.meanfield._numerics import Grid
    from rnndyn.meanfield.dmft import _Sampler

    grid = Grid(0.1, 5.0)
    smp = _Sampler(
        grid, g_h=3.0, alpha_z=alpha_z, alpha_r=alpha_r, n_samples=m, burn_in=3.0, window=20.0, seed=3,
        device=torch.device("cpu"), chunk=m, degree=24,
    )  # fmt: skip
    c_phi = 0.5 * np.exp(-grid.tau / 2.0)
    return grid, smp, c_phi


@pytest.mark.parametrize("alpha_z", [0.0, 4.0])
def test_heun_scan_equals_the_step_by_step_loop(alpha_z):
    # the blocked linear scan of the (linear-in-h) Heun step against the plain Heun loop
    grid, smp, c_phi = _small_sampler(alpha_z)
    eta, z = smp._forward_noise(smp._spectra(c_phi), smp.M, 0, 0)
    fast = smp._integrate(eta, z, 3.0, grid.dt).numpy()
    ref = smp._integrate_stepwise(eta, z, 3.0, grid.dt).numpy()
    assert fast.shape == (smp.n_win, smp.M)
    assert np.max(np.abs(fast - ref)) < 1e-12 * np.max(np.abs(ref))


def test_tangent_scan_equals_the_joint_heun_loop():
    # tangent u_h of the sampled lambda route against Heun on (h, u_h) jointly, step by step
    import torch

    grid, smp, c_phi = _small_sampler(4.0, alpha_r=2.0)
    dt, g, lam = grid.dt, 3.0, 0.07
    eta, z = smp._forward_noise(smp._spectra(c_phi), smp.M, 0, 0)
    gen = torch.Generator().manual_seed(5)
    zeta, uz = (
        torch.randn(eta.shape, generator=gen, dtype=torch.float64),
        torch.randn(eta.shape, generator=gen, dtype=torch.float64),
    )
    fast = smp._integrate_tangent(eta, z, zeta, uz, g, dt, lam).numpy()
    s = torch.sigmoid(z)
    ds = s * (1 - s)

    def rhs(k, h, u):
        xi = g * eta[k] - h
        return s[k] * xi, s[k] * (g * zeta[k] - u) - lam * u + ds[k] * xi * uz[k]

    h = g * eta[0]  # the sampler's start h(0) = g eta(0)
    u = torch.zeros_like(h)
    ref = []
    for k in range(smp.n_t):
        if k >= smp.n_burn:
            ref.append(((1 - torch.tanh(h) ** 2) * u).numpy())
        if k == smp.n_t - 1:
            break
        a1, b1 = rhs(k, h, u)
        a2, b2 = rhs(k + 1, h + dt * a1, u + dt * b1)
        h, u = h + 0.5 * dt * (a1 + a2), u + 0.5 * dt * (b1 + b2)
    ref = np.stack(ref)
    assert np.max(np.abs(fast - ref)) < 1e-11 * np.max(np.abs(ref))


def test_unresolved_lag_window_is_not_converged():
    # alpha_z = 10: the update gate holds sites closed for times beyond any short window; the
    # truncated correlation is not a covariance (embedding clipped) and C_h has not decayed at
    # tau_max -> not_converged with the failing check named, finite numbers. max_iter = 20 (was 40,
    # 2.4 s -> 1.0 s): the residual is 1.4e-7 < tol = 1e-6 by then, the same checks fail
    r = gated_dmft(
        4.0, alpha_z=10.0, n_samples=128, tau_max=20.0, window=40.0, burn_in=10.0, dt=0.2, lyapunov=False,
        max_iter=20,
    )  # fmt: skip
    assert r.status == "not_converged" and "not resolved on the lag window" in r.message
    failed = {c.name for c in r.checks if not c.passed}
    assert "lag_window_resolves" in failed and "residual" not in failed
    assert np.all(np.isfinite(r.c_h)) and r.c_z0 > 10.0


@pytest.mark.slow
@pytest.mark.parametrize(
    ("g_h", "alpha_r", "tol_c", "tol_lam"), [(3.0, 5.0, 0.05, 0.01), (1.9, 20.0, 0.10, 0.01)]
)
def test_correlation_function_against_n2000_network(g_h, alpha_r, tol_c, tol_lam):
    # N = 2000 (docs/meanfield.md, "C_h(tau) against N = 2000 networks"): benchmarks/dmft_vs_simulation.py
    # measured C_h within 3.0 % / 6.5 % of C_h(0) at lags 0-20 and lambda within 0.003 / 0.002
    r = gated_dmft(g_h, alpha_r=alpha_r)
    lam, corr = _simulate_gated_flow(
        g_h, 0.0, alpha_r, n=2000, seed=0, t_transient=200.0, t_measure=200.0, return_corr=True
    )
    for lag, c in zip((0, 1, 2, 5), corr, strict=True):
        assert abs(c - np.interp(lag, r.tau, r.c_h)) / r.c_h0 < tol_c, (lag, c)
    assert abs(lam - r.lambda_max) < tol_lam, (lam, r.lambda_max)


@pytest.mark.parametrize("ratio", [0.5, 0.95])
def test_joint_perron_root_on_a_known_operator(ratio):
    # the (Q, lambda) root of the sampled lambda_max on T_lambda(q) = exp(-3 lambda) A q with a
    # positive symmetric A of known Perron root rho: lambda = ln(rho) / 3, whatever the gap of A
    # (second eigenvalue `ratio` rho; a power iteration at ratio 0.95 would need ~100 maps)
    from rnndyn.meanfield._numerics import perron_root

    n = 40
    x = np.linspace(0.0, 1.0, n)
    v1 = np.exp(-x)
    v1 /= np.linalg.norm(v1)
    v2 = np.cos(np.pi * x) - (np.cos(np.pi * x) @ v1) * v1
    v2 /= np.linalg.norm(v2)
    a = 1.3 * np.outer(v1, v1) + ratio * 1.3 * np.outer(v2, v2) + 0.05 * np.eye(n)
    rho = float(np.linalg.eigvalsh(a)[-1])
    calls = []

    def tangent(q, lam):
        calls.append(lam)
        return math.exp(-3.0 * lam) * (a @ q)

    lam, ok, maps = perron_root(tangent, np.ones(n), tol=1e-8, tol_q=1e-8)
    assert ok and maps == len(calls) and maps < 30
    assert lam == pytest.approx(math.log(rho) / 3.0, abs=1e-8)


def test_perron_eigenpair_is_exact_and_reproducible():
    # ARPACK's largest-real-part eigenpair of a positive non-symmetric matrix against LAPACK's, and
    # the same bits on a second call: without a start vector it starts from ones, not from SciPy's
    # random start drawn from OS entropy (which made the Gaussian-route lambda_max differ by ~1e-16
    # between calls)
    from rnndyn.meanfield._numerics import perron

    rng = np.random.default_rng(0)
    a = rng.uniform(0.0, 1.0, size=(60, 60))
    ev, vecs = np.linalg.eig(a)
    i = int(np.argmax(ev.real))
    ref = np.real(vecs[:, i] / vecs[np.argmax(np.abs(vecs[:, i])), i])
    mu, v = perron(lambda x: a @ x, 60, None)
    assert mu == pytest.approx(float(ev[i].real), rel=1e-12)
    assert np.max(np.abs(v - ref)) < 1e-9
    mu2, v2 = perron(lambda x: a @ x, 60, None)
    assert mu2 == mu and np.array_equal(v2, v)


def test_anderson_collapses_only_when_the_map_stays_below_the_floor():
    # a start below the zero floor whose image is above it is growing, not collapsing:
    # x -> 1000 x / (1 + x_0) from 1e-8 reaches its fixed point 999; x -> x / 2 collapses onto 0
    from rnndyn.meanfield._numerics import anderson

    blocks = (slice(0, 4),)
    x, res, _ = anderson(
        lambda x: 1000.0 * x / (1.0 + x[0]), np.full(4, 1e-8), tol=1e-12, max_iter=100, blocks=blocks
    )
    np.testing.assert_allclose(x, 999.0, rtol=1e-10)
    assert res < 1e-12
    x, res, _ = anderson(lambda x: 0.5 * x, np.full(4, 1e-3), tol=1e-12, max_iter=100, blocks=blocks)
    assert np.all(x == 0.0) and res == 0.0


def test_lag_table_covers_negative_covariances():
    # the two-time table on a lag grid is the bivariate Gaussian integral also where C(tau) < 0
    # (anti-correlated lags: C_tanh is odd there), not the value at C = 0
    from rnndyn.meanfield._numerics import table
    from rnndyn.meanfield.quadrature import gaussian_correlation

    c = np.array([2.0, 1.0, -0.5, -1.5])
    np.testing.assert_allclose(table(np.tanh, c, 40), gaussian_correlation(np.tanh, 2.0, c), rtol=1e-9)


def test_perron_power_iteration_fallback(monkeypatch):
    # when ARPACK fails, the power iteration gives the same Perron pair (positive matrix, LAPACK reference)
    from rnndyn.meanfield import _numerics

    def boom(*_a, **_k):
        raise RuntimeError("ARPACK did not converge")

    monkeypatch.setattr(_numerics, "eigs", boom)
    a = np.random.default_rng(0).uniform(0.0, 1.0, size=(30, 30))
    mu_ref = float(np.linalg.eigvals(a).real.max())
    mu, v = _numerics.perron(lambda x: a @ x, 30, 2.0 * np.ones(30))
    assert mu == pytest.approx(mu_ref, rel=1e-10)
    assert np.max(np.abs(a @ v - mu * v)) < 1e-9 * mu and np.max(np.abs(v)) == pytest.approx(1.0)


def test_collapse_onto_an_unstable_zero_solution_is_not_success():
    # a tiny start collapses onto C_h = 0 at g_h = 2.05, where the zero solution's exponent
    # -1/2 + g_h/4 = 0.0125 > 0 (KCS22 zero-FP spectrum: centre -1/2, radius g_h/4): the iteration
    # did not find the stationary solution, so it may not say 'success: the activity decays'
    r = gated_dmft(2.05, alpha_z=1.0, n_samples=50, initial_amplitude=1e-6, max_iter=60)
    assert r.zero_fixed_point and r.status == "not_converged"
    chk = r.check("zero_solution_stable")
    assert not chk.passed and chk.value == pytest.approx(-0.5 + 2.05 / 4, abs=1e-15)
    assert "unstable" in r.message and "activity decays" not in r.message
    # below g_h = 2 the zero solution is the stable answer
    ok = gated_dmft(1.5, alpha_z=1.0, n_samples=50, max_iter=60)
    assert ok.zero_fixed_point and ok.status == "success" and ok.check("zero_solution_stable").passed
    assert ok.lambda_max == pytest.approx(-0.125, abs=1e-15)

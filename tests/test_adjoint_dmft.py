"""Oracle tests of the adjoint DMFT of the gated flow (rnndyn.meanfield.adjoint).

Oracles: the zero fixed point, where the adjoint is linear with the known Jacobian and
C_mu(u, u') = e^{-(u+u')/2} I_0(g_h sqrt(u u') / 2) (Ginibre moments), against both routes and
against matrix exponentials of a sampled random matrix; the growth rate of the adjoint norm
against the forward DMFT's lambda_max (the two-replica eigenproblem, an independent solver); the
sampled route against the exact Gaussian route; the 1/sqrt(M) sampling error; and (slow)
backpropagation through time in N = 1000 networks.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy.special import i0

from rnndyn.meanfield.adjoint import AdjointGradientResult, adjoint_gradient_norms


@pytest.fixture(scope="module")
def chaotic_forward(gated_dmft_3_5):
    """The forward DMFT at g_h = 3, alpha_r = 5 (chaotic, lambda_max = 0.132), solved once per run
    (conftest.py, shared with test_gated_dmft) on lags [0, 40]: the default lag window [0, 100]
    gives the same adjoint growth rate to 2e-7 (0.1324594 vs 0.1324592, horizon 20)."""
    return gated_dmft_3_5


def _bessel(g_h: float, u: np.ndarray) -> np.ndarray:
    return np.exp(-u) * i0(0.5 * g_h * u)


@pytest.mark.parametrize(("g_h", "alpha_r"), [(1.5, 0.0), pytest.param(1.7, 10.0, marks=pytest.mark.slow)])
def test_zero_fixed_point_gaussian_route_is_bessel(g_h, alpha_r):
    r = adjoint_gradient_norms(g_h, alpha_r=alpha_r, alpha_z=0.0, horizon=12.0)
    assert r.forward.zero_fixed_point
    u = r.horizon
    assert np.max(np.abs(r.state_norm / _bessel(g_h, u) - 1.0)) < 2e-3
    # off the diagonal too: C(u, u') = e^{-(u+u')/2} I_0(g_h sqrt(u u') / 2)
    uu = np.sqrt(np.outer(u, u))
    ref = np.exp(-0.5 * (u[:, None] + u[None, :])) * i0(0.5 * g_h * uu)
    assert np.max(np.abs(r.c_lambda - ref) / ref) < 2e-3
    # phi(0) = 0: no weight gradient at the zero fixed point
    assert np.all(r.norm_j_h == 0.0) and np.all(r.norm_j_r == 0.0)
    assert r.status == "success"


def test_zero_fixed_point_against_random_matrix_exponentials():
    # finite-N linear theory: mu(u) = exp(u D_hh^T) v with D_hh = (1/2)(-1 + (g_h/2) J) at h = 0
    import torch

    g_h, n, u_max = 1.8, 600, 6.0
    gen = torch.Generator().manual_seed(3)
    J = torch.randn(n, n, generator=gen, dtype=torch.float64) / math.sqrt(n)
    A = 0.5 * (-torch.eye(n, dtype=torch.float64) + 0.5 * g_h * J.T)
    us = np.array([1.0, 3.0, 6.0])
    e1 = torch.linalg.matrix_exp(A)  # e^{3A} = (e^A)^3, e^{6A} = (e^{3A})^2: one exponential, not three
    e3 = e1 @ e1 @ e1
    meas = [float(e.pow(2).sum() / n) for e in (e1, e3, e3 @ e3)]  # (1/N) tr e^{uA} e^{uA^T}, u in us
    r = adjoint_gradient_norms(g_h, horizon=u_max)
    pred = np.interp(us, r.horizon, r.state_norm)
    # finite-N scatter of this trace at N = 600: 1-3 % (three seeds measured)
    assert np.allclose(meas, pred, rtol=0.04), (meas, pred)
    assert np.allclose(pred, _bessel(g_h, us), rtol=2e-3)


@pytest.mark.parametrize(("alpha_z", "alpha_r"), [(0.0, 0.0), pytest.param(2.0, 2.0, marks=pytest.mark.slow)])
def test_zero_fixed_point_sampled_route(alpha_z, alpha_r):
    r = adjoint_gradient_norms(
        1.5, alpha_z=alpha_z, alpha_r=alpha_r, horizon=6.0, method="sampled", n_samples=3000, seed=1,
        forward_samples=64,
    )  # fmt: skip
    assert r.method == "sampled" and r.forward.zero_fixed_point
    err = np.abs(r.state_norm / _bessel(1.5, r.horizon) - 1.0)
    assert np.max(err) < 0.08, np.max(err)
    assert np.all(r.norm_j_h == 0.0) and np.all(r.norm_j_z == 0.0)


def test_adjoint_growth_equals_forward_lambda_max(chaotic_forward):
    # the adjoint kernel equations are the transpose of the two-replica tangent problem of
    # docs/theory/gated.md §4.8: same Perron root, so N|dF/dh(0)|^2 grows as e^{2 lambda_max T}
    r = adjoint_gradient_norms(3.0, alpha_r=5.0, horizon=20.0, forward=chaotic_forward)
    assert r.method == "gaussian" and not r.forward.zero_fixed_point
    assert abs(r.growth_rate - r.lambda_max) < 3e-3, (r.growth_rate, r.lambda_max)
    assert r.check("growth_vs_lambda_max").passed
    # the norms grow with T and the J^r gradient is there because alpha_r > 0
    assert np.all(np.diff(r.norm_j_h[1:]) > 0) and r.at(10.0)["norm_j_r"] > 1.0
    assert r.at(10.0)["norm_j_z"] == 0.0  # alpha_z = 0: dF/dJ^z = alpha_z dF/dW^z = 0


def test_sampled_route_matches_gaussian_route_short_horizon(chaotic_forward):
    g = adjoint_gradient_norms(3.0, alpha_r=5.0, horizon=3.0, forward=chaotic_forward)
    s = adjoint_gradient_norms(3.0, alpha_r=5.0, horizon=3.0, method="sampled", n_samples=1500,
                               forward=chaotic_forward, replicas=4)  # fmt: skip
    for k in ("h", "r"):
        a, b, se = (
            g.at(3.0)[f"norm_w_{k}"],
            s.at(3.0)[f"norm_w_{k}"],
            float(getattr(s, f"stderr_w_{k}")[-1]),
        )
        assert np.isfinite(se) and se < 0.1 * a
        assert abs(a - b) < 4.0 * se + 0.03 * a, (k, a, b, se)
    assert abs(s.state_norm[-1] / g.state_norm[-1] - 1.0) < 0.08
    assert (
        s.norm_w_z[-1] > 0 and s.norm_j_z[-1] == 0.0
    )  # W^z gets a gradient; J^z = W^z / alpha_z, alpha_z = 0


def test_square_integrals_and_growth_fit_exact_cases():
    # the trapezoid rule over [0, u_k]^2 is exact for f = 1 (u_k^2) and for f = u u' ((u_k^2 / 2)^2)
    from rnndyn.meanfield.adjoint import _growth_rate, _square_integrals

    dt, n = 0.1, 30
    u = np.arange(n) * dt
    np.testing.assert_allclose(_square_integrals(np.ones((n, n)), dt), u**2, rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(_square_integrals(np.outer(u, u), dt), (u**2 / 2) ** 2, rtol=1e-12, atol=1e-15)
    # the growth rate of sqrt(norm) is fitted on the last quarter of the horizons, past the transient:
    # norm = e^{0.2 T} (1 + 5 e^{-T / 2}) on T in [0, 40] gives 0.1 (the transient is 2e-6 there)
    hor = np.linspace(0.0, 40.0, 81)
    assert _growth_rate(hor, np.exp(0.2 * hor) * (1 + 5 * np.exp(-hor / 2))) == pytest.approx(0.1, abs=1e-6)


@pytest.mark.parametrize(
    ("kwargs", "name"),
    [
        ({"g_h": -1.0}, "g_h"),
        ({"g_h": 3.0, "alpha_z": -0.1}, "alpha_z"),
        ({"g_h": 3.0, "alpha_r": -2.0}, "alpha_r"),
        ({"g_h": 3.0, "horizon": 0.0}, "horizon"),
        ({"g_h": 3.0, "horizon": -5.0}, "horizon"),
        ({"g_h": 3.0, "loss": "mse"}, "loss"),
        ({"g_h": 3.0, "method": "exact"}, "method"),
        ({"g_h": 3.0, "alpha_z": 1.0, "method": "gaussian"}, "method"),
    ],
)
def test_bad_input_names_the_argument(kwargs, name):
    g_h = kwargs.pop("g_h")
    with pytest.raises(ValueError, match=name):
        adjoint_gradient_norms(g_h, **kwargs)


def test_forward_at_other_parameters_is_rejected(chaotic_forward):
    with pytest.raises(ValueError, match="forward"):
        adjoint_gradient_norms(3.1, alpha_r=5.0, horizon=2.0, forward=chaotic_forward)
    with pytest.raises(ValueError, match="forward"):
        adjoint_gradient_norms(3.0, alpha_r=5.0, horizon=2.0, dt=0.05, forward=chaotic_forward)


def test_result_serialises(chaotic_forward):
    r = adjoint_gradient_norms(3.0, alpha_r=5.0, horizon=2.0, forward=chaotic_forward)
    assert isinstance(r, AdjointGradientResult)
    d = r.to_dict()
    assert "c_lambda" not in d and len(d["norm_j_h"]) == r.horizon.size
    assert d["norm_w_z"][0] is None and "norm_w_z" in d["non_finite"]  # not computed (Gaussian route)


# ---------------------------------------------------------------------------------------- slow


@pytest.mark.slow
def test_sampled_route_error_falls_as_inverse_sqrt_samples():
    g = adjoint_gradient_norms(3.0, alpha_r=5.0, horizon=5.0)
    errs = {}
    for m in (500, 8000):
        e = [
            adjoint_gradient_norms(3.0, alpha_r=5.0, horizon=5.0, method="sampled", n_samples=m, seed=s,
                                   forward=g.forward).norm_j_h[-1] - g.norm_j_h[-1]
            for s in range(6)
        ]  # fmt: skip
        errs[m] = math.sqrt(np.mean(np.square(e)))
    ratio = errs[500] / errs[8000]
    assert 2.0 < ratio < 8.0, (errs, ratio)  # expected 4


@pytest.mark.slow
def test_sampled_route_matches_gaussian_route_long_horizon():
    g = adjoint_gradient_norms(3.0, alpha_r=5.0, horizon=10.0)
    s = adjoint_gradient_norms(3.0, alpha_r=5.0, horizon=10.0, method="sampled", n_samples=8000, replicas=3,
                               forward=g.forward)  # fmt: skip
    for k in ("norm_j_h", "norm_j_r", "state_norm"):
        a, b = g.at(10.0)[k], s.at(10.0)[k]
        assert abs(a - b) / a < 0.1, (k, a, b)


def _bptt_norms(g_h, alpha_z, alpha_r, *, n, seed, T, dt=0.1, transient=150.0):  # noqa: ANN001, ANN202
    import torch

    import rnndyn as rd

    gen = torch.Generator().manual_seed(seed)
    net = rd.GatedRateRNN(n, g_h=g_h, alpha_z=alpha_z, alpha_r=alpha_r, generator=gen, dtype=torch.float64)

    step = rd.discretise(net, dt=dt, method="rk4").step  # differentiable in the weights

    x = torch.randn(3 * n, generator=gen, dtype=torch.float64)
    with torch.no_grad():
        for _ in range(int(round(transient / dt))):
            x = step(x)
    x = x.detach()
    for _ in range(int(round(T / dt))):
        x = step(x)
    v = torch.randn(n, generator=gen, dtype=torch.float64)
    loss = (v * x[:n]).sum() / n
    gh, gz, gr = torch.autograd.grad(loss, [net.weight_hh, net.weight_hz, net.weight_hr])
    return (
        g_h**2 * float(gh.pow(2).sum()),
        alpha_z**2 * float(gz.pow(2).sum()),
        alpha_r**2 * float(gr.pow(2).sum()),
    )


@pytest.mark.slow
@pytest.mark.parametrize(("g_h", "alpha_z", "alpha_r", "T"), [(3.0, 0.0, 5.0, 5.0), (3.0, 2.0, 2.0, 5.0)])
def test_predicted_norms_against_backpropagation(g_h, alpha_z, alpha_r, T):
    r = adjoint_gradient_norms(g_h, alpha_z=alpha_z, alpha_r=alpha_r, horizon=T, n_samples=8000)
    sims = np.array([_bptt_norms(g_h, alpha_z, alpha_r, n=1000, seed=s, T=T) for s in range(3)])
    mean, se = sims.mean(0), sims.std(0, ddof=1) / math.sqrt(len(sims))
    pred = r.at(T)
    # network-to-network (and readout) scatter is 5-25 % per network for these norms, so the
    # tolerance is statistical: 3 standard errors of the 3-network mean plus 10 %
    for i, k in enumerate(("norm_j_h", "norm_j_z", "norm_j_r")):
        if pred[k] > 0:
            assert abs(mean[i] - pred[k]) < 3.0 * se[i] + 0.1 * pred[k], (k, mean[i], se[i], pred[k])


def test_cli_gradients_law_adjoint(tmp_path):
    import json

    from typer.testing import CliRunner

    from rnndyn.cli import app

    runner = CliRunner()
    js, figs = tmp_path / "a.json", tmp_path / "figs"
    res = runner.invoke(app, ["meanfield", "gradients", "--law", "adjoint", "--g-h", "1.5", "--horizon", "4",
                              "--json", str(js), "--out", str(figs)])  # fmt: skip
    assert res.exit_code == 0, res.output
    d = json.loads(js.read_text())
    assert d["method"] == "gaussian" and d["horizon"][-1] == pytest.approx(4.0)
    assert d["state_norm"][-1] == pytest.approx(float(_bessel(1.5, np.array([4.0]))[0]), rel=2e-3)
    assert list(figs.glob("adjoint_gradients_*.png"))
    bad = runner.invoke(app, ["meanfield", "gradients", "--law", "adjoint", "--horizon", "-1"])
    assert bad.exit_code == 2 and "horizon" in bad.output

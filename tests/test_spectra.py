"""Jacobian spectra (rnndyn.spectra): exact linear cases, cross-checks with numpy on autograd
Jacobians, batching, devices, the CLI and bad input."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

import rnndyn as rd
from rnndyn.models.base import AbstractMap
from rnndyn.spectra import eigen_spectrum, jacobian_spectrum, predicted_support, spectrum_summary

F64 = torch.float64


def _gen(seed: int) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


class LinearMap(AbstractMap):
    """h -> A h + B x (exact oracle: the Jacobian is A everywhere)."""

    def __init__(self, a: torch.Tensor, b: torch.Tensor | None = None) -> None:
        super().__init__()
        self.state_size = a.shape[0]
        self.input_size = 0 if b is None else b.shape[1]
        self.a = torch.nn.Parameter(a)
        self.b = None if b is None else torch.nn.Parameter(b)

    def _step(self, h, x):
        out = h @ self.a.T
        return out if x is None else out + x @ self.b.T

    def _jacobian(self, h, x):
        return self.a.expand(*h.shape[:-1], *self.a.shape)


def test_linear_map_exact_eigen_and_singular_values() -> None:
    a = torch.tensor([[0.5, 2.0, 0.0], [0.0, -0.9, 0.0], [0.0, 0.0, 0.98]], dtype=F64)
    res = jacobian_spectrum(
        LinearMap(a), states=torch.randn(4, 3, generator=_gen(0), dtype=F64), singular_values=True
    )
    assert res.eigenvalues.shape == (4, 3)
    torch.testing.assert_close(res.eigenvalues[2].real, torch.tensor([0.98, -0.9, 0.5], dtype=F64))
    assert torch.all(res.spectral_radius == 0.98)
    torch.testing.assert_close(res.slow_fraction, torch.full((4,), 1 / 3, dtype=F64))
    torch.testing.assert_close(res.singular_values[0], torch.linalg.svdvals(a))
    assert res.pooled.shape == (12,)


def test_cross_check_with_numpy_on_autograd_jacobians() -> None:
    net = rd.GRU(24, g_h=3.0, alpha_z=2.0, alpha_r=1.0, input_size=2, generator=_gen(1), dtype=F64)
    h = torch.randn(2, 3, 24, generator=_gen(2), dtype=F64)
    x = torch.randn(2, 3, 2, generator=_gen(3), dtype=F64)
    res = jacobian_spectrum(net, states=h, inputs=x)
    assert res.n_states == 6
    from rnndyn.jacobians import autograd_jacobian

    jac = autograd_jacobian(net._step, h, x).detach().reshape(6, 24, 24).numpy()
    for k in range(6):
        ref = np.sort_complex(np.linalg.eigvals(jac[k]))
        got = np.sort_complex(res.eigenvalues[k].numpy())
        np.testing.assert_allclose(got, ref, atol=1e-10)


def test_trajectory_sampling_with_constant_and_sequence_inputs() -> None:
    net = rd.VanillaRNN(30, g=1.5, input_size=2, generator=_gen(4), dtype=F64)
    x = torch.tensor([1.0, -0.5], dtype=F64)
    res = jacobian_spectrum(
        net, inputs=x, n_states=5, n_steps=40, n_transient=50, n_trajectories=2, generator=_gen(5)
    )
    assert res.n_states == 10 and res.at == "trajectory"
    assert torch.equal(res.inputs, x.expand(10, 2))
    seq = torch.randn(2, 100, 2, generator=_gen(6), dtype=F64)
    res2 = jacobian_spectrum(
        net, inputs=seq, n_states=4, n_steps=40, n_transient=50, n_trajectories=2, generator=_gen(7)
    )
    assert res2.n_states == 8
    # the Jacobian of each sampled state used the input of the step taken from it
    jac = net.jacobian(res2.states, res2.inputs).detach()
    torch.testing.assert_close(
        torch.linalg.eigvals(jac).abs().amax(-1), res2.spectral_radius, rtol=1e-12, atol=1e-12
    )


def test_at_fixed_points_subcritical_network() -> None:
    """g < 1: the only fixed point is 0, so the spectrum is that of W (radius ~ g)."""
    net = rd.VanillaRNN(40, g=0.5, generator=_gen(8), dtype=F64)
    res = jacobian_spectrum(net, at="fixed_points", generator=_gen(9))
    assert res.at == "fixed_points" and res.n_states == 1
    assert float(res.states.abs().max()) < 1e-12
    ref = np.sort_complex(np.linalg.eigvals(net.weight_hh.detach().numpy()))
    np.testing.assert_allclose(np.sort_complex(res.eigenvalues[0].numpy()), ref, atol=1e-10)


def test_flows_and_continuous_spectra() -> None:
    flow = rd.RateRNN(20, g=0.5, generator=_gen(10), dtype=F64)
    with pytest.raises(TypeError, match="discretise"):
        jacobian_spectrum(flow)
    res = jacobian_spectrum(flow, states=torch.zeros(1, 20, dtype=F64))
    assert res.continuous
    ref = np.linalg.eigvals(flow.weight_hh.detach().numpy()) - 1.0
    assert float(res.max_real[0]) == pytest.approx(ref.real.max(), abs=1e-10)
    fmap = rd.discretise(flow, dt=0.1, method="euler")
    r_map = jacobian_spectrum(fmap, states=torch.zeros(1, 20, dtype=F64))
    r_flow = jacobian_spectrum(fmap, states=torch.zeros(1, 20, dtype=F64), continuous=True)
    # Euler: mu = 1 + dt * lambda
    torch.testing.assert_close(
        torch.sort(r_map.eigenvalues[0].real).values, torch.sort(1 + 0.1 * r_flow.eigenvalues[0].real).values
    )


def test_theory_and_summary_and_json() -> None:
    net = rd.GRU(100, g_h=1.5, generator=_gen(11), dtype=F64)
    res = jacobian_spectrum(net, states=torch.zeros(2, 100, dtype=F64), theory=True)
    assert res.theory is not None and res.theory.model == "gru"
    # exact (Can, Krishnamurthy & Schwab 2020, arXiv:2002.00025, Cor. 4.3): at h = 0 with zero
    # biases the support is the disk centre 1 - sigma(0) = 1/2, radius g sigma(0)^2 = g / 4, and
    # rho = (g sigma(0))^2, with g the network's realised gain sqrt(N) ||W_h||_F / N
    from rnndyn.spectra import _frob_gain

    g = _frob_gain(net.weight_hh)
    assert abs(g - 1.5) < 0.05  # the realised gain is close to the nominal one
    t = res.theory
    assert (t.rightmost, t.leftmost, t.radius) == pytest.approx(
        (0.5 + g / 4, 0.5 - g / 4, 0.5 + g / 4), abs=1e-12
    )
    assert t.rho == pytest.approx((g / 2) ** 2, abs=1e-12)
    # and the finite-N spectrum is near it (N = 100 edge fluctuation: measured 0.859 against 0.875)
    assert float(res.spectral_radius[0]) == pytest.approx(t.radius, rel=0.04)
    rows = dict(spectrum_summary(res))
    assert rows["spectral shaping parameter rho"] == f"{(g / 2) ** 2:.4g}"
    payload = json.loads(json.dumps(res.to_dict()))
    assert payload["n_states"] == 2 and len(payload["eigenvalues"][0]) == 100
    assert predicted_support(rd.Henon().double(), torch.zeros(2, dtype=F64)) is None


def test_bad_input() -> None:
    net = rd.VanillaRNN(10, generator=_gen(12), dtype=F64)
    with pytest.raises(ValueError, match=r"\(\*batch, 10\)"):
        jacobian_spectrum(net, states=torch.zeros(3, 9, dtype=F64))
    with pytest.raises(ValueError, match="square"):
        eigen_spectrum(torch.zeros(3, 4, dtype=F64))
    with pytest.raises(ValueError, match="finite"):
        eigen_spectrum(torch.full((2, 2), float("nan"), dtype=F64))
    with pytest.raises(ValueError, match="eps_slow"):
        jacobian_spectrum(net, states=torch.zeros(1, 10, dtype=F64), eps_slow=0.0)
    with pytest.raises(ValueError, match="at"):
        jacobian_spectrum(net, at="nowhere")
    with pytest.raises(ValueError, match="inputs"):
        jacobian_spectrum(net, inputs=torch.zeros(2, dtype=F64))
    with pytest.raises(TypeError, match="rnndyn model"):
        jacobian_spectrum(torch.nn.Linear(2, 2))
    with pytest.raises(ValueError, match="n_states"):
        jacobian_spectrum(net, n_states=0)


def test_cli_spectrum(tmp_path) -> None:
    from typer.testing import CliRunner

    from rnndyn.cli import app

    runner = CliRunner()
    out = runner.invoke(
        app,
        [
            "spectrum",
            "--n",
            "40",
            "--states",
            "2",
            "--steps",
            "10",
            "--transient",
            "20",
            "--no-progress",
            "--json",
            str(tmp_path / "s.json"),
            "--out",
            str(tmp_path),
        ],
    )
    assert out.exit_code == 0, out.output
    data = json.loads((tmp_path / "s.json").read_text())
    assert data["n_states"] == 2 and "theory" in data
    # the CLI holds no numerics: the same system, options and seed through the library
    from rnndyn.cli.lyapunov import load_system

    system, _ = load_system(None, 40, None, 0, "cpu", None, None, None)
    ref = jacobian_spectrum(
        system,
        n_states=2,
        n_steps=10,
        n_transient=20,
        theory=True,
        generator=torch.Generator().manual_seed(1),
    )
    assert data["spectral_radius"] == pytest.approx(ref.spectral_radius.tolist(), rel=1e-12)
    assert data["theory"]["rightmost"] == pytest.approx(ref.theory.rightmost, rel=1e-12)
    assert (tmp_path / "jacobian_spectrum.png").exists()
    bad = runner.invoke(app, ["spectrum", "--n", "8", "--eps-slow", "-1", "--no-progress"])
    assert bad.exit_code == 2 and "`--eps-slow`" in bad.output and "Traceback" not in bad.output


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_cuda_matches_cpu() -> None:
    net = rd.GRU(64, g_h=3.0, alpha_z=3.0, generator=_gen(13), dtype=F64)
    h = torch.randn(5, 64, generator=_gen(14), dtype=F64)
    cpu = jacobian_spectrum(net, states=h)
    gpu = jacobian_spectrum(net.to("cuda"), states=h.to("cuda"))
    assert gpu.eigenvalues.device.type == "cuda"
    torch.testing.assert_close(gpu.spectral_radius.cpu(), cpu.spectral_radius, rtol=1e-9, atol=1e-9)


def test_theory_is_flagged_at_a_stable_fixed_point_it_does_not_describe() -> None:
    # The default GRU of `rnndyn analyze` (g_h = 3, alpha_r = 10) at N = 32, seed 0: its trajectory
    # settles on a stable nonzero fixed point (a finite-N exception: none is found at N >= 100),
    # where the theory, evaluated at that state, predicts radius 1.31 > 1 while every eigenvalue
    # has modulus 0.856 < 1
    net = rd.GRU(32, g_h=3.0, alpha_z=1.0, alpha_r=10.0, generator=_gen(0), dtype=F64)
    res = jacobian_spectrum(net, n_states=2, n_steps=20, n_transient=500, theory=True, generator=_gen(0))
    h = res.states[0]
    with torch.no_grad():
        assert float((net.step(h[None])[0] - h).abs().max()) < 1e-10  # the state is the fixed point
    r_meas = float(torch.linalg.eigvals(net.jacobian(h[None])[0].detach()).abs().max())  # independent eig
    r_pred = predicted_support(net, h).spectral_radius
    assert r_meas == pytest.approx(0.856, abs=5e-4) and r_pred == pytest.approx(1.308, abs=5e-4)
    assert res.status == "warning"
    rad, stab = res.check("theory_radius"), res.check("theory_stability")
    assert not rad.passed and rad.value == pytest.approx(abs(r_pred - r_meas) / r_pred, rel=1e-9)
    assert rad.tolerance == pytest.approx(1.5 / 32**0.5)
    assert not stab.passed and "stable (measured radius 0.856)" in stab.detail
    assert "theory_stability" in res.message and "statistically independent" in res.message


def test_theory_passes_at_a_stable_fixed_point_it_describes() -> None:
    # tanh net g = 0.9 with quenched biases: one stable fixed point, the typical state of the
    # ensemble; the circular law with phi'(x*) at that state, g sqrt(<phi'^2>), gives the radius
    # within the finite-N tolerance (measured 0.612 against 0.584 at N = 200)
    net = rd.VanillaRNN(200, g=0.9, bias_std=1.0, generator=_gen(0), dtype=F64)
    res = jacobian_spectrum(net, n_states=1, n_steps=1, n_transient=300, theory=True, generator=_gen(8))
    h = res.states[0]
    a = (net.weight_hh @ h + net.bias).detach()
    g_hat = float(torch.linalg.matrix_norm(net.weight_hh.detach()) / 200**0.5)
    assert res.theory.spectral_radius == pytest.approx(
        g_hat * float(((1 - torch.tanh(a) ** 2) ** 2).mean().sqrt()), rel=1e-9
    )
    with torch.no_grad():
        assert float((net.step(h[None])[0] - h).abs().max()) < 1e-10  # a fixed point
    assert res.status == "success", res.message
    assert res.check("theory_radius").passed and res.check("theory_radius").value < 0.06
    assert res.check("theory_stability").passed

"""Fixed points (rnndyn.fixed_points): exact cases with known stability, line attractors in
hand-built GRUs (ours and torch's), slow points, the CLI and bad input."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
import torch

import rnndyn as rd
from rnndyn.fixed_points import FixedPointError, fixed_point_summary
from rnndyn.models.base import AbstractMap

F64 = torch.float64


def _gen(seed: int) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


class Affine(AbstractMap):
    """h -> A h + c + B x (fixed point (I - A)^{-1} (c + B x))."""

    def __init__(self, a, c, b=None) -> None:
        super().__init__()
        self.state_size = a.shape[0]
        self.input_size = 0 if b is None else b.shape[1]
        self.register_buffer("a", a)
        self.register_buffer("c", c)
        self.register_buffer("b", b if b is not None else torch.zeros(a.shape[0], 0, dtype=a.dtype))

    def _step(self, h, x):
        out = h @ self.a.T + self.c
        return out if x is None else out + x @ self.b.T

    def _jacobian(self, h, x):
        return self.a.expand(*h.shape[:-1], *self.a.shape)


class DoubleWell(AbstractMap):
    """(x, y) -> (x + 0.2 (x - x^3), 0.5 y): a saddle at 0 (eigenvalues 1.2, 0.5), sinks at (+-1, 0)."""

    state_size, input_size = 2, 0

    def _step(self, h, x):
        u, v = h[..., 0], h[..., 1]
        return torch.stack([u + 0.2 * (u - u**3), 0.5 * v], -1)

    def _jacobian(self, h, x):
        u = h[..., 0]
        zero = torch.zeros_like(u)
        return torch.stack(
            [torch.stack([1.2 - 0.6 * u**2, zero], -1), torch.stack([zero, 0.5 + zero], -1)], -2
        )

    def initial_state(self, batch_shape=(), *, generator=None, scale=1.5):
        return scale * (2 * torch.rand(*batch_shape, 2, generator=generator, dtype=F64) - 1)


class Ghost(AbstractMap):
    """x -> x + 1e-3 + x^2: no fixed point, a slow point (ghost) at 0 with q = 5e-7."""

    state_size, input_size = 1, 0

    def _step(self, h, x):
        return h + 1e-3 + h * h

    def _jacobian(self, h, x):
        return (1 + 2 * h).unsqueeze(-1)


def test_affine_maps_stable_and_saddle_with_input() -> None:
    a = torch.tensor([[0.5, 0.2], [0.0, -0.3]], dtype=F64)
    c = torch.tensor([1.0, 2.0], dtype=F64)
    res = rd.find_fixed_points(Affine(a, c), n_initial=16, generator=_gen(0))
    exact = torch.linalg.solve(torch.eye(2, dtype=F64) - a, c)
    assert res.n_points == 1 and res.stability == ("stable",)
    torch.testing.assert_close(res.points[0], exact, rtol=1e-12, atol=1e-12)
    assert float(res.spectral_radius[0]) == pytest.approx(0.5)
    # saddle, input-conditioned: F(h, x) = A h + B x
    a2 = torch.tensor([[2.0, 0.0], [1.0, 0.25]], dtype=F64)
    b = torch.tensor([[1.0], [-1.0]], dtype=F64)
    x = torch.tensor([0.7], dtype=F64)
    starts = torch.randn(8, 2, generator=_gen(1), dtype=F64)
    res2 = rd.find_fixed_points(Affine(a2, torch.zeros(2, dtype=F64), b), inputs=x, initial_states=starts)
    exact2 = torch.linalg.solve(torch.eye(2, dtype=F64) - a2, b @ x)
    assert res2.n_points == 1 and res2.stability == ("saddle",) and int(res2.n_unstable[0]) == 1
    torch.testing.assert_close(res2.points[0], exact2, rtol=1e-12, atol=1e-12)
    torch.testing.assert_close(res2.input, x)


def test_subcritical_network_has_only_the_zero_fixed_point() -> None:
    net = rd.VanillaRNN(30, g=0.6, generator=_gen(2), dtype=F64)
    res = rd.find_fixed_points(net, n_initial=32, noise=1.0, generator=_gen(3))
    assert res.n_points == 1 and res.stability == ("stable",)
    assert float(res.points.abs().max()) < 1e-12
    ref = np.abs(np.linalg.eigvals(net.weight_hh.detach().numpy())).max()
    assert float(res.spectral_radius[0]) == pytest.approx(ref, rel=1e-10)


def test_henon_and_logistic_known_fixed_points() -> None:
    a, b = 1.4, 0.3
    xs = sorted((-(1 - b) + s * math.sqrt((1 - b) ** 2 + 4 * a)) / (2 * a) for s in (1, -1))
    res = rd.find_fixed_points(rd.Henon().double(), n_initial=64, generator=_gen(4))
    order = res.points[:, 0].argsort()
    np.testing.assert_allclose(res.points[order].numpy(), [[x, b * x] for x in xs], atol=1e-12)
    assert res.stability == ("saddle", "saddle")
    # logistic r = 3.7: x = 0 (slope r) and 1 - 1/r (slope 2 - r), both unstable
    r = 3.7
    res = rd.find_fixed_points(rd.Logistic(r=r).double(), n_initial=64, generator=_gen(5))
    order = res.points[:, 0].argsort()
    np.testing.assert_allclose(res.points[order, 0].numpy(), [0.0, 1 - 1 / r], atol=1e-12)
    np.testing.assert_allclose(res.eigenvalues[order, 0].real.numpy(), [r, 2 - r], atol=1e-10)
    assert res.stability == ("unstable", "unstable")


def test_hand_built_saddle_and_sinks() -> None:
    starts = torch.tensor([[-1.3, 0.4], [-0.2, -0.7], [0.05, 0.3], [0.6, 0.1], [1.4, -1.0]], dtype=F64)
    res = rd.find_fixed_points(DoubleWell(), initial_states=starts)
    order = res.points[:, 0].argsort()
    np.testing.assert_allclose(res.points[order].numpy(), [[-1, 0], [0, 0], [1, 0]], atol=1e-12)
    assert [res.stability[i] for i in order] == ["stable", "saddle", "stable"]
    saddle = int(order[1])
    np.testing.assert_allclose(sorted(res.eigenvalues[saddle].real.tolist()), [0.5, 1.2], atol=1e-12)
    assert int(res.n_unstable[saddle]) == 1


def test_discretised_lorenz_fixed_points() -> None:
    """Fixed points of a discretised flow are the flow's: 0 and (+-sqrt(b(r-1)), ., r-1)."""
    fmap = rd.discretise(rd.Lorenz63().double(), dt=0.01, method="rk4")
    box = torch.tensor([30.0, 30.0, 40.0], dtype=F64)
    starts = (
        torch.rand(32, 3, generator=_gen(6), dtype=F64) - torch.tensor([0.5, 0.5, 0.0], dtype=F64)
    ) * box
    res = rd.find_fixed_points(fmap, initial_states=starts)
    c = math.sqrt(8 / 3 * 27)
    exact = np.array([[-c, -c, 27.0], [0.0, 0.0, 0.0], [c, c, 27.0]])
    order = res.points[:, 0].argsort()
    assert res.n_points == 3
    np.testing.assert_allclose(res.points[order].numpy(), exact, atol=1e-9)
    assert all(s in ("saddle", "unstable") for s in res.stability)


def _gru_line_attractor(n: int) -> rd.GRU:
    """Unit 0 never updates (closed update gate, z = sigma(-40)); the other units contract onto a
    point set by h_0: a line of fixed points parameterised by h_0, eigenvalue 1 along it."""
    net = rd.GRU(n, g_h=0.5, alpha_z=0.0, alpha_r=0.0, generator=_gen(7), dtype=F64)
    with torch.no_grad():
        net.bias_z[0] = -40.0
        net.weight_hh[0].zero_()
        net.weight_hh[1:, 0] = 1.5
    return net


def test_gru_line_attractor_slow_manifold() -> None:
    res = rd.find_fixed_points(_gru_line_attractor(40), n_initial=32, generator=_gen(8))
    assert res.n_points >= 16
    assert res.slow_manifold_dimension == 1 and res.points_dimension == 1 and res.line_attractor
    assert torch.all(res.n_slow == 1) and set(res.stability) == {"marginal"}
    assert float((res.eigenvalues[:, 0] - 1).abs().max()) < 1e-12
    assert ("slow manifold", "line attractor (1-D continuum of fixed points)") in fixed_point_summary(res)


def test_torch_gru_line_attractor_via_from_torch() -> None:
    """A hand-built nn.GRU (torch's convention: z = 1 keeps the state) with one memory unit."""
    n = 24
    torch.manual_seed(0)  # test-local: nn.GRU's own initialisation (overwritten below)
    gru = torch.nn.GRU(1, n).double()
    gen = _gen(9)
    with torch.no_grad():
        for p in gru.parameters():
            p.copy_(0.1 * torch.randn(p.shape, generator=gen, dtype=F64))
        # gate rows: r = [0:n], z = [n:2n], n = [2n:3n]
        gru.bias_hh_l0[n] = 40.0  # z_0 = 1: unit 0 is pure memory
        gru.weight_hh_l0[2 * n + 1 :, 0] = 1.5  # other units read h_0
    net = rd.from_torch(gru)
    x = torch.tensor([0.3], dtype=F64)
    res = rd.find_fixed_points(net, inputs=x, n_initial=24, noise=0.5, generator=_gen(10))
    assert res.line_attractor, res.message
    assert float((res.eigenvalues[:, 0] - 1).abs().max()) < 1e-12
    # the points differ along unit 0 and each is a fixed point of the torch module itself
    assert float(res.points[:, 0].std()) > 0.1
    out, _ = gru(x.expand(res.n_points, 1).unsqueeze(0), res.points.unsqueeze(0))
    torch.testing.assert_close(out[0], res.points, atol=1e-10, rtol=0)


def test_rotated_line_attractor_direction() -> None:
    """F(h) = A h + (I - A) c with A = V diag(1, 0.5, -0.3) V^-1: the fixed points are exactly the
    line c + t v_1 (v_1 the eigenvector of the unit eigenvalue), not aligned with any axis."""
    v = torch.tensor([[1.0, 0.4, -0.3], [0.5, 1.0, 0.2], [-0.2, 0.6, 1.0]], dtype=F64)
    a = v @ torch.diag(torch.tensor([1.0, 0.5, -0.3], dtype=F64)) @ torch.linalg.inv(v)
    c = torch.tensor([0.3, -0.7, 1.1], dtype=F64)
    starts = 2 * torch.randn(12, 3, generator=_gen(40), dtype=F64)
    res = rd.find_fixed_points(Affine(a, (torch.eye(3, dtype=F64) - a) @ c), initial_states=starts)
    assert res.status == "success" and res.line_attractor, res.message
    assert res.n_points >= 3 and torch.all(res.n_slow == 1) and set(res.stability) == {"marginal"}
    assert float((res.eigenvalues[:, 0] - 1).abs().max()) < 1e-12
    # every point solves (I - A)(h - c) = 0, computed directly, and the points span the direction v_1
    assert float(((res.points - c) @ (torch.eye(3, dtype=F64) - a).T).abs().max()) < 1e-12
    direction = torch.linalg.svd(res.points - res.points.mean(0)).Vh[0]
    v1 = v[:, 0] / v[:, 0].norm()
    assert float((direction @ v1).abs()) == pytest.approx(1.0, abs=1e-10)


def _closed_gate_gru(n: int, closed: list[int], bias: float) -> rd.GRU:
    """alpha_z = 0: z_i = sigma(bias_z_i) exactly; the units in ``closed`` have z = sigma(bias), the
    others z = 1/2 (g_h = 1: the open units contract onto their equilibrium given the closed ones)."""
    net = rd.GRU(n, g_h=1.0, alpha_z=0.0, alpha_r=0.0, generator=_gen(20), dtype=F64)
    with torch.no_grad():
        net.bias_z.zero_()
        net.bias_z[closed] = bias
    return net


def _direct_residual(net: rd.GRU, h: torch.Tensor) -> torch.Tensor:
    """F(h) - h = z (h~ - h) of (004-5), written out from the weights (not through the model)."""
    with torch.no_grad():
        z = torch.sigmoid(net.bias_z).expand_as(h)  # alpha_z = 0: no state dependence
        r = torch.sigmoid(h @ net.weight_hr.T + net.bias_r)
        h_tilde = torch.tanh((r * h) @ net.weight_hh.T + net.bias_h)
        return z * (h_tilde - h)


def test_closed_update_gates_give_a_slow_manifold_of_their_number() -> None:
    """CKS20 / KCS22: every closed update gate freezes one direction. Six gates at z = sigma(-12)
    = 6e-6: no fixed point within tol, slow points on a 6-D slow manifold (speed = the closed units'
    z (h~ - h), the open units' residual below tol); at z = sigma(-40) = 4e-18 the closed units are
    the identity to machine precision: a 6-D continuum of fixed points."""
    closed = [3, 7, 11, 19, 23, 31]
    net = _closed_gate_gru(40, closed, -12.0)
    # n_transient=0: random starts, open units far from equilibrium (the crawling regime)
    res = rd.find_fixed_points(net, n_initial=6, n_transient=0, generator=_gen(21), throw=False)
    assert res.status == "warning" and res.n_points == 0, res.message
    assert res.slow_points.shape[0] == 6 and set(res.slow_kind) == {"manifold"}
    assert res.slow_n_slow.tolist() == [6] * 6 and res.slow_n_frozen.tolist() == [6] * 6
    # the six slow eigenvalues are 1 - z (1 - mu), z = sigma(-12), mu from the closed block's own
    # couplings (|mu| < 1/2 here); the seventh is an open mode, far from 1
    z = torch.sigmoid(torch.tensor(-12.0, dtype=F64))
    gap = (1 - res.slow_eigenvalues).abs() / z
    assert float(gap[:, :6].min()) > 0.5 and float(gap[:, :6].max()) < 1.5 and float(gap[:, 6].min()) > 1e4
    assert res.slow_manifold_dimension == 6 and "6-D" in dict(fixed_point_summary(res))["slow manifold"]
    r = _direct_residual(net, res.slow_points)
    open_units = torch.ones(40, dtype=torch.bool)
    open_units[closed] = False
    assert float(r[:, open_units].norm(dim=-1).max()) <= res.tol
    torch.testing.assert_close(res.slow_speeds, 0.5 * (r * r).sum(-1), rtol=1e-9, atol=0)
    assert float(r[:, closed].abs().min()) > 0  # moving, slowly: no point is a fixed point
    # the plain minimisation (before) crawls: nothing within 40 iterations
    old = rd.find_fixed_points(
        net, n_initial=6, n_transient=0, max_iter=40, slow_manifold=False, generator=_gen(21), throw=False
    )
    assert old.status == "not_converged" and old.slow_points.shape[0] == 0
    # closed to machine precision: fixed points, 6 slow directions each
    net40 = _closed_gate_gru(40, closed, -40.0)
    res40 = rd.find_fixed_points(net40, n_initial=6, n_transient=0, generator=_gen(21))
    assert res40.status == "success" and res40.n_points == 6 and res40.slow_manifold_dimension == 6
    assert torch.all(res40.n_slow == 6) and set(res40.stability) == {"marginal"}
    assert float(_direct_residual(net40, res40.points).norm(dim=-1).max()) <= res40.tol


def test_large_alpha_z_gru_regression() -> None:
    """Regression (docs/spectra.md): a GRU at alpha_z = 20, g_h = 3 crawled without converging
    (512 units: ~10 s a start, nothing found). Now every start ends on the slow manifold: the
    residual, recomputed, is below tol on the open units (z > 1/2) and the number of slow
    directions matches the number of closed gates z < eps_slow (one frozen direction each)."""
    n = 64
    net = rd.GRU(n, g_h=3.0, alpha_z=20.0, alpha_r=0.0, generator=_gen(30), dtype=F64)
    res = rd.find_fixed_points(net, n_initial=4, generator=_gen(31), throw=False)
    assert res.status == "warning" and set(res.slow_kind) == {"manifold"}, res.message
    assert res.slow_points.shape[0] == 4 and "on a slow manifold" in res.message
    with torch.no_grad():
        h = res.slow_points
        z = torch.sigmoid(h @ net.weight_hz.T + net.bias_z)
        r = torch.tanh((torch.sigmoid(h @ net.weight_hr.T + net.bias_r) * h) @ net.weight_hh.T + net.bias_h)
        resid = z * (r - h)  # (004-5) written out
    torch.testing.assert_close(res.slow_speeds, 0.5 * (resid * resid).sum(-1), rtol=1e-9, atol=0)
    assert float((resid * (z > 0.5)).norm(dim=-1).max()) <= res.tol
    closed = (z < res.eps_slow).sum(-1)
    assert int((res.slow_n_slow - closed).abs().max()) <= 2 and int(closed.min()) >= 15
    assert res.slow_manifold_dimension == int(res.slow_n_slow.double().median().round())


@pytest.mark.slow
def test_large_alpha_z_gru_512_units() -> None:
    """The reported case itself: 512 units, alpha_z = 20, 8 starts (about 15 s on one loaded core)."""
    net = rd.GRU(512, g_h=3.0, alpha_z=20.0, alpha_r=0.0, generator=_gen(0), dtype=F64)
    res = rd.find_fixed_points(net, n_initial=8, generator=_gen(1), throw=False)
    assert res.status == "warning" and res.slow_points.shape[0] == 8, res.message
    with torch.no_grad():
        resid = net(res.slow_points) - res.slow_points
        z = torch.sigmoid(res.slow_points @ net.weight_hz.T + net.bias_z)
    torch.testing.assert_close(res.slow_speeds, 0.5 * (resid * resid).sum(-1), rtol=1e-9, atol=0)
    assert float((resid * (z > 0.5)).norm(dim=-1).max()) <= res.tol
    closed = (z < res.eps_slow).sum(-1)
    assert int((res.slow_n_slow - closed).abs().max()) <= 8 and int(closed.min()) > 150


@pytest.mark.slow
def test_gated_flow_slow_manifold_counts_closed_gates() -> None:
    """KCS22's gated flow at N = 100, alpha_z = 15 (g_h = 3, alpha_r = 0), discretised with RK4 at
    dt = 0.1 (the case of docs/reproductions.md, kcs22-line-attractors, where the finder converged to
    nothing): slow points on the slow manifold whose number of slow directions (|lambda - 1| < 0.002,
    i.e. flow eigenvalues |mu| < 0.02) matches the closed update gates sigma(z_i) < 0.02 (about 10 s)."""
    n = 100
    flow = rd.GatedRateRNN(n, g_h=3.0, alpha_z=15.0, alpha_r=0.0, generator=_gen(0), dtype=F64)
    fmap = rd.discretise(flow, dt=0.1, method="rk4")
    res = rd.find_fixed_points(
        fmap, n_initial=8, n_transient=2000, eps_slow=0.002, generator=_gen(100), throw=False
    )
    assert res.status == "warning" and res.n_points == 0 and res.slow_points.shape[0] >= 6, res.message
    assert set(res.slow_kind) == {"manifold"}
    with torch.no_grad():
        resid = fmap(res.slow_points) - res.slow_points
        closed = (torch.sigmoid(res.slow_points[:, n : 2 * n] + flow.bias_z) < 0.02).sum(-1)
        flow_slow = (torch.linalg.eigvals(flow.jacobian(res.slow_points)).abs() < 0.02).sum(-1)
    torch.testing.assert_close(res.slow_speeds, 0.5 * (resid * resid).sum(-1), rtol=1e-9, atol=0)
    assert int((res.slow_n_slow - closed).abs().max()) <= 4 and int(closed.min()) >= 20
    assert int((flow_slow - closed).abs().max()) <= 4


def test_slow_point_and_failure_policy() -> None:
    starts = torch.linspace(-0.5, 0.5, 7, dtype=F64).unsqueeze(-1)
    res = rd.find_fixed_points(Ghost(), initial_states=starts)
    assert res.status == "warning" and res.n_points == 0  # slow points only
    assert res.slow_points.shape == (1, 1) and abs(float(res.slow_points[0, 0])) < 1e-4
    assert float(res.slow_speeds[0]) == pytest.approx(0.5e-6, rel=1e-6)
    shift = Affine(torch.eye(1, dtype=F64), torch.ones(1, dtype=F64))  # x -> x + 1: nothing at all
    with pytest.raises(FixedPointError, match="no fixed or slow point"):
        rd.find_fixed_points(shift, initial_states=starts)
    res = rd.find_fixed_points(shift, initial_states=starts, throw=False)
    assert res.status == "not_converged" and res.n_points == 0  # nothing found
    json.dumps(res.to_dict())


def test_adam_then_newton_agrees_with_lm() -> None:
    a = torch.tensor([[0.5, 0.3], [-0.2, 0.4]], dtype=F64)
    c = torch.tensor([0.3, -1.0], dtype=F64)
    lm = rd.find_fixed_points(Affine(a, c), n_initial=4, generator=_gen(11))
    ad = rd.find_fixed_points(Affine(a, c), n_initial=4, method="adam", max_iter=200, generator=_gen(11))
    torch.testing.assert_close(ad.points, lm.points, rtol=1e-10, atol=1e-10)


def test_bad_input() -> None:
    net = rd.VanillaRNN(5, input_size=2, generator=_gen(12), dtype=F64)
    with pytest.raises(ValueError, match="tol"):
        rd.find_fixed_points(net, tol=0.0)
    with pytest.raises(ValueError, match=r"initial_states.*\(\*batch, 5\)"):
        rd.find_fixed_points(net, initial_states=torch.zeros(3, 4, dtype=F64))
    with pytest.raises(ValueError, match="constant input"):
        rd.find_fixed_points(net, inputs=torch.zeros(3, 2, dtype=F64))
    with pytest.raises(ValueError, match="input_size 0"):
        rd.find_fixed_points(rd.Henon().double(), inputs=torch.zeros(1, dtype=F64))
    with pytest.raises(TypeError, match="discretise"):
        rd.find_fixed_points(rd.RateRNN(4, dtype=F64))
    with pytest.raises(ValueError, match="method"):
        rd.find_fixed_points(net, method="newton")
    with pytest.raises(ValueError, match="n_initial"):
        rd.find_fixed_points(net, n_initial=0)
    with pytest.raises(ValueError, match=r"completeness_tol.*1\.5"):
        rd.find_fixed_points(net, completeness_tol=1.5)

    class NonSquare(Ghost):
        def _jacobian(self, h, x):
            return torch.zeros(*h.shape[:-1], 1, 2, dtype=h.dtype)

    with pytest.raises(ValueError, match="square"):
        rd.find_fixed_points(NonSquare(), initial_states=torch.zeros(2, 1, dtype=F64))


def test_cli_fixed_points(tmp_path) -> None:
    from typer.testing import CliRunner

    from rnndyn.cli import app

    runner = CliRunner()
    out = runner.invoke(
        app,
        [
            "fixed-points",
            "--model",
            "henon",
            "--starts",
            "16",
            "--no-progress",
            "--json",
            str(tmp_path / "fp.json"),
            "--out",
            str(tmp_path),
        ],
    )
    assert out.exit_code == 0, out.output
    data = json.loads((tmp_path / "fp.json").read_text())
    assert data["n_points"] == 2 and data["stability"] == ["saddle", "saddle"]
    assert data["starts_from"] == "mixed" and data["starts"].startswith("8 state(s) after a 200-step")
    assert (tmp_path / "fixed_points.png").exists()
    # --starts-from reaches the library; a bad value is a usage error naming the option
    traj = ["fixed-points", "-m", "henon", "--starts", "4", "--no-progress", "--starts-from", "trajectory"]
    out = runner.invoke(app, [*traj, "--json", str(tmp_path / "t.json")])
    assert out.exit_code == 0 and json.loads((tmp_path / "t.json").read_text())["starts_from"] == "trajectory"
    bad = runner.invoke(app, ["fixed-points", "-m", "henon", "--starts-from", "box", "--no-progress"])
    assert (
        bad.exit_code == 2
        and "`--starts-from` must be one of 'mixed', 'trajectory', 'spread'; got 'box'" in bad.output
    )
    bad = runner.invoke(app, ["fixed-points", "--model", "henon", "--tol", "-1", "--no-progress"])
    assert bad.exit_code == 2 and "tol" in bad.output and "Traceback" not in bad.output
    bad = runner.invoke(app, ["fixed-points", "--model", "henon", "--freeze-tol", "0", "--no-progress"])
    assert bad.exit_code == 2 and "`--freeze-tol`" in bad.output and "Traceback" not in bad.output


def test_cli_slow_manifold(tmp_path) -> None:
    """A GRU at alpha_z = 20: slow points on the slow manifold in the table and the JSON (exit 0,
    status warning); --no-slow-manifold gives the plain minimisation (nothing found)."""
    from typer.testing import CliRunner

    from rnndyn.cli import app

    gru = ["fixed-points", "--model", "gru", "-n", "48", "-p", "alpha_z=20", "-p", "g_h=3", "-p", "alpha_r=0"]
    runner = CliRunner()
    out = runner.invoke(app, [*gru, "--starts", "3", "--no-progress", "--json", str(tmp_path / "fp.json")])
    assert out.exit_code == 0, out.output
    data = json.loads((tmp_path / "fp.json").read_text())
    assert data["status"] == "warning" and data["slow_kind"] == ["manifold"] * 3
    assert data["freeze_tol"] == 0.05 and min(data["slow_n_frozen"]) > 0
    assert data["slow_manifold_dimension"] == int(np.median(data["slow_n_slow"]))
    assert "on a slow manifold" in out.output and "free rows" in out.output
    plain = runner.invoke(
        app, [*gru, "--starts", "3", "--max-iter", "20", "--no-slow-manifold", "--no-progress"]
    )
    assert (
        plain.exit_code == 0 and "no fixed or slow point" in plain.output and "NOT_CONVERGED" in plain.output
    )


# ------------------------------------------------------------------ odd maps and completeness
class Roots2D(AbstractMap):
    """(x, y) -> (x - c P(x), y - c Q(y)), P and Q monic with the given roots: the fixed points are
    exactly the grid roots(P) x roots(Q), with eigenvalues 1 - c P'(x*) and 1 - c Q'(y*)."""

    state_size, input_size = 2, 0

    def __init__(self, rx, ry, c: float = 0.05) -> None:
        super().__init__()
        self.rx, self.ry, self.c = tuple(rx), tuple(ry), c

    @staticmethod
    def _poly(u, roots):
        return math.prod(u - r for r in roots)

    @staticmethod
    def _dpoly(u, roots):
        return sum(math.prod(u - r for j, r in enumerate(roots) if j != k) for k in range(len(roots)))

    def _step(self, h, x):
        u, v = h[..., 0], h[..., 1]
        return torch.stack([u - self.c * self._poly(u, self.rx), v - self.c * self._poly(v, self.ry)], -1)

    def _jacobian(self, h, x):
        u, v = h[..., 0], h[..., 1]
        zero = torch.zeros_like(u)
        du, dv = 1 - self.c * self._dpoly(u, self.rx), 1 - self.c * self._dpoly(v, self.ry)
        return torch.stack([torch.stack([du, zero], -1), torch.stack([zero, dv], -1)], -2)

    def initial_state(self, batch_shape=(), *, generator=None, scale=2.2):
        return scale * (2 * torch.rand(*batch_shape, 2, generator=generator, dtype=F64) - 1)


_RX, _RY = (-1.6, -0.7, 0.1, 0.9, 1.8), (-1.2, -0.3, 0.6, 1.5)


def _same_set(a: torch.Tensor, b: torch.Tensor, atol: float) -> None:
    """Every row of ``a`` is within ``atol`` of a row of ``b`` and vice versa, and the counts agree."""
    d = torch.cdist(a, b)
    assert a.shape[0] == b.shape[0] and float(d.amin(-1).max()) <= atol and float(d.amin(0).max()) <= atol


def test_completeness_of_a_polynomial_grid_of_twenty_fixed_points() -> None:
    """Exact oracle: the 20 fixed points roots(P) x roots(Q). 400 starts find all 20, each many
    times: the Good-Turing indicator says complete (p_new = 0, Chao1 = 20) and the status is
    success. 12 starts find a few, most of them once: the indicator says incomplete (p_new =
    N_1 / 12 > completeness_tol), the status is warning and the message says what to run."""
    fmap = Roots2D(_RX, _RY)
    exact = torch.tensor([[x, y] for x in _RX for y in _RY], dtype=F64)
    res = rd.find_fixed_points(fmap, n_initial=400, n_transient=0, generator=_gen(50))
    assert res.n_points == 20 and res.status == "success" and res.complete, res.message
    _same_set(res.points, exact, 1e-12)
    slopes = torch.stack(
        [
            1 - fmap.c * Roots2D._dpoly(res.points[:, 0], _RX),
            1 - fmap.c * Roots2D._dpoly(res.points[:, 1], _RY),
        ],
        -1,
    )
    np.testing.assert_allclose(
        np.sort(res.eigenvalues.real.numpy(), -1), np.sort(slopes.numpy(), -1), atol=1e-12
    )
    assert int(res.hits.min()) >= 2 and int(res.hits.sum()) == res.n_converged
    assert res.n_found_once == 0 and res.p_new == 0.0 and res.n_points_estimate == 20.0
    assert not res.odd_map and res.n_added_by_symmetry == 0
    check = res.check("completeness")
    assert check.passed and check.value == 0.0 and check.tolerance == res.completeness_tol
    # few starts: most points found once
    few = rd.find_fixed_points(fmap, n_initial=12, n_transient=0, generator=_gen(51))
    assert 2 <= few.n_points < 20 and few.status == "warning" and not few.complete, few.message
    ones = int((few.hits == 1).sum())
    assert few.n_found_once == ones >= 2 and few.p_new == pytest.approx(ones / 12)
    assert few.n_points < few.n_points_estimate and not few.check("completeness").passed
    assert "more starts (n_initial=48) may find more" in few.message and "Good-Turing" in few.message
    # every point reported is still a verified fixed point of the grid
    assert float(torch.cdist(few.points, exact).amin(-1).max()) < 1e-12


def test_good_turing_and_chao1_counts() -> None:
    """The estimators on hand-made counts: points found 1, 1, 1, 2, 5 times by 10 starts give
    N1 = 3, N2 = 1: p_new = 3/10 and Chao1 = 5 + 3*2/(2*2) = 6.5; for an odd map the pairs
    (0, 1) and (2, 3) and the self-partner 4 count as species: counts 1, 3, 1 -> N1 = 2,
    p_new = 2/10, Chao1 = 3 + 2*1/2 = 4 pairs, one unseen pair = two more points: 5 + 2."""
    from rnndyn.fixed_points import _completeness

    iso = torch.ones(5, dtype=torch.bool)
    hits = torch.tensor([1, 1, 1, 2, 5])
    assert _completeness(hits, torch.full((5,), -1), iso, 10, False) == (5, 5, 3, 0.3, 6.5)
    hits = torch.tensor([1, 0, 2, 1, 1])
    assert _completeness(hits, torch.tensor([1, 0, 3, 2, 4]), iso, 10, True) == (5, 3, 2, 0.2, 7.0)
    # a point on a continuum is not counted
    iso[4] = False
    assert _completeness(hits, torch.tensor([1, 0, 3, 2, 4]), iso, 10, True)[:3] == (4, 2, 1)


def test_odd_map_gets_the_partners_of_its_fixed_points() -> None:
    """A zero-bias tanh RNN is odd, F(-h) = -F(h): starts in the half space h_0 >= 0 miss some
    partners -h*; they are added (found by no start, hits 0), each a genuine fixed point (the
    residual tanh(W h) - h written out from the weights is below tol), with the eigenvalues of
    the found partner (J(-h) = J(h)), and every point's partner is in the list."""
    net = rd.VanillaRNN(10, g=3.0, generator=_gen(0), dtype=F64)
    starts = 2 * torch.randn(48, 10, generator=_gen(2), dtype=F64)
    starts[:, 0] = starts[:, 0].abs()
    res = rd.find_fixed_points(net, initial_states=starts, throw=False)
    assert res.odd_map and res.symmetry_error <= 1e-15, res.symmetry_error
    assert res.n_added_by_symmetry >= 1 and "partner(s) -h* added" in res.message
    assert torch.all(res.hits[res.from_symmetry] == 0) and torch.all(res.hits[~res.from_symmetry] >= 1)
    assert res.check("symmetry_partners").passed
    with torch.no_grad():
        direct = torch.tanh(res.points @ net.weight_hh.T) - res.points
    assert float(direct.norm(dim=-1).max()) <= res.tol
    dist, partner = torch.cdist(-res.points, res.points).min(-1)
    assert float(dist.max()) < 1e-9  # closed under h -> -h
    for i, j in enumerate(partner.tolist()):
        np.testing.assert_allclose(
            np.sort_complex(res.eigenvalues[i].numpy()),
            np.sort_complex(res.eigenvalues[j].numpy()),
            atol=1e-12,
        )
        assert res.stability[i] == res.stability[j]
    found = res.points[~res.from_symmetry]
    union = torch.cat([found, -found])
    assert float(torch.cdist(res.points, union).amin(-1).max()) < 1e-9
    assert float(torch.cdist(union, res.points).amin(-1).max()) < 1e-9
    # completeness counts the pairs +-h*: the zero point is its own partner
    assert res.n_isolated == res.n_points


def test_maps_that_are_not_odd_get_no_partners() -> None:
    """With a bias (tanh(W h + b)) or gates (a zero-bias GRU: sigma(-a) = 1 - sigma(a), not
    -sigma(a)) the map is not odd: the probe says so by a wide margin and nothing is added."""
    for net in (
        rd.VanillaRNN(10, g=3.0, bias_std=0.3, generator=_gen(0), dtype=F64),
        rd.GRU(10, g_h=3.0, generator=_gen(0), dtype=F64),
    ):
        starts = 2 * torch.randn(12, 10, generator=_gen(2), dtype=F64)
        res = rd.find_fixed_points(net, initial_states=starts, throw=False)
        assert res.n_points >= 1 and not res.odd_map and res.symmetry_error > 1e-3, res.symmetry_error
        assert res.n_added_by_symmetry == 0 and not bool(res.from_symmetry.any())
        assert "odd map" not in res.message and "symmetry_partners" not in [c.name for c in res.checks]


@pytest.mark.slow
def test_good_turing_estimate_is_calibrated() -> None:
    """Statistical cross-check of p_new on the polynomial grid: the probabilities p_i that a start
    reaches point i are measured by 4000 starts; over 40 searches of S = 16 starts, the mean of
    p_new = N1/S matches its expectation sum_i p_i (1 - p_i)^(S-1) and the mean of the mass the
    search actually missed, sum over unfound points of p_i (expectation sum_i p_i (1 - p_i)^S),
    within three standard errors plus that small bias."""
    fmap = Roots2D(_RX, _RY)
    big = rd.find_fixed_points(fmap, n_initial=4000, n_transient=0, generator=_gen(60))
    assert big.n_points == 20 and big.complete
    p = big.hits.double() / 4000
    s = 16
    p_new, missed = [], []
    for seed in range(40):
        res = rd.find_fixed_points(fmap, n_initial=s, n_transient=0, generator=_gen(1000 + seed))
        p_new.append(res.p_new)
        found = (
            torch.cdist(big.points, res.points).amin(-1) < 1e-9
            if res.n_points
            else torch.zeros(20, dtype=torch.bool)
        )
        missed.append(float(p[~found].sum()))
    p_new_t, missed_t = torch.tensor(p_new), torch.tensor(missed)
    se = float(p_new_t.std()) / math.sqrt(40)
    expect_gt = float((p * (1 - p) ** (s - 1)).sum())
    expect_missed = float((p * (1 - p) ** s).sum())
    assert abs(float(p_new_t.mean()) - expect_gt) < 3 * se, (float(p_new_t.mean()), expect_gt, se)
    assert abs(float(missed_t.mean()) - expect_missed) < 3 * float(missed_t.std()) / math.sqrt(40)
    bias = expect_gt - expect_missed
    assert abs(float(p_new_t.mean()) - float(missed_t.mean())) < 3 * se + bias


def test_double_well_partner_and_a_map_that_fails_at_the_probe() -> None:
    """The double well (x, y) -> (x + 0.2 (x - x^3), 0.5 y) is odd: starts with x in [0.8, 1.6]
    reach the sink (1, 0) only, and its partner (-1, 0) is added with the exact eigenvalues
    (0.6, 0.5); the message names the origin, which no start reached. A map whose tangent hook
    raises at the probe states is searched as before, without symmetry (symmetry_error inf,
    nothing added)."""
    starts = torch.tensor([[0.8, 0.3], [1.1, -0.5], [1.3, 0.2], [1.6, -1.0]], dtype=F64)
    res = rd.find_fixed_points(DoubleWell(), initial_states=starts)
    assert res.odd_map and res.n_added_by_symmetry == 1 and res.n_points == 2, res.message
    added = res.points[res.from_symmetry][0]
    torch.testing.assert_close(added, torch.tensor([-1.0, 0.0], dtype=F64), rtol=0, atol=1e-12)
    np.testing.assert_allclose(
        sorted(res.eigenvalues[res.from_symmetry][0].real.tolist()), [0.5, 0.6], atol=1e-12
    )
    assert res.stability == ("stable", "stable") and res.hits.tolist() in ([4, 0], [0, 4])
    # the saddle at the origin (fixed for every odd map) was reached by no start: said, not listed
    assert "the origin is a fixed point too (|F(0)| = 0: odd map)" in res.message

    class Fragile(DoubleWell):
        def _step_and_tangent(self, h, x, Q):
            raise RuntimeError("undefined here")

    res = rd.find_fixed_points(Fragile(), initial_states=starts)
    assert not res.odd_map and res.symmetry_error == math.inf and res.n_points == 1
    assert res.n_added_by_symmetry == 0


# ------------------------------------------------------------------ the start distribution of the census
def _tanh_grid_net() -> rd.VanillaRNN:
    """h -> tanh(diag(2, 1.5) h): fixed points {0, +-x*} x {0, +-y*}, x* = tanh(2 x*), y* = tanh(1.5 y*);
    the four corners are sinks, (+-x*, 0) and (0, +-y*) saddles, the origin a repeller. Trajectories
    end at the sinks, so the five unstable points lie off the attractor."""
    net = rd.VanillaRNN(2, g=1.0, generator=_gen(0), dtype=F64)
    with torch.no_grad():
        net.weight_hh.copy_(torch.diag(torch.tensor([2.0, 1.5], dtype=F64)))
    return net


def _tanh_root(a: float) -> float:
    """The positive root of u = tanh(a u) (a > 1), by scalar Newton from u = 1 (monotone there)."""
    u = 1.0
    for _ in range(50):
        u -= (u - math.tanh(a * u)) / (1 - a / math.cosh(a * u) ** 2)
    assert abs(u - math.tanh(a * u)) < 1e-15
    return u


def test_census_refers_to_its_start_distribution_and_the_default_reaches_off_attractor_points() -> None:
    """Oracle: the nine fixed points of tanh(diag(2, 1.5) h) in closed form. Trajectory starts find
    the four sinks only, and the census (every sink found many times) says complete: it is complete
    *for those starts*, and the message says which starts and that points off the attractor are not
    sampled. The default ("mixed": half the starts spread over the box of the visited states) finds
    all nine, the five unstable ones only from the spread starts (hits_spread == hits), with the
    exact eigenvalues (diagonal Jacobian 2 (1 - x^2), 1.5 (1 - y^2))."""
    net = _tanh_grid_net()
    xs, ys = _tanh_root(2.0), _tanh_root(1.5)
    exact = torch.tensor([[x, y] for x in (-xs, 0.0, xs) for y in (-ys, 0.0, ys)], dtype=F64)
    traj = rd.find_fixed_points(net, n_initial=32, starts_from="trajectory", generator=_gen(1))
    assert traj.starts_from == "trajectory" and traj.spread_box is None
    assert traj.n_points == 4 and set(traj.stability) == {"stable"} and traj.status == "success"
    _same_set(traj.points, exact[(exact != 0).all(-1)], 1e-12)
    assert traj.complete and traj.hits_spread.tolist() == [0] * 4
    assert traj.starts == "32 state(s) after a 200-step transient from the model's random initial states"
    assert f"for starts drawn like these ({traj.starts}); points off the attractor" in traj.message
    assert "starts_from='mixed'" in traj.message
    res = rd.find_fixed_points(net, n_initial=32, generator=_gen(1))
    assert res.starts_from == "mixed" and res.n_points == 9 and res.status == "success", res.message
    _same_set(res.points, exact, 1e-12)
    assert res.starts == (
        "16 state(s) after a 200-step transient from the model's random initial states and 16 uniform in "
        "the box of the visited states"
    )
    assert f"for starts drawn like these ({res.starts})" in res.message
    unstable = torch.tensor([s != "stable" for s in res.stability])
    assert torch.equal(res.hits_spread[unstable], res.hits[unstable]) and int(res.hits[unstable].min()) >= 1
    assert int(res.hits_spread.sum()) <= 16 and int(res.hits.sum()) == res.n_converged
    assert "5 point(s) only from the 16 spread starts (off the trajectories)" in res.message
    for p, ev, lab in zip(res.points, res.eigenvalues, res.stability, strict=True):
        slopes = sorted([2 * (1 - float(p[0]) ** 2), 1.5 * (1 - float(p[1]) ** 2)], reverse=True)
        np.testing.assert_allclose(ev.real.numpy(), slopes, atol=1e-12)
        want = {0: "stable", 1: "saddle", 2: "unstable"}[sum(s > 1 for s in slopes)]
        assert lab == want
    # the box: spanned by the model's initial states and the states after the transient, replayed here
    gen = _gen(1)
    h0 = net.initial_state((32,), generator=gen)
    h = h0
    with torch.no_grad():
        for _ in range(200):
            h = torch.tanh(h @ net.weight_hh.T)
    both = torch.cat([h0, h])
    assert torch.equal(res.spread_box, torch.stack([both.amin(0), both.amax(0)]))


def test_henon_both_fixed_points_from_each_start_distribution() -> None:
    """Henon (a, b) = (1.4, 0.3): the fixed points x = (-(1 - b) +- sqrt((1 - b)^2 + 4a)) / (2a),
    y = b x; x = 0.631 lies on the attractor, x = -1.131 off it (on the basin boundary). The
    Levenberg-Marquardt search reaches both from either start distribution (its steps are not
    local), so every one gives the same exact pair (with 16 starts the box of visited states does not
    even reach x = -1.131); the census names the distribution it counted."""
    a, b = 1.4, 0.3
    xs = sorted((-(1 - b) + s * math.sqrt((1 - b) ** 2 + 4 * a)) / (2 * a) for s in (1, -1))
    for starts_from in ("trajectory", "spread", "mixed"):
        res = rd.find_fixed_points(
            rd.Henon().double(), n_initial=16, starts_from=starts_from, generator=_gen(4)
        )
        order = res.points[:, 0].argsort()
        np.testing.assert_allclose(res.points[order].numpy(), [[x, b * x] for x in xs], atol=1e-12)
        assert res.starts_from == starts_from and f"drawn like these ({res.starts})" in res.message
        n_spread = {"trajectory": 0, "spread": 16, "mixed": 8}[starts_from]
        assert int(res.hits_spread.sum()) <= n_spread and int(res.hits.sum()) == res.n_converged
        if n_spread:
            lo, hi = res.spread_box
            on = res.points[order[1]]  # the point on the attractor lies in the box of visited states
            assert bool(((lo <= on) & (on <= hi)).all()) and float((hi - lo).min()) > 0.5


def test_polynomial_grid_census_bias_of_trajectory_starts() -> None:
    """The 20-point grid roots(P) x roots(Q): 64 trajectory starts (200 steps) find only the points
    near where trajectories settle and the census says complete (p_new = 0) with 11 of 20: the bias
    this distribution has. The default mixed starts (192) find all 20, exactly."""
    fmap = Roots2D(_RX, _RY)
    exact = torch.tensor([[x, y] for x in _RX for y in _RY], dtype=F64)
    traj = rd.find_fixed_points(fmap, n_initial=64, starts_from="trajectory", generator=_gen(0))
    assert traj.complete and traj.p_new == 0.0 and traj.n_points < 20
    assert float(torch.cdist(traj.points, exact).amin(-1).max()) < 1e-12
    res = rd.find_fixed_points(fmap, n_initial=192, generator=_gen(0))
    assert res.n_points == 20 and res.complete, res.message
    _same_set(res.points, exact, 1e-12)
    assert int(res.hits_spread.sum()) > 0 and int(res.hits.sum()) == res.n_converged


def test_starts_from_bad_value_and_given_states() -> None:
    with pytest.raises(
        ValueError, match=r"`starts_from` must be one of 'mixed', 'trajectory', 'spread'; got 'box'"
    ):
        rd.find_fixed_points(rd.Henon().double(), starts_from="box")
    starts = torch.tensor([[0.6, 0.2], [-1.1, -0.3]], dtype=F64)
    res = rd.find_fixed_points(rd.Henon().double(), initial_states=starts, throw=False)
    assert res.starts_from == "initial_states" and res.starts == "2 given initial_states"
    assert res.spread_box is None and res.hits_spread.tolist() == [0, 0]


def test_cli_defaults_are_the_librarys() -> None:
    """One source of defaults: every option of `rnndyn fixed-points` that maps to an argument of
    find_fixed_points has the library's default (both read rnndyn._fixed_point_defaults)."""
    import inspect

    import typer

    import rnndyn._fixed_point_defaults as defaults
    from rnndyn.cli import app
    from rnndyn.cli.fixed_points import OPTIONS

    params = inspect.signature(rd.find_fixed_points).parameters
    cmd = typer.main.get_command(app).commands["fixed-points"]
    by_flag = {opt: p for p in cmd.params for opt in p.opts}
    assert set(OPTIONS) <= set(params)
    for arg, flag in OPTIONS.items():
        if arg == "inputs":  # --input is a comma-separated string, parsed to the tensor
            continue
        assert by_flag[flag].default == params[arg].default, (arg, flag)
    for arg, name in (("n_initial", "N_INITIAL"), ("starts_from", "STARTS_FROM"), ("max_iter", "MAX_ITER"),
                      ("completeness_tol", "COMPLETENESS_TOL"), ("eps_slow", "EPS_SLOW")):  # fmt: skip
        assert params[arg].default == getattr(defaults, name)


# ------------------------------------------------------------------ mutation audit: exact cases
def _block_affine(blocks: list[torch.Tensor], c: torch.Tensor) -> Affine:
    return Affine(torch.block_diag(*blocks), c)


def test_classification_on_the_unit_circle_and_the_slow_count() -> None:
    """Exact spectra. (a) eigenvalues +-i (a rotation by 90 degrees), -1 and 0.5: every modulus
    <= 1 with three on the unit circle, so "marginal", 0 unstable, radius 1; none is within
    eps_slow of 1 (|lambda - 1| = sqrt 2, sqrt 2, 2, 0.5): 0 slow directions; no eigenvalue is 1,
    so the point is isolated and counted for completeness. (b) 1.001, 1 + 5e-7, -0.9995, 0.3: one
    unstable (1.001 > 1 + marginal_tol), 1 + 5e-7 marginal (within marginal_tol = 1e-6): a saddle
    with radius 1.001 and two slow directions (|1.001 - 1|, 5e-7 < 0.05); the eigenvalues come
    sorted by modulus (1.001, 1 + 5e-7, -0.9995, 0.3), not by real part."""
    rot = torch.tensor([[0.0, -1.0], [1.0, 0.0]], dtype=F64)
    one = lambda v: torch.tensor([[v]], dtype=F64)  # noqa: E731
    c = torch.tensor([1.0, -2.0, 0.5, 0.25], dtype=F64)
    starts = torch.randn(3, 4, generator=_gen(70), dtype=F64)
    res = rd.find_fixed_points(_block_affine([rot, one(-1.0), one(0.5)], c), initial_states=starts)
    a = torch.block_diag(rot, one(-1.0), one(0.5))
    exact = torch.linalg.solve(torch.eye(4, dtype=F64) - a, c)
    assert res.n_points == 1 and res.stability == ("marginal",) and int(res.n_unstable[0]) == 0
    assert float((res.points[0] - exact).abs().max()) < 1e-12
    assert int(res.n_slow[0]) == 0 and res.slow_manifold_dimension == 0
    assert float(res.spectral_radius[0]) == pytest.approx(1.0, abs=1e-14)
    np.testing.assert_allclose(res.eigenvalues[0].abs().numpy(), [1, 1, 1, 0.5], atol=1e-14)
    assert res.n_isolated == 1 and res.hits.tolist() == [3] and res.complete
    assert res.tol == pytest.approx(1e-10 * math.sqrt(4), rel=1e-12)  # the default 1e-10 sqrt(n), n = 4
    # c = 0 and starts at 0 in the two near-1 coordinates: the point is (0, 0, 0.5 / 1.9995, 0.25 / 0.7)
    # (with |lambda - 1| = 5e-7 < freeze_tol a start elsewhere is, by design, a slow point on a slow manifold)
    c2 = torch.tensor([0.0, 0.0, 0.5, 0.25], dtype=F64)
    starts2 = starts * torch.tensor([1.0, 0.0, 1.0, 1.0], dtype=F64)
    res = rd.find_fixed_points(
        _block_affine([one(1.001), one(1 + 5e-7), one(-0.9995), one(0.3)], c2), initial_states=starts2
    )
    assert res.n_points == 1, res.message
    np.testing.assert_allclose(res.points[0].numpy(), [0, 0, 0.5 / 1.9995, 0.25 / 0.7], rtol=0, atol=1e-12)
    assert res.stability == ("saddle",) and int(res.n_unstable[0]) == 1 and int(res.n_slow[0]) == 2
    # |lambda - 1| = 1e-3 and 5e-7 are far above sqrt(eps_mach) = 1.5e-8: an isolated point, counted
    assert res.n_isolated == 1 and res.complete
    assert float(res.spectral_radius[0]) == pytest.approx(1.001, rel=1e-14)
    np.testing.assert_allclose(res.eigenvalues[0].real.numpy(), [1.001, 1 + 5e-7, -0.9995, 0.3], atol=1e-14)


class LinearFlow(rd.models.base.AbstractFlow):
    """dh/dt = A h + c: one fixed point -A^{-1} c with flow eigenvalues mu of A."""

    def __init__(self, a: torch.Tensor, c: torch.Tensor) -> None:
        super().__init__()
        self.state_size, self.input_size = a.shape[0], 0
        self.register_buffer("a", a)
        self.register_buffer("c", c)

    def _vector_field(self, h, x):
        return h @ self.a.T + self.c

    def _jacobian(self, h, x):
        return self.a.expand(*h.shape[:-1], *self.a.shape)


def test_discretised_flow_stability_follows_the_real_parts() -> None:
    """A flow's fixed point is stable in the directions with Re mu < 0. For a linear flow the RK4
    step is exactly h -> R(A dt) h + ..., R(z) = 1 + z + z^2/2 + z^3/6 + z^4/24, so the map's
    eigenvalues are R(mu dt) exactly; classification by |R(mu dt)| vs 1 then agrees with Re mu vs 0:
    mu = -0.5 +- 2i, 0.3 is a saddle with one unstable direction; -0.5 +- 2i, -0.3 stable;
    0.5 +- 2i, 0.3 unstable."""
    v = torch.tensor([[1.0, 0.3, -0.2], [0.2, 1.0, 0.4], [-0.1, 0.5, 1.0]], dtype=F64)
    c = torch.tensor([0.4, -0.3, 0.2], dtype=F64)
    dt = 0.1
    for re_pair, mu3, want, n_unstable in (
        (-0.5, 0.3, "saddle", 1),
        (-0.5, -0.3, "stable", 0),
        (0.5, 0.3, "unstable", 3),
    ):
        block = torch.tensor([[re_pair, -2.0, 0.0], [2.0, re_pair, 0.0], [0.0, 0.0, mu3]], dtype=F64)
        a = v @ block @ torch.linalg.inv(v)
        fmap = rd.discretise(LinearFlow(a, c), dt=dt, method="rk4")
        res = rd.find_fixed_points(fmap, initial_states=torch.randn(2, 3, generator=_gen(71), dtype=F64))
        assert res.n_points == 1 and res.stability == (want,) and int(res.n_unstable[0]) == n_unstable
        # the map's residual bound 1e-10 sqrt 3 over |J - I| >= |R(mu dt) - 1| ~ 0.03 places it to ~1e-8
        assert float((res.points[0] + torch.linalg.solve(a, c)).abs().max()) < 1e-8
        mu = (
            torch.tensor(
                [complex(re_pair, 2.0), complex(re_pair, -2.0), complex(mu3, 0.0)], dtype=torch.complex128
            )
            * dt
        )
        r = 1 + mu + mu**2 / 2 + mu**3 / 6 + mu**4 / 24
        _same_set(torch.view_as_real(res.eigenvalues[0]).double(), torch.view_as_real(r).double(), 1e-12)
        assert float(res.spectral_radius[0]) == pytest.approx(float(r.abs().max()), rel=1e-12)


def test_two_fixed_points_closer_than_a_thousandth_are_both_listed() -> None:
    """x -> x - 0.5 (x - 0.3)(x - 0.3 - 2e-5) (x + 1): three fixed points, two of them 2e-5 apart
    (slopes 1 -+ 1.3e-5: one unstable, one stable). Both are listed (dedup_tol defaults to
    max(1e3 tol, 1e-7 sqrt n), far below their distance), each found by its own starts."""

    class Close(AbstractMap):
        state_size, input_size = 1, 0

        def _step(self, h, x):
            return h - 0.5 * (h - 0.3) * (h - 0.3 - 2e-5) * (h + 1)

        def _jacobian(self, h, x):
            u = h
            d = (u - 0.3 - 2e-5) * (u + 1) + (u - 0.3) * (u + 1) + (u - 0.3) * (u - 0.3 - 2e-5)
            return (1 - 0.5 * d).unsqueeze(-1)

    starts = torch.tensor([[0.29], [0.2999], [0.30003], [0.31], [-1.2], [-0.8]], dtype=F64)
    res = rd.find_fixed_points(Close(), initial_states=starts)
    order = res.points[:, 0].argsort()
    assert res.n_points == 3  # the residual bound 1e-10 over |F' - 1| = 1.3e-5 places them to ~1e-8
    np.testing.assert_allclose(res.points[order, 0].numpy(), [-1.0, 0.3, 0.3 + 2e-5], rtol=0, atol=1e-8)


class Stall(AbstractMap):
    """(u, v) -> (u - 0.2 (u^2 - 1), v + 0.1 (v - 1)((v + 2)^2 + 0.5)): fixed points (+-1, 1) (slopes
    1 -+ 0.4 and 1.95: a saddle and a repeller); q has a non-zero local minimum at v = -1 - sqrt(30)/6
    (q = 0.011 > slow_tol), where starts with v near -2.5 stall: they reach nothing."""

    state_size, input_size = 2, 0

    def _step(self, h, x):
        u, v = h[..., 0], h[..., 1]
        return torch.stack([u - 0.2 * (u * u - 1), v + 0.1 * (v - 1) * ((v + 2) ** 2 + 0.5)], -1)

    def _jacobian(self, h, x):
        u, v = h[..., 0], h[..., 1]
        z = torch.zeros_like(u)
        dv = 1 + 0.1 * (3 * v * v + 6 * v + 0.5)
        return torch.stack([torch.stack([1 - 0.4 * u, z], -1), torch.stack([z, dv], -1)], -2)


def test_good_turing_counts_every_start_and_the_boundary_passes() -> None:
    """Six starts, three of which reach nothing: (1, 1) is found twice, (-1, 1) once. Good-Turing's
    p_new = N1 / S counts every start (1/6, not 1/3 of the three that converged); Chao1 = D + N1 (N1 -
    1) / (2 (N2 + 1)) = 2. At completeness_tol = 0.01 the search is incomplete (warning); at exactly
    1/6 the check passes (p_new <= completeness_tol) and the status is success."""
    starts = torch.tensor(
        [[1.1, 0.9], [0.9, 1.1], [-0.9, 1.05], [1.2, -2.5], [-1.2, -2.5], [0.8, -2.4]], dtype=F64
    )
    res = rd.find_fixed_points(Stall(), initial_states=starts, throw=False)
    order = res.points[:, 0].argsort()
    np.testing.assert_allclose(res.points[order].numpy(), [[-1, 1], [1, 1]], rtol=0, atol=1e-11)
    assert res.hits[order].tolist() == [1, 2] and res.n_converged == 3 and res.slow_points.shape[0] == 0
    assert [res.stability[i] for i in order] == ["unstable", "saddle"]
    assert res.n_found_once == 1 and res.p_new == 1 / 6 and res.n_points_estimate == 2.0
    assert res.status == "warning" and not res.complete and "found by 3 of 6 starts" in res.message
    edge = rd.find_fixed_points(Stall(), initial_states=starts, completeness_tol=1 / 6, throw=False)
    assert edge.p_new == edge.completeness_tol == 1 / 6
    assert edge.complete and edge.status == "success" and "0.17 <= completeness_tol" in edge.message
    # the summary table's rows say the same
    rows, edge_rows = dict(fixed_point_summary(res)), dict(fixed_point_summary(edge))
    assert rows["completeness (Good-Turing)"] == (
        "incomplete: 1 found by one start only, p_new = 0.17 (tol 0.01); about 2 isolated points (Chao1)"
    )
    assert edge_rows["completeness (Good-Turing)"].startswith("complete: 1 found by one start only")
    assert rows["starts / converged"] == "6 / 3" and rows["fixed points"] == "2 (1 saddle, 1 unstable)"
    assert rows["starts drawn (what the census counts)"] == "6 given initial_states"


class OddClose(AbstractMap):
    """x -> x - 50 x (x^2 - a^2)(x^2 - b^2), a = 0.3, b = 0.30002: odd, fixed points 0, +-a, +-b; a and
    -b are 2e-5 + 2a apart, but -a and -b are only 2e-5 apart."""

    state_size, input_size = 1, 0
    a, b = 0.3, 0.30002

    def _step(self, h, x):
        return h - 50 * h * (h * h - self.a**2) * (h * h - self.b**2)

    def _jacobian(self, h, x):
        u2 = h * h
        d = (u2 - self.a**2) * (u2 - self.b**2) + 2 * u2 * ((u2 - self.b**2) + (u2 - self.a**2))
        return (1 - 50 * d).unsqueeze(-1)


def test_odd_partners_are_exact_mirror_images_not_near_ones() -> None:
    """Starts near a and near -b only: the partners -a and b are added by symmetry although -b lies
    2e-5 from -a (a partner is a point within dedup_tol of -h, here 1e-7, not a nearby one); all
    four non-zero points are listed, each with its exact position."""
    starts = torch.tensor([[0.2999], [0.29995], [-0.30005], [-0.3001]], dtype=F64)
    res = rd.find_fixed_points(OddClose(), initial_states=starts, throw=False)
    assert res.odd_map and res.n_points == 4 and res.n_added_by_symmetry == 2, res.message
    order = res.points[:, 0].argsort()
    a, b = OddClose.a, OddClose.b
    np.testing.assert_allclose(res.points[order, 0].numpy(), [-b, -a, a, b], rtol=0, atol=1e-9)
    assert res.from_symmetry[order].tolist() == [False, True, False, True]


def test_a_nearly_odd_map_is_not_odd() -> None:
    """tanh(W h + b) with b = 1e-9 (or 1e-12) in every unit is odd only up to O(b): the probe's
    relative error |F(-h) + F(h)| / (...) is linear in b (the two values differ by 1000x to 1e-3),
    far above round-off (64 eps sqrt n = 4.5e-14), so the map is not treated as odd and no partner
    is added; at b = 0 the arithmetic is exactly odd (error 0)."""
    errors = []
    for bias in (1e-9, 1e-12):
        net = rd.VanillaRNN(10, g=3.0, generator=_gen(0), dtype=F64)
        with torch.no_grad():
            net.bias.fill_(bias)
        starts = 2 * torch.randn(4, 10, generator=_gen(2), dtype=F64)
        res = rd.find_fixed_points(net, initial_states=starts, throw=False)
        assert not res.odd_map and res.n_added_by_symmetry == 0 and "odd map" not in res.message
        assert 1e-1 * bias < res.symmetry_error < 1e1 * bias
        errors.append(res.symmetry_error)
    assert errors[0] / errors[1] == pytest.approx(1000, rel=1e-3)


def test_a_partner_that_fails_verification_is_left_out() -> None:
    """The safety net behind the symmetry probe: a map whose tangent hook is the odd double well
    (so the probe finds it odd) but whose step adds 0.3 to u < 0, where it has no fixed point (u^3 -
    u - 1.5 = 0 has no negative root). The partner (-1, 0) of the sink (1, 0) is polished, its
    residual recomputed from the step, and it fails: not added, the check symmetry_partners fails
    (value 1) and the status is warning."""

    class Fooled(DoubleWell):
        def _step(self, h, x):
            return DoubleWell._step(self, h, x) + 0.3 * torch.stack(
                [(h[..., 0] < 0).to(h), 0 * h[..., 1]], -1
            )

        def _step_and_tangent(self, h, x, Q):
            return DoubleWell._step(self, h, x), DoubleWell._jacobian(self, h, x) @ Q

    starts = torch.tensor([[0.8, 0.3], [1.1, -0.5], [1.3, 0.2], [1.6, -1.0]], dtype=F64)
    res = rd.find_fixed_points(Fooled(), initial_states=starts, throw=False)
    assert res.odd_map and res.n_points == 1 and res.n_added_by_symmetry == 0, res.message
    np.testing.assert_allclose(res.points.numpy(), [[1.0, 0.0]], rtol=0, atol=1e-12)
    check = res.check("symmetry_partners")
    assert not check.passed and check.value == 1 and res.status == "warning"
    assert "1 candidate partner(s) failed that verification and were left out" in res.message


class Cubic(AbstractMap):
    """x -> x - 0.03 x (x^2 - 1): fixed points -1, 0, 1 with slopes 0.94, 1.03, 0.94."""

    state_size, input_size = 1, 0

    def _step(self, h, x):
        return h - 0.03 * h * (h * h - 1)

    def _jacobian(self, h, x):
        return (1 - 0.03 * (3 * h * h - 1)).unsqueeze(-1)


class Ghost2(AbstractMap):
    """(u, v) -> (u + 1e-3 + u^2, 1.07 v): no fixed point; a slow point at 0 with eigenvalues 1, 1.07."""

    state_size, input_size = 2, 0

    def _step(self, h, x):
        u, v = h[..., 0], h[..., 1]
        return torch.stack([u + 1e-3 + u * u, 1.07 * v], -1)

    def _jacobian(self, h, x):
        u = h[..., 0]
        z = torch.zeros_like(u)
        return torch.stack([torch.stack([1 + 2 * u, z], -1), torch.stack([z, z + 1.07], -1)], -2)


class TwoLines(AbstractMap):
    """(u, v) -> (u, v - (v^2 - 1) / 2): two parallel lines of fixed points, v = 1 (eigenvalues 1, 0)
    and v = -1 (1, 2)."""

    state_size, input_size = 2, 0

    def _step(self, h, x):
        u, v = h[..., 0], h[..., 1]
        return torch.stack([u, v - 0.5 * (v * v - 1)], -1)

    def _jacobian(self, h, x):
        u, v = h[..., 0], h[..., 1]
        z = torch.zeros_like(u)
        return torch.stack([torch.stack([z + 1, z], -1), torch.stack([z, 1 - v], -1)], -2)


def test_slow_directions_their_median_and_what_a_line_attractor_needs() -> None:
    """Exact eigenvalues. (a) Cubic: |0.94 - 1| = 0.06 is not slow, |1.03 - 1| is (eps_slow 0.05):
    n_slow 0, 1, 0 and the slow-manifold dimension is their median, 0. (b) Ghost2: the slow point at
    0 has one slow direction (1), not two (1.07 is 0.07 from 1). (c) Two parallel lines of fixed
    points: one slow direction everywhere, but the points span two dimensions (PCA: the split in v
    carries 75% of the variance, under 95%), so this is not a line attractor."""
    starts = torch.tensor([[-1.3], [-0.9], [-0.2], [0.1], [0.8], [1.2]], dtype=F64)
    res = rd.find_fixed_points(Cubic(), initial_states=starts)
    order = res.points[:, 0].argsort()
    np.testing.assert_allclose(res.points[order, 0].numpy(), [-1, 0, 1], rtol=0, atol=1e-12)
    np.testing.assert_allclose(res.eigenvalues[order, 0].real.numpy(), [0.94, 1.03, 0.94], atol=1e-14)
    assert res.n_slow[order].tolist() == [0, 1, 0] and res.slow_manifold_dimension == 0
    assert [res.stability[i] for i in order] == ["stable", "unstable", "stable"]
    ghost = rd.find_fixed_points(Ghost2(), initial_states=torch.tensor([[-0.3, 0.2], [0.2, -0.1]], dtype=F64))
    assert (
        ghost.n_points == 0
        and ghost.slow_points.shape[0] == 1
        and float(ghost.slow_points.abs().max()) < 1e-6
    )
    assert ghost.slow_n_slow.tolist() == [1] and ghost.slow_manifold_dimension == 1
    assert float(ghost.slow_speeds[0]) == pytest.approx(0.5e-6, rel=1e-5)
    gen = _gen(0)
    u = 2 * torch.rand(24, generator=gen, dtype=F64) - 1
    v = torch.where(torch.rand(24, generator=gen, dtype=F64) < 0.5, 0.7, -1.4).to(F64)
    lines = rd.find_fixed_points(TwoLines(), initial_states=torch.stack([u, v], -1))
    assert lines.n_points == 24 and torch.all(lines.n_slow == 1) and lines.slow_manifold_dimension == 1
    v_found = lines.points[:, 1]
    assert float((v_found.abs() - 1).abs().max()) < 1e-9 and bool((v_found > 0).any() and (v_found < 0).any())
    assert lines.points_dimension == 2 and not lines.line_attractor


def test_input_conditioned_spectrum_is_taken_at_the_input() -> None:
    """h -> tanh(W h + U x) at a constant input x = 1.5: at a fixed point tanh(W h* + U x) = h*, so
    the Jacobian is exactly diag(1 - h*^2) W; its eigenvalues (computed here from the weights) must be
    the result's, which needs the Jacobian evaluated at the input (at x = 0 it would be
    diag(1 - tanh(W h*)^2) W)."""
    net = rd.VanillaRNN(6, g=0.8, input_size=1, generator=_gen(80), dtype=F64)
    x = torch.tensor([1.5], dtype=F64)
    res = rd.find_fixed_points(net, inputs=x, initial_states=torch.randn(3, 6, generator=_gen(81), dtype=F64))
    assert res.n_points == 1 and res.stability == ("stable",), res.message
    h = res.points[0]
    with torch.no_grad():
        assert float((torch.tanh(net.weight_hh @ h + net.weight_ih @ x) - h).abs().max()) < 1e-12
        exact = torch.linalg.eigvals((1 - h * h).unsqueeze(-1) * net.weight_hh)
    _same_set(torch.view_as_real(res.eigenvalues[0]), torch.view_as_real(exact), 1e-12)
    assert float(h.abs().max()) > 0.3  # the input moves the point well away from 0

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
    assert (tmp_path / "fixed_points.png").exists()
    bad = runner.invoke(app, ["fixed-points", "--model", "henon", "--tol", "-1", "--no-progress"])
    assert bad.exit_code == 2 and "tol" in bad.output and "Traceback" not in bad.output

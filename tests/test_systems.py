"""Reference systems and vanilla models: exact structural facts."""

from __future__ import annotations

import pytest
import torch

import rnndyn as rd
from rnndyn.jacobians import autograd_jacobian

F64 = torch.float64


def test_henon_det_is_minus_b() -> None:
    h = rd.Henon().initial_state((5,), generator=torch.Generator().manual_seed(0))
    torch.testing.assert_close(torch.linalg.det(rd.Henon().jacobian(h)), torch.full((5,), -0.3, dtype=F64))


def test_lorenz_divergence_is_constant() -> None:
    lor = rd.Lorenz63()
    h = lor.initial_state((4,), generator=torch.Generator().manual_seed(0), scale=5.0)
    tr = torch.diagonal(lor.jacobian(h), dim1=-2, dim2=-1).sum(-1)
    torch.testing.assert_close(tr, torch.full((4,), -(10 + 1 + 8 / 3), dtype=F64))


def test_lorenz96_divergence_is_minus_n() -> None:
    m = rd.Lorenz96(12)
    h = m.initial_state((3,), generator=torch.Generator().manual_seed(1), scale=3.0)
    tr = torch.diagonal(m.jacobian(h), dim1=-2, dim2=-1).sum(-1)
    torch.testing.assert_close(tr, torch.full((3,), -12.0, dtype=F64))


def test_lorenz_fixed_points_are_zeros_of_the_field() -> None:
    s = (8 / 3 * 27) ** 0.5
    pts = torch.tensor([[0.0, 0.0, 0.0], [s, s, 27.0], [-s, -s, 27.0]], dtype=F64)
    torch.testing.assert_close(
        rd.Lorenz63().vector_field(pts), torch.zeros(3, 3, dtype=F64), atol=1e-12, rtol=0
    )


def test_rossler_fixed_points_and_divergence() -> None:
    # x' = -y - z, y' = x + a y, z' = b + z (x - c): fixed points x = a z, y = -z with
    # a z^2 - c z + b = 0; the divergence is a + x - c at every state
    a, b, c = 0.2, 0.2, 5.7
    ros = rd.Rossler(a=a, b=b, c=c).double()
    disc = (c * c - 4 * a * b) ** 0.5
    z = torch.tensor([(c - disc) / (2 * a), (c + disc) / (2 * a)], dtype=F64)
    pts = torch.stack([a * z, -z, z], -1)
    torch.testing.assert_close(ros.vector_field(pts), torch.zeros(2, 3, dtype=F64), atol=1e-12, rtol=0)
    h = ros.initial_state((4,), generator=torch.Generator().manual_seed(2), scale=3.0)
    tr = torch.diagonal(ros.jacobian(h), dim1=-2, dim2=-1).sum(-1)
    torch.testing.assert_close(tr, a + h[:, 0] - c, atol=1e-14, rtol=0)


def test_lorenz96_uniform_state_is_a_fixed_point() -> None:
    # x_i = F for all i: (x_{i+1} - x_{i-2}) x_{i-1} = 0 and -x_i + F = 0
    m = rd.Lorenz96(7, forcing=5.5)
    torch.testing.assert_close(
        m.vector_field(torch.full((7,), 5.5, dtype=F64)), torch.zeros(7, dtype=F64), atol=0, rtol=0
    )


def test_forced_duffing_divergence_and_unforced_energy() -> None:
    # x' = v, v' = -delta v + x - x^3 + gamma cos(theta), theta' = omega: divergence -delta at every
    # state (so the exponents of the flow sum to -delta); with delta = gamma = 0 the energy
    # E = v^2/2 - x^2/2 + x^4/4 is conserved (RK4 error O(dt^4), 10 time units)
    from rnndyn.training import ForcedDuffing

    duff = ForcedDuffing()
    h = torch.randn(5, 3, generator=torch.Generator().manual_seed(3), dtype=F64)
    tr = torch.diagonal(duff.jacobian(h), dim1=-2, dim2=-1).sum(-1)
    torch.testing.assert_close(tr, torch.full((5,), -0.1, dtype=F64), atol=1e-14, rtol=0)
    free = rd.discretise(ForcedDuffing(delta=0.0, gamma=0.0), dt=0.05, method="rk4")
    traj = rd.simulate(free, torch.tensor([0.5, 0.3, 0.0], dtype=F64), n_steps=200)

    def energy(s: torch.Tensor) -> torch.Tensor:
        return 0.5 * s[..., 1] ** 2 - 0.5 * s[..., 0] ** 2 + 0.25 * s[..., 0] ** 4

    e0 = energy(torch.tensor([0.5, 0.3, 0.0], dtype=F64))
    assert float((energy(traj) - e0).abs().max()) < 1e-6  # measured 1.3e-7
    assert float(traj[:, 0].max() - traj[:, 0].min()) > 0.5  # it moved: the check has teeth


def test_subcritical_vanilla_contracts_to_zero() -> None:
    net = rd.VanillaRNN(64, g=0.5, generator=torch.Generator().manual_seed(0), dtype=F64)
    traj = rd.simulate(net, n_steps=1, n_transient=200, generator=torch.Generator().manual_seed(1))
    assert float(traj.abs().max()) < 1e-20


def test_rate_zero_diagonal_trace_is_minus_n() -> None:
    net = rd.RateRNN(20, g=3.0, zero_diagonal=True, generator=torch.Generator().manual_seed(0), dtype=F64)
    h = net.initial_state((2,), generator=torch.Generator().manual_seed(1))
    tr = torch.diagonal(net.jacobian(h), dim1=-2, dim2=-1).sum(-1)
    torch.testing.assert_close(tr, torch.full((2,), -20.0, dtype=F64))


def test_gaussian_gain_sets_spectral_radius() -> None:
    # circular law: eigenvalues of W ~ N(0, g^2/N) fill the disk of radius g
    net = rd.VanillaRNN(400, g=1.7, generator=torch.Generator().manual_seed(0), dtype=F64)
    radius = float(torch.linalg.eigvals(net.weight_hh.detach()).abs().max())
    assert abs(radius / 1.7 - 1.0) < 0.08


@pytest.mark.parametrize(
    ("kwargs", "exc", "match"),
    [
        ({"g": -1.0}, ValueError, "`g` must be in"),
        ({"activation": "sigmoid"}, ValueError, "`activation` must be one of"),
        ({"init": "bogus"}, ValueError, "`init` must be one of"),
        ({"generator": 3}, TypeError, "`generator`"),
        ({"input_size": -1}, ValueError, "`input_size` must be an int >= 0"),
    ],
)
def test_vanilla_bad_arguments(kwargs, exc, match) -> None:
    with pytest.raises(exc, match=match):
        rd.VanillaRNN(4, **kwargs)


def test_bad_n() -> None:
    with pytest.raises(ValueError, match="`n` must be an int >= 1"):
        rd.VanillaRNN(0)
    with pytest.raises(TypeError, match="`n` must be an int"):
        rd.RateRNN(3.5)


@pytest.mark.parametrize("activation", ["tanh", "relu"])
def test_vanilla_step_by_hand_with_bias_and_input(activation: str) -> None:
    # docs/theory/gated.md (004-1): h' = phi(W h + U x + b); b = bias + bias_std N(0, 1)
    net = rd.VanillaRNN(4, g=1.5, input_size=2, activation=activation, bias=0.4, bias_std=0.3,
                        generator=torch.Generator().manual_seed(0), dtype=F64)  # fmt: skip
    h = torch.tensor([0.3, -0.8, 0.5, 0.1], dtype=F64)
    x = torch.tensor([1.2, -0.4], dtype=F64)
    phi = torch.tanh if activation == "tanh" else torch.relu
    with torch.no_grad():
        a = net.weight_hh @ h + net.weight_ih @ x + net.bias
        assert float((net.bias - 0.4).abs().max()) > 0.01  # the quenched part is there
        torch.testing.assert_close(net.step(h, x), phi(a), rtol=1e-15, atol=1e-15)
        # the SCS flow built the same way: dh/dt = -h + W phi(h) + U x + b
        rate = rd.RateRNN(4, g=1.5, input_size=2, activation=activation, bias=0.4, bias_std=0.3,
                          generator=torch.Generator().manual_seed(0), dtype=F64)  # fmt: skip
        want = -h + rate.weight_hh @ phi(h) + rate.weight_ih @ x + rate.bias
        torch.testing.assert_close(rate.vector_field(h, x), want, rtol=1e-15, atol=1e-15)


def test_relu_jacobian_at_the_zero_fixed_point_uses_relu_prime_zero() -> None:
    # a = 0 exactly at h = 0 with zero bias: phi'(0) = 0 (torch's autograd convention, as PLRNN),
    # so the zero fixed point of a relu network is superstable (J = 0), not J = W
    net = rd.VanillaRNN(5, g=2.0, activation="relu", generator=torch.Generator().manual_seed(1), dtype=F64)
    zero = torch.zeros(5, dtype=F64)
    jac = net.jacobian(zero).detach()
    torch.testing.assert_close(jac, autograd_jacobian(net._step, zero, None), rtol=0, atol=0)
    assert float(jac.abs().max()) == 0.0
    q = torch.eye(5, dtype=F64)
    assert float(net.step_and_tangent(zero, None, q)[1].detach().abs().max()) == 0.0


def test_forced_duffing_vector_field_by_hand() -> None:
    # x' = v, v' = -delta v + x - x^3 + gamma cos(theta), theta' = omega (docs/theory/chaos.md §2.5);
    # the divergence and energy checks above cannot see the forcing term's phase (gamma = 0 there)
    from rnndyn.training import ForcedDuffing

    duff = ForcedDuffing(delta=0.2, gamma=0.35, omega=1.4)
    h = torch.tensor([[0.7, -0.3, 1.0], [-1.2, 0.5, 2.5]], dtype=F64)
    x, v, th = h.unbind(-1)
    want = torch.stack([v, -0.2 * v + x - x**3 + 0.35 * torch.cos(th), torch.full_like(th, 1.4)], -1)
    torch.testing.assert_close(duff.vector_field(h), want, rtol=1e-15, atol=1e-15)

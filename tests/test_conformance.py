"""One conformance suite over every model (DESIGN.md): analytic Jacobian = autograd = central
finite differences (float64, 1e-8 relative), batch consistency, dtype/device following the input,
state split/join round trip, and clear errors on bad states/inputs."""

from __future__ import annotations

import pytest
import torch

import rnndyn as rd
from model_zoo import ZOO
from rnndyn.jacobians import autograd_jacobian, finite_difference_jacobian

F64 = torch.float64


def _state_and_input(model: rd.AbstractSystem, batch: tuple[int, ...], seed: int = 0):
    gen = torch.Generator().manual_seed(seed)
    h = model.initial_state(batch, generator=gen)
    x = torch.randn(*batch, model.input_size, generator=gen, dtype=F64) if model.input_size else None
    return h, x


def _rel(a: torch.Tensor, b: torch.Tensor) -> float:
    a, b = a.detach(), b.detach()
    return float((a - b).abs().max() / b.abs().max().clamp_min(1e-300))


@pytest.mark.parametrize("name", sorted(ZOO))
def test_jacobian_analytic_autograd_fd(name: str) -> None:
    model = ZOO[name]()
    h, x = _state_and_input(model, (3,))
    jac = model.jacobian(h, x)
    # models whose tangent space is a leading block of the state (LSTM h-only) declare tangent_size
    k = getattr(model, "tangent_size", model.state_size)
    assert jac.shape == (3, k, k)
    ag = autograd_jacobian(model._rhs, h, x)[..., :k, :k]
    fd = finite_difference_jacobian(model._rhs, h, x)[..., :k, :k]
    assert _rel(jac, ag) < 1e-12, "analytic vs autograd"
    assert _rel(jac, fd) < 1e-8, "analytic vs central finite differences"


@pytest.mark.parametrize("name", sorted(ZOO))
def test_batch_consistency(name: str) -> None:
    model = ZOO[name]()
    h, x = _state_and_input(model, (2, 3), seed=1)
    out = model._rhs(h, x)
    assert out.shape == h.shape
    for i in range(2):
        for j in range(3):
            xi = None if x is None else x[i, j]
            torch.testing.assert_close(model._rhs(h[i, j], xi), out[i, j], rtol=1e-13, atol=1e-13)
    jac = model.jacobian(h, x)
    torch.testing.assert_close(jac[1, 2], model.jacobian(h[1, 2], None if x is None else x[1, 2]))


@pytest.mark.parametrize("name", sorted(ZOO))
def test_dtype_follows_input(name: str) -> None:
    model = ZOO[name]().to(torch.float32)
    h, x = _state_and_input(model, (2,), seed=2)
    assert h.dtype == torch.float32
    x32 = None if x is None else x.float()
    out = model.step(h, x32) if isinstance(model, rd.AbstractMap) else model.vector_field(h, x32)
    assert out.dtype == torch.float32 and out.device == h.device
    assert model.jacobian(h, x32).dtype == torch.float32
    with pytest.raises(TypeError, match="dtype"):
        model.jacobian(h.double(), None if x is None else x.double())


@pytest.mark.parametrize("name", sorted(ZOO))
def test_split_join_round_trip(name: str) -> None:
    model = ZOO[name]()
    h, _ = _state_and_input(model, (4,), seed=3)
    parts = model.split_state(h)
    assert sum(p.shape[-1] for p in parts.values()) == model.state_size
    torch.testing.assert_close(model.join_state(**parts), h, rtol=0, atol=0)


@pytest.mark.parametrize("name", sorted(ZOO))
def test_bad_state_and_input(name: str) -> None:
    model = ZOO[name]()
    n, d = model.state_size, model.input_size
    with pytest.raises(ValueError, match=rf"`h` must have shape \(\*batch, {n}\)"):
        model.jacobian(torch.zeros(2, n + 1, dtype=F64))
    bad = model.initial_state((2,))
    bad[1, 0] = float("nan")
    with pytest.raises(ValueError, match="`h` must be finite"):
        model.jacobian(bad)
    h = model.initial_state((2,))
    with pytest.raises(ValueError, match="`x`"):
        model.jacobian(h, torch.zeros(2, d + 1, dtype=F64))
    with pytest.raises(TypeError, match="`h` must be a torch.Tensor"):
        model.jacobian(h.numpy())


@pytest.mark.parametrize("name", sorted(ZOO))
def test_simulate_runs_every_model(name: str) -> None:
    model = ZOO[name]()
    if isinstance(model, rd.AbstractFlow):
        with pytest.raises(TypeError, match="discretise"):
            rd.simulate(model, n_steps=3)
        model = rd.discretise(model, dt=0.01)
    traj = rd.simulate(model, n_steps=5, batch_shape=(2,), generator=torch.Generator().manual_seed(0))
    assert traj.shape == (2, 5, model.state_size)
    # the recorded trajectory is the map iterated: h_{t+1} = F(h_t)
    torch.testing.assert_close(model._step(traj[:, 0], None), traj[:, 1])

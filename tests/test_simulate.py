"""Simulation: exact iterates, inputs, transients, batching and errors."""

from __future__ import annotations

import pytest
import torch

import rnndyn as rd

F64 = torch.float64


def test_logistic_iterates_exactly() -> None:
    m = rd.Logistic(r=3.9)
    x0 = torch.tensor([0.2], dtype=F64)
    traj = rd.simulate(m, x0, n_steps=4, n_transient=2)
    x = 0.2
    ref = []
    for _ in range(6):
        x = 3.9 * x * (1 - x)
        ref.append(x)
    torch.testing.assert_close(traj[:, 0], torch.tensor(ref[2:], dtype=F64), rtol=1e-15, atol=0)


def test_inputs_drive_the_vanilla_map() -> None:
    net = rd.VanillaRNN(4, g=0.9, input_size=2, generator=torch.Generator().manual_seed(0), dtype=F64)
    gen = torch.Generator().manual_seed(1)
    inputs = torch.randn(3, 10, 2, generator=gen, dtype=F64)
    h0 = torch.zeros(3, 4, dtype=F64)
    traj = rd.simulate(net, h0, inputs=inputs, n_transient=4)
    assert traj.shape == (3, 6, 4)
    h = h0
    for t in range(10):
        h = torch.tanh(h @ net.weight_hh.T + inputs[:, t] @ net.weight_ih.T + net.bias)
    torch.testing.assert_close(traj[:, -1], h.detach())


def test_default_h0_is_reproducible() -> None:
    net = rd.VanillaRNN(6, g=1.5, generator=torch.Generator().manual_seed(0), dtype=F64)
    a = rd.simulate(net, n_steps=5, batch_shape=(2,), generator=torch.Generator().manual_seed(3))
    b = rd.simulate(net, n_steps=5, batch_shape=(2,), generator=torch.Generator().manual_seed(3))
    torch.testing.assert_close(a, b, rtol=0, atol=0)


def test_errors() -> None:
    net = rd.VanillaRNN(4, input_size=2, dtype=F64)
    with pytest.raises(ValueError, match=r"`h0` must have shape \(\*batch, 4\)"):
        rd.simulate(net, torch.zeros(3, dtype=F64), n_steps=2)
    with pytest.raises(ValueError, match=r"`inputs` must have shape \(\*batch, T, 2\)"):
        rd.simulate(net, n_steps=2, inputs=torch.zeros(5, 3, dtype=F64))
    with pytest.raises(ValueError, match="must cover"):
        rd.simulate(net, n_steps=5, n_transient=2, inputs=torch.zeros(5, 2, dtype=F64))
    with pytest.raises(ValueError, match="`n_steps` must be an int >= 1"):
        rd.simulate(net, n_steps=0)
    with pytest.raises(TypeError, match="`n_steps` is required"):
        rd.simulate(net)
    with pytest.raises(TypeError, match="discretise"):
        rd.simulate(rd.RateRNN(4), n_steps=3)
    with pytest.raises(TypeError, match="from_torch"):
        rd.simulate(torch.nn.RNN(3, 4), n_steps=3)
    nan_inputs = torch.zeros(5, 2, dtype=F64)
    nan_inputs[2, 1] = float("nan")
    with pytest.raises(ValueError, match="`inputs` must be finite"):
        rd.simulate(net, inputs=nan_inputs)


def test_divergence_is_reported() -> None:
    # Logistic map with r = 4 started outside [0, 1] runs off to -inf.
    with pytest.raises(ValueError, match="diverged"):
        rd.simulate(rd.Logistic(r=4.0), torch.tensor([1.5], dtype=F64), n_steps=20)

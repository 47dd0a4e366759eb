"""The reverse-mode tangent product (double vjp) that the analyses' Jacobian self-check uses,
against forward mode and the dense autograd Jacobian on every model and wrapper."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest
import torch

import rnndyn as rd
from model_zoo import WRAPPERS, ZOO
from rnndyn.jacobians import autograd_jacobian, reverse_tangent_map, tangent_map

F64 = torch.float64
SYSTEMS = {**ZOO, **WRAPPERS}


@pytest.mark.parametrize("name", sorted(SYSTEMS))
def test_reverse_tangent_map_equals_forward_mode_and_dense_jacobian(name):
    model = SYSTEMS[name]()
    gen = torch.Generator().manual_seed(7)
    h = model.initial_state((2,), generator=gen)
    x = torch.randn(2, model.input_size, generator=gen, dtype=F64) if model.input_size else None
    v = torch.randn(2, model.state_size, 3, generator=gen, dtype=F64)
    fn = model._rhs
    rev = reverse_tangent_map(fn, h, v, x)
    fwd = tangent_map(fn, h, v, x).detach()
    dense = (autograd_jacobian(fn, h, x) @ v).detach()
    scale = float(dense.detach().abs().max())
    assert float((rev - fwd).abs().max()) <= 1e-12 * scale
    assert float((rev - dense).abs().max()) <= 1e-12 * scale
    assert not rev.requires_grad


def test_reverse_tangent_map_exact_cases():
    # a linear map: J V = A V exactly, whatever the state; a constant map: J = 0
    a = torch.tensor([[2.0, -1.0], [0.5, 3.0]], dtype=F64)
    h = torch.tensor([[0.3, -0.2], [1.0, 4.0]], dtype=F64)
    v = torch.tensor([[[1.0, 0.0], [0.0, 1.0]], [[1.0, 2.0], [3.0, 4.0]]], dtype=F64)
    assert torch.equal(reverse_tangent_map(lambda s, _x: s @ a.T, h, v), a @ v)
    zero = reverse_tangent_map(lambda s, _x: torch.ones_like(s), h, v)
    assert torch.equal(zero, torch.zeros(2, 2, 2, dtype=F64))


def test_jacobian_check_still_catches_a_wrong_jacobian():
    class Wrong(rd.VanillaRNN):
        def _jacobian(self, h, x):
            return 1.01 * super()._jacobian(h, x)

        _step_and_tangent = None

    net = Wrong(6, g=1.5, generator=torch.Generator().manual_seed(0), dtype=F64)
    res = rd.check_jacobian(net, generator=torch.Generator().manual_seed(1))
    assert res.status == "failed"
    assert 0.009 < res.max_error < 0.011  # 2 * 0.01 / 2.01 = 0.00995


@pytest.mark.slow
def test_first_analysis_in_a_process_loads_neither_dynamo_nor_sympy():
    # functorch's forward mode imports torch._dynamo (~2 s) and autograd.grad with explicit
    # grad_outputs imports sympy (~1.5 s); the self-check every analysis runs needs neither
    code = textwrap.dedent(
        """
        import sys, torch, rnndyn as rd
        gen = torch.Generator().manual_seed(0)
        net = rd.VanillaRNN(10, g=2.0, generator=gen, dtype=torch.float64)
        res = rd.lyapunov_spectrum(net, n_steps=1000, generator=gen)
        gru = rd.from_torch(torch.nn.GRU(2, 5).double())
        chk = rd.check_jacobian(gru, generator=gen)
        print(res.status, chk.status, "torch._dynamo" in sys.modules, "sympy" in sys.modules)
        """
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["success", "success", "False", "False"], out.stdout + out.stderr


def test_reverse_tangent_map_names_bad_input():
    h = torch.zeros(2, 3, dtype=F64)
    fn = lambda s, _x: s  # noqa: E731
    with pytest.raises(TypeError, match="`vectors` must be a torch.Tensor; got list"):
        reverse_tangent_map(fn, h, [[1.0]])
    with pytest.raises(ValueError, match=r"`vectors` must have shape \(\*batch, 3, k\) .* got \(2, 4, 1\)"):
        reverse_tangent_map(fn, h, torch.zeros(2, 4, 1, dtype=F64))

"""The reverse-mode tangent product (double vjp) that the analyses' Jacobian self-check uses,
against forward mode and the dense autograd Jacobian on every model and wrapper; the dense
autograd Jacobian's two routes (replicated state, torch.func.jacrev) against each other and exact
cases."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest
import torch

import rnndyn as rd
from model_zoo import WRAPPERS, ZOO
from rnndyn import _autodiff
from rnndyn.jacobians import autograd_jacobian, reverse_tangent_map, tangent_map

F64 = torch.float64
SYSTEMS = {**ZOO, **WRAPPERS}


@pytest.mark.parametrize("name", sorted(SYSTEMS))
def test_reverse_tangent_map_equals_forward_mode_and_dense_jacobian(name, monkeypatch):
    model = SYSTEMS[name]()
    gen = torch.Generator().manual_seed(7)
    h = model.initial_state((2,), generator=gen)
    x = torch.randn(2, model.input_size, generator=gen, dtype=F64) if model.input_size else None
    v = torch.randn(2, model.state_size, 3, generator=gen, dtype=F64)
    fn = model._rhs
    rev = reverse_tangent_map(fn, h, v, x)
    fwd = tangent_map(fn, h, v, x).detach()
    jac = autograd_jacobian(fn, h, x).detach()
    dense = jac @ v
    scale = float(dense.abs().max())
    assert float((rev - fwd).abs().max()) <= 1e-12 * scale
    assert float((rev - dense).abs().max()) <= 1e-12 * scale
    assert not rev.requires_grad
    # `jac` took the replicated-state route (2 * n * n <= REPLICATE_MAX); torch.func.jacrev's
    # (the route above REPLICATE_MAX) agrees entry by entry
    assert 2 * model.state_size**2 <= _autodiff.REPLICATE_MAX
    replicated = _autodiff._replicated_jacobian(fn, h, x)  # None: fn failed the row-wise check
    assert replicated is not None and torch.equal(replicated.detach(), jac)
    monkeypatch.setattr(_autodiff, "REPLICATE_MAX", 0)
    jacrev = autograd_jacobian(fn, h, x).detach()
    assert float((jac - jacrev).abs().max()) <= 1e-12 * float(jacrev.abs().max())


def test_reverse_tangent_map_exact_cases():
    # a linear map: J V = A V exactly, whatever the state; a constant map: J = 0
    a = torch.tensor([[2.0, -1.0], [0.5, 3.0]], dtype=F64)
    h = torch.tensor([[0.3, -0.2], [1.0, 4.0]], dtype=F64)
    v = torch.tensor([[[1.0, 0.0], [0.0, 1.0]], [[1.0, 2.0], [3.0, 4.0]]], dtype=F64)
    assert torch.equal(reverse_tangent_map(lambda s, _x: s @ a.T, h, v), a @ v)
    zero = reverse_tangent_map(lambda s, _x: torch.ones_like(s), h, v)
    assert torch.equal(zero, torch.zeros(2, 2, 2, dtype=F64))


def test_autograd_jacobian_exact_cases_gradients_and_bad_output(monkeypatch):
    a = torch.tensor([[2.0, -1.0, 0.0], [0.5, 3.0, 1.0], [0.0, -2.0, 0.25]], dtype=F64)
    h = torch.tensor([[0.3, -0.2, 1.0], [1.0, 4.0, -3.0]], dtype=F64)
    # a linear map: J = A exactly at every state (batch shape () and (2,), inputs broadcast)
    assert torch.equal(autograd_jacobian(lambda s, _x: s @ a.T, h), a.expand(2, 3, 3))
    assert torch.equal(
        autograd_jacobian(lambda s, x: s @ a.T + x, h[0], torch.ones(4, 1, 3, dtype=F64)),
        a.expand(4, 1, 3, 3),
    )
    # constant maps (with and without a parameter): J = 0
    w = torch.randn(3, 3, dtype=F64, generator=torch.Generator().manual_seed(0), requires_grad=True)
    assert torch.equal(
        autograd_jacobian(lambda s, _x: torch.ones_like(s), h), torch.zeros(2, 3, 3, dtype=F64)
    )
    assert torch.equal(
        autograd_jacobian(lambda s, _x: w.sum(0).expand_as(s), h), torch.zeros(2, 3, 3, dtype=F64)
    )

    # tanh(W h): J = diag(1 - tanh^2) W; under grad mode J is differentiable in W (as jacrev's),
    # under no_grad it is detached
    def fn(s, _x):
        return torch.tanh(s @ w.T)

    def loss_grads(jac):
        return torch.autograd.grad((jac**2 * torch.arange(9.0, dtype=F64).reshape(3, 3)).sum(), w)[0]

    z = torch.tanh(h @ w.T)
    exact = (1.0 - z**2).unsqueeze(-1) * w
    jac = autograd_jacobian(fn, h)
    assert float((jac - exact).detach().abs().max()) <= 1e-14
    g_rep, g_exact = loss_grads(jac), loss_grads(exact)
    assert float((g_rep - g_exact).abs().max()) <= 1e-12 * float(g_exact.abs().max())
    with torch.no_grad():
        assert not autograd_jacobian(fn, h).requires_grad
    monkeypatch.setattr(_autodiff, "REPLICATE_MAX", 0)
    g_jacrev = loss_grads(autograd_jacobian(fn, h))
    assert float((g_rep - g_jacrev).abs().max()) <= 1e-12 * float(g_exact.abs().max())
    monkeypatch.undo()
    with pytest.raises(
        ValueError, match=r"`fn` must return one output of size n = 3 .* got \(2,\) per state"
    ):
        autograd_jacobian(lambda s, _x: s[..., :2], h)


def test_autograd_jacobian_of_a_single_state_function():
    # W @ s is written for one state: on the replicated stack it mixes the copies, and with
    # equal row sums every copy's output even looks right; the check against fn on the plain
    # batch (which raises here) sends it to jacrev, which gives J = W
    w = torch.tensor([[0.5, 0.5, 0.0], [0.0, 0.25, 0.75], [1.0, 0.0, 0.0]], dtype=F64)
    h = torch.tensor([[0.3, -0.2, 1.0], [1.0, 4.0, -3.0]], dtype=F64)
    assert torch.equal(autograd_jacobian(lambda s, _x: w @ s, h[0]), w)
    assert torch.equal(autograd_jacobian(lambda s, _x: w @ s, h), w.expand(2, 3, 3))


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
    # functorch's forward mode and torch.func.jacrev import torch._dynamo (~2 s) and autograd.grad
    # with explicit grad_outputs imports sympy (~1.5 s); the self-check every analysis runs needs
    # neither, nor does the autograd Jacobian of a custom model (no analytic Jacobian) of this size.
    # The custom map h -> 0.5 h + 0.1 sin(h) has J = 0.6 I at its attracting fixed point 0.
    code = textwrap.dedent(
        """
        import math, sys, torch, rnndyn as rd
        gen = torch.Generator().manual_seed(0)
        net = rd.VanillaRNN(10, g=2.0, generator=gen, dtype=torch.float64)
        res = rd.lyapunov_spectrum(net, n_steps=1000, generator=gen)
        gru = rd.from_torch(torch.nn.GRU(2, 5).double())
        chk = rd.check_jacobian(gru, generator=gen)

        class Custom(rd.AbstractMap):
            state_size, input_size = 8, 0  # n > 8: lyapunov's auto tangent is forward mode

            def _step(self, h, x):
                return 0.5 * h + 0.1 * torch.sin(h)

        custom = Custom()
        assert not custom.has_analytic_jacobian
        lyap = rd.lyapunov_spectrum(custom, n_steps=400, generator=gen)
        jac = rd.jacobian(custom, torch.zeros(3, 8, dtype=torch.float64))
        exact = torch.equal(jac, 0.6 * torch.eye(8, dtype=torch.float64).expand(3, 8, 8))
        err = float((lyap.exponents - math.log(0.6)).abs().max())
        print(res.status, chk.status, lyap.status, exact, err < 1e-3)
        print("torch._dynamo" in sys.modules, "sympy" in sys.modules)
        """
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["success"] * 3 + ["True"] * 2 + ["False"] * 2, out.stdout + out.stderr


def test_reverse_tangent_map_names_bad_input():
    h = torch.zeros(2, 3, dtype=F64)
    fn = lambda s, _x: s  # noqa: E731
    with pytest.raises(TypeError, match="`vectors` must be a torch.Tensor; got list"):
        reverse_tangent_map(fn, h, [[1.0]])
    with pytest.raises(ValueError, match=r"`vectors` must have shape \(\*batch, 3, k\) .* got \(2, 4, 1\)"):
        reverse_tangent_map(fn, h, torch.zeros(2, 4, 1, dtype=F64))


def test_finite_difference_jacobian_is_central_and_exact_for_quadratics():
    # central differences are exact (to round-off) for polynomials of degree 2; a one-sided
    # difference is off by the step (~6e-6 |h|) and a transposed one swaps d out_i / d h_j
    from rnndyn.jacobians import finite_difference_jacobian

    def fn(h, x):
        return torch.stack([h[..., 0] * h[..., 1], h[..., 1] ** 2 + 3.0 * h[..., 0]], -1)

    h = torch.tensor([[0.7, -1.9], [2.5, 0.3]], dtype=F64)
    jac = finite_difference_jacobian(fn, h)
    exact = torch.stack(
        [
            torch.stack([h[:, 1], h[:, 0]], -1),
            torch.stack([torch.full((2,), 3.0, dtype=F64), 2 * h[:, 1]], -1),
        ],
        -2,
    )
    assert float((jac - exact).abs().max()) < 1e-9


def test_autograd_jacobian_of_a_single_state_function_that_runs_on_a_batch():
    # cumsum(s, 0) is written for one state (J = lower-triangular ones); on a 2-D batch it runs
    # without error but sums over the states, so on the replicated stack the copies' outputs
    # differ from fn on the plain batch: the row-wise check must send it to jacrev
    h = torch.tensor([0.3, -0.2, 1.0, 2.0], dtype=F64)
    jac = autograd_jacobian(lambda s, _x: torch.cumsum(s, 0), h)
    assert torch.equal(jac, torch.tril(torch.ones(4, 4, dtype=F64)))
    # a reduction that identical copies leave unchanged (the mean, the max) hides from the value
    # check; the cross-talk check (u^T J against one reverse pass on the plain batch) catches it:
    # tanh(s - mean(s)) has J = diag(1 - z^2) (I - 1/n) per state, for one state and a batch
    for hh in (h, torch.stack([h, -2 * h])):
        z = torch.tanh(hh - hh.mean(-1, keepdim=True))
        exact = (1 - z**2).unsqueeze(-1) * (torch.eye(4, dtype=F64) - 0.25)
        jac = autograd_jacobian(lambda s, _x: torch.tanh(s - s.mean()), hh)
        assert float((jac - exact).abs().max()) < 1e-15

"""Exact oracles for the Jacobian-spectrum summaries, written from a mutation audit: each test
kills plausible bugs that tests/test_spectra.py lets pass (the slow-mode boundary, the input
paired with a sampled state)."""

from __future__ import annotations

import torch

import rnndyn as rd
from model_zoo import DrivenScalar
from rnndyn.spectra import eigen_spectrum

F64 = torch.float64


def gen(seed: int) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def test_slow_modes_are_strictly_inside_the_eps_neighbourhood() -> None:
    # |lambda - 1| < eps (maps), |lambda| < eps (continuous): 0.5 is at distance exactly 0.5
    res = eigen_spectrum(torch.diag(torch.tensor([0.5, 1.0, 1.25], dtype=F64)), eps_slow=0.5)
    assert float(res.slow_fraction[0]) == 2 / 3
    assert res.slow_fraction_curve([0.25, 0.5, 0.50001]).tolist() == [1 / 3, 2 / 3, 1.0]
    cont = eigen_spectrum(
        torch.diag(torch.tensor([0.5, -0.25, 2.0], dtype=F64)), eps_slow=0.5, continuous=True
    )
    assert float(cont.slow_fraction[0]) == 1 / 3 and cont.slow_fraction_curve([0.5, 1.0]).tolist() == [
        1 / 3,
        2 / 3,
    ]


def test_each_sampled_state_is_paired_with_the_input_of_the_step_taken_from_it() -> None:
    # consecutive samples (n_states = n_steps): h_{t+1} = h_t exp(x) with the x reported for h_t,
    # and the Jacobian there is exp(x)
    seq = 0.3 * torch.randn(1, 40, 1, generator=gen(0), dtype=F64)
    res = rd.jacobian_spectrum(
        DrivenScalar(), inputs=seq, n_states=20, n_steps=20, n_transient=10, generator=gen(1)
    )
    h, x = res.states[:, 0], res.inputs[:, 0]
    assert res.n_states == 20
    assert float((h[1:] / h[:-1] - torch.exp(x[:-1])).abs().max()) < 1e-13
    assert float((res.eigenvalues[:, 0].real - torch.exp(x)).abs().max()) < 1e-13
    # the first sampled state is h after n_transient + 1 steps; its step uses input n_transient + 1
    assert float(x[0]) == float(seq[0, 11, 0])


def test_theory_stability_is_judged_only_at_a_fixed_point() -> None:
    # tanh net g = 0.5 (only fixed point 0): at h = 0 the stability comparison runs; at a state
    # 1e-4 away, which moves by ~1e-4 in one step, it is no fixed point and there is none
    net = rd.VanillaRNN(50, g=0.5, generator=gen(2), dtype=F64)
    at_zero = rd.jacobian_spectrum(net, states=torch.zeros(1, 50, dtype=F64), theory=True)
    assert at_zero.check("theory_stability").passed
    h = 1e-4 * torch.randn(1, 50, generator=gen(3), dtype=F64)
    with torch.no_grad():
        assert float((net.step(h) - h).abs().max()) > 1e-6
    near = rd.jacobian_spectrum(net, states=h, theory=True)
    assert near.check("theory_radius").passed
    assert [c.name for c in near.checks] == ["theory_radius"]

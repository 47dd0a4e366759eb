"""Oracle tests of the CKS20 gradient-norm laws (rnndyn.meanfield.gradients).

Oracles: the hypergeometric closed form (cross-method), synthetic random matrices with the
prescribed structure, and powers of a GRU network's own Jacobian at its zero fixed point.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from scipy.special import hyp2f1

import rnndyn as rd
from rnndyn.meanfield import rmt
from rnndyn.meanfield.gradients import (
    binary_gate_limit,
    binary_gate_norm,
    constant_gate_norm,
    constant_gate_rate,
    gradient_norm_theory,
)


def _norms(d, ts: list[int], probes: int | None = None, *, n: int | None = None) -> np.ndarray:
    """(1/N) tr D^t D^tT for t in ts (exact, or Hutchinson with ``probes`` Gaussian vectors).

    ``d`` is the matrix, or (Hutchinson only) a function ``p -> D @ p`` of a ``(n, probes)`` block.
    The exact case forms the needed powers by halving, D^t = D^(t//2) D^(t - t//2), not one
    factor at a time: ts = [1, 3, 6, 10] takes 5 matrix products instead of 10.
    """
    if probes is None:
        powers = {1: d}

        def power(t: int) -> np.ndarray:
            if t not in powers:
                powers[t] = power(t // 2) @ power(t - t // 2)
            return powers[t]

        return np.array([float(np.sum(power(t) ** 2)) / d.shape[0] for t in ts])
    apply = d if callable(d) else d.__matmul__
    n = d.shape[0] if n is None else n
    p = np.random.default_rng(7).standard_normal((n, probes)) / math.sqrt(probes)
    out = {}
    for t in range(1, max(ts) + 1):
        p = apply(p)
        if t in ts:
            out[t] = float(np.sum(p * p)) / n
    return np.array([out[t] for t in ts])


@pytest.mark.parametrize("rho", [0.5, 1.44, 3.0])
def test_constant_gate_law_equals_hypergeometric_form(rho):
    t = np.arange(0, 31)
    ref = 4.0 ** (-t) * np.array([hyp2f1(-k, -k, 1, rho) for k in t])
    assert np.allclose(constant_gate_norm(rho, t), ref, rtol=1e-10)
    # the growth rate: (1/2t) ln norm -> ln((1 + sqrt rho)/2) (Gelfand; spectral radius (004-120))
    big = float(constant_gate_norm(rho, 500)[0])
    assert abs(0.5 * math.log(big) / 500 - constant_gate_rate(rho)) < 1e-2
    assert constant_gate_norm(9.0, 3000)[0] == math.inf  # float64 overflow is inf, never NaN


def test_constant_gate_law_against_synthetic_matrices():
    rng = np.random.default_rng(0)
    n, rho, ts = 1200, 2.25, [1, 3, 6, 10]
    meas = np.mean(
        [
            _norms(0.5 * np.eye(n) + 0.5 * rng.standard_normal((n, n)) * math.sqrt(rho / n), ts)
            for _ in range(2)
        ],
        axis=0,
    )
    assert np.allclose(meas, constant_gate_norm(rho, ts), rtol=0.04)


def test_constant_gate_law_against_gru_zero_fixed_point_jacobian():
    # zero biases: the GRU Jacobian at h = 0 is 1/2 + (1/4) W_h for any alpha_z, alpha_r (004-20),
    # i.e. z_bar = 1/2 and rho = g_h^2 / 4
    g_h = 2.4
    net = rd.GRU(
        1200,
        g_h=g_h,
        alpha_z=3.0,
        alpha_r=3.0,
        generator=torch.Generator().manual_seed(3),
        dtype=torch.float64,
    )
    d = net.jacobian(torch.zeros(1200, dtype=torch.float64)).detach().numpy()
    ts = [1, 4, 8]
    assert np.allclose(_norms(d, ts), constant_gate_norm(g_h**2 / 4.0, ts), rtol=0.05)


def test_binary_gate_law_against_synthetic_matrices():
    rng = np.random.default_rng(1)
    n = 1000
    z = (rng.random(n) > 0.5).astype(float)  # 1 = open, 0 = closed
    unsat = rng.random(n) < 0.6  # phi' in {0, 1} (hard tanh), unsaturated fraction 0.6
    x = rng.standard_normal((n, n)) / math.sqrt(n) * 3.0 * 0.5 * unsat[:, None]  # [phi'] J_h r_bar
    d = np.diag(1.0 - z) + z[:, None] * x
    theta = 1.0 - z.mean()
    rho = float(np.sum(x[z == 1] ** 2)) / (z.sum())  # realised (1/N_open) tr X X^T on the open rows
    ts = [1, 5, 20, 60]
    # D p = (1 - z) p + z X p, and z X has nonzero rows only where a site is open and unsaturated:
    # the same products as d @ p on ~30 % of the rows
    active = (z == 1) & unsat
    x_active = x[active]
    assert np.array_equal(d[~active], np.diag(1.0 - z)[~active])  # the other rows are diagonal

    def apply(p: np.ndarray) -> np.ndarray:
        out = (1.0 - z)[:, None] * p
        out[active] += x_active @ p
        return out

    meas = _norms(apply, ts, probes=400, n=n)
    assert np.allclose(meas, binary_gate_norm(rho, theta, ts), rtol=0.03)
    assert meas[-1] == pytest.approx(binary_gate_limit(rho, theta), rel=0.03)


def test_binary_gate_closed_forms():
    assert binary_gate_norm(1.5, 0.5, 0)[0] == 1.0
    assert binary_gate_limit(2.5, 0.5) == math.inf  # rho (1 - theta) >= 1: grows
    # q = 1 exactly: linear growth theta (1 + t) + (1 - theta)
    assert binary_gate_norm(2.0, 0.5, 10)[0] == pytest.approx(0.5 * 11 + 0.5)
    r = gradient_norm_theory(rho=1.5, t_max=50, law="binary_gate", theta=0.5)
    assert r.norm[-1] == pytest.approx(binary_gate_norm(1.5, 0.5, 50)[0]) and r.rate == 0.0


def test_constant_gate_law_at_an_unequal_gate_exact_moments():
    # D = a + z X (a = 1 - z), X Ginibre with (1/N) tr X X^T = rho: (1/N) E tr D D^T = a^2 + z^2 rho and
    # (1/N) E tr D^2 D^2T = a^4 + 4 a^2 z^2 rho + z^4 rho^2 (the only non-crossing pairing of X X X^T X^T);
    # z = 0.8 tells the gate from its complement, which z = 1/2 cannot
    z, a, rho = 0.8, 0.2, 1.7
    got = constant_gate_norm(rho, [1, 2], z_bar=z)
    np.testing.assert_allclose(
        got, [a * a + z * z * rho, a**4 + 4 * a * a * z * z * rho + z**4 * rho**2], rtol=1e-13
    )
    # growth rate = log of the alpha_z = 0 disk radius 1 - z + z sqrt(rho) (rmt, Cor. 4.4, bias_z = logit z)
    radius = rmt.gru_alpha_z0_radius(rho, bias_z=math.log(z / (1 - z)))
    assert constant_gate_rate(rho, z_bar=z) == pytest.approx(math.log(radius), rel=1e-13)
    r = gradient_norm_theory(rho=rho, t_max=2, z_bar=z)
    np.testing.assert_allclose(r.norm, [1.0, *got], rtol=1e-13)
    assert r.rate == pytest.approx(math.log(radius), rel=1e-13)


def test_binary_gate_law_is_the_one_step_recursion():
    # the derivation (docs/theory/gated.md §5.4): closed components keep their mass, open ones receive
    # rho (1 - theta) times the whole norm, so n_{t+1} = theta + q n_t, n_0 = 1, with limit theta / (1 - q)
    for rho, theta in ((1.5, 0.3), (3.0, 0.5), (2.0, 0.5)):
        q = rho * (1 - theta)
        n, ref = 1.0, []
        for _ in range(31):
            ref.append(n)
            n = theta + q * n
        np.testing.assert_allclose(binary_gate_norm(rho, theta, np.arange(31)), ref, rtol=1e-12)
        lim = binary_gate_limit(rho, theta)
        assert lim == (pytest.approx(theta / (1 - q), rel=1e-14) if q < 1 else math.inf)
        r = gradient_norm_theory(rho=rho, t_max=200, law="binary_gate", theta=theta)
        # rate of the norm's square root: 1/2 ln q when q > 1, else 0
        growth = 0.5 * math.log(r.norm[-1] / r.norm[-2])
        # (q = 1: linear growth, exponential rate 0, while the finite-t ratio is ~1/t)
        assert r.rate == pytest.approx(max(growth, 0.0) if q != 1 else 0.0, rel=1e-4, abs=1e-12)


def test_bad_input():
    with pytest.raises(ValueError, match="rho"):
        constant_gate_norm(-1.0, 3)
    with pytest.raises(ValueError, match="z_bar"):
        constant_gate_norm(1.0, 3, z_bar=0.0)
    with pytest.raises(TypeError, match="`t`"):
        constant_gate_norm(1.0, 2.5)
    with pytest.raises(ValueError, match="`t`"):
        binary_gate_norm(1.0, 0.5, -1)
    with pytest.raises(ValueError, match="theta"):
        binary_gate_norm(1.0, 1.5, 3)
    with pytest.raises(ValueError, match="law"):
        gradient_norm_theory(rho=1.0, law="lstm")

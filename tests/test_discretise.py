"""Discretisation: exact cases, convergence order, tangent of the step, errors."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

import rnndyn as rd
from rnndyn.jacobians import autograd_jacobian

F64 = torch.float64


def _linear_flow_error(method: str, dt: float) -> float:
    # dh/dt = -h for the rate network with g = 0 (W = 0): exact solution h0 e^{-t}.
    flow = rd.RateRNN(3, g=0.0, dtype=F64)
    m = rd.discretise(flow, dt=dt, method=method)
    h0 = torch.tensor([1.0, -2.0, 0.5], dtype=F64)
    t_end = 1.0
    traj = rd.simulate(m, h0, n_steps=round(t_end / dt))
    return float((traj[-1] - h0 * math.exp(-t_end)).abs().max())


@pytest.mark.parametrize(("method", "order"), [("euler", 1), ("heun", 2), ("rk4", 4)])
def test_convergence_order(method: str, order: int) -> None:
    dts = np.array([0.1, 0.05, 0.025])
    errs = np.array([_linear_flow_error(method, dt) for dt in dts])
    slope = np.polyfit(np.log(dts), np.log(errs), 1)[0]
    assert abs(slope - order) < 0.15, (method, slope)


def test_lorenz_rk4_order_against_fine_reference() -> None:
    lor = rd.Lorenz63()
    h0 = torch.tensor([1.0, 1.0, 20.0], dtype=F64)
    # reference at dt = 1e-3: its RK4 error is (1e-3 / 5e-3)^4 = 1/625 of the finer run's, which
    # moves the fitted slope by 0.002 (3.9636 against 3.9614 with dt = 1e-4, measured; 10x cheaper)
    ref = rd.simulate(rd.discretise(lor, dt=1e-3, method="rk4"), h0, n_steps=500)[-1]
    errs = []
    dts = [0.01, 0.005]
    for dt in dts:
        out = rd.simulate(rd.discretise(lor, dt=dt, method="rk4"), h0, n_steps=round(0.5 / dt))[-1]
        errs.append(float((out - ref).abs().max()))
    slope = math.log(errs[0] / errs[1]) / math.log(dts[0] / dts[1])
    assert 3.5 < slope < 4.5


def test_euler_tangent_is_identity_plus_dt_jacobian() -> None:
    flow = rd.RateRNN(5, g=2.0, generator=torch.Generator().manual_seed(0), dtype=F64)
    m = rd.discretise(flow, dt=0.05, method="euler")
    h = flow.initial_state((2,), generator=torch.Generator().manual_seed(1))
    expected = torch.eye(5, dtype=F64) + 0.05 * flow.jacobian(h)
    torch.testing.assert_close(m.jacobian(h), expected, rtol=1e-14, atol=1e-14)


def test_rk4_tangent_matches_autograd_of_step() -> None:
    flow = rd.Lorenz96(6)
    m = rd.discretise(flow, dt=0.02, method="rk4")
    h = flow.initial_state((3,), generator=torch.Generator().manual_seed(2), scale=1.0)
    torch.testing.assert_close(m.jacobian(h), autograd_jacobian(m._step, h, None), rtol=1e-12, atol=1e-12)


def test_units_and_dt() -> None:
    m = rd.discretise(rd.Lorenz63(), dt=0.01)
    assert m.dt == 0.01 and m.units == "1/time"
    assert rd.Henon().units == "1/step"


@pytest.mark.parametrize(
    ("kwargs", "exc", "match"),
    [
        ({"dt": 0.0}, ValueError, "`dt` must be in"),
        ({"dt": -0.1}, ValueError, "`dt` must be in"),
        ({"dt": float("nan")}, ValueError, "`dt` must be a finite"),
        ({"dt": 0.1, "method": "rk45"}, ValueError, "`method` must be one of"),
    ],
)
def test_discretise_bad_arguments(kwargs, exc, match) -> None:
    with pytest.raises(exc, match=match):
        rd.discretise(rd.Lorenz63(), **kwargs)


def test_discretise_rejects_a_map() -> None:
    with pytest.raises(TypeError, match="`flow` must be a flow"):
        rd.discretise(rd.Henon(), dt=0.1)


def test_jacobian_product_equals_dense_tangent() -> None:
    """The frame-only RK tangent (used for few exponents) is the dense tangent applied to Q."""
    flow = rd.GatedRateRNN(
        5, g_h=3.0, alpha_z=1.0, alpha_r=2.0, generator=torch.Generator().manual_seed(0), dtype=F64
    )
    for method in ("euler", "heun", "rk4"):
        m = rd.discretise(flow, dt=0.1, method=method)
        h = m.initial_state((2,), generator=torch.Generator().manual_seed(1))
        q = torch.randn(2, 15, 3, generator=torch.Generator().manual_seed(2), dtype=F64)
        with torch.no_grad():
            torch.testing.assert_close(
                m._jacobian_product(h, None, q), m._jacobian(h, None) @ q, rtol=1e-12, atol=1e-12
            )


def test_one_step_of_each_method_by_hand_on_lorenz() -> None:
    # The textbook formulas on a nonlinear flow (Hairer, Norsett & Wanner, Solving ODEs I, §II.1).
    # A linear test cannot tell Heun from the explicit midpoint rule (both give 1 + z + z^2/2), nor
    # any two order-4 tableaux apart; Lorenz-63 can.
    lor = rd.Lorenz63()
    f = lor.vector_field
    h = torch.tensor([1.0, -2.0, 20.0], dtype=F64)
    dt = 0.05
    k1 = f(h)
    heun = h + dt / 2 * (k1 + f(h + dt * k1))
    a1 = k1
    a2 = f(h + dt / 2 * a1)
    a3 = f(h + dt / 2 * a2)
    a4 = f(h + dt * a3)
    rk4 = h + dt / 6 * (a1 + 2 * a2 + 2 * a3 + a4)
    for method, want in (("euler", h + dt * k1), ("heun", heun), ("rk4", rk4)):
        got = rd.discretise(lor, dt=dt, method=method).step(h)
        torch.testing.assert_close(got, want, rtol=1e-14, atol=1e-13, msg=method)
    midpoint = h + dt * f(h + dt / 2 * k1)
    assert float((heun - midpoint).abs().max()) > 1e-3  # the check tells the two order-2 rules apart

"""Follow-ups of the session's audits: texts that quote the result's own words, NaN/inf weights
named at the entry points, the Jacobian spectrum's missing theory said, numpy inputs, keyword
names, and CLV lengths derived from the inputs.

Oracles: the odd double well of tests/test_fixed_points.py (sinks (+-1, 0), saddle (0, 0)), whose
fixed-point result's ``starts`` is the text quoted; exact Jacobians of a linear map.
"""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest
import torch

import rnndyn as rd
from rnndyn.report import fixed_point_census
from test_fixed_points import DoubleWell

F64 = torch.float64


# ----------------------------------------------------------------------------- 1. starts in words
def test_analyze_fixed_point_text_quotes_the_searchs_starts() -> None:
    """rd.analyze's 'analysed' row says what the search started from in the search's own words
    (the default mixed starts, not 'states after a 200-step transient' only)."""
    res = rd.analyze(
        DoubleWell(), sections=["fixed_points"], fixed_point_starts=4, n_trajectories=1, n_steps=10
    )
    fp = res.fixed_points
    assert fp.starts_from == "mixed" and "uniform in the box of the visited states" in fp.starts
    assert res.analysed["fixed_points"] == f"zero input; 4 starts: {fp.starts} (seed 3)"


def test_census_quotes_the_starts_it_counts_for() -> None:
    """The complete-census sentence names the start distribution (here: three given states)."""
    starts = torch.tensor([[1.2, 0.3], [0.8, -0.2], [1.1, 0.1]], dtype=F64)
    res = rd.find_fixed_points(DoubleWell(), initial_states=starts, throw=False)
    assert res.starts == "3 given initial_states"
    text = fixed_point_census(res)
    assert "is 0 <= 0.01 (for starts drawn like these: 3 given initial_states)." in text, text


# ----------------------------------------------------------------------------- 2. NaN/inf weights
def _poisoned(value: float) -> rd.VanillaRNN:
    net = rd.VanillaRNN(4, g=1.5, generator=torch.Generator().manual_seed(0), dtype=F64)
    with torch.no_grad():
        net.weight_hh[1, 2] = value
    return net


@pytest.mark.parametrize("value, counts", [(math.nan, "1 NaN and 0 inf"), (math.inf, "0 NaN and 1 inf")])
def test_non_finite_weights_are_named_at_every_entry_point(value: float, counts: str) -> None:
    """find_fixed_points (was numpy's LinAlgError), jacobian (was a silent NaN matrix) and simulate
    (was 'the trajectory diverged') name the parameter and count its bad entries; the same net
    with finite weights passes every call (the check, not the shapes, raised)."""
    net = _poisoned(value)
    name = next(n for n, p in net.named_parameters() if not bool(torch.isfinite(p).all()))
    want = rf"`system` has non-finite parameters: VanillaRNN\.{name} contains {counts} of 16 entries"
    h = torch.zeros(4, dtype=F64)
    with pytest.raises(ValueError, match=want):
        rd.find_fixed_points(net, n_initial=2, n_transient=0)
    with pytest.raises(ValueError, match=want):
        rd.jacobian(net, h)
    with pytest.raises(ValueError, match=want):
        rd.simulate(net, h, n_steps=2, check_divergence=False)
    ok = _poisoned(0.25)
    assert bool(torch.isfinite(rd.jacobian(ok, h)).all()) and rd.simulate(ok, h, n_steps=2).shape == (2, 4)


# ----------------------------------------------------------------------------- 3. theory=True, no theory
def test_theory_true_without_a_theory_warns_and_says_so() -> None:
    """The Henon map has no random-matrix prediction: theory=True warns and the message says so;
    'auto' is silent and leaves the message as it was; both keep the exact Jacobian spectrum
    (eigenvalues of [[-2 a x, 1], [b, 0]] at x = y = 0: +-sqrt(b))."""
    henon = rd.Henon()
    states = torch.zeros(1, 2, dtype=F64)
    with pytest.warns(UserWarning, match="theory=True: no theory: Henon has no random-matrix prediction"):
        asked = rd.jacobian_spectrum(henon, states=states, theory=True)
    assert asked.theory is None and asked.message.endswith("(its spectral_theory returns None)")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        auto = rd.jacobian_spectrum(henon, states=states, theory="auto")
    plain = rd.jacobian_spectrum(henon, states=states)
    assert auto.theory is None and auto.message == plain.message and "no theory" not in auto.message
    want = sorted([math.sqrt(0.3), -math.sqrt(0.3)])
    for res in (asked, auto):
        assert sorted(res.eigenvalues[0].real.tolist()) == pytest.approx(want, abs=1e-12)
    # a model with a theory: 'auto' evaluates it (the circular law at h = 0, radius g)
    net = rd.VanillaRNN(50, g=0.5, generator=torch.Generator().manual_seed(0), dtype=F64)
    res = rd.jacobian_spectrum(net, states=torch.zeros(1, 50, dtype=F64), theory="auto")
    assert res.theory is not None and "no theory" not in res.message


# ----------------------------------------------------------------------------- 4. NumPy inputs
def test_numpy_arguments_of_low_level_routines_get_a_conversion_hint() -> None:
    """lyapunov_spectrum, simulate and find_fixed_points refuse NumPy arrays (they do not guess the
    dtype) with the argument's name and how to convert it; following the hint works: the
    converted driven run equals the steps h_{t+1} = F(h_t, x_{t+1}) taken by hand, exactly."""
    net = rd.VanillaRNN(3, g=0.5, input_size=2, generator=torch.Generator().manual_seed(0), dtype=F64)
    x_np = np.linspace(-1.0, 1.0, 40).reshape(1, 20, 2)
    h_np = np.full(3, 0.1)
    calls = {
        "inputs": [
            lambda: rd.lyapunov_spectrum(net, inputs=x_np),
            lambda: rd.simulate(net, inputs=x_np),
            lambda: rd.find_fixed_points(net, inputs=x_np[0, 0]),
        ],
        "h0": [
            lambda: rd.simulate(net, h_np, n_steps=3),
            lambda: rd.lyapunov_spectrum(net, h0=h_np, n_steps=5),
        ],
        "initial_states": [lambda: rd.find_fixed_points(net, initial_states=h_np[None])],
    }
    for name, fns in calls.items():
        for fn in fns:
            with pytest.raises(TypeError) as err:
                fn()
            assert str(err.value) == (
                f"`{name}` must be a torch.Tensor; got ndarray: convert it first, e.g. torch.as_tensor("
                f"{name}, dtype=model.dtype, device=model.device) (rd.analyze converts NumPy inputs itself)"
            )
    x = torch.as_tensor(x_np, dtype=net.dtype, device=net.device)
    h0 = torch.as_tensor(h_np, dtype=net.dtype, device=net.device)
    traj = rd.simulate(net, h0, inputs=x)
    h = h0
    for t in range(20):  # h_{t+1} = F(h_t, x_{t+1}) by hand
        h = net.step(h, torch.from_numpy(x_np[0, t]))
    assert torch.equal(traj[0, -1], h)


# ----------------------------------------------------------------------------- 5. one keyword name
class _Captured(Exception):
    pass


def test_phase_diagram_takes_fixed_point_starts_and_the_old_name_warns(monkeypatch) -> None:
    """rd.phase_diagram's fixed-point starts are `fixed_point_starts` (rd.analyze's name); the old
    `fp_starts` gives the same overlay setting with a DeprecationWarning naming the new one; bad
    values are refused under the name the caller used; two different values are refused."""
    import rnndyn.phases as phases

    seen = []

    def capture(fn, *args, **kwargs):  # noqa: ANN001, ANN202 - the overlay's point function, not run
        seen.append(fn.keywords["fp_starts"])
        raise _Captured

    monkeypatch.setattr(phases, "_run_overlay", capture)
    grid = {"g_h": [1.5], "alpha_r": [0.0], "simulate": True, "fixed_points": True}
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with pytest.raises(_Captured):
            rd.phase_diagram("gru", fixed_point_starts=5, **grid)
    with pytest.warns(DeprecationWarning, match="`fp_starts` is deprecated; use `fixed_point_starts`"):
        with pytest.raises(_Captured):
            rd.phase_diagram("gru", fp_starts=6, **grid)
    assert seen == [5, 6]
    with pytest.raises(ValueError, match="`fixed_point_starts` must be"):
        rd.phase_diagram("gru", fixed_point_starts=0, **grid)
    with pytest.warns(DeprecationWarning), pytest.raises(ValueError, match="`fp_starts` must be"):
        rd.phase_diagram("gru", fp_starts=0, **grid)
    with (
        pytest.warns(DeprecationWarning),
        pytest.raises(ValueError, match="fixed_point_starts=5 and the deprecated"),
    ):
        rd.phase_diagram("gru", fixed_point_starts=5, fp_starts=6, **grid)


# ----------------------------------------------------------------------------- 6. CLV window from inputs
def test_clv_window_from_inputs_is_the_longest_that_fits() -> None:
    """The window n covers T - n_transient with the backward transient: n + max(n // 4, 100) fits
    and n + 1 does not (brute force over T); an explicit backward transient b gives T - n_transient - b."""
    from rnndyn.clv import _window_from_inputs

    for T in range(102, 1500, 7):
        n = _window_from_inputs(torch.zeros(T, 1), 1, None)
        assert n + max(n // 4, 100) <= T - 1 < (n + 1) + max((n + 1) // 4, 100), T
    assert _window_from_inputs(torch.zeros(2, 701, 1), 1, None) == 560  # 560 + 140 = 700
    assert _window_from_inputs(torch.zeros(300, 1), 20, 50) == 230


def test_clv_window_defaults_to_what_the_inputs_cover() -> None:
    """Without n_steps the CLV window is the longest the inputs cover after both transients, as
    lyapunov_spectrum derives it: T = 250, n_transient = 20 and the default backward transient
    max(n // 4, 100) give n = 130 (130 + 100 = 230), the run equal to the one with n_steps = 130
    given (same seed: identical exponents and vectors); n_backward_transient = 20 gives 110 for
    T = 150. Neither n_steps nor inputs: the error names both; too short inputs: refused."""
    net = rd.VanillaRNN(3, g=1.2, input_size=1, generator=torch.Generator().manual_seed(1), dtype=F64)
    x = torch.sin(0.3 * torch.arange(250, dtype=F64)).reshape(1, 250, 1)

    def run(inputs: torch.Tensor, **kw) -> rd.CLVResult:
        return rd.covariant_lyapunov_vectors(
            net,
            inputs=inputs,
            n_transient=20,
            hyperbolicity=False,
            generator=torch.Generator().manual_seed(2),
            **kw,
        )

    derived, given = run(x), run(x, n_steps=130)
    assert derived.vectors.shape[1] == 130
    assert torch.equal(derived.exponents, given.exponents) and torch.equal(derived.vectors, given.vectors)
    assert run(x[:, :150], n_backward_transient=20).vectors.shape[1] == 110
    with pytest.raises(TypeError, match=r"`n_steps` is required when no `inputs` are given"):
        rd.covariant_lyapunov_vectors(net)
    with pytest.raises(ValueError, match=r"`inputs` has T = 120 steps, which leaves no recorded step"):
        run(x[:, :120])

"""A new user's calls with wrong arguments: each must fail up front with a ValueError/TypeError
that names the argument, says what was expected and what was received, and never turn into
NaN, a wrong shape or a torch/numpy error from deep inside a solver. Each test also checks the
behaviour that the fix restores (an oracle), not only that something raises."""

from __future__ import annotations

import math

import pytest
import torch

import rnndyn as rd

D = torch.float64


def gen(seed: int = 0) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


# ------------------------------------------------------------------------ LyapunovEngine
def test_engine_single_state_is_one_trajectory_and_matches_batched_call() -> None:
    # before: init(h) with h of shape (n,) took n as the batch size and returned n rows of
    # different "exponents" for one state
    net = rd.GRU(6, g_h=2.0, generator=gen(0), dtype=D)
    eng = rd.LyapunovEngine(net, k=3)
    h = torch.linspace(-0.5, 0.5, 6, dtype=D)
    one = eng.exponents(eng.advance(eng.init(h, generator=gen(1)), n_steps=60))
    batched = eng.exponents(eng.advance(eng.init(h[None], generator=gen(1)), n_steps=60))
    assert one.shape == (1, 3)
    torch.testing.assert_close(one, batched, rtol=0, atol=0)
    # and equals the high-level call from the same state and frame seed
    res = rd.lyapunov_spectrum(net, k=3, n_steps=60, h0=h, qr_every=1, generator=gen(1), check_jacobian=False)
    torch.testing.assert_close(one[0].sort(descending=True).values, res.exponents, rtol=1e-12, atol=1e-12)


def test_engine_rejects_bad_states_and_inputs_naming_them() -> None:
    net = rd.GRU(6, g_h=2.0, input_size=2, generator=gen(0), dtype=D)
    eng = rd.LyapunovEngine(net, k=3)
    with pytest.raises(TypeError, match="`h0` must be a torch.Tensor; got list"):
        eng.init([0.1] * 6)  # type: ignore[arg-type]
    with pytest.raises(
        TypeError, match=r"`h0` has dtype torch.float32 but GRU's parameters are torch.float64"
    ):
        eng.init(torch.zeros(2, 6))
    with pytest.raises(
        ValueError, match=r"`h0` must have shape \(B, 6\) with B >= 1, or \(6,\); got \(0, 6\)"
    ):
        eng.init(torch.zeros(0, 6, dtype=D))
    with pytest.raises(ValueError, match="`h0` must be finite"):
        eng.init(torch.full((2, 6), math.nan, dtype=D))
    st = eng.init(torch.full((2, 6), 0.1, dtype=D), generator=gen(1))
    with pytest.raises(TypeError, match="`state` must be a TangentState"):
        eng.advance(3, n_steps=3)  # type: ignore[arg-type]
    other = rd.LyapunovEngine(rd.GRU(5, generator=gen(0), dtype=D), k=3)
    with pytest.raises(ValueError, match=r"`state` does not belong to this engine: expected h \(B, 5\)"):
        other.advance(st, n_steps=3)
    with pytest.raises(
        TypeError, match=r"`inputs` must have the state's dtype torch.float64; got torch.float32"
    ):
        eng.advance(st, n_steps=3, inputs=torch.zeros(2, 3, 2))
    with pytest.raises(ValueError, match=r"`inputs` must cover n_steps = 5 steps; got T = 3"):
        eng.advance(st, n_steps=5, inputs=torch.zeros(2, 3, 2, dtype=D))
    with pytest.raises(
        ValueError, match=r"`inputs` must have shape \(2, T, 2\) or \(T, 2\).*got \(3, 3, 2\)"
    ):
        eng.advance(st, n_steps=3, inputs=torch.zeros(3, 3, 2, dtype=D))
    with pytest.raises(ValueError, match="`inputs` must be finite"):
        eng.advance(st, n_steps=3, inputs=torch.full((2, 3, 2), math.nan, dtype=D))
    # the state was not touched by the refused calls, and a (T, d) input drives every trajectory
    x = 0.3 * torch.randn(4, 2, generator=gen(2), dtype=D)
    shared = eng.advance(st, n_steps=4, inputs=x)
    per_traj = eng.advance(st, n_steps=4, inputs=x.expand(2, 4, 2))
    torch.testing.assert_close(shared.log_r, per_traj.log_r, rtol=0, atol=0)
    assert bool(torch.isfinite(shared.log_r).all())


def test_empty_batches_are_refused_by_name() -> None:
    # before: RuntimeError "max(): Expected reduction dim..." (lyapunov_spectrum) and "cannot
    # reshape tensor of 0 elements" (covariant_lyapunov_vectors)
    net = rd.GRU(4, input_size=2, generator=gen(0), dtype=D)
    for fn in (rd.lyapunov_spectrum, rd.max_lyapunov, rd.covariant_lyapunov_vectors):
        with pytest.raises(
            ValueError, match=r"`h0` must hold at least one state \(B >= 1\); got shape \(0, 4\)"
        ):
            fn(net, n_steps=5, h0=torch.zeros(0, 4, dtype=D))
        with pytest.raises(ValueError, match=r"`inputs` must hold at least one sequence \(B >= 1\)"):
            fn(net, n_steps=5, inputs=torch.zeros(0, 200, 2, dtype=D))


# ------------------------------------------------------------------ spectra and fixed points
def test_half_precision_models_are_refused_before_any_work(monkeypatch: pytest.MonkeyPatch) -> None:
    # before: jacobian_spectrum ran the trajectories and then failed in NumPy ("array type
    # float16 is unsupported in linalg"); find_fixed_points failed in the Cholesky solve
    # (NotImplementedError "cholesky_cpu" not implemented for 'Half')
    import importlib

    def no_work(*args: object, **kwargs: object) -> None:
        raise AssertionError("the model was run before its dtype was checked")

    # the module, imported here: run alone, no earlier test has imported it (sys.modules lookup failed)
    monkeypatch.setattr(importlib.import_module("rnndyn.simulate"), "simulate", no_work)
    half = rd.GRU(4, generator=gen(0), dtype=torch.float16)
    monkeypatch.setattr(half, "_step", no_work)
    for fn in (rd.jacobian_spectrum, rd.find_fixed_points):
        with pytest.raises(
            TypeError, match=r"`system` must compute in float32 or float64.*got torch.float16"
        ):
            fn(half)
    with pytest.raises(TypeError, match=r"`states` must have dtype float32 or float64.*got torch.float16"):
        rd.jacobian_spectrum(rd.Henon(), states=torch.zeros(1, 2, dtype=torch.float16))
    # float32 is fine: the spectrum at h = 0 of a tanh network is that of g W
    net = rd.VanillaRNN(8, g=0.5, generator=gen(0))
    res = rd.jacobian_spectrum(net, states=torch.zeros(1, 8))
    with torch.no_grad():
        rho = torch.linalg.eigvals(net.jacobian(torch.zeros(8))).abs().max()
    assert res.eigenvalues.dtype == torch.complex64
    assert abs(float(res.spectral_radius[0]) - float(rho)) < 1e-6


def test_spectrum_and_fixed_point_arguments_are_checked_by_name() -> None:
    net = rd.VanillaRNN(5, g=0.5, input_size=2, generator=gen(0), dtype=D)
    with pytest.raises(
        ValueError, match=r"`states` must hold at least one state \(\*batch, 5\); got shape \(0, 5\)"
    ):
        rd.jacobian_spectrum(net, states=torch.zeros(0, 5, dtype=D))  # before: status 'warning'
    with pytest.raises(TypeError, match="`fixed_points` must be a FixedPointResult.*got int"):
        rd.jacobian_spectrum(net, at="fixed_points", fixed_points=3)  # before: AttributeError
    with pytest.raises(TypeError, match="`theory` must be True, False or 'auto'; got str 'yes'"):
        rd.jacobian_spectrum(net, states=torch.zeros(1, 5, dtype=D), theory="yes")
    with pytest.raises(ValueError, match=r"`inputs` must be finite; got 2 non-finite"):
        rd.find_fixed_points(net, inputs=torch.full((2,), math.nan, dtype=D))  # before: named `x`
    with pytest.raises(ValueError, match=r"`initial_states` must hold at least one state"):
        rd.find_fixed_points(net, initial_states=torch.zeros(0, 5, dtype=D))  # before: AnalysisError
    # the oracle: a contracting tanh network with zero input has exactly one fixed point, h = 0
    res = rd.find_fixed_points(net, initial_states=0.3 * torch.randn(4, 5, generator=gen(1), dtype=D))
    assert res.n_points == 1 and res.stability == ("stable",)
    assert float(res.points.abs().max()) < 1e-10


# ------------------------------------------------------------------------ lyapunov_from_data
def test_lyapunov_from_data_refuses_unusable_series_and_options() -> None:
    import numpy as np

    x = np.empty(2001)
    x[0] = 0.3
    for t in range(2000):
        x[t + 1] = 4 * x[t] * (1 - x[t])
    # before: a complex series lost its imaginary part with only a NumPy warning, a bool tensor
    # failed in NumPy's subtract, strings in float()
    with pytest.raises(
        TypeError, match="`series` must hold real numbers; got a tensor of dtype torch.complex128"
    ):
        rd.lyapunov_from_data(torch.from_numpy(x).to(torch.complex128))
    with pytest.raises(TypeError, match="`series` must hold real numbers.*dtype complex128"):
        rd.lyapunov_from_data(x + 1j * x)
    with pytest.raises(TypeError, match="`series` must hold real numbers; got a tensor of dtype torch.bool"):
        rd.lyapunov_from_data(torch.from_numpy(x) > 0.5)
    # before: a negative or NaN radius ran the search and ended in "no reference point has a
    # neighbour"; with Rosenstein it was silently ignored
    with pytest.raises(ValueError, match=r"`radius` must be in \(0.0, inf\]; got -1.0"):
        rd.lyapunov_from_data(x, method="kantz", radius=-1.0)
    with pytest.raises(ValueError, match="`radius` applies to method='kantz' only"):
        rd.lyapunov_from_data(x, radius=0.1)
    with pytest.raises(TypeError, match=r"`fit_range` must be a pair of ints \(k0, k1\); got \(0.0, 3.0\)"):
        rd.lyapunov_from_data(x, fit_range=(0.0, 3.0))  # before: TypeError from slicing
    # before: status 'warning' with lambda_max = 0, which reads as a marginal system
    with pytest.raises(ValueError, match="`series` has no divergence to fit"):
        rd.lyapunov_from_data(np.ones(500))
    with pytest.raises(ValueError, match="`series` has no divergence to fit"):
        rd.lyapunov_from_data(np.tile([0.2, 0.8], 300))
    # the oracle: the logistic map at r = 4 has lambda = ln 2, also from an int-free list input
    r = rd.lyapunov_from_data(list(x), theiler=5, horizon=8, fit_range=[0, 4], generator=gen(0))
    assert r.lambda_max == pytest.approx(math.log(2.0), abs=0.03)


# ------------------------------------------------------------------------ model constructors
@pytest.mark.parametrize(
    "build",
    [
        lambda **kw: rd.GRU(3, **kw),
        lambda **kw: rd.LSTM(3, **kw),
        lambda **kw: rd.PLRNN(3, **kw),
        lambda **kw: rd.VanillaRNN(3, **kw),
        lambda **kw: rd.RateRNN(3, **kw),
        lambda **kw: rd.GatedRateRNN(3, **kw),
    ],
)
def test_model_constructors_check_device_by_name(build) -> None:  # noqa: ANN001
    # before: torch's RuntimeError "Expected one of cpu, cuda, ipu, xpu, ... device type at start
    # of device string: x", with no argument name
    with pytest.raises(ValueError, match=r"`device` must be cpu, cuda, cuda:N or mps; got 'x'"):
        build(device="x")
    with pytest.raises(TypeError, match=r"`device` must be a device string .*; got int 3"):
        build(device=3)
    a, b = build(device="cpu", generator=gen(5)), build(generator=gen(5))
    for p, q in zip(a.parameters(), b.parameters(), strict=True):
        assert p.device.type == "cpu" and torch.equal(p, q)


def test_vanilla_bias_and_zero_diagonal_are_checked() -> None:
    # before: bias=nan built a network whose every step was NaN; zero_diagonal='no' zeroed the diagonal
    with pytest.raises(ValueError, match="`bias` must be a finite number.*got nan"):
        rd.VanillaRNN(4, bias=math.nan)
    with pytest.raises(TypeError, match="`zero_diagonal` must be a bool; got str 'no'"):
        rd.RateRNN(4, zero_diagonal="no")
    net = rd.RateRNN(4, bias=0.5, zero_diagonal=True, generator=gen(0), dtype=D)
    assert torch.equal(net.bias, torch.full((4,), 0.5, dtype=D))
    assert torch.equal(torch.diagonal(net.weight_hh), torch.zeros(4, dtype=D))


# ------------------------------------------------------------------ simulate, rollout_like_torch
def test_simulate_and_rollout_name_the_bad_argument() -> None:
    net = rd.GRU(4, input_size=2, generator=gen(0), dtype=D)
    # before: torch's "Trying to create tensor with negative dimension -1" / "'int' object is not
    # iterable"; empty inputs were reported as "`n_steps` must be an int >= 1; got 0"
    with pytest.raises(ValueError, match=r"`batch_shape` must be a tuple of ints >= 1.*got \(-1,\)"):
        rd.simulate(net, n_steps=3, batch_shape=(-1,))
    with pytest.raises(TypeError, match=r"`batch_shape` must be a tuple of ints >= 1.*got 2"):
        rd.simulate(net, n_steps=3, batch_shape=2)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="`inputs` has T = 0 steps, which leaves none after n_transient = 0"):
        rd.simulate(net, torch.zeros(4, dtype=D), inputs=torch.zeros(0, 2, dtype=D))
    with pytest.raises(
        ValueError, match=r"the batch shape of `h0` \(2,\) does not broadcast with that of `inputs` \(3,\)"
    ):
        rd.simulate(net, torch.zeros(2, 4, dtype=D), inputs=torch.zeros(3, 5, 2, dtype=D))
    gru = torch.nn.GRU(2, 3, batch_first=True, dtype=D)
    wrapped = rd.from_torch(gru)
    x = torch.randn(2, 5, 2, generator=gen(1), dtype=D)
    # before: a float32 input was reported as "`h0` has dtype torch.float32", an argument the
    # caller never passed; an hx of the wrong batch failed in torch's broadcasting
    with pytest.raises(
        TypeError, match="`inputs` has dtype torch.float32 but the wrapped module's parameters"
    ):
        rd.rollout_like_torch(wrapped, x.float())
    with pytest.raises(TypeError, match="`hx` has dtype torch.float32"):
        rd.rollout_like_torch(wrapped, x, torch.zeros(1, 2, 3))
    with pytest.raises(
        ValueError,
        match=r"`hx` must have the batch size of `inputs` \(2\); got a state of batch shape \(3,\)",
    ):
        rd.rollout_like_torch(wrapped, x, torch.zeros(1, 3, 3, dtype=D))
    # the oracle: with a valid hx the rollout is torch's own forward
    hx = 0.1 * torch.randn(1, 2, 3, generator=gen(2), dtype=D)
    out, h_n = rd.rollout_like_torch(wrapped, x, hx)
    with torch.no_grad():
        ref, h_ref = gru(x, hx)
    torch.testing.assert_close(out.detach(), ref, rtol=0, atol=1e-12)
    torch.testing.assert_close(h_n.detach(), h_ref, rtol=0, atol=1e-12)
    traj = rd.simulate(net, n_steps=3, batch_shape=torch.Size([2]), generator=gen(3))
    assert traj.shape == (2, 3, 4) and bool(torch.isfinite(traj).all())


# ------------------------------------------------------------------------ collapsing perturbations
def test_a_collapsed_perturbation_is_minus_infinity_not_divergence() -> None:
    import json

    # g = 0: the Jacobian is exactly 0, every perturbation vanishes in one step. Before:
    # max_lyapunov (0/0 in the renormalisation) and lyapunov_spectrum(k=1) (0/0 in the frame's
    # normalisation) raised AnalysisError "diverged: the state ... escaped", while the state
    # sat at 0 and the full spectrum already said -inf with status 'warning'
    net = rd.VanillaRNN(4, g=0.0, generator=gen(0), dtype=D)
    for res in (
        rd.max_lyapunov(net, n_steps=50, n_trajectories=2, generator=gen(1)),
        rd.lyapunov_spectrum(net, k=1, n_steps=50, generator=gen(1)),
        rd.lyapunov_spectrum(net, n_steps=50, generator=gen(1)),
    ):
        assert res.status == "warning" and res.regime == "stable", res.message
        assert res.lambda_max == -math.inf
        assert "finite_exponents" in res.message
        json.dumps(res.to_dict(), allow_nan=False)
    # a non-degenerate map is unaffected: the two-trajectory estimate still finds ln 2
    res = rd.max_lyapunov(rd.Logistic(r=4.0), n_steps=2000, n_trajectories=4, generator=gen(0))
    assert abs(res.lambda_max - math.log(2.0)) < 0.03 and res.status == "success"
    # CLVs need R^-1, which a singular Jacobian does not have: before, the -inf of ln R_ii was
    # reported as "the trajectory diverged (inf/NaN)"; now the `finite` check fails and says why
    clv = rd.covariant_lyapunov_vectors(net, n_steps=20, generator=gen(1), throw=False)
    assert clv.status == "failed" and "Jacobian is singular" in clv.message
    assert [c.name for c in clv.checks if not c.passed] == ["finite"]
    with pytest.raises(rd.AnalysisError, match="singular.*status 'failed'"):
        rd.covariant_lyapunov_vectors(net, n_steps=20, generator=gen(1))


def test_clv_input_length_and_store_errors_say_what_is_needed(tmp_path) -> None:  # noqa: ANN001
    net = rd.VanillaRNN(4, g=2.0, input_size=2, generator=gen(0), dtype=D)
    # before: "`inputs` must cover n_transient + n_steps = 140 steps" for n_steps = 40 (the
    # default backward transient of 100 steps was counted as n_steps)
    with pytest.raises(
        ValueError,
        match=r"n_transient \+ n_steps \+ n_backward_transient = 0 \+ 40 \+ 100 = 140 steps.*got T = 40",
    ):
        rd.covariant_lyapunov_vectors(net, n_steps=40, inputs=torch.zeros(40, 2, dtype=D))
    with pytest.raises(
        TypeError, match="`store` must be a path"
    ):  # before: os's 'expected str, bytes or os.PathLike'
        rd.covariant_lyapunov_vectors(net, n_steps=10, store=3)  # type: ignore[arg-type]
    # with inputs long enough the run works; its forward exponents over the window are those of
    # lyapunov_spectrum from the same state and frame seed
    x = 0.5 * torch.randn(1, 60 + 30, 2, generator=gen(1), dtype=D)
    h0 = torch.zeros(1, 4, dtype=D)
    clv = rd.covariant_lyapunov_vectors(
        net, n_steps=60, n_backward_transient=30, inputs=x, h0=h0, generator=gen(2)
    )
    ref = rd.lyapunov_spectrum(
        net, n_steps=60, inputs=x, h0=h0, qr_every=1, generator=gen(2), check_jacobian=False
    )
    torch.testing.assert_close(clv.exponents, ref.exponents, rtol=1e-10, atol=1e-12)


# ------------------------------------------------------------------------ check_jacobian
def test_check_jacobian_validates_user_states() -> None:
    class WrongHenon(rd.Henon):
        def _jacobian(self, h: torch.Tensor, x: torch.Tensor | None) -> torch.Tensor:
            return 1.1 * super()._jacobian(h, x)

    h = torch.tensor([[0.3, -0.2], [0.1, 0.05]], dtype=D)
    # before: a NaN state was dropped and the result said status 'success' ("no finite state to
    # check the Jacobian at (skipped)"), even for a model whose Jacobian is wrong; a float32 state
    # on a float64 model failed in torch's matmul ("expected m1 and m2 to have the same dtype")
    with pytest.raises(ValueError, match="`h` must be finite"):
        rd.check_jacobian(WrongHenon(), torch.full((2,), math.nan, dtype=D))
    with pytest.raises(TypeError, match="`h` has dtype torch.float32 but GRU's parameters are torch.float64"):
        rd.check_jacobian(rd.GRU(3, generator=gen(0), dtype=D), torch.zeros(3))
    with pytest.raises(ValueError, match=r"`h` must have shape \(N, 2\) with N >= 1"):
        rd.check_jacobian(rd.Henon(), torch.zeros(0, 2, dtype=D))
    # the oracle: at valid states a correct Jacobian passes and a 10 % wrong one fails
    assert rd.check_jacobian(rd.Henon(), h, generator=gen(1)).max_error < 1e-12
    bad = rd.check_jacobian(WrongHenon(), h, generator=gen(1))
    assert bad.status == "failed" and 0.05 < bad.max_error < 0.2


def test_finite_time_exponents_and_vectors_at_on_results_without_data() -> None:
    # before: finite_time_exponents on a result without growth factors (here: a singular
    # Jacobian) raised IndexError "amax(): Expected reduction dim 1 to have non-zero size";
    # vectors_at(99) / vectors_at(1.5) raised torch's IndexError without the argument's name
    dead = rd.covariant_lyapunov_vectors(rd.VanillaRNN(4, g=0.0, dtype=D), n_steps=20, throw=False)
    with pytest.raises(ValueError, match="`result` has status 'failed' and no growth factors"):
        rd.finite_time_exponents(dead, window=5)
    res = rd.covariant_lyapunov_vectors(
        rd.VanillaRNN(4, g=2.0, generator=gen(0), dtype=D), n_steps=40, record_every=10, generator=gen(1)
    )
    with pytest.raises(IndexError, match=r"`j` must be in \[-4, 4\) \(the 4 recorded times\); got 99"):
        res.vectors_at(99)
    with pytest.raises(TypeError, match="`j` must be an int"):
        res.vectors_at(1.5)  # type: ignore[arg-type]
    # the oracle: recorded CLVs have unit columns, and window = n_steps averages to the exponents
    torch.testing.assert_close(res.vectors_at(-1), res.vectors[:, -1], rtol=0, atol=0)
    torch.testing.assert_close(
        torch.linalg.vector_norm(res.vectors_at(2), dim=-2), torch.ones(1, 4, dtype=D), rtol=0, atol=1e-12
    )
    whole = rd.finite_time_exponents(res, window=40)
    torch.testing.assert_close(whole.values.reshape(-1, 4)[0], res.log_r[0].mean(0), rtol=1e-12, atol=1e-12)


def test_inputs_and_starts_must_have_the_models_dtype_everywhere() -> None:
    # before: lyapunov_spectrum refused float32 inputs for a float64 model, but jacobian_spectrum
    # and find_fixed_points cast inputs and initial_states silently (float64 -> float32 loses digits)
    net = rd.VanillaRNN(5, g=0.5, input_size=2, generator=gen(0), dtype=D)
    x32 = torch.zeros(2)
    with pytest.raises(
        TypeError, match=r"`inputs` must have the model's dtype torch.float64; got torch.float32"
    ):
        rd.jacobian_spectrum(net, inputs=x32, n_states=2, n_steps=5, n_transient=5)
    with pytest.raises(
        TypeError, match=r"`inputs` must have the model's dtype torch.float64; got torch.float32"
    ):
        rd.find_fixed_points(net, inputs=x32)
    with pytest.raises(
        TypeError, match=r"`initial_states` has dtype torch.float32 but VanillaRNN computes in torch.float64"
    ):
        rd.find_fixed_points(net, initial_states=torch.zeros(2, 5))
    with pytest.raises(
        TypeError, match=r"`inputs` must have the model's dtype torch.float64; got torch.float32"
    ):
        rd.lyapunov_spectrum(net, n_steps=5, inputs=torch.zeros(5, 2))
    # the oracle with matching dtypes: a constant input u moves the fixed point of the contracting
    # tanh network to the solution of h = tanh(W h + W_in u + b), and F(h*) = h* there
    u = torch.tensor([0.3, -0.2], dtype=D)
    res = rd.find_fixed_points(net, inputs=u, initial_states=torch.zeros(3, 5, dtype=D))
    assert res.n_points == 1
    with torch.no_grad():
        torch.testing.assert_close(net.step(res.points[0], u), res.points[0], rtol=0, atol=1e-12)
    assert float(res.points.abs().max()) > 1e-3  # the input does move it away from 0


def test_throw_and_progress_are_checked_before_any_work() -> None:
    net = rd.GRU(4, generator=gen(0), dtype=D)
    # before: throw="no" was truthy (find_fixed_points raised where the caller asked it not to);
    # throw=1 was accepted by lyapunov_spectrum and max_lyapunov; progress=True ran the whole
    # transient and then failed with "'bool' object is not callable"
    with pytest.raises(TypeError, match="`throw` must be a bool; got str 'no'"):
        rd.find_fixed_points(net, n_initial=2, throw="no")  # type: ignore[arg-type]
    for fn in (rd.lyapunov_spectrum, rd.max_lyapunov):
        with pytest.raises(TypeError, match="`throw` must be a bool; got int 1"):
            fn(net, n_steps=5, throw=1)  # type: ignore[arg-type]
    for fn in (rd.lyapunov_spectrum, rd.covariant_lyapunov_vectors):
        with pytest.raises(TypeError, match="`progress` must be None or a callable progress"):
            fn(net, n_steps=5, n_transient=10**9, progress=True)  # refused before the transient
    # the oracle: a callable progress sees the averaged steps up to n_steps
    seen: list[tuple[int, int]] = []
    rd.lyapunov_spectrum(net, n_steps=40, progress=lambda d, t: seen.append((d, t)), generator=gen(1))
    assert seen and seen[-1] == (40, 40) and all(t == 40 for _, t in seen)


def test_finite_time_clv_exponents_carry_the_clvs_convergence() -> None:
    # before: finite_time_exponents(which="clv") said 'success' on CLVs whose backward iteration
    # had not converged (the CLV result itself said not_converged)
    short = rd.covariant_lyapunov_vectors(
        rd.Henon(), n_steps=200, n_transient=50, n_backward_transient=1, generator=gen(1)
    )
    long = rd.covariant_lyapunov_vectors(
        rd.Henon(), n_steps=200, n_transient=50, n_backward_transient=200, generator=gen(1)
    )
    assert short.status == "not_converged" and long.status == "success"
    f_short = rd.finite_time_exponents(short, window=10, which="clv")
    assert f_short.status == "warning" and "did not converge" in f_short.message
    assert rd.finite_time_exponents(short, window=10, which="gs").status == "success"  # QR values are fine
    f_long = rd.finite_time_exponents(long, window=10, which="clv")
    assert f_long.status == "success"
    # the oracle: the Henon CLV growth rates average to the exponents, sum ln 0.3 (det J = -b)
    assert abs(float(f_long.mean.sum()) - math.log(0.3)) < 0.02
    assert abs(float(f_long.mean[0]) - 0.42) < 0.05


def test_numpy_scalars_from_a_notebook_loop_are_accepted() -> None:
    import json

    import numpy as np

    # before: n_steps=np.int64(300) (e.g. from `for n in np.arange(...)`) raised "`n_steps` must be
    # an int >= 1; got int64", and dt=np.float32(0.01) "`dt` must be a real number"
    a = rd.lyapunov_spectrum(rd.Henon(), n_steps=np.int64(300), n_trajectories=np.int64(2), generator=gen(0))
    b = rd.lyapunov_spectrum(rd.Henon(), n_steps=300, n_trajectories=2, generator=gen(0))
    torch.testing.assert_close(a.exponents, b.exponents, rtol=0, atol=0)
    assert type(a.n_steps) is int and type(a.n_trajectories) is int
    json.dumps(a.to_dict(), allow_nan=False)
    assert rd.discretise(rd.Lorenz63(), dt=np.float32(0.25)).dt == 0.25
    assert rd.GRU(np.int64(3), g_h=np.float32(2.0)).state_size == 3
    assert rd.simulate(rd.Henon(), n_steps=2, batch_shape=(np.int64(3),)).shape == (3, 2, 2)
    # bools and NumPy bools are still not counts
    with pytest.raises(TypeError, match="`n_steps` must be an int >= 1; got bool"):
        rd.lyapunov_spectrum(rd.Henon(), n_steps=np.bool_(True))


def test_init_functions_check_shape_and_generator() -> None:
    import numpy as np

    # before: torch's "Trying to create tensor with negative dimension", "'int' object is not
    # subscriptable", orthogonal((3,)) IndexError, a NumPy generator failed inside torch.randn
    for fn in (rd.init.gaussian, rd.init.he, rd.init.xavier, rd.init.orthogonal, rd.init.uniform):
        with pytest.raises(
            ValueError, match=r"`shape` must have at least \d dimension\(s\), each >= 1; got \(-1, 3\)"
        ):
            fn((-1, 3))
        with pytest.raises(TypeError, match="`shape` must be a tuple of ints, e.g. \\(n, n\\); got 3"):
            fn(3)  # type: ignore[arg-type]
        with pytest.raises(TypeError, match="`generator` must be a torch.Generator or None"):
            fn((3, 3), generator=np.random.default_rng(0))  # type: ignore[arg-type]
    with pytest.raises(ValueError, match=r"at least 2 dimension\(s\).*got \(3,\)"):
        rd.init.orthogonal((3,))
    # the oracle: an orthogonal (4, 4) draw times its transpose is gain^2 I, from NumPy-int shapes too
    w = rd.init.orthogonal((np.int64(4), 4), gain=2.0, generator=gen(0), dtype=D)
    torch.testing.assert_close(w @ w.T, 4.0 * torch.eye(4, dtype=D), rtol=0, atol=1e-12)


def test_torch_state_conversions_check_their_arguments() -> None:
    lstm = torch.nn.LSTM(2, 3, num_layers=2, dtype=D)
    net = rd.from_torch(lstm)
    h, c = torch.randn(2, 4, 3, generator=gen(0), dtype=D), torch.randn(2, 4, 3, generator=gen(1), dtype=D)
    # before: output() of a (4, 5) tensor returned a (4, 2) slice of it (no state of this model
    # has 5 entries); h and c of different batch sizes failed in torch.cat, of different dtypes
    # were promoted silently
    with pytest.raises(
        ValueError, match=r"`traj` must be flat states \(\.\.\., 12\) of this TorchLSTM; got \(4, 5\)"
    ):
        net.output(torch.zeros(4, 5, dtype=D))
    with pytest.raises(
        ValueError, match=r"`hx` must hold h and c of one shape; got \(2, 4, 3\) and \(2, 5, 3\)"
    ):
        net.state_from_torch((h, torch.zeros(2, 5, 3, dtype=D)))
    with pytest.raises(TypeError, match="`hx` must hold h and c of one dtype"):
        net.state_from_torch((h, c.float()))
    # the oracle: the round trip and torch's own output
    flat = net.state_from_torch((h, c))
    h2, c2 = net.state_to_torch(flat)
    assert torch.equal(h2, h) and torch.equal(c2, c)
    x = torch.randn(5, 4, 2, generator=gen(2), dtype=D)
    with torch.no_grad():
        ref, _ = lstm(x, (h, c))
        traj = rd.simulate(net, flat, inputs=x.transpose(0, 1))
    torch.testing.assert_close(net.output(traj).transpose(0, 1), ref, rtol=0, atol=1e-12)


@pytest.mark.parametrize(
    "system",
    [
        rd.GRU(3, dtype=D),
        rd.Henon(),
        rd.Lorenz63(),
        rd.discretise(rd.Lorenz96(5), dt=0.01),
        rd.from_torch(torch.nn.RNN(2, 3)),
    ],
    ids=["gru", "henon", "lorenz63", "discretised_lorenz96", "torch_rnn"],
)
def test_initial_state_checks_its_arguments(system) -> None:  # noqa: ANN001
    # before: scale=nan gave a NaN state and scale=-1 a mirrored one without a word; batch_shape
    # (-1,) or 2 and a non-torch generator failed inside torch.randn
    with pytest.raises(ValueError, match="`scale` must be a finite number in \\[0.0, inf\\]; got nan"):
        system.initial_state((2,), scale=math.nan)
    with pytest.raises(ValueError, match="`scale` must be in \\[0.0, inf\\]; got -1.0"):
        system.initial_state((2,), scale=-1.0)
    with pytest.raises(ValueError, match=r"`batch_shape` must hold ints >= 0; got \(-1,\)"):
        system.initial_state((-1,))
    with pytest.raises(TypeError, match="`batch_shape` must be a tuple of ints"):
        system.initial_state(2)
    with pytest.raises(TypeError, match="`generator` must be a torch.Generator or None; got int"):
        system.initial_state((2,), generator=1)
    # the oracle: same seed, same states; the model's dtype; finite
    a = system.initial_state((2, 3), generator=gen(4))
    b = system.initial_state((2, 3), generator=gen(4))
    assert a.shape == (2, 3, system.state_size) and a.dtype == system.dtype
    assert torch.equal(a, b) and bool(torch.isfinite(a).all())


def test_engine_helpers_and_qr_every_messages() -> None:
    eng = rd.LyapunovEngine(rd.Henon())
    # before: AttributeError "'int' object has no attribute 'log_r'"; qr_every="Auto" said
    # "must be an int >= 1" without naming the 'auto' option
    with pytest.raises(TypeError, match="`state` must be a TangentState"):
        eng.exponents(3)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="`state` must be a TangentState"):
        eng.restart(3)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="`qr_every` must be an int >= 1 or 'auto'; got str 'Auto'"):
        rd.LyapunovEngine(rd.Henon(), qr_every="Auto")
    # the oracle (the class docstring's): the Henon sum of exponents is ln|det J| = ln 0.3
    st = eng.advance(eng.init(torch.tensor([[0.1, 0.1]], dtype=D), generator=gen(0)), n_steps=200)
    st = eng.advance(eng.restart(st), n_steps=1000)
    assert abs(float(eng.exponents(st).sum()) - math.log(0.3)) < 1e-10


def test_max_lyapunov_separation_must_be_small_and_representable() -> None:
    # before: separation=1e-18 (below the float resolution of a state of size ~0.1) placed the copy
    # on the state itself and was reported as 'diverged' (later as -inf); separation=10 on the
    # Henon map (attractor size ~1) returned lambda_max = 2.57 with status 'success'
    gen0 = gen(0)
    with pytest.raises(ValueError, match="`separation` d0 = 1e-18 is below the floating-point resolution"):
        rd.max_lyapunov(rd.Henon(), n_steps=100, separation=1e-18, generator=gen0)
    big = rd.max_lyapunov(rd.Henon(), n_steps=1000, separation=10.0, generator=gen(0))
    assert big.status == "warning" and "linear_separation" in big.message
    # the oracle: a small explicit separation gives the Henon exponent 0.419 and passes
    small = rd.max_lyapunov(rd.Henon(), n_steps=3000, n_transient=100, separation=1e-6, generator=gen(0))
    assert small.status == "success" and abs(small.lambda_max - 0.419) < 0.02


def test_a_discretised_flow_says_when_its_time_step_bias_was_not_measured() -> None:
    class Linear(rd.AbstractFlow):  # x' = -diag(1, 2) x, no analytic Jacobian
        def __init__(self) -> None:
            super().__init__()
            self.state_size, self.input_size, self.dtype = 2, 0, D

        def _vector_field(self, h: torch.Tensor, x: torch.Tensor | None) -> torch.Tensor:
            return -h * torch.tensor([1.0, 2.0], dtype=h.dtype)

    euler = rd.discretise(Linear(), dt=0.1, method="euler")
    # before: 'success: all checks passed' with exponents (-1.054, -2.231) for a flow whose exponents
    # are (-1, -2), and no word that the time step was never checked
    # 150 steps after 50: the exponents within 1e-7 of the exact ones (atol of assert_close: 1e-5)
    res = rd.lyapunov_spectrum(euler, n_steps=150, n_transient=50, generator=gen(0))
    # the oracle: Euler's map is diag(0.9, 0.8), so the exponents are ln(0.9)/0.1 and ln(0.8)/0.1
    torch.testing.assert_close(res.exponents, torch.tensor([math.log(0.9), math.log(0.8)], dtype=D) / 0.1)
    assert "time-step bias was not measured" in res.message and "check_dt=True" in res.message
    halved = rd.lyapunov_spectrum(euler, n_steps=150, n_transient=50, generator=gen(0), check_dt=True)
    assert halved.status == "warning" and "step_halving" in halved.message
    assert "not measured" not in halved.message


# ------------------------------------------------------------------------ rd.analyze
def test_analyze_says_how_to_read_inputs_the_other_way(tmp_path) -> None:
    """A state dict records no batch_first, so (B, T, d) inputs are read time-first by default.
    Before: (4, 40, 2) became 40 sequences of 4 steps without a word, and with n_transient=10 the
    error said only 'T = 4'. Now a warning names the reading and the argument that flips it."""
    gru = torch.nn.GRU(2, 4, dtype=D)
    torch.save(gru.state_dict(), tmp_path / "gru.pt")
    x = torch.randn(4, 40, 2, generator=gen(1), dtype=D)
    with pytest.warns(
        UserWarning, match=r"read as \(T, B, d\) .* 40 sequences of only 4 steps.*batch_first=True"
    ):
        with pytest.raises(
            ValueError, match=r"`n_transient` must be smaller .* T = 4; got 10 .*pass batch_first=True"
        ):
            rd.analyze(tmp_path / "gru.pt", x, n_transient=10, sections="lyapunov")
    # the oracle: read batch-first, 4 sequences of 40 steps, and the same exponents as the call on
    # the module itself with the same inputs and seed; no warning when the layout is given
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("error", UserWarning)
        res = rd.analyze(tmp_path / "gru.pt", x, batch_first=True, n_transient=10, sections="lyapunov")
        same = torch.nn.GRU(2, 4, batch_first=True, dtype=D)
        same.load_state_dict(gru.state_dict())
        ref = rd.analyze(same, x, n_transient=10, sections=["lyapunov"])
        # a live module's batch_first is its own, not an assumption: no warning, even for T < B
        live = rd.analyze(gru, x[:3], sections="lyapunov", n_transient=1)
    assert (live.inputs["n_sequences"], live.inputs["n_steps"]) == (40, 3)
    assert (
        "batch_first=False: a state dict does not record"
        in rd.load_model(tmp_path / "gru.pt").load_info["assumed"][0]
    )
    assert "assumed" not in rd.load_model(tmp_path / "gru.pt", batch_first=False).load_info
    assert (res.inputs["n_sequences"], res.inputs["n_steps"]) == (4, 40)
    # the explicit batch_first is the file's layout: no 'assumed batch_first=False' row contradicts it
    assert "assumed" not in res.model["loaded_from"] and res.model["batch_first"] is True
    pre = rd.load_model(tmp_path / "gru.pt")  # loaded with the assumption, then overridden
    over = rd.analyze(pre, x, batch_first=True, n_transient=10, sections="lyapunov")
    assert (
        "assumed" not in over.model["loaded_from"] and "assumed" in pre.load_info
    )  # the user's net untouched
    default = rd.analyze(tmp_path / "gru.pt", x[:, :5].transpose(0, 1), n_transient=1, sections="lyapunov")
    assert default.inputs["layout_from"] == "batch_first=False assumed: a state dict does not record it"
    assert res.settings["sections"] == ["lyapunov"] and res.lyapunov.n_steps == 30
    torch.testing.assert_close(res.lyapunov.exponents, ref.lyapunov.exponents, rtol=0, atol=1e-12)


def test_analyze_rejects_bad_options_before_any_work(tmp_path) -> None:
    gru = torch.nn.GRU(2, 4, batch_first=True, dtype=D)
    x = torch.randn(1, 30, 2, generator=gen(2), dtype=D)
    cases = [
        ({"sections": ()}, ValueError, r"`sections` must name at least one of .*; got \(\)"),
        ({"device": "tpu"}, ValueError, "`device` must be cpu, cuda, cuda:N or mps; got 'tpu'"),
        ({"dtype": torch.float16}, TypeError, "`dtype` must be torch.float64 .* or torch.float32; got torch.float16"),
        ({"batch_first": "no"}, TypeError, "`batch_first` must be True, False or None; got str 'no'"),
        ({"module_path": 3}, TypeError, r"`module_path` must be a str \(e.g. 'rnn'\) or None; got int"),
        ({"progress": 3}, TypeError, r"`progress` must be a callable .* or None; got int"),
        ({"progress": lambda: None}, TypeError, r"`progress` must take one argument, progress\(section_name\)"),
        ({"seed": 2**70}, ValueError, r"`seed` must be an int in \[0, 2\*\*63 - 6\] .*; got 1180591620717411303424"),
        ({"seed": -1}, ValueError, "`seed` must be an int >= 0; got -1"),  # as rd.sweep's and rd.reproduce's
        ({"k": 2, "sections": "spectrum"}, ValueError, r"`k` applies to the 'lyapunov' and 'clv' sections .*got k=2"),
    ]  # fmt: skip
    for kwargs, exc, msg in cases:
        with pytest.raises(exc, match=msg):
            rd.analyze(gru, x, n_transient=5, **kwargs)
    res = rd.analyze(gru, x, n_transient=5, sections="lyapunov")  # one name, not its letters
    assert res.settings["sections"] == ["lyapunov"] and res.jacobian_spectrum is None
    # a NumPy seed from a notebook loop is the same seed (before: "`seed` must be an int; got int64")
    import numpy as np

    same = rd.analyze(gru, x, n_transient=5, sections="lyapunov", seed=np.int64(0))
    assert same.settings["seed"] == 0 and type(same.settings["seed"]) is int
    torch.testing.assert_close(same.lyapunov.exponents, res.lyapunov.exponents, rtol=0, atol=0)
    # output paths are checked before anything is written or drawn
    with pytest.raises(
        ValueError, match=r"`path` must be a file path; got .*an existing folder .*report.html"
    ):
        res.report(tmp_path)
    with pytest.raises(
        ValueError, match=r"`path` must be a file path; got .*an existing folder .*result.json"
    ):
        res.to_json(tmp_path)
    with pytest.raises(TypeError, match="`path` must be a file path .*; got int 3"):
        res.to_netcdf(3)
    with pytest.raises(TypeError, match="`full` must be True or False; got str 'yes'"):
        res.to_dict(full="yes")
    assert sorted(p.name for p in tmp_path.iterdir()) == []
    # the oracle: the JSON written is the JSON returned, and full=True adds the convergence history
    text = res.to_json(tmp_path / "r.json")
    assert (tmp_path / "r.json").read_text() == text
    assert "running" in res.to_dict(full=True)["lyapunov"] and "running" not in res.to_dict()["lyapunov"]


def test_analyze_takes_a_scripted_module_in_memory() -> None:
    """Before: rd.analyze(torch.jit.script(gru)) said the module 'contains none' of the recurrent
    networks (a scripted module hides its submodules' types). Now it is read as rd.load_model
    reads a TorchScript file (a wrapper's too: tests/test_io.py::test_torchscript): the same
    weights, so the same exponents."""
    torch.manual_seed(0)
    gru = torch.nn.GRU(2, 4, batch_first=True, dtype=D)
    x = torch.randn(1, 30, 2, generator=gen(3), dtype=D)
    ref = rd.analyze(gru, x, n_transient=5, sections="lyapunov")
    scripted = torch.jit.script(gru)
    res = rd.analyze(scripted, x, n_transient=5, sections="lyapunov")
    torch.testing.assert_close(res.lyapunov.exponents, ref.lyapunov.exponents, rtol=0, atol=0)
    # rd.from_torch cannot wrap it (its submodules' types are hidden) and says what can
    with pytest.raises(
        TypeError, match="got the TorchScript module RecursiveScriptModule: .*from_script_module"
    ):
        rd.from_torch(scripted)
    from rnndyn.io import from_script_module

    out, _ = rd.rollout_like_torch(from_script_module(scripted), x)
    torch.testing.assert_close(out, gru(x)[0], rtol=0, atol=1e-12)
    assert res.model["loaded_from"]["format"] == "torchscript"
    assert res.inputs["layout"] == "(B, T, d)"  # the scripted GRU's own batch_first


def test_analyze_says_what_the_inputs_and_the_clv_section_need() -> None:
    """A 2-D array has one reading, (T, d), which its description no longer attributes to the
    module's batch_first; CLVs on inputs too short for Ginelli's backward pass say how long the
    inputs must be (before: only 'too short')."""
    cell = torch.nn.GRUCell(2, 3, dtype=D)
    x = torch.randn(40, 2, generator=gen(4), dtype=D)
    res = rd.analyze(cell, x, n_transient=5, sections="clv")
    assert res.inputs["description"] == "1 sequence(s) of 40 steps, 2 features, read as (T, d): one sequence"
    # the oracle: 5 transient steps + 1 recorded + 300 backward-transient steps = 306 > T = 40
    assert res.errors["clv"].startswith("the inputs (T = 40) are too short") and "= 306;" in res.errors["clv"]
    assert res.status == "failed" and res.clv is None
    # a cell has no batch_first: 3-D inputs are time-first (as rd.rollout_like_torch), and said so
    with pytest.raises(
        ValueError, match=r"T = 1; .*\(a cell has no batch_first: time-first, .*pass batch_first=True"
    ):
        rd.analyze(cell, x[None], n_transient=5, sections="lyapunov")


def test_non_finite_weights_are_named_by_every_section() -> None:
    """Only the Lyapunov routines checked the weights: with an inf weight the fixed-point search
    raised numpy's LinAlgError, the Jacobian spectrum blamed a 'diverged trajectory?' and the CLVs
    reported 'diverged'. Now rd.analyze (every section), rd.jacobian_spectrum and
    rd.covariant_lyapunov_vectors name the parameter, as rd.lyapunov_spectrum does."""
    gru = torch.nn.GRU(2, 3, dtype=D).requires_grad_(False)
    gru.weight_hh_l0[0, 0] = math.inf
    msg = r"non-finite parameters: .*weight_hh_l0 contains 0 NaN and 1 inf of 27 entries"
    for section in ("jacobian_spectrum", "fixed_points", "clv"):
        with pytest.raises(ValueError, match="`model` has " + msg):
            rd.analyze(gru, sections=section, n_steps=20, n_transient=5, fixed_point_starts=2)
    net = rd.from_torch(gru)
    with pytest.raises(ValueError, match="`system` has " + msg):
        rd.jacobian_spectrum(net, n_states=2)
    with pytest.raises(ValueError, match="`system` has " + msg):
        rd.covariant_lyapunov_vectors(net, n_steps=10)
    # the oracle: with the weight finite again the same calls run, and the spectrum's Jacobians
    # are the model's own (rd.jacobian at the recorded states)
    gru.weight_hh_l0[0, 0] = 0.5
    spec = rd.jacobian_spectrum(net, n_states=2, n_steps=4, n_transient=3, generator=gen(5))
    ev = torch.linalg.eigvals(rd.jacobian(net, spec.states))
    torch.testing.assert_close(ev.abs().amax(-1), spec.spectral_radius, rtol=1e-12, atol=1e-12)


def test_analyze_names_the_flow_it_discretised() -> None:
    # before: the label and the model row said only 'Discretised, n=3'
    m = rd.discretise(rd.Lorenz63(), dt=0.01, method="rk4")
    res = rd.analyze(m, sections="lyapunov", n_steps=20, n_transient=5, n_trajectories=1)
    assert res.label == "Discretised(Lorenz63, dt=0.01, rk4), n=3"
    assert (res.model["type"], res.model["flow"], res.model["dt"]) == ("Discretised", "Lorenz63", 0.01)
    assert res.lyapunov.units == "1/time"


def test_analyze_inputs_of_a_model_that_embeds_first_get_a_hint() -> None:
    """A classifier that embeds token ids before its GRU: the ids (B, T) do not fit the GRU. The
    error says the inputs go straight into the recurrent network and what to pass instead."""

    class Classifier(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.embedding = torch.nn.Embedding(10, 4, dtype=D)
            self.rnn = torch.nn.GRU(4, 3, batch_first=True, dtype=D)

    model = Classifier()
    tokens = torch.randint(0, 10, (2, 30), generator=gen(6))
    with pytest.raises(
        ValueError,
        match=r"got \(2, 30\)\. They go straight into the recurrent network \(input_size 4\).*model.embedding\(tokens\)",
    ):
        rd.analyze(model, tokens, sections="lyapunov")
    # the oracle: the embedded tokens are accepted, as (B, T, 4) by the GRU's batch_first
    res = rd.analyze(model, model.embedding(tokens).detach(), sections="lyapunov", n_transient=5)
    assert (res.inputs["n_sequences"], res.inputs["n_steps"], res.model["module_path"]) == (2, 30, "rnn")


def test_analyze_says_when_the_spectrum_is_of_the_h_only_block() -> None:
    """lstm_state='h' gives the Jacobian spectrum of the leading L*H x L*H block (at fixed c), not
    the true linearisation; before, nothing in the result said which matrix it was."""
    lstm = torch.nn.LSTM(1, 3, batch_first=True, dtype=D)
    x = torch.randn(1, 30, 1, generator=gen(7), dtype=D)
    res = rd.analyze(lstm, x, lstm_state="h", sections="spectrum", n_transient=5, spectrum_states=2)
    assert "h-only tangent space (lstm_state='h')" in res.analysed["jacobian_spectrum"]
    # the oracle: 3 eigenvalues per state (H = 3, not 2H = 6), those of the h-only block there
    assert res.jacobian_spectrum.eigenvalues.shape == (2, 3)
    net = rd.from_torch(lstm, lstm_state="full")
    s, u = res.jacobian_spectrum.states, res.jacobian_spectrum.inputs
    block = torch.stack([net.jacobian_h_only(s[i], u[i]) for i in range(2)])
    torch.testing.assert_close(
        torch.linalg.eigvals(block).abs().amax(-1),
        res.jacobian_spectrum.spectral_radius,
        rtol=1e-12,
        atol=1e-12,
    )
    full = rd.analyze(lstm, x, sections="spectrum", n_transient=5, spectrum_states=2)
    assert "h-only" not in full.analysed[
        "jacobian_spectrum"
    ] and full.jacobian_spectrum.eigenvalues.shape == (2, 6)

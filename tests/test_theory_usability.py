"""New-user checks of the theory, chaos, training and sweep APIs: bad arguments are refused up
front in the argument's name, and result objects show the numbers they exist for.

Each test here failed before the fix it guards (see the commit that added it).
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

import rnndyn as rd
from rnndyn import chaos
from rnndyn import meanfield as mf


# ----------------------------------------------------------------------------- chaos probability
def test_chaos_probability_repr_and_summary_show_the_probabilities() -> None:
    res = chaos.chaos_probability([2, 4], n_networks=40, seed=0, activation="relu")
    # before: repr/summary showed only criterion/init/activation/model, never a probability
    for k, n, p, w in zip(res.n_chaotic, res.n_networks, res.probability, res.widths, strict=True):
        assert p == k / n
        assert f"width {w}: {k}/{n} chaotic" in res.summary()
    assert "probability=" in repr(res) and "ci_high=" in repr(res)
    lo, hi = chaos.wilson_interval(res.n_chaotic[0], 40)
    assert f"{hi:.4g}" in res.summary()


def test_chaos_probability_widths_numpy_ints_and_duplicates() -> None:
    a = chaos.chaos_probability(np.arange(2, 4), n_networks=20, seed=np.int64(3))
    b = chaos.chaos_probability([2, 3], n_networks=20, seed=3)
    assert a.widths == (2, 3) and a.n_chaotic == b.n_chaotic  # same networks as plain ints
    with pytest.raises(ValueError, match=r"`width` must list each width once.*\[2\] repeated"):
        chaos.chaos_probability([2, 2], n_networks=5)
    with pytest.raises(TypeError, match="`dtype` must be a real floating-point torch.dtype.*'float64'"):
        chaos.chaos_probability(4, n_networks=5, dtype="float64")
    with pytest.raises(ValueError, match="`chunk_size` must be an int >= 1; got 0"):
        chaos.chaos_probability(4, n_networks=5, chunk_size=0)
    with pytest.raises(TypeError, match="`seed` must be an int; got str"):
        chaos.vector_chaos_probability(4, n_networks=2, n_steps=5, n_transient=0, seed="a")


def test_wilson_interval_refuses_bad_z_and_fractional_counts() -> None:
    # before: z=-1 gave an inverted interval (0.234, 0.039), z=nan gave (0, 1), k=1.5 a number
    lo, hi = chaos.wilson_interval(np.int64(3), 10)
    assert (lo, hi) == chaos.wilson_interval(3, 10) and lo < 0.3 < hi
    with pytest.raises(ValueError, match="`z` must be a finite number > 0"):
        chaos.wilson_interval(1, 10, z=-1.0)
    with pytest.raises(ValueError, match="`z` must be a finite number > 0.*nan"):
        chaos.wilson_interval(1, 10, z=float("nan"))
    with pytest.raises(TypeError, match="`k` must be an int .*float 1.5"):
        chaos.wilson_interval(1.5, 10)
    with pytest.raises(TypeError, match="`n` must be an int .*bool"):
        chaos.wilson_interval(1, True)


# ----------------------------------------------------------------------------- fixed-point MFT
def test_fixed_point_result_shows_its_fixed_points_and_they_solve_the_mft() -> None:
    res = mf.fixed_points(2.5, 0.0)
    # oracle: at alpha_r = 0 the reset gate is sigma(0) = 1/2, so Delta = (g_h^2 / 4) <tanh^2>_Delta
    z, w = np.polynomial.hermite_e.hermegauss(80)
    w = w / w.sum()
    (delta,) = res.delta
    assert abs(2.5**2 / 4 * np.sum(w * np.tanh(np.sqrt(delta) * z) ** 2) - delta) < 1e-10
    # before: repr/summary listed model, gains, bias and zero-FP fields only -- no nonzero fixed point
    assert "n_nonzero=1" in repr(res) and f"delta=[{delta:.4g}]" in repr(res)
    assert f"rho: [{res.rho[0]:.4g}]" in res.summary() and "g_star:" in res.summary()


def test_gain_function_and_spectral_shaping_name_their_arguments() -> None:
    assert float(mf.spectral_shaping(0.0, 1.5, 3.0)) == pytest.approx(1.5**2 / 4, abs=1e-12)
    # before: 'could not convert string to float', the negative delta was called `var`, and a
    # negative alpha_r or g_h gave a number
    with pytest.raises(TypeError, match="`delta` must be a number"):
        mf.gain_function("a", 0.0)
    with pytest.raises(ValueError, match=r"`delta` must be finite and >= 0; got \[1.0, -1.0\]"):
        mf.gain_function([1.0, -1.0], 0.0)
    with pytest.raises(ValueError, match="`alpha_r` must be in"):
        mf.gain_function(1.0, -1.0)
    with pytest.raises(ValueError, match="`g_h` must be finite and >= 0"):
        mf.spectral_shaping(1.0, -2.0, 0.0)
    with pytest.raises(ValueError, match="`bias_std` must be in"):
        mf.spectral_shaping(1.0, 2.0, 0.0, -1.0)


# ----------------------------------------------------------------------------- sweeps
def _double(params: dict, seed: int) -> dict:
    return {"y": params["a"] * 2.0 + seed}


def test_sweep_refuses_repeated_or_mixed_axes_and_bad_seeds(tmp_path) -> None:
    kw = {"store": tmp_path / "s.zarr", "scheduler": "sync", "progress": False}
    # before: [1.0, 1.0] gave a sweep with a duplicated coordinate (two seeds, one label) and
    # [1.0, 'y'] turned 1.0 into the string '1.0'
    with pytest.raises(ValueError, match=r"`grid\['a'\]` must list each value once.*\[1.0\] repeated"):
        rd.sweep(_double, {"a": [1.0, 2.0, 1.0]}, **kw)
    with pytest.raises(TypeError, match=r"`grid\['a'\]` must hold numbers only.*'y'"):
        rd.sweep(_double, {"a": [1.0, "y"]}, **kw)
    # before: "invalid literal for int() with base 10: 'x'" / "expected non-negative integer"
    with pytest.raises(TypeError, match="`base_seed` must be an int >= 0; got str 'x'"):
        rd.sweep(_double, {"a": [1.0]}, base_seed="x", **kw)
    with pytest.raises(ValueError, match="`base_seed` must be an int >= 0; got -1"):
        rd.sweep(_double, {"a": [1.0]}, base_seed=-1, **kw)
    with pytest.raises(TypeError, match="`store` must be a path"):
        rd.sweep(_double, {"a": [1.0]}, store=3, scheduler="sync", progress=False)
    with pytest.raises(ValueError, match="`n_workers` must be an int >= 1; got 0"):
        rd.sweep(_double, {"a": [1.0]}, n_workers=0, **kw)
    assert not (tmp_path / "s.zarr").exists()  # refused before any store was made
    # before: point_seed(1.5, 0) == point_seed(True, 0) == point_seed(1, 0)
    with pytest.raises(TypeError, match="`base_seed` must be an int >= 0; got float 1.5"):
        rd.sweeps.point_seed(1.5, 0)
    assert rd.sweeps.point_seed(np.int64(1), 0) == rd.sweeps.point_seed(1, 0)
    ds = rd.sweep(_double, {"a": np.array([1.0, 2.0])}, n_seeds=2, base_seed=5, **kw)
    for i, a in enumerate([1.0, 2.0]):
        for j in range(2):
            seed = rd.sweeps.point_seed(5, 2 * i + j)
            assert int(ds["point_seed"][i, j]) == seed
            assert float(ds["y"][i, j]) == _double({"a": a}, seed)["y"]


# ----------------------------------------------------------------------------- phase diagram
def test_phase_diagram_regions_at_documented_points_and_grid_errors() -> None:
    # docs/meanfield.md, finite-N overlay table: MFT regions of the GRU at alpha_r = 0 and 20
    ds = mf.phase_diagram("gru", g_h=[1.5, 1.7, 1.9, 2.0, 2.1], alpha_r=[0.0, 20.0])
    assert ds.region.values.T.tolist() == [[1, 1, 1, 4, 5], [1, 2, 2, 4, 4]]
    # before: 'could not convert string to float' (no argument named) and a repeated g_h gave a
    # Dataset with a duplicated coordinate
    with pytest.raises(TypeError, match="`g_h` must be a number or a 1-D grid of numbers.*'a'"):
        mf.phase_diagram("gru", g_h=["a"], alpha_r=[0.0])
    with pytest.raises(TypeError, match="`alpha_r` must be a number or a 1-D grid"):
        mf.bifurcation_curve("1")
    with pytest.raises(ValueError, match=r"`alpha_r` must list each value once.*\[0.0\] repeated"):
        rd.phase_diagram("gru", g_h=[1.5], alpha_r=[0.0, 0.0])
    # before: seed='a' failed inside the overlay sweep; simulate='yes' ran the overlay
    with pytest.raises(TypeError, match="`seed` must be an int >= 0.*'a'"):
        rd.phase_diagram("gru", g_h=[1.5], alpha_r=[0.0], simulate=True, seed="a")
    with pytest.raises(TypeError, match="`simulate` must be True or False; got str 'yes'"):
        rd.phase_diagram("gru", g_h=[1.5], alpha_r=[0.0], simulate="yes")


# ----------------------------------------------------------------------------- period 3
def _logistic(r: float):
    return lambda x: r * x * (1 - x)


def test_period3_logistic_oracle_and_maps_undefined_on_the_domain() -> None:
    # r = 3.83: the period-3 window (a stable and an unstable 3-cycle: 6 points); r = 3.5: none
    yes = chaos.period3(_logistic(3.83), domain=(0.0, 1.0), n_grid=2001)
    no = chaos.period3(_logistic(3.5), domain=(0.0, 1.0), n_grid=2001)
    assert yes.status.value == "success" and int(yes.n_points[0]) == 6
    w = float(yes.witness[0])
    assert abs(_logistic(3.83)(_logistic(3.83)(_logistic(3.83)(w))) - w) < 1e-9
    assert no.status.value == "success" and not bool(no.has_period3[0])
    # before: a map that is NaN on most of the domain gave status 'success' and "no period 3"
    half = chaos.period3(
        lambda x: 3.83 * x * (1 - x) * torch.where(x < 0.5, torch.nan, 1.0), domain=(0.0, 1.0), n_grid=2001
    )
    assert half.status.value == "failed" and "is NaN at" in half.message and "`domain`" in half.message
    # before: RuntimeError "shape '[1]' is invalid for input of size 2" / torch's new() error
    with pytest.raises(ValueError, match=r"`a` must hold one point per map \(1 map\(s\)\); got shape \(2,\)"):
        chaos.li_yorke_witness(_logistic(3.83), torch.tensor([0.1, 0.5]))
    with pytest.raises(TypeError, match="`domain` must be \\(lo, hi\\)"):
        chaos.period3(_logistic(3.83), domain="a")


# ----------------------------------------------------------------------------- training
def test_train_config_and_data_builders_check_their_arguments() -> None:
    from rnndyn import training as tr

    assert tr.TrainConfig(tau=5.0).tau == 5  # an integral float is the int, as in forcing_schedule
    # before: TrainConfig stored anything; lr=-1 or n_epochs=0 surfaced only inside train_forced,
    # after tau='auto' had run the Rosenstein estimate; tau='foo', clip='foo', anneal='yes' likewise
    for kw, exc, msg in [
        ({"n_epochs": 0}, ValueError, "`n_epochs` must be an int >= 1; got 0"),
        ({"lr": -1.0}, ValueError, r"`lr` must be in \(0.0, inf\]; got -1.0"),
        ({"lr": float("nan")}, ValueError, "`lr` must be a finite number"),
        ({"tau": "foo"}, TypeError, "`tau` must be an int >= 1, 'auto' or None; got str 'foo'"),
        ({"clip": "foo"}, ValueError, "`clip` must be one of 'norm', 'value'"),
        ({"anneal": "yes"}, TypeError, "`anneal` must be True or False"),
        ({"batch_size": 0}, ValueError, "`batch_size` must be an int >= 1"),
    ]:
        with pytest.raises(exc, match=msg):
            tr.TrainConfig(**kw)
    x = np.random.default_rng(0).normal(size=(50, 2))
    # before: dt=0 and lambda_max=nan were stored (predictability_steps became inf / nan) and a
    # string series raised torch's "can't convert np.ndarray of type numpy.str_"
    with pytest.raises(ValueError, match="`dt` must be in"):
        tr.from_array(x, dt=0.0)
    with pytest.raises(ValueError, match="`lambda_max` must be a finite number"):
        tr.from_array(x, lambda_max=float("nan"))
    with pytest.raises(TypeError, match="`series` must be an array of real numbers"):
        tr.from_array("abc")
    data = tr.from_array(x, dt=0.5, lambda_max=0.2)
    assert data.predictability_steps == pytest.approx(np.log(2) / (0.2 * 0.5))
    # before: test_fraction=1.5 gave a task with an empty training set
    with pytest.raises(ValueError, match=r"`test_fraction` must be in \(0.0, 1.0\); got 1.5"):
        tr.delayed_copy_task(n_samples=10, test_fraction=1.5)


def test_state_space_divergence_refuses_a_constant_true_orbit() -> None:
    from rnndyn import training as tr

    x = torch.randn(400, 2, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    const = torch.ones(400, 2, dtype=torch.float64)
    assert tr.state_space_divergence(x, x) == 0.0 and tr.state_space_divergence(x, const) > 1.0
    # before: state_space_divergence(const, x) returned 0.0 ("identical") for any x_gen
    with pytest.raises(ValueError, match=r"`x_true` is constant in dimension\(s\) \[0, 1\].*method='gmm'"):
        tr.state_space_divergence(const, x)


# ----------------------------------------------------------------------------- DMFT solvers
def test_dmft_solvers_refuse_bad_seed_and_flags_before_solving() -> None:
    # before: gated_dmft(3.0, seed='a'), (seed=1.5) and (lyapunov='yes') ran the full solve (~4 s
    # each) and reported success; adjoint_gradient_norms(seed='a') likewise; gru_dmft(seed=-1)
    # called a negative seed a TypeError
    for kw, exc, msg in [
        ({"seed": "a"}, TypeError, "`seed` must be an int >= 0; got str 'a'"),
        ({"seed": 1.5}, TypeError, "`seed` must be an int >= 0; got float 1.5"),
        ({"lyapunov": "yes"}, TypeError, "`lyapunov` must be True or False; got str 'yes'"),
    ]:
        with pytest.raises(exc, match=msg):
            mf.gated_dmft(3.0, **kw)
    with pytest.raises(TypeError, match="`seed` must be an int >= 0; got str 'a'"):
        mf.adjoint_gradient_norms(3.0, seed="a")
    with pytest.raises(ValueError, match="`seed` must be an int >= 0; got -1"):
        mf.gru_dmft(3.0, seed=-1)
    with pytest.raises(TypeError, match="`lyapunov` must be True or False"):
        mf.lstm_dmft(3.0, lyapunov=1)


# ----------------------------------------------------------------------------- quadrature, scrambling
def test_gaussian_quadrature_names_bad_arguments() -> None:
    assert float(mf.gaussian_expectation(lambda u: u**4, 2.0)) == pytest.approx(12.0, abs=1e-10)  # 3 var^2
    # before: "'int' object is not callable", numpy's "deg must be a positive integer",
    # "could not convert string to float", and a negative var0_g was reported as `var0`
    with pytest.raises(TypeError, match="`f` must be a callable"):
        mf.gaussian_expectation(3, 1.0)
    with pytest.raises(ValueError, match="`nodes_per_panel` must be an int >= 1; got 0"):
        mf.gaussian_expectation(np.tanh, 1.0, nodes_per_panel=0)
    with pytest.raises(TypeError, match="`var` must be a number or an array of numbers; got str 'a'"):
        mf.gaussian_expectation(np.tanh, "a")
    with pytest.raises(ValueError, match="`var0_g` must be finite and >= 0; got -1.0"):
        mf.gaussian_correlation(np.tanh, 1.0, 0.5, var0_g=-1.0)


def test_scrambling_repr_shows_the_fractions_and_the_exponent() -> None:
    res = chaos.scrambling(
        rd.Logistic(r=4.0), n_pairs=4, n_steps=400, n_transient=10, generator=torch.Generator().manual_seed(0)
    )
    # oracle: the exponent of the logistic map at r = 4 is ln 2
    assert res.lambda_max == pytest.approx(np.log(2), abs=0.1)
    # before: repr/summary stopped at fraction_far (eight fields): no lambda_max, no source, no window
    assert f"lambda_max={res.lambda_max:.4g}" in repr(res) and "lambda_source=" in repr(res)
    assert "window:" in res.summary()


# ----------------------------------------------------------------------------- reproductions
def test_reproduce_checks_seed_and_ids_before_running(tmp_path) -> None:
    from rnndyn import reproduce as rp

    first = rp.claims()[0].id
    # before: run_claim(seed=-1) ran the claim and returned status 'failed' with the message
    # "ValueError: `base_seed` must be an int >= 0"; run_all(ids=[]) wrote an empty gallery and
    # run_all(ids='cks20-zero-fp') looked up the claim 'c'
    with pytest.raises(ValueError, match="`seed` must be an int >= 0; got -1"):
        rp.run_claim(first, seed=-1)
    with pytest.raises(ValueError, match="`ids` must name at least one claim"):
        rp.run_all(out=tmp_path / "g", ids=[])
    with pytest.raises(TypeError, match=r"`ids` must be a list of claim ids or None; got the string"):
        rp.run_all(out=tmp_path / "g", ids=first)
    with pytest.raises(ValueError, match=f"`ids` must name each claim once; got \\['{first}'\\] repeated"):
        rp.run_all(out=tmp_path / "g", ids=[first, first])
    with pytest.raises(ValueError, match="`mode` must be one of"):
        rp.run_all(out=tmp_path / "g", mode="fast")
    assert not (tmp_path / "g").exists()  # nothing written


def test_tau_sweep_and_gradient_horizon_check_their_grids() -> None:
    from rnndyn import training as tr

    data = tr.from_array(np.random.default_rng(0).normal(size=(300, 2)), lambda_max=0.1)
    cfg = tr.TrainConfig(n_epochs=1, batches_per_epoch=1, batch_size=2, seq_len=10, tau=5)

    def make(seed: int) -> tr.ForcedRNN:
        raise AssertionError("no model is built for a refused sweep")

    # before: taus=[] returned a 'success' result with no run, [5, 5] trained twice, seeds=()
    # raised ZeroDivisionError after training, config={...} AttributeError, baseline_clip=-1 ran
    for kw, exc, msg in [
        ({"taus": []}, ValueError, "`taus` must hold at least one value"),
        ({"taus": [5, 5]}, ValueError, r"`taus` must list each value once; got \[5, 5\]"),
        ({"taus": [5], "seeds": ()}, ValueError, "`seeds` must hold at least one value"),
        ({"taus": [5], "config": {"n_epochs": 1}}, TypeError, "`config` must be a TrainConfig; got dict"),
        ({"taus": [None], "baseline_clip": -1.0}, ValueError, "`baseline_clip` must be in"),
    ]:
        with pytest.raises(exc, match=msg):
            tr.tau_sweep(make, data, **{"config": cfg, **kw})
    vanilla = rd.VanillaRNN(6, g=2.0, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    # before: (2, 2, 4) passed the "increasing" check, (2.5, 4) was truncated to (2, 4), and a
    # wrong-size h0 raised "mat1 and mat2 shapes cannot be multiplied"
    with pytest.raises(ValueError, match=r"at least two increasing ints >= 1; got \[2, 2, 4\]"):
        tr.gradient_horizon(vanilla, horizons=(2, 2, 4))
    with pytest.raises(TypeError, match="`horizons` must be an int >= 1; got float 2.5"):
        tr.gradient_horizon(vanilla, horizons=(2.5, 4))
    with pytest.raises(ValueError, match=r"`h0` must have shape \(\*batch, 6\); got \(3,\)"):
        tr.gradient_horizon(vanilla, horizons=(2, 4), h0=torch.zeros(3, dtype=torch.float64))


def test_tau_sweep_result_shows_one_line_per_setting() -> None:
    from rnndyn.training.evaluation import TauSweepResult

    res = TauSweepResult(
        taus=[5, None], labels=["tau=5", "BPTT+clip"], d_stsp=[0.25, 1.5], d_h=[0.1, 0.4],
        final_loss=[0.01, 0.2], tau_pred=7.0, tau_pred_estimated=6.5, lambda_max_data=0.1, results=[],
        status="success", message="2 runs evaluated",
    )  # fmt: skip
    # before: repr/summary showed tau_pred, tau_pred_estimated and lambda_max_data only
    assert "tau=5: D_stsp = 0.25, D_H = 0.1, final loss = 0.01" in res.summary()
    assert "BPTT+clip: D_stsp = 1.5, D_H = 0.4" in res.summary() and "d_stsp=[0.25, 1.5]" in repr(res)


def test_trainability_readout_checks_alphas_and_the_split() -> None:
    from rnndyn import training as tr

    spectra = [np.array([0.1, -0.2, -0.5]) + 0.01 * i for i in range(10)]
    losses = [float(i) for i in range(10)]  # exactly linear in the spectrum: the ridge fit is exact
    r = tr.trainability_readout(spectra, losses, generator=torch.Generator().manual_seed(0))
    assert r.test_mse < 1e-6 * r.baseline_mse
    # before: alphas=() raised "float() argument must be ... not 'NoneType'", alphas=(-1,) sklearn's
    # "alphas == -1.0, must be > 0.0." (no argument named), test_fraction=0.95 an empty training set
    with pytest.raises(ValueError, match="`alphas` must be a non-empty sequence"):
        tr.trainability_readout(spectra, losses, alphas=())
    with pytest.raises(ValueError, match=r"`alphas` must be .*got \(-1.0,\)"):
        tr.trainability_readout(spectra, losses, alphas=(-1.0,))
    with pytest.raises(ValueError, match="`test_fraction` 0.95 of 10 runs leaves fewer than 2 runs"):
        tr.trainability_readout(spectra, losses, test_fraction=0.95)


def test_dmft_summary_says_why_a_solve_is_not_converged() -> None:
    # a deliberately cut-short solve (3 iterations) of the chaotic GRU
    res = mf.gru_dmft(5.0, tau_max=16, n_samples=64, window=64, burn_in=16, max_iter=3)
    assert res.status.value == "not_converged" and res.residual > 1e-7
    # before: the summary was one line ending "status=not_converged": no reason, no remedy, no checks
    text = res.summary()
    assert "after 3 iterations (raise max_iter)" in text
    assert "check residual: FAILED [not_converged]" in text
    below = mf.gru_dmft(1.5, tau_max=16, n_samples=64, window=64, burn_in=16)
    # oracle: below g_h = 2 the zero fixed point is the solution, with rate ln(1/2 + g_h/4) per step
    assert below.c_h0 == 0.0 and below.lambda_max == pytest.approx(np.log(0.5 + 1.5 / 4), abs=1e-9)
    assert "the solution is the zero fixed point" in below.summary()


def test_phase_diagram_dataset_labels_every_variable() -> None:
    ds = mf.phase_diagram("gru", g_h=[1.5, 2.5], alpha_r=[0.0])
    # before: zero_fp_rho, zero_fp_stable, message, g_ms_exists, line_status, line_message and the
    # coordinates carried no long_name (a plotted axis or colourbar had no label)
    unlabelled = [v for v in [*ds.data_vars, *ds.coords] if "long_name" not in ds[v].attrs]
    assert unlabelled == []
    # oracle: the zero FP of the GRU has rho = g_h^2 / 4, stable iff g_h < 2
    assert ds.zero_fp_rho.values.tolist() == [1.5**2 / 4, 2.5**2 / 4]
    assert ds.zero_fp_stable.values.tolist() == [True, False]


def test_topological_entropy_message_names_the_fitted_window() -> None:
    res = chaos.topological_entropy(chaos.ScalarNetwork.tent(), t_max=12, domain=(0.0, 1.0))
    assert float(res.entropy[0]) == pytest.approx(np.log(2), abs=1e-9)  # the tent map: L(f^t) = 2^t
    # before: "lap numbers grew over t = 12..12 steps" -- the slope is taken between t/2 and t
    assert res.message == "h = slope of ln L(f^t) between t = 6 and t = 12"
    capped = chaos.topological_entropy(chaos.ScalarNetwork.tent(), t_max=12, domain=(0.0, 1.0), max_laps=4)
    assert capped.status.value == "warning" and "raise max_laps" in capped.message


def test_lap_numbers_of_a_constant_map_and_of_maps_all_over_max_laps() -> None:
    f64 = torch.float64
    const = chaos.ScalarNetwork.from_weights(
        torch.tensor([[1.0, -1.0]], dtype=f64), torch.tensor([[0.0, 0.0]], dtype=f64),
        torch.tensor([[0.0, 0.0]], dtype=f64), torch.tensor([0.3], dtype=f64),
    )  # fmt: skip
    # before: both raised IndexError "index is out of bounds for dimension with size 0"
    assert chaos.lap_numbers(const, 4, domain=(0.0, 1.0)).tolist() == [[1.0, 1.0, 1.0, 1.0]]
    laps = chaos.lap_numbers(chaos.ScalarNetwork.tent(), 6, domain=(0.0, 1.0), max_laps=4)
    assert laps[0, :2].tolist() == [2.0, 4.0] and bool(torch.isnan(laps[0, 2:]).all())  # 2^t, then over


def test_batched_max_lyapunov_rnn_checks_activation_shapes_and_steps() -> None:
    g = torch.Generator().manual_seed(0)
    w = torch.zeros(2, 3, 3, dtype=torch.float64)
    w[:, 0, 0] = torch.tensor([0.5, 0.25])  # h' = tanh(W h): at h = 0 the exponent is ln |W_00|
    lam, ok = chaos.batched_max_lyapunov_rnn(
        w, torch.zeros(2, 3, dtype=torch.float64), "tanh", n_steps=400, n_transient=200, generator=g
    )
    assert bool(ok.all()) and torch.allclose(
        lam, torch.log(torch.tensor([0.5, 0.25], dtype=torch.float64)), atol=1e-3
    )
    # before: activation='foo' ran as ReLU, n_steps=0 returned NaN exponents, and a (2, 4, 3) weight
    # raised einsum's "subscript j has size 4 ... size 3"
    with pytest.raises(ValueError, match="`activation` must be one of 'relu', 'tanh'; got 'foo'"):
        chaos.batched_max_lyapunov_rnn(
            w, torch.zeros(2, 3, dtype=torch.float64), "foo", n_steps=5, n_transient=0
        )
    with pytest.raises(ValueError, match="`n_steps` must be an int >= 1; got 0"):
        chaos.batched_max_lyapunov_rnn(
            w, torch.zeros(2, 3, dtype=torch.float64), "tanh", n_steps=0, n_transient=0
        )
    with pytest.raises(ValueError, match=r"`weight` must be \(B, n, n\) and `bias` \(B, n\)"):
        chaos.batched_max_lyapunov_rnn(w[:, :, :2], torch.zeros(2, 3), "tanh", n_steps=5, n_transient=0)


def test_ageing_dmft_checks_impose_the_status_the_result_reports() -> None:
    from rnndyn._results import status_from_checks

    res = mf.gated_dmft_ageing(3.0, t_max=6.0, dt=0.2, n_samples=200, lag=1.0, max_iter=5, lyapunov=False)
    assert res.status.value == "not_converged"
    # before: the unconverged residual check said FAILED [failed] under a not_converged result, so
    # status_from_checks(res.checks) was 'failed'
    assert status_from_checks(res.checks) == res.status
    assert "check residual: FAILED [not_converged]" in res.summary()


def test_spectral_supports_check_n_points() -> None:
    from rnndyn.meanfield import rmt

    sup = rmt.circular_law(2.0, n_points=8)
    assert np.allclose(np.abs(sup.boundary), 2.0) and sup.boundary.size == 8  # the circle of radius 2
    # before: n_points=0 and True returned a support with an empty / one-point boundary, -1 raised
    # NumPy's "Number of samples, -1, must be non-negative"
    for bad, exc in [(0, ValueError), (-1, ValueError), (True, TypeError), (2.5, TypeError)]:
        with pytest.raises(exc, match="`n_points` must be an int >= 3"):
            rmt.circular_law(1.0, n_points=bad)
    with pytest.raises(ValueError, match="`n_points` must be an int >= 3; got 0"):
        rmt.gru_zero_fixed_point(2.0, n_points=0)


def test_scalar_network_refuses_non_finite_weights() -> None:
    f64 = torch.float64
    ok = chaos.ScalarNetwork.from_weights(
        torch.tensor([[1.0, 1.0]], dtype=f64), torch.zeros(1, 2, dtype=f64),
        torch.tensor([[2.0, -4.0]], dtype=f64), torch.zeros(1, dtype=f64),
    )  # fmt: skip
    assert ok(torch.tensor([[0.25]], dtype=f64)).item() == 0.5 - 1.0  # 2 relu(x) - 4 relu(x), by hand
    # before: a NaN weight was accepted and period3 reported 'success', has_period3 False
    with pytest.raises(ValueError, match="`weight_in` must be finite; got 1 NaN/inf entries"):
        chaos.ScalarNetwork.from_weights(
            torch.tensor([[float("nan"), 1.0]], dtype=f64), torch.ones(1, 2, dtype=f64),
            torch.ones(1, 2, dtype=f64), torch.ones(1, dtype=f64),
        )  # fmt: skip


def test_training_data_builders_check_dtype_up_front() -> None:
    from rnndyn import training as tr

    task = tr.delayed_copy_task(n_samples=10, dtype=torch.float32, generator=torch.Generator().manual_seed(0))
    assert task.inputs_train.dtype == torch.float32
    # the copy task's inputs are one-hot: each step carries exactly one symbol or the blank/cue
    assert torch.all(task.inputs_train.sum(-1) <= 1.0)
    # before: chaotic_series(dtype='float64') integrated the series first and then failed in
    # Tensor.to with "Invalid device string: 'float64'"; make_torch_rnn(dtype='float32') in torch
    with pytest.raises(TypeError, match="`dtype` must be a real floating-point torch.dtype.*'float64'"):
        tr.chaotic_series("lorenz63", n_series=1, n_steps=100, dtype="float64")
    with pytest.raises(TypeError, match="`dtype` must be a real floating-point torch.dtype.*torch.int64"):
        tr.delayed_copy_task(n_samples=10, dtype=torch.int64)
    with pytest.raises(TypeError, match="`dtype` must be a real floating-point torch.dtype"):
        tr.make_torch_rnn("gru", 4, dtype="float32")


def test_claim_result_summary_lists_each_comparison() -> None:
    from rnndyn import reproduce as rp

    res = rp.run_claim("cks20-gradient-law")
    assert res.comparisons and res.verdict == rp.combine(list(res.comparisons))
    # before: summary() gave id, mode, verdict, seconds and '3 quantities compared with the paper',
    # but not one of the quantities, the paper's values or ours
    text = res.summary()
    for x in res.comparisons:
        assert f"  {x.quantity}: paper {x.paper.text()}; ours " in text and f"-> {x.verdict}" in text


def test_training_refuses_to_resume_a_checkpoint_of_other_settings(tmp_path) -> None:
    from rnndyn import training as tr

    data = tr.from_array(np.sin(0.3 * np.arange(400.0))[:, None] * np.array([1.0, 0.5]), lambda_max=0.1)

    def model(n: int = 6) -> tr.ForcedRNN:
        core = tr.make_torch_rnn(
            "rnn", n, input_size=2, generator=torch.Generator().manual_seed(0), dtype=torch.float64
        )
        return tr.ForcedRNN(core, 2, generator=torch.Generator().manual_seed(1))

    ck = tmp_path / "run.pt"
    base = {"batches_per_epoch": 1, "batch_size": 2, "seq_len": 10, "tau": 5, "checkpoint_every": 1}
    gen = torch.Generator
    full = tr.train_forced(
        model(), data, config=tr.TrainConfig(n_epochs=3, **base), generator=gen().manual_seed(2)
    )
    tr.train_forced(
        model(),
        data,
        config=tr.TrainConfig(n_epochs=2, **base),
        checkpoint=ck,
        generator=gen().manual_seed(2),
    )
    # extending the run (n_epochs 2 -> 3) resumes and reproduces the uninterrupted run exactly
    more = tr.train_forced(
        model(),
        data,
        config=tr.TrainConfig(n_epochs=3, **base),
        checkpoint=ck,
        generator=gen().manual_seed(2),
    )
    assert more.resumed_from == 2 and more.losses == full.losses
    # before: tau=10 / lr=0.1 resumed silently (epochs 1-2 with tau=5 reported as a tau=10 run), and a
    # 12-unit model raised load_state_dict's RuntimeError
    with pytest.raises(
        ValueError,
        match=r"other settings: lr: checkpoint has 0.001, this call asks for 0.1; tau: checkpoint has 5",
    ):
        tr.train_forced(
            model(), data, config=tr.TrainConfig(n_epochs=4, **{**base, "tau": 10}, lr=0.1), checkpoint=ck
        )
    with pytest.raises(ValueError, match="holds another model's weights"):
        tr.train_forced(model(12), data, config=tr.TrainConfig(n_epochs=4, **base), checkpoint=ck)
    # before: a checkpoint past n_epochs said '0 epochs with finite losses'
    done = tr.train_forced(model(), data, config=tr.TrainConfig(n_epochs=2, **base), checkpoint=ck)
    assert done.resumed_from == 3 and "nothing left to train" in done.message


def test_power_spectrum_distance_refuses_a_constant_true_series() -> None:
    from rnndyn import training as tr

    t = torch.arange(2000, dtype=torch.float64)
    x = torch.stack([torch.sin(0.3 * t), torch.sin(0.05 * t)], -1)
    const = torch.ones(2000, 2, dtype=torch.float64)
    assert tr.power_spectrum_distance(x, x, n_chunks=4) == pytest.approx(0.0, abs=1e-6)
    assert tr.power_spectrum_distance(x, const) == 1.0  # a flat generated series: nothing in common
    # before: power_spectrum_distance(const, const) returned 1.0, the largest distance, for identical inputs
    with pytest.raises(
        ValueError, match=r"`x_true` is constant within every chunk in dimension\(s\) \[0, 1\]"
    ):
        tr.power_spectrum_distance(const, const)


def test_gradient_norm_result_shows_only_its_own_law() -> None:
    binary = mf.gradients.gradient_norm_theory(rho=1.5, law="binary_gate", theta=0.5, t_max=10)
    assert binary.limit == pytest.approx(mf.gradients.binary_gate_limit(1.5, 0.5))
    assert binary.norm[-1] == pytest.approx(mf.gradients.binary_gate_norm(1.5, 0.5, [10])[0])
    # before: repr showed z_bar=nan for binary gates and summary 'theta: nan', 'limit: nan' for a constant gate
    assert "z_bar" not in repr(binary) and "theta=0.5" in repr(binary)
    const = mf.gradients.gradient_norm_theory(rho=0.5, t_max=10)
    assert "nan" not in const.summary() and "z_bar: 0.5" in const.summary()

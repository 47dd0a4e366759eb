"""Results never say ``success`` for what was not verified: the leftovers of the trust pass.

Sweep points with NaN/inf outputs, options that do not apply, orbits that collapse in floating
point, degenerate inputs. Every test checks a user-visible number, status or message.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from typer.testing import CliRunner

import rnndyn as rd
from rnndyn.cli import app


def _gen(seed: int) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def _flat(text: str) -> str:
    """Console output with line breaks and runs of spaces as single spaces (any terminal width)."""
    return " ".join(text.split())


# ----------------------------------------------------------------- sweeps and NaN
def _nan_point(p, seed):
    a = p["a"]
    return {"y": math.nan if a == 2.0 else a, "z": [1.0, math.inf if a == 3.0 else a]}


def _own_status_point(p, seed):
    return {"y": math.nan, "status": "diverged", "message": "blew up"}


def test_sweep_point_with_non_finite_outputs_is_failed_naming_them(tmp_path) -> None:
    ds = rd.sweep(
        _nan_point, {"a": [1.0, 2.0, 3.0]}, store=tmp_path / "s.zarr", scheduler="sync", progress=False
    )
    status, msg = ds["status"].values[:, 0].tolist(), ds["message"].values[:, 0].tolist()
    assert status == ["success", "failed", "failed"]
    assert msg[0] == ""
    assert msg[1].startswith("the sweep function returned non-finite output(s): y = nan. ")
    assert msg[2].startswith(
        "the sweep function returned non-finite output(s): z: 1 of 2 entries non-finite (inf)"
    )
    # the values are stored as returned (nothing else turned into NaN)
    assert ds["y"].values[[0, 2], 0].tolist() == [1.0, 3.0] and np.isnan(ds["y"].values[1, 0])
    assert ds["z"].values[1, 0].tolist() == [1.0, 2.0]
    # a function with a status of its own keeps it; the message names the non-finite outputs first
    ds = rd.sweep(
        _own_status_point, {"a": [1.0]}, store=tmp_path / "t.zarr", scheduler="sync", progress=False
    )
    assert ds["status"].values.ravel().tolist() == ["diverged"]
    assert ds["message"].values.ravel().tolist() == ["non-finite output(s): y = nan; blew up"]


def test_a_store_written_before_the_nan_rule_keeps_its_statuses(tmp_path, monkeypatch) -> None:
    store = tmp_path / "old.zarr"
    with monkeypatch.context() as m:  # the old rule: a returned NaN was 'success'
        m.setattr(
            rd.sweeps, "_classify_non_finite", lambda outputs, status, message, own_status: (status, message)
        )
        rd.sweep(_nan_point, {"a": [1.0, 2.0]}, store=store, scheduler="sync", progress=False)
    calls = []
    ds = rd.sweep(_nan_point, {"a": [1.0, 2.0]}, store=store, scheduler="sync",
                  progress=lambda done, total: calls.append(done))  # fmt: skip
    # resumed, nothing recomputed (every point verified against its digest), statuses as written
    assert calls == [2] and ds["status"].values[:, 0].tolist() == ["success", "success"]
    assert np.isnan(ds["y"].values[1, 0])
    # a fresh run applies the rule
    ds = rd.sweep(_nan_point, {"a": [1.0, 2.0]}, store=store, scheduler="sync", progress=False, fresh=True)
    assert ds["status"].values[:, 0].tolist() == ["success", "failed"]


def _text_point(p, seed):
    return {"y": "n/a" if p["a"] > 1 else p["a"], "z": [[1.0], [2.0, 3.0]] if p["a"] < 1 else [1.0, 2.0]}


def test_sweep_output_that_is_no_number_fails_the_point_naming_it(tmp_path) -> None:
    ds = rd.sweep(
        _text_point, {"a": [0.5, 1.0, 2.0]}, store=tmp_path / "s.zarr", scheduler="sync", progress=False
    )
    assert ds["status"].values[:, 0].tolist() == ["failed", "success", "failed"]
    assert ds["y"].values[1, 0] == 1.0
    msg = ds["message"].values[:, 0].tolist()
    assert (
        msg[2]
        == "TypeError: the sweep function's output 'y' must be a number or an array of numbers; got 'n/a'"
    )
    assert msg[0].startswith(
        "TypeError: the sweep function's output 'z' must be a number or a fixed-shape array"
    )


def test_sweep_leaves_only_the_lock_file_it_documents(tmp_path) -> None:
    rd.sweep(_nan_point, {"a": [1.0]}, store=tmp_path / "s.zarr", scheduler="sync", progress=False)
    # the lock file exists only while the sweep runs (docs/sweeps.md)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["s.zarr"]


def test_cli_sweep_refuses_dt_for_a_map_and_reports_a_diverged_point(tmp_path) -> None:
    base = ["sweep", "-m", "henon", "--steps", "60", "--transient", "10", "--scheduler", "sync"]
    res = CliRunner().invoke(app, [*base, "-g", "a=1.4", "--dt", "0.1", "--store", str(tmp_path / "x.zarr")])
    assert res.exit_code == 2
    assert "`--dt`/`--method` apply only to flows" in _flat(
        res.output
    ) and "'henon' is a map; got --dt 0.1" in _flat(res.output)
    assert not (tmp_path / "x.zarr").exists()
    res = CliRunner().invoke(app, ["sweep", "--torch-model", str(tmp_path / "net.pt"), "-g", "weight_scale=1",
                                   "--method", "euler", "--store", str(tmp_path / "t.zarr")])  # fmt: skip
    assert res.exit_code == 2 and "a --torch-model is a map; got --method euler" in _flat(res.output)
    # a state size that is no int was truncated (n = 12.5 ran as 12): refused, naming it
    res = CliRunner().invoke(
        app, ["sweep", "-m", "vanilla", "-g", "n=8,12.5", "--store", str(tmp_path / "n.zarr")]
    )
    assert res.exit_code == 2 and "`--grid` n= must list ints >= 1 (state sizes); got 12.5" in _flat(
        res.output
    )
    with pytest.raises(
        ValueError, match=r"`n` \(state size, a grid axis or fixed\) must be an int >= 1; got 12.5"
    ):
        rd.sweeps.lyapunov_point({"n": 12.5}, 0, model="vanilla", n=None, n_steps=10, n_transient=0)
    # a = 3 escapes: stored 'diverged' (the analysis's own status, NaN values named), not 'failed'
    res = CliRunner().invoke(
        app, [*base, "-g", "a=1.4,3.0", "--seeds", "2", "--store", str(tmp_path / "s.zarr")]
    )
    assert res.exit_code == 0, res.output
    assert "2/4 points success, 2 diverged" in _flat(res.output)
    assert "diverged (e.g. a=3.0, seed 0): non-finite output(s): entropy_rate = nan" in _flat(res.output)
    # the mean over seeds is NaN where a seed has no value (never a mean over the others, silently)
    assert "(NaN: a seed of that point has no lambda_max; see the statuses above)" in _flat(res.output)
    # the analysis itself: the Jacobian check no longer runs at escaped states (relative error inf),
    # which had turned this divergence into 'failed: _jacobian disagrees' for the second seed
    res = rd.lyapunov_spectrum(rd.Henon(a=3.0), n_steps=60, n_transient=10, n_trajectories=2,
                               generator=_gen(rd.sweeps.point_seed(0, 2) + 1), throw=False)  # fmt: skip
    assert res.status == "diverged" and [c.name for c in res.checks if not c.passed] == ["bounded"]


# ----------------------------------------------------------------- meanfield options
@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["scs", "--rho", "2"], "option(s) --rho do not apply to KIND scs (it takes --g); got --rho 2.0"),
        (["onset", "--g-h", "2", "--seed", "3"], "option(s) --g-h, --seed do not apply to KIND onset"),
        (["gradients", "--theta", "0.3"], "--theta do not apply to KIND gradients --law constant_gate"),
        (["gated_flow", "--dmft", "--bias-std", "0.1"], "--bias-std do not apply to KIND gated_flow --dmft"),
    ],
)
def test_meanfield_refuses_options_its_kind_does_not_read(args, expected) -> None:
    res = CliRunner().invoke(app, ["meanfield", *args])
    assert res.exit_code == 2 and expected in _flat(res.output), res.output


def test_gradient_norm_theory_refuses_the_other_laws_parameter() -> None:
    from rnndyn.meanfield.gradients import gradient_norm_theory

    with pytest.raises(
        ValueError, match=r"`theta` applies to law 'binary_gate' only; got theta=0.3 with law 'constant_gate'"
    ):
        gradient_norm_theory(rho=1.5, theta=0.3)
    with pytest.raises(ValueError, match=r"`z_bar` applies to law 'constant_gate' only; got z_bar=0.2"):
        gradient_norm_theory(rho=1.5, law="binary_gate", z_bar=0.2)
    # the law's own parameter still acts: binary-gate limit theta / (1 - rho (1 - theta)) (CKS20 App. F)
    r = gradient_norm_theory(rho=1.5, law="binary_gate", theta=0.6, t_max=10)
    assert r.limit == pytest.approx(0.6 / (1.0 - 1.5 * 0.4), rel=1e-12)


# ----------------------------------------------------------------- the tent map and exact orbits
class _ReluTent(rd.AbstractMap):
    """The tent map as a ReLU network, 2 relu(x) - 4 relu(x - 1/2), with the ReLU models'
    Jacobian convention relu'(0) = 0 (1(z > 0), as PLRNN and the vanilla ReLU network)."""

    def __init__(self) -> None:
        super().__init__()
        self.state_size, self.input_size = 1, 0

    def _step(self, h, x):
        return 2.0 * torch.relu(h) - 4.0 * torch.relu(h - 0.5)

    def _jacobian(self, h, x):
        return (2.0 * (h > 0).to(h.dtype) - 4.0 * (h > 0.5).to(h.dtype)).unsqueeze(-1)


def test_tent_map_exponent_is_ln_mu_and_a_collapsed_orbit_says_so() -> None:
    kw = {"n_steps": 300, "n_transient": 80, "n_trajectories": 3, "generator": _gen(0)}
    # slope 2: every float64 orbit ends exactly on the fixed point 0 (|f'| = 2 there too)
    res = rd.lyapunov_spectrum(rd.Tent(), **kw)
    assert float(res.exponents[0]) == pytest.approx(math.log(2.0), abs=1e-12)
    assert res.status == "warning"
    (check,) = [c for c in res.checks if c.name == "exact_periodic_orbit"]
    assert not check.passed and check.value == pytest.approx(math.log(2.0), abs=1e-12)
    assert (
        "became exactly periodic (period 1) during the run" in res.message
        and "rd.Tent(mu=1.9999)" in res.message
    )
    # slope 1.9999: rounding keeps the orbits typical; exponent ln 1.9999, nothing to report
    res = rd.lyapunov_spectrum(rd.Tent(mu=1.9999), **kw)
    assert float(res.exponents[0]) == pytest.approx(math.log(1.9999), abs=1e-12)
    assert res.status == "success", res.message
    # the two-trajectory estimate says the same (no Jacobian: the copy separates from the fixed point 0)
    res = rd.max_lyapunov(rd.Tent(), **kw)
    assert float(res.exponents[0]) == pytest.approx(math.log(2.0), abs=1e-9) and res.status == "warning"
    assert [c.name for c in res.checks if not c.passed] == ["exact_periodic_orbit"]
    # a start chosen on the fixed point measures that orbit, as asked: success, with a note
    res = rd.lyapunov_spectrum(rd.Tent(), n_steps=50, h0=torch.zeros(2, 1, dtype=torch.float64))
    assert float(res.exponents[0]) == pytest.approx(math.log(2.0), abs=1e-12)
    assert (
        res.status == "success"
        and "the start is an exactly periodic orbit (period 1 in 2 of 2" in res.message
    )


def test_relu_tent_on_its_kink_is_failed_not_minus_inf_success() -> None:
    h0 = torch.tensor([[0.1], [0.3], [0.7]], dtype=torch.float64)
    res = rd.lyapunov_spectrum(_ReluTent(), n_steps=100, n_transient=80, h0=h0, throw=False)
    assert torch.isneginf(res.exponents).all() and res.status == "failed"
    assert "exactly on a kink of the piecewise-linear map" in res.message
    assert (
        "spectral radius is up to 2 > 1: the fixed point expands there (rate ln 2 = 0.6931 per step)"
        in res.message
    )
    with pytest.raises(rd.AnalysisError, match="exact_periodic_orbit"):
        rd.lyapunov_spectrum(_ReluTent(), n_steps=100, n_transient=80, h0=h0)
    # the analytic tent has |f'| = 2 on both sides of its kinks: no kink verdict, only the collapse
    dead = rd.lyapunov_spectrum(rd.Tent(mu=2.0), n_steps=20, h0=torch.tensor([[0.25]], dtype=torch.float64))
    assert dead.status == "warning" and "kink" not in dead.message  # unstable fixed point, not a kink
    # the 1-D routine on the built-in ReLU tent network: failed with the reason, was -inf 'success'
    r = rd.chaos.lyapunov_exponent_1d(
        rd.chaos.ScalarNetwork.tent(), n_steps=100, n_transient=0, generator=_gen(0)
    )
    assert torch.isneginf(r.exponent).all() and r.status == "failed"
    assert "8 of 8 orbits end exactly on a kink" in r.message and "ln 2 = 0.693" in r.message
    r = rd.chaos.lyapunov_exponent_1d(
        rd.Tent(), n_steps=100, n_transient=0, x0=torch.tensor([[0.1, 0.3]], dtype=torch.float64)
    )
    assert float(r.exponent[0]) == pytest.approx(math.log(2.0), abs=1e-12) and r.status == "warning"
    r = rd.chaos.lyapunov_exponent_1d(
        rd.Tent(mu=1.9999), n_steps=100, n_transient=0, x0=torch.tensor([[0.1, 0.3]], dtype=torch.float64)
    )
    assert float(r.exponent[0]) == pytest.approx(math.log(1.9999), abs=1e-12) and r.status == "success", (
        r.message
    )
    # a kink fixed point that contracts on both sides: the -inf stands for a finite contraction,
    # qualitatively right, so 'warning' (not failed): 0.01 relu(x) underflows onto 0 within 170
    # steps (exponent ln 0.01)
    small = rd.chaos.ScalarNetwork.from_weights([1.0], [0.0], [0.01], 0.0)
    r = rd.chaos.lyapunov_exponent_1d(
        small, n_steps=200, n_transient=0, x0=torch.tensor([[0.3]], dtype=torch.float64)
    )
    assert torch.isneginf(r.exponent).all() and r.status == "warning" and "on a kink" in r.message
    net = rd.VanillaRNN(
        8, g=0.5, activation="relu", dtype=torch.float64, generator=_gen(0)
    )  # no bias: h -> 0
    res = rd.lyapunov_spectrum(
        net, n_steps=50, n_transient=800, n_trajectories=2, generator=_gen(1)
    )  # underflows onto 0
    (check,) = [c for c in res.checks if c.name == "exact_periodic_orbit"]
    assert res.status == "warning" and torch.isneginf(res.exponents).all()
    assert check.value < 1 and "spectral radius is up to" in check.detail
    # a NaN start is bad input, not a 'diverged' orbit
    with pytest.raises(ValueError, match=r"`x0` must be finite; got 1 non-finite entries"):
        rd.chaos.lyapunov_exponent_1d(rd.Tent(), x0=torch.tensor([[0.1, math.nan]], dtype=torch.float64))


# ----------------------------------------------------------------- data: a series that collapses
def _logistic(r: float, n: int) -> np.ndarray:
    x = np.empty(n)
    x[0] = 0.3
    for i in range(n - 1):
        x[i + 1] = r * x[i] * (1.0 - x[i])
    return x


def test_lyapunov_from_data_flags_a_series_that_collapses_onto_a_fixed_point() -> None:
    # r = 2.8: the orbit reaches the fixed point 1 - 1/r exactly; exponent ln|2 - r| = ln 0.8
    x = _logistic(2.8, 3000)
    assert len(set(x[1000:].tolist())) == 1
    res = rd.lyapunov_from_data(x, generator=_gen(0))
    assert res.status == "warning"
    (check,) = [c for c in res.checks if c.name == "distinct_neighbours"]
    assert not check.passed and check.value > 0.9 and "distance exactly 0" in res.message
    # the transient alone (before the collapse) gives the exponent, with nothing to flag
    res = rd.lyapunov_from_data(x[:60], theiler=1, horizon=8, generator=_gen(0))
    assert res.lambda_max == pytest.approx(math.log(0.8), abs=0.03)
    assert res.status == "success", res.message
    # a chaotic series (r = 4) has no exactly coinciding pairs: ln 2, success
    res = rd.lyapunov_from_data(_logistic(4.0, 3000), generator=_gen(0))
    assert res.lambda_max == pytest.approx(math.log(2.0), abs=0.02) and res.status == "success", res.message


def test_engine_exponents_of_a_state_without_steps_is_an_error_not_zeros() -> None:
    eng = rd.LyapunovEngine(rd.Henon())
    st = eng.init(torch.tensor([0.1, 0.1], dtype=torch.float64), generator=_gen(0))
    with pytest.raises(ValueError, match=r"`state` has no averaged steps \(steps = 0"):
        eng.exponents(st)
    st = eng.advance(st, n_steps=40)
    assert float(eng.exponents(st).sum()) == pytest.approx(math.log(0.3), abs=1e-10)  # ln|det J|
    with pytest.raises(ValueError, match="advance it first"):
        eng.exponents(eng.restart(st))


def test_lyapunov_from_data_kantz_radius_too_small_names_the_radius() -> None:
    x = np.random.default_rng(0).normal(size=300)
    with pytest.raises(
        ValueError, match=r"\(`theiler` = 2\) within `radius` = 1e-09; shorten `theiler` or enlarge"
    ):
        rd.lyapunov_from_data(x, method="kantz", radius=1e-9, theiler=2, horizon=5)


def test_unknown_kaplan_yorke_dimension_is_said_not_just_nan() -> None:
    # one exponent of a chaotic network: D_KY > 1 cannot be pinned down from it (NaN), and the
    # message says so and what to change; the full spectrum gives a number
    net = rd.VanillaRNN(32, g=8.0, dtype=torch.float64, generator=_gen(0))
    part = rd.lyapunov_spectrum(net, k=1, n_steps=300, n_transient=100, n_trajectories=2, generator=_gen(1))
    assert part.lambda_max > 0.1 and math.isnan(part.kaplan_yorke_dimension)
    assert (
        "Kaplan-Yorke dimension unknown (NaN): the partial sums of the 1 exponent(s) computed never turn "
        "negative, so D_KY > 1; compute more exponents (k up to n = 32)" in part.message
    )
    full = rd.lyapunov_spectrum(net, n_steps=300, n_transient=100, n_trajectories=2, generator=_gen(1))
    assert 1.0 < full.kaplan_yorke_dimension < 32.0 and "Kaplan-Yorke" not in full.message
    two = rd.max_lyapunov(net, n_steps=300, n_transient=100, n_trajectories=2, generator=_gen(1))
    assert (
        math.isnan(two.kaplan_yorke_dimension) and "use rd.lyapunov_spectrum (k up to n = 32)" in two.message
    )

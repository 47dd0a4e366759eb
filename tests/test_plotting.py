"""Figures say what a referee needs: theory overlays equal to the theory, axes with units and the
right scales, and a non-success status written on the figure (not a clean plot of a bad run).

Each test builds a small, exactly known result, draws it with the public plotting function and
inspects the matplotlib Figure that was saved (captured by replacing the module's ``save``).
"""

from __future__ import annotations

import math
from dataclasses import replace
from typing import Any

import numpy as np
import pytest
import torch

import rnndyn as rd
from rnndyn._results import Check, Status


def _capture(monkeypatch: pytest.MonkeyPatch, module: Any) -> list[Any]:
    """Replace ``module.save`` by one that records the figure instead of rendering it to a file
    (rendering costs ~0.3 s a figure; the CLI tests write the files)."""
    figs: list[Any] = []

    def save(fig: Any, path: Any) -> Any:
        figs.append(fig)
        return path

    monkeypatch.setattr(module, "save", save)
    return figs


def _texts(fig: Any) -> str:
    """Every piece of text in the figure (figure texts, titles, labels, legends, annotations)."""
    out = [t.get_text() for t in fig.texts]
    if fig._suptitle is not None:
        out.append(fig._suptitle.get_text())
    for ax in fig.axes:
        out += [ax.get_title(loc) for loc in ("left", "center", "right")]
        out += [ax.get_xlabel(), ax.get_ylabel()]
        out += [t.get_text() for t in ax.texts]
        leg = ax.get_legend()
        if leg is not None:
            out += [t.get_text() for t in leg.get_texts()]
    return "\n".join(out)


def _banner(fig: Any) -> str:
    return "\n".join(t.get_text() for t in fig.texts if t.get_gid() == "rnndyn-status")


@pytest.fixture(scope="module")
def henon_lyapunov() -> rd.LyapunovResult:
    return rd.lyapunov_spectrum(
        rd.Henon(), n_steps=150, n_transient=30, n_trajectories=2, generator=torch.Generator().manual_seed(1)
    )


def test_status_banner_only_for_non_success(monkeypatch, tmp_path, henon_lyapunov) -> None:
    """A successful run draws no banner; the same run marked 'warning' with a failed check carries
    'WARNING' and the message on the spectrum and on the convergence figure."""
    from rnndyn.plotting import lyapunov as mod

    figs = _capture(monkeypatch, mod)
    assert henon_lyapunov.status == "success"
    mod.plot_spectrum(henon_lyapunov, tmp_path / "ok.png")
    assert _banner(figs[-1]) == ""
    bad = replace(
        henon_lyapunov,
        status=Status.WARNING,
        message="warning: multistability: 2 clusters",
        checks=(*henon_lyapunov.checks, Check(name="multistability", passed=False, status=Status.WARNING)),
    )
    mod.plot_spectrum(bad, tmp_path / "bad.png")
    mod.plot_convergence(bad, tmp_path / "bad_conv.png")
    for fig in figs[-2:]:
        text = _banner(fig)
        assert text.startswith("WARNING: multistability") and "2 clusters" in text


def test_lyapunov_spectrum_axes_units_and_settings(monkeypatch, tmp_path, henon_lyapunov) -> None:
    """Hénon (lambda = 0.419, -1.623 per step): y label in 1/step, zero line, the run's settings
    in the title, the inset's lambda_max with its unit, and each trajectory's spectrum drawn."""
    from rnndyn.plotting import lyapunov as mod
    from rnndyn.report import fmt

    figs = _capture(monkeypatch, mod)
    mod.plot_spectrum(henon_lyapunov, tmp_path / "s.png", title="henon")
    ax = figs[0].axes[0]
    assert ax.get_ylabel() == "lambda_i [1/step]"
    assert "2 trajectories × 150 steps after 30" in ax.get_title()
    assert any(np.allclose(line.get_ydata(), 0.0) for line in ax.lines)  # the lambda = 0 reference
    inset = "\n".join(t.get_text() for t in ax.texts)
    se0 = float(henon_lyapunov.stderr[0])
    assert f"lambda_max = {fmt(henon_lyapunov.lambda_max, se0)} 1/step" in inset
    (pos,) = [line for line in ax.lines if line.get_label() == "positive (sum = entropy rate)"]
    assert np.allclose(pos.get_xdata(), [1]) and abs(pos.get_ydata()[0] - 0.42) < 0.05  # Hénon: one positive
    per = [line for line in ax.lines if line.get_label() == "each trajectory"]
    assert len(per) == 1 and np.allclose(per[0].get_ydata(), henon_lyapunov.per_trajectory[0].numpy())
    mod.plot_convergence(henon_lyapunov, tmp_path / "c.png")
    conv = figs[1].axes[0]
    assert conv.get_xscale() == "log" and conv.get_ylabel() == "running estimate [1/step]"


def test_spectrum_theory_curve_is_the_closed_form_disk(monkeypatch, tmp_path) -> None:
    """At the zero fixed point of a zero-bias GRU the theory is a disk centred at 1/2 of radius
    g_h/4 (CKS20 Prop. 4.2): the red curve drawn is the result's theory boundary, a circle centred
    at exactly 1/2 whose radius (from the network's own weights) is within 5 % of the infinite-N
    rd.meanfield.rmt.gru_zero_fixed_point radius; the slow-mode panel is log-log."""
    from rnndyn.meanfield import rmt
    from rnndyn.plotting import spectra as mod

    g_h = 1.6
    net = rd.GRU(40, g_h=g_h, alpha_z=1.0, alpha_r=1.0, generator=torch.Generator().manual_seed(0),
                 dtype=torch.float64)  # fmt: skip
    res = rd.jacobian_spectrum(net, states=torch.zeros(1, 40, dtype=torch.float64), theory=True)
    figs = _capture(monkeypatch, mod)
    mod.plot_spectrum(res, tmp_path / "spec.png")
    ax0, ax1 = figs[0].axes[:2]
    (curve,) = [line for line in ax0.lines if line.get_gid() == "rnndyn-theory"]
    z = curve.get_xdata() + 1j * curve.get_ydata()
    assert np.allclose(z[:-1], res.theory.boundary) and z[-1] == z[0]  # the prediction, closed
    r = np.abs(z - 0.5)
    assert np.ptp(r) < 1e-9  # a circle centred at exactly 1/2
    ref = rmt.gru_zero_fixed_point(g_h=g_h)  # infinite-N radius g_h/4 = 0.4
    assert abs(ref.radius - (0.5 + g_h / 4)) < 1e-12
    assert r[0] == pytest.approx(g_h / 4, rel=0.05)  # the network's own weights: 0.409 at N = 40
    assert "unit circle |λ| = 1" in _texts(figs[0])
    measured = float(np.abs(res.eigenvalues[0].numpy()).max())
    assert f"theory radius {res.theory.radius:.3f} vs {measured:.3f} measured at state 0" in ax0.get_title()
    assert ax1.get_xscale() == "log" and ax1.get_yscale() == "log"
    assert ax0.get_xlabel() == "Re λ" and ax0.get_ylabel() == "Im λ"
    assert _banner(figs[0]) == ""


def test_fixed_point_figure_labels_and_status(monkeypatch, tmp_path) -> None:
    """The only fixed point of a contracting vanilla map (g = 0.5, zero bias) is h = 0, stable; the
    eigenvalue panel has a legend naming it and the unit circle; a failed result is flagged."""
    from rnndyn.plotting import spectra as mod

    net = rd.VanillaRNN(8, g=0.5, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    fp = rd.find_fixed_points(net, n_initial=4, generator=torch.Generator().manual_seed(1))
    assert fp.stability == ("stable",) or list(fp.stability) == ["stable"]
    figs = _capture(monkeypatch, mod)
    mod.plot_fixed_points(fp, tmp_path / "fp.png")
    text = _texts(figs[0])
    assert "at stable points" in text and "unit circle |λ| = 1" in text and "stable (1)" in text
    mod.plot_fixed_points(replace(fp, status=Status.NOT_CONVERGED, message="2 of 4 starts converged"),
                          tmp_path / "fp2.png")  # fmt: skip
    assert _banner(figs[1]).startswith("NOT CONVERGED: 2 of 4 starts converged")


def test_fixed_point_figure_draws_slow_point_eigenvalues(monkeypatch, tmp_path) -> None:
    """A GRU with closed update gates (alpha_z = 20) has slow points only: the eigenvalue panel,
    empty before, draws exactly ``res.slow_eigenvalues`` (hollow, in the legend as slow points)."""
    from rnndyn.plotting import spectra as mod

    net = rd.GRU(16, g_h=3.0, alpha_z=20.0, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    fp = rd.find_fixed_points(net, n_initial=4, generator=torch.Generator().manual_seed(1))
    assert fp.n_points == 0 and fp.slow_points.shape[0] > 0
    figs = _capture(monkeypatch, mod)
    mod.plot_fixed_points(fp, tmp_path / "fp.png")
    ax = figs[0].axes[1]
    (coll,) = [c for c in ax.collections if c.get_gid() == "rnndyn-slow-eigenvalues"]
    ev = fp.slow_eigenvalues.numpy().ravel()
    np.testing.assert_allclose(coll.get_offsets(), np.stack([ev.real, ev.imag], 1))
    assert f"at the {fp.slow_points.shape[0]} slow points" in _texts(figs[0])


def test_status_text_wraps_and_cuts() -> None:
    from rnndyn.plotting import status_text

    assert status_text("success", "anything") == ""
    assert (
        status_text(Status.FAILED, "failed: the Jacobian is singular") == "FAILED: the Jacobian is singular"
    )
    long = status_text("warning", "x " * 400, width=40, max_lines=2)
    assert long.count("\n") == 1 and long.endswith("…") and all(len(s) <= 40 for s in long.split("\n"))


def test_clv_figures_flag_not_converged_vectors(monkeypatch, tmp_path) -> None:
    """Hénon CLVs: a not-converged result carries the banner, the CLVs whose backward-convergence
    sine exceeds the check's tolerance are circled, and the FTLE variance panel frames the
    measured variances (a prediction decades below them does not stretch the log axis)."""
    from rnndyn.clv import covariant_lyapunov_vectors, finite_time_exponents
    from rnndyn.plotting import clv as mod

    res = covariant_lyapunov_vectors(
        rd.Henon(), n_steps=200, n_transient=50, generator=torch.Generator().manual_seed(0), throw=False
    )
    tol = next(c.tolerance for c in res.checks if c.name == "backward_convergence")
    bad = replace(
        res,
        status=Status.NOT_CONVERGED,
        message="the backward transient was too short",
        backward_convergence_per_vector=torch.tensor([0.0, 10 * tol], dtype=torch.float64),
    )
    figs = _capture(monkeypatch, mod)
    mod.plot_localisation(bad, tmp_path / "loc.png")
    assert _banner(figs[0]).startswith("NOT CONVERGED: the backward transient")
    ax_ipr = figs[0].axes[1]
    circled = [c for c in ax_ipr.collections if c.get_label().startswith("CLV not converged")]
    assert len(circled) == 1 and np.allclose(circled[0].get_offsets()[:, 0], [2.0])
    ftle = finite_time_exponents(res, window=20)
    mod.plot_ftle(ftle, tmp_path / "ftle.png")
    lo, hi = figs[1].axes[1].get_ylim()
    v = ftle.variance.numpy()
    assert lo == pytest.approx(v.min() / 10) and hi == pytest.approx(v.max() * 3)
    assert figs[1].axes[1].get_xlabel() == "exponent index i"


def test_scrambling_overlays_the_linear_growth(monkeypatch, tmp_path) -> None:
    """The tent-like map (lambda_max = ln 2): the dash-dot line is eps e^{lambda t}, drawn only
    while it stays below the attractor's diameter; the zero-probability points of the chaos
    figure sit above the axis and a non-success result is flagged."""
    from rnndyn import chaos
    from rnndyn.chaos._probability import ChaosProbabilityResult
    from rnndyn.plotting import chaos as mod

    tent = chaos.ScalarNetwork.from_weights([1.0, 1.0], [1e-5, -0.502], [1.9999, -4.0])
    scr = chaos.scrambling(
        tent, n_pairs=4, n_steps=120, n_transient=50, generator=torch.Generator().manual_seed(0)
    )
    figs = _capture(monkeypatch, mod)
    mod.plot_scrambling(scr, tmp_path / "s.png", label="tent")
    (line,) = [ln for ln in figs[0].axes[0].lines if ln.get_label() == "eps·exp(lambda_max t)"]
    t, d = line.get_xdata(), line.get_ydata()
    assert np.allclose(d, scr.eps * np.exp(scr.lambda_max * t)) and d.max() <= scr.diameter
    assert t.size > 5 and scr.eps * math.exp(scr.lambda_max * (t.max() + 1)) > scr.diameter
    assert abs(scr.lambda_max - math.log(2)) < 0.01
    prob = ChaosProbabilityResult(
        widths=(2, 4), n_networks=(20, 20), n_chaotic=(0, 2), probability=(0.0, 0.1), ci_low=(0.0, 0.028),
        ci_high=(0.161, 0.301), criterion="period3", init="he", activation="relu", model="scalar",
        seconds=(0.0, 0.0), settings={}, status=Status.WARNING, message="2 networks hit the bound",
    )  # fmt: skip
    mod.plot_chaos_probability([prob], tmp_path / "p.png")
    assert figs[1].axes[0].get_ylim()[0] < 0 < figs[1].axes[0].get_ylim()[1]
    assert "2 networks hit the bound" in _banner(figs[1])


def test_phase_diagram_legend_and_critical_lines(monkeypatch, tmp_path) -> None:
    """On a coarse grid the background is drawn from the critical lines: the legend names every
    region drawn (region 2 appears between g* and 2 for alpha_r > 2 sqrt 2 although no grid
    point lies in it), g* = 2 exactly up to alpha_r* = 2 sqrt 2 and below 2 beyond (CKS20); the
    simulated lambda_max are annotated with their standard errors."""
    from rnndyn.plotting import phase as mod

    ds = rd.phase_diagram("gru", g_h=[1.5, 3.0], alpha_r=[0.0, 10.0])
    assert 2 not in set(np.unique(ds.region.values).tolist())
    # a finite-N overlay as rd.phase_diagram(simulate=True) writes it (values made up: the figure is tested)
    dims = ("g_h", "alpha_r")
    ds["lambda_max_sim"] = (dims, np.array([[-0.183, -0.215], [-0.253, 0.0687]]))
    ds["lambda_max_sim_stderr"] = (dims, np.array([[0.0178, 0.00029], [0.0053, 0.0047]]))
    ds["sim_status"] = (dims, np.array([["success", "not_converged"], ["success"] * 2]))
    ds.attrs.update({"sim_n": 8, "sim_n_steps": 60, "sim_n_transient": 20, "sim_lyapunov": "two_trajectory"})
    figs = _capture(monkeypatch, mod)
    mod.plot_phase_diagram(ds, tmp_path / "pd.png")
    ax = figs[0].axes[0]
    legend = [t.get_text() for t in ax.get_legend().get_texts()]
    assert "2 stable & unstable FPs" in legend and not any("region 3" in t for t in legend)
    (g_star,) = [ln for ln in ax.lines if ln.get_label().startswith("FP bifurcation")]
    a, g = g_star.get_xdata(), g_star.get_ydata()
    assert np.allclose(g[a <= 2.0], 2.0, atol=1e-6) and np.all(g[a >= 4.0] < 2.0 - 1e-3)
    assert "alpha_z = 0" in ax.get_title() and "simulation: N = 8, 60 steps after 20" in ax.get_title()
    notes = [t.get_text() for t in ax.texts]
    from rnndyn.report import fmt

    for v, se in zip(ds.lambda_max_sim.values.ravel(), ds.lambda_max_sim_stderr.values.ravel(), strict=True):
        assert any(
            t.startswith(r"$\lambda$=" + ("+" if v > 0 else "") + fmt(float(v), float(se))) for t in notes
        )
    assert "1 of 4 simulated points not 'success'" in _banner(figs[0])


def test_training_figures_reference_lines(monkeypatch, tmp_path) -> None:
    """The gradient figure's lambda_max line goes through the tangent norm's first point with
    slope lambda_max; the accuracy figure draws the chance level 1/n_classes; a short log axis
    gets plain tick labels."""
    from rnndyn.plotting import training as mod
    from rnndyn.training.gradients import GradientHorizonResult

    T = [10, 20, 40]
    lam = -0.25
    grad = GradientHorizonResult(
        horizons=T, log_tangent_norm=[lam * t + 0.3 for t in T], log_grad_norm=[0.1, 0.1, 0.1],
        tangent_rate=lam, grad_rate=0.0, lambda_max=lam, lambda_max_stderr=0.01,
        log_tangent_per_trajectory=[[lam * t + 0.3 for t in T]], log_grad_per_trajectory=[[0.1] * 3],
        status=Status.SUCCESS, message="ok",
    )  # fmt: skip
    figs = _capture(monkeypatch, mod)
    mod.plot_gradient_horizon(grad, tmp_path / "g.png")
    (ref,) = [ln for ln in figs[0].axes[0].lines if ln.get_gid() == "rnndyn-theory"]
    assert np.allclose(ref.get_ydata(), lam * np.asarray(T) + 0.3)
    assert "± 0.01 1/step" in ref.get_label()

    class Run:  # the fields plot_accuracy reads from a classification TrainResult
        losses = [2.303, 2.300, 2.296, 2.290]
        history = {"test_accuracy": [{"epoch": e, "accuracy": 0.1} for e in (1, 2, 3, 4)]}
        status, message = Status.SUCCESS, ""

    mod.plot_accuracy(Run(), tmp_path / "a.png", target=0.75, chance=0.1)
    a0, a1 = figs[1].axes
    assert any(np.allclose(ln.get_ydata(), 0.1) and ln.get_label() == "chance 0.1" for ln in a1.lines)
    figs[1].canvas.draw()
    labels = [t.get_text() for t in a0.get_yticklabels() if t.get_text()]
    assert labels and not any("10^" in s or "times" in s for s in labels)


def test_sweep_figure_marks_points_that_are_not_success(monkeypatch, tmp_path) -> None:
    """A sweep with one 'not_converged' seed: the mean ± s.e.m. over the seeds is drawn (the s.e.m.
    is std/sqrt(seeds)), the bad seed is a red cross at its value, and the banner counts it."""
    import xarray as xr

    import rnndyn.plotting as mod

    lam = np.array([[-0.5, -0.7], [0.1, 0.3]])
    ds = xr.Dataset(
        {
            "lambda_max": (("g", "seed"), lam),
            "status": (("g", "seed"), [["success", "not_converged"], ["success"] * 2]),
        },
        coords={"g": [0.5, 2.0], "seed": [0, 1]},
        attrs={"model": "vanilla", "n": 8},
    )
    figs = _capture(monkeypatch, mod)
    mod.plot_sweep(ds, tmp_path / "sweep.png")
    ax = figs[0].axes[0]
    (bad,) = [ln for ln in ax.lines if ln.get_label() == "seed not 'success'"]
    assert np.allclose(bad.get_xdata(), [0.5]) and np.allclose(bad.get_ydata(), [-0.7])
    (bars,) = ax.containers
    assert np.allclose(bars.lines[0].get_ydata(), lam.mean(1))
    seg = bars.lines[2][0].get_segments()
    assert np.allclose([s[1, 1] - s[0, 1] for s in seg], 2 * lam.std(1) / np.sqrt(2))  # ddof 0, as xarray
    assert (
        _banner(figs[0])
        == "WARNING: 1 of 4 points are not 'success' (1 not_converged); see the store's status and message"
    )
    assert "vanilla (n = 8) sweep: lambda_max" in ax.get_title()


def test_meanfield_figures_units_constant_gate_and_status(monkeypatch, tmp_path) -> None:
    """gated_dmft's figure: both panels' axes labelled with units, the reset-gate correlation at
    alpha_r = 0 stated constant at sigma(0)^2 = 1/4 (it was a bare flat line) and only then, the
    not_converged banner; the ageing figure quotes lambda with its error and units; GRU DMFT's
    lags in steps."""
    from rnndyn import meanfield as mf
    from rnndyn.meanfield import _figures as mod

    figs = _capture(monkeypatch, mod)
    r0 = mf.gated_dmft(3.0, max_iter=2, lyapunov=False)
    r5 = mf.gated_dmft(3.0, alpha_r=5.0, max_iter=2, lyapunov=False, tau_max=10.0)
    r0.plot(tmp_path / "a.png")
    r5.plot(tmp_path / "b.png")
    for fig in figs:
        for ax in fig.axes:
            assert "units of the time constant" in ax.get_xlabel() and ax.get_ylabel()
        assert _banner(fig).startswith("NOT CONVERGED")
    (note,) = [t for t in figs[0].axes[1].texts if t.get_gid() == "rnndyn-constant"]
    assert "constant in τ: 0.25" in note.get_text() and "α_r = 0" in note.get_text()
    assert np.asarray(r0.c_sigma_r) == pytest.approx(0.25, abs=1e-12)  # sigma(0)^2
    assert not [t for t in figs[1].axes[1].texts if t.get_gid() == "rnndyn-constant"]
    assert "λ_max = not computed" in _texts(figs[0])

    ra = mf.gated_dmft_ageing(3.0, alpha_z=1.0, t_max=10, dt=0.5, n_samples=100, n_replicas=2)
    ra.plot(tmp_path / "c.png")
    from rnndyn.report import fmt

    lam = fmt(ra.lambda_late, ra.lambda_late_stderr)  # value rounded to its error: '0.046 ± 0.011'
    assert mod.fmt is fmt  # one rounding rule for every floor (rnndyn._display)
    assert " ± " in lam and f"= {'+' * (ra.lambda_late > 0)}{lam} per unit time" in _texts(figs[2])
    rg = mf.gru_dmft(3.0, tau_max=20, lyapunov=False, max_iter=3)
    rg.plot(tmp_path / "d.png")
    assert all(ax.get_xlabel() == "lag τ (steps)" for ax in figs[3].axes)
    assert "C_σ(z) = 0.25; C_σ(r) = 0.25" in _texts(figs[3])  # gate gains 0: sigma(0)^2


def test_wrong_result_or_path_is_named_before_drawing(monkeypatch, tmp_path, henon_lyapunov) -> None:
    """Before: a SpectrumResult given to the Lyapunov figure raised AttributeError from inside the
    drawing; a folder as path wrote '<folder>.png' and returned the folder; a name without a
    suffix wrote 'name.png' and returned 'name'; a (T,) series raised IndexError and a (T, n)
    trajectory a tuple-unpacking error in the PCA figure."""
    from pathlib import Path

    import rnndyn.plotting as P
    from rnndyn.plotting import analysis, chaos, clv, lyapunov, phase, spectra

    spec = rd.jacobian_spectrum(rd.Henon(), n_states=2, n_steps=4, n_transient=5)
    cases = [
        (lyapunov.plot_spectrum, spec, "`res` must be a LyapunovResult .*; got SpectrumResult"),
        (lyapunov.plot_convergence, spec, "`res` must be a LyapunovResult .*; got SpectrumResult"),
        (spectra.plot_spectrum, henon_lyapunov, r"`result` must be a SpectrumResult \(rd.jacobian_spectrum\); got Lyap"),
        (spectra.plot_fixed_points, spec, r"`result` must be a FixedPointResult .*; got SpectrumResult"),
        (clv.plot_localisation, henon_lyapunov, r"`res` must be a CLVResult .*; got LyapunovResult"),
        (clv.plot_clv_angles, henon_lyapunov, r"`res` must be a CLVResult .*; got LyapunovResult"),
        (clv.plot_ftle, henon_lyapunov, r"`ftle` must be an FTLEResult .*; got LyapunovResult"),
        (P.plot_sweep, henon_lyapunov, r"`ds` must be an xarray.Dataset from rd.sweep; got LyapunovResult"),
        (phase.plot_phase_diagram, henon_lyapunov, r"`ds` must be the phase-diagram Dataset .*; got LyapunovResult"),
        (phase.plot_dmft, spec, r"`result` must be an SCSDMFTResult .*; got SpectrumResult"),
        (chaos.plot_scrambling, spec, r"`result` must be a ScramblingResult .*; got SpectrumResult"),
        (chaos.plot_lap_growth, spec, r"`result` must be a PersistenceResult .*; got SpectrumResult"),
    ]  # fmt: skip
    for fn, wrong, msg in cases:
        with pytest.raises(TypeError, match=msg):
            fn(wrong, tmp_path / "x.png")
    import xarray as xr

    with pytest.raises(
        ValueError, match=r"`var` must be one of the sweep's outputs \['y'\]; got 'lambda_max'"
    ):
        P.plot_sweep(xr.Dataset({"y": ("a", [1.0]), "status": ("a", ["success"])}), tmp_path / "s.png")
    with pytest.raises(
        ValueError, match=r"`path` must be a file path; got .*an existing folder .*figure.png"
    ):
        lyapunov.plot_spectrum(henon_lyapunov, tmp_path)
    with pytest.raises(ValueError, match=r"`path` must end in a figure format \(.*\.png.*\); got .*x.txt"):
        lyapunov.plot_spectrum(henon_lyapunov, tmp_path / "x.txt")
    with pytest.raises(TypeError, match="`path` must be a file path .*; got int 3"):
        spectra.plot_spectrum(spec, 3)
    assert list(tmp_path.iterdir()) == []
    # the oracle: the path returned is the file that exists (matplotlib adds .png to a bare name)
    assert P.figure_path(tmp_path / "fig") == tmp_path / "fig.png"
    assert P.figure_path(str(tmp_path / "a.PDF")) == Path(tmp_path / "a.PDF")
    # one trajectory (T, n) is the batch of one (1, T, n): the same projected lines
    traj = rd.simulate(rd.Henon(), torch.tensor([0.1, 0.1], dtype=torch.float64), n_steps=40)
    figs = _capture(monkeypatch, analysis)
    analysis.plot_pca_trajectories(traj, tmp_path / "a.png")
    analysis.plot_pca_trajectories(traj[None], tmp_path / "b.png")
    lines = [[ln.get_xydata() for ax in f.axes for ln in ax.get_lines()] for f in figs]
    assert len(lines[0]) == len(lines[1]) > 0
    for a, b in zip(*lines, strict=True):
        np.testing.assert_array_equal(a, b)
    with pytest.raises(ValueError, match="`trajectories` must be finite; got 1 NaN/inf entries"):
        analysis.plot_pca_trajectories(torch.where(traj == traj[5, 0], math.nan, traj), tmp_path / "c.png")
    # a scalar series (T,) is one unit: its return map h_t -> h_{t+1}
    figs = _capture(monkeypatch, P)
    P.plot_trajectory(traj[:, 0], tmp_path / "t.png")
    x, y = figs[-1].axes[1].get_lines()[0].get_data()
    np.testing.assert_array_equal(x, traj[:-1, 0].numpy())
    np.testing.assert_array_equal(y, traj[1:, 0].numpy())
    with pytest.raises(ValueError, match=r"`traj` must be one trajectory of shape \(T, n\) or \(T,\)"):
        P.plot_trajectory(traj[None], tmp_path / "t.png")

"""Figures say what a referee needs: theory overlays equal to the theory, axes with units and the
right scales, and a non-success status written on the figure (not a clean plot of a bad run).

Each test builds a small, exactly known result, draws it with the public plotting function and
inspects the matplotlib Figure that was saved (captured by replacing the module's ``save``).
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import numpy as np
import pytest
import torch

import rnndyn as rd
from rnndyn._results import Check, Status


def _capture(monkeypatch: pytest.MonkeyPatch, module: Any) -> list[Any]:
    """Replace ``module.save`` by one that records the figure (and still writes the file)."""
    figs: list[Any] = []
    original = module.save

    def save(fig: Any, path: Any) -> Any:
        figs.append(fig)
        return original(fig, path)

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
        rd.Henon(), n_steps=300, n_transient=50, n_trajectories=2, generator=torch.Generator().manual_seed(1)
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

    figs = _capture(monkeypatch, mod)
    mod.plot_spectrum(henon_lyapunov, tmp_path / "s.png", title="henon")
    ax = figs[0].axes[0]
    assert ax.get_ylabel() == "lambda_i [1/step]"
    assert "2 trajectories × 300 steps after 50" in ax.get_title()
    assert any(np.allclose(line.get_ydata(), 0.0) for line in ax.lines)  # the lambda = 0 reference
    inset = "\n".join(t.get_text() for t in ax.texts)
    assert f"lambda_max = {henon_lyapunov.lambda_max:.4g}" in inset and "1/step" in inset
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


def test_status_text_wraps_and_cuts() -> None:
    from rnndyn.plotting import status_text

    assert status_text("success", "anything") == ""
    assert (
        status_text(Status.FAILED, "failed: the Jacobian is singular") == "FAILED: the Jacobian is singular"
    )
    long = status_text("warning", "x " * 400, width=40, max_lines=2)
    assert long.count("\n") == 1 and long.endswith("…") and all(len(s) <= 40 for s in long.split("\n"))

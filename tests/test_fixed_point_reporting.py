"""The fixed-point census (hits, Good-Turing completeness, Chao1, points added by odd symmetry)
carried to the user: the verdict of ``rd.analyze``, its status message, the HTML report, the
figures and ``rnndyn fixed-points --completeness-tol``.

Oracles: maps whose fixed points are known exactly (the polynomial grid roots(P) x roots(Q) of
tests/test_fixed_points.py, the odd double well (x + 0.2 (x - x^3), 0.5 y) with sinks (+-1, 0),
the Henon map with its two fixed points); every count the text states is recomputed here from
``hits`` with the estimators' formulas (Good 1953: N1 / S; Chao 1984: D + N1 (N1 - 1) / (2 (N2 + 1))).
"""

from __future__ import annotations

import inspect
import json
from dataclasses import replace
from typing import Any

import numpy as np
import pytest
import torch

import rnndyn as rd
from rnndyn._results import Status
from rnndyn.analysis import verdict
from rnndyn.report import build_analysis_report, fixed_point_census, fixed_point_origins
from test_fixed_points import _RX, _RY, DoubleWell, Roots2D

F64 = torch.float64


def _gen(seed: int) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def _exact_grid(rx: tuple[float, ...], ry: tuple[float, ...]) -> torch.Tensor:
    return torch.tensor([[x, y] for x in rx for y in ry], dtype=F64)


@pytest.fixture(scope="module")
def few() -> rd.FixedPointResult:
    """12 starts on the 20-point grid: several points, most found once (incomplete)."""
    return rd.find_fixed_points(Roots2D(_RX, _RY), n_initial=12, n_transient=0, generator=_gen(51))


@pytest.fixture(scope="module")
def mirrored() -> rd.FixedPointResult:
    """The odd double well from three starts near (1, 0): (-1, 0) is found by no start and
    added by symmetry (hits 0)."""
    starts = torch.tensor([[1.2, 0.3], [0.8, -0.2], [1.1, 0.1]], dtype=F64)
    return rd.find_fixed_points(DoubleWell(), initial_states=starts, throw=False)


def _fp_line(res: rd.FixedPointResult) -> str:
    (line,) = verdict(None, None, res, driven=False, fp_input="zero input")
    return line


def test_verdict_says_complete_for_a_fully_found_grid() -> None:
    """roots(P) x roots(Q) with 3 x 2 roots: 200 starts find exactly the 6 grid points, each by
    at least two starts (p_new = 0): the verdict says the list looks complete."""
    grid = (_RX[:3], _RY[:2])
    res = rd.find_fixed_points(Roots2D(*grid), n_initial=200, n_transient=0, generator=_gen(50))
    exact = _exact_grid(*grid)
    assert res.n_points == 6 and float(torch.cdist(res.points, exact).amin(-1).max()) < 1e-12
    assert int(res.hits.min()) >= 2 and res.complete and res.status == "success"
    line = _fp_line(res)
    assert (
        "The list looks complete: 6 fixed point(s) found, every one by two or more starts; the Good–Turing "
        "chance that one more start finds a new one is 0 <= 0.01" in line
    ), line
    assert "incomplete" not in line and "added by symmetry" not in line


def test_verdict_says_incomplete_with_the_right_counts(few) -> None:
    """12 starts on the 20-point grid: the verdict's counts are those recomputed from ``hits``
    (N1 starts-once, Chao1), every listed point is a grid point, and it says more starts may help."""
    hits = few.hits.tolist()
    d, n1, n2 = sum(h > 0 for h in hits), hits.count(1), hits.count(2)
    chao1 = d + n1 * (n1 - 1) / (2 * (n2 + 1))
    assert few.n_points < 20 and n1 >= 2 and few.status == "warning"
    assert float(torch.cdist(few.points, _exact_grid(_RX, _RY)).amin(-1).max()) < 1e-12
    line = _fp_line(few)
    want = (
        f"The list is incomplete: {few.n_points} fixed point(s) found ({n1} by a single start; "
        f"about {chao1:.0f} estimated): more starts may find more (Good–Turing chance {n1 / 12:.2g} "
        "that one more start finds a new one, above 0.01)."
    )
    assert line.endswith(want), line
    assert fixed_point_census(few, short=True) == want.split(" (Good")[0] + "."


def test_the_dynamics_verdict_is_not_weakened_by_an_incomplete_census(few) -> None:
    """With a Lyapunov result, the regime's lines are exactly those without fixed points; the
    fixed-point line carries the census and says the reading of the dynamics does not rest on it."""
    lyap = rd.lyapunov_spectrum(rd.Henon(), n_steps=100, n_transient=20, n_trajectories=2, generator=_gen(1))
    alone = verdict(lyap, None, None, driven=False, fp_input="zero input")
    both = verdict(lyap, None, few, driven=False, fp_input="zero input")
    assert both[: len(alone)] == alone and alone[0].startswith("Chaotic")
    assert "The list is incomplete" in both[-1]
    assert both[-1].endswith("The reading of the dynamics above does not rest on this list.")


def test_analysis_status_message_names_the_census_in_one_clause() -> None:
    """rd.analyze on the grid map: the fixed-point section keeps its warning; the analysis's
    message gives the census clause (counts from hits) instead of the search's long message."""
    res = rd.analyze(
        Roots2D(_RX, _RY), sections=["fixed_points"], fixed_point_starts=12, n_trajectories=1, n_steps=20
    )
    fp = res.fixed_points
    hits = fp.hits.tolist()
    n1, n2 = hits.count(1), hits.count(2)
    chao1 = fp.n_points + n1 * (n1 - 1) / (2 * (n2 + 1))
    assert fp.status == "warning" and [c.name for c in fp.failed_checks] == ["completeness"]
    assert res.status == Status.WARNING
    ones = "each by a single start" if n1 == fp.n_points else f"{n1} by a single start"
    assert res.message == (
        f"fixed-point census incomplete ({fp.n_points} found, {ones}; about {chao1:.0f} estimated; "
        "more starts may find more)"
    ), res.message
    assert res.summary().splitlines()[1] == f"status: warning — {res.message}"


def test_points_added_by_symmetry_in_verdict_report_and_origins(mirrored, tmp_path) -> None:
    """The double well is odd: (-1, 0) is added by symmetry with 0 hits. The verdict counts it,
    the report's table shows hits and 'symmetry: -h* of #j' pointing at (1, 0), and 'What was
    checked' lists the completeness check with its numbers."""
    res = mirrored
    assert res.odd_map and res.n_points == 2 and res.n_added_by_symmetry == 1
    i_sym = int(res.from_symmetry.nonzero()[0, 0])
    j = 1 - i_sym
    torch.testing.assert_close(res.points[i_sym], torch.tensor([-1.0, 0.0], dtype=F64), rtol=0, atol=1e-12)
    torch.testing.assert_close(res.points[j], torch.tensor([1.0, 0.0], dtype=F64), rtol=0, atol=1e-12)
    assert res.hits.tolist()[i_sym] == 0 and res.hits.tolist()[j] == 3
    line = _fp_line(res)
    assert "1 of the 2 point(s) was found by no start but added by symmetry" in line
    assert "every one (pair ±h*) by two or more starts" in line
    origins = fixed_point_origins(res)
    assert origins[j] == "search" and origins[i_sym] == f"symmetry: -h* of #{j + 1}"
    # the report: an analysis result with this search as its fixed-point section
    base = rd.analyze(
        DoubleWell(), sections=["fixed_points"], fixed_point_starts=2, n_trajectories=1, n_steps=10
    )
    html = build_analysis_report(replace(base, fixed_points=res), tmp_path / "r.html", []).read_text()
    assert "<th>hits</th><th>found by</th>" in html
    assert f"<td>0</td><td>symmetry: -h* of #{j + 1}</td>" in html and "<td>3</td><td>search</td>" in html
    assert "The list looks complete: 2 fixed point(s) found" in html and "Good, The population" in html
    checked = html[html.index("<h2>What was checked") : html.index("<h2>What was analysed")]
    assert "<td>fixed points</td><td>completeness</td><td>passed</td><td>0 vs 0.01</td>" in checked
    assert "1 isolated point(s) up to sign found by 3 of 3 starts, 0 of them by one start only" in checked


def test_report_lists_a_failed_completeness_check_with_its_numbers(few, tmp_path) -> None:
    base = rd.analyze(
        DoubleWell(), sections=["fixed_points"], fixed_point_starts=2, n_trajectories=1, n_steps=10
    )
    as_run = replace(base, fixed_points=few, status=Status.WARNING)  # the status analyze gives it
    html = build_analysis_report(as_run, tmp_path / "r.html", []).read_text()
    checked = html[html.index("<h2>What was checked") : html.index("<h2>What was analysed")]
    n1, n2 = few.hits.tolist().count(1), few.hits.tolist().count(2)
    assert f"<td>completeness</td><td>FAILED (warning)</td><td>{n1 / 12:.3g} vs 0.01</td>" in checked
    chao1 = few.n_points + n1 * (n1 - 1) / (2 * (n2 + 1))
    assert (
        f"Status: warning <span>— fixed points: warning (completeness: an incomplete census, {few.n_points} "
        f"found, about {chao1:.0f} estimated). See" in html
    )
    assert (
        f"{n1} of them by one start only" in checked and "more starts (n_initial=48) may find more" in checked
    )
    table = html[html.index("<h2>Fixed points") :]
    assert [int(h) for h in few.hits] == [
        int(row.split("</td><td>")[5])
        for row in table.split("<tbody>")[1].split("</tbody>")[0].split("</tr>")[:-1]
    ]


def _capture(monkeypatch: pytest.MonkeyPatch, module: Any) -> list[Any]:
    figs: list[Any] = []
    monkeypatch.setattr(module, "save", lambda fig, path: figs.append(fig) or path)
    return figs


def test_fixed_point_figure_marks_symmetry_and_hits(mirrored, monkeypatch, tmp_path) -> None:
    """The added point (-1, 0) is drawn in its own collection (squares) at its projection, with a
    legend entry; hit counts are written next to the points; the census is in the title; a
    warning status stays on the figure."""
    from rnndyn.plotting import spectra as mod

    figs = _capture(monkeypatch, mod)
    mod.plot_fixed_points(
        replace(mirrored, status=Status.WARNING, message="test warning"), tmp_path / "f.png"
    )
    ax = figs[0].axes[0]
    (sym,) = [c for c in ax.collections if c.get_gid() == "rnndyn-fixed-points-symmetry"]
    (found,) = [c for c in ax.collections if c.get_gid() == "rnndyn-fixed-points-stable"]
    # two points, one real direction: PC 1 is +-x, the second coordinate is drawn at 0
    xs = np.array([sym.get_offsets()[0, 0], found.get_offsets()[0, 0]])
    assert abs(xs[0] + xs[1]) < 1e-12 and abs(abs(xs[0]) - 1.0) < 1e-12
    assert found.get_sizes()[0] == pytest.approx(28 * np.sqrt(3)) and sym.get_sizes()[0] == pytest.approx(28)
    legend = [t.get_text() for t in ax.get_legend().get_texts()]
    assert "added by symmetry: -h* of a found point (1, no start)" in legend and "stable (2)" in legend
    assert sorted(t.get_text() for t in ax.texts if t.get_gid() == "rnndyn-hits") == ["0", "3"]
    assert "complete census: 0 pair(s) ±h* found by one start, about 2 estimated" in ax.get_title()
    banner = [t.get_text() for t in figs[0].texts if t.get_gid() == "rnndyn-status"]
    assert banner and banner[0].startswith("WARNING: test warning")
    mod.plot_fixed_points(mirrored, tmp_path / "g.png", show_hits=False)
    assert not [t for t in figs[1].axes[0].texts if t.get_gid() == "rnndyn-hits"]
    with pytest.raises(TypeError, match="`show_hits` must be a bool; got str 'yes'"):
        mod.plot_fixed_points(mirrored, tmp_path / "h.png", show_hits="yes")


def test_trajectory_figure_draws_added_points_hollow(mirrored, monkeypatch, tmp_path) -> None:
    from rnndyn.plotting import analysis as mod

    figs = _capture(monkeypatch, mod)
    t = torch.linspace(0, 1, 30, dtype=F64)
    traj = torch.stack([torch.stack([t, 0.5 * t**2, 0.1 * t**3], -1)])  # (1, 30, 3)
    three = replace(mirrored, points=torch.cat([mirrored.points, torch.zeros(2, 1, dtype=F64)], -1))
    mod.plot_pca_trajectories(traj, tmp_path / "p.png", fixed_points=three)
    ax = figs[0].axes[0]
    (sym,) = [c for c in ax.collections if c.get_gid() == "rnndyn-fixed-points-symmetry"]
    assert len(sym.get_offsets()) == 1 and len(sym.get_facecolors()) == 0  # hollow
    assert "stable fixed point added by symmetry (-h*)" in [t.get_text() for t in ax.get_legend().get_texts()]
    assert figs[0].axes[1].get_title().startswith("fixed points: 2, complete census")


def test_cli_completeness_tol_reaches_the_library(tmp_path) -> None:
    """The Henon map has exactly two fixed points; 3 starts find both, one of them once
    (p_new = 1/3): warning at the library's default completeness_tol, success with 1; the
    default shown is the library's; a value outside [0, 1] is a clean usage error."""
    from typer.testing import CliRunner

    from rnndyn._fixed_point_defaults import COMPLETENESS_TOL
    from rnndyn.cli import app

    assert inspect.signature(rd.find_fixed_points).parameters["completeness_tol"].default == COMPLETENESS_TOL
    runner = CliRunner()
    base = ["fixed-points", "-m", "henon", "--starts", "3", "--no-progress"]
    for tol, status in ((None, "warning"), ("1", "success")):
        path = tmp_path / f"{tol}.json"
        out = runner.invoke(app, [*base, *(["--completeness-tol", tol] if tol else []), "--json", str(path)])
        assert out.exit_code == 0, out.output
        data = json.loads(path.read_text())
        assert sorted(data["hits"]) == [1, 2] and data["p_new"] == pytest.approx(1 / 3)
        assert data["status"] == status and data["completeness_tol"] == (
            COMPLETENESS_TOL if tol is None else 1.0
        )
    bad = runner.invoke(app, [*base, "--completeness-tol", "1.5"])
    assert bad.exit_code == 2 and "`--completeness-tol` must be in [0.0, 1.0]; got 1.5" in bad.output
    assert "Traceback" not in bad.output
    helptext = runner.invoke(app, ["fixed-points", "--help"], env={"COLUMNS": "200"}).output
    assert "--completeness-tol" in helptext and f"[default: {COMPLETENESS_TOL}]" in helptext


def test_xarray_carries_hits_symmetry_and_the_census(mirrored) -> None:
    base = rd.analyze(
        DoubleWell(), sections=["fixed_points"], fixed_point_starts=2, n_trajectories=1, n_steps=10
    )
    ds = replace(base, fixed_points=mirrored).to_xarray()
    assert ds["fixed_point_hits"].values.tolist() == mirrored.hits.tolist()
    assert ds["fixed_point_from_symmetry"].values.tolist() == mirrored.from_symmetry.int().tolist()
    assert ds.attrs["fixed_point_complete"] == 1 and ds.attrs["fixed_point_p_new"] == 0.0
    assert ds.attrs["fixed_point_census"] == fixed_point_census(mirrored)


def test_trajectory_figure_of_one_direction_marks_added_points(mirrored, monkeypatch, tmp_path) -> None:
    """States along one direction: PC 1 over time, the fixed points as horizontal lines, the one
    added by symmetry dotted and named in the legend."""
    from rnndyn.plotting import analysis as mod

    figs = _capture(monkeypatch, mod)
    t = torch.linspace(0, 1, 20, dtype=F64)
    traj = torch.stack([torch.stack([t, 0 * t], -1)])  # (1, 20, 2): one real direction, x
    mod.plot_pca_trajectories(traj, tmp_path / "p.png", fixed_points=mirrored)
    ax = figs[0].axes[0]
    dotted = [ln for ln in ax.lines if ln.get_linestyle() == ":"]
    assert len(dotted) == 1 and dotted[0].get_label() == "stable fixed point added by symmetry (-h*)"
    # PC 1 is +-x about the mean 0.5: the added point (-1, 0) sits at +-1.5, its partner at -+0.5
    (y,) = set(dotted[0].get_ydata())
    assert abs(abs(y) - 1.5) < 1e-12

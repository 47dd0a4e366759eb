"""Reports: self-contained HTML with embedded figures, tables, references; citation lookup."""

from __future__ import annotations

import base64
import math

import pytest
import torch

import rnndyn as rd
from rnndyn.plotting import _plt, save
from rnndyn.report import Section, citations, fmt, write_report


def test_report_embeds_figures_tables_and_references(tmp_path) -> None:
    plt = _plt()
    fig, ax = plt.subplots()
    ax.plot([0, 1], [1, 0])
    png = save(fig, tmp_path / "f.png")
    out = write_report(
        tmp_path / "r" / "report.html",
        title="Test <report>",
        sections=[
            Section("Lyapunov", rows=[("lambda_max", "0.1 ± 0.01")], figures=[png], cite=["lyapunov_qr"]),
            Section("More", text="plain text", cite=["lyapunov_qr", "scs"]),
        ],
        command="rnndyn analyze",
    )
    text = out.read_text()
    assert "Test &lt;report&gt;" in text and "lambda_max" in text and "0.1 ± 0.01" in text
    embedded = base64.b64encode(png.read_bytes()).decode()
    assert embedded in text  # the figure is inside the file, not linked
    assert text.count("Benettin") == 1 and "Sompolinsky" in text  # de-duplicated references


def test_errors(tmp_path) -> None:
    with pytest.raises(ValueError, match="`keys` must be among"):
        citations(["nope"])
    with pytest.raises(ValueError, match="`sections` must hold"):
        write_report(tmp_path / "x.html", title="t", sections=[])
    with pytest.raises(FileNotFoundError, match="does not exist"):
        write_report(tmp_path / "x.html", title="t", sections=[Section("s", figures=[tmp_path / "no.png"])])


def test_report_command_writes_html_and_json(tmp_path) -> None:
    import json

    from typer.testing import CliRunner

    from rnndyn.cli import app

    out = tmp_path / "rep"
    res = CliRunner().invoke(
        app,
        [
            "report",
            "-m",
            "henon",
            "--steps",
            "300",
            "--transient",
            "50",
            "--skip",
            "fixed-points",
            "--no-progress",
            "--out",
            str(out),
        ],
    )
    assert res.exit_code == 0, res.output
    payload = json.loads((out / "result.json").read_text())
    # Hénon: lambda_1 = 0.419 (literature), sum = ln 0.3 exactly
    lam = payload["lyapunov"]["exponents"]
    assert abs(sum(lam) - __import__("math").log(0.3)) < 1e-9 and abs(lam[0] - 0.419) < 0.05
    html = (out / "report.html").read_text()
    assert "Lyapunov" in html and "Jacobian spectrum" in html and "Benettin" in html
    assert "Fixed points" not in html
    res = CliRunner().invoke(app, ["analyze", "--skip", "bogus"])
    assert res.exit_code == 2 and "`--skip` must be one of" in res.output


def test_fmt_rounds_the_value_to_its_error() -> None:
    """A measurement is quoted with a 2-digit error and the value to the same decimal place."""
    from rnndyn.report import fmt

    assert fmt(-0.07635, 0.02867) == "-0.076 ± 0.029"
    assert fmt(0.41868, 0.0012) == "0.4187 ± 0.0012"
    assert fmt(23.14, 2.4) == "23.1 ± 2.4" and fmt(1234.5, 240.0) == "1230 ± 240"
    assert fmt(-1e-5, 0.03) == "0.000 ± 0.030" and fmt(0.5, float("nan")) == "0.5" and fmt(0.5, 0.0) == "0.5"
    assert fmt(0.4186832, 1.2e-6) == "0.4186832 ± 1.2e-06" and fmt(float("inf")) == "inf"


def test_analysis_report_opens_with_the_status_and_lists_the_checks(tmp_path) -> None:
    """Hénon (lambda = 0.419, -1.62; sum = ln 0.3): the report's first block after the title is
    the status banner, 'What was checked' lists every check with its outcome, the exponent table
    quotes each exponent with its error; a failed check (here made a multistability warning)
    turns the banner and the Lyapunov badge to 'warning' and its row is marked failed."""
    from dataclasses import replace

    import rnndyn as rd
    from rnndyn._results import Check, Status
    from rnndyn.report import build_analysis_report, fmt

    res = rd.analyze(
        rd.Henon(), sections=("lyapunov", "spectrum"), n_steps=200, n_transient=50, n_trajectories=2,
        spectrum_states=4,
    )  # fmt: skip
    lyap = res.lyapunov
    assert lyap.status == "success" and abs(float(lyap.exponents.sum()) - __import__("math").log(0.3)) < 1e-9
    text = build_analysis_report(res, tmp_path / "ok.html", []).read_text()
    body = text[text.index("<body>") :]
    assert body.index("class='banner status-success'") < body.index("<h2>Verdict")
    assert body.index("<h2>Verdict") < body.index("<h2>What was checked")
    checked = body[body.index("<h2>What was checked") : body.index("<h2>What was analysed")]
    for c in lyap.checks:
        assert f"<td>{c.name.replace('_', ' ')}</td><td>passed</td>" in checked
    assert f"{len(lyap.checks)} of {len(lyap.checks)} self-checks passed" in checked
    assert "Not self-checked: jacobian spectrum" in checked  # it has no checks: said, not hidden
    assert "<span class='badge status-unchecked'>ran, no self-checks</span>" in body
    lam, se = lyap.exponents.tolist(), lyap.stderr.tolist()
    assert f"<td>1</td><td>{fmt(lam[0], se[0])}</td>" in body and " ± " in fmt(lam[0], se[0])
    failed = Check(name="multistability", passed=False, value=2.0, tolerance=1.0, status=Status.WARNING,
                   detail="2 clusters")  # fmt: skip
    bad = replace(
        res,
        status=Status.WARNING,
        lyapunov=replace(lyap, status=Status.WARNING, checks=(*lyap.checks[:-1], failed)),
    )
    text = build_analysis_report(bad, tmp_path / "bad.html", []).read_text()
    assert "class='banner status-warning'>Status: warning <span>— lyapunov: warning (multistability)" in text
    assert "<h2>Lyapunov spectrum<span class='badge status-warning'>warning</span></h2>" in text
    assert "<tr class='failed'><td>lyapunov</td><td>multistability</td><td>FAILED (warning)</td>" in text


def test_unknown_kaplan_yorke_dimension_says_why_instead_of_nan():
    # a chaotic net with only its top exponent computed: lambda_1 > 0, so the partial sums never
    # turn negative and D_KY is undefined (NaN); the summary must say so, not print 'nan'
    from rnndyn.report import lyapunov_rows

    net = rd.VanillaRNN(30, g=3.0, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    res = rd.lyapunov_spectrum(
        net, k=1, n_steps=300, n_transient=100, generator=torch.Generator().manual_seed(1)
    )
    assert res.lambda_max > 0 and math.isnan(res.kaplan_yorke_dimension)
    row = dict(lyapunov_rows(res))["Kaplan–Yorke dimension"]
    assert row.startswith("unknown") and "nan" not in row.lower()


def test_predictability_time_of_a_stable_network_is_said_unbounded_not_inf():
    # before: 'predictability time ln2/lambda_max  inf steps'
    from rnndyn.report import lyapunov_rows

    net = rd.VanillaRNN(6, g=0.5, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    res = rd.lyapunov_spectrum(
        net, k=1, n_steps=50, n_transient=20, generator=torch.Generator().manual_seed(1)
    )
    assert res.lambda_max < 0 and res.predictability_time == math.inf
    row = dict(lyapunov_rows(res))["predictability time ln2/lambda_max"]
    assert row == "unbounded (lambda_max <= 0: perturbations do not grow)"
    chaotic = rd.VanillaRNN(30, g=3.0, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    res = rd.lyapunov_spectrum(
        chaotic, k=1, n_steps=100, n_transient=50, generator=torch.Generator().manual_seed(1)
    )
    row = dict(lyapunov_rows(res))["predictability time ln2/lambda_max"]
    assert res.lambda_max > 0 and row == f"{fmt(math.log(2) / res.lambda_max)} steps"


def test_census_status_clause_reads_as_one_sentence():
    # before (make demo): 'status: warning (fixed points: warning (incomplete census: 11 fixed point(s)
    # found (11 by a single start; about 66 estimated): more starts may find more; the other ...))'
    from types import SimpleNamespace

    from rnndyn.report import census_status_clause, status_line

    fp = SimpleNamespace(n_points=11, n_isolated=11, n_found_once=11, odd_map=False, n_points_estimate=65.6)
    assert status_line("warning", census_status_clause(fp, others=True)) == (
        "status: warning — fixed-point census incomplete (11 found, each by a single start; about 66 "
        "estimated; more starts may find more). The other sections do not depend on it."
    )
    some = SimpleNamespace(n_points=14, n_isolated=12, n_found_once=5, odd_map=False, n_points_estimate=28.2)
    assert census_status_clause(some, others=False) == (
        "fixed-point census incomplete (14 found, 12 isolated, 5 by a single start; about 28 estimated; "
        "more starts may find more)"
    )
    odd = SimpleNamespace(n_points=6, n_isolated=6, n_found_once=3, odd_map=True, n_points_estimate=9.0)
    assert "(6 found, 3 pair(s) ±h* by a single start; about 9 estimated;" in census_status_clause(
        odd, others=False
    )
    assert status_line("success") == "status: success"


def test_a_section_that_could_not_run_is_named_next_to_the_check_count(tmp_path) -> None:
    """Before: 'What was checked' opened with '0 of 0 self-checks passed.' and nothing else when
    the only section asked for could not run (here CLVs on inputs too short for the backward pass)."""
    import torch

    import rnndyn as rd
    from rnndyn.report import build_analysis_report

    x = torch.randn(40, 2, generator=torch.Generator().manual_seed(0), dtype=torch.float64)  # (T, d)
    res = rd.analyze(torch.nn.GRUCell(2, 3, dtype=torch.float64), x, sections=["clv"], n_transient=5)
    assert res.errors.keys() == {"clv"} and res.status == "failed"
    text = build_analysis_report(res, tmp_path / "r.html", []).read_text()
    checked = text[text.index("<h2>What was checked") : text.index("<h2>What was analysed")]
    assert "No self-check was made." in checked and "0 of 0" not in checked
    assert "Could not run: clv (the reason is in its row below); no check of it was made." in checked


def test_a_diverged_run_says_not_available_instead_of_nan_rows(tmp_path):
    # before: 'lambda_max nan', 'positive exponents 0 of 3', 'Kaplan–Yorke dimension unknown: the
    # sum of the 3 exponent(s) computed stays >= 0', 'slow modes ... (tol nan)'
    from rnndyn.report import lyapunov_rows

    class Blowup(rd.AbstractMap):  # h -> 3 h: every state escapes
        def __init__(self) -> None:
            super().__init__()
            self.state_size, self.input_size, self.dtype = 3, 0, torch.float64

        def _step(self, h: torch.Tensor, x: torch.Tensor | None) -> torch.Tensor:
            return 3.0 * h

    res = rd.lyapunov_spectrum(Blowup(), n_steps=40, throw=False, generator=torch.Generator().manual_seed(0))
    assert res.status == "diverged" and all(math.isnan(v) for v in res.exponents.tolist())
    rows = dict(lyapunov_rows(res))
    assert rows["lambda_max"] == "not available (the run diverged)" and rows["regime"] == "diverged"
    assert rows["spectrum (3 exponents; state size 3)"] == "not available (the run diverged)"
    assert "nan" not in " ".join(rows.values()) and "positive exponents" not in rows
    # and the HTML report: no exponent table of 'nan' rows, no 'tolerance nan'
    from rnndyn.report import build_analysis_report

    full = rd.analyze(Blowup(), sections="lyapunov", n_steps=40, n_transient=0, n_trajectories=1)
    assert full.status == "diverged"
    text = build_analysis_report(full, tmp_path / "d.html", []).read_text()
    part = text[text.index("<h2>Lyapunov spectrum") :]
    assert (
        "No exponent was measured: diverged" in part and ">nan<" not in text and "tolerance nan" not in text
    )

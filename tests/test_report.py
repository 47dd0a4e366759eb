"""Reports: self-contained HTML with embedded figures, tables, references; citation lookup."""

from __future__ import annotations

import base64

import pytest

from rnndyn.plotting import _plt, save
from rnndyn.report import Section, citations, write_report


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

"""Self-contained HTML reports (tables + embedded figures + provenance) and citations.

A report is a list of :class:`Section`; :func:`write_report` renders them into one HTML file
with the figures embedded (base64 PNG), so it can be mailed or archived as a single file.
:func:`citations` lists the papers behind the methods a run actually used.
"""

from __future__ import annotations

import base64
import datetime as _dt
import html
import math
import platform
import sys
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rnndyn._display import fmt, param_text  # fmt re-exported: rnndyn.report.fmt is public (CLI, plotting)
from rnndyn._results import status_rows

#: The papers behind rnndyn's methods, keyed by what they support.
CITATIONS: dict[str, str] = {
    "lyapunov_qr": "G. Benettin, L. Galgani, A. Giorgilli, J.-M. Strelcyn, Meccanica 15, 9 (1980): "
    "Lyapunov characteristic exponents for smooth dynamical systems (QR/Gram-Schmidt method).",
    "lyapunov_rnn": "R. Vogt, M. Puelma Touzel, E. Shlizerman, G. Lajoie, On Lyapunov exponents for RNNs, "
    "arXiv:2006.14123 (2020/2022).",
    "gated_rmt": "T. Can, K. Krishnamurthy, D. J. Schwab, Gating creates slow modes and controls "
    "phase-space complexity in GRUs and LSTMs, MSML 2020, PMLR 107:476-511, arXiv:2002.00025.",
    "gated_dmft": "K. Krishnamurthy, T. Can, D. J. Schwab, Theory of gating in recurrent neural networks, "
    "Phys. Rev. X 12, 011011 (2022), arXiv:2007.14823.",
    "scs": "H. Sompolinsky, A. Crisanti, H.-J. Sommers, Chaos in random neural networks, "
    "Phys. Rev. Lett. 61, 259 (1988).",
    "scrambling": "V. Chatziafratis, I. Panageas, C. Sanford, S. Stavroulakis, On scrambling phenomena for "
    "randomly initialized recurrent networks, NeurIPS 2022, arXiv:2210.05212.",
    "chaotic_training": "J. Mikhaeil, Z. Monfared, D. Durstewitz, On the difficulty of learning chaotic "
    "dynamics with RNNs, NeurIPS 2022, arXiv:2110.07238.",
    "kaplan_yorke": "J. L. Kaplan, J. A. Yorke, Chaotic behavior of multidimensional difference equations, "
    "Lecture Notes in Mathematics 730 (1979).",
    "rosenstein": "M. T. Rosenstein, J. J. Collins, C. J. De Luca, A practical method for calculating "
    "largest Lyapunov exponents from small data sets, Physica D 65, 117 (1993).",
    "fixed_points": "D. Sussillo, O. Barak, Opening the black box: low-dimensional dynamics in "
    "high-dimensional recurrent neural networks, Neural Computation 25, 626 (2013).",
    "good_turing": "I. J. Good, The population frequencies of species and the estimation of population "
    "parameters, Biometrika 40, 237 (1953).",
    "chao1": "A. Chao, Nonparametric estimation of the number of classes in a population, "
    "Scandinavian Journal of Statistics 11, 265 (1984).",
}


def citations(keys: Iterable[str]) -> list[str]:
    """The references for the given method keys (see :data:`CITATIONS`), de-duplicated, in order.

    Example:
        >>> citations(["scs"])[0].startswith("H. Sompolinsky")
        True
    """
    out: list[str] = []
    for key in keys:
        if key not in CITATIONS:
            raise ValueError(f"`keys` must be among {sorted(CITATIONS)}; got {key!r}")
        if CITATIONS[key] not in out:
            out.append(CITATIONS[key])
    return out


@dataclass(frozen=True)
class Section:
    """One block of a report: a heading, optional prose (paragraphs), a two-column table, an
    optional many-column ``table`` (``(header, rows)``), figures (with optional captions) and
    the ``status`` of the analysis it shows (a coloured badge by the heading; ``""``: none);
    ``table_class``: the CSS class of ``table`` (``"full"``: numbers right-aligned)."""

    title: str
    text: str | Sequence[str] = ""
    rows: Sequence[tuple[str, str]] = ()
    figures: Sequence[Path] = ()
    cite: Sequence[str] = field(default_factory=tuple)
    table: tuple[Sequence[str], Sequence[Sequence[str]]] | None = None
    captions: Sequence[str] = ()
    status: str = ""
    table_class: str = "full"


_CSS = """
body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;max-width:980px;margin:2em auto;
color:#222;line-height:1.45;padding:0 1em}
h1{font-size:1.6em;border-bottom:2px solid #446;padding-bottom:.2em}
h2{font-size:1.2em;margin-top:1.6em;color:#334}
table{border-collapse:collapse;margin:.6em 0}td{padding:.25em .9em;border-bottom:1px solid #ddd}
td:first-child{color:#555}img{max-width:100%;border:1px solid #eee;margin:.4em 0}
th{text-align:right;padding:.25em .9em;border-bottom:2px solid #99a}table.full td{text-align:right}
.meta{color:#777;font-size:.85em}ol{font-size:.9em}figure{margin:.8em 0}figcaption{color:#555;font-size:.9em}
.verdict{background:#f4f6fb;border-left:4px solid #446;padding:.6em 1em}
.status-success{color:#1a7f37}.status-warning,.status-not_converged{color:#9a6700}
.status-diverged,.status-failed{color:#cf222e}
.badge{font-size:.7em;font-weight:600;border-radius:10px;padding:.1em .6em;margin-left:.6em;color:#fff;
vertical-align:middle}
.badge.status-success{background:#1a7f37;color:#fff}.badge.status-warning{background:#9a6700;color:#fff}
.badge.status-not_converged{background:#bc4c00;color:#fff}
.badge.status-diverged,.badge.status-failed{background:#cf222e;color:#fff}
.badge.status-unchecked{background:#6e7781;color:#fff}
.banner{border-radius:6px;padding:.6em 1em;margin:1em 0;font-weight:600}
.banner.status-success{background:#dafbe1;border:1px solid #1a7f37}
.banner.status-warning{background:#fff8c5;border:1px solid #9a6700}
.banner.status-not_converged{background:#fff1e5;border:1px solid #bc4c00}
.banner.status-diverged,.banner.status-failed{background:#ffebe9;border:1px solid #cf222e}
.banner span{font-weight:400;color:#222}
tr.failed td{background:#fff1e5}table.checks td,table.checks th{text-align:left}
"""


def _img(path: Path) -> str:
    data = base64.b64encode(Path(path).read_bytes()).decode("ascii")
    return f'<img alt="{html.escape(Path(path).name)}" src="data:image/png;base64,{data}">'


def write_report(
    path: str | Path,
    *,
    title: str,
    sections: Sequence[Section],
    command: str | None = None,
    status: tuple[str, str] | None = None,
) -> Path:
    """Render ``sections`` into one self-contained HTML file at ``path``.

    Args:
        path: output file (``.html``); parent folders are created.
        title: page title.
        sections: the blocks, in order. Missing figure files raise ``FileNotFoundError``.
        command: the command line that produced the results (shown for provenance).
        status: ``(status, message)`` of the whole run: a coloured banner under the title
            (green for success; yellow/orange/red for warning, not_converged, diverged/failed),
            so the outcome is the first thing read.

    Returns:
        The path written.
    """
    from rnndyn._version import __version__

    if not sections:
        raise ValueError("`sections` must hold at least one Section; got none")
    parts = [
        f"<!doctype html><html><head><meta charset='utf-8'><title>{html.escape(title)}</title>"
        f"<style>{_CSS}</style></head><body><h1>{html.escape(title)}</h1>"
    ]
    stamp = _dt.datetime.now(_dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
    meta = f"rnndyn {__version__} · Python {platform.python_version()} · {stamp}"
    if command:
        meta += f"<br><code>{html.escape(command)}</code>"
    parts.append(f"<p class='meta'>{meta}</p>")
    if status is not None:
        value, message = str(getattr(status[0], "value", status[0])), status[1]
        parts.append(
            f"<div class='banner status-{html.escape(value)}'>Status: {html.escape(value.replace('_', ' '))}"
            + (f" <span>— {html.escape(message)}</span>" if message else "")
            + "</div>"
        )
    cite_keys: list[str] = []
    for sec in sections:
        badge = ""
        if sec.status:
            v = html.escape(str(getattr(sec.status, "value", sec.status)))
            word = "ran, no self-checks" if v == "unchecked" else v.replace("_", " ")
            badge = f"<span class='badge status-{v}'>{word}</span>"
        parts.append(f"<h2>{html.escape(sec.title)}{badge}</h2>")
        paragraphs = [sec.text] if isinstance(sec.text, str) else list(sec.text)
        for para in paragraphs:
            if para:
                parts.append(f"<p>{html.escape(para)}</p>")
        if sec.rows:
            body = "".join(
                f"<tr><td>{html.escape(str(k))}</td><td>{html.escape(str(v))}</td></tr>" for k, v in sec.rows
            )
            parts.append(f"<table>{body}</table>")
        if sec.table is not None:
            header, trs = sec.table
            head = "".join(f"<th>{html.escape(str(h))}</th>" for h in header)
            body = "".join(
                ("<tr class='failed'>" if any(str(c).startswith("FAILED") for c in r) else "<tr>")
                + "".join(f"<td>{html.escape(str(c))}</td>" for c in r)
                + "</tr>"
                for r in trs
            )
            parts.append(
                f"<table class='{html.escape(sec.table_class)}'><thead><tr>{head}</tr></thead>"
                f"<tbody>{body}</tbody></table>"
            )
        for i, fig in enumerate(sec.figures):
            if not Path(fig).exists():
                raise FileNotFoundError(f"figure {fig} of section {sec.title!r} does not exist")
            cap = sec.captions[i] if i < len(sec.captions) else ""
            capt = f"<figcaption>{html.escape(cap)}</figcaption>" if cap else ""
            parts.append(f"<figure>{_img(Path(fig))}{capt}</figure>")
        cite_keys.extend(sec.cite)
    refs = citations(cite_keys)
    if refs:
        parts.append(
            "<h2>References</h2><ol>" + "".join(f"<li>{html.escape(r)}</li>" for r in refs) + "</ol>"
        )
    parts.append("</body></html>")
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(parts), encoding="utf-8")
    return path


def build_analysis_report(
    result: Any, path: str | Path, figures: Sequence[Path], *, command: str | None = None
) -> Path:
    """The HTML report of an :class:`~rnndyn.analysis.AnalysisResult` (see its ``report`` method).

    Order: verdict (plain language), what was analysed, the full Lyapunov exponent table,
    trajectories in principal-component space with the fixed points, the Jacobian spectrum against
    random-matrix theory, fixed points, references.
    """
    figs = {Path(f).stem: Path(f) for f in figures}
    analyses = _analyses(result)
    sections = [Section("Verdict", text=list(result.verdict))]
    check_rows = [row for name, res in analyses for row in check_table_rows(name, res)]
    check_rows += [
        (name.replace("_", " "), "-", "FAILED (failed)", "-", err) for name, err in result.errors.items()
    ]
    if check_rows:
        real = [r for r in check_rows if r[1] != "-"]
        n_passed = sum(r[2] == "passed" for r in real)
        unchecked = sorted({r[0] for r in check_rows if r[1] == "-" and r[2] == "ran"})
        count = f"{n_passed} of {len(real)} self-checks passed." if real else "No self-check was made."
        text = [
            f"{count} A failed check sets its analysis's status "
            "(the badge by each heading): success means every check passed and the numbers can be "
            "used as reported; warning, not converged, diverged or failed say what to change."
        ]
        if result.errors:  # before: "6 of 6 self-checks passed" above a section that could not run
            names = ", ".join(name.replace("_", " ") for name in result.errors)
            text.append(f"Could not run: {names} (the reason is in its row below); no check of it was made.")
        if unchecked:
            text.append(
                f"Not self-checked: {', '.join(unchecked)} (their status says only that they ran; "
                "compare with the theory and the other sections)."
            )
        sections.append(
            Section(
                "What was checked",
                text=text,
                table=(
                    ("analysis", "check", "outcome", "value vs tolerance", "what was compared"),
                    check_rows,
                ),
                table_class="full checks",
            )
        )
    rows = list(dict(result.sections())["model"])
    rows += [(f"{k.replace('_', ' ')}: inputs", v) for k, v in result.analysed.items()]
    s = result.settings
    rows.append(
        (
            "settings",
            ", ".join(f"{k}={param_text(v)}" for k, v in s.items() if k not in ("seeds", "sections")),
        )
    )
    sections.append(Section("What was analysed", rows=rows))
    res_l = result.lyapunov
    if res_l is not None:
        lam, se = res_l.exponents.tolist(), res_l.stderr.tolist()
        table = (
            ("i", f"lambda_i ± stderr [{res_l.units}]", "sign"),
            [
                (
                    str(i + 1),
                    fmt(v, e),
                    "+"
                    if v > res_l.near_zero_tolerance
                    else ("0" if v >= -res_l.near_zero_tolerance else "-"),
                )
                for i, (v, e) in enumerate(zip(lam, se, strict=True))
            ],
        )
        lf = [figs[k] for k in ("lyapunov_spectrum", "lyapunov_convergence") if k in figs]
        measured = all(math.isfinite(v) for v in lam)  # a diverged run: no table of 'nan' rows
        sections.append(
            Section(
                "Lyapunov spectrum",
                text=(
                    "Exponents by the QR (Benettin) method: the average logarithmic growth rates of "
                    "perturbations along a trajectory. Positive: sensitive dependence on initial "
                    "conditions (chaos); zero: slow/neutral directions; negative: contracting "
                    "directions. "
                    + (
                        "Sign column: + above, 0 within, - below the tolerance "
                        f"{res_l.near_zero_tolerance:.2g}."
                        if measured
                        else "No exponent was measured: " + (res_l.message or "the run did not finish") + "."
                    )
                ),
                rows=lyapunov_rows(res_l),
                table=table if measured else None,
                figures=lf,
                captions=[
                    "The exponents with ±2 standard errors (grey: each trajectory's own spectrum).",
                    "Running estimates against averaging steps: flat lines inside their bands mean converged.",
                ][: len(lf)],
                cite=["lyapunov_qr", "lyapunov_rnn", "kaplan_yorke", "chaotic_training"],
                status=_badge(res_l),
            )
        )
    if "trajectories_pca" in figs:
        sections.append(
            Section(
                "Trajectories and fixed points",
                text=(
                    "States projected on the principal components of the trajectories (axes give the "
                    "explained variance); fixed points are overlaid with their stability: "
                    f"{result.analysed.get('trajectories', '')}."
                ),
                figures=[figs["trajectories_pca"]],
                cite=["fixed_points"],
            )
        )
    res_s = result.jacobian_spectrum
    if res_s is not None:
        from rnndyn.spectra import spectrum_summary

        sections.append(
            Section(
                "Jacobian spectrum against theory",
                text=(
                    "Eigenvalues of the state-to-state Jacobian dh_{t+1}/dh_t pooled over states along "
                    "trajectories, with the random-matrix prediction of the bulk where one exists "
                    "(Can, Krishnamurthy & Schwab 2020). Eigenvalues near 1 are slow modes. "
                    f"States: {result.analysed.get('jacobian_spectrum', '')}."
                ),
                rows=spectrum_summary(res_s),
                figures=[figs["jacobian_spectrum"]] if "jacobian_spectrum" in figs else [],
                captions=[
                    "Left: eigenvalues (grey: all states; blue: the state the theory is evaluated at) "
                    "with the random-matrix support (red) and the unit circle. Right: fraction of "
                    "eigenvalues within ε of 1 (slow modes), log-log."
                ],
                cite=["gated_rmt"],
                status=_badge(res_s),
            )
        )
    res_f = result.fixed_points
    if res_f is not None:
        from rnndyn.fixed_points import fixed_point_summary

        found_by = fixed_point_origins(res_f)
        trs = [
            (
                str(i + 1),
                lab,
                fmt(float(res_f.spectral_radius[i])),
                str(int(res_f.n_unstable[i])),
                fmt(float(res_f.speeds[i])),
                str(int(res_f.hits[i])),
                found_by[i],
            )
            for i, lab in enumerate(res_f.stability[:_MAX_FIXED_POINT_ROWS])
        ]
        fp_text = [
            "Points with F(h*, x) = h* found by minimising the speed q = |F(h) - h|^2 / 2 from many "
            "starts, classified by the eigenvalues of the Jacobian there (stable: all |lambda| < 1). "
            "Hits: the starts that converged to the point; a point found by no start but added as the "
            "mirror image -h* of a found point of an odd map (F(-h) = -F(h)) has 0 hits and says so. "
            f"Input: {result.analysed.get('fixed_points', '')}.",
            fixed_point_census(res_f),
        ]
        if res_f.n_points > _MAX_FIXED_POINT_ROWS:
            fp_text.append(
                f"The table lists the first {_MAX_FIXED_POINT_ROWS} of {res_f.n_points} points (slowest "
                "first); the JSON result holds all of them."
            )
        sections.append(
            Section(
                "Fixed points",
                text=fp_text,
                rows=fixed_point_summary(res_f),
                table=(
                    (
                        "#",
                        "stability",
                        "spectral radius",
                        "unstable directions",
                        "speed q",
                        "hits",
                        "found by",
                    ),
                    trs,
                )
                if trs
                else None,
                cite=["fixed_points", "good_turing", "chao1"],
                status=_badge(res_f),
            )
        )
    if result.clv is not None:
        sections.append(
            Section(
                "Covariant Lyapunov vectors",
                text=(
                    "The directions in which perturbations grow or shrink at each rate, covariant with the "
                    "dynamics (Ginelli et al. 2007, PRL 99, 130601): their growth rates reproduce the "
                    "exponents; a small angle between the unstable and stable subspaces means near-tangencies "
                    "(weak hyperbolicity); the inverse participation ratio (IPR) says how many units take part "
                    f"(1 = one unit, 1/n = all). Analysed: {result.analysed.get('clv', '')}. See docs/clv.md."
                ),
                rows=clv_rows(result.clv),
                status=_badge(result.clv),
            )
        )
    for name, err in result.errors.items():
        sections.append(
            Section(name.replace("_", " ").capitalize(), text=f"This section failed: {err}", status="failed")
        )
    bad = [
        _banner_part(name, res, others=len(analyses) > 1)
        for name, res in analyses
        if _status(res) not in ("", "success")
    ] + [f"{name.replace('_', ' ')}: failed" for name in result.errors]
    summary = (
        "; ".join(bad) + ". See 'What was checked'."
        if bad
        else "every self-check passed (see 'What was checked')."
    )
    return write_report(
        path,
        title=f"rnndyn analyze: {result.label}",
        sections=sections,
        command=command,
        status=(result.status, summary),
    )


def _banner_part(name: str, res: Any, *, others: bool) -> str:
    """A non-success analysis in the report's status banner: its status and failed checks; a
    fixed-point search whose only failed check is the census says what that means."""
    failed = [c.name for c in getattr(res, "failed_checks", ())]
    head = f"{name.replace('_', ' ')}: {_status(res)}"
    if name == "fixed_points" and failed == ["completeness"]:
        return (
            f"{head} (completeness: an incomplete census, {res.n_points} found, about "
            f"{res.n_points_estimate:.0f} estimated"
            + ("; the other sections do not depend on it)" if others else ")")
        )
    return head + (f" ({', '.join(failed)})" if failed else "")


#: rows of the report's fixed-point table
_MAX_FIXED_POINT_ROWS = 50


def fixed_point_origins(res_f: Any) -> list[str]:
    """Per fixed point, how it was found: ``"search"`` (``hits`` starts reached it), or for a point added by odd
    symmetry ``"symmetry: -h* of #j"`` (``j`` the 1-based row of its found partner: the nearest
    point to ``-h*``)."""
    pts = res_f.points.detach().double()
    out = []
    for i in range(res_f.n_points):
        if bool(res_f.from_symmetry[i]):
            dist = (pts + pts[i]).norm(dim=-1)
            dist[res_f.from_symmetry.to(dist.device)] = float("inf")  # the partner is a found point
            j = int(dist.argmin()) if bool(dist.isfinite().any()) else -1
            out.append(f"symmetry: -h* of #{j + 1}" if j >= 0 else "symmetry")
        else:
            out.append("search")
    return out


def _completeness_check(res_f: Any) -> Any:
    return next((c for c in getattr(res_f, "checks", ()) if c.name == "completeness"), None)


def fixed_point_census(res_f: Any, *, short: bool = False) -> str:
    """How complete the fixed-point list of a :class:`~rnndyn.FixedPointResult` is, in words.

    From the search's Good--Turing completeness check (``p_new`` = :math:`N_1/S`, the chance that
    one more start finds a point not in the list; Chao1 ``n_points_estimate``; Good 1953, Chao
    1984; docs/spectra.md, "How complete is a search?") and the points added by odd symmetry
    (``from_symmetry``). Empty when nothing was found.

    Args:
        res_f: the fixed-point result.
        short: one clause for a status line (no symmetry sentence, no advice beyond "more starts").

    Returns:
        e.g. ``"The list is incomplete: 14 fixed points found (11 by a single start; about 28
        estimated): more starts may find more (...)."``, ``"The list looks complete: ..."``, or
        for points on a continuum only, that they are not counted.
    """
    n = int(res_f.n_points)
    if not n:
        return ""
    n_iso = int(getattr(res_f, "n_isolated", n))
    chk = _completeness_check(res_f)
    odd = bool(getattr(res_f, "odd_map", False))
    what = f"{n} fixed point(s) found" if n_iso == n else f"{n_iso} isolated fixed point(s) found"
    unit = " pair(s) ±h*" if odd else ""
    ones = (
        f"{res_f.n_found_once}{unit} by a single start"
        if res_f.n_found_once
        else f"every one{' (pair ±h*)' if odd else ''} by two or more starts"
    )
    if chk is None:
        text = (
            "All of them lie on a continuum of fixed points (an eigenvalue at 1), which cannot be "
            "counted, so no completeness is claimed."
            if n_iso == 0
            else ""
        )
    elif chk.passed:
        text = (
            f"The list looks complete: {what}, {ones}; the Good–Turing chance that one more start finds "
            f"a new one is {res_f.p_new:.2g} <= {res_f.completeness_tol:g} (for starts drawn like these"
            + (f": {res_f.starts})." if getattr(res_f, "starts", "") else ").")
        )
    else:
        text = (
            f"The list is incomplete: {what} ({ones}; about {res_f.n_points_estimate:.0f} estimated): more "
            "starts may find more"
        )
        text += (
            "."
            if short
            else f" (Good–Turing chance {res_f.p_new:.2g} that one more start finds a new one, above "
            f"{res_f.completeness_tol:g})."
        )
    if short:
        return text
    k = int(getattr(res_f, "n_added_by_symmetry", 0))
    if k:
        text += (
            f" {k} of the {n} point(s) {'was' if k == 1 else 'were'} found by no start but added by "
            "symmetry, as the mirror image(s) -h* of found points "
            "(the map is odd, F(-h) = -F(h); each verified as a fixed point)."
        )
    return text.strip()


def status_line(status: str, message: str = "") -> str:
    """The last line of ``rnndyn analyze`` (and :meth:`AnalysisResult.summary`'s second):
    ``"status: warning — <message>"``, or ``"status: success"`` with no message."""
    return f"status: {status}" + (f" — {message}" if message else "")


def census_status_clause(res_f: Any, *, others: bool) -> str:
    """The analysis's status message for a fixed-point section whose only failed check is the
    census (:func:`fixed_point_census` in one clause, no nested parentheses, each count once).

    Args:
        res_f: the fixed-point result (its ``completeness`` check failed).
        others: whether other sections ran (they do not depend on the census; said so).

    Returns:
        e.g. ``"fixed-point census incomplete (11 found, each by a single start; about 66
        estimated; more starts may find more). The other sections do not depend on it."``
    """
    n = int(res_f.n_points)
    n_iso = int(getattr(res_f, "n_isolated", n))
    once = int(res_f.n_found_once)
    odd = bool(getattr(res_f, "odd_map", False))
    what = f"{n} found" if n_iso == n else f"{n} found, {n_iso} isolated"
    if odd:  # the single-start count is of pairs ±h*
        ones = f"{once} pair(s) ±h* by a single start"
    elif once == n_iso:
        ones = "each by a single start"
    else:
        ones = f"{once} by a single start" if once else "every one by two or more starts"
    text = (
        f"fixed-point census incomplete ({what}, {ones}; about {res_f.n_points_estimate:.0f} estimated; "
        "more starts may find more)"
    )
    return text + (". The other sections do not depend on it." if others else "")


def _analyses(result: Any) -> list[tuple[str, Any]]:
    """The analyses an AnalysisResult holds, by name (those that ran)."""
    named = (
        ("lyapunov", result.lyapunov),
        ("jacobian_spectrum", result.jacobian_spectrum),
        ("fixed_points", result.fixed_points),
        ("clv", result.clv),
    )
    return [(name, res) for name, res in named if res is not None]


def _badge(res: Any) -> str:
    """A section's badge: its status, or ``unchecked`` for a success without self-checks."""
    st = _status(res)
    return "unchecked" if st == "success" and not (getattr(res, "checks", ()) or ()) else st


def _status(res: Any) -> str:
    status = getattr(res, "status", None)
    return "" if status is None else str(getattr(status, "value", status))


def check_table_rows(name: str, res: Any) -> list[tuple[str, str, str, str, str]]:
    """Rows ``(analysis, check, outcome, value vs tolerance, detail)`` of a result's checks; a
    result without checks gives one row with its status and message."""
    label = name.replace("_", " ")
    checks = list(getattr(res, "checks", ()) or ())
    if not checks:
        st = _status(res) or "-"
        outcome = "ran" if st == "success" else f"FAILED ({st})"
        return [(label, "-", outcome, "-", str(getattr(res, "message", "")))]
    rows = []
    for c in checks:
        outcome = "passed" if c.passed else f"FAILED ({c.status.value})"
        if c.value is not None and c.tolerance is not None:
            num = f"{c.value:.3g} vs {c.tolerance:.3g}"
        elif c.value is not None:
            num = f"{c.value:.3g}"
        else:
            num = "-"
        rows.append((label, c.name.replace("_", " "), outcome, num, c.detail))
    return rows


def command_line() -> str:
    """The current process's command line, for provenance."""
    return " ".join([Path(sys.argv[0]).name, *sys.argv[1:]])


def lyapunov_rows(res: Any) -> list[tuple[str, str]]:
    """Summary rows of a :class:`~rnndyn.LyapunovResult` (formatting only)."""
    u = res.units
    lam = res.exponents.tolist()
    se = res.stderr.tolist()
    run = (
        "run",
        f"{res.n_trajectories} traj × {res.n_steps} steps (+{res.n_transient}), QR every "
        f"{res.qr_every}, stderr from {res.stderr_method.replace('_', ' ')}",
    )
    if not all(math.isfinite(v) for v in lam):
        # a diverged run: before, 'nan' rows, '0 of 8' positive exponents and a Kaplan-Yorke
        # dimension 'unknown: the sum ... stays >= 0', none of which was measured
        why = "the run diverged" if res.regime == "diverged" else "non-finite exponents"
        return [
            ("lambda_max", f"not available ({why})"),
            ("regime", res.regime),
            (f"spectrum ({res.k} exponents; state size {res.state_size})", f"not available ({why})"),
            run,
        ]
    rows = [
        ("lambda_max", f"{fmt(res.lambda_max, float(se[0]))} {u}"),
        ("regime", res.regime),
    ]
    head = ", ".join(fmt(v) for v in lam[:4]) + (" …" if len(lam) > 4 else "")
    rows.append((f"spectrum ({res.k} exponents; state size {res.state_size})", head))
    if len(lam) > 4:
        rows.append(("smallest exponent", f"{fmt(lam[-1], se[-1])} {u}"))
    rows.append(("positive exponents", f"{sum(v > res.near_zero_tolerance for v in lam)} of {res.k}"))
    kyd = res.kaplan_yorke_dimension
    rows.append(
        (
            "Kaplan–Yorke dimension",
            fmt(kyd)
            if math.isfinite(kyd)
            else f"unknown: the sum of the {res.k} exponent(s) computed stays >= 0; compute more (k)",
        )
    )
    rows.append(("entropy rate (sum of positive)", f"{fmt(res.entropy_rate)} {u}"))
    rows.append(("slow modes |lambda| <= tol", f"{res.n_near_zero} (tol {res.near_zero_tolerance:.2g})"))
    t_unit = "time" if res.dt is not None else "steps"
    t_pred = res.predictability_time
    rows.append(
        (
            "predictability time ln2/lambda_max",
            f"{fmt(t_pred)} {t_unit}"
            if math.isfinite(t_pred)
            else "unbounded (lambda_max <= 0: perturbations do not grow)"
            if t_pred == math.inf
            else "not available (no lambda_max)",
        )
    )
    if res.sum_check is not None:
        sc = res.sum_check
        rows.append(("sum rule: sum vs <ln|det J|>", f"{fmt(sc['sum'])} vs {fmt(sc['expected'])}"))
    rows.append(run)
    return rows


__all__ = [
    "CITATIONS",
    "Section",
    "build_analysis_report",
    "census_status_clause",
    "check_table_rows",
    "citations",
    "command_line",
    "fixed_point_census",
    "fixed_point_origins",
    "fmt",
    "status_line",
    "write_report",
]


def clv_rows(res: Any) -> list[tuple[str, str]]:
    """Summary rows of a :class:`~rnndyn.CLVResult` (formatting only)."""
    lam = res.clv_exponents.tolist()
    head = ", ".join(fmt(v) for v in lam[:4]) + (" …" if len(lam) > 4 else "")
    ipr = res.ipr_clv.tolist()
    return [
        (f"CLV growth rates ({res.k} vectors)", head),
        ("unstable / neutral / stable", f"{res.n_unstable} / {res.n_neutral} / {res.n_stable}"),
        ("min angle unstable-stable [rad]", fmt(res.min_angle_overall)),
        (
            "localisation: IPR of CLV 1, mean over CLVs",
            f"{fmt(ipr[0])}, {fmt(sum(ipr) / len(ipr))} (1/n = {fmt(1.0 / res.tangent_size)}: spread over all units)",
        ),
        ("forward convergence (Gram-Schmidt subspaces, sin)", fmt(res.forward_convergence)),
        ("backward convergence (sin of angle)", fmt(res.backward_convergence)),
        *status_rows(res),
    ]

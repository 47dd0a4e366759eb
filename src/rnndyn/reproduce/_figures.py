"""Figures and the HTML gallery of `rnndyn reproduce` (no numerics here)."""

from __future__ import annotations

import html
import math
from pathlib import Path
from typing import Any

from rnndyn.reproduce._format import VERDICTS, _fmt

# ClaimResult / Comparison (rnndyn.reproduce._core) are only read here, never imported: _core
# imports this module to draw, so the figures stay a leaf below it.
ClaimResult = Comparison = Any

COLOURS = {"agrees": "#1a7f37", "partly": "#b08800", "disagrees": "#cf222e", "no paper value": "#57606a"}
PAPER_COLOUR = "#d1242f"
OURS_COLOUR = "#0b3d91"


#: Legend text of the shaded band around an "equal" paper value (what the band means).
TOLERANCE_LABEL = "agreement band: paper ± max(2σ, rel·|paper|, abs)"
#: Legend text of the faint unit circle drawn in eigenvalue panels.
UNIT_CIRCLE_LABEL = "unit circle |λ| = 1"


def equal_tolerance(c: Comparison) -> float:
    """Half-width of the "agrees" band of an ``equal`` comparison: max(2 sigma, rel |paper|, abs),
    sigma = sqrt(err_ours^2 + err_paper^2) (the rule of ``rnndyn.reproduce._core.compare``)."""
    p = c.paper
    return max(2 * math.hypot(c.error, p.error), p.rel * abs(p.value), p.abs)


def _row_title(c: Comparison, width: int = 62) -> str:
    """``"AGREES — quantity"`` wrapped (a long quantity was cut off at the figure's edge, and
    the verdict with it); the difference and tolerance follow for ``equal`` comparisons."""
    import textwrap

    extra = ""
    if c.paper.given and c.paper.kind == "equal" and math.isfinite(c.ours):
        extra = f" (|ours − paper| = {_fmt(abs(c.ours - c.paper.value))}, band ± {_fmt(equal_tolerance(c))})"
    return "\n".join(textwrap.wrap(f"{c.verdict.upper()} — {c.quantity}{extra}", width))


def _comparison_row(ax: Any, c: Comparison) -> None:
    from matplotlib.ticker import MaxNLocator, ScalarFormatter

    p = c.paper
    xs = [c.ours - 2 * c.error, c.ours + 2 * c.error]
    if p.given:
        if p.kind == "range":
            ax.axvspan(p.low, p.high, color=PAPER_COLOUR, alpha=0.2, label="paper interval")
            xs += [p.low, p.high]
        elif p.kind == "equal":
            ax.errorbar(
                [p.value],
                [1],
                xerr=[[2 * p.error], [2 * p.error]] if p.error else None,
                fmt="s",
                color=PAPER_COLOUR,
                ms=8,
                capsize=4,
                label="paper value (±2 err where given)",
            )
            tol = equal_tolerance(c)
            ax.axvspan(p.value - tol, p.value + tol, color=PAPER_COLOUR, alpha=0.08, label=TOLERANCE_LABEL)
            xs += [p.value - tol, p.value + tol]
        else:
            sign = ">" if p.kind == "greater" else "<"
            ax.axvline(p.value, color=PAPER_COLOUR, lw=2, label="paper bound")
            xs += [p.value]
            ours_side = [x for x in xs if math.isfinite(x)]
            far = max(ours_side + [p.value]) if sign == ">" else min(ours_side + [p.value])
            span = abs(far - p.value) or max(abs(p.value), 1.0)
            lo, hi = (p.value, p.value + 2 * span) if sign == ">" else (p.value - 2 * span, p.value)
            ax.axvspan(lo, hi, color=PAPER_COLOUR, alpha=0.06, hatch="//", ec=PAPER_COLOUR, lw=0,
                       label=f"paper's claim: {sign} bound")  # fmt: skip
            ax.text(p.value, 1, f" {sign} {_fmt(p.value)}", color=PAPER_COLOUR, fontsize=7,
                    ha="left" if sign == ">" else "right", va="center")  # fmt: skip
    if math.isfinite(c.ours):
        ax.errorbar(
            [c.ours],
            [0],
            xerr=[[2 * c.error], [2 * c.error]] if c.error else None,
            fmt="o",
            color=OURS_COLOUR,
            ms=7,
            capsize=4,
            label="ours (±2 standard errors)",
        )
    else:
        ax.text(0.5, 0.15, f"ours: {c.ours} (computation failed)", transform=ax.transAxes, ha="center",
                fontsize=7, color=OURS_COLOUR)  # fmt: skip
    xs = [x for x in xs if x is not None and math.isfinite(x)]
    if xs:
        lo, hi = min(xs), max(xs)
        # one point (ours = the bound, no error): a unit-wide window around it, not ±2e-4 of 0
        pad = 0.15 * (hi - lo) if hi > lo else (0.2 * abs(hi) if hi != 0 else 1.0)
        ax.set_xlim(lo - pad, hi + pad)
    ax.set_ylim(-0.8, 1.8)
    ax.set_yticks([0, 1])
    ax.set_yticklabels(["ours", "paper"])
    # <= ~7 tick labels at 1-2-2.5-5 steps (they overlapped at 7 pt)
    ax.xaxis.set_major_locator(MaxNLocator(nbins=6, steps=[1, 2, 2.5, 5, 10]))
    ax.xaxis.set_major_formatter(ScalarFormatter(useOffset=False))  # no '1e-5 + 0.6666' offset labels
    ax.set_title(_row_title(c), fontsize=7.5, color=COLOURS.get(c.verdict, "black"), loc="left")
    ax.tick_params(labelsize=7)
    ax.grid(axis="x", alpha=0.3)


def claim_figure(res: ClaimResult, path: Path) -> Path:
    """The claim's own panel (where it has one) beside paper-vs-ours rows, one per comparison,
    saved to ``path`` (see :func:`build_claim_figure`)."""
    fig = build_claim_figure(res)
    fig.savefig(path, dpi=90)
    return path


def build_claim_figure(res: ClaimResult) -> Any:
    """The ``matplotlib.figure.Figure`` of :func:`claim_figure`: the overall verdict with its
    tally in the title; per comparison, its verdict, the paper value or bound (red square / line,
    the claimed side hatched), the band within which ours agrees (shaded, in the legend), and ours
    with ±2 standard errors (blue)."""
    from matplotlib.ticker import LogFormatter

    from rnndyn.plotting import _plt, log_ticks

    plt = _plt()  # Figure objects: the user's matplotlib backend is left alone

    comps = list(res.comparisons)
    n = max(len(comps), 1)
    has_panel = res.claim.plot is not None and bool(res.data)
    fig = plt.figure(figsize=(11 if has_panel else 6.5, max(4.3 if has_panel else 3.4, 1.35 * n + 1.3)))
    gs = fig.add_gridspec(n, 2 if has_panel else 1, width_ratios=[1.2, 1] if has_panel else None, hspace=1.3)
    if has_panel:
        ax0 = fig.add_subplot(gs[:, 0])
        res.claim.plot(ax0, res.data)
        for axis, target in (("x", ax0.xaxis), ("y", ax0.yaxis)):
            # a log axis over < 2 decades: 2, 5, 10, 20 rather than 2×10^0 labels (unless the
            # claim's panel set its own tick labels)
            if target.get_scale() == "log" and isinstance(target.get_major_formatter(), LogFormatter):
                log_ticks(ax0, axis)
    col = 1 if has_panel else 0
    for i, c in enumerate(comps):
        _comparison_row(fig.add_subplot(gs[i, col]), c)
    if comps:
        handles, labels = [], []
        for ax in fig.axes[1 if has_panel else 0 :]:
            for h, lab in zip(*ax.get_legend_handles_labels(), strict=True):
                if lab not in labels:
                    handles.append(h)
                    labels.append(lab)
        fig.legend(handles, labels, loc="lower right", fontsize=7, ncol=2)
    tally = {v: sum(c.verdict == v for c in comps) for v in VERDICTS}
    counts = ", ".join(f"{k}: {m}" for k, m in tally.items() if m)
    fig.suptitle(
        f"{res.id} [{res.mode}] — verdict: {res.state.upper()}"
        + (f" ({counts}; {len(comps)} quantities)" if comps else ""),
        fontsize=10,
        color=COLOURS.get(res.verdict or "", "black"),
    )
    fig.subplots_adjust(
        left=0.08, right=0.97, top=1 - 0.75 / fig.get_figheight(), bottom=1.0 / fig.get_figheight()
    )
    return fig


CSS = """
body{font-family:system-ui,sans-serif;margin:24px;background:#f6f8fa;color:#1f2328}
h1{margin-bottom:4px} .sub{color:#57606a;margin-top:0}
table.sum{border-collapse:collapse;margin:12px 0 24px} table.sum td,table.sum th{padding:3px 10px;border-bottom:1px solid #d0d7de;font-size:14px}
.grid{display:grid;grid-template-columns:repeat(auto-fill,minmax(520px,1fr));gap:16px}
.card{background:#fff;border:1px solid #d0d7de;border-radius:8px;padding:12px 14px}
.card h2{font-size:16px;margin:0 0 4px} .paper{color:#57606a;font-size:12px;margin:0 0 6px}
.badge{display:inline-block;color:#fff;border-radius:12px;padding:1px 10px;font-size:12px;font-weight:600}
.card img{width:100%;border:1px solid #eaeef2;margin-top:6px}
.card table{font-size:12px;border-collapse:collapse;width:100%} .card td,.card th{border-bottom:1px solid #eaeef2;padding:2px 4px;text-align:left}
code{font-size:12px;background:#eaeef2;padding:1px 4px;border-radius:4px}
"""


def _badge(verdict: str | None, status: str) -> str:
    label = verdict or ("needs code" if status.startswith("needs") else status)  # status: ClaimResult.state
    colour = COLOURS.get(verdict or "", "#6e7781")
    return f'<span class="badge" style="background:{colour}" title="{html.escape(status)}">{html.escape(label)}</span>'


def write_gallery(results: list[ClaimResult], outdir: Path, *, mode: str, seconds: float) -> Path:
    """``index.html``: a verdict count, a table of every claim, then one card per claim (figure,
    paper vs ours, the command to re-run it). Figures are linked as ``<id>/figure.png``."""
    from rnndyn._version import __version__

    counts = {v: sum(r.verdict == v for r in results) for v in VERDICTS}
    other = sum(r.verdict is None for r in results)
    e = html.escape
    parts = [
        "<!doctype html><html><head><meta charset='utf-8'><title>rnndyn reproductions</title>",
        f"<style>{CSS}</style></head><body>",
        "<h1>rnndyn reproduce: the papers' claims, re-run</h1>",
        f"<p class='sub'>mode <b>{e(mode)}</b> · {len(results)} claims · {seconds:.0f} s · rnndyn {e(__version__)} · "
        + " · ".join(f"{_badge(v, v)} {counts[v]}" for v in VERDICTS)
        + (f" · {other} not run / failed" if other else "")
        + "</p>",
        "<table class='sum'><tr><th>id</th><th>paper</th><th>claim</th><th>verdict</th><th>s</th></tr>",
    ]
    for r in results:
        c = r.claim
        parts.append(
            f"<tr><td><a href='#{e(r.id)}'>{e(r.id)}</a></td><td>{e(c.paper.authors.split(',')[0])} {c.paper.year}, "
            f"{e(c.where)}</td><td>{e(c.claim)}</td><td>{_badge(r.verdict, r.state)}</td><td>{r.seconds:.0f}</td></tr>"
        )
    parts.append("</table><div class='grid'>")
    for r in results:
        c = r.claim
        rows = "".join(
            f"<tr><td>{e(x.quantity)}</td><td>{e(x.paper.text())}</td><td>{e(_fmt(x.ours))} ± {e(_fmt(x.error))}</td>"
            f"<td>{_badge(x.verdict, x.verdict)}</td></tr>"
            for x in r.comparisons
        )
        fig = (outdir / r.id / "figure.png").exists()
        parts.append(
            f"<div class='card' id='{e(r.id)}'><h2>{e(r.id)} {_badge(r.verdict, r.state)}</h2>"
            f"<p class='paper'>{e(c.paper.cite())} — {e(c.where)}</p><p>{e(c.claim)}</p>"
            + (
                f"<table><tr><th>quantity</th><th>paper</th><th>ours</th><th>verdict</th></tr>{rows}</table>"
                if rows
                else ""
            )
            + (f"<p>{e(r.message)}</p>" if r.message else "")
            + (f"<img src='{e(r.id)}/figure.png' alt='figure for {e(r.id)}'>" if fig else "")
            + f"<p><code>rnndyn reproduce {e(r.id)} --{e(r.mode)} --out DIR</code> · "
            f"<a href='{e(r.id)}/claim.json'>claim.json</a> · <a href='{e(r.id)}/summary.txt'>summary</a></p></div>"
        )
    parts.append("</div></body></html>")
    path = outdir / "index.html"
    path.write_text("\n".join(parts))
    return path

"""Self-contained HTML reports (tables + embedded figures + provenance) and citations.

A report is a list of :class:`Section`; :func:`write_report` renders them into one HTML file
with the figures embedded (base64 PNG), so it can be mailed or archived as a single file.
:func:`citations` lists the papers behind the methods a run actually used.
"""

from __future__ import annotations

import base64
import datetime as _dt
import html
import platform
import sys
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

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
    """One block of a report: a heading, optional prose, a two-column table and figures."""

    title: str
    text: str = ""
    rows: Sequence[tuple[str, str]] = ()
    figures: Sequence[Path] = ()
    cite: Sequence[str] = field(default_factory=tuple)


_CSS = """
body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;max-width:980px;margin:2em auto;
color:#222;line-height:1.45;padding:0 1em}
h1{font-size:1.6em;border-bottom:2px solid #446;padding-bottom:.2em}
h2{font-size:1.2em;margin-top:1.6em;color:#334}
table{border-collapse:collapse;margin:.6em 0}td{padding:.25em .9em;border-bottom:1px solid #ddd}
td:first-child{color:#555}img{max-width:100%;border:1px solid #eee;margin:.4em 0}
.meta{color:#777;font-size:.85em}ol{font-size:.9em}
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
) -> Path:
    """Render ``sections`` into one self-contained HTML file at ``path``.

    Args:
        path: output file (``.html``); parent folders are created.
        title: page title.
        sections: the blocks, in order. Missing figure files raise ``FileNotFoundError``.
        command: the command line that produced the results (shown for provenance).

    Returns:
        The path written.
    """
    from rnndyn import __version__

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
    cite_keys: list[str] = []
    for sec in sections:
        parts.append(f"<h2>{html.escape(sec.title)}</h2>")
        if sec.text:
            parts.append(f"<p>{html.escape(sec.text)}</p>")
        if sec.rows:
            body = "".join(
                f"<tr><td>{html.escape(str(k))}</td><td>{html.escape(str(v))}</td></tr>" for k, v in sec.rows
            )
            parts.append(f"<table>{body}</table>")
        for fig in sec.figures:
            if not Path(fig).exists():
                raise FileNotFoundError(f"figure {fig} of section {sec.title!r} does not exist")
            parts.append(_img(Path(fig)))
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


def command_line() -> str:
    """The current process's command line, for provenance."""
    return " ".join([Path(sys.argv[0]).name, *sys.argv[1:]])


__all__ = ["CITATIONS", "Section", "citations", "command_line", "write_report"]

"""Reproductions: every headline claim of the five papers behind rnndyn, one command each.

Each :class:`Claim` in :data:`REGISTRY` names the paper (authors, year, arXiv id, figure /
theorem / equation), states the claim in one sentence, gives the paper's number(s) where the
paper gives them, quick and full settings with an estimated cost, and a function that computes
ours from the public API. :func:`run_claim` returns a :class:`ClaimResult` with a verdict
*computed* from ours ± error against the paper (:func:`compare`, :func:`combine`): ``agrees``,
``partly``, ``disagrees`` or ``no paper value``. See docs/reproductions.md.

>>> import rnndyn.reproduce as rp
>>> claim = rp.get_claim("cks20-alpha-r-star")
>>> claim.paper.arxiv
'2002.00025'
>>> rp.run_claim(claim, mode="quick").verdict
'agrees'
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from pathlib import Path

from rnndyn.reproduce._core import (
    CLAIM_MODULES,
    COMBINE_RULE,
    CRITERIA,
    MODES,
    REGISTRY,
    Claim,
    ClaimResult,
    Comparison,
    Measurement,
    Paper,
    PaperValue,
    _load_all,
    check_out_folder,
    check_seed,
    combine,
    compare,
    get_claim,
    register,
    run_claim,
)
from rnndyn.reproduce._format import VERDICTS


def claims() -> list[Claim]:
    """Every registered claim: papers in the order of docs/reproductions.md (``CLAIM_MODULES``),
    each paper's claims in their order of registration, whatever order the modules were imported
    in (a module imported early, e.g. by a doctest run, must not reorder ``--list`` or the gallery)."""
    _load_all()
    rank = {key: i for i, key in enumerate(CLAIM_MODULES)}
    return sorted(REGISTRY.values(), key=lambda c: rank.get(c.paper.key, len(rank)))


def run_all(
    *,
    mode: str = "quick",
    out: str | Path,
    seed: int = 0,
    scheduler: str | None = None,
    ids: Sequence[str] | None = None,
    progress: Callable[[str, int, int], None] | None = None,
) -> tuple[list[ClaimResult], Path]:
    """Run every claim (or ``ids``) into ``out/<id>/`` and write the gallery ``out/index.html``.

    Returns:
        The results and the path of ``index.html``.

    Raises:
        ValueError / TypeError: unknown mode or claim id, a non-int or negative seed, ``ids`` that
        is a single string, empty or repeats an id (all checked before anything runs or is written).
    """
    from rnndyn.reproduce._figures import write_gallery

    if mode not in MODES:
        raise ValueError(f"`mode` must be one of {MODES}; got {mode!r}")
    seed = check_seed(seed)
    if ids is not None:
        if isinstance(ids, str):
            raise TypeError(
                f"`ids` must be a list of claim ids or None; got the string {ids!r} (pass [{ids!r}])"
            )
        ids = list(ids)
        if not ids:
            raise ValueError(
                "`ids` must name at least one claim, or be None for all of them; got an empty list"
            )
        repeated = sorted({i for i in ids if ids.count(i) > 1})
        if repeated:
            raise ValueError(f"`ids` must name each claim once; got {repeated} repeated")
    chosen = [get_claim(i) for i in ids] if ids is not None else claims()
    out = check_out_folder(out)
    out.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    results = []
    for k, c in enumerate(chosen):
        if progress is not None:
            progress(c.id, k, len(chosen))
        results.append(
            run_claim(c, mode=mode, out=out / c.id, seed=seed, scheduler=scheduler if c.grid else None)
        )
    if progress is not None:
        progress("", len(chosen), len(chosen))
    index = write_gallery(results, out, mode=mode, seconds=time.perf_counter() - t0)
    return results, index


__all__ = [
    "COMBINE_RULE",
    "CRITERIA",
    "MODES",
    "REGISTRY",
    "VERDICTS",
    "Claim",
    "ClaimResult",
    "Comparison",
    "Measurement",
    "Paper",
    "PaperValue",
    "claims",
    "combine",
    "compare",
    "get_claim",
    "register",
    "run_all",
    "run_claim",
]

"""The registry of claims, the verdict rule, and writing one claim's outputs.

A :class:`Claim` is one headline statement of one paper, with the paper's number(s) where the
paper gives them, quick and full settings, an estimated cost, and a function that computes
ours from the public API. :func:`run_claim` runs it and returns a :class:`ClaimResult` whose
verdict is *computed* from the comparisons (:func:`compare`, :func:`combine`), never written by
hand.
"""

from __future__ import annotations

import json
import math
import os
import platform
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rnndyn._results import Result, Status
from rnndyn.reproduce._format import _fmt

KINDS = ("equal", "greater", "less", "range")
MODES = ("quick", "full")

#: z-score used for "within the error": |ours - paper| <= Z * sigma (about 95 %).
Z = 2.0
#: "partly" band: within PARTLY times the agreement tolerance.
PARTLY = 3.0

CRITERIA = {
    "equal": (
        "agrees if |ours - paper| <= max(2 sigma, rel |paper|, abs), with sigma = sqrt(err_ours^2 + "
        "err_paper^2); partly if within 3x that; otherwise disagrees"
    ),
    "greater": (
        "the paper claims ours > bound: agrees if ours - 2 err_ours > bound; partly if ours > bound "
        "or ours + 2 err_ours > bound; otherwise disagrees"
    ),
    "less": (
        "the paper claims ours < bound: agrees if ours + 2 err_ours < bound; partly if ours < bound "
        "or ours - 2 err_ours < bound; otherwise disagrees"
    ),
    "range": (
        "the paper gives an interval [low, high]: agrees if ours lies in it; partly if within 2 "
        "err_ours (or 3x the interval's half-width) of it; otherwise disagrees"
    ),
}
COMBINE_RULE = (
    "overall: 'no paper value' if no comparison has a paper value; 'agrees' if every comparison "
    "with a paper value agrees; 'disagrees' if every one disagrees; otherwise 'partly'"
)


@dataclass(frozen=True)
class Paper:
    """A paper: authors, year, title, venue, arXiv id, and the short key used in ids."""

    key: str
    authors: str
    year: int
    title: str
    venue: str
    arxiv: str

    def cite(self) -> str:
        return f'{self.authors} ({self.year}), "{self.title}", {self.venue}, arXiv:{self.arxiv}'

    def to_dict(self) -> dict[str, Any]:
        return {
            "key": self.key,
            "authors": self.authors,
            "year": self.year,
            "title": self.title,
            "venue": self.venue,
            "arxiv": self.arxiv,
        }


@dataclass(frozen=True)
class PaperValue:
    """A number the paper gives (or the bound / interval its statement amounts to).

    ``value`` for ``kind="equal"`` (with ``error``: the paper's own SEM / stated precision, 0 if
    none); ``value`` is the bound for ``"greater"`` / ``"less"``; ``low``/``high`` for
    ``"range"``. ``source`` says exactly where the number comes from (figure, table, equation,
    or "statement read as a bound"). ``value=None`` and ``low=high=None``: the paper gives none.
    """

    kind: str
    value: float | None = None
    error: float = 0.0
    low: float | None = None
    high: float | None = None
    rel: float = 0.0
    abs: float = 0.0
    source: str = ""

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"`kind` must be one of {KINDS}; got {self.kind!r}")

    @property
    def given(self) -> bool:
        if self.kind == "range":
            return self.low is not None and self.high is not None
        return self.value is not None

    def text(self) -> str:
        if not self.given:
            return "none"
        if self.kind == "equal":
            return f"{_fmt(self.value)}" + (f" ± {_fmt(self.error)}" if self.error else "")
        if self.kind == "greater":
            return f"> {_fmt(self.value)}"
        if self.kind == "less":
            return f"< {_fmt(self.value)}"
        return f"[{_fmt(self.low)}, {_fmt(self.high)}]"


@dataclass(frozen=True)
class Comparison:
    """One quantity: the paper's value, ours ± error, and the verdict :func:`compare` gives."""

    quantity: str
    paper: PaperValue
    ours: float
    error: float
    verdict: str
    criterion: str
    note: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {
            "quantity": self.quantity,
            "paper": {
                "kind": self.paper.kind,
                "value": _num(self.paper.value),
                "error": _num(self.paper.error),
                "low": _num(self.paper.low),
                "high": _num(self.paper.high),
                "rel": self.paper.rel,
                "abs": self.paper.abs,
                "source": self.paper.source,
                "text": self.paper.text(),
            },
            "ours": _num(self.ours),
            "error": _num(self.error),
            "verdict": self.verdict,
            "criterion": self.criterion,
            "note": self.note,
        }


def compare(
    quantity: str, paper: PaperValue, ours: float, error: float = 0.0, *, note: str = ""
) -> Comparison:
    """Verdict for one quantity, by the rule in :data:`CRITERIA` for ``paper.kind``.

    A non-finite ``ours`` (a failed computation) never agrees: it is ``disagrees`` when the paper
    gives a value.

    Args:
        quantity: what is compared (with units).
        paper: the paper's value / bound / interval.
        ours: our value; error: its standard error (>= 0).

    Returns:
        :class:`Comparison`.

    Raises:
        ValueError: a negative or non-finite ``error``.

    Example:
        >>> p = PaperValue("equal", 2.0, rel=0.01, source="eq. 1")
        >>> compare("x", p, 2.001, 0.0).verdict, compare("x", p, 2.5, 0.01).verdict
        ('agrees', 'disagrees')
    """
    ours = float(ours)
    error = float(error)
    if not math.isfinite(error) or error < 0:
        raise ValueError(f"`error` must be a finite number >= 0; got {error}")
    crit = CRITERIA[paper.kind]
    if not paper.given:
        return Comparison(quantity, paper, ours, error, "no paper value", "the paper gives no number", note)
    if not math.isfinite(ours):
        return Comparison(quantity, paper, ours, error, "disagrees", crit + " (ours is not finite)", note)
    if paper.kind == "equal":
        assert paper.value is not None
        sigma = math.hypot(error, paper.error)
        tol = max(Z * sigma, paper.rel * abs(paper.value), paper.abs)
        d = abs(ours - paper.value)
        verdict = "agrees" if d <= tol else ("partly" if d <= PARTLY * tol else "disagrees")
        crit += f" (here: |diff| = {_fmt(d)}, tolerance {_fmt(tol)})"
    elif paper.kind == "greater":
        assert paper.value is not None
        b = paper.value
        verdict = "agrees" if ours - Z * error > b else ("partly" if ours + Z * error > b else "disagrees")
    elif paper.kind == "less":
        assert paper.value is not None
        b = paper.value
        verdict = "agrees" if ours + Z * error < b else ("partly" if ours - Z * error < b else "disagrees")
    else:
        assert paper.low is not None and paper.high is not None
        lo, hi = paper.low, paper.high
        if lo <= ours <= hi:
            verdict = "agrees"
        else:
            gap = lo - ours if ours < lo else ours - hi
            slack = max(Z * error, (PARTLY - 1.0) * 0.5 * (hi - lo))
            verdict = "partly" if gap <= slack else "disagrees"
    return Comparison(quantity, paper, ours, error, verdict, crit, note)


def combine(comparisons: list[Comparison] | tuple[Comparison, ...]) -> str:
    """Overall verdict of a claim (:data:`COMBINE_RULE`).

    Example:
        >>> p = PaperValue("greater", 0.0, source="s")
        >>> combine([compare("a", p, 1.0), compare("b", p, -1.0)])
        'partly'
    """
    vs = [c.verdict for c in comparisons if c.verdict != "no paper value"]
    if not vs:
        return "no paper value"
    if all(v == "agrees" for v in vs):
        return "agrees"
    if all(v == "disagrees" for v in vs):
        return "disagrees"
    return "partly"


@dataclass(frozen=True)
class Measurement:
    """What a claim's function returns: the comparisons, plot data, and the seeds used."""

    comparisons: tuple[Comparison, ...]
    data: dict[str, Any] = field(default_factory=dict)
    seeds: tuple[int, ...] = ()
    notes: str = ""


def check_seed(seed: Any) -> int:
    """The base seed of a claim: an int >= 0 (every draw derives from it through ``SeedSequence``)."""
    import numbers

    if isinstance(seed, bool) or not isinstance(seed, numbers.Integral):  # np.int64 from a loop: fine
        raise TypeError(f"`seed` must be an int; got {type(seed).__name__}")
    if seed < 0:
        raise ValueError(f"`seed` must be an int >= 0; got {seed}")
    return int(seed)


#: compute(settings, seed=, workdir=, scheduler=) -> Measurement
ComputeFn = Callable[..., Measurement]
#: plot(ax, data) draws the claim's own panel
PlotFn = Callable[[Any, dict[str, Any]], None]


@dataclass(frozen=True)
class Claim:
    """One registry entry.

    Attributes:
        id: stable id ``<paper key>-<topic>``. paper: :class:`Paper`. where: figure / table /
        equation / theorem. claim: the claim in one sentence. paper_values: what the paper gives
        (text, for the list). settings: ``{"quick": {...}, "full": {...}}``. cost: estimated
        CPU time of each mode on one core. compute: the function computing ours (``None`` while
        the entry needs code that does not exist yet; ``needs`` says what). plot: optional panel.
        grid: the full mode runs through :func:`rnndyn.sweep`.
    """

    id: str
    paper: Paper
    where: str
    claim: str
    paper_values: str
    settings: Mapping[str, Mapping[str, Any]]
    cost: Mapping[str, str]
    compute: ComputeFn | None
    plot: PlotFn | None = None
    needs: str = ""
    grid: bool = False

    @property
    def status(self) -> str:
        return "ready" if self.compute is not None else f"needs {self.needs}"


@dataclass(frozen=True, kw_only=True)
class ClaimResult(Result):
    """The outcome of running a claim (an :class:`rnndyn.Result`).

    ``status`` is the computation's: ``success``, ``failed`` (the function raised; ``message``
    holds the error) or ``warning`` for an entry that was not run because it ``needs`` code
    rnndyn does not have yet. ``verdict`` is the comparison with the paper, computed by
    :func:`combine` (``None`` when nothing was computed). Comparisons are not self-checks (a
    disagreement with a paper is a finding, not a failure), so ``checks`` stays empty.
    """

    id: str
    mode: str
    verdict: str | None
    comparisons: tuple[Comparison, ...]
    settings: dict[str, Any]
    seeds: tuple[int, ...]
    seconds: float
    version: str
    claim: Claim = field(repr=False)
    data: dict[str, Any] = field(default_factory=dict, repr=False)
    notes: str = ""
    needs: str = ""

    _repr_fields = ("id", "mode", "verdict", "seconds")

    @property
    def state(self) -> str:
        """The verdict, else ``needs ...`` or the status (for tables and badges)."""
        return self.verdict or (f"needs {self.needs}" if self.needs else str(self.status))

    def to_dict(self) -> dict[str, Any]:
        c = self.claim
        return {
            "id": self.id,
            "paper": {**c.paper.to_dict(), "where": c.where, "citation": c.paper.cite()},
            "claim": c.claim,
            "paper_values": c.paper_values,
            "mode": self.mode,
            "verdict": self.verdict,
            "verdict_rule": COMBINE_RULE,
            "comparisons": [x.to_dict() for x in self.comparisons],
            "settings": _jsonable(self.settings),
            "seeds": list(self.seeds),
            "seconds": round(self.seconds, 2),
            "rnndyn_version": self.version,
            "python": platform.python_version(),
            "status": str(self.status),
            "message": self.message,
            "needs": self.needs,
            "notes": self.notes,
        }

    def summary(self) -> str:
        """Status, verdict and one line per compared quantity (the paper's value against ours)."""
        lines = [super().summary()]
        for x in self.comparisons:
            lines.append(
                f"  {x.quantity}: paper {x.paper.text()}; ours {_fmt(x.ours)} ± {_fmt(x.error)} -> {x.verdict}"
            )
        return "\n".join(lines)

    def text(self) -> str:
        """A short plain-text account (what ``summary.txt`` holds)."""
        c = self.claim
        lines = [
            f"{self.id} [{self.mode}] -- verdict: {self.state}",
            f"Paper: {c.paper.cite()}, {c.where}.",
            f"Claim: {c.claim}",
            "",
        ]
        for x in self.comparisons:
            lines.append(
                f"* {x.quantity}: paper {x.paper.text()} ({x.paper.source}); ours {_fmt(x.ours)} ± "
                f"{_fmt(x.error)} -> {x.verdict}"
            )
            if x.note:
                lines.append(f"  {x.note}")
        if self.notes:
            lines += ["", self.notes]
        lines += [
            "",
            f"Settings ({self.mode}): {json.dumps(_jsonable(self.settings))}",
            f"Seeds: {list(self.seeds)}; {self.seconds:.1f} s; rnndyn {self.version}.",
        ]
        if self.message:
            lines.append(self.message)
        return "\n".join(lines) + "\n"


REGISTRY: dict[str, Claim] = {}
#: the modules that register claims, in the order of docs/reproductions.md
CLAIM_MODULES = ("cpss22", "cks20", "kcs22", "mmd22", "vpsl22")


def _load_all() -> None:
    """Import every claim module (each registers its claims on import)."""
    import importlib

    for name in CLAIM_MODULES:
        importlib.import_module(f"rnndyn.reproduce.{name}")


def register(claim: Claim) -> Claim:
    """Add a claim to :data:`REGISTRY` (ids are unique)."""
    if claim.id in REGISTRY:
        raise ValueError(f"claim id {claim.id!r} is registered twice")
    if set(claim.settings) != set(MODES) or set(claim.cost) != set(MODES):
        raise ValueError(f"claim {claim.id!r} must give settings and cost for {MODES}")
    REGISTRY[claim.id] = claim
    return claim


def get_claim(claim_id: str) -> Claim:
    """The registered claim with this id.

    Raises:
        ValueError: unknown id (the message lists the known ones).
    """
    _load_all()
    if not isinstance(claim_id, str):
        raise TypeError(f"`claim_id` must be a str; got {type(claim_id).__name__}")
    if claim_id not in REGISTRY:
        raise ValueError(
            f"`claim_id` {claim_id!r} is not registered; known ids: {', '.join(sorted(REGISTRY))}"
        )
    return REGISTRY[claim_id]


def run_claim(
    claim: Claim | str,
    *,
    mode: str = "quick",
    out: str | Path | None = None,
    seed: int = 0,
    scheduler: str | None = None,
    overrides: Mapping[str, Any] | None = None,
) -> ClaimResult:
    """Run one claim and (with ``out``) write ``claim.json``, ``summary.txt`` and ``figure.png``.

    Args:
        claim: a :class:`Claim` or its id.
        mode: ``"quick"`` or ``"full"`` (the claim's settings for that mode).
        out: folder for the outputs (created); ``None`` writes nothing (a sweep store, where the
            claim uses one, then goes to a temporary folder).
        seed: base seed; every random draw of the claim derives from it.
        scheduler: Dask scheduler address for the claims whose full mode is a sweep
            (``None``: a local cluster in full mode, in-process in quick mode); refused for a claim
            that runs no grid (``claim.grid`` false).
        overrides: settings that replace the mode's (e.g. a tiny size in tests).

    Returns:
        :class:`ClaimResult` (``verdict=None``, ``status="warning"`` and ``needs`` set for an entry
        whose code does not exist yet; ``status="failed"`` with the error if the computation raised).

    Raises:
        ValueError / TypeError: unknown id or mode, a non-int or negative seed, a ``scheduler`` for
            a claim that runs no grid.
    """
    import tempfile

    from rnndyn._version import __version__

    if isinstance(claim, str):
        claim = get_claim(claim)
    if not isinstance(claim, Claim):
        raise TypeError(f"`claim` must be a claim id (str) or a Claim; got {type(claim).__name__} {claim!r}")
    if mode not in MODES:
        raise ValueError(f"`mode` must be one of {MODES}; got {mode!r}")
    seed = check_seed(seed)
    if out is not None:
        check_out_folder(out)
    if scheduler is not None and not claim.grid:
        raise ValueError(
            f"`scheduler` applies only to claims that run a grid through rd.sweep; claim {claim.id!r} "
            f"runs in this process; got scheduler={scheduler!r}"
        )
    settings = {**dict(claim.settings[mode]), **dict(overrides or {})}
    unknown = set(overrides or {}) - set(claim.settings[mode])
    if unknown:
        raise ValueError(f"`overrides` has settings {sorted(unknown)} that claim {claim.id!r} does not take")
    outdir = Path(out) if out is not None else None
    if outdir is not None:
        outdir.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    common = {"id": claim.id, "mode": mode, "settings": settings, "version": __version__, "claim": claim}
    if claim.compute is None:
        res = ClaimResult(
            **common, verdict=None, comparisons=(), seeds=(), seconds=0.0, status=Status.WARNING,
            message=f"not run: this entry {claim.status}", needs=claim.needs,
        )  # fmt: skip
    else:
        with tempfile.TemporaryDirectory(prefix="rnndyn-reproduce-") as tmp:
            workdir = outdir if outdir is not None else Path(tmp)
            try:
                m = claim.compute(settings, seed=seed, workdir=workdir, scheduler=scheduler)
                res = ClaimResult(
                    **common, verdict=combine(m.comparisons), comparisons=m.comparisons, seeds=m.seeds,
                    seconds=time.perf_counter() - t0, status=Status.SUCCESS,
                    message=f"{len(m.comparisons)} quantities compared with the paper", data=m.data, notes=m.notes,
                )  # fmt: skip
            except Exception as exc:  # noqa: BLE001 - recorded, never hidden
                res = ClaimResult(
                    **common, verdict=None, comparisons=(), seeds=(seed,), seconds=time.perf_counter() - t0,
                    status=Status.FAILED, message=f"{type(exc).__name__}: {exc}",
                )  # fmt: skip
    if outdir is not None:
        write_outputs(res, outdir)
    return res


def check_out_folder(out: Any, name: str = "out") -> Path:
    """An output folder's path, checked before anything runs: a str or path, not an existing file
    (before: ``FileExistsError`` from ``mkdir`` after the argument checks, naming no argument)."""
    if isinstance(out, bytes) or not isinstance(out, str | os.PathLike) or not os.fspath(out):
        raise TypeError(
            f"`{name}` must be a folder path (str or pathlib.Path); got {type(out).__name__} {out!r}"
        )
    path = Path(out)
    if path.exists() and not path.is_dir():
        raise ValueError(f"`{name}` must be a folder; got {str(path)!r}, an existing file")
    return path


def write_outputs(res: ClaimResult, outdir: Path) -> None:
    """``claim.json``, ``summary.txt`` and (for a run claim) ``figure.png`` in ``outdir``."""
    outdir.mkdir(parents=True, exist_ok=True)
    (outdir / "claim.json").write_text(json.dumps(res.to_dict(), indent=2, allow_nan=False) + "\n")
    (outdir / "summary.txt").write_text(res.text())
    if res.comparisons or res.data:
        from rnndyn.reproduce._figures import claim_figure

        claim_figure(res, outdir / "figure.png")


def _num(x: Any) -> float | None:
    if x is None:
        return None
    x = float(x)
    return x if math.isfinite(x) else None


def _jsonable(obj: Any) -> Any:
    if isinstance(obj, Mapping):
        return {str(k): _jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_jsonable(v) for v in obj]
    if isinstance(obj, float):
        return obj if math.isfinite(obj) else None
    if obj is None or isinstance(obj, (bool, int, str)):
        return obj
    if hasattr(obj, "item"):
        return _jsonable(obj.item())
    return str(obj)

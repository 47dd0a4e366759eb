"""The package, its docs and its outputs cite papers and the project's own docs/theory pages only.

A clone of the repository has no notes outside it, so nothing shipped may point at
``../shared``, at theory notes by bare file name (``gated.md §5.1``) or at the old
``theory/...`` location; and every ``docs/theory/<page>.md §N`` reference must name a page
and a section that exist (docs/theory/README.md).
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
THEORY = ROOT / "docs" / "theory"
NOTE_PAGES = ("gated", "chaos", "dmft-numerics")
TEXT_SUFFIXES = {".py", ".md", ".toml", ".txt", ".html", ".cfg", ".ini", ".rst", ".json", ".yaml", ".yml"}

_PAGES = "|".join(re.escape(p) for p in NOTE_PAGES)
FORBIDDEN = {
    "path outside the repository (../shared)": re.compile(r"\.\./shared"),
    "private notes folder (shared/theory, shared/papers)": re.compile(r"shared/(?:theory|papers)"),
    "absolute path of the build machine (/work/)": re.compile(r"/work/"),
    "old notes location (theory/<page>.md without docs/)": re.compile(
        rf"(?<!docs/)(?<![\w.-])theory/(?:{_PAGES})\.md"
    ),
    "notes page cited by bare file name (use docs/theory/<page>.md)": re.compile(
        rf"(?<![\w/.-])(?:{_PAGES})\.md`?\s*\(?(?:§|\(D-\d|App\.)"
    ),
    "private paper file number (paper/seed 00n)": re.compile(r"\b(?:paper|seed)s? `?00[0-4]\b"),
    "docs/theory path broken over a line and repeated": re.compile(r"docs/theory/\s*\n[\s#]*docs/theory/"),
}

# "docs/theory/gated.md §5.1", "docs/theory/chaos.md` §1.4-1.5", "... §3, §5.2 and §8 #16"
REFERENCE = re.compile(
    r"docs/theory/([\w-]+)\.md`?\s*\(?"
    r"((?:§+\s*\d+(?:\.\d+)*\.?(?:\s*[-–]\s*\d+(?:\.\d+)*)?(?:\s*(?:,|and|/|;)\s*(?=§))?)*)"
)
SECTION_NUMBER = re.compile(r"(\d+(?:\.\d+)*)")
HEADING = re.compile(r"^#{1,6}\s+(\d+(?:\.\d+)*)\.?\s")


def _shipped_files() -> list[Path]:
    files = [ROOT / "README.md", ROOT / "CONTRIBUTING.md"]
    for top in ("src", "docs", "examples"):
        base = ROOT / top
        if not base.is_dir():
            continue
        for path in sorted(base.rglob("*")):
            parts = set(path.relative_to(ROOT).parts)
            if any(p.endswith(".egg-info") or p == "__pycache__" for p in parts):
                continue
            if path.is_file() and path.suffix in TEXT_SUFFIXES:
                files.append(path)
    return [f for f in files if f.is_file()]


def _sections(page: Path) -> set[str]:
    found: set[str] = set()
    for line in page.read_text(encoding="utf-8").splitlines():
        m = HEADING.match(line)
        if m:
            found.add(m.group(1))
    return found


def test_theory_pages_exist_and_are_indexed() -> None:
    index = (THEORY / "README.md").read_text(encoding="utf-8")
    for page in NOTE_PAGES:
        assert (THEORY / f"{page}.md").is_file(), f"docs/theory/{page}.md is missing"
        assert f"({page}.md)" in index, f"docs/theory/README.md does not link {page}.md"
    # the numbering the code cites: gated.md §0-§10, chaos.md §0-§5, each with subsections
    assert {"1", "5.1", "5.8", "6.2", "8", "9.5", "10"} <= _sections(THEORY / "gated.md")
    assert {"1.2", "2.3", "3.2", "4.2", "4.3", "5.1", "5.7"} <= _sections(THEORY / "chaos.md")


def test_no_reference_outside_the_repository() -> None:
    problems = []
    for path in _shipped_files():
        text = path.read_text(encoding="utf-8", errors="replace")
        for why, pattern in FORBIDDEN.items():
            for m in pattern.finditer(text):
                line = text.count("\n", 0, m.start()) + 1
                problems.append(f"{path.relative_to(ROOT)}:{line}: {why}: {m.group(0)!r}")
    assert not problems, "\n".join(problems)


def test_every_theory_reference_resolves() -> None:
    sections = {p.stem: _sections(p) for p in THEORY.glob("*.md")}
    problems, n_refs = [], 0
    for path in [
        *_shipped_files(),
        *sorted((ROOT / "tests").glob("*.py")),
        *sorted((ROOT / "benchmarks").glob("*")),
    ]:
        if not path.is_file() or path.suffix not in TEXT_SUFFIXES:
            continue
        text = path.read_text(encoding="utf-8", errors="replace")
        for m in REFERENCE.finditer(text):
            page, refs = m.group(1), m.group(2)
            line = text.count("\n", 0, m.start()) + 1
            where = f"{path.relative_to(ROOT)}:{line}"
            if page not in sections:
                problems.append(f"{where}: docs/theory/{page}.md does not exist")
                continue
            for number in SECTION_NUMBER.findall(refs):
                n_refs += 1
                if number.rstrip(".") not in sections[page]:
                    problems.append(f"{where}: docs/theory/{page}.md has no section §{number}")
    assert not problems, "\n".join(problems)
    assert n_refs > 50  # the code does cite the theory pages by section


def test_tests_named_in_the_theory_pages_exist() -> None:
    """docs/theory names the test verifying each result: `tests/f.py::test_x`, then `::test_y` (same file)."""
    defined = {
        f"tests/{p.name}": set(re.findall(r"def (test_\w+)", p.read_text(encoding="utf-8")))
        for p in (ROOT / "tests").glob("test_*.py")
    }
    missing, n_named = [], 0
    for page in sorted(THEORY.glob("*.md")):
        current = None
        for m in re.finditer(r"`(tests/[\w.]+\.py)?(?:::)?(test_\w+)?`", page.read_text(encoding="utf-8")):
            current = m.group(1) or current
            if m.group(2):
                n_named += 1
                if m.group(2) not in defined.get(current, set()):
                    missing.append(f"{page.name}: {current}::{m.group(2)}")
    assert not missing, "\n".join(missing)
    assert n_named > 50


@pytest.mark.parametrize(
    ("text", "bad"),
    [
        ("see ../shared/theory/gated.md", True),
        ("(theory/chaos.md §4.2)", True),
        ("gated.md §5.1 (004-18)", True),
        ("input-driven spectra, paper 003", True),
        ("docs/theory/gated.md §5.1 (004-18)", False),
        ("See docs/chaos.md.", False),
        ("(KCS22; docs/theory/\n    docs/theory/gated.md §4.8)", True),
        ("weights shared over iterations", False),
    ],
)
def test_patterns_catch_what_they_should(text: str, bad: bool) -> None:
    assert any(p.search(text) for p in FORBIDDEN.values()) == bad


def test_reference_pattern_reads_lists_and_ranges() -> None:
    m = REFERENCE.search("(docs/theory/gated.md §3, §5.2 and §8 #16; see also x)")
    assert m is not None and SECTION_NUMBER.findall(m.group(2)) == ["3", "5.2", "8"]
    m = REFERENCE.search("docs/theory/chaos.md §4.2-4.3.")
    assert m is not None and SECTION_NUMBER.findall(m.group(2)) == ["4.2", "4.3"]

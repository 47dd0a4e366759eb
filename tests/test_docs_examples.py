"""The examples in docs/*.md run as written, and every name, path and option the docs cite exists.

Docs that are never run rot: an argument is renamed and the example keeps the old name. So

* every ``python`` block of docs/*.md is compiled, and every call of an rnndyn function or class in
  it (``rd.X(...)``, ``mf.X(...)``, ``rd.chaos.ScalarNetwork.random(...)``, ...) is checked
  against the callee's signature: unknown keyword arguments, too many positional arguments;
* the blocks of each page run in order in one fresh namespace per page, inside a temporary
  folder. A block that is too expensive for the default suite is marked in the markdown, on the
  line before its fence, with ``<!-- docs-test: slow (reason) -->`` (run by the slow test only)
  or ``<!-- docs-test: skip (reason) -->`` (never run: it needs a file, a cluster or hours; it
  is still compiled and checked); the reason is required. Of a block that is not run only the
  import statements run, so that the next block finds ``rd`` and ``torch``;
* every ``rd.name`` / ``rnndyn.a.b`` written in README.md or docs/*.md resolves (``rd.X`` must be
  in ``rnndyn.__all__``), every ``docs/``, ``examples/``, ``benchmarks/``, ``tests/`` and ``src/``
  path and every relative link exists, every ``rnndyn CMD --option`` is a command and an option
  of the CLI, and every ``--option`` given to a script under benchmarks/ or examples/ (or to
  ``python -m rnndyn.training.experiments``) is defined by that script.

README.md's own Python example is run by tests/test_readme.py; here it only takes part in the
static checks.
"""

from __future__ import annotations

import ast
import functools
import importlib
import inspect
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

import rnndyn

ROOT = Path(__file__).resolve().parents[1]
DOCS = sorted((ROOT / "docs").glob("*.md"))
PAGES = [ROOT / "README.md", *DOCS]

FENCE = re.compile(r"^```(\w*)\s*$")
MARKER = re.compile(r"^<!--\s*docs-test:\s*(\w+)\s*(?:\((.*)\))?\s*-->\s*$")
MARKER_KINDS = ("slow", "skip")


@dataclass(frozen=True)
class Block:
    page: Path
    line: int  # 1-based line of the opening fence
    lang: str
    source: str
    marker: str | None  # None (run by default), "slow" or "skip"

    @property
    def where(self) -> str:
        return f"{self.page.relative_to(ROOT)}:{self.line}"


def blocks(page: Path) -> list[Block]:
    """Fenced code blocks of a markdown page, with the docs-test marker just before each."""
    lines = page.read_text(encoding="utf-8").splitlines()
    out: list[Block] = []
    i = 0
    while i < len(lines):
        m = FENCE.match(lines[i])
        if not m:
            i += 1
            continue
        j = i + 1
        while j < len(lines) and not lines[j].startswith("```"):
            j += 1
        if j == len(lines):
            raise AssertionError(f"{page.name}:{i + 1}: code fence never closed")
        marker = None
        k = i - 1
        while k >= 0 and not lines[k].strip():
            k -= 1
        mm = MARKER.match(lines[k]) if k >= 0 else None
        if mm:
            kind, reason = mm.group(1), (mm.group(2) or "").strip()
            if kind not in MARKER_KINDS or not reason:
                raise AssertionError(
                    f"{page.name}:{k + 1}: a docs-test marker is `<!-- docs-test: slow|skip (reason) -->`, "
                    f"got {lines[k]!r}"
                )
            marker = kind
        out.append(Block(page, i + 1, m.group(1), "\n".join(lines[i + 1 : j]) + "\n", marker))
        i = j + 1
    return out


def python_blocks(page: Path) -> list[Block]:
    return [b for b in blocks(page) if b.lang == "python"]


def _id(page: Path) -> str:
    return page.name


# ---------------------------------------------------------------------------------- static checks


def _aliases(tree: ast.AST, known: dict[str, str]) -> dict[str, str]:
    """Names bound to rnndyn modules by the block's imports (``rd`` -> ``rnndyn``, ...)."""
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for a in node.names:
                if a.name == "rnndyn" or a.name.startswith("rnndyn."):
                    known[a.asname or a.name.split(".")[0]] = a.name if a.asname else "rnndyn"
        elif isinstance(node, ast.ImportFrom) and node.module and node.module.split(".")[0] == "rnndyn":
            for a in node.names:
                known[a.asname or a.name] = f"{node.module}.{a.name}"
    return known


def _resolve(dotted: str) -> object:
    """``rnndyn.a.b.c`` -> the object (attributes first, then submodules)."""
    parts = dotted.split(".")
    obj: object = importlib.import_module(parts[0])
    path = parts[0]
    for p in parts[1:]:
        path += "." + p
        if hasattr(obj, p):
            obj = getattr(obj, p)
        else:
            obj = importlib.import_module(path)  # raises ModuleNotFoundError for a missing name
    return obj


def _dotted(node: ast.AST) -> str | None:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        base = _dotted(node.value)
        return None if base is None else f"{base}.{node.attr}"
    return None


def call_problems(block: Block, known: dict[str, str]) -> list[str]:
    """Calls of rnndyn objects in a block whose arguments do not fit the signature."""
    tree = ast.parse(block.source, filename=block.where)
    known = _aliases(tree, known)
    problems = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call):
            continue
        name = _dotted(node.func)
        if name is None or name.split(".")[0] not in known:
            continue
        head, *rest = name.split(".")
        target = ".".join([known[head], *rest])
        try:
            obj = _resolve(target)
        except (ImportError, AttributeError) as exc:
            problems.append(f"{block.where}: `{name}` does not exist ({exc})")
            continue
        if not callable(obj) or inspect.ismodule(obj):
            problems.append(f"{block.where}: `{name}` is not callable")
            continue
        try:
            sig = inspect.signature(obj)
        except (TypeError, ValueError):  # builtins without a signature
            continue
        params = sig.parameters.values()
        if any(p.kind is p.VAR_KEYWORD for p in params):
            continue
        names = {p.name for p in params if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)}
        for kw in node.keywords:
            if kw.arg is not None and kw.arg not in names:
                problems.append(
                    f"{block.where}: `{name}` has no argument `{kw.arg}` (it takes {sorted(names)})"
                )
        if not any(p.kind is p.VAR_POSITIONAL for p in params) and not any(
            isinstance(a, ast.Starred) for a in node.args
        ):
            n_pos = sum(p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD) for p in params)
            if len(node.args) > n_pos:
                problems.append(
                    f"{block.where}: `{name}` takes {n_pos} positional arguments, given {len(node.args)}"
                )
    return problems


@pytest.mark.parametrize("page", PAGES, ids=_id)
def test_python_blocks_compile_and_call_real_signatures(page: Path) -> None:
    problems: list[str] = []
    known: dict[str, str] = {}
    for block in python_blocks(page):
        compile(block.source, block.where, "exec")
        problems += call_problems(block, known)
    assert not problems, "\n".join(problems)


def test_signature_check_catches_a_renamed_argument() -> None:
    """The checker itself: an unknown keyword, too many positionals and a missing name are found."""
    src = (
        "import torch, rnndyn as rd\nfrom rnndyn import meanfield as mf\n"
        "rd.lyapunov_spectrum(net, n_step=10)\nrd.GRU(4, 3.0)\nmf.no_such_solver(1.0)\nrd.GRU(4, g_h=3.0)\n"
    )
    found = call_problems(Block(ROOT / "README.md", 1, "python", src, None), {})
    assert len(found) == 3, found
    assert "no argument `n_step`" in found[0] and "positional" in found[1] and "does not exist" in found[2]


def _prose(text: str) -> str:
    """The page without its fenced code blocks (their fences would pair up with inline backticks)."""
    return re.sub(r"^```.*?^```[ \t]*$", "", text, flags=re.S | re.M)


_SPAN = r"(?:[^`\n]|\n(?!\s*\n))*"  # inline code may wrap onto the next line, not past a blank one
INLINE_CALL = re.compile(rf"`({_SPAN}\b(?:rd|mf)\.[\w.]+\({_SPAN})`")


def _inline_as_python(code: str) -> str | None:
    """Prose such as `mf.gated_dmft(g_h, alpha_z=, alpha_r=)` or `rd.analyze(model, inputs=None, ...)`
    as a parseable call (`x=` -> `x=...`, a trailing `...` dropped); None if it is not a call."""
    code = re.sub(r"=\s*(?=[,)])", "=...", code)
    code = re.sub(r",\s*\.\.\.(?=\s*[,)])", "", code)
    try:
        ast.parse(code)
    except SyntaxError:
        return None
    return code


@pytest.mark.parametrize("page", PAGES, ids=_id)
def test_inline_calls_in_the_docs_fit_the_signatures(page: Path) -> None:
    """Calls written in the prose (`rd.GRU(n, g_h=, ...)`) name real arguments, positionals only
    where the function takes them."""
    problems: list[str] = []
    header = "import rnndyn as rd\nimport rnndyn.meanfield as mf\n"
    for m in INLINE_CALL.finditer(_prose(page.read_text(encoding="utf-8"))):
        code = _inline_as_python(" ".join(m.group(1).split()))
        if code is not None:
            problems += call_problems(Block(page, 0, "python", header + code + "\n", None), {})
    assert not problems, "\n".join(problems)


NAME = re.compile(r"(?<![\w.])(rd|rnndyn|mf)((?:\.\w+)+)")
PREFIX = {"rd": "rnndyn", "rnndyn": "rnndyn", "mf": "rnndyn.meanfield"}  # the docs' import aliases


@pytest.mark.parametrize("page", PAGES, ids=_id)
def test_every_rnndyn_name_in_the_docs_exists(page: Path) -> None:
    problems = []
    for m in NAME.finditer(page.read_text(encoding="utf-8")):
        name = PREFIX[m.group(1)] + m.group(2)
        first = m.group(2).split(".")[1]
        try:
            _resolve(name)
        except (ImportError, AttributeError):
            problems.append(f"`{m.group(0)}` does not exist")
            continue
        if (
            m.group(1) == "rd"
            and first not in rnndyn.__all__
            and not inspect.ismodule(getattr(rnndyn, first))
        ):
            problems.append(f"`{m.group(0)}`: {first} is not in rnndyn.__all__")
    assert not problems, f"{page.name}: " + "; ".join(sorted(set(problems)))


PATH = re.compile(r"(?<![\w/.-])((?:docs|examples|benchmarks|tests|src)/[\w./-]*[\w/])")
LINK = re.compile(r"\]\(([^)#\s]+)(?:#[^)]*)?\)")


@pytest.mark.parametrize("page", PAGES, ids=_id)
def test_every_path_and_link_in_the_docs_exists(page: Path) -> None:
    text = page.read_text(encoding="utf-8")
    missing = [p for p in PATH.findall(text) if not (ROOT / p).exists()]
    missing += [
        link for link in LINK.findall(text) if "://" not in link and not (page.parent / link).exists()
    ]
    assert not missing, f"{page.name}: no such file: {sorted(set(missing))}"


def _commands(page: Path) -> list[str]:
    """Command lines: every line of non-python code blocks (continuations joined), inline code."""
    text = page.read_text(encoding="utf-8")
    out = []
    for b in blocks(page):
        if b.lang != "python":
            out += b.source.replace("\\\n", " ").splitlines()
    out += [" ".join(code.split()) for code in re.findall(rf"`({_SPAN})`", _prose(text))]
    return out


COMMAND = re.compile(r"(?:^|[\s;(|&])rnndyn\s+([a-z][\w-]*)([^#;|&]*)")
OPTION = re.compile(r"(?<![\w-])(--?[a-zA-Z][\w-]*)")
SCRIPT = re.compile(r"python\s+(?:-m\s+(rnndyn(?:\.\w+)+)|((?:benchmarks|examples)/\w+\.py))([^#;|&]*)")


@functools.cache
def _cli() -> Any:
    import typer.main

    from rnndyn.cli import app

    return typer.main.get_command(app)


@pytest.mark.parametrize("page", PAGES, ids=_id)
def test_every_command_and_option_in_the_docs_exists(page: Path) -> None:
    cli = _cli()
    problems = []
    for line in _commands(page):
        if line.lstrip().startswith(("import ", "from ")):
            continue
        for m in COMMAND.finditer(line):
            name, rest = m.group(1), m.group(2)
            if name not in cli.commands:
                problems.append(f"unknown command `rnndyn {name}` in {line.strip()!r}")
                continue
            opts = {o for p in cli.commands[name].params for o in (*p.opts, *p.secondary_opts)}
            problems += [
                f"`rnndyn {name}` has no option {o} ({line.strip()!r})"
                for o in OPTION.findall(rest)
                if o not in opts
            ]
        for m in SCRIPT.finditer(line):
            module, script, rest = m.groups()
            if module:
                source = inspect.getsource(importlib.import_module(module))
                label = f"python -m {module}"
            else:
                source = (ROOT / script).read_text(encoding="utf-8")
                label = script
            problems += [
                f"{label} defines no option {o} ({line.strip()!r})"
                for o in OPTION.findall(rest)
                if o.startswith("--") and f'"{o}"' not in source and f"'{o}'" not in source
            ]
    assert not problems, f"{page.name}:\n" + "\n".join(sorted(set(problems)))


# ---------------------------------------------------------------------------------------- running


def _run_page(
    page: Path, kinds: tuple[str | None, ...], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> int:
    monkeypatch.chdir(tmp_path)  # examples write report.html, s.zarr, ...
    namespace: dict = {"__name__": f"docs_{page.stem}"}
    ran = 0
    for block in python_blocks(page):
        if block.marker not in kinds:
            # later blocks may use what this one imported (`rd`, `torch`): run its imports only
            tree = ast.parse(block.source, filename=block.where)
            imports = [n for n in tree.body if isinstance(n, ast.Import | ast.ImportFrom)]
            exec(compile(ast.Module(imports, type_ignores=[]), block.where, "exec"), namespace)  # noqa: S102
            continue
        try:
            exec(compile(block.source, block.where, "exec"), namespace)  # noqa: S102 - our own docs
        except Exception as exc:
            raise AssertionError(f"{block.where} failed: {type(exc).__name__}: {exc}") from exc
        ran += 1
    return ran


RUN_PAGES = [p for p in DOCS if python_blocks(p)]


@pytest.mark.parametrize("page", RUN_PAGES, ids=_id)
def test_docs_python_blocks_run(page: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The unmarked blocks of each page, in order, in one fresh namespace."""
    if all(b.marker for b in python_blocks(page)):
        pytest.skip(f"{page.name}: every block is marked slow or skip")
    assert _run_page(page, (None,), tmp_path, monkeypatch) > 0


@pytest.mark.slow
@pytest.mark.parametrize("page", RUN_PAGES, ids=_id)
def test_docs_python_blocks_run_including_slow(
    page: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Every block but the `skip` ones, in order: what a reader who pastes the page gets."""
    if all(b.marker == "skip" for b in python_blocks(page)):
        pytest.skip(f"{page.name}: every block is marked skip")
    assert _run_page(page, (None, "slow"), tmp_path, monkeypatch) > 0


def test_analyze_says_how_many_jacobian_states_it_used() -> None:
    """README's quoted output: with B input sequences the spectrum uses `spectrum_states` states
    *per sequence*; the "analysed" line said "20 states in all" beside "Jacobian states 80"."""
    import torch

    gen = torch.Generator().manual_seed(0)
    lstm = torch.nn.LSTM(1, 4, batch_first=True).double()
    x = torch.randn(3, 60, 1, generator=gen, dtype=torch.float64)
    res = rnndyn.analyze(lstm, x, sections=["jacobian_spectrum"], spectrum_states=5)
    n_states = res.jacobian_spectrum.eigenvalues.shape[0]
    assert n_states == 3 * 5
    assert f"5 states per sequence, {n_states} in all" in res.analysed["jacobian_spectrum"]


def test_every_option_named_anywhere_in_the_docs_exists() -> None:
    """An option in the prose (`--store PATH`, `--trust-pickle`) belongs to some rnndyn command or
    to one of the scripts the docs run (benchmarks/, examples/, rnndyn.training.experiments)."""
    cli = _cli()
    known = {"--help", "--durations"} | {o for p in cli.params for o in (*p.opts, *p.secondary_opts)}
    for command in cli.commands.values():
        known |= {o for p in command.params for o in (*p.opts, *p.secondary_opts)}
    scripts = [*(ROOT / "benchmarks").glob("*.py"), *(ROOT / "examples").glob("*.py")]
    scripts.append(ROOT / "src" / "rnndyn" / "training" / "experiments.py")
    source = "".join(s.read_text(encoding="utf-8") for s in scripts)
    unknown = sorted(
        f"{page.name}: {o}"
        for page in PAGES
        for o in set(re.findall(r"(?<![\w-])(--[a-z][\w-]*)", page.read_text(encoding="utf-8")))
        if o not in known and f'"{o}"' not in source
    )
    assert not unknown, unknown

"""The import graph of rnndyn has no circles and no upward imports (ARCHITECTURE.md).

Every import counts, including those inside functions (a lazy import is still a dependency).
The floors, lowest first, are :data:`FLOORS`; a module may import modules on its own floor or
below. The one documented exception is :data:`ALLOWED_UPWARD`.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src"

#: (floor, module-name prefixes), lowest floor first. A module belongs to the floor of its
#: longest matching prefix.
FLOORS: tuple[tuple[int, tuple[str, ...]], ...] = (
    (
        0,
        (
            "rnndyn._types",
            "rnndyn._checks",
            "rnndyn._autodiff",
            "rnndyn._linalg",
            "rnndyn._results",
            "rnndyn._display",
            "rnndyn._lyapunov_defaults",
            "rnndyn._fixed_point_defaults",
        ),
    ),
    (1, ("rnndyn.meanfield",)),
    (2, ("rnndyn.models", "rnndyn.systems", "rnndyn.discretise")),
    (
        3,
        (
            "rnndyn.models.registry",
            "rnndyn.models.presets",
            "rnndyn.simulate",
            "rnndyn.jacobians",
            "rnndyn.io",
        ),
    ),
    (4, ("rnndyn",)),  # the analyses: everything not named elsewhere
    (
        5,
        (
            "rnndyn.cli",
            "rnndyn.reproduce",
            "rnndyn.__init__",
            "rnndyn.models.__init__",
            "rnndyn.meanfield.__init__",
        ),
    ),
)

#: (importer, imported): documented upward imports (ARCHITECTURE.md, "Exceptions").
ALLOWED_UPWARD: frozenset[tuple[str, str]] = frozenset()

#: Violations tolerated while being removed (ARCHITECTURE.md, "Open items"): none are left. The
#: tests fail on any circle or upward import not listed here.
KNOWN_CIRCLES: tuple[frozenset[str], ...] = ()
KNOWN_UPWARD: frozenset[tuple[str, str]] = frozenset()


def _modules() -> dict[str, Path]:
    out = {}
    for path in sorted((SRC / "rnndyn").rglob("*.py")):
        parts = list(path.relative_to(SRC).with_suffix("").parts)
        out[".".join(parts)] = path
    return out


def _resolve(name: str, modules: dict[str, Path]) -> str | None:
    """The rnndyn module a dotted name refers to (a module, or a package's ``__init__``)."""
    while name:
        if name in modules:
            return name
        if name + ".__init__" in modules:
            return name + ".__init__"
        name = name.rpartition(".")[0]
    return None


def import_graph() -> dict[str, set[str]]:
    """Module -> the rnndyn modules it imports anywhere in its source."""
    modules = _modules()
    graph: dict[str, set[str]] = {m: set() for m in modules}
    for mod, path in modules.items():
        package = mod.rpartition(".")[0] if not mod.endswith("__init__") else mod[: -len(".__init__")]
        for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
            targets: list[str] = []
            if isinstance(node, ast.Import):
                targets = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                    base = ".".join(anchor + ([base] if base else []))
                targets = [f"{base}.{a.name}" for a in node.names]
            for t in targets:
                if t == "rnndyn" or t.startswith("rnndyn."):
                    r = _resolve(t, modules)
                    if r is not None and r != mod:
                        graph[mod].add(r)
    return graph


def floor(mod: str) -> int:
    best, level = -1, 4
    for lvl, prefixes in FLOORS:
        for p in prefixes:
            if (mod == p or mod.startswith(p + ".")) and len(p) > best:
                best, level = len(p), lvl
    return level


def circles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on: set[str] = set()
    out: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on.add(v)
        for w in sorted(graph[v]):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                out.append(sorted(comp))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return out


def upward(graph: dict[str, set[str]]) -> list[tuple[str, str]]:
    return sorted(
        (a, b)
        for a, targets in graph.items()
        for b in targets
        if floor(b) > floor(a) and (a, b) not in ALLOWED_UPWARD
    )


def test_checker_finds_a_circle_and_an_upward_import() -> None:
    # the checker itself: a made-up graph with one circle and one upward edge
    g = {
        "rnndyn._checks": {"rnndyn.lyapunov"},
        "rnndyn.lyapunov": {"rnndyn.spectra"},
        "rnndyn.spectra": {"rnndyn.lyapunov"},
    }
    assert circles(g) == [["rnndyn.lyapunov", "rnndyn.spectra"]]
    assert upward(g) == [("rnndyn._checks", "rnndyn.lyapunov")]
    assert (
        floor("rnndyn.models.registry") == 3
        and floor("rnndyn.models.gru") == 2
        and floor("rnndyn.cli.main") == 5
    )
    assert floor("rnndyn.plotting.spectra") == 4 and floor("rnndyn.lyapunov") == 4


@pytest.fixture(scope="module")
def graph() -> dict[str, set[str]]:
    # parsing every module of src/rnndyn takes ~1 s: the three checks below share one parse
    return import_graph()


def test_no_new_import_circles(graph) -> None:
    new = [c for c in circles(graph) if not any(set(c) <= k for k in KNOWN_CIRCLES)]
    assert new == [], f"import circles: {new} (see ARCHITECTURE.md)"


def test_no_new_upward_imports(graph) -> None:
    new = [e for e in upward(graph) if e not in KNOWN_UPWARD]
    assert new == [], f"upward imports: {new} (see ARCHITECTURE.md for the floors)"


def test_fixed_layers_stay_fixed(graph) -> None:
    # the circles and upward imports removed with the model contract must not come back
    g = graph
    assert (
        "rnndyn.models.base" not in g["rnndyn._checks"] and "rnndyn.jacobians" not in g["rnndyn.models.base"]
    )
    assert (
        "rnndyn.spectra" not in g["rnndyn.fixed_points"]
        and "rnndyn.simulate" not in g["rnndyn.models.torch_interop"]
    )
    assert all(not t.startswith("rnndyn.models") for m in g if m.startswith("rnndyn.meanfield") for t in g[m])


if __name__ == "__main__":  # python tests/test_architecture.py: print the findings
    g = import_graph()
    print("circles:", circles(g))
    for a, b in upward(g):
        print(f"upward: {a} (floor {floor(a)}) -> {b} (floor {floor(b)})")

"""`rnndyn reproduce`: the registry of claims, the verdict rule, one entry end to end, the gallery.

Default suite: the registry is complete, the verdict rule on exact cases, a planted wrong paper
number gives `disagrees`, one cheap entry through the CLI, the gallery in headless Chromium.
Slow: every ready entry's quick mode at a tiny size.
"""

from __future__ import annotations

import dataclasses
import json
import math
import re
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

import rnndyn.reproduce as rp
from rnndyn.cli import app
from rnndyn.reproduce import PaperValue, combine, compare

sys.path.insert(0, str(Path(__file__).parent))

CHEAP = "cks20-alpha-r-star"


# ----------------------------------------------------------------------------- registry
def test_registry_every_entry_is_complete() -> None:
    claims = rp.claims()
    assert len(claims) >= 20
    ids = [c.id for c in claims]
    assert len(ids) == len(set(ids))
    papers = {c.paper.key for c in claims}
    assert papers == {"cpss22", "cks20", "kcs22", "mmd22", "vpsl22"}  # the five papers
    for c in claims:
        assert c.id.startswith(c.paper.key + "-"), c.id
        assert re.fullmatch(r"\d{4}\.\d{4,5}", c.paper.arxiv), c.paper
        assert c.paper.authors and 2019 <= c.paper.year <= 2023 and c.paper.title and c.paper.venue
        assert c.where and c.paper_values, c.id
        assert c.claim.endswith(".") and len(c.claim) > 30, c.id
        assert set(c.settings) == {"quick", "full"} and set(c.cost) == {"quick", "full"}, c.id
        if c.compute is None:
            assert c.needs and c.status.startswith("needs "), c.id
        else:
            assert callable(c.compute), c.id
            assert c.settings["quick"] and set(c.settings["quick"]) == set(c.settings["full"]), c.id
            assert all(v.startswith("~") for v in c.cost.values()), c.id


def test_registry_covers_the_issue_topics() -> None:
    ids = {c.id for c in rp.claims()}
    for needed in (
        "cpss22-period3-vs-width",
        "cpss22-notebook-f4",
        "cpss22-lap-growth",
        "cpss22-scrambling",
        "cpss22-persistence",
        "cks20-theorem41",
        "cks20-zero-fp",
        "cks20-slow-modes",
        "cks20-reset-radius",
        "cks20-marginal-edge",
        "cks20-lstm-boundary",
        "cks20-alpha-r-star",
        "cks20-trainability",
        "kcs22-phase-diagram",
        "kcs22-discontinuous",
        "kcs22-flattening",
        "kcs22-flow-spectra",
        "kcs22-dmft-gradients",
        "kcs22-line-attractors",
        "mmd22-theorem2",
        "mmd22-tau-sweep",
        "vpsl22-readout",
    ):
        assert needed in ids, needed


def test_get_claim_rejects_unknown_ids() -> None:
    with pytest.raises(ValueError, match="not registered"):
        rp.get_claim("nope")
    with pytest.raises(TypeError, match="claim_id"):
        rp.get_claim(3)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="mode"):
        rp.run_claim(CHEAP, mode="medium")
    with pytest.raises(ValueError, match="overrides"):
        rp.run_claim(CHEAP, overrides={"bogus": 1})


# ----------------------------------------------------------------------------- verdict rule
def test_compare_equal_bands() -> None:
    p = PaperValue("equal", 10.0, error=0.0, rel=0.1, source="t")  # tolerance max(2 err, 1.0)
    assert compare("q", p, 10.9, 0.0).verdict == "agrees"
    assert compare("q", p, 12.5, 0.0).verdict == "partly"  # within 3x the tolerance
    assert compare("q", p, 13.5, 0.0).verdict == "disagrees"
    assert compare("q", p, 13.5, 1.0).verdict == "partly"  # 2 sigma = 2.0, 3x = 6.0
    p_err = PaperValue("equal", 10.0, error=3.0, source="t")
    assert compare("q", p_err, 14.0, 4.0).verdict == "agrees"  # 2 * hypot(3, 4) = 10
    assert compare("q", p, math.nan, 0.0).verdict == "disagrees"
    with pytest.raises(ValueError, match="error"):
        compare("q", p, 1.0, -1.0)


def test_compare_bounds_ranges_and_missing_values() -> None:
    g = PaperValue("greater", 0.0, source="t")
    assert [compare("q", g, v, e).verdict for v, e in ((1.0, 0.1), (0.1, 0.1), (-1.0, 0.1))] == [
        "agrees",
        "partly",
        "disagrees",
    ]
    lt = PaperValue("less", 0.0, source="t")
    assert [compare("q", lt, v, e).verdict for v, e in ((-1.0, 0.1), (-0.1, 0.1), (1.0, 0.1))] == [
        "agrees",
        "partly",
        "disagrees",
    ]
    r = PaperValue("range", low=1.0, high=2.0, source="t")
    assert [compare("q", r, v, 0.0).verdict for v in (1.5, 2.5, 6.0)] == ["agrees", "partly", "disagrees"]
    none = PaperValue("equal", None, source="t")
    c = compare("q", none, 1.0, 0.0)
    assert c.verdict == "no paper value"
    assert combine([c]) == "no paper value"
    with pytest.raises(ValueError, match="kind"):
        PaperValue("approx", 1.0)


def test_combine_rule() -> None:
    g = PaperValue("greater", 0.0, source="t")
    yes, no, half = compare("a", g, 1.0), compare("b", g, -1.0), compare("c", g, 0.1, 0.1)
    none = compare("d", PaperValue("greater", None), 1.0)
    assert combine([yes, yes, none]) == "agrees"
    assert combine([no, no]) == "disagrees"
    assert combine([yes, no]) == "partly"
    assert combine([yes, half]) == "partly"


def test_planted_wrong_paper_number_gives_disagrees() -> None:
    """The same computation against a wrong paper number must flip the verdict: verdicts are computed."""
    claim = rp.get_claim(CHEAP)
    right = rp.run_claim(claim, mode="quick", overrides={"tol": 0.01, "n_curve": 3})
    assert right.verdict == "agrees" and right.comparisons[0].ours == pytest.approx(
        2 * math.sqrt(2), abs=0.01
    )

    def planted(settings, **kw):  # the paper "said" 3.5 instead of 2 sqrt 2
        m = claim.compute(settings, **kw)
        wrong = tuple(
            compare(c.quantity, dataclasses.replace(c.paper, value=3.5), c.ours, c.error)
            for c in m.comparisons
        )
        return dataclasses.replace(m, comparisons=wrong)

    res = rp.run_claim(dataclasses.replace(claim, compute=planted), overrides={"tol": 0.01, "n_curve": 3})
    assert res.verdict == "disagrees"
    assert res.comparisons[0].ours == right.comparisons[0].ours


# ----------------------------------------------------------------------------- end to end
def test_cli_one_entry_end_to_end(tmp_path: Path) -> None:
    out = tmp_path / "r"
    res = CliRunner().invoke(
        app, ["reproduce", CHEAP, "--quick", "--out", str(out), "--json", str(tmp_path / "c.json")]
    )
    assert res.exit_code == 0, res.output
    assert "verdict: agrees" in res.output
    d = json.loads((out / "claim.json").read_text())
    assert d == json.loads((tmp_path / "c.json").read_text())
    assert d["verdict"] == "agrees" and d["mode"] == "quick" and d["status"] == "success"
    assert d["paper"]["arxiv"] == "2002.00025" and d["paper"]["where"]
    cmp0 = d["comparisons"][0]
    assert cmp0["paper"]["value"] == pytest.approx(2 * math.sqrt(2))
    assert abs(cmp0["ours"] - 2 * math.sqrt(2)) < 0.02 and cmp0["error"] > 0
    assert "agrees if" in cmp0["criterion"] and d["verdict_rule"]
    assert d["settings"] == dict(rp.get_claim(CHEAP).settings["quick"]) and d["seeds"] == [0]
    assert d["rnndyn_version"]
    assert (out / "figure.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "Claim:" in (out / "summary.txt").read_text()


def test_cli_list_and_bad_input(tmp_path: Path) -> None:
    runner = CliRunner()
    res = runner.invoke(app, ["reproduce", "--list", "--json", str(tmp_path / "l.json")])
    assert res.exit_code == 0, res.output
    listed = json.loads((tmp_path / "l.json").read_text())["claims"]
    assert [c["id"] for c in listed] == [c.id for c in rp.claims()]
    for c in rp.claims():
        assert c.id in res.output
    bad = runner.invoke(app, ["reproduce", "no-such-claim", "--out", str(tmp_path)])
    assert bad.exit_code == 2 and "not registered" in bad.output
    both = runner.invoke(app, ["reproduce", CHEAP, "--quick", "--full", "--out", str(tmp_path)])
    assert both.exit_code == 2 and "--quick" in both.output
    no_out = runner.invoke(app, ["reproduce", CHEAP])
    assert no_out.exit_code == 2 and "--out" in no_out.output


#: an entry whose code does not exist (every registered entry now computes; the mechanism stays)
NEEDS_ID = "kcs22-needs-demo"


@pytest.fixture
def needs_entry(monkeypatch):
    """A registered entry with ``compute=None`` and a ``needs`` text, for the duration of a test."""
    from rnndyn.reproduce import _core

    base = _core.get_claim("kcs22-dmft-onset")
    claim = dataclasses.replace(base, id=NEEDS_ID, compute=None, plot=None, needs="code that rnndyn lacks")
    monkeypatch.setitem(_core.REGISTRY, NEEDS_ID, claim)
    return claim


def test_needs_entry_is_reported_not_faked(tmp_path: Path, needs_entry) -> None:
    res = rp.run_claim(NEEDS_ID, out=tmp_path)
    assert res.verdict is None and res.status == "warning" and res.needs and not res.comparisons
    assert res.state.startswith("needs ") and "not run" in res.message
    d = json.loads((tmp_path / "claim.json").read_text())
    assert d["verdict"] is None and d["status"] == "warning" and d["needs"] == res.needs


def test_cli_scheduler_only_for_claims_that_sweep(tmp_path: Path, monkeypatch) -> None:
    """Before: --scheduler was ignored without a word by the claims that run no grid."""
    grid_ids = [c.id for c in rp.claims() if c.grid]
    assert grid_ids and not rp.get_claim(CHEAP).grid
    passed = []

    def fake_run_claim(claim_id, *, mode, out, seed, scheduler):
        passed.append((claim_id, scheduler))
        raise ValueError("stop here")  # the claim itself is not run

    monkeypatch.setattr(rp, "run_claim", fake_run_claim)
    runner = CliRunner()
    res = runner.invoke(app, ["reproduce", CHEAP, "--scheduler", "local", "--out", str(tmp_path)])
    text = " ".join(res.output.split())
    assert res.exit_code == 2 and "`--scheduler` applies only to the claims that run a grid" in text, text
    assert f"{CHEAP} runs in this process; got --scheduler local" in text and grid_ids[0] in text
    assert not passed
    res = runner.invoke(app, ["reproduce", grid_ids[0], "--scheduler", "local", "--out", str(tmp_path)])
    assert res.exit_code == 2 and "stop here" in res.output and passed == [(grid_ids[0], "local")]


def test_cli_all_json_has_a_top_level_status(tmp_path: Path, monkeypatch, needs_entry) -> None:
    """Before: `--all --json` had no top-level status (every other command's JSON has one)."""
    real = rp.run_all
    monkeypatch.setattr(rp, "run_all", lambda **kw: real(**kw, ids=[NEEDS_ID]))  # one claim, not run
    path = tmp_path / "all.json"
    args = ["reproduce", "--all", "--out", str(tmp_path / "g"), "--json", str(path), "--scheduler", "local"]
    res = CliRunner().invoke(app, args)
    assert res.exit_code == 0, res.output
    d = json.loads(path.read_text())
    assert d["status"] == "warning" and [c["id"] for c in d["claims"]] == [NEEDS_ID]
    assert d["message"] == f"worst of the 1 claims' statuses: 1 warning ({NEEDS_ID})"
    assert "note: --scheduler local applies to the" in " ".join(res.output.split())


@pytest.mark.slow  # end to end, ~4 s; test_analyze's report test keeps a browser render in the default suite
def test_gallery_renders_in_headless_chromium(tmp_path: Path, needs_entry) -> None:
    from browser_helpers import dump_dom, image_stats, render_screenshot

    ids = [CHEAP, NEEDS_ID]
    results, index = rp.run_all(ids=ids, mode="quick", out=tmp_path)
    assert [r.id for r in results] == ids
    html = index.read_text()
    assert "cks20-alpha-r-star/figure.png" in html and "agrees" in html
    dom = dump_dom(index)
    for i in ids:
        assert f'id="{i}"' in dom
    assert f'src="{CHEAP}/figure.png"' in dom and (tmp_path / CHEAP / "figure.png").stat().st_size > 10_000
    png = render_screenshot(index, tmp_path / "shot.png", height=1400)
    stats = image_stats(png)
    assert stats["nonwhite_fraction"] > 0.05 and stats["n_colours"] > 50


# ----------------------------------------------------------------------------- every entry, tiny
TINY = {
    "cpss22-period3-vs-width": {
        "widths": [2, 8],
        "inits": ["he"],
        "activations": ["relu", "tanh"],
        "n_networks": 40,
    },
    "cpss22-notebook-f4": {"n_networks": 400},
    "cpss22-high-dim": {"n_networks": 50, "scales": [0.14]},
    "cpss22-lap-growth": {"n_trials": 20},
    "cpss22-persistence": {"n_trials": 20},
    "cpss22-scrambling": {"n_pairs": 4, "n_steps": 400},
    "cks20-zero-fp": {"n": 60, "n_seeds": 2},
    "cks20-lstm-zero-fp": {"n": 60, "n_seeds": 2},
    "cks20-theorem41": {"n": 60, "configs": [[3, 5, 0]], "n_states": 2},
    "cks20-slow-modes": {"n": 60, "alpha_z": [5], "n_states": 2},
    "cks20-reset-radius": {"n": 60, "alpha_r": [0, 5], "n_states": 2},
    "cks20-lstm-boundary": {"n": 50, "gains": [3.0], "n_states": 2},
    "cks20-marginal-edge": {"n": 150, "alpha_z": [4, 8]},
    "cks20-alpha-r-star": {"tol": 0.05, "n_curve": 4},
    "cks20-gradient-law": {"n": 40, "t_max": 6, "n_seeds": 1},
    "cks20-trainability": {"n": 8, "epochs": 1, "lyapunov_steps": 20, "n_seeds": 1},
    "kcs22-phase-diagram": {
        "mft_points": 8,
        "n": 40,
        "n_steps": 100,
        "n_transient": 100,
        "g_h": [1.5, 3.0],
        "alpha_r": [0.0, 20.0],
    },
    "kcs22-discontinuous": {"n": 40, "n_steps": 100, "n_transient": 100},
    "kcs22-flattening": {"n": 6, "n_steps": 100, "n_transient": 50},
    "kcs22-flow-spectra": {"n": 30, "n_states": 2},
    "kcs22-dmft-onset": {"alpha_r": 20.0, "tol": 0.2},
    "kcs22-line-attractors": {"n": 30, "n_transient": 200, "n_seeds": 1, "stride": 20},
    "kcs22-dmft-gradients": {
        "points": [[3.0, 5.0]],
        "n": 60,
        "networks": 2,
        "T": 2.0,
        "dt": 0.1,
        "transient": 20.0,
    },
    "mmd22-theorem2": {"n": 16, "horizons": [5, 20, 5], "n_trajectories": 2, "lyapunov_steps": 300},
    "mmd22-tau-sweep": {"taus": [5, 30], "epochs": 1, "series_steps": 1500, "eval_steps": 1000, "hidden": 8},
    "vpsl22-readout": {
        "size": 4,
        "scales": [1.0, 4.0],
        "n_seeds": 3,
        "epochs": 1,
        "lyapunov_steps": 20,
        "n_splits": 3,
    },
}


def test_tiny_settings_cover_every_ready_entry() -> None:
    ready = {c.id for c in rp.claims() if c.compute is not None}
    assert ready == set(TINY)


#: tiny runs cheap enough (< 1 s each) for the default suite; the others are slow-marked
DEFAULT_TINY = ("cpss22-notebook-f4", "cpss22-persistence", "kcs22-line-attractors", "mmd22-theorem2")


@pytest.mark.parametrize(
    "claim_id",
    [pytest.param(i, marks=() if i in DEFAULT_TINY else pytest.mark.slow) for i in sorted(TINY)],
)
def test_every_entry_quick_mode_at_a_tiny_size(claim_id: str, tmp_path: Path) -> None:
    res = rp.run_claim(claim_id, mode="quick", out=tmp_path, overrides=TINY[claim_id])
    assert res.status == "success", res.message
    assert res.verdict in rp.VERDICTS and res.comparisons
    assert res.verdict == combine(res.comparisons)
    for c in res.comparisons:
        assert c.error >= 0 and c.paper.source
    assert (tmp_path / "figure.png").exists() and (tmp_path / "claim.json").exists()


def test_line_attractor_entry_needs_a_large_update_gain(tmp_path: Path) -> None:
    """Without the update gate (α_z = 0 at both ends) there are no slow modes at all: the
    entry's "grows with α_z" comparison must then disagree, and its mechanism check (slow modes
    = closed gates) holds trivially at 0; with α_z = 15 the slow modes are the closed gates."""
    tiny = {"n": 30, "n_transient": 200, "n_seeds": 1, "stride": 20}
    flat = rp.run_claim(
        "kcs22-line-attractors", out=tmp_path / "a", overrides={**tiny, "alpha_z": [0.0, 0.0]}
    )
    grows, mechanism, _ = flat.comparisons
    assert grows.ours == 0.0 and grows.verdict == "disagrees" and flat.verdict == "partly"
    assert mechanism.ours == 0.0 and mechanism.verdict == "agrees"
    gated = rp.run_claim("kcs22-line-attractors", out=tmp_path / "b", overrides=tiny)
    grows, mechanism, _ = gated.comparisons
    assert 0.1 < grows.ours <= 0.5 and abs(mechanism.ours) < 0.05


@pytest.mark.slow
def test_dmft_gradient_entry_agrees_at_its_quick_settings(tmp_path: Path) -> None:
    """The adjoint-DMFT gradient norms against backpropagation through time in N = 1000 gated
    flows (2 networks per point, T = 5): every ratio within 15 % of 1 (measured: 1.12 and 1.04
    at (3, 0, 5), 0.96 at (4, 0, 0); growth ratios 1.04 and 0.97). About 1 min."""
    res = rp.run_claim("kcs22-dmft-gradients", mode="quick", out=tmp_path)
    assert res.status == "success", res.message
    assert len(res.comparisons) == 5 and res.verdict == "agrees", [c.verdict for c in res.comparisons]
    for c in res.comparisons:
        assert abs(c.ours - 1.0) < 0.2 and 0 < c.error < 0.15, (c.quantity, c.ours, c.error)


def test_claim_order_does_not_depend_on_import_order(monkeypatch) -> None:
    """The claims are listed papers first in docs order, whatever module registered first (a
    doctest run imports cks20 before cpss22, which used to reorder --list and the error that
    lists the known ids): the registry is refilled with the papers' blocks in reverse order."""
    from rnndyn.reproduce import _core

    expected = [c.id for c in rp.claims()]
    keys = [i.split("-")[0] for i in expected]
    assert keys == sorted(keys, key=["cpss22", "cks20", "kcs22", "mmd22", "vpsl22"].index)
    blocks: dict[str, list] = {}
    for cid, claim in _core.REGISTRY.items():
        blocks.setdefault(claim.paper.key, []).append((cid, claim))
    reordered = [item for key in reversed(list(blocks)) for item in blocks[key]]
    monkeypatch.setattr(_core, "REGISTRY", dict(reordered))
    monkeypatch.setattr(rp, "REGISTRY", _core.REGISTRY)
    assert list(_core.REGISTRY)[0].startswith("vpsl22")
    assert [c.id for c in rp.claims()] == expected


# ----------------------------------------------------------------------------- figures
def test_claim_figure_labels_the_band_the_unit_circle_and_the_verdict() -> None:
    """The figure's oracle facts: the shaded band spans exactly paper ± the tolerance compare()
    used (and the legend names it), the unit circle drawn has radius 1, each row's title starts
    with its verdict, and the slow-mode panel's log axis has plain ticks at the alpha_z values."""
    import types

    import numpy as np

    from rnndyn.reproduce._figures import TOLERANCE_LABEL, build_claim_figure, equal_tolerance

    p = PaperValue("equal", 1.0, rel=0.05, source="s")
    c_ok, c_bad = compare("a", p, 1.02, 0.01), compare("b", p, 1.5, 0.01)
    t = np.linspace(0, 2 * np.pi, 30)
    cloud = {"label": "(3, 5, 0)", "re": [0.5], "im": [0.1], "bre": list(np.cos(t)), "bim": list(np.sin(t))}
    res = types.SimpleNamespace(
        id="x", mode="quick", verdict="partly", state="partly", comparisons=(c_ok, c_bad),
        claim=rp.get_claim("cks20-theorem41"), data={"clouds": [cloud]},
    )  # fmt: skip
    fig = build_claim_figure(res)
    ax0, row0, row1 = fig.axes
    assert TOLERANCE_LABEL in [t.get_text() for t in fig.legends[0].get_texts()]
    band = [p for p in row0.patches if p.get_label() == TOLERANCE_LABEL][0]
    x0, x1 = band.get_x(), band.get_x() + band.get_width()
    assert (x0, x1) == pytest.approx((1 - equal_tolerance(c_ok), 1 + equal_tolerance(c_ok)))
    assert equal_tolerance(c_ok) == pytest.approx(0.05)  # max(2 hypot(0.01, 0), 0.05 * 1, 0)
    assert row0.get_title(loc="left").startswith("AGREES")
    assert row1.get_title(loc="left").startswith("DISAGREES")
    assert "PARTLY" in fig._suptitle.get_text() and "disagrees: 1" in fig._suptitle.get_text()
    circle = [ln for ln in ax0.get_lines() if "unit circle" in ln.get_label()][0]
    assert np.hypot(*circle.get_data()) == pytest.approx(1.0)
    assert any("paper: support boundary" == ln.get_label() for ln in ax0.get_lines())

    res.claim = rp.get_claim("cks20-slow-modes")
    res.data = {"alpha_z": [5.0, 20.0], "ours": [0.2, 0.3], "paper": [0.2, 0.3]}
    ax = build_claim_figure(res).axes[0]
    assert ax.get_xscale() == "log" and [t.get_text() for t in ax.get_xticklabels()] == ["5", "20"]
    lap = {"t": [1, 2, 3, 4, 5], "base": [2, 4, 8, 16, 32], "rnn": [2, 4, 7, 13, 25], "fnn": [2, 3, 5, 8, 12],
           "rnn_q": [[2, 3, 6, 11, 20], [2, 5, 9, 15, 30]], "fnn_q": [[2, 3, 4, 6, 9], [2, 4, 6, 10, 15]]}  # fmt: skip
    res.claim, res.data = rp.get_claim("cpss22-lap-growth"), lap
    ax = build_claim_figure(res).axes[0]
    lo, hi = ax.get_ylim()
    ticks = [t.get_text() for t in ax.get_yticklabels() if lo <= t.get_position()[1] <= hi]
    assert ticks == ["2", "5", "10", "20"]  # was 2×10^0, 3×10^0, ... 6×10^1
    assert "RNN quartiles (25-75 %)" in [t.get_text() for t in ax.get_legend().get_texts()]


def test_run_claim_refuses_a_scheduler_for_a_claim_without_a_grid() -> None:
    """Before: the library ignored ``scheduler`` for claims that run no grid, as the CLI did."""
    assert not rp.get_claim(CHEAP).grid
    with pytest.raises(
        ValueError, match=r"`scheduler` applies only to claims that run a grid .*got scheduler='local'"
    ):
        rp.run_claim(CHEAP, scheduler="local")


def test_run_claim_names_a_bad_out_or_claim_before_running(tmp_path: Path) -> None:
    """Before: out= an existing file gave FileExistsError from mkdir, run_claim(3) an AttributeError."""
    (tmp_path / "f.txt").write_text("x")
    with pytest.raises(ValueError, match=r"`out` must be a folder; got .*f.txt', an existing file"):
        rp.run_claim(CHEAP, out=tmp_path / "f.txt")
    with pytest.raises(ValueError, match=r"`out` must be a folder; got .*f.txt', an existing file"):
        rp.run_all(out=tmp_path / "f.txt", ids=[CHEAP])
    with pytest.raises(TypeError, match="`out` must be a folder path .*; got int 3"):
        rp.run_claim(CHEAP, out=3)
    with pytest.raises(TypeError, match=r"`claim` must be a claim id \(str\) or a Claim; got int 3"):
        rp.run_claim(3)
    assert (tmp_path / "f.txt").read_text() == "x" and sorted(p.name for p in tmp_path.iterdir()) == ["f.txt"]
    # (writing into a folder: test_cli_one_entry_end_to_end)
    # a NumPy seed from a loop is accepted as the int it is (before: "`seed` must be an int; got int64")
    import numpy as np

    from rnndyn.reproduce import check_seed

    assert check_seed(np.int64(3)) == 3 and type(check_seed(np.int64(3))) is int
    with pytest.raises(ValueError, match="`seed` must be an int >= 0; got -1"):
        check_seed(np.int64(-1))

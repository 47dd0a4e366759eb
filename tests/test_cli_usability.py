"""The command line as a new user meets it: help that reads as prose at any terminal width, piped
output free of progress bars, and errors that name the option the user typed.

Help is rendered through typer's CliRunner at fixed widths (``COLUMNS`` in the runner's
environment), never the real terminal.
"""

from __future__ import annotations

import re

import pytest
import typer.rich_utils
from typer.testing import CliRunner

from rnndyn.cli import COMMANDS, app

runner = CliRunner()
_ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")
NARROW, WIDE = 64, 200


def _help(args: list[str], width: int, monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The lines of ``rnndyn ARGS --help`` rendered at ``width`` columns, no colour, no terminal."""
    monkeypatch.setattr(typer.rich_utils, "FORCE_TERMINAL", False)
    monkeypatch.setattr(typer.rich_utils, "COLOR_SYSTEM", None)
    res = runner.invoke(app, [*args, "--help"], env={"COLUMNS": str(width), "NO_COLOR": "1"})
    assert res.exit_code == 0, res.output
    lines = _ANSI.sub("", res.output).splitlines()
    assert max(len(line) for line in lines) <= width  # rendered at the width asked for
    return lines


def _panel(lines: list[str], title: str) -> list[str]:
    """The inner text of the rows of the panel ``title`` (without its borders)."""
    start = next(i for i, line in enumerate(lines) if line.startswith(f"╭─ {title} "))
    end = next(i for i in range(start, len(lines)) if lines[i].startswith("╰"))
    return [line[1:-1] for line in lines[start + 1 : end]]


def _unbroken(rows: list[str], width: int) -> list[str]:
    """Lines that end although their successor's first word would have fitted on them: a line
    break the renderer did not choose (a hard break inside the text). ``width`` is the space the
    text had; a greedy word wrap never leaves such a gap."""
    bad = []
    for line, nxt in zip(rows, rows[1:], strict=False):
        if line.strip() and nxt.strip():
            if len(line.rstrip()) + 1 + len(nxt.split()[0]) <= width:
                bad.append(f"{line.strip()!r} | {nxt.strip()!r}")
    return bad


def _summaries(lines: list[str]) -> dict[str, list[str]]:
    """Command name -> the lines of its summary in the Commands panel of ``rnndyn --help``."""
    rows = _panel(lines, "Commands")
    col = len(rows[0]) - len(rows[0].split(None, 1)[1]) if rows else 0  # where summaries start
    out: dict[str, list[str]] = {}
    name = ""
    for row in rows:
        if row[:col].strip():
            name = row[:col].strip()
            out[name] = []
        out[name].append(row[col:].rstrip())
    return out


def test_every_command_is_listed_with_a_one_sentence_summary(monkeypatch) -> None:
    wide = _summaries(_help([], WIDE, monkeypatch))
    assert list(wide) == [name for name, _, _ in COMMANDS]
    for name, rows in wide.items():
        # at 200 columns every summary fits on one line, so a second line is a hard break
        assert len(rows) == 1, (name, rows)
        assert rows[0].endswith(".") and rows[0][0].isupper(), (name, rows)
    standard = _summaries(_help([], 80, monkeypatch))  # concise: one line on an 80-column terminal
    assert {name: len(rows) for name, rows in standard.items()} == {name: 1 for name in wide}
    narrow = _summaries(_help([], NARROW, monkeypatch))
    width = max(len(r) for rows in narrow.values() for r in rows)
    for name, rows in narrow.items():
        assert _unbroken(rows, width) == [], name
        assert " ".join(" ".join(rows).split()) == wide[name][0]  # same prose, only rewrapped


def test_each_command_help_is_prose_wrapped_by_the_terminal(monkeypatch) -> None:
    width = NARROW  # the summaries are checked at both widths; one suffices for the paragraphs
    for name, func, _ in COMMANDS:
        lines = _help([name], width, monkeypatch)
        usage = next(i for i, line in enumerate(lines) if "Usage: rnndyn" in line)
        panel = next(i for i, line in enumerate(lines) if line.startswith("╭─"))
        text = [line[1:] for line in lines[usage + 1 : panel]]  # the description, one-space margin
        paragraphs = " ".join(line.strip() or "\n" for line in text).split("\n")
        assert sum(bool(p.strip()) for p in paragraphs) == func.__doc__.strip().count("\n\n") + 1, name
        assert _unbroken(text, width - 2) == [], (name, width)


_BAR = re.compile(r"\d:\d\d:\d\d\s*$", re.MULTILINE)  # a line ending in a bar's elapsed time


@pytest.mark.parametrize(
    "args",
    [
        ["chaos", "--widths", "2,3", "--n-networks", "3", "--init", "he", "--activation", "relu",
         "--scrambling-steps", "30", "--persistence-trials", "3"],
    ],
)  # fmt: skip
def test_progress_bars_leave_nothing_in_redirected_output(args) -> None:
    """Run without a terminal (as in a pipe or CI): the bars, which were printed on stdout in
    their final state (here the chaos table was preceded by 'he/relu ━━━━ 6/6 0:00:00'), leave
    nothing, and the results are all there."""
    res = runner.invoke(app, args)
    assert res.exit_code == 0, res.output
    assert not _BAR.search(res.output), res.output
    first = res.output.strip().splitlines()[0]
    assert first.strip().startswith("scalar he/relu: P(period3)"), first


@pytest.mark.parametrize(
    ("args", "expected"),
    [  # each named the library's argument before: n_steps, n_trajectories, k, n_states, at, ...
        (["lyapunov", "-n", "4", "--steps", "-5"], "`--steps` must be an int >= 1; got -5"),
        (["lyapunov", "-n", "4", "--trajectories", "0"], "`--trajectories` must be an int >= 1; got 0"),
        (["analyze", "-n", "4", "-k", "0"], "`--k` must be an int >= 1; got 0"),
        (["spectrum", "-n", "4", "--states", "0"], "`--states` must be an int >= 1; got 0"),
        (["spectrum", "-n", "4", "--at", "fixed"], "`--at` must be 'trajectory' or 'fixed-points'; got 'fixed'"),
        (["spectrum", "-n", "4", "--input", "1,2"], "`--input` applies only to a model with inputs"),
        (["spectrum", "-m", "henon", "--continuous"], "`--continuous` needs a flow"),
        (["fixed-points", "-n", "4", "-p", "input_size=2", "--input", "1"], "`--input` must hold 2 numbers"),
        (["fixed-points", "-n", "4", "--optimiser", "bfgs"], "`--optimiser` must be one of 'lm', 'adam'; got 'bfgs'"),
        (["fixed-points", "-n", "4", "--starts", "0"], "`--starts` must be an int >= 1; got 0"),
        (["meanfield", "gru", "--g-h", "-1"], "`--g-h` must be in (0.0, inf]; got -1.0"),
        (["meanfield", "gradients", "--law", "adj"], "`--law` must be one of constant_gate, binary_gate, adjoint"),
        (["meanfield", "ageing", "--horizon", "-1"], "`--horizon` must be in (0.0, inf]; got -1.0"),
        # before: '`lag` must be at most `--horizon` (2.0); got 10.0', and lag is no option of the command
        (["meanfield", "ageing", "--horizon", "2"], "`--horizon` must be >= 10 for KIND ageing"),
        (["simulate", "-m", "lorenz63", "--dt", "0"], "`--dt` must be in (0.0, inf]; got 0.0"),
        (["simulate", "-m", "lorenz63", "--method", "rk45"], "`--method` must be one of 'euler', 'heun', 'rk4'"),
        (["simulate", "-n", "4", "-p", "g_h=-1"], "`-p g_h` must be in [0.0, inf]; got -1"),
        (["simulate", "-m", "[bold]x"], "(see `rnndyn models`); got '[bold]x'"),
        # before: ignored without a word (--store without --clv wrote no store)
        (["lyapunov", "-n", "4", "--record-every", "3", "--store", "c.zarr"],
         "`--record-every`, `--store` apply only with --clv; got --record-every --store without it"),
        (["simulate", "-n", "4", "--batch-first"], "`--batch-first/--time-first` applies only with --inputs"),
        # before: NumPy wrote t.txt.npz while the command said 'wrote t.txt'
        (["simulate", "-n", "4", "--npz", "t.txt"], "`--npz` must end in .npz; got 't.txt' (NumPy would write 't.txt.npz')"),
        (["report", "-n", "4", "--time-first"], "`--batch-first/--time-first` applies only with --inputs; got --time-first"),
        # before: a near miss got only the list of 21 names
        (["simulate", "-m", "GRU"], "got 'GRU'; did you mean 'gru'?"),
        (["simulate", "-m", "gru-critical"], "got 'gru-critical'; did you mean 'gru_critical'?"),
        (["analyze", "-m", "lorenz"], "got 'lorenz'; did you mean 'lorenz96' or 'lorenz63'?"),
        (["simulate", "-n", "4", "-p", "alphaz=2"], "did you mean 'alpha_z' or 'alpha_r' (for alphaz)?"),
        # -p generator/device/dtype were accepted, ignored, and shown in the model's label
        (["simulate", "-n", "4", "-p", "device=meta"], "does not take ['device']"),
        (["simulate", "-n", "4", "-p", "generator=1"], "generator is not a -p parameter (use --seed)"),
    ],
)  # fmt: skip
def test_errors_name_the_option_typed(args, expected) -> None:
    res = runner.invoke(app, args)
    assert res.exit_code == 2, res.output
    lines = [line for line in res.output.splitlines() if line.strip()]
    assert lines[0].startswith("error: "), res.output  # the error alone: no 'analysed:' line first
    assert expected in " ".join(res.output.split())
    assert "Traceback" not in res.output


@pytest.mark.parametrize(
    ("args", "expected", "not_called"),
    [  # before: the library found these after the work had started (or every sweep point failed)
        (["chaos", "--widths", "2", "--n-networks", "2", "--scrambling-steps", "0"],
         "`--scrambling-steps` must be an int >= 2; got 0", "rnndyn.chaos.chaos_probability"),
        (["chaos", "--widths", "2,0"], "`--widths` must be ints >= 1; got 0", "rnndyn.chaos.chaos_probability"),
        (["chaos", "--init", "kaiming"], "`--init` must be one of", "rnndyn.chaos.chaos_probability"),
        (["train", "--epochs", "0"], "`--epochs` must be an int >= 1; got 0", "rnndyn.training.chaotic_series"),
        (["train", "--hidden", "0"], "`--hidden` must be an int >= 1; got 0", "rnndyn.training.chaotic_series"),
        (["train", "--data", "lorenz96"], "`--data` must be one of 'lorenz63', 'lorenz63_rho38', 'rossler', "
         "'duffing', 'digits', 'mnist', 'copy'; got 'lorenz96'", "rnndyn.training.chaotic_series"),
        (["train", "--data", "mnist", "--images", "{d}"], "`--images` must be an existing file",
         "rnndyn.training.mnist_task"),
        (["sweep", "-m", "vanilla", "-g", "gain=1,2", "--store", "{d}/s.zarr", "--scheduler", "sync"],
         "`--grid` axes must be parameters of vanilla: g, ", "rnndyn.sweeps.sweep"),
        (["sweep", "-m", "vanilla", "-g", "g=1:2:x", "--store", "{d}/s.zarr", "--scheduler", "sync"],
         "`--grid` name=start:stop:num needs two numbers and an int count; got 'g=1:2:x'", "rnndyn.sweeps.sweep"),
        # before: the second -g g=... silently replaced the first (a 1-point sweep at g=2), and an
        # empty axis was named as the library's `grid['g']`
        (["sweep", "-m", "vanilla", "-g", "g=1", "-g", "g=2", "--store", "{d}/s.zarr", "--scheduler", "sync"],
         "`--grid` must name each axis once; got 'g' twice", "rnndyn.sweeps.sweep"),
        (["sweep", "-m", "vanilla", "-g", "g=", "--store", "{d}/s.zarr", "--scheduler", "sync"],
         "`--grid` axis 'g' must have at least one value; got 'g='", "rnndyn.sweeps.sweep"),
        # before: 'No such option: -k' (analyze and lyapunov take -k)
        (["sweep", "-m", "vanilla", "-g", "g=1", "-k", "0", "--store", "{d}/s.zarr", "--scheduler", "sync"],
         "`--k` must be an int >= 1; got 0", "rnndyn.sweeps.sweep"),
        # before: -k above the state size failed at every point, after the whole sweep had run
        (["sweep", "-n", "4", "-g", "g=1", "-k", "100", "--store", "{d}/s.zarr", "--scheduler", "sync"],
         "`-k` must be <= the state size (4, vanilla at -n 4); got -k 100", "rnndyn.sweeps.sweep"),
        (["sweep", "-m", "lstm", "-g", "n=3,8", "-k", "7", "--store", "{d}/s.zarr", "--scheduler", "sync"],
         "`-k` must be <= the state size (6, lstm at the grid's smallest n=3); got -k 7", "rnndyn.sweeps.sweep"),
        (["sweep", "-m", "vanilla", "-g", "g=1", "--steps", "0", "--store", "{d}/s.zarr", "--scheduler", "sync"],
         "`--steps` must be an int >= 1; got 0", "rnndyn.sweeps.sweep"),
        (["sweep", "-m", "vanilla", "-p", "gain=2", "-g", "g=1", "--store", "{d}/s.zarr", "--scheduler", "sync"],
         "does not take ['gain']", "rnndyn.sweeps.sweep"),
        (["phase-diagram", "--simulate", "--steps", "0", "--g-h", "1:2:2", "--alpha-r", "0:1:2"],
         "`--steps` must be an int >= 1; got 0", None),
        # before: 'got np.float64(-1.0) at index 0'
        (["phase-diagram", "--g-h", "-1:2:2", "--alpha-r", "0:1:2"],
         "`--g-h` must lie in (0.0, inf); got -1.0 at index 0", None),
        # before: a folder as --checkpoint died with an IsADirectoryError traceback after the data was made
        (["train", "--checkpoint", "{d}"], "`--checkpoint` must be a file path; got", "rnndyn.training.chaotic_series"),
        # before: another task's or model's options were ignored without a word
        (["train", "--data", "digits", "--max-samples", "10"],
         "`--max-samples` applies only with --data mnist; got --max-samples without it", "rnndyn.training.digits_task"),
        (["train", "--horizons", "4,8"], "`--horizons` applies only with --gradients", "rnndyn.training.chaotic_series"),
        (["train", "--target", "0.5"], "`--target` applies only with a classification task",
         "rnndyn.training.chaotic_series"),
        (["train", "--data", "digits", "--g-h", "3"], "`--g-h` applies only with -m cks-gru", "rnndyn.training.digits_task"),
        # before: --target 2 trained 100 epochs and said 'never reached 200%'
        (["train", "--data", "digits", "--target", "2"], "`--target` must be in (0.0, 1.0]; got 2.0",
         "rnndyn.training.digits_task"),
    ],
)  # fmt: skip
def test_bad_options_stop_before_any_work(tmp_path, monkeypatch, args, expected, not_called) -> None:
    if not_called is not None:

        def refuse(*a, **k):
            raise AssertionError(f"{not_called} was called before the options were checked")

        monkeypatch.setattr(not_called, refuse)
    res = runner.invoke(app, [a.replace("{d}", str(tmp_path)) for a in args])
    assert res.exit_code == 2, res.output
    text = " ".join(res.output.split())
    assert text.startswith("error: ") and text.count("error:") == 1, text
    assert expected in text
    assert not list(tmp_path.glob("s.zarr*"))  # no store (nor its lock) created


@pytest.mark.parametrize(
    ("args", "expected"),
    [  # before: 'reproduce foo' asked for --out; a file as --out or a folder as --json ran the claim
        # and then died with a FileExistsError / IsADirectoryError traceback
        (
            ["reproduce", "foo"],
            "`CLAIM_ID` 'foo' is not registered; it must be one of cpss22-period3-vs-width, ",
        ),
        (["reproduce", "cks20-zero-fp", "--out", "{d}/f.txt"], "`--out` must be a folder; got"),
        (
            ["reproduce", "cks20-zero-fp", "--out", "{d}/o", "--json", "{d}"],
            "`--json` must be a file path; got",
        ),
        (["reproduce", "--list", "--all"], "`--list` only lists the claims; got it with --all"),
    ],
)
def test_reproduce_refuses_bad_input_before_running(tmp_path, monkeypatch, args, expected) -> None:
    def refuse(*a, **k):
        raise AssertionError("run_claim was called before the input was checked")

    monkeypatch.setattr("rnndyn.reproduce.run_claim", refuse)
    (tmp_path / "f.txt").write_text("x")
    res = runner.invoke(app, [a.replace("{d}", str(tmp_path)) for a in args])
    assert res.exit_code == 2, res.output
    text = " ".join(res.output.split())
    assert text.startswith("error: ") and expected in text and "Traceback" not in text


def test_reproduce_list_shows_why_a_claim_cannot_run(monkeypatch) -> None:
    """A claim's status was printed in [...] inside rich markup and vanished from the table.
    Every registered claim now computes, so an entry that needs code is registered for the test."""
    import dataclasses

    import rnndyn.reproduce as rp
    from rnndyn.reproduce import _core

    demo = dataclasses.replace(
        _core.get_claim("kcs22-dmft-onset"),
        id="kcs22-needs-demo",
        compute=None,
        plot=None,
        needs="code it lacks",
    )
    monkeypatch.setitem(_core.REGISTRY, demo.id, demo)
    pending = {c.id: c.status for c in rp.claims() if c.compute is None}
    assert pending == {"kcs22-needs-demo": "needs code it lacks"}
    res = runner.invoke(app, ["reproduce", "--list"])
    assert res.exit_code == 0, res.output
    text = " ".join(res.output.replace("│", " ").split())
    for status in pending.values():
        assert f"[{status.split()[0]} " in text, status


@pytest.mark.parametrize("seed", ["-3", "99999999999999999999"])
def test_seed_out_of_range_is_refused_by_name(tmp_path, monkeypatch, seed) -> None:
    """Before: a negative seed ran (simulate, chaos) or failed as 'expected non-negative integer'
    (sweep, from NumPy), a huge one as 'Overflow when unpacking long long' (torch)."""

    def refuse(*a, **k):
        raise AssertionError("the sweep ran with an invalid seed")

    monkeypatch.setattr("rnndyn.sweeps.sweep", refuse)
    for args in (
        ["simulate", "-n", "2", "--steps", "2"],
        ["sweep", "-m", "vanilla", "-g", "g=1", "--store", str(tmp_path / "s.zarr"), "--scheduler", "sync"],
    ):
        res = runner.invoke(app, [*args, "--seed", seed])
        assert res.exit_code == 2, res.output
        text = " ".join(res.output.replace("│", " ").split())
        assert "Invalid value for '--seed'" in text, text
        assert ("greater than or equal to 0" if seed.startswith("-") else "less than or equal to") in text


@pytest.mark.parametrize(("model", "state"), [("gated", 12), ("lstm", 8)])
def test_model_label_gives_n_as_typed_and_the_larger_state_size(model, state) -> None:
    """Before: `-m gated -n 4` was labelled 'gated (n=12, ...)', its state size (h, z, r)."""
    from rnndyn.cli._common import ModelFlags, resolve_model

    choice = resolve_model(ModelFlags(model=model, n=4), seed=0, device="cpu")
    assert choice.system.state_size == state
    assert choice.label.startswith(f"{model} (n=4, state size {state}, "), choice.label
    assert resolve_model(ModelFlags(model="gru", n=4), seed=0, device="cpu").label.startswith(
        "gru (n=4, g_h="
    )


def test_model_label_prints_verbatim_on_one_line() -> None:
    """A preset's label 'gru_chaotic [gru] (...)' lost '[gru]' (read as rich markup), and the
    tables' titles wrapped the label to the table's width (~35 columns for Lyapunov exponents,
    ~65 for fixed points) even on a 200-column terminal."""
    label = "gru_chaotic [gru] (n=3, g_h=3, alpha_z=1, alpha_r=10, bias_z=0, bias_r=0, bias_h=0, bias_std=0)"
    res = runner.invoke(app, ["simulate", "-m", "gru_chaotic", "-n", "3", "--steps", "2", "--transient", "1"])
    assert res.exit_code == 0, res.output
    assert res.output.startswith(f"{label} state_size=3"), res.output
    # the table headings (Lyapunov, CLV, fixed points, spectrum) are one code path each; fixed
    # points is the cheap one to run
    res = runner.invoke(
        app, ["fixed-points", "-m", "gru_chaotic", "-n", "3", "--starts", "2", "--no-progress"]
    )
    assert res.exit_code == 0, res.output
    assert f"\nfixed points: {label}\n" in res.output, res.output


def test_diverged_run_says_why_out_stays_empty(tmp_path) -> None:
    """A diverging network (ReLU, g = 10) has no exponents to plot: --out used to stay empty
    without a word about it (exit 0 with the documented 'diverged' warning is kept)."""
    args = ["lyapunov", "-m", "vanilla", "-n", "6", "-p", "g=10", "-p", "activation=relu", "--steps", "20",
            "--transient", "5", "--trajectories", "1", "--no-progress", "--out", str(tmp_path / "f")]  # fmt: skip
    res = runner.invoke(app, args)
    assert res.exit_code == 0, res.output
    text = " ".join(res.output.split())
    assert "status diverged" in text and "no figures written: the run diverged" in text
    assert list((tmp_path / "f").iterdir()) == []


def test_inputs_error_says_how_a_3d_file_was_read(tmp_path) -> None:
    """A (B, T, d) file with a state dict (torch's default: time-first) failed as 'T = 2' with no
    word on the layout it was read in; the error is also one line however long."""
    import numpy as np
    import torch

    torch.save(torch.nn.GRU(3, 4).state_dict(), tmp_path / "gru.pt")
    np.save(tmp_path / "x.npy", np.zeros((2, 40, 3)))
    for cmd in ("lyapunov", "simulate"):
        res = runner.invoke(app, [cmd, "--torch-model", str(tmp_path / "gru.pt"), "--inputs",
                                  str(tmp_path / "x.npy"), "--steps", "20", "--transient", "5"])  # fmt: skip
        assert res.exit_code == 2, res.output
        lines = res.output.strip().splitlines()
        # the library's 'n_transient + n_steps' in plain text is named by its options too
        assert lines[0].startswith("error: `--inputs` must cover --transient + --steps = 25 steps; got T = 2")
        assert len(lines) == 1, res.output
        assert lines[0].endswith(
            "(3-D --inputs of shape (2, 40, 3) were read as (T, B, d), the module's batch_first=False; "
            "pass --batch-first if not)"
        ), lines[0]
        ok = runner.invoke(app, [cmd, "--torch-model", str(tmp_path / "gru.pt"), "--inputs",
                                 str(tmp_path / "x.npy"), "--steps", "20", "--transient", "5", "--batch-first"])  # fmt: skip
        assert ok.exit_code == 0, ok.output
    # analyze: the library's own hint (batch_first=True, for Python callers) gives way to the
    # command line's, once, and the library's layout warning is not printed (the table says it)
    res = runner.invoke(app, ["analyze", "--torch-model", str(tmp_path / "gru.pt"), "--inputs",
                              str(tmp_path / "x.npy"), "--transient", "5", "--no-progress"])  # fmt: skip
    assert res.exit_code == 2, res.output
    line = res.output.strip().splitlines()[-1]
    assert line.startswith("error: `--transient` must be smaller than the inputs' length T = 2; got 5"), line
    assert "batch_first=True" not in res.output and "warning" not in res.output
    assert line.endswith("pass --batch-first if not)") and line.count("pass --") == 1, line
    # with --batch-first the loader's 'assumed batch_first=False' row is gone (it contradicted the
    # inputs row); without it the row says what was assumed
    args = ["analyze", "--torch-model", str(tmp_path / "gru.pt"), "--inputs", str(tmp_path / "x.npy"),
            "--transient", "5", "--no-progress", "--skip", "fixed-points", "--skip", "spectrum"]  # fmt: skip
    given = runner.invoke(app, [*args, "--batch-first"], env={"COLUMNS": "200"})
    assert given.exit_code == 0 and "assumed" not in given.output, given.output
    assert "read as (B, T, d) (given (batch_first argument))" in given.output


@pytest.mark.parametrize(
    ("args", "flag", "not_called"),
    [  # before: --zarr DIR --force / --store DIR --fresh deleted every file in DIR
        (["phase-diagram", "--g-h", "1.5:3:2", "--alpha-r", "0:1:2", "--zarr", "{d}", "--force"], "--zarr",
         "rnndyn.phases.phase_diagram"),
        (["sweep", "-m", "vanilla", "-g", "g=1", "--store", "{d}", "--fresh", "--scheduler", "sync"], "--store",
         "rnndyn.sweeps.sweep"),
    ],
)  # fmt: skip
def test_a_folder_of_other_files_is_never_replaced(tmp_path, monkeypatch, args, flag, not_called) -> None:
    def refuse(*a, **k):
        raise AssertionError(f"{not_called} was called on a folder that is no Zarr store")

    monkeypatch.setattr(not_called, refuse)
    folder = tmp_path / "results"
    folder.mkdir()
    (folder / "notes.txt").write_text("keep me")
    res = runner.invoke(app, [a.replace("{d}", str(folder)) for a in args])
    assert res.exit_code == 2, res.output
    assert (
        f"`{flag}` must be a new path or a Zarr store; got {str(folder)!r}, a folder that holds no Zarr store"
        in (" ".join(res.output.split()))
    )
    assert (folder / "notes.txt").read_text() == "keep me"


def test_default_steps_in_the_help_are_the_steps_run(monkeypatch) -> None:
    """`rnndyn lyapunov --help` said 'default 1000' (the text shared with analyze) and ran 2000.
    The library call is intercepted with the steps it was given (no run needed)."""
    import rnndyn.lyapunov

    class Given(Exception):
        pass

    def capture(system, *, n_steps, **kwargs):
        raise Given(n_steps)

    monkeypatch.setattr(rnndyn.lyapunov, "lyapunov_spectrum", capture)
    for cmd in ("lyapunov", "analyze"):
        text = " ".join(runner.invoke(app, [cmd, "--help"]).output.split())
        said = int(re.search(r"--steps <int> Averaged steps \(default (\d+),", text).group(1))
        res = runner.invoke(app, [cmd, "-m", "henon", "--no-progress"])
        assert isinstance(res.exception, Given), res.output
        assert res.exception.args[0] == said, (cmd, said, res.exception.args[0])


def test_dt_and_method_are_for_flows_only() -> None:
    """--dt/--method were accepted and ignored for maps (a GRU has no time step); for a flow they
    now show in the label, since the exponents depend on them."""
    for extra in (["--dt", "0.01"], ["--method", "euler"]):
        res = runner.invoke(app, ["simulate", "-m", "henon", "--steps", "2", *extra])
        assert res.exit_code == 2, res.output
        assert (
            "`--dt`/`--method` apply only to flows" in res.output and f"got {' '.join(extra)}" in res.output
        )
    res = runner.invoke(
        app, ["simulate", "-m", "lorenz63", "--steps", "2", "--transient", "1", "--dt", "0.01"]
    )
    assert res.exit_code == 0, res.output
    assert res.output.startswith(
        "lorenz63 (sigma=10, rho=28, beta=2.66667, dt=0.01, method=rk4) "
    )  # :g, not 17 digits


def test_models_table_says_which_models_take_dt() -> None:
    res = runner.invoke(app, ["models"])
    kinds = {}
    for line in res.output.splitlines():
        cells = [c.strip() for c in line.split("│")[1:-1]]
        if len(cells) == 5 and cells[0] and cells[2]:
            kinds[cells[0]] = cells[2]
    assert kinds["gru"] == "map" and kinds["lorenz63"] == "flow (--dt, --method)", kinds
    for name in ("logistic", "rossler"):  # the table's word is what simulate does with --dt
        out = runner.invoke(app, ["simulate", "-m", name, "--steps", "2", "--transient", "1", "--dt", "0.02"])
        assert out.exit_code == (0 if kinds[name].startswith("flow") else 2), (name, out.output)


def test_simulate_names_the_transient_when_the_inputs_are_shorter(tmp_path) -> None:
    """Inputs of 120 steps with the default --transient 200: the error used to read 'must cover
    --transient + --steps = 120 steps; got T = 120' (the cause, the transient, unnamed)."""
    import numpy as np
    import torch

    torch.save(torch.nn.GRU(1, 4).state_dict(), tmp_path / "gru.pt")
    np.save(tmp_path / "x.npy", np.zeros((2, 120, 1)))
    args = ["simulate", "--torch-model", str(tmp_path / "gru.pt"), "--inputs", str(tmp_path / "x.npy"),
            "--batch-first", "--npz", str(tmp_path / "t.npz")]  # fmt: skip
    res = runner.invoke(app, args)
    assert res.exit_code == 2 and not (tmp_path / "t.npz").exists()
    assert res.output.strip() == (
        "error: `--transient` must be shorter than the --inputs' T = 120 steps; got 200 "
        "(pass --transient N with N < 120)"
    )
    ok = runner.invoke(app, [*args, "--transient", "20"])
    assert ok.exit_code == 0, ok.output
    assert np.load(tmp_path / "t.npz")["trajectory"].shape[:2] == (2, 100)


def test_no_help_page_gives_a_flag_a_value_type(monkeypatch) -> None:
    """typer's rich help showed every boolean flag (``--force``, ``--progress/--no-progress``,
    ``--help``) with a ``<bool>`` type, as if it took a value; a flag's row has no type now, while
    options that take a value keep theirs."""
    pages = {
        name: "\n".join(_help(name.split(), WIDE, monkeypatch)) for name in ("", *(n for n, _, _ in COMMANDS))
    }
    for name, page in pages.items():
        assert f"Usage: rnndyn {name}".strip() in page, name
        assert "<bool>" not in page, (name, [line for line in page.splitlines() if "<bool>" in line])
        assert re.search(r"--help\s+Show this message", page), name
    assert re.search(r"--version\s+Show the version", pages[""])
    assert re.search(r"--force\s+Overwrite", pages["lyapunov"])
    assert re.search(r"--progress\s+--no-progress\s+Show", pages["lyapunov"])
    assert re.search(r"--steps\s+<int>\s+Averaged", pages["lyapunov"])  # a value keeps its type


def test_readme_lists_each_commands_defaults_as_the_help_shows_them() -> None:
    """README (command line) names the defaults that differ between commands for the same quantity;
    they are read here from the options themselves (the value, or 'default N' in the help)."""
    import re
    from pathlib import Path

    import typer

    root = typer.main.get_command(app)

    def default(cmd: str, flag: str) -> int:
        param = next(p for p in root.commands[cmd].params if flag in p.opts)
        return param.default if param.default is not None else int(re.search(r"default (\d+)", param.help)[1])

    groups = {  # README phrase -> {(command, option): value stated}
        "averaged Lyapunov steps": [("analyze", "--steps"), ("report", "--steps"), ("phase-diagram", "--steps"),
                                    ("lyapunov", "--steps"), ("sweep", "--steps")],
        "transient steps": [(c, "--transient") for c in ("analyze", "report", "lyapunov", "spectrum",
                                                          "phase-diagram", "simulate", "fixed-points", "sweep")],
        "fixed-point starts": [("analyze", "--fp-starts"), ("fixed-points", "--starts"), ("phase-diagram", "--fp-starts")],
    }  # fmt: skip
    readme = " ".join((Path(__file__).resolve().parents[1] / "README.md").read_text().split())
    readme = readme[readme.index("Defaults are sized for each command's job") :]
    for phrase, options in groups.items():
        sentence = readme[readme.index(phrase) :].split(";")[0]
        for cmd, flag in options:
            value = default(cmd, flag)
            # the command is listed after its value and before the next value
            stated = re.findall(r"(\d+)(?: per point)? \(([^)]*)\)", sentence)
            assert any(cmd in names.replace("`", "").split(", ") or f"{cmd} {flag}" in names.replace("`", "")
                       for v, names in stated if int(v) == value), (phrase, cmd, flag, value, stated)  # fmt: skip


def test_meanfield_onset_says_why_lambda_at_onset_is_undefined(monkeypatch) -> None:
    """Before: the table printed 'lambda_max at onset  nan' with status success (a continuous
    transition has no chaotic solution at the onset to measure). The solver's result for
    alpha_r = 0 (1.5 s) is stood in for: this checks the display."""
    from rnndyn.meanfield import dmft

    continuous = dmft.ChaosOnsetResult(
        alpha_r=0.0, g_c=2.0, discontinuous=False, c_h0_at_onset=0.0, lambda_at_onset=float("nan"),
        bracket=(1.999, 2.0), status="success", message="continuous transition at the zero-FP line g_h = 2",
    )  # fmt: skip
    monkeypatch.setattr(dmft, "chaos_onset", lambda alpha_r, progress=None: continuous)
    res = runner.invoke(app, ["meanfield", "onset", "--alpha-r", "0"])
    assert res.exit_code == 0, res.output
    text = " ".join(res.output.replace("│", " ").split())
    assert "nan" not in text and "not defined (continuous transition" in text


def test_fixed_points_census_names_the_options_typed() -> None:
    """Before: an incomplete census said 'more starts (n_initial=32) may find more' and
    '> completeness_tol = 0.01', the library's argument names."""
    res = runner.invoke(app, ["fixed-points", "-m", "henon", "--starts", "4", "--no-progress"])
    assert res.exit_code == 0, res.output
    text = " ".join(res.output.split())
    assert "n_initial" not in text and "completeness_tol" not in text
    assert "more starts (--starts 16) may find more" in text and "> --completeness-tol = 0.01" in text


def test_library_warnings_print_as_one_line_without_source(capsys: pytest.CaptureFixture[str]) -> None:
    """A library warning reaches the command's user as ``warning: <message>`` on stderr, without
    Python's file path, line number and source line (and a message with brackets is not taken for
    rich markup)."""
    import warnings

    from rnndyn.cli import _root

    with warnings.catch_warnings():
        warnings.simplefilter("always")
        _root(version=False)
        warnings.warn(
            "the previous sweep on s.zarr [pid 12] ended without releasing its lock",
            UserWarning,
            stacklevel=2,
        )
    err = capsys.readouterr().err
    assert err.strip() == "warning: the previous sweep on s.zarr [pid 12] ended without releasing its lock"

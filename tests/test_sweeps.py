"""Sweeps: deterministic per-point seeds, failures kept as rows, and the fault model of docs/sweeps.md
(kill at every write position, damaged chunks, spec mismatch, poison points, concurrent sweeps)."""

from __future__ import annotations

import json
import multiprocessing
import os
import signal
import time
import warnings
from pathlib import Path

import numpy as np
import pytest
import xarray as xr

import rnndyn as rd
from rnndyn import sweeps
from rnndyn.sweeps import SchedulerUnreachableError, SweepLockedError, SweepSpecError, point_seed

CALLS: list[tuple[float, int]] = []
STOP_AT: list[float] = []  # _f raises KeyboardInterrupt at these values of a (simulates Ctrl-C)


def _f(p, seed):
    if p["a"] in STOP_AT:
        raise KeyboardInterrupt
    CALLS.append((p["a"], seed))
    if p["a"] < 0:
        raise ValueError("negative a")
    rng = np.random.default_rng(seed)
    return {"y": p["a"] * p["b"], "noise": rng.normal(size=2)}


def _fork(target, *args) -> int:
    """Run ``target(*args)`` in a forked child (no re-import of torch); its exit code."""
    proc = multiprocessing.get_context("fork").Process(target=target, args=args)
    proc.start()
    proc.join(120)
    assert proc.exitcode is not None, "child did not finish"
    return proc.exitcode


def _identical_bitwise(a: xr.Dataset, b: xr.Dataset) -> None:
    xr.testing.assert_identical(a, b)
    for name in a.data_vars:
        assert a[name].values.tobytes() == b[name].values.tobytes(), name


def test_results_failures_and_seeds(tmp_path) -> None:
    ds = rd.sweep(
        _f,
        {"a": [-1.0, 1.0, 2.0], "b": [3, 4]},
        store=tmp_path / "s.zarr",
        n_seeds=2,
        base_seed=7,
        scheduler="sync",
        progress=False,
    )
    assert ds["y"].sel(a=2.0, b=4).values.tolist() == [8.0, 8.0]
    assert np.isnan(ds["y"].sel(a=-1.0).values).all()
    assert (ds["status"].sel(a=-1.0).values == "failed").all()
    assert (ds["message"].sel(a=-1.0).values == "ValueError: negative a").all()
    assert (ds["status"].sel(a=1.0).values == "success").all()
    # each point's seed is a pure function of (base_seed, flat index) and drives its outputs;
    # recorded value: a changed seed rule (or index order) changes every sweep's numbers
    flat = 1 * 4 + 1 * 2 + 1  # a index 1, b index 1, seed 1 in shape (3, 2, 2)
    assert point_seed(7, flat) == 1750529956
    assert point_seed(0, 0) == 2968811710
    assert ds["point_seed"].values[1, 1, 1] == 1750529956
    np.testing.assert_array_equal(
        ds["noise"].values[1, 1, 1], np.random.default_rng(1750529956).normal(size=2)
    )
    spec = json.loads(ds.attrs["sweep_spec"])
    assert spec["function"] == {"function": "test_sweeps._f"} or spec["function"]["function"].endswith("._f")
    assert spec["grid"] == {"a": [-1.0, 1.0, 2.0], "b": [3, 4]} and spec["base_seed"] == 7
    assert spec["rnndyn_version"] == rd.__version__


def test_resume_skips_finished_points_and_gives_the_same_numbers(tmp_path) -> None:
    grid = {"a": [1.0, 2.0, 3.0, 4.0], "b": [1]}
    ref = rd.sweep(_f, grid, store=tmp_path / "ref.zarr", n_seeds=2, scheduler="sync", progress=False)
    store = tmp_path / "r.zarr"
    STOP_AT[:] = [3.0]
    try:
        with pytest.raises(KeyboardInterrupt):
            rd.sweep(_f, grid, store=store, n_seeds=2, scheduler="sync", progress=False)
    finally:
        STOP_AT.clear()
    CALLS.clear()
    ds = rd.sweep(_f, grid, store=store, n_seeds=2, scheduler="sync", progress=False)
    assert sorted({a for a, _ in CALLS}) == [3.0, 4.0]  # finished points were not recomputed
    assert len(CALLS) == 4
    _identical_bitwise(ds, ref)  # the resumed numbers are the first run's


def test_dask_local_cluster_matches_sync(tmp_path) -> None:
    grid = {"a": [1.0, 2.0], "b": [5, 6]}
    a = rd.sweep(_f, grid, store=tmp_path / "a.zarr", scheduler="sync", progress=False)
    b = rd.sweep(_f, grid, store=tmp_path / "b.zarr", scheduler="threads", n_workers=2, progress=False)
    _identical_bitwise(a, b)


def test_bad_grid_and_mismatched_store(tmp_path) -> None:
    with pytest.raises(ValueError, match="`grid` must be a non-empty mapping"):
        rd.sweep(_f, {}, store=tmp_path / "x.zarr", scheduler="sync")
    # before: a list was a ValueError, and an int axis name became a dimension named 1
    with pytest.raises(
        TypeError, match=r"`grid` must be a mapping name -> sequence of values, .*; got list \[1, 2\]"
    ):
        rd.sweep(_f, [1, 2], store=tmp_path / "x.zarr", scheduler="sync")
    with pytest.raises(TypeError, match="`grid` axis names must be non-empty strings; got int 1"):
        rd.sweep(_f, {1: [1.0]}, store=tmp_path / "x.zarr", scheduler="sync")
    with pytest.raises(ValueError, match=r"`grid\['a'\]` must be finite"):
        rd.sweep(_f, {"a": [1.0, float("nan")]}, store=tmp_path / "x.zarr", scheduler="sync")
    with pytest.raises(ValueError, match="`time_limit`"):
        rd.sweep(_f, {"a": [1.0]}, store=tmp_path / "x.zarr", scheduler="sync", time_limit=-1)
    store = tmp_path / "m.zarr"
    first = rd.sweep(_f, {"a": [1.0], "b": [1]}, store=store, scheduler="sync", progress=False)
    with pytest.raises(
        SweepSpecError, match=r"grid\.a: store has \[1\.0\], this call asks for \[1\.0, 2\.0\]"
    ):
        rd.sweep(_f, {"a": [1.0, 2.0], "b": [1]}, store=store, scheduler="sync")
    with pytest.raises(SweepSpecError, match="base_seed: store has 0, this call asks for 99"):
        rd.sweep(_f, {"a": [1.0], "b": [1]}, store=store, base_seed=99, scheduler="sync")
    with pytest.raises(SweepSpecError, match=r"function\.function: .*_other"):
        rd.sweep(_other, {"a": [1.0], "b": [1]}, store=store, scheduler="sync")
    with pytest.raises(SweepSpecError, match=r"attrs\.n: store has nothing, this call asks for 64"):
        rd.sweep(_f, {"a": [1.0], "b": [1]}, store=store, scheduler="sync", attrs={"n": 64})
    import functools

    part = functools.partial(_scaled, scale=2.0)
    rd.sweep(part, {"a": [1.0]}, store=tmp_path / "p.zarr", scheduler="sync", progress=False)
    with pytest.raises(
        SweepSpecError, match=r"function\.keywords\.scale: store has 2\.0, this call asks for 3\.0"
    ):
        rd.sweep(
            functools.partial(_scaled, scale=3.0), {"a": [1.0]}, store=tmp_path / "p.zarr", scheduler="sync"
        )
    # the store is untouched by the refused calls; fresh=True starts a new one
    _identical_bitwise(xr.open_zarr(store, consolidated=False).load(), first)
    new = rd.sweep(_f, {"a": [1.0, 2.0], "b": [1]}, store=store, scheduler="sync", progress=False, fresh=True)
    assert new["y"].values[:, 0, 0].tolist() == [1.0, 2.0]


def _other(p, seed):
    return {"y": 0.0}


def _reserved(p, seed):
    return {"y": 1.0, "done": 0.0} if p["a"] > 1 else {"y": 1.0}


def test_reserved_output_names_fail_the_point(tmp_path) -> None:
    ds = rd.sweep(_reserved, {"a": [1.0, 2.0]}, store=tmp_path / "r.zarr", scheduler="sync", progress=False)
    assert ds["status"].values[:, 0].tolist() == ["success", "failed"]
    assert "reserved output name(s) ['done']" in ds["message"].values[1, 0]


def _scaled(p, seed, *, scale):
    return {"y": p["a"] * scale}


# ----------------------------------------------------------------- kill -9 at every write position

GRID = {"a": [-1.0, 2.0], "b": [3]}  # the first point fails (kept until the store exists)


def _kill_child(store: str, position: int) -> None:
    def hook(i: int, label: str) -> None:
        if i == position:
            os.kill(os.getpid(), signal.SIGKILL)

    sweeps._write_hook = hook
    rd.sweep(_f, GRID, store=store, scheduler="sync", progress=False)
    os._exit(0)


@pytest.mark.slow  # all 14 write positions, a forked child each (5.5 s); the default test takes one per kind
def test_kill_at_every_write_position_then_resume_is_bitwise_equal(tmp_path) -> None:
    _kill_and_resume(tmp_path, positions=None)


def test_kill_at_each_kind_of_write_then_resume_is_bitwise_equal(tmp_path) -> None:
    # create, rename, a point's data before its status, its done flag, and the last write
    _kill_and_resume(tmp_path, positions=[0, 1, 3, 7, 13])


def _kill_and_resume(tmp_path, positions: list[int] | None) -> None:
    """Kill a sweep at write ``positions`` (all when ``None``) and resume: bit-identical results."""
    labels: list[str] = []
    sweeps._write_hook = lambda i, label: labels.append(label)
    try:
        ref = rd.sweep(_f, GRID, store=tmp_path / "ref.zarr", scheduler="sync", progress=False)
    finally:
        sweeps._write_hook = None
    # create + rename, then per point: data (sorted), status, message, digest, done (last)
    per_point = ["noise", "y", "status", "message", "digest", "done"]
    assert labels == ["create", "rename", *per_point * 2]
    for position in range(len(labels)) if positions is None else positions:
        store = tmp_path / f"k{position}.zarr"
        assert _fork(_kill_child, str(store), position) == -signal.SIGKILL
        before = None
        if store.exists():
            before = xr.open_zarr(store, consolidated=False)["done"].values.copy()
        CALLS.clear()
        with pytest.warns(UserWarning, match="ended without releasing its lock"):  # the killed holder
            ds = rd.sweep(_f, GRID, store=store, scheduler="sync", progress=False)
        _identical_bitwise(ds, ref)
        recomputed = {a for a, _ in CALLS}
        if before is not None:  # a point whose done flag had landed is never recomputed
            assert recomputed == {GRID["a"][i] for i in np.flatnonzero(~before[:, 0, 0])}, position
        assert not list(tmp_path.glob(f".k{position}.zarr.tmp-*"))  # no half-built store left


def test_deleted_and_truncated_chunks_are_recomputed(tmp_path) -> None:
    grid = {"a": [1.0, 2.0, 3.0], "b": [2]}
    store = tmp_path / "c.zarr"
    ref = rd.sweep(_f, grid, store=store, n_seeds=2, scheduler="sync", progress=False)
    (store / "noise" / "0.0.1.0").unlink()  # a deleted chunk (a=1, seed 1)
    with open(store / "y" / "2.0.0", "r+b") as fh:  # a truncated chunk (a=3, seed 0)
        fh.truncate(7)
    (store / "digest" / "1.0.0").write_bytes(b"garbage")  # a corrupt digest (a=2, seed 0)
    CALLS.clear()
    with pytest.warns(UserWarning, match="3 point\\(s\\) .* did not read back consistent"):
        ds = rd.sweep(_f, grid, store=store, n_seeds=2, scheduler="sync", progress=False)
    assert sorted(CALLS) == sorted([(1.0, ref.point_seed.values[0, 0, 1]), (3.0, ref.point_seed.values[2, 0, 0]),
                                    (2.0, ref.point_seed.values[1, 0, 0])])  # fmt: skip
    _identical_bitwise(ds, ref)


def test_store_that_is_not_a_sweep_is_a_clear_error(tmp_path) -> None:
    bad = tmp_path / "bad.zarr"
    bad.mkdir()
    with pytest.raises(SweepSpecError, match="not a readable sweep store"):
        rd.sweep(_f, {"a": [1.0], "b": [1]}, store=bad, scheduler="sync")


# ----------------------------------------------------------------- reading a store, the lock file


def _open_silently(store: Path) -> xr.Dataset:
    """``xr.open_zarr(store)`` as a user types it, with every warning an error."""
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        return xr.open_zarr(store).load()


def test_stores_open_silently_and_show_every_finished_point(tmp_path) -> None:
    # finished: the consolidated view is the store (consolidated=False reads the arrays' own metadata)
    ref = rd.sweep(_f, GRID, store=tmp_path / "ref.zarr", scheduler="sync", progress=False)
    assert not (tmp_path / "ref.zarr.lock").exists()  # a finished sweep removes its lock
    _identical_bitwise(_open_silently(tmp_path / "ref.zarr"), ref)
    # killed mid-run (write 8: after the a=2 point's done flag, before the a=-1 point's first write)
    store = tmp_path / "k.zarr"
    assert _fork(_kill_child, str(store), 8) == -signal.SIGKILL
    ds = _open_silently(store)
    xr.testing.assert_identical(ds, xr.open_zarr(store, consolidated=False).load())
    assert ds["done"].values[:, 0, 0].tolist() == [False, True]
    assert ds["status"].values[:, 0, 0].tolist() == ["", "success"]
    assert ds["y"].values[1, 0, 0] == 6.0 and np.isnan(ds["y"].values[0, 0, 0])
    # the killed sweep's lock file stays, naming it; the next run reports it, resumes, removes it
    killed = (tmp_path / "k.zarr.lock").read_text()
    assert killed.startswith("pid ") and f"pid {os.getpid()} " not in killed
    with pytest.warns(UserWarning, match=f"previous sweep on .*k.zarr \\({killed.strip()}\\) ended without"):
        rd.sweep(_f, GRID, store=store, scheduler="sync", progress=False)
    assert not (tmp_path / "k.zarr.lock").exists()
    _identical_bitwise(_open_silently(store), ref)
    # a store without consolidated metadata (written before rnndyn consolidated) gets it on resume
    (store / ".zmetadata").unlink()
    with pytest.warns(RuntimeWarning, match="consolidated metadata"):
        xr.open_zarr(store)
    CALLS.clear()
    rd.sweep(_f, GRID, store=store, scheduler="sync", progress=False)
    assert CALLS == []
    _identical_bitwise(_open_silently(store), ref)


def _all_negative(p, seed):
    raise ValueError("no result here")


def test_lock_file_is_removed_after_a_failed_run(tmp_path) -> None:
    store = tmp_path / "f.zarr"
    with pytest.raises(RuntimeError, match="every sweep point failed"):
        rd.sweep(_all_negative, {"a": [1.0, 2.0]}, store=store, scheduler="sync", progress=False)
    assert sorted(p.name for p in tmp_path.iterdir()) == []
    rd.sweep(_f, {"a": [1.0], "b": [1]}, store=store, scheduler="sync", progress=False)
    with pytest.raises(SweepSpecError, match="different sweep"):
        rd.sweep(_f, {"a": [2.0], "b": [1]}, store=store, scheduler="sync", progress=False)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["f.zarr"]


def test_lock_checks_the_file_it_locked_is_still_the_lock(tmp_path, monkeypatch) -> None:
    """Removing the lock file on release is safe only because a sweep re-checks, after its flock,
    that the locked inode is still at the path. Interleaving: C opens the lock file of holder A;
    A finishes (removes the file, releases); B creates a new lock file and holds it; C's flock on
    A's old inode now succeeds. Without the check B and C would both hold the lock."""
    store = tmp_path / "s.zarr"
    a = sweeps._Lock(store, 0.0).__enter__()
    b = sweeps._Lock(store, 0.0)
    real_open = os.open
    calls = []

    def interleaved_open(path, *args, **kwargs):
        fd = real_open(path, *args, **kwargs)
        if not calls and str(path) == str(a.path):
            calls.append(path)
            a.__exit__(None, None, None)  # A finishes: its file is removed, its flock released
            b.__enter__()  # B makes and locks a new file (through real_open: `calls` is set)
        return fd

    monkeypatch.setattr(os, "open", interleaved_open)
    with pytest.raises(SweepLockedError, match=f"pid {os.getpid()} on "):  # C is refused: B holds it
        sweeps._Lock(store, 0.0).__enter__()
    monkeypatch.setattr(os, "open", real_open)
    assert calls and b.path.exists()
    b.__exit__(None, None, None)
    assert not b.path.exists()


# ----------------------------------------------------------------- poison points, time limit


def _hang(p, seed):
    if p["a"] == 2.0:
        time.sleep(60)
    return {"y": p["a"]}


def test_point_over_the_time_limit_is_recorded_failed(tmp_path) -> None:
    ds = rd.sweep(_hang, {"a": [1.0, 2.0, 3.0]}, store=tmp_path / "t.zarr", scheduler="sync", progress=False,
                  time_limit=0.5)  # fmt: skip
    assert ds["status"].values[:, 0].tolist() == ["success", "failed", "success"]
    assert ds["message"].values[1, 0] == "exceeded the per-point time limit of 0.5 s (abandoned)"
    assert ds["y"].values[[0, 2], 0].tolist() == [1.0, 3.0] and np.isnan(ds["y"].values[1, 0])


def _poison(p, seed):
    if p["a"] == 2.0:
        os.kill(os.getpid(), signal.SIGKILL)  # the worker dies, as on a segfault or the OOM killer
    return {"y": p["a"] * 10.0}


@pytest.mark.slow
def test_point_that_kills_its_worker_is_failed_and_the_rest_complete(tmp_path) -> None:
    # a real process-based LocalCluster: the poison point kills 1 + max_retries workers
    ds = rd.sweep(_poison, {"a": [1.0, 2.0, 3.0, 4.0]}, store=tmp_path / "p.zarr", scheduler=None,
                  n_workers=2, max_retries=1, progress=False)  # fmt: skip
    assert ds["status"].values[:, 0].tolist() == ["success", "failed", "success", "success"]
    assert ds["message"].values[1, 0].startswith("the worker running this point died 2 time(s)")
    assert ds["y"].values[[0, 2, 3], 0].tolist() == [10.0, 30.0, 40.0]
    again = rd.sweep(_poison, {"a": [1.0, 2.0, 3.0, 4.0]}, store=tmp_path / "p.zarr", scheduler="sync",
                     progress=False)  # fmt: skip  # resume: the failed point is recorded, not retried
    _identical_bitwise(again, ds)


def _poison_child(store: str) -> None:
    rd.sweep(_poison, {"a": [1.0, 2.0, 3.0]}, store=store, scheduler="sync", progress=False, max_retries=1)
    os._exit(0)


def test_in_process_sweep_records_a_point_that_kills_the_process_after_bounded_retries(tmp_path) -> None:
    # scheduler="sync": the point kills the sweep process itself; each re-run counts it, and after
    # 1 + max_retries deaths the next run records it failed and completes the rest
    store = str(tmp_path / "s.zarr")
    assert _fork(_poison_child, store) == -signal.SIGKILL
    assert _fork(_poison_child, store) == -signal.SIGKILL
    assert _fork(_poison_child, store) == 0
    ds = xr.open_zarr(store, consolidated=False, chunks=None)
    assert ds["status"].values[:, 0].tolist() == ["success", "failed", "success"]
    assert (
        ds["message"].values[1, 0].startswith("the sweep process died 2 time(s) while computing this point")
    )
    assert ds["y"].values[[0, 2], 0].tolist() == [10.0, 30.0]
    assert not (tmp_path / "s.zarr.attempts.json").exists()
    # an interruption (Ctrl-C) is not a death: the point is tried again next time
    STOP_AT[:] = [1.0]
    try:
        with pytest.raises(KeyboardInterrupt):
            rd.sweep(_f, {"a": [1.0], "b": [1]}, store=tmp_path / "i.zarr", scheduler="sync", progress=False,
                     max_retries=0)  # fmt: skip
    finally:
        STOP_AT.clear()
    assert not (tmp_path / "i.zarr.lock").exists()  # an interrupted sweep releases and removes its lock
    ds = rd.sweep(_f, {"a": [1.0], "b": [1]}, store=tmp_path / "i.zarr", scheduler="sync", progress=False,
                  max_retries=0)  # fmt: skip
    assert ds["status"].values.ravel().tolist() == ["success"]


def test_unreachable_scheduler_is_a_clear_error(tmp_path) -> None:
    t0 = time.monotonic()
    with pytest.raises(SchedulerUnreachableError, match="tcp://127.0.0.1:1"):
        rd.sweep(_f, {"a": [1.0], "b": [1]}, store=tmp_path / "u.zarr", scheduler="tcp://127.0.0.1:1",
                 connect_timeout=1.0, progress=False)  # fmt: skip
    assert time.monotonic() - t0 < 30  # not the 30 s default wait plus retries
    assert not (tmp_path / "u.zarr").exists()


def test_a_scheduler_that_is_no_address_is_named_before_anything_runs(tmp_path, monkeypatch) -> None:
    # before: Dask's "missing port number in address 'foo'" from inside the sweep, after the store
    # was locked
    for bad in ("processes", "foo", "tcp//host:8786"):
        with pytest.raises(
            ValueError, match=rf"`scheduler` must be None or 'local' .* 'tcp://host:8786'; got {bad!r}"
        ):
            rd.sweep(_f, {"a": [1.0], "b": [1]}, store=tmp_path / "v.zarr", scheduler=bad, progress=False)
    assert list(tmp_path.iterdir()) == []
    # the oracle: the same call with 'sync' runs, and the addresses Dask accepts pass the check
    from rnndyn import sweeps
    from rnndyn.sweeps import _ADDRESS

    ds = rd.sweep(_f, {"a": [1.0], "b": [1]}, store=tmp_path / "v.zarr", scheduler="sync", progress=False)
    assert ds["done"].values.all() and ds["status"].values.ravel().tolist() == ["success"]
    assert all(_ADDRESS.fullmatch(a) for a in ("tcp://10.0.0.1:8786", "tls://h.example:8786", "h:8786"))

    # 'local' (rnndyn reproduce --scheduler's word) is the local cluster, as None
    class Stop(Exception):
        pass

    def execute(*args, scheduler, **kwargs):  # records what the run would get, starts no cluster
        raise Stop(scheduler)

    monkeypatch.setattr(sweeps, "_execute", execute)
    with pytest.raises(Stop) as stopped:
        rd.sweep(_f, {"a": [1.0], "b": [1]}, store=tmp_path / "w.zarr", scheduler="local", progress=False)
    assert stopped.value.args == (None,)


# ----------------------------------------------------------------- two sweeps on one store


def _gated(p, seed):
    flag = Path(os.environ["RNNDYN_TEST_DIR"])
    with open(flag / "calls.log", "a") as fh:
        fh.write(f"{os.getpid()} {p['a']}\n")
    if p["a"] == 1.0:
        (flag / "started").touch()
        for _ in range(1200):  # until the test says go (at most 60 s)
            if (flag / "go").exists():
                break
            time.sleep(0.05)
    return {"y": p["a"]}


def _sweep_child(store: str, wait: float) -> None:
    rd.sweep(_gated, {"a": [1.0, 2.0, 3.0]}, store=store, scheduler="sync", progress=False, wait=wait)
    os._exit(0)


def test_two_concurrent_sweeps_one_refuses_one_waits_nothing_twice(tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("RNNDYN_TEST_DIR", str(tmp_path))
    store = str(tmp_path / "s.zarr")
    ctx = multiprocessing.get_context("fork")
    first = ctx.Process(target=_sweep_child, args=(store, 0.0))
    first.start()
    for _ in range(1200):
        if (tmp_path / "started").exists() or not first.is_alive():
            break
        time.sleep(0.05)
    assert (tmp_path / "started").exists()
    # the first sweep holds the lock while its first point runs: a second one refuses at once ...
    with pytest.raises(SweepLockedError, match=f"pid {first.pid} on "):
        rd.sweep(_gated, {"a": [1.0, 2.0, 3.0]}, store=store, scheduler="sync", progress=False)
    # ... or, given a wait, waits for it and then finds every point done
    second = ctx.Process(target=_sweep_child, args=(store, 120.0))
    second.start()
    (tmp_path / "go").touch()
    first.join(120)
    second.join(120)
    assert first.exitcode == 0 and second.exitcode == 0
    calls = (tmp_path / "calls.log").read_text().split("\n")[:-1]
    assert sorted(c.split()[1] for c in calls) == ["1.0", "2.0", "3.0"]  # each point computed once
    assert {c.split()[0] for c in calls} == {str(first.pid)}
    ds = xr.open_zarr(store, consolidated=False)
    assert ds["y"].values[:, 0].tolist() == [1.0, 2.0, 3.0] and ds["done"].values.all()


# ----------------------------------------------------------------- the command


def test_cli_sweep_lyapunov_and_resume(tmp_path) -> None:
    from typer.testing import CliRunner

    from rnndyn.cli import app

    store = tmp_path / "cli.zarr"
    args = [
        "sweep",
        "-m",
        "vanilla",
        "-n",
        "32",
        "-g",
        "g=0.5,4.0",
        "--seeds",
        "2",
        "--steps",
        "150",
        "--transient",
        "50",
        "--store",
        str(store),
        "--scheduler",
        "sync",
        "--out",
        str(tmp_path),
    ]
    res = CliRunner().invoke(app, args)
    assert res.exit_code == 0, res.output
    ds = xr.open_zarr(store, consolidated=False)
    lam = ds["lambda_max"].values
    # g = 0.5: the origin attracts, lambda_max ~ ln 0.5 + ln(spectral radius of W/g) < 0;
    # g = 4: chaotic (mean field 0.43 for the g J tanh variant, docs/chaos.md)
    assert (lam[0] < -0.4).all() and (lam[1] > 0.05).all()
    assert (tmp_path / "sweep.png").exists()
    js = tmp_path / "resume.json"
    res = CliRunner().invoke(app, [*args, "--json", str(js)])  # resume: nothing left to do
    payload = json.loads(js.read_text())
    # the analysis's own status per point (150 steps is short: some may be not_converged)
    assert payload["status"] == ds["status"].values.tolist()
    assert set(np.ravel(payload["status"])) <= {"success", "not_converged"}
    n_ok = int((ds["status"].values == "success").sum())
    assert res.exit_code == 0 and f"{n_ok}/4 points success" in res.output, res.output
    np.testing.assert_array_equal(np.asarray(payload["lambda_max"], dtype=float), lam)  # same numbers
    # another network size on the same store: refused, naming the difference
    res = CliRunner().invoke(app, [*[a if a != "32" else "64" for a in args]])
    assert res.exit_code == 2 and "n: store has 32, this call asks for 64" in res.output
    assert "--fresh" in res.output
    res = CliRunner().invoke(app, ["sweep", "-g", "g", "--store", str(tmp_path / "x.zarr")])
    assert res.exit_code == 2 and "name=v1,v2" in res.output
    res = CliRunner().invoke(app, ["sweep", "-g", "g=1", "--store", str(tmp_path / "y.zarr"), "--scheduler",
                                   "tcp://127.0.0.1:1", "--connect-timeout", "1"])  # fmt: skip
    assert res.exit_code == 2 and "could not reach the Dask scheduler at 'tcp://127.0.0.1:1'" in res.output


def test_cli_sweep_over_a_trained_torch_model(tmp_path) -> None:
    """--torch-model: the file's network with its recurrent weights scaled by the grid's weight_scale.

    Oracle: the weight_scale = 1 point equals rd.lyapunov_spectrum of rd.load_model(file) run with the
    point's seed; scaling the recurrent weights by 0.2 makes the network contracting (lambda < 0).
    """
    import torch
    from typer.testing import CliRunner

    import rnndyn as rd
    from rnndyn.cli import app
    from rnndyn.sweeps import point_seed

    torch.manual_seed(0)  # test-side only: a "trained" module's weights
    gru = torch.nn.GRU(2, 12)
    with torch.no_grad():
        gru.weight_hh_l0.mul_(6.0)
    f = tmp_path / "gru.pt"
    torch.save(gru.state_dict(), f)
    store, js = tmp_path / "t.zarr", tmp_path / "t.json"
    args = ["sweep", "--torch-model", str(f), "-g", "weight_scale=0.2,1.0", "--steps", "300"]
    args += [
        "--transient",
        "100",
        "--k",
        "1",
        "--store",
        str(store),
        "--scheduler",
        "sync",
        "--json",
        str(js),
    ]
    res = CliRunner().invoke(app, args)
    assert res.exit_code == 0, res.output
    lam = np.asarray(json.loads(js.read_text())["lambda_max"])[:, 0]
    ref = rd.lyapunov_spectrum(
        rd.load_model(f).to(torch.float64),
        k=1,
        n_steps=300,
        n_transient=100,
        n_trajectories=2,
        generator=torch.Generator().manual_seed(point_seed(0, 1) + 1),
    )
    assert lam[1] == pytest.approx(ref.lambda_max, abs=1e-12)
    assert lam[0] < -0.2 and lam[0] < lam[1]
    # conflicting or meaningless options are one-line errors naming the option
    bad = CliRunner().invoke(app, [*args[:5], "-m", "gru", *args[5:]])
    assert bad.exit_code != 0 and "`--torch-model`" in bad.output and "-m/--model" in bad.output
    bad = CliRunner().invoke(
        app, ["sweep", "--torch-model", str(f), "-g", "g=1,2", "--store", str(tmp_path / "u")]
    )
    assert bad.exit_code != 0 and "weight_scale" in bad.output and "g" in bad.output


def test_fresh_never_deletes_what_is_not_a_store(tmp_path) -> None:
    """fresh=True replaces a sweep store or an empty folder; a mistyped `store` that names a
    folder of the user's files, or a file, is refused and left intact."""
    data = tmp_path / "my_data"
    data.mkdir()
    (data / "results.csv").write_text("1,2\n")
    with pytest.raises(
        SweepSpecError, match=r"folder of other files \(results.csv\), not a Zarr store.*Nothing was changed"
    ):
        rd.sweep(_f, {"a": [1.0], "b": [1]}, store=data, scheduler="sync", progress=False, fresh=True)
    assert (data / "results.csv").read_text() == "1,2\n"
    with pytest.raises(SweepSpecError, match="not a Zarr store"):  # without fresh: refused the same way
        rd.sweep(_f, {"a": [1.0], "b": [1]}, store=data, scheduler="sync", progress=False)
    assert sorted(p.name for p in data.iterdir()) == ["results.csv"]
    afile = tmp_path / "notes.txt"
    afile.write_text("keep me")
    with pytest.raises(
        SweepSpecError, match="must be a Zarr store .* got .*notes.txt, a file. Nothing was changed"
    ):
        rd.sweep(_f, {"a": [1.0], "b": [1]}, store=afile, scheduler="sync", progress=False, fresh=True)
    assert afile.read_text() == "keep me"
    # a real store and an empty folder are replaced
    store = tmp_path / "s.zarr"
    rd.sweep(_f, {"a": [1.0], "b": [1]}, store=store, scheduler="sync", progress=False)
    new = rd.sweep(_f, {"a": [3.0], "b": [2]}, store=store, scheduler="sync", progress=False, fresh=True)
    assert float(new["y"].squeeze()) == 6.0
    empty = tmp_path / "empty"
    empty.mkdir()
    out = rd.sweep(_f, {"a": [2.0], "b": [2]}, store=empty, scheduler="sync", progress=False, fresh=True)
    assert float(out["y"].squeeze()) == 4.0


def test_flags_are_bools_fresh_no_keeps_the_store(tmp_path) -> None:
    # before: fresh="no" (truthy) discarded the store and recomputed it; wait=True waited 1 s
    store = tmp_path / "s.zarr"
    first = rd.sweep(_f, {"a": [1.0], "b": [1]}, store=store, scheduler="sync", progress=False)
    for kwargs, exc, msg in [
        ({"fresh": "no"}, TypeError, "`fresh` must be True or False; got str 'no'"),
        ({"retry_failed": 1}, TypeError, "`retry_failed` must be True or False; got int 1"),
        ({"wait": True}, ValueError, "`wait` must be a number of seconds >= 0; got True"),
        # before: the TypeError came from the first finished point and ended the sweep there
        (
            {"progress": lambda done: None},
            TypeError,
            r"`progress` must take two arguments, progress\(done, total\)",
        ),
    ]:
        with pytest.raises(exc, match=msg):
            rd.sweep(
                _f, {"a": [1.0], "b": [1]}, store=store, scheduler="sync", **{"progress": False, **kwargs}
            )
    # the oracle: the store is the one written first (same digests), resumed without recomputing
    CALLS.clear()
    again = rd.sweep(_f, {"a": [1.0], "b": [1]}, store=store, scheduler="sync", progress=False)
    assert CALLS == [] and (again["digest"].values == first["digest"].values).all()


def test_fresh_never_deletes_a_zarr_store_that_a_sweep_did_not_make(tmp_path) -> None:
    """Before: fresh=True deleted any folder with a Zarr marker, e.g. a dataset written with xarray
    or a CLV run's --store, though the message said it replaces only sweep stores."""
    other = tmp_path / "data.zarr"
    xr.Dataset({"q": ("x", np.arange(3.0))}).to_zarr(other, zarr_format=2, consolidated=True)
    for fresh in (True, False):
        with pytest.raises(
            SweepSpecError, match=r"a Zarr store that rd.sweep did not make .*Nothing was changed"
        ):
            rd.sweep(_f, {"a": [1.0], "b": [1]}, store=other, scheduler="sync", progress=False, fresh=fresh)
    # the oracle: the dataset reads back as written
    np.testing.assert_array_equal(xr.open_zarr(other)["q"].values, [0.0, 1.0, 2.0])

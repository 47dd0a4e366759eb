"""Sweeps: deterministic per-point seeds, failures kept as rows, resume after interruption."""

from __future__ import annotations

import numpy as np
import pytest

import rnndyn as rd
from rnndyn.sweeps import point_seed

CALLS: list[tuple[float, int]] = []


def _f(p, seed):
    CALLS.append((p["a"], seed))
    if p["a"] < 0:
        raise ValueError("negative a")
    rng = np.random.default_rng(seed)
    return {"y": p["a"] * p["b"], "noise": rng.normal(size=2)}


class Interrupt(KeyboardInterrupt):
    pass


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
    assert (ds["status"].sel(a=-1.0).values == "error: ValueError: negative a").all()
    assert (ds["status"].sel(a=1.0).values == "ok").all()
    # each point's seed is a pure function of (base_seed, flat index) and drives its outputs
    flat = 1 * 4 + 1 * 2 + 1  # a index 1, b index 1, seed 1 in shape (3, 2, 2)
    s = point_seed(7, flat)
    assert ds["point_seed"].values[1, 1, 1] == s
    np.testing.assert_array_equal(ds["noise"].values[1, 1, 1], np.random.default_rng(s).normal(size=2))


def test_resume_skips_finished_points(tmp_path) -> None:
    store = tmp_path / "r.zarr"
    grid = {"a": [1.0, 2.0, 3.0, 4.0], "b": [1]}

    def interrupted(p, seed):
        if p["a"] == 3.0:
            raise Interrupt()
        return _f(p, seed)

    with pytest.raises(KeyboardInterrupt):
        rd.sweep(interrupted, grid, store=store, scheduler="sync", progress=False)
    CALLS.clear()
    ds = rd.sweep(_f, grid, store=store, scheduler="sync", progress=False)
    assert sorted(a for a, _ in CALLS) == [3.0, 4.0]  # finished points were not recomputed
    assert ds["y"].values[:, 0, 0].tolist() == [1.0, 2.0, 3.0, 4.0]
    assert ds["done"].values.all()


def test_dask_local_cluster_matches_sync(tmp_path) -> None:
    grid = {"a": [1.0, 2.0], "b": [5, 6]}
    a = rd.sweep(_f, grid, store=tmp_path / "a.zarr", scheduler="sync", progress=False)
    b = rd.sweep(_f, grid, store=tmp_path / "b.zarr", scheduler="threads", n_workers=2, progress=False)
    np.testing.assert_array_equal(a["noise"].values, b["noise"].values)


def test_bad_grid_and_mismatched_store(tmp_path) -> None:
    with pytest.raises(ValueError, match="`grid` must be a non-empty mapping"):
        rd.sweep(_f, {}, store=tmp_path / "x.zarr", scheduler="sync")
    with pytest.raises(ValueError, match=r"`grid\['a'\]` must be finite"):
        rd.sweep(_f, {"a": [1.0, float("nan")]}, store=tmp_path / "x.zarr", scheduler="sync")
    rd.sweep(_f, {"a": [1.0], "b": [1]}, store=tmp_path / "m.zarr", scheduler="sync", progress=False)
    with pytest.raises(ValueError, match="holds a sweep of shape"):
        rd.sweep(_f, {"a": [1.0, 2.0], "b": [1]}, store=tmp_path / "m.zarr", scheduler="sync")


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
    import xarray as xr

    ds = xr.open_zarr(store, consolidated=False)
    lam = ds["lambda_max"].values
    # g = 0.5: the origin attracts, lambda_max ~ ln 0.5 + ln(spectral radius of W/g) < 0;
    # g = 4: chaotic (theory/chaos.md §4.3: mean field 0.43 for the g J tanh variant)
    assert (lam[0] < -0.4).all() and (lam[1] > 0.05).all()
    assert (tmp_path / "sweep.png").exists()
    js = tmp_path / "resume.json"
    res = CliRunner().invoke(app, [*args, "--json", str(js)])  # resume: nothing left to do
    assert res.exit_code == 0 and "4/4 points ok" in res.output, res.output
    import json

    payload = json.loads(js.read_text())
    assert payload["status"] == [["ok", "ok"], ["ok", "ok"]]
    np.testing.assert_array_equal(np.asarray(payload["lambda_max"], dtype=float), lam)  # same numbers
    res = CliRunner().invoke(app, ["sweep", "-g", "g", "--store", str(tmp_path / "x.zarr")])
    assert res.exit_code == 2 and "name=v1,v2" in res.output

"""The documented training experiments of docs/training.md, as resumable :func:`rnndyn.sweep` runs.

* :func:`gru_digits_run` / :func:`gru_digits_sweep`: the CKS20 GRU (``rd.GRU``, zero biases) with
  a linear readout of its final state, trained on sklearn digits read pixel by pixel (64 steps),
  over a grid of (alpha_z, g_h) at initialisation; epochs to a target training accuracy and
  lambda_max at initialisation per point — the CPU-sized analogue of CKS20 App. H (sMNIST, 256
  units, 784 steps; docs/theory/gated.md §7).
* :func:`trainability_run` / :func:`trainability_sweep` / :func:`trainability_experiment`: many
  short runs of a ``torch.nn`` GRU over sizes x initialisation scales with the Lyapunov spectrum
  at initialisation and after the first epoch ([VPSL22], docs/theory/chaos.md §3.4), then the held-out
  error of a spectrum -> final-validation-loss predictor beside the predict-the-mean baseline.

Every ``*_run`` function is a module-level function of ``(params, seed)`` with keyword settings,
so ``functools.partial`` of it pickles to Dask workers; the sweeps write one Zarr chunk per
finished point and resume after an interruption (see :func:`rnndyn.sweep`).
"""

from __future__ import annotations

import functools
import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch

from rnndyn.training.callbacks import LyapunovCallback, trainability_readout
from rnndyn.training.data import SequenceTask, digits_task
from rnndyn.training.trainer import (
    Callback,
    SequenceClassifier,
    TrainConfig,
    evaluate_classifier,
    train_classifier,
)

Tensor = torch.Tensor

_TASKS: dict[str, SequenceTask] = {}


def _digits() -> SequenceTask:
    # one fixed split for every grid point (seed 0), cached per worker process
    if "digits" not in _TASKS:
        _TASKS["digits"] = digits_task(generator=torch.Generator().manual_seed(0))
    return _TASKS["digits"]


def digit_stream(task: SequenceTask, *, n_trajectories: int = 4, n_digits: int = 20) -> Tensor:
    """Held-out input drive for Lyapunov spectra: ``n_digits`` test digits read one after the
    other, ``(n_trajectories, n_digits * T, d)`` (one trajectory per row, [VPSL22] §3.2)."""
    x = task.inputs_test
    need = n_trajectories * n_digits
    if x.shape[0] < need:
        raise ValueError(f"the test split has {x.shape[0]} sequences; {need} are needed")
    return x[:need].reshape(n_trajectories, n_digits * x.shape[1], x.shape[2])


class _TrainAccuracy(Callback):
    """Accuracy on the training split every epoch (CKS20 App. H reports training accuracy)."""

    name = "train_accuracy"

    def __init__(self, task: SequenceTask) -> None:
        self.view = SequenceTask(
            task.name,
            task.inputs_train,
            task.targets_train,
            task.inputs_train,
            task.targets_train,
            task.n_classes,
        )

    def on_epoch_end(self, epoch: int, model: Any, history: dict[str, list[Any]]) -> Any:
        loss, acc = evaluate_classifier(model, self.view)
        return {"epoch": epoch, "loss": loss, "accuracy": acc}


def _first_epoch(records: list[dict[str, Any]], target: float) -> float:
    for rec in records:
        if rec["accuracy"] >= target:
            return float(rec["epoch"])
    return math.inf


def gru_digits_run(
    params: dict[str, Any],
    seed: int,
    *,
    n: int = 64,
    alpha_r: float = 0.5,
    epochs: int = 15,
    lr: float = 1e-3,
    batch_size: int = 100,
    target: float = 0.75,
    lyapunov_steps: int = 2000,
) -> dict[str, Any]:
    """One (alpha_z, g_h) point: lambda_max at initialisation, then training; see module doc.

    The GRU is ``rd.GRU(n, g_h=, alpha_z=, alpha_r=, input_size=1)`` with zero biases (CKS20
    App. H; docs/theory/gated.md §2.2 initialisation), trained in float32 by Adam on cross-entropy of
    a linear readout of the last state; one epoch = ``ceil(n_train / batch_size)`` random batches.

    Returns (all scalars per step / per epoch):
        ``epochs_to_target`` (first epoch with *training* accuracy >= ``target``; ``inf`` if
        never), ``epochs_to_target_test``, ``train_acc`` / ``test_acc`` (final), ``final_loss``,
        ``lambda_max_auto`` (autonomous zero-input map, the quantity of the CKS20 phase diagram;
        2 random initial states, ``lyapunov_steps`` steps after 500 transient), ``lambda_max_driven``
        (driven by a stream of 20 held-out digits, 4 trajectories, 1024 steps after 256),
        ``train_acc_curve`` / ``test_acc_curve`` (``(epochs,)``).
    """
    from rnndyn.lyapunov import lyapunov_spectrum
    from rnndyn.models.gru import GRU
    from rnndyn.training.teacher_forcing import _Autonomous

    alpha_z, g_h = float(params["alpha_z"]), float(params["g_h"])
    g = torch.Generator().manual_seed(int(seed))
    task = _digits()
    core = GRU(n, g_h=g_h, alpha_z=alpha_z, alpha_r=alpha_r, input_size=1, generator=g, dtype=torch.float64)
    clf = SequenceClassifier(core, task.n_classes, generator=g)
    with torch.no_grad():
        auto = lyapunov_spectrum(
            _Autonomous(core),
            k=1,
            n_steps=lyapunov_steps,
            n_transient=500,
            n_trajectories=2,
            generator=g,
            throw=False,
        )
    driven = LyapunovCallback(every=1, k=1, n_steps=1024, n_transient=256, inputs=digit_stream(task))
    rec = driven.on_epoch_end(0, clf, {})
    clf = clf.to(torch.float32)
    n_batches = math.ceil(task.inputs_train.shape[0] / batch_size)
    cfg = TrainConfig(n_epochs=epochs, batches_per_epoch=n_batches, batch_size=batch_size, lr=lr, tau=None)
    res = train_classifier(clf, task, config=cfg, callbacks=[_TrainAccuracy(task)], generator=g)
    tr_acc = [r["accuracy"] for r in res.history.get("train_accuracy", [])]
    te_acc = [r["accuracy"] for r in res.history.get("test_accuracy", [])]
    pad = lambda v: np.asarray(v + [math.nan] * (epochs - len(v)), dtype=float)  # noqa: E731 (diverged runs stop early)
    return {
        "epochs_to_target": _first_epoch(res.history.get("train_accuracy", []), target),
        "epochs_to_target_test": _first_epoch(res.history.get("test_accuracy", []), target),
        "train_acc": tr_acc[-1] if tr_acc else math.nan,
        "test_acc": te_acc[-1] if te_acc else math.nan,
        "final_loss": res.losses[-1] if res.losses else math.nan,
        "lambda_max_auto": float(auto.exponents[0]),
        "lambda_max_driven": float(rec["exponents"][0]),
        "train_acc_curve": pad(tr_acc),
        "test_acc_curve": pad(te_acc),
    }


def _run_sweep(
    run: Any,
    name: str,
    grid: dict[str, list[Any]],
    store: str | Path,
    n_seeds: int,
    scheduler: str | None,
    n_workers: int | None,
    progress: bool,
    settings: dict[str, Any],
) -> Any:
    # one experiment runner over ``grid x seeds`` with rnndyn.sweep; ``settings`` go to the runner
    # and into the store's attributes; n_workers only matters for a local Dask cluster
    from rnndyn.sweeps import sweep

    return sweep(
        functools.partial(run, **settings),
        grid,
        store=store,
        n_seeds=n_seeds,
        scheduler=scheduler,
        n_workers=n_workers if scheduler is None else None,
        progress=progress,
        attrs={"experiment": name, **settings},
    )


def gru_digits_sweep(
    store: str | Path,
    *,
    alpha_z: Sequence[float] = (0.5, 2.0, 8.0),
    g_h: Sequence[float] = (1.0, 2.0, 3.0, 4.0),
    n_seeds: int = 2,
    scheduler: str | None = "sync",
    n_workers: int | None = 2,
    progress: bool = True,
    **settings: Any,
) -> Any:
    """:func:`gru_digits_run` over ``alpha_z x g_h x seeds`` with :func:`rnndyn.sweep` (resumable
    Zarr store). ``settings`` go to :func:`gru_digits_run` and into the store's attributes."""
    grid = {"alpha_z": list(alpha_z), "g_h": list(g_h)}
    return _run_sweep(
        gru_digits_run, "gru_digits", grid, store, n_seeds, scheduler, n_workers, progress, settings
    )


# ------------------------------------------------------------------------- trainability readout
def trainability_run(
    params: dict[str, Any],
    seed: int,
    *,
    kind: str = "gru",
    max_size: int = 64,
    epochs: int = 4,
    lr: float = 2e-3,
    batch_size: int = 100,
    lyapunov_steps: int = 768,
) -> dict[str, Any]:
    """One short run of a ``torch.nn`` ``kind`` network of ``params["size"]`` units whose weights
    are all drawn from U(-s/sqrt(H), s/sqrt(H)), ``s = params["scale"]`` (torch's default at
    s = 1; [VPSL22] varied the uniform initialisation range, docs/theory/chaos.md §3.3).

    The full Lyapunov spectrum (float64, driven by 4 streams of held-out digits, ``lyapunov_steps``
    steps after 256) is taken at initialisation, after epoch 1 and after the last epoch
    (:class:`LyapunovCallback`; [VPSL22] read the spectra of trained networks); the spectra are
    NaN-padded to ``max_size``. ``final_val_loss`` is the test cross-entropy after ``epochs``
    epochs.
    """
    from rnndyn.training.teacher_forcing import make_torch_rnn

    size, scale = int(params["size"]), float(params["scale"])
    g = torch.Generator().manual_seed(int(seed))
    task = _digits()
    mod = make_torch_rnn(kind, size, generator=g, dtype=torch.float64)
    with torch.no_grad():
        for p in mod.parameters():
            p.mul_(scale)
    clf = SequenceClassifier(mod, task.n_classes, generator=g)
    cb = LyapunovCallback(
        every=1, k=None, n_steps=lyapunov_steps, n_transient=256, inputs=digit_stream(task, n_digits=16)
    )
    init = cb.on_epoch_end(0, clf, {})

    class _Early(Callback):
        name = "lyapunov"

        def on_epoch_end(self, epoch: int, model: Any, history: dict[str, list[Any]]) -> Any:
            return cb.on_epoch_end(epoch, model, history) if epoch in (1, epochs) else None

    n_batches = math.ceil(task.inputs_train.shape[0] / batch_size)
    cfg = TrainConfig(n_epochs=epochs, batches_per_epoch=n_batches, batch_size=batch_size, lr=lr, tau=None)
    res = train_classifier(clf, task, config=cfg, callbacks=[_Early()], generator=g, accuracy_every=epochs)
    recs = res.history.get("lyapunov", [])
    missing = {"exponents": [math.nan] * size}
    early = recs[0] if recs else missing
    final = recs[-1] if len(recs) == (1 if epochs == 1 else 2) else missing  # diverged runs stop early
    loss, acc = evaluate_classifier(clf, task)

    def padded(e: list[float]) -> np.ndarray:
        out = np.full(max_size, math.nan)
        out[: len(e)] = e
        return out

    return {
        "final_val_loss": loss if res.status == "success" else math.nan,
        "final_val_acc": acc,
        "spectrum_init": padded(init["exponents"]),
        "spectrum_epoch1": padded(early["exponents"]),
        "spectrum_final": padded(final["exponents"]),
    }


def trainability_sweep(
    store: str | Path,
    *,
    sizes: Sequence[int] = (16, 32, 64),
    scales: Sequence[float] = (0.5, 1.0, 2.0, 3.0, 4.0, 6.0),
    n_seeds: int = 2,
    scheduler: str | None = "sync",
    n_workers: int | None = 2,
    progress: bool = True,
    **settings: Any,
) -> Any:
    """:func:`trainability_run` over ``sizes x scales x seeds`` with :func:`rnndyn.sweep`."""
    settings = {"max_size": max(sizes), **settings}
    grid = {"size": list(sizes), "scale": list(scales)}
    return _run_sweep(
        trainability_run, "trainability", grid, store, n_seeds, scheduler, n_workers, progress, settings
    )


def trainability_experiment(
    ds: Any,
    *,
    features: str = "spectrum_init",
    n_splits: int = 20,
    length: int = 32,
    summary: bool = False,
    predictor: str = "ridge",
    size: int | None = None,
) -> dict[str, Any]:
    """Held-out error of :func:`trainability_readout` on the runs of a :func:`trainability_sweep`
    dataset, over ``n_splits`` random 80/20 splits (seeds 0..n_splits-1).

    ``summary=True`` uses only (lambda_max, mean, fraction positive); ``predictor`` is passed to
    :func:`trainability_readout`; ``size`` keeps only the runs of one network size.

    Returns medians and means of the held-out MSE, the predict-the-mean baseline MSE and R^2,
    and the fraction of splits where the predictor beats the baseline.
    """
    if size is not None:
        sizes = [int(v) for v in ds["size"].values]
        if size not in sizes:
            raise ValueError(f"`size` must be one of the swept sizes {sizes}; got {size!r}")
        ds = ds.sel(size=[size])
    spec = ds[features].values.reshape(-1, ds[features].shape[-1])
    y = ds["final_val_loss"].values.reshape(-1)
    keep = np.isfinite(y) & np.isfinite(spec[:, 0])
    spectra = [row[np.isfinite(row)] for row in spec[keep]]
    y = y[keep]
    rows = [
        trainability_readout(
            spectra,
            y,
            length=length,
            features="summary" if summary else "spectrum",
            predictor=predictor,
            generator=torch.Generator().manual_seed(s),
        )
        for s in range(n_splits)
    ]
    mse = np.array([r.test_mse for r in rows])
    base = np.array([r.baseline_mse for r in rows])
    return {
        "features": features + (" (summary)" if summary else ""),
        "predictor": predictor,
        "size": size,
        "n_runs": int(keep.sum()),
        "n_splits": n_splits,
        "test_mse_mean": float(mse.mean()),
        "test_mse_median": float(np.median(mse)),
        "baseline_mse_mean": float(base.mean()),
        "baseline_mse_median": float(np.median(base)),
        "r2_pooled": float(1.0 - mse.sum() / base.sum()),
        "frac_better_than_baseline": float((mse < base).mean()),
        "loss_range": [float(y.min()), float(y.max())],
    }


def gru_digits_table(ds: Any) -> str:
    """Markdown table of a :func:`gru_digits_sweep` dataset, one row per (alpha_z, g_h)."""
    lines = [
        "| alpha_z | g_h | epochs to target (per seed) | final train acc | final test acc "
        "| lambda_max init, autonomous | lambda_max init, digit-driven |",
        "|---|---|---|---|---|---|---|",
    ]
    for i, az in enumerate(ds["alpha_z"].values):
        for j, gh in enumerate(ds["g_h"].values):
            e = ds["epochs_to_target"].values[i, j]
            ett = ", ".join("never" if not np.isfinite(v) else f"{v:.0f}" for v in e)
            cell = lambda v: f"{np.nanmean(v):.3f} ± {np.nanstd(v):.3f}"  # noqa: E731
            lines.append(
                f"| {az:g} | {gh:g} | {ett} | {cell(ds['train_acc'].values[i, j])} | "
                f"{cell(ds['test_acc'].values[i, j])} | {cell(ds['lambda_max_auto'].values[i, j])} | "
                f"{cell(ds['lambda_max_driven'].values[i, j])} |"
            )
    return "\n".join(lines)


def _main(argv: Sequence[str] | None = None) -> None:
    """``python -m rnndyn.training.experiments {gru-digits,trainability} --store PATH ...``."""
    import argparse
    import json

    ap = argparse.ArgumentParser(prog="python -m rnndyn.training.experiments")
    ap.add_argument("experiment", choices=["gru-digits", "trainability"])
    ap.add_argument("--store", required=True)
    ap.add_argument("--seeds", type=int, default=2)
    ap.add_argument("--epochs", type=int, default=None)
    ap.add_argument("--lr", type=float, default=None)
    ap.add_argument("--workers", type=int, default=0, help="0: in this process; n: local Dask cluster")
    ap.add_argument("--sizes", type=str, default=None, help="trainability: comma list of sizes")
    ap.add_argument("--scales", type=str, default=None, help="trainability: comma list of init scales")
    ap.add_argument("--kind", type=str, default=None, help="trainability: gru, lstm or rnn")
    a = ap.parse_args(argv)
    sched, nw = ("sync", None) if a.workers == 0 else (None, a.workers)
    kw = {k: v for k, v in {"epochs": a.epochs, "lr": a.lr}.items() if v is not None}
    if a.experiment == "gru-digits":
        ds = gru_digits_sweep(a.store, n_seeds=a.seeds, scheduler=sched, n_workers=nw, **kw)
        print(gru_digits_table(ds))
    else:
        if a.sizes:
            kw["sizes"] = [int(v) for v in a.sizes.split(",")]
        if a.scales:
            kw["scales"] = [float(v) for v in a.scales.split(",")]
        if a.kind:
            kw["kind"] = a.kind
        ds = trainability_sweep(a.store, n_seeds=a.seeds, scheduler=sched, n_workers=nw, **kw)
        for f in ("spectrum_init", "spectrum_epoch1", "spectrum_final"):
            print(json.dumps(trainability_experiment(ds, features=f)))


if __name__ == "__main__":
    _main()


__all__ = [
    "digit_stream",
    "gru_digits_table",
    "gru_digits_run",
    "gru_digits_sweep",
    "trainability_experiment",
    "trainability_run",
    "trainability_sweep",
]

"""Claims of Vogt, Puelma Touzel, Shlizerman, Lajoie (Front. Appl. Math. Stat. 2022, arXiv:2006.14123):
the Lyapunov spectrum as a readout of trainability (docs/training.md)."""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Any

import numpy as np
import torch

import rnndyn as rd
from rnndyn.reproduce._common import mean_sem, run_grid
from rnndyn.reproduce._core import Claim, Measurement, PaperValue, compare, register
from rnndyn.reproduce._papers import VPSL22


def _readout(settings: dict[str, Any], *, seed: int, workdir: Path, scheduler: str | None) -> Measurement:
    from rnndyn.training.experiments import trainability_run

    h = int(settings["size"])
    fn = functools.partial(
        trainability_run,
        max_size=h,
        epochs=int(settings["epochs"]),
        lyapunov_steps=int(settings["lyapunov_steps"]),
    )
    ds = run_grid(
        fn,
        {"size": [h], "scale": list(settings["scales"])},
        workdir=workdir,
        name="trainability",
        settings=settings,
        scheduler=scheduler,
        n_seeds=int(settings["n_seeds"]),
        base_seed=seed,
    )
    spec = ds["spectrum_init"].values.reshape(-1, ds["spectrum_init"].shape[-1])
    y = ds["final_val_loss"].values.reshape(-1)
    keep = np.isfinite(y) & np.isfinite(spec[:, 0])
    spectra = [row[np.isfinite(row)] for row in spec[keep]]
    y = y[keep]
    r2 = []
    for s in range(int(settings["n_splits"])):
        r = rd.training.trainability_readout(
            spectra, y, features="summary", predictor="ridge", generator=torch.Generator().manual_seed(s)
        )
        r2.append(1.0 - r.test_mse / r.baseline_mse)
    m, e = mean_sem(r2)
    comps = (
        compare(
            "held-out R² of the final validation loss from the spectrum at initialisation (ridge)",
            PaperValue(
                "greater",
                0.0,
                source="abstract: 'the Lyapunov spectrum can serve as a robust readout "
                "of training stability across hyperparameters', read as: predicts better than the mean "
                "(R² > 0); the paper reports a validation MSE of 0.0056, not an R²",
            ),
            m,
            e,
            note=f"{len(r2)} random 80/20 splits of {int(keep.sum())} runs",
        ),
    )
    lam1 = np.asarray([s[0] for s in spectra])
    return Measurement(
        comps,
        {
            "lam1": lam1.tolist(),
            "loss": y.tolist(),
            "scale": np.repeat(np.asarray(ds["scale"].values), ds.sizes["seed"]).tolist(),
        },
        tuple(int(s) for s in np.asarray(ds["point_seed"].values).ravel()),
    )


def _plot_readout(ax: Any, data: dict[str, Any]) -> None:
    sc = ax.scatter(data["lam1"], data["loss"], c=data["scale"], cmap="viridis")
    ax.figure.colorbar(sc, ax=ax, label="init scale s")
    ax.set_xlabel("λ₁ at initialisation [1/step]")
    ax.set_ylabel("final validation loss")
    ax.set_title("GRU on sequential digits: spectrum vs outcome", fontsize=9)


register(
    Claim(
        id="vpsl22-readout",
        paper=VPSL22,
        where="abstract; spectrum-based prediction of the validation loss",
        claim="The Lyapunov spectrum of a network predicts how well it trains (its final validation loss) across "
        "initialisation scales.",
        paper_values="validation MSE 0.0056 of an MLP predictor on char-RNN runs (no R² given)",
        settings={
            "quick": {
                "size": 16,
                "scales": [0.5, 1.0, 2.0, 4.0, 8.0],
                "n_seeds": 3,
                "epochs": 2,
                "lyapunov_steps": 128,
                "n_splits": 20,
            },
            "full": {
                "size": 64,
                "scales": [0.25, 0.5, 1, 1.5, 2, 3, 4, 5, 6, 8],
                "n_seeds": 5,
                "epochs": 8,
                "lyapunov_steps": 768,
                "n_splits": 20,
            },
        },
        cost={"quick": "~20 s", "full": "~7 min (rd.sweep)"},
        compute=_readout,
        plot=_plot_readout,
        grid=True,
    )
)

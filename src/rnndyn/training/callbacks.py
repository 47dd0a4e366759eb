"""Callbacks run during training, and the trainability readout of [VPSL22] (docs/theory/chaos.md §3.4).

* :class:`LyapunovCallback`: the Lyapunov spectrum of the model every ``every`` epochs on
  held-out input sequences (input-driven models, [VPSL22] §3.2 set-up) or on the autonomous
  latent map of a :class:`ForcedRNN` ([MMD22]).
* :class:`EvaluationCallback`: D_stsp / D_H of a generative model every ``every`` epochs.
* :func:`spectrum_features` and :func:`trainability_readout`: fit a small predictor of final
  validation loss from spectrum features over many runs and report its held-out error (§3.4:
  spectra interpolated to a common length, random 80/20 split, regression of validation loss).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from torch import nn

from rnndyn._checks import check_choice, check_generator, check_positive_int, check_real
from rnndyn._results import Result, Status
from rnndyn.training.trainer import Callback

Tensor = torch.Tensor


class LyapunovCallback(Callback):
    """Top-``k`` Lyapunov exponents every ``every`` epochs (record: epoch, exponents, stderr).

    Args:
        every: period in epochs. k: exponents (``None``: all). n_steps / n_transient: QR run.
        inputs: held-out input sequences ``(B, T, d)`` for input-driven models (one trajectory
            per sequence, [VPSL22]); ``None`` for autonomous latent maps.
        lstm_state: ``"full"`` (h, c) tangent space ([MMD22] Remark 3) — the default of
            :func:`rnndyn.from_torch`.
        generator: randomness of the initial tangent frame (and, autonomous, of the initial
            states); ``None``: a fresh ``torch.Generator().manual_seed(0)`` at every record, so
            equal models give equal records (the global RNG is never used).
    """

    name = "lyapunov"

    def __init__(
        self,
        *,
        every: int = 10,
        k: int | None = 5,
        n_steps: int = 1000,
        n_transient: int = 200,
        inputs: Tensor | None = None,
        generator: torch.Generator | None = None,
    ) -> None:
        self.every = check_positive_int(every, "every")
        self.k = k
        self.n_steps = check_positive_int(n_steps, "n_steps")
        self.n_transient = check_positive_int(n_transient, "n_transient", minimum=0)
        self.inputs = inputs
        self.generator = check_generator(generator)

    def _system(self, model: nn.Module) -> Any:
        from rnndyn.training.teacher_forcing import ForcedRNN
        from rnndyn.training.trainer import SequenceClassifier

        if isinstance(model, ForcedRNN):
            return model.latent_map()
        if isinstance(model, SequenceClassifier):
            return model.core
        return model

    def on_epoch_end(self, epoch: int, model: nn.Module, history: dict[str, list[Any]]) -> Any:
        if epoch % self.every:
            return None
        from rnndyn.lyapunov import lyapunov_spectrum

        system = self._system(model)
        # an explicit generator: a record depended on the global RNG's state before (the frame)
        gen = self.generator if self.generator is not None else torch.Generator().manual_seed(0)
        was = model.training
        model.eval()
        with torch.no_grad():
            if self.inputs is not None:
                ref = next(iter(system.parameters()))
                x = self.inputs.to(dtype=ref.dtype, device=ref.device)
                n_steps = min(self.n_steps, x.shape[-2] - self.n_transient)
                res = lyapunov_spectrum(
                    system,
                    k=self.k,
                    n_steps=n_steps,
                    n_transient=self.n_transient,
                    inputs=x[..., : self.n_transient + n_steps, :],
                    throw=False,
                    h0=torch.zeros(system.state_size, dtype=ref.dtype, device=ref.device),
                    generator=gen,
                )
            else:
                res = lyapunov_spectrum(
                    system,
                    k=self.k,
                    n_steps=self.n_steps,
                    n_transient=self.n_transient,
                    n_trajectories=2,
                    generator=gen,
                    throw=False,
                )
        model.train(was)
        return {
            "epoch": epoch,
            "exponents": res.exponents.tolist(),
            "stderr": res.stderr.tolist(),
            "status": res.status.value,
        }


class EvaluationCallback(Callback):
    """D_stsp and D_H of a :class:`ForcedRNN` against ``data.test`` every ``every`` epochs."""

    name = "evaluation"

    def __init__(self, data: Any, *, every: int = 10, n_steps: int | None = None) -> None:
        self.data, self.every, self.n_steps = data, check_positive_int(every, "every"), n_steps

    def on_epoch_end(self, epoch: int, model: nn.Module, history: dict[str, list[Any]]) -> Any:
        if epoch % self.every:
            return None
        from rnndyn.training.evaluation import evaluate_generative

        was = model.training
        ev = evaluate_generative(model, self.data, n_steps=self.n_steps)  # type: ignore[arg-type]
        model.train(was)
        return {"epoch": epoch, "d_stsp": ev.d_stsp, "d_h": ev.d_h, "status": ev.status.value}


def spectrum_features(exponents: Any, *, length: int = 32) -> np.ndarray:
    """Features of one spectrum: it interpolated to ``length`` points on a normalised index
    axis (sizes differ across runs, §3.4 step 2), plus lambda_max, mean, and the fraction of
    positive exponents.

    Example:
        >>> spectrum_features([0.1, -0.1, -0.3], length=5)[:5].round(3).tolist()
        [0.1, 0.0, -0.1, -0.2, -0.3]
    """
    e = np.sort(np.asarray(exponents, dtype=float).ravel())[::-1]
    if e.size == 0 or not np.isfinite(e).all():
        raise ValueError(f"`exponents` must be a non-empty finite spectrum; got {e}")
    length = check_positive_int(length, "length", minimum=2)
    grid = np.linspace(0, 1, length)
    src = np.linspace(0, 1, e.size) if e.size > 1 else np.zeros(1)
    interp = np.interp(grid, src, e) if e.size > 1 else np.full(length, e[0])
    return np.concatenate([interp, [e[0], e.mean(), (e > 0).mean()]])


@dataclass(frozen=True, kw_only=True)
class TrainabilityResult(Result):
    """Held-out error of the spectrum -> final-loss predictor.

    ``test_mse`` / ``test_mae`` of the predictor on held-out runs, ``baseline_mse`` of
    predicting the training mean, ``r2`` = 1 - test_mse / baseline_mse. ``predictions`` and
    ``targets`` are the held-out pairs.
    """

    test_mse: float
    test_mae: float
    baseline_mse: float
    r2: float
    n_train: int
    n_test: int
    alpha: float
    predictions: list[float]
    targets: list[float]


def trainability_readout(
    spectra: Sequence[Any],
    final_losses: Sequence[float],
    *,
    length: int = 32,
    features: str = "spectrum",
    predictor: str = "ridge",
    test_fraction: float = 0.2,
    alphas: Sequence[float] = tuple(np.logspace(-3, 4, 15)),
    generator: torch.Generator | None = None,
) -> TrainabilityResult:
    """Fit a small predictor of final validation loss from Lyapunov-spectrum features.

    [VPSL22] (docs/theory/chaos.md §3.4) used an MLP 512 -> 50 -> 1 on spectra interpolated to 512
    points, trained on 80 % of hundreds of runs. Here (scikit-learn):

    * ``predictor="ridge"`` (default): ``RidgeCV`` on standardised features, penalty from
      ``alphas`` by efficient leave-one-out on the training runs; with tens of runs this is the
      "small predictor" that cannot do worse than the mean by much (large penalties shrink it
      towards the mean).
    * ``predictor="mlp"``: the [VPSL22] shape, ``MLPRegressor`` with one hidden layer of 50
      units (L2 penalty 1e-2, L-BFGS), seeded from ``generator``.

    ``features="spectrum"``: :func:`spectrum_features` (the spectrum interpolated to ``length``
    points + lambda_max, mean, fraction positive); ``"summary"``: those three summaries only.
    Runs are split at random (``generator``) into train/test.

    Returns:
        :class:`TrainabilityResult` with the held-out MSE beside the predict-the-mean baseline.

    Example:
        >>> g = torch.Generator().manual_seed(0)
        >>> lam = torch.linspace(-0.5, 0.5, 40, dtype=torch.float64)
        >>> spectra = [[float(l), float(l) - 0.5] for l in lam]
        >>> losses = [1.0 + 2.0 * float(l) for l in lam]
        >>> r = trainability_readout(spectra, losses, generator=g)
        >>> r.test_mse < 0.01 * r.baseline_mse
        True
    """
    from sklearn.linear_model import RidgeCV
    from sklearn.neural_network import MLPRegressor
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    check_generator(generator)
    check_choice(features, "features", ("spectrum", "summary"))
    check_choice(predictor, "predictor", ("ridge", "mlp"))
    y = np.asarray(final_losses, dtype=float)
    if len(spectra) != len(y):
        raise ValueError(f"`final_losses` must have one value per spectrum ({len(spectra)}); got {len(y)}")
    if len(y) < 5:
        raise ValueError(f"need at least 5 runs to fit and test a predictor; got {len(y)}")
    if not np.isfinite(y).all():
        raise ValueError("`final_losses` must be finite (drop diverged runs first)")
    test_fraction = check_real(
        test_fraction, "test_fraction", low=0.0, high=1.0, low_open=True, high_open=True
    )
    try:
        alpha_grid = np.asarray(alphas, dtype=float).reshape(-1)
    except (TypeError, ValueError):
        raise TypeError(f"`alphas` must be a sequence of ridge penalties > 0; got {alphas!r}") from None
    if alpha_grid.size == 0 or not (np.isfinite(alpha_grid).all() and (alpha_grid > 0).all()):
        raise ValueError(
            f"`alphas` must be a non-empty sequence of finite ridge penalties > 0; got {alphas!r}"
        )
    if len(y) - max(1, int(round(test_fraction * len(y)))) < 2:
        raise ValueError(
            f"`test_fraction` {test_fraction:g} of {len(y)} runs leaves fewer than 2 runs to fit; lower it"
        )
    X = np.stack([spectrum_features(s, length=length) for s in spectra])
    if features == "summary":
        X = X[:, -3:]
    perm = torch.randperm(len(y), generator=generator).numpy()
    n_test = max(1, int(round(test_fraction * len(y))))
    te, tr = perm[:n_test], perm[n_test:]
    if predictor == "ridge":
        reg = make_pipeline(StandardScaler(), RidgeCV(alphas=alpha_grid))
    else:
        seed = int(torch.randint(0, 2**31 - 1, (1,), generator=generator))
        net = MLPRegressor(
            hidden_layer_sizes=(50,), alpha=1e-2, solver="lbfgs", max_iter=5000, random_state=seed
        )
        reg = make_pipeline(StandardScaler(), net)
    reg.fit(X[tr], y[tr])
    pred = reg.predict(X[te])
    ym = y[tr].mean()
    mse = float(((pred - y[te]) ** 2).mean())
    base = float(((ym - y[te]) ** 2).mean())
    alpha = float(reg[-1].alpha_) if predictor == "ridge" else 1e-2
    return TrainabilityResult(
        test_mse=mse,
        test_mae=float(np.abs(pred - y[te]).mean()),
        baseline_mse=base,
        r2=1.0 - mse / base if base > 0 else math.nan,
        n_train=len(tr),
        n_test=len(te),
        alpha=alpha,
        predictions=pred.tolist(),
        targets=y[te].tolist(),
        status=Status.SUCCESS if base > 0 else Status.WARNING,
        message=f"{predictor} predictor on {len(tr)} training / {len(te)} held-out runs"
        + ("" if base > 0 else "; the held-out targets are constant, so r2 is undefined (NaN)"),
    )


__all__ = [
    "EvaluationCallback",
    "LyapunovCallback",
    "TrainabilityResult",
    "spectrum_features",
    "trainability_readout",
]

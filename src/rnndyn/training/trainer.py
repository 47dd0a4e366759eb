"""Trainers: sparse teacher forcing on chaotic series, and sequence classification.

Both use Adam, optional gradient clipping (``clip="norm"``: ``clip_grad_norm_``; ``"value"``:
``clip_grad_value_``), callbacks after every epoch, and checkpoints every ``checkpoint_every``
epochs holding model, optimiser, history and the generator state, so a run interrupted at any
point resumes from its last checkpoint and reproduces the uninterrupted run exactly.
"""

from __future__ import annotations

import dataclasses
import math
import os
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from torch import nn

from rnndyn._checks import check_choice, check_generator, check_positive_int, check_real
from rnndyn._results import Result, Status
from rnndyn.training.data import SequenceTask, TimeSeriesData
from rnndyn.training.teacher_forcing import ForcedRNN, check_tau

Tensor = torch.Tensor


@dataclass(frozen=True)
class TrainConfig:
    """Hyper-parameters, checked when the config is made (a bad value is a ``ValueError`` /
    ``TypeError`` naming the field, before any data are touched).

    ``tau``: forcing interval in samples, ``"auto"`` (ln 2 / lambda_max of the data from the
    Rosenstein estimator, docs/theory/chaos.md §2.3 item 5) or ``None`` (plain BPTT). Defaults follow
    the [MMD22] code (§2.4) except ``n_epochs`` (3000 there). ``anneal=True`` is the code's
    hard-coded schedule (docs/theory/chaos.md §2.3: tau grows linearly from 1 to ``tau`` over the
    epochs, :func:`annealed_tau`); the paper's main results describe fixed tau (the default).
    """

    n_epochs: int = 100
    batches_per_epoch: int = 10
    batch_size: int = 32
    seq_len: int = 100
    lr: float = 1e-3
    tau: int | str | None = "auto"
    clip: str | None = None
    clip_value: float = 1.0
    checkpoint_every: int = 0
    eval_every: int = 0
    anneal: bool = False

    def __post_init__(self) -> None:
        check_positive_int(self.n_epochs, "n_epochs")
        check_positive_int(self.batches_per_epoch, "batches_per_epoch")
        check_positive_int(self.batch_size, "batch_size")
        check_positive_int(self.seq_len, "seq_len")
        check_real(self.lr, "lr", low=0.0, low_open=True)
        if self.tau != "auto":
            object.__setattr__(self, "tau", check_tau(self.tau))
        if self.clip is not None:
            check_choice(self.clip, "clip", ("norm", "value"))
        check_real(self.clip_value, "clip_value", low=0.0, low_open=True)
        check_positive_int(self.checkpoint_every, "checkpoint_every", minimum=0)
        check_positive_int(self.eval_every, "eval_every", minimum=0)
        if not isinstance(self.anneal, bool):
            raise TypeError(
                f"`anneal` must be True or False; got {type(self.anneal).__name__} {self.anneal!r}"
            )


@dataclass(frozen=True, kw_only=True)
class TrainResult(Result):
    """Outcome of a training run.

    Attributes:
        losses: mean training loss per epoch. val_losses: ``(epoch, loss)`` pairs.
        tau: the forcing interval used (``None`` = plain BPTT). epochs_run: epochs completed.
        resumed_from: epoch of the checkpoint the run resumed from (0 = fresh).
        history: per-callback records. status / message.
    """

    losses: list[float]
    val_losses: list[tuple[int, float]]
    tau: int | None
    epochs_run: int
    resumed_from: int
    config: dict[str, Any]
    history: dict[str, list[Any]] = field(default_factory=dict)


class Callback:
    """Called after every epoch: ``on_epoch_end(epoch, model, history)``; may return a record
    that is appended to ``history[self.name]``. Subclass and override."""

    name = "callback"

    def on_epoch_end(self, epoch: int, model: nn.Module, history: dict[str, list[Any]]) -> Any:
        return None


def resolve_tau(
    tau: int | str | None, data: TimeSeriesData, *, generator: torch.Generator | None = None
) -> int | None:
    """``"auto"`` -> round(ln 2 / lambda_max dt) from :func:`estimate_lambda_max` on the training data.

    An estimate with status ``warning`` (e.g. no clean linear range) still gives tau, with a
    ``UserWarning`` quoting its message; any worse status is a ``ValueError``."""
    if tau == "auto":
        from rnndyn.training.lyapunov_data import estimate_lambda_max

        est = estimate_lambda_max(data.train, dt=data.dt, generator=generator)
        status = str(getattr(est, "status", "success"))  # rnndyn.Status is a StrEnum
        if status not in ("success", "warning"):
            raise ValueError(
                f"tau='auto' needs a usable lambda_max estimate of the data; the estimate has status "
                f"{status}: {getattr(est, 'message', '')}. Pass an explicit tau"
            )
        if not (est.lambda_max > 0):
            raise ValueError(
                f"tau='auto' needs a positive lambda_max of the data; the estimate is {est.lambda_max:.4g}"
            )
        tau = max(1, int(round(est.predictability_steps)))
        if status == "warning":
            warnings.warn(
                f"tau='auto' = {tau} comes from a lambda_max estimate of the data ({est.lambda_max:.4g}) "
                f"with status warning: {getattr(est, 'message', '')}. Check it (rd.lyapunov_from_data) or "
                "pass an explicit tau",
                stacklevel=2,
            )
        return tau
    return check_tau(tau)


def annealed_tau(tau: int, epoch: int, n_epochs: int) -> int:
    """The [MMD22] code's annealing (docs/theory/chaos.md §2.3): ``int((tau - 1) / n_epochs * e) + 1``
    at 0-based epoch ``e = epoch - 1``, i.e. 1 at the first epoch rising linearly towards ``tau``.

    Example:
        >>> [annealed_tau(30, e, 100) for e in (1, 2, 51, 100)]
        [1, 1, 15, 29]
    """
    return int((check_tau(tau) - 1) / n_epochs * (epoch - 1)) + 1


def _clip(params: Sequence[Tensor], clip: str | None, value: float) -> None:
    if clip == "norm":
        nn.utils.clip_grad_norm_(params, value)
    elif clip == "value":
        nn.utils.clip_grad_value_(params, value)


def _save(path: Path, payload: dict[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    torch.save(payload, tmp)
    os.replace(tmp, path)  # atomic: a kill mid-save never leaves a corrupt checkpoint


def _windows(series: Tensor, n: int, length: int, gen: torch.Generator) -> Tensor:
    S, T, _ = series.shape
    if T < length:
        raise ValueError(f"`seq_len` + 1 = {length} exceeds the series length {T}")
    s = torch.randint(0, S, (n,), generator=gen)
    t0 = torch.randint(0, T - length + 1, (n,), generator=gen)
    idx = t0[:, None] + torch.arange(length)[None]
    return series[s[:, None], idx]


#: TrainConfig fields a run may change when it resumes a checkpoint (training longer, saving or
#: evaluating more or less often); any other difference would splice two different runs together
_RESUMABLE_CHANGES = ("n_epochs", "checkpoint_every", "eval_every")


def _check_resume(path: Path, state: dict[str, Any], config: TrainConfig, extra: dict[str, Any]) -> None:
    """Refuse to resume a checkpoint written with other settings (a spliced run would be reported
    under the new settings although its first epochs used the old ones)."""
    stored = dict(state.get("config") or {})
    now = dataclasses.asdict(config)
    differ = {
        k: (stored[k], now[k])
        for k in now
        if k not in _RESUMABLE_CHANGES and k in stored and stored[k] != now[k]
    }
    stored_extra = state.get("extra")
    if stored_extra is not None:  # the resolved tau ('auto') and the data / task name
        differ |= {
            k: (stored_extra.get(k), v)
            for k, v in extra.items()
            if k not in differ and stored_extra.get(k) != v
        }
    diff = [f"{k}: checkpoint has {a!r}, this call asks for {b!r}" for k, (a, b) in differ.items()]
    if diff:
        raise ValueError(
            f"`checkpoint` {path} was written by a run with other settings: " + "; ".join(diff)
            + ". Resume with the same settings (n_epochs, checkpoint_every and eval_every may change), "
            "pass resume=False to start afresh (the file is overwritten), or use another path"
        )  # fmt: skip


def _run(
    model: nn.Module,
    loss_fn: Callable[[torch.Generator, int], Tensor],
    val_fn: Callable[[], float] | None,
    config: TrainConfig,
    *,
    extra: dict[str, Any],
    callbacks: Sequence[Callback],
    checkpoint: str | Path | None,
    resume: bool,
    generator: torch.Generator | None,
    progress: Callable[[int, int, float], None] | None,
) -> TrainResult:
    n_epochs = check_positive_int(config.n_epochs, "n_epochs")
    bpe = check_positive_int(config.batches_per_epoch, "batches_per_epoch")
    lr = check_real(config.lr, "lr", low=0.0, low_open=True)
    if config.clip is not None:
        check_choice(config.clip, "clip", ("norm", "value"))
    clip_value = check_real(config.clip_value, "clip_value", low=0.0, low_open=True)
    every = check_positive_int(config.checkpoint_every, "checkpoint_every", minimum=0)
    eval_every = check_positive_int(config.eval_every, "eval_every", minimum=0)
    check_generator(generator)
    gen = generator if generator is not None else torch.Generator().manual_seed(0)
    params = [p for p in model.parameters() if p.requires_grad]
    opt = torch.optim.Adam(params, lr=lr)
    losses: list[float] = []
    val_losses: list[tuple[int, float]] = []
    history: dict[str, list[Any]] = {}
    start = 0
    ckpt = Path(checkpoint) if checkpoint is not None else None
    if ckpt is not None and resume and ckpt.exists():
        state = torch.load(ckpt, weights_only=True)  # tensors and plain containers only: runs no code
        _check_resume(ckpt, state, config, extra)
        try:
            model.load_state_dict(state["model"])
        except RuntimeError as exc:
            raise ValueError(
                f"`checkpoint` {ckpt} holds another model's weights ({str(exc).splitlines()[-1].strip()}); "
                "pass resume=False to start afresh (it is overwritten) or use another path"
            ) from None
        opt.load_state_dict(state["optimizer"])
        gen.set_state(state["generator"])
        losses, val_losses, history = state["losses"], state["val_losses"], state["history"]
        start = int(state["epoch"])
    resumed_from = start
    status, message = Status.SUCCESS, ""
    for epoch in range(start + 1, n_epochs + 1):
        model.train()
        total = 0.0
        for _ in range(bpe):
            loss = loss_fn(gen, epoch)
            if not torch.isfinite(loss):
                status, message = Status.DIVERGED, f"non-finite loss at epoch {epoch}"
                break
            opt.zero_grad(set_to_none=True)
            loss.backward()
            _clip(params, config.clip, clip_value)
            opt.step()
            total += float(loss.detach())
        if status is not Status.SUCCESS:
            break
        losses.append(total / bpe)
        if val_fn is not None and eval_every and (epoch % eval_every == 0 or epoch == n_epochs):
            model.eval()
            with torch.no_grad():
                val_losses.append((epoch, float(val_fn())))
        for cb in callbacks:
            rec = cb.on_epoch_end(epoch, model, history)
            if rec is not None:
                history.setdefault(cb.name, []).append(rec)
        if progress is not None:
            progress(epoch, n_epochs, losses[-1])
        if ckpt is not None and every and (epoch % every == 0 or epoch == n_epochs):
            _save(
                ckpt,
                {
                    "epoch": epoch,
                    "model": model.state_dict(),
                    "optimizer": opt.state_dict(),
                    "generator": gen.get_state(),
                    "losses": losses,
                    "val_losses": val_losses,
                    "history": history,
                    "config": dataclasses.asdict(config),
                    "extra": dict(extra),
                },
            )
    if status is Status.SUCCESS:
        message = f"{len(losses) - resumed_from} epochs with finite losses"
        if resumed_from >= n_epochs:
            message = (
                f"the checkpoint is at epoch {resumed_from} >= n_epochs = {n_epochs}: nothing left to "
                "train; the result is the checkpoint's record"
            )
    return TrainResult(
        losses=losses,
        val_losses=val_losses,
        tau=extra.get("tau"),
        epochs_run=len(losses),
        resumed_from=resumed_from,
        config=dataclasses.asdict(config) | extra,
        history=history,
        status=status,
        message=message,
    )


def train_forced(
    model: ForcedRNN,
    data: TimeSeriesData,
    *,
    config: TrainConfig = TrainConfig(),
    callbacks: Sequence[Callback] = (),
    checkpoint: str | Path | None = None,
    resume: bool = True,
    generator: torch.Generator | None = None,
    progress: Callable[[int, int, float], None] | None = None,
) -> TrainResult:
    r"""Train a :class:`ForcedRNN` on a chaotic series by sparsely forced BPTT ([MMD22] §4.1).

    Each epoch draws ``batches_per_epoch`` batches of ``batch_size`` random windows of
    ``seq_len + 1`` samples from the training series; the loss is the MSE of all ``seq_len``
    one-step predictions with forcing every ``tau`` steps (docs/theory/chaos.md §2.3). With
    ``tau=None`` and ``clip="norm"``, ``clip_value=1`` this is the paper's gradient-clipping
    baseline ("gradients were normalized to 1 prior to each parameter update", §2.4).

    Args:
        model: latent map + readout. data: standardised series (:func:`chaotic_series`).
        config: :class:`TrainConfig`. callbacks: :class:`Callback` objects run after each epoch.
        checkpoint: file written every ``config.checkpoint_every`` epochs (and at the end);
            with ``resume=True`` an existing file is loaded and training continues after it.
        generator: randomness of the window sampling (its state is checkpointed).
        progress: ``progress(epoch, n_epochs, loss)`` after each epoch.

    Returns:
        :class:`TrainResult` (validation loss: forced MSE on test windows every ``eval_every``).

    Raises:
        ValueError: ``tau < 1``, ``seq_len`` longer than the series, a readout whose rank is
        below the observation dimension, NaN data (caught when the data are built).
    """
    if not isinstance(model, ForcedRNN):
        raise TypeError(f"`model` must be a ForcedRNN; got {type(model).__name__}")
    if data.n_obs != model.n_obs:
        raise ValueError(f"`data` has {data.n_obs} observed coordinates; the model reads out {model.n_obs}")
    tau = resolve_tau(config.tau, data, generator=None)
    seq_len = check_positive_int(config.seq_len, "seq_len")
    batch = check_positive_int(config.batch_size, "batch_size")
    dtype = model.readout.weight.dtype
    device = model.readout.weight.device
    train = data.train.to(dtype=dtype, device=device)
    test = data.test.to(dtype=dtype, device=device)
    _windows(train, 1, seq_len + 1, torch.Generator().manual_seed(0))  # validates seq_len
    val_len = min(seq_len + 1, test.shape[1])
    val_gen = torch.Generator().manual_seed(12345)
    val_x = _windows(test, min(256, 4 * batch), val_len, val_gen)

    anneal = bool(config.anneal) and tau is not None
    n_epochs = check_positive_int(config.n_epochs, "n_epochs")

    def loss_fn(gen: torch.Generator, epoch: int) -> Tensor:
        x = _windows(train, batch, seq_len + 1, gen)
        t = annealed_tau(tau, epoch, n_epochs) if anneal else tau
        return ((model(x, tau=t) - x[:, 1:]) ** 2).mean()

    def val_fn() -> float:
        return float(((model(val_x, tau=tau) - val_x[:, 1:]) ** 2).mean())

    return _run(
        model,
        loss_fn,
        val_fn,
        config,
        extra={"tau": tau, "data": data.name},
        callbacks=callbacks,
        checkpoint=checkpoint,
        resume=resume,
        generator=generator,
        progress=progress,
    )


# ---------------------------------------------------------------------------- classification
class SequenceClassifier(nn.Module):
    """An input-driven map with a linear readout of its ``h`` block: the last step's output
    (class labels ``(B,)``) or every step's (per-step labels ``(B, T)``).

    ``core``: an rnndyn map with ``input_size = d`` or a torch.nn RNN/GRU/LSTM (wrapped by
    :func:`rnndyn.from_torch`). The initial state is zero.
    """

    def __init__(self, core: nn.Module, n_classes: int, *, generator: torch.Generator | None = None) -> None:
        super().__init__()
        self.body = ForcedRNN(core, 1, generator=generator)  # reuses the core handling / h block
        self.core = self.body.core
        m = self.body.obs_slice.stop - self.body.obs_slice.start
        ref = self.body.readout.weight
        self.head = nn.Linear(
            m, check_positive_int(n_classes, "n_classes"), dtype=ref.dtype, device=ref.device
        )
        if generator is not None:
            with torch.no_grad():
                bound = 1.0 / math.sqrt(m)
                w = (
                    2 * torch.rand(self.head.weight.shape, generator=generator, dtype=torch.float64) - 1
                ) * bound
                self.head.weight.copy_(w.to(ref.dtype))
                self.head.bias.zero_()

    def forward(self, x: Tensor, *, per_step: bool = False) -> Tensor:
        """``x``: ``(B, T, d)`` -> logits ``(B, n_classes)`` or ``(B, T, n_classes)``."""
        if self.body._fused():
            # a whole torch.nn RNN/GRU/LSTM runs the sequence in one ATen call from h = 0 (same
            # map as the step loop below; tested against it)
            mod = self.core.module
            y, _ = mod(x if mod.batch_first else x.transpose(0, 1))
            y = y if mod.batch_first else y.transpose(0, 1)
            return self.head(y if per_step else y[:, -1])
        z = x.new_zeros(x.shape[0], self.core.state_size)
        outs = []
        for t in range(x.shape[1]):
            z = self.core._step(z, x[:, t])
            if per_step:
                outs.append(z)
        if per_step:
            return self.head(torch.stack(outs, 1)[..., self.body.obs_slice])
        return self.head(z[..., self.body.obs_slice])


def _ce(model: SequenceClassifier, x: Tensor, y: Tensor) -> tuple[Tensor, Tensor]:
    per_step = y.ndim == 2
    logits = model(x, per_step=per_step)
    if per_step:
        loss = nn.functional.cross_entropy(
            logits.reshape(-1, logits.shape[-1]), y.reshape(-1), ignore_index=-100
        )
        mask = y != -100
        acc = (logits.argmax(-1)[mask] == y[mask]).to(logits.dtype).mean()
    else:
        loss = nn.functional.cross_entropy(logits, y)
        acc = (logits.argmax(-1) == y).to(logits.dtype).mean()
    return loss, acc


def evaluate_classifier(
    model: SequenceClassifier, task: SequenceTask, *, batch_size: int = 512
) -> tuple[float, float]:
    """Test loss and accuracy of ``model`` on ``task``."""
    dtype = model.head.weight.dtype
    tot_l = tot_a = 0.0
    n = task.inputs_test.shape[0]
    with torch.no_grad():
        for i in range(0, n, batch_size):
            x = task.inputs_test[i : i + batch_size].to(dtype=dtype, device=model.head.weight.device)
            y = task.targets_test[i : i + batch_size].to(model.head.weight.device)
            l, a = _ce(model, x, y)
            tot_l += float(l) * len(x)
            tot_a += float(a) * len(x)
    return tot_l / n, tot_a / n


class _Accuracy(Callback):
    name = "test_accuracy"

    def __init__(self, task: SequenceTask, every: int) -> None:
        self.task, self.every = task, every

    def on_epoch_end(self, epoch: int, model: nn.Module, history: dict[str, list[Any]]) -> Any:
        if epoch % self.every:
            return None
        loss, acc = evaluate_classifier(model, self.task)  # type: ignore[arg-type]
        return {"epoch": epoch, "loss": loss, "accuracy": acc}


def train_classifier(
    model: SequenceClassifier,
    task: SequenceTask,
    *,
    config: TrainConfig = TrainConfig(tau=None, batch_size=64, batches_per_epoch=20),
    callbacks: Sequence[Callback] = (),
    accuracy_every: int = 1,
    checkpoint: str | Path | None = None,
    resume: bool = True,
    generator: torch.Generator | None = None,
    progress: Callable[[int, int, float], None] | None = None,
) -> TrainResult:
    """Train a :class:`SequenceClassifier` by cross-entropy with Adam (``config.tau`` unused).

    Test accuracy is recorded every ``accuracy_every`` epochs in ``history["test_accuracy"]``.
    """
    if not isinstance(model, SequenceClassifier):
        raise TypeError(f"`model` must be a SequenceClassifier; got {type(model).__name__}")
    batch = check_positive_int(config.batch_size, "batch_size")
    dtype = model.head.weight.dtype
    dev = model.head.weight.device
    xtr = task.inputs_train.to(dtype=dtype, device=dev)
    ytr = task.targets_train.to(dev)
    if xtr.shape[-1] != model.core.input_size:
        raise ValueError(f"the task has input size {xtr.shape[-1]}; the model takes {model.core.input_size}")

    def loss_fn(gen: torch.Generator, epoch: int) -> Tensor:
        idx = torch.randint(0, xtr.shape[0], (batch,), generator=gen).to(dev)
        return _ce(model, xtr[idx], ytr[idx])[0]

    cbs = [_Accuracy(task, check_positive_int(accuracy_every, "accuracy_every")), *callbacks]
    return _run(
        model,
        loss_fn,
        None,
        config,
        extra={"tau": None, "task": task.name},
        callbacks=cbs,
        checkpoint=checkpoint,
        resume=resume,
        generator=generator,
        progress=progress,
    )


def epochs_to_accuracy(result: TrainResult, target: float) -> int | None:
    """First epoch whose recorded test accuracy reaches ``target`` (``None`` if never)."""
    for rec in result.history.get("test_accuracy", []):
        if rec["accuracy"] >= target:
            return int(rec["epoch"])
    return None


__all__ = [
    "Callback",
    "SequenceClassifier",
    "TrainConfig",
    "TrainResult",
    "annealed_tau",
    "epochs_to_accuracy",
    "evaluate_classifier",
    "resolve_tau",
    "train_classifier",
    "train_forced",
]

"""`rnndyn train`: sparse-teacher-forcing training on a chaotic benchmark, evaluation, figures."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Annotated, Any

import typer

from rnndyn.cli._common import (
    DeviceOpt,
    ForceOpt,
    JsonOpt,
    OutOpt,
    SeedOpt,
    check_device,
    check_outputs,
    console,
    fail,
    fail_from,
    only_with,
    with_overall_status,
    write_json,
)


def fmt(v: float, se: float | None = None) -> str:
    """:func:`rnndyn.report.fmt`: 4 significant digits, or the value rounded to its error."""
    from rnndyn.report import fmt as _fmt

    return _fmt(float(v), None if se is None else float(se))


def gradient_line(grad: Any) -> str:
    """The console line of ``train --gradients``: the fitted growth rates (4 significant digits)
    and the model's lambda_max quoted with its standard error (``+0.0231 ± 0.0042``), per step."""
    lam = (
        "not computed" if grad.lambda_max is None else fmt(grad.lambda_max, grad.lambda_max_stderr) + "/step"
    )
    return (
        f"gradient growth rate {fmt(grad.grad_rate)}/step, tangent {fmt(grad.tangent_rate)}/step, "
        f"lambda_max {lam}"
    )


def _parse_taus(raw: str) -> list[int | str | None]:
    out: list[int | str | None] = []
    for item in raw.split(","):
        item = item.strip().lower()
        if item in ("none", "bptt", "clip"):
            out.append(None)
        elif item == "auto":
            out.append("auto")
        else:
            try:
                out.append(int(item))
            except ValueError:
                raise fail(f"`--tau` must be a comma list of ints, 'auto' or 'none'; got {item!r}") from None
    return out


def _loss_progress() -> Any:
    """The training progress bar: description, bar, epochs done/total, last loss, elapsed time."""
    from rich.progress import BarColumn, TextColumn, TimeElapsedColumn

    from rnndyn.cli._common import progress_display

    return progress_display(
        TextColumn("{task.description}"),
        BarColumn(),
        TextColumn("{task.completed}/{task.total}"),
        TextColumn("loss {task.fields[loss]}"),
        TimeElapsedColumn(),
    )


#: the training library's arguments -> the options of `rnndyn train`
OPTIONS = {
    "series": "--n-steps",  # the generated data: its length is set by --n-steps
    "horizons": "--horizons",
    "tau": "--tau",
    "images": "--images",
    "labels": "--labels",
    "test_images": "--test-images",
    "test_labels": "--test-labels",
    "pixels_per_step": "--pixels-per-step",
    "max_samples": "--max-samples",
    "length": "--copy-length",
    "delay": "--copy-delay",
    "checkpoint": "--checkpoint",
    "g_h": "--g-h",
    "alpha_z": "--alpha-z",
    "alpha_r": "--alpha-r",
}


def _check_options(
    *,
    data: str,
    model: str,
    ints: dict[str, int],
    lr: float,
    clip: str,
    clip_value: float,
    standardise: str,
    eval_reference: str,
    files: dict[str, Path | None],
    checkpoint: Path | None,
    target: float,
    device: str,
) -> None:
    """The options, in the command line's names, before any data is generated or any epoch run
    (the library checked them only when it reached them, after the data or mid-run)."""
    from rnndyn._checks import check_choice, check_positive_int, check_real
    from rnndyn.training.data import SERIES

    try:
        check_choice(data, "--data", (*SERIES, *_TASKS))
        models = ("lstm", "gru", "rnn", "cks-gru") if data in _TASKS else ("lstm", "gru", "rnn")
        check_choice(model, "--model", models)
        for flag, value in ints.items():
            check_positive_int(value, flag)
        check_real(lr, "--lr", low=0.0, low_open=True)
        check_choice(clip, "--clip", ("none", "norm", "value"))
        check_real(clip_value, "--clip-value", low=0.0, low_open=True)
        check_choice(standardise, "--standardise", ("per_dim", "global", "none"))
        check_choice(eval_reference, "--eval-reference", ("test", "all"))
        for flag, path in files.items():
            if path is not None and not path.is_file():
                what = "a directory" if path.is_dir() else "no such file"
                raise ValueError(f"`{flag}` must be an existing file; got {str(path)!r} ({what})")
        if checkpoint is not None and checkpoint.is_dir():  # before: IsADirectoryError after the data
            raise ValueError(
                f"`--checkpoint` must be a file path; got {str(checkpoint)!r}, which is a directory"
            )
        check_real(target, "--target", low=0.0, high=1.0, low_open=True)  # an accuracy (0.75 = 75%)
    except (TypeError, ValueError) as exc:
        raise fail_from(exc, OPTIONS) from None
    check_device(device)  # by its option name, before the data (was `device`, after ~5 s)


def _parse_horizons(raw: str, tau_pred: float | None) -> list[int]:
    """``auto``: 10 horizons from tau_pred to 10 tau_pred (the asymptotic regime of a model whose
    lambda_max matches the data's; 5..60 when tau_pred is unknown); else a comma list of ints."""
    if raw.strip().lower() == "auto":
        if tau_pred is None:
            return list(range(5, 65, 5))
        step = max(1, round(tau_pred))
        return [step * k for k in range(1, 11)]
    try:
        hs = [int(v) for v in raw.split(",")]
    except ValueError:
        raise fail(f"`--horizons` must be 'auto' or a comma list of increasing ints; got {raw!r}") from None
    if len(hs) < 2 or sorted(hs) != hs or hs[0] < 1:
        raise fail(f"`--horizons` must be at least two increasing ints >= 1; got {raw!r}")
    return hs


def train_cmd(
    ctx: typer.Context,
    data: Annotated[
        str,
        typer.Option(
            "--data",
            help="Chaotic benchmark (lorenz63_rho38, lorenz63, rossler, duffing) for sparse teacher "
            "forcing, or a classification task: digits (sklearn 8x8, pixel by pixel), mnist "
            "(local files: --images/--labels), copy (delayed copy).",
        ),
    ] = "lorenz63_rho38",
    model: Annotated[
        str,
        typer.Option(
            "--model",
            "-m",
            help="torch.nn model: lstm, gru, rnn; for classification also cks-gru (rd.GRU, "
            "--g-h/--alpha-z/--alpha-r, zero biases).",
        ),
    ] = "lstm",
    hidden: Annotated[int, typer.Option("--hidden", help="Latent (hidden) size.")] = 30,
    tau: Annotated[
        str,
        typer.Option(
            "--tau",
            help="Forcing interval(s): int, 'auto' (ln2/lambda_max of the data), "
            "'none' (BPTT with gradients normalised to 1); a comma list runs a sweep.",
        ),
    ] = "auto",
    epochs: Annotated[int, typer.Option("--epochs", help="Epochs.")] = 100,
    batches: Annotated[int, typer.Option("--batches", help="Batches per epoch.")] = 10,
    batch_size: Annotated[int, typer.Option("--batch-size", help="Windows per batch.")] = 32,
    seq_len: Annotated[int, typer.Option("--seq-len", help="Window length (steps).")] = 200,
    lr: Annotated[float, typer.Option("--lr", help="Adam learning rate.")] = 1e-3,
    clip: Annotated[str, typer.Option("--clip", help="Gradient clipping: none, norm, value.")] = "none",
    anneal: Annotated[
        bool,
        typer.Option(
            "--anneal/--no-anneal",
            help="Anneal tau linearly from 1 to --tau over the epochs (the [MMD22] code's hard-coded "
            "schedule; the paper describes fixed tau).",
        ),
    ] = False,
    clip_value: Annotated[float, typer.Option("--clip-value", help="Clipping threshold.")] = 1.0,
    n_series: Annotated[int, typer.Option("--n-series", help="Independent trajectories in the data.")] = 8,
    n_steps: Annotated[int, typer.Option("--n-steps", help="Samples per trajectory.")] = 12_500,
    standardise: Annotated[
        str,
        typer.Option(
            "--standardise",
            help="per_dim (z-score each coordinate), global (one affine map, as the [MMD22] Lorenz "
            "file), none.",
        ),
    ] = "per_dim",
    checkpoint: Annotated[
        Path | None, typer.Option("--checkpoint", help="Checkpoint file (single tau).")
    ] = None,
    checkpoint_every: Annotated[
        int, typer.Option("--checkpoint-every", help="Checkpoint period (epochs).")
    ] = 10,
    resume: Annotated[bool, typer.Option("--resume/--no-resume", help="Resume from --checkpoint.")] = True,
    gradients: Annotated[
        bool, typer.Option("--gradients/--no-gradients", help="Gradient-vs-horizon diagnostic.")
    ] = False,
    horizons: Annotated[
        str,
        typer.Option(
            "--horizons",
            help="Horizons (steps) of the --gradients diagnostic: comma list, or auto = tau_pred, "
            "2 tau_pred, ..., 10 tau_pred (short horizons measure transient growth, not lambda_max).",
        ),
    ] = "auto",
    lyapunov: Annotated[
        bool, typer.Option("--lyapunov/--no-lyapunov", help="lambda_max of the trained model.")
    ] = True,
    eval_steps: Annotated[
        int | None,
        typer.Option(
            "--eval-steps",
            help="Length of each free run scored by D_stsp / D_H (default: the test length; "
            "the [MMD22] evaluation is 100000).",
        ),
    ] = None,
    eval_reference: Annotated[
        str,
        typer.Option(
            "--eval-reference", help="Data the free runs are scored against: test (held out) or all."
        ),
    ] = "test",
    images: Annotated[
        Path | None, typer.Option("--images", help="mnist: IDX image file (.gz fine) or NPZ.")
    ] = None,
    labels: Annotated[Path | None, typer.Option("--labels", help="mnist: IDX label file.")] = None,
    test_images: Annotated[
        Path | None, typer.Option("--test-images", help="mnist: held-out images (else a random split).")
    ] = None,
    test_labels: Annotated[Path | None, typer.Option("--test-labels", help="mnist: held-out labels.")] = None,
    pixels_per_step: Annotated[
        int, typer.Option("--pixels-per-step", help="mnist: pixels read per step (1 = 784 steps).")
    ] = 1,
    max_samples: Annotated[
        int | None, typer.Option("--max-samples", help="mnist: use only the first N images.")
    ] = None,
    copy_length: Annotated[int, typer.Option("--copy-length", help="copy: symbols to remember.")] = 5,
    copy_delay: Annotated[int, typer.Option("--copy-delay", help="copy: blank steps before recall.")] = 20,
    g_h: Annotated[float, typer.Option("--g-h", help="cks-gru: candidate gain g_h.")] = 2.0,
    alpha_z: Annotated[float, typer.Option("--alpha-z", help="cks-gru: update-gate gain.")] = 1.0,
    alpha_r: Annotated[float, typer.Option("--alpha-r", help="cks-gru: reset-gate gain.")] = 1.0,
    target: Annotated[
        float, typer.Option("--target", help="Classification: report the first epoch reaching this accuracy.")
    ] = 0.75,
    seed: SeedOpt = 0,
    device: DeviceOpt = "cpu",
    json_path: JsonOpt = None,
    out: OutOpt = None,
    force: ForceOpt = False,
) -> None:
    """Train an RNN: sparse teacher forcing on a chaotic series (D_stsp / D_H), or a sequence
    classifier on digits / MNIST / delayed copy (accuracy)."""
    check_outputs(
        json_path=json_path,
        out=out,
        out_files=("tau_sweep.png", "loss.png", "attractor.png", "gradients.png", "accuracy.png"),
        force=force,
    )  # before any long computation
    # options of another task or model, typed by mistake, were ignored without a word
    only_with(ctx, gradients, "--gradients", {"horizons": "--horizons"})
    mnist_opts = ("images", "labels", "test_images", "test_labels", "pixels_per_step", "max_samples")
    only_with(ctx, data == "mnist", "--data mnist", {k: "--" + k.replace("_", "-") for k in mnist_opts})
    only_with(
        ctx, data == "copy", "--data copy", {"copy_length": "--copy-length", "copy_delay": "--copy-delay"}
    )
    only_with(
        ctx,
        model == "cks-gru",
        "-m cks-gru",
        {"g_h": "--g-h", "alpha_z": "--alpha-z", "alpha_r": "--alpha-r"},
    )
    only_with(
        ctx, data in _TASKS, "a classification task (--data digits, mnist or copy)", {"target": "--target"}
    )
    _check_options(
        data=data, model=model, ints={"--hidden": hidden, "--epochs": epochs, "--batches": batches,
        "--batch-size": batch_size, "--seq-len": seq_len, "--n-series": n_series, "--n-steps": n_steps,
        "--checkpoint-every": checkpoint_every,
        **({} if max_samples is None else {"--max-samples": max_samples})}, lr=lr, clip=clip, clip_value=clip_value,
        standardise=standardise, eval_reference=eval_reference,
        files={"--images": images, "--labels": labels, "--test-images": test_images, "--test-labels": test_labels},
        checkpoint=checkpoint, target=target, device=device,
    )  # fmt: skip
    import dataclasses

    import torch

    from rnndyn import training as tr
    from rnndyn._checks import check_choice, check_positive_int

    if data in _TASKS:
        _classify(
            data,
            model=model,
            hidden=hidden,
            epochs=epochs,
            batches=batches,
            batch_size=batch_size,
            lr=lr,
            clip=clip,
            clip_value=clip_value,
            checkpoint=checkpoint,
            checkpoint_every=checkpoint_every,
            resume=resume,
            task_kw={
                "images": images,
                "labels": labels,
                "test_images": test_images,
                "test_labels": test_labels,
                "pixels_per_step": pixels_per_step,
                "max_samples": max_samples,
                "copy_length": copy_length,
                "copy_delay": copy_delay,
            },
            gains=(g_h, alpha_z, alpha_r),
            target=target,
            seed=seed,
            device=device,
            json_path=json_path,
            out=out,
        )
        return
    taus = _parse_taus(tau)
    try:
        check_choice(eval_reference, "--eval-reference", ("test", "all"))  # before hours of training
        if eval_steps is not None:
            check_positive_int(eval_steps, "--eval-steps")
        series = tr.chaotic_series(
            data,
            n_series=n_series,
            n_steps=n_steps,
            standardise=standardise,
            generator=torch.Generator().manual_seed(seed),
        )
        hz = _parse_horizons(horizons, series.predictability_steps) if gradients else None
        cfg = tr.TrainConfig(
            n_epochs=epochs,
            batches_per_epoch=batches,
            batch_size=batch_size,
            seq_len=seq_len,
            lr=lr,
            tau=taus[0],
            clip=None if clip == "none" else clip,
            clip_value=clip_value,
            checkpoint_every=checkpoint_every if checkpoint else 0,
            eval_every=max(1, epochs // 10),
            anneal=anneal,
        )

        def make(s: int) -> tr.ForcedRNN:
            core = tr.make_torch_rnn(model, hidden, generator=torch.Generator().manual_seed(s), device=device)
            return tr.ForcedRNN(core, series.n_obs, generator=torch.Generator().manual_seed(s + 1))

        with _loss_progress() as bar:
            task = bar.add_task("training", total=epochs, loss="-")
            if len(taus) > 1:

                def prog(label: str, e: int, n: int, loss: float) -> None:
                    bar.update(task, completed=e, description=label, loss=f"{loss:.4f}")

                sweep = tr.tau_sweep(
                    make,
                    series,
                    taus,
                    config=cfg,
                    seeds=(seed,),
                    eval_steps=eval_steps,
                    eval_reference=eval_reference,
                    progress=prog,
                )
            else:
                net = make(seed)
                res = tr.train_forced(
                    net,
                    series,
                    config=cfg,
                    checkpoint=checkpoint,
                    resume=resume,
                    generator=torch.Generator().manual_seed(seed),
                    progress=lambda e, n, loss: bar.update(task, completed=e, loss=f"{loss:.4f}"),
                )
                ev = tr.evaluate_generative(
                    net,
                    series,
                    n_steps=eval_steps,
                    reference=eval_reference,
                    lyapunov=lyapunov,
                    generator=torch.Generator().manual_seed(seed),
                )
                grad = (
                    tr.gradient_horizon(  # on a float64 copy: products over ~1000 steps
                        copy.deepcopy(net).double().latent_map(),
                        horizons=hz,
                        generator=torch.Generator().manual_seed(seed),
                        n_trajectories=4,
                    )
                    if hz is not None
                    else None
                )
    except (TypeError, ValueError) as exc:
        raise fail_from(exc, OPTIONS) from None

    if len(taus) > 1:
        for lab, s_, h_ in zip(sweep.labels, sweep.d_stsp, sweep.d_h, strict=True):
            console.print(f"{lab:>16}: D_stsp = {s_:.3f}   D_H = {h_:.3f}")
        fmt_tau = lambda v: "not available" if v is None else f"{v:.1f}"  # noqa: E731 (short data: no estimate)
        console.print(
            f"tau_pred (reference lambda) = {fmt_tau(sweep.tau_pred)}, (Rosenstein estimate) = "
            f"{fmt_tau(sweep.tau_pred_estimated)}"
        )
        payload = sweep.to_dict() | {"data": series.to_dict(), "model": model, "hidden": hidden}
        if out is not None:
            from rnndyn.plotting.training import plot_tau_sweep

            console.print(f"wrote {plot_tau_sweep(sweep, out / 'tau_sweep.png', title=f'{model} on {data}')}")
    else:
        if res.resumed_from:
            console.print(f"resumed from the checkpoint at epoch {res.resumed_from}")
        lam = "n/a" if ev.lambda_max_model is None else fmt(ev.lambda_max_model)
        lam_data = "n/a" if series.lambda_max is None else fmt(series.lambda_max)
        console.print(
            f"tau = {res.tau}: final loss {res.losses[-1]:.4f}; D_stsp = {ev.d_stsp:.3f}, "
            f"D_H = {ev.d_h:.3f}; lambda_max model {lam} vs data {lam_data} (1/time)"
        )
        payload = {
            "train": res.to_dict(),
            "evaluation": ev.to_dict(),
            "data": series.to_dict(),
            "model": model,
            "hidden": hidden,
            "gradients": None if grad is None else dataclasses.asdict(grad),
        }
        if grad is not None:
            console.print(gradient_line(grad))
        if out is not None:
            from rnndyn.plotting.training import plot_attractor, plot_gradient_horizon, plot_losses

            paths = [
                plot_losses(res, out / "loss.png", title=f"{model} on {data}, tau = {res.tau}"),
                plot_attractor(
                    series.test[0],
                    ev.generated[0],
                    out / "attractor.png",
                    title=f"{model} ({hidden} units) on {data}, tau = {res.tau}: generated vs true orbit; "
                    f"D_stsp = {ev.d_stsp:.2f}, D_H = {ev.d_h:.2f} (0 = identical statistics)",
                ),
            ]
            if grad is not None:
                paths.append(plot_gradient_horizon(grad, out / "gradients.png", title=f"{model} latent map"))
            for p in paths:
                console.print(f"wrote {p}")
    if json_path is not None:
        write_json(json_path, with_overall_status(payload))  # one status for scripts


_TASKS = ("digits", "mnist", "copy")


def _classify(
    data: str,
    *,
    model: str,
    hidden: int,
    epochs: int,
    batches: int,
    batch_size: int,
    lr: float,
    clip: str,
    clip_value: float,
    checkpoint: Path | None,
    checkpoint_every: int,
    resume: bool,
    task_kw: dict,
    gains: tuple[float, float, float],
    target: float,
    seed: int,
    device: str,
    json_path: Path | None,
    out: Path | None,
) -> None:
    import torch

    import rnndyn as rd
    from rnndyn import training as tr

    gen = torch.Generator().manual_seed(seed)
    try:
        if data == "digits":
            task = tr.digits_task(dtype=torch.float32, generator=gen)
        elif data == "copy":
            task = tr.delayed_copy_task(
                length=task_kw["copy_length"], delay=task_kw["copy_delay"], dtype=torch.float32, generator=gen
            )
        else:
            if task_kw["images"] is None:
                raise ValueError("`--data mnist` needs `--images` (an IDX or NPZ file)")
            task = tr.mnist_task(
                task_kw["images"],
                task_kw["labels"],
                test_images=task_kw["test_images"],
                test_labels=task_kw["test_labels"],
                pixels_per_step=task_kw["pixels_per_step"],
                max_samples=task_kw["max_samples"],
                generator=gen,
            )
        d = int(task.inputs_train.shape[-1])
        if model == "cks-gru":
            g_h, alpha_z, alpha_r = gains
            core: torch.nn.Module = rd.GRU(
                hidden, g_h=g_h, alpha_z=alpha_z, alpha_r=alpha_r, input_size=d, generator=gen, device=device
            ).to(torch.float32)
        elif model in ("lstm", "gru", "rnn"):
            core = tr.make_torch_rnn(model, hidden, input_size=d, generator=gen, device=device)
        else:
            raise ValueError(f"`--model` must be one of lstm, gru, rnn, cks-gru; got {model!r}")
        net = tr.SequenceClassifier(core, task.n_classes, generator=gen)
        cfg = tr.TrainConfig(
            n_epochs=epochs,
            batches_per_epoch=batches,
            batch_size=batch_size,
            lr=lr,
            tau=None,
            clip=None if clip == "none" else clip,
            clip_value=clip_value,
            checkpoint_every=checkpoint_every if checkpoint else 0,
        )
        with _loss_progress() as bar:
            job = bar.add_task(f"training on {data}", total=epochs, loss="-")
            res = tr.train_classifier(
                net,
                task,
                config=cfg,
                checkpoint=checkpoint,
                resume=resume,
                generator=gen,
                progress=lambda e, n, loss: bar.update(job, completed=e, loss=f"{loss:.4f}"),
            )
    except (TypeError, ValueError) as exc:
        raise fail_from(exc, OPTIONS) from None
    if res.resumed_from:
        console.print(f"resumed from the checkpoint at epoch {res.resumed_from}")
    acc = res.history.get("test_accuracy", [])
    hit = tr.epochs_to_accuracy(res, target)
    final = acc[-1] if acc else {"accuracy": float("nan"), "loss": float("nan")}
    console.print(
        f"{model} ({hidden} units) on {data}: test accuracy {final['accuracy']:.3f} "
        f"(test loss {final['loss']:.4f}) after {res.epochs_run} epochs; "
        + (f"reached {target:.0%} at epoch {hit}" if hit is not None else f"never reached {target:.0%}")
        + ("" if res.status == "success" else f" [{res.status}: {res.message}]")
    )
    payload = {
        "train": res.to_dict(),
        "task": task.to_dict(),
        "model": model,
        "hidden": hidden,
        "final_test_accuracy": final["accuracy"],
        "epochs_to_target": hit,
        "target": target,
    }
    if out is not None:
        from rnndyn.plotting.training import plot_accuracy

        console.print(
            f"wrote {plot_accuracy(res, out / 'accuracy.png', title=f'{model} ({hidden} units) on {data}', target=target, chance=1.0 / task.n_classes)}"
        )
    if json_path is not None:
        write_json(json_path, with_overall_status(payload))  # one status for scripts

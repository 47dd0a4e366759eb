"""Evaluation of trained generative models and the tau sweep of [MMD22] Figs. 1-3."""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import torch

from rnndyn._checks import check_choice, check_positive_int, check_real
from rnndyn._results import Result, Status
from rnndyn.training.data import TimeSeriesData
from rnndyn.training.metrics import power_spectrum_distance, state_space_divergence
from rnndyn.training.teacher_forcing import ForcedRNN, check_tau

Tensor = torch.Tensor


@dataclass(frozen=True, kw_only=True)
class EvaluationResult(Result):
    """D_stsp, D_H and (optionally) lambda_max of a trained model against the held-out data.

    ``lambda_max_model`` is per unit time of the data (per-step exponent / ``dt``) so it can be
    set beside ``lambda_max_data``. ``generated`` holds the free-running orbit ``(S, T, N)``.
    """

    d_stsp: float
    d_h: float
    lambda_max_model: float | None
    lambda_max_data: float | None
    n_steps: int
    generated: Tensor = field(repr=False)

    _dict_exclude = ("generated",)


def evaluate_generative(
    model: ForcedRNN,
    data: TimeSeriesData,
    *,
    n_steps: int | None = None,
    reference: str = "test",
    n_bins: int = 10,
    stsp_method: str = "binned",
    lyapunov: bool = False,
    lyapunov_steps: int = 2000,
    generator: torch.Generator | None = None,
) -> EvaluationResult:
    """Free-run the model from ``z_0 = B^+ x_0`` of every test series and compare with the data.

    D_stsp (docs/theory/chaos.md §2.6; binned with the authors' defaults, or GMM) and D_H (50 chunks,
    sigma 2, 500 bins; renormalised). Divergent generations (NaN/inf) give ``status="diverged"``
    and infinite distances instead of NaN. With ``lyapunov=True`` the model's lambda_max is
    computed by :func:`rnndyn.lyapunov_spectrum` (k = 1) on the autonomous latent map.

    Args:
        n_steps: length of each free run (default: the test length). The authors' evaluation is
            one 100 000-step free run (§2.6): ``n_steps=100_000`` exposes models that stay on
            the attractor for a test window but drift off it later.
        reference: ``"test"`` (held-out ends of the series, default) or ``"all"`` (train and
            test concatenated: the whole series, as the authors compare with the whole data set).
    """
    test = data.test
    check_choice(reference, "reference", ("test", "all"))
    ref = test if reference == "test" else torch.cat([data.train, data.test], dim=1)
    n_steps = check_positive_int(n_steps if n_steps is not None else test.shape[1], "n_steps")
    dtype = model.readout.weight.dtype
    x0 = test[:, 0].to(dtype=dtype, device=model.readout.weight.device)
    model.eval()
    gen = model.generate(x0, n_steps).to(test.dtype).cpu()
    if not bool(torch.isfinite(gen).all()):
        return EvaluationResult(
            d_stsp=math.inf,
            d_h=math.inf,
            lambda_max_model=None,
            lambda_max_data=data.lambda_max,
            n_steps=n_steps,
            generated=gen,
            status=Status.DIVERGED,
            message="the generated orbit is not finite: distances are infinite",
        )
    d_stsp = state_space_divergence(ref, gen, method=stsp_method, n_bins=n_bins, generator=generator)
    d_h = power_spectrum_distance(ref, gen, n_chunks=min(50, max(1, ref.shape[0] * ref.shape[1] // 200)))
    lam = None
    status, message = Status.SUCCESS, f"D_stsp ({stsp_method}) and D_H of a {n_steps}-step free run"
    if lyapunov:
        from rnndyn.lyapunov import lyapunov_spectrum

        with torch.no_grad():
            z0 = model.control(x0[:1])
        res = lyapunov_spectrum(
            model.latent_map(), k=1, n_steps=lyapunov_steps, n_transient=500, h0=z0[0], throw=False
        )
        lam = float(res.exponents[0]) / data.dt
        if res.status is not Status.SUCCESS:
            status = Status.worst(status, Status.WARNING)
            message += f"; lambda_max of the model: {res.status.value} ({res.message})"
    return EvaluationResult(
        d_stsp=d_stsp,
        d_h=d_h,
        lambda_max_model=lam,
        lambda_max_data=data.lambda_max,
        n_steps=n_steps,
        generated=gen,
        status=status,
        message=message,
    )


@dataclass(frozen=True, kw_only=True)
class TauSweepResult(Result):
    """Per-setting evaluations of a tau sweep (``tau=None`` rows are the clipped-BPTT baseline)."""

    taus: list[int | None]
    labels: list[str]
    d_stsp: list[float]
    d_h: list[float]
    final_loss: list[float]
    tau_pred: float | None
    tau_pred_estimated: float | None
    lambda_max_data: float | None
    results: list[dict[str, Any]]

    _repr_fields = (
        "labels",
        "d_stsp",
        "d_h",
        "final_loss",
        "tau_pred",
        "tau_pred_estimated",
        "lambda_max_data",
    )

    def summary(self) -> str:
        """Status, the reference scales and one line per setting (seed-averaged scores)."""
        lines = [super().summary()]
        for lab, s, h, loss in zip(self.labels, self.d_stsp, self.d_h, self.final_loss, strict=True):
            lines.append(f"  {lab}: D_stsp = {s:.4g}, D_H = {h:.4g}, final loss = {loss:.4g}")
        return "\n".join(lines)


def _distinct(values: Any, name: str) -> list[Any]:
    if isinstance(values, str) or not hasattr(values, "__iter__"):
        raise TypeError(f"`{name}` must be a sequence; got {type(values).__name__} {values!r}")
    out = list(values)
    if not out:
        raise ValueError(f"`{name}` must hold at least one value; got an empty sequence")
    repeated = [v for i, v in enumerate(out) if v in out[:i]]
    if repeated:
        raise ValueError(f"`{name}` must list each value once; got {out!r} with {repeated!r} repeated")
    return out


def tau_sweep(
    make_model: Callable[[int], ForcedRNN],
    data: TimeSeriesData,
    taus: Sequence[int | str | None],
    *,
    config: Any,
    seeds: Sequence[int] = (0,),
    baseline_clip: float = 1.0,
    eval_steps: int | None = None,
    eval_reference: str = "test",
    progress: Callable[[str, int, int, float], None] | None = None,
) -> TauSweepResult:
    """Train one model per (tau, seed) and evaluate it; ``None`` in ``taus`` is plain BPTT with
    gradients normalised to ``baseline_clip`` ([MMD22]'s clipping baseline, §2.4).

    ``make_model(seed)`` builds a fresh model. Scores are averaged over seeds. ``eval_steps`` and
    ``eval_reference`` go to :func:`evaluate_generative` (``n_steps``, ``reference``).
    """
    from rnndyn.training.lyapunov_data import estimate_lambda_max
    from rnndyn.training.trainer import TrainConfig, resolve_tau, train_forced

    if not callable(make_model):
        raise TypeError(f"`make_model` must be a callable seed -> ForcedRNN; got {type(make_model).__name__}")
    if not isinstance(data, TimeSeriesData):
        raise TypeError(
            f"`data` must be a TimeSeriesData (chaotic_series / from_array); got {type(data).__name__}"
        )
    if not isinstance(config, TrainConfig):
        raise TypeError(f"`config` must be a TrainConfig; got {type(config).__name__}")
    check_choice(eval_reference, "eval_reference", ("test", "all"))
    if eval_steps is not None:
        check_positive_int(eval_steps, "eval_steps")
    check_real(baseline_clip, "baseline_clip", low=0.0, low_open=True)
    taus, seeds = _distinct(taus, "taus"), _distinct(seeds, "seeds")
    seeds = [check_positive_int(s, "seeds", minimum=0) for s in seeds]
    for tau in taus:
        if tau != "auto":
            check_tau(tau, "taus")
    resolved = [resolve_tau(tau, data) for tau in taus]  # 'auto' runs its estimate before any training
    # the estimated tau_pred is a reference number beside the sweep: a training split too short
    # for the estimator must not stop a sweep over fixed taus ('auto' has raised above already)
    try:
        tau_est: float | None = estimate_lambda_max(data.train, dt=data.dt).predictability_steps
        est_note = ""
    except ValueError as exc:
        tau_est, est_note = None, f"; tau_pred not estimated from the data ({exc})"
    rows: list[dict[str, Any]] = []
    out_t, labels, ds, dh, fl = [], [], [], [], []
    for tau, t in zip(taus, resolved, strict=True):
        label = "BPTT+clip" if tau is None else (f"tau={t} (auto)" if tau == "auto" else f"tau={t}")
        cfg = dataclasses.replace(
            config,
            tau=t,
            clip="norm" if tau is None else config.clip,
            clip_value=baseline_clip if tau is None else config.clip_value,
        )
        s_vals, h_vals, l_vals = [], [], []
        for seed in seeds:
            model = make_model(seed)
            cb = None if progress is None else (lambda e, n, loss, lab=label: progress(lab, e, n, loss))
            res = train_forced(
                model, data, config=cfg, generator=torch.Generator().manual_seed(seed), progress=cb
            )
            ev = evaluate_generative(
                model,
                data,
                n_steps=eval_steps,
                reference=eval_reference,
                generator=torch.Generator().manual_seed(seed),
            )
            rows.append(
                {
                    "label": label,
                    "tau": t,
                    "seed": seed,
                    "final_loss": res.losses[-1] if res.losses else math.nan,
                    **ev.to_dict(),
                }
            )
            s_vals.append(ev.d_stsp)
            h_vals.append(ev.d_h)
            l_vals.append(res.losses[-1] if res.losses else math.inf)
        out_t.append(t)
        labels.append(label)
        ds.append(sum(s_vals) / len(s_vals))
        dh.append(sum(h_vals) / len(h_vals))
        fl.append(sum(l_vals) / len(l_vals))
    n_bad = sum(1 for r in rows if r.get("status") != Status.SUCCESS)
    return TauSweepResult(
        taus=out_t,
        labels=labels,
        d_stsp=ds,
        d_h=dh,
        final_loss=fl,
        tau_pred=data.predictability_steps,
        tau_pred_estimated=tau_est,
        lambda_max_data=data.lambda_max,
        results=rows,
        status=Status.WARNING if n_bad else Status.SUCCESS,
        message=(
            f"{n_bad} of {len(rows)} runs did not evaluate cleanly (see results)"
            if n_bad
            else f"{len(rows)} runs evaluated"
        )
        + est_note,
    )


__all__ = ["EvaluationResult", "TauSweepResult", "evaluate_generative", "tau_sweep"]

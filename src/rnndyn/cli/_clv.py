"""`rnndyn lyapunov --clv`: covariant Lyapunov vectors, finite-time exponents and localisation
(one library call each; tables, --json, --out figures). No numerics here."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from rnndyn.cli._common import LYAPUNOV_OPTIONS, console, fail, fail_from, given, write_json

ClvOpt = Annotated[
    bool,
    typer.Option(
        "--clv",
        help="Covariant Lyapunov vectors (Ginelli): angles, hyperbolicity, localisation (IPR) and "
        "finite-time exponents instead of the plain spectrum.",
    ),
]
BackwardOpt = Annotated[
    int | None,
    typer.Option(
        "--backward-transient", help="With --clv: backward transient steps (default max(steps/4, 100))."
    ),
]
RecordOpt = Annotated[
    int, typer.Option("--record-every", help="With --clv: keep the CLVs every this many steps.")
]
WindowOpt = Annotated[
    int, typer.Option("--ftle-window", help="With --clv: finite-time exponent window (steps).")
]
QrEveryOpt = Annotated[
    str,
    typer.Option(
        "--qr-every",
        help="Steps between QR decompositions, or 'auto' (with --clv the default is 1, and an int must "
        "divide --steps: docs/clv.md, 'QR every m steps').",
    ),
]
StoreOpt = Annotated[
    Path | None,
    typer.Option("--store", help="With --clv: Zarr store for the CLVs (kept only with a store)."),
]

#: figure files written to --out with --clv
CLV_FIGURES = ("clv_localisation.png", "clv_ftle.png", "clv_angles.png")


def clv_qr_every(ctx: typer.Context, parsed: int | str) -> int | str:
    """``--qr-every`` for --clv: the parsed value when given, else 1 (the library's default for
    CLVs; the plain spectrum's default is 'auto')."""
    return parsed if given(ctx, "qr_every") else 1


def ftle_window_for(requested: int, n_steps: int, qr_every: int) -> int:
    """The finite-time exponent window: ``requested`` capped at the run's ``n_steps``, rounded
    down to a multiple of the run's ``qr_every`` (at least one QR interval), which
    :func:`rnndyn.finite_time_exponents` requires (its growth factors are per QR event)."""
    window = min(requested, n_steps)
    return max(qr_every, window - window % qr_every)


def clv_report(
    system: Any,
    label: str,
    *,
    inputs: Any,
    k: int | None,
    n_steps: int | None,
    n_transient: int,
    n_backward_transient: int | None,
    record_every: int,
    qr_every: int | str,
    ftle_window: int,
    ftle_window_given: bool,
    n_trajectories: int,
    store: Path | None,
    seed: int,
    json_path: Path | None,
    out: Path | None,
    progress: Any,
) -> None:
    """Run :func:`rnndyn.covariant_lyapunov_vectors` and :func:`rnndyn.finite_time_exponents`,
    print the tables, write the JSON and the figures.

    The window of the finite-time exponents must be a multiple of the run's ``qr_every``: a
    ``--ftle-window`` given with an int ``--qr-every`` that it does not divide is refused before
    the run; otherwise (the default window, or ``--qr-every auto``) it is rounded down to a
    multiple of the value used, and a line says so."""
    import torch
    from rich.table import Table

    from rnndyn.clv import covariant_lyapunov_vectors, finite_time_exponents
    from rnndyn.report import fmt

    if n_steps is None:
        raise fail("`--steps` is required with --clv and --inputs")
    if (
        ftle_window_given
        and isinstance(qr_every, int)
        and ftle_window < n_steps
        and ftle_window % qr_every
        and n_steps % qr_every == 0  # else the library's error about --steps comes first
    ):  # refused before the run rather than after it (rd.finite_time_exponents would refuse it)
        raise fail(f"`--ftle-window` must be a multiple of `--qr-every` = {qr_every}; got {ftle_window}")
    try:
        res = covariant_lyapunov_vectors(
            system,
            k=k,
            n_steps=n_steps,
            n_transient=n_transient,
            n_backward_transient=n_backward_transient,
            record_every=record_every,
            qr_every=qr_every,
            store=store,
            inputs=inputs,
            n_trajectories=n_trajectories,
            generator=torch.Generator().manual_seed(seed + 1),
            throw=False,
            keep_vectors=store is not None,
            progress=progress,
        )
        window = ftle_window_for(ftle_window, res.n_steps, res.qr_every)
        ftle = finite_time_exponents(res, window=window) if res.status != "diverged" else None
    except (TypeError, ValueError) as exc:
        raise fail_from(exc, LYAPUNOV_OPTIONS) from None
    if window != min(ftle_window, res.n_steps):
        console.print(
            f"finite-time exponents over {window} steps: --ftle-window {ftle_window} rounded down to a "
            f"multiple of the QR interval, {res.qr_every} steps (--qr-every {qr_every})"
        )
    console.print(f"Covariant Lyapunov vectors: {label}")  # a line, not a title wrapped to the table
    table = Table()
    cols = (
        "i",
        f"lambda_i [{res.units}]",
        "CLV growth",
        "IPR CLV",
        "IPR GS",
        "fwd conv. (sin)",
        "bwd conv. (sin)",
    )
    for col in cols:
        table.add_column(col, justify="right")
    lam = res.exponents.tolist()
    shown = list(range(len(lam))) if len(lam) <= 12 else [*range(8), *range(len(lam) - 3, len(lam))]
    for j, i in enumerate(shown):
        if j > 0 and i != shown[j - 1] + 1:
            table.add_row(*["…"] * len(cols))
        table.add_row(
            str(i + 1),
            fmt(lam[i]),
            fmt(float(res.clv_exponents[i])),
            fmt(float(res.ipr_clv[i])),
            fmt(float(res.ipr_gs[i])),
            f"{float(res.forward_convergence_per_vector[i]):.1e}",  # type: ignore[index]
            f"{float(res.backward_convergence_per_vector[i]):.1e}",
        )
    console.print(table)
    summary = Table(show_header=False, title="summary", title_justify="left")
    summary.add_row("status", f"{res.status.value}: {res.message}")
    summary.add_row("unstable / neutral / stable", f"{res.n_unstable} / {res.n_neutral} / {res.n_stable}")
    summary.add_row("min angle unstable-stable [rad]", fmt(res.min_angle_overall))
    summary.add_row("QR every", f"{res.qr_every} step{'s' if res.qr_every != 1 else ''}")
    summary.add_row("IPR of a delocalised vector", f"1/n = {1.0 / res.tangent_size:.3g}")
    if ftle is not None:
        tau = float(ftle.autocorrelation_time[0])  # NaN with a note saying why (was printed 'tau nan')
        summary.add_row(
            f"FTLE lambda_1 over {ftle.window} steps",
            f"mean {fmt(float(ftle.mean[0]))}, sd {fmt(float(ftle.variance[0]) ** 0.5)}, "
            + (f"tau {fmt(tau)} steps" if tau == tau else f"tau undefined ({ftle.autocorrelation_note[0]})"),
        )
    mem = res.memory
    summary.add_row(
        "memory",
        f"{mem['storage']}, peak buffers {mem['peak_buffer_bytes'] / 2**20:.1f} MiB, "
        f"spilled {mem['spilled_bytes'] / 2**20:.1f} MiB",
    )
    console.print(summary)
    if json_path is not None:
        payload: dict[str, Any] = {"model": label, "clv": res.to_dict()}
        if ftle is not None:
            payload["ftle"] = ftle.to_dict()
        write_json(json_path, payload)
    if out is not None and ftle is not None:
        from rnndyn.plotting.clv import plot_clv_angles, plot_ftle, plot_localisation

        for path in (
            plot_localisation(res, out / CLV_FIGURES[0], title=label),
            plot_ftle(ftle, out / CLV_FIGURES[1], title=label),
            plot_clv_angles(res, out / CLV_FIGURES[2], title=label),
        ):
            console.print(f"wrote {path}")


__all__ = [
    "CLV_FIGURES",
    "BackwardOpt",
    "ClvOpt",
    "QrEveryOpt",
    "RecordOpt",
    "StoreOpt",
    "WindowOpt",
    "clv_qr_every",
    "clv_report",
    "ftle_window_for",
]

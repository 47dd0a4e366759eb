"""`rnndyn meanfield`: mean-field / DMFT numbers for one parameter point."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from rnndyn.cli._common import DeviceOpt, JsonOpt, OutOpt, SeedOpt, console, fail, write_json

KINDS = ("scs", "discrete", "gru", "gated_flow")


def meanfield_cmd(
    kind: Annotated[
        str,
        typer.Argument(
            help="scs (continuous-time vanilla DMFT), discrete (x' = g J tanh x), gru or gated_flow (FP MFT)."
        ),
    ] = "scs",
    g: Annotated[float, typer.Option("--g", help="Gain of the vanilla network (scs, discrete).")] = 2.0,
    g_h: Annotated[float, typer.Option("--g-h", help="Candidate gain (gru, gated_flow).")] = 3.0,
    alpha_r: Annotated[float, typer.Option("--alpha-r", help="Reset-gate gain.")] = 0.0,
    alpha_z: Annotated[float, typer.Option("--alpha-z", help="Update-gate gain.")] = 0.0,
    bias_std: Annotated[float, typer.Option("--bias-std", help="Quenched bias std (discrete, gru).")] = 0.0,
    seed: SeedOpt = 0,
    device: DeviceOpt = "cpu",
    json_path: JsonOpt = None,
    out: OutOpt = None,
) -> None:
    """Mean-field theory at one point: SCS DMFT, discrete mean field, or gated fixed-point MFT."""
    from rich.table import Table

    from rnndyn import meanfield as mf

    _ = seed, device  # deterministic CPU float64 numerics
    if kind not in KINDS:
        raise fail(f"`KIND` must be one of {', '.join(KINDS)}; got {kind!r}")
    table = Table(title=f"rnndyn meanfield {kind}")
    table.add_column("quantity")
    table.add_column("value")
    try:
        with console.status("solving the mean-field equations"):
            if kind == "scs":
                res = mf.scs_dmft(g, throw=False)
                rows = [("g", g), ("Delta_0 = <h^2>", res.delta0), ("lambda_max (1/time)", res.lambda_max),
                        ("ground energy E_0", res.ground_energy), ("neutral mode E_1 (=-1)", res.neutral_energy)]  # fmt: skip
                extra = None
            elif kind == "discrete":
                res = mf.discrete_meanfield(g, bias_std=bias_std)
                rows = [("g", g), ("q", res.q), ("lambda_max (1/step)", res.lambda_max)]
                extra = None
            else:
                res = mf.fixed_points(g_h, alpha_r, model=kind, alpha_z=alpha_z, bias_std=bias_std)
                rows = [("g_h", g_h), ("alpha_r", alpha_r), ("zero FP stable", res.zero_fp_stable),
                        ("zero FP rho = g_h^2/4", res.zero_fp_rho), ("g*(alpha_r)", res.g_star),
                        ("nonzero FPs", res.n_nonzero)]  # fmt: skip
                for i in range(res.n_nonzero):
                    rows.append((f"  FP {i}: Var(u^h), <phi^2>", f"{res.delta[i]:.6g}, {res.c_phi[i]:.6g}"))
                    rows.append((f"  FP {i}: rho, marginal", f"{res.rho[i]:.6g}, {bool(res.marginal[i])}"))
                extra = None
                if kind == "gated_flow" and alpha_r == 0 and alpha_z == 0:
                    extra = mf.gated_flow_dmft(g_h, throw=False)
                    rows.append(("DMFT lambda_max (1/time)", extra.lambda_max))
    except (TypeError, ValueError) as exc:
        raise fail(str(exc)) from None
    for k, v in rows:
        table.add_row(k, f"{v:.6g}" if isinstance(v, float) else str(v))
    table.add_row("status", f"{res.status} {res.message}".strip())
    console.print(table)
    if out is not None and kind == "scs" and res.delta0 > 0:
        from rnndyn.plotting.phase import plot_dmft

        console.print(f"wrote {plot_dmft(res, Path(out) / f'scs_dmft_g{g:g}.png')}")
    if json_path is not None:
        payload = res.to_dict()
        if kind in ("gru", "gated_flow") and extra is not None:
            payload["dmft"] = extra.to_dict()
        write_json(json_path, payload)

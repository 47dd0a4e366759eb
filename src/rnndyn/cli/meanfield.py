"""`rnndyn meanfield`: mean-field / DMFT numbers for one parameter point."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

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
    err_console,
    fail,
    fail_from,
    report_status,
    status_rows,
    write_json,
)

KINDS = ("scs", "discrete", "gru", "gated_flow", "gradients", "onset", "lstm", "ageing")
LAWS = ("constant_gate", "binary_gate", "adjoint")
#: the solvers' arguments -> the options of `rnndyn meanfield` (t_max: --t-max, or --horizon for ageing)
OPTIONS = {
    "g": "--g",
    "g_h": "--g-h",
    "alpha_r": "--alpha-r",
    "alpha_z": "--alpha-z",
    "alpha_f": "--alpha-f",
    "alpha_i": "--alpha-i",
    "alpha_o": "--alpha-o",
    "bias_std": "--bias-std",
    "method": "--method",
    "n_samples": "--n-samples",
    "dt": "--dt",
    "tau_max": "--tau-max",
    "rho": "--rho",
    "law": "--law",
    "t_max": "--t-max",
    "horizon": "--horizon",
    "theta": "--theta",
    "z_bar": "--z-bar",
}


#: the options each computation reads (besides KIND, --dmft, --json, --out, --force); any other
#: option given on the command line is refused, naming it, instead of being silently ignored
_DMFT = {"method", "n_samples", "seed", "device"}
APPLIES: dict[tuple[str, str], set[str]] = {
    ("scs", ""): {"g"},
    ("discrete", ""): {"g", "bias_std"},
    ("gru", ""): {"g_h", "alpha_r", "alpha_z", "bias_std"},
    ("gated_flow", ""): {"g_h", "alpha_r", "alpha_z", "bias_std"},
    ("gru", "--dmft"): {"g_h", "alpha_z", "alpha_r", "tau_max", *_DMFT},
    ("lstm", "--dmft"): {"g", "alpha_f", "alpha_i", "alpha_o", "tau_max", *_DMFT},
    ("gated_flow", "--dmft"): {"g_h", "alpha_z", "alpha_r", "dt", "tau_max", *_DMFT},
    ("ageing", ""): {"g_h", "alpha_z", "alpha_r", "horizon", "dt", "n_samples", "seed", "device"},
    ("onset", ""): {"alpha_r"},
    ("gradients", "--law constant_gate"): {"law", "rho", "t_max", "z_bar"},
    ("gradients", "--law binary_gate"): {"law", "rho", "t_max", "theta"},
    ("gradients", "--law adjoint"): {"law", "g_h", "alpha_z", "alpha_r", "horizon", "dt", *_DMFT},
}


def _check_applies(ctx: typer.Context, kind: str, variant: str) -> None:
    """Refuse options given on the command line that ``kind`` (+ ``variant``) does not read."""
    flags = {**OPTIONS, "seed": "--seed", "device": "--device"}
    # by name: typer may carry its own copy of click's ParameterSource enum
    given = [
        name
        for name in flags
        if getattr(ctx.get_parameter_source(name), "name", "") in ("COMMANDLINE", "ENVIRONMENT")
    ]
    takes = APPLIES[(kind, variant)]
    extra = [name for name in given if name not in takes]
    if extra:
        got = ", ".join(f"{flags[name]} {ctx.params[name]}" for name in extra)
        what = f"KIND {kind}{' ' + variant if variant else ''}"
        uses = ", ".join(flags[name] for name in flags if name in takes)
        raise fail(
            f"option(s) {', '.join(flags[name] for name in extra)} do not apply to {what} (it takes "
            f"{uses}); got {got}. Leave them out"
        )


def _progress_bar(title: str):  # noqa: ANN202 - a rich Progress
    from rich.progress import BarColumn, TextColumn, TimeElapsedColumn

    from rnndyn.cli._common import progress_display

    return progress_display(
        TextColumn(title), BarColumn(), TextColumn("{task.fields[info]}"), TimeElapsedColumn()
    )


def meanfield_cmd(
    ctx: typer.Context,
    kind: Annotated[
        str,
        typer.Argument(
            help="scs (continuous-time vanilla DMFT), discrete (x' = g J tanh x), gru or gated_flow (FP MFT; "
            "gated_flow --dmft: time-dependent DMFT; gru --dmft, lstm --dmft: DMFT of the discrete GRU / LSTM), gradients (CKS20 gradient-norm laws), onset (chaos-onset "
            "gain g_c(alpha_r) of the gated flow), ageing (two-time DMFT of the gated flow from a random "
            "start: C_h(t, t') up to --horizon)."
        ),
    ] = "scs",
    g: Annotated[float, typer.Option("--g", help="Gain of the vanilla network (scs, discrete).")] = 2.0,
    g_h: Annotated[float, typer.Option("--g-h", help="Candidate gain (gru, gated_flow).")] = 3.0,
    alpha_r: Annotated[float, typer.Option("--alpha-r", help="Reset-gate gain.")] = 0.0,
    alpha_z: Annotated[float, typer.Option("--alpha-z", help="Update-gate gain.")] = 0.0,
    alpha_f: Annotated[
        float, typer.Option("--alpha-f", help="lstm: forget-gate gain (--g: candidate gain).")
    ] = 0.0,
    alpha_i: Annotated[float, typer.Option("--alpha-i", help="lstm: input-gate gain.")] = 0.0,
    alpha_o: Annotated[float, typer.Option("--alpha-o", help="lstm: output-gate gain.")] = 0.0,
    bias_std: Annotated[float, typer.Option("--bias-std", help="Quenched bias std (discrete, gru).")] = 0.0,
    dmft: Annotated[
        bool, typer.Option("--dmft", help="gated_flow: solve the time-dependent DMFT (C(tau), lambda_max).")
    ] = False,
    method: Annotated[
        str, typer.Option("--method", help="DMFT route: auto, gaussian (alpha_z = 0, exact) or sampled.")
    ] = "auto",
    n_samples: Annotated[int, typer.Option("--n-samples", help="Sampled DMFT: paths per iteration.")] = 2000,
    dt: Annotated[float, typer.Option("--dt", help="DMFT lag grid / integration step.")] = 0.1,
    tau_max: Annotated[
        float | None, typer.Option("--tau-max", help="DMFT largest lag (default 100 gaussian, 50 sampled).")
    ] = None,
    rho: Annotated[
        float, typer.Option("--rho", help="gradients: spectral shaping parameter rho (CKS20 (19)).")
    ] = 1.5,
    law: Annotated[
        str,
        typer.Option(
            "--law",
            help="gradients: constant_gate (alpha_z = 0), binary_gate, or adjoint (adjoint DMFT of the gated "
            "flow at --g-h/--alpha-z/--alpha-r up to --horizon).",
        ),
    ] = ("constant_gate"),
    t_max: Annotated[int, typer.Option("--t-max", help="gradients: largest horizon (steps).")] = 100,
    horizon: Annotated[
        float,
        typer.Option(
            "--horizon",
            help="gradients --law adjoint: largest horizon T; ageing: the window t_max (time units).",
        ),
    ] = 20.0,
    theta: Annotated[
        float, typer.Option("--theta", help="gradients: closed-gate fraction (binary_gate).")
    ] = 0.5,
    z_bar: Annotated[
        float, typer.Option("--z-bar", help="gradients: constant update gate (constant_gate).")
    ] = 0.5,
    seed: SeedOpt = 0,
    device: DeviceOpt = "cpu",
    json_path: JsonOpt = None,
    out: OutOpt = None,
    force: ForceOpt = False,
) -> None:
    """Mean-field theory at one point: SCS DMFT, discrete mean field, gated fixed-point MFT, the
    time-dependent DMFT of the gated flow, the chaos-onset line, or the CKS20 gradient laws."""
    check_outputs(json_path=json_path, out=out, force=force)  # before any long computation
    from rich.table import Table

    from rnndyn import meanfield as mf

    if kind not in KINDS:
        raise fail(f"`KIND` must be one of {', '.join(KINDS)}; got {kind!r}")
    if dmft and kind not in ("gated_flow", "gru", "lstm"):
        raise fail(f"`--dmft` applies to KIND gated_flow, gru or lstm only; got {kind!r}")
    if kind == "lstm" and not dmft:
        raise fail("KIND lstm needs `--dmft` (the LSTM has no fixed-point MFT here)")
    if kind == "gradients" and law not in LAWS:
        raise fail(f"`--law` must be one of {', '.join(LAWS)}; got {law!r}")
    _check_applies(ctx, kind, f"--law {law}" if kind == "gradients" else ("--dmft" if dmft else ""))
    device = check_device(device)
    table = Table(title=f"rnndyn meanfield {kind}{' --dmft' if dmft else ''}")
    table.add_column("quantity")
    table.add_column("value")
    extra = None
    figure = None
    try:
        if kind in ("gru", "lstm") and dmft:
            from rnndyn.meanfield.dmft_discrete import gru_dmft, lstm_dmft

            grid = (
                {}
                if tau_max is None
                else {"tau_max": int(tau_max) if float(tau_max).is_integer() else tau_max}
            )
            with _progress_bar("DMFT iterations") as bar:
                task = bar.add_task("dmft", total=None, info="")
                prog = lambda i, r: bar.update(task, completed=i, info=f"iter {i}, residual {r:.2g}")  # noqa: E731
                if kind == "gru":
                    res = gru_dmft(g_h, alpha_z=alpha_z, alpha_r=alpha_r, method=method, n_samples=n_samples,
                                   seed=seed, device=device, progress=prog, **grid)  # fmt: skip
                elif method not in ("auto", "sampled"):
                    raise ValueError(
                        f"`--method` for lstm must be auto or sampled (no exact route); got {method!r}"
                    )
                else:
                    res = lstm_dmft(g, alpha_f=alpha_f, alpha_i=alpha_i, alpha_o=alpha_o, n_samples=n_samples,
                                    seed=seed, device=device, progress=prog, **grid)  # fmt: skip
            rows = [(k, v) for k, v in res.params.items()] + [("route", res.method),
                    ("C_h(0) = <h^2>", res.c_h0), ("C_phi(0)", res.c_phi0)]  # fmt: skip
            rows += [(f"C_sigma({k})(0)", float(v[0])) for k, v in res.gates.items()]
            rows += [("relaxation time (steps)", res.relaxation_time), ("lambda_max (1/step)", res.lambda_max),
                     ("lambda_max from", res.lambda_method), ("iterations", res.iterations)]  # fmt: skip
            if res.method == "sampled":
                rows.append(("residual vs fresh paths (statistical)", res.residual_fresh))
            figure = ("discrete_dmft", res)
        elif kind == "gated_flow" and dmft:
            from rnndyn.meanfield.dmft import gated_dmft

            with _progress_bar("DMFT iterations") as bar:
                task = bar.add_task("dmft", total=None, info="")
                res = gated_dmft(
                    g_h, alpha_z=alpha_z, alpha_r=alpha_r, method=method, n_samples=n_samples, dt=dt,
                    tau_max=tau_max, seed=seed, device=device,
                    progress=lambda i, r: bar.update(task, completed=i, info=f"iter {i}, residual {r:.2g}"),
                )  # fmt: skip
            rows = [("g_h, alpha_z, alpha_r", f"{g_h:g}, {alpha_z:g}, {alpha_r:g}"), ("route", res.method),
                    ("C_h(0) = <h^2>", res.c_h0), ("C_phi(0)", res.c_phi0), ("C_sigma(r)(0)", res.c_sigma_r0),
                    ("C_z(0)", res.c_z0), ("C_r(0)", res.c_r0), ("relaxation time", res.relaxation_time),
                    ("lambda_max (1/time)", res.lambda_max), ("lambda_max from", res.lambda_method),
                    ("residual", res.residual), ("iterations", res.iterations)]  # fmt: skip
            if res.method == "sampled":
                rows.append(("residual vs fresh paths (statistical)", res.residual_fresh))
            figure = ("dmft", res)
        elif kind == "ageing":
            import inspect

            from rnndyn.meanfield.dmft_ageing import gated_dmft_ageing

            lag = inspect.signature(gated_dmft_ageing).parameters["lag"].default
            if 0 < horizon < lag:  # before: '`lag` must be at most `--horizon`', and lag is no option here
                raise fail(
                    f"`--horizon` must be >= {lag:g} for KIND ageing (the window must hold the lag of the ageing "
                    f"indicator corr(t_w, t_w + {lag:g})); got {horizon:g}"
                )
            with _progress_bar("two-time DMFT iterations") as bar:
                task = bar.add_task("ageing", total=None, info="")
                res = gated_dmft_ageing(
                    g_h, alpha_z=alpha_z, alpha_r=alpha_r, t_max=horizon, dt=dt, n_samples=n_samples, seed=seed,
                    device=device, progress=lambda i, r: bar.update(task, completed=i, info=f"iter {i}, residual {r:.2g}"),
                )  # fmt: skip
            rows = [("g_h, alpha_z, alpha_r", f"{g_h:g}, {alpha_z:g}, {alpha_r:g}"),
                    ("start", "h, z, r ~ N(0, 1) i.i.d."), ("C_h(t_max, t_max)", float(res.c_h[-1, -1])),
                    ("iterations", res.iterations)]  # fmt: skip
            for a, v, lam in zip(res.ages, res.ageing, res.lambda_ages, strict=True):
                rows.append((f"t_w={a:g}: corr(t_w, t_w+{res.lag:g}); lambda",
                             f"{float(v):.4g}; {float(lam):.4g}"))  # fmt: skip
            rows.append(
                (
                    "lambda over the second half (1/time)",
                    f"{res.lambda_late:.4g} +- {res.lambda_late_stderr:.2g}",
                )
            )
            figure = ("ageing", res)
        elif kind == "onset":
            from rnndyn.meanfield.dmft import chaos_onset

            with _progress_bar("bisection in g_h") as bar:
                task = bar.add_task("onset", total=None, info="")
                res = chaos_onset(
                    alpha_r, progress=lambda gg, c: bar.update(task, advance=1, info=f"g_h={gg:.4f}: {'chaos' if c else 'decay'}")
                )  # fmt: skip
            rows = [("alpha_r", alpha_r), ("g_c (chaotic DMFT solution appears)", res.g_c),
                    ("discontinuous (g_c < 2)", res.discontinuous), ("C_h(0) at onset", res.c_h0_at_onset),
                    ("lambda_max at onset", res.lambda_at_onset if res.lambda_at_onset == res.lambda_at_onset
                     else f"not defined ({res.message})"),  # was printed 'nan'
                    ("FP bifurcation g*", mf.bifurcation_gain(alpha_r))]  # fmt: skip
        elif kind == "gradients" and law == "adjoint":
            from rnndyn.meanfield.adjoint import adjoint_gradient_norms

            with _progress_bar("forward DMFT, then the adjoint sweep") as bar:
                task = bar.add_task("adjoint", total=None, info="")
                res = adjoint_gradient_norms(
                    g_h, alpha_z=alpha_z, alpha_r=alpha_r, horizon=horizon, method=method, dt=dt,
                    n_samples=n_samples, seed=seed, device=device,
                    progress=lambda j, n: bar.update(task, completed=j, total=n, info=f"step {j}/{n}"),
                )  # fmt: skip
            rows = [("g_h, alpha_z, alpha_r", f"{g_h:g}, {alpha_z:g}, {alpha_r:g}"), ("route", res.method),
                    ("loss", "F = (1/N) sum_i v_i h_i(T), v ~ N(0, I)"),
                    ("forward lambda_max", res.lambda_max), ("growth rate of N|dF/dh(0)|^2 / 2", res.growth_rate)]  # fmt: skip
            for t in sorted({min(1.0, horizon), horizon / 4, horizon / 2, horizon}):
                p = res.at(t)
                rows.append((f"|dF/dJ^h|^2, |dF/dJ^z|^2, |dF/dJ^r|^2 at T={p['T']:g}",
                             f"{p['norm_j_h']:.5g}, {p['norm_j_z']:.5g}, {p['norm_j_r']:.5g}"))  # fmt: skip
                rows.append((f"N|dF/dh(0)|^2 at T={p['T']:g}", p["state_norm"]))
            figure = ("adjoint", res)
        elif kind == "gradients":
            from rnndyn.meanfield.gradients import gradient_norm_theory

            res = gradient_norm_theory(rho=rho, t_max=t_max, law=law, **(
                {"z_bar": z_bar} if law == "constant_gate" else {"theta": theta}))  # fmt: skip
            rows = [("law", res.law), ("rho", rho), ("asymptotic rate / step (of the norm)", res.rate)]
            if law == "binary_gate":
                rows += [("theta", theta), ("t -> infinity limit", res.limit)]
            for t in sorted({1, 10, t_max // 2, t_max}):
                rows.append((f"(1/N) tr D^t D^tT at t={t}", float(res.norm[t])))
        elif kind == "scs":
            with err_console.status("solving the mean-field equations"):  # stderr, transient
                res = mf.scs_dmft(g, throw=False)
            rows = [("g", g), ("Delta_0 = <h^2>", res.delta0), ("lambda_max (1/time)", res.lambda_max),
                    ("ground energy E_0", res.ground_energy), ("neutral mode E_1 (=-1)", res.neutral_energy)]  # fmt: skip
            figure = ("scs", res) if res.delta0 > 0 else None
        elif kind == "discrete":
            res = mf.discrete_meanfield(g, bias_std=bias_std)
            rows = [("g", g), ("q", res.q), ("lambda_max (1/step)", res.lambda_max)]
        else:
            res = mf.fixed_points(g_h, alpha_r, model=kind, alpha_z=alpha_z, bias_std=bias_std)
            rows = [("g_h", g_h), ("alpha_r", alpha_r), ("zero FP stable", res.zero_fp_stable),
                    ("zero FP rho = g_h^2/4", res.zero_fp_rho), ("g*(alpha_r)", res.g_star),
                    ("nonzero FPs", res.n_nonzero)]  # fmt: skip
            for i in range(res.n_nonzero):
                rows.append((f"  FP {i}: Var(u^h), <phi^2>", f"{res.delta[i]:.6g}, {res.c_phi[i]:.6g}"))
                rows.append((f"  FP {i}: rho, marginal", f"{res.rho[i]:.6g}, {bool(res.marginal[i])}"))
            if kind == "gated_flow" and alpha_r == 0 and alpha_z == 0:
                extra = mf.gated_flow_dmft(g_h, throw=False)
                rows.append(("DMFT lambda_max (1/time)", extra.lambda_max))
    except (TypeError, ValueError) as exc:
        raise fail_from(exc, {**OPTIONS, "t_max": "--horizon" if kind == "ageing" else "--t-max"}) from None
    if hasattr(res, "residual"):
        rows.append(("self-consistency residual", res.residual))
    for k, v in rows:
        table.add_row(k, f"{v:.6g}" if isinstance(v, float) else str(v))
    for k, v in status_rows(res):
        table.add_row(k, v)
    table.add_row("message", str(res.message))
    console.print(table)
    if out is not None and figure is not None:
        if figure[0] == "scs":
            from rnndyn.plotting.phase import plot_dmft

            console.print(f"wrote {plot_dmft(res, Path(out) / f'scs_dmft_g{g:g}.png')}")
        elif figure[0] == "adjoint":
            name = f"adjoint_gradients_gh{g_h:g}_az{alpha_z:g}_ar{alpha_r:g}.png"
            console.print(f"wrote {res.plot(Path(out) / name)}")
        elif figure[0] == "ageing":
            name = f"ageing_dmft_gh{g_h:g}_az{alpha_z:g}_ar{alpha_r:g}.png"
            console.print(f"wrote {res.plot(Path(out) / name)}")
        elif figure[0] == "discrete_dmft":
            tag = "_".join(f"{k}{v:g}" for k, v in res.params.items() if v != 0)
            console.print(f"wrote {res.plot(Path(out) / f'{kind}_dmft_{tag}.png')}")
        else:
            name = f"gated_dmft_gh{g_h:g}_az{alpha_z:g}_ar{alpha_r:g}.png"
            console.print(f"wrote {res.plot(Path(out) / name)}")
    if json_path is not None:
        payload = res.to_dict()
        if kind in ("gru", "gated_flow") and extra is not None:
            payload["dmft"] = extra.to_dict()
        write_json(json_path, payload)
    report_status(res)  # exit 0 with a visible warning, 1 for "failed"

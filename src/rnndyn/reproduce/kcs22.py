"""Claims of Krishnamurthy, Can, Schwab (Phys. Rev. X 12, 011011, 2022; arXiv:2007.14823): the
phase diagram of gated RNNs, the discontinuous transition to chaos, spectrum flattening, the
gated flow's Jacobian spectra (docs/meanfield.md, docs/spectra.md)."""

from __future__ import annotations

import functools
import math
from pathlib import Path
from typing import Any

import numpy as np
import torch

import rnndyn as rd
from rnndyn.reproduce._common import mean_sem, run_grid
from rnndyn.reproduce._core import Claim, Measurement, PaperValue, compare, register
from rnndyn.reproduce._papers import KCS22

F64 = torch.float64


def _overlay_point(
    params: dict[str, Any], seed: int, *, model: str, n: int, n_steps: int, n_transient: int
) -> dict:
    ds = rd.phase_diagram(
        model,
        g_h=[float(params["g_h"])],
        alpha_r=[float(params["alpha_r"])],
        simulate=True,
        n=n,
        n_steps=n_steps,
        n_transient=n_transient,
        seed=seed,
        throw=True,
    )
    pick = {"g_h": 0, "alpha_r": 0}
    return {
        "region": int(ds["region"].isel(pick)),
        "region_sim": int(ds["region_sim"].isel(pick)),
        "lambda_max": float(ds["lambda_max_sim"].isel(pick)),
        "lambda_max_stderr": float(ds["lambda_max_sim_stderr"].isel(pick)),
        "activity": float(ds["activity_sim"].isel(pick)),
    }


def _overlay(settings: dict[str, Any], seed: int, workdir: Path, scheduler: str | None, name: str) -> Any:
    fn = functools.partial(
        _overlay_point,
        model=str(settings["model"]),
        n=int(settings["n"]),
        n_steps=int(settings["n_steps"]),
        n_transient=int(settings["n_transient"]),
    )
    grid = {"g_h": list(settings["g_h"]), "alpha_r": list(settings["alpha_r"])}
    return run_grid(
        fn, grid, workdir=workdir, name=name, settings=settings, scheduler=scheduler, base_seed=seed
    )


# --------------------------------------------------------------- five regions
def _phase_diagram(
    settings: dict[str, Any], *, seed: int, workdir: Path, scheduler: str | None
) -> Measurement:
    mft = rd.phase_diagram(
        "gru",
        g_h=np.linspace(1.2, 8.0, int(settings["mft_points"])),
        alpha_r=np.linspace(0.0, 30.0, int(settings["mft_points"])),
    )
    regions_mft = sorted({int(r) for r in np.unique(mft["region"].values) if int(r) > 0})
    ds = _overlay(settings, seed, workdir, scheduler, "overlay")
    regions_sim = sorted({int(r) for r in np.asarray(ds["region_sim"].values).ravel() if int(r) > 0})
    found = sorted(set(regions_mft) | set(regions_sim))
    comps = (
        compare(
            "distinct regions found (MFT over the plane + finite-N overlay)",
            PaperValue(
                "equal",
                5.0,
                abs=0.5,
                source="phase diagram figure: five regions (1 stable FP, 2 stable & "
                "unstable FPs, 3 stable FP & chaos, 4 chaos, 5 marginal stability)",
            ),
            float(len(found)),
            0.0,
            note=f"MFT regions {regions_mft}; simulated overlay regions {regions_sim}",
        ),
    )
    data = {
        "g_h": mft["g_h"].values.tolist(),
        "alpha_r": mft["alpha_r"].values.tolist(),
        "region": mft["region"].values.tolist(),
        "pts_g": np.asarray(ds["g_h"].values).tolist(),
        "pts_a": np.asarray(ds["alpha_r"].values).tolist(),
        "pts_region": np.asarray(ds["region_sim"].values)[..., 0].tolist(),
    }
    return Measurement(comps, data, (seed,))


def _plot_pd(ax: Any, data: dict[str, Any]) -> None:
    from matplotlib.colors import ListedColormap

    reg = np.asarray(data["region"], dtype=float)  # (g_h, alpha_r)
    cmap = ListedColormap(["#ffffff", "#4c72b0", "#55a868", "#8172b2", "#dd8452", "#222222"])
    ax.pcolormesh(data["alpha_r"], data["g_h"], reg, cmap=cmap, vmin=-0.5, vmax=5.5, shading="nearest")
    pr = np.asarray(data["pts_region"])
    for i, g in enumerate(data["pts_g"]):
        for j, a in enumerate(data["pts_a"]):
            ax.plot(a, g, "o", ms=9, mfc=cmap(int(pr[i, j]) / 5.0 * 5 / 6 + 1 / 12), mec="white")
            ax.annotate(str(int(pr[i, j])), (a, g), color="white", ha="center", va="center", fontsize=7)
    from matplotlib.patches import Patch

    from rnndyn.meanfield.phase import REGION_NAMES

    shown = sorted({int(v) for v in np.unique(np.concatenate([reg.ravel(), pr.ravel()])) if v == v})
    handles = [Patch(fc=cmap(k), ec="0.5", label=f"{k}: {REGION_NAMES.get(k, '?')}") for k in shown]
    ax.legend(handles=handles, fontsize=6.5, loc="upper right", title="region (background: MFT)",
              title_fontsize=6.5)  # fmt: skip
    ax.set_xlabel("α_r (reset-gate gain)")
    ax.set_ylabel("g_h")
    ax.set_title("GRU phase diagram: MFT regions; dots: finite-N simulation (its region)", fontsize=8)


register(
    Claim(
        id="kcs22-phase-diagram",
        paper=KCS22,
        where="phase diagram (Fig. of the (g_h, α_r) plane; poster 'Hyperparameter Phase Diagram')",
        claim="The (g_h, α_r) plane of a gated RNN has five regions: stable FP; stable and unstable FPs; stable FP "
        "with chaos; chaos; marginal stability.",
        paper_values="5 regions (no numeric boundaries recovered)",
        settings={
            "quick": {
                "mft_points": 30,
                "model": "gru",
                "n": 300,
                "n_steps": 800,
                "n_transient": 800,
                "g_h": [1.5, 1.9, 3.0],
                "alpha_r": [0.0, 20.0],
            },
            "full": {
                "mft_points": 100,
                "model": "gated_flow",
                "n": 500,
                "n_steps": 10000,
                "n_transient": 2000,
                "g_h": [1.6, 1.75, 1.85, 1.95, 3.0],
                "alpha_r": [0.0, 10.0, 20.0],
            },
        },
        cost={"quick": "~5 s", "full": "~6 min (rd.sweep)"},
        compute=_phase_diagram,
        plot=_plot_pd,
        grid=True,
    )
)


# --------------------------------------------------------------- discontinuous transition
def _discontinuous(
    settings: dict[str, Any], *, seed: int, workdir: Path, scheduler: str | None
) -> Measurement:
    ds = _overlay(settings, seed, workdir, scheduler, "onset")
    g = np.asarray(ds["g_h"].values, dtype=float)
    a = list(np.asarray(ds["alpha_r"].values, dtype=float))
    lam = np.asarray(ds["lambda_max"].values)[..., 0]
    err = np.asarray(ds["lambda_max_stderr"].values)[..., 0]
    act = np.asarray(ds["activity"].values)[..., 0]
    j_hi, j0 = a.index(max(a)), a.index(min(a))
    below2 = g < 2.0
    i_top = int(np.flatnonzero(below2)[-1])  # the largest g_h with a linearly stable zero FP
    chaotic = np.flatnonzero((lam[:, j_hi] > 0) & below2)
    g_on = float(g[chaotic[0]]) if chaotic.size else math.nan
    g_star = rd.meanfield.bifurcation_gain(max(a))
    comps = (
        compare(
            f"λ_max at α_r = {max(a):g}, g_h = {g[i_top]:g} (zero FP stable) [1/step]",
            PaperValue(
                "greater",
                0.05,
                source="'novel discontinuous transition to chaos': chaos appears with a finite "
                "λ_max while the zero FP is still stable (0.05 per step: our threshold for 'finite')",
            ),
            float(lam[i_top, j_hi]),
            float(err[i_top, j_hi]),
        ),
        compare(
            f"<h²> at α_r = {max(a):g}, g_h = {g[i_top]:g}",
            PaperValue(
                "greater", 0.01, source="finite activity at the onset (a jump, not a continuous rise)"
            ),
            float(act[i_top, j_hi]),
            0.0,
        ),
        compare(
            f"λ_max at α_r = {min(a):g}, g_h = {g[i_top]:g} [1/step]",
            PaperValue(
                "less",
                0.0,
                source="small α_r: the transition is the continuous one at g_h = 2 (no chaos below it)",
            ),
            float(lam[i_top, j0]),
            float(err[i_top, j0]),
        ),
        compare(
            f"chaos onset g_h minus FP bifurcation g*({max(a):g}) = {g_star:.3f}",
            PaperValue(
                "greater",
                0.0,
                source="'proliferation of critical points is decoupled from the appearance "
                "of chaotic dynamics'",
            ),
            g_on - g_star,
            0.0,
            note="onset = smallest simulated g_h < 2 with λ_max > 0",
        ),
    )
    data = {"g_h": g.tolist(), "alpha_r": a, "lam": lam.tolist(), "err": err.tolist(), "g_star": g_star}
    return Measurement(comps, data, (seed,))


def _plot_disc(ax: Any, data: dict[str, Any]) -> None:
    lam, err = np.asarray(data["lam"]), np.asarray(data["err"])
    for j, a in enumerate(data["alpha_r"]):
        ax.errorbar(
            data["g_h"], lam[:, j], yerr=2 * err[:, j], fmt="o-", capsize=3, label=f"ours, α_r = {a:g}"
        )
    gg = np.linspace(min(data["g_h"]), max(data["g_h"]), 50)
    ax.plot(gg, np.log(0.5 + gg / 4), ":", color="grey", label="zero-FP rate ln(1/2 + g_h/4)")
    ax.axvline(data["g_star"], color="#d1242f", ls="--", lw=0.8, label="FP bifurcation g*")
    ax.axhline(0, color="k", lw=0.5)
    ax.set_xlabel("g_h")
    ax.set_ylabel("λ_max [1/step]")
    ax.set_title("discontinuous transition (GRU map, α_z = 0)", fontsize=9)
    ax.legend(fontsize=7)


register(
    Claim(
        id="kcs22-discontinuous",
        paper=KCS22,
        where="abstract; phase diagram (3 -> 4); poster 'Novel Discontinuous Transition to Chaos'",
        claim="For large α_r chaos appears abruptly, with a finite λ_max and activity, while the zero fixed point is "
        "still stable, and not where fixed points proliferate.",
        paper_values="no number for the onset (qualitative: a jump; FP proliferation decoupled)",
        settings={
            "quick": {
                "model": "gru",
                "n": 300,
                "n_steps": 800,
                "n_transient": 800,
                "g_h": [1.7, 1.9],
                "alpha_r": [0.0, 20.0],
            },
            "full": {
                "model": "gru",
                "n": 400,
                "n_steps": 1000,
                "n_transient": 1000,
                "g_h": [1.5, 1.6, 1.7, 1.8, 1.9, 2.0, 2.1],
                "alpha_r": [0.0, 20.0],
            },
        },
        cost={"quick": "~5 s", "full": "~5 min (rd.sweep)"},
        compute=_discontinuous,
        plot=_plot_disc,
        grid=True,
    )
)


# --------------------------------------------------------------- Lyapunov spectrum flattening
def _flattening(settings: dict[str, Any], *, seed: int, workdir: Path, scheduler: str | None) -> Measurement:
    n, tol = int(settings["n"]), float(settings["near_zero"])
    spectra, lmax, lerr, frac = [], [], [], []
    for k, a_z in enumerate(settings["alpha_z"]):
        flow = rd.GatedRateRNN(
            n,
            g_h=float(settings["g_h"]),
            alpha_z=float(a_z),
            alpha_r=0.0,
            generator=torch.Generator().manual_seed(seed + k),
            dtype=F64,
        )
        m = rd.discretise(flow, dt=float(settings["dt"]), method="rk4")
        res = rd.lyapunov_spectrum(
            m,
            k=n,
            n_steps=int(settings["n_steps"]),
            n_transient=int(settings["n_transient"]),
            n_trajectories=2,
            generator=torch.Generator().manual_seed(seed + 100 + k),
        )
        ex = res.exponents.detach().double().numpy()
        spectra.append(ex.tolist())
        lmax.append(float(ex[0]))
        lerr.append(float(res.stderr[0]))
        frac.append(float(np.mean(np.abs(ex) < tol)))
    comps = (
        compare(
            f"λ_max(α_z = {settings['alpha_z'][-1]:g}) − λ_max(α_z = {settings['alpha_z'][0]:g}) [1/time]",
            PaperValue(
                "less",
                0.0,
                source="Lyapunov spectrum section: the update gate slows the dynamics, λ_max falls with α_z",
            ),
            lmax[-1] - lmax[0],
            math.hypot(lerr[-1], lerr[0]),
        ),
        compare(
            f"change of the fraction of the top {n} exponents with |λ| < {tol:g}",
            PaperValue(
                "greater",
                0.0,
                source="'Lyapunov spectrum flattening ... extensive number of exponents close "
                "to zero for large α_z'",
            ),
            frac[-1] - frac[0],
            0.0,
        ),
    )
    return Measurement(comps, {"alpha_z": list(settings["alpha_z"]), "spectra": spectra, "tol": tol}, (seed,))


def _plot_flat(ax: Any, data: dict[str, Any]) -> None:
    for a, ex in zip(data["alpha_z"], data["spectra"], strict=True):
        ex = np.asarray(ex)
        ax.plot(np.arange(1, ex.size + 1) / ex.size, ex, "o-", ms=3, label=f"ours, α_z = {a:g}")
    ax.axhspan(-data["tol"], data["tol"], color="grey", alpha=0.2, label="|λ| < tol")
    ax.axhline(0, color="k", lw=0.5)
    ax.set_xlabel("i / N")
    ax.set_ylabel("λ_i [1/time]")
    ax.set_title("gated flow: Lyapunov spectrum vs α_z", fontsize=9)
    ax.legend(fontsize=7)


register(
    Claim(
        id="kcs22-flattening",
        paper=KCS22,
        where="Lyapunov spectrum section; poster 'Lyapunov spectrum flattening'",
        claim="A larger update-gate gain α_z flattens the Lyapunov spectrum: λ_max falls and an extensive number "
        "of exponents approach zero (marginal stability).",
        paper_values="no number (figure)",
        settings={
            "quick": {
                "n": 80,
                "g_h": 6.0,
                "alpha_z": [0.0, 10.0],
                "dt": 0.2,
                "n_steps": 500,
                "n_transient": 300,
                "near_zero": 0.02,
            },
            "full": {
                "n": 200,
                "g_h": 6.0,
                "alpha_z": [0.0, 10.0, 30.0],
                "dt": 0.1,
                "n_steps": 5000,
                "n_transient": 1000,
                "near_zero": 0.01,
            },
        },
        cost={"quick": "~20 s", "full": "~2 h"},
        compute=_flattening,
        plot=_plot_flat,
    )
)


# --------------------------------------------------------------- gated-flow Jacobian spectra
def _flow_spectra(
    settings: dict[str, Any], *, seed: int, workdir: Path, scheduler: str | None
) -> Measurement:
    n = int(settings["n"])
    g0 = float(settings["g_h_zero"])
    flow = rd.GatedRateRNN(
        n, g_h=g0, alpha_z=1.0, alpha_r=1.0, generator=torch.Generator().manual_seed(seed), dtype=F64
    )
    ev = torch.linalg.eigvals(rd.jacobian(flow, torch.zeros(3 * n, dtype=F64)).detach()).numpy()
    at_minus1 = float(np.mean(np.abs(ev + 1) < 1e-8))
    bulk = ev[np.abs(ev + 1) >= 1e-8]
    g1 = float(settings["g_h"])
    chaotic = rd.GatedRateRNN(
        n,
        g_h=g1,
        alpha_z=float(settings["alpha_z"]),
        alpha_r=float(settings["alpha_r"]),
        generator=torch.Generator().manual_seed(seed + 1),
        dtype=F64,
    )
    traj = rd.simulate(
        rd.discretise(chaotic, dt=0.1, method="rk4"),
        n_steps=int(settings["n_states"]) * 20,
        n_transient=500,
        generator=torch.Generator().manual_seed(seed + 2),
    )
    states = traj[19::20]
    ratios, cloud = [], None
    for s in states:
        ev_s = torch.linalg.eigvals(rd.jacobian(chaotic, s).detach()).numpy()
        th = rd.spectra.predicted_support(chaotic, s)
        ratios.append((float(ev_s.real.max()) - th.rightmost) / th.radius)
        if cloud is None:
            cloud = {
                "re": ev_s.real.tolist(),
                "im": ev_s.imag.tolist(),
                "bre": np.real(th.boundary).tolist(),
                "bim": np.imag(th.boundary).tolist(),
            }
    r, r_e = mean_sem(ratios)
    comps = (
        compare(
            "fraction of zero-FP eigenvalues at −1",
            PaperValue(
                "equal",
                2 / 3,
                abs=1e-3,
                source="zero FP of the gated flow: the z and r blocks give 2N eigenvalues at −1 (3N in all)",
            ),
            at_minus1,
            0.0,
        ),
        compare(
            f"zero-FP rightmost eigenvalue, g_h = {g0:g}",
            PaperValue(
                "equal",
                -0.5 + g0 / 4,
                abs=0.03,
                source="bulk disk centred at −1/2 with radius g_h/4 (unstable for g_h > 2)",
            ),
            float(bulk.real.max()),
            0.0,
        ),
        compare(
            f"(max Re μ − predicted rightmost) / predicted radius, chaotic state (g_h, α_z, α_r) = ({g1:g}, "
            f"{settings['alpha_z']:g}, {settings['alpha_r']:g})",
            PaperValue(
                "equal",
                0.0,
                abs=0.05,
                source="random-matrix support of the gated flow's Jacobian at the state; "
                "5 % of the spectrum's radius allowed for finite N",
            ),
            r,
            r_e,
            note=f"mean ± SEM over {len(ratios)} states",
        ),
    )
    return Measurement(comps, {"clouds": [{"label": f"g_h = {g1:g}", **cloud}]} if cloud else {}, (seed,))


def _plot_flow(ax: Any, data: dict[str, Any]) -> None:
    for c in data["clouds"]:
        ax.plot(c["re"], c["im"], ".", ms=2, color="#0b3d91", alpha=0.5, label=f"ours {c['label']}")
        ax.plot(c["bre"], c["bim"], "-", color="#d1242f", lw=1.2, label="paper: support boundary")
    ax.axvline(0, color="grey", ls=":", label="Re μ = 0: stability edge of a flow")
    ax.set_xlabel("Re μ")
    ax.set_ylabel("Im μ")
    ax.set_title("gated flow: vector-field Jacobian at a chaotic state", fontsize=9)
    ax.legend(fontsize=7)


register(
    Claim(
        id="kcs22-flow-spectra",
        paper=KCS22,
        where="random-matrix analysis of the gated flow's Jacobian (zero FP and time-dependent states)",
        claim="The gated flow's instantaneous Jacobian spectrum follows the random-matrix prediction: at the zero FP "
        "2N eigenvalues at −1 and a disk at −1/2 of radius g_h/4; at other states the predicted support.",
        paper_values="−1 (multiplicity 2N), −1/2 + g_h/4; support formula",
        settings={
            "quick": {"n": 150, "g_h_zero": 1.5, "g_h": 3.0, "alpha_z": 2.0, "alpha_r": 2.0, "n_states": 3},
            "full": {"n": 500, "g_h_zero": 1.5, "g_h": 3.0, "alpha_z": 2.0, "alpha_r": 2.0, "n_states": 10},
        },
        cost={"quick": "~1 s", "full": "~3 min"},
        compute=_flow_spectra,
        plot=_plot_flow,
    )
)


# --------------------------------------------------------------- DMFT onset of chaos
def _dmft_onset(settings: dict[str, Any], *, seed: int, workdir: Path, scheduler: str | None) -> Measurement:
    from rnndyn.meanfield.dmft import chaos_onset

    tol = float(settings["tol"])
    big = float(settings["alpha_r"])
    on = chaos_onset(big, tol=tol)
    on0 = chaos_onset(0.0, tol=tol)
    g_star = rd.meanfield.bifurcation_gain(big)
    comps = (
        compare(
            f"DMFT onset g_c(α_r = {big:g})",
            PaperValue(
                "less",
                2.0,
                source="DMFT phase diagram: at large α_r the chaotic solution appears below the "
                "zero-FP line g_h = 2 (discontinuous transition)",
            ),
            on.g_c,
            0.5 * tol,
        ),
        compare(
            f"DMFT λ_max of the chaotic solution at the onset, α_r = {big:g} [1/time]",
            PaperValue("greater", 0.0, source="chaos appears with a finite λ_max (first-order transition)"),
            on.lambda_at_onset,
            0.0,
        ),
        compare(
            f"DMFT onset minus FP bifurcation g*({big:g}) = {g_star:.3f}",
            PaperValue(
                "greater",
                0.0,
                source="'proliferation of critical points is decoupled from the appearance of "
                "chaotic dynamics'",
            ),
            on.g_c - g_star,
            0.5 * tol,
        ),
        compare(
            "DMFT onset g_c(α_r = 0)",
            PaperValue(
                "equal",
                2.0,
                abs=tol,
                source="small α_r: the continuous transition at g_h = 2 (the gated flow "
                "is then SCS with gain g_h/2)",
            ),
            on0.g_c,
            0.5 * tol,
        ),
    )
    data = {"alpha_r": [0.0, big], "g_c": [on0.g_c, on.g_c], "g_star": g_star, "c_h0": on.c_h0_at_onset}
    return Measurement(comps, data, (seed,), notes=f"chaos_onset status: {on.status} {on.message}".strip())


def _plot_onset(ax: Any, data: dict[str, Any]) -> None:
    ax.plot(data["alpha_r"], data["g_c"], "o-", color="#0b3d91", label="ours: DMFT onset g_c")
    ax.axhline(2.0, color="grey", ls=":", label="zero-FP line g_h = 2")
    ax.plot([data["alpha_r"][-1]], [data["g_star"]], "s", color="#d1242f", label="FP bifurcation g*")
    ax.set_xlabel("α_r")
    ax.set_ylabel("g_h")
    ax.set_title(f"onset of the chaotic DMFT solution (C_h(0) at onset {data['c_h0']:.3f})", fontsize=9)
    ax.legend(fontsize=7)


register(
    Claim(
        id="kcs22-dmft-onset",
        paper=KCS22,
        where="DMFT of the gated flow, phase diagram (chaotic solution, discontinuous transition)",
        claim="The DMFT's chaotic solution appears below g_h = 2, with finite activity and λ_max, at large α_r, "
        "above the fixed-point bifurcation, and at g_h = 2 continuously for small α_r.",
        paper_values="no number recovered for the onset line (qualitative)",
        settings={"quick": {"alpha_r": 20.0, "tol": 0.02}, "full": {"alpha_r": 20.0, "tol": 0.002}},
        cost={"quick": "~15 s", "full": "~30 s"},
        compute=_dmft_onset,
        plot=_plot_onset,
    )
)


# --------------------------------------------------------------- gradients at initialisation: adjoint DMFT
def network_gradient_norms(
    g_h: float,
    alpha_z: float,
    alpha_r: float,
    *,
    n: int,
    seed: int,
    horizons: tuple[float, ...],
    dt: float,
    transient: float,
    readouts: int = 2,
) -> dict[float, dict[str, float]]:
    """Backpropagation through time in one finite gated flow (``rd.GatedRateRNN`` at zero biases),
    the network side of the adjoint DMFT's predictions (also used by
    ``benchmarks/adjoint_vs_bptt.py``).

    The loss is the readout F = (1/N) sum_i v_i h_i(T) (v ~ N(0, I), ``readouts`` of them
    averaged), the network started on its stationary state (after ``transient`` time units from
    h, z, r ~ N(0, 1)) at t = 0; RK4 with step ``dt``. Per horizon ``T``: ``norm_j_x`` =
    ||dF/dJ^x||_F^2 for the unit-variance couplings J^x = W^x / gain (x = h, z, r; 0 where W^x is
    unused) and ``state_norm`` = N ||dF/dh(0)||^2."""
    gen = torch.Generator().manual_seed(seed)
    net = rd.GatedRateRNN(n, g_h=g_h, alpha_z=alpha_z, alpha_r=alpha_r, generator=gen, dtype=F64)
    step = rd.discretise(net, dt=dt, method="rk4").step  # differentiable in the weights
    x = torch.randn(net.state_size, generator=gen, dtype=F64)
    with torch.no_grad():
        for _ in range(int(round(transient / dt))):
            x = step(x)
    x0 = x.detach().requires_grad_(True)
    marks = {int(round(T / dt)): T for T in horizons}
    hs = {}
    x = x0
    for k in range(1, max(marks) + 1):
        x = step(x)
        if k in marks:
            hs[marks[k]] = x[:n]
    params = (net.weight_hh, net.weight_hz, net.weight_hr)
    keys = ("norm_j_h", "norm_j_z", "norm_j_r")
    out = {T: dict.fromkeys((*keys, "state_norm"), 0.0) for T in horizons}
    for _ in range(readouts):
        v = torch.randn(n, generator=gen, dtype=F64)
        for T in horizons:
            grads = torch.autograd.grad(
                (v * hs[T]).sum() / n, [*params, x0], retain_graph=True, allow_unused=True
            )
            for key, gr, gain in zip(keys, grads[:3], (g_h, alpha_z, alpha_r), strict=True):
                if gr is not None:  # a gate weight is unused when its gain is 0
                    out[T][key] += gain * gain * float(gr.pow(2).sum()) / readouts
            out[T]["state_norm"] += n * float(grads[3][:n].pow(2).sum()) / readouts
    return out


def _dmft_gradients(
    settings: dict[str, Any], *, seed: int, workdir: Path, scheduler: str | None
) -> Measurement:
    from rnndyn.meanfield.adjoint import adjoint_gradient_norms

    T, dt, n = float(settings["T"]), float(settings["dt"]), int(settings["n"])
    horizons = (T / 2, T)
    comps, data, seeds = [], {"points": []}, []
    for i, (g_h, alpha_r) in enumerate(settings["points"]):
        g_h, alpha_r = float(g_h), float(alpha_r)
        th = adjoint_gradient_norms(g_h, alpha_r=alpha_r, horizon=T, dt=dt, method="gaussian", seed=seed)
        theory = {t: th.at(t) for t in horizons}
        nets = []
        for j in range(int(settings["networks"])):
            s = seed + 1000 * (i + 1) + j
            seeds.append(s)
            nets.append(
                network_gradient_norms(
                    g_h,
                    0.0,
                    alpha_r,
                    n=n,
                    seed=s,
                    horizons=horizons,
                    dt=dt,
                    transient=float(settings["transient"]),
                )
            )
        point = f"(g_h, α_z, α_r) = ({g_h:g}, 0, {alpha_r:g})"
        keys = (("norm_j_h", "‖∂F/∂J^h‖²"),) + ((("norm_j_r", "‖∂F/∂J^r‖²"),) if alpha_r > 0 else ())
        for key, label in keys:
            ratio, err = mean_sem([net[T][key] / theory[T][key] for net in nets])
            comps.append(
                compare(
                    f"{label} at T = {T:g}, networks (N = {n}) / adjoint DMFT, {point}",
                    PaperValue(
                        "equal",
                        1.0,
                        rel=0.15,
                        source="final section: the DMFT with adjoint fields gives the gradient norms of "
                        "large networks at initialisation (ratio 1; 15 % allowed for finite N)",
                    ),
                    ratio,
                    err,
                )
            )
        growth_net, growth_err = mean_sem([net[T]["norm_j_h"] / net[T / 2]["norm_j_h"] for net in nets])
        growth_th = theory[T]["norm_j_h"] / theory[T / 2]["norm_j_h"]
        comps.append(
            compare(
                f"growth of ‖∂F/∂J^h‖² from T = {T / 2:g} to {T:g}, networks / adjoint DMFT, {point}",
                PaperValue(
                    "equal",
                    1.0,
                    rel=0.15,
                    source="final section: the DMFT predicts how the gradient norms grow with the horizon "
                    "(ratio of the networks' growth factor to the theory's: 1)",
                ),
                growth_net / growth_th,
                growth_err / growth_th,
            )
        )
        data["points"].append(
            {
                "label": point,
                "horizon": th.horizon.tolist(),
                "theory": th.norm_j_h.tolist(),
                "networks": [[net[t]["norm_j_h"] for t in horizons] for net in nets],
                "net_horizons": list(horizons),
                "lambda_max": th.lambda_max,
            }
        )
    notes = f"adjoint DMFT: Gaussian route, dt = {dt:g}; networks: RK4 at dt = {dt:g}, two readouts each"
    return Measurement(tuple(comps), data, tuple(seeds), notes=notes)


def _plot_grad(ax: Any, data: dict[str, Any]) -> None:
    colours = ("#0b3d91", "#d1242f", "#1a7f37")
    for c, pt in zip(colours, data["points"], strict=False):
        ax.plot(pt["horizon"], pt["theory"], "-", color=c, label=f"adjoint DMFT {pt['label']}")
        for k, net in enumerate(pt["networks"]):
            ax.plot(
                pt["net_horizons"], net, "o", color=c, mfc="none", label="networks (BPTT)" if k == 0 else None
            )
    ax.set_xlabel("horizon T")
    ax.set_ylabel("‖∂F/∂J^h‖²")
    ax.set_yscale("log")
    ax.set_title("gradient norms at initialisation: theory vs finite networks", fontsize=9)
    ax.legend(fontsize=6)


register(
    Claim(
        id="kcs22-dmft-gradients",
        paper=KCS22,
        where="DMFT of gradients (adjoint field theory), final section",
        claim="The DMFT with the adjoint sensitivity predicts how gradient norms grow or decay at initialisation "
        "across the phase diagram.",
        paper_values="curves (not recovered); read as: theory / network ratio 1",
        settings={
            "quick": {
                "points": [[3.0, 5.0], [4.0, 0.0]],
                "n": 1000,
                "networks": 2,
                "T": 5.0,
                "dt": 0.1,
                "transient": 100.0,
            },
            "full": {
                "points": [[3.0, 5.0], [4.0, 0.0]],
                "n": 1000,
                "networks": 4,
                "T": 10.0,
                "dt": 0.1,
                "transient": 200.0,
            },
        },  # fmt: skip
        cost={"quick": "~1 min", "full": "~5 min"},
        compute=_dmft_gradients,
        plot=_plot_grad,
    )
)


# --------------------------------------------------------------- line attractors / slow manifolds
def _slow_and_closed(flow: Any, states: torch.Tensor, eps: float) -> tuple[list[float], list[float]]:
    """Per state: (#flow-Jacobian eigenvalues with |mu| < eps) / N and the fraction of closed
    update gates sigma(z_i) < eps."""
    slow, closed = [], []
    n = flow.n
    for s in states:
        ev = torch.linalg.eigvals(rd.jacobian(flow, s).detach()).numpy()
        slow.append(float(np.sum(np.abs(ev) < eps)) / n)
        gate = torch.sigmoid(s[n : 2 * n] + flow.bias_z.detach())
        closed.append(float((gate < eps).double().mean()))
    return slow, closed


def _line_attractors(
    settings: dict[str, Any], *, seed: int, workdir: Path, scheduler: str | None
) -> Measurement:
    n, eps, dt = int(settings["n"]), float(settings["eps"]), float(settings["dt"])
    n_seeds, n_traj = int(settings["n_seeds"]), int(settings["n_trajectories"])
    n_states, stride = int(settings["n_states"]), int(settings["stride"])
    alphas = [float(a) for a in settings["alpha_z"]]
    frac, frac_err, closed, closed_err, diff, diff_err = [], [], [], [], [], []
    for k, a_z in enumerate(alphas):
        fr, cl = [], []
        for s in range(n_seeds):
            flow = rd.GatedRateRNN(
                n,
                g_h=float(settings["g_h"]),
                alpha_z=a_z,
                alpha_r=float(settings["alpha_r"]),
                beta_z=float(settings["beta_z"]),
                generator=torch.Generator().manual_seed(seed + 1000 * k + s),
                dtype=F64,
            )
            traj = rd.simulate(
                rd.discretise(flow, dt=dt, method="rk4"),
                n_steps=n_states * stride,
                n_transient=int(settings["n_transient"]),
                batch_shape=(n_traj,),
                generator=torch.Generator().manual_seed(seed + 1000 * k + s + 500),
            )  # (n_traj, T, 3N)
            f_s, c_s = _slow_and_closed(flow, traj[:, stride - 1 :: stride].reshape(-1, 3 * n), eps)
            fr.extend(f_s)
            cl.extend(c_s)
        for lst, (m_, e_) in (
            ((frac, frac_err), mean_sem(fr)),
            ((closed, closed_err), mean_sem(cl)),
            ((diff, diff_err), mean_sem(np.subtract(fr, cl))),
        ):
            lst[0].append(m_)
            lst[1].append(e_)
    a0, a1 = alphas[0], alphas[-1]
    n_samples = f"mean ± SEM over {n_seeds} networks x {n_traj} trajectories x {n_states} states"
    comps = (
        compare(
            f"slow-mode fraction (flow-Jacobian eigenvalues with |μ| < {eps:g}, per N), "
            f"α_z = {a1:g} minus α_z = {a0:g}",
            PaperValue(
                "greater",
                0.0,
                source="'Emergence of marginal stability and line attractors': for large α_z the "
                "Jacobian spectrum λ(D(t)) accumulates at 0 (marginal directions: approximate line "
                "attractors / slow manifolds at initialisation); statement read as a bound",
            ),
            frac[-1] - frac[0],
            math.hypot(frac_err[-1], frac_err[0]),
            note=n_samples,
        ),
        compare(
            f"slow-mode fraction minus fraction of closed update gates σ(z_i) < {eps:g}, α_z = {a1:g}",
            PaperValue(
                "equal",
                0.0,
                abs=0.03,
                source="mechanism: the h-row of the flow Jacobian D(t) is scaled by σ(z_i), so every "
                "closed update gate gives one eigenvalue near 0 (derived, docs/theory/gated.md "
                "§5.8); 0.03 allowed for bulk eigenvalues that enter |μ| < eps",
            ),
            diff[-1],
            diff_err[-1],
            note=n_samples,
        ),
        compare(
            f"slow-mode fraction at α_z = {a1:g} (per N)",
            PaperValue(
                "range",
                low=0.0,
                high=0.5,
                source="α_z → ∞ limit of the gated flow's Jacobian: a mass θ = P(z < 0) = 1/2 (zero "
                "biases) at 0 plus a disk about −1 (derived, docs/theory/gated.md §5.8); finite α_z "
                "approaches θ from below",
            ),
            frac[-1],
            frac_err[-1],
        ),
    )
    data = {
        "alpha_z": alphas,
        "frac": frac,
        "frac_err": frac_err,
        "closed": closed,
        "closed_err": closed_err,
        "eps": eps,
    }
    notes = "slow-mode fraction per α_z: " + ", ".join(
        f"{a:g}: {m:.3f} ± {e:.3f} (closed gates {c:.3f})"
        for a, m, e, c in zip(alphas, frac, frac_err, closed, strict=True)
    )
    return Measurement(comps, data, (seed,), notes=notes)


def _plot_la(ax: Any, data: dict[str, Any]) -> None:
    ax.errorbar(
        data["alpha_z"],
        data["frac"],
        yerr=2 * np.asarray(data["frac_err"]),
        fmt="o-",
        capsize=3,
        color="#0b3d91",
        label=f"ours: fraction of |μ| < {data['eps']:g} (per N)",
    )
    ax.plot(
        data["alpha_z"], data["closed"], "s:", color="#55a868", label=f"closed gates σ(z_i) < {data['eps']:g}"
    )
    ax.axhline(0.5, color="#d1242f", ls="--", lw=1.0, label="α_z → ∞ limit θ = 1/2")
    ax.set_xlabel("α_z")
    ax.set_ylabel("slow-mode fraction")
    ax.set_title("gated flow: Jacobian eigenvalues near 0 on the attractor", fontsize=9)
    ax.legend(fontsize=7)


register(
    Claim(
        id="kcs22-line-attractors",
        paper=KCS22,
        where="'Emergence of marginal stability and line attractors' (Jacobian eigenvalues λ(D(t)), line attractors)",
        claim="With a switch-like update gate (large α_z) the gated flow becomes marginally stable: the Jacobian on the "
        "attractor accumulates eigenvalues at 0, giving slow manifolds / approximate line attractors at initialisation.",
        paper_values="no number: the slow-mode fraction grows with α_z (read as > 0 for the change); α_z → ∞ limit θ = 1/2",
        settings={
            "quick": {
                "n": 100,
                "g_h": 3.0,
                "alpha_r": 0.0,
                "beta_z": 0.0,
                "alpha_z": [0.0, 15.0],
                "dt": 0.1,
                "n_transient": 2000,
                "n_seeds": 2,
                "n_trajectories": 2,
                "n_states": 2,
                "stride": 100,
                "eps": 0.02,
            },
            "full": {
                "n": 300,
                "g_h": 3.0,
                "alpha_r": 0.0,
                "beta_z": 0.0,
                "alpha_z": [0.0, 5.0, 15.0, 40.0],
                "dt": 0.1,
                "n_transient": 5000,
                "n_seeds": 4,
                "n_trajectories": 2,
                "n_states": 3,
                "stride": 200,
                "eps": 0.02,
            },
        },
        cost={"quick": "~10 s", "full": "~3 min"},
        compute=_line_attractors,
        plot=_plot_la,
    )
)

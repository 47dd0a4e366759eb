"""Claims of Chatziafratis, Panageas, Sanford, Stavroulakis (NeurIPS 2022, arXiv:2210.05212):
Li--Yorke chaos at initialisation, scrambling, persistence and lap growth (docs/chaos.md)."""

from __future__ import annotations

import functools
import math
from pathlib import Path
from typing import Any

import numpy as np
import torch

import rnndyn as rd
from rnndyn.reproduce._common import binomial, bootstrap_median, run_grid
from rnndyn.reproduce._core import Claim, Measurement, PaperValue, compare, register
from rnndyn.reproduce._papers import CPSS22

LN_PHI = math.log((1 + math.sqrt(5)) / 2)


# --------------------------------------------------------------- period 3 vs width
def _period3_point(params: dict[str, Any], seed: int, *, n_networks: int) -> dict[str, Any]:
    res = rd.chaos.chaos_probability(
        [int(params["width"])],
        init=str(params["init"]),
        activation=str(params["activation"]),
        n_networks=n_networks,
        criterion="period3",
        seed=seed,
    )
    return {"n_chaotic": res.n_chaotic[0], "n_networks": res.n_networks[0]}


def _period3_vs_width(
    settings: dict[str, Any], *, seed: int, workdir: Path, scheduler: str | None
) -> Measurement:
    widths = [int(w) for w in settings["widths"]]
    grid = {"init": list(settings["inits"]), "activation": list(settings["activations"]), "width": widths}
    fn = functools.partial(_period3_point, n_networks=int(settings["n_networks"]))
    ds = run_grid(
        fn, grid, workdir=workdir, name="period3", settings=settings, scheduler=scheduler, base_seed=seed
    )
    k = ds["n_chaotic"].values[..., 0].astype(int)
    n = ds["n_networks"].values[..., 0].astype(int)
    big = np.asarray(widths) >= np.median(widths)
    curves = {}
    comps = []
    for i, init in enumerate(grid["init"]):
        for j, act in enumerate(grid["activation"]):
            kk, nn = k[i, j], n[i, j]
            ci = [rd.chaos.wilson_interval(int(a), int(b)) for a, b in zip(kk, nn, strict=True)]
            curves[f"{init}/{act}"] = {
                "p": (kk / nn).tolist(),
                "lo": [c[0] for c in ci],
                "hi": [c[1] for c in ci],
            }
            p, e = binomial(int(kk[big].sum()), int(nn[big].sum()))
            comps.append(
                compare(
                    f"{init}/{act}: P(period 3), widths >= {int(np.median(widths))}",
                    PaperValue(
                        "greater",
                        0.0,
                        source="abstract: 'Li-Yorke chaos with constant probability independent of "
                        "the width' (He, Xavier), read as a bound > 0",
                    ),
                    p,
                    e,
                    note=f"{int(kk[big].sum())} of {int(nn[big].sum())} networks (exact period-3 test on f^3)",
                )
            )
            if init == "he" and act == "relu":
                ps, es = binomial(int(kk[~big].sum()), int(nn[~big].sum()))
                ratio = p / ps if ps > 0 else math.nan
                err = ratio * math.hypot(e / p, es / ps) if p > 0 and ps > 0 else 0.0
                comps.append(
                    compare(
                        "he/relu: P(large widths) / P(small widths)",
                        PaperValue(
                            "equal",
                            1.0,
                            rel=0.25,
                            source="'independent of the width', read as a ratio of 1 (25 % tolerance, ours)",
                        ),
                        ratio,
                        err,
                    )
                )
    return Measurement(tuple(comps), {"widths": widths, "curves": curves}, (seed,))


def _plot_period3(ax: Any, data: dict[str, Any]) -> None:
    w = np.asarray(data["widths"])
    for i, (name, c) in enumerate(data["curves"].items()):
        p = 100 * np.asarray(c["p"])
        lo, hi = 100 * np.asarray(c["lo"]), 100 * np.asarray(c["hi"])
        x = w * (1 + 0.06 * (i - 1.5))
        ax.errorbar(x, p, yerr=[p - lo, hi - p], fmt="o-", capsize=3, label=name, ms=4)
    ax.set_xscale("log", base=2)
    ax.set_xticks(w, [f"{int(v)}" for v in w])  # the widths run, not 2^1, 2^3 ...
    ax.set_xticks([], minor=True)
    ax.set_xlabel("width n (the four initialisations are offset sideways for legibility)")
    ax.set_ylabel("P(period-3 point) [%], 95 % Wilson interval")
    ax.set_title("CPSS22: Li–Yorke chaos vs width (exact f³ test)", fontsize=9)
    ax.axhline(0, color="grey", lw=0.5)
    ax.legend(fontsize=7)


register(
    Claim(
        id="cpss22-period3-vs-width",
        paper=CPSS22,
        where="abstract and main theorem; experiments with He / Xavier",
        claim="A randomly initialised RNN (He or Xavier) is Li-Yorke chaotic (has a period-3 point) with a "
        "probability that stays constant, bounded away from 0, as the width grows.",
        paper_values="no number: 'constant probability independent of the width' (read as P > 0 at large widths, "
        "and P(large) / P(small) = 1)",
        settings={
            "quick": {
                "widths": [2, 8, 32, 128],
                "inits": ["he", "xavier"],
                "activations": ["relu", "tanh"],
                "n_networks": 1000,
            },
            "full": {
                "widths": [2, 4, 8, 16, 32, 64, 128, 256, 512, 1024],
                "inits": ["he", "xavier"],
                "activations": ["relu", "tanh"],
                "n_networks": 2000,
            },
        },
        cost={"quick": "~20 s", "full": "~6 min (rd.sweep)"},
        compute=_period3_vs_width,
        plot=_plot_period3,
        grid=True,
    )
)


# --------------------------------------------------------------- the notebooks' f^4
def _crossings(y: torch.Tensor) -> torch.Tensor:
    s = torch.sign(y)
    return (s[:, 1:] * s[:, :-1] < 0).sum(dim=1)


def _notebook_f4(settings: dict[str, Any], *, seed: int, workdir: Path, scheduler: str | None) -> Measurement:
    n = int(settings["n_networks"])
    gen = torch.Generator().manual_seed(seed)
    net = rd.chaos.ScalarNetwork.random(
        int(settings["width"]),
        n,
        init="he",
        activation="relu",
        out_activation="relu",
        output_bias=True,
        generator=gen,
        dtype=torch.float64,
    )
    lo, hi = settings["interval"]
    x = (
        torch.linspace(float(lo), float(hi), int(settings["n_grid"]), dtype=torch.float64)
        .expand(n, -1)
        .contiguous()
    )
    f1 = net(x)
    f2 = net(f1)
    f3 = net(f2)
    f4 = net(f3)
    c1, c3, c4 = _crossings(x - f1), _crossings(x - f3), _crossings(x - f4)
    k4 = int((c4 > c1).sum())
    k3 = int((c3 > c1).sum())
    k_exact = int(rd.chaos.period3(net).has_period3.sum())
    paper = PaperValue(
        "equal",
        8.77,
        error=100 * math.sqrt(0.0877 * 0.9123 / 10_000),
        source="authors' notebook, printed output (width 4, He, ReLU; 10 000 networks)",
    )
    comps = []
    for label, k, note in (
        (
            "notebook criterion as coded (f^4 on the grid) [%]",
            k4,
            "the notebook's 'f^3' is f^4: its f input was overwritten",
        ),
        ("same grid, true f^3 [%]", k3, ""),
        (
            "exact period-3 test (rd.chaos.period3) [%]",
            k_exact,
            "Li-Yorke's theorem needs period 3, which f^4 does not test",
        ),
    ):
        p, e = binomial(k, n)
        comps.append(compare(label, paper, 100 * p, 100 * e, note=note))
    return Measurement(
        tuple(comps),
        {
            "labels": ["f⁴ grid (notebook)", "f³ grid", "exact f³"],
            "p": [100 * k4 / n, 100 * k3 / n, 100 * k_exact / n],
            "n": n,
        },
        (seed,),
    )


def _plot_f4(ax: Any, data: dict[str, Any]) -> None:
    ax.bar(data["labels"], data["p"], color=["#8c959f", "#0b3d91", "#0b3d91"])
    ax.axhline(8.77, color="#d1242f", lw=2, label="notebook printout 8.77 %")
    for i, p in enumerate(data["p"]):
        ax.text(i, p, f"{p:.2f} %", ha="center", va="bottom", fontsize=8)
    ax.set_ylabel("networks with a 'period-3' point [%]")
    ax.set_title(f"width 4, He, ReLU, {data['n']} networks: f⁴ vs f³", fontsize=9)
    ax.legend(fontsize=7)


register(
    Claim(
        id="cpss22-notebook-f4",
        paper=CPSS22,
        where="experiments (authors' public notebook, period-3 probability, width 4)",
        claim="About 8.8 % of width-4 He/ReLU feedback networks have a period-3 point (the notebook's number); "
        "it counts 'more fixed points of f^3 than of f' on a grid, but its f^3 is f^4.",
        paper_values="8.77 % (printed by the notebook, 10 000 networks)",
        settings={
            "quick": {"width": 4, "n_networks": 5000, "n_grid": 163, "interval": [-1.0, 1.0]},
            "full": {"width": 4, "n_networks": 10_000, "n_grid": 163, "interval": [-1.0, 1.0]},
        },
        cost={"quick": "~1 s", "full": "~15 s"},
        compute=_notebook_f4,
        plot=_plot_f4,
    )
)


# --------------------------------------------------------------- lap growth and persistence
def _persistence(settings: dict[str, Any], seed: int) -> Any:
    return rd.chaos.persistence(
        std=float(settings["std"]),
        depth=int(settings["depth"]),
        n_trials=int(settings["n_trials"]),
        generator=torch.Generator().manual_seed(seed),
    )


def _growth(laps: torch.Tensor, depth: int) -> np.ndarray:
    laps = laps.double()
    return ((laps[:, -1].log() - laps[:, 0].log()) / (depth - 1)).numpy()


def _lap_growth(settings: dict[str, Any], *, seed: int, workdir: Path, scheduler: str | None) -> Measurement:
    res = _persistence(settings, seed)
    depth = int(settings["depth"])
    g_rnn = _growth(res.rnn_laps, depth)
    g_fnn = _growth(res.fnn_laps, depth)
    m_rnn, e_rnn = bootstrap_median(g_rnn, seed=seed)
    m_fnn, e_fnn = bootstrap_median(g_fnn, seed=seed + 1)
    d, e_d = bootstrap_median(g_rnn - g_fnn, seed=seed + 2)
    comps = (
        compare(
            "RNN (shared weights): median lap growth per composition",
            PaperValue(
                "greater",
                LN_PHI,
                source="period 3 forces lap growth >= ln phi = 0.481 (Chatziafratis et al. 2020, "
                "Sharkovsky), which the paper's 'exponential expressivity' rests on",
            ),
            m_rnn,
            e_rnn,
        ),
        compare(
            "RNN minus FNN lap growth (median of paired differences)",
            PaperValue(
                "greater",
                0.0,
                source="abstract: 'in stark contrast to their feedforward counterparts ... "
                "expressive power remains exponential', read as RNN > FNN",
            ),
            d,
            e_d,
        ),
    )
    data = {
        "t": res.t.tolist(),
        "rnn": np.median(res.rnn_laps.double().numpy(), axis=0).tolist(),
        "fnn": np.median(res.fnn_laps.double().numpy(), axis=0).tolist(),
        "rnn_q": np.quantile(res.rnn_laps.double().numpy(), [0.25, 0.75], axis=0).tolist(),
        "fnn_q": np.quantile(res.fnn_laps.double().numpy(), [0.25, 0.75], axis=0).tolist(),
        "base": res.base_laps.double().tolist(),
        "fnn_growth": m_fnn,
        "fnn_growth_err": e_fnn,
    }
    return Measurement(comps, data, (seed,))


def _plot_laps(ax: Any, data: dict[str, Any]) -> None:
    t = np.asarray(data["t"])
    ax.semilogy(t, data["base"], "k--", label="unperturbed tent map (2^t)")
    for key, col in (("rnn", "#0b3d91"), ("fnn", "#bc4c00")):
        q = np.asarray(data[f"{key}_q"])
        ax.semilogy(t, data[key], "o-", color=col, label=f"{key.upper()} median")
        ax.fill_between(t, q[0], q[1], color=col, alpha=0.2, label=f"{key.upper()} quartiles (25-75 %)")
    ax.set_xlabel("compositions t")
    ax.set_ylabel("laps of the t-fold composition on [0, 1]")
    ax.set_title("lap growth, weights + N(0, 0.1²)", fontsize=9)
    ax.legend(fontsize=7)


register(
    Claim(
        id="cpss22-lap-growth",
        paper=CPSS22,
        where="abstract; persistence experiments (RNN vs feedforward)",
        claim="The number of oscillations (laps) of the t-fold composition grows exponentially for a perturbed "
        "RNN (shared weights), but not as fast for a feedforward net with independently perturbed layers.",
        paper_values="no number (qualitative; period 3 implies growth >= ln phi per step)",
        settings={
            "quick": {"std": 0.1, "depth": 6, "n_trials": 200},
            "full": {"std": 0.1, "depth": 8, "n_trials": 2000},
        },
        cost={"quick": "~1 s", "full": "~2 s"},
        compute=_lap_growth,
        plot=_plot_laps,
    )
)


def _persist(settings: dict[str, Any], *, seed: int, workdir: Path, scheduler: str | None) -> Measurement:
    res = _persistence(settings, seed)
    k = int(res.rnn_period3.sum())
    p, e = binomial(k, int(settings["n_trials"]))
    comps = (
        compare(
            "fraction of perturbed maps keeping a period-3 point",
            PaperValue(
                "greater",
                0.5,
                source="abstract: 'chaotic behavior in RNNs is preserved under small perturbations', read "
                "as: most perturbed maps stay chaotic",
            ),
            p,
            e,
            note=f"{k} of {settings['n_trials']}; unperturbed map has period 3: {res.base_period3}",
        ),
    )
    return Measurement(comps, {}, (seed,))


register(
    Claim(
        id="cpss22-persistence",
        paper=CPSS22,
        where="abstract; persistence notebooks (tent map, every weight + N(0, 0.1^2))",
        claim="Li-Yorke chaos of an RNN survives small random perturbations of its weights.",
        paper_values="no number (qualitative)",
        settings={
            "quick": {"std": 0.1, "depth": 2, "n_trials": 300},
            "full": {"std": 0.1, "depth": 2, "n_trials": 5000},
        },
        cost={"quick": "~1 s", "full": "~10 s"},
        compute=_persist,
    )
)


# --------------------------------------------------------------- scrambling
def _scrambling(settings: dict[str, Any], *, seed: int, workdir: Path, scheduler: str | None) -> Measurement:
    net = rd.chaos.ScalarNetwork.from_weights([1.0, 1.0], [1e-5, -0.502], [1.9999, -4.0])
    n_pairs = int(settings["n_pairs"])
    res = rd.chaos.scrambling(
        net,
        n_pairs=n_pairs,
        n_steps=int(settings["n_steps"]),
        eps=1e-7,
        generator=torch.Generator().manual_seed(seed),
    )
    k = int(res.scrambled.sum())
    p, e = binomial(k, n_pairs)
    comps = (
        compare(
            "fraction of pairs (1e-7 apart) scrambled in the second half of the run",
            PaperValue(
                "greater",
                0.0,
                source="scrambling figure (notebook map 1.9999 relu(x+1e-5) - 4 relu(x-0.502)): "
                "distances collapse and re-expand",
            ),
            p,
            e,
            note=f"{k} of {n_pairs} pairs",
        ),
        compare(
            "Lyapunov exponent of the map (per step)",
            PaperValue(
                "equal",
                math.log(2.0),
                abs=0.01,
                source="derived: |slope| 1.9999 / 2.0001 on the two branches, ln 2",
            ),
            res.lambda_max,
            0.0,
        ),
    )
    d = res.distance[: min(4, n_pairs)].clamp_min(1e-300).log10().numpy()
    return Measurement(
        comps,
        {"log10_distance": d[:, :: max(1, d.shape[1] // 400)].tolist(), "stride": max(1, d.shape[1] // 400)},
        (seed,),
    )


def _plot_scrambling(ax: Any, data: dict[str, Any]) -> None:
    d = np.asarray(data["log10_distance"])
    t = np.arange(d.shape[1]) * data["stride"]
    for row in d:
        ax.plot(t, row, lw=0.7)
    ax.set_xlabel("step t")
    ax.set_ylabel("log10 |f^t(x) − f^t(y)|")
    ax.set_title("scrambling: pairs 1e-7 apart (notebook map)", fontsize=9)


register(
    Claim(
        id="cpss22-scrambling",
        paper=CPSS22,
        where="scrambling figure (distance of two nearby trajectories)",
        claim="Trajectories of nearby points come arbitrarily close and separate again, over and over (scrambling).",
        paper_values="no number (figure); ln 2 for the map's exponent is derived",
        settings={"quick": {"n_pairs": 16, "n_steps": 2000}, "full": {"n_pairs": 256, "n_steps": 5000}},
        cost={"quick": "~1 s", "full": "~30 s"},
        compute=_scrambling,
        plot=_plot_scrambling,
    )
)


# --------------------------------------------------------------- high-dimensional check
#: the authors' notebook (64 -> 64 ReLU -> 64, zero bias, weights N(0, s^2), 1000 networks): percentage of
#: networks whose input-output Jacobian at one digits image has spectral radius > 1, per s
NOTEBOOK_RADIUS = {0.12: 0.2, 0.13: 3.6, 0.14: 31.3, 0.15: 74.7, 0.16: 97.2, 0.19: 100.0}


def _high_dim(settings: dict[str, Any], *, seed: int, workdir: Path, scheduler: str | None) -> Measurement:
    n, m = int(settings["width"]), int(settings["n_networks"])
    gen = torch.Generator().manual_seed(seed)
    # one fixed input (a digits image in the notebook): with zero biases the ReLU pattern D = 1[W1 x > 0]
    # depends only on the direction of x, and W1 x is isotropic, so any fixed nonzero x gives the same law
    x = torch.randn(n, generator=gen, dtype=torch.float64)
    comps, ss, ours = [], [], []
    for s in settings["scales"]:
        s = float(s)
        w1 = s * torch.randn(m, n, n, generator=gen, dtype=torch.float64)
        w2 = s * torch.randn(m, n, n, generator=gen, dtype=torch.float64)
        d = (w1 @ x > 0).double()
        jac = w2 * d.unsqueeze(-2) @ w1  # W2 diag(D) W1
        k = int((torch.linalg.eigvals(jac).abs().amax(dim=-1) > 1).sum())
        p, e = binomial(k, m)
        pv = NOTEBOOK_RADIUS.get(round(s, 2))
        perr = 100 * math.sqrt(pv / 100 * (1 - pv / 100) / 1000) if pv is not None else 0.0
        comps.append(
            compare(
                f"networks with Jacobian spectral radius > 1, s = {s:g} [%]",
                PaperValue(
                    "equal",
                    pv,
                    error=perr,
                    source="authors' notebook (high-dimensional check), printed percentage of 1000 networks",
                ),
                100 * p,
                100 * e,
            )
        )
        ss.append(s)
        ours.append(100 * p)
    return Measurement(tuple(comps), {"s": ss, "ours": ours}, (seed,))


def _plot_high_dim(ax: Any, data: dict[str, Any]) -> None:
    ax.plot(data["s"], data["ours"], "o-", color="#0b3d91", label="ours")
    ps = sorted(NOTEBOOK_RADIUS)
    ax.plot(ps, [NOTEBOOK_RADIUS[s] for s in ps], "s--", color="#d1242f", label="authors' notebook")
    ax.axvline((math.sqrt(2) / 64) ** 0.5, color="grey", ls=":", label="s² n / √2 = 1")
    ax.set_xlabel("weight scale s")
    ax.set_ylabel("spectral radius > 1 [%]")
    ax.set_title("64-64-64 ReLU MLP: Jacobian at one input", fontsize=9)
    ax.legend(fontsize=7)


register(
    Claim(
        id="cpss22-high-dim",
        paper=CPSS22,
        where="experiments (authors' notebook, higher-dimensional check)",
        claim="For a 64-64-64 ReLU network with N(0, s^2) weights the Jacobian's spectral radius exceeds 1 "
        "with a probability that jumps from ~0 to ~1 between s = 0.12 and 0.16.",
        paper_values="0.2 / 3.6 / 31.3 / 74.7 / 97.2 % at s = 0.12 / 0.13 / 0.14 / 0.15 / 0.16 (1000 networks)",
        settings={
            "quick": {"width": 64, "n_networks": 1000, "scales": [0.12, 0.13, 0.14, 0.15, 0.16]},
            "full": {"width": 64, "n_networks": 10000, "scales": [0.12, 0.13, 0.14, 0.15, 0.16, 0.19]},
        },
        cost={"quick": "~5 s", "full": "~1.5 min"},
        compute=_high_dim,
        plot=_plot_high_dim,
    )
)

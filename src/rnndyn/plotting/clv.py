"""Figures for covariant Lyapunov vectors (:class:`rnndyn.clv.CLVResult`) and finite-time
exponents (:class:`rnndyn.clv.FTLEResult`): localisation, finite-time exponent distributions and
the angles between CLVs.

matplotlib is imported lazily, through its object-oriented ``Figure`` (no pyplot state, no
backend switch), so these functions work in scripts, notebooks and headless runs alike.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

from rnndyn.plotting import check_result, figure_path, flag_result, log_ticks, save


def _figure(*, nrows: int = 1, ncols: int = 1, figsize: tuple[float, float] = (7.0, 4.2)) -> tuple[Any, Any]:
    from matplotlib.figure import Figure

    fig = Figure(figsize=figsize, layout="constrained")
    axes = fig.subplots(nrows, ncols, squeeze=False)
    return fig, axes


def _save(fig: Any, path: str | Path) -> Path:
    return save(fig, path)


def _integer_ticks(ax: Any) -> None:
    from matplotlib.ticker import MaxNLocator

    ax.xaxis.set_major_locator(MaxNLocator(integer=True))


def _run_line(res: Any) -> str:
    return (
        f"{res.n_steps} steps after {res.n_transient}, backward transient {res.n_backward_transient}, "
        f"recorded every {res.record_every}"
    )


def plot_localisation(res: Any, path: str | Path, *, title: str = "") -> Path:
    """Exponents (top) and inverse participation ratio of each CLV and each Gram-Schmidt vector
    (bottom, log scale) against the exponent index, with the delocalised limit ``1/n`` and the
    value ``3/(n+2)`` of a random Gaussian direction: values far above them mark directions carried
    by few units."""
    check_result(
        res, "res", ("clv_exponents", "ipr_clv", "ipr_gs"), "a CLVResult (rd.covariant_lyapunov_vectors)"
    )
    path = figure_path(path)
    import numpy as np

    fig, axes = _figure(nrows=2, figsize=(7.0, 6.0))
    ax0, ax1 = axes[0, 0], axes[1, 0]
    i = np.arange(1, res.k + 1)
    lam = res.exponents.numpy()
    ax0.plot(i, lam, "o-", ms=3, lw=1, color="C0", label="lambda_i (QR)")
    ax0.plot(i, res.clv_exponents.numpy(), "x", ms=4, color="C3", label="mean log CLV growth")
    ax0.axhline(0.0, color="0.5", lw=0.8)
    ax0.set_ylabel(f"exponent [{res.units}]")
    ax0.legend(fontsize=8, frameon=False, loc="best")
    ax0.grid(alpha=0.25)
    _integer_ticks(ax0)
    n = res.tangent_size
    for key, std, color, label in (
        ("ipr_clv", "ipr_clv_std", "C3", "CLV"),
        ("ipr_gs", "ipr_gs_std", "C0", "Gram-Schmidt"),
    ):
        m, s = getattr(res, key).numpy(), getattr(res, std).numpy()
        ax1.plot(i, m, "o-", ms=3, lw=1, color=color, label=f"{label} (mean over time)")
        ax1.fill_between(i, np.clip(m - s, 1.0 / n, None), m + s, color=color, alpha=0.15, lw=0)
    tol = _convergence_tolerance(res)
    per = res.backward_convergence_per_vector.numpy()
    bad = np.isfinite(per) & (per > tol) if tol is not None else np.zeros(res.k, dtype=bool)
    if bad.any():
        ax1.scatter(i[bad], res.ipr_clv.numpy()[bad], s=70, facecolors="none", edgecolors="k", lw=1.0,
                    zorder=5, label=f"CLV not converged (sin > {tol:.0e})")  # fmt: skip
    ax1.axhline(1.0 / n, color="0.3", ls=":", lw=1, label=f"1/n (all {n} units)")
    ax1.axhline(3.0 / (n + 2), color="0.5", ls="--", lw=1, label="random direction 3/(n+2)")
    ax1.set_yscale("log")
    ax1.set_xlabel("exponent index i")
    ax1.set_ylabel("IPR = sum_j v_j^4")
    ax1.legend(fontsize=8, frameon=False, loc="best")
    ax1.grid(alpha=0.25, which="both")
    _integer_ticks(ax1)
    fig.suptitle((title or "localisation of the Lyapunov vectors") + "\n" + _run_line(res), fontsize=10)
    flag_result(fig, res)
    return _save(fig, path)


def _convergence_tolerance(res: Any) -> float | None:
    """The tolerance of the result's backward-convergence check (``None`` without that check)."""
    for c in getattr(res, "checks", ()) or ():
        if c.name == "backward_convergence" and c.tolerance is not None:
            return float(c.tolerance)
    return None


def plot_ftle(ftle: Any, path: str | Path, *, title: str = "", n_show: int = 4) -> Path:
    """Histograms of the finite-time exponents of the first ``n_show`` indices (left) and their
    variance against the index with the prediction ``sigma^2 tau / L`` (right)."""
    check_result(ftle, "ftle", ("window", "which"), "an FTLEResult (rd.finite_time_exponents)")
    path = figure_path(path)
    import numpy as np

    fig, axes = _figure(ncols=2, figsize=(11.0, 4.2))
    ax0, ax1 = axes[0, 0], axes[0, 1]
    vals = ftle.values.reshape(-1, ftle.values.shape[-1]).numpy()
    k = vals.shape[1]
    for j in range(min(n_show, k)):
        finite = vals[:, j][np.isfinite(vals[:, j])]
        if finite.size:
            ax0.hist(finite, bins=min(60, max(10, finite.size // 10)), alpha=0.45, color=f"C{j}",
                     label=f"i = {j + 1}: mean {finite.mean():.3g}, sd {finite.std():.2g}")  # fmt: skip
    ax0.axvline(0.0, color="0.5", lw=0.8)
    ax0.set_xlabel(f"finite-time exponent over {ftle.window} steps [{ftle.units}]")
    ax0.set_ylabel("count of windows")
    ax0.legend(fontsize=8, frameon=False, loc="upper center", bbox_to_anchor=(0.5, -0.16), ncol=2)
    i = np.arange(1, k + 1)
    measured = ftle.variance.numpy()
    predicted = ftle.predicted_variance.numpy()
    ax1.plot(i, measured, "o-", ms=3, lw=1, label="measured variance")
    ax1.plot(i, predicted, "--", marker=".", ms=4, lw=1, label="large-window prediction σ²τ/L")
    pos = measured[np.isfinite(measured) & (measured > 0)]
    if pos.size:  # frame the measured values; a prediction decades below them is cut, not drawn
        ax1.set_yscale("log")
        ax1.set_ylim(pos.min() / 10.0, pos.max() * 3.0)
        log_ticks(ax1)
    else:  # no window-to-window variance at all (a fixed point): a linear axis at 0, said so
        ax1.text(0.5, 0.5, "the finite-time exponents do not vary (variance 0)", transform=ax1.transAxes,
                 ha="center", va="center", fontsize=9)  # fmt: skip
    ax1.set_xlabel("exponent index i")
    ax1.set_ylabel(f"variance over windows [({ftle.units})²]")
    ax1.legend(fontsize=8, frameon=False, loc="best")
    ax1.grid(alpha=0.25, which="both")
    _integer_ticks(ax1)
    tau = ftle.autocorrelation_time.numpy()
    ok = np.isfinite(measured) & np.isfinite(predicted) & (predicted > 0)
    ratio = f"; measured/predicted {np.median(measured[ok] / predicted[ok]):.2g} (median)" if ok.any() else ""
    known = tau[np.isfinite(tau)]
    if known.size:
        span = f"{known.min():.2g} .. {known.max():.2g} steps"
        if known.size < tau.size:
            span += f" ({tau.size - known.size} of {tau.size} undefined)"
    else:  # no window gives a time (fixed point, periodic orbit): say so, with the result's reason
        notes = [n for n in getattr(ftle, "autocorrelation_note", ()) if n]
        span = "undefined" + (f" ({notes[0]})" if notes else "")
    ax1.set_title(f"integrated autocorrelation time τ: {span}{ratio}", fontsize=9, wrap=True)
    fig.suptitle(title or f"finite-time Lyapunov exponents ({ftle.which}, window {ftle.window})", fontsize=10)
    flag_result(fig, ftle)
    return _save(fig, path)


def plot_clv_angles(res: Any, path: str | Path, *, title: str = "") -> Path:
    """Distribution of the smallest angle between the unstable and the stable subspaces (left;
    mass near zero: near-tangencies, a sign of non-hyperbolicity) and of the angles between the
    recorded pairs of CLVs (right), in degrees on a log scale."""
    check_result(res, "res", ("clv_exponents", "angle_pairs"), "a CLVResult (rd.covariant_lyapunov_vectors)")
    path = figure_path(path)
    import numpy as np

    fig, axes = _figure(ncols=2, figsize=(11.0, 4.2))
    ax0, ax1 = axes[0, 0], axes[0, 1]
    deg = 180.0 / math.pi
    m = res.min_angle.numpy().ravel() * deg
    m = m[np.isfinite(m) & (m > 0)]
    if m.size:
        bins = np.logspace(np.log10(max(m.min(), 1e-6)), np.log10(90.0), 40)
        ax0.hist(m, bins=bins, color="C0", alpha=0.7)
        ax0.set_xscale("log")
        ax0.set_title(f"min {m.min():.3g} deg, median {np.median(m):.3g} deg", fontsize=9)
    else:
        why = (
            f"{res.n_unstable} unstable and {res.n_stable} stable directions"
            if res.n_unstable == 0 or res.n_stable == 0
            else "angles not recorded (hyperbolicity=False)"
        )
        ax0.text(0.5, 0.5, f"no unstable/stable angle to show:\n{why}", ha="center", va="center",
                 transform=ax0.transAxes)  # fmt: skip
        ax0.set_xticks([])
        ax0.set_yticks([])
    ax0.set_xlabel(f"angle between unstable ({res.n_unstable}) and stable ({res.n_stable}) subspaces [deg]")
    ax0.set_ylabel("count")
    a = res.angles.numpy() * deg
    for p, (i, j) in enumerate(res.angle_pairs[:6]):
        v = a[..., p].ravel()
        v = v[np.isfinite(v) & (v > 0)]
        if v.size:
            bins = np.logspace(np.log10(max(v.min(), 1e-6)), np.log10(90.0), 40)
            ax1.hist(v, bins=bins, histtype="step", lw=1.2, color=f"C{p}", label=f"v{i + 1}, v{j + 1}")
    ax1.set_xscale("log")
    ax1.set_xlabel("angle between CLV pairs [deg]")
    ax1.set_ylabel("count")
    if res.angle_pairs:
        ax1.legend(fontsize=8, frameon=False, loc="best")
    fig.suptitle((title or "angles between covariant Lyapunov vectors") + "\n" + _run_line(res), fontsize=10)
    flag_result(fig, res)
    return _save(fig, path)


__all__ = ["plot_clv_angles", "plot_ftle", "plot_localisation"]

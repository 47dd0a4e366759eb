"""Figures of the mean-field (DMFT) results: the ``plot(path)`` methods of
:class:`rnndyn.meanfield.dmft.DMFTResult`, :class:`~rnndyn.meanfield.dmft_discrete.DiscreteDMFTResult`,
:class:`~rnndyn.meanfield.dmft_ageing.AgeingDMFTResult` and
:class:`~rnndyn.meanfield.adjoint.AdjointGradientResult` call these.

Every figure labels both axes with units (continuous-time results: time in units of the time
constant, rates per unit time; discrete ones: steps, per step), puts the Lyapunov exponent with its
units in a title, and flags a non-success status with the banner of :func:`rnndyn.plotting.flag_result`
(both from :mod:`rnndyn._display`).
A correlation that does not depend on the lag (``C_σ(r)`` at ``alpha_r = 0``: the reset gate sits at
``σ(0) = 1/2``, so ``C_σ(r) ≡ 1/4``) is drawn with a text saying it is constant, not as a bare flat line.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np

from rnndyn._display import _plt, flag_result, fmt, log_ticks, save  # floor 0, shared by every figure

#: Line styles, so that curves that coincide (C_phi and C_z at alpha_z = 1) stay distinguishable.
_STYLES = ("-", "--", ":", "-.")


def _rate(value: float, stderr: float | None = None, units: str = "") -> str:
    """``+0.025 ± 0.0012 per unit time`` (:func:`fmt`), signed; 'not computed' for NaN."""
    if value is None or not math.isfinite(float(value)):
        return "not computed"
    se = float(stderr) if stderr is not None and math.isfinite(float(stderr)) and stderr > 0 else None
    s = fmt(float(value), se)
    return f"{'+' if float(value) > 0 else ''}{s} {units}".rstrip()


def is_constant(y: Any, *, rtol: float = 1e-9) -> bool:
    """Whether ``y`` does not depend on its index (peak-to-peak within ``rtol`` of its scale)."""
    y = np.asarray(y, dtype=float)
    return bool(y.size) and float(np.ptp(y)) <= rtol * max(float(np.max(np.abs(y))), 1e-300)


def _constant_note(ax: Any, name: str, value: float, why: str) -> None:
    ax.text(0.5, 0.62, f"{name} is constant in τ: {value:.4g}\n({why})", transform=ax.transAxes,
            ha="center", va="center", fontsize=9, gid="rnndyn-constant",
            bbox={"boxstyle": "round", "fc": "white", "ec": "0.6"})  # fmt: skip
    pad = max(abs(value) * 0.5, 1e-3)
    ax.set_ylim(value - pad, value + pad)


def plot_gated_dmft(r: Any, path: str | Path) -> Path:
    """Correlation functions of the gated flow's stationary DMFT (KCS22) against the lag, and the
    reset-gate correlation ``C_σ(r)(τ)``; ``λ_max`` with units in the title."""
    plt = _plt()
    fig, ax = plt.subplots(1, 2, figsize=(11, 4.2), layout="constrained")
    curves = (
        (r.c_h, "C_h: h(t) h(t+τ)"),
        (r.c_phi, "C_φ: φ(h) = tanh h"),
        (r.c_z, "C_z: update-gate variable z"),
        (r.c_r, "C_r: reset-gate variable r"),
    )
    for (y, lab), ls in zip(curves, _STYLES, strict=True):
        if np.any(np.asarray(y) != 0):
            ax[0].plot(r.tau, y, ls, lw=1.6, label=lab)
    ax[0].axhline(0, color="0.6", lw=0.6)
    ax[0].set_xlabel("lag τ (units of the time constant)")
    ax[0].set_ylabel("two-time correlation ⟨x(t) x(t+τ)⟩")
    ax[0].legend(fontsize=8)
    ax[0].set_title(
        f"gated flow DMFT, g_h = {r.g_h:g}, α_z = {r.alpha_z:g}, α_r = {r.alpha_r:g} ({r.method})\n"
        f"C_h(0) = {r.c_h0:.4g}, relaxation time {r.relaxation_time:.3g}",
        fontsize=9,
    )
    ax[1].plot(r.tau, r.c_sigma_r, color="tab:purple", label="C_σ(r): σ(r(t)) σ(r(t+τ))")
    if is_constant(r.c_sigma_r):
        why = (
            "α_r = 0: the reset gate is σ(0) = 1/2, so C_σ(r) = 1/4"
            if r.alpha_r == 0
            else "the reset gate does not fluctuate"
        )
        _constant_note(ax[1], "C_σ(r)", float(np.asarray(r.c_sigma_r)[0]), why)
    ax[1].set_xlabel("lag τ (units of the time constant)")
    ax[1].set_ylabel("reset-gate correlation C_σ(r)(τ)")
    ax[1].legend(fontsize=8, loc="upper right")
    ax[1].set_title(
        f"λ_max = {_rate(r.lambda_max, units=getattr(r, 'units', 'per unit time'))}"
        + (f" ({r.lambda_method})" if math.isfinite(r.lambda_max) else ""),
        fontsize=9,
    )
    flag_result(fig, r)
    return save(fig, path)


def plot_discrete_dmft(r: Any, path: str | Path) -> Path:
    """Correlation functions of the discrete GRU/LSTM DMFT against the lag (steps), and the gate
    correlations; ``λ_max`` per step in the title."""
    plt = _plt()
    fig, ax = plt.subplots(1, 2, figsize=(11, 4.2), layout="constrained")
    ax[0].plot(r.tau, r.c_h, "o-", ms=2, label="C_h: h_t h_{t+τ}")
    ax[0].plot(r.tau, r.c_phi, "s--", ms=2,
               label="C_φ: candidate φ(η_h)" if r.model == "gru" else "C_φ(c): φ(c_t) φ(c_{t+τ})")  # fmt: skip
    if r.model == "lstm":
        ax[0].plot(r.tau, r.c_c, ":", label="C_c: cell state")
    ax[0].axhline(0, color="0.6", lw=0.6)
    ax[0].set_xlabel("lag τ (steps)")
    ax[0].set_ylabel("two-time correlation")
    ax[0].legend(fontsize=8)
    p = ", ".join(f"{k} = {v:g}" for k, v in r.params.items() if v != 0)
    ax[0].set_title(f"{r.model.upper()} DMFT: {p} ({r.method})", fontsize=9)
    constant = []
    for (name, y), ls in zip(r.gates.items(), _STYLES * 2, strict=False):
        ax[1].plot(r.tau, y, ls, label=f"C_σ({name}): σ(η_{name}) two-time")
        if is_constant(y):
            constant.append(f"C_σ({name}) = {float(np.asarray(y)[0]):.4g}")
    if constant:
        ax[1].text(0.02, 0.04, "constant in τ (gate gain 0): " + "; ".join(constant), transform=ax[1].transAxes,
                   fontsize=8, gid="rnndyn-constant", bbox={"fc": "white", "ec": "0.6"})  # fmt: skip
    ax[1].set_xlabel("lag τ (steps)")
    ax[1].set_ylabel("gate correlation")
    ax[1].legend(fontsize=8, loc="upper right")
    ax[1].set_title(f"λ_max = {_rate(r.lambda_max, units=getattr(r, 'units', 'per step'))}", fontsize=9)
    flag_result(fig, r)
    return save(fig, path)


def plot_ageing_dmft(r: Any, path: str | Path) -> Path:
    """Two-time DMFT from a Gaussian start: ``C_h(t_w, t_w + τ)`` for each age and the equal-time
    variances against ``t``; the late-time Lyapunov exponent with its error in the title."""
    plt = _plt()
    fig, ax = plt.subplots(1, 2, figsize=(11, 4.2), layout="constrained")
    for t_w in r.ages:
        tau, c = r.correlation_at_age(float(t_w))
        ax[0].plot(tau, c, label=f"t_w = {t_w:g}")
    ax[0].axhline(0, color="0.6", lw=0.6)
    ax[0].set_xlabel("lag τ (units of the time constant)")
    ax[0].set_ylabel("C_h(t_w, t_w + τ)")
    ax[0].legend(fontsize=8, title="age (waiting time)", title_fontsize=8)
    ax[0].set_title(f"gated flow, g_h = {r.g_h:g}, α_z = {r.alpha_z:g}, α_r = {r.alpha_r:g}", fontsize=9)
    ax[1].plot(r.t, np.diagonal(r.c_h), label="C_h(t, t)")
    ax[1].plot(r.t, np.diagonal(r.c_phi), "--", label="C_φ(t, t)")
    ax[1].set_xlabel("time t since the Gaussian start (units of the time constant)")
    ax[1].set_ylabel("equal-time variance")
    ax[1].legend(fontsize=8)
    ax[1].set_title(
        f"M = {r.n_samples} paths × {r.n_replicas} replicas; λ over the second half = "
        f"{_rate(r.lambda_late, r.lambda_late_stderr, getattr(r, 'units', 'per unit time'))}",
        fontsize=9,
    )
    flag_result(fig, r)
    return save(fig, path)


def plot_adjoint_gradients(r: Any, path: str | Path) -> Path:
    """Predicted squared gradient norms against the horizon ``T`` (log scale), and the adjoint
    state norm whose growth rate is compared with the forward DMFT's ``λ_max``."""
    plt = _plt()
    fig, ax = plt.subplots(1, 2, figsize=(11, 4.2), layout="constrained")
    drawn = 0
    for (y, lab), ls in zip(
        ((r.norm_j_h, "‖∂F/∂J^h‖²"), (r.norm_j_z, "‖∂F/∂J^z‖²"), (r.norm_j_r, "‖∂F/∂J^r‖²")),
        _STYLES,
        strict=False,
    ):
        y = np.asarray(y)
        if np.any(y[1:] > 0):
            ax[0].semilogy(r.horizon[1:], y[1:], ls, label=lab)
            drawn += 1
    ax[0].set_xlabel("horizon T (units of the time constant)")
    ax[0].set_ylabel("E‖∂F/∂J‖²_F (unit-variance couplings J)")
    if drawn:
        ax[0].legend(fontsize=8)
    else:
        ax[0].text(0.5, 0.5, "no weight gradient (φ(h) = 0: zero fixed point)", ha="center",
                   transform=ax[0].transAxes)  # fmt: skip
    ax[0].set_title(
        f"readout loss F = (1/N) Σ v_i h_i(T); g_h = {r.g_h:g}, α_z = {r.alpha_z:g}, "
        f"α_r = {r.alpha_r:g} ({r.method})",
        fontsize=9,
    )
    ax[1].semilogy(r.horizon, r.state_norm, label="N E‖∂F/∂h(0)‖²")
    ax[1].set_xlabel("horizon T (units of the time constant)")
    ax[1].set_ylabel("N E‖∂F/∂h(0)‖² (adjoint state norm)")
    ax[1].legend(fontsize=8)
    ax[1].set_title(
        f"growth rate {_rate(r.growth_rate, units='per unit time')}; "
        f"forward DMFT λ_max {_rate(r.lambda_max, units='per unit time')}",
        fontsize=9,
    )
    for a in ax:
        log_ticks(a)  # plain numbers on an axis spanning < 2 decades, not 6x10^-1
    flag_result(fig, r)
    return save(fig, path)


__all__ = [
    "is_constant",
    "plot_adjoint_gradients",
    "plot_ageing_dmft",
    "plot_discrete_dmft",
    "plot_gated_dmft",
]

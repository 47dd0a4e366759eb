"""Mean-field phase diagram of gated RNNs in the (g_h, alpha_r) plane (pure theory).

Regions (Can, Krishnamurthy, Schwab, MSML 2020, arXiv:2002.00025, Fig. 2; zero biases):

====  ==================================  ==================================================
 id   name                                MFT rule used here
====  ==================================  ==================================================
 1    stable FP                           g_h < 2 and no nonzero FP (g_h < g*(alpha_r))
 2    stable & unstable FPs               g_h < 2 and nonzero FPs (all have rho >= 1)
 3    stable FP & chaotic dynamics        g_h < 2 and a chaotic attractor (simulation only)
 4    chaos                               g_h > 2, no marginally stable FP
 5    marginal stability                  g_h > 2 and a nonzero FP with rho (1-theta) < 1
====  ==================================  ==================================================

Region 3 needs the onset line of the chaotic attractor, which is a property of the
*time-dependent* DMFT (Krishnamurthy, Can, Schwab, PRX 12, 011011 (2022), arXiv:2007.14823),
which this module does not solve. Its labels are therefore 1, 2, 4, 5; ``rd.phase_diagram(...,
simulate=True)`` (module :mod:`rnndyn.phases`) adds ``region_sim`` from a finite-N overlay, where a
point of region 1/2 whose simulation sustains chaos becomes 3 (at alpha_r = 20, N = 500 this
happens from g_h ~ 1.8, far above g* = 1.628; docs/meanfield.md). Region 5 is the alpha_z ->
infinity statement of Theorem 4.8 of that paper; the variable ``edge_delta`` says how close to
marginal the spectrum is at the given alpha_z.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from rnndyn._checks import check_choice, check_real
from rnndyn._results import Status
from rnndyn.meanfield.gated import (
    ALPHA_R_STAR,
    G_H_ZERO_FP,
    _branches,
    _critical_g_star,
    fixed_point_moments,
    gain_function,
    marginal_stability_gain,
    solve_plane,
)

REGION_NAMES = {
    0: "undetermined (see status)",
    1: "stable FP",
    2: "stable & unstable FPs",
    3: "stable FP & chaotic dynamics",
    4: "chaos",
    5: "marginal stability",
}

_MAX_BRANCHES = 3


def _grid(values: Any, name: str, *, low: float, low_open: bool, unique: bool = False) -> np.ndarray:
    raw = np.asarray(values) if not isinstance(values, str | bytes) else None
    if raw is None or raw.dtype.kind not in "iuf":
        raise TypeError(
            f"`{name}` must be a number or a 1-D grid of numbers; got {type(values).__name__} {values!r}"
        )
    arr = np.atleast_1d(raw.astype(float))
    if arr.ndim != 1 or arr.size == 0:
        raise ValueError(f"`{name}` must be a non-empty 1-D grid; got shape {arr.shape}")
    bad = ~np.isfinite(arr)
    if bad.any():
        raise ValueError(
            f"`{name}` must be finite; got {int(bad.sum())} non-finite value(s) at index "
            f"{np.flatnonzero(bad).tolist()[:5]}"
        )
    if (arr < low).any() or (low_open and (arr == low).any()):
        i = int(np.flatnonzero((arr < low) | ((arr == low) & low_open))[0])
        lo = "(" if low_open else "["
        raise ValueError(f"`{name}` must lie in {lo}{low}, inf); got {float(arr[i])!r} at index {i}")
    if unique:
        uniq, counts = np.unique(arr, return_counts=True)
        if np.any(counts > 1):
            raise ValueError(
                f"`{name}` must list each value once (it becomes a coordinate of the Dataset); got "
                f"{uniq[counts > 1].tolist()} repeated"
            )
    return arr


def phase_diagram(
    model: str = "gru",
    *,
    g_h: Any = None,
    alpha_r: Any = None,
    alpha_z: float = 0.0,
    theta: float = 0.5,
    throw: bool = False,
    progress: Callable[[int, int], None] | None = None,
):
    """Mean-field phase diagram of the GRU or the gated flow over a (g_h, alpha_r) grid.

    For every point: all nonzero MFT fixed points (branch variances ``delta``, ``c_phi``), their
    spectral shaping parameter ``rho`` (004-19), the zero-FP rho ``g_h^2/4``, the region label
    (1–5, see the module docstring; names in ``attrs["region_names"]``) and a per-point
    ``status`` (an :class:`rnndyn.Status` value: ``success``, ``not_converged`` when a root did
    not converge, ``failed`` when the solver raised; ``message`` says why) — such points get
    region 0, never a silent
    NaN). Critical lines along ``alpha_r``: the zero-FP line ``g_zero_fp = 2``, the
    FP-bifurcation curve ``g_star`` (g*(alpha_r)) and the marginal-stability edge
    ``g_ms`` (NaN where region 5 does not exist above g_h = 2; ``g_ms_exists`` says so).

    This is the pure theory (no model code): the finite-N overlay (region 3 from simulations)
    is added by :func:`rnndyn.phase_diagram`, which combines this function with a sweep.

    Args:
        model: ``"gru"`` or ``"gated_flow"`` (identical fixed-point MFT).
        g_h: 1-D grid of candidate gains (> 0).
        alpha_r: 1-D grid of reset-gate gains (>= 0).
        alpha_z: update-gate gain (enters ``edge_delta``).
        theta: closed fraction of update gates (1/2 at zero bias) in ``rho (1-theta) < 1``.
        throw: raise on the first failed point instead of recording its status.
        progress: optional ``callable(done, total)``.

    Returns:
        ``xarray.Dataset`` with dims ``(g_h, alpha_r, branch)``.

    Raises:
        ValueError: bad model name, empty or non-finite grids, out-of-range values.

    References:
        Can, Krishnamurthy, Schwab, MSML 2020, arXiv:2002.00025 (Fig. 2); Krishnamurthy, Can,
        Schwab, PRX 12, 011011 (2022), arXiv:2007.14823; docs/meanfield.md.

    >>> ds = phase_diagram("gru", g_h=[1.5, 1.8, 3.0, 8.0], alpha_r=[0.0, 20.0])
    >>> ds.region.values.tolist()
    [[1, 1], [1, 2], [5, 4], [4, 4]]
    >>> round(float(ds.g_star.sel(alpha_r=20.0)), 4)
    1.6278
    """
    import xarray as xr

    model = check_choice(model, "model", ("gru", "gated_flow"))
    if g_h is None or alpha_r is None:
        raise ValueError("`g_h` and `alpha_r` must be given as 1-D grids; got None")
    gh = _grid(g_h, "g_h", low=0.0, low_open=True, unique=True)
    ar = _grid(alpha_r, "alpha_r", low=0.0, low_open=False, unique=True)
    alpha_z = check_real(alpha_z, "alpha_z", low=0.0)
    theta = check_real(theta, "theta", low=0.0, high=1.0, high_open=True)
    ng, na = gh.size, ar.size
    delta = np.full((ng, na, _MAX_BRANCHES), np.nan)
    rho = np.full((ng, na, _MAX_BRANCHES), np.nan)
    c_phi = np.full((ng, na, _MAX_BRANCHES), np.nan)
    status = np.full((ng, na), Status.SUCCESS.value, dtype=object)
    message = np.full((ng, na), "", dtype=object)
    g_star = np.full(na, np.nan)
    g_ms = np.full(na, np.nan)
    line_status = np.full(na, Status.SUCCESS.value, dtype=object)
    line_message = np.full(na, "", dtype=object)
    total = na
    done = 0
    for j, a in enumerate(ar):
        try:
            sol = solve_plane(gh, float(a), max_branches=_MAX_BRANCHES)
            delta[:, j] = sol["delta"]
            rho[:, j] = sol["rho"]
            ok = np.isfinite(sol["delta"])
            if ok.any():
                c_phi[:, j][ok] = fixed_point_moments(sol["delta"][ok], float(a))["c_phi"]
                # residual check: a root must satisfy g_h^2 = G(delta)
                res = np.abs(
                    gain_function(sol["delta"][ok], float(a))
                    - np.broadcast_to(gh[:, None] ** 2, ok.shape)[ok]
                )
                bad_rows = np.zeros(ok.shape, bool)
                bad_rows[ok] = res > 1e-8 * np.broadcast_to(gh[:, None] ** 2, ok.shape)[ok]
                for i in np.flatnonzero(bad_rows.any(axis=1)):
                    msg = f"fixed-point root did not converge (residual {res.max():.2g})"
                    if throw:
                        raise RuntimeError(f"g_h={gh[i]}, alpha_r={a}: {msg}")
                    status[i, j], message[i, j] = Status.NOT_CONVERGED.value, msg
            g_star[j] = sol["g_star"]
            g_ms[j] = marginal_stability_gain(float(a), theta=theta, _br=sol["branches"])
        except (RuntimeError, ValueError, FloatingPointError) as exc:
            if throw:
                raise
            status[:, j], message[:, j] = Status.FAILED.value, str(exc)
            line_status[j], line_message[j] = Status.FAILED.value, str(exc)
        done += 1
        if progress is not None:
            progress(done, total)

    zero_rho = gh**2 / 4.0  # (004-21): the zero FP has rho = g_h^2 sigma(0)^2
    zero_stable = zero_rho < 1.0
    n_fp = np.sum(np.isfinite(delta), axis=-1)
    marg = (rho * (1.0 - theta) < 1.0) & (rho > 1.0)
    any_marg = np.any(marg, axis=-1)
    region = np.where(
        zero_stable[:, None],
        np.where(n_fp > 0, 2, 1),
        np.where(any_marg, 5, 4),
    ).astype(np.int8)
    region[status != Status.SUCCESS.value] = 0
    # Theorem 4.8 edge at the given alpha_z (inf where not marginal)
    with np.errstate(invalid="ignore", over="ignore"):
        from scipy.special import ndtri

        edge = np.where(
            marg,
            np.exp(-alpha_z * np.sqrt(np.where(marg, c_phi, 1.0)) * ndtri(np.clip(1.0 / rho, 1e-300, 1.0))),
            np.inf,
        )
    coords = {"g_h": gh, "alpha_r": ar, "branch": np.arange(_MAX_BRANCHES)}
    ds = xr.Dataset(
        {
            "region": (("g_h", "alpha_r"), region, {"long_name": "phase-diagram region (1-5, 0 = failed)"}),
            "n_fixed_points": (
                ("g_h", "alpha_r"),
                n_fp.astype(np.int16),
                {"long_name": "number of nonzero MFT fixed points"},
            ),
            "delta": (
                ("g_h", "alpha_r", "branch"),
                delta,
                {"long_name": "Var(u^h) at each nonzero FP (NaN: no such branch)"},
            ),
            "c_phi": (("g_h", "alpha_r", "branch"), c_phi, {"long_name": "<phi^2> at each FP (GRU C_h)"}),
            "rho": (("g_h", "alpha_r", "branch"), rho, {"long_name": "spectral shaping parameter (004-19)"}),
            "marginal": (("g_h", "alpha_r", "branch"), marg, {"long_name": "rho (1-theta) < 1 and rho > 1"}),
            "edge_delta": (
                ("g_h", "alpha_r", "branch"),
                edge,
                {"long_name": "Thm 4.8 edge r_spec - 1 at alpha_z"},
            ),
            "zero_fp_rho": (("g_h",), zero_rho, {"long_name": "rho of the zero FP, g_h^2 / 4"}),
            "zero_fp_stable": (("g_h",), zero_stable, {"long_name": "zero FP linearly stable (rho < 1)"}),
            "status": (("g_h", "alpha_r"), status.astype(str), {"long_name": "rnndyn.Status of the point"}),
            "message": (("g_h", "alpha_r"), message.astype(str), {"long_name": "why the status"}),
            "g_zero_fp": (
                ("alpha_r",),
                np.full(na, G_H_ZERO_FP),
                {"long_name": "zero-FP instability g_h = 2"},
            ),
            "g_star": (("alpha_r",), g_star, {"long_name": "FP-bifurcation curve g*(alpha_r)"}),
            "g_ms": (("alpha_r",), g_ms, {"long_name": "upper edge of region 5 (NaN: none above g_h = 2)"}),
            "g_ms_exists": (("alpha_r",), np.isfinite(g_ms), {"long_name": "region 5 exists above g_h = 2"}),
            "line_status": (
                ("alpha_r",),
                line_status.astype(str),
                {"long_name": "rnndyn.Status of g_star and g_ms at this alpha_r"},
            ),
            "line_message": (("alpha_r",), line_message.astype(str), {"long_name": "why the line status"}),
        },
        coords=coords,
        attrs={
            "model": model,
            "alpha_z": alpha_z,
            "theta": theta,
            "alpha_r_star": ALPHA_R_STAR,
            "region_names": str(REGION_NAMES),
            "region_ids": list(REGION_NAMES),
            "region_labels": [REGION_NAMES[k] for k in REGION_NAMES],
            "note": "MFT labels 1,2,4,5; region 3 (chaotic attractor coexisting with the stable zero "
            "FP) needs the time-dependent DMFT onset line, not computed here; it is assigned in "
            "region_sim from the finite-N overlay (rd.phase_diagram(simulate=True)). Zero biases.",
            "theory": "fixed-point MFT of Can, Krishnamurthy, Schwab (2020), arXiv:2002.00025; "
            "Krishnamurthy, Can, Schwab (2022), arXiv:2007.14823",
        },
    )
    ds["g_h"].attrs["long_name"] = "candidate-state gain g_h"
    ds["alpha_r"].attrs["long_name"] = "reset-gate gain alpha_r"
    ds["branch"].attrs["long_name"] = "nonzero fixed-point branch, by increasing delta"
    return ds


def bifurcation_curve(alpha_r: Any) -> np.ndarray:
    """Vectorised g*(alpha_r) (FP-proliferation line).

    >>> bifurcation_curve([1.0, 10.0]).round(3).tolist()
    [2.0, 1.754]
    """
    ar = _grid(alpha_r, "alpha_r", low=0.0, low_open=False)
    return np.array([_critical_g_star(_branches(float(a), 0.0, 1e3))[0] for a in ar])


__all__ = ["REGION_NAMES", "bifurcation_curve", "phase_diagram"]

"""Mean-field phase diagram of gated RNNs in the (g_h, alpha_r) plane (theory/gated.md §6).

Regions (poster [Q-001]; zero biases):

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
*time-dependent* DMFT (§4.7, §6.2 recipe 4a); the notes do not give it ([U], §9.5). The MFT
labels are therefore 1, 2, 4, 5; with ``simulate=True`` the finite-N overlay adds
``region_sim``, where a point of region 1/2 whose simulation sustains chaos (lambda_max > 0 over
the window and over its last 20 %) becomes 3 (§6.3: at alpha_r = 20, N = 500 this happens from
g_h ~ 1.8, far above g* = 1.628; docs/meanfield.md). Region 5 is the alpha_z -> infinity statement of Theorem 4.8; the
variable ``edge_delta`` says how close to marginal the spectrum is at the given alpha_z.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from rnndyn._checks import check_choice, check_positive_int, check_real
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


def _grid(values: Any, name: str, *, low: float, low_open: bool) -> np.ndarray:
    arr = np.atleast_1d(np.asarray(values, dtype=float))
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
        raise ValueError(f"`{name}` must lie in {lo}{low}, inf); got {arr[i]!r} at index {i}")
    return arr


def phase_diagram(
    model: str = "gru",
    *,
    g_h: Any = None,
    alpha_r: Any = None,
    alpha_z: float = 0.0,
    theta: float = 0.5,
    simulate: bool = False,
    n: int = 200,
    n_steps: int = 1000,
    n_transient: int = 500,
    dt: float = 0.1,
    seed: int = 0,
    lyapunov: str = "auto",
    renorm_every: int | None = None,
    fixed_points: bool = False,
    fp_starts: int = 8,
    throw: bool = False,
    progress: Callable[[int, int], None] | None = None,
):
    """Mean-field phase diagram of the GRU or the gated flow over a (g_h, alpha_r) grid.

    For every point: all nonzero MFT fixed points (branch variances ``delta``, ``c_phi``), their
    spectral shaping parameter ``rho`` (004-19), the zero-FP rho ``g_h^2/4``, the region label
    (1–5, see the module docstring; names in ``attrs["region_names"]``) and a per-point
    ``status`` (``"ok"`` or the reason a point failed; failed points get region 0, never a silent
    NaN). Critical lines along ``alpha_r``: the zero-FP line ``g_zero_fp = 2``, the
    FP-bifurcation curve ``g_star`` (g*(alpha_r), §6.2) and the marginal-stability edge
    ``g_ms`` (NaN where region 5 does not exist above g_h = 2; ``g_ms_exists`` says so).

    With ``simulate=True`` each point also gets a finite-N estimate (gated.md §6.2 recipe 4b,
    §6.3): a network of ``n`` units (``rd.GRU``, or ``rd.GatedRateRNN`` discretised with RK4 at
    ``dt``), seeded from ``(seed, point index)``, starts from an iid N(0, 1) state and runs
    ``n_transient`` steps; ``activity_sim`` is the mean h^2 over the last 20% of them. Then
    ``lambda_max_sim`` (+ ``lambda_max_sim_stderr``) is averaged over ``n_steps`` further steps,
    by two-trajectory renormalisation (``rd.max_lyapunov``; default, the cheaper method: ~10x
    fewer seconds per step than QR with k = 1 for both models) or by the QR method
    (``lyapunov="qr"``, ``rd.lyapunov_spectrum(k=1)`` with a further ``n_transient`` steps to align
    the frame). ``lambda_late_sim`` is the local exponent over the last 20% of the window:
    ``chaotic_sim`` needs both positive (a chaotic transient that dies inside the window is not
    chaos). ``region_sim`` is ``region`` with 3 where the zero FP is linearly stable but the
    network sustains chaos. With ``fixed_points=True`` (extra cost: one LM solve per start and an
    eigendecomposition per state; keep ``n`` small) each point also gets
    ``n_fixed_points_sim`` / ``n_stable_fixed_points_sim`` (``rd.find_fixed_points`` from
    ``fp_starts`` random starts), ``fp_activity_sim`` (largest mean h^2 among them; compare
    ``c_phi`` for the GRU, ``delta`` for the flow) and ``slow_fraction_sim`` (``rd.jacobian_spectrum``
    at three states of the transient's tail: fraction of eigenvalues with |lambda - 1| < 0.05
    for the GRU map, |mu| < 0.05 for the flow's vector field, gated.md §5.3).

    Args:
        model: ``"gru"`` or ``"gated_flow"`` (identical fixed-point MFT, gated.md §4.2).
        g_h: 1-D grid of candidate gains (> 0).
        alpha_r: 1-D grid of reset-gate gains (>= 0).
        alpha_z: update-gate gain (enters ``edge_delta`` and the simulations).
        theta: closed fraction of update gates (1/2 at zero bias) in ``rho (1-theta) < 1``.
        simulate: add the finite-N overlay (seconds to minutes per point, see above).
        n, n_steps, n_transient, dt, seed: simulation settings (steps of the map: ``dt`` time
            units each for the gated flow).
        lyapunov: ``"auto"`` (= ``"two_trajectory"``), ``"two_trajectory"`` or ``"qr"``.
        renorm_every: steps between renormalisations (default: one time unit for the flow,
            every step for the GRU).
        fixed_points: add fixed points found and slow-mode fractions to the overlay.
        fp_starts: number of starts for ``rd.find_fixed_points``.
        throw: raise on the first failed point instead of recording its status.
        progress: optional ``callable(done, total)``.

    Returns:
        ``xarray.Dataset`` with dims ``(g_h, alpha_r, branch)``.

    Raises:
        ValueError: bad model name, empty or non-finite grids, out-of-range values.

    References:
        Can, Krishnamurthy, Schwab, MSML 2020 (Fig. 2); Krishnamurthy, Can, Schwab, PRX 12,
        011011 (2022); theory/gated.md §6.

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
    gh = _grid(g_h, "g_h", low=0.0, low_open=True)
    ar = _grid(alpha_r, "alpha_r", low=0.0, low_open=False)
    alpha_z = check_real(alpha_z, "alpha_z", low=0.0)
    theta = check_real(theta, "theta", low=0.0, high=1.0, high_open=True)
    if fixed_points and not simulate:
        raise ValueError("`fixed_points=True` needs `simulate=True` (it is part of the finite-N overlay)")
    if simulate:
        n = check_positive_int(n, "n")
        n_steps = check_positive_int(n_steps, "n_steps")
        n_transient = check_positive_int(n_transient, "n_transient", minimum=0)
        dt = check_real(dt, "dt", low=0.0, low_open=True)
        lyapunov = check_choice(lyapunov, "lyapunov", ("auto", "two_trajectory", "qr"))
        if renorm_every is not None:
            renorm_every = check_positive_int(renorm_every, "renorm_every")
        fp_starts = check_positive_int(fp_starts, "fp_starts")
    ng, na = gh.size, ar.size
    delta = np.full((ng, na, _MAX_BRANCHES), np.nan)
    rho = np.full((ng, na, _MAX_BRANCHES), np.nan)
    c_phi = np.full((ng, na, _MAX_BRANCHES), np.nan)
    status = np.full((ng, na), "ok", dtype=object)
    g_star = np.full(na, np.nan)
    g_ms = np.full(na, np.nan)
    line_status = np.full(na, "ok", dtype=object)
    total = na + (ng * na if simulate else 0)
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
                    msg = f"failed: fixed-point root did not converge (residual {res.max():.2g})"
                    if throw:
                        raise RuntimeError(f"g_h={gh[i]}, alpha_r={a}: {msg}")
                    status[i, j] = msg
            g_star[j] = sol["g_star"]
            g_ms[j] = marginal_stability_gain(float(a), theta=theta, _br=sol["branches"])
        except (RuntimeError, ValueError, FloatingPointError) as exc:
            if throw:
                raise
            status[:, j] = f"failed: {exc}"
            line_status[j] = f"failed: {exc}"
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
    region[status != "ok"] = 0
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
            "zero_fp_rho": (("g_h",), zero_rho),
            "zero_fp_stable": (("g_h",), zero_stable),
            "status": (("g_h", "alpha_r"), status.astype(str)),
            "g_zero_fp": (
                ("alpha_r",),
                np.full(na, G_H_ZERO_FP),
                {"long_name": "zero-FP instability g_h = 2"},
            ),
            "g_star": (("alpha_r",), g_star, {"long_name": "FP-bifurcation curve g*(alpha_r)"}),
            "g_ms": (("alpha_r",), g_ms, {"long_name": "upper edge of region 5 (NaN: none above g_h = 2)"}),
            "g_ms_exists": (("alpha_r",), np.isfinite(g_ms)),
            "line_status": (("alpha_r",), line_status.astype(str)),
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
            "FP) needs the time-dependent DMFT onset line, not given in theory/gated.md (§9.5); it is "
            "assigned in region_sim from the finite-N overlay. Zero biases.",
            "theory": "theory/gated.md §4.2, §5.5-5.6, §6.2",
        },
    )
    if simulate:
        ds = _simulate_overlay(ds, model, n=n, n_steps=n_steps, n_transient=n_transient, dt=dt, seed=seed,
                               alpha_z=alpha_z, lyapunov=lyapunov, renorm_every=renorm_every,
                               fixed_points=bool(fixed_points), fp_starts=fp_starts, throw=throw,
                               progress=progress, done=done, total=total)  # fmt: skip
    return ds


#: share of the averaged window used for the "late" exponent (is the chaos still there at the end?)
_LATE = 0.2
#: time blocks for the standard error of the windowed exponent
_BLOCKS = 10


def _window_rates(res, start: int) -> tuple[float, float, float]:  # noqa: ANN001 - a LyapunovResult
    """lambda_max over the steps after ``start`` (the separation has aligned with the top
    Lyapunov vector by then), its standard error over ``_BLOCKS`` time blocks, and the local rate
    over the last ``_LATE`` of the window, all from the running means of ``res``.

    A long chaotic transient that dies inside the window has a positive average but a negative
    late rate (the separation then shrinks at the zero-FP rate; gated.md §6.3 "long transients").
    """
    steps = res.running_steps.to(res.running.dtype)
    cum = _prepend_origin(steps, res.running[:, :, 0].mean(0) * steps)  # cumulative rate x steps
    steps = _prepend_origin(steps, None)
    s = steps.numpy()
    i0 = min(int(np.searchsorted(s, start)), s.size - 2)
    total = float((cum[-1] - cum[i0]) / (steps[-1] - steps[i0]))
    edges = np.unique(np.searchsorted(s, np.linspace(s[i0], s[-1], _BLOCKS + 1)))
    if edges.size >= 3:
        rates = np.diff(cum.numpy()[edges]) / np.diff(s[edges])
        stderr = float(rates.std(ddof=1) / np.sqrt(rates.size))
    else:
        stderr = float("nan")
    i1 = min(int(np.searchsorted(s, s[-1] - _LATE * (s[-1] - s[i0]))), s.size - 2)
    late = float((cum[-1] - cum[i1]) / (steps[-1] - steps[i1]))
    return total, stderr, late


def _prepend_origin(steps, values):  # noqa: ANN001, ANN201
    """Prepend the origin (step 0, cumulative 0) to a running record."""
    import torch

    v = steps if values is None else values
    return torch.cat([v.new_zeros(1), v])


def _simulate_overlay(
    ds, model, *, n, n_steps, n_transient, dt, seed, alpha_z, lyapunov, renorm_every, fixed_points,
    fp_starts, throw, progress, done, total,
):  # fmt: skip
    """Finite-N lambda_max, activity and (optionally) fixed points / slow modes at every grid point
    (lazy imports: model code lives above the mean-field layer)."""
    import torch

    import rnndyn as rd

    gh = ds.g_h.values
    ar = ds.alpha_r.values
    shape = (gh.size, ar.size)
    lam = np.full(shape, np.nan)
    lam_se = np.full(shape, np.nan)
    late = np.full(shape, np.nan)
    act = np.full(shape, np.nan)
    n_fp = np.full(shape, -1, dtype=np.int16)
    n_fp_stable = np.full(shape, -1, dtype=np.int16)
    fp_act = np.full(shape, np.nan)
    slow = np.full(shape, np.nan)
    sim_status = np.full(shape, "ok", dtype=object)
    method = lyapunov
    if method == "auto":
        # measured (2-core CPU, float64, one trajectory): gated flow N = 500 (state 1500, RK4)
        # two trajectories 8e-3 s/step vs QR k = 1 7e-2 s/step (tangent="auto" -> "jvp": the
        # torch.func overhead of ~100 small ops per RK4 step dominates; "dense" forms four
        # 1500 x 1500 Jacobians per step); GRU N = 400: 1.3e-3 vs 1.5e-2 s/step (dense J per step)
        method = "two_trajectory"
    renorm = renorm_every
    if renorm is None:
        # §6.2 recipe 4b: renormalise every time unit for the flow; every step for the GRU map
        renorm = max(1, round(1.0 / dt)) if model == "gated_flow" else 1
    for i, g in enumerate(gh):
        for j, a in enumerate(ar):
            idx = i * ar.size + j
            gen = torch.Generator().manual_seed(int(seed) * 1_000_003 + idx)
            try:
                if model == "gru":
                    system = rd.GRU(
                        n, g_h=float(g), alpha_z=alpha_z, alpha_r=float(a), generator=gen, dtype=torch.float64
                    )
                else:
                    flow = rd.GatedRateRNN(
                        n, g_h=float(g), alpha_z=alpha_z, alpha_r=float(a), generator=gen, dtype=torch.float64
                    )
                    system = rd.discretise(flow, dt=dt, method="rk4")
                # §6.3: initial state iid N(0, 1) in every coordinate ((h, z, r) for the flow)
                h0 = torch.randn(system.state_size, generator=gen, dtype=torch.float64)
                traj = rd.simulate(system, h0, n_steps=max(n_transient, 1))
                tail = traj[-max(1, traj.shape[0] // 5) :, :n]
                act[i, j] = float((tail**2).mean())
                if method == "two_trajectory":
                    # the separation starts in a random direction: the first n_align steps (10% of
                    # the window, at most the transient) align it and are left out of the mean
                    n_align = min(n_transient, n_steps // 10)
                    res = rd.max_lyapunov(system, n_steps=n_align + n_steps, h0=traj[-1], renorm_every=renorm,
                                          generator=gen, throw=False)  # fmt: skip
                else:
                    n_align = 0
                    res = rd.lyapunov_spectrum(
                        system, k=1, n_steps=n_steps, n_transient=n_transient, h0=traj[-1], generator=gen,
                        throw=False,
                    )  # fmt: skip
                if res.status == "success":
                    lam[i, j], lam_se[i, j], late[i, j] = _window_rates(res, n_align)
                else:
                    sim_status[i, j] = f"{res.status}: {res.message}"
                if fixed_points:
                    fpr = rd.find_fixed_points(
                        system, n_initial=fp_starts, n_transient=0, generator=gen, throw=False
                    )
                    n_fp[i, j] = fpr.n_points
                    n_fp_stable[i, j] = fpr.n_stable
                    if fpr.n_points:
                        fp_act[i, j] = float((fpr.points[:, :n] ** 2).mean(-1).max())
                    # slow modes along the attractor (end of the transient): |lambda - 1| < 0.05 for
                    # the GRU map, |mu| < 0.05 for the flow's vector field (gated.md §5.3)
                    states = traj[[-1, -1 - traj.shape[0] // 6, -1 - traj.shape[0] // 3]]
                    spec = rd.jacobian_spectrum(system, states=states, continuous=model == "gated_flow")
                    slow[i, j] = spec.mean_slow_fraction
            except (RuntimeError, ValueError) as exc:
                if throw:
                    raise
                sim_status[i, j] = f"failed: {exc}"
            done += 1
            if progress is not None:
                progress(done, total)
    region = ds.region.values.copy()
    # sustained chaos: positive exponent over the window AND still positive at its end
    chaotic = np.isfinite(lam) & (lam > 0) & ~(np.isfinite(late) & (late <= 0))
    zero_stable = ds.zero_fp_stable.values[:, None]
    region_sim = np.where(zero_stable & chaotic & (region > 0), 3, region).astype(np.int8)
    units = "1/time" if model == "gated_flow" else "1/step"
    how = "two-trajectory renormalisation" if method == "two_trajectory" else "QR, k=1"
    ds["lambda_max_sim"] = (
        ("g_h", "alpha_r"),
        lam,
        {"long_name": f"finite-N lambda_max ({how})", "units": units},
    )
    ds["lambda_max_sim_stderr"] = (("g_h", "alpha_r"), lam_se, {"long_name": "its standard error (time blocks)",
                                                                 "units": units})  # fmt: skip
    ds["lambda_late_sim"] = (
        ("g_h", "alpha_r"),
        late,
        {"long_name": f"local lambda_max over the last {_LATE:.0%} of the window", "units": units},
    )
    ds["activity_sim"] = (
        ("g_h", "alpha_r"),
        act,
        {"long_name": "finite-N <h^2> over the last 20% of the transient"},
    )
    ds["chaotic_sim"] = (
        ("g_h", "alpha_r"),
        chaotic,
        {"long_name": "lambda_max_sim > 0 and lambda_late_sim > 0"},
    )
    ds["sim_status"] = (("g_h", "alpha_r"), sim_status.astype(str))
    ds["region_sim"] = (
        ("g_h", "alpha_r"),
        region_sim,
        {"long_name": "region with the simulated chaos overlay"},
    )
    if fixed_points:
        ds["n_fixed_points_sim"] = (
            ("g_h", "alpha_r"),
            n_fp,
            {"long_name": "distinct fixed points found (incl. 0)"},
        )
        ds["n_stable_fixed_points_sim"] = (("g_h", "alpha_r"), n_fp_stable, {"long_name": "of which stable"})
        ds["fp_activity_sim"] = (
            ("g_h", "alpha_r"),
            fp_act,
            {"long_name": "largest <h^2> among the fixed points"},
        )
        ds["slow_fraction_sim"] = (("g_h", "alpha_r"), slow, {"long_name": "fraction of slow Jacobian modes "
                                                               "(eps = 0.05) along the attractor"})  # fmt: skip
    ds.attrs.update(
        {"sim_n": n, "sim_n_steps": n_steps, "sim_n_transient": n_transient, "sim_dt": dt, "sim_seed": seed,
         "sim_lyapunov": method, "sim_renorm_every": renorm if method == "two_trajectory" else 0,
         "sim_fixed_points": int(bool(fixed_points)), "sim_fp_starts": fp_starts if fixed_points else 0}
    )  # fmt: skip
    return ds


def bifurcation_curve(alpha_r: Any) -> np.ndarray:
    """Vectorised g*(alpha_r) (FP-proliferation line, §6.2).

    >>> bifurcation_curve([1.0, 10.0]).round(3).tolist()
    [2.0, 1.754]
    """
    ar = _grid(alpha_r, "alpha_r", low=0.0, low_open=False)
    return np.array([_critical_g_star(_branches(float(a), 0.0, 1e3))[0] for a in ar])


__all__ = ["REGION_NAMES", "bifurcation_curve", "phase_diagram"]

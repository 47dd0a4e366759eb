r"""The (g_h, alpha_r) phase diagram of gated RNNs: a theory over the grid + a simulated overlay.

``rd.phase_diagram`` combines

* a **theory** evaluated on the grid, chosen by name from :data:`THEORIES` (``"mft"``: the
  fixed-point mean-field theory of :func:`rnndyn.meanfield.phase.phase_diagram`, regions 1, 2,
  4, 5 and the critical lines). A new theory is one entry: a function
  ``(model, g_h, alpha_r, *, alpha_z, theta, throw, progress) -> xarray.Dataset`` with at least
  ``region`` and ``status`` over ``(g_h, alpha_r)``; :func:`grid_theory` builds one from a
  per-point function ``(model, g_h, alpha_r, alpha_z, theta) -> {name: value}``;
* with ``simulate=True``, a **finite-N overlay** computed through :func:`rnndyn.sweep`, with the
  point function :func:`overlay_point` built from the public API (``rd.GRU`` /
  ``rd.GatedRateRNN``, ``rd.simulate``, ``rd.max_lyapunov`` / ``rd.lyapunov_spectrum``,
  ``rd.find_fixed_points``, ``rd.jacobian_spectrum``). The overlay therefore seeds, resumes
  (``store=...``) and handles faults exactly like any sweep (docs/sweeps.md): point ``(i, j)``
  has seed ``point_seed(seed, i * len(alpha_r) + j)``.

This module sits above the mean-field layer (which imports no model code).

References:
    Can, Krishnamurthy, Schwab, "Gating creates slow modes and controls phase-space complexity in
    GRUs and LSTMs", MSML 2020, arXiv:2002.00025 (Fig. 2); Krishnamurthy, Can, Schwab, "Theory of
    gating in recurrent neural networks", PRX 12, 011011 (2022), arXiv:2007.14823; docs/meanfield.md.
"""

from __future__ import annotations

import functools
import numbers
import tempfile
import warnings
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import numpy as np

from rnndyn._checks import check_choice, check_positive_int, check_real
from rnndyn._results import Status
from rnndyn.meanfield.dmft import dmft_region_point
from rnndyn.meanfield.phase import REGION_NAMES, _grid
from rnndyn.meanfield.phase import phase_diagram as _mft_phase_diagram

#: share of the averaged window used for the "late" exponent (is the chaos still there at the end?)
_LATE = 0.2
#: time blocks for the standard error of the windowed exponent
_BLOCKS = 10

TheoryFn = Callable[..., Any]


def _mft(model, g_h, alpha_r, *, alpha_z, theta, throw, progress):  # noqa: ANN001, ANN202
    return _mft_phase_diagram(
        model, g_h=g_h, alpha_r=alpha_r, alpha_z=alpha_z, theta=theta, throw=throw, progress=progress
    )


#: theory name -> grid function ``(model, g_h, alpha_r, *, alpha_z, theta, throw, progress) -> Dataset``
THEORIES: dict[str, TheoryFn] = {"mft": _mft}


def grid_theory(point_fn: Callable[..., Mapping[str, Any]]) -> TheoryFn:
    """A grid theory for :data:`THEORIES` from a per-point function.

    ``point_fn(model, g_h, alpha_r, alpha_z, theta)`` returns ``{name: scalar}`` including an
    integer ``region`` (1-5); an exception at a point gives that point ``region = 0``,
    ``status = "failed"`` and the exception as ``message`` (or is raised with ``throw=True``).

    >>> def toy(model, g_h, alpha_r, alpha_z, theta):
    ...     return {"region": 1 if g_h < 2 else 4, "gain": g_h**2}
    >>> ds = grid_theory(toy)("gru", np.array([1.0, 3.0]), np.array([0.0]), alpha_z=0.0, theta=0.5,
    ...                       throw=False, progress=None)
    >>> ds.region.values.tolist(), ds.gain.values.tolist()
    ([[1], [4]], [[1.0], [9.0]])
    """

    def theory(model, g_h, alpha_r, *, alpha_z, theta, throw, progress):  # noqa: ANN001, ANN202
        import xarray as xr

        shape = (g_h.size, alpha_r.size)
        values: dict[str, np.ndarray] = {}
        status = np.full(shape, Status.SUCCESS.value, dtype=object)
        message = np.full(shape, "", dtype=object)
        for i, g in enumerate(g_h):
            for j, a in enumerate(alpha_r):
                try:
                    out = point_fn(model, float(g), float(a), alpha_z, theta)
                    for name, v in out.items():
                        values.setdefault(name, np.full(shape, np.nan))[i, j] = float(v)
                except (RuntimeError, ValueError, FloatingPointError, ArithmeticError) as exc:
                    if throw:
                        raise
                    status[i, j], message[i, j] = Status.FAILED.value, str(exc)
                if progress is not None:
                    progress(i * alpha_r.size + j + 1, g_h.size * alpha_r.size)
        region = np.nan_to_num(values.pop("region", np.zeros(shape)), nan=0.0).astype(np.int8)
        region[status != Status.SUCCESS.value] = 0
        data = {
            "region": (("g_h", "alpha_r"), region),
            "status": (("g_h", "alpha_r"), status.astype(str)),
            "message": (("g_h", "alpha_r"), message.astype(str)),
        }
        data.update({k: (("g_h", "alpha_r"), v) for k, v in values.items()})
        return xr.Dataset(
            data, coords={"g_h": g_h, "alpha_r": alpha_r}, attrs={"region_names": str(REGION_NAMES)}
        )

    return theory


#: the time-dependent DMFT of the gated flow (rnndyn.meanfield.dmft): regions 1-5 incl. region 3,
#: lambda_max, C_h(0) and the relaxation time per point (docs/meanfield.md)
THEORIES["dmft"] = grid_theory(dmft_region_point)


def phase_diagram(
    model: str = "gru",
    *,
    g_h: Any = None,
    alpha_r: Any = None,
    alpha_z: float = 0.0,
    theta: float = 0.5,
    theory: str = "mft",
    simulate: bool = False,
    n: int = 200,
    n_steps: int = 1000,
    n_transient: int = 500,
    dt: float = 0.1,
    seed: int = 0,
    lyapunov: str = "auto",
    renorm_every: int | None = None,
    fixed_points: bool = False,
    fixed_point_starts: int = 8,
    store: str | Path | None = None,
    scheduler: str | None = "sync",
    n_workers: int | None = None,
    fresh: bool = False,
    throw: bool = False,
    progress: Callable[[int, int], None] | None = None,
    fp_starts: int | None = None,
):
    r"""Phase diagram of the GRU or the gated flow over a (g_h, alpha_r) grid: theory + finite-N overlay.

    The theory part (``theory="mft"``) is :func:`rnndyn.meanfield.phase.phase_diagram`: per point
    the nonzero fixed points of the mean-field equation :math:`g_h^2 = G(\Delta)`, their spectral
    shaping parameter :math:`\rho`, the region label (1 stable FP, 2 stable & unstable FPs,
    4 chaos, 5 marginal stability; names in ``attrs["region_names"]``) and the critical lines
    ``g_star`` (g*(alpha_r)), ``g_zero_fp`` (= 2) and ``g_ms``.

    With ``simulate=True`` every point also gets a finite-N estimate, computed by
    :func:`rnndyn.sweep` with :func:`overlay_point` (see there): ``lambda_max_sim`` (+ stderr),
    ``lambda_late_sim`` (the local exponent over the last 20 % of the window), ``activity_sim``,
    ``chaotic_sim`` (both exponents positive: sustained chaos), ``sim_status`` / ``sim_message``
    (the :class:`rnndyn.Status` of each point) and ``region_sim``: ``region`` with 3 (stable FP &
    chaotic dynamics) where the zero FP is linearly stable (g_h < 2) but the network sustains
    chaos. With ``fixed_points=True`` also ``n_fixed_points_sim``, ``n_stable_fixed_points_sim``,
    ``fp_activity_sim`` and ``slow_fraction_sim``.

    Args:
        model: ``"gru"`` or ``"gated_flow"``.
        g_h: 1-D grid of candidate gains (> 0).
        alpha_r: 1-D grid of reset-gate gains (>= 0).
        alpha_z: update-gate gain (enters ``edge_delta`` and the simulations).
        theta: closed fraction of update gates (1/2 at zero bias) in ``rho (1-theta) < 1``.
        theory: a key of :data:`THEORIES` (``"mft"``).
        simulate: add the finite-N overlay.
        n, n_steps, n_transient, dt, seed, lyapunov, renorm_every, fixed_points, fixed_point_starts:
            the overlay's settings (see :func:`overlay_point`, whose ``fp_starts`` is
            ``fixed_point_starts``; the dataset records it as ``attrs["sim_fp_starts"]``); ``seed`` is
            the sweep's base seed. ``fixed_point_starts`` is the name :func:`rnndyn.analyze` uses.
        store: Zarr store of the overlay sweep: a killed run resumes from it, a store made with
            other settings is refused (see :func:`rnndyn.sweep`). ``None``: a temporary store.
        scheduler, n_workers: as in :func:`rnndyn.sweep` (default ``"sync"``: in this process).
        fresh: discard an existing overlay ``store`` and start a new one.
        throw: raise on the first failed theory point, or after the overlay if a point failed.
        progress: optional ``callable(done, total)``.
        fp_starts: deprecated name of ``fixed_point_starts`` (``DeprecationWarning``).

    Returns:
        ``xarray.Dataset`` with dims ``(g_h, alpha_r, branch)``.

    Raises:
        ValueError: bad model or theory name, empty, non-finite or repeated grids, out-of-range
        values, ``seed < 0``; TypeError: a non-numeric grid, a non-bool flag, a non-integer seed;
        :class:`rnndyn.sweeps.SweepSpecError` when ``store`` holds another overlay.
        RuntimeError: ``throw=True`` and a point failed.

    References:
        Can, Krishnamurthy, Schwab, MSML 2020, arXiv:2002.00025 (Fig. 2); Krishnamurthy, Can,
        Schwab, PRX 12, 011011 (2022), arXiv:2007.14823; docs/meanfield.md, docs/sweeps.md.

    >>> ds = phase_diagram("gru", g_h=[1.5, 1.8, 3.0, 8.0], alpha_r=[0.0, 20.0])
    >>> ds.region.values.tolist()
    [[1, 1], [1, 2], [5, 4], [4, 4]]
    """
    model = check_choice(model, "model", ("gru", "gated_flow"))
    starts_name = "fixed_point_starts"
    if fp_starts is not None:  # the old name (rd.analyze says fixed_point_starts)
        warnings.warn(
            "`fp_starts` is deprecated; use `fixed_point_starts` (the name rd.analyze uses)",
            DeprecationWarning,
            stacklevel=2,
        )
        if fixed_point_starts != 8 and fixed_point_starts != fp_starts:
            raise ValueError(
                "give the fixed-point starts once, as `fixed_point_starts`; got fixed_point_starts="
                f"{fixed_point_starts!r} and the deprecated fp_starts={fp_starts!r}"
            )
        fixed_point_starts, starts_name = fp_starts, "fp_starts"
    theory = check_choice(theory, "theory", tuple(THEORIES))
    if g_h is None or alpha_r is None:
        raise ValueError("`g_h` and `alpha_r` must be given as 1-D grids; got None")
    gh = _grid(g_h, "g_h", low=0.0, low_open=True, unique=True)
    ar = _grid(alpha_r, "alpha_r", low=0.0, low_open=False, unique=True)
    alpha_z = check_real(alpha_z, "alpha_z", low=0.0)
    theta = check_real(theta, "theta", low=0.0, high=1.0, high_open=True)
    for flag, v in (
        ("simulate", simulate),
        ("fixed_points", fixed_points),
        ("fresh", fresh),
        ("throw", throw),
    ):
        if not isinstance(v, bool | np.bool_):
            raise TypeError(f"`{flag}` must be True or False; got {type(v).__name__} {v!r}")
    if isinstance(seed, bool | np.bool_) or not isinstance(seed, numbers.Integral):
        raise TypeError(
            f"`seed` must be an int >= 0 (the overlay sweep's base seed); got {type(seed).__name__} {seed!r}"
        )
    if seed < 0:
        raise ValueError(f"`seed` must be an int >= 0 (the overlay sweep's base seed); got {seed}")
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
        fixed_point_starts = check_positive_int(fixed_point_starts, starts_name)
    total = ar.size + (gh.size * ar.size if simulate else 0)
    n_theory = ar.size

    def theory_progress(done: int, _total: int) -> None:
        if progress is not None:
            progress(round(done * n_theory / max(_total, 1)), total)

    ds = THEORIES[theory](model, gh, ar, alpha_z=alpha_z, theta=theta, throw=throw, progress=theory_progress)
    ds.attrs["theory_name"] = theory
    if not simulate:
        return ds
    method = "two_trajectory" if lyapunov == "auto" else lyapunov
    # measured (2-core CPU, float64, one trajectory): gated flow N = 500 (state 1500, RK4) two
    # trajectories 8e-3 s/step vs QR k = 1 7e-2 s/step; GRU N = 400: 1.3e-3 vs 1.5e-2 s/step
    renorm = renorm_every
    if renorm is None:  # renormalise every time unit for the flow, every step for the GRU map
        renorm = max(1, round(1.0 / dt)) if model == "gated_flow" else 1
    fn = functools.partial(
        overlay_point, model=model, n=n, n_steps=n_steps, n_transient=n_transient, dt=dt, alpha_z=alpha_z,
        method=method, renorm_every=renorm, fixed_points=bool(fixed_points), fp_starts=fixed_point_starts,
    )  # fmt: skip

    def overlay_progress(done: int, _total: int) -> None:
        if progress is not None:
            progress(n_theory + done, total)

    sim = _run_overlay(fn, gh, ar, seed=seed, store=store, scheduler=scheduler, n_workers=n_workers,
                       fresh=fresh, progress=overlay_progress)  # fmt: skip
    return _attach_overlay(ds, sim, model=model, method=method, renorm=renorm, fixed_points=bool(fixed_points),
                           fp_starts=fixed_point_starts, n=n, n_steps=n_steps, n_transient=n_transient, dt=dt,
                           seed=seed,
                           throw=throw)  # fmt: skip


def _run_overlay(fn, gh, ar, *, seed, store, scheduler, n_workers, fresh, progress):  # noqa: ANN001, ANN202
    from rnndyn.sweeps import sweep

    kw = {"n_seeds": 1, "base_seed": seed, "scheduler": scheduler, "n_workers": n_workers, "progress": progress,
          "fresh": fresh, "attrs": {"overlay": "rnndyn.phase_diagram"}}  # fmt: skip
    grid = {"g_h": gh, "alpha_r": ar}
    if store is not None:
        return sweep(fn, grid, store=store, **kw).isel(seed=0, drop=True)
    with tempfile.TemporaryDirectory(prefix="rnndyn-overlay-") as tmp:
        return sweep(fn, grid, store=Path(tmp) / "overlay.zarr", **kw).isel(seed=0, drop=True)


def _attach_overlay(ds, sim, *, model, method, renorm, fixed_points, fp_starts, n, n_steps, n_transient, dt,
                    seed, throw):  # fmt: skip  # noqa: ANN001, ANN202
    dims = ("g_h", "alpha_r")
    status = sim["status"].values.astype(str)
    message = sim["message"].values.astype(str)
    if throw and (status != Status.SUCCESS.value).any():
        i, j = np.argwhere(status != Status.SUCCESS.value)[0]
        raise RuntimeError(
            f"overlay point g_h={ds.g_h.values[i]}, alpha_r={ds.alpha_r.values[j]}: {status[i, j]}: {message[i, j]}"
        )
    lam = sim["lambda_max_sim"].values
    late = sim["lambda_late_sim"].values
    chaotic = np.isfinite(lam) & (lam > 0) & ~(np.isfinite(late) & (late <= 0))
    region = ds.region.values
    zero_stable = (ds.g_h.values**2 / 4.0 < 1.0)[:, None]  # the zero FP's rho = g_h^2/4 (gated MFT)
    region_sim = np.where(zero_stable & chaotic & (region > 0), 3, region).astype(np.int8)
    units = "1/time" if model == "gated_flow" else "1/step"
    how = "two-trajectory renormalisation" if method == "two_trajectory" else "QR, k=1"
    ds = ds.copy()
    ds["lambda_max_sim"] = (dims, lam, {"long_name": f"finite-N lambda_max ({how})", "units": units})
    ds["lambda_max_sim_stderr"] = (dims, sim["lambda_max_sim_stderr"].values,
                                   {"long_name": "its standard error (time blocks)", "units": units})  # fmt: skip
    ds["lambda_late_sim"] = (dims, late, {"long_name": f"local lambda_max over the last {_LATE:.0%} of the window",
                                          "units": units})  # fmt: skip
    ds["activity_sim"] = (dims, sim["activity_sim"].values,
                          {"long_name": "finite-N <h^2> over the last 20% of the transient"})  # fmt: skip
    ds["chaotic_sim"] = (dims, chaotic, {"long_name": "lambda_max_sim > 0 and lambda_late_sim > 0"})
    ds["sim_status"] = (dims, status, {"long_name": "status of the overlay point (rnndyn.Status)"})
    ds["sim_message"] = (dims, message, {"long_name": "why the overlay status"})
    ds["sim_point_seed"] = (dims, sim["point_seed"].values, {"long_name": "seed of the overlay point"})
    ds["region_sim"] = (dims, region_sim, {"long_name": "region with the simulated chaos overlay"})
    if fixed_points:
        as_int = functools.partial(np.nan_to_num, nan=-1)
        ds["n_fixed_points_sim"] = (dims, as_int(sim["n_fixed_points_sim"].values).astype(np.int16),
                                    {"long_name": "distinct fixed points found (incl. 0)"})  # fmt: skip
        ds["n_stable_fixed_points_sim"] = (dims, as_int(sim["n_stable_fixed_points_sim"].values).astype(np.int16),
                                           {"long_name": "of which stable"})  # fmt: skip
        ds["fp_activity_sim"] = (dims, sim["fp_activity_sim"].values,
                                 {"long_name": "largest <h^2> among the fixed points"})  # fmt: skip
        ds["slow_fraction_sim"] = (dims, sim["slow_fraction_sim"].values,
                                   {"long_name": "fraction of slow Jacobian modes (eps = 0.05) along the attractor"})  # fmt: skip
    ds.attrs.update(
        {"sim_n": n, "sim_n_steps": n_steps, "sim_n_transient": n_transient, "sim_dt": dt, "sim_seed": seed,
         "sim_lyapunov": method, "sim_renorm_every": renorm if method == "two_trajectory" else 0,
         "sim_fixed_points": int(fixed_points), "sim_fp_starts": fp_starts if fixed_points else 0,
         "sim_seed_rule": "rnndyn.sweeps.point_seed(sim_seed, i_g_h * len(alpha_r) + j_alpha_r)"}
    )  # fmt: skip
    return ds


def overlay_point(
    params: dict[str, Any],
    seed: int,
    *,
    model: str,
    n: int,
    n_steps: int,
    n_transient: int,
    dt: float,
    alpha_z: float,
    method: str,
    renorm_every: int,
    fixed_points: bool,
    fp_starts: int,
) -> dict[str, Any]:
    r"""One point of the finite-N overlay (a :func:`rnndyn.sweep` point function).

    A network of ``n`` units (``rd.GRU``, or ``rd.GatedRateRNN`` discretised with RK4 at ``dt``)
    with gains ``params["g_h"]``, ``params["alpha_r"]`` and ``alpha_z``, built with
    ``torch.Generator().manual_seed(seed)``, starts from an iid N(0, 1) state and runs
    ``n_transient`` steps; ``activity_sim`` is the mean h^2 over the last 20 % of them. Then
    ``lambda_max_sim`` (+ ``lambda_max_sim_stderr`` over 10 time blocks) is averaged over
    ``n_steps`` further steps, by two-trajectory renormalisation every ``renorm_every`` steps
    (``rd.max_lyapunov``; the first 10 % of the window, at most ``n_transient`` steps, align the
    separation and are left out) or by QR (``method="qr"``, ``rd.lyapunov_spectrum(k=1)``).
    ``lambda_late_sim`` is the local exponent over the last 20 % of the window (a chaotic
    transient that dies inside the window has a positive average but a negative late rate). With
    ``fixed_points``: ``rd.find_fixed_points`` from ``fp_starts`` random starts and the slow-mode
    fraction of ``rd.jacobian_spectrum`` at three states of the transient's tail (|lambda - 1| <
    0.05 for the GRU map, |mu| < 0.05 for the flow's vector field).

    Returns:
        ``{name: float}`` plus ``status`` and ``message`` of the Lyapunov estimate (its numbers
        are NaN when it ``diverged`` or ``failed``).

    References:
        Krishnamurthy, Can, Schwab, PRX 12, 011011 (2022), arXiv:2007.14823 (finite-N checks of
        the phase diagram); Benettin et al., Meccanica 15 (1980) (two-trajectory method).
    """
    import torch

    from rnndyn.discretise import discretise
    from rnndyn.fixed_points import find_fixed_points
    from rnndyn.lyapunov import lyapunov_spectrum, max_lyapunov
    from rnndyn.models.gated import GatedRateRNN
    from rnndyn.models.gru import GRU
    from rnndyn.simulate import simulate
    from rnndyn.spectra import jacobian_spectrum

    gen = torch.Generator().manual_seed(int(seed))
    g, a = float(params["g_h"]), float(params["alpha_r"])
    if model == "gru":
        system = GRU(n, g_h=g, alpha_z=alpha_z, alpha_r=a, generator=gen, dtype=torch.float64)
    else:
        flow = GatedRateRNN(n, g_h=g, alpha_z=alpha_z, alpha_r=a, generator=gen, dtype=torch.float64)
        system = discretise(flow, dt=dt, method="rk4")
    # initial state iid N(0, 1) in every coordinate ((h, z, r) for the flow)
    h0 = torch.randn(system.state_size, generator=gen, dtype=torch.float64)
    traj = simulate(system, h0, n_steps=max(n_transient, 1))
    tail = traj[-max(1, traj.shape[0] // 5) :, :n]
    out: dict[str, Any] = {
        "activity_sim": float((tail**2).mean()),
        "lambda_max_sim": np.nan,
        "lambda_max_sim_stderr": np.nan,
        "lambda_late_sim": np.nan,
        "status": Status.SUCCESS.value,
        "message": "",
    }
    if method == "two_trajectory":
        n_align = min(n_transient, n_steps // 10)
        res = max_lyapunov(system, n_steps=n_align + n_steps, h0=traj[-1], renorm_every=renorm_every,
                           generator=gen, throw=False)  # fmt: skip
    else:
        n_align = 0
        res = lyapunov_spectrum(system, k=1, n_steps=n_steps, n_transient=n_transient, h0=traj[-1], generator=gen,
                                throw=False)  # fmt: skip
    status = Status.coerce(str(getattr(res.status, "value", res.status)))
    out["status"], out["message"] = status.value, str(res.message)
    if status not in (Status.DIVERGED, Status.FAILED):  # numbers exist (their status says how good)
        out["lambda_max_sim"], out["lambda_max_sim_stderr"], out["lambda_late_sim"] = _window_rates(
            res, n_align
        )
    if fixed_points:
        fpr = find_fixed_points(system, n_initial=fp_starts, n_transient=0, generator=gen, throw=False)
        out["n_fixed_points_sim"] = fpr.n_points
        out["n_stable_fixed_points_sim"] = fpr.n_stable
        out["fp_activity_sim"] = float((fpr.points[:, :n] ** 2).mean(-1).max()) if fpr.n_points else np.nan
        states = traj[[-1, -1 - traj.shape[0] // 6, -1 - traj.shape[0] // 3]]
        spec = jacobian_spectrum(system, states=states, continuous=model == "gated_flow")
        out["slow_fraction_sim"] = spec.mean_slow_fraction
    return out


def _window_rates(res, start: int) -> tuple[float, float, float]:  # noqa: ANN001 - a LyapunovResult
    """lambda_max over the steps after ``start`` (the separation has aligned with the top
    Lyapunov vector by then), its standard error over ``_BLOCKS`` time blocks, and the local rate
    over the last ``_LATE`` of the window, all from the running means of ``res``."""
    import torch

    steps = res.running_steps.to(res.running.dtype)
    cum = torch.cat([steps.new_zeros(1), res.running[:, :, 0].mean(0) * steps])  # cumulative rate x steps
    steps = torch.cat([steps.new_zeros(1), steps])
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


__all__ = ["THEORIES", "grid_theory", "overlay_point", "phase_diagram"]

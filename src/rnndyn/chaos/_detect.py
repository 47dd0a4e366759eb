"""Period-3 (Li--Yorke) detection, lap numbers / topological entropy and the 1-D Lyapunov exponent.

docs/theory/chaos.md §1.4-1.5. A point of least period 3 is a solution of ``f^3(x) = x`` that is not
a fixed point of ``f`` (every fixed point of ``f`` is one of ``f^3``). Note: the authors' public
notebooks evaluate ``f^4`` instead of ``f^3`` (docs/theory/chaos.md §1.2, "Bug in the public
notebooks"); ``f^4`` having more fixed points than ``f`` only proves a period-2 or period-4 orbit,
which by Sharkovsky does *not* imply period 3. rnndyn composes exactly ``period`` times.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import torch

from rnndyn import _diagnostics as diag
from rnndyn._checks import check_choice, check_finite, check_generator, check_positive_int, check_real
from rnndyn._results import Check, Result, Status
from rnndyn.chaos._common import ragged_arange, ragged_to_padded, sort_ragged
from rnndyn.chaos._networks import PiecewiseLinear, ScalarNetwork

Tensor = torch.Tensor
ScalarMapLike = Any  # ScalarNetwork | PiecewiseLinear | AbstractMap with state_size 1 | callable


# ---------------------------------------------------------------------------------------------
# uniform view of the accepted scalar maps
class _Batched:
    """Batched evaluation ``(B, M) -> (B, M)`` of any accepted scalar map."""

    def __init__(self, f: ScalarMapLike, *, dtype: torch.dtype | None = None, device=None) -> None:
        from rnndyn.models.base import AbstractFlow, AbstractMap

        self.obj = f
        self.pwl: PiecewiseLinear | None = None
        self.net: ScalarNetwork | None = None
        if isinstance(f, ScalarNetwork):
            self.net = f
            self.B, self.dtype, self.device = f.batch_size, f.dtype, f.device
            self._call: Callable[[Tensor], Tensor] = f
        elif isinstance(f, PiecewiseLinear):
            self.pwl = f
            self.B, self.dtype, self.device = f.batch_size, f.knots.dtype, f.knots.device
            self._call = f
        elif isinstance(f, AbstractFlow):
            raise TypeError(
                f"`f` must be a scalar map; got the flow {type(f).__name__}. Discretise it first: "
                "rnndyn.discretise(flow, dt=0.05)"
            )
        elif isinstance(f, AbstractMap):
            if f.state_size != 1:
                raise ValueError(
                    f"`f` must be a 1-D map (state_size 1); got state_size {f.state_size}. "
                    "Use rd.chaos.scrambling or rd.max_lyapunov for vector maps"
                )
            ref = f._reference_tensor()
            self.B = 1
            self.dtype = ref.dtype if ref is not None else (dtype or torch.float64)
            self.device = ref.device if ref is not None else torch.device(device or "cpu")
            self._call = lambda x: f._step(x.unsqueeze(-1), None).squeeze(-1)
        elif callable(f):
            self.B, self.dtype, self.device = 1, dtype or torch.float64, torch.device(device or "cpu")
            self._call = f
        else:
            raise TypeError(
                "`f` must be a ScalarNetwork, PiecewiseLinear, 1-D rnndyn map or callable; "
                f"got {type(f).__name__}"
            )

    def __call__(self, x: Tensor) -> Tensor:
        return self._call(x)

    def iterate(self, x: Tensor, t: int) -> Tensor:
        for _ in range(t):
            x = self(x)
        return x

    @property
    def exact_available(self) -> bool:
        return self.pwl is not None or (self.net is not None and self.net.is_piecewise_linear)

    def as_pwl(self) -> PiecewiseLinear:
        if self.pwl is None:
            assert self.net is not None
            self.pwl = self.net.to_piecewise_linear()
        return self.pwl

    def eval_rows(self, x: Tensor, rows: Tensor) -> Tensor:
        if self.net is not None:
            return self.net.eval_rows(x, rows)
        if self.pwl is not None:
            return self.pwl._eval(x, rows)
        return self._call(x.unsqueeze(0)).squeeze(0)  # B == 1

    def limit(self, sign: float) -> Tensor:
        if self.net is not None:
            return self.net.limit(sign)
        p = self.as_pwl()
        s = p.slope_right if sign > 0 else p.slope_left
        anchor = p._last(p.values) if sign > 0 else p.values[:, 0]
        inf = torch.full_like(s, math.inf)
        return torch.where(s * sign > 0, inf, torch.where(s * sign < 0, -inf, anchor))

    def eval_rows_ext(self, x: Tensor, rows: Tensor) -> Tensor:
        """Like ``eval_rows`` but ``f(+-inf)`` is the limit."""
        fin = torch.isfinite(x)
        out = self.eval_rows(torch.where(fin, x, torch.zeros_like(x)), rows)
        if bool(fin.all()):
            return out
        return torch.where(x > 0, self.limit(1.0)[rows], self.limit(-1.0)[rows]).where(~fin, out)

    def default_domain(self, n_grid: int) -> Tensor | None:
        """An interval containing every periodic orbit (bounded-range networks only): ``(B, 2)``."""
        if self.net is None or self.net.activation != "tanh":
            return None
        net = self.net
        # f(R) is inside K0 = b2 +- sum|w2|; periodic points lie in f(f(R)) within f(K0)
        r = net.weight_out.abs().sum(-1)
        k0lo, k0hi = net.bias_out - r, net.bias_out + r
        if net.out_activation == "relu":
            k0lo = k0lo.clamp_min(0.0)
        s = torch.linspace(0, 1, max(n_grid // 4, 3), dtype=net.dtype, device=net.device)
        y = net(k0lo[:, None] + (k0hi - k0lo)[:, None] * s)
        lo, hi = y.amin(-1), y.amax(-1)
        # the padding covers extrema of f falling between grid points (a coarse grid on K0)
        pad = 1e-2 * (hi - lo) + 1e-9 * (1 + torch.maximum(lo.abs(), hi.abs()))
        return torch.stack([lo - pad, hi + pad], -1)


def _domain_tensor(domain: Any, B: int, dtype: torch.dtype, device) -> Tensor:
    try:
        d = torch.as_tensor(domain, dtype=dtype, device=device)
    except (TypeError, ValueError, RuntimeError) as exc:
        raise TypeError(
            f"`domain` must be (lo, hi) or a ({B}, 2) tensor of numbers; got {domain!r} ({exc})"
        ) from None
    if d.shape == (2,):
        d = d.expand(B, 2)
    if d.shape != (B, 2):
        raise ValueError(f"`domain` must be (lo, hi) or a ({B}, 2) tensor; got shape {tuple(d.shape)}")
    if not bool(torch.isfinite(d).all()) or not bool((d[:, 1] > d[:, 0]).all()):
        raise ValueError(f"`domain` must be finite with lo < hi; got {domain!r}")
    return d


def _divisors(p: int) -> list[int]:
    return [d for d in range(1, p) if p % d == 0]


# ---------------------------------------------------------------------------------------------
@dataclass(frozen=True, eq=False, kw_only=True)
class PeriodicPointsResult(Result):
    """Points of least period ``period`` of each of ``B`` scalar maps.

    Attributes:
        points: ``(B, K)`` sorted, padded with NaN. count: ``(B,)`` number of points (a multiple
            of ``period`` when every orbit was found). period, method (``"exact"``/``"grid"``),
            status, message.
    """

    points: Tensor
    count: Tensor
    period: int
    method: str

    @property
    def has_points(self) -> Tensor:
        return self.count > 0


@dataclass(frozen=True, eq=False, kw_only=True)
class Period3Result(Result):
    """Period-3 detection (Li--Yorke "period three implies chaos").

    Attributes:
        has_period3: ``(B,)`` bool. witness: ``(B,)`` a point ``a`` with
            ``f^3(a) <= a < f(a) < f^2(a)`` or the reverse (NaN if none) -- a Li--Yorke witness.
        orbit: ``(B, 3)`` ``(a, f(a), f^2(a))``. n_points: ``(B,)`` number of period-3 points
            found (3 per orbit). method, status, message.
    """

    has_period3: Tensor
    witness: Tensor
    orbit: Tensor
    n_points: Tensor
    method: str

    @property
    def fraction(self) -> float:
        return float(self.has_period3.double().mean())


def _tolerance(dtype: torch.dtype) -> float:
    # sqrt(eps): rounding of an exact piecewise-linear solve stays far below, genuinely
    # distinct orbit points far above
    return float(torch.finfo(dtype).eps) ** 0.5


def _verify_and_pack(
    F: _Batched, xs: Tensor, rows: Tensor, period: int, check_residual: bool, method: str
) -> PeriodicPointsResult:
    tol = _tolerance(F.dtype)
    orbit = [xs]
    y = xs
    for _ in range(period):
        y = F.eval_rows(y, rows)
        orbit.append(y)
    stack = torch.stack(orbit, 0)
    scale = 1.0 + stack.abs().amax(0)
    ok = torch.isfinite(stack).all(0)
    if check_residual:
        ok &= (orbit[period] - xs).abs() <= tol * scale
    for d in _divisors(period):
        ok &= (orbit[d] - xs).abs() > tol * scale
    xs, rows, scale = xs[ok], rows[ok], scale[ok]
    xs, rows = sort_ragged(xs, rows)
    scale = 1.0 + xs.abs()
    # de-duplicate (roots at shared knots of adjacent pieces, bisection twins)
    new = torch.ones_like(rows, dtype=torch.bool)
    if xs.numel() > 1:
        new[1:] = (rows[1:] != rows[:-1]) | ((xs[1:] - xs[:-1]) > tol * scale[1:])
    xs, rows = xs[new], rows[new]
    pts, count = ragged_to_padded(xs, rows, F.B, math.nan)
    status, message = Status.SUCCESS, f"every map has a multiple of {period} period-{period} points"
    bad = (count % period) != 0
    if bool(bad.any()):
        status = Status.WARNING
        message = (
            f"{int(bad.sum())} map(s) have a number of period-{period} points that is not a multiple "
            f"of {period} (a nearly degenerate orbit, or an orbit leaving the grid domain)"
        )
    return PeriodicPointsResult(
        points=pts, count=count, period=period, method=method, status=status, message=message
    )


def periodic_points(
    f: ScalarMapLike,
    period: int,
    *,
    method: str = "auto",
    domain: Any = None,
    n_grid: int = 20001,
) -> PeriodicPointsResult:
    r"""All points of least period ``period`` of a batch of scalar maps.

    * ``method="exact"`` (ReLU networks, :class:`PiecewiseLinear`): compose ``f`` exactly
      ``period`` times, solve :math:`f^p(x) = x` in closed form on every linear piece (including the
      two unbounded ones, so on all of :math:`\mathbb R`), keep the solutions that are not fixed
      by :math:`f^d` for any proper divisor ``d`` of ``p`` (docs/theory/chaos.md §1.5 item 1).
    * ``method="grid"`` (smooth maps, callables): sign changes of :math:`f^p(x) - x` on an
      ``n_grid`` grid over ``domain``, each refined by bisection, then the same divisor test. It
      misses pairs of roots closer than the grid spacing and tangential roots.

    Args:
        f: :class:`ScalarNetwork` (batched), :class:`PiecewiseLinear`, an rnndyn map with
            ``state_size == 1`` (e.g. ``rd.Logistic``) or a callable ``(B, M) -> (B, M)``.
        period: ``p >= 1``.
        method: ``"auto"`` (exact when possible), ``"exact"``, ``"grid"``.
        domain: ``(lo, hi)`` or ``(B, 2)`` for the grid method; default for tanh networks an
            interval that provably contains every periodic orbit (``f(b2 +- sum|w2|)``, padded);
            required for other non-piecewise-linear maps. With the exact method it is ignored.
        n_grid: grid points (grid method).

    Returns:
        :class:`PeriodicPointsResult`. Grid method: where ``f^p`` is NaN on the grid (a map
        undefined on part of ``domain``) the status is ``failed`` when such a map has no point
        found, else ``warning``; the message says how many grid points were NaN.

    Example:
        >>> import torch, rnndyn as rd
        >>> tent = rd.chaos.ScalarNetwork.tent()
        >>> r = rd.chaos.periodic_points(tent, 3)
        >>> (r.points[0] * 63).round().tolist()  # {2/9, 4/9, 8/9} and {2/7, 4/7, 6/7}
        [14.0, 18.0, 28.0, 36.0, 54.0, 56.0]
    """
    period = check_positive_int(period, "period")
    check_choice(method, "method", ("auto", "exact", "grid"))
    n_grid = check_positive_int(n_grid, "n_grid", minimum=3)
    F = _Batched(f)
    if method == "auto":
        method = "exact" if F.exact_available else "grid"
    if method == "exact":
        if not F.exact_available:
            raise ValueError("`method` 'exact' needs a ReLU ScalarNetwork or a PiecewiseLinear; use 'grid'")
        xs, rows = F.as_pwl().iterate(period).solve_fixed()
        return _verify_and_pack(F, xs, rows, period, True, "exact")
    if domain is None:
        dom = F.default_domain(n_grid)
        if dom is None:
            raise ValueError("`domain` is required for the grid method on this map; pass (lo, hi)")
    else:
        dom = _domain_tensor(domain, F.B, F.dtype, F.device)
    s = torch.linspace(0, 1, n_grid, dtype=F.dtype, device=F.device)
    x = dom[:, :1] + (dom[:, 1:] - dom[:, :1]) * s
    if domain is None and F.net is not None:
        # the default domain J is (up to its padding) invariant, f(J) in J: tabulate f once on the
        # grid and iterate by linear interpolation (error O(h^2 f'')); brackets are re-checked
        # with the true map below, so only roots closer than the interpolation error can be missed
        y = F(x)
        lo, hi = dom[:, :1], dom[:, 1:]
        step = (hi - lo) / (n_grid - 1)
        z = y
        for _ in range(period - 1):
            pos = ((z - lo) / step).clamp(0, n_grid - 1 - 1e-9)
            i0 = pos.floor().long()
            fr = pos - i0
            z = y.gather(1, i0) * (1 - fr) + y.gather(1, i0 + 1) * fr
        e = z - x
    else:
        e = F.iterate(x, period) - x
    nan_rows = torch.isnan(e).any(1)
    res = _grid_roots(F, x, e, period)
    if bool(nan_rows.any()):
        n_pts = int(torch.isnan(e).sum())
        lo, hi = float(dom[:, 0].min()), float(dom[:, 1].max())
        res = dataclasses.replace(
            res,
            # points found are verified; "none found" on a map with NaN values is not an answer
            status=Status.FAILED if bool((nan_rows & (res.count == 0)).any()) else Status.WARNING,
            message=(
                f"f^{period}(x) is NaN at {n_pts} of the {e.numel()} grid points in [{lo:g}, {hi:g}] "
                f"({int(nan_rows.sum())} of {F.B} map(s)): period-{period} points there cannot be "
                "found; pass a `domain` on which f is defined and maps into itself"
            ),
        )
    return res


def _grid_roots(F: _Batched, x: Tensor, e: Tensor, period: int) -> PeriodicPointsResult:
    """Sign changes of ``e = f^p(x) - x`` on the grid ``x``, refined by bisection, verified."""
    change = e[:, :-1] * e[:, 1:] <= 0
    rows, cols = change.nonzero(as_tuple=True)
    if rows.numel() == 0:
        empty = torch.full((F.B, 1), math.nan, dtype=F.dtype, device=F.device)
        return PeriodicPointsResult(
            points=empty,
            count=torch.zeros(F.B, dtype=torch.long, device=F.device),
            period=period,
            method="grid",
            status=Status.SUCCESS,
            message=f"f^{period}(x) - x has no sign change on the grid: no period-{period} points",
        )
    a, b = x[rows, cols], x[rows, cols + 1]
    # bisection, padded per map so that any batched callable can be used
    A, cnt = ragged_to_padded(a, rows, F.B, 0.0)
    Bk, _ = ragged_to_padded(b, rows, F.B, 1.0)
    EA = F.iterate(A, period) - A
    EB = F.iterate(Bk, period) - Bk
    valid = EA * EB <= 0  # true brackets of the true map
    for _ in range(64):
        M = 0.5 * (A + Bk)
        EM = F.iterate(M, period) - M
        left = EM * EA > 0
        A = torch.where(left, M, A)
        EA = torch.where(left, EM, EA)
        Bk = torch.where(left, Bk, M)
    inside = torch.arange(A.shape[1], device=F.device)[None, :] < cnt[:, None]
    r, c = torch.nonzero(inside & valid, as_tuple=True)
    roots = torch.where(EA[r, c] == 0, A[r, c], 0.5 * (A[r, c] + Bk[r, c]))
    return _verify_and_pack(F, roots, r, period, False, "grid")


def period3(
    f: ScalarMapLike, *, method: str = "auto", domain: Any = None, n_grid: int = 20001
) -> Period3Result:
    r"""Does each scalar map have a point of least period 3 (hence Li--Yorke chaos)?

    Li & Yorke (1975): a continuous interval map with a period-3 point has points of every period
    and an uncountable scrambled set (docs/theory/chaos.md §1.4). Exact for ReLU networks; see
    :func:`periodic_points` for the methods. This evaluates :math:`f^3`, not :math:`f^4` as the
    authors' public notebooks do (docs/theory/chaos.md §1.2).

    Returns:
        :class:`Period3Result` with a Li--Yorke witness per map.

    Example:
        >>> import torch, rnndyn as rd
        >>> res = rd.chaos.period3(rd.Logistic(r=3.83), domain=(0.0, 1.0))
        >>> bool(res.has_period3[0]), round(float(res.witness[0]), 4)
        (True, 0.1561)
    """
    pp = periodic_points(f, 3, method=method, domain=domain, n_grid=n_grid)
    F = _Batched(f)
    has = pp.count >= 3
    # the most robust orbit: the first point of each map, orbit (m, f(m), f^2(m)) from its minimum
    B = F.B
    first = pp.points[:, 0]
    rows = torch.arange(B, device=F.device)
    x0 = torch.where(has, first, torch.zeros_like(first))
    y1 = F.eval_rows(x0, rows)
    y2 = F.eval_rows(y1, rows)
    m = torch.minimum(x0, torch.minimum(y1, y2))
    M = torch.maximum(x0, torch.maximum(y1, y2))
    # rotate to the minimum m; if f(m) < f^2(m) the witness is m, otherwise the maximum (§1.4)
    fm = F.eval_rows(m, rows)
    f2m = F.eval_rows(fm, rows)
    w = torch.where(fm < f2m, m, M)
    fw = F.eval_rows(w, rows)
    f2w = F.eval_rows(fw, rows)
    nan = torch.full_like(w, math.nan)
    w = torch.where(has, w, nan)
    orbit = torch.stack([w, torch.where(has, fw, nan), torch.where(has, f2w, nan)], -1)
    return Period3Result(
        has_period3=has,
        witness=w,
        orbit=orbit,
        n_points=pp.count,
        method=pp.method,
        status=pp.status,
        message=pp.message,
    )


def li_yorke_witness(f: ScalarMapLike, a: Tensor, *, atol: float | None = None) -> Tensor:
    r"""Check the Li--Yorke condition :math:`f^3(a) \le a < f(a) < f^2(a)` (or all reversed).

    By Li & Yorke (1975) such a point implies periodic points of every period and an uncountable
    scrambled set. ``atol`` (default ``sqrt(eps) (1 + |a|)``) loosens ``f^3(a) <= a`` against
    rounding, which matters exactly at a period-3 point.

    Args:
        f: a scalar map (see :func:`periodic_points`); a: ``(B,)`` one point per map.

    Returns:
        ``(B,)`` bool.

    Example:
        >>> import torch, rnndyn as rd
        >>> rd.chaos.li_yorke_witness(rd.chaos.ScalarNetwork.tent(), torch.tensor([2 / 7], dtype=torch.float64)).tolist()
        [True]
    """
    F = _Batched(f)
    try:
        a = torch.as_tensor(a, dtype=F.dtype, device=F.device)
    except (TypeError, ValueError, RuntimeError) as exc:
        raise TypeError(f"`a` must be a tensor of {F.B} point(s), one per map; got {a!r} ({exc})") from None
    if a.numel() != F.B:
        raise ValueError(
            f"`a` must hold one point per map ({F.B} map(s)); got shape {tuple(a.shape)}. For several "
            "points of one map, call it once per point"
        )
    a = a.reshape(F.B)
    rows = torch.arange(F.B, device=F.device)
    y1 = F.eval_rows(a, rows)
    y2 = F.eval_rows(y1, rows)
    y3 = F.eval_rows(y2, rows)
    tol = (_tolerance(F.dtype) * (1 + a.abs())) if atol is None else torch.full_like(a, float(atol))
    up = (y3 <= a + tol) & (a < y1) & (y1 < y2)
    down = (y3 >= a - tol) & (a > y1) & (y1 > y2)
    return up | down


# ---------------------------------------------------------------------------------------------
# lap numbers
def _turning(F: _Batched, n_grid: int) -> Tensor:
    if F.net is not None:
        return F.net.turning_points(n_grid=n_grid)
    if F.pwl is not None:
        return F.pwl.turning_points()
    raise TypeError("lap numbers need a ScalarNetwork or PiecewiseLinear")


def composition_laps(
    layers: Sequence[ScalarNetwork | PiecewiseLinear],
    *,
    domain: Any = None,
    max_laps: int = 1 << 16,
    n_grid: int = 4001,
) -> Tensor:
    r"""Lap numbers of the compositions :math:`g_t \circ \dots \circ g_1` for ``t = 1 .. len(layers)``.

    A lap is a maximal interval of monotonicity. Only the values of the composition at its
    turning points are tracked: between consecutive values ``v_i, v_{i+1}`` the composition is
    monotone onto ``[v_i, v_{i+1}]``, so the next layer adds one turning point for each of its own
    turning points strictly inside (docs/theory/chaos.md §1.4, "Expressivity"). Exact for ReLU layers.
    Networks whose lap count exceeds ``max_laps`` are reported as NaN from then on.

    Args:
        layers: ``t`` batches of ``B`` networks (the same object repeated = a recurrent network;
            independent draws = a feedforward stack).
        domain: ``(lo, hi)`` or ``(B, 2)``; default the whole real line.

    Returns:
        ``(B, t)`` float tensor of lap counts (NaN once above ``max_laps``).

    Example:
        >>> import torch, rnndyn as rd
        >>> tent = rd.chaos.ScalarNetwork.tent()
        >>> rd.chaos.composition_laps([tent] * 5, domain=(0.0, 1.0)).tolist()
        [[2.0, 4.0, 8.0, 16.0, 32.0]]
    """
    if len(layers) == 0:
        raise ValueError("`layers` must contain at least one network; got an empty sequence")
    max_laps = check_positive_int(max_laps, "max_laps")
    Fs = [_Batched(g) for g in layers]
    B, dtype, dev = Fs[0].B, Fs[0].dtype, Fs[0].device
    for k, G in enumerate(Fs):
        if G.B != B:
            raise ValueError(f"`layers[{k}]` must hold {B} networks like layers[0]; got {G.B}")
    turning_cache: dict[int, Tensor] = {}
    if domain is None:
        V = torch.tensor([-math.inf, math.inf], dtype=dtype, device=dev).expand(B, 2).contiguous()
    else:
        V = _domain_tensor(domain, B, dtype, dev).clone()
    n = torch.full((B,), 2, dtype=torch.long, device=dev)
    active = torch.ones(B, dtype=torch.bool, device=dev)
    laps = torch.full((B, len(Fs)), math.nan, dtype=torch.float64, device=dev)
    for t, G in enumerate(Fs):
        if not bool(active.any()):  # every map is over max_laps: the rest of the table stays NaN
            break
        key = id(layers[t])
        if key not in turning_cache:
            turning_cache[key] = _turning(G, n_grid)
        C = turning_cache[key]
        Mx = V.shape[1]
        v0, v1 = V[:, :-1], V[:, 1:]
        lo, hi = torch.minimum(v0, v1), torch.maximum(v0, v1)
        i_lo = torch.searchsorted(C, lo.contiguous(), side="right")
        i_hi = torch.searchsorted(C, hi.contiguous(), side="left")
        j = torch.arange(Mx - 1, device=dev)[None, :]
        pair_ok = (j < (n - 1)[:, None]) & active[:, None]
        cnt = torch.where(pair_ok, (i_hi - i_lo).clamp_min(0), torch.zeros_like(i_lo))
        items = torch.cat([cnt + pair_ok.long(), torch.zeros(B, 1, dtype=torch.long, device=dev)], 1)
        items.scatter_(1, (n - 1)[:, None], torch.ones_like(n)[:, None])  # the last point
        cell, pos = ragged_arange(items.flatten())
        b, i = cell // Mx, cell % Mx
        inc = V[b, i] <= V[b, (i + 1).clamp_max(Mx - 1)]
        ci = torch.where(
            inc,
            i_lo.flatten()[(b * (Mx - 1) + i.clamp_max(Mx - 2))] + pos - 1,
            i_hi.flatten()[(b * (Mx - 1) + i.clamp_max(Mx - 2))] - pos,
        )
        u = torch.where(pos == 0, V[b, i], C[b, ci.clamp(0, C.shape[1] - 1)])
        w = G.eval_rows_ext(u, b)
        # keep first/last of each row and strict turning values (drop repeats first)
        keep = torch.ones_like(b, dtype=torch.bool)
        if w.numel() > 1:
            keep[1:] = (b[1:] != b[:-1]) | (w[1:] != w[:-1])
        w, b = w[keep], b[keep]
        if w.numel() > 2:
            first = torch.ones_like(b, dtype=torch.bool)
            first[1:] = b[1:] != b[:-1]
            last = torch.ones_like(b, dtype=torch.bool)
            last[:-1] = b[:-1] != b[1:]
            d_prev = torch.zeros_like(w)
            d_next = torch.zeros_like(w)
            d_prev[1:] = w[1:] - w[:-1]
            d_next[:-1] = w[1:] - w[:-1]
            turn = (torch.sign(d_prev) * torch.sign(d_next)) < 0
            keep = first | last | turn
            w, b = w[keep], b[keep]
        V, n = ragged_to_padded(w, b, B, math.nan)
        if V.shape[1] < 2:  # every image collapsed to one point (constant maps): keep the pair layout
            V = torch.cat([V, torch.full_like(V[:, :1], math.nan)], 1)
        cur = (n - 1).clamp_min(1).double()
        over = cur > max_laps
        active = active & ~over
        laps[:, t] = torch.where(active, cur, torch.full_like(cur, math.nan))
        if bool(over.any()):
            V[over, 1:] = math.nan
            n = torch.where(over, torch.ones_like(n), n)
            V = V[:, : max(int(n.max()), 2)].contiguous()
    return laps


def lap_numbers(
    f: ScalarNetwork | PiecewiseLinear, t_max: int, *, domain: Any = None, max_laps: int = 1 << 16
) -> Tensor:
    """Lap numbers of ``f^t`` for ``t = 1 .. t_max``: ``(B, t_max)`` (see :func:`composition_laps`).

    Example:
        >>> import rnndyn as rd
        >>> rd.chaos.lap_numbers(rd.chaos.ScalarNetwork.tent(), 4, domain=(0.0, 1.0)).tolist()
        [[2.0, 4.0, 8.0, 16.0]]
    """
    t_max = check_positive_int(t_max, "t_max")
    return composition_laps([f] * t_max, domain=domain, max_laps=max_laps)


@dataclass(frozen=True, eq=False, kw_only=True)
class EntropyResult(Result):
    """Topological entropy from lap-number growth, ``h = lim (1/t) ln L(f^t)`` (Misiurewicz--Szlenk).

    Attributes:
        entropy: ``(B,)`` estimate ``(ln L_t1 - ln L_t0) / (t1 - t0)``, ``t1`` the last step before
            ``max_laps`` was exceeded, ``t0 = ceil(t1 / 2)`` (nats per step).
        laps: ``(B, t_max)`` lap numbers (NaN once above ``max_laps``). t_used: ``(B,)`` ``t1``.
    """

    entropy: Tensor
    laps: Tensor
    t_used: Tensor


def topological_entropy(
    f: ScalarNetwork | PiecewiseLinear,
    *,
    t_max: int = 24,
    domain: Any = None,
    max_laps: int = 1 << 14,
) -> EntropyResult:
    r"""Topological entropy of scalar maps from the growth of the lap number of :math:`f^t`.

    For a piecewise-monotone interval map :math:`h_{top} = \lim_t \frac1t \ln L(f^t)`
    (Misiurewicz & Szlenk 1980); positive entropy implies Li--Yorke chaos and a period-3 point
    implies :math:`h \ge \ln\varphi \approx 0.481` (docs/theory/chaos.md §1.4). Finite-``t`` caveat:
    polynomial lap growth ``L ~ t^k`` (zero entropy) gives an estimate of about
    ``k ln 2 / (t/2)``, e.g. 0.06 k at ``t = 24``; use a threshold above that.

    Example:
        >>> import rnndyn as rd
        >>> res = rd.chaos.topological_entropy(rd.chaos.ScalarNetwork.tent(), t_max=12, domain=(0.0, 1.0))
        >>> round(float(res.entropy[0]), 6)  # ln 2
        0.693147
    """
    t_max = check_positive_int(t_max, "t_max", minimum=2)
    laps = lap_numbers(f, t_max, domain=domain, max_laps=max_laps)
    ok = torch.isfinite(laps)
    t_idx = torch.arange(1, t_max + 1, device=laps.device)
    t1 = torch.where(ok, t_idx, torch.zeros_like(t_idx)).amax(-1).clamp_min(1)
    t0 = torch.div(t1 + 1, 2, rounding_mode="floor").clamp_min(1)
    l1 = laps.gather(1, (t1 - 1)[:, None])[:, 0]
    l0 = laps.gather(1, (t0 - 1)[:, None])[:, 0]
    h = torch.where(t1 > t0, (l1.log() - l0.log()) / (t1 - t0).double(), torch.full_like(l1, math.nan))
    status = Status.SUCCESS
    if bool((t1 == t_max).all()):
        message = f"h = slope of ln L(f^t) between t = {int(t0[0])} and t = {t_max}"
    else:
        message = (
            f"h = slope of ln L(f^t) between t1/2 and t1, t1 = {t_max} or the last t before max_laps "
            f"= {max_laps} was exceeded (t1 from {int(t1.min())} to {int(t1.max())}; see t_used)"
        )
    if bool((t1 < 4).any()):
        status = Status.WARNING
        message = (
            f"{int((t1 < 4).sum())} map(s) exceeded max_laps = {max_laps} before t = 4; their estimate "
            "is crude (NaN where no slope could be taken): raise max_laps"
        )
    return EntropyResult(entropy=h, laps=laps, t_used=t1, status=status, message=message)


# ---------------------------------------------------------------------------------------------
@dataclass(frozen=True, eq=False, kw_only=True)
class Lyapunov1DResult(Result):
    r"""1-D Lyapunov exponents :math:`\lambda = \langle \ln|f'(x_t)|\rangle` of orbits of scalar maps.

    Attributes:
        per_orbit: ``(B, n_orbits)`` exponents (``-inf`` for orbits that hit a flat ReLU piece,
            NaN for orbits that left ``bound``). exponent: ``(B,)`` the largest exponent over the
            bounded orbits (a chaotic attractor reached from some start; NaN if all escaped).
        bounded: ``(B, n_orbits)`` bool. units: ``"1/step"``.
    """

    exponent: Tensor
    per_orbit: Tensor
    bounded: Tensor
    units: str = "1/step"


def lyapunov_exponent_1d(
    f: ScalarNetwork | Any,
    *,
    n_steps: int = 2000,
    n_transient: int = 500,
    n_orbits: int = 8,
    x0: Tensor | None = None,
    bound: float = 1e6,
    generator: torch.Generator | None = None,
) -> Lyapunov1DResult:
    r"""Lyapunov exponent :math:`\lambda = \frac1T\sum_t \ln|f'(x_t)|` of typical orbits of scalar maps.

    A positive value on a bounded orbit means a chaotic attractor. ReLU flat pieces give
    :math:`f' = 0` and :math:`\lambda = -\infty` for orbits that land on them; Li--Yorke chaos can
    live on a measure-zero set, so :math:`\lambda \le 0` does not exclude it (docs/theory/chaos.md §1.5
    item 3).

    Args:
        f: :class:`ScalarNetwork` or a 1-D rnndyn map (its Jacobian gives ``f'``).
        x0: ``(B, n_orbits)`` initial points; default ``N(0, 1)`` from ``generator``.
        bound: orbits with ``|x| > bound`` at any step are marked unbounded (NaN).

    Example:
        >>> import torch, rnndyn as rd
        >>> res = rd.chaos.lyapunov_exponent_1d(rd.Logistic(r=4.0), n_steps=3000, n_transient=10,
        ...                                     x0=torch.tensor([[0.1, 0.2, 0.3, 0.4]], dtype=torch.float64))
        >>> abs(float(res.per_orbit.mean()) - 0.6931) < 0.05  # ln 2
        True
    """
    n_steps = check_positive_int(n_steps, "n_steps")
    n_transient = check_positive_int(n_transient, "n_transient", minimum=0)
    n_orbits = check_positive_int(n_orbits, "n_orbits")
    bound = check_real(bound, "bound", low=0.0, low_open=True)
    check_generator(generator)
    F = _Batched(f)
    if F.net is not None:
        deriv = F.net.derivative
    elif F.obj is not None and hasattr(F.obj, "_jacobian"):
        m = F.obj

        def deriv(x: Tensor) -> Tensor:  # noqa: E306
            return m._jacobian(x.unsqueeze(-1), None).reshape(x.shape)
    else:
        raise TypeError("`f` must be a ScalarNetwork or a 1-D rnndyn map (for f')")
    if x0 is None:
        x = torch.randn(F.B, n_orbits, generator=generator, dtype=torch.float64).to(F.dtype).to(F.device)
    else:
        x = check_finite(torch.as_tensor(x0, dtype=F.dtype, device=F.device), "x0").reshape(F.B, -1)
    ok = torch.ones_like(x, dtype=torch.bool)
    for _ in range(n_transient):
        x = F(x)
        ok &= torch.isfinite(x) & (x.abs() <= bound)
        x = torch.where(ok, x, torch.zeros_like(x))
    acc = torch.zeros_like(x)
    ends = _checkpoints(n_steps)
    end_set = set(ends)
    cum = []  # acc at the time-block boundaries, for the stationarity check
    for t in range(n_steps):
        d = deriv(x).abs()
        acc = acc + torch.log(d)
        x = F(x)
        ok &= torch.isfinite(x) & (x.abs() <= bound)
        x = torch.where(ok, x, torch.zeros_like(x))
        if t + 1 in end_set:
            cum.append(acc.clone())
    lam = acc / n_steps
    lam = torch.where(ok, lam, torch.full_like(lam, math.nan))
    exp = torch.where(ok, lam, torch.full_like(lam, -math.inf)).amax(-1)
    exp = torch.where(ok.any(-1), exp, torch.full_like(exp, math.nan))
    n_out = int((~ok).sum())
    if not bool(ok.any(-1).all()):
        status = Status.DIVERGED
        message = (
            f"{int((~ok.any(-1)).sum())} map(s) have no bounded orbit (|x| > {bound:g} or non-finite): "
            "unbounded dynamics have no exponent (NaN)"
        )
    elif n_out:
        status = Status.WARNING
        message = (
            f"{n_out} of {ok.numel()} orbits left |x| <= {bound:g} (NaN); the exponent uses the bounded ones"
        )
    else:
        status, message = Status.SUCCESS, f"all {ok.numel()} orbits stayed bounded over {n_steps} steps"
    status, message = _collapsed_orbits(F, deriv, x, ok, lam, exp, status, message)
    check = _stationarity_1d(cum, ends, ok, lam, n_steps, n_transient)
    checks: tuple[Check, ...] = ()
    if check is not None:
        checks = (check,)
        if not check.passed:
            status = Status.worst(status, Status.NOT_CONVERGED)
            message = (
                f"{check.detail}; {message}"
                if status == Status.NOT_CONVERGED
                else f"{message}; {check.detail}"
            )
    return Lyapunov1DResult(
        exponent=exp, per_orbit=lam, bounded=ok, status=status, message=message, checks=checks
    )


def _checkpoints(n_steps: int) -> list[int]:
    """The steps closing the time blocks of :func:`_stationarity_1d` (10 blocks for the error, up
    to 20 for the halves), where :func:`rnndyn._diagnostics.block_means` looks for them."""
    ends = {n_steps}
    for nb in (min(10, n_steps), min(diag.N_STATIONARITY_BLOCKS, n_steps // diag.MIN_BLOCK_STEPS)):
        ends |= {round((j + 1) * n_steps / nb) for j in range(nb)} if nb >= 1 else set()
    return sorted(e for e in ends if e > 0)


def _stationarity_1d(cum: list[Tensor], ends: list[int], ok: Tensor, lam: Tensor, n_steps: int,
                     n_transient: int) -> Check | None:  # fmt: skip
    r"""The ``stationarity`` check of :func:`rnndyn.lyapunov_spectrum` on every bounded orbit's
    :math:`\ln|f'(x_t)|` (docs/lyapunov.md, "stationarity"): the two halves' means of ``K = min(20,
    n_steps // 10)`` time blocks against the trimmed von Neumann noise of successive block
    differences; an orbit fails when they differ by more than 5 noise units and the bias this
    leaves in its exponent exceeds 1.5 of its own time-block standard error (10 blocks) and 1e-6
    of ``|lambda|``. ``None`` when no orbit can be judged (fewer than 8 blocks, no finite orbit)."""
    n_blk = min(diag.N_STATIONARITY_BLOCKS, n_steps // diag.MIN_BLOCK_STEPS)
    if n_blk < diag.MIN_STATIONARITY_BLOCKS or not cum:
        return None
    c = torch.stack(cum).to("cpu", torch.float64)  # (C, B, n_orbits)
    steps = torch.tensor(ends, dtype=torch.int64)
    blocks = diag.block_means(c, steps, n_steps, n_blk)
    err_blocks = diag.block_means(c, steps, n_steps, min(10, n_steps))
    if blocks is None or err_blocks is None or blocks.shape[0] < diag.MIN_STATIONARITY_BLOCKS:
        return None
    lam64 = lam.detach().to("cpu", torch.float64)
    judged = (
        ok.cpu() & torch.isfinite(lam64) & torch.isfinite(blocks).all(0) & torch.isfinite(err_blocks).all(0)
    )
    if not bool(judged.any()):
        return None
    blocks = torch.where(judged, blocks, torch.zeros_like(blocks))
    err_blocks = torch.where(judged, err_blocks, torch.zeros_like(err_blocks))
    se = err_blocks.std(0, unbiased=True) / math.sqrt(err_blocks.shape[0])
    lam_j = torch.where(judged, lam64, torch.zeros_like(lam64))
    st = diag.stationarity_stats(blocks, se, lam_j, lam_j.abs())
    bad = st.bad & judged
    # the worst failing orbit, else the largest z of all judged orbits
    z = torch.where(bad if bool(bad.any()) else judged, st.z, torch.full_like(st.z, -1.0))
    b, i = divmod(int(torch.argmax(z)), lam.shape[-1])
    nb = blocks.shape[0]
    where = (
        f"map {b}, orbit {i}: the mean of ln|f'| over the second half of the {n_steps} averaged steps is "
        f"{float(st.m2[b, i]):.4g} against {float(st.m1[b, i]):.4g} over the first half (difference "
        f"{float(st.diff[b, i]):.3g} 1/step, {float(st.z[b, i]):.3g} times its noise {float(st.noise[b, i]):.2g} "
        f"from successive differences of {nb} time blocks; last block {float(blocks[-1, b, i]):.4g})"
    )
    n_judged = int(judged.sum())
    if not bool(bad.any()):
        return Check(
            name="stationarity",
            passed=True,
            value=float(st.z[b, i]),
            tolerance=diag.Z_STATIONARITY,
            detail=f"the local growth rates of all {n_judged} judged orbits are stationary: their halves' "
            f"means differ by <= {diag.Z_STATIONARITY:g} noise units or leave a bias below "
            f"{diag.STATIONARITY_BIAS_SE:g} standard errors (worst {where}",
            status=Status.NOT_CONVERGED,
        )
    return Check(
        name="stationarity",
        passed=False,
        value=float(st.z[b, i]),
        tolerance=diag.Z_STATIONARITY,
        detail=f"the local growth rates of {int(bad.sum())} of {n_judged} orbits still change along the run: "
        f"{where}, a bias of about {float(st.bias[b, i]):.2g} in its exponent, more than "
        f"{diag.STATIONARITY_BIAS_SE:g} standard errors ({float(se[b, i]):.2g}). The orbit has not reached "
        "its attractor (a transient, e.g. a slow escape from an unstable fixed point), so its exponent mixes "
        f"the transient with the attractor: increase n_transient to >= {n_transient + n_steps} (the whole of "
        "this run) and check that the rates stay put",
        status=Status.NOT_CONVERGED,
    )


def _collapsed_orbits(F, deriv, x: Tensor, ok: Tensor, lam: Tensor, exp: Tensor, status: Status,
                      message: str) -> tuple[Status, str]:  # fmt: skip
    """Orbits that end exactly on a kink with ``f' = 0`` there (ReLU's ``relu'(0) = 0``) while
    ``f'`` is nonzero a relative 1e-9 to one side, or exactly periodic (period <= 8) with a
    positive exponent, measured floating point, not the map: ``failed`` when the reported
    exponent rests on a kink fixed point that expands on one side (``|f'| > 1`` there), else
    ``warning``. The slope-2 tent map is the example: every float64 orbit is a dyadic rational and
    ends on the fixed point 0, on the ReLU kink, where ``f' = 2`` from the right."""
    step = 1e-9 * x.abs().clamp_min(1.0)
    d0 = deriv(x).abs()
    side = torch.maximum(deriv(x + step).abs(), deriv(x - step).abs())
    kink = ok & (d0 == 0) & (side != 0) & torch.isneginf(lam)
    y, period = x, torch.zeros_like(x, dtype=torch.int64)
    for p in range(1, 9):
        y = F(y)
        period = torch.where((period == 0) & (y == x), p, period)
    unstable = ok & (period > 0) & (lam > 0.01) & ~kink
    fix = (
        "use a map whose floating-point orbits do not collapse (a slope slightly off 2, e.g. "
        "1.9999 relu(x) - 4 relu(x - 1/2), or the conjugate logistic map rd.Logistic(r=4), exponent "
        "ln 2) or starts off the collapsing set"
    )
    notes = []
    if bool(kink.any()):
        notes.append(
            f"{int(kink.sum())} of {ok.numel()} orbits end exactly on a kink of the piecewise-linear map "
            "(f' = 0 there by the convention relu'(0) = 0, nonzero on one side): their -inf reflects that "
            "convention and a floating-point collapse, not a rate of the map (the slope-2 tent map, whose float64 orbits "
            f"all end on its fixed point 0, has ln 2 = 0.693 everywhere else); {fix}"
        )
    if bool(unstable.any()):
        notes.append(
            f"{int(unstable.sum())} of {ok.numel()} orbits end exactly periodic (period <= 8) with a "
            "positive exponent: an unstable cycle reached through rounding, not a typical orbit; " + fix
        )
    if not notes:
        return status, message
    expands = kink & (F(x) == x) & (side > 1)  # a kink fixed point unstable on one side
    rests = torch.isneginf(exp) & expands.any(-1)  # the reported exponent hides an instability
    new = Status.FAILED if bool(rests.any()) else Status.WARNING
    head = "; ".join(notes)
    return Status.worst(status, new), f"{head}; {message}"


__all__ = [
    "EntropyResult",
    "Lyapunov1DResult",
    "Period3Result",
    "PeriodicPointsResult",
    "composition_laps",
    "lap_numbers",
    "li_yorke_witness",
    "lyapunov_exponent_1d",
    "period3",
    "periodic_points",
    "topological_entropy",
]

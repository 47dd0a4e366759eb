"""Scalar feedback networks ``x_{t+1} = f(x_t)``, ``f`` a 1 -> n -> 1 network, batched over networks,
and exact batched piecewise-linear functions (the algebra behind exact period detection for ReLU).

docs/theory/chaos.md §1.2: the [CPSS22] experiments iterate a scalar MLP on itself,
``f(x) = sigma_out(sum_j w2_j sigma(w1_j x + b1_j) + b2)``, weights shared over iterations.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

import torch

from rnndyn._checks import check_choice, check_generator, check_nonnegative, check_positive_int
from rnndyn.chaos._common import ragged_arange, ragged_to_padded, sort_ragged

Tensor = torch.Tensor

ACTIVATIONS = ("relu", "tanh")
OUT_ACTIVATIONS = ("identity", "relu")
#: Initialisations of the scalar networks, as in the authors' notebooks (docs/theory/chaos.md §1.2):
#: he: weights *and* biases N(0, 2/fan_in); xavier/glorot: N(0, 2/(fan_in + fan_out));
#: lecun: N(0, 1/fan_in); normal: N(0, 1). fan_in = 1 (first layer) or n (output layer).
SCALAR_INITS = ("he", "xavier", "glorot", "lecun", "normal")

# elements of the (networks x points x width) pre-activation tensor evaluated at once
_EVAL_BUDGET = 1 << 22


def _layer_std(init: str, fan_in: int, fan_out: int) -> float:
    if init == "he":
        return math.sqrt(2.0 / fan_in)
    if init in ("xavier", "glorot"):
        return math.sqrt(2.0 / (fan_in + fan_out))
    if init == "lecun":
        return math.sqrt(1.0 / fan_in)
    return 1.0


@dataclass(frozen=True, eq=False)
class ScalarNetwork:
    r"""A batch of ``B`` scalar networks :math:`f_b(x) = \sigma_{out}(\sum_j w2_{bj}\,\sigma(w1_{bj} x + b1_{bj}) + b2_b)`.

    Iterated on itself this is the scalar RNN of [CPSS22] (docs/theory/chaos.md §1.2). All tensors
    share dtype and device; every analysis follows them.

    Attributes:
        weight_in, bias_in, weight_out: ``(B, n)``; bias_out: ``(B,)``.
        activation: ``"relu"`` or ``"tanh"``; out_activation: ``"identity"`` or ``"relu"``.

    Shape:
        ``net(x)``: ``x`` of shape ``(B,)`` or ``(B, M)`` (``M`` points per network) -> same shape.

    Example:
        >>> import torch
        >>> tent = ScalarNetwork.tent(dtype=torch.float64)
        >>> tent(torch.tensor([[2 / 7, 4 / 7, 6 / 7]], dtype=torch.float64)).mul(7).round().tolist()
        [[4.0, 6.0, 2.0]]
    """

    weight_in: Tensor
    bias_in: Tensor
    weight_out: Tensor
    bias_out: Tensor
    activation: str = "relu"
    out_activation: str = "identity"

    def __post_init__(self) -> None:
        check_choice(self.activation, "activation", ACTIVATIONS)
        check_choice(self.out_activation, "out_activation", OUT_ACTIVATIONS)
        for name in ("weight_in", "bias_in", "weight_out", "bias_out"):
            t = getattr(self, name)
            if not isinstance(t, Tensor) or not torch.is_floating_point(t):
                raise TypeError(f"`{name}` must be a floating-point torch.Tensor; got {type(t).__name__}")
        w = self.weight_in
        if w.ndim != 2:
            raise ValueError(f"`weight_in` must have shape (B, n); got {tuple(w.shape)}")
        for name in ("bias_in", "weight_out"):
            if getattr(self, name).shape != w.shape:
                raise ValueError(
                    f"`{name}` must have shape {tuple(w.shape)}; got {tuple(getattr(self, name).shape)}"
                )
        if self.bias_out.shape != w.shape[:1]:
            raise ValueError(f"`bias_out` must have shape ({w.shape[0]},); got {tuple(self.bias_out.shape)}")
        for name in ("weight_in", "bias_in", "weight_out", "bias_out"):
            t = getattr(self, name)
            if not bool(torch.isfinite(t).all()):
                raise ValueError(
                    f"`{name}` must be finite; got {int((~torch.isfinite(t)).sum())} NaN/inf entries "
                    f"(every analysis of such a network would be NaN)"
                )

    # ------------------------------------------------------------------ construction
    @classmethod
    def from_weights(
        cls,
        weight_in,
        bias_in,
        weight_out,
        bias_out=0.0,
        *,
        activation: str = "relu",
        out_activation: str = "identity",
        dtype: torch.dtype | None = torch.float64,
        device: torch.device | str | None = None,
    ) -> ScalarNetwork:
        """One network (``B = 1``) from lists/tensors of length ``n`` (``bias_out`` a number)."""

        def t(v) -> Tensor:
            return torch.as_tensor(v, dtype=dtype, device=device).reshape(1, -1)

        w1, b1, w2 = t(weight_in), t(bias_in), t(weight_out)
        return cls(w1, b1, w2, t(bias_out).reshape(1), activation, out_activation)

    @classmethod
    def tent(cls, *, dtype: torch.dtype | None = torch.float64, device=None) -> ScalarNetwork:
        """The tent map ``2 relu(x) - 4 relu(x - 1/2)`` (docs/theory/chaos.md §1.3): period 3, ``2^t`` laps."""
        return cls.from_weights([1.0, 1.0], [0.0, -0.5], [2.0, -4.0], 0.0, dtype=dtype, device=device)

    @classmethod
    def random(
        cls,
        width: int,
        n_networks: int,
        *,
        init: str = "he",
        activation: str = "relu",
        out_activation: str = "identity",
        output_bias: bool = True,
        generator: torch.Generator | None = None,
        dtype: torch.dtype | None = torch.float64,
        device: torch.device | str | None = None,
    ) -> ScalarNetwork:
        """``n_networks`` random 1 -> ``width`` -> 1 networks with the notebooks' initialisations.

        ``init`` in :data:`SCALAR_INITS` sets weights *and* biases of each layer
        (docs/theory/chaos.md §1.2). Drawn on the CPU in float64 from ``generator`` (same networks on
        every device), then cast and moved.
        """
        width = check_positive_int(width, "width")
        n_networks = check_positive_int(n_networks, "n_networks")
        check_choice(init, "init", SCALAR_INITS)
        check_choice(activation, "activation", ACTIVATIONS)
        check_generator(generator)
        s1, s2 = _layer_std(init, 1, width), _layer_std(init, width, 1)
        kw = {"generator": generator, "dtype": torch.float64}
        w1 = torch.randn(n_networks, width, **kw) * s1
        b1 = torch.randn(n_networks, width, **kw) * s1
        w2 = torch.randn(n_networks, width, **kw) * s2
        b2 = torch.randn(n_networks, **kw) * s2
        if not output_bias:
            b2 = torch.zeros_like(b2)
        dtype = dtype or torch.get_default_dtype()
        return cls(
            *(v.to(dtype=dtype, device=device) for v in (w1, b1, w2, b2)),
            activation=activation,
            out_activation=out_activation,
        )

    # ------------------------------------------------------------------ properties
    @property
    def batch_size(self) -> int:
        return int(self.weight_in.shape[0])

    @property
    def width(self) -> int:
        return int(self.weight_in.shape[1])

    @property
    def dtype(self) -> torch.dtype:
        return self.weight_in.dtype

    @property
    def device(self) -> torch.device:
        return self.weight_in.device

    @property
    def is_piecewise_linear(self) -> bool:
        return self.activation == "relu"

    def __len__(self) -> int:
        return self.batch_size

    def select(self, index) -> ScalarNetwork:
        """Sub-batch ``index`` (int, slice, bool mask or index tensor)."""
        if isinstance(index, int):
            index = slice(index, index + 1)
        return replace(
            self,
            weight_in=self.weight_in[index],
            bias_in=self.bias_in[index],
            weight_out=self.weight_out[index],
            bias_out=self.bias_out[index],
        )

    def perturb(
        self, std: float, *, generator: torch.Generator | None = None, copies: int = 1
    ) -> ScalarNetwork:
        """``copies`` independent perturbations of every weight and bias by ``N(0, std^2)``.

        Returns a batch of ``B * copies`` networks (copy-major: all networks of copy 0 first).
        """
        std = check_nonnegative(std, "std")
        copies = check_positive_int(copies, "copies")
        check_generator(generator)

        def p(t: Tensor) -> Tensor:
            rep = t.repeat(copies, *([1] * (t.ndim - 1)))
            noise = torch.randn(rep.shape, generator=generator, dtype=torch.float64) * std
            return rep + noise.to(dtype=t.dtype, device=t.device)

        return replace(
            self,
            weight_in=p(self.weight_in),
            bias_in=p(self.bias_in),
            weight_out=p(self.weight_out),
            bias_out=p(self.bias_out),
        )

    def to(self, *, dtype: torch.dtype | None = None, device=None) -> ScalarNetwork:
        return replace(
            self,
            **{
                k: getattr(self, k).to(dtype=dtype or self.dtype, device=device or self.device)
                for k in ("weight_in", "bias_in", "weight_out", "bias_out")
            },
        )

    # ------------------------------------------------------------------ evaluation
    def _sigma(self, a: Tensor) -> Tensor:
        return torch.relu(a) if self.activation == "relu" else torch.tanh(a)

    def _dsigma(self, a: Tensor) -> Tensor:
        if self.activation == "relu":
            return (a > 0).to(a.dtype)
        t = torch.tanh(a)
        return 1.0 - t * t

    def _pre_out(self, x: Tensor, rows: Tensor | None, deriv: bool) -> tuple[Tensor, Tensor | None]:
        """Output pre-activation (and its derivative) at ``x`` (B, M), or at ragged ``x`` (N,) of ``rows``."""
        if rows is not None:
            w1, b1, w2, b2 = (
                self.weight_in[rows],
                self.bias_in[rows],
                self.weight_out[rows],
                self.bias_out[rows],
            )
            a = x.unsqueeze(-1) * w1 + b1
            pre = (self._sigma(a) * w2).sum(-1) + b2
            d = (self._dsigma(a) * w1 * w2).sum(-1) if deriv else None
            return pre, d
        B, M = x.shape
        chunk = max(1, _EVAL_BUDGET // max(1, B * self.width))
        pres, ds = [], []
        for s in range(0, M, chunk):
            xs = x[:, s : s + chunk]
            a = xs.unsqueeze(-1) * self.weight_in.unsqueeze(1) + self.bias_in.unsqueeze(1)
            pres.append(torch.einsum("bmn,bn->bm", self._sigma(a), self.weight_out) + self.bias_out[:, None])
            if deriv:
                ds.append(torch.einsum("bmn,bn->bm", self._dsigma(a), self.weight_out * self.weight_in))
        pre = torch.cat(pres, 1)
        return pre, (torch.cat(ds, 1) if deriv else None)

    def __call__(self, x: Tensor) -> Tensor:
        squeeze = x.ndim == 1
        xx = x.unsqueeze(-1) if squeeze else x
        if xx.ndim != 2 or xx.shape[0] != self.batch_size:
            raise ValueError(
                f"`x` must have shape ({self.batch_size},) or ({self.batch_size}, M); got {tuple(x.shape)}"
            )
        pre, _ = self._pre_out(xx, None, False)
        out = torch.relu(pre) if self.out_activation == "relu" else pre
        return out.squeeze(-1) if squeeze else out

    def derivative(self, x: Tensor) -> Tensor:
        """``f'(x)`` (one-sided at ReLU kinks: the derivative of the piece to the right)."""
        squeeze = x.ndim == 1
        xx = x.unsqueeze(-1) if squeeze else x
        pre, d = self._pre_out(xx, None, True)
        assert d is not None
        if self.out_activation == "relu":
            d = d * (pre > 0).to(d.dtype)
        return d.squeeze(-1) if squeeze else d

    def eval_rows(self, x: Tensor, rows: Tensor) -> Tensor:
        """``f_{rows[k]}(x[k])`` for ragged points ``x`` (N,) belonging to networks ``rows`` (N,)."""
        out = torch.empty_like(x)
        chunk = max(1, _EVAL_BUDGET // max(1, self.width))
        for s in range(0, x.numel(), chunk):
            pre, _ = self._pre_out(x[s : s + chunk], rows[s : s + chunk], False)
            out[s : s + chunk] = torch.relu(pre) if self.out_activation == "relu" else pre
        return out

    def limit(self, sign: float) -> Tensor:
        """``lim_{x -> sign*inf} f(x)`` per network (may be +-inf)."""
        w1, b1, w2 = self.weight_in, self.bias_in, self.weight_out
        if self.activation == "tanh":
            h = torch.where(w1 == 0, torch.tanh(b1), torch.sign(w1) * sign)
            pre = (h * w2).sum(-1) + self.bias_out
        else:
            active = (w1 * sign) > 0
            slope = (w1 * w2 * active).sum(-1) * sign
            const = (torch.relu(b1) * w2 * (w1 == 0)).sum(-1) + (b1 * w2 * active).sum(-1) + self.bias_out
            inf = torch.tensor(math.inf, dtype=w1.dtype, device=w1.device)
            pre = torch.where(slope > 0, inf, torch.where(slope < 0, -inf, const))
        return torch.relu(pre) if self.out_activation == "relu" else pre

    def to_piecewise_linear(self) -> PiecewiseLinear:
        """Exact knot representation (ReLU networks only)."""
        if self.activation != "relu":
            raise ValueError(
                f"`activation` must be 'relu' for an exact piecewise-linear form; got {self.activation!r}"
            )
        w1, b1, w2 = self.weight_in, self.bias_in, self.weight_out
        inf = torch.full_like(w1, math.inf)
        safe = torch.where(w1 != 0, w1, torch.ones_like(w1))
        # an extra knot at 0 keeps every network non-empty (it only splits a linear piece)
        raw = torch.cat([torch.where(w1 != 0, -b1 / safe, inf), torch.zeros_like(w1[:, :1])], 1)
        # slope change at unit j's knot, going right: |w1_j| w2_j (on if w1 > 0, off if w1 < 0)
        jump = torch.cat([w1.abs() * w2, torch.zeros_like(w1[:, :1])], 1)
        K, perm = torch.sort(raw, dim=1)
        jump = jump.gather(1, perm)
        count = torch.isfinite(K).sum(1)
        sl, sr = self._pre_slopes()
        first = self._pre_out(K[:, :1], None, False)[0]
        slope_after = sl[:, None] + torch.cumsum(jump, 1)
        dk = K[:, 1:] - K[:, :-1]
        valid = torch.isfinite(dk)
        inc = torch.where(
            valid, slope_after[:, :-1] * torch.where(valid, dk, torch.zeros_like(dk)), torch.zeros_like(dk)
        )
        V = torch.cat([first, first + torch.cumsum(inc, 1)], 1)
        V = torch.where(torch.isfinite(K), V, torch.full_like(V, math.nan))
        pre = PiecewiseLinear(K, V, count, sl, sr)
        if self.out_activation == "relu":
            return PiecewiseLinear.relu_like(pre).compose(pre)
        return pre

    def _pre_eval_rows(self, x: Tensor, rows: Tensor) -> Tensor:
        return self._pre_out(x, rows, False)[0]

    def _pre_slopes(self) -> tuple[Tensor, Tensor]:
        w1, w2 = self.weight_in, self.weight_out
        return (w1 * w2 * (w1 < 0)).sum(-1), (w1 * w2 * (w1 > 0)).sum(-1)

    def turning_points(self, *, n_grid: int = 4001) -> Tensor:
        """Sorted turning points (local extrema) of each ``f_b``, padded with ``+inf``: ``(B, K)``.

        Exact for ReLU networks (knots where the sign of the slope changes; a flat stretch between
        an increase and a decrease counts once). For tanh: sign changes of ``f'`` on a grid over
        ``[min_j(c_j - 20/|w1_j|), max_j(c_j + 20/|w1_j|)]`` (``c_j = -b1_j/w1_j``; outside it
        ``f'`` is below ``4 e^{-40}`` of its scale), refined by bisection.
        """
        if self.activation == "relu":
            return self.to_piecewise_linear().turning_points()
        return _smooth_turning_points(self, n_grid)


def _smooth_turning_points(net: ScalarNetwork, n_grid: int) -> Tensor:
    w1, b1 = net.weight_in, net.bias_in
    B = net.batch_size
    absw = w1.abs().clamp_min(1e-300)
    c = -b1 / absw * torch.sign(w1)
    lo = torch.where(w1 != 0, c - 20.0 / absw, torch.full_like(c, math.inf)).amin(-1)
    hi = torch.where(w1 != 0, c + 20.0 / absw, torch.full_like(c, -math.inf)).amax(-1)
    ok = torch.isfinite(lo) & torch.isfinite(hi) & (hi > lo)
    lo = torch.where(ok, lo, torch.zeros_like(lo))
    hi = torch.where(ok, hi, torch.ones_like(hi))
    s = torch.linspace(0, 1, n_grid, dtype=net.dtype, device=net.device)
    grid = lo[:, None] + (hi - lo)[:, None] * s
    d = net.derivative(grid)
    change = (d[:, :-1] * d[:, 1:] < 0) & ok[:, None]
    rows, cols = change.nonzero(as_tuple=True)
    if rows.numel() == 0:
        return torch.full((B, 1), math.inf, dtype=net.dtype, device=net.device)
    a, b = grid[rows, cols], grid[rows, cols + 1]
    da = d[rows, cols]
    sub = net.select(rows)
    for _ in range(60):  # bisection to rounding level on brackets of width (hi - lo)/n_grid
        m = 0.5 * (a + b)
        dm = sub._deriv_diag(m)
        left = dm * da > 0
        a = torch.where(left, m, a)
        da = torch.where(left, dm, da)
        b = torch.where(left, b, m)
    tp, _ = ragged_to_padded(0.5 * (a + b), rows, B, math.inf)
    return tp


def _deriv_diag(self: ScalarNetwork, x: Tensor) -> Tensor:
    """Derivative of network k at x[k] (x of shape (B,))."""
    a = x.unsqueeze(-1) * self.weight_in + self.bias_in
    pre_d = (self._dsigma(a) * self.weight_in * self.weight_out).sum(-1)
    if self.out_activation == "relu":
        pre = (self._sigma(a) * self.weight_out).sum(-1) + self.bias_out
        pre_d = pre_d * (pre > 0).to(pre_d.dtype)
    return pre_d


ScalarNetwork._deriv_diag = _deriv_diag  # type: ignore[attr-defined]


@dataclass(frozen=True, eq=False)
class PiecewiseLinear:
    r"""A batch of continuous piecewise-linear functions on :math:`\mathbb R`, stored exactly.

    Network ``b`` has ``count[b]`` sorted knots ``knots[b, :count[b]]`` (padding ``+inf``) with
    values ``values[b, :count[b]]`` (padding NaN), linear between knots, and slopes
    ``slope_left[b]`` / ``slope_right[b]`` on the two unbounded pieces. Composition
    (:meth:`compose`) is exact up to rounding: the knots of ``f o g`` are the knots of ``g`` and
    the ``g``-preimages of the knots of ``f`` (found on each piece of ``g`` by ``searchsorted``).

    Example:
        >>> import torch
        >>> t = ScalarNetwork.tent(dtype=torch.float64).to_piecewise_linear()
        >>> t3 = t.iterate(3)
        >>> int(t3.turning_points().isfinite().sum())  # 2^3 laps on [0, 1]: 7 turning points
        7
    """

    knots: Tensor
    values: Tensor
    count: Tensor
    slope_left: Tensor
    slope_right: Tensor

    @property
    def batch_size(self) -> int:
        return int(self.knots.shape[0])

    @staticmethod
    def _from_ragged(knots: Tensor, rows: Tensor, B: int, eval_rows, slopes: tuple[Tensor, Tensor]):
        values = eval_rows(knots, rows)
        K, count = ragged_to_padded(knots, rows, B, math.inf)
        V, _ = ragged_to_padded(values, rows, B, math.nan)
        return PiecewiseLinear(K, V, count, slopes[0], slopes[1])

    @staticmethod
    def relu_like(like: PiecewiseLinear) -> PiecewiseLinear:
        """``relu`` as a piecewise-linear batch matching ``like``'s batch, dtype and device."""
        B, dt, dev = like.batch_size, like.knots.dtype, like.knots.device
        z = torch.zeros(B, 1, dtype=dt, device=dev)
        return PiecewiseLinear(
            z,
            z.clone(),
            torch.ones(B, dtype=torch.long, device=dev),
            torch.zeros(B, dtype=dt, device=dev),
            torch.ones(B, dtype=dt, device=dev),
        )

    # ------------------------------------------------------------------ evaluation
    def _last(self, t: Tensor) -> Tensor:
        return t.gather(1, (self.count - 1).clamp_min(0)[:, None])[:, 0]

    def __call__(self, x: Tensor) -> Tensor:
        """Evaluate at ``x`` of shape ``(B, M)``."""
        return self._eval(x, None)

    def _eval(self, x: Tensor, rows: Tensor | None) -> Tensor:
        if rows is None:
            K, V, c, sl, sr = self.knots, self.values, self.count, self.slope_left, self.slope_right
            idx = torch.searchsorted(K, x.contiguous(), side="left")
        else:
            K, V, c = self.knots[rows], self.values[rows], self.count[rows]
            sl, sr = self.slope_left[rows], self.slope_right[rows]
            idx = torch.searchsorted(K, x.unsqueeze(-1).contiguous(), side="left")
            x = x.unsqueeze(-1)
        last = (c - 1).clamp_min(0)
        i1 = torch.minimum(idx, last[:, None])
        i0 = (idx - 1).clamp_min(0)
        k0, k1 = K.gather(1, i0), K.gather(1, i1)
        v0, v1 = V.gather(1, i0), V.gather(1, i1)
        dk = torch.where(k1 > k0, k1 - k0, torch.ones_like(k1))
        inner = v0 + (v1 - v0) * ((x - k0) / dk)
        kf, vf = K[:, :1], V[:, :1]
        kl, vl = K.gather(1, last[:, None]), V.gather(1, last[:, None])
        left = vf + sl[:, None] * (x - kf)
        right = vl + sr[:, None] * (x - kl)
        out = torch.where(idx == 0, left, torch.where(idx > last[:, None], right, inner))
        return out[:, 0] if rows is not None else out

    # ------------------------------------------------------------------ algebra
    def _segments(self):
        """Per piece: anchor (x, y), end (x, y) for interior pieces, and the image interval.

        Pieces are indexed 0 (left ray), 1 .. K-1 (between knots i-1 and i), K (right ray).
        """
        K, V, c = self.knots, self.values, self.count
        B, Kn = K.shape
        dt, dev = K.dtype, K.device
        inf = torch.full((B, 1), math.inf, dtype=dt, device=dev)
        last = (c - 1).clamp_min(0)[:, None]
        kl, vl = K.gather(1, last), V.gather(1, last)
        x0 = torch.cat([K[:, :1], K[:, :-1], kl], 1)
        y0 = torch.cat([V[:, :1], V[:, :-1], vl], 1)
        x1 = torch.cat([-inf, K[:, 1:], inf], 1)
        y1 = torch.cat([V[:, :1], V[:, 1:], vl], 1)
        j = torch.arange(Kn + 1, device=dev)[None, :]
        interior = (j >= 1) & (j <= (c - 1)[:, None]) & (x1 > x0)
        sl, sr = self.slope_left[:, None], self.slope_right[:, None]
        ray_l_lo = torch.where(sl > 0, -inf, torch.where(sl < 0, V[:, :1], inf))
        ray_l_hi = torch.where(sl > 0, V[:, :1], torch.where(sl < 0, inf, -inf))
        ray_r_lo = torch.where(sr > 0, vl, torch.where(sr < 0, -inf, inf))
        ray_r_hi = torch.where(sr > 0, inf, torch.where(sr < 0, vl, -inf))
        lo = torch.where(interior, torch.minimum(y0, y1), torch.full_like(y0, math.inf))
        hi = torch.where(interior, torch.maximum(y0, y1), torch.full_like(y0, -math.inf))
        lo[:, :1], hi[:, :1] = ray_l_lo, ray_l_hi
        lo = lo.scatter(1, c[:, None], ray_r_lo)
        hi = hi.scatter(1, c[:, None], ray_r_hi)
        return x0, y0, x1, y1, lo, hi, interior

    def compose(self, inner: PiecewiseLinear) -> PiecewiseLinear:
        """``self o inner`` (apply ``inner`` first), exactly."""
        g, f = inner, self
        B = g.batch_size
        x0, y0, x1, y1, lo, hi, interior = g._segments()
        P = f.knots
        i_lo = torch.searchsorted(P, lo.contiguous(), side="right")
        i_hi = torch.searchsorted(P, hi.contiguous(), side="left")
        n_in = (i_hi - i_lo).clamp_min(0)
        nseg = n_in.shape[1]
        jj = torch.arange(nseg, device=P.device)[None, :]
        # output in x order without sorting: piece 0's preimages, then for each piece j >= 1
        # the knot j-1 that starts it followed by its preimages in increasing x
        has_knot = (jj >= 1) & (jj <= g.count[:, None])
        seg, pos = ragged_arange((n_in + has_knot.long()).flatten())
        b, j = seg // nseg, seg % nseg
        is_knot = has_knot.flatten()[seg] & (pos == 0)
        k = pos - has_knot.flatten()[seg].long()
        slope = torch.where(j == 0, g.slope_left[b], g.slope_right[b])
        ya, yb, xa, xb = y0[b, j], y1[b, j], x0[b, j], x1[b, j]
        is_ray = (j == 0) | (j == g.count[b])
        rising = torch.where(is_ray, slope > 0, yb > ya)
        pidx = torch.where(rising, i_lo.flatten()[seg] + k, i_hi.flatten()[seg] - 1 - k)
        pidx = torch.where(is_knot, torch.zeros_like(pidx), pidx).clamp(0, P.shape[1] - 1)
        u = P[b, pidx]
        # interior pieces: interpolate inside the piece (cannot leave it, even for tiny pieces)
        frac = (u - ya) / torch.where(yb != ya, yb - ya, torch.ones_like(ya))
        x_in = xa + frac * torch.where(torch.isfinite(xb), xb - xa, torch.zeros_like(xa))
        x_ray = xa + (u - ya) / torch.where(slope != 0, slope, torch.ones_like(slope))
        kidx = (j - 1).clamp_min(0)
        allx = torch.where(is_knot, g.knots[b, kidx], torch.where(is_ray, x_ray, x_in))
        # values: f(g(knot)) at g's knots, f(f-knot) exactly at the preimages
        fv_old = f._eval(torch.where(torch.isfinite(g.knots), g.values, torch.zeros_like(g.values)), None)
        vals = torch.where(is_knot, fv_old[b, kidx], f.values[b, pidx])
        rows = b
        K, count = ragged_to_padded(allx, rows, B, math.inf)
        V, _ = ragged_to_padded(vals, rows, B, math.nan)
        gl, gr = g.slope_left, g.slope_right
        sl = torch.where(
            gl > 0, gl * f.slope_left, torch.where(gl < 0, gl * f.slope_right, torch.zeros_like(gl))
        )
        sr = torch.where(
            gr > 0, gr * f.slope_right, torch.where(gr < 0, gr * f.slope_left, torch.zeros_like(gr))
        )
        return PiecewiseLinear(K, V, count, sl, sr)

    def iterate(self, t: int) -> PiecewiseLinear:
        """``f^t`` (``t >= 1``) by repeated exact composition."""
        t = check_positive_int(t, "t")
        out = self
        for _ in range(t - 1):
            out = self.compose(out)
        return out

    def solve_fixed(self) -> tuple[Tensor, Tensor]:
        """All solutions of ``f(x) = x``, exactly on each linear piece: ragged ``(x, row)``.

        A piece on which ``f`` is the identity contributes its two ends and midpoint.
        """
        x0, y0, x1, y1, _, _, interior = self._segments()
        e0, e1 = y0 - x0, y1 - x1
        # interior pieces: sign change of the linear function f(x) - x
        root_in = interior & (e0 * e1 <= 0) & ~((e0 == 0) & (e1 == 0))
        den = torch.where(e0 != e1, e0 - e1, torch.ones_like(e0))
        xin = x0 + (e0 / den) * (x1 - x0)
        ident = interior & (e0 == 0) & (e1 == 0)
        # rays: f(x) - x = e + (s - 1)(x - anchor)
        B = self.batch_size
        s = torch.stack([self.slope_left, self.slope_right], 1)
        last = (self.count - 1).clamp_min(0)[:, None]
        ax = torch.cat([self.knots[:, :1], self.knots.gather(1, last)], 1)
        ay = torch.cat([self.values[:, :1], self.values.gather(1, last)], 1)
        e = ay - ax
        step = torch.where(s != 1, -e / torch.where(s != 1, s - 1, torch.ones_like(s)), torch.zeros_like(s))
        xr = ax + step
        ok_r = (s != 1) & torch.cat([step[:, :1] <= 0, step[:, 1:] >= 0], 1)
        r1, c1 = root_in.nonzero(as_tuple=True)
        r2, c2 = ident.nonzero(as_tuple=True)
        r3, c3 = ok_r.nonzero(as_tuple=True)
        mid = 0.5 * (x0[r2, c2] + x1[r2, c2])
        xs = torch.cat([xin[r1, c1], x0[r2, c2], mid, x1[r2, c2], xr[r3, c3]])
        rows = torch.cat([r1, r2, r2, r2, r3])
        del B
        return sort_ragged(xs, rows)

    def turning_points(self) -> Tensor:
        """Sorted turning points (where the sign of the non-zero slopes changes), ``(B, K)`` padded ``+inf``."""
        K, V, c = self.knots, self.values, self.count
        B, Kn = K.shape
        dk = K[:, 1:] - K[:, :-1]
        s_in = torch.where(
            dk > 0,
            (V[:, 1:] - V[:, :-1]) / torch.where(dk > 0, dk, torch.ones_like(dk)),
            torch.zeros_like(dk),
        )
        j = torch.arange(Kn - 1, device=K.device)[None, :]
        s_in = torch.where(j < (c - 1)[:, None], s_in, torch.zeros_like(s_in))
        # slopes of pieces 0..Kn (left ray, interior, right ray placed after the last knot)
        S = torch.cat([self.slope_left[:, None], s_in, torch.zeros_like(self.slope_left[:, None])], 1)
        S = S.scatter(1, c[:, None], self.slope_right[:, None])
        sg = torch.sign(S)
        # forward-fill the last non-zero sign; a turning point is the left knot of the piece
        # where the sign flips relative to it (flat stretches between count once)
        idx = torch.where(
            sg != 0,
            torch.arange(Kn + 1, device=K.device)[None, :],
            torch.zeros_like(sg, dtype=torch.long) - 1,
        )
        last_nz = torch.cummax(idx, 1).values
        prev = torch.cat([torch.full((B, 1), -1, dtype=torch.long, device=K.device), last_nz[:, :-1]], 1)
        prev_sign = torch.where(prev >= 0, sg.gather(1, prev.clamp_min(0)), torch.zeros_like(sg))
        valid = torch.arange(Kn + 1, device=K.device)[None, :] <= c[:, None]
        flip = (sg * prev_sign < 0) & valid
        # piece p starts at knot p-1; the turn sits at knot (prev nonzero piece) -> its right end
        rows, cols = flip.nonzero(as_tuple=True)
        tp = K[rows, prev[rows, cols]]
        out, _ = ragged_to_padded(tp, rows, B, math.inf)
        return out


__all__ = ["ACTIVATIONS", "OUT_ACTIVATIONS", "SCALAR_INITS", "PiecewiseLinear", "ScalarNetwork"]

r"""Random-matrix predictions for the Jacobian spectra of vanilla, GRU, LSTM and gated-flow networks.

Theory only (docs/theory/gated.md §5): this module imports no model code. Every prediction is a
:class:`SpectralSupport` -- the support of the limiting eigenvalue density (its outer boundary
curve, rightmost and leftmost real points, radius) plus point masses ("atoms") -- built from one
*support function* :math:`\mathcal F(\lambda)`, with the support :math:`\{\mathcal F\ge0\}`.

All curves come from one lemma (docs/theory/gated.md §5.0): for :math:`A + B J C` with diagonal
:math:`A,B,C` and :math:`J_{ij}\sim\mathcal N(0,g^2/N)` the support is
:math:`g^2\langle B^2C^2/|\lambda-A|^2\rangle\ge1`. The averages :math:`\langle\cdot\rangle` run
over *sites*. Sites are either

* the N neurons of an actual network state (the **empirical** statistics, as in the toolkit
  check of §5.1 "[V]"), passed as per-neuron arrays of pre-activations; or
* the nodes of a Gaussian quadrature rule with their ``weights`` (the **mean-field**
  statistics): every ``*_support`` function takes ``weights=`` so that any mean-field
  distribution can be fed in, and :func:`gru_support_mean_field` does this for the GRU.

Functions
---------
Closed forms: :func:`circular_law`, :func:`vanilla_support`, :func:`gru_zero_fixed_point`
(Prop. 4.2 / Cor. 4.3), :func:`lstm_zero_fixed_point` (Cor. 5.3 / 5.4),
:func:`gated_flow_zero_fixed_point` (§3.5), :func:`gru_binary_gate_spectrum` (004-22).
State- or MFT-fed curves: :func:`gru_support` (Theorem 4.1), :func:`gru_support_mean_field`,
:func:`lstm_support` (Cor. 5.2), :func:`gated_flow_support` (§5.8).
Scalars: :func:`gru_rho`, :func:`gru_rho_mean_field` (004-19), :func:`gru_alpha_z0_radius`
(004-120/121), :func:`gru_rho_large_alpha_r` (Prop. 4.5), :func:`lstm_large_gate_terms`
(Prop. 5.5), :func:`slow_mode_fraction`, :func:`closed_gate_fraction` (004-98),
:func:`unsaturated_fraction` (004-96), :func:`marginal_stability_edge` (004-26/27),
:func:`lstm_resolvent` (Theorem 5.1, outside the support).

Conventions: the GRU of CKS20 (``z = 0`` is memory, reset gate column-wise), the LSTM of CKS20,
the gated flow (P-1); :math:`\sigma` logistic, :math:`\phi=\tanh`. Arrays may be NumPy arrays,
lists or torch tensors (converted to float64 NumPy arrays).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from scipy import optimize, special

Array = np.ndarray
SupportFn = Callable[[Array], Array]

#: angles used to trace boundary curves
DEFAULT_N_POINTS = 256
_N_RADII = 96
_BISECT = 48


# ----------------------------------------------------------------------------- helpers
def _sites(x: Any, name: str) -> Array:
    """A 1-D float64 array of per-site values (accepts torch tensors, lists, scalars)."""
    if hasattr(x, "detach"):
        x = x.detach().cpu().numpy()
    try:
        a = np.asarray(x, dtype=np.float64)
    except (TypeError, ValueError):
        raise TypeError(f"`{name}` must be an array of real numbers; got {type(x).__name__}") from None
    a = a.reshape(-1)
    if a.size == 0:
        raise ValueError(f"`{name}` must not be empty")
    if not np.all(np.isfinite(a)):
        raise ValueError(f"`{name}` must be finite; got {int((~np.isfinite(a)).sum())} non-finite entries")
    return a


def _weights(w: Any, n: int) -> Array:
    """Normalised site weights (uniform when ``None``)."""
    if w is None:
        return np.full(n, 1.0 / n)
    a = _sites(w, "weights")
    if a.size != n:
        raise ValueError(f"`weights` must have one entry per site ({n}); got {a.size}")
    if np.any(a < 0) or a.sum() <= 0:
        raise ValueError("`weights` must be non-negative with a positive sum")
    return a / a.sum()


def _same_size(**arrays: Array) -> int:
    sizes = {k: v.size for k, v in arrays.items()}
    n = max(sizes.values())
    for k, s in sizes.items():
        if s not in (1, n):
            raise ValueError(f"per-site arrays must have the same length; `{k}` has {s}, others {n}")
    return n


def _gain(v: Any, name: str) -> float:
    if isinstance(v, bool) or not isinstance(v, int | float | np.floating | np.integer):
        raise TypeError(f"`{name}` must be a real number; got {type(v).__name__} {v!r}")
    f = float(v)
    if not math.isfinite(f) or f < 0:
        raise ValueError(f"`{name}` must be a finite number >= 0; got {v!r}")
    return f


def _real(v: Any, name: str) -> float:
    if isinstance(v, bool) or not isinstance(v, int | float | np.floating | np.integer):
        raise TypeError(f"`{name}` must be a real number; got {type(v).__name__} {v!r}")
    f = float(v)
    if not math.isfinite(f):
        raise ValueError(f"`{name}` must be finite; got {v!r}")
    return f


def _sigmoid(u: Array) -> Array:
    return special.expit(u)


def _dsigmoid(u: Array) -> Array:
    s = special.expit(u)
    return s * (1.0 - s)


def _gauss_rule(mean: float, var: float) -> tuple[Array, Array]:
    """Nodes/weights for E f(mean + sqrt(var) x) (the panelled rule of meanfield.quadrature)."""
    from rnndyn.meanfield.quadrature import gaussian_rule

    u, w = gaussian_rule(mean, var)
    return np.asarray(u, dtype=np.float64).reshape(-1), np.asarray(w, dtype=np.float64).reshape(-1)


def _inv_sq(lam: Array, poles: Array) -> Array:
    """``1 / |lam - pole|^2`` with shape ``(*lam.shape, n_sites)`` (real arithmetic: ~3x faster)."""
    lam = np.asarray(lam)
    dx = np.real(lam)[..., None] - poles
    dy = np.imag(lam)[..., None]
    d2 = dx * dx + dy * dy
    return 1.0 / np.maximum(d2, 1e-300)


# ----------------------------------------------------------------------------- the result
@dataclass(frozen=True)
class SpectralSupport:
    r"""A predicted eigenvalue support: the bulk :math:`\{\lambda:\mathcal F(\lambda)\ge0\}` plus atoms.

    Attributes:
        model: ``"vanilla"``, ``"gru"``, ``"lstm"``, ``"gated_flow"`` or ``"generic"``.
        source: where the statistics came from: ``"closed_form"``, ``"state"`` (empirical
            per-neuron statistics) or ``"mean_field"``.
        formula: the theory reference (e.g. ``"docs/theory/gated.md §5.1 (004-18)"``).
        centre: the point the boundary was traced from (real for every model here).
        rightmost, leftmost: the largest / smallest real points of the bulk support.
        radius: the largest :math:`|\lambda|` of the bulk support.
        boundary: complex array, the outer boundary curve (closed, counter-clockwise).
        atoms: point masses ``((location, mass), ...)`` (fractions of all eigenvalues).
        bulk_mass: the fraction of eigenvalues in the bulk, ``1 - sum(atom masses)``.
        rho: the spectral shaping parameter (004-19), where the theory defines one.
        density: the uniform bulk density (per unit area, as a fraction of all eigenvalues)
            where the bulk is a uniform disk, else ``None``.
        continuous: ``True`` for vector-field spectra (stability: real parts < 0), ``False``
            for maps (stability: moduli < 1).
        params: the scalar inputs of the prediction.
        support_function: :math:`\mathcal F` (vectorised over complex arrays); ``None`` for
            atoms-only predictions.
        poles, pole_weights: the diagonal of the deterministic part (e.g. :math:`1-z_i` for the
            GRU) and the fraction of eigenvalues each carries; eigenvalues collect at poles whose
            random part vanishes (closed gates: slow modes, docs/theory/gated.md §5.3).
    """

    model: str
    source: str
    formula: str
    centre: complex
    rightmost: float
    leftmost: float
    radius: float
    boundary: Array = field(repr=False)
    atoms: tuple[tuple[complex, float], ...] = ()
    bulk_mass: float = 1.0
    rho: float | None = None
    density: float | None = None
    continuous: bool = False
    params: dict[str, float] = field(default_factory=dict)
    support_function: SupportFn | None = field(default=None, repr=False, compare=False)
    poles: Array | None = field(default=None, repr=False, compare=False)
    pole_weights: Array | None = field(default=None, repr=False, compare=False)

    def predicted_slow_fraction(self, eps: Any) -> Array:
        r"""Predicted fraction of eigenvalues with :math:`|\lambda-1|<\epsilon` (maps) or
        :math:`|\lambda|<\epsilon` (flows): the weight of the poles that close (docs/theory/gated.md §5.3,
        :math:`P(z<\epsilon)` for the GRU). NaN where the model has no such poles."""
        e = np.asarray(eps, dtype=np.float64)
        if self.poles is None or self.pole_weights is None:
            return np.full(e.shape, np.nan)
        ref = 0.0 if self.continuous else 1.0
        d = np.abs(self.poles - ref)
        return (d < e[..., None]).astype(np.float64) @ self.pole_weights

    @property
    def spectral_radius(self) -> float:
        """Largest modulus over the bulk and the atoms with positive mass."""
        r = self.radius if self.bulk_mass > 0 else 0.0
        for loc, mass in self.atoms:
            if mass > 0:
                r = max(r, abs(loc))
        return r

    @property
    def max_real(self) -> float:
        """Largest real part over the bulk and the atoms (the flow's growth rate)."""
        r = self.rightmost if self.bulk_mass > 0 else -math.inf
        for loc, mass in self.atoms:
            if mass > 0:
                r = max(r, complex(loc).real)
        return r

    @property
    def stable(self) -> bool:
        """Linear stability of a fixed point with this spectrum (strict: atoms on the unit
        circle / imaginary axis count as not stable)."""
        return self.max_real < 0 if self.continuous else self.spectral_radius < 1

    def contains(self, lam: Any) -> Array:
        """Whether points lie in the bulk support (``F >= 0``); NumPy bool array."""
        z = np.asarray(lam, dtype=np.complex128)
        if self.support_function is None:
            return np.zeros(z.shape, dtype=bool)
        return self.support_function(z) >= 0.0

    def to_dict(self) -> dict[str, Any]:
        """JSON-friendly summary (complex numbers as ``[re, im]``)."""
        return {
            "model": self.model,
            "source": self.source,
            "formula": self.formula,
            "centre": [self.centre.real, self.centre.imag],
            "rightmost": self.rightmost,
            "leftmost": self.leftmost,
            "radius": self.radius,
            "spectral_radius": self.spectral_radius,
            "max_real": self.max_real,
            "stable": self.stable,
            "atoms": [[complex(a).real, complex(a).imag, m] for a, m in self.atoms],
            "bulk_mass": self.bulk_mass,
            "rho": self.rho,
            "density": self.density,
            "continuous": self.continuous,
            "params": dict(self.params),
            "boundary": np.stack([self.boundary.real, self.boundary.imag], axis=-1).tolist(),
        }


def _disk(
    centre: float,
    radius: float,
    *,
    model: str,
    source: str,
    formula: str,
    atoms: tuple[tuple[complex, float], ...] = (),
    bulk_mass: float = 1.0,
    rho: float | None = None,
    continuous: bool = False,
    params: dict[str, float] | None = None,
    n_points: int = DEFAULT_N_POINTS,
) -> SpectralSupport:
    theta = np.linspace(0.0, 2.0 * np.pi, _check_n_points(n_points), endpoint=False)
    boundary = centre + radius * np.exp(1j * theta)
    density = bulk_mass / (math.pi * radius**2) if radius > 0 else None

    def fn(lam: Array, c: float = centre, r: float = radius) -> Array:
        return r**2 - np.abs(np.asarray(lam) - c) ** 2

    return SpectralSupport(
        model=model,
        source=source,
        formula=formula,
        centre=complex(centre),
        rightmost=centre + radius,
        leftmost=centre - radius,
        radius=abs(centre) + radius,
        boundary=boundary,
        atoms=atoms,
        bulk_mass=bulk_mass,
        rho=rho,
        density=density,
        continuous=continuous,
        params=dict(params or {}),
        support_function=fn,
    )


def _check_n_points(n_points: Any) -> int:
    """Boundary points of a support: an int >= 3 (a closed curve needs three)."""
    if isinstance(n_points, bool) or not isinstance(n_points, int | np.integer):
        raise TypeError(f"`n_points` must be an int >= 3; got {type(n_points).__name__} {n_points!r}")
    if n_points < 3:
        raise ValueError(f"`n_points` must be an int >= 3; got {n_points}")
    return int(n_points)


def _trace(
    fn: SupportFn,
    poles: Array,
    *,
    n_points: int,
) -> tuple[float, float, complex, Array, float]:
    """Rightmost/leftmost real points (brentq), centre and outer boundary (ray marching).

    ``poles`` are the real points where F has its singularities; for every support function
    here F decreases monotonically along the real axis away from the outermost poles
    (each term :math:`w/|\\lambda-c|^2` does), so the real edges are bracketed roots, and
    F -> -1 far away, so the outer boundary is the outermost sign change along each ray.
    """
    poles = np.asarray(poles, dtype=np.float64)
    p_hi, p_lo = float(poles.max()), float(poles.min())
    span = p_hi - p_lo

    def f_real(x: float) -> float:
        return float(fn(np.asarray([x + 0j]))[0])

    def edge(start: float, direction: float) -> float:
        d = 1e-9 * max(1.0, abs(start))
        if f_real(start + direction * d) < 0:
            return start  # zero weight at the outermost pole: empty on this side
        step = 1.0
        while f_real(start + direction * step) >= 0:
            step *= 2.0
            if step > 1e12:
                raise ValueError("support function does not decay: the support looks unbounded")
        lo = d
        return start + direction * optimize.brentq(
            lambda s: f_real(start + direction * s), lo, step, xtol=1e-14, rtol=1e-13
        )

    right = edge(p_hi, +1.0)
    left = edge(p_lo, -1.0)
    centre = 0.5 * (right + left)
    big = 2.0 * max(right - centre, centre - left, 1e-6) + span + 1.0
    theta = np.linspace(0.0, 2.0 * np.pi, _check_n_points(n_points), endpoint=False)
    dirs = np.exp(1j * theta)
    while True:
        if np.all(fn(centre + big * dirs) < 0):
            break
        big *= 2.0
    radii = (np.arange(_N_RADII) + 0.5) * (big / _N_RADII)  # never exactly at the centre
    vals = np.stack([fn(centre + r * dirs) for r in radii], axis=-1)  # (angles, radii)
    inside = vals >= 0
    has = inside.any(axis=-1)
    last = np.where(has, _N_RADII - 1 - np.argmax(inside[:, ::-1], axis=-1), 0)
    lo = np.where(has, radii[last], 0.0)
    hi = np.where(has, radii[np.minimum(last + 1, _N_RADII - 1)], 0.0)
    for _ in range(_BISECT):
        mid = 0.5 * (lo + hi)
        ok = fn(centre + mid * dirs) >= 0
        lo = np.where(ok, mid, lo)
        hi = np.where(ok, hi, mid)
    r_edge = np.where(has, 0.5 * (lo + hi), 0.0)
    boundary = centre + r_edge * dirs
    # pin the two real-axis points to the exact roots
    boundary[0] = right
    if n_points % 2 == 0:
        boundary[n_points // 2] = left
    radius = float(max(np.abs(boundary).max(), abs(right), abs(left)))
    return right, left, complex(centre), boundary, radius


def support_from_function(
    fn: SupportFn,
    poles: Any,
    *,
    model: str = "generic",
    source: str = "state",
    formula: str = "docs/theory/gated.md §5.0",
    atoms: tuple[tuple[complex, float], ...] = (),
    bulk_mass: float = 1.0,
    rho: float | None = None,
    continuous: bool = False,
    params: dict[str, float] | None = None,
    n_points: int = DEFAULT_N_POINTS,
    slow_poles: tuple[Array, Array] | None = None,
) -> SpectralSupport:
    r"""Trace the support :math:`\{\mathcal F\ge0\}` of a support function with real poles.

    The building block of every curve here; use it for your own variants of §5.0.

    Args:
        fn: vectorised :math:`\mathcal F` on complex arrays; must tend to a negative value far
            from the poles and decrease along the real axis beyond the outermost poles.
        poles: real locations of the singular points (the diagonal of :math:`Q_0`), used to
            bracket the real edges.
        n_points: number of boundary points.
        slow_poles: ``(poles, weights)`` stored for :meth:`SpectralSupport.predicted_slow_fraction`.

    Example:
        >>> import numpy as np
        >>> s = support_from_function(lambda z: 4.0 / np.abs(z) ** 2 - 1.0, [0.0])
        >>> round(s.radius, 9), round(s.rightmost, 9)
        (2.0, 2.0)
    """
    p = _sites(poles, "poles")
    right, left, centre, boundary, radius = _trace(fn, p, n_points=n_points)
    return SpectralSupport(
        model=model,
        source=source,
        formula=formula,
        centre=centre,
        rightmost=right,
        leftmost=left,
        radius=radius,
        boundary=boundary,
        atoms=atoms,
        bulk_mass=bulk_mass,
        rho=rho,
        continuous=continuous,
        params=dict(params or {}),
        support_function=fn,
        poles=None if slow_poles is None else np.asarray(slow_poles[0], dtype=np.float64),
        pole_weights=None if slow_poles is None else np.asarray(slow_poles[1], dtype=np.float64),
    )


# ----------------------------------------------------------------------------- vanilla
def circular_law(radius: float, *, centre: float = 0.0, n_points: int = DEFAULT_N_POINTS) -> SpectralSupport:
    r"""Girko's circular law: a uniform disk of the given radius (``g`` for :math:`J\sim\mathcal N(0,g^2/N)`).

    Example:
        >>> s = circular_law(1.5)
        >>> s.radius, round(s.density * 3.14159265 * 2.25, 6)
        (1.5, 1.0)
    """
    r = _gain(radius, "radius")
    return _disk(
        _real(centre, "centre"),
        r,
        model="generic",
        source="closed_form",
        formula="circular law",
        params={"radius": r},
        n_points=n_points,
    )


def vanilla_support(
    g: float,
    *,
    dphi: Any = None,
    dphi_sq_mean: float | None = None,
    weights: Any = None,
    n_points: int = DEFAULT_N_POINTS,
) -> SpectralSupport:
    r"""Support of the vanilla-RNN Jacobian :math:`D=[\phi'(a)]J`, :math:`J_{ij}\sim\mathcal N(0,g^2/N)`.

    By §5.0 (A = 0, B = φ'): the disk :math:`|\lambda|\le g\sqrt{\langle\phi'^2\rangle}`
    (docs/theory/gated.md §3.1, §8 #1). At the zero fixed point φ' = 1 and the radius is ``g``
    (stable iff g < 1).

    Args:
        g: gain of the recurrent couplings.
        dphi: per-neuron :math:`\phi'(a_i)` at the state (empirical statistics), or ``None``.
        dphi_sq_mean: :math:`\langle\phi'^2\rangle` from a mean-field theory. With neither
            given: the zero fixed point (φ'(0) = 1 for tanh).
        weights: site weights for ``dphi`` (quadrature nodes).

    Example:
        >>> vanilla_support(0.8).radius
        0.8
    """
    g = _gain(g, "g")
    if dphi is not None and dphi_sq_mean is not None:
        raise ValueError("give at most one of `dphi` and `dphi_sq_mean`")
    if dphi is not None:
        d = _sites(dphi, "dphi")
        m2 = float(np.sum(_weights(weights, d.size) * d * d))
        source = "state"
    elif dphi_sq_mean is not None:
        m2 = _gain(dphi_sq_mean, "dphi_sq_mean")
        source = "mean_field"
    else:
        m2, source = 1.0, "closed_form"
    return _disk(
        0.0,
        g * math.sqrt(m2),
        model="vanilla",
        source=source,
        formula="docs/theory/gated.md §3.1 + §5.0 (circular law)",
        params={"g": g, "dphi_sq_mean": m2},
        n_points=n_points,
    )


# ----------------------------------------------------------------------------- GRU
def gru_zero_fixed_point(
    g_h: float, *, bias_z: float = 0.0, bias_r: float = 0.0, n_points: int = DEFAULT_N_POINTS
) -> SpectralSupport:
    r"""Spectrum of the GRU Jacobian at the zero fixed point (Prop. 4.2, Cor. 4.3; docs/theory/gated.md §5.2).

    :math:`D_0=[1-z]+[z]J_h[r]`, ``z = σ(b_z)``, ``r = σ(b_r)`` (scalar biases, ``b_h = 0``):
    a uniform disk centred at :math:`1-\sigma(b_z)` with radius :math:`g_h\sigma(b_z)\sigma(b_r)`
    (004-20); stable iff :math:`g_h\sigma(b_r)<1` (004-21), i.e. ``g_h < 2`` at zero bias.

    Example:
        >>> s = gru_zero_fixed_point(1.5)
        >>> s.centre.real, s.radius, s.stable
        (0.5, 0.875, True)
    """
    g_h = _gain(g_h, "g_h")
    z, r = float(_sigmoid(_real(bias_z, "bias_z"))), float(_sigmoid(_real(bias_r, "bias_r")))
    return _disk(
        1.0 - z,
        g_h * z * r,
        model="gru",
        source="closed_form",
        formula=(
            "Can, Krishnamurthy & Schwab 2020 (arXiv:2002.00025) Prop. 4.2, Cor. 4.3, eqs. (20)-(21); "
            "docs/theory/gated.md §5.2"
        ),
        rho=(g_h * r) ** 2,
        params={"g_h": g_h, "bias_z": float(bias_z), "bias_r": float(bias_r)},
        n_points=n_points,
    )


def gru_rho(
    *,
    g_h: float,
    alpha_r: float,
    u_h: Any,
    u_r: Any,
    h_prev: Any,
    weights: Any = None,
) -> float:
    r"""The spectral shaping parameter (004-19) from per-neuron statistics of a state.

    .. math:: \rho=g_h^2\langle\phi'(u^h)^2\rangle\big(\langle\sigma(u^r)^2\rangle
              +\alpha_r^2\langle h^2\rangle\langle\sigma'(u^r)^2\rangle\big)

    with :math:`h\equiv h_{t-1}` and the pre-activations at time t (docs/theory/gated.md §5.1).

    Example:
        >>> gru_rho(g_h=2.0, alpha_r=0.0, u_h=[0.0, 0.0], u_r=[0.0, 0.0], h_prev=[0.0, 0.0])
        1.0
    """
    g_h, alpha_r = _gain(g_h, "g_h"), _gain(alpha_r, "alpha_r")
    uh, ur, h = _sites(u_h, "u_h"), _sites(u_r, "u_r"), _sites(h_prev, "h_prev")
    n = _same_size(u_h=uh, u_r=ur, h_prev=h)
    w = _weights(weights, n)
    dphi2 = (1.0 - np.tanh(uh) ** 2) ** 2
    return float(
        g_h**2
        * np.sum(w * dphi2)
        * (np.sum(w * _sigmoid(ur) ** 2) + alpha_r**2 * np.sum(w * h * h) * np.sum(w * _dsigmoid(ur) ** 2))
    )


def _gru_mft_moments(
    g_h: float, alpha_r: float, C_h: float, bias_r: float, bias_h: float, bias_std: float
) -> tuple[float, float, float]:
    """``<sigma(u^r)^2>, <sigma'(u^r)^2>, <phi'(u^h)^2>`` under the MFT (docs/theory/gated.md §5.1 bullet)."""
    ur, wr = _gauss_rule(bias_r, alpha_r**2 * C_h + bias_std**2)
    s2 = float(np.sum(wr * _sigmoid(ur) ** 2))
    ds2 = float(np.sum(wr * _dsigmoid(ur) ** 2))
    uh, wh = _gauss_rule(bias_h, g_h**2 * C_h * s2 + bias_std**2)
    dphi2 = float(np.sum(wh * (1.0 - np.tanh(uh) ** 2) ** 2))
    return s2, ds2, dphi2


def gru_rho_mean_field(
    *,
    g_h: float,
    alpha_r: float,
    C_h: float,
    bias_r: float = 0.0,
    bias_h: float = 0.0,
    bias_std: float = 0.0,
) -> float:
    r"""The spectral shaping parameter (004-19) under the mean-field theory.

    :math:`u^r\sim\mathcal N(b_r,\alpha_r^2C_h+\sigma_b^2)`,
    :math:`u^h\sim\mathcal N(b_h,g_h^2C_h\langle\sigma(u^r)^2\rangle+\sigma_b^2)` with
    :math:`C_h=\langle h^2\rangle` (docs/theory/gated.md §5.1). ``C_h`` comes from the caller (e.g. the
    fixed-point or dynamical MFT of :mod:`rnndyn.meanfield`).

    Example:
        >>> round(gru_rho_mean_field(g_h=1.5, alpha_r=0.0, C_h=0.0), 12)  # zero FP: (g_h/2)^2
        0.5625
    """
    g_h, alpha_r, C_h = _gain(g_h, "g_h"), _gain(alpha_r, "alpha_r"), _gain(C_h, "C_h")
    s2, ds2, dphi2 = _gru_mft_moments(
        g_h, alpha_r, C_h, _real(bias_r, "bias_r"), _real(bias_h, "bias_h"), _gain(bias_std, "bias_std")
    )
    return g_h**2 * dphi2 * (s2 + alpha_r**2 * C_h * ds2)


def gru_alpha_z0_radius(rho: float, *, bias_z: float = 0.0) -> float:
    r"""Spectral radius of the GRU Jacobian when ``alpha_z = 0`` (Cor. 4.4, (004-120/121)).

    The support is the disk :math:`|\lambda-1+\bar z|\le\bar z\sqrt\rho` with
    :math:`\bar z=\sigma(b_z)`, so :math:`r=1-\bar z+\bar z\sqrt\rho` ( :math:`(1+\sqrt\rho)/2`
    at zero bias).

    Example:
        >>> gru_alpha_z0_radius(4.0)
        1.5
    """
    rho = _gain(rho, "rho")
    z = float(_sigmoid(_real(bias_z, "bias_z")))
    return 1.0 - z + z * math.sqrt(rho)


def gru_support(
    *,
    g_h: float,
    alpha_z: float,
    alpha_r: float,
    u_z: Any,
    u_r: Any,
    u_h: Any,
    h_prev: Any,
    weights: Any = None,
    factorised: bool = True,
    n_points: int = DEFAULT_N_POINTS,
) -> SpectralSupport:
    r"""Support of the GRU Jacobian (Theorem 4.1; docs/theory/gated.md §5.1, (004-18), (004-19)) from a state.

    Factorised form (the theorem, MFT independence of r from (z, h, h̃)):

    .. math:: \mathcal F(\lambda)=\rho\Big\langle\frac{z^2}{|\lambda-1+z|^2}\Big\rangle
              +\alpha_z^2\Big\langle\frac{(\tilde h-h)^2\sigma'(u^z)^2}{|\lambda-1+z|^2}\Big\rangle-1.

    ``factorised=False`` uses the exact large-N boundary without the factorisation: the
    spectral radius of the 3x3 matrix :math:`M(\lambda)` of docs/theory/gated.md App. A.1 equals 1
    (:math:`\mathcal F=\mathrm{spr}\,M-1`).

    Args:
        g_h, alpha_z, alpha_r: the coupling gains (standard deviations times sqrt(N)).
        u_z, u_r, u_h: per-neuron pre-activations at time t (:math:`u^h=J_h(r\odot h)+\dots`).
        h_prev: per-neuron :math:`h_{t-1}` (the state the Jacobian is taken at).
        weights: site weights (quadrature nodes); uniform by default.
        factorised: the theorem's form (default) or the unfactorised exact form.

    Returns:
        :class:`SpectralSupport` with ``rho`` set to (004-19).

    Example:
        >>> import numpy as np
        >>> zero = np.zeros(4)
        >>> s = gru_support(g_h=1.5, alpha_z=1.0, alpha_r=1.0, u_z=zero, u_r=zero, u_h=zero, h_prev=zero)
        >>> round(s.rightmost, 12), round(s.leftmost, 12)  # the zero-FP disk of Prop. 4.2
        (0.875, 0.125)
    """
    g_h, alpha_z, alpha_r = _gain(g_h, "g_h"), _gain(alpha_z, "alpha_z"), _gain(alpha_r, "alpha_r")
    uz, ur, uh, h = _sites(u_z, "u_z"), _sites(u_r, "u_r"), _sites(u_h, "u_h"), _sites(h_prev, "h_prev")
    n = _same_size(u_z=uz, u_r=ur, u_h=uh, h_prev=h)
    uz, ur, uh, h = (np.broadcast_to(a, (n,)) for a in (uz, ur, uh, h))
    w = _weights(weights, n)
    z, r, dz, dr = _sigmoid(uz), _sigmoid(ur), _dsigmoid(uz), _dsigmoid(ur)
    ht = np.tanh(uh)
    dphi2 = (1.0 - ht * ht) ** 2
    rho = gru_rho(g_h=g_h, alpha_r=alpha_r, u_h=uh, u_r=ur, h_prev=h, weights=w)
    poles = 1.0 - z
    upd = (ht - h) ** 2 * dz**2  # vanishes at fixed points
    if factorised:
        wz = w * z * z

        def fn(lam: Array) -> Array:
            inv = _inv_sq(lam, poles)
            return rho * (inv @ wz) + alpha_z**2 * (inv @ (w * upd)) - 1.0

        formula = (
            "Can, Krishnamurthy & Schwab 2020 (arXiv:2002.00025) Thm 4.1, eqs. (18)-(19); "
            "docs/theory/gated.md §5.1"
        )
    else:
        c = float(np.sum(w * h * h * dr * dr))
        wa, wb = w * upd, w * z * z * dphi2
        r2 = r * r

        def fn(lam: Array) -> Array:
            inv = _inv_sq(lam, poles)
            a, b = inv @ wa, inv @ wb
            a_r, b_r = inv @ (wa * r2), inv @ (wb * r2)
            zero = np.zeros_like(a)
            m = np.stack(
                [
                    np.stack([alpha_z**2 * a, alpha_z**2 * b, zero], -1),
                    np.stack([g_h**2 * a_r, g_h**2 * b_r, g_h**2 * c + zero], -1),
                    np.stack([alpha_r**2 * a, alpha_r**2 * b, zero], -1),
                ],
                -2,
            )
            return np.abs(np.linalg.eigvals(m)).max(-1) - 1.0

        formula = "docs/theory/gated.md §5.1 unfactorised boundary (App. A.1)"
    # drop zero-weight poles (z = 0 exactly contributes nothing to either form)
    active = (w * (z * z + upd)) > 0
    return support_from_function(
        fn,
        poles[active] if active.any() else poles,
        model="gru",
        source="state" if weights is None else "mean_field",
        formula=formula,
        rho=rho,
        params={"g_h": g_h, "alpha_z": alpha_z, "alpha_r": alpha_r, "factorised": float(factorised)},
        n_points=n_points,
        slow_poles=(poles, w),
    )


def gru_support_mean_field(
    *,
    g_h: float,
    alpha_z: float,
    alpha_r: float,
    C_h: float,
    bias_z: float = 0.0,
    bias_r: float = 0.0,
    bias_h: float = 0.0,
    bias_std: float = 0.0,
    n_points: int = DEFAULT_N_POINTS,
) -> SpectralSupport:
    r"""Theorem 4.1 fed by mean-field statistics (docs/theory/gated.md §5.1): :math:`\rho` from
    :func:`gru_rho_mean_field` and :math:`u^z\sim\mathcal N(b_z,\alpha_z^2C_h+\sigma_b^2)`.

    The update-gate term of (004-18) needs the joint law of :math:`(z,\tilde h-h)` over time
    (the DMFT); it vanishes at fixed points and for ``alpha_z = 0``, and is dropped here, so
    this is the *fixed-point* support (exact there; a lower bound :math:`\mathcal S_0` of
    (004-88) elsewhere).

    Example:
        >>> s = gru_support_mean_field(g_h=1.5, alpha_z=3.0, alpha_r=2.0, C_h=0.0)
        >>> round(s.rightmost, 9)  # zero FP: the disk centred at 1/2 with radius g_h/4
        0.875
    """
    g_h, alpha_z, alpha_r, C_h = (
        _gain(g_h, "g_h"),
        _gain(alpha_z, "alpha_z"),
        _gain(alpha_r, "alpha_r"),
        _gain(C_h, "C_h"),
    )
    bias_std = _gain(bias_std, "bias_std")
    rho = gru_rho_mean_field(
        g_h=g_h, alpha_r=alpha_r, C_h=C_h, bias_r=bias_r, bias_h=bias_h, bias_std=bias_std
    )
    uz, wz = _gauss_rule(_real(bias_z, "bias_z"), alpha_z**2 * C_h + bias_std**2)
    keep = wz > 0
    uz, wz = uz[keep], wz[keep] / wz[keep].sum()
    z = _sigmoid(uz)
    poles, wzz = 1.0 - z, wz * z * z

    def fn(lam: Array) -> Array:
        return rho * (_inv_sq(lam, poles) @ wzz) - 1.0

    return support_from_function(
        fn,
        poles,
        model="gru",
        source="mean_field",
        formula=(
            "Can, Krishnamurthy & Schwab 2020 (arXiv:2002.00025) eq. (18) at a fixed point, MFT statistics; "
            "docs/theory/gated.md §5.1"
        ),
        rho=rho,
        params={"g_h": g_h, "alpha_z": alpha_z, "alpha_r": alpha_r, "C_h": C_h},
        n_points=n_points,
        slow_poles=(poles, wz),
    )


def gru_rho_large_alpha_r(
    *, g_h: float, alpha_r: float, C_h: float, dphi_sq_mean: float, sigma_sq_mean: float = 0.5
) -> float:
    r"""Large-``alpha_r`` asymptote of ρ (Prop. 4.5, (004-126); docs/theory/gated.md §5.4): ρ = O(α_r).

    .. math:: \rho\simeq g_h^2\langle\phi'^2\rangle\big(\langle\sigma^2\rangle
              +\alpha_r\sqrt{C_h}/(6\sqrt{2\pi})\big),

    from :math:`\langle\sigma'(u)^2\rangle\simeq1/(6\sqrt{2\pi\Delta})` (§1). Hence the spectral
    radius grows like :math:`\sqrt{\alpha_r}` (slowly: test ρ ∝ α_r, not the exponent).

    Example:
        >>> round(gru_rho_large_alpha_r(g_h=1.0, alpha_r=6.0 * (2 * 3.141592653589793) ** 0.5,
        ...                             C_h=1.0, dphi_sq_mean=1.0), 9)
        1.5
    """
    g_h, alpha_r, C_h = _gain(g_h, "g_h"), _gain(alpha_r, "alpha_r"), _gain(C_h, "C_h")
    d2, s2 = _gain(dphi_sq_mean, "dphi_sq_mean"), _gain(sigma_sq_mean, "sigma_sq_mean")
    return g_h**2 * d2 * (s2 + alpha_r * math.sqrt(C_h) / (6.0 * math.sqrt(2.0 * math.pi)))


def closed_gate_fraction(*, alpha_z: float, C_h: float, bias_z: float = 0.0, bias_std: float = 0.0) -> float:
    r"""θ = P(u^z < 0) = Φ(-b_z / sqrt(α_z² C_h + σ_b²)) ((004-98) = (004-28); docs/theory/gated.md §5.3).

    Example:
        >>> closed_gate_fraction(alpha_z=5.0, C_h=0.3)
        0.5
    """
    s = math.sqrt(_gain(alpha_z, "alpha_z") ** 2 * _gain(C_h, "C_h") + _gain(bias_std, "bias_std") ** 2)
    b = _real(bias_z, "bias_z")
    if s == 0:
        return 1.0 if b < 0 else 0.0
    return float(special.ndtr(-b / s))


def unsaturated_fraction(var_u: float) -> float:
    r"""f_u = P(|u| < 1) = erf(1/sqrt(2 Var u)) for a zero-mean Gaussian (004-96; docs/theory/gated.md §5.3).

    Example:
        >>> round(unsaturated_fraction(1.0), 6)
        0.682689
    """
    v = _gain(var_u, "var_u")
    return 1.0 if v == 0 else float(special.erf(1.0 / math.sqrt(2.0 * v)))


def gru_binary_gate_spectrum(
    *, theta: float, f_u: float, g_h: float, r_bar: float, n_points: int = DEFAULT_N_POINTS
) -> SpectralSupport:
    r"""Eigenvalue density with a binary update gate at a fixed point, hard-tanh, α_r = 0 (004-22).

    .. math:: \varrho=\theta\,\delta^2(\lambda-1)+(1-\theta)(1-f_u)\,\delta^2(\lambda)
              +\frac{1}{\pi g_h^2\bar r^2}\mathbb 1\big[|\lambda|\le g_h\bar r\sqrt{f_u(1-\theta)}\big]

    (docs/theory/gated.md §5.3): a fraction θ of closed gates puts exact eigenvalues at 1 (slow modes),
    saturated open units give zeros, and the rest fill a uniform disk.

    Example:
        >>> s = gru_binary_gate_spectrum(theta=0.5, f_u=0.6, g_h=3.0, r_bar=0.5)
        >>> round(s.radius, 3), s.atoms
        (0.822, ((1, 0.5), (0, 0.2)))
    """
    theta = _real(theta, "theta")
    f_u = _real(f_u, "f_u")
    for name, v in (("theta", theta), ("f_u", f_u)):
        if not 0.0 <= v <= 1.0:
            raise ValueError(f"`{name}` must be in [0, 1]; got {v}")
    g_h, r_bar = _gain(g_h, "g_h"), _gain(r_bar, "r_bar")
    mass = f_u * (1.0 - theta)
    return _disk(
        0.0,
        g_h * r_bar * math.sqrt(mass),
        model="gru",
        source="closed_form",
        formula="Can, Krishnamurthy & Schwab 2020 (arXiv:2002.00025) eq. (22); docs/theory/gated.md §5.3",
        atoms=((1, theta), (0, (1.0 - theta) * (1.0 - f_u))),
        bulk_mass=mass,
        params={"theta": theta, "f_u": f_u, "g_h": g_h, "r_bar": r_bar},
        n_points=n_points,
    )


def slow_mode_fraction(
    eps: float,
    *,
    z: Any = None,
    alpha_z: float | None = None,
    C_h: float | None = None,
    bias_z: float = 0.0,
    bias_std: float = 0.0,
) -> float:
    r"""Predicted fraction of GRU eigenvalues with :math:`|\lambda-1|<\epsilon`: P(z < ε) (docs/theory/gated.md §5.3).

    Either from the state's update gates ``z`` (the empirical fraction of gates below ε) or
    from the MFT, :math:`\Phi\big((\mathrm{logit}\,\epsilon-\bar b_z)/\sqrt{\alpha_z^2C_h+\sigma_b^2}\big)`.
    Tends to θ = 1/2 as α_z → ∞ at zero bias.

    Example:
        >>> slow_mode_fraction(0.05, alpha_z=0.0, C_h=0.5)
        0.0
        >>> round(slow_mode_fraction(0.05, alpha_z=1e9, C_h=0.5), 6)
        0.5
    """
    eps = _real(eps, "eps")
    if not 0.0 < eps < 1.0:
        raise ValueError(f"`eps` must be in (0, 1); got {eps}")
    if z is not None:
        if alpha_z is not None or C_h is not None:
            raise ValueError("give either `z` (empirical) or `alpha_z` and `C_h` (mean field), not both")
        zz = _sites(z, "z")
        return float(np.mean(zz < eps))
    if alpha_z is None or C_h is None:
        raise TypeError("`slow_mode_fraction` needs `z`, or both `alpha_z` and `C_h`")
    s = math.sqrt(_gain(alpha_z, "alpha_z") ** 2 * _gain(C_h, "C_h") + _gain(bias_std, "bias_std") ** 2)
    x = math.log(eps / (1.0 - eps)) - _real(bias_z, "bias_z")
    if s == 0:
        return 1.0 if x > 0 else 0.0
    return float(special.ndtr(x / s))


def marginal_stability_edge(
    rho: float,
    *,
    alpha_z: float,
    C_h: float,
    bias_z: float = 0.0,
    bias_std: float = 0.0,
    asymptotic: bool = False,
) -> float:
    r"""Leading spectral edge above 1 at a GRU fixed point with large α_z (Theorem 4.8; docs/theory/gated.md §5.6).

    The rightmost real point :math:`1+\delta` of the fixed-point support solves
    :math:`\rho\langle z^2/(\delta+z)^2\rangle=1` with :math:`u^z\sim\mathcal N(\mu_z,s_z^2)`,
    :math:`s_z=\sqrt{\alpha_z^2C_h+\sigma_b^2}` (the MFT edge, solved here by quadrature and
    root finding). ``asymptotic=True`` returns the closed form (004-26/27) [D]

    .. math:: \delta\simeq\exp\big(\mu_z-s_z\Phi^{-1}(1/\rho)\big),

    which has the right exponential rate but an O(1) prefactor: at ρ = 1.5, C_h = 1 it is
    larger than the solved edge by a factor 5.2, 3.7, 3.1, 2.9 at α_z = 4, 8, 12, 16.
    Requires ``rho > 1`` (a fixed point with ρ <= 1 is stable, no edge above 1). The edge
    tends to 0 as α_z → ∞ iff :math:`\rho(1-\theta)<1` (004-28).

    Example:
        >>> round(marginal_stability_edge(1.5, alpha_z=8.0, C_h=1.0), 5)  # docs/theory/gated.md §8 #12
        0.00862
        >>> round(marginal_stability_edge(1.5, alpha_z=8.0, C_h=1.0, asymptotic=True), 4)
        0.0319
    """
    rho = _real(rho, "rho")
    if rho <= 1.0:
        raise ValueError(f"`rho` must be > 1 (a fixed point with rho <= 1 is stable); got {rho}")
    s = math.sqrt(_gain(alpha_z, "alpha_z") ** 2 * _gain(C_h, "C_h") + _gain(bias_std, "bias_std") ** 2)
    mu = _real(bias_z, "bias_z")
    if asymptotic:
        return math.exp(mu - s * float(special.ndtri(1.0 / rho)))
    u, w = _gauss_rule(mu, s * s)
    z = _sigmoid(u)

    def f(log_delta: float) -> float:
        d = math.exp(log_delta)
        return rho * float(np.sum(w * z * z / (d + z) ** 2)) - 1.0

    # f decreases in delta from rho - 1 > 0 (delta -> 0) to -1, so the root is unique
    lo, hi = -700.0, math.log(max(rho, 2.0)) + 1.0
    return math.exp(optimize.brentq(f, lo, hi, xtol=1e-12))


# ----------------------------------------------------------------------------- LSTM
def lstm_zero_fixed_point(
    g: float,
    *,
    bias_f: float = 0.0,
    bias_i: float = 0.0,
    bias_o: float = 0.0,
    n_points: int = DEFAULT_N_POINTS,
) -> SpectralSupport:
    r"""Spectrum of the full 2N x 2N LSTM Jacobian at the zero fixed point (Cor. 5.3/5.4, (004-37)).

    Needs ``b_c = 0``. Half the eigenvalues are exactly 0 (rank N); the other half fill the
    uniform disk centred at :math:`\sigma(b_f)` with radius :math:`g\sigma(b_i)\sigma(b_o)`.
    Stable iff :math:`\sigma(b_f)+g\sigma(b_i)\sigma(b_o)<1` (``g < 2`` at zero bias).

    Example:
        >>> s = lstm_zero_fixed_point(1.5)
        >>> s.spectral_radius, s.atoms, s.stable
        (0.875, ((0, 0.5),), True)
    """
    g = _gain(g, "g")
    f, i, o = (
        float(_sigmoid(_real(b, n))) for b, n in ((bias_f, "bias_f"), (bias_i, "bias_i"), (bias_o, "bias_o"))
    )
    return _disk(
        f,
        g * i * o,
        model="lstm",
        source="closed_form",
        formula=(
            "Can, Krishnamurthy & Schwab 2020 (arXiv:2002.00025) Cor. 5.3-5.4, eq. (37); "
            "docs/theory/gated.md §5.7"
        ),
        atoms=((0, 0.5),),
        bulk_mass=0.5,
        params={"g": g, "bias_f": float(bias_f), "bias_i": float(bias_i), "bias_o": float(bias_o)},
        n_points=n_points,
    )


def lstm_support(
    *,
    g: float,
    alpha_f: float,
    alpha_i: float,
    alpha_o: float,
    u_f: Any,
    u_i: Any,
    u_o: Any,
    u_c: Any,
    c_prev: Any,
    weights: Any = None,
    n_points: int = DEFAULT_N_POINTS,
) -> SpectralSupport:
    r"""Boundary of the LSTM Jacobian spectrum at a state (Cor. 5.2; docs/theory/gated.md §5.7, [D, V]).

    .. math:: \frac{A}{|\lambda|^2}+\Big\langle\frac{B}{|\lambda-f|^2}\Big\rangle=1,\quad
              A=\alpha_o^2\langle\phi(c_t)^2\sigma'(u^o)^2\rangle,

    :math:`B=o^2\phi'(c_t)^2[\alpha_f^2c_{t-1}^2\sigma'(u^f)^2+\alpha_i^2\phi(u^c)^2\sigma'(u^i)^2
    +g^2i^2\phi'(u^c)^2]`, with :math:`c_t=f c_{t-1}+i\phi(u^c)`. When A = 0 (α_o = 0) half of
    the 2N eigenvalues are exactly 0 (an atom of mass 1/2; §3.4).

    Args:
        g, alpha_f, alpha_i, alpha_o: coupling gains.
        u_f, u_i, u_o, u_c: per-neuron pre-activations at time t.
        c_prev: per-neuron cell state :math:`c_{t-1}`.
        weights: site weights (quadrature nodes); uniform by default.

    Example:
        >>> import numpy as np
        >>> z = np.zeros(3)
        >>> s = lstm_support(g=1.5, alpha_f=1, alpha_i=1, alpha_o=1, u_f=z, u_i=z, u_o=z, u_c=z, c_prev=z)
        >>> round(s.rightmost, 12), round(s.leftmost, 12)  # zero FP: disk centre 1/2, radius 3/8
        (0.875, 0.125)
    """
    g, af, ai, ao = (
        _gain(v, n) for v, n in ((g, "g"), (alpha_f, "alpha_f"), (alpha_i, "alpha_i"), (alpha_o, "alpha_o"))
    )
    uf, ui, uo, uc, cp = (
        _sites(u_f, "u_f"),
        _sites(u_i, "u_i"),
        _sites(u_o, "u_o"),
        _sites(u_c, "u_c"),
        _sites(c_prev, "c_prev"),
    )
    n = _same_size(u_f=uf, u_i=ui, u_o=uo, u_c=uc, c_prev=cp)
    uf, ui, uo, uc, cp = (np.broadcast_to(a, (n,)) for a in (uf, ui, uo, uc, cp))
    w = _weights(weights, n)
    f, i, o = _sigmoid(uf), _sigmoid(ui), _sigmoid(uo)
    cand = np.tanh(uc)
    c = f * cp + i * cand
    tc = np.tanh(c)
    a_coef = ao**2 * float(np.sum(w * tc**2 * _dsigmoid(uo) ** 2))
    b = (o * (1.0 - tc**2)) ** 2 * (
        af**2 * cp**2 * _dsigmoid(uf) ** 2
        + ai**2 * cand**2 * _dsigmoid(ui) ** 2
        + g**2 * i**2 * (1.0 - cand**2) ** 2
    )
    wb = w * b

    def fn(lam: Array) -> Array:
        lam = np.asarray(lam, dtype=np.complex128)
        return a_coef / np.maximum(np.abs(lam) ** 2, 1e-300) + _inv_sq(lam, f) @ wb - 1.0

    poles = [f[wb > 0]] if np.any(wb > 0) else []
    if a_coef > 0:
        poles.append(np.zeros(1))
    if not poles:
        poles = [f]
    atoms: tuple[tuple[complex, float], ...] = ((0, 0.5),) if a_coef == 0 else ()
    return support_from_function(
        fn,
        np.concatenate(poles),
        model="lstm",
        source="state" if weights is None else "mean_field",
        formula="Can, Krishnamurthy & Schwab 2020 (arXiv:2002.00025) Cor. 5.2; docs/theory/gated.md §5.7",
        atoms=atoms,
        bulk_mass=0.5 if a_coef == 0 else 1.0,
        params={"g": g, "alpha_f": af, "alpha_i": ai, "alpha_o": ao, "A": a_coef},
        n_points=n_points,
        slow_poles=(f, 0.5 * w),
    )


def lstm_resolvent(lam: Any, *, f: Any, weights: Any = None) -> Array:
    r"""Normalised trace of the LSTM resolvent outside the support (Theorem 5.1, docs/theory/gated.md §5.7).

    .. math:: \frac{1}{2N}\mathrm{tr}(\lambda-\mathcal D)^{-1}=\tfrac12\big[\langle(\lambda-f)^{-1}\rangle+\lambda^{-1}\big]

    Args:
        lam: point(s) outside the support (complex).
        f: per-neuron forget gates at time t.

    Example:
        >>> round(complex(lstm_resolvent(2.0, f=[0.5, 0.5])).real, 6)  # (1/1.5 + 1/2) / 2
        0.583333
    """
    z = np.asarray(lam, dtype=np.complex128)
    ff = _sites(f, "f")
    w = _weights(weights, ff.size)
    return 0.5 * ((1.0 / (z[..., None] - ff)) @ w + 1.0 / z)


def lstm_large_gate_terms(
    *,
    alpha_o: float,
    alpha_i: float,
    C_h: float,
    phi_c_sq_mean: float,
    o_dphi_sq_mean: float,
    cand_sq_mean: float,
) -> tuple[float, float]:
    r"""Large-α asymptotes of the LSTM boundary coefficients (Prop. 5.5, (004-40); docs/theory/gated.md §5.7).

    :math:`A\simeq\alpha_o\langle\phi(c)^2\rangle/(6\sqrt{2\pi C_h})` (output gate) and the input-gate
    part of :math:`\bar B`, :math:`\alpha_i\langle o^2\phi'^2\rangle\langle\phi(u^c)^2\rangle/(6\sqrt{2\pi C_h})`:
    both O(α), so the radius grows as O(α^{1/2}) (slowly; test against the boundary formula).

    Returns:
        ``(A, B_input)``.

    Example:
        >>> a, b = lstm_large_gate_terms(alpha_o=10.0, alpha_i=0.0, C_h=1.0, phi_c_sq_mean=0.5,
        ...                              o_dphi_sq_mean=0.2, cand_sq_mean=0.4)
        >>> round(a, 6), b
        (0.332452, 0.0)
    """
    ao, ai, C_h = _gain(alpha_o, "alpha_o"), _gain(alpha_i, "alpha_i"), _gain(C_h, "C_h")
    if C_h == 0:
        raise ValueError("`C_h` must be > 0 for the large-gain asymptotes")
    k = 1.0 / (6.0 * math.sqrt(2.0 * math.pi * C_h))
    return (
        ao * _gain(phi_c_sq_mean, "phi_c_sq_mean") * k,
        ai * _gain(o_dphi_sq_mean, "o_dphi_sq_mean") * _gain(cand_sq_mean, "cand_sq_mean") * k,
    )


# ----------------------------------------------------------------------------- gated flow
def gated_flow_zero_fixed_point(
    g_h: float,
    *,
    bias_z: float = 0.0,
    bias_r: float = 0.0,
    tau_z: float = 1.0,
    tau_r: float = 1.0,
    n_points: int = DEFAULT_N_POINTS,
) -> SpectralSupport:
    r"""Spectrum of the 3N x 3N vector-field Jacobian (P-2) of the gated flow at the zero fixed point.

    Block lower-triangular there (docs/theory/gated.md §3.5): N eigenvalues at :math:`-1/\tau_z`, N at
    :math:`-1/\tau_r`, and the uniform disk of :math:`[\sigma_z](-1+g_hJ^h[\sigma_r])`, centred at
    :math:`-\sigma(b_z)` with radius :math:`g_h\sigma(b_z)\sigma(b_r)` (zero bias: centre -1/2,
    radius g_h/4; activity decays at rate 1/2 - g_h/4). Biases enter as σ(z + b_z), σ(r + b_r).

    Example:
        >>> s = gated_flow_zero_fixed_point(1.5)
        >>> s.max_real, s.stable
        (-0.125, True)
    """
    g_h = _gain(g_h, "g_h")
    tz, tr = _real(tau_z, "tau_z"), _real(tau_r, "tau_r")
    if tz <= 0 or tr <= 0:
        raise ValueError(f"`tau_z` and `tau_r` must be > 0; got {tz}, {tr}")
    sz, sr = float(_sigmoid(_real(bias_z, "bias_z"))), float(_sigmoid(_real(bias_r, "bias_r")))
    return _disk(
        -sz,
        g_h * sz * sr,
        model="gated_flow",
        source="closed_form",
        formula=(
            "Krishnamurthy, Can & Schwab 2022 (arXiv:2007.14823) model, Jacobian (P-2) at the zero fixed point; "
            "docs/theory/gated.md §3.5"
        ),
        atoms=((-1.0 / tz, 1.0 / 3.0), (-1.0 / tr, 1.0 / 3.0)),
        bulk_mass=1.0 / 3.0,
        continuous=True,
        params={"g_h": g_h, "bias_z": float(bias_z), "bias_r": float(bias_r), "tau_z": tz, "tau_r": tr},
        n_points=n_points,
    )


def gated_flow_support(
    *,
    g_h: float,
    alpha_z: float,
    alpha_r: float,
    h: Any,
    z: Any,
    r: Any,
    xi: Any,
    tau_z: float = 1.0,
    tau_r: float = 1.0,
    weights: Any = None,
    n_points: int = DEFAULT_N_POINTS,
) -> SpectralSupport:
    r"""Boundary of the gated-flow vector-field Jacobian spectrum at a state (docs/theory/gated.md §5.8 [D, V]).

    .. math:: g_h^2\Big\langle\frac{\phi'(h)^2\sigma(z)^2}{|\lambda+\sigma(z)|^2}\Big\rangle
              \Big[\langle\sigma(r)^2\rangle+\frac{\alpha_r^2\langle\phi(h)^2\rangle\langle\sigma'(r)^2\rangle}
              {|1+\tau_r\lambda|^2}\Big]+\frac{\alpha_z^2}{|1+\tau_z\lambda|^2}
              \Big\langle\frac{\phi'(h)^2\sigma'(z)^2\xi^2}{|\lambda+\sigma(z)|^2}\Big\rangle=1

    with :math:`\xi=\dot h/\sigma(z)` (0 at fixed points). ``z`` and ``r`` are the gate
    *arguments* including any bias (σ is applied here). Only the bulk is predicted.

    Example:
        >>> import numpy as np
        >>> zero = np.zeros(3)
        >>> s = gated_flow_support(g_h=1.5, alpha_z=2, alpha_r=2, h=zero, z=zero, r=zero, xi=zero)
        >>> round(s.rightmost, 12)
        -0.125
    """
    g_h, az, ar = _gain(g_h, "g_h"), _gain(alpha_z, "alpha_z"), _gain(alpha_r, "alpha_r")
    tz, tr = _real(tau_z, "tau_z"), _real(tau_r, "tau_r")
    if tz <= 0 or tr <= 0:
        raise ValueError(f"`tau_z` and `tau_r` must be > 0; got {tz}, {tr}")
    hh, zz, rr, xx = _sites(h, "h"), _sites(z, "z"), _sites(r, "r"), _sites(xi, "xi")
    n = _same_size(h=hh, z=zz, r=rr, xi=xx)
    hh, zz, rr, xx = (np.broadcast_to(a, (n,)) for a in (hh, zz, rr, xx))
    w = _weights(weights, n)
    phi = np.tanh(hh)
    dphi2 = (1.0 - phi**2) ** 2
    sz, dsz = _sigmoid(zz), _dsigmoid(zz)
    s_r2 = float(np.sum(w * _sigmoid(rr) ** 2))
    r_term = ar**2 * float(np.sum(w * phi**2)) * float(np.sum(w * _dsigmoid(rr) ** 2))
    w1 = w * g_h**2 * dphi2 * sz**2
    w2 = w * az**2 * dphi2 * dsz**2 * xx**2
    poles = -sz

    def fn(lam: Array) -> Array:
        lam = np.asarray(lam, dtype=np.complex128)
        inv = _inv_sq(lam, poles)
        er = 1.0 / np.maximum(np.abs(1.0 + tr * lam) ** 2, 1e-300)
        ez = 1.0 / np.maximum(np.abs(1.0 + tz * lam) ** 2, 1e-300)
        return (inv @ w1) * (s_r2 + r_term * er) + ez * (inv @ w2) - 1.0

    pole_list = [poles[(w1 + w2) > 0]] if np.any((w1 + w2) > 0) else [poles]
    if r_term > 0 or np.any(w2 > 0):
        pole_list.append(np.array([-1.0 / tr, -1.0 / tz]))
    return support_from_function(
        fn,
        np.concatenate(pole_list),
        model="gated_flow",
        source="state" if weights is None else "mean_field",
        formula=(
            "spectral curve of the Krishnamurthy, Can & Schwab 2022 (arXiv:2007.14823) model; "
            "docs/theory/gated.md §5.8"
        ),
        continuous=True,
        params={"g_h": g_h, "alpha_z": az, "alpha_r": ar, "tau_z": tz, "tau_r": tr},
        n_points=n_points,
        slow_poles=(poles, w / 3.0),
    )


__all__ = [
    "SpectralSupport",
    "circular_law",
    "closed_gate_fraction",
    "gated_flow_support",
    "gated_flow_zero_fixed_point",
    "gru_alpha_z0_radius",
    "gru_binary_gate_spectrum",
    "gru_rho",
    "gru_rho_large_alpha_r",
    "gru_rho_mean_field",
    "gru_support",
    "gru_support_mean_field",
    "gru_zero_fixed_point",
    "lstm_large_gate_terms",
    "lstm_resolvent",
    "lstm_support",
    "lstm_zero_fixed_point",
    "marginal_stability_edge",
    "slow_mode_fraction",
    "support_from_function",
    "unsaturated_fraction",
    "vanilla_support",
]

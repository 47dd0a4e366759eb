"""Random-matrix theory of gradients through gated RNN Jacobians (Can, Krishnamurthy, Schwab 2020).

Backpropagation through ``t`` steps multiplies the gradient by products of state-to-state
Jacobians; its mean squared size is :math:`\\tfrac1N\\mathbb E\\,\\mathrm{tr}\\,D^tD^{t\\top}`. Two
results of CKS20 (arXiv:2002.00025, App. D and F; docs/theory/gated.md §5.4):

* **alpha_z = 0 growth law** (004-139/140). With a constant update gate :math:`\\bar z` the
  Jacobian at a fixed point is :math:`D=(1-\\bar z)\\mathbb 1+\\bar z X` with ``X`` iid-like,
  :math:`\\tfrac1N\\mathrm{tr}X^kX^{\\top k}\\to\\rho^k` (``rho`` the spectral shaping parameter,
  (004-19)), so

  .. math:: \\tfrac1N\\mathbb E\\,\\mathrm{tr}\\,D^tD^{t\\top}=\\sum_{k=0}^t\\binom tk^2(1-\\bar z)^{2(t-k)}\\bar z^{2k}\\rho^k
     \\ \\overset{\\bar z=1/2}{=}\\ 4^{-t}\\,{}_2F_1(-t,-t;1;\\rho),

  growing like :math:`(1-\\bar z+\\bar z\\sqrt\\rho)^{2t}` (Gelfand: the spectral radius (004-120)).
* **Binary update gate, long-time limit** (004-133)-(004-137). With gates ``z in {0, 1}`` (closed
  fraction ``theta``) and :math:`X=[\\phi']J_h\\bar r` on the open rows,

  .. math:: \\tfrac1N\\mathbb E\\,\\mathrm{tr}\\,D^tD^{t\\top}=\\theta+\\theta\\sum_{k=1}^{t}q^k+(1-\\theta)q^t,
     \\quad q=\\rho(1-\\theta)\\ \\xrightarrow{t\\to\\infty}\\ \\frac{\\theta}{1-q}\\quad(q<1):

  gradients neither explode nor vanish (the closed gates carry them unchanged).

Both are pure functions of ``(rho, gate statistics, t)``; ``rho`` at a fixed point comes from
:func:`rnndyn.meanfield.gated.spectral_shaping` (or from a network's state).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
from scipy.special import gammaln, logsumexp

from rnndyn._checks import check_positive_int, check_real
from rnndyn._results import Result, Status


def _times(t) -> np.ndarray:  # noqa: ANN001
    arr = np.atleast_1d(np.asarray(t))
    if arr.dtype.kind not in "iu" and not (arr.dtype.kind == "f" and np.all(arr == np.round(arr))):
        raise TypeError(f"`t` must be integer step counts; got {t!r}")
    arr = arr.astype(np.int64)
    if np.any(arr < 0):
        raise ValueError(f"`t` must be >= 0; got {t!r}")
    return arr


def constant_gate_norm(rho: float, t, *, z_bar: float = 0.5) -> np.ndarray:  # noqa: ANN001
    """:math:`\\tfrac1N\\mathbb E\\,\\mathrm{tr}\\,D^tD^{t\\top}` for ``D = (1 - z_bar) + z_bar X`` (CKS20 (004-139/140)).

    .. math:: \\sum_{k=0}^t\\binom tk^2(1-\\bar z)^{2(t-k)}\\bar z^{2k}\\rho^k

    evaluated in log space (no overflow for large ``t``).

    Args:
        rho: spectral shaping parameter :math:`\\tfrac1N\\mathrm{tr}XX^\\top`, ``>= 0``.
        t: number of steps (int or integer array, ``>= 0``).
        z_bar: the constant update gate ``sigma(b_z)`` in ``(0, 1]`` (1/2 at zero bias).

    Returns:
        array of the shape of ``np.atleast_1d(t)``.

    Raises:
        ValueError: ``rho < 0``, ``z_bar`` outside ``(0, 1]``, negative ``t``.
        TypeError: non-integer ``t``.

    References:
        T. Can, K. Krishnamurthy, D. J. Schwab, arXiv:2002.00025, App. D (004-139/140);
        docs/theory/gated.md §5.4.

    >>> float(constant_gate_norm(1.0, 1)[0])  # (1/4)(1 + rho) at z_bar = 1/2
    0.5
    >>> round(float(constant_gate_norm(2.25, 2)[0]), 6)  # (1 + 4 rho + rho^2) / 16
    0.941406
    """
    rho = check_real(rho, "rho", low=0.0)
    z_bar = check_real(z_bar, "z_bar", low=0.0, high=1.0, low_open=True)
    ts = _times(t)
    out = np.empty(ts.size)
    a = 1.0 - z_bar
    for i, tt in enumerate(ts):
        k = np.arange(tt + 1)
        logc = gammaln(tt + 1) - gammaln(k + 1) - gammaln(tt - k + 1)
        with np.errstate(divide="ignore"):
            terms = 2 * logc + 2 * (tt - k) * np.log(a) + k * (2 * np.log(z_bar) + np.log(rho))
        lse = float(logsumexp(terms)) if np.isfinite(terms).any() else -math.inf
        out[i] = math.exp(lse) if lse < 709.0 else math.inf  # beyond float64: inf, not a warning
    return out


def constant_gate_rate(rho: float, *, z_bar: float = 0.5) -> float:
    """Asymptotic growth rate per step of the gradient norm: :math:`\\ln(1-\\bar z+\\bar z\\sqrt\\rho)`.

    ``lim (1/2t) ln[(1/N) tr D^t D^tT]``; its exponential is the spectral radius (004-120/121).

    >>> round(constant_gate_rate(4.0), 6)  # r_spec = (1 + 2)/2
    0.405465
    """
    rho = check_real(rho, "rho", low=0.0)
    z_bar = check_real(z_bar, "z_bar", low=0.0, high=1.0, low_open=True)
    return (
        math.log(1.0 - z_bar + z_bar * math.sqrt(rho))
        if (1.0 - z_bar + z_bar * math.sqrt(rho)) > 0
        else -math.inf
    )


def binary_gate_norm(rho: float, theta: float, t) -> np.ndarray:  # noqa: ANN001
    """:math:`\\tfrac1N\\mathbb E\\,\\mathrm{tr}\\,D^tD^{t\\top}` with binary update gates (CKS20 (004-133)-(004-137)).

    ``D = [1 - z] + [z] X``, ``z in {0, 1}`` with closed fraction ``theta``, ``X`` iid-like with
    :math:`\\tfrac1N\\mathrm{tr}XX^\\top=\\rho`. With ``q = rho (1 - theta)``:

    .. math:: \\theta+\\theta\\sum_{k=1}^t q^k+(1-\\theta)q^t .

    Derivation (docs/theory/gated.md §5.4): a vector ``w`` propagated by ``D`` keeps its closed
    components; the open ones receive ``X w``, whose squared norm is ``rho (1 - theta) |w|^2``.

    Args:
        rho: shaping parameter of the open rows, ``>= 0``.
        theta: fraction of closed gates (``z = 0``), in ``[0, 1]``.
        t: steps (int or integer array).

    Returns:
        array of the shape of ``np.atleast_1d(t)``.

    References:
        Can, Krishnamurthy, Schwab, arXiv:2002.00025, App. F (004-133)-(004-137);
        docs/theory/gated.md §5.4.

    >>> round(float(binary_gate_norm(1.5, 0.5, 1)[0]), 6)  # theta + rho (1 - theta)
    1.25
    """
    rho = check_real(rho, "rho", low=0.0)
    theta = check_real(theta, "theta", low=0.0, high=1.0)
    ts = _times(t).astype(float)
    q = rho * (1.0 - theta)
    geo = ts if q == 1.0 else q * (1.0 - q**ts) / (1.0 - q)
    return theta + theta * geo + (1.0 - theta) * q**ts


def binary_gate_limit(rho: float, theta: float) -> float:
    """Long-time limit :math:`\\theta/(1-\\rho(1-\\theta))` of :func:`binary_gate_norm`; ``inf`` if ``rho (1-theta) >= 1``.

    At zero bias ``theta = 1/2`` it is finite iff ``rho < 2``: the marginal-stability condition
    (004-28) of CKS20 Theorem 4.8.

    >>> round(binary_gate_limit(1.5, 0.473), 2)
    2.26
    """
    rho = check_real(rho, "rho", low=0.0)
    theta = check_real(theta, "theta", low=0.0, high=1.0)
    q = rho * (1.0 - theta)
    return theta / (1.0 - q) if q < 1.0 else math.inf


@dataclass(frozen=True, kw_only=True)
class GradientNormResult(Result):
    """Predicted gradient-norm growth ``(1/N) E tr D^t D^tT`` on a set of horizons.

    Attributes: ``law`` (``"constant_gate"`` or ``"binary_gate"``), ``rho``, ``z_bar`` / ``theta``,
    ``t`` and ``norm`` (arrays), ``rate`` (per-step asymptotic log growth of the norm, i.e. of
    its square root), ``limit`` (binary gates: the t -> infinity value), ``status``, ``message``.
    """

    law: str
    rho: float
    z_bar: float
    theta: float
    rate: float
    limit: float
    t: np.ndarray = field(repr=False)
    norm: np.ndarray = field(repr=False)

    def _display_names(self) -> list[str]:
        # NaN marks a parameter of the other law (z_bar for binary gates, theta and limit for a
        # constant gate): not shown, so repr/summary list only what this law used and predicts
        return [
            n
            for n in super()._display_names()
            if not (isinstance(v := getattr(self, n), float) and math.isnan(v))
        ]


def gradient_norm_theory(
    *,
    rho: float,
    t_max: int = 100,
    law: str = "constant_gate",
    z_bar: float | None = None,
    theta: float | None = None,
) -> GradientNormResult:
    """One call for the CLI: the CKS20 gradient-norm law on ``t = 0 .. t_max``.

    Args:
        rho: spectral shaping parameter (004-19).
        t_max: largest horizon, ``>= 1``.
        law: ``"constant_gate"`` (alpha_z = 0, :func:`constant_gate_norm`) or ``"binary_gate"``
            (alpha_z -> infinity, :func:`binary_gate_norm`).
        z_bar: constant update gate (constant_gate only; default 0.5). theta: closed fraction
            (binary_gate only; default 0.5). Given for the other law it is an error, not ignored.

    Returns:
        :class:`GradientNormResult`.

    Raises:
        ValueError: bad arguments; ``theta`` with ``law="constant_gate"`` or ``z_bar`` with
        ``law="binary_gate"`` (the law does not use it).

    References:
        Can, Krishnamurthy, Schwab (2020), arXiv:2002.00025, App. D and F.
    """
    t_max = check_positive_int(t_max, "t_max")
    if law not in ("constant_gate", "binary_gate"):
        raise ValueError(f"`law` must be 'constant_gate' or 'binary_gate'; got {law!r}")
    unused = ("theta", theta) if law == "constant_gate" else ("z_bar", z_bar)
    if unused[1] is not None:
        other = "binary_gate" if law == "constant_gate" else "constant_gate"
        raise ValueError(
            f"`{unused[0]}` applies to law {other!r} only; got {unused[0]}={unused[1]!r} with law {law!r}"
        )
    z_bar = 0.5 if z_bar is None else z_bar
    theta = 0.5 if theta is None else theta
    t = np.arange(t_max + 1)
    if law == "constant_gate":
        norm = constant_gate_norm(rho, t, z_bar=z_bar)
        rate = constant_gate_rate(rho, z_bar=z_bar)
        return GradientNormResult(
            law=law, rho=float(rho), z_bar=float(z_bar), theta=float("nan"), rate=rate, limit=float("nan"),
            t=t, norm=norm, status=Status.SUCCESS,
        )  # fmt: skip
    norm = binary_gate_norm(rho, theta, t)
    lim = binary_gate_limit(rho, theta)
    q = rho * (1 - theta)
    rate = 0.0 if q <= 1 else 0.5 * math.log(q)
    msg = "" if math.isfinite(lim) else "rho (1 - theta) >= 1: the norm grows without bound"
    return GradientNormResult(
        law=law, rho=float(rho), z_bar=float("nan"), theta=float(theta), rate=rate, limit=lim, t=t, norm=norm,
        status=Status.SUCCESS, message=msg,
    )  # fmt: skip


__all__ = [
    "GradientNormResult",
    "binary_gate_limit",
    "binary_gate_norm",
    "constant_gate_norm",
    "constant_gate_rate",
    "gradient_norm_theory",
]

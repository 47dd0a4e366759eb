"""Probability of chaos at initialisation vs width, for scalar feedback networks and vector RNNs.

docs/theory/chaos.md §1.5 items 2 and 4: Monte Carlo over initialisations, Wilson intervals.
[CPSS22] claim: under He/Xavier initialisation the probability of Li--Yorke chaos is a constant
independent of the width (for the network class of their theorem, which we could not read).
"""

from __future__ import annotations

import math
import numbers
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from rnndyn._checks import check_choice, check_device, check_generator, check_positive_int, check_real
from rnndyn._results import Result, Status
from rnndyn.chaos._common import wilson_interval
from rnndyn.chaos._detect import lyapunov_exponent_1d, period3, topological_entropy
from rnndyn.chaos._networks import ACTIVATIONS, OUT_ACTIVATIONS, SCALAR_INITS, ScalarNetwork

Tensor = torch.Tensor

CRITERIA = ("period3", "entropy", "lyapunov")
VECTOR_INITS = ("he", "xavier", "glorot", "lecun")

Progress = Callable[[int, int], None] | None


@dataclass(frozen=True, eq=False, kw_only=True)
class ChaosProbabilityResult(Result):
    """Fraction of chaotic networks per width, with 95 % Wilson intervals.

    Attributes:
        widths, n_networks, n_chaotic: per width. probability = n_chaotic / n_networks;
        ci_low / ci_high: Wilson score interval. criterion, init, activation, model ("scalar" for
        1 -> n -> 1 feedback networks, "vector" for h' = phi(W h + b)), seconds (wall time per
        width), settings (the remaining options), status, message.
    """

    widths: tuple[int, ...]
    n_networks: tuple[int, ...]
    n_chaotic: tuple[int, ...]
    probability: tuple[float, ...]
    ci_low: tuple[float, ...]
    ci_high: tuple[float, ...]
    criterion: str
    init: str
    activation: str
    model: str
    seconds: tuple[float, ...]
    settings: dict[str, Any]

    _repr_fields = (
        "widths",
        "probability",
        "ci_low",
        "ci_high",
        "n_networks",
        "criterion",
        "init",
        "activation",
    )

    def summary(self) -> str:
        """The status, the settings and one line per width: chaotic / networks, p and its interval."""
        lines = [super().summary()]
        for row in self.table():
            lines.append(
                f"  width {row['width']}: {row['chaotic']}/{row['n']} chaotic, p = {row['p']:.4g} "
                f"(95 % CI {row['ci_low']:.4g} to {row['ci_high']:.4g})"
            )
        return "\n".join(lines)

    def table(self) -> list[dict[str, Any]]:
        """One row per width (for printing)."""
        return [
            {
                "width": w,
                "n": n,
                "chaotic": k,
                "p": p,
                "ci_low": lo,
                "ci_high": hi,
            }
            for w, n, k, p, lo, hi in zip(
                self.widths,
                self.n_networks,
                self.n_chaotic,
                self.probability,
                self.ci_low,
                self.ci_high,
                strict=True,
            )
        ]


def _as_int(v: Any) -> Any:
    # NumPy / 0-d torch integers (np.arange(2, 10), torch.tensor(4)) are ints; bools and floats are not
    if isinstance(v, numbers.Integral) and not isinstance(v, bool | np.bool_):
        return int(v)
    if (
        isinstance(v, torch.Tensor)
        and v.ndim == 0
        and not v.dtype.is_floating_point
        and v.dtype != torch.bool
    ):
        return int(v.item())
    return v


def _check_widths(width: Any) -> tuple[int, ...]:
    if (
        isinstance(width, str)
        or not hasattr(width, "__iter__")
        or (isinstance(width, torch.Tensor | np.ndarray) and width.ndim == 0)
    ):
        return (check_positive_int(_as_int(width), "width"),)
    ws = tuple(width)
    if len(ws) == 0:
        raise ValueError("`width` must be an int >= 1 or a non-empty list of them; got an empty list")
    out = tuple(check_positive_int(_as_int(w), "width") for w in ws)
    dup = sorted({w for w in out if out.count(w) > 1})
    if dup:
        raise ValueError(
            f"`width` must list each width once (a repeated width draws the same networks again); "
            f"got {list(out)} with {dup} repeated"
        )
    return out


def _check_run_options(seed: Any, chunk_size: Any, dtype: Any) -> tuple[int, int | None]:
    seed = _as_int(seed)
    if isinstance(seed, bool) or not isinstance(seed, int):
        raise TypeError(f"`seed` must be an int; got {type(seed).__name__} {seed!r}")
    if chunk_size is not None:
        chunk_size = check_positive_int(_as_int(chunk_size), "chunk_size")
    if not (isinstance(dtype, torch.dtype) and dtype.is_floating_point and not dtype.is_complex):
        raise TypeError(
            f"`dtype` must be a real floating-point torch.dtype (torch.float64, torch.float32); got {dtype!r}"
        )
    return seed, chunk_size


def _width_generator(seed: int, width: int) -> torch.Generator:
    # one stream per (seed, width): adding widths to a run never changes another width's networks
    return torch.Generator().manual_seed((int(seed) * 1_000_003 + int(width)) % (2**63 - 1))


def chaos_probability(
    width: int | Sequence[int],
    *,
    init: str = "he",
    activation: str = "relu",
    n_networks: int = 1000,
    criterion: str = "period3",
    seed: int = 0,
    out_activation: str = "identity",
    output_bias: bool = True,
    entropy_threshold: float = 0.2,
    lyapunov_threshold: float = 0.01,
    n_grid: int = 2001,
    chunk_size: int | None = None,
    device: torch.device | str | None = None,
    dtype: torch.dtype = torch.float64,
    progress: Progress = None,
) -> ChaosProbabilityResult:
    r"""Probability that a random scalar feedback network :math:`x_{t+1} = f(x_t)` is chaotic, per width.

    ``f`` is a 1 -> ``width`` -> 1 network (:meth:`ScalarNetwork.random`, the notebooks' setting
    of docs/theory/chaos.md §1.2). Criteria:

    * ``"period3"``: a point of least period 3 (Li--Yorke; exact for ReLU, grid + bisection with
      ``n_grid`` points for tanh). Evaluates :math:`f^3` -- *not* :math:`f^4` as the authors'
      notebooks do, which inflates their percentages (docs/theory/chaos.md §1.2).
    * ``"entropy"``: lap-growth entropy of :math:`f^t` on the real line above ``entropy_threshold``
      (default 0.2 nats; period 3 forces at least ``ln phi = 0.48``).
    * ``"lyapunov"``: a bounded orbit (of 8 from ``N(0, 1)``) with 1-D exponent above
      ``lyapunov_threshold``.

    Networks are processed in batches (thousands at once) on ``device``; they are drawn on the CPU
    from one generator per (``seed``, width) so results do not depend on the device or on the
    other widths requested.

    Args:
        width: one width or a list (each ``>= 1``).
        init: one of :data:`SCALAR_INITS`. activation: ``"relu"`` / ``"tanh"``.
        n_networks: networks per width (``>= 1``).
        criterion: ``"period3"``, ``"entropy"`` or ``"lyapunov"``.
        seed: base seed. progress: optional ``callback(done, total)`` (networks).

    Returns:
        :class:`ChaosProbabilityResult`.

    Raises:
        ValueError / TypeError: width < 1, unknown init/activation/criterion, n_networks < 1.

    Example:
        >>> import rnndyn as rd
        >>> res = rd.chaos.chaos_probability([2, 8], init="he", n_networks=200, seed=0)
        >>> res.widths, res.n_networks
        ((2, 8), (200, 200))
        >>> all(lo <= p <= hi for p, lo, hi in zip(res.probability, res.ci_low, res.ci_high))
        True
    """
    widths = _check_widths(width)
    check_choice(init, "init", SCALAR_INITS)
    check_choice(activation, "activation", ACTIVATIONS)
    check_choice(out_activation, "out_activation", OUT_ACTIVATIONS)
    check_choice(criterion, "criterion", CRITERIA)
    n_networks = check_positive_int(n_networks, "n_networks")
    entropy_threshold = check_real(entropy_threshold, "entropy_threshold", low=0.0)
    lyapunov_threshold = check_real(lyapunov_threshold, "lyapunov_threshold")
    device = None if device is None else check_device(device)
    seed, chunk_size = _check_run_options(seed, chunk_size, dtype)
    total = n_networks * len(widths)
    done = 0
    ks, secs = [], []
    for w in widths:
        gen = _width_generator(seed, w)
        chunk = chunk_size or max(
            16, min(4096, (1 << 18) // w if activation == "relu" else (1 << 21) // (w * n_grid // 64 + 1))
        )
        k = 0
        t0 = time.perf_counter()
        for start in range(0, n_networks, chunk):
            m = min(chunk, n_networks - start)
            net = ScalarNetwork.random(
                w,
                m,
                init=init,
                activation=activation,
                out_activation=out_activation,
                output_bias=output_bias,
                generator=gen,
                dtype=dtype,
                device=device,
            )
            k += int(_is_chaotic(net, criterion, entropy_threshold, lyapunov_threshold, n_grid, gen).sum())
            done += m
            if progress is not None:
                progress(done, total)
        ks.append(k)
        secs.append(time.perf_counter() - t0)
    return _pack(
        widths,
        n_networks,
        ks,
        secs,
        criterion,
        init,
        activation,
        "scalar",
        {
            "out_activation": out_activation,
            "output_bias": output_bias,
            "seed": seed,
            "entropy_threshold": entropy_threshold,
            "lyapunov_threshold": lyapunov_threshold,
            "n_grid": n_grid,
            "dtype": str(dtype),
        },
    )


def _pack(
    widths, n_networks, ks, secs, criterion, init, activation, model, settings
) -> ChaosProbabilityResult:
    cis = [wilson_interval(k, n_networks) for k in ks]
    return ChaosProbabilityResult(
        widths=tuple(widths),
        n_networks=(n_networks,) * len(widths),
        n_chaotic=tuple(ks),
        probability=tuple(k / n_networks for k in ks),
        ci_low=tuple(c[0] for c in cis),
        ci_high=tuple(c[1] for c in cis),
        criterion=criterion,
        init=init,
        activation=activation,
        model=model,
        seconds=tuple(secs),
        settings=settings,
        status=Status.SUCCESS,
        message=f"{n_networks} networks per width, criterion {criterion!r}, 95 % Wilson intervals",
    )


def _is_chaotic(net: ScalarNetwork, criterion: str, h_min: float, lam_min: float, n_grid: int, gen) -> Tensor:
    if criterion == "period3":
        return period3(net, n_grid=n_grid).has_period3
    if criterion == "entropy":
        res = topological_entropy(net, t_max=16, max_laps=1 << 12)
        return torch.nan_to_num(res.entropy, nan=0.0) > h_min
    res = lyapunov_exponent_1d(net, n_steps=1000, n_transient=300, n_orbits=8, generator=gen)
    return torch.nan_to_num(res.exponent, nan=-math.inf) > lam_min


# ---------------------------------------------------------------------------------------------
def _vector_std(init: str, n: int) -> float:
    if init == "he":
        return math.sqrt(2.0 / n)
    if init in ("xavier", "glorot"):
        return math.sqrt(2.0 / (n + n))
    return math.sqrt(1.0 / n)


def batched_max_lyapunov_rnn(
    weight: Tensor,
    bias: Tensor,
    activation: str,
    *,
    n_steps: int,
    n_transient: int,
    generator: torch.Generator | None = None,
    bound: float = 1e8,
) -> tuple[Tensor, Tensor]:
    r"""λ_max of many vanilla RNNs :math:`h' = \phi(W h + b)` at once (tangent vector, renormalised).

    ``weight``: ``(B, n, n)``, ``bias``: ``(B, n)``. Returns ``(lambda_max (B,), bounded (B,))``;
    ``v' = \phi'(a) \odot (W v)`` is the exact linearisation (docs/theory/gated.md §3.1), so this is the
    QR method with ``k = 1``. Cross-checked against :func:`rnndyn.max_lyapunov` in the tests.

    Raises:
        TypeError / ValueError: non-tensor or non-floating ``weight``/``bias``, shapes other than
        ``(B, n, n)`` / ``(B, n)``, an ``activation`` other than ``relu``/``tanh``, ``n_steps < 1``,
        ``n_transient < 0``, ``bound <= 0``, a ``generator`` that is not a ``torch.Generator``.
    """
    check_choice(activation, "activation", ACTIVATIONS)
    n_steps = check_positive_int(n_steps, "n_steps")
    n_transient = check_positive_int(n_transient, "n_transient", minimum=0)
    bound = check_real(bound, "bound", low=0.0, low_open=True)
    check_generator(generator)
    for name, x, nd in (("weight", weight, 3), ("bias", bias, 2)):
        if not isinstance(x, torch.Tensor) or not x.dtype.is_floating_point:
            raise TypeError(f"`{name}` must be a floating-point torch.Tensor; got {type(x).__name__}")
        if x.ndim != nd:
            raise ValueError(f"`{name}` must have {nd} dimensions; got shape {tuple(x.shape)}")
    if weight.shape[1] != weight.shape[2] or tuple(bias.shape) != tuple(weight.shape[:2]):
        raise ValueError(
            f"`weight` must be (B, n, n) and `bias` (B, n); got {tuple(weight.shape)} and {tuple(bias.shape)}"
        )
    B, n, _ = weight.shape
    kw = {"generator": generator, "dtype": torch.float64}
    h = (0.5 * torch.randn(B, n, **kw)).to(weight)
    v = torch.randn(B, n, **kw).to(weight)
    v = v / torch.linalg.vector_norm(v, dim=-1, keepdim=True)
    acc = torch.zeros(B, dtype=weight.dtype, device=weight.device)
    for t in range(n_transient + n_steps):
        a = torch.einsum("bij,bj->bi", weight, h) + bias
        if activation == "tanh":
            h = torch.tanh(a)
            d = 1.0 - h * h
        else:
            h = torch.relu(a)
            d = (a > 0).to(a.dtype)
        v = d * torch.einsum("bij,bj->bi", weight, v)
        nv = torch.linalg.vector_norm(v, dim=-1)
        if t >= n_transient:
            acc = acc + torch.log(nv)
        v = v / nv.clamp_min(1e-300).unsqueeze(-1)
    lam = acc / n_steps
    ok = torch.isfinite(h).all(-1) & (torch.linalg.vector_norm(h, dim=-1) < bound)
    return lam, ok


def vector_chaos_probability(
    width: int | Sequence[int],
    *,
    init: str = "he",
    activation: str = "tanh",
    n_networks: int = 100,
    n_steps: int = 1000,
    n_transient: int = 500,
    threshold: float = 0.01,
    bias: bool = True,
    seed: int = 0,
    chunk_size: int | None = None,
    device: torch.device | str | None = None,
    dtype: torch.dtype = torch.float64,
    progress: Progress = None,
) -> ChaosProbabilityResult:
    r"""Probability that a random vanilla RNN :math:`h' = \phi(W h + b)` is chaotic (λ_max > threshold).

    ``W`` and ``b`` are drawn with the same law as in the scalar case (``he``: ``N(0, 2/n)``;
    ``xavier``: ``N(0, 2/(n+n)) = N(0, 1/n)``; ``lecun``: ``N(0, 1/n)``); ``bias=False`` sets
    ``b = 0``. λ_max per step from one tangent vector after ``n_transient`` steps; networks whose
    state leaves ``|h| < 1e8`` count as not chaotic (ReLU networks can diverge). Period 3 is a 1-D
    theorem, so λ_max is the practical indicator here (docs/theory/chaos.md §1.5 item 4).

    Example:
        >>> import rnndyn as rd
        >>> res = rd.chaos.vector_chaos_probability([4], n_networks=8, n_steps=200, n_transient=100)
        >>> res.model, res.criterion, res.n_networks
        ('vector', 'lyapunov', (8,))
    """
    widths = _check_widths(width)
    check_choice(init, "init", VECTOR_INITS)
    check_choice(activation, "activation", ACTIVATIONS)
    n_networks = check_positive_int(n_networks, "n_networks")
    n_steps = check_positive_int(n_steps, "n_steps")
    n_transient = check_positive_int(n_transient, "n_transient", minimum=0)
    threshold = check_real(threshold, "threshold")
    device = None if device is None else check_device(device)
    seed, chunk_size = _check_run_options(seed, chunk_size, dtype)
    total = n_networks * len(widths)
    done = 0
    ks, secs = [], []
    for w in widths:
        gen = _width_generator(seed, w)
        chunk = chunk_size or max(1, min(n_networks, (1 << 22) // (w * w)))
        std = _vector_std(init, w)
        k = 0
        t0 = time.perf_counter()
        for start in range(0, n_networks, chunk):
            m = min(chunk, n_networks - start)
            W = (torch.randn(m, w, w, generator=gen, dtype=torch.float64) * std).to(
                dtype=dtype, device=device
            )
            b = (torch.randn(m, w, generator=gen, dtype=torch.float64) * std).to(dtype=dtype, device=device)
            if not bias:
                b = torch.zeros_like(b)
            lam, ok = batched_max_lyapunov_rnn(
                W, b, activation, n_steps=n_steps, n_transient=n_transient, generator=gen
            )
            k += int(((lam > threshold) & ok).sum())
            done += m
            if progress is not None:
                progress(done, total)
        ks.append(k)
        secs.append(time.perf_counter() - t0)
    return _pack(
        widths,
        n_networks,
        ks,
        secs,
        "lyapunov",
        init,
        activation,
        "vector",
        {
            "n_steps": n_steps,
            "n_transient": n_transient,
            "threshold": threshold,
            "bias": bias,
            "seed": seed,
            "dtype": str(dtype),
        },
    )


__all__ = [
    "CRITERIA",
    "VECTOR_INITS",
    "ChaosProbabilityResult",
    "batched_max_lyapunov_rnn",
    "chaos_probability",
    "vector_chaos_probability",
]

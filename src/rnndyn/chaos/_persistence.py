"""Persistence of chaos under weight perturbations: recurrent (shared) vs feedforward (independent).

docs/theory/chaos.md §1.3 (``Persistence_of_Chaos_*`` notebooks): base map = tent map
``2 relu(x) - 4 relu(x - 1/2)`` on [0, 1]; every weight and bias perturbed by ``N(0, s^2)``.
RNN: *one* perturbed map composed ``t`` times; FNN: ``t`` independently perturbed layers.
[CPSS22]'s claim: the RNN keeps its chaos (period 3, exponential lap growth), the FNN loses
oscillations.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from rnndyn._checks import check_generator, check_nonnegative, check_positive_int
from rnndyn._results import Result, Status
from rnndyn.chaos._detect import composition_laps, period3
from rnndyn.chaos._networks import ScalarNetwork

Tensor = torch.Tensor


@dataclass(frozen=True, eq=False, kw_only=True)
class PersistenceResult(Result):
    """Lap counts of ``t``-fold compositions of perturbed networks, RNN vs FNN.

    Attributes:
        t: ``(depth,)`` 1 .. depth. base_laps: ``(depth,)`` of the unperturbed map.
        rnn_laps, fnn_laps: ``(n_trials, depth)`` lap counts on ``domain``.
        rnn_period3: ``(n_trials,)`` whether each perturbed map still has a period-3 point.
        fraction_period3: mean of ``rnn_period3``; base_period3: of the base map.
        rnn_growth / fnn_growth: median over trials of ``ln(L_depth / L_1) / (depth - 1)``
        (``ln 2 = 0.693`` for the tent map).
    """

    t: Tensor
    base_laps: Tensor
    rnn_laps: Tensor
    fnn_laps: Tensor
    rnn_period3: Tensor
    fraction_period3: float
    base_period3: bool
    rnn_growth: float
    fnn_growth: float
    std: float
    domain: tuple[float, float]


def persistence(
    base: ScalarNetwork | None = None,
    *,
    std: float = 0.1,
    depth: int = 6,
    n_trials: int = 200,
    domain: tuple[float, float] = (0.0, 1.0),
    generator: torch.Generator | None = None,
) -> PersistenceResult:
    r"""Does chaos survive ``N(0, std^2)`` weight noise? Shared weights (RNN) vs independent layers (FNN).

    Args:
        base: one network (``B = 1``); default the tent map :meth:`ScalarNetwork.tent`.
        std: perturbation standard deviation for every weight and bias.
        depth: number of compositions ``t``.
        n_trials: independent perturbations.
        domain: interval on which laps are counted (the notebooks: [0, 1]).

    Example:
        >>> import torch, rnndyn as rd
        >>> res = rd.chaos.persistence(std=0.0, depth=4, n_trials=2)
        >>> res.rnn_laps[0].tolist(), res.fnn_laps[0].tolist()
        ([2.0, 4.0, 8.0, 16.0], [2.0, 4.0, 8.0, 16.0])
    """
    std = check_nonnegative(std, "std")
    depth = check_positive_int(depth, "depth", minimum=2)
    n_trials = check_positive_int(n_trials, "n_trials")
    check_generator(generator)
    base = ScalarNetwork.tent() if base is None else base
    if not isinstance(base, ScalarNetwork) or base.batch_size != 1:
        raise ValueError("`base` must be a ScalarNetwork holding one network (B = 1)")
    rnn = base.perturb(std, generator=generator, copies=n_trials)
    layers = [base.perturb(std, generator=generator, copies=n_trials) for _ in range(depth)]
    rnn_laps = composition_laps([rnn] * depth, domain=domain)
    fnn_laps = composition_laps(layers, domain=domain)
    base_laps = composition_laps([base] * depth, domain=domain)[0]
    p3 = period3(rnn).has_period3
    base_p3 = bool(period3(base).has_period3[0])

    def growth(laps: Tensor) -> float:
        g = (laps[:, -1].log() - laps[:, 0].log()) / (depth - 1)
        return float(torch.nanmedian(g))

    return PersistenceResult(
        t=torch.arange(1, depth + 1),
        base_laps=base_laps,
        rnn_laps=rnn_laps,
        fnn_laps=fnn_laps,
        rnn_period3=p3,
        fraction_period3=float(p3.double().mean()),
        base_period3=base_p3,
        rnn_growth=growth(rnn_laps),
        fnn_growth=growth(fnn_laps),
        std=std,
        domain=(float(domain[0]), float(domain[1])),
        status=Status.SUCCESS,
        message=f"lap counts of {n_trials} perturbed networks over depth {depth}",
    )


__all__ = ["PersistenceResult", "persistence"]

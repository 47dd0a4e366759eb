r"""Eigenvalue spectra of state-to-state Jacobians, and the random-matrix theory curve for them.

:func:`jacobian_spectrum` samples states (along trajectories or at fixed points), forms the
Jacobians :math:`D_t=\partial h_t/\partial h_{t-1}` in batches (analytic where the model has one)
and returns their eigenvalues -- per state and pooled -- with the spectral radius, the fraction
of *slow modes* (eigenvalues within ``eps_slow`` of 1, docs/theory/gated.md §5.3) and, on request,
singular values. :func:`predicted_support` evaluates the theory of docs/theory/gated.md §5 at a
network's *own* state (the empirical statistics, as the theory prescribes), so a cloud and the
curve it should fill can be drawn together (:func:`rnndyn.plotting.spectra.plot_spectrum`).

The lower level, :func:`eigen_spectrum`, takes Jacobians you already have.
"""

from __future__ import annotations

import dataclasses
import math
import warnings
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import torch

from rnndyn._checks import (
    broadcast_shapes,
    check_choice,
    check_compute_dtype,
    check_finite,
    check_generator,
    check_like,
    check_positive_int,
    check_real,
    check_tensor,
)
from rnndyn._linalg import eigvals  # noqa: F401 (re-exported: rnndyn.spectra.eigvals)
from rnndyn._results import Check, Result, Status, status_from_checks
from rnndyn.models.base import AbstractFlow, AbstractMap, AbstractSystem, _frob_gain  # noqa: F401 (re-exported)

if TYPE_CHECKING:
    from rnndyn.fixed_points import FixedPointResult
    from rnndyn.meanfield.rmt import SpectralSupport

Tensor = torch.Tensor

#: floor of the relative gap between the theory's radius and the measured one beyond which the
#: theory is flagged (``theory_radius``); the tolerance is ``max(0.1, 1.5 / sqrt(N))``. Measured
#: at random networks (float64, 2-3 seeds each): stable fixed points of tanh nets (g = 0.9,
#: bias_std = 1; g = 1.5, bias_std = 1.5) and GRUs (g_h = 1.5, alpha_r = 10, bias_std = 1) at
#: N = 32..800, saddles and trajectory states of GRUs (g_h = 3, alpha_r = 10) at N = 32..400: gaps
#: up to 0.14 at N = 100 and 0.06 at N = 800 (docs/spectra.md, "When the theory applies").
_THEORY_GAP_FLOOR = 0.1

#: bytes of Jacobians formed at once (larger batches are chunked)
_CHUNK_BYTES = 256 * 2**20


@dataclass(frozen=True, kw_only=True)
class SpectrumResult(Result):
    r"""Eigenvalues of Jacobians at a set of states.

    Attributes:
        eigenvalues: ``(S, n)`` complex, per state, sorted by decreasing modulus.
        states: ``(S, n)`` the states the Jacobians were taken at (``None`` for
            :func:`eigen_spectrum` on bare matrices).
        inputs: ``(S, d)`` the input paired with each state, or ``None``.
        spectral_radius: ``(S,)`` largest modulus per state.
        max_real: ``(S,)`` largest real part per state.
        slow_fraction: ``(S,)`` fraction of eigenvalues with :math:`|\lambda-1|<\epsilon`
            (maps) or :math:`|\lambda|<\epsilon` (vector fields, ``continuous=True``).
        eps_slow: the :math:`\epsilon` used.
        singular_values: ``(S, n)`` descending, or ``None`` when not requested.
        at: ``"trajectory"``, ``"fixed_points"``, ``"states"`` or ``"matrices"``.
        continuous: eigenvalues of a vector field (rates) rather than of a map.
        theory: the predicted support at the state ``theory_index`` (``None`` unless asked
            for or where no theory applies).
        theory_index: which state the theory was evaluated at.
        status: :class:`rnndyn.Status` (``success``; ``warning`` when there were no states to
            analyse); message: human-readable detail. ``to_dict()`` leaves out ``states`` and
            ``inputs`` and adds ``n_states``, ``mean_spectral_radius``, ``mean_slow_fraction``
            (eigenvalues as ``[re, im]`` pairs).
    """

    eigenvalues: Tensor
    states: Tensor | None
    inputs: Tensor | None
    spectral_radius: Tensor
    max_real: Tensor
    slow_fraction: Tensor
    eps_slow: float
    singular_values: Tensor | None = None
    at: str = "states"
    continuous: bool = False
    theory: SpectralSupport | None = field(default=None, repr=False)
    theory_index: int = 0

    _dict_exclude = ("states", "inputs")
    _dict_properties = ("n_states", "mean_spectral_radius", "mean_slow_fraction")

    @property
    def n_states(self) -> int:
        """Number of states (Jacobians)."""
        return int(self.eigenvalues.shape[0])

    @property
    def pooled(self) -> Tensor:
        """All eigenvalues of all states, ``(S * n,)``."""
        return self.eigenvalues.reshape(-1)

    @property
    def mean_spectral_radius(self) -> float:
        return float(self.spectral_radius.mean()) if self.n_states else math.nan

    @property
    def mean_slow_fraction(self) -> float:
        return float(self.slow_fraction.mean()) if self.n_states else math.nan

    def slow_fraction_curve(self, eps: Any) -> Tensor:
        r"""Pooled fraction of eigenvalues with :math:`|\lambda-1|<\epsilon` for each ``eps``."""
        e = torch.as_tensor(eps, dtype=torch.float64)
        dist = self._distance().reshape(-1).to("cpu", torch.float64)
        return (dist.unsqueeze(0) < e.reshape(-1, 1)).double().mean(-1).reshape(e.shape)

    def _distance(self) -> Tensor:
        return self.eigenvalues.abs() if self.continuous else (self.eigenvalues - 1).abs()


# ----------------------------------------------------------------------------- low level
def _chunks(n_items: int, n: int, itemsize: int) -> int:
    per = max(1, _CHUNK_BYTES // max(1, n * n * itemsize))
    return min(n_items, per)


def eigen_spectrum(
    jac: Tensor,
    *,
    eps_slow: float = 0.05,
    singular_values: bool = False,
    continuous: bool = False,
) -> SpectrumResult:
    r"""Eigenvalues (and singular values) of a batch of square matrices, as a :class:`SpectrumResult`.

    The low-level half of :func:`jacobian_spectrum`, for Jacobians you already have.

    Args:
        jac: ``(*batch, n, n)`` real tensor.
        eps_slow: radius of the slow-mode neighbourhood of 1 (of 0 when ``continuous``).
        singular_values: also compute singular values.
        continuous: the matrices are vector-field Jacobians (slow = near 0).

    Raises:
        TypeError: not a tensor / not floating. ValueError: not square, non-finite, bad eps.

    Example:
        >>> import torch
        >>> res = eigen_spectrum(torch.diag(torch.tensor([1.0, 0.99, 0.5], dtype=torch.float64)))
        >>> res.spectral_radius.tolist(), round(float(res.slow_fraction[0]), 4)
        ([1.0], 0.6667)
    """
    check_tensor(jac, "jac")
    if jac.ndim < 2 or jac.shape[-1] != jac.shape[-2]:
        raise ValueError(f"`jac` must be a batch of square matrices (*batch, n, n); got {tuple(jac.shape)}")
    if not torch.is_floating_point(jac):
        raise TypeError(f"`jac` must be a real floating-point tensor; got dtype {jac.dtype}")
    check_finite(jac, "jac")
    eps_slow = check_real(eps_slow, "eps_slow", low=0.0, low_open=True)
    n = jac.shape[-1]
    flat = jac.reshape(-1, n, n)
    ev = eigvals(flat)
    return _assemble(
        ev,
        torch.linalg.svdvals(flat) if singular_values else None,
        eps_slow=eps_slow,
        continuous=continuous,
        states=None,
        inputs=None,
        at="matrices",
    )


def _sort_desc(ev: Tensor) -> Tensor:
    idx = torch.argsort(ev.abs(), dim=-1, descending=True, stable=True)
    return torch.gather(ev, -1, idx)


def _assemble(
    ev: Tensor,
    sv: Tensor | None,
    *,
    eps_slow: float,
    continuous: bool,
    states: Tensor | None,
    inputs: Tensor | None,
    at: str,
    theory: SpectralSupport | None = None,
    theory_index: int = 0,
    message: str = "",
) -> SpectrumResult:
    ev = _sort_desc(ev)
    dist = ev.abs() if continuous else (ev - 1).abs()
    n = ev.shape[-1]
    return SpectrumResult(
        eigenvalues=ev,
        states=states,
        inputs=inputs,
        spectral_radius=ev.abs().amax(-1) if n else ev.real.new_zeros(ev.shape[0]),
        max_real=ev.real.amax(-1) if n else ev.real.new_zeros(ev.shape[0]),
        slow_fraction=(dist < eps_slow).to(ev.real.dtype).mean(-1),
        eps_slow=eps_slow,
        singular_values=sv,
        at=at,
        continuous=continuous,
        theory=theory,
        theory_index=theory_index,
        status=Status.SUCCESS,
        message=message or f"{ev.shape[0]} Jacobians of size {n}",
    )


def _batched_jacobian(system: AbstractSystem, states: Tensor, inputs: Tensor | None) -> Tensor:
    return system._jacobian(states, inputs)


def _eig_in_chunks(
    system: AbstractSystem,
    states: Tensor,
    inputs: Tensor | None,
    *,
    singular_values: bool,
) -> tuple[Tensor, Tensor | None]:
    s, n = states.shape[0], states.shape[-1]
    m = n
    step = _chunks(s, m, states.element_size())
    evs, svs = [], []
    with torch.no_grad():
        for start in range(0, s, step):
            sl = slice(start, start + step)
            jac = _batched_jacobian(system, states[sl], None if inputs is None else inputs[sl])
            if jac.shape[-1] != jac.shape[-2]:
                raise ValueError(
                    f"the Jacobian of {type(system).__name__} must be square; got {tuple(jac.shape[-2:])}"
                )
            if not bool(torch.isfinite(jac).all()):
                raise ValueError("the Jacobian has non-finite entries at some states (diverged trajectory?)")
            evs.append(eigvals(jac))
            if singular_values:
                svs.append(torch.linalg.svdvals(jac))
    return torch.cat(evs), (torch.cat(svs) if singular_values else None)


# ----------------------------------------------------------------------------- sampling
def _constant_or_sequence(
    system: AbstractSystem, inputs: Tensor | None, name: str = "inputs"
) -> Tensor | None:
    if inputs is None:
        return None
    check_tensor(inputs, name)
    if system.input_size == 0:
        raise ValueError(f"`{name}` must be None: {type(system).__name__} has input_size 0")
    if inputs.shape[-1] != system.input_size:
        raise ValueError(f"`{name}` must have last axis {system.input_size}; got {tuple(inputs.shape)}")
    return check_finite(inputs, name)


def sample_trajectory_states(
    system: AbstractMap,
    *,
    n_states: int,
    n_steps: int,
    n_transient: int,
    n_trajectories: int = 1,
    inputs: Tensor | None = None,
    generator: torch.Generator | None = None,
) -> tuple[Tensor, Tensor | None]:
    """States ``h_t`` (and the inputs ``x_{t+1}`` of the step taken from them), evenly spaced along
    ``n_trajectories`` trajectories after a transient. Used by :func:`jacobian_spectrum` and
    :func:`rnndyn.find_fixed_points`.

    ``inputs``: ``None``; a constant input ``(d,)``; or a sequence ``(T, d)`` /
    ``(n_trajectories, T, d)`` covering ``n_transient + n_steps + 1`` steps.

    Returns:
        ``(S, n)`` states and ``(S, d)`` inputs (or ``None``), ``S = n_trajectories * min(n_states, n_steps)``.
    """
    from rnndyn.simulate import simulate

    n_states = check_positive_int(n_states, "n_states")
    n_steps = check_positive_int(n_steps, "n_steps")
    n_transient = check_positive_int(n_transient, "n_transient", minimum=0)
    n_trajectories = check_positive_int(n_trajectories, "n_trajectories")
    inputs = _constant_or_sequence(system, inputs)
    total = n_transient + n_steps + 1
    seq = None
    if inputs is not None:
        if inputs.ndim == 1:
            seq = inputs.expand(n_trajectories, total, inputs.shape[-1])
        else:
            if inputs.shape[-2] < total:
                raise ValueError(
                    f"`inputs` must cover n_transient + n_steps + 1 = {total} steps; got {inputs.shape[-2]}"
                )
            seq = inputs[..., :total, :].expand(n_trajectories, total, inputs.shape[-1])
        check_like(seq, "inputs", system.dtype, system.device)
    h0 = system.initial_state((n_trajectories,), generator=generator)
    with torch.no_grad():
        traj = simulate(
            system,
            h0,
            n_steps=n_steps,
            n_transient=n_transient,
            inputs=None if seq is None else seq[:, : n_transient + n_steps],
        )  # (B, n_steps, n); traj[:, k] = h after step n_transient + k + 1
    k = min(n_states, n_steps)
    idx = torch.linspace(0, n_steps - 1, k).round().long().to(traj.device)
    states = traj[:, idx].reshape(-1, traj.shape[-1])
    x = None
    if seq is not None:
        # the step taken from h_{t} uses input x_{t+1}: index n_transient + k + 1 in seq
        x = seq[:, n_transient + 1 + idx.cpu()].reshape(-1, seq.shape[-1])
    return states, x


# ----------------------------------------------------------------------------- theory dispatch
def predicted_support(
    system: AbstractSystem,
    h: Tensor,
    x: Tensor | None = None,
    *,
    factorised: bool = True,
    n_points: int = 256,
) -> SpectralSupport | None:
    r"""The random-matrix prediction for the Jacobian spectrum at one state (docs/theory/gated.md §5).

    The statistics (gates, pre-activations, :math:`h_{t-1}`) are taken from the network at
    ``h`` -- the empirical statistics of the state, as the theory does (§5.1 "Toolkit check") --
    and the gains from the weights themselves, :math:`\hat g=\|W\|_F/\sqrt N` (equal to the
    nominal gain for Gaussian initialisation up to O(1/sqrt(N))). The prediction assumes the
    weights are i.i.d. (random initialisation); on trained networks it is only a reference.

    Each model declares its own theory (:meth:`~rnndyn.AbstractSystem.spectral_theory`):
    :class:`~rnndyn.VanillaRNN` (tanh; §3.1 + circular law), :class:`~rnndyn.GRU`
    (Theorem 4.1), :class:`~rnndyn.LSTM` (Cor. 5.2), the discretised or bare
    :class:`~rnndyn.GatedRateRNN` (§5.8; the vector-field spectrum), and wrappers pass theirs
    on. Other systems: ``None``.

    Args:
        system: the model. h: one state ``(n,)``. x: its input ``(d,)`` or ``None``.
        factorised: GRU only: Theorem 4.1's factorised form or the exact unfactorised boundary.

    Example:
        >>> import torch, rnndyn as rd
        >>> net = rd.GRU(200, g_h=1.5, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
        >>> s = predicted_support(net, torch.zeros(200, dtype=torch.float64))
        >>> round(s.centre.real, 9)  # zero FP disk: centre 1/2, radius g_hat / 4 (g_hat ~ g_h = 1.5)
        0.5
        >>> round(s.radius - 0.5 - s.params["g_h"] / 4, 9)
        0.0
    """
    check_tensor(h, "h")
    if h.ndim != 1:
        raise ValueError(f"`h` must be one state of shape ({system.state_size},); got {tuple(h.shape)}")
    h, x = system._validate(h, x)
    with torch.no_grad():
        return system.spectral_theory(h, x, factorised=factorised, n_points=n_points)  # type: ignore[return-value]


# ----------------------------------------------------------------------------- main entry
def jacobian_spectrum(
    system: AbstractSystem,
    *,
    states: Tensor | None = None,
    inputs: Tensor | None = None,
    at: str = "trajectory",
    n_states: int = 20,
    n_steps: int = 200,
    n_transient: int = 500,
    n_trajectories: int = 1,
    singular_values: bool = False,
    eps_slow: float = 0.05,
    continuous: bool = False,
    theory: bool | str = False,
    factorised: bool = True,
    generator: torch.Generator | None = None,
    fixed_points: FixedPointResult | None = None,
) -> SpectrumResult:
    r"""Eigenvalues of the state-to-state Jacobian at many states, batched, on the model's device.

    The Jacobian :math:`D_t=\partial h_t/\partial h_{t-1}` of a map (analytic where the model
    provides it; autograd otherwise) is formed at each state and its eigenvalues computed with
    LAPACK (NumPy on the CPU, ``torch.linalg.eigvals`` on CUDA) in memory-bounded batches. For gated networks its spectrum carries
    the main messages of CKS20 (docs/theory/gated.md §5): update / forget gates pile eigenvalues up
    at :math:`\lambda=1` (slow modes, counted by ``slow_fraction``), reset / output / input
    gates set the spectral radius.

    Where the states come from (``at``):

    * ``"trajectory"`` (default): ``n_trajectories`` runs from random initial states, a
      discarded ``n_transient``, then ``n_states`` states evenly spaced over ``n_steps`` steps;
    * ``"fixed_points"``: the fixed points found by :func:`rnndyn.find_fixed_points` (pass a
      ready ``fixed_points`` result, or one is computed with a constant input);
    * explicit ``states`` ``(*batch, n)`` (``at`` is then ignored), with ``inputs``
      ``(*batch, d)`` or ``(d,)`` for the step taken from each state.

    Args:
        system: a map; a flow is accepted only with explicit ``states`` (then the spectrum of
            its vector field, ``continuous=True``).
        states, inputs: see above; for trajectories ``inputs`` is a constant ``(d,)`` or a
            sequence ``(T, d)`` / ``(n_trajectories, T, d)`` with ``T >= n_transient + n_steps + 1``.
        n_states, n_steps, n_transient, n_trajectories: trajectory sampling.
        singular_values: also return singular values of each Jacobian.
        eps_slow: slow modes are :math:`|\lambda-1|<\epsilon` (maps) or :math:`|\lambda|<\epsilon`
            (``continuous``). Default 0.05, the value of docs/theory/gated.md §5.3.
        continuous: for a discretised flow, use the flow's vector-field Jacobian (rates, slow
            means near 0) instead of the map's.
        theory: also evaluate :func:`predicted_support` at the first state. ``True`` on a model
            with no random-matrix prediction (``spectral_theory`` returns ``None``) warns
            (``UserWarning``) and says so in the result's message; ``"auto"`` evaluates it where
            the model has one and is silent otherwise (what ``rd.analyze`` uses).
        factorised: passed to :func:`predicted_support`.
        generator: randomness for initial states / fixed-point starts.

    Returns:
        :class:`SpectrumResult`.

    Raises:
        TypeError: not an rnndyn system; a flow without ``states``.
        ValueError: wrong state / input shapes, non-square Jacobian, non-positive counts or
            ``eps_slow``, a diverged trajectory.

    References:
        CKS20 (arXiv:2002.00025) §4--5; docs/theory/gated.md §5.

    Example:
        >>> import torch, rnndyn as rd
        >>> net = rd.VanillaRNN(100, g=0.5, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
        >>> res = rd.jacobian_spectrum(net, states=torch.zeros(1, 100, dtype=torch.float64))
        >>> abs(res.mean_spectral_radius - 0.5) < 0.05  # circular law: radius g at h = 0
        True
    """
    from rnndyn.discretise import Discretised

    if not isinstance(system, AbstractSystem):
        raise TypeError(f"`system` must be an rnndyn model (AbstractMap); got {type(system).__name__}")
    check_generator(generator)
    eps_slow = check_real(eps_slow, "eps_slow", low=0.0, low_open=True)
    at = check_choice(at, "at", ("trajectory", "fixed_points"))
    if not (isinstance(theory, bool) or (isinstance(theory, str) and theory == "auto")):
        raise TypeError(f"`theory` must be True, False or 'auto'; got {type(theory).__name__} {theory!r}")
    for flag, value in (
        ("singular_values", singular_values),
        ("continuous", continuous),
        ("factorised", factorised),
    ):
        if not isinstance(value, bool):
            raise TypeError(f"`{flag}` must be a bool; got {type(value).__name__} {value!r}")
    if fixed_points is not None:
        from rnndyn.fixed_points import FixedPointResult

        if not isinstance(fixed_points, FixedPointResult):
            raise TypeError(
                f"`fixed_points` must be a FixedPointResult (from rnndyn.find_fixed_points) or None; "
                f"got {type(fixed_points).__name__}"
            )
    if states is not None:
        check_tensor(states, "states")
        if states.numel() == 0:
            raise ValueError(
                f"`states` must hold at least one state (*batch, {system.state_size}); got shape {tuple(states.shape)}"
            )
    # the eigenvalue solvers (LAPACK via NumPy / torch.linalg.eigvals) have no half kernels
    check_compute_dtype(system.dtype)
    from rnndyn.checks import check_finite_parameters

    check_finite_parameters(system)  # before: 'non-finite entries (diverged trajectory?)' for NaN weights
    if states is not None:
        check_compute_dtype(states.dtype, "states")
    jac_system: AbstractSystem = system
    if continuous:
        if isinstance(system, Discretised):
            jac_system = system.flow
        elif not isinstance(system, AbstractFlow):
            raise TypeError("`continuous=True` needs a flow or a discretised flow (rnndyn.discretise)")
    elif isinstance(system, AbstractFlow):
        if states is None:
            raise TypeError(
                f"`system` is the flow {type(system).__name__}: pass `states`, or discretise it "
                "(rnndyn.discretise(flow, dt=0.05)) to sample trajectories"
            )
        continuous = True

    message = ""
    if states is not None:
        check_tensor(states, "states")
        states_b, x_b = system._validate(states, inputs if inputs is not None else None, name="states")
        n = system.state_size
        batch = states_b.shape[:-1]
        if x_b is not None:
            batch = broadcast_shapes(batch, x_b.shape[:-1])
            x_b = x_b.expand(*batch, x_b.shape[-1]).reshape(-1, x_b.shape[-1])
        states_b = states_b.expand(*batch, n).reshape(-1, n)
        where = "states"
    elif at == "trajectory":
        if not isinstance(system, AbstractMap):  # pragma: no cover - flows handled above
            raise TypeError("trajectory sampling needs a map")
        states_b, x_b = sample_trajectory_states(
            system,
            n_states=n_states,
            n_steps=n_steps,
            n_transient=n_transient,
            n_trajectories=n_trajectories,
            inputs=inputs,
            generator=generator,
        )
        where = "trajectory"
    else:
        from rnndyn.fixed_points import find_fixed_points

        if fixed_points is None:
            if inputs is not None and inputs.ndim != 1:
                raise ValueError(
                    f"`inputs` must be one constant input (d,) for at='fixed_points'; got {tuple(inputs.shape)}"
                )
            fixed_points = find_fixed_points(system, inputs=inputs, generator=generator, throw=False)
        states_b = fixed_points.points
        x_b = None
        if fixed_points.input is not None and states_b.shape[0]:
            x_b = fixed_points.input.expand(states_b.shape[0], fixed_points.input.shape[-1])
        where = "fixed_points"
        message = fixed_points.message

    if states_b.shape[0] == 0:
        empty = states_b.new_zeros((0, system.state_size), dtype=torch.complex128)
        res = _assemble(
            empty, None, eps_slow=eps_slow, continuous=continuous, states=states_b, inputs=x_b, at=where
        )
        return _replace(res, status=Status.WARNING, message=message or "no states to analyse")

    ev, sv = _eig_in_chunks(jac_system, states_b, x_b, singular_values=singular_values)
    support = None
    checks: tuple[Check, ...] = ()
    if theory:
        support = predicted_support(
            system, states_b[0], None if x_b is None else x_b[0], factorised=factorised
        )
        if support is not None and not continuous:
            checks = _theory_checks(system, support, ev[0], states_b[0], None if x_b is None else x_b[0])
        elif support is None and theory is True:  # asked for by name: say there is none ("auto" is silent)
            no_theory = (
                f"no theory: {type(system).__name__} has no random-matrix prediction for its Jacobian "
                "spectrum (its spectral_theory returns None)"
            )
            warnings.warn(f"theory=True: {no_theory}", UserWarning, stacklevel=2)
            message = (
                f"{message}; {no_theory}"
                if message
                else f"{states_b.shape[0]} Jacobians of size {ev.shape[-1]}; {no_theory}"
            )
    res = _assemble(
        ev,
        sv,
        eps_slow=eps_slow,
        continuous=continuous,
        states=states_b,
        inputs=x_b,
        at=where,
        theory=support,
        theory_index=0,
        message=message,
    )
    if not checks:
        return res
    bad = [c for c in checks if not c.passed]
    return _replace(
        res,
        checks=checks,
        status=status_from_checks(checks, res.status),
        message=res.message + "".join(f"; {c.name}: {c.detail}" for c in bad),
    )


def _theory_checks(
    system: AbstractSystem, support: SpectralSupport, ev: Tensor, h: Tensor, x: Tensor | None
) -> tuple[Check, ...]:
    """Compare the theory's spectral radius with the measured one at the state it was evaluated at.

    ``theory_radius``: relative gap ``|r_pred - r_meas| / r_pred`` against
    ``max(_THEORY_GAP_FLOOR, 1.5 / sqrt(N))`` (finite-N scatter). ``theory_stability`` (only when
    the state is a fixed point, ``|F(h) - h| <= 1e-8 max(1, |h|)``): the theory and the measured
    radius put the point on the same side of 1 (each more than 0.02 from it). Both are warnings:
    the theory assumes i.i.d. weights and a state statistically independent of them
    (docs/theory/gated.md §5.0).
    """
    n = int(ev.shape[-1])
    r_meas = float(ev.abs().max())
    r_pred = float(support.spectral_radius)
    tol = max(_THEORY_GAP_FLOOR, 1.5 / math.sqrt(n))
    gap = abs(r_pred - r_meas) / r_pred if r_pred > 0 else (0.0 if r_meas == 0 else math.inf)
    assumption = (
        "the theory assumes i.i.d. weights and a state statistically independent of them "
        "(docs/theory/gated.md §5.0): it does not describe this state (a trained network, or a "
        "state selected by the weights, e.g. a stable fixed point that exists only at finite N)"
    )
    checks = [
        Check(
            name="theory_radius",
            passed=gap <= tol,
            value=gap,
            tolerance=tol,
            detail=f"predicted spectral radius {r_pred:.4g}, measured {r_meas:.4g} at state 0 "
            f"(relative gap {gap:.2g}; finite-N tolerance max({_THEORY_GAP_FLOOR:g}, 1.5/sqrt(N)) = {tol:.2g})",
            status=Status.WARNING,
        )
    ]
    with torch.no_grad():
        hb = h.unsqueeze(0)
        step = system.step(hb, None if x is None else x.unsqueeze(0))
        stationary = float((step - hb).abs().max()) <= 1e-8 * max(1.0, float(h.abs().max()))
    if stationary:
        stable_pred, stable_meas = r_pred < 1.0, r_meas < 1.0
        clear = min(abs(r_pred - 1.0), abs(r_meas - 1.0)) > 0.02
        agree = stable_pred == stable_meas or not clear
        checks.append(
            Check(
                name="theory_stability",
                passed=agree,
                value=r_meas,
                tolerance=1.0,
                detail=(
                    f"state 0 is a fixed point; measured radius {r_meas:.4g} and predicted "
                    f"{r_pred:.4g} agree on its stability"
                    if agree
                    else f"state 0 is a fixed point that is {'stable' if stable_meas else 'unstable'} "
                    f"(measured radius {r_meas:.4g}) while the theory predicts radius {r_pred:.4g} "
                    f"({'stable' if stable_pred else 'unstable'}); "
                    + (
                        "a stable fixed point where the theory's bulk reaches beyond the unit circle is a "
                        "finite-N exception (for the GRU every nonzero mean-field fixed point has rho > 1, "
                        "docs/theory/gated.md §5.5)"
                        if stable_meas
                        else "the theory and the measurement disagree on stability"
                    )
                ),
                status=Status.WARNING,
            )
        )
    failed = [i for i, c in enumerate(checks) if not c.passed]
    if failed:  # the reason once, on the last (most specific) failed check
        checks[failed[-1]] = dataclasses.replace(
            checks[failed[-1]], detail=f"{checks[failed[-1]].detail}: {assumption}"
        )
    return tuple(checks)


def _replace(res: SpectrumResult, **kw: Any) -> SpectrumResult:
    return dataclasses.replace(res, **kw)


def spectrum_summary(result: SpectrumResult) -> list[tuple[str, str]]:
    """Rows ``(quantity, value)`` for a summary table (used by ``rnndyn spectrum`` / ``analyze``).

    Example:
        >>> import torch
        >>> rows = spectrum_summary(eigen_spectrum(torch.eye(2, dtype=torch.float64)))
        >>> rows[1]
        ('spectral radius (mean over states)', '1')
    """
    rows = [
        ("Jacobian states", f"{result.n_states} ({result.at})"),
        ("spectral radius (mean over states)", f"{result.mean_spectral_radius:.4g}"),
    ]
    if result.n_states:
        rows.append(
            (
                "spectral radius (min / max)",
                f"{float(result.spectral_radius.min()):.4g} / {float(result.spectral_radius.max()):.4g}",
            )
        )
        rows.append(("max Re(eigenvalue) (mean)", f"{float(result.max_real.mean()):.4g}"))
    near = "0" if result.continuous else "1"
    rows.append(
        (
            f"slow modes: fraction with |lambda - {near}| < {result.eps_slow:g}",
            f"{result.mean_slow_fraction:.4g}",
        )
    )
    if result.singular_values is not None and result.n_states:
        rows.append(("largest singular value (mean)", f"{float(result.singular_values[:, 0].mean()):.4g}"))
    t = result.theory
    if t is not None:
        k = result.theory_index
        rows.append(("theory", t.formula))
        if t.rho is not None:
            rows.append(("spectral shaping parameter rho", f"{t.rho:.4g}"))
        if t.continuous:
            rows.append(
                (
                    "predicted / empirical max Re(lambda)",
                    f"{t.max_real:.4g} / {float(result.max_real[k]):.4g}",
                )
            )
        else:
            rows.append(
                (
                    "predicted / empirical rightmost real eigenvalue",
                    f"{t.rightmost:.4g} / {float(result.max_real[k]):.4g}",
                )
            )
            rows.append(
                (
                    "predicted / empirical spectral radius",
                    f"{t.spectral_radius:.4g} / {float(result.spectral_radius[k]):.4g}",
                )
            )
        for c in result.checks:
            if c.name.startswith("theory_") and not c.passed:
                rows.append((f"theory check {c.name}", f"FAILED: {c.detail}"))
    return rows


__all__ = [
    "SpectrumResult",
    "eigen_spectrum",
    "jacobian_spectrum",
    "predicted_support",
    "sample_trajectory_states",
    "spectrum_summary",
]

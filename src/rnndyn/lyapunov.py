r"""Lyapunov exponents of maps and discretised flows: the QR (Benettin) method and the
two-trajectory estimate of the largest exponent.

The QR method (docs/theory/chaos.md §5.1, §3.2 with the fixes of §3.2 note 5): a frame of ``k``
orthonormal tangent vectors ``Q`` is pushed forward with the Jacobian, ``Q <- J_t Q`` (not
``J^T Q``), and re-orthonormalised every ``qr_every`` steps by a QR decomposition whose ``R`` has
its diagonal made positive. The exponents are the time averages of ``ln R_ii``:

.. math::

    \lambda_i = \frac{1}{T\,\Delta t} \sum_{\text{QR events}} \ln R_{ii},

with ``Delta t = 1`` for a native map (units ``1/step``) and the map's ``dt`` for a discretised
flow (units ``1/time``). The frame is re-orthonormalised during the transient as well, so that the
transient neither under- nor overflows and ``Q`` has converged to the backward Lyapunov vectors
when averaging starts.

Two levels (STYLE.md §5.11): :func:`lyapunov_spectrum` and :func:`max_lyapunov` are the one-call
convenience functions; :class:`LyapunovEngine` is the prepared object for loops (training
callbacks, sweeps) with ``init`` / ``advance`` / ``run``.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import torch

from rnndyn import _diagnostics as diag
from rnndyn._checks import (
    check_choice,
    check_compute_dtype,
    check_finite,
    check_generator,
    check_like,
    check_map,
    check_positive_int,
    check_real,
    check_tensor,
)

# the run settings of the command line and rd.analyze, where importing them needs no torch
from rnndyn._lyapunov_defaults import DEFAULTS as DEFAULTS
from rnndyn._lyapunov_defaults import LyapunovDefaults as LyapunovDefaults
from rnndyn._results import AnalysisError, Check, Result, Status, status_from_checks
from rnndyn.checks import check_finite_parameters, jacobian_check, model_name
from rnndyn.models.base import AbstractMap

Tensor = torch.Tensor

#: status -> meaning (the shared vocabulary of :class:`rnndyn.Status`).
STATUSES: dict[str, str] = Status.explain()

#: Largest growth ratio e^{qr_every (lambda_1 - lambda_k)} allowed between two QR events with
#: ``qr_every="auto"``. Householder QR has a column-wise backward error (Higham, Accuracy and
#: Stability, Thm 19.4), so the relative error of R_ii per QR event is ~ eps * ratio: 1e7 (about
#: e^16) keeps it below 2e-9 in float64 (measured: a non-normal 4 x 4 linear map, error of the
#: exponents 4e-12 at ratio e^12, 7e-11 at e^18, 4e-9 at e^20, 2e-7 at e^24).
_AUTO_RATIO: dict[torch.dtype, float] = {torch.float64: 1e7, torch.float32: 1e2}
#: Largest growth or decay e^{qr_every max_i |lambda_i|} of one column between two QR events
#: (no over- or underflow).
_AUTO_RANGE: dict[torch.dtype, float] = {torch.float64: 1e30, torch.float32: 1e10}
_AUTO_MAX_QR_EVERY = 16
#: Shortest transient from which ``qr_every="auto"`` estimates the exponents (else QR every step).
_AUTO_MIN_TRANSIENT = 20

TANGENT_MODES = ("auto", "dense", "jvp")


#: Number of time blocks used for the standard error of a single trajectory.
N_BLOCKS = 10
#: Number of checkpoints kept for running (convergence) estimates.
N_RUNNING = 200


# --------------------------------------------------------------------------------------- result
@dataclass(frozen=True, kw_only=True)
class LyapunovResult(Result):
    r"""Lyapunov exponents with their uncertainty, derived quantities and diagnostics.

    Attributes:
        exponents: ``(k,)`` mean over trajectories of each trajectory's sorted (descending)
            exponents, in ``units`` and base ``log_base``.
        stderr: ``(k,)`` standard error: over trajectories (``stderr_method="trajectories"``) or,
            for one trajectory, over ``N_BLOCKS`` consecutive time blocks (``"time_blocks"``).
        per_trajectory: ``(B, k)`` exponents of each trajectory (sorted).
        running: ``(B, C, k)`` running estimates (cumulative averages) at ``running_steps``.
        running_steps: ``(C,)`` number of averaged steps at each checkpoint.
        units: ``"1/step"`` for native maps, ``"1/time"`` for discretised flows.
        kaplan_yorke_dimension: :math:`D_{KY} = j + \sum_{i\le j}\lambda_i / |\lambda_{j+1}|`
            with ``j`` the largest index with non-negative partial sum (NaN when ``k`` is too
            small to locate it).
        entropy_rate: sum of the positive exponents (Pesin's upper bound of the KS entropy).
        predictability_time: ``ln 2 / lambda_max`` (natural-log rate) in steps or time units;
            ``inf`` when ``lambda_max <= 0``.
        n_near_zero: number of exponents with ``|lambda_i| <= near_zero_tolerance`` (slow modes).
        near_zero_tolerance: the tolerance used (user value, or
            ``max(1e-3, 3 * stderr of the exponent closest to zero)``; for a multistable run the
            stderr within the clusters, not the spread between attractors).
        regime: ``"chaotic"`` (lambda_max > tolerance), ``"stable"`` (< -tolerance) or
            ``"marginal"``.
        sum_check: ``None``, or a dict comparing the sum of the exponents with the mean
            ``ln|det J|`` of the map along the same trajectory (per step or per unit time):
            ``sum``, ``expected``, ``abs_error``, ``rel_error`` (``None`` when the sum is near 0).
            Accumulated as a streaming mean (O(1) memory).
        flow_check: ``None``, or for a discretised flow's full spectrum the sum of the exponents
            against the time-averaged divergence ``<tr Df>`` of the flow (``sum``, ``mean_trace``,
            ``bias``, ``dt``): a difference is the integrator's time-step bias.
        convergence: what the convergence diagnostics found: ``drift`` of the top exponents over
            the last half and its ``drift_tolerance`` (4 standard errors), ``half_steps``,
            ``e_foldings_transient`` (e-foldings of the slowest non-zero exponent covered by the
            transient), ``slowest_rate``.
        clusters: groups of trajectories whose ``lambda_max`` agree within their errors (each
            ``count``, ``lambda_max``, ``trajectories``); more than one means multistability.
        notes: remarks that do not change the status (``QR every 6 steps``, ``-inf`` exponents of
            a singular Jacobian, shared inputs); they also end the message.
        method: ``"qr"`` or ``"two_trajectory"``. tangent: ``"dense"``, ``"jvp"`` or ``None``.
        status / message / checks: the shared :class:`rnndyn.Status`; the message says what was
            checked and what to change; ``checks`` holds ``jacobian``, ``bounded``,
            ``convergence``, ``stationarity``, ``multistability``, ``sum_rule``,
            ``flow_divergence``, ``step_halving`` as they apply (docs/lyapunov.md, "Statuses and
            checks").
    """

    exponents: Tensor
    stderr: Tensor
    per_trajectory: Tensor
    running: Tensor
    running_steps: Tensor
    units: str
    log_base: float
    dt: float | None
    k: int
    state_size: int
    n_steps: int
    n_transient: int
    qr_every: int
    n_trajectories: int
    method: str
    tangent: str | None
    stderr_method: str
    kaplan_yorke_dimension: float
    entropy_rate: float
    predictability_time: float
    n_near_zero: int
    near_zero_tolerance: float
    regime: str
    sum_check: dict[str, Any] | None
    flow_check: dict[str, Any] | None = None
    convergence: dict[str, Any] | None = None
    clusters: tuple[dict[str, Any], ...] = ()
    notes: tuple[str, ...] = ()

    _dict_properties = ("lambda_max",)
    _repr_fields = ("lambda_max", "exponents", "stderr", "regime", "units", "n_steps", "n_trajectories")

    @property
    def lambda_max(self) -> float:
        """The largest exponent (mean over trajectories)."""
        return float(self.exponents[0])

    @property
    def success(self) -> bool:
        """``status == "success"``: every check passed."""
        return self.status is Status.SUCCESS


@dataclass
class TangentState:
    """Where a run stands: state ``h`` ``(B, n)``, frame ``q`` ``(B, n, k)``, the accumulated
    ``ln R_ii`` (natural log, per step) ``log_r`` ``(B, k)``, and the number of averaged steps."""

    h: Tensor
    q: Tensor
    log_r: Tensor
    steps: int = 0


# --------------------------------------------------------------------------------------- engine
def _check_tangent_state(state: Any) -> None:
    if not isinstance(state, TangentState):
        raise TypeError(
            f"`state` must be a TangentState from this engine's init() or advance(); got {type(state).__name__}"
        )


def _choose_tangent(system: AbstractMap, k: int, tangent: str) -> str:
    """Automatic choice of how ``J @ Q`` is formed (``"dense"``: analytic, ``"jvp"``: forward-mode).

    ``"dense"`` goes through the model's declared tangent product ``_step_and_tangent`` (matrix-free
    for every built-in model: a few ``(n, n) @ (n, k)`` products and diagonal scalings, never the
    ``n x n`` Jacobian; the dense Jacobian times ``Q`` for models that only provide ``_jacobian``).
    Forward-mode JVPs win only when the model has neither an analytic Jacobian nor a tangent
    product (then the dense default is the autograd Jacobian) and fewer than ``n`` directions are
    followed. Measured on a custom ``tanh(W h)`` map, 300 + 50 steps, one trajectory, two threads
    (benchmarks/RESULTS.md): with ``k < n`` the JVPs take 0.10-0.16 s against 0.10-0.14 s dense up to
    ``n = 64`` and 0.12-0.17 s against 0.29-0.42 s at ``n = 128``; for the full spectrum ``k = n``
    the dense route takes 0.16 / 0.21 / 0.21 / 0.54 s against 0.28 / 0.36 / 0.33 / 0.80 s at
    ``n = 16 / 32 / 64 / 128``, and for small ``n`` it does not import ``torch._dynamo``.
    """
    if tangent != "auto":
        return tangent
    if not (system.has_analytic_jacobian or system.has_tangent_product):
        return "jvp" if system.state_size > 8 and k < system.state_size else "dense"
    return "dense"


def _normalise(z: Tensor, norm: Tensor) -> Tensor:
    """``z / norm`` for a one-column frame; a column that collapsed to exactly 0 (a singular
    Jacobian: dead ReLU units, saturated units) becomes the first unit vector instead of 0/0 = NaN,
    as Householder QR does for a zero column. Its ``R = 0`` gives the exponent -inf, reported as such."""
    q = z / norm
    zero = norm == 0
    if bool(zero.any()):
        e1 = torch.zeros_like(z)
        e1[..., 0, :] = 1.0
        q = torch.where(zero, e1, q)
    return q


def _qr(z: Tensor) -> tuple[Tensor, Tensor]:
    """Reduced QR of ``z`` ``(B, n, k)``; returns ``(Q, diag R)`` (diagonal signed).

    The sign fix ``diag(R) > 0`` is deferred: flipping columns of ``Q`` flips the same columns of
    the next ``J Q`` and so only the signs of the next ``R``, never ``|R_ii|``; ``advance`` fixes
    the signs of the ``Q`` it returns (one fewer elementwise pass per step).
    """
    if z.shape[-1] == 1:
        # k = 1: the QR step is a normalisation (cheaper than a LAPACK call)
        norm = torch.linalg.vector_norm(z, dim=-2, keepdim=True)
        return _normalise(z, norm), norm[..., 0, :]
    q, r = torch.linalg.qr(z)
    return q, torch.diagonal(r, dim1=-2, dim2=-1)


def _qr_full(z: Tensor) -> tuple[Tensor, Tensor]:
    """Reduced QR of ``z`` ``(B, n, k)`` with ``diag R > 0``; returns ``(Q, R)`` (``R`` ``(B, k, k)``)."""
    if z.shape[-1] == 1:
        norm = torch.linalg.vector_norm(z, dim=-2, keepdim=True)
        return _normalise(z, norm), norm
    q, r = torch.linalg.qr(z)
    sign = torch.where(torch.diagonal(r, dim1=-2, dim2=-1) < 0, -1.0, 1.0).to(z.dtype)
    # in place: both factors are fresh (no new n x k and k x k arrays at every step)
    return q.mul_(sign.unsqueeze(-2)), r.mul_(sign.unsqueeze(-1))


def _fix_signs(q: Tensor, d: Tensor) -> Tensor:
    return q * torch.where(d < 0, -1.0, 1.0).to(q.dtype).unsqueeze(-2)


class LyapunovEngine:
    r"""A prepared QR-method Lyapunov computation for one map (the lower level of the API).

    It stores only settings, never parameter values, so a model that is being trained can be
    analysed again after each update with the same engine. Every step goes through the model's
    declared tangent product :meth:`~rnndyn.models.base.AbstractSystem.step_and_tangent`
    (``h, Q -> F(h, x), J Q``), so any map or wrapper that declares it is analysed the same way.

    Args:
        system: a map (:class:`~rnndyn.models.base.AbstractMap`); flows raise ``TypeError``.
        k: number of exponents (default: all ``tangent_size``).
        qr_every: re-orthonormalise every ``qr_every`` steps (int >= 1), or ``"auto"`` (default):
            choose it at the end of the transient from the exponents estimated there, as the
            largest ``m <= 16`` with

            * ``e^{m (lambda_1 - lambda_k)} <= 1e7`` (float64; 1e2 in float32): Householder QR has
              a column-wise backward error (Higham 2002, *Accuracy and Stability of Numerical
              Algorithms*, Thm 19.4), so the relative error of each ``R_ii`` per QR event stays
              below ``eps * 1e7 ~ 2e-9`` and so does the absolute error of every requested
              exponent (measured 7e-11 at e^18; float32: ~1e-5);
            * ``e^{m max_i |lambda_i|} <= 1e30`` (float64; 1e10 in float32): no column over- or
              underflows between QR events.

            ``m = 1`` when the transient is shorter than 20 steps or its estimate is not finite.
            The transient itself (if at least 40 steps) runs its first quarter (at least 20 steps)
            with a QR every step and the rest with ``m`` picked from that quarter by the same rule:
            its exponents are discarded, and a frame error from a short estimate decays as the
            frame converges.
            The exponents are mathematically independent of ``qr_every`` (the diagonal of ``R``
            of a product is the product of the diagonals); only round-off depends on it.
        tangent: ``"dense"`` (analytic: the model's ``_step_and_tangent``, matrix-free for every
            built-in model; full spectra form the Jacobian and keep the frame as Householder
            reflectors), ``"jvp"`` (forward-mode products, :func:`rnndyn.jacobians.tangent_map`)
            or ``"auto"`` (``"dense"`` unless the model has neither an analytic Jacobian nor a
            tangent product).
        sum_check: compute the mean ``ln|det J|`` along the trajectory (one ``slogdet`` per step;
            needs ``k == n``). ``None``: on when ``k == n <= 128``.

    Example:
        >>> import math, torch, rnndyn as rd
        >>> eng = rd.LyapunovEngine(rd.Henon(), k=2)
        >>> st = eng.init(torch.tensor([[0.1, 0.1]], dtype=torch.float64))
        >>> st = eng.advance(st, n_steps=500)                       # transient
        >>> st = eng.advance(eng.restart(st), n_steps=2000)         # averaging
        >>> bool(abs(eng.exponents(st).sum() - math.log(0.3)) < 1e-10)   # sum rule, ln|det J|
        True
    """

    def __init__(
        self,
        system: AbstractMap,
        *,
        k: int | None = None,
        qr_every: int | str = "auto",
        tangent: str = "auto",
        sum_check: bool | None = None,
    ) -> None:
        check_map(system)
        n = system.tangent_size
        if k is None:
            k = n
        k = check_positive_int(k, "k")
        if k > n:
            kind = "state_size" if n == system.state_size else "tangent_size"
            raise ValueError(f"`k` must be <= {kind} = {n}; got {k}")
        if qr_every != "auto":
            if isinstance(qr_every, bool) or not isinstance(qr_every, numbers.Integral):  # e.g. 'Auto'
                raise TypeError(
                    f"`qr_every` must be an int >= 1 or 'auto'; got {type(qr_every).__name__} {qr_every!r}"
                )
            qr_every = check_positive_int(qr_every, "qr_every")
        check_choice(tangent, "tangent", TANGENT_MODES)
        if sum_check is not None and not isinstance(sum_check, bool):
            raise TypeError(f"`sum_check` must be a bool or None; got {type(sum_check).__name__}")
        if sum_check and k != n:
            raise ValueError(f"`sum_check=True` needs the full spectrum (k = {n}); got k = {k}")
        self.system = system
        self.n_tangent = n
        self.k = k
        self.qr_every = qr_every
        self.tangent = _choose_tangent(system, k, tangent)
        self.sum_check = (k == n and n <= 128) if sum_check is None else sum_check
        #: keep full frames as Householder reflectors (see ``_advance``); off only for tests
        self.householder = n >= 16

    # ---------------------------------------------------------------- building blocks
    def init(self, h0: Tensor, *, generator: torch.Generator | None = None) -> TangentState:
        """Start from states ``h0`` ``(B, n)`` with a random orthonormal frame ``(B, tangent_size, k)``.

        The frame is drawn on the CPU in float64 from ``generator`` (reproducible on any device).
        A single state ``(n,)`` is one trajectory (``B = 1``).

        Raises:
            TypeError: ``h0`` is not a floating tensor of the model's dtype, ``generator`` is not a
                ``torch.Generator``, or the model computes in half precision.
            ValueError: ``h0`` is not ``(B, n)`` / ``(n,)`` with ``B >= 1``, or is not finite.
        """
        system = self.system
        check_compute_dtype(system.dtype)  # QR and slogdet: no half kernels
        check_generator(generator)
        check_tensor(h0, "h0")
        n = system.state_size
        if h0.ndim == 1:
            h0 = h0.unsqueeze(0)
        if h0.ndim != 2 or h0.shape[-1] != n or h0.shape[0] == 0:
            raise ValueError(f"`h0` must have shape (B, {n}) with B >= 1, or ({n},); got {tuple(h0.shape)}")
        system._validate(h0, None, name="h0")
        b = h0.shape[0]
        z = torch.randn(b, self.n_tangent, self.k, generator=generator, dtype=torch.float64)
        q = torch.linalg.qr(z)[0].to(dtype=h0.dtype, device=h0.device)
        return TangentState(h0, q, torch.zeros(b, self.k, dtype=h0.dtype, device=h0.device), 0)

    @staticmethod
    def restart(state: TangentState) -> TangentState:
        """Keep ``h`` and ``q``, reset the accumulated logarithms (end of a transient)."""
        _check_tangent_state(state)
        return TangentState(state.h, state.q, torch.zeros_like(state.log_r), 0)

    def exponents(self, state: TangentState) -> Tensor:
        """Current estimate ``(B, k)`` (natural log, per step; not sorted, not scaled by dt).

        Raises:
            ValueError: ``state.steps == 0`` (fresh from :meth:`init` or :meth:`restart`): there is
            no estimate yet (it was returned as zeros).
        """
        _check_tangent_state(state)
        if state.steps == 0:
            raise ValueError(
                "`state` has no averaged steps (steps = 0, fresh from init or restart), so it has no "
                "exponents yet; advance it first: eng.advance(state, n_steps=...)"
            )
        return state.log_r / state.steps

    def _jacobian(self, h: Tensor, x: Tensor | None) -> Tensor:
        """The dense Jacobian restricted to the tangent space ``(B, m, m)``."""
        jac = self.system._jacobian(h, x)
        m = self.n_tangent
        return jac if jac.shape[-1] == m else jac[..., :m, :m]

    def _jvp(self, h: Tensor, x: Tensor | None, q: Tensor) -> Tensor:
        from rnndyn._autodiff import tangent_map

        n_state = self.system.state_size
        if self.n_tangent < n_state:
            # perturb only the leading (tangent) block; the rest of the state is held fixed
            pad = q.new_zeros(*q.shape[:-2], n_state - self.n_tangent, q.shape[-1])
            return tangent_map(self.system._step, h, torch.cat([q, pad], dim=-2), x)[..., : self.n_tangent, :]
        return tangent_map(self.system._step, h, q, x)

    def advance(
        self,
        state: TangentState,
        *,
        n_steps: int,
        inputs: Tensor | None = None,
        qr_every: int | None = None,
        record: tuple[list[int], list[Tensor]] | None = None,
        record_at: set[int] | None = None,
        logdet: list[Tensor] | None = None,
        callback: Any = None,
        recorder: Any = None,
        needs_frame: Callable[[int], bool] | None = None,
    ) -> TangentState:
        r"""Run ``n_steps`` steps of state and frame, with a QR every ``qr_every`` steps and one
        at the end, accumulating ``ln R_ii`` into ``state.log_r``.

        Args:
            state: from :meth:`init` or a previous ``advance``.
            n_steps: number of steps.
            inputs: ``(B, n_steps, d)`` inputs (``x`` of step ``t`` is ``inputs[:, t]``), or
                ``None``.
            qr_every: overrides the engine's; an ``"auto"`` engine steps with QR every step here
                (the rule needs the exponents estimated in :meth:`run`'s transient).
            record / record_at: internal (running estimates); logdet: internal (sum check).
            callback: called as ``callback(steps_done)`` at each recording (progress bars).
            recorder: ``None`` or a callable ``recorder(step, h, Q, R)`` called after **every**
                QR event (the forward pass of Ginelli's covariant-vector method records these):

                * ``step`` (int): steps done since the last :meth:`restart` (``state.steps``
                  counts on across ``advance`` calls), i.e. the frame is that after step ``step``;
                * ``h``: ``(B, n)`` the state after that step;
                * ``Q``: ``(B, tangent_size, k)`` the orthonormal frame;
                * ``R``: ``(B, k, k)`` upper triangular with positive diagonal, such that
                  :math:`J_{t_1 - 1} \cdots J_{t_0} Q_{t_0} = Q_{t_1} R_{t_1}` over the steps since
                  the previous QR event (``qr_every`` Jacobians; fewer at the end of a call).

                The tensors are fresh (the engine never writes into them), so they may be kept
                without copying. With a recorder the frame is kept explicit (no Householder
                shortcut) and ``R`` is the full factor; without one nothing is done (zero cost).
            needs_frame: with a ``recorder``, an optional ``needs_frame(step) -> bool``: the
                recorder gets ``Q = None`` at the steps where it returns ``False`` (never the last
                step of a call). For full spectra with a dense Jacobian the frame then stays as
                Householder reflectors there (no explicit ``Q``, ``J Q`` by ``ormqr``), and ``R``
                is still the sign-fixed factor of the explicit frames (the reflectors' sign flips
                are tracked exactly). Between QR events (``qr_every > 1``) the recorder is also
                called, with ``R = None``, at the steps where ``needs_frame(step)`` is ``True``:
                ``Q`` is then the non-orthonormal frame :math:`J_{t - 1} \cdots J_{t_0} Q_{t_0}`
                (in the sign convention of the sign-fixed ``Q_{t_0}``, a fresh tensor).

        Returns:
            The new state (``q`` orthonormal, ``diag R > 0``). Divergence is not raised here:
            ``state.h`` turns non-finite and :meth:`run` reports it.
        """
        inputs = self._check_advance(state, n_steps, inputs)
        m = qr_every if qr_every is not None else self.qr_every
        if m == "auto":
            m = 1  # "auto" needs exponent estimates, which only run() has (after its transient)
        m = check_positive_int(m, "qr_every")
        if recorder is not None and not callable(recorder):
            raise TypeError(
                f"`recorder` must be None or a callable (step, h, Q, R); got {type(recorder).__name__}"
            )
        with torch.no_grad():
            return self._advance(
                state, n_steps, inputs, m, record, record_at, logdet, callback, recorder, needs_frame
            )

    def _check_advance(self, state: Any, n_steps: Any, inputs: Any) -> Tensor | None:
        """Validate :meth:`advance`'s arguments against this engine (cheap: shapes, dtypes and one
        finiteness pass over ``inputs``); returns ``inputs`` as ``(B, n_steps, d)`` or ``None``."""
        _check_tangent_state(state)
        check_positive_int(n_steps, "n_steps", minimum=0)
        system = self.system
        n, d = system.state_size, system.input_size
        h, q = state.h, state.q
        if (
            not isinstance(h, Tensor)
            or not isinstance(q, Tensor)
            or h.ndim != 2
            or h.shape[-1] != n
            or tuple(q.shape) != (h.shape[0], self.n_tangent, self.k)
        ):
            raise ValueError(
                f"`state` does not belong to this engine: expected h (B, {n}) and frame "
                f"(B, {self.n_tangent}, {self.k}) for {type(system).__name__} with k = {self.k}; got h "
                f"{tuple(getattr(h, 'shape', ()))} and frame {tuple(getattr(q, 'shape', ()))}"
            )
        if inputs is None:
            return None
        check_tensor(inputs, "inputs")
        if d == 0:
            raise ValueError(
                f"`inputs` must be None: {type(system).__name__} has input_size 0; got shape {tuple(inputs.shape)}"
            )
        b = h.shape[0]
        if inputs.ndim == 2:
            inputs = inputs.unsqueeze(0)
        if inputs.ndim != 3 or inputs.shape[-1] != d or inputs.shape[0] not in (1, b):
            raise ValueError(
                f"`inputs` must have shape ({b}, T, {d}) or (T, {d}) with T >= n_steps = {n_steps}; "
                f"got {tuple(inputs.shape)}"
            )
        if inputs.shape[1] < n_steps:
            raise ValueError(f"`inputs` must cover n_steps = {n_steps} steps; got T = {inputs.shape[1]}")
        check_like(inputs, "inputs", h.dtype, h.device, whose="the state's")
        check_finite(inputs, "inputs")
        return inputs.expand(b, *inputs.shape[1:]) if inputs.shape[0] != b else inputs

    def _advance(
        self, state, n_steps, inputs, m, record, record_at, logdet, callback, recorder, needs_frame
    ) -> TangentState:  # noqa: ANN001
        system = self.system
        h, q, log_r = state.h, state.q, state.log_r
        full = self.k == self.n_tangent
        # Full spectra in "dense" mode form the Jacobian once per step: J @ Q is one GEMM either
        # way, and the frame can stay as Householder reflectors (geqrf) applied by ormqr,
        # J @ Q = ormqr(J), which skips forming Q (orgqr, ~4/3 n^3 flop) at every QR event. Only
        # |R_ii| enters the exponents, so the missing sign fix is harmless; the explicit,
        # sign-fixed Q is formed once at the end. Partial spectra (k < n) use the model's
        # matrix-free step_and_tangent and never form J.
        dense_jac = self.tangent == "dense" and full
        implicit = self.householder and dense_jac and recorder is None
        # a recorder that asks for the frame only at some steps: elsewhere the frame stays as
        # reflectors, Q_H = Q S with S = diag(+-1) (``flip``) against the sign-fixed Q, whose
        # factors are R = S_new R_H S_old (exact sign flips)
        # frames between QR events go to the recorder where it asks for them
        frame_between = needs_frame if recorder is not None and m > 1 else None
        if not (self.householder and dense_jac and recorder is not None):
            needs_frame = None
        flip: Tensor | None = None
        product = system._step_and_tangent
        qa: Tensor | None = None
        tau: Tensor | None = None
        d: Tensor | None = None
        since_qr = 0
        t = -1
        for t in range(n_steps):
            x = inputs[:, t] if inputs is not None else None
            jac = None
            if logdet is not None or dense_jac:
                jac = self._jacobian(h, x)
                if logdet is not None:
                    logdet.observe(system, h, x, jac)
            if qa is not None:
                q = torch.ormqr(qa, tau, jac.expand_as(qa), left=False)  # type: ignore[union-attr]
                qa = None
                h = system._step(h, x)
            elif self.tangent == "jvp":
                q = self._jvp(h, x, q)
                h = system._step(h, x)
            elif jac is not None and dense_jac:
                q = torch.matmul(jac, q)
                h = system._step(h, x)
            else:
                h, q = product(h, x, q)
            since_qr += 1
            if frame_between is not None and since_qr < m and t < n_steps - 1:
                step = state.steps + t + 1
                if frame_between(step):
                    recorder(step, h, q * flip.unsqueeze(-2) if flip is not None else q, None)
            if since_qr == m or t == n_steps - 1:
                if recorder is not None:
                    step = state.steps + t + 1
                    if needs_frame is not None and t < n_steps - 1 and not needs_frame(step):
                        qa, tau = torch.geqrf(q)
                        d = torch.diagonal(qa, dim1=-2, dim2=-1)
                        new = torch.where(d < 0, -1.0, 1.0).to(q.dtype)
                        r = qa.triu()
                        if flip is not None:
                            new = new * flip
                            r.mul_(flip.unsqueeze(-2))
                        r.mul_(new.unsqueeze(-1))
                        flip = new
                        recorder(step, h, None, r)
                    else:
                        q, r = _qr_full(q)
                        if flip is not None:
                            q.mul_(flip.unsqueeze(-2))
                            r.mul_(flip.unsqueeze(-1)).mul_(flip.unsqueeze(-2))
                            flip = None
                        d = torch.diagonal(r, dim1=-2, dim2=-1)
                        recorder(step, h, q, r)
                elif implicit:
                    qa, tau = torch.geqrf(q)
                    d = torch.diagonal(qa, dim1=-2, dim2=-1)
                else:
                    q, d = _qr(q)
                log_r = log_r + torch.log(d.abs())
                since_qr = 0
                if record_at is not None and t in record_at:
                    record[0].append(state.steps + t + 1)  # type: ignore[index]
                    record[1].append(log_r.clone())  # type: ignore[index]
                    if callback is not None:
                        callback(state.steps + t + 1)
                    if diag.state_escaped(h, getattr(self, "_escape_bound", math.inf)):
                        break
        if qa is not None and flip is not None:
            q = torch.linalg.householder_product(qa, tau) * flip.unsqueeze(-2)
        elif qa is not None:
            q = _fix_signs(torch.linalg.householder_product(qa, tau), d)  # type: ignore[arg-type]
        elif n_steps > 0 and recorder is None:
            q = _fix_signs(q, d)  # type: ignore[arg-type]
        return TangentState(h, q, log_r, state.steps + t + 1 if n_steps > 0 else state.steps)

    def _auto_qr_every(self, lam: Tensor, dtype: torch.dtype) -> int:
        """``qr_every`` from the transient's exponent estimates ``lam`` (natural log, per step)."""
        if lam.numel() == 0 or not bool(torch.isfinite(lam).all()):
            return 1
        spread = float(lam.max() - lam.min())
        size = float(lam.abs().max())
        ratio = _AUTO_RATIO.get(dtype, 1e2)
        limit = _AUTO_RANGE.get(dtype, 1e10)
        # measured (N = 400 tanh net, spread 8.6/step): ratio e^17 -> 2e-8 error in the smallest
        # exponent, e^26 -> 7e-5, e^34 -> 0.2; the top exponents are exact to 1e-15 for any m
        m = _AUTO_MAX_QR_EVERY
        if spread > 0:
            m = min(m, int(math.log(ratio) / spread))
        if size > 0:
            m = min(m, int(math.log(limit) / size))
        return max(1, m)

    # ---------------------------------------------------------------- one full run
    def run(
        self,
        *,
        n_steps: int | None = None,
        n_transient: int = 0,
        inputs: Tensor | None = None,
        h0: Tensor | None = None,
        n_trajectories: int = 1,
        generator: torch.Generator | None = None,
        log_base: float = math.e,
        zero_tol: float | None = None,
        throw: bool = True,
        progress: Any = None,
        check_jacobian: bool = True,
        recorder: Any = None,
    ) -> LyapunovResult:
        """Transient + averaging run; see :func:`lyapunov_spectrum` for the arguments.

        ``recorder``: passed to :meth:`advance` for the averaging steps only (not the transient);
        its ``step`` counts from the start of the averaging.
        """
        system = self.system
        check_generator(generator)
        n_transient = check_positive_int(n_transient, "n_transient", minimum=0)
        log_base = check_real(log_base, "log_base", low=1.0, low_open=True)
        if zero_tol is not None:
            zero_tol = check_real(zero_tol, "zero_tol", low=0.0)
        _check_flags(throw=throw, progress=progress)
        n_trajectories = check_positive_int(n_trajectories, "n_trajectories")
        if not isinstance(check_jacobian, bool):
            raise TypeError(f"`check_jacobian` must be a bool; got {type(check_jacobian).__name__}")
        check_finite_parameters(system)
        inputs, h0, n_steps, batch = _prepare(system, inputs, h0, n_steps, n_transient, n_trajectories)
        shared_inputs = inputs is not None and batch > 1 and inputs.stride(0) == 0
        if h0 is None:
            h0 = system.initial_state((batch,), generator=generator)
        state = self.init(h0, generator=generator)
        self._escape_bound = diag.divergence_bound(h0)
        in_tr = inputs[:, :n_transient] if inputs is not None else None
        in_avg = inputs[:, n_transient : n_transient + n_steps] if inputs is not None else None

        # transient: state and frame, re-orthonormalised (docs/theory/chaos.md §3.2 note: never unnormalised)
        m_first = 1 if self.qr_every == "auto" else int(self.qr_every)
        probe = max(_AUTO_MIN_TRANSIENT, n_transient // 4)
        if self.qr_every == "auto" and n_transient >= probe + _AUTO_MIN_TRANSIENT:
            # "auto" in the transient: m from its first quarter (QR every step there) for the rest
            # of it; the averaging's m comes from the whole transient below. The transient's own
            # exponents are discarded, and a frame error from an underestimated spread decays as
            # the frame converges, so the early estimate needs no margin.
            state = self.advance(
                state, n_steps=probe, inputs=None if in_tr is None else in_tr[:, :probe], qr_every=1
            )
            m_first = self._auto_qr_every((state.log_r / probe).mean(0), h0.dtype)
            rest = None if in_tr is None else in_tr[:, probe:]
            state = self.advance(state, n_steps=n_transient - probe, inputs=rest, qr_every=m_first)
        elif n_transient > 0:
            state = self.advance(state, n_steps=n_transient, inputs=in_tr, qr_every=m_first)
        m = m_first
        if self.qr_every == "auto":
            m = 1
            if n_transient >= _AUTO_MIN_TRANSIENT:
                m = self._auto_qr_every((state.log_r / n_transient).mean(0), h0.dtype)
        state = self.restart(state)
        diverged_in_transient = diag.state_escaped(state.h, self._escape_bound)
        samples = [(state.h[:2], in_avg[:2, 0] if in_avg is not None else None)]

        n_events = -(-n_steps // m)
        event_steps = [min((e + 1) * m, n_steps) - 1 for e in range(n_events)]
        n_blocks = min(N_BLOCKS, n_events)
        idx = set(round(j * (n_events - 1) / max(N_RUNNING - 1, 1)) for j in range(min(N_RUNNING, n_events)))
        idx |= {round((j + 1) * n_events / n_blocks) - 1 for j in range(n_blocks)}
        record_at = {event_steps[e] for e in idx}
        record: tuple[list[int], list[Tensor]] = ([], [])
        logdet = diag.StepAverages(trace=_has_flow_trace(system)) if self.sum_check else None
        cb = None if progress is None else (lambda s: progress(s, n_steps))
        if not diverged_in_transient:
            state = self.advance(
                state,
                n_steps=n_steps,
                inputs=in_avg,
                qr_every=m,
                record=record,
                record_at=record_at,
                logdet=logdet,
                callback=cb,
                recorder=recorder,
            )
        samples.append((state.h[:2], in_avg[:2, -1] if in_avg is not None else None))
        periods = None
        if inputs is None and not diverged_in_transient and bool(torch.isfinite(state.h).all()):
            periods = (_exact_periods(system, h0), _exact_periods(system, state.h))
        return _build_result(
            self,
            state=state,
            record=record,
            averages=logdet,
            n_steps=n_steps,
            n_transient=n_transient,
            qr_every=m,
            batch=batch,
            n_blocks=n_blocks,
            log_base=log_base,
            zero_tol=zero_tol,
            throw=throw,
            samples=samples if check_jacobian else None,
            shared_inputs=shared_inputs,
            periods=periods,
        )


# --------------------------------------------------------------------------------------- results
def _has_flow_trace(system: AbstractMap) -> bool:
    """Whether the flow-divergence check can run: a discretised flow with an analytic Jacobian
    (its trace is then O(n^2) per step; autograd would cost n reverse passes)."""
    flow = getattr(system, "flow", None)
    return flow is not None and getattr(system, "dt", None) is not None and bool(flow.has_analytic_jacobian)


def _run_settings(engine: LyapunovEngine, **kw: Any) -> dict[str, Any]:
    system = engine.system
    out = dict(
        units=system.units,
        log_base=kw["log_base"],
        dt=system.dt,
        k=engine.k,
        state_size=system.state_size,
        n_steps=kw["n_steps"],
        n_transient=kw["n_transient"],
        qr_every=kw["qr_every"],
        n_trajectories=kw["batch"],
        method="qr",
        tangent=engine.tangent,
    )
    return out


def _diverged_result(
    settings: dict[str, Any], checks: list[Check], batch: int, k: int, msg: str, throw: bool
) -> LyapunovResult:
    nan = torch.full((k,), math.nan, dtype=torch.float64)
    res = LyapunovResult(
        exponents=nan,
        stderr=nan.clone(),
        per_trajectory=torch.full((batch, k), math.nan, dtype=torch.float64),
        running=torch.zeros(batch, 0, k, dtype=torch.float64),
        running_steps=torch.zeros(0, dtype=torch.int64),
        **settings,
        stderr_method="none",
        kaplan_yorke_dimension=math.nan,
        entropy_rate=math.nan,
        predictability_time=math.nan,
        n_near_zero=0,
        near_zero_tolerance=math.nan,
        regime="diverged",
        sum_check=None,
        status=status_from_checks(checks, Status.DIVERGED),
        message=msg,
        checks=tuple(checks),
    )
    if throw:
        raise AnalysisError(
            msg + "; or pass throw=False to get the result with status 'diverged'", result=res
        )
    return res


#: longest period of an orbit found repeating bit for bit at the end of a run (``_exact_periods``)
_EXACT_PERIOD_MAX = 8


def _exact_periods(system: AbstractMap, h: Tensor) -> Tensor:
    """Per trajectory, the smallest ``p <= _EXACT_PERIOD_MAX`` with ``f^p(h) == h`` bit for bit (0: none).

    An autonomous orbit that repeats exactly in floating point sits on a periodic orbit. With a
    positive exponent that orbit is unstable, so the run measured it, not the attractor: it was
    reached through rounding (every float64 orbit of the slope-2 tent map ends on its fixed point 0)
    or started on it (``h0 = 0``, the fixed point of a network without biases)."""
    period = torch.zeros(h.shape[0], dtype=torch.int64)
    x = h
    with torch.no_grad():
        for p in range(1, _EXACT_PERIOD_MAX + 1):
            x = system._step(x, None)
            same = (x == h).all(-1).cpu() & (period == 0)
            period[same] = p
    return period


def _on_kink(engine: LyapunovEngine, h: Tensor) -> tuple[bool, float | None]:
    """Whether the Jacobian at ``h`` has more all-zero rows or columns than at ``h`` moved by a
    relative 1e-9 to either side: ``h`` sits exactly on a kink of a piecewise-linear map, where the
    Jacobian takes one side's derivative (relu'(0) = 0) and a collapse of the frame is an artefact
    of that convention. Also the largest spectral radius of the Jacobians a relative 1e-9 to either
    side (``n <= 512``; else ``None``): for a fixed point, > 1 means it expands on that side (the
    slope-2 tent map at 0: 2). Dense Jacobians only (``n <= 2048``); ``(False, None)`` otherwise."""
    if engine.n_tangent > 2048:
        return False, None

    def jac_at(x: Tensor) -> Tensor:
        with torch.no_grad():
            return engine._jacobian(x, None)

    def deficiency(jac: Tensor) -> Tensor:
        zero = jac == 0
        return zero.all(-1).sum(-1) + zero.all(-2).sum(-1)

    try:
        step = 1e-9 * h.abs().amax(-1, keepdim=True).clamp_min(1.0)
        j0, jp, jm = jac_at(h), jac_at(h + step), jac_at(h - step)
        kink = bool((deficiency(j0) > torch.minimum(deficiency(jp), deficiency(jm))).any())
        rho = None
        if kink and engine.n_tangent <= 512:
            sides = torch.cat([jp, jm]).detach().to("cpu", torch.float64)
            rho = float(torch.linalg.eigvals(sides).abs().amax())
    except Exception:  # noqa: BLE001 - a model without a usable dense Jacobian: no kink verdict
        return False, None
    return kink, rho


def _build_result(
    engine: LyapunovEngine,
    *,
    state: TangentState,
    record: tuple[list[int], list[Tensor]],
    averages: diag.StepAverages | None,
    n_steps: int,
    n_transient: int,
    qr_every: int,
    batch: int,
    n_blocks: int,
    log_base: float,
    zero_tol: float | None,
    throw: bool,
    samples: list[tuple[Tensor, Tensor | None]] | None,
    shared_inputs: bool,
    periods: tuple[Tensor, Tensor] | None = None,
) -> LyapunovResult:
    """Exponents, errors, diagnostics and checks of a QR run; the status is the worst check.

    ``periods``: per trajectory, the period of an orbit found repeating exactly at the start and
    at the end of an autonomous run (0: none; :func:`_exact_periods`)."""
    system = engine.system
    dt = system.dt
    step_time = dt or 1.0
    scale = 1.0 / (step_time * math.log(log_base))
    settings = _run_settings(
        engine, log_base=log_base, n_steps=n_steps, n_transient=n_transient, qr_every=qr_every, batch=batch
    )
    checks: list[Check] = []
    # (a) the model's tangent against autograd at sampled states of this trajectory
    if samples is not None and engine.tangent != "jvp":
        hs = torch.cat([h for h, _ in samples])
        xs = [x for _, x in samples]
        xcat = torch.cat(xs) if all(x is not None for x in xs) else None
        # only states that have not escaped: at an inf/NaN or huge state any Jacobian "disagrees"
        # (relative error inf), which made a divergence read 'failed: _jacobian disagrees'
        finite = torch.isfinite(hs).all(-1) & (
            hs.abs().amax(-1) <= getattr(engine, "_escape_bound", math.inf)
        )
        if xcat is not None:
            finite = finite & torch.isfinite(xcat).all(-1)
        if bool(finite.any()):
            hs, xcat = hs[finite], (xcat[finite] if xcat is not None else None)
            checks.append(jacobian_check(system, hs, xcat, generator=torch.Generator().manual_seed(12)))
    # divergence: non-finite, or unbounded growth long before overflow
    bound = getattr(engine, "_escape_bound", math.inf)
    log_r = state.log_r.detach().to("cpu", torch.float64)
    bad_exp = bool(torch.isnan(log_r).any() or (log_r == math.inf).any())
    escaped = diag.state_escaped(state.h, bound) or bad_exp or state.steps < n_steps
    if escaped:
        at = state.steps
        where = (
            f"within the first {at} averaged steps (after {n_transient} transient steps)"
            if at > 0 or n_transient == 0
            else f"during the {n_transient} transient steps"
        )
        checks.append(diag.divergence_check(True, at, bound, where))
        msg = (
            f"diverged: the state of {model_name(system)} escaped (non-finite or max-norm > {bound:.1g}, "
            f"1e8 times the initial scale) {where}. Unbounded dynamics have no attractor, so there are "
            "no exponents and no regime; reduce the gain, the inputs or dt"
        )
        if any(not c.passed and c.status is Status.FAILED for c in checks):
            msg += "; also: " + "; ".join(
                c.detail for c in checks if not c.passed and c.status is Status.FAILED
            )
        return _diverged_result(settings, checks, batch, engine.k, msg, throw)
    checks.append(diag.divergence_check(False, None, bound, ""))

    per_traj = log_r / n_steps * scale
    per_traj_sorted = torch.sort(per_traj, dim=-1, descending=True).values
    exps = per_traj_sorted.mean(0)
    steps = torch.tensor(record[0], dtype=torch.int64)
    cum = torch.stack([r.detach().to("cpu", torch.float64) for r in record[1]], dim=1)  # (B, C, k)
    running = cum / steps.to(torch.float64).view(1, -1, 1) * scale
    notes: list[str] = []
    if batch >= 2 and not shared_inputs:
        stderr = per_traj_sorted.std(0, unbiased=True) / math.sqrt(batch)
        stderr_method = "trajectories"
    elif n_blocks >= 2:
        # one trajectory, or trajectories driven by one shared input sequence (they synchronise,
        # so their spread is not an error): time blocks of the mean over trajectories
        stderr = diag.block_stderr(cum.mean(0), steps, n_steps, n_blocks, scale)
        stderr_method = "time_blocks"
        if batch >= 2:
            notes.append("one input sequence shared by all trajectories: standard error from time blocks")
    else:
        stderr, stderr_method = torch.full_like(exps, math.nan), "none"
    n_neg_inf = int(torch.isneginf(exps).sum())
    if n_neg_inf:
        notes.append(
            f"{n_neg_inf} exponent(s) are -inf: the Jacobian is singular along the trajectory "
            "(e.g. dead ReLU units, or saturated units whose derivative underflows)"
        )
    kyd = kaplan_yorke_dimension(exps, complete=engine.k == engine.n_tangent)
    if math.isnan(kyd):
        notes.append(_kyd_unknown(engine.k, engine.n_tangent))
    lam_max_nat = float(exps[0]) * math.log(log_base)
    entropy = float(exps.clamp(min=0).sum())
    pred = math.log(2.0) / lam_max_nat if lam_max_nat > 0 else math.inf
    # multistability: per-trajectory lambda_max against their own time-block errors; the near-zero
    # tolerance then uses the spread within the clusters (the attractors' differences are not noise)
    clusters, multi_check = diag.multistability(
        per_traj_sorted[:, 0], cum, steps, n_steps, n_blocks, scale, system.units
    )
    tol_err = _within_cluster_stderr(per_traj_sorted, clusters, cum, steps, n_steps, n_blocks, scale)
    tol, n_zero, regime = _near_zero(exps, stderr if tol_err is None else tol_err, zero_tol)
    if n_neg_inf == engine.k:
        checks.append(
            Check(
                name="finite_exponents",
                passed=False,
                detail="every exponent is -inf: all tangent directions collapse to zero within the float "
                "range (saturated units); lambda_max is below any representable rate, not a measured value",
                status=Status.WARNING,
            )
        )

    if periods is not None and bool((periods[0] > 0).any()):
        notes.append(
            f"the start is an exactly periodic orbit (period {int(periods[0][periods[0] > 0].min())} in "
            f"{int((periods[0] > 0).sum())} of {batch} trajectories): the exponents are that orbit's"
        )
    if periods is not None and bool((periods[1] > 0).any()):
        check = _exact_orbit_check(
            engine, state.h, periods[1], periods[0] > 0, float(exps[0]), tol, n_neg_inf, system.units
        )
        if check is not None:
            checks.append(check)

    # convergence of the top exponents
    running_sorted = torch.sort(running, dim=-1, descending=True).values.mean(0)  # (C, k)
    conv, trend = _trend_checks(
        running_sorted=running_sorted,
        cum=cum,
        steps=steps,
        exps=exps,
        stderr=stderr,
        stderr_method=stderr_method,
        batch=batch,
        n_steps=n_steps,
        n_transient=n_transient,
        n_blocks=n_blocks,
        scale=scale,
        step_time=step_time,
        near_zero_tol=tol,
        units=system.units,
        stationarity=True,
    )
    checks += trend
    if multi_check is not None:
        checks.append(multi_check)
        if len(clusters) > 1:
            regime = "multistable"
    # sum rule and flow divergence (streaming means along the averaged trajectory)
    sum_check = None
    flow_check = None
    if averages is not None and averages.count > 0:
        mean_ld = averages.mean_logdet()
        if mean_ld is not None:
            sum_check, c = diag.sum_rule_check(float(exps.sum()), mean_ld, scale, state.h.dtype, engine.k)
            checks.append(c)
        mean_tr = averages.mean_trace()
        if mean_tr is not None and dt is not None:
            flow_check, c = diag.flow_divergence_check(
                float(exps.sum()), mean_tr / math.log(log_base), stderr, dt
            )
            checks.append(c)

    if flow_check is None and _is_discretised_flow(system):
        # the exponents of a discretised flow carry the integrator's time-step bias (Euler at
        # dt = 0.1 on x' = -x gives ln(0.9)/0.1 = -1.054, not -1); say when nothing measured it
        notes.append(_DT_UNCHECKED)
    status = status_from_checks(checks)
    if qr_every > 1:
        notes.append(f"QR every {qr_every} steps")
    message = _message(status, checks, notes)
    res = LyapunovResult(
        exponents=exps,
        stderr=stderr,
        per_trajectory=per_traj_sorted,
        running=running,
        running_steps=steps,
        **settings,
        stderr_method=stderr_method,
        kaplan_yorke_dimension=kyd,
        entropy_rate=entropy,
        predictability_time=pred,
        n_near_zero=n_zero,
        near_zero_tolerance=tol,
        regime=regime,
        sum_check=sum_check,
        flow_check=flow_check,
        convergence=conv.as_dict(),
        clusters=tuple(clusters),
        notes=tuple(notes),
        status=status,
        message=message,
        checks=tuple(checks),
    )
    if throw and status is Status.FAILED:
        raise AnalysisError(message + "; pass throw=False to get the result", result=res)
    return res


def _exact_orbit_check(
    engine: LyapunovEngine | None,
    h: Tensor,
    periods: Tensor,
    started: Tensor,
    lam: float,
    tol: float,
    n_neg_inf: int,
    units: str,
) -> Check | None:
    """The failed ``exact_periodic_orbit`` check, when an exactly periodic orbit makes the exponents
    an artefact: -inf on a kink (``failed`` for a fixed point that expands on one side, else
    ``warning``) or, for an orbit that did not start periodic (``started``), unstable
    (``lambda_max > 0``: ``warning``); else ``None``. A start chosen on a periodic orbit
    (``h0 = 0`` on a fixed point) measures that orbit, as asked: a note, not a check. Without an
    ``engine`` (the two-trajectory estimate) there is no kink test."""
    hit = periods > 0
    where = (
        f"in {int(hit.sum())} of {periods.numel()} trajectories the orbit repeats bit for bit with period "
        f"{', '.join(str(p) for p in sorted(set(periods[hit].tolist())))} at the end of the run"
    )
    fix = (
        "start from a generic state (not a fixed point such as h0 = 0), or use a map whose floating-point "
        "orbits do not collapse (a slope slightly off 2 for the tent map, e.g. rd.Tent(mu=1.9999), or the "
        "conjugate logistic map rd.Logistic(r=4))"
    )
    kink, rho = (False, None) if not n_neg_inf or engine is None else _on_kink(engine, h[hit.to(h.device)])
    if kink:
        # a fixed point that expands on one side (rho > 1): the -inf hides an instability (failed);
        # otherwise it stands for a finite contraction, qualitatively right (warning)
        fixed = bool((periods[hit] == 1).all())
        expands = fixed and rho is not None and rho > 1.0
        side = (
            f"; a relative 1e-9 to either side the Jacobian's spectral radius is up to {rho:.4g}"
            + (f" > 1: the fixed point expands there (rate ln {rho:.4g} = {math.log(rho):.4g} per step)"
               if expands else "")
            if rho is not None and fixed else ""
        )  # fmt: skip
        return Check(
            name="exact_periodic_orbit",
            passed=False,
            value=rho,
            tolerance=1.0 if rho is not None else None,
            detail=f"{where}, exactly on a kink of the piecewise-linear map (the Jacobian there takes "
            "one side's derivative, relu'(0) = 0, and another a relative 1e-9 away): the -inf "
            f"exponents are an artefact of that convention, not a rate of the map{side} (the slope-2 "
            f"tent map 2 relu(x) - 4 relu(x - 1/2) has ln 2 = 0.693 everywhere else); {fix}",
            status=Status.FAILED if expands else Status.WARNING,
        )
    hit = hit & ~started
    where = (
        f"in {int(hit.sum())} of {periods.numel()} trajectories the orbit became exactly periodic "
        f"(period {', '.join(str(p) for p in sorted(set(periods[hit].tolist())))}) during the run"
    )
    if bool(hit.any()) and math.isfinite(lam) and lam > tol:
        return Check(
            name="exact_periodic_orbit",
            passed=False,
            value=lam,
            tolerance=tol,
            detail=f"{where} while lambda_max = {lam:.4g} {units} > 0: an unstable periodic orbit is "
            "reached only through rounding, so the exponents are that orbit's, not the attractor's; "
            f"{fix}",
            status=Status.WARNING,
        )
    return None


def _kyd_unknown(k: int, n: int, *, fix: str = "compute more exponents") -> str:
    """The note for a Kaplan--Yorke dimension that a partial spectrum cannot give (NaN)."""
    return (
        f"Kaplan-Yorke dimension unknown (NaN): the partial sums of the {k} exponent(s) computed "
        f"never turn negative, so D_KY > {k}; {fix} (k up to n = {n})"
    )


_DT_UNCHECKED = (
    "the integrator's time-step bias was not measured (the flow_divergence check needs the full "
    "spectrum and an analytic Jacobian of the flow): pass check_dt=True to compare with a run at dt/2"
)


def _message(status: Status, checks: list[Check], notes: list[str]) -> str:
    """What was checked, and for anything that did not pass, what it found and what to change."""
    failed = [c for c in checks if not c.passed]
    names = ", ".join(c.name for c in checks)
    if not failed:
        head = f"success: all checks passed ({names})"
    else:
        head = f"{status.value}: " + "; ".join(f"{c.name}: {c.detail}" for c in failed)
        passed = [c.name for c in checks if c.passed]
        if passed:
            head += f" (passed: {', '.join(passed)})"
    return head + ("; " + "; ".join(notes) if notes else "")


# --------------------------------------------------------------------------------------- helpers
def kaplan_yorke_dimension(exponents: Tensor, *, complete: bool = True) -> float:
    r"""Kaplan--Yorke dimension :math:`D_{KY} = j + \sum_{i\le j}\lambda_i/|\lambda_{j+1}|`
    (docs/theory/chaos.md §4.1), ``j`` the largest index with :math:`\sum_{i\le j}\lambda_i \ge 0`.

    Args:
        exponents: sorted or unsorted ``(k,)`` exponents.
        complete: whether they are the whole spectrum. If every partial sum is non-negative the
            dimension is ``k`` for a complete spectrum and unknown (NaN) for a partial one.

    Example:
        >>> import torch
        >>> round(kaplan_yorke_dimension(torch.tensor([0.9056, 0.0, -14.5723])), 4)
        2.0621
    """
    lam = torch.sort(exponents.detach().to("cpu", torch.float64), descending=True).values
    if lam.numel() == 0 or bool(torch.isnan(lam).any()):
        return math.nan
    csum = torch.cumsum(lam, 0)
    if float(lam[0]) < 0:
        return 0.0
    nonneg = (csum >= 0).nonzero()
    j = int(nonneg[-1]) + 1  # number of exponents in the non-negative partial sum
    if j == lam.numel():
        return float(j) if complete else math.nan
    return j + float(csum[j - 1]) / abs(float(lam[j]))


def _trend_checks(
    *,
    running_sorted: Tensor,
    cum: Tensor,
    steps: Tensor,
    exps: Tensor,
    stderr: Tensor,
    stderr_method: str,
    batch: int,
    n_steps: int,
    n_transient: int,
    n_blocks: int,
    scale: float,
    step_time: float,
    near_zero_tol: float,
    units: str,
    stationarity: bool,
) -> tuple[diag.Convergence, list[Check]]:
    """The checks on how the running exponents evolve, shared by :func:`lyapunov_spectrum` and
    :func:`max_lyapunov`: convergence of the top exponents (:func:`_diagnostics.convergence_checks`)
    and, with ``stationarity``, the halves' block means against a trend-free noise (a slow escape,
    a transient; :func:`_diagnostics.stationarity_check`). Returns the convergence summary (its
    ``as_dict()`` goes into the result) and the checks."""
    conv = diag.convergence_checks(
        running_sorted=running_sorted,
        steps=steps,
        exps=exps,
        stderr=diag.convergence_stderr(stderr, stderr_method, batch, cum, steps, n_steps, n_blocks, scale),
        stderr_method=stderr_method,
        n_steps=n_steps,
        n_transient=n_transient,
        n_blocks=n_blocks,
        step_time=step_time,
        near_zero_tol=near_zero_tol,
        units=units,
    )
    checks = list(conv.checks)
    if stationarity:
        check = diag.stationarity_check(
            cum=cum.mean(0),
            steps=steps,
            exps=exps,
            stderr=stderr,
            n_steps=n_steps,
            n_transient=n_transient,
            scale=scale,
            units=units,
        )
        if check is not None:
            checks.append(check)
    return conv, checks


def _within_cluster_stderr(
    per_traj: Tensor,
    clusters: list[dict[str, Any]],
    cum: Tensor,
    steps: Tensor,
    n_steps: int,
    n_blocks: int,
    scale: float,
) -> Tensor | None:
    r"""The standard error the near-zero tolerance uses when the trajectories fall into several
    clusters (multistability); ``None`` with at most one cluster (then the reported ``stderr``).

    The spread over all trajectories counts the attractors' different exponents as noise, so a
    run with attractors at ``lambda = -0.01`` and ``-0.1`` got a tolerance of ~0.06 and called
    their mean "zero". Instead, per exponent ``i``, the pooled spread within the clusters,

    .. math:: s_i^2 = \frac{1}{B - C}\sum_c \sum_{b \in c} (\lambda_{bi} - \bar\lambda_{ci})^2,
              \qquad \mathrm{se}_i = s_i / \sqrt{B}

    (``B`` trajectories, ``C`` clusters; the error of the mean of ``B`` trajectories on one
    attractor). With only singleton clusters (``B = C``) it is the combined time-block error of
    the trajectories, ``sqrt(sum_b se_bi^2) / B``.
    """
    if len(clusters) < 2:
        return None
    b = per_traj.shape[0]
    if b > len(clusters):
        ss = torch.zeros_like(per_traj[0])
        for c in clusters:
            vals = per_traj[list(c["trajectories"])]
            ss = ss + ((vals - vals.mean(0)) ** 2).sum(0)
        return torch.sqrt(ss / (b - len(clusters))) / math.sqrt(b)
    se = torch.stack([diag.block_stderr(c, steps, n_steps, n_blocks, scale) for c in cum])
    return torch.sqrt((se**2).sum(0)) / b


def _near_zero(exps: Tensor, stderr: Tensor, zero_tol: float | None) -> tuple[float, int, str]:
    finite = torch.isfinite(exps)
    if zero_tol is None:
        i = int(torch.argmin(torch.where(finite, exps.abs(), torch.full_like(exps, math.inf))))
        se = float(stderr[i]) if math.isfinite(float(stderr[i])) else 0.0
        zero_tol = max(1e-3, 3.0 * se)
    n_zero = int(((exps.abs() <= zero_tol) & finite).sum())
    lam = float(exps[0])
    regime = "chaotic" if lam > zero_tol else ("stable" if lam < -zero_tol else "marginal")
    return zero_tol, n_zero, regime


def _check_flags(*, throw: Any, progress: Any) -> None:
    """``throw`` must be a real bool (``throw="no"`` would otherwise raise), ``progress`` a callable."""
    if not isinstance(throw, bool):
        raise TypeError(f"`throw` must be a bool; got {type(throw).__name__} {throw!r}")
    if progress is not None and not callable(progress):
        raise TypeError(
            f"`progress` must be None or a callable progress(done, total); got {type(progress).__name__} {progress!r}"
        )


def _prepare(
    system: AbstractMap,
    inputs: Tensor | None,
    h0: Tensor | None,
    n_steps: int | None,
    n_transient: int,
    n_trajectories: int,
) -> tuple[Tensor | None, Tensor | None, int, int]:
    """Validate inputs/h0/n_steps and agree on the number of trajectories ``B``."""
    check_compute_dtype(system.dtype)  # QR and slogdet: no half kernels
    n, d = system.state_size, system.input_size
    candidates: dict[str, int] = {}
    if n_trajectories != 1:
        candidates["n_trajectories"] = n_trajectories
    if inputs is not None:
        check_tensor(inputs, "inputs")
        if d == 0:
            raise ValueError(
                f"`inputs` must be None: {type(system).__name__} has input_size 0; got shape "
                f"{tuple(inputs.shape)}"
            )
        if inputs.ndim not in (2, 3) or inputs.shape[-1] != d:
            raise ValueError(f"`inputs` must have shape (B, T, {d}) or (T, {d}); got {tuple(inputs.shape)}")
        check_finite(inputs, "inputs")
        if inputs.ndim == 3:
            if inputs.shape[0] == 0:
                raise ValueError(
                    f"`inputs` must hold at least one sequence (B >= 1); got shape {tuple(inputs.shape)}"
                )
            candidates["inputs.shape[0]"] = inputs.shape[0]
        total = inputs.shape[-2]
        if n_steps is None:
            if total <= n_transient:
                raise ValueError(
                    f"`inputs` has T = {total} steps, which leaves none after n_transient = {n_transient}; "
                    "give longer inputs or a shorter transient"
                )
            n_steps = total - n_transient
        check_positive_int(n_steps, "n_steps")
        if n_transient + n_steps > total:
            raise ValueError(
                f"`inputs` must cover n_transient + n_steps = {n_transient + n_steps} steps; got T = {total}"
            )
    if n_steps is None:
        raise TypeError("`n_steps` is required when no `inputs` are given")
    n_steps = check_positive_int(n_steps, "n_steps")
    if h0 is not None:
        check_tensor(h0, "h0")
        if h0.ndim not in (1, 2) or h0.shape[-1] != n:
            raise ValueError(f"`h0` must have shape (B, {n}) or ({n},); got {tuple(h0.shape)}")
        if h0.ndim == 2 and h0.shape[0] == 0:
            raise ValueError(f"`h0` must hold at least one state (B >= 1); got shape {tuple(h0.shape)}")
        system._validate(h0, None, name="h0")
        if h0.ndim == 2:
            candidates["h0.shape[0]"] = h0.shape[0]
    if len(set(candidates.values())) > 1:
        raise ValueError(
            "the number of trajectories is ambiguous: "
            + ", ".join(f"{k} = {v}" for k, v in candidates.items())
            + "; they must agree"
        )
    batch = next(iter(candidates.values()), 1)
    if h0 is not None:
        h0 = h0.expand(batch, n).clone() if h0.ndim == 1 or h0.shape[0] != batch else h0
    if inputs is not None:
        dtype = h0.dtype if h0 is not None else system.dtype
        device = h0.device if h0 is not None else system.device
        check_like(inputs, "inputs", dtype, device)
        inputs = inputs.expand(batch, *inputs.shape[-2:]) if inputs.ndim == 2 else inputs
    return inputs, h0, n_steps, batch


# --------------------------------------------------------------------------------------- public API
def lyapunov_spectrum(
    system: AbstractMap,
    *,
    k: int | None = None,
    n_steps: int | None = None,
    n_transient: int = 0,
    qr_every: int | str = DEFAULTS.qr_every,
    inputs: Tensor | None = None,
    h0: Tensor | None = None,
    n_trajectories: int = 1,
    generator: torch.Generator | None = None,
    log_base: float = math.e,
    throw: bool = True,
    tangent: str = "auto",
    sum_check: bool | None = None,
    zero_tol: float | None = None,
    progress: Any = None,
    check_jacobian: bool = True,
    check_dt: bool = False,
) -> LyapunovResult:
    r"""Lyapunov spectrum (top ``k`` or all exponents) of a map by the QR (Benettin) method.

    .. math::

        Q_{t+1} R_{t+1} = J(h_t, x_{t+1})\,Q_t, \qquad
        \lambda_i = \frac{1}{n_\text{steps}\,\Delta t\,\ln b}\sum_t \ln R_{t,ii},

    with ``R_ii > 0``, ``Delta t = system.dt`` for discretised flows (units ``1/time``) and 1
    otherwise (``1/step``), ``b = log_base`` (2 reproduces the log2 exponents of the [VPSL22]
    code, docs/theory/chaos.md §3.2). The state and the frame run ``n_transient`` steps first (the
    frame re-orthonormalised throughout), then exponents are averaged over ``n_steps`` steps.
    ``B`` trajectories (``n_trajectories``, or the batch of ``h0`` / ``inputs``) run as one
    batched computation; their spread gives ``stderr`` (one trajectory: ``N_BLOCKS`` time blocks).

    What matters day to day: ``n_steps`` (the error falls as ``1/sqrt(n_steps)``), ``n_transient``
    (long enough to reach the attractor), ``k`` (top exponents are much cheaper than all of them
    when ``k << n``) and ``n_trajectories``. Use float64 models: in float32 the most negative
    exponents are limited by round-off. ``qr_every > 1`` (or ``"auto"``) speeds up full spectra of
    large networks, where the QR costs more than the ``J @ Q`` product.

    Args:
        system: a map; flows raise ``TypeError`` (``rd.discretise(flow, dt=...)`` first).
        k: number of exponents (default all, ``1 <= k <= n``).
        n_steps: averaged steps; with ``inputs`` it defaults to ``T - n_transient``.
        n_transient: discarded steps (state and frame).
        qr_every: int >= 1 or ``"auto"`` (see :class:`LyapunovEngine`).
        inputs: ``(B, T, d)`` input sequences driving ``B`` trajectories, or ``(T, d)`` shared by
            all; ``T >= n_transient + n_steps``; ``x`` of step ``t`` is ``inputs[:, t]``.
        h0: ``(B, n)`` or ``(n,)`` initial states; default ``system.initial_state`` drawn from
            ``generator``.
        n_trajectories: number of independent trajectories ``B`` (inferred from ``h0`` /
            ``inputs`` when they are batched; all given values must agree).
        generator: randomness for ``h0`` and the initial frame.
        log_base: base of the logarithm (``math.e``: nats; 2: bits).
        throw: raise on divergence (default); with ``False`` return ``status="diverged"``.
        tangent: ``"auto"``, ``"dense"`` or ``"jvp"`` (see :class:`LyapunovEngine`).
        sum_check: see :class:`LyapunovEngine`.
        zero_tol: tolerance for slow modes and the regime (default: automatic, see
            :class:`LyapunovResult`).
        progress: optional ``callable(done_steps, n_steps)`` (progress bars).
        check_jacobian: compare the model's tangent with autograd JVPs at states sampled from
            the run (cheap; a mismatch makes the result ``failed``, docs/lyapunov.md).
        check_dt: for a discretised flow, rerun at ``dt / 2`` and compare the top exponents
            (doubles the cost; a difference beyond the errors whose Richardson bias
            ``d / (1 - 2^-p)`` also exceeds ``1e-6 max(1, |lambda|)`` is a ``warning``).

    Returns:
        :class:`LyapunovResult`. Its ``status`` is the worst outcome of its ``checks``:
        ``success`` only when the top exponents have settled to their reported error and every
        self-check passed; ``not_converged`` (a drift, or local growth rates that differ between
        the run's halves, i.e. a transient; the message says which of ``n_steps`` /
        ``n_transient`` to raise and to what), ``warning`` (multistability, time-step bias),
        ``failed`` (the model's Jacobian disagrees with autograd), ``diverged`` (the state
        escaped: non-finite or 1e8 times its initial scale).

    Raises:
        TypeError: a flow, a non-rnndyn object or wrong argument types. ValueError: ``k > n``,
        ``n_steps < 1``, inputs of the wrong shape or length, disagreeing batch sizes, a model
        with NaN/inf parameters, ``check_dt=True`` on a native map. AnalysisError (with
        ``throw=True``): the run diverged or a self-check failed (``.result`` holds the result).

    References:
        G. Benettin, L. Galgani, A. Giorgilli, J.-M. Strelcyn, Meccanica 15, 9 (1980);
        R. Engelken, F. Wolf, L. F. Abbott, Phys. Rev. Research 5, 043044 (2023);
        R. Vogt et al., Front. Appl. Math. Stat. 8:818799 (2022).

    Example:
        >>> import math, torch, rnndyn as rd
        >>> res = rd.lyapunov_spectrum(rd.Henon(), n_steps=2000, n_transient=100,
        ...                            generator=torch.Generator().manual_seed(0))
        >>> abs(res.exponents.sum().item() - math.log(0.3)) < 1e-10   # sum rule: ln|det J| = ln 0.3
        True
        >>> res.units, res.regime
        ('1/step', 'chaotic')
    """
    if not isinstance(check_dt, bool):
        raise TypeError(f"`check_dt` must be a bool; got {type(check_dt).__name__}")
    _check_flags(throw=throw, progress=progress)
    if check_dt and not _is_discretised_flow(system):
        raise ValueError(
            f"`check_dt=True` needs a discretised flow (rd.discretise(flow, dt=...)); got {type(system).__name__}"
        )
    engine = LyapunovEngine(system, k=k, qr_every=qr_every, tangent=tangent, sum_check=sum_check)
    if check_dt and h0 is None:
        # both runs start from the same states
        check_finite_parameters(system)
        b = inputs.shape[0] if inputs is not None and inputs.ndim == 3 else n_trajectories
        h0 = system.initial_state((b,), generator=generator)
    res = engine.run(
        n_steps=n_steps,
        n_transient=n_transient,
        inputs=inputs,
        h0=h0,
        n_trajectories=n_trajectories,
        generator=generator,
        log_base=log_base,
        zero_tol=zero_tol,
        throw=throw and not check_dt,
        progress=progress,
        check_jacobian=check_jacobian,
    )
    if not check_dt or res.status in (Status.DIVERGED, Status.FAILED):
        if throw and res.status in (Status.DIVERGED, Status.FAILED):
            raise AnalysisError(res.message, result=res)
        return res
    return _step_halving(
        engine, res, inputs=inputs, h0=h0, generator=generator, qr_every=qr_every, throw=throw
    )


def _is_discretised_flow(system: Any) -> bool:
    return getattr(system, "flow", None) is not None and getattr(system, "dt", None) is not None


def _step_halving(
    engine: LyapunovEngine,
    res: LyapunovResult,
    *,
    inputs: Tensor | None,
    h0: Tensor | None,
    generator: torch.Generator | None,
    qr_every: int | str,
    throw: bool,
) -> LyapunovResult:
    r"""Rerun at ``dt / 2`` (twice the steps, inputs held twice as long) and compare the top
    exponents: a difference beyond 4 combined standard errors is a time-step bias (``warning``),
    unless the bias it implies is negligible.

    For an integrator of order ``p`` the exponents' bias is ``C dt^p``, so the difference
    ``d = |lambda(dt) - lambda(dt/2)|`` gives the bias of the reported ``lambda(dt)`` by Richardson
    extrapolation, ``b = d / (1 - 2^-p)`` (16/15 d for RK4, 2 d for Euler). A bias below
    ``DT_BIAS_RTOL max(1, |lambda|)`` (1e-6, as the flow-divergence check) passes even when the
    standard errors are zero (one deterministic trajectory), where the old floor ``1e-9 |lambda|``
    flagged a 1e-7 RK4 bias. The tolerance on ``d`` is therefore
    ``max(4 se, DT_BIAS_RTOL max(1, |lambda|) (1 - 2^-p))``; the same floor applies to the sum of
    a full spectrum."""
    import dataclasses

    from rnndyn.discretise import discretise

    system = engine.system
    half = discretise(system.flow, dt=system.dt / 2, method=system.method)  # type: ignore[attr-defined]
    in_half = None
    if inputs is not None:
        in_half = torch.repeat_interleave(inputs, 2, dim=-2)
    other = LyapunovEngine(half, k=engine.k, qr_every=qr_every, tangent=engine.tangent, sum_check=False).run(
        n_steps=2 * res.n_steps,
        n_transient=2 * res.n_transient,
        inputs=in_half,
        h0=h0,
        n_trajectories=res.n_trajectories,
        generator=generator,
        log_base=res.log_base,
        throw=False,
        check_jacobian=False,
    )
    top = [i for i in range(min(res.k, diag.N_CHECKED)) if math.isfinite(float(res.exponents[i]))]
    order = int(system.tableau.order)  # type: ignore[attr-defined]  (a Discretised flow)
    shrink = 1.0 - 2.0**-order  # d = (1 - 2^-p) b: the difference the negligible bias b allows
    if other.status is Status.DIVERGED or not top:
        chk = Check(
            name="step_halving",
            passed=False,
            detail=f"the rerun at dt = {half.dt:g} did not give comparable exponents ({other.status.value})",
            status=Status.WARNING,
        )
    else:
        diff = (res.exponents[top] - other.exponents[top]).abs()
        se = torch.sqrt(res.stderr[top] ** 2 + other.stderr[top] ** 2)
        se = torch.where(torch.isfinite(se), se, torch.zeros_like(se))
        floor = diag.DT_BIAS_RTOL * torch.clamp(res.exponents[top].abs(), min=1.0) * shrink
        tol = torch.maximum(diag.Z_DRIFT * se, floor)
        ratio = diff / tol
        w = int(torch.argmax(ratio))
        ok = bool((ratio <= 1).all())
        what = (
            f"{diag.Z_DRIFT:g} combined standard errors"
            if float(diag.Z_DRIFT * se[w]) >= float(floor[w])
            else f"a negligible bias {diag.DT_BIAS_RTOL:g} max(1, |lambda|)"
        )
        detail = (
            f"halving dt to {half.dt:g} changes lambda_{top[w] + 1} by {float(diff[w]):.3g} "
            f"(tolerance {float(tol[w]):.2g}: {what}); Richardson ({system.method}, order {order}): "
            f"time-step bias {float(diff[w]) / shrink:.3g} at dt = {system.dt:g}"
        )
        value, tolerance = float(diff[w]), float(tol[w])
        if res.k == engine.n_tangent and bool(torch.isfinite(res.exponents).all()):
            # full spectra: the sum of the exponents carries almost no statistical noise (for
            # Lorenz-63 it is <ln|det J_map|>/dt, a smooth function of dt), so its change is the
            # time-step bias itself; compared, like the flow-divergence check, with twice the
            # largest standard error of the exponents
            d_sum = abs(float(res.exponents.sum() - other.exponents.sum()))
            se_all = res.stderr[torch.isfinite(res.stderr)]
            tol_sum = max(
                2.0 * float(se_all.max()) if se_all.numel() else 0.0,
                diag.DT_BIAS_RTOL * max(1.0, abs(float(res.exponents.sum()))) * shrink,
            )
            detail += f"; the sum of the exponents changes by {d_sum:.3g} (tolerance {tol_sum:.2g})"
            if d_sum > tol_sum:
                ok = False
                value, tolerance = d_sum, tol_sum
        if not ok:
            detail += f": a time-step bias; use dt <= {half.dt:g}"
            # the bias scales as dt^p: the dt at which the difference would meet its tolerance
            dt_ok = system.dt * (tolerance / value) ** (1.0 / order)
            if dt_ok < half.dt:
                e = 10.0 ** (math.floor(math.log10(dt_ok)) - 1)  # two digits, rounded down
                detail += (
                    f", and dt <= {math.floor(dt_ok / e) * e:.2g} to bring the difference within its "
                    f"tolerance (the bias scales as dt^{order})"
                )
        chk = Check(
            name="step_halving",
            passed=ok,
            value=value,
            tolerance=tolerance,
            detail=detail,
            status=Status.WARNING,
        )
    checks = (*res.checks, chk)
    status = status_from_checks(checks, res.status)
    notes = [n for n in res.notes if n != _DT_UNCHECKED]  # step halving measured it
    out = dataclasses.replace(
        res, checks=checks, status=status, notes=tuple(notes), message=_message(status, list(checks), notes)
    )
    if throw and status is Status.FAILED:
        raise AnalysisError(out.message, result=out)
    return out


def max_lyapunov(
    system: AbstractMap,
    *,
    n_steps: int | None = None,
    n_transient: int = 0,
    inputs: Tensor | None = None,
    h0: Tensor | None = None,
    n_trajectories: int = 1,
    generator: torch.Generator | None = None,
    separation: float | None = None,
    renorm_every: int = 1,
    log_base: float = math.e,
    throw: bool = True,
) -> LyapunovResult:
    r"""Largest Lyapunov exponent from two nearby trajectories (renormalised separation).

    A copy of each trajectory starts at distance ``d0`` in a random direction; both run with the
    same inputs, and every ``renorm_every`` steps the separation ``d`` is measured, ``ln(d/d0)`` is
    accumulated and the copy is pulled back to distance ``d0`` along the separation (Benettin et
    al. 1976). The copy runs through the ``n_transient`` steps too, renormalised but not counted,
    so that the measured steps start from a separation aligned with the most unstable direction
    (the QR engine's frame is aligned the same way); with ``n_transient = 0`` the alignment from the
    random direction, about ``ln|<u, v_1>| ~ -ln(n)/2``, is counted and biases a short run low. No Jacobian is used, so this is an independent cross-check of
    :func:`lyapunov_spectrum` (docs/theory/chaos.md §4.2, as in [EWA23]'s demo code).

    Args:
        separation: ``d0`` (default ``sqrt(eps) * sqrt(n)``, i.e. ~1.5e-8 per unit in float64).
        renorm_every: steps between renormalisations (int >= 1).
        Others: as :func:`lyapunov_spectrum`.

    Returns:
        :class:`LyapunovResult` with ``k = 1``, ``method="two_trajectory"``.

    Example:
        >>> import math, torch, rnndyn as rd
        >>> res = rd.max_lyapunov(rd.Logistic(r=4.0), n_steps=4000, n_trajectories=8,
        ...                       generator=torch.Generator().manual_seed(0))
        >>> abs(res.lambda_max - math.log(2)) < 0.02
        True
    """
    check_map(system)
    check_generator(generator)
    n_transient = check_positive_int(n_transient, "n_transient", minimum=0)
    renorm_every = check_positive_int(renorm_every, "renorm_every")
    log_base = check_real(log_base, "log_base", low=1.0, low_open=True)
    n_trajectories = check_positive_int(n_trajectories, "n_trajectories")
    _check_flags(throw=throw, progress=None)
    check_finite_parameters(system)
    inputs, h0, n_steps, batch = _prepare(system, inputs, h0, n_steps, n_transient, n_trajectories)
    shared_inputs = inputs is not None and batch > 1 and inputs.stride(0) == 0
    if h0 is None:
        h0 = system.initial_state((batch,), generator=generator)
    bound = diag.divergence_bound(h0)
    n = system.state_size
    eps = float(torch.finfo(h0.dtype).eps)
    d0 = check_real(separation, "separation", low=0.0, low_open=True) if separation is not None else None
    if d0 is None:
        d0 = math.sqrt(eps) * math.sqrt(n)
    u = torch.randn(batch, n, generator=generator, dtype=torch.float64).to(h0.dtype).to(h0.device)
    step = system._step
    h = h0
    with torch.no_grad():
        u = u / torch.linalg.vector_norm(u, dim=-1, keepdim=True)
        # the copy runs through the transient too, renormalised but not counted, so that the
        # measurement starts with the separation aligned with the most unstable direction (as the
        # QR engine's frame is): from a random direction, alignment costs about ln|<u, v_1>| ~ -ln(n)/2
        # and biases a short run low
        g = h + d0 * u
        for t in range(n_transient):
            x = inputs[:, t] if inputs is not None else None
            h, g = step(h, x), step(g, x)
            if (t + 1) % renorm_every == 0 or t == n_transient - 1:
                diff = g - h
                d = torch.linalg.vector_norm(diff, dim=-1, keepdim=True)
                ok = torch.isfinite(d) & (d > 0)
                u = torch.where(ok, diff / torch.where(ok, d, torch.ones_like(d)), u)
                g = h + d0 * u  # (the transient's last step always lands here)
        placed = torch.linalg.vector_norm(g - h, dim=-1)
        if bool(torch.isfinite(h).all()) and bool(((placed - d0).abs() > 0.01 * d0).any()):
            # the copy cannot be placed at distance d0: below the float resolution of the state
            h_norm = float(torch.linalg.vector_norm(h, dim=-1).max())
            raise ValueError(
                f"`separation` d0 = {d0:.3g} is below the floating-point resolution of the state "
                f"(|h| up to {h_norm:.3g}, {h0.dtype} eps {eps:.2g}: the copy lands {float(placed.min()):.3g} "
                f"away); use separation >= {100 * eps * max(h_norm, 1.0):.2g}"
            )
        acc = torch.zeros(batch, dtype=h0.dtype, device=h0.device)
        steps_rec: list[int] = []
        cum_rec: list[Tensor] = []
        n_events = -(-n_steps // renorm_every)
        rec_every = max(1, n_events // N_RUNNING)
        event = 0
        for t in range(n_steps):
            x = inputs[:, n_transient + t] if inputs is not None else None
            h, g = step(h, x), step(g, x)
            if (t + 1) % renorm_every == 0 or t == n_steps - 1:
                diff = g - h
                d = torch.linalg.vector_norm(diff, dim=-1)
                acc = acc + torch.log(d / d0)
                g = h + diff * (d0 / d).unsqueeze(-1)
                merged = d == 0
                if bool(merged.any()):
                    # the copy landed on the same floating-point state (a singular or saturated
                    # Jacobian): the separation's log is -inf (kept in ``acc``), and the copy is
                    # placed again at distance d0 instead of at h + 0 * inf = NaN
                    g = torch.where(merged.unsqueeze(-1), h + d0 * u, g)
                event += 1
                if event % rec_every == 0 or t == n_steps - 1:
                    steps_rec.append(t + 1)
                    cum_rec.append(acc.clone())
                    if diag.state_escaped(h, bound):
                        break
    dt = system.dt
    step_time = dt or 1.0
    scale = 1.0 / (step_time * math.log(log_base))
    settings = dict(
        units=system.units,
        log_base=log_base,
        dt=dt,
        k=1,
        state_size=n,
        n_steps=n_steps,
        n_transient=n_transient,
        qr_every=renorm_every,
        n_trajectories=batch,
        method="two_trajectory",
        tangent=None,
    )
    done = steps_rec[-1] if steps_rec else 0
    # -inf in ``acc`` is a separation that collapsed to exactly 0 (reported below), not divergence
    if diag.state_escaped(h, bound) or bool((torch.isnan(acc) | torch.isposinf(acc)).any()) or done < n_steps:
        where = f"within the first {done} averaged steps (after {n_transient} transient steps)"
        checks = [diag.divergence_check(True, done, bound, where)]
        msg = (
            f"diverged: the state of {model_name(system)} escaped (non-finite or max-norm > {bound:.1g}, "
            f"1e8 times the initial scale) or the separation became non-finite {where}. Unbounded "
            "dynamics have no attractor, so there is no exponent and no regime; reduce the gain, the "
            "inputs or dt"
        )
        return _diverged_result(settings, checks, batch, 1, msg, throw)
    checks = [diag.divergence_check(False, None, bound, "")]
    # the method follows the linearised dynamics only while d0 is small against the state
    h_scale = max(1.0, float(torch.linalg.vector_norm(h, dim=-1).max()))
    if separation is not None and d0 > 1e-3 * h_scale:  # (the default is small by construction)
        checks.append(
            Check(
                name="linear_separation",
                passed=False,
                value=d0,
                tolerance=1e-3 * h_scale,
                detail=f"separation d0 = {d0:.3g} is not small against the state (|h| up to {h_scale:.3g}): "
                "the copy does not follow the linearised dynamics, so the rate is not lambda_max; use the "
                "default separation (sqrt(eps) sqrt(n)) or d0 <= 1e-3 max(|h|, 1)",
                status=Status.WARNING,
            )
        )
    per = (acc.detach().to("cpu", torch.float64) / n_steps * scale).unsqueeze(-1)
    steps = torch.tensor(steps_rec, dtype=torch.int64)
    cum = torch.stack([c.detach().to("cpu", torch.float64) for c in cum_rec], dim=1).unsqueeze(-1)
    running = cum / steps.to(torch.float64).view(1, -1, 1) * scale
    exps = per.mean(0)
    n_blocks = min(N_BLOCKS, steps.numel())
    notes: list[str] = []
    if batch >= 2 and not shared_inputs:
        stderr, how = per.std(0, unbiased=True) / math.sqrt(batch), "trajectories"
    elif n_blocks >= 2:
        stderr, how = diag.block_stderr(cum.mean(0), steps, n_steps, n_blocks, scale), "time_blocks"
        if batch >= 2:
            notes.append("one input sequence shared by all trajectories: standard error from time blocks")
    else:
        stderr, how = torch.full_like(exps, math.nan), "none"
    lam_nat = float(exps[0]) * math.log(log_base)
    # (``per`` is finite here: a non-finite separation returned as diverged above)
    clusters, multi_check = diag.multistability(per[:, 0], cum, steps, n_steps, n_blocks, scale, system.units)
    tol_err = _within_cluster_stderr(per, clusters, cum, steps, n_steps, n_blocks, scale)
    tol, n_zero, regime = _near_zero(exps, stderr if tol_err is None else tol_err, None)
    kyd = kaplan_yorke_dimension(exps, complete=n == 1)
    if math.isnan(kyd):
        notes.append(_kyd_unknown(1, n, fix="use rd.lyapunov_spectrum"))
    if inputs is None:  # an orbit that repeats exactly: as in lyapunov_spectrum (no kink test here)
        start, end = _exact_periods(system, h0), _exact_periods(system, h)
        if bool((start > 0).any()):
            notes.append(
                f"the start is an exactly periodic orbit (period {int(start[start > 0].min())} in "
                f"{int((start > 0).sum())} of {batch} trajectories): the exponent is that orbit's"
            )
        if bool((end > 0).any()):
            check = _exact_orbit_check(None, h, end, start > 0, float(exps[0]), tol, 0, system.units)
            if check is not None:
                checks.append(check)
    n_merged = int(torch.isneginf(per[:, 0]).sum())
    if n_merged:
        notes.append(
            f"in {n_merged} of {batch} trajectories the perturbed copy landed on the same floating-point "
            "state (separation exactly 0: a singular Jacobian, e.g. dead ReLU units, or saturated units), "
            "so their rate is -inf"
        )
        checks.append(
            Check(
                name="finite_exponents",
                passed=False,
                detail=f"lambda_max is -inf in {n_merged} of {batch} trajectories: the separation collapsed "
                "to exactly 0, so the rate is below any representable one, not a measured value",
                status=Status.WARNING,
            )
        )
    conv, trend = _trend_checks(
        running_sorted=running.mean(0),
        cum=cum,
        steps=steps,
        exps=exps,
        stderr=stderr,
        stderr_method=how,
        batch=batch,
        n_steps=n_steps,
        n_transient=n_transient,
        n_blocks=n_blocks,
        scale=scale,
        step_time=step_time,
        near_zero_tol=tol,
        units=system.units,
        stationarity=not n_merged,  # a -inf separation has no block means to compare
    )
    checks += trend
    if multi_check is not None:
        checks.append(multi_check)
        if len(clusters) > 1:
            regime = "multistable"
    status = status_from_checks(checks)
    return LyapunovResult(
        exponents=exps,
        stderr=stderr,
        per_trajectory=per,
        running=running,
        running_steps=steps,
        **settings,
        stderr_method=how,
        kaplan_yorke_dimension=kyd,
        entropy_rate=float(exps.clamp(min=0).sum()),
        predictability_time=math.log(2.0) / lam_nat if lam_nat > 0 else math.inf,
        n_near_zero=n_zero,
        near_zero_tolerance=tol,
        regime=regime,
        sum_check=None,
        convergence=conv.as_dict(),
        clusters=tuple(clusters),
        notes=tuple(notes),
        status=status,
        message=_message(status, checks, notes),
        checks=tuple(checks),
    )


__all__ = [
    "DEFAULTS",
    "STATUSES",
    "LyapunovEngine",
    "LyapunovResult",
    "TangentState",
    "kaplan_yorke_dimension",
    "lyapunov_spectrum",
    "max_lyapunov",
]

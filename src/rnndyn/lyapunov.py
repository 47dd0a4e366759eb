r"""Lyapunov exponents of maps and discretised flows: the QR (Benettin) method and the
two-trajectory estimate of the largest exponent.

The QR method (theory/chaos.md §5.1, §3.2 with the fixes of §3.2 note 5): a frame of ``k``
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

import dataclasses
import math
from dataclasses import dataclass
from typing import Any

import torch

from rnndyn._checks import (
    check_choice,
    check_finite,
    check_generator,
    check_map,
    check_positive_int,
    check_real,
    check_tensor,
)
from rnndyn.models.base import AbstractMap

Tensor = torch.Tensor

#: status -> meaning (the values are the messages' openings).
STATUSES: dict[str, str] = {
    "success": "converged run: exponents are time averages over n_steps",
    "diverged": "the trajectory diverged (inf/NaN); exponents are NaN",
}

#: Largest growth ratio e^{qr_every (lambda_1 - lambda_k)} allowed between two QR events with
#: ``qr_every="auto"``. Householder QR has a column-wise backward error (Higham, Accuracy and
#: Stability, Thm 19.4), so the relative error of R_ii per QR event is ~ eps * ratio: 1e6 keeps it
#: near 2e-10 in float64 (measured: a non-normal 4 x 4 linear map, error of the exponents 4e-12
#: at ratio e^12, 7e-11 at e^18, 4e-9 at e^20, 2e-7 at e^24).
_AUTO_RATIO: dict[torch.dtype, float] = {torch.float64: 1e6, torch.float32: 1e2}
#: Largest growth or decay e^{qr_every max_i |lambda_i|} of one column between two QR events
#: (no over- or underflow).
_AUTO_RANGE: dict[torch.dtype, float] = {torch.float64: 1e30, torch.float32: 1e10}
_AUTO_MAX_QR_EVERY = 16
#: Shortest transient from which ``qr_every="auto"`` estimates the exponents (else QR every step).
_AUTO_MIN_TRANSIENT = 20

TANGENT_MODES = ("auto", "dense", "jvp")


@dataclass(frozen=True)
class LyapunovDefaults:
    """The run settings the command line (``rnndyn lyapunov``, ``rnndyn analyze``) and
    :func:`rnndyn.analyze` use when none are given; :func:`lyapunov_spectrum` shares ``qr_every``
    (its ``n_transient`` stays 0 and ``n_steps`` required: a library call says what it runs)."""

    n_steps: int = 2000
    n_transient: int = 500
    qr_every: int | str = "auto"


#: The one set of defaults (see :class:`LyapunovDefaults`).
DEFAULTS = LyapunovDefaults()

#: Number of time blocks used for the standard error of a single trajectory.
N_BLOCKS = 10
#: Number of checkpoints kept for running (convergence) estimates.
N_RUNNING = 200


# --------------------------------------------------------------------------------------- result
@dataclass(frozen=True)
class LyapunovResult:
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
            ``max(1e-3, 3 * stderr of the exponent closest to zero)``).
        regime: ``"chaotic"`` (lambda_max > tolerance), ``"stable"`` (< -tolerance) or
            ``"marginal"``.
        sum_check: ``None``, or a dict comparing the sum of the exponents with the mean
            ``ln|det J|`` of the map along the same trajectory (per step or per unit time), and for
            a discretised flow the mean trace of the flow's Jacobian.
        method: ``"qr"`` or ``"two_trajectory"``. tangent: ``"dense"``, ``"jvp"`` or ``None``.
        status / message: see :data:`STATUSES`; the message also carries warnings.
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
    sum_check: dict[str, float] | None
    status: str
    message: str

    @property
    def lambda_max(self) -> float:
        """The largest exponent (mean over trajectories)."""
        return float(self.exponents[0])

    @property
    def success(self) -> bool:
        return self.status == "success"

    def to_dict(self) -> dict[str, Any]:
        """Plain-Python view (lists and floats; NaN/inf stay floats) with the same keys."""
        out: dict[str, Any] = {}
        for f in dataclasses.fields(self):
            v = getattr(self, f.name)
            out[f.name] = v.tolist() if isinstance(v, Tensor) else v
        out["lambda_max"] = self.lambda_max
        return out


@dataclass
class TangentState:
    """Where a run stands: state ``h`` ``(B, n)``, frame ``q`` ``(B, n, k)``, the accumulated
    ``ln R_ii`` (natural log, per step) ``log_r`` ``(B, k)``, and the number of averaged steps."""

    h: Tensor
    q: Tensor
    log_r: Tensor
    steps: int = 0


# --------------------------------------------------------------------------------------- engine
def _choose_tangent(system: AbstractMap, k: int, tangent: str) -> str:
    """Automatic choice of how ``J @ Q`` is formed (``"dense"``: analytic, ``"jvp"``: forward-mode).

    ``"dense"`` goes through the model's declared tangent product ``_step_and_tangent`` (matrix-free
    for every built-in model: a few ``(n, n) @ (n, k)`` products and diagonal scalings, never the
    ``n x n`` Jacobian; the dense Jacobian times ``Q`` for models that only provide ``_jacobian``).
    Forward-mode JVPs win only when the model has neither an analytic Jacobian nor a tangent
    product (then the dense default is autograd: ``n`` reverse passes against ``k`` forward ones).
    """
    if tangent != "auto":
        return tangent
    if not (system.has_analytic_jacobian or system.has_tangent_product):
        return "jvp" if system.state_size > 8 else "dense"
    return "dense"


def _qr(z: Tensor) -> tuple[Tensor, Tensor]:
    """Reduced QR of ``z`` ``(B, n, k)``; returns ``(Q, diag R)`` (diagonal signed).

    The sign fix ``diag(R) > 0`` is deferred: flipping columns of ``Q`` flips the same columns of
    the next ``J Q`` and so only the signs of the next ``R``, never ``|R_ii|``; ``advance`` fixes
    the signs of the ``Q`` it returns (one fewer elementwise pass per step).
    """
    if z.shape[-1] == 1:
        # k = 1: the QR step is a normalisation (cheaper than a LAPACK call)
        norm = torch.linalg.vector_norm(z, dim=-2, keepdim=True)
        return z / norm, norm[..., 0, :]
    q, r = torch.linalg.qr(z)
    return q, torch.diagonal(r, dim1=-2, dim2=-1)


def _qr_full(z: Tensor) -> tuple[Tensor, Tensor]:
    """Reduced QR of ``z`` ``(B, n, k)`` with ``diag R > 0``; returns ``(Q, R)`` (``R`` ``(B, k, k)``)."""
    if z.shape[-1] == 1:
        norm = torch.linalg.vector_norm(z, dim=-2, keepdim=True)
        return z / norm, norm
    q, r = torch.linalg.qr(z)
    sign = torch.where(torch.diagonal(r, dim1=-2, dim2=-1) < 0, -1.0, 1.0).to(z.dtype)
    return q * sign.unsqueeze(-2), r * sign.unsqueeze(-1)


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

            * ``e^{m (lambda_1 - lambda_k)} <= 1e6`` (float64; 1e2 in float32): Householder QR has
              a column-wise backward error (Higham 2002, *Accuracy and Stability of Numerical
              Algorithms*, Thm 19.4), so the relative error of each ``R_ii`` per QR event stays
              near ``eps * 1e6 ~ 2e-10`` and so does the absolute error of every requested
              exponent (float32: ~1e-5);
            * ``e^{m max_i |lambda_i|} <= 1e30`` (float64; 1e10 in float32): no column over- or
              underflows between QR events.

            ``m = 1`` when the transient is shorter than 20 steps or its estimate is not finite.
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
            check_positive_int(qr_every, "qr_every")
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
        """
        b = h0.shape[0]
        z = torch.randn(b, self.n_tangent, self.k, generator=generator, dtype=torch.float64)
        q = torch.linalg.qr(z)[0].to(dtype=h0.dtype, device=h0.device)
        return TangentState(h0, q, torch.zeros(b, self.k, dtype=h0.dtype, device=h0.device), 0)

    @staticmethod
    def restart(state: TangentState) -> TangentState:
        """Keep ``h`` and ``q``, reset the accumulated logarithms (end of a transient)."""
        return TangentState(state.h, state.q, torch.zeros_like(state.log_r), 0)

    def exponents(self, state: TangentState) -> Tensor:
        """Current estimate ``(B, k)`` (natural log, per step; not sorted, not scaled by dt)."""
        return state.log_r / max(state.steps, 1)

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

        Returns:
            The new state (``q`` orthonormal, ``diag R > 0``). Divergence is not raised here:
            ``state.h`` turns non-finite and :meth:`run` reports it.
        """
        m = qr_every if qr_every is not None else self.qr_every
        if m == "auto":
            m = 1  # "auto" needs exponent estimates, which only run() has (after its transient)
        m = check_positive_int(m, "qr_every")
        if recorder is not None and not callable(recorder):
            raise TypeError(f"`recorder` must be None or a callable (step, h, Q, R); got {type(recorder).__name__}")
        with torch.no_grad():
            return self._advance(state, n_steps, inputs, m, record, record_at, logdet, callback, recorder)

    def _advance(self, state, n_steps, inputs, m, record, record_at, logdet, callback, recorder) -> TangentState:  # noqa: ANN001
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
                    logdet.append(torch.linalg.slogdet(jac)[1])
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
            if since_qr == m or t == n_steps - 1:
                if recorder is not None:
                    q, r = _qr_full(q)
                    d = torch.diagonal(r, dim1=-2, dim2=-1)
                    recorder(state.steps + t + 1, h, q, r)
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
                    if not bool(torch.isfinite(h).all()):
                        break
        if qa is not None:
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
        if not isinstance(throw, bool):
            raise TypeError(f"`throw` must be a bool; got {type(throw).__name__}")
        if isinstance(n_trajectories, bool) or not isinstance(n_trajectories, int):
            raise TypeError(f"`n_trajectories` must be an int >= 1; got {type(n_trajectories).__name__}")
        check_positive_int(n_trajectories, "n_trajectories")
        inputs, h0, n_steps, batch = _prepare(system, inputs, h0, n_steps, n_transient, n_trajectories)
        if h0 is None:
            h0 = system.initial_state((batch,), generator=generator)
        state = self.init(h0, generator=generator)
        in_tr = inputs[:, :n_transient] if inputs is not None else None
        in_avg = inputs[:, n_transient : n_transient + n_steps] if inputs is not None else None

        # transient: state and frame, re-orthonormalised (chaos.md §3.2 note: never unnormalised)
        m_first = 1 if self.qr_every == "auto" else int(self.qr_every)
        if n_transient > 0:
            state = self.advance(state, n_steps=n_transient, inputs=in_tr, qr_every=m_first)
        m = m_first
        if self.qr_every == "auto":
            m = 1
            if n_transient >= _AUTO_MIN_TRANSIENT:
                m = self._auto_qr_every((state.log_r / n_transient).mean(0), h0.dtype)
        state = self.restart(state)
        diverged_in_transient = not bool(torch.isfinite(state.h).all())

        n_events = -(-n_steps // m)
        event_steps = [min((e + 1) * m, n_steps) - 1 for e in range(n_events)]
        n_blocks = min(N_BLOCKS, n_events)
        idx = set(round(j * (n_events - 1) / max(N_RUNNING - 1, 1)) for j in range(min(N_RUNNING, n_events)))
        idx |= {round((j + 1) * n_events / n_blocks) - 1 for j in range(n_blocks)}
        record_at = {event_steps[e] for e in idx}
        record: tuple[list[int], list[Tensor]] = ([], [])
        logdet: list[Tensor] | None = [] if self.sum_check else None
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
        return self._finish(
            state, record, logdet, n_steps, n_transient, m, batch, n_blocks, log_base, zero_tol, throw
        )

    def _finish(
        self,
        state: TangentState,
        record: tuple[list[int], list[Tensor]],
        logdet: list[Tensor] | None,
        n_steps: int,
        n_transient: int,
        m: int,
        batch: int,
        n_blocks: int,
        log_base: float,
        zero_tol: float | None,
        throw: bool,
    ) -> LyapunovResult:
        system = self.system
        dt = system.dt
        scale = 1.0 / ((dt or 1.0) * math.log(log_base))
        h_ok = bool(torch.isfinite(state.h).all())
        log_r = state.log_r.detach().to("cpu", torch.float64)
        bad_exp = bool(torch.isnan(log_r).any() or (log_r == math.inf).any())
        notes: list[str] = []
        # the run's settings, shared by the diverged and the successful result
        run: dict[str, Any] = dict(
            units=system.units,
            log_base=log_base,
            dt=dt,
            k=self.k,
            state_size=system.state_size,
            n_steps=n_steps,
            n_transient=n_transient,
            qr_every=m,
            n_trajectories=batch,
            method="qr",
            tangent=self.tangent,
        )
        if not h_ok or bad_exp or state.steps < n_steps:
            at = state.steps
            msg = (
                f"the trajectory diverged (inf/NaN state) within the first {at} averaged steps "
                f"(after {n_transient} transient steps); reduce the gain, the inputs or dt"
            )
            if throw:
                raise ValueError(msg + ", or pass throw=False to get a result with status 'diverged'")
            nan = torch.full((self.k,), math.nan, dtype=torch.float64)
            return LyapunovResult(
                exponents=nan,
                stderr=nan.clone(),
                per_trajectory=torch.full((batch, self.k), math.nan, dtype=torch.float64),
                running=torch.zeros(batch, 0, self.k, dtype=torch.float64),
                running_steps=torch.zeros(0, dtype=torch.int64),
                **run,
                stderr_method="none",
                kaplan_yorke_dimension=math.nan,
                entropy_rate=math.nan,
                predictability_time=math.nan,
                n_near_zero=0,
                near_zero_tolerance=math.nan,
                regime="diverged",
                sum_check=None,
                status="diverged",
                message=msg,
            )
        per_traj = log_r / n_steps * scale
        per_traj_sorted = torch.sort(per_traj, dim=-1, descending=True).values
        exps = per_traj_sorted.mean(0)

        steps = torch.tensor(record[0], dtype=torch.int64)
        cum = torch.stack([r.detach().to("cpu", torch.float64) for r in record[1]], dim=1)  # (B, C, k)
        running = cum / steps.to(torch.float64).view(1, -1, 1) * scale
        if batch >= 2:
            stderr = per_traj_sorted.std(0, unbiased=True) / math.sqrt(batch)
            stderr_method = "trajectories"
        elif n_blocks >= 2:
            stderr, stderr_method = _block_stderr(cum[0], steps, n_steps, n_blocks, scale), "time_blocks"
        else:
            stderr, stderr_method = torch.full_like(exps, math.nan), "none"
        if bool(torch.isneginf(exps).any()):
            notes.append(
                f"{int(torch.isneginf(exps).sum())} exponent(s) are -inf: the Jacobian is singular "
                "along the trajectory (e.g. dead ReLU units)"
            )

        sum_check = None
        if logdet is not None and len(logdet) > 0:
            ld = torch.stack(logdet).detach().to("cpu", torch.float64)  # (T, B)
            expected = float(ld.mean()) * scale
            total = float(exps.sum())
            sum_check = {
                "sum": total,
                "expected": expected,
                "abs_error": abs(total - expected),
                "rel_error": abs(total - expected) / max(abs(expected), 1e-300),
                "quantity": "mean ln|det J| of the map",  # type: ignore[dict-item]
            }
        kyd = kaplan_yorke_dimension(exps, complete=self.k == self.n_tangent)
        lam_max_nat = float(exps[0]) * math.log(log_base)
        entropy = float(exps.clamp(min=0).sum())
        pred = math.log(2.0) / lam_max_nat if lam_max_nat > 0 else math.inf
        tol, n_zero, regime = _near_zero(exps, stderr, zero_tol)
        if m > 1:
            notes.append(f"QR every {m} steps")
        message = STATUSES["success"] + ("; " + "; ".join(notes) if notes else "")
        return LyapunovResult(
            exponents=exps,
            stderr=stderr,
            per_trajectory=per_traj_sorted,
            running=running,
            running_steps=steps,
            **run,
            stderr_method=stderr_method,
            kaplan_yorke_dimension=kyd,
            entropy_rate=entropy,
            predictability_time=pred,
            n_near_zero=n_zero,
            near_zero_tolerance=tol,
            regime=regime,
            sum_check=sum_check,
            status="success",
            message=message,
        )


# --------------------------------------------------------------------------------------- helpers
def _block_stderr(cum: Tensor, steps: Tensor, n_steps: int, n_blocks: int, scale: float) -> Tensor:
    """Standard error from ``n_blocks`` consecutive time blocks of one trajectory.

    ``cum`` ``(C, k)`` holds cumulative ``ln R`` sums at ``steps``; block boundaries are the
    recorded checkpoints closest to ``j * n_steps / n_blocks``.
    """
    targets = [round((j + 1) * n_steps / n_blocks) for j in range(n_blocks)]
    bounds = [int(torch.argmin((steps - tg).abs())) for tg in targets]
    prev_sum = torch.zeros_like(cum[0])
    prev_step = 0
    means = []
    for b in bounds:
        s = int(steps[b])
        if s <= prev_step:
            continue
        means.append((cum[b] - prev_sum) / (s - prev_step))
        prev_sum, prev_step = cum[b], s
    if len(means) < 2:
        return torch.full_like(cum[0], math.nan)
    blocks = torch.sort(torch.stack(means) * scale, dim=-1, descending=True).values
    return blocks.std(0, unbiased=True) / math.sqrt(len(means))


def kaplan_yorke_dimension(exponents: Tensor, *, complete: bool = True) -> float:
    r"""Kaplan--Yorke dimension :math:`D_{KY} = j + \sum_{i\le j}\lambda_i/|\lambda_{j+1}|`
    (theory/chaos.md §4.1), ``j`` the largest index with :math:`\sum_{i\le j}\lambda_i \ge 0`.

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


def _prepare(
    system: AbstractMap,
    inputs: Tensor | None,
    h0: Tensor | None,
    n_steps: int | None,
    n_transient: int,
    n_trajectories: int,
) -> tuple[Tensor | None, Tensor | None, int, int]:
    """Validate inputs/h0/n_steps and agree on the number of trajectories ``B``."""
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
        if inputs.dtype != dtype:
            raise TypeError(f"`inputs` must have the model's dtype {dtype}; got {inputs.dtype}")
        if inputs.device != device:
            raise ValueError(f"`inputs` must be on the model's device {device}; got {inputs.device}")
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
) -> LyapunovResult:
    r"""Lyapunov spectrum (top ``k`` or all exponents) of a map by the QR (Benettin) method.

    .. math::

        Q_{t+1} R_{t+1} = J(h_t, x_{t+1})\,Q_t, \qquad
        \lambda_i = \frac{1}{n_\text{steps}\,\Delta t\,\ln b}\sum_t \ln R_{t,ii},

    with ``R_ii > 0``, ``Delta t = system.dt`` for discretised flows (units ``1/time``) and 1
    otherwise (``1/step``), ``b = log_base`` (2 reproduces the log2 exponents of the [VPSL22]
    code, theory/chaos.md §3.2). The state and the frame run ``n_transient`` steps first (the
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

    Returns:
        :class:`LyapunovResult`.

    Raises:
        TypeError: a flow, a non-rnndyn object or wrong argument types. ValueError: ``k > n``,
        ``n_steps < 1``, inputs of the wrong shape or length, disagreeing batch sizes, or (with
        ``throw=True``) a trajectory that diverged to inf/NaN.

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
    engine = LyapunovEngine(system, k=k, qr_every=qr_every, tangent=tangent, sum_check=sum_check)
    return engine.run(
        n_steps=n_steps,
        n_transient=n_transient,
        inputs=inputs,
        h0=h0,
        n_trajectories=n_trajectories,
        generator=generator,
        log_base=log_base,
        zero_tol=zero_tol,
        throw=throw,
        progress=progress,
    )


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
    al. 1976). No Jacobian is used, so this is an independent cross-check of
    :func:`lyapunov_spectrum` (theory/chaos.md §4.2, as in [EWA23]'s demo code).

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
    check_positive_int(n_trajectories, "n_trajectories")
    inputs, h0, n_steps, batch = _prepare(system, inputs, h0, n_steps, n_transient, n_trajectories)
    if h0 is None:
        h0 = system.initial_state((batch,), generator=generator)
    n = system.state_size
    eps = float(torch.finfo(h0.dtype).eps)
    d0 = check_real(separation, "separation", low=0.0, low_open=True) if separation is not None else None
    if d0 is None:
        d0 = math.sqrt(eps) * math.sqrt(n)
    u = torch.randn(batch, n, generator=generator, dtype=torch.float64).to(h0.dtype).to(h0.device)
    step = system._step
    h = h0
    with torch.no_grad():
        for t in range(n_transient):
            h = step(h, inputs[:, t] if inputs is not None else None)
        u = u / torch.linalg.vector_norm(u, dim=-1, keepdim=True)
        g = h + d0 * u
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
                event += 1
                if event % rec_every == 0 or t == n_steps - 1:
                    steps_rec.append(t + 1)
                    cum_rec.append(acc.clone())
    dt = system.dt
    scale = 1.0 / ((dt or 1.0) * math.log(log_base))
    ok = bool(torch.isfinite(h).all() and torch.isfinite(acc).all())
    if not ok:
        msg = "the trajectory diverged (inf/NaN state or separation); reduce the gain, the inputs or dt"
        if throw:
            raise ValueError(msg + ", or pass throw=False")
    per = (acc.detach().to("cpu", torch.float64) / n_steps * scale).unsqueeze(-1)
    steps = torch.tensor(steps_rec, dtype=torch.int64)
    cum = torch.stack([c.detach().to("cpu", torch.float64) for c in cum_rec], dim=1).unsqueeze(-1)
    running = cum / steps.to(torch.float64).view(1, -1, 1) * scale
    if not ok:
        per = torch.full_like(per, math.nan)
    exps = per.mean(0)
    if batch >= 2:
        stderr, how = per.std(0, unbiased=True) / math.sqrt(batch), "trajectories"
    elif steps.numel() >= N_BLOCKS:
        stderr, how = _block_stderr(cum[0], steps, n_steps, N_BLOCKS, scale), "time_blocks"
    else:
        stderr, how = torch.full_like(exps, math.nan), "none"
    lam_nat = float(exps[0]) * math.log(log_base)
    tol, n_zero, regime = _near_zero(exps, stderr, None) if ok else (math.nan, 0, "diverged")
    return LyapunovResult(
        exponents=exps,
        stderr=stderr,
        per_trajectory=per,
        running=running,
        running_steps=steps,
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
        stderr_method=how,
        kaplan_yorke_dimension=kaplan_yorke_dimension(exps, complete=n == 1) if ok else math.nan,
        entropy_rate=float(exps.clamp(min=0).sum()) if ok else math.nan,
        predictability_time=(math.log(2.0) / lam_nat if lam_nat > 0 else math.inf) if ok else math.nan,
        n_near_zero=n_zero,
        near_zero_tolerance=tol,
        regime=regime,
        sum_check=None,
        status="success" if ok else "diverged",
        message=STATUSES["success"] if ok else msg,
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

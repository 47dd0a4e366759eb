"""Exact oracles for the numbers a Lyapunov result reports besides the exponents themselves:
standard errors, running estimates, derived quantities (Kaplan--Yorke dimension, entropy rate,
predictability time, slow modes) and the statistics behind the convergence and stationarity
checks.

Written from a mutation audit: each test here kills plausible bugs (a ``sqrt(B - 1)``, a running
average off by one step, an entropy that sums only ``lambda_1``, ...) that the other tests let
pass. The main oracle is an input-driven scalar map ``h' = e^{x} h``, whose one-step growth
``ln R = x_t`` is known exactly at every step, so every average the engine forms can be computed
from the inputs alone.
"""

from __future__ import annotations

import math

import pytest
import torch

import rnndyn as rd
from model_zoo import DrivenDiagonal, DrivenFlow, DrivenScalar, Linear
from model_zoo import close as _close
from rnndyn import _diagnostics as diag
from rnndyn.lyapunov import kaplan_yorke_dimension

F64 = torch.float64


def gen(seed: int) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


class Diagonal(rd.AbstractMap):
    """h' = a * h with a constant diagonal: exponents ln|a_i| exactly (from h0 = 0, a fixed point)."""

    def __init__(self, a: torch.Tensor) -> None:
        super().__init__()
        self.state_size = a.shape[0]
        self.register_buffer("a", a.to(F64))

    def _step(self, h: torch.Tensor, x: torch.Tensor | None) -> torch.Tensor:
        return h * self.a

    def _jacobian(self, h: torch.Tensor, x: torch.Tensor | None) -> torch.Tensor:
        return torch.diag_embed(self.a.expand_as(h))


class LinearFlow(rd.AbstractFlow):
    """x' = A x with an analytic Jacobian."""

    def __init__(self, a: torch.Tensor) -> None:
        super().__init__()
        self.state_size, self.input_size, self.dtype = a.shape[0], 0, F64
        self.register_buffer("a", a.to(F64))

    def _vector_field(self, h: torch.Tensor, x: torch.Tensor | None) -> torch.Tensor:
        return h @ self.a.T

    def _jacobian(self, h: torch.Tensor, x: torch.Tensor | None) -> torch.Tensor:
        return self.a.expand(*h.shape[:-1], *self.a.shape)


def _driven(x: torch.Tensor, **kw) -> rd.LyapunovResult:  # noqa: ANN003
    return rd.lyapunov_spectrum(
        DrivenScalar(), inputs=x, h0=torch.ones(x.shape[0], 1, dtype=F64), throw=False, **kw
    )


# ------------------------------------------------------------------ Kaplan-Yorke dimension
def test_kaplan_yorke_dimension_at_zero_partial_sums() -> None:
    # a limit cycle (0, -1) has D = 1 (j = 1 with partial sum exactly 0), not 0 and not an error;
    # a partial sum that returns exactly to 0 is continuous across j: (0.5, -0.5, -1) gives 2
    assert kaplan_yorke_dimension(torch.tensor([0.0, -1.0])) == 1.0
    assert kaplan_yorke_dimension(torch.tensor([0.5, -0.5, -1.0])) == 2.0
    assert kaplan_yorke_dimension(torch.tensor([0.0, 0.0])) == 2.0
    # unsorted input, three terms: partial sums 0.5, 0.75, -0.75 -> D = 2 + 0.75 / 1.5
    assert kaplan_yorke_dimension(torch.tensor([-1.5, 0.5, 0.25])) == pytest.approx(2.5, abs=1e-15)


# ------------------------------------------------------------------ derived quantities, exact
def test_diagonal_map_derived_quantities_are_exact_in_nats_and_bits() -> None:
    a = torch.tensor([4.0, 1.5, 0.5, 0.1], dtype=F64)
    lam = a.log()  # 1.386, 0.405, -0.693, -2.303
    for base in (math.e, 2.0):
        res = rd.lyapunov_spectrum(
            Diagonal(a),
            n_steps=50,
            n_transient=40,
            h0=torch.zeros(4, dtype=F64),
            generator=gen(0),
            log_base=base,
        )
        _close(res.exponents, lam / math.log(base), rtol=0, atol=1e-12)
        # Pesin: the sum of the positive exponents, ln 4 + ln 1.5 = ln 6 nats (log2(6) bits)
        assert res.entropy_rate == pytest.approx(math.log(6.0) / math.log(base), abs=1e-12)
        # ln 2 / lambda_max in steps whatever the base: half a step doubles a perturbation
        assert res.predictability_time == pytest.approx(0.5, abs=1e-12)
        # partial sums ln 4, ln 6, ln 3, ln 0.3: D = 3 + ln 3 / ln 10 (base-independent)
        assert res.kaplan_yorke_dimension == pytest.approx(3 + math.log(3.0) / math.log(10.0), abs=1e-12)
        assert res.regime == "chaotic" and res.n_near_zero == 0
    # an exponent of exactly 0 (|a| = 1) is a slow mode even for zero_tol = 0: |lambda| <= tol
    res = rd.lyapunov_spectrum(
        Diagonal(torch.ones(1)), n_steps=50, h0=torch.zeros(1, dtype=F64), zero_tol=0.0
    )
    assert float(res.exponents[0]) == 0.0 and res.n_near_zero == 1 and res.regime == "marginal"


# ------------------------------------------------------------------ errors and running estimates
def test_driven_scalar_standard_error_running_estimates_and_tolerance_are_the_inputs_statistics() -> None:
    b, t = 5, 400
    x = 0.3 * torch.randn(b, t, 1, generator=gen(1), dtype=F64)
    x = x - x.mean() + 0.004  # lambda = 0.004 > 0, within its error bar
    res = _driven(x)
    per = x[..., 0].mean(1)  # each trajectory's exponent: the mean of its inputs
    _close(res.per_trajectory[:, 0], per, rtol=0, atol=1e-14)
    assert float(res.exponents[0]) == pytest.approx(float(per.mean()), abs=1e-14)
    # standard error of a mean of B values: unbiased std / sqrt(B)
    assert res.stderr_method == "trajectories"
    assert float(res.stderr[0]) == pytest.approx(float(per.std(unbiased=True)) / math.sqrt(b), rel=1e-12)
    # the running estimate at T steps is the mean of the first T inputs
    steps = res.running_steps
    assert int(steps[-1]) == t and int(steps[0]) >= 1
    cum = torch.cumsum(x[..., 0], 1)
    _close(res.running[..., 0], cum[:, steps - 1] / steps, rtol=0, atol=1e-14)
    # the near-zero tolerance is 3 standard errors of the exponent closest to zero (here > 1e-3)
    assert float(res.stderr[0]) > 1e-3
    assert res.near_zero_tolerance == pytest.approx(3.0 * float(res.stderr[0]), rel=1e-12)
    # 0 < lambda <= tolerance: a slow mode and a marginal regime, not chaos
    assert 0 < res.lambda_max < res.near_zero_tolerance
    assert res.regime == "marginal" and res.n_near_zero == 1
    # the drift the convergence check measures: lambda(T) against lambda at the middle
    half = res.convergence["half_steps"]
    assert half == t // 2
    assert res.convergence["drift"][0] == pytest.approx(
        abs(float(per.mean()) - float(x[:, :half, 0].mean())), abs=1e-14
    )


def test_driven_scalar_time_block_error_of_one_trajectory() -> None:
    t = 500
    x = 0.2 * torch.randn(1, t, 1, generator=gen(2), dtype=F64)
    res = _driven(x)
    assert res.stderr_method == "time_blocks"
    blocks = x[0, :, 0].view(10, t // 10).mean(1)  # N_BLOCKS = 10 blocks of 50 steps
    assert float(res.stderr[0]) == pytest.approx(float(blocks.std(unbiased=True)) / math.sqrt(10), rel=1e-12)


# ------------------------------------------------------------------ stationarity statistics
def test_stationarity_statistics_of_hand_made_block_series() -> None:
    zero = torch.zeros(1, dtype=F64)
    # a step half way, K = 8 (no trimming): successive differences 0,0,0,1,0,0,0 -> sigma^2 =
    # (1/7)/2; noise = sigma sqrt(1/4 + 1/4) = 1/sqrt(28); difference of the halves 1
    step = torch.tensor([0.0] * 4 + [1.0] * 4, dtype=F64)[:, None]
    st = diag.stationarity_stats(step, zero, zero, 1.0)
    assert float(st.m1) == 0.0 and float(st.m2) == 1.0
    assert float(st.noise) == pytest.approx(1 / math.sqrt(28), rel=1e-14)
    assert float(st.z) == pytest.approx(math.sqrt(28), rel=1e-14) and bool(st.bad)
    assert float(st.bias) == pytest.approx(0.5, rel=1e-14)  # half the difference of the halves
    # a jump in the last block, K = 8: the halves differ by 1/4, the last block is 7/8 away from
    # the mean, and that is the bias the trend leaves
    last = torch.tensor([0.0] * 7 + [1.0], dtype=F64)[:, None]
    st = diag.stationarity_stats(last, zero, zero, 1.0)
    assert float(st.diff) == pytest.approx(0.25, rel=1e-14)
    assert float(st.bias) == pytest.approx(0.875, rel=1e-14)
    # K = 12: the largest squared successive difference is left out, so one abrupt change has
    # no noise to hide in (z = inf); untrimmed, z = (1/6) / sqrt(1/22 * 1/3) = 1.35 would pass
    last12 = torch.tensor([0.0] * 11 + [1.0], dtype=F64)[:, None]
    st = diag.stationarity_stats(last12, zero, zero, 1.0)
    assert float(st.noise) == 0.0 and math.isinf(float(st.z)) and bool(st.bad)
    # K = 12 with alternating blocks: 11 equal squared differences 1, one dropped, rescaled by
    # the tabulated bias 1.3747: sigma^2 = 1.3747 / 2
    alt = torch.tensor([0.0, 1.0] * 6, dtype=F64)[:, None]
    st = diag.stationarity_stats(alt, zero, zero, 1.0)
    assert float(st.noise) == pytest.approx(math.sqrt(1.3747 / 2) * math.sqrt(1 / 6 + 1 / 6), rel=1e-14)
    assert float(st.diff) == 0.0 and not bool(st.bad)


# ------------------------------------------------------------------ multistability
def _blocks_se(x: torch.Tensor) -> torch.Tensor:
    """Time-block standard error (10 blocks) of the mean of each row of ``x`` ``(B, T)``."""
    blocks = x.view(x.shape[0], 10, -1).mean(-1)
    return blocks.std(-1, unbiased=True) / math.sqrt(10)


def test_near_zero_tolerance_of_multistable_runs_uses_the_spread_within_the_clusters() -> None:
    # two attractors, lambda ~ +0.03 (3 trajectories) and ~ -0.03 (3): the near-zero tolerance
    # is 3 se with se^2 = sum over clusters of squared deviations / (B - C), divided by B
    t = 400
    x = 0.06 * torch.randn(6, t, 1, generator=gen(3), dtype=F64)
    x = x + torch.tensor([0.03, 0.03, 0.03, -0.03, -0.03, -0.03], dtype=F64).view(6, 1, 1)
    res = _driven(x)
    assert res.regime == "multistable" and [c["count"] for c in res.clusters] == [3, 3]
    per = x[..., 0].mean(1)
    ss = ((per[:3] - per[:3].mean()) ** 2).sum() + ((per[3:] - per[3:].mean()) ** 2).sum()
    se = math.sqrt(float(ss) / (6 - 2)) / math.sqrt(6)
    assert 3 * se > 1e-3 and res.near_zero_tolerance == pytest.approx(3 * se, rel=1e-12)
    # one trajectory per cluster (B = C): the combined time-block error sqrt(sum se_b^2) / B
    x2 = 0.06 * torch.randn(2, t, 1, generator=gen(4), dtype=F64)
    x2 = x2 + torch.tensor([0.03, -0.03], dtype=F64).view(2, 1, 1)
    res = _driven(x2)
    assert res.regime == "multistable" and len(res.clusters) == 2
    se_b = _blocks_se(x2[..., 0])
    expected = math.sqrt(float((se_b**2).sum())) / 2
    assert 3 * expected > 1e-3 and res.near_zero_tolerance == pytest.approx(3 * expected, rel=1e-12)


# ------------------------------------------------------------------ qr_every="auto"
def test_auto_qr_every_range_bound_prevents_underflow_after_a_short_transient() -> None:
    # a transient of 20..39 steps runs with a QR every step (no probe) and sets m for the
    # averaging from its estimate: e^{m |lambda|} <= 1e30 gives m = int(69.08 / 46.05) = 1 for
    # a = 1e-20 (16 steps would reach 1e-320 and then 0: a -inf exponent), int(69.08 / 27.63) = 2
    # for a = 1e-12; the exponent is ln a exactly either way
    for a, m in ((1e-20, 1), (1e-12, 2)):
        res = rd.lyapunov_spectrum(
            Diagonal(torch.tensor([a], dtype=F64)), n_steps=64, n_transient=30, generator=gen(5), throw=False
        )
        assert res.qr_every == m and float(res.exponents[0]) == pytest.approx(math.log(a), abs=1e-12)


# ------------------------------------------------------------------ the engine's frame
@pytest.mark.parametrize("householder", [False, True])
def test_engine_frame_and_logs_are_the_sign_fixed_qr_of_the_product(householder: bool) -> None:
    # J^t Q_0 = Q_t (R_t ... R_1): the frame after t steps is the Q of the product with diag R > 0
    # and the accumulated ln R_ii are the logs of the product's R diagonal, whatever qr_every
    a = torch.tensor([[0.9, 2.0, -0.4], [0.1, -1.3, 0.7], [0.5, 0.2, 0.6]], dtype=F64)
    for qr_every in (1, 3):
        eng = rd.LyapunovEngine(Linear(a), qr_every=qr_every)
        eng.householder = householder  # the reflector route (n >= 16) on a small case
        st = eng.init(torch.zeros(2, 3, dtype=F64), generator=gen(6))
        out = eng.advance(st, n_steps=7)
        q, r = torch.linalg.qr(torch.linalg.matrix_power(a, 7) @ st.q)
        sign = torch.sign(torch.diagonal(r, dim1=-2, dim2=-1))
        _close(out.q, q * sign.unsqueeze(-2), rtol=0, atol=1e-12)
        _close(out.log_r, torch.diagonal(r, dim1=-2, dim2=-1).abs().log(), rtol=0, atol=1e-10)
        assert out.steps == 7


def test_flow_divergence_is_compared_in_the_units_of_the_exponents() -> None:
    # Lorenz-63 has the constant divergence -(sigma + 1 + beta) = -41/3 per unit time; with
    # log_base = 2 the exponents are in bits, and so must be the divergence they are compared with
    m = rd.discretise(rd.Lorenz63(), dt=0.02, method="rk4")
    res = rd.lyapunov_spectrum(
        m, n_steps=30, generator=gen(7), log_base=2.0, throw=False, check_jacobian=False
    )
    assert res.flow_check["mean_trace"] == pytest.approx(-41 / 3 / math.log(2.0), rel=1e-12)
    assert res.flow_check["sum"] == pytest.approx(float(res.exponents.sum()), rel=1e-12)


def test_block_stderr_sorts_each_block_and_divides_by_the_block_length() -> None:
    # cumulative sums of 10 blocks of 7 steps whose per-step means cross: the error is that of
    # the sorted block means (lambda_1 >= lambda_2 in every block), in result units (scale)
    means = torch.randn(10, 2, generator=gen(8), dtype=F64)
    steps = torch.arange(7, 71, 7)
    cum = torch.cumsum(7 * means, 0)
    se = diag.block_stderr(cum, steps, 70, 10, 2.0)
    blocks = torch.sort(2.0 * means, dim=-1, descending=True).values
    _close(se, blocks.std(0, unbiased=True) / math.sqrt(10), rtol=1e-13, atol=0)
    assert bool((means[:, 0] < means[:, 1]).any() and (means[:, 0] > means[:, 1]).any())


def test_convergence_check_flags_exactly_a_drift_beyond_four_standard_errors() -> None:
    # 8 trajectories (their spread is the error), ln R = x_t: the drift over the last half is
    # |mean(x) - mean of the first half of x| and its tolerance 4 se + 1e-9 max(1, |lambda|)
    t = 200
    noise = 0.05 * torch.randn(8, t, 1, generator=gen(9), dtype=F64)
    for shift, settled in ((0.0, True), (0.02, False)):
        trend = torch.cat([torch.full((t // 2,), shift), torch.full((t // 2,), -shift)]).to(F64)
        x = noise + trend.view(1, t, 1)
        res = _driven(x)
        lam = float(x.mean())
        drift = abs(lam - float(x[:, : t // 2].mean()))
        tol = 4 * float(res.stderr[0]) + 1e-9 * max(1.0, abs(lam))
        assert res.convergence["drift"][0] == pytest.approx(drift, abs=1e-14)
        assert res.convergence["drift_tolerance"][0] == pytest.approx(tol, rel=1e-12)
        assert (drift <= tol) is settled and res.check("convergence").passed is settled


def test_transient_e_foldings_of_a_discretised_flow_count_time_not_steps() -> None:
    # Euler at dt = 0.1 maps x' = -diag(1, 8) x to diag(0.9, 0.2): exponents ln(0.9)/0.1 and
    # ln(0.2)/0.1 per unit time; 30 transient steps are 3 time units, 3 * 1.054 e-foldings of
    # the slowest rate
    m = rd.discretise(LinearFlow(-torch.diag(torch.tensor([1.0, 8.0], dtype=F64))), dt=0.1, method="euler")
    res = rd.lyapunov_spectrum(m, n_steps=40, n_transient=30, h0=torch.zeros(2, dtype=F64), generator=gen(10))
    rate = -math.log(0.9) / 0.1
    _close(res.exponents, torch.tensor([-rate, math.log(0.2) / 0.1], dtype=F64), rtol=0, atol=1e-12)
    assert res.convergence["slowest_rate"] == pytest.approx(rate, rel=1e-12)
    assert res.convergence["e_foldings_transient"] == pytest.approx(3.0 * rate, rel=1e-12)


def test_trajectory_clusters_split_at_five_combined_standard_errors() -> None:
    # neighbours split when their gap exceeds 5 sqrt(se_a^2 + se_b^2) + floor = 5 sqrt(0.02) = 0.707
    se = torch.full((3,), 0.1, dtype=F64)
    lam = torch.tensor([0.9, 0.0, 0.3], dtype=F64)  # sorted: 0, 0.3 (gap 0.3), 0.9 (gap 0.6)
    assert [c["trajectories"] for c in diag.trajectory_clusters(lam, se, floor=0.0)] == [[0, 1, 2]]
    lam = torch.tensor([1.2, 0.0, 0.3], dtype=F64)  # gaps 0.3 and 0.9 > 0.707 (but < 5 (0.1 + 0.1))
    clusters = diag.trajectory_clusters(lam, se, floor=0.0)
    assert [c["trajectories"] for c in clusters] == [[0], [1, 2]]  # highest lambda_max first
    assert [c["count"] for c in clusters] == [1, 2]
    assert clusters[1]["lambda_max"] == pytest.approx(0.15, abs=1e-15)
    # the floor adds to the tolerance: 0.9 <= 0.707 + 0.2
    assert len(diag.trajectory_clusters(lam, se, floor=0.2)) == 1


def test_multistability_judges_lambda_max_by_its_own_error_not_the_last_exponents() -> None:
    # two trajectories whose lambda_1 (inputs 0.03 +- 0.01 and -0.03 +- 0.01) differ by ~100 of
    # their errors, while lambda_2 (mean -1, noise 1) has 50x larger errors: the clusters of
    # lambda_max must come from lambda_1's own time-block errors (two attractors)
    t, tr = 400, 40
    x1 = 0.01 * torch.randn(2, tr + t, generator=gen(11), dtype=F64) + torch.tensor(
        [[0.03], [-0.03]], dtype=F64
    )
    x2 = torch.randn(2, tr + t, generator=gen(12), dtype=F64) - 1.0
    x = torch.stack([x1, x2], -1)
    res = rd.lyapunov_spectrum(
        DrivenDiagonal(2),
        inputs=x,
        n_transient=tr,
        h0=torch.ones(2, 2, dtype=F64),
        generator=gen(13),
        throw=False,
    )
    _close(res.per_trajectory, x[:, tr:].mean(1), rtol=0, atol=1e-12)
    assert res.regime == "multistable" and len(res.clusters) == 2, res.message


def test_divergence_bound_is_relative_to_the_initial_scale_but_at_least_1e8() -> None:
    assert diag.divergence_bound(torch.tensor([[5.0, -20.0]], dtype=F64)) == 2e9
    # a small (or zero) initial state does not shrink the bound below 1e8: from h0 = 1e-3 a
    # trajectory that settles at |h| ~ 1e6 has not escaped
    assert diag.divergence_bound(torch.full((1, 2), 1e-3, dtype=F64)) == 1e8
    assert diag.divergence_bound(torch.zeros(1, 2, dtype=F64)) == 1e8
    assert not diag.state_escaped(torch.tensor([1e8], dtype=F64), 1e8)
    assert diag.state_escaped(torch.tensor([1.01e8], dtype=F64), 1e8)
    assert diag.state_escaped(torch.tensor([math.nan], dtype=F64), 1e8)


def test_max_lyapunov_of_a_driven_scalar_map_is_the_inputs_mean_in_nats_and_bits() -> None:
    # from h0 = 0 the copy sits at h + d0 u = d0 u and grows by e^{x_t} exactly each step, so the
    # two-trajectory estimate is the mean of the inputs, with the same derived numbers as the QR one
    b, t = 4, 300
    x = 0.1 * torch.randn(b, t, 1, generator=gen(14), dtype=F64) + 0.05
    per = x[..., 0].mean(1)
    lam = float(per.mean())
    for base in (math.e, 2.0):
        res = rd.max_lyapunov(
            DrivenScalar(), inputs=x, h0=torch.zeros(b, 1, dtype=F64), generator=gen(15), log_base=base
        )
        assert res.method == "two_trajectory"
        _close(res.per_trajectory[:, 0], per / math.log(base), rtol=0, atol=1e-12)
        se = float(per.std(unbiased=True)) / math.sqrt(b) / math.log(base)
        assert float(res.stderr[0]) == pytest.approx(se, rel=1e-9)
        assert res.predictability_time == pytest.approx(math.log(2.0) / lam, rel=1e-9)  # steps
        assert res.entropy_rate == pytest.approx(lam / math.log(base), rel=1e-9)


def test_step_halving_reruns_the_same_inputs_at_half_the_step_over_the_same_time() -> None:
    # Euler map of h' = x(t) h: at dt one step grows by 1 + dt x_t, at dt/2 each input is held
    # for two steps of growth 1 + dt x_t / 2, so both exponents (per unit time) and the time-block
    # errors of both runs are known from the inputs; the check compares them with
    # 4 sqrt(se(dt)^2 + se(dt/2)^2)
    dt, t = 0.1, 100
    x = 2.0 * torch.randn(1, t, 1, generator=gen(18), dtype=F64)
    res = rd.lyapunov_spectrum(
        rd.discretise(DrivenFlow(), dt=dt, method="euler"), inputs=x, h0=torch.ones(1, 1, dtype=F64),
        generator=gen(17), check_dt=True, check_jacobian=False,
    )  # fmt: skip
    y1 = torch.log1p(dt * x[0, :, 0]) / dt  # per unit time, one value per step
    y2 = torch.repeat_interleave(torch.log1p(dt / 2 * x[0, :, 0]) / (dt / 2), 2)
    assert float(res.exponents[0]) == pytest.approx(float(y1.mean()), abs=1e-12)
    se1 = float(y1.view(10, -1).mean(1).std(unbiased=True)) / math.sqrt(10)
    se2 = float(y2.view(10, -1).mean(1).std(unbiased=True)) / math.sqrt(10)
    assert float(res.stderr[0]) == pytest.approx(se1, rel=1e-9)
    chk = res.check("step_halving")
    assert chk.value == pytest.approx(abs(float(y1.mean()) - float(y2.mean())), rel=1e-9)
    assert chk.passed and chk.tolerance == pytest.approx(4 * math.hypot(se1, se2), rel=1e-9)
    # a full spectrum's sum is compared with 2 (largest se): inputs -2 +- 0.5 put the change
    # between 2 se(dt) and 4 sqrt(se(dt)^2 + se(dt/2)^2), so only the sum flags the bias
    x = 0.5 * torch.randn(1, t, 1, generator=gen(18), dtype=F64) - 2.0
    res = rd.lyapunov_spectrum(
        rd.discretise(DrivenFlow(), dt=dt, method="euler"), inputs=x, h0=torch.ones(1, 1, dtype=F64),
        generator=gen(17), check_dt=True, check_jacobian=False,
    )  # fmt: skip
    y1 = torch.log1p(dt * x[0, :, 0]) / dt
    y2 = torch.repeat_interleave(torch.log1p(dt / 2 * x[0, :, 0]) / (dt / 2), 2)
    se1 = float(y1.view(10, -1).mean(1).std(unbiased=True)) / math.sqrt(10)
    se2 = float(y2.view(10, -1).mean(1).std(unbiased=True)) / math.sqrt(10)
    d = abs(float(y1.mean()) - float(y2.mean()))
    assert 2 * se1 < d < 4 * math.hypot(se1, se2)
    chk = res.check("step_halving")
    assert not chk.passed and res.status == rd.Status.WARNING
    assert chk.value == pytest.approx(d, rel=1e-9) and chk.tolerance == pytest.approx(2 * se1, rel=1e-9)


class Cycle(rd.AbstractMap):
    """h' = roll(h): every state lies on an exact orbit of period state_size (a permutation)."""

    def __init__(self, n: int) -> None:
        super().__init__()
        self.state_size = n
        self.register_buffer("p", torch.roll(torch.eye(n, dtype=F64), 1, 0))

    def _step(self, h: torch.Tensor, x: torch.Tensor | None) -> torch.Tensor:
        return torch.roll(h, 1, -1)

    def _jacobian(self, h: torch.Tensor, x: torch.Tensor | None) -> torch.Tensor:
        return self.p.expand(*h.shape[:-1], -1, -1)


@pytest.mark.parametrize(("n", "found"), [(8, True), (9, False)])
def test_exactly_periodic_start_is_noted_up_to_period_eight(n: int, found: bool) -> None:
    # a permutation has only zero exponents; a start on an orbit of period <= 8 is said to be one
    res = rd.lyapunov_spectrum(Cycle(n), n_steps=16, k=1, generator=gen(18))
    assert float(res.exponents[0]) == pytest.approx(0.0, abs=1e-15)
    assert any(f"period {n} in 1 of 1 trajectories" in note for note in res.notes) is found


def test_stationarity_is_judged_on_the_mean_over_trajectories() -> None:
    # trajectory 0 steps from +0.05 to -0.05 half way, trajectory 1 the other way round: each
    # alone is a transient, their mean (what the exponents average) is stationary
    t = 200
    step = torch.cat([torch.full((t // 2,), 0.05), torch.full((t // 2,), -0.05)]).to(F64)
    noise = 0.01 * torch.randn(2, t, generator=gen(19), dtype=F64)
    x = (noise + torch.stack([step, -step])).unsqueeze(-1)
    res = _driven(x)
    assert res.check("stationarity").passed, res.message
    one = _driven(x[:1])  # trajectory 0 alone: not stationary
    assert not one.check("stationarity").passed and one.status == rd.Status.NOT_CONVERGED


def test_exponents_are_sorted_per_trajectory_when_the_qr_columns_come_out_of_order() -> None:
    # the transient aligns the frame with axis 1 (x = (0, -2)); in the averaged window axis 2
    # grows faster (x = (-0.1, 0)), but the frame stays on the axes (error e^-80 e^{0.1 t}), so
    # column 1 measures -0.1 and column 2 measures 0: the reported spectrum is (0, -0.1)
    x = torch.cat(
        [
            torch.tensor([[0.0, -2.0]], dtype=F64).expand(40, 2),
            torch.tensor([[-0.1, 0.0]], dtype=F64).expand(100, 2),
        ]
    ).to(F64)
    res = rd.lyapunov_spectrum(
        DrivenDiagonal(2),
        inputs=x,
        n_transient=40,
        h0=torch.ones(2, dtype=F64),
        generator=gen(20),
        throw=False,
    )
    _close(res.exponents, torch.tensor([0.0, -0.1], dtype=F64), rtol=0, atol=1e-14)
    _close(res.per_trajectory[0], torch.tensor([0.0, -0.1], dtype=F64), rtol=0, atol=1e-14)


def test_sum_rule_tolerance_is_sqrt_eps_times_the_scale_and_k() -> None:
    # float64: tol = sqrt(eps) max(1, |expected|, |sum|) k = 1.49e-8 * 3 * 4 = 1.79e-7 for a sum
    # near -3 of k = 4 exponents: an error of 1e-7 passes, 1e-6 (lost precision) does not
    eps = float(torch.finfo(F64).eps)
    for err, passed in ((1e-7, True), (1e-6, False)):
        info, chk = diag.sum_rule_check(-3.0 + err, -1.5, 2.0, F64, 4)  # expected = -1.5 * 2
        assert info["expected"] == -3.0 and chk.tolerance == pytest.approx(math.sqrt(eps) * 3 * 4, rel=1e-12)
        assert chk.value == pytest.approx(err, rel=1e-6) and chk.passed is passed


def test_orbit_that_became_exactly_periodic_is_flagged_once_lambda_max_exceeds_the_tolerance() -> None:
    # reached through rounding (not started there) with lambda_max = 2 tol > 0: an unstable orbit,
    # a warning; within the tolerance (0.5 tol) or started on the orbit: nothing to flag
    from rnndyn.lyapunov import _exact_orbit_check

    h = torch.zeros(1, 2, dtype=F64)
    period, no = torch.tensor([1]), torch.tensor([False])
    chk = _exact_orbit_check(None, h, period, no, 2e-3, 1e-3, 0, "1/step")
    assert chk is not None and not chk.passed and chk.status == rd.Status.WARNING and chk.value == 2e-3
    assert _exact_orbit_check(None, h, period, no, 5e-4, 1e-3, 0, "1/step") is None
    assert _exact_orbit_check(None, h, period, torch.tensor([True]), 2e-3, 1e-3, 0, "1/step") is None


@pytest.mark.parametrize("renorm_every", [1, 4])
def test_max_lyapunov_aligns_the_copy_during_the_transient(renorm_every: int) -> None:
    # h' = diag(2, 0.5, 0.25) h from the fixed point 0: once the separation lies along e_1 every
    # step grows it by exactly 2. The copy runs (renormalised, not counted) through the transient,
    # so 3 measured steps give ln 2 to round-off; a copy placed in a random direction after the
    # transient counts its alignment (ln|u_1| < 0) and gave less
    sysm = Diagonal(torch.tensor([2.0, 0.5, 0.25]))
    h0 = torch.zeros(5, 3, dtype=F64)
    res = rd.max_lyapunov(sysm, n_steps=4, n_transient=40, h0=h0, renorm_every=renorm_every, generator=gen(3))
    _close(res.per_trajectory[:, 0], torch.full((5,), math.log(2.0), dtype=F64), rtol=0, atol=1e-12)
    # without a transient the alignment is counted: every trajectory is below ln 2
    raw = rd.max_lyapunov(sysm, n_steps=4, h0=h0, renorm_every=renorm_every, generator=gen(3), throw=False)
    assert bool((raw.per_trajectory[:, 0] < math.log(2.0) - 1e-3).all())

"""Results that know when they are wrong: convergence, self-checks, divergence, multistability.

Each test is a repro from issue 12: a short run must say ``not_converged`` while a long run of the
same system says ``success``; a wrong hand-written Jacobian must make the result ``failed``; an
unbounded network is ``diverged``, never "chaotic"; several attractors give ``warning`` with the
clusters; an RK4 time-step bias is flagged by the flow-divergence check.
"""

from __future__ import annotations

import json
import math
import subprocess
import sys

import pytest
import torch

import rnndyn as rd
from model_zoo import Escape
from rnndyn.models.base import AbstractMap

F64 = torch.float64


def gen(seed: int) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


class ScaledHenon(rd.Henon):
    """A Hénon map whose hand-written Jacobian is ``factor`` times too large (a typical bug)."""

    def __init__(self, factor: float) -> None:
        super().__init__()
        self.factor = factor

    def _jacobian(self, h, x):
        return self.factor * super()._jacobian(h, x)


class TwoAttractors(AbstractMap):
    """``u -> tanh(3 u + 0.5)``, ``v -> 0.001 v``: two stable fixed points u* ~ 0.995 and u* ~ -0.94
    with different exponents ln(3 (1 - u*^2)), so trajectories from either sign disagree."""

    def __init__(self) -> None:
        super().__init__()
        self.state_size, self.input_size = 2, 0
        self.register_buffer("gain", torch.tensor(3.0, dtype=F64))

    def _step(self, h, x):
        return torch.stack([torch.tanh(self.gain * h[..., 0] + 0.5), 0.001 * h[..., 1]], -1)

    def _jacobian(self, h, x):
        d = self.gain * (1 - torch.tanh(self.gain * h[..., 0] + 0.5) ** 2)
        z = torch.zeros_like(d)
        return torch.stack([torch.stack([d, z], -1), torch.stack([z, 0.001 + z], -1)], -2)


# ------------------------------------------------------------------------------ convergence
@pytest.mark.parametrize(
    ("system", "short", "long"),
    [
        (rd.Henon(), dict(n_steps=20), dict(n_steps=4000, n_transient=100)),
        (
            rd.discretise(rd.Lorenz63(), dt=0.01),  # at dt = 0.05 a long run is a time-step warning
            dict(n_steps=50),
            dict(n_steps=1000, n_transient=300, n_trajectories=4),
        ),
        (
            rd.GRU(16, g_h=3.0, generator=gen(0), dtype=F64),
            dict(n_steps=30),
            dict(n_steps=3000, n_transient=300, k=3),
        ),
    ],
    ids=["henon", "lorenz", "gru"],
)
def test_short_runs_are_not_converged_long_runs_succeed(system, short, long) -> None:
    s = rd.lyapunov_spectrum(system, generator=gen(1), **short)
    assert s.status == rd.Status.NOT_CONVERGED, s.message
    assert s.check("convergence").passed is False and "n_steps" in s.message  # says what to change
    l_ = rd.lyapunov_spectrum(system, generator=gen(1), **long)
    assert l_.status == rd.Status.SUCCESS, l_.message
    assert l_.check("convergence").passed and "drift" in l_.check("convergence").detail
    conv = l_.convergence
    assert conv is not None and all(
        d <= t for d, t in zip(conv["drift"], conv["drift_tolerance"], strict=True)
    )
    assert l_.message.startswith("success: all checks passed (jacobian, bounded, convergence")


def test_drift_and_transient_diagnostics_say_what_to_change() -> None:
    # a stable linear map started far from alignment: a 1/T bias, no transient
    a = torch.tensor([[0.9, 5.0], [0.0, 0.2]], dtype=F64)

    class Lin(AbstractMap):
        def __init__(self) -> None:
            super().__init__()
            self.state_size, self.input_size = 2, 0
            self.register_buffer("a", a)

        def _step(self, h, x):
            return h @ self.a.T

        def _jacobian(self, h, x):
            return self.a.expand(*h.shape[:-1], 2, 2)

    res = rd.lyapunov_spectrum(Lin(), n_steps=400, n_trajectories=3, generator=gen(0), k=2)
    assert res.convergence["e_foldings_transient"] == 0.0
    if res.status == rd.Status.NOT_CONVERGED:  # the bias is visible against the trajectory spread
        assert "n_transient" in res.message
    # the exact answer is ln 0.9, ln 0.2: long enough runs reach it and say success
    good = rd.lyapunov_spectrum(
        Lin(), n_steps=400, n_transient=200, h0=torch.zeros(2, dtype=F64), generator=gen(0)
    )
    assert good.status == rd.Status.SUCCESS, good.message
    assert good.exponents.tolist() == pytest.approx([math.log(0.9), math.log(0.2)], abs=1e-12)


# ------------------------------------------------------------------------------ Jacobian check
@pytest.mark.parametrize("factor", [1.1, 2.0])
def test_wrong_jacobian_henon_is_failed(factor: float) -> None:
    bad = ScaledHenon(factor)
    res = rd.lyapunov_spectrum(bad, n_steps=2000, n_transient=100, generator=gen(2), throw=False)
    assert res.status == rd.Status.FAILED
    chk = res.check("jacobian")
    assert not chk.passed and chk.value > 0.04  # relative error ~ (f - 1) / (f + 1) * 2
    assert "ScaledHenon" in res.message and f"{chk.value:.3g}" in res.message
    with pytest.raises(rd.AnalysisError, match="ScaledHenon.*disagrees with the autograd JVP") as info:
        rd.lyapunov_spectrum(bad, n_steps=2000, n_transient=100, generator=gen(2))
    assert info.value.result.status == "failed"
    # the public check says the same, and passes the correct map
    assert rd.check_jacobian(bad, generator=gen(0)).status == rd.Status.FAILED
    ok = rd.check_jacobian(rd.Henon(), generator=gen(0))
    assert ok.status == rd.Status.SUCCESS and ok.max_error < 1e-14


def test_check_jacobian_on_builtin_models_and_bad_input() -> None:
    models = [
        rd.VanillaRNN(12, g=2.0, generator=gen(0), dtype=F64),
        rd.GRU(8, generator=gen(0), dtype=F64),
        rd.LSTM(6, generator=gen(0), dtype=F64),
        rd.discretise(rd.Lorenz63(), dt=0.05),
    ]
    for m in models:
        r = rd.check_jacobian(m, generator=gen(1))
        assert r.status == "success" and r.max_error < 1e-12, (r.model, r.max_error)
    with pytest.raises(TypeError, match="`model` must be an rnndyn model"):
        rd.check_jacobian(torch.nn.Linear(2, 2))
    with pytest.raises(ValueError, match=r"`h` must have shape \(N, 2\)"):
        rd.check_jacobian(rd.Henon(), torch.zeros(3, dtype=F64))


# ------------------------------------------------------------------------------ divergence
def test_relu_g10_net_is_diverged_not_chaotic() -> None:
    net = rd.VanillaRNN(16, g=10.0, activation="relu", generator=gen(0), dtype=F64)
    res = rd.lyapunov_spectrum(net, n_steps=200, generator=gen(1), throw=False)
    assert res.status == rd.Status.DIVERGED and res.regime == "diverged"
    assert math.isnan(res.lambda_max) and math.isnan(res.kaplan_yorke_dimension)
    assert not res.check("bounded").passed and "escaped" in res.message
    d = res.to_dict()
    json.dumps(d, allow_nan=False)
    with pytest.raises(rd.AnalysisError, match="diverged"):
        rd.lyapunov_spectrum(net, n_steps=200, generator=gen(1))
    two = rd.max_lyapunov(net, n_steps=200, generator=gen(1), throw=False)
    assert two.status == rd.Status.DIVERGED and two.regime == "diverged"


def test_non_finite_weights_are_bad_input() -> None:
    for bad in (math.nan, math.inf):
        net = rd.VanillaRNN(4, g=1.0, generator=gen(0), dtype=F64)
        with torch.no_grad():
            net.weight_hh[0, 1] = bad
        for fn in (rd.lyapunov_spectrum, rd.max_lyapunov):
            with pytest.raises(ValueError, match="non-finite parameters.*weight_hh.*bad input"):
                fn(net, n_steps=10)


def test_saturated_tanh_is_a_warning_not_a_measured_minus_inf() -> None:
    net = rd.VanillaRNN(8, g=1e6, generator=gen(0), dtype=F64)
    res = rd.lyapunov_spectrum(net, n_steps=200, n_transient=10, generator=gen(1))
    assert res.lambda_max == -math.inf
    assert res.status == rd.Status.WARNING and not res.check("finite_exponents").passed
    assert res.to_dict()["non_finite"]["exponents"].startswith("8 of 8 entries")


# ------------------------------------------------------------------------------ multistability
def test_multistable_map_is_a_warning_with_clusters() -> None:
    h0 = torch.tensor([[0.5, 0.1], [-0.5, 0.1], [0.8, -0.2], [-0.9, 0.3]], dtype=F64)
    res = rd.lyapunov_spectrum(TwoAttractors(), n_steps=1000, n_transient=100, h0=h0, generator=gen(0))
    assert res.status == rd.Status.WARNING and res.regime == "multistable"
    assert len(res.clusters) == 2
    assert sorted(c["trajectories"] for c in res.clusters) == [[0, 2], [1, 3]]
    # cluster values: ln(3 (1 - u*^2)) at the two fixed points of u = tanh(3u + 0.5)
    for c in res.clusters:
        u = 0.9 if 0 in c["trajectories"] else -0.9
        for _ in range(200):
            u = math.tanh(3 * u + 0.5)
        assert c["lambda_max"] == pytest.approx(math.log(3 * (1 - u * u)), abs=1e-9)
    assert "2 clusters" in res.message and not res.check("multistability").passed
    # one attractor: no warning
    one = rd.lyapunov_spectrum(
        TwoAttractors(), n_steps=1000, n_transient=100, h0=h0[[0, 2]], generator=gen(0)
    )
    assert one.status == rd.Status.SUCCESS and len(one.clusters) == 1


def test_shared_input_stderr_comes_from_time_blocks() -> None:
    net = rd.VanillaRNN(16, g=0.8, input_size=2, generator=gen(3), dtype=F64)
    x = torch.randn(1200, 2, generator=gen(4), dtype=F64)
    shared = rd.lyapunov_spectrum(net, k=2, inputs=x, n_transient=200, n_trajectories=4, generator=gen(5))
    assert shared.stderr_method == "time_blocks"
    assert shared.stderr[0].item() > 1e-4  # not the collapsed trajectory spread (~1e-7)
    spread = shared.per_trajectory[:, 0].std().item()
    assert spread < 1e-6 < shared.stderr[0].item()
    xs = torch.randn(4, 1200, 2, generator=gen(4), dtype=F64)
    indep = rd.lyapunov_spectrum(net, k=2, inputs=xs, n_transient=200, generator=gen(5))
    assert indep.stderr_method == "trajectories"


# ------------------------------------------------------------------------------ flow divergence
@pytest.mark.slow  # 5000 RK4 steps (6 s); the flow_divergence check also fires in test_lyapunov by default
def test_lorenz_time_step_bias_is_flagged_at_dt_005_not_at_001() -> None:
    coarse = rd.lyapunov_spectrum(
        rd.discretise(rd.Lorenz63(), dt=0.05), n_steps=4000, n_transient=200, generator=gen(6)
    )
    fc = coarse.check("flow_divergence")
    assert not fc.passed and coarse.status == rd.Status.WARNING
    assert coarse.flow_check["mean_trace"] == pytest.approx(-(10 + 1 + 8 / 3), rel=1e-12)
    assert coarse.flow_check["bias"] > 0.05 and "reduce dt" in coarse.message
    fine = rd.lyapunov_spectrum(
        rd.discretise(rd.Lorenz63(), dt=0.01), n_steps=1000, n_transient=300, generator=gen(6)
    )
    assert fine.check("flow_divergence").passed and fine.flow_check["bias"] < 1e-3
    assert fine.status == rd.Status.SUCCESS, fine.message


def test_sum_rule_reports_absolute_error_near_zero_sum() -> None:
    from rnndyn._diagnostics import sum_rule_check

    # an area-preserving map (det J = 1): the sum is 0, so only the absolute error means anything
    a = torch.tensor([[2.0, 1.0], [1.0, 1.0]], dtype=F64)  # Arnold's cat map matrix, det 1

    class Cat(AbstractMap):
        def __init__(self) -> None:
            super().__init__()
            self.state_size, self.input_size = 2, 0
            self.register_buffer("a", a)

        def _step(self, h, x):
            return h @ self.a.T

        def _jacobian(self, h, x):
            return self.a.expand(*h.shape[:-1], 2, 2)

    res = rd.lyapunov_spectrum(
        Cat(), n_steps=300, n_transient=50, h0=torch.zeros(2, dtype=F64), generator=gen(0)
    )
    assert res.sum_check["rel_error"] is None and res.sum_check["abs_error"] < 1e-12
    assert res.check("sum_rule").passed and res.status == rd.Status.SUCCESS, res.message
    golden = math.log((3 + math.sqrt(5)) / 2)
    assert res.exponents.tolist() == pytest.approx([golden, -golden], abs=1e-12)

    info, chk = sum_rule_check(1e-12, 0.0, 1.0, F64, 2)
    assert info["rel_error"] is None and info["abs_error"] == pytest.approx(1e-12) and chk.passed
    info, chk = sum_rule_check(-1.013, math.log(0.3), 1.0, F64, 2)
    assert not chk.passed and info["rel_error"] == pytest.approx(abs(-1.013 - math.log(0.3)) / -math.log(0.3))


@pytest.mark.slow
def test_one_million_henon_steps_keep_flat_memory() -> None:
    code = (
        "import resource, torch, rnndyn as rd\n"
        "import sys\n"
        "n = int(sys.argv[1])\n"
        "r = rd.lyapunov_spectrum(rd.Henon(), n_steps=n, qr_every=1, generator=torch.Generator().manual_seed(0))\n"
        "assert r.sum_check is not None and r.sum_check['abs_error'] < 1e-8\n"
        "print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)\n"
    )
    rss = {}
    for n in (10_000, 1_000_000):
        out = subprocess.run([sys.executable, "-c", code, str(n)], capture_output=True, text=True, check=True)
        rss[n] = int(out.stdout.strip().splitlines()[-1]) / 1024  # MB (ru_maxrss is in kB on Linux)
    # one tensor per step would add ~600 MB for 1e6 steps (measured before the streaming mean)
    assert rss[1_000_000] - rss[10_000] < 60, rss


def test_check_dt_needs_a_discretised_flow() -> None:
    with pytest.raises(ValueError, match="`check_dt=True` needs a discretised flow"):
        rd.lyapunov_spectrum(rd.Henon(), n_steps=10, check_dt=True)


@pytest.mark.slow
def test_step_halving_flags_lorenz_dt_005_not_dt_001() -> None:
    coarse = rd.lyapunov_spectrum(
        rd.discretise(rd.Lorenz63(), dt=0.05), n_steps=3000, n_transient=200, generator=gen(7), check_dt=True
    )
    chk = coarse.check("step_halving")
    assert not chk.passed and chk.value > 0.05 and coarse.status == rd.Status.WARNING
    fine = rd.lyapunov_spectrum(
        rd.discretise(rd.Lorenz63(), dt=0.01), n_steps=3000, n_transient=300, generator=gen(7), check_dt=True
    )
    assert fine.check("step_halving").passed and fine.status == rd.Status.SUCCESS, fine.message


def test_chaos_results_diverge_instead_of_reporting_inf() -> None:
    net = rd.VanillaRNN(16, g=10.0, activation="relu", generator=gen(0), dtype=F64)
    with pytest.raises(rd.AnalysisError, match="diverged: the trajectories escaped"):
        rd.chaos.scrambling(net, n_pairs=4, n_steps=200, n_transient=0, lyapunov=False, generator=gen(1))
    ok = rd.chaos.scrambling(rd.Henon(), n_pairs=4, n_steps=300, lyapunov=False, generator=gen(1))
    assert ok.status == rd.Status.SUCCESS and math.isfinite(ok.diameter)
    # 1-D exponents: the logistic map at r = 4 is ln 2 on [0, 1]; orbits started outside escape
    x0 = torch.tensor([[0.1, 0.2, 0.3, 0.4]], dtype=F64)
    good = rd.chaos.lyapunov_exponent_1d(rd.Logistic(r=4.0), n_steps=2000, n_transient=10, x0=x0)
    assert good.status == rd.Status.SUCCESS and abs(float(good.exponent[0]) - math.log(2)) < 0.05
    out = torch.tensor([[1.5, 2.0, -0.5, 3.0]], dtype=F64)
    bad = rd.chaos.lyapunov_exponent_1d(rd.Logistic(r=4.0), n_steps=200, n_transient=10, x0=out)
    assert bad.status == rd.Status.DIVERGED and math.isnan(float(bad.exponent[0]))
    json.dumps(bad.to_dict(), allow_nan=False)


def test_cli_status_rows_and_exit_codes(capsys) -> None:
    import typer

    from rnndyn.cli._common import EXIT_FAILED, report_status, status_rows

    res = rd.lyapunov_spectrum(ScaledHenon(1.1), n_steps=300, n_transient=50, generator=gen(0), throw=False)
    rows = dict(status_rows(res))
    assert rows["status"] == "FAILED" and rows["check jacobian"].startswith("FAILED (failed)")
    with pytest.raises(typer.Exit) as info:
        report_status(res)
    assert info.value.exit_code == EXIT_FAILED == 1
    short = rd.lyapunov_spectrum(rd.Henon(), n_steps=20, generator=gen(0))
    report_status(short)  # not_converged: a visible warning, no exit
    assert "warning: status not_converged" in capsys.readouterr().err.replace("\n", " ")


def test_multistable_gru_is_a_warning_with_its_clusters() -> None:
    # A real CKS20 GRU (n = 32, g_h = 2, alpha_z = alpha_r = 1, weights seed 4) with two attractors:
    # trajectories 2, 3, 4 settle at lambda ~ -0.003, trajectories 0, 1, 5 at ~ -0.0385 (measured
    # once; the numbers below are the oracle, the clustering is what is under test).
    net = rd.GRU(
        32, g_h=2.0, alpha_z=1.0, alpha_r=1.0, generator=torch.Generator().manual_seed(4), dtype=torch.float64
    )
    res = rd.lyapunov_spectrum(
        net, k=1, n_steps=1500, n_transient=500, n_trajectories=6, generator=torch.Generator().manual_seed(1)
    )
    assert res.status == rd.Status.WARNING and res.regime == "multistable"
    clusters = sorted(res.clusters, key=lambda c: c["lambda_max"])
    assert [sorted(c["trajectories"]) for c in clusters] == [[0, 1, 5], [2, 3, 4]]
    assert clusters[0]["lambda_max"] == pytest.approx(-0.0385, abs=1e-3)
    assert clusters[1]["lambda_max"] == pytest.approx(-0.0028, abs=1e-3)
    assert "multistab" in res.message.lower() or "cluster" in res.message.lower()


# ------------------------------------------------------------------------------ the Jacobian check fires
def test_check_jacobian_error_is_exact_and_its_threshold_is_sharp() -> None:
    # J_bad = f J: the check's error 2 |J V - f J V| / (|J V| + |f J V|) is 2 (f - 1) / (f + 1)
    # whatever the states and directions, so the value and the pass / fail side are exact
    for f in (1.1, 2.0, 1 + 1e-6):
        r = rd.check_jacobian(ScaledHenon(f), generator=gen(0))
        assert r.max_error == pytest.approx(2 * (f - 1) / (f + 1), rel=1e-6), f
        assert r.status == rd.Status.FAILED and r.tolerance == pytest.approx(10 * math.sqrt(2.0**-52))
        assert "_jacobian disagrees" in r.message
    # a wrong Jacobian below the default tolerance 1.5e-7 passes (the check is a tolerance, not
    # equality); an explicit rtol moves the edge to either side of the exact error
    assert rd.check_jacobian(ScaledHenon(1 + 1e-8), generator=gen(0)).status == rd.Status.SUCCESS
    e = 2 * 0.1 / 2.1
    assert rd.check_jacobian(ScaledHenon(1.1), generator=gen(0), rtol=1.01 * e).status == rd.Status.SUCCESS
    assert rd.check_jacobian(ScaledHenon(1.1), generator=gen(0), rtol=0.99 * e).status == rd.Status.FAILED


class _WrongTangentRNN(rd.VanillaRNN):
    """A correct ``_jacobian`` but a fused ``_step_and_tangent`` whose tangent is 5 % too large."""

    def _step_and_tangent(self, h, x, Q):
        h_next, jq = super()._step_and_tangent(h, x, Q)
        return h_next, 1.05 * jq


class _WrongFieldLorenz(rd.Lorenz63):
    """Lorenz-63 whose hand-written vector-field Jacobian has d(dy/dt)/dx = z - rho (sign flipped)."""

    def _jacobian(self, h, x):
        j = super()._jacobian(h, x).clone()
        j[..., 1, 0] = -j[..., 1, 0]
        return j


def test_check_jacobian_fires_on_each_tangent_hook() -> None:
    # each product the analyses use is compared, and the one that is wrong is named
    net = _WrongTangentRNN(6, g=1.5, generator=gen(0), dtype=F64)
    r = rd.check_jacobian(net, generator=gen(1))
    assert r.status == rd.Status.FAILED and "_step_and_tangent disagrees" in r.message
    assert r.max_error == pytest.approx(2 * 0.05 / 2.05, rel=1e-9)
    ok = rd.VanillaRNN(6, g=1.5, generator=gen(0), dtype=F64)
    assert rd.check_jacobian(ok, generator=gen(1)).max_error < 1e-14
    # a discretised flow's RK4 tangent product is built from the flow's Jacobian: a wrong flow
    # Jacobian makes the map's _jacobian_product wrong, and the check says so (the correct flow passes)
    bad = rd.check_jacobian(rd.discretise(_WrongFieldLorenz(), dt=0.01), generator=gen(2))
    assert bad.status == rd.Status.FAILED and bad.max_error > 1e-3, bad.message  # measured 0.149
    assert bad.message.startswith("Discretised(_WrongFieldLorenz, dt=0.01, rk4): _step_and_tangent disagrees")
    good = rd.check_jacobian(rd.discretise(rd.Lorenz63(), dt=0.01), generator=gen(2))
    assert good.status == rd.Status.SUCCESS and good.max_error < 1e-12
    # inside an analysis the same check fails the result
    res = rd.lyapunov_spectrum(net, n_steps=200, generator=gen(3), throw=False)
    assert res.status == rd.Status.FAILED and not res.check("jacobian").passed
    assert "_step_and_tangent" in res.check("jacobian").detail


# ------------------------------------------------------------------------------ step halving fires / passes
class _LinearFlow(rd.AbstractFlow):
    """x' = A x with an analytic Jacobian. A = -diag(1, 2): RK4 maps it to diag(R(-dt), R(-2 dt)),
    R(z) = 1 + z + z^2/2 + z^3/6 + z^4/24. A = [[0, 1], [0, 0]] (a shear): the flow map I + t A
    is a polynomial of degree 1 in t, which RK4 integrates exactly at any dt. Any square A works."""

    def __init__(self, a: list[list[float]]) -> None:
        super().__init__()
        self.state_size, self.input_size, self.dtype = len(a), 0, F64
        self.register_buffer("a", torch.tensor(a, dtype=F64))

    def _vector_field(self, h, x):
        return h @ self.a.T

    def _jacobian(self, h, x):
        return self.a.expand(*h.shape[:-1], *self.a.shape)


def test_step_halving_fires_on_a_known_bias_and_passes_an_exact_integrator() -> None:
    # the exponents of the RK4 map of x' = -diag(1, 2) x are ln R(-lambda dt) / dt exactly, so the
    # change of their sum under dt -> dt/2 is known: 0.0375 at dt = 0.5 (a time-step bias: warning)
    def rk4(z: float) -> float:
        return 1 + z + z**2 / 2 + z**3 / 6 + z**4 / 24

    def exps(dt: float) -> list[float]:
        return [math.log(rk4(-lam * dt)) / dt for lam in (1.0, 2.0)]

    kw = {
        "n_steps": 100,
        "n_transient": 40,
        "h0": torch.ones(2, dtype=F64),
        "generator": gen(0),
        "check_dt": True,
    }
    coarse = rd.lyapunov_spectrum(rd.discretise(_LinearFlow([[-1.0, 0.0], [0.0, -2.0]]), dt=0.5), **kw)
    assert coarse.exponents.tolist() == pytest.approx(exps(0.5), abs=1e-12)
    chk = coarse.check("step_halving")
    assert not chk.passed and coarse.status == rd.Status.WARNING and "use dt <= 0.25" in chk.detail
    assert chk.value == pytest.approx(abs(sum(exps(0.5)) - sum(exps(0.25))), rel=1e-9)  # 0.0375
    # the shear's RK4 map is its exact flow map at both step sizes: no bias, the check passes
    shear = rd.lyapunov_spectrum(rd.discretise(_LinearFlow([[0.0, 1.0], [0.0, 0.0]]), dt=0.5), **kw)
    assert shear.check("step_halving").passed, shear.message


def test_step_halving_with_zero_standard_errors_tolerates_a_negligible_bias() -> None:
    # one deterministic trajectory of x' = -2 x: every time block agrees, so the standard error is
    # ~1e-16 and the old tolerance (4 se + 1e-9 max(1, |lambda|)) called the RK4 bias of the
    # exponent, lambda^5 dt^4 / 120 = 6.8e-7 at dt = 0.04, a 'warning'. Richardson: the bias of
    # lambda(dt) is d / (1 - 2^-4), d the change under dt -> dt/2; it passes when below
    # 1e-6 max(1, |lambda|) (docs/lyapunov.md, step_halving)
    def lam(dt: float) -> float:  # the RK4 map of x' = -2 x is x -> R(-2 dt) x
        z = -2.0 * dt
        return math.log(1 + z + z**2 / 2 + z**3 / 6 + z**4 / 24) / dt

    kw = {"n_steps": 200, "h0": torch.ones(1, dtype=F64), "generator": gen(0), "check_dt": True}
    flow = _LinearFlow([[-2.0]])
    fine = rd.lyapunov_spectrum(rd.discretise(flow, dt=0.04), **kw)
    assert fine.lambda_max == pytest.approx(lam(0.04), abs=1e-12) and float(fine.stderr[0]) < 1e-12
    chk = fine.check("step_halving")
    d = abs(lam(0.04) - lam(0.02))  # 6.4e-7
    assert (
        chk.value == pytest.approx(d, rel=1e-6) and d > 4 * float(fine.stderr[0]) + 1e-9 * 2
    )  # old: warning
    assert chk.tolerance == pytest.approx(1e-6 * abs(lam(0.04)) * 15 / 16) and chk.passed
    assert fine.status == rd.Status.SUCCESS, fine.message
    assert f"Richardson (rk4, order 4): time-step bias {d * 16 / 15:.3g} at dt = 0.04" in chk.detail
    # a step that is genuinely too large still warns, and the advice scales dt by (tol / d)^(1/4)
    coarse = rd.lyapunov_spectrum(rd.discretise(flow, dt=0.2), **kw)
    chk = coarse.check("step_halving")
    assert not chk.passed and coarse.status == rd.Status.WARNING
    assert chk.value == pytest.approx(abs(lam(0.2) - lam(0.1)), rel=1e-6)  # 4.0e-4
    assert chk.tolerance == pytest.approx(1e-6 * abs(lam(0.2)) * 15 / 16)
    dt_ok = math.floor(0.2 * (chk.tolerance / chk.value) ** 0.25 * 1e3) / 1e3  # 0.048
    assert f"use dt <= 0.1, and dt <= {dt_ok:.2g} to bring" in chk.detail
    # the advice works and is not far too strict: the check passes at dt_ok, fails at 1.25 dt_ok
    assert abs(lam(dt_ok) - lam(dt_ok / 2)) < chk.tolerance < abs(lam(1.25 * dt_ok) - lam(0.625 * dt_ok))


# ------------------------------------------------------------------------------ stationarity


def test_slow_escape_from_an_unstable_fixed_point_is_not_converged() -> None:
    # the reported case (c = 0.003, no transient): 1000 steps spent leaving 0 gave lambda = +0.006
    # 'chaotic' with 'success'. The convergence check passed because its error bar, the spread of
    # the time blocks, is itself the trend; the stationarity check's noise (successive block
    # differences) is not, and the halves differ by > 5 of its units
    res = rd.lyapunov_spectrum(
        Escape(0.003), n_steps=1000, h0=torch.tensor([1e-4], dtype=F64), generator=gen(0)
    )
    assert res.lambda_max == pytest.approx(math.log(1.006), abs=1e-4) and res.regime == "chaotic"
    assert res.check("convergence").passed  # the old rule alone: success
    chk = res.check("stationarity")
    assert not chk.passed and chk.value > 10 and chk.tolerance == 5.0
    assert res.status == rd.Status.NOT_CONVERGED
    assert "increase n_transient to >= 1000" in chk.detail and "has not reached its attractor" in chk.detail
    # oracle: with the advice followed (a faster escape, c = 0.03, so the test is short), the exponent
    # is the stable fixed point's, ln|F'(1)| = ln(1 - 3c) = ln 0.91, and the run says success
    short = rd.lyapunov_spectrum(
        Escape(0.03), n_steps=400, h0=torch.tensor([1e-6], dtype=F64), generator=gen(0)
    )
    assert short.status == rd.Status.NOT_CONVERGED and not short.check("stationarity").passed
    assert "n_transient to >= 400" in short.message
    good = rd.lyapunov_spectrum(
        Escape(0.03), n_steps=400, n_transient=400, h0=torch.tensor([1e-6], dtype=F64), generator=gen(0)
    )
    assert good.status == rd.Status.SUCCESS and good.check("stationarity").passed, good.message
    assert good.lambda_max == pytest.approx(math.log(0.91), abs=1e-8)


def test_an_escape_in_the_last_blocks_is_not_converged(monkeypatch) -> None:
    # from h0 = 1e-8 the c = 0.03 map leaves 0 only in the last ~30 of 300 steps: lambda = +0.057
    # ('chaotic'), the orbit's exponent is ln 0.91 < 0. The jump sits in the last blocks, so the
    # successive differences there are large; leaving the largest out of the noise keeps z > 5
    h0 = torch.tensor([1e-8], dtype=F64)
    res = rd.lyapunov_spectrum(Escape(0.03), n_steps=300, h0=h0, generator=gen(0))
    assert res.lambda_max > 0.05 and res.regime == "chaotic" and res.check("convergence").passed
    chk = res.check("stationarity")
    assert res.status == rd.Status.NOT_CONVERGED and not chk.passed and chk.value > 7
    # with every difference in the noise (no trimming) the jump hid itself: z = 3.4, 'success'
    monkeypatch.setattr(rd._diagnostics, "_TRIMMED_MSSD_BIAS", {})
    old = rd.lyapunov_spectrum(Escape(0.03), n_steps=300, h0=h0, generator=gen(0))
    assert old.status == rd.Status.SUCCESS and old.check("stationarity").value < 5


@pytest.mark.parametrize(
    ("system", "kw", "exact"),
    [
        (rd.Logistic(r=4.0), dict(n_steps=1000, n_transient=20), math.log(2.0)),
        (rd.Henon(), dict(n_steps=1000, n_transient=100), 0.419),
        (
            rd.VanillaRNN(64, g=3.0, generator=gen(0), dtype=F64),
            dict(k=2, n_steps=1000, n_transient=100),
            None,
        ),
    ],
    ids=["logistic", "henon", "vanilla"],
)
def test_stationary_chaotic_runs_keep_success(system, kw, exact) -> None:
    res = rd.lyapunov_spectrum(system, generator=gen(1), **kw)
    chk = res.check("stationarity")
    assert chk.passed and chk.value < chk.tolerance and res.status == rd.Status.SUCCESS, res.message
    assert res.regime == "chaotic"
    if exact is not None:
        assert res.lambda_max == pytest.approx(exact, abs=4 * float(res.stderr[0]) + 0.005)


# ------------------------------------------------------------------------------ near-zero tolerance
class _TwoLines(AbstractMap):
    """``u -> 1 + 0.99 (u - 1)`` for ``u > 0``, ``-1 + 0.9 (u + 1)`` otherwise: two attractors (the
    fixed points +-1) with constant slopes, so every trajectory's exponent is exactly ln 0.99 or ln 0.9."""

    def __init__(self) -> None:
        super().__init__()
        self.state_size, self.input_size = 1, 0
        self.register_buffer("slope", torch.tensor([0.99, 0.9], dtype=F64))

    def _step(self, h, x):
        return torch.where(h > 0, 1 + self.slope[0] * (h - 1), -1 + self.slope[1] * (h + 1))

    def _jacobian(self, h, x):
        return torch.where(h > 0, self.slope[0], self.slope[1]).expand_as(h).unsqueeze(-1)


def test_multistable_near_zero_tolerance_comes_from_within_the_clusters() -> None:
    h0 = torch.tensor([[0.5], [2.0], [0.1], [-0.5], [-2.0], [-0.1]], dtype=F64)
    res = rd.lyapunov_spectrum(_TwoLines(), n_steps=300, h0=h0, generator=gen(0))
    lam = [math.log(0.99), math.log(0.9)]  # -0.01005, -0.10536: neither is zero
    assert res.regime == "multistable" and res.status == rd.Status.WARNING
    assert sorted(c["lambda_max"] for c in res.clusters) == pytest.approx(sorted(lam), abs=1e-12)
    # the old rule: 3 x the spread over all six trajectories (0.064) > |mean| = 0.0577, so the mean
    # counted as a slow mode; within the clusters the spread is 0, so the tolerance is its 1e-3 floor
    old_tol = 3 * float(res.per_trajectory[:, 0].std()) / math.sqrt(6)
    assert old_tol == pytest.approx(0.0637, abs=1e-3) and old_tol > abs(res.lambda_max)
    assert res.near_zero_tolerance == 1e-3 and res.n_near_zero == 0
    # one trajectory per attractor (no spread within a cluster to pool): their own time-block
    # errors, 0 for these exact exponents, instead of 3 x 0.047 = 0.14 from the two values
    two = rd.lyapunov_spectrum(_TwoLines(), n_steps=300, h0=h0[[0, 3]], generator=gen(0))
    assert two.regime == "multistable" and two.near_zero_tolerance == 1e-3 and two.n_near_zero == 0
    assert 3 * float(two.stderr[0]) > abs(two.lambda_max)  # the old rule's tolerance
    # with one cluster nothing changes: the reported stderr sets the tolerance
    one = rd.lyapunov_spectrum(_TwoLines(), n_steps=300, h0=h0[:3], generator=gen(0))
    assert one.regime == "stable" and one.near_zero_tolerance == 1e-3 and one.status == rd.Status.SUCCESS


@pytest.mark.slow  # 2 x 1000 steps plus a 1100-step transient of a 32-unit network (1 s)
def test_transient_chaos_of_a_small_network_is_not_converged_then_stable() -> None:
    # a real false 'chaotic, success': this n = 32, g = 3 network wanders chaotically for ~150 steps
    # and then settles on an attractor with lambda_max ~ -0.026 (block means of 200 steps, measured
    # once over 8000 steps: 0.137, 0.012, then -0.02 .. -0.04). A 1000-step run after 100 transient
    # steps averaged the two to +0.03 and said 'success'; now stationarity flags it, and the advised
    # transient gives the attractor's exponent
    net = rd.VanillaRNN(32, g=3.0, generator=gen(0), dtype=F64)
    res = rd.lyapunov_spectrum(net, k=2, n_steps=1000, n_transient=100, generator=gen(1))
    assert res.lambda_max > 0 and res.check("convergence").passed
    assert res.status == rd.Status.NOT_CONVERGED and not res.check("stationarity").passed
    assert "n_transient to >= 1100" in res.message
    good = rd.lyapunov_spectrum(net, k=2, n_steps=1000, n_transient=1100, generator=gen(1))
    assert good.status == rd.Status.SUCCESS and good.regime == "stable", good.message
    assert good.lambda_max == pytest.approx(-0.026, abs=0.01)

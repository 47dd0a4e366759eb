"""rd.chaos: exact period detection, laps/entropy, scrambling, probabilities, persistence, CLI."""

from __future__ import annotations

import json
import math

import pytest
import torch

import rnndyn as rd
from model_zoo import Escape
from rnndyn import chaos

F64 = torch.float64


def _gen(seed: int = 0) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


# ----------------------------------------------------------------------------- exact oracles
def test_tent_period3_orbits_exact() -> None:
    tent = chaos.ScalarNetwork.tent()
    pts = chaos.periodic_points(tent, 3).points[0]
    expected = sorted([2 / 9, 4 / 9, 8 / 9, 2 / 7, 4 / 7, 6 / 7])
    assert torch.allclose(pts, torch.tensor(expected, dtype=F64), atol=1e-14)
    res = chaos.period3(tent)
    assert bool(res.has_period3[0]) and int(res.n_points[0]) == 6
    assert bool(chaos.li_yorke_witness(tent, res.witness)[0])
    # the orbit really is a 3-cycle
    o = res.orbit[0]
    assert abs(float(tent(o[2:3].reshape(1, 1))) - float(o[0])) < 1e-14


def test_li_yorke_witness_needs_every_inequality() -> None:
    # tent map, 3-cycle 2/7 -> 4/7 -> 6/7 -> 2/7: only its lowest point satisfies
    # f^3(a) <= a < f(a) < f^2(a); from 4/7 the orbit rises then falls (f(a) > f^2(a)), from 6/7 it
    # falls then rises (the reversed chain needs f(a) > f^2(a)); 1/7 -> 2/7 -> 4/7 -> 6/7 has f^3(a) > a
    tent = chaos.ScalarNetwork.tent()
    got = {a: bool(chaos.li_yorke_witness(tent, torch.tensor([a / 7], dtype=F64))[0]) for a in (1, 2, 4, 6)}
    assert got == {1: False, 2: True, 4: False, 6: False}
    # the reversed chain f^3(a) >= a > f(a) > f^2(a): the map 1 - tent(x) has the 3-cycle
    # 5/7 -> 3/7 -> 1/7 -> 5/7
    flip = chaos.ScalarNetwork.from_weights(
        tent.weight_in[0], tent.bias_in[0], -tent.weight_out[0], 1.0 - tent.bias_out[0]
    )
    got = {a: bool(chaos.li_yorke_witness(flip, torch.tensor([a / 7], dtype=F64))[0]) for a in (1, 3, 5)}
    assert got == {1: False, 3: False, 5: True}


@pytest.mark.parametrize("domain", [(0.0, 1.0), None])
def test_tent_laps_are_2_to_the_t(domain) -> None:
    laps = chaos.lap_numbers(chaos.ScalarNetwork.tent(), 10, domain=domain)
    assert laps[0].tolist() == [2.0**t for t in range(1, 11)]
    h = chaos.topological_entropy(chaos.ScalarNetwork.tent(), t_max=12, domain=domain).entropy
    assert abs(float(h[0]) - math.log(2)) < 1e-12


def test_tent_composition_knots_match_laps() -> None:
    # f^t of the tent map is piecewise linear with 2^t laps: 2^t - 1 turning points
    p = chaos.ScalarNetwork.tent().to_piecewise_linear()
    for t in range(1, 6):
        tp = p.iterate(t).turning_points()[0]
        assert int(torch.isfinite(tp).sum()) == 2**t - 1
        expected = (torch.arange(1, 2**t, dtype=F64) / 2**t).tolist()  # k / 2^t, k = 1 .. 2^t - 1
        assert torch.allclose(
            tp[torch.isfinite(tp)][: len(expected)], torch.tensor(expected, dtype=F64), atol=1e-13
        )


def test_minimal_three_cycle_map_has_golden_mean_entropy() -> None:
    # the linear map through the 3-cycle 1 -> 2 -> 3 -> 1 on [1, 3] (x + 1, then 7 - 2x): Markov
    # intervals [1, 2] -> [2, 3], [2, 3] -> [1, 3], transition matrix [[0, 1], [1, 1]], so the lap
    # numbers are Fibonacci numbers F_{t+2} and h_top = ln((1 + sqrt 5)/2) = 0.4812, the least
    # entropy a map with period 3 can have (Block, Guckenheimer, Misiurewicz & Young 1980)
    f = chaos.ScalarNetwork.from_weights([1.0, -1.0, 1.0], [0.0, 0.0, -2.0], [1.0, -1.0, -3.0], 1.0)
    x = torch.tensor([[1.0, 1.5, 2.0, 2.5, 3.0]], dtype=F64)
    assert f(x).tolist() == [[2.0, 2.5, 3.0, 2.0, 1.0]]
    fib = [1, 1]  # F_1, F_2, ...
    while len(fib) < 22:
        fib.append(fib[-1] + fib[-2])
    assert chaos.lap_numbers(f, 12, domain=(1.0, 3.0))[0].tolist() == fib[2:14]  # F_3 .. F_14
    # the estimator: L(f^20) = F_22 = 17711 exceeds max_laps = 2^14, so t1 = 19 and t0 = 10, and
    # h = (ln F_21 - ln F_12) / 9 exactly, which is ln phi up to 1.1e-6
    h = float(chaos.topological_entropy(f, t_max=20, domain=(1.0, 3.0)).entropy[0])
    assert h == pytest.approx((math.log(fib[20]) - math.log(fib[11])) / 9, rel=1e-12)
    assert h == pytest.approx(math.log((1 + math.sqrt(5)) / 2), abs=2e-6)
    p3 = chaos.period3(f, domain=(1.0, 3.0))
    assert bool(p3.has_period3[0]) and int(p3.n_points[0]) == 3
    assert chaos.periodic_points(f, 3, domain=(1.0, 3.0)).points[0].tolist() == pytest.approx([1.0, 2.0, 3.0])


def test_pwl_matches_network_and_is_sorted() -> None:
    net = chaos.ScalarNetwork.random(16, 50, generator=_gen(1))
    p = net.to_piecewise_linear()
    x = torch.linspace(-5, 5, 401, dtype=F64).expand(50, -1).contiguous()
    assert torch.allclose(p(x), net(x), atol=1e-12)
    p3 = p.iterate(3)
    f3 = net(net(net(x)))
    assert torch.allclose(p3(x), f3, atol=1e-9 * (1 + f3.abs().max()))
    for b in range(50):
        k = p3.knots[b, : int(p3.count[b])]
        assert bool((k[1:] >= k[:-1]).all())


def test_logistic_period3_window() -> None:
    res = chaos.period3(rd.Logistic(r=3.83), domain=(0.0, 1.0))
    assert bool(res.has_period3[0]) and int(res.n_points[0]) == 6  # stable + unstable 3-cycle
    a = res.orbit[0]
    f = rd.Logistic(r=3.83)
    assert abs(float(f.step(f.step(f.step(a[:1])))) - float(a[0])) < 1e-10
    assert not bool(chaos.period3(rd.Logistic(r=3.5), domain=(0.0, 1.0)).has_period3[0])


def _period4_no_period3() -> chaos.ScalarNetwork:
    # piecewise-linear map through the 4-cycle 1 -> 3 -> 2 -> 4 -> 1 (zero entropy)
    return chaos.ScalarNetwork.from_weights([1, -1, 1, 1], [0, 0, -2, -3], [1, -1, -3, 1], 2.0)


def test_f3_not_confused_with_f4() -> None:
    f = _period4_no_period3()
    x = torch.tensor([[1.0, 3.0, 2.0, 4.0]], dtype=F64)
    assert f(x).tolist() == [[3.0, 2.0, 4.0, 1.0]]
    p4 = chaos.periodic_points(f, 4)
    p2 = chaos.periodic_points(f, 2)
    p1 = chaos.periodic_points(f, 1)
    assert int(p4.count[0]) >= 4 and int(p2.count[0]) >= 2
    assert not bool(chaos.period3(f).has_period3[0])
    # the notebooks' criterion "#fix(f^4) > #fix(f)" fires, the f^3 criterion does not
    n4 = int(chaos.periodic_points(f, 4).count[0] + p2.count[0] + p1.count[0])
    n3 = int(chaos.periodic_points(f, 3).count[0] + p1.count[0])
    assert n4 > int(p1.count[0]) and n3 == int(p1.count[0])
    # grid cross-check on a wide interval
    g = chaos.period3(f, method="grid", domain=(-20.0, 20.0), n_grid=200001)
    assert not bool(g.has_period3[0])
    assert float(chaos.topological_entropy(f, t_max=20).entropy[0]) < 0.2


def _exact_vs_grid(init: str, n: int, seed: int, n_grid: int, L: float = 6.0) -> int:
    net = chaos.ScalarNetwork.random(6, n, init=init, generator=_gen(seed))
    ex = chaos.periodic_points(net, 3)
    gr = chaos.periodic_points(net, 3, method="grid", domain=(-L, L), n_grid=n_grid)
    inside = torch.nan_to_num(ex.points, nan=0.0).abs().le(L - 1e-6) & ~torch.isnan(ex.points)
    n_exact_inside = inside.sum(1)
    assert torch.equal(n_exact_inside > 0, gr.count > 0)
    assert torch.equal(n_exact_inside, gr.count)  # every period-3 point, not just existence
    return int((n_exact_inside > 0).sum())


def test_exact_agrees_with_fine_grid_on_random_relu() -> None:
    assert _exact_vs_grid("normal", 200, 4, 20001) >= 3  # the comparison is not vacuous


@pytest.mark.slow
def test_exact_agrees_with_fine_grid_he_many() -> None:
    assert _exact_vs_grid("he", 2000, 7, 60001) >= 5


def test_tanh_grid_fast_path_matches_direct() -> None:
    net = chaos.ScalarNetwork.random(8, 300, init="normal", activation="tanh", generator=_gen(1))
    fast = chaos.period3(net, n_grid=2001)
    dom = chaos._detect._Batched(net).default_domain(4001)
    direct = chaos.periodic_points(net, 3, domain=dom, n_grid=8001)
    assert int(fast.has_period3.sum()) >= 1
    assert torch.equal(fast.has_period3, direct.count > 0)


def test_lyapunov_1d_tent_and_logistic() -> None:
    tent = chaos.ScalarNetwork.from_weights([1, 1], [1e-5, -0.502], [1.9999, -4.0])
    r = chaos.lyapunov_exponent_1d(tent, n_steps=1000, x0=torch.tensor([[0.1, 0.3]], dtype=F64))
    assert abs(float(r.exponent[0]) - math.log(2)) < 1e-3  # |f'| = 2 (1.9999) on both branches
    assert r.status == rd.Status.SUCCESS and r.check("stationarity").passed, r.message  # chaotic, stationary
    r = chaos.lyapunov_exponent_1d(rd.Logistic(r=3.5), n_steps=1000, x0=torch.tensor([[0.3]], dtype=F64))
    # r = 3.5: an attracting 4-cycle, whose exponent is exactly (1/4) sum_i ln|f'(x_i)| over the
    # cycle (-0.8725); the cycle found here by plain float iteration, independent of the library
    x = 0.3
    for _ in range(5000):
        x = 3.5 * x * (1.0 - x)
    cycle = []
    for _ in range(4):
        cycle.append(x)
        x = 3.5 * x * (1.0 - x)
    assert abs(x - cycle[0]) < 1e-14  # period 4
    exact = sum(math.log(abs(3.5 * (1.0 - 2.0 * c))) for c in cycle) / 4
    assert exact == pytest.approx(-0.8725, abs=1e-4)
    assert float(r.exponent[0]) == pytest.approx(exact, abs=1e-9)
    # no false alarm on these stationary orbits (a chaotic map, an attracting cycle)
    assert r.status == rd.Status.SUCCESS and r.check("stationarity").passed, r.message


def test_lyapunov_1d_slow_escape_from_an_unstable_fixed_point_is_not_converged() -> None:
    # the case of docs/lyapunov.md ("stationarity"): c = 0.003 from 1e-4 without a transient spends
    # its 1000 steps leaving 0 and gave +0.0059 with 'success'; the orbit's exponent is ln 0.991 < 0
    r = chaos.lyapunov_exponent_1d(
        Escape(0.003), n_steps=1000, n_transient=0, x0=torch.tensor([[1e-4]], dtype=F64)
    )
    assert float(r.exponent[0]) == pytest.approx(math.log(1.006), abs=1e-4)  # the old answer
    chk = r.check("stationarity")
    assert r.status == rd.Status.NOT_CONVERGED and not chk.passed and chk.value > 10 and chk.tolerance == 5.0
    assert "increase n_transient to >= 1000" in r.message and "map 0, orbit 0" in chk.detail
    # oracle: with the advice followed (c = 0.03, faster), the exponent is ln|f'(1)| = ln 0.91, success
    x0 = torch.tensor([[1e-6]], dtype=F64)
    short = chaos.lyapunov_exponent_1d(Escape(0.03), n_steps=400, n_transient=0, x0=x0)
    assert short.status == rd.Status.NOT_CONVERGED and "n_transient to >= 400" in short.message
    good = chaos.lyapunov_exponent_1d(Escape(0.03), n_steps=400, n_transient=400, x0=x0)
    assert good.status == rd.Status.SUCCESS and good.check("stationarity").passed, good.message
    assert float(good.exponent[0]) == pytest.approx(math.log(0.91), abs=1e-8)
    # too few blocks to judge (< 8 of >= 10 steps): no check, nothing claimed
    assert chaos.lyapunov_exponent_1d(Escape(0.03), n_steps=70, n_transient=0, x0=x0).checks == ()


# ----------------------------------------------------------------------------- vector / scrambling
def test_scrambling_scalar_and_vector() -> None:
    tent = chaos.ScalarNetwork.from_weights([1, 1], [1e-5, -0.502], [1.9999, -4.0])
    r = chaos.scrambling(tent, n_pairs=16, n_steps=1000, generator=_gen(0))
    assert r.fraction_scrambled > 0.3 and abs(r.lambda_max - math.log(2)) < 1e-3
    # the tent map's invariant density is uniform and pairs decorrelate within ~25 steps, so over
    # the window a pair's d_t / diam is |u - v| for independent uniform u, v:
    # P(> high) = (1 - high)^2 = 0.81 and P(< low) = 2 low - low^2 ~ 0.002 (close returns come in
    # clusters of ~log2(low / d) steps, hence the loose bound; measured 0.8009-0.813 and
    # 0.0011-0.0035 over four seeds)
    assert r.fraction_far == pytest.approx((1 - 0.1) ** 2, abs=0.015)
    assert 0.5 * (2e-3 - 1e-6) < r.fraction_close < 2.0 * (2e-3 - 1e-6)
    assert bool((r.distance[:, 0] < 1e-6).all())
    stable = rd.VanillaRNN(16, g=0.5, dtype=F64, generator=_gen(0))
    s = chaos.scrambling(stable, n_pairs=4, n_steps=200, generator=_gen(1))
    # zero bias, g < 1: every pair falls onto h = 0, where J = W: lambda_max = ln rho(W) exactly
    # (O(1/T) alignment error of the two-trajectory estimate; measured 2.5e-4)
    radius = torch.linalg.eigvals(stable.weight_hh.detach()).abs().max()
    assert s.fraction_scrambled == 0.0 and s.lambda_max == pytest.approx(float(radius.log()), abs=2e-3)


def test_batched_lambda_matches_engine() -> None:
    net = rd.VanillaRNN(64, g=2.0, dtype=F64, generator=_gen(0))
    W, b = net.weight_hh.detach()[None], net.bias.detach()[None]
    lam, ok = chaos.batched_max_lyapunov_rnn(W, b, "tanh", n_steps=3000, n_transient=500, generator=_gen(1))
    ref = rd.max_lyapunov(net, n_steps=3000, n_transient=500, n_trajectories=4, generator=_gen(2))
    assert bool(ok[0]) and abs(float(lam[0]) - ref.lambda_max) < 0.03
    # contracting network (zero bias, gain 0.5): the orbit falls onto h = 0, where J = W / 4, so
    # lambda_max = ln rho(W / 4) exactly (O(1/T) alignment error; measured 2e-4)
    assert float(b.abs().max()) == 0.0
    lam0, _ = chaos.batched_max_lyapunov_rnn(0.5 * W / 2.0, b, "tanh", n_steps=500, n_transient=100)
    radius = torch.linalg.eigvals(0.25 * W[0]).abs().max()
    assert float(lam0[0]) == pytest.approx(float(radius.log()), abs=2e-3)


def test_batched_lambda_exact_for_scaled_identity_relu_networks() -> None:
    # relu, W = c I, b = 0: active units stay active (h -> c h > 0), inactive ones stay at 0, and
    # v' = [h > 0] c v, so after the first step (transient) |v| shrinks or grows by exactly c per
    # step: lambda_max = ln c to rounding, for any number of steps
    n, cs = 4, (0.5, 1.5)
    weight = torch.stack([c * torch.eye(n, dtype=F64) for c in cs])
    bias = torch.zeros(2, n, dtype=F64)
    lam, ok = chaos.batched_max_lyapunov_rnn(
        weight, bias, "relu", n_steps=30, n_transient=5, generator=torch.Generator().manual_seed(0)
    )
    assert ok.tolist() == [True, True]
    torch.testing.assert_close(
        lam, torch.tensor([math.log(c) for c in cs], dtype=F64), rtol=1e-12, atol=1e-14
    )


# ----------------------------------------------------------------------------- probability
def test_chaos_probability_counts_match_direct_detection() -> None:
    res = chaos.chaos_probability([3, 8], n_networks=300, seed=5, chunk_size=64)
    for w, k in zip(res.widths, res.n_chaotic, strict=True):
        gen = chaos._probability._width_generator(5, w)
        net = chaos.ScalarNetwork.random(w, 300, generator=gen)
        assert int(chaos.period3(net).has_period3.sum()) == k
    assert all(lo <= p <= hi for p, lo, hi in zip(res.probability, res.ci_low, res.ci_high, strict=True))
    # the estimate is the count over 300 and the interval Wilson's for that count
    assert res.probability == tuple(k / 300 for k in res.n_chaotic)
    assert list(zip(res.ci_low, res.ci_high, strict=True)) == [
        chaos.wilson_interval(k, 300) for k in res.n_chaotic
    ]
    back = json.loads(json.dumps(res.to_dict()))  # plain JSON, the same counts
    assert back["n_chaotic"] == list(res.n_chaotic) and back["widths"] == [3, 8]


def test_vector_chaos_probability_counts_match_the_engine() -> None:
    # the networks are h' = tanh(W h + b) with W, b ~ N(0, 2/w) ('he'), drawn from the width's own
    # generator: recount them with the batched estimator (default run length), and check the
    # decisions against rd.max_lyapunov (QR engine, another start) on the two networks of largest
    # batched lambda, which straddle the threshold (measured: 1 of 24 chaotic, batched 0.0222,
    # engine 0.024; the next is marginal, |lambda| < 1e-3 in both). Shorter runs (300 steps
    # after 200) count a long chaotic transient here (batched 0.040, engine -0.001)
    from rnndyn.chaos._probability import _vector_std, _width_generator

    w, n, thr = 32, 24, 0.01
    res = chaos.vector_chaos_probability([w], n_networks=n, seed=5)
    gen = _width_generator(5, w)
    W = torch.randn(n, w, w, generator=gen, dtype=F64) * _vector_std("he", w)
    b = torch.randn(n, w, generator=gen, dtype=F64) * _vector_std("he", w)
    assert _vector_std("he", w) == pytest.approx(math.sqrt(2 / w))
    lam, ok = chaos.batched_max_lyapunov_rnn(W, b, "tanh", n_steps=1000, n_transient=500, generator=gen)
    assert res.n_chaotic == (int(((lam > thr) & ok).sum()),) and 0 < res.n_chaotic[0] < n
    for i in torch.argsort(lam, descending=True)[:2].tolist():
        net = rd.VanillaRNN(w, dtype=F64, generator=_gen(0))
        with torch.no_grad():
            net.weight_hh.copy_(W[i])
            net.bias.copy_(b[i])
        ref = rd.max_lyapunov(net, n_steps=1500, n_transient=500, generator=_gen(i), throw=False)
        assert (ref.lambda_max > thr) == bool(lam[i] > thr), (i, float(lam[i]), ref.lambda_max)
        assert abs(ref.lambda_max - float(lam[i])) < 0.005, (i, float(lam[i]), ref.lambda_max)


def test_wilson_interval_known_value() -> None:
    lo, hi = chaos.wilson_interval(5, 10)
    assert abs(lo - 0.2366) < 1e-4 and abs(hi - 0.7634) < 1e-4


@pytest.mark.parametrize(
    ("kwargs", "exc", "text"),
    [
        ({"width": 0}, ValueError, "width"),
        ({"width": [4, 0]}, ValueError, "width"),
        ({"width": 4, "init": "kaiming"}, ValueError, "init"),
        ({"width": 4, "activation": "gelu"}, ValueError, "activation"),
        ({"width": 4, "n_networks": 0}, ValueError, "n_networks"),
        ({"width": 4, "criterion": "f4"}, ValueError, "criterion"),
        ({"width": 2.5}, TypeError, "width"),
        ({"width": 4, "device": "gpu0"}, ValueError, "`device` must be cpu, cuda, cuda:N or mps"),
        ({"width": 4, "device": 3}, TypeError, "`device`"),
    ],
)
def test_bad_input(kwargs, exc, text) -> None:
    with pytest.raises(exc, match=text):
        chaos.chaos_probability(**kwargs)


def test_bad_input_vector_and_detectors() -> None:
    with pytest.raises(ValueError, match="init"):
        chaos.vector_chaos_probability(4, init="normal")
    with pytest.raises(ValueError, match="`device` must be cpu, cuda, cuda:N or mps; got 'gpu'"):
        chaos.vector_chaos_probability(4, device="gpu")
    with pytest.raises(ValueError, match="domain"):
        chaos.period3(rd.Logistic(r=3.9))
    with pytest.raises(ValueError, match="state_size"):
        chaos.period3(rd.Henon(), domain=(0, 1))
    with pytest.raises(ValueError, match="width"):
        chaos.ScalarNetwork.random(0, 3)


# ----------------------------------------------------------------------------- persistence
def test_persistence_rnn_keeps_laps_fnn_loses() -> None:
    res = chaos.persistence(std=0.0, depth=5, n_trials=3, generator=_gen(0))
    assert res.rnn_laps.tolist() == [[2.0, 4.0, 8.0, 16.0, 32.0]] * 3 and res.base_period3
    # unperturbed: both are the tent map's t-fold compositions, growth ln 2 exactly
    assert res.rnn_growth == res.fnn_growth == pytest.approx(math.log(2), abs=1e-15)
    assert res.fraction_period3 == 1.0 and res.fnn_laps.tolist() == res.rnn_laps.tolist()
    res = chaos.persistence(std=0.1, depth=6, n_trials=200, generator=_gen(0))
    assert res.rnn_growth > res.fnn_growth + 0.05
    assert 0.6 < res.fraction_period3 <= 1.0
    # cross-method: the RNN's composition laps are the lap numbers of its perturbed map (the
    # first draw from the generator), its period-3 fraction that map's, and the growth the median
    # of ln(L_6 / L_1) / 5
    rnn = chaos.ScalarNetwork.tent().perturb(0.1, generator=_gen(0), copies=200)
    assert torch.equal(chaos.lap_numbers(rnn, 6, domain=(0.0, 1.0)).to(res.rnn_laps.dtype), res.rnn_laps)
    assert res.fraction_period3 == float(chaos.period3(rnn).has_period3.double().mean())  # 0.85
    for laps, growth in ((res.rnn_laps, res.rnn_growth), (res.fnn_laps, res.fnn_growth)):
        assert growth == pytest.approx(
            float(torch.nanmedian((laps[:, -1] / laps[:, 0]).log() / 5)), rel=1e-12
        )


# ----------------------------------------------------------------------------- CLI
def test_cli_chaos(tmp_path) -> None:
    from typer.testing import CliRunner

    from rnndyn.cli import app

    runner = CliRunner()
    out = runner.invoke(
        app,
        [
            "chaos",
            "--widths",
            "2,8",
            "--n-networks",
            "50",
            "--activation",
            "relu",
            "--init",
            "he",
            "--scrambling-steps",  # 400 instead of 2000: the same exact lambda, 0.8 s less
            "400",
            "--json",
            str(tmp_path / "c.json"),
            "--out",
            str(tmp_path),
        ],
    )
    assert out.exit_code == 0, out.output
    data = json.loads((tmp_path / "c.json").read_text())
    assert data["probability"][0]["widths"] == [2, 8]
    assert (tmp_path / "chaos_probability.png").exists() and (tmp_path / "lap_growth.png").exists()
    bad = runner.invoke(app, ["chaos", "--widths", "0", "--n-networks", "5"])
    assert bad.exit_code == 2 and "width" in bad.output
    # the CLI holds no numerics: its numbers are the library's for the same options and seed
    lib = chaos.chaos_probability([2, 8], init="he", activation="relu", n_networks=50, seed=0)
    assert data["probability"][0]["n_chaotic"] == list(lib.n_chaotic)
    assert data["probability"][0]["probability"] == pytest.approx(list(lib.probability), abs=0)
    # its scrambling run is the tent map's: lambda_max = ln 2 (|f'| = 1.9999 on both branches)
    assert data["scrambling"]["lambda_max"] == pytest.approx(math.log(2), abs=1e-3)
    assert data["persistence"]["base_period3"] is True
    assert data["persistence"]["rnn_growth"] > data["persistence"]["fnn_growth"]


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_cuda_matches_cpu() -> None:
    a = chaos.chaos_probability([8, 64], n_networks=500, seed=1)
    b = chaos.chaos_probability([8, 64], n_networks=500, seed=1, device="cuda")
    assert a.n_chaotic == b.n_chaotic


def test_scrambling_fraction_exact_on_a_period_two_linear_map() -> None:
    # PLRNN z -> A z + W relu(z) + h with A = 0, h = 0, W = [[0, 4], [1/4, 0]]: on the positive
    # quadrant (invariant, relu = identity) the map is the involution M (M^2 = I). From h_0 = p =
    # (1, 1) the reference alternates p, M p = (4, 1/4); a partner eps u away (|u| = 1) stays at
    # distance eps |M^t u|: exactly eps at even t and eps r, r = |M u| in [1/4, 4], at odd t. So
    # d_t / diam takes the two values c = eps / diam and r c, diam = |M p - p| = |(3, 3/4)|, and
    # with c < low a pair is scrambled iff r c > high, i.e. r > high / c (exact).
    net = rd.PLRNN(2, generator=_gen(0), dtype=F64)
    with torch.no_grad():
        net.weight_diag.zero_()
        net.bias.zero_()
        net.weight_hh.copy_(torch.tensor([[0.0, 4.0], [0.25, 0.0]], dtype=F64))
    eps, low, high, n_steps = 0.1, 0.04, 0.05, 10
    h0 = torch.ones(32, 2, dtype=F64)
    res = chaos.scrambling(
        net, n_pairs=32, eps=eps, n_steps=n_steps, n_transient=0, low=low, high=high, h0=h0,
        lyapunov=False, generator=_gen(1),
    )  # fmt: skip
    diam = math.hypot(3.0, 0.75)
    assert res.diameter == pytest.approx(diam, rel=1e-14)
    d = res.distance
    r = d[:, 0] / eps  # t = 1 (odd): eps |M u|
    assert bool(((r >= 0.25 - 1e-12) & (r <= 4 + 1e-12)).all())
    assert torch.allclose(d[:, 1::2], torch.full_like(d[:, 1::2], eps), rtol=1e-12, atol=0)
    assert torch.allclose(d[:, 0::2], (eps * r)[:, None].expand(-1, n_steps // 2), rtol=1e-12, atol=0)
    c = eps / diam
    assert c < low < high  # even steps are always close
    assert torch.allclose(res.liminf, torch.minimum(r, torch.ones_like(r)) * c, rtol=1e-12, atol=0)
    assert torch.allclose(res.limsup, torch.maximum(r, torch.ones_like(r)) * c, rtol=1e-12, atol=0)
    expected = r > high / c
    assert res.scrambled.tolist() == expected.tolist()
    n_scr = int(expected.sum())
    assert 0 < n_scr < 32  # this draw mixes both kinds (21 of 32; nearest r = 1.536 vs 1.546)
    assert res.fraction_scrambled == n_scr / 32
    # the window holds steps t = 6..10: two odd (7, 9), three even -> the fractions exactly
    t = torch.arange(n_steps // 2 + 1, n_steps + 1)
    odd = (t % 2 == 1).double().mean()
    assert res.window == (n_steps // 2, n_steps)
    assert res.fraction_far == pytest.approx(float(odd * expected.double().mean()), abs=1e-15)
    close_odd = (r * c < low).double().mean()
    assert res.fraction_close == pytest.approx(float((1 - odd) + odd * close_odd), abs=1e-15)

"""Tests of rnndyn.training: sparse teacher forcing, metrics, data lambda_max, gradients, I/O."""

from __future__ import annotations

import math
import struct

import numpy as np
import pytest
import torch

import rnndyn as rd
from rnndyn import training as tr

F64 = torch.float64


def gen(seed: int = 0) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


@pytest.fixture(scope="module")
def lorenz_small() -> tr.TimeSeriesData:
    return tr.chaotic_series("lorenz63_rho38", n_series=2, n_steps=600, generator=gen(0))


# ---------------------------------------------------------------- sparse teacher forcing
def test_pinv_control_reproduces_observations_with_minimum_norm() -> None:
    B = torch.randn(3, 10, generator=gen(1), dtype=F64)
    x = torch.randn(5, 3, generator=gen(2), dtype=F64)
    z = tr.pinv_control(B, x)
    torch.testing.assert_close(z @ B.T, x)  # B z~ = x exactly (full row rank)
    # minimum norm: z~ lies in the row space of B, z~ = B^T y with y = (B B^T)^-1 x
    y = torch.linalg.solve(B @ B.T, x.T).T
    torch.testing.assert_close(z, y @ B)


def test_forcing_schedule_matches_the_code_rule() -> None:
    assert tr.forcing_schedule(10, 3).nonzero().flatten().tolist() == [3, 6, 9]
    assert tr.forcing_schedule(4, 1).tolist() == [False, True, True, True]
    assert not tr.forcing_schedule(5, 50).any()
    assert not tr.forcing_schedule(5, None).any()


@pytest.mark.parametrize("kind", ["lstm", "gru"])
def test_forced_rollout_resets_state_at_forcing_times(kind: str) -> None:
    core = tr.make_torch_rnn(kind, 6, generator=gen(3), dtype=F64)
    m = tr.ForcedRNN(core, 3, generator=gen(4))
    x = torch.randn(2, 13, 3, generator=gen(5), dtype=F64)
    pred = m(x, tau=4)
    # right after a forcing time t the prediction is B F(z~_t), with z~_t = (B^+ x_t, c = 0),
    # whatever happened before (eq. 16; LSTM cell reset)
    for t in (4, 8):
        z = m.control(x[:, t])
        if kind == "lstm":
            assert torch.all(z[:, 6:] == 0)
        torch.testing.assert_close(pred[:, t], m.observe(m.step(z)))
    # the fused ATen path equals the step-by-step loop through the rnndyn map
    m._fused = lambda: False  # type: ignore[method-assign]
    torch.testing.assert_close(m(x, tau=4), pred)


@pytest.mark.parametrize("kind", ["lstm", "gru"])
def test_fused_generation_equals_step_loop(kind: str) -> None:
    core = tr.make_torch_rnn(kind, 5, generator=gen(6), dtype=F64)
    m = tr.ForcedRNN(core, 3, generator=gen(7))
    x0 = torch.randn(2, 3, generator=gen(8), dtype=F64)
    fused = m._generate_fused(m.control(x0), 25, chunk=7)  # crosses three chunk boundaries
    m._fused = lambda: False  # type: ignore[method-assign]
    loop = m.generate(x0, 25)
    torch.testing.assert_close(fused, loop, rtol=1e-12, atol=1e-12)
    torch.testing.assert_close(m.generate(x0[0], 4), loop[0, :4])  # unbatched x0


def test_evaluation_reference_and_length(lorenz_small) -> None:
    m = _small_model()
    full = torch.cat([lorenz_small.train, lorenz_small.test], dim=1)
    ev = tr.evaluate_generative(m, lorenz_small, n_steps=700, reference="all")
    assert ev.generated.shape == (full.shape[0], 700, 3)
    # scored against the whole series (train then test), not the held-out ends alone
    assert ev.d_stsp == tr.state_space_divergence(full, ev.generated)
    assert ev.d_stsp != tr.state_space_divergence(lorenz_small.test, ev.generated)
    with pytest.raises(ValueError, match="reference"):
        tr.evaluate_generative(m, lorenz_small, reference="train")


def test_auto_horizons_follow_the_predictability_time() -> None:
    from rnndyn.cli.train import _parse_horizons

    assert _parse_horizons("auto", 62.7) == [63 * k for k in range(1, 11)]
    assert _parse_horizons("auto", None) == list(range(5, 65, 5))
    assert _parse_horizons("10, 20", 62.7) == [10, 20]


def test_tau_and_readout_validation() -> None:
    with pytest.raises(ValueError, match="tau"):
        tr.forcing_schedule(10, 0)
    with pytest.raises(TypeError, match="tau"):
        tr.forcing_schedule(10, 2.5)
    with pytest.raises(ValueError, match="rank 3"):
        tr.ForcedRNN(rd.VanillaRNN(2, dtype=F64, generator=gen(0)), 3)
    B = torch.tensor([[1.0, 0.0, 0.0], [2.0, 0.0, 0.0]], dtype=F64)  # rank 1 < 2 observations
    with pytest.raises(ValueError, match="rank 2"):
        tr.pinv_control(B, torch.zeros(2, dtype=F64))


# ---------------------------------------------------------------- metrics
def test_state_space_divergence_zero_iff_identical() -> None:
    x = torch.randn(3000, 3, generator=gen(6), dtype=F64)
    assert tr.state_space_divergence(x, x) == 0.0
    assert tr.state_space_divergence(x, x, method="gmm", generator=gen(1)) == 0.0
    y = torch.randn(3000, 3, generator=gen(7), dtype=F64) * 0.5 + 0.5
    assert tr.state_space_divergence(x, y) > 0.5
    assert tr.state_space_divergence(x, y, method="gmm", generator=gen(1)) > 0.1
    # the authors' off-by-one (bin 0 dropped) is switchable; both are KL >= 0
    assert tr.state_space_divergence(x, y, drop_first_bin=False) > 0.5


def test_binned_divergence_exact_two_cell_case() -> None:
    # 1-D, 2 bins over [-2 std, 2 std]; true data half in each bin, generated all in one bin
    a = torch.tensor([-1.0, 1.0] * 50, dtype=F64)[:, None]
    s = float(a.std())
    g = torch.full((100, 1), 0.5 * s, dtype=F64)
    alpha = 1e-5
    p = torch.tensor([0.5, 0.5], dtype=F64)
    q = torch.tensor([alpha / (100 + 2 * alpha), (100 + alpha) / (100 + 2 * alpha)], dtype=F64)
    p = (torch.tensor([50.0, 50.0], dtype=F64) + alpha) / (100 + 2 * alpha)
    expected = float((p * (p / q).log()).sum())
    got = tr.state_space_divergence(a, g, n_bins=2, drop_first_bin=False)
    assert got == pytest.approx(expected, rel=1e-12)


def test_gmm_divergence_of_two_single_gaussians_is_the_closed_form_kl() -> None:
    # orbits that sit at one point each: the mixtures are single Gaussians N(a, v I), N(b, v I),
    # and KL(p_gen || p_true) = |a - b|^2 / (2 v) = 5 exactly; Monte-Carlo standard error
    # |a - b| / sqrt(v n) = 0.022 (measured 5.015, 5.042, 5.000 over three seeds)
    x = torch.zeros(10, 3, dtype=F64)
    y = torch.zeros(10, 3, dtype=F64)
    y[:, 0] = 1.0
    d = tr.state_space_divergence(x, y, method="gmm", variance=0.1, n_samples=20000, generator=gen(0))
    assert d == pytest.approx(1.0 / (2 * 0.1), abs=4 * 1.0 / math.sqrt(0.1 * 20000))


def test_power_spectrum_distance_exact_line_spectra() -> None:
    # cosines on exact Fourier bins of the chunk (no leakage), no smoothing: the normalised spectra
    # are a unit spike at bin 5 (true, both dims) against spikes of 1/2 at bins 5 and 12 (gen dim 0):
    # BC = sqrt(1/2), D_H = sqrt(1 - sqrt(1/2)); and a spike at bin 12 alone (gen dim 1): D_H = 1
    L = 64
    t = torch.arange(4 * L, dtype=F64)
    c5, c12 = torch.cos(2 * math.pi * 5 * t / L), torch.cos(2 * math.pi * 12 * t / L)
    a = torch.stack([c5, c5], -1)
    b = torch.stack([c5 + c12, c12], -1)
    expected = (math.sqrt(1 - math.sqrt(0.5)) + 1.0) / 2  # mean over the two dimensions
    assert tr.power_spectrum_distance(a, b, chunk_length=L, smoothing=0.0) == pytest.approx(
        expected, abs=1e-12
    )


def test_power_spectrum_distance_symmetric_bounded() -> None:
    t = torch.arange(6000, dtype=F64)
    noise = torch.randn(6000, 2, generator=gen(8), dtype=F64)
    a = torch.stack([torch.sin(0.2 * t), torch.sin(0.05 * t)], -1) + 0.1 * noise
    b = torch.stack([torch.sin(0.25 * t), torch.cos(0.05 * t)], -1) + 0.3 * noise.flip(0)
    d_ab = tr.power_spectrum_distance(a, b, n_chunks=10)
    d_ba = tr.power_spectrum_distance(b, a, n_chunks=10)
    assert d_ab == pytest.approx(d_ba, rel=1e-12)
    assert 0.0 < d_ab <= 1.0
    assert tr.power_spectrum_distance(a, a, n_chunks=10) == 0.0
    # disjoint spectra -> D_H close to 1
    c = torch.stack([torch.sin(1.5 * t), torch.sin(2.5 * t)], -1)
    assert tr.power_spectrum_distance(a, c, n_chunks=10) > 0.9


def test_binned_divergence_exact_four_cell_case_range_centre_and_overflow() -> None:
    # 1-D, 4 bins over [c - 2 std, c + 2 std] (std of x_true, ddof 1: sqrt(125/99) = 1.124, bin width
    # 1.124): x_true is 25 points at each of -1.5, -0.5, 0.5, 1.5 (one per bin); x_gen is 90 points
    # at 0.5 (bin 2) and 10 at 2.5, beyond c + 2 std (dropped, never an extra cell)
    a = torch.tensor([-1.5, -0.5, 0.5, 1.5] * 25, dtype=F64)[:, None]
    g = torch.tensor([0.5] * 90 + [2.5] * 10, dtype=F64)[:, None]
    alpha = 1e-5

    def kl(ht: list[float], hg: list[float]) -> float:
        p = (torch.tensor(ht, dtype=F64) + alpha) / (sum(ht) + 4 * alpha)
        q = (torch.tensor(hg, dtype=F64) + alpha) / (sum(hg) + 4 * alpha)
        return float((p * (p / q).log()).sum())

    got = tr.state_space_divergence(a, g, n_bins=4, drop_first_bin=False)
    assert got == pytest.approx(kl([25, 25, 25, 25], [0, 0, 90, 0]), rel=1e-12)
    # the authors' code drops bin 0 (the -1.5 points)
    got = tr.state_space_divergence(a, g, n_bins=4)
    assert got == pytest.approx(kl([0, 25, 25, 25], [0, 0, 90, 0]), rel=1e-12)
    # centre='mean' bins around the mean of x_true: shifting both orbits changes nothing; with the
    # default centre='zero' the shifted x_true lies outside the grid (every cell holds alpha only)
    shifted = tr.state_space_divergence(a + 5.0, g + 5.0, n_bins=4, drop_first_bin=False, centre="mean")
    assert shifted == pytest.approx(kl([25, 25, 25, 25], [0, 0, 90, 0]), rel=1e-12)
    assert tr.state_space_divergence(a + 5.0, g + 5.0, n_bins=4, drop_first_bin=False) == pytest.approx(
        0.0, abs=1e-12
    )


def test_gmm_divergence_is_normalised_per_orbit() -> None:
    # each mixture averages its own components (1/N_points): an orbit listed twice is the same
    # mixture, so D = 0 although the two orbits have different lengths
    x = torch.randn(50, 2, generator=gen(3), dtype=F64)
    d = tr.state_space_divergence(x, torch.cat([x, x]), method="gmm", n_samples=200, generator=gen(4))
    assert d == pytest.approx(0.0, abs=1e-12)


def test_power_spectrum_distance_without_renormalising_is_the_raw_area() -> None:
    # renormalise=False (the original code): S = |rfft(standardised chunk, ortho)|^2 * 2 / L. A cosine
    # on bin 5 of an L = 64 chunk, standardised with ddof 1, has |X_5|^2 = (L - 1)/2, so S_5 = 63/64
    # and nothing else: D_H(x, x) = sqrt(1 - 63/64) = 1/8
    L = 64
    t = torch.arange(4 * L, dtype=F64)
    x = torch.cos(2 * math.pi * 5 * t / L)[:, None]
    d = tr.power_spectrum_distance(x, x, chunk_length=L, smoothing=0.0, renormalise=False)
    assert d == pytest.approx(1 / 8, rel=1e-12)


def test_power_spectrum_smoothing_kernel_exact() -> None:
    # smoothing = sigma: each spectrum is convolved with k_t ~ exp(-t^2 / 2 sigma^2), |t| <= 5 sigma.
    # Lines on bins 12 and 13 (far from the ends of the 33 bins) become two copies of k shifted by
    # one bin: BC = sum_t sqrt(k_t k_{t+1}) / sum_t k_t
    L, sigma = 64, 2.0
    t = torch.arange(4 * L, dtype=F64)
    a = torch.cos(2 * math.pi * 12 * t / L)[:, None]
    b = torch.cos(2 * math.pi * 13 * t / L)[:, None]
    k = np.exp(-0.5 * (np.arange(-10, 11) / sigma) ** 2)
    bc = np.sqrt(k[1:] * k[:-1]).sum() / k.sum()
    d = tr.power_spectrum_distance(a, b, chunk_length=L, smoothing=sigma)
    assert d == pytest.approx(math.sqrt(1 - bc), rel=1e-12)


# ---------------------------------------------------------------- data lambda_max
def test_rosenstein_lambda_max_of_lorenz_within_10_percent() -> None:
    d = tr.chaotic_series("lorenz63", n_series=32, n_steps=3000, test_fraction=0.01, generator=gen(0))
    est = tr.estimate_lambda_max(d.train, dt=d.dt, generator=gen(1))
    assert est.lambda_max == pytest.approx(0.9056, rel=0.10)  # docs/theory/chaos.md §4.1
    assert est.predictability_steps == pytest.approx(math.log(2) / (est.lambda_max * 0.01))


def test_chaotic_series_follow_their_equations() -> None:
    # the raw [MMD22] Lorenz series (rho = 38) against an independent integrator (scipy's DOP853 at
    # rtol = atol = 1e-12) from its own first sample, over 60 samples = 0.6 time units (chaos
    # amplifies RK4's error to 3e-6 of the attractor size, measured)
    from scipy.integrate import solve_ivp

    p = tr.SERIES["lorenz63_rho38"].params
    s_, r_, b_ = p["sigma"], p["rho"], p["beta"]

    def rhs(t: float, x: np.ndarray) -> list[float]:
        return [s_ * (x[1] - x[0]), x[0] * (r_ - x[2]) - x[1], x[0] * x[1] - b_ * x[2]]

    raw = tr.chaotic_series(
        "lorenz63_rho38", n_series=2, n_steps=60, test_fraction=0.5, standardise="none", generator=gen(0)
    )
    x = torch.cat([raw.train, raw.test], 1)
    x0 = x[0].numpy()
    t_eval = np.arange(x0.shape[0]) * raw.dt
    sol = solve_ivp(rhs, (0.0, t_eval[-1]), x0[0], t_eval=t_eval, rtol=1e-12, atol=1e-12, method="DOP853")
    assert np.abs(sol.y.T - x0).max() < 3e-5 * np.abs(x0).max()
    # per-dimension z-scores with the training statistics (ddof 1), applied to the test part too
    std = tr.from_array(x, dt=raw.dt, test_fraction=0.5)
    flat = raw.train.reshape(-1, 3)
    mu, sd = flat.mean(0), flat.std(0)
    torch.testing.assert_close(std.train, (raw.train - mu) / sd, rtol=0, atol=1e-12)
    torch.testing.assert_close(std.test, (raw.test - mu) / sd, rtol=0, atol=1e-12)


def test_nan_data_is_rejected() -> None:
    x = np.random.default_rng(0).normal(size=(500, 3))
    x[10, 1] = np.nan
    with pytest.raises(ValueError, match="finite"):
        tr.from_array(x)
    with pytest.raises(ValueError, match="finite"):
        tr.estimate_lambda_max(x)


# ---------------------------------------------------------------- gradients vs lambda_max
def test_gradient_growth_rate_matches_lambda_max_of_chaotic_vanilla_rnn() -> None:
    net = rd.VanillaRNN(48, g=4.0, generator=gen(0), dtype=F64)
    r = tr.gradient_horizon(
        net,
        horizons=range(10, 41, 10),
        n_trajectories=4,
        n_transient=300,
        lyapunov_steps=1500,
        generator=gen(1),
    )
    assert r.lambda_max > 0.2  # chaotic (mean field 0.43 at g = 4; docs/theory/chaos.md §4.3)
    assert r.grad_rate == pytest.approx(r.lambda_max, rel=0.2)
    assert r.tangent_rate == pytest.approx(r.lambda_max, rel=0.2)


def test_gradient_horizon_exact_on_a_linear_plrnn_at_its_fixed_point() -> None:
    # PLRNN z -> a z + W relu(z) + b with b < 0 and a = 1/2: the fixed point z* = b / (1 - a) lies in
    # the negative orthant, where the map is linear with J = a I. From z*: ||J^T|| = a^T exactly, and
    # for L = |z_T|^2 / 2 (z_t = z* throughout) dL/dA_i = z*_i^2 S_T, dL/db_i = z*_i S_T with
    # S_T = sum_{s<T} a^s (W does not act on relu(z*) = 0), so ||grad|| = S_T sqrt(sum z*^2 (z*^2 + 1))
    a, b = 0.5, torch.tensor([-1.0, -2.0, -0.5], dtype=F64)
    net = rd.PLRNN(3, generator=gen(0), dtype=F64)
    with torch.no_grad():
        net.weight_diag.fill_(a)
        net.bias.copy_(b)
    z_star = b / (1 - a)
    hs = [1, 2, 5, 9]
    r = tr.gradient_horizon(
        net, horizons=hs, n_trajectories=2, n_transient=3, h0=z_star, loss="energy", lyapunov=False
    )
    s_t = np.array([(1 - a**T) / (1 - a) for T in hs])
    want_grad = np.log(s_t) + 0.5 * math.log(float((z_star**2 * (z_star**2 + 1)).sum()))
    np.testing.assert_allclose(r.log_tangent_norm, np.array(hs) * math.log(a), rtol=1e-13, atol=1e-13)
    np.testing.assert_allclose(r.log_grad_norm, want_grad, rtol=1e-13, atol=1e-13)
    assert r.tangent_rate == pytest.approx(math.log(a), rel=1e-12)
    assert r.status == "success" and r.lambda_max is None


# ---------------------------------------------------------------- tasks and files
def _write_idx(path, arr: np.ndarray, code: int = 0x08) -> None:
    with open(path, "wb") as fh:
        fh.write(bytes([0, 0, code, arr.ndim]))
        fh.write(struct.pack(f">{arr.ndim}I", *arr.shape))
        fh.write(arr.astype(">u1").tobytes())


def test_mnist_from_idx_and_npz(tmp_path) -> None:
    rng = np.random.default_rng(0)
    img = rng.integers(0, 256, size=(20, 4, 4)).astype(np.uint8)
    lab = rng.integers(0, 10, size=20).astype(np.uint8)
    _write_idx(tmp_path / "img.idx", img)
    _write_idx(tmp_path / "lab.idx", lab)
    task = tr.mnist_task(tmp_path / "img.idx", tmp_path / "lab.idx", test_fraction=0.25, generator=gen(0))
    assert task.inputs_train.shape == (15, 16, 1) and task.inputs_test.shape == (5, 16, 1)
    allx = torch.cat([task.inputs_train, task.inputs_test]).reshape(20, 16)
    ally = torch.cat([task.targets_train, task.targets_test])
    # every sample is one of the written images, scaled to [0, 1], with its own label
    ref = torch.as_tensor(img.reshape(20, 16) / 255.0, dtype=allx.dtype)
    for xi, yi in zip(allx, ally, strict=True):
        k = int(torch.argmin((ref - xi).abs().sum(1)))
        assert torch.allclose(ref[k], xi) and int(lab[k]) == int(yi)
    np.savez(tmp_path / "m.npz", images=img, labels=lab)
    t2 = tr.mnist_task(tmp_path / "m.npz", pixels_per_step=4, test_fraction=0.25, generator=gen(0))
    assert t2.inputs_train.shape == (15, 4, 4)


def test_files_that_are_not_idx_or_npz(tmp_path) -> None:
    bad = tmp_path / "notes.idx"
    bad.write_text("hello, not an idx file")
    with pytest.raises(ValueError, match="not an IDX"):
        tr.mnist_task(bad, bad)
    npz = tmp_path / "bad.npz"
    npz.write_bytes(b"PK\x03\x04 garbage")
    with pytest.raises(ValueError, match="NPZ"):
        tr.mnist_task(npz)
    with pytest.raises(ValueError, match="does not exist"):
        tr.mnist_task(tmp_path / "missing.idx", bad)


def test_delayed_copy_targets_are_the_presented_symbols() -> None:
    t = tr.delayed_copy_task(n_samples=10, n_symbols=3, length=4, delay=5, generator=gen(0))
    x, y = t.inputs_train, t.targets_train
    assert x.shape[1] == 2 * 4 + 5
    torch.testing.assert_close(x[:, :4, :3].argmax(-1), y[:, 9:])
    assert torch.all(y[:, :9] == -100) and torch.all(x[:, 9:, 3] == 1)
    # the input is silent outside the presentation and the cue: one symbol per presented step, the
    # cue off before step 9 (length + delay) and no symbol channel during the delay or the recall
    assert torch.all(x[:, :4, :3].sum(-1) == 1) and torch.all(x[:, :9, 3] == 0)
    assert torch.all(x[:, 4:, :3] == 0)


# ---------------------------------------------------------------- training and checkpoints
def _small_model() -> tr.ForcedRNN:
    core = tr.make_torch_rnn("gru", 8, generator=gen(10), dtype=F64)
    return tr.ForcedRNN(core, 3, generator=gen(11))


class _Interrupt(tr.Callback):
    def on_epoch_end(self, epoch, model, history):
        if epoch == 3:
            raise KeyboardInterrupt


def test_interrupted_training_resumes_from_checkpoint(tmp_path, lorenz_small) -> None:
    cfg = tr.TrainConfig(
        n_epochs=4, batches_per_epoch=2, batch_size=4, seq_len=30, tau=10, checkpoint_every=2
    )
    full_model = _small_model()
    full = tr.train_forced(full_model, lorenz_small, config=cfg, generator=gen(2))
    ck = tmp_path / "ck.pt"
    with pytest.raises(KeyboardInterrupt):
        tr.train_forced(
            _small_model(),
            lorenz_small,
            config=cfg,
            checkpoint=ck,
            generator=gen(2),
            callbacks=[_Interrupt()],
        )
    resumed_model = _small_model()
    res = tr.train_forced(resumed_model, lorenz_small, config=cfg, checkpoint=ck, generator=gen(2))
    assert res.resumed_from == 2 and res.epochs_run == 4
    assert res.losses == pytest.approx(full.losses, rel=1e-12)
    for p, q in zip(full_model.parameters(), resumed_model.parameters(), strict=True):
        torch.testing.assert_close(p, q)


def test_bad_training_inputs(lorenz_small) -> None:
    with pytest.raises(ValueError, match="tau"):
        tr.train_forced(_small_model(), lorenz_small, config=tr.TrainConfig(tau=0, n_epochs=1))
    with pytest.raises(ValueError, match="seq_len"):
        tr.train_forced(
            _small_model(), lorenz_small, config=tr.TrainConfig(tau=5, seq_len=10_000, n_epochs=1)
        )


@pytest.mark.slow  # end to end, ~5 s; the digits CLI run below keeps `rnndyn train` in the default suite
def test_cli_train_writes_json_and_figures(tmp_path) -> None:
    import json

    from typer.testing import CliRunner

    from rnndyn.cli import app

    runner = CliRunner()
    args = [
        "train",
        "--data",
        "lorenz63",
        "--hidden",
        "6",
        "--epochs",
        "2",
        "--batches",
        "2",
        "--batch-size",
        "4",
        "--seq-len",
        "30",
        "--n-series",
        "2",
        "--n-steps",
        "500",
        "--tau",
        "10",
        "--no-lyapunov",
        "--json",
        str(tmp_path / "r.json"),
        "--out",
        str(tmp_path),
    ]
    res = runner.invoke(app, args)
    assert res.exit_code == 0, res.output
    payload = json.loads((tmp_path / "r.json").read_text())
    assert payload["train"]["tau"] == 10 and len(payload["train"]["losses"]) == 2
    assert (tmp_path / "loss.png").exists() and (tmp_path / "attractor.png").exists()
    bad = runner.invoke(app, ["train", "--tau", "0", "--epochs", "1", "--n-steps", "500", "--n-series", "1"])
    assert bad.exit_code == 2 and "tau" in bad.output
    # the gradient diagnostic at given horizons: figure + growth rates in the JSON
    res = runner.invoke(
        app,
        [
            *args[:-4],
            "--gradients",
            "--horizons",
            "4,8,12",
            "--json",
            str(tmp_path / "g.json"),
            "--out",
            str(tmp_path),
            "--force",  # the same --out folder already holds the first run's loss.png
        ],
    )
    assert res.exit_code == 0, res.output
    grad = json.loads((tmp_path / "g.json").read_text())["gradients"]
    assert grad["horizons"] == [4, 8, 12] and (tmp_path / "gradients.png").exists()
    bad = runner.invoke(app, [*args[:-4], "--gradients", "--horizons", "8,4"])
    assert bad.exit_code == 2 and "--horizons" in bad.output
    # a typo in the evaluation options fails before any training, naming the option
    bad = runner.invoke(app, [*args[:-4], "--eval-reference", "held-out"])
    assert bad.exit_code == 2 and "--eval-reference" in bad.output and "held-out" in bad.output
    bad = runner.invoke(app, [*args[:-4], "--eval-steps", "0"])
    assert bad.exit_code == 2 and "--eval-steps" in bad.output


# ---------------------------------------------------------------- PLRNN in the forced trainer
def test_plrnn_in_the_forced_trainer(lorenz_small) -> None:
    core = rd.PLRNN(6, generator=gen(20), dtype=F64)
    m = tr.ForcedRNN(core, 3, generator=gen(21))
    x = torch.randn(2, 11, 3, generator=gen(22), dtype=F64)
    pred = m(x, tau=5)
    # oracle by hand (MMD22 eq. 16 with the PLRNN z -> A z + W relu(z) + h, W's diagonal unused)
    B = m.readout.weight
    W = core.weight_hh - torch.diag(torch.diagonal(core.weight_hh))
    z = x[:, 0] @ torch.linalg.pinv(B).T
    for t in range(10):
        if t % 5 == 0 and t != 0:
            z = x[:, t] @ torch.linalg.pinv(B).T
        z = core.weight_diag * z + torch.relu(z) @ W.T + core.bias
        torch.testing.assert_close(pred[:, t], z @ B.T)
    # and it trains: the forced loss falls, the Lyapunov callback reads the latent PLRNN
    cfg = tr.TrainConfig(n_epochs=8, batches_per_epoch=4, batch_size=8, seq_len=30, tau=10, lr=3e-2)
    cb = tr.LyapunovCallback(every=8, k=2, n_steps=200, n_transient=50, generator=gen(23))
    ev_cb = tr.EvaluationCallback(lorenz_small, every=8, n_steps=300)
    res = tr.train_forced(m, lorenz_small, config=cfg, generator=gen(24), callbacks=[cb, ev_cb])
    assert res.status == "success" and np.mean(res.losses[-2:]) < 0.7 * res.losses[0]  # 0.96 -> 0.43
    (rec,) = res.history["lyapunov"]
    assert rec["epoch"] == 8 and len(rec["exponents"]) == 2 and rec["exponents"][0] >= rec["exponents"][1]
    # the callbacks measure the trained model: the same numbers from the library afterwards (the
    # record is taken at the last epoch, with the callback's generator used once)
    ref = rd.lyapunov_spectrum(
        m.latent_map(), k=2, n_steps=200, n_transient=50, n_trajectories=2, generator=gen(23), throw=False
    )
    assert rec["exponents"] == pytest.approx(ref.exponents.tolist(), abs=1e-12)
    (ev_rec,) = res.history["evaluation"]
    ev = tr.evaluate_generative(m, lorenz_small, n_steps=300)
    assert (ev_rec["d_stsp"], ev_rec["d_h"]) == pytest.approx((ev.d_stsp, ev.d_h), abs=1e-12)


# ---------------------------------------------------------------- classification
@pytest.mark.parametrize("kind", ["gru", "lstm"])
def test_fused_classifier_equals_step_loop(kind: str) -> None:
    core = tr.make_torch_rnn(kind, 5, input_size=2, generator=gen(30), dtype=F64)
    clf = tr.SequenceClassifier(core, 3, generator=gen(31))
    x = torch.randn(4, 9, 2, generator=gen(32), dtype=F64)
    fused, fused_steps = clf(x), clf(x, per_step=True)
    clf.body._fused = lambda: False  # type: ignore[method-assign]
    torch.testing.assert_close(clf(x), fused)
    torch.testing.assert_close(clf(x, per_step=True), fused_steps)


@pytest.mark.parametrize("per_step", [False, True])
def test_evaluate_classifier_equals_one_cross_entropy_over_all_test_sequences(per_step: bool) -> None:
    # the batched evaluation (uneven last batch) against one torch cross entropy / argmax over the
    # whole test set: the same numbers whatever the batch size
    task = tr.delayed_copy_task(n_samples=24, n_symbols=3, length=3, delay=2, generator=gen(40))
    if not per_step:  # the last-step read-out: the label is the last copied symbol
        task = tr.SequenceTask(
            "last",
            task.inputs_train,
            task.targets_train[:, -1],
            task.inputs_test,
            task.targets_test[:, -1],
            3,
        )
    core = tr.make_torch_rnn("gru", 5, input_size=task.inputs_test.shape[-1], generator=gen(41), dtype=F64)
    clf = tr.SequenceClassifier(core, 3, generator=gen(42))
    x, y = task.inputs_test.to(F64), task.targets_test
    assert x.shape[0] >= 4
    with torch.no_grad():
        logits = clf(x, per_step=per_step)
    flat, labels = logits.reshape(-1, 3), y.reshape(-1)
    keep = labels != -100
    loss = float(torch.nn.functional.cross_entropy(flat[keep], labels[keep]))
    acc = float((flat[keep].argmax(-1) == labels[keep]).double().mean())
    for batch_size in (3, 512):
        got = tr.evaluate_classifier(clf, task, batch_size=batch_size)
        assert got == pytest.approx((loss, acc), rel=1e-12, abs=1e-15)


def test_gru_digits_run_lambda_at_init_is_the_zero_fixed_point_rate() -> None:
    from rnndyn.training import experiments as ex

    # zero biases, g_h = 1 < 2: the autonomous GRU falls onto h = 0, whose Jacobian is
    # I/2 + W_h/4 (docs/theory/gated.md §5.2, Cor. 4.3), so lambda_max = ln(spectral radius)
    out = ex.gru_digits_run(
        {"alpha_z": 1.0, "g_h": 1.0}, 7, n=8, epochs=1, batch_size=700, target=0.05, lyapunov_steps=400
    )
    net = rd.GRU(8, g_h=1.0, alpha_z=1.0, alpha_r=0.5, input_size=1, generator=gen(7), dtype=F64)
    jac0 = 0.5 * torch.eye(8, dtype=F64) + 0.25 * net.weight_hh.detach()
    rho = torch.linalg.eigvals(jac0).abs().max()
    assert out["lambda_max_auto"] == pytest.approx(float(rho.log()), abs=0.01)
    assert out["epochs_to_target"] == 1.0  # 5 % is below chance: reached at the first epoch
    assert out["train_acc_curve"].shape == (1,) and out["train_acc"] == out["train_acc_curve"][-1]


def test_trainability_experiment_recovers_a_planted_relation() -> None:
    import xarray as xr

    from rnndyn.training import experiments as ex

    rng = np.random.default_rng(0)
    lam = rng.uniform(-0.5, 0.5, size=(3, 4, 2))
    spec = np.stack([lam - 0.1 * k for k in range(8)], -1)
    spec[0, ..., 4:] = np.nan  # a smaller network: NaN padding is dropped
    loss = 1.0 + 2.0 * np.maximum(lam, 0) + 0.01 * rng.normal(size=lam.shape)
    ds = xr.Dataset(
        {
            "spectrum_init": (("size", "scale", "seed", "k"), spec),
            "final_val_loss": (("size", "scale", "seed"), loss),
        }
    )
    r = ex.trainability_experiment(ds, n_splits=5)
    assert r["n_runs"] == 24 and r["test_mse_mean"] < 0.2 * r["baseline_mse_mean"]
    r = ex.trainability_experiment(ds, n_splits=5, predictor="mlp", summary=True)
    assert r["test_mse_mean"] < 0.2 * r["baseline_mse_mean"]
    ds = ds.assign_coords(size=[16, 32, 64])
    assert ex.trainability_experiment(ds, n_splits=2, size=64)["n_runs"] == 8
    with pytest.raises(ValueError, match=r"`size` must be one of the swept sizes \[16, 32, 64\]; got 128"):
        ex.trainability_experiment(ds, size=128)
    # no relation -> the ridge predictor cannot beat the mean by much (it shrinks towards it)
    ds["final_val_loss"] = (("size", "scale", "seed"), rng.normal(size=lam.shape))
    r = ex.trainability_experiment(ds, n_splits=10)
    assert r["r2_pooled"] < 0.2
    with pytest.raises(ValueError, match="predictor"):
        ex.trainability_experiment(ds, predictor="svm")


def test_cli_train_classification_tasks(tmp_path) -> None:
    import json

    from typer.testing import CliRunner

    from rnndyn.cli import app

    runner = CliRunner()
    small = ["--hidden", "4", "--epochs", "2", "--batches", "2", "--batch-size", "8"]
    res = runner.invoke(
        app, ["train", "--data", "digits", *small, "--json", str(tmp_path / "d.json"), "--out", str(tmp_path)]
    )
    assert res.exit_code == 0, res.output
    payload = json.loads((tmp_path / "d.json").read_text())
    accs = [r["accuracy"] for r in payload["train"]["history"]["test_accuracy"]]
    assert len(accs) == 2 and payload["final_test_accuracy"] == accs[-1] and 0 <= accs[-1] <= 1
    assert "test accuracy" in res.output and (tmp_path / "accuracy.png").exists()
    # MNIST from a local NPZ file, CKS20 GRU
    rng = np.random.default_rng(0)
    np.savez(tmp_path / "m.npz", images=rng.integers(0, 256, (30, 4, 4)), labels=rng.integers(0, 10, 30))
    res = runner.invoke(
        app,
        ["train", "--data", "mnist", "--images", str(tmp_path / "m.npz"), "--model", "cks-gru", *small],
    )
    assert res.exit_code == 0, res.output
    res = runner.invoke(app, ["train", "--data", "copy", "--copy-delay", "3", *small])
    assert res.exit_code == 0, res.output
    bad = runner.invoke(app, ["train", "--data", "mnist", *small])
    assert bad.exit_code == 2 and "--images" in bad.output
    bad = runner.invoke(app, ["train", "--data", "digits", "--model", "tcn", *small])
    assert bad.exit_code == 2 and "--model" in bad.output


def test_annealed_training_starts_at_tau_one(lorenz_small) -> None:
    base = {"batches_per_epoch": 2, "batch_size": 4, "seq_len": 20}
    ann = tr.train_forced(
        _small_model(),
        lorenz_small,
        config=tr.TrainConfig(n_epochs=3, tau=10, anneal=True, **base),
        generator=gen(3),
    )
    one = tr.train_forced(
        _small_model(), lorenz_small, config=tr.TrainConfig(n_epochs=1, tau=1, **base), generator=gen(3)
    )
    fixed = tr.train_forced(
        _small_model(), lorenz_small, config=tr.TrainConfig(n_epochs=1, tau=10, **base), generator=gen(3)
    )
    assert ann.losses[0] == one.losses[0] != fixed.losses[0]  # epoch 1 of the schedule is tau = 1
    assert [tr.annealed_tau(10, e, 3) for e in (1, 2, 3)] == [1, 4, 7]


def test_trainability_sweep_writes_a_resumable_store(tmp_path) -> None:
    from rnndyn.training import experiments as ex

    kw = {"sizes": (4,), "scales": (1.0,), "n_seeds": 1, "epochs": 1, "lyapunov_steps": 16, "progress": False}
    ds = ex.trainability_sweep(tmp_path / "t.zarr", **kw)
    assert (
        ds.attrs["experiment"] == "trainability" and ds.attrs["max_size"] == "4"
    )  # attrs are stored as strings
    assert np.isfinite(ds["final_val_loss"].values).all()
    # the stored numbers are trainability_run's at the point's seed (rd.sweep: point_seed(0, k))
    from rnndyn.sweeps import point_seed

    one = ex.trainability_run(
        {"size": 4, "scale": 1.0}, point_seed(0, 0), max_size=4, epochs=1, lyapunov_steps=16
    )
    for name in ("final_val_loss", "final_val_acc", "spectrum_init", "spectrum_epoch1", "spectrum_final"):
        # exactly: the Lyapunov records drew their tangent frames from the global RNG before
        # (spectrum_epoch1 differed by 0.007 between two equal calls), now from a seeded generator
        np.testing.assert_array_equal(ds[name].values.reshape(np.shape(one[name])), one[name], err_msg=name)
    assert np.isfinite(one["spectrum_init"]).all() and one["spectrum_init"].shape == (4,)
    again = ex.trainability_sweep(tmp_path / "t.zarr", **kw)  # finished points are read, not rerun
    np.testing.assert_array_equal(again["final_val_loss"].values, ds["final_val_loss"].values)


# ---------------------------------------------------------------- oracles for the training routines
def _history_result(records: list[dict]) -> tr.TrainResult:
    return tr.TrainResult(
        losses=[1.0] * 6,
        val_losses=[],
        tau=None,
        epochs_run=6,
        resumed_from=0,
        config={},
        history={"test_accuracy": records},
        status=rd.Status.SUCCESS,
        message="",
    )


def test_epochs_to_accuracy_on_a_hand_made_history() -> None:
    from rnndyn.training.experiments import _first_epoch

    # accuracy recorded every 2nd epoch, not monotone: the FIRST epoch that reaches the target
    recs = [
        {"epoch": 2, "accuracy": 0.40},
        {"epoch": 4, "accuracy": 0.80},
        {"epoch": 6, "accuracy": 0.70},
        {"epoch": 8, "accuracy": 0.95},
    ]
    res = _history_result(recs)
    assert tr.epochs_to_accuracy(res, 0.75) == 4
    assert tr.epochs_to_accuracy(res, 0.80) == 4  # reaching the target counts (>=)
    assert tr.epochs_to_accuracy(res, 0.90) == 8
    assert tr.epochs_to_accuracy(res, 0.10) == 2
    assert tr.epochs_to_accuracy(res, 0.96) is None
    assert tr.epochs_to_accuracy(_history_result([]), 0.0) is None
    # the experiments' per-split version: the same rule, inf for never
    assert [_first_epoch(recs, t) for t in (0.75, 0.8, 0.9, 0.96)] == [4.0, 4.0, 8.0, math.inf]


def test_resolve_tau_is_round_ln2_over_lambda_dt(monkeypatch, lorenz_small) -> None:
    # the documented rule ([MMD22] eq. 17, docs/theory/chaos.md §2.3): tau = round(ln 2 / (lambda dt))
    # from the data's lambda_max estimate; an exact case with a planted estimate
    import types

    from rnndyn.training import lyapunov_data as tld

    seen: dict = {}

    def planted(series, *, dt, generator=None):
        seen["dt"], seen["shape"] = dt, tuple(series.shape)
        lam = seen["lam"]
        return types.SimpleNamespace(lambda_max=lam, predictability_steps=math.log(2) / (lam * dt))

    monkeypatch.setattr(tld, "estimate_lambda_max", planted)
    dt = lorenz_small.dt
    for lam, tau in ((0.9056, round(math.log(2) / (0.9056 * dt))), (0.5, round(math.log(2) / (0.5 * dt)))):
        seen["lam"] = lam
        assert tr.resolve_tau("auto", lorenz_small) == tau
    assert tau == 139 and round(math.log(2) / (0.9056 * dt)) == 77  # Lorenz-63: the [MMD22] scale
    assert seen["dt"] == dt and seen["shape"] == tuple(lorenz_small.train.shape)  # training split
    seen["lam"] = 1000.0  # tau_pred = 0.07 samples: at least 1
    assert tr.resolve_tau("auto", lorenz_small) == 1
    seen["lam"] = -0.1
    with pytest.raises(ValueError, match="positive lambda_max"):
        tr.resolve_tau("auto", lorenz_small)
    assert tr.resolve_tau(7, lorenz_small) == 7 and tr.resolve_tau(None, lorenz_small) is None


def _toy_task(n_train: int, n_test: int, T: int, seed: int) -> tr.SequenceTask:
    # the label is the sign of the last input, drawn at distance >= 0.5 from 0: linearly separable
    def draw(n: int, g: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
        mag = 0.5 + torch.rand(n, T, 1, generator=g, dtype=F64)
        sign = torch.randint(0, 2, (n, T, 1), generator=g).to(F64) * 2 - 1
        x = mag * sign
        return x, (x[:, -1, 0] > 0).long()

    g = gen(seed)
    xtr, ytr = draw(n_train, g)
    xte, yte = draw(n_test, g)
    return tr.SequenceTask("sign", xtr, ytr, xte, yte, 2)


def test_train_classifier_two_steps_are_hand_computed_adam_updates() -> None:
    import copy

    task = _toy_task(10, 6, 2, seed=50)
    core = rd.VanillaRNN(3, g=0.8, input_size=1, generator=gen(51), dtype=F64)
    clf = tr.SequenceClassifier(core, 2, generator=gen(52))
    ref = copy.deepcopy(clf)
    lr, B = 0.01, 4
    cfg = tr.TrainConfig(n_epochs=1, batches_per_epoch=2, batch_size=B, lr=lr, tau=None)
    res = tr.train_classifier(clf, task, config=cfg, generator=gen(53))
    # by hand: the batches are B indices drawn from the run's generator; the forward pass is
    # h_1 = tanh(U x_1 + b), h_2 = tanh(W h_1 + U x_2 + b), logits = V h_2 + c (zero initial state);
    # Adam (beta = 0.9, 0.999, eps = 1e-8) with bias correction
    params = dict(ref.named_parameters())
    names = [k for k, p in params.items() if p.requires_grad]
    m = {k: torch.zeros_like(params[k]) for k in names}
    v = {k: torch.zeros_like(params[k]) for k in names}
    g = gen(53)
    batch_losses = []
    for step in (1, 2):
        idx = torch.randint(0, 10, (B,), generator=g)
        x, y = task.inputs_train[idx], task.targets_train[idx]
        W, U, b = ref.core.weight_hh, ref.core.weight_ih, ref.core.bias
        h = torch.tanh(x[:, 0] @ U.T + b)
        h = torch.tanh(h @ W.T + x[:, 1] @ U.T + b)
        logits = h @ ref.head.weight.T + ref.head.bias
        loss = -torch.log_softmax(logits, -1)[torch.arange(B), y].mean()
        grads = torch.autograd.grad(loss, [params[k] for k in names], allow_unused=True)
        batch_losses.append(float(loss.detach()))
        with torch.no_grad():
            for k, gk in zip(names, grads, strict=True):
                if gk is None:  # the unused generative readout B: no gradient, Adam leaves it
                    continue
                m[k] = 0.9 * m[k] + 0.1 * gk
                v[k] = 0.999 * v[k] + 0.001 * gk * gk
                mhat, vhat = m[k] / (1 - 0.9**step), v[k] / (1 - 0.999**step)
                params[k] -= lr * mhat / (vhat.sqrt() + 1e-8)
    assert res.losses == pytest.approx([sum(batch_losses) / 2], rel=1e-12)
    trained = dict(clf.named_parameters())
    for k in names:
        torch.testing.assert_close(trained[k], params[k], rtol=1e-12, atol=1e-14)
    # every parameter the loss depends on moved; the unused readout B did not
    start = dict(
        tr.SequenceClassifier(
            rd.VanillaRNN(3, g=0.8, input_size=1, generator=gen(51), dtype=F64), 2, generator=gen(52)
        ).named_parameters()
    )
    moved = [k for k in names if not torch.equal(trained[k], start[k])]
    assert moved == [k for k in names if k != "body.readout.weight"]
    # the recorded test accuracy is the evaluation of the trained model
    (rec,) = res.history["test_accuracy"]
    assert (rec["loss"], rec["accuracy"]) == pytest.approx(tr.evaluate_classifier(clf, task), rel=1e-12)


def test_train_classifier_separates_a_linearly_separable_task() -> None:
    # the sign of the last input (|x| >= 0.5) is linearly separable from h_T = tanh(W h + U x + b)
    # for U != 0: training must reach 100 % held-out accuracy, and it starts near chance
    task = _toy_task(64, 64, 1, seed=60)
    core = rd.VanillaRNN(4, g=0.5, input_size=1, generator=gen(61), dtype=F64)
    clf = tr.SequenceClassifier(core, 2, generator=gen(62))
    cfg = tr.TrainConfig(n_epochs=4, batches_per_epoch=10, batch_size=16, lr=0.05, tau=None)
    res = tr.train_classifier(clf, task, config=cfg, generator=gen(63))
    accs = [r["accuracy"] for r in res.history["test_accuracy"]]
    assert accs[-1] == 1.0 and res.status == rd.Status.SUCCESS
    assert res.losses[-1] < 0.5 * res.losses[0]
    assert tr.epochs_to_accuracy(res, 1.0) == next(i + 1 for i, a in enumerate(accs) if a == 1.0)


def test_tau_sweep_numbers_are_the_single_runs_and_their_seed_means(lorenz_small) -> None:
    import dataclasses

    from rnndyn.training.evaluation import tau_sweep

    def make(seed: int) -> tr.ForcedRNN:
        core = tr.make_torch_rnn("gru", 5, generator=gen(100 + seed), dtype=F64)
        return tr.ForcedRNN(core, 3, generator=gen(200 + seed))

    cfg = tr.TrainConfig(n_epochs=1, batches_per_epoch=2, batch_size=4, seq_len=20, tau=3, clip="value")
    sw = tau_sweep(make, lorenz_small, [5, None], config=cfg, seeds=(0, 1), baseline_clip=0.5, eval_steps=80)
    # oracle: each (tau, seed) trained and evaluated alone, the documented settings by hand
    # (tau=None: plain BPTT with gradient norms clipped to baseline_clip; the model's seed is the
    # seed of both the window sampling and the evaluation)
    singles = {}
    for tau in (5, None):
        c = dataclasses.replace(cfg, tau=tau)
        if tau is None:
            c = dataclasses.replace(cfg, tau=None, clip="norm", clip_value=0.5)
        for seed in (0, 1):
            model = make(seed)
            res = tr.train_forced(model, lorenz_small, config=c, generator=gen(seed))
            ev = tr.evaluate_generative(model, lorenz_small, n_steps=80, generator=gen(seed))
            singles[tau, seed] = (ev.d_stsp, ev.d_h, res.losses[-1])
    assert sw.labels == ["tau=5", "BPTT+clip"] and sw.taus == [5, None]
    for i, tau in enumerate((5, None)):
        for j, name in enumerate(("d_stsp", "d_h", "final_loss")):
            mean = (singles[tau, 0][j] + singles[tau, 1][j]) / 2
            assert getattr(sw, name)[i] == pytest.approx(mean, rel=1e-12), (tau, name)
    for row in sw.results:
        s = singles[row["tau"], row["seed"]]
        assert (row["d_stsp"], row["d_h"], row["final_loss"]) == pytest.approx(s, rel=1e-12)
    # the two settings really differ (a sweep that reused one run would pass the means above)
    assert singles[5, 0] != singles[None, 0]
    # the reference scales: the data's tau_pred; the Rosenstein estimate needs longer series than
    # these 480 training samples, which must not stop a sweep over fixed taus (it raised before)
    assert sw.tau_pred == lorenz_small.predictability_steps
    assert sw.tau_pred_estimated is None and "tau_pred not estimated" in sw.message
    assert "too short" in sw.message and sw.status == rd.Status.SUCCESS
    with pytest.raises(ValueError, match="too short"):
        tr.estimate_lambda_max(lorenz_small.train, dt=lorenz_small.dt)
    # on a series long enough it is ln 2 / (lambda dt) of the training split's estimate
    x = np.empty((1000, 2))  # a Henon orbit (the series' physics does not matter here)
    x[0] = (0.1, 0.1)
    for t in range(999):
        x[t + 1] = (1 - 1.4 * x[t, 0] ** 2 + x[t, 1], 0.3 * x[t, 0])
    longer = tr.from_array(x[None], dt=1.0, test_fraction=0.2)

    def make2(seed: int) -> tr.ForcedRNN:
        return tr.ForcedRNN(
            tr.make_torch_rnn("gru", 3, generator=gen(seed), dtype=F64), 2, generator=gen(seed)
        )

    one = tau_sweep(make2, longer, [5], config=cfg, eval_steps=20)
    est = tr.estimate_lambda_max(longer.train, dt=longer.dt)
    assert one.tau_pred_estimated == math.log(2) / (est.lambda_max * longer.dt)
    assert one.message == "1 runs evaluated"


def test_evaluate_generative_lambda_max_model_is_per_unit_time(lorenz_small) -> None:
    # a latent PLRNN that is the diagonal linear map z -> A z (W = 0, h = 0): lambda_max per step is
    # ln max |a_i| exactly, reported per unit time of the data (divided by dt)
    core = rd.PLRNN(5, generator=gen(70), dtype=F64)
    a = torch.tensor([0.9, -0.95, 0.5, 0.2, 0.7], dtype=F64)
    with torch.no_grad():
        core.weight_diag.copy_(a)
        core.weight_hh.zero_()
        core.bias.zero_()
    m = tr.ForcedRNN(core, 3, generator=gen(71))
    ev = tr.evaluate_generative(m, lorenz_small, n_steps=100, lyapunov=True, lyapunov_steps=300)
    assert ev.lambda_max_model == pytest.approx(math.log(0.95) / lorenz_small.dt, rel=1e-9)
    assert tr.evaluate_generative(m, lorenz_small, n_steps=100).lambda_max_model is None


def test_resolve_tau_says_when_the_data_estimate_is_not_success(monkeypatch, lorenz_small) -> None:
    # tau = 'auto' took the data's lambda_max whatever its status: a 'warning' estimate (no clean
    # linear range) silently became tau; now it warns with the estimate's message, and a worse
    # status is refused
    import types

    from rnndyn.training import lyapunov_data as tld

    est = {"status": "warning", "message": "linear_range: R^2 0.81 < 0.95"}

    def planted(series, *, dt, generator=None):
        return types.SimpleNamespace(
            lambda_max=0.9056, predictability_steps=math.log(2) / (0.9056 * dt), **est
        )

    monkeypatch.setattr(tld, "estimate_lambda_max", planted)
    with pytest.warns(UserWarning, match=r"status warning: linear_range: R\^2 0.81"):
        assert tr.resolve_tau("auto", lorenz_small) == 77
    est.update(status="failed", message="too few neighbours")
    with pytest.raises(ValueError, match="status failed: too few neighbours"):
        tr.resolve_tau("auto", lorenz_small)


def test_training_windows_cover_every_start_including_the_last() -> None:
    # windows of `length` consecutive samples start uniformly at t0 = 0 .. T - length (inclusive): a
    # series exactly one window long is usable, and with one spare sample both starts occur
    from rnndyn.training.trainer import _windows

    series = torch.arange(12, dtype=F64).reshape(2, 6, 1)  # S = 2 series of T = 6
    w = _windows(series, 8, 6, gen(0))
    assert {tuple(v) for v in w[..., 0].tolist()} <= {tuple(range(6)), tuple(range(6, 12))}
    w = _windows(series, 200, 5, gen(1))
    starts = {int(v) for v in w[:, 0, 0]}
    assert starts == {0, 1, 6, 7}
    assert bool((w[:, 1:, 0] - w[:, :-1, 0] == 1).all())


def test_from_array_standardises_with_training_statistics_by_hand() -> None:
    # train = first 8 of 10 samples; per_dim: (x - mean_d) / std_d per coordinate; global (the
    # [MMD22] Lorenz file): one mean and one std over all training entries; test uses the same map
    x = torch.stack([torch.arange(10.0, dtype=F64), 3.0 * torch.arange(10.0, dtype=F64) ** 2 - 7.0], -1)
    train = x[:8]
    for how, off, sc in (
        ("per_dim", train.mean(0), train.std(0)),
        ("global", train.mean().expand(2), train.std().expand(2)),
        ("none", torch.zeros(2, dtype=F64), torch.ones(2, dtype=F64)),
    ):
        d = tr.from_array(x, test_fraction=0.2, standardise=how)
        torch.testing.assert_close(d.offset, off, rtol=1e-15, atol=1e-15, msg=how)
        torch.testing.assert_close(d.scale, sc, rtol=1e-15, atol=1e-15, msg=how)
        torch.testing.assert_close(d.train[0], (train - off) / sc, rtol=1e-14, atol=1e-14, msg=how)
        torch.testing.assert_close(d.test[0], (x[8:] - off) / sc, rtol=1e-14, atol=1e-14, msg=how)


def test_trainability_readout_fits_and_scores_on_the_training_runs_only() -> None:
    # the held-out runs enter neither the fit nor the baseline: the predictions are sklearn's
    # RidgeCV pipeline fitted on the training runs' features, the baseline predicts their mean
    from sklearn.linear_model import RidgeCV
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    lam = np.linspace(-0.5, 0.5, 20)
    spectra = [[float(v), float(v) - 0.5] for v in lam]
    y = 1.0 + 2.0 * lam + 0.3 * np.sin(7.0 * lam)
    r = tr.trainability_readout(spectra, y.tolist(), generator=gen(3))
    te = np.array([int(np.flatnonzero(y == t)[0]) for t in r.targets])
    trn = np.setdiff1d(np.arange(20), te)
    assert (r.n_train, r.n_test) == (16, 4) and len(trn) == 16
    X = np.stack([tr.spectrum_features(s) for s in spectra])
    ref = make_pipeline(StandardScaler(), RidgeCV(alphas=np.logspace(-3, 4, 15))).fit(X[trn], y[trn])
    np.testing.assert_allclose(r.predictions, ref.predict(X[te]), rtol=1e-10, atol=1e-12)
    assert r.baseline_mse == pytest.approx(np.mean((y[trn].mean() - y[te]) ** 2), rel=1e-12)
    assert r.test_mse == pytest.approx(np.mean((np.asarray(r.predictions) - y[te]) ** 2), rel=1e-12)


def test_lyapunov_callback_on_inputs_shorter_than_its_run_uses_what_is_there() -> None:
    # input-driven record: the QR run covers the given sequences (T = 60: 10 transient + 50 steps,
    # fewer than n_steps = 1000) from h0 = 0, exactly the library call with those numbers
    net = rd.VanillaRNN(4, g=1.5, input_size=2, generator=gen(30), dtype=F64)
    x = torch.randn(3, 60, 2, generator=gen(31), dtype=F64)
    cb = tr.LyapunovCallback(every=5, k=2, n_steps=1000, n_transient=10, inputs=x, generator=gen(32))
    assert cb.on_epoch_end(3, net, {}) is None  # not a recording epoch
    rec = cb.on_epoch_end(5, net, {})
    ref = rd.lyapunov_spectrum(
        net,
        k=2,
        n_steps=50,
        n_transient=10,
        inputs=x,
        h0=torch.zeros(4, dtype=F64),
        generator=gen(32),
        throw=False,
    )
    assert rec["epoch"] == 5 and rec["status"] == ref.status.value
    assert rec["exponents"] == pytest.approx(ref.exponents.tolist(), rel=1e-12)

"""Covariant Lyapunov vectors, finite-time exponents and localisation: oracle tests.

Oracles: the eigenvectors of a non-normal linear map (exact), the vector field of Lorenz-63 (the
zero-exponent CLV of a flow), the stable/unstable manifold directions of the Henon map from finite
differences of the nonlinear map and of its explicit inverse (independent of any Jacobian),
covariance J v_i(t) = d_i v_i(t+1), the telescoping growth identity, exact finite-time exponents
of an input-driven scalar map, and the autocorrelation time of an AR(1) series.
"""

from __future__ import annotations

import math

import pytest
import torch

import rnndyn as rd
from model_zoo import NON_NORMAL_A as A
from model_zoo import NON_NORMAL_EIGS as EIGS
from model_zoo import NON_NORMAL_S as S
from model_zoo import DrivenScalar, Escape
from model_zoo import Linear as LinearMap
from model_zoo import line_sine as _sin

F64 = torch.float64


def gen(seed: int) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


# ---------------------------------------------------------------- exact: linear maps
@pytest.mark.parametrize("k", [4, 2])
def test_clvs_of_a_non_normal_linear_map_are_its_eigenvectors(k: int) -> None:
    assert float(torch.linalg.matrix_norm(A @ A.T - A.T @ A)) > 0.5  # non-normal
    res = rd.covariant_lyapunov_vectors(
        LinearMap(A), k=k, n_steps=30, n_transient=80, n_backward_transient=80,
        h0=torch.zeros(2, 4, dtype=F64), generator=gen(0),
    )  # fmt: skip
    assert res.status == "success", res.message
    v = res.vectors  # (B, R, n, k)
    assert v.shape == (2, 30, 4, k)
    for i in range(k):
        err = _sin(v[..., i], S[:, i].expand(2, 30, 4))
        assert float(err.max()) < 1e-8, (i, float(err.max()))
    assert torch.allclose(res.exponents, torch.log(EIGS[:k]), atol=1e-12)
    assert torch.allclose(res.clv_exponents, torch.log(EIGS[:k]), atol=1e-12)
    # localisation: IPR of the unit eigenvectors, and of the Gram-Schmidt vectors = QR of S
    s_unit = S[:, :k] / torch.linalg.vector_norm(S[:, :k], dim=0)
    assert torch.allclose(res.ipr_clv, (s_unit**4).sum(0), atol=1e-10)
    q = torch.linalg.qr(S)[0][:, :k]
    assert torch.allclose(res.ipr_gs, (q**4).sum(0), atol=1e-10)
    # angles between consecutive eigenvectors (constant in time)
    for p, (i, j) in enumerate(res.angle_pairs):
        cos = float((s_unit[:, i] * s_unit[:, j]).sum().abs())
        assert torch.allclose(res.angles[..., p], torch.tensor(math.acos(cos), dtype=F64), atol=1e-8)


def test_min_angle_between_unstable_and_stable_subspaces_of_a_linear_map() -> None:
    a = S @ torch.diag(torch.tensor([2.0, 1.5, 0.5, 0.25], dtype=F64)) @ torch.linalg.inv(S)
    res = rd.covariant_lyapunov_vectors(
        LinearMap(a), n_steps=5, n_transient=80, n_backward_transient=80,
        h0=torch.zeros(1, 4, dtype=F64), generator=gen(1),
    )  # fmt: skip
    assert (res.n_unstable, res.n_neutral, res.n_stable) == (2, 0, 2)
    # independent: principal angles from the SVD of orthonormal bases of the eigen-subspaces
    qu, qs = torch.linalg.qr(S[:, :2])[0], torch.linalg.qr(S[:, 2:])[0]
    expected = math.acos(float(torch.linalg.svdvals(qu.T @ qs)[0]))
    assert torch.allclose(res.min_angle, torch.tensor(expected, dtype=F64), atol=1e-9)


@pytest.mark.parametrize("phi", [0.3, 1e-5, 1e-9, 1e-14])
def test_min_angle_of_an_exact_near_tangency(phi: float) -> None:
    # Gram-Schmidt coordinates, k = 5: unstable span(e0, e1), one neutral CLV, stable CLVs
    # (cos phi, 0, 0, sin phi, 0) and (0, 0, 0.6, 0, 0.8): orthonormal, only the first has a
    # part in the unstable plane, so the smallest principal angle is phi exactly
    from rnndyn.clv import _min_angle_unstable_stable

    c = torch.triu(torch.randn(2, 5, 5, generator=gen(16), dtype=F64)) + 3 * torch.eye(5, dtype=F64)
    c = c / torch.linalg.vector_norm(c, dim=-2, keepdim=True)
    c[:, :, 3] = torch.tensor([math.cos(phi), 0.0, 0.0, math.sin(phi), 0.0], dtype=F64)
    c[:, :, 4] = torch.tensor([0.0, 0.0, 0.6, 0.0, 0.8], dtype=F64)
    got = _min_angle_unstable_stable(c, 2, 3)
    assert torch.allclose(got, torch.full((2,), phi, dtype=F64), rtol=1e-12, atol=0.0)
    # without the neutral CLV the stable block is triangular under the unstable one
    c[:, :, 2] = torch.tensor([0.0, 0.0, 1.0, 0.0, 0.0], dtype=F64)
    assert torch.allclose(_min_angle_unstable_stable(c, 2, 2), got, rtol=1e-12, atol=0.0)


# ---------------------------------------------------------------- flows: the neutral CLV
def test_lorenz63_zero_exponent_clv_is_parallel_to_the_vector_field() -> None:
    flow = rd.Lorenz63()
    m = rd.discretise(flow, dt=0.02, method="rk4")
    # both transients 16 time units: the gap lambda_1 - lambda_2 = 0.9 converges the first
    # Gram-Schmidt vector forward and the second CLV backward like e^-0.9t (3 time units of
    # forward transient left the first vector 7e-3 off: forward_convergence)
    res = rd.covariant_lyapunov_vectors(
        m, n_steps=100, n_transient=800, n_backward_transient=800, record_every=5, convergence_tol=1e-5,
        generator=gen(2),
    )  # fmt: skip
    assert res.status == "success", res.message
    assert res.forward_convergence <= 1e-5 and res.backward_convergence <= 1e-5
    assert res.units == "1/time"
    f = flow.vector_field(res.states)  # (B, R, 3)
    err = _sin(res.vectors[..., 1], f)
    assert float(err.max()) < 1e-3, float(err.max())
    # and the other two are not: the test can fail
    assert float(_sin(res.vectors[..., 0], f).min()) > 1e-2


# ---------------------------------------------------------------- Henon: manifolds
def _henon_inverse(p: torch.Tensor, a: float = 1.4, b: float = 0.3) -> torch.Tensor:
    x1, y1 = p[..., 0], p[..., 1]
    x = y1 / b
    return torch.stack([x, x1 - 1.0 + a * x * x], -1)


def test_henon_clvs_are_the_unstable_and_stable_manifold_directions() -> None:
    henon = rd.Henon()
    res = rd.covariant_lyapunov_vectors(
        henon, n_steps=40, n_transient=200, n_backward_transient=60, generator=gen(3)
    )
    assert res.status == "success", res.message
    states = res.states[0]  # (40, 2)
    u_err, s_err = [], []
    for t in range(20, 40, 4):
        # unstable direction at x_t: image of a tiny segment through x_{t-m} (nonlinear map only)
        eps, m = 1e-9, 12
        base = states[t - m]
        w = torch.tensor([0.6, -0.8], dtype=F64)
        p, q = base.clone(), base + eps * w
        for _ in range(m):
            p, q = henon.step(p), henon.step(q)
        u_err.append(float(_sin(q - p, res.vectors[0, t, :, 0])))
        # stable direction at x_t: pre-image of a tiny segment through x_{t+m} (explicit inverse,
        # which expands the stable direction by e^1.62 per step: a shorter, smaller segment)
        eps, m = 1e-12, 8
        fwd = states[t].clone()
        for _ in range(m):
            fwd = henon.step(fwd)
        p, q = fwd, fwd + eps * w
        for _ in range(m):
            p, q = _henon_inverse(p), _henon_inverse(q)
        s_err.append(float(_sin(q - p, res.vectors[0, t, :, 1])))
    assert max(u_err) < 1e-5, u_err
    assert max(s_err) < 1e-5, s_err


# ---------------------------------------------------------------- invariance
def test_clvs_are_covariant_and_growth_factors_average_to_the_exponents() -> None:
    net = rd.VanillaRNN(12, g=3.0, generator=gen(4), dtype=F64)
    res = rd.covariant_lyapunov_vectors(
        net, k=6, n_steps=60, n_transient=200, n_backward_transient=200, n_trajectories=2, generator=gen(5)
    )
    assert res.status == "success", res.message
    with torch.no_grad():
        jac = net.jacobian(res.states[:, :-1])  # (B, R-1, n, n) at t = 0..58
    v = res.vectors
    jv = jac @ v[:, :-1]  # J_t v_i(t)
    assert float(_sin(jv.transpose(-2, -1), v[:, 1:].transpose(-2, -1)).max()) < 1e-8
    growth = torch.linalg.vector_norm(jv, dim=-2)
    assert torch.allclose(torch.log(growth), res.log_growth[:, :59], atol=1e-10)
    # the mean log growth equals the QR exponents up to the boundary terms ln C_ii / T
    lg_long = rd.covariant_lyapunov_vectors(
        net,
        k=6,
        n_steps=1500,
        n_transient=200,
        n_backward_transient=200,
        keep_vectors=False,
        generator=gen(5),
    )
    assert torch.allclose(lg_long.clv_exponents, lg_long.exponents, atol=0.02)
    assert lg_long.status == "success" and lg_long.check("stationarity").passed, lg_long.message
    assert lg_long.growth_identity_residual < 1e-10


# ---------------------------------------------------------------- finite-time exponents
def test_finite_time_exponents_of_a_driven_scalar_map_are_the_window_means_of_the_inputs() -> None:
    # x_t: AR(1) with phi = 0.5, so ln R = x_t and tau_int = (1 + phi) / (1 - phi) = 3
    n_steps, phi = 6000, 0.5
    noise = torch.randn(n_steps + 300, generator=gen(6), dtype=F64)
    x = torch.zeros_like(noise)
    for t in range(1, len(x)):
        x[t] = phi * x[t - 1] + noise[t]
    x = 0.01 * x
    res = rd.covariant_lyapunov_vectors(
        DrivenScalar(), n_steps=n_steps, n_transient=100, n_backward_transient=100,
        inputs=x.view(1, -1, 1), h0=torch.ones(1, 1, dtype=F64), keep_vectors=False,
    )  # fmt: skip
    obs = x[100 : 100 + n_steps]
    assert torch.allclose(res.log_r[0, :, 0], obs, atol=1e-14)
    assert res.check("stationarity").passed, res.message  # an AR(1) series is stationary
    f = rd.finite_time_exponents(res, window=50)
    assert f.status == "success"
    expected = obs.view(-1, 50).mean(1)
    assert torch.allclose(f.values[0, :, 0], expected, atol=1e-14)
    assert float(f.variance[0]) == pytest.approx(float(expected.var()), rel=1e-12)
    assert float(f.autocorrelation_time[0]) == pytest.approx(3.0, rel=0.25)
    # for window >> tau the window variance follows sigma^2 tau / L
    assert float(f.variance[0]) == pytest.approx(float(f.predicted_variance[0]), rel=0.35)
    g = rd.finite_time_exponents(res, window=50, which="clv")
    assert torch.allclose(g.values, f.values, atol=1e-12)  # one dimension: CLV = GS


@pytest.mark.parametrize("a", [-0.7, -0.5, 0.0, 0.5, 0.9])
def test_autocorrelation_time_of_ar1_series_is_one_plus_a_over_one_minus_a(a: float) -> None:
    # x_{t+1} = a x_t + noise: rho(l) = a^l, tau_int = 1 + 2 sum_{l>=1} a^l = (1 + a) / (1 - a)
    # exactly; < 1 for anticorrelated series (a < 0; the old window stopped at M = 1 there and
    # clamped a non-positive sum to 2.2e-16), 1 for white noise
    from rnndyn.clv import _autocorrelation_time

    b, t = 4, 20_000
    noise = torch.randn(b, t + 200, generator=gen(40), dtype=F64)
    x = torch.empty_like(noise)
    x[:, 0] = noise[:, 0]
    # AR(1) by powers: x_t = sum_s a^(t-s) e_s, in blocks of 50 steps to stay accurate
    pw = a ** torch.arange(50, dtype=F64)
    kern = torch.tril(pw[(torch.arange(50)[:, None] - torch.arange(50)[None, :]).clamp(min=0)])
    for s0 in range(0, t + 200, 50):
        blk = noise[:, s0 : s0 + 50] @ kern.T
        if s0:
            blk = blk + x[:, s0 - 1 : s0] * pw * a
        x[:, s0 : s0 + 50] = blk
    tau, note = _autocorrelation_time(x[:, 200:, None])
    exact = (1 + a) / (1 - a)
    # statistical error ~ tau sqrt(2 (2M + 1) / (B T)) <= 7 % (a = 0.9, M ~ 100)
    assert float(tau[0]) == pytest.approx(exact, rel=0.2 if a == 0.9 else 0.12)
    assert note == ("",)


def test_autocorrelation_time_is_nan_with_a_reason_without_decaying_fluctuations() -> None:
    # a constant series has no autocorrelation time; a period-2 series has correlations that never
    # decay (its window means cancel: the variance falls like 1/L^2, there is no tau); neither is
    # a tiny number. A white column alongside keeps its tau = 1.
    n = 400
    white = torch.randn(n + 20, generator=gen(41), dtype=F64)
    t = torch.arange(n + 20, dtype=F64)
    for x, reason in (
        (torch.full((n + 20,), 0.3, dtype=F64), "no fluctuations"),
        (torch.cos(math.pi * t), "do not decay"),
    ):
        res = rd.covariant_lyapunov_vectors(
            DrivenScalar(), n_steps=n, n_transient=10, n_backward_transient=5,
            inputs=(0.01 * x).view(1, -1, 1), h0=torch.ones(1, 1, dtype=F64), keep_vectors=False,
        )  # fmt: skip
        f = rd.finite_time_exponents(res, window=20)
        assert math.isnan(float(f.autocorrelation_time[0])) and math.isnan(float(f.predicted_variance[0]))
        assert reason in f.autocorrelation_note[0] and reason in f.message
    from rnndyn.clv import _autocorrelation_time

    tau, note = _autocorrelation_time(torch.stack([white, torch.cos(math.pi * t)], -1)[None])
    assert float(tau[0]) == pytest.approx(1.0, abs=0.3) and note[0] == ""
    assert math.isnan(float(tau[1])) and "do not decay" in note[1]


@pytest.mark.slow
def test_henon_autocorrelation_time_below_one_step_is_genuine() -> None:
    # cross-method: the Henon map's ln R_ii are anticorrelated, tau ~ 0.3 < 1; the variance of the
    # window means measured directly, times L / sigma^2, gives the same number (0.30 at L = 50 with
    # 400 windows, statistical error ~ 7 %; 11 s)
    res = rd.covariant_lyapunov_vectors(
        rd.Henon(), n_steps=20_000, n_transient=200, n_backward_transient=50, keep_vectors=False,
        generator=gen(3),
    )  # fmt: skip
    f = rd.finite_time_exponents(res, window=50)
    tau = float(f.autocorrelation_time[0])
    assert 0.2 < tau < 0.4 and f.autocorrelation_note == ("", "")
    assert float(f.variance[0] * 50 / f.step_variance[0]) == pytest.approx(tau, rel=0.2)


# ---------------------------------------------------------------- memory: store and spill
def test_spilled_and_stored_runs_equal_the_in_memory_run(tmp_path) -> None:  # noqa: ANN001
    net = rd.VanillaRNN(10, g=2.5, generator=gen(7), dtype=F64)
    kw = dict(k=5, n_steps=80, n_transient=50, n_backward_transient=60, record_every=4)
    ref = rd.covariant_lyapunov_vectors(net, generator=gen(8), **kw)
    assert ref.memory["storage"] == "memory"
    spill = rd.covariant_lyapunov_vectors(net, generator=gen(8), max_memory=20_000, **kw)
    assert spill.memory["storage"] == "spill"
    assert spill.memory["peak_buffer_bytes"] <= 20_000 + 20 * 10 * 5 * 8 * 3
    assert spill.memory["spilled_bytes"] > 0
    assert torch.equal(spill.vectors, ref.vectors)
    assert torch.equal(spill.log_growth, ref.log_growth)
    path = tmp_path / "clv.zarr"
    st = rd.covariant_lyapunov_vectors(net, generator=gen(8), store=path, **kw)
    assert st.vectors is None and st.store == str(path)
    assert (st.memory["storage"], st.memory["vectors"]) == ("memory", "zarr")
    assert (spill.memory["storage"], spill.memory["vectors"]) == ("spill", "memory")
    assert torch.equal(st.vectors_at(7), ref.vectors[:, 7])
    # the same settings may overwrite the store; other settings are refused
    rd.covariant_lyapunov_vectors(net, generator=gen(8), store=path, **kw)
    with pytest.raises(ValueError, match="other settings.*k: store has 5, this run 4"):
        rd.covariant_lyapunov_vectors(net, generator=gen(8), store=path, **{**kw, "k": 4})
    other = tmp_path / "notes"
    other.mkdir()
    (other / "a.txt").write_text("x")
    with pytest.raises(ValueError, match="not one"):
        rd.covariant_lyapunov_vectors(net, generator=gen(8), store=other, **kw)


def test_spill_and_store_in_many_chunks_equal_the_in_memory_run(tmp_path, monkeypatch) -> None:  # noqa: ANN001
    # small chunks: two buffers per series, writes and prefetching reads on the I/O thread, the
    # spill files truncated behind the backward reader; the numbers must not change at all
    import rnndyn.clv as clv_mod

    net = rd.VanillaRNN(10, g=2.5, generator=gen(7), dtype=F64)
    kw = dict(k=5, n_steps=60, n_transient=30, n_backward_transient=40, n_trajectories=2)
    ref = rd.covariant_lyapunov_vectors(net, generator=gen(8), **kw)
    monkeypatch.setattr(clv_mod, "_CHUNK_BYTES", 2000)
    spill = rd.covariant_lyapunov_vectors(net, generator=gen(8), max_memory=60_000, **kw)
    assert spill.memory["storage"] == "spill"
    # R (24 kB) and frames (48 kB) on disk through two 1 kB buffers each
    assert spill.memory["peak_buffer_bytes"] <= ref.memory["peak_buffer_bytes"] - 72_000 + 4 * 1000
    assert torch.equal(spill.vectors, ref.vectors)
    assert torch.equal(spill.log_growth, ref.log_growth)
    st = rd.covariant_lyapunov_vectors(net, generator=gen(8), max_memory=60_000, store=tmp_path / "c", **kw)
    assert (st.memory["storage"], st.memory["vectors"]) == ("spill", "zarr")
    for j in (0, 29, 59):
        assert torch.equal(st.vectors_at(j), ref.vectors[:, j])


@pytest.mark.parametrize("refuse", [None, "open", "transfer"])
def test_direct_io_spill_and_store_equal_the_in_memory_run(tmp_path, monkeypatch, refuse) -> None:  # noqa: ANN001
    # every chunk direct (padded to the 4096-byte alignment; the store's chunk files with an
    # aligned direct head and a buffered tail, the edge chunk full-size); and a file system that
    # refuses O_DIRECT at open or at the first transfer (tmpfs, some network file systems),
    # simulated: buffered fallback. The numbers must not change at all, and Zarr must read the
    # chunk files written outside it
    import errno
    import os

    import rnndyn.clv as clv_mod

    if not getattr(os, "O_DIRECT", 0) or not os.path.isdir("/proc/self/fd"):
        pytest.skip("no O_DIRECT or no /proc on this platform (the buffered path is the other tests')")
    net = rd.VanillaRNN(10, g=2.5, generator=gen(7), dtype=F64)
    kw = dict(k=5, n_steps=61, n_transient=30, n_backward_transient=40, n_trajectories=2)
    ref = rd.covariant_lyapunov_vectors(net, generator=gen(8), **kw)
    monkeypatch.setattr(clv_mod, "_CHUNK_BYTES", 12000)  # CLV chunks of 7 times, 5600 bytes
    monkeypatch.setattr(clv_mod, "_DIRECT_MIN_BYTES", 0)
    direct_ops = []
    real_open, real_pwrite, real_preadv = os.open, os.pwrite, os.preadv

    def is_direct(fd: int) -> bool:
        import fcntl

        return bool(fcntl.fcntl(fd, fcntl.F_GETFL) & os.O_DIRECT)

    def fake_open(path, flags, *a, **kw):  # noqa: ANN001, ANN002, ANN003, ANN202
        if refuse == "open" and flags & os.O_DIRECT:
            raise OSError(errno.EINVAL, "O_DIRECT refused")
        return real_open(path, flags, *a, **kw)

    def fake_pwrite(fd, data, offset):  # noqa: ANN001, ANN202
        if is_direct(fd):
            if refuse == "transfer":
                raise OSError(errno.EINVAL, "O_DIRECT refused")
            direct_ops.append("w-spill" if os.readlink(f"/proc/self/fd/{fd}").endswith(".bin") else "w-zarr")
        return real_pwrite(fd, data, offset)

    def fake_preadv(fd, bufs, offset):  # noqa: ANN001, ANN202
        if is_direct(fd):
            direct_ops.append("r")
        return real_preadv(fd, bufs, offset)

    monkeypatch.setattr(os, "open", fake_open)
    monkeypatch.setattr(os, "pwrite", fake_pwrite)
    monkeypatch.setattr(os, "preadv", fake_preadv)
    st = rd.covariant_lyapunov_vectors(net, generator=gen(8), max_memory=60_000, store=tmp_path / "c", **kw)
    assert (st.memory["storage"], st.memory["vectors"]) == ("spill", "zarr")
    if refuse is None:  # R and frames written and read back direct, CLV chunk heads written direct
        assert direct_ops.count("w-spill") == 5 + 9  # R: 101 steps in chunks of 25; frames: 61 in 7s
        assert direct_ops.count("r") >= 5
        assert direct_ops.count("w-zarr") == 9  # 61 times in 9 chunks
    else:
        assert direct_ops == []
    assert torch.equal(st.log_growth, ref.log_growth)
    for j in (0, 1, 30, 59, 60):  # 56-60: the edge chunk, 5 of its 7 times
        assert torch.equal(st.vectors_at(j), ref.vectors[:, j])


def test_slow_fills_on_the_io_thread_are_waited_for(tmp_path, monkeypatch) -> None:  # noqa: ANN001
    # packing R, copying frames and CLVs into the chunk buffers runs on the I/O thread; made slow
    # here, a reader that did not wait for them would read stale buffers (the last chunk written
    # is read first by the backward pass, straight from its buffer)
    import time

    import rnndyn.clv as clv_mod

    net = rd.VanillaRNN(10, g=2.5, generator=gen(7), dtype=F64)
    kw = dict(k=5, n_steps=40, n_transient=10, n_backward_transient=20)
    ref = rd.covariant_lyapunov_vectors(net, generator=gen(8), **kw)
    pack = clv_mod._Packer.pack

    def slow_pack(self, r, out) -> None:  # noqa: ANN001
        time.sleep(0.002)
        pack(self, r, out)

    monkeypatch.setattr(clv_mod._Packer, "pack", slow_pack)
    monkeypatch.setattr(clv_mod, "_CHUNK_BYTES", 3000)
    st = rd.covariant_lyapunov_vectors(net, generator=gen(8), max_memory=20_000, store=tmp_path / "c", **kw)
    assert (st.memory["storage"], st.memory["vectors"]) == ("spill", "zarr")
    assert torch.equal(st.log_growth, ref.log_growth)
    for j in (0, 20, 39):
        assert torch.equal(st.vectors_at(j), ref.vectors[:, j])


def test_chunk_files_only_for_plain_zarr_arrays(tmp_path) -> None:  # noqa: ANN001
    # a compressed array's chunk files are not its raw bytes: it must be written through Zarr
    import zarr
    from zarr.codecs import ZstdCodec

    from rnndyn.clv import _ZarrChunkFiles

    g = zarr.open_group(str(tmp_path / "s.zarr"), mode="w")
    plain = g.create_array("a", shape=(4, 3), chunks=(2, 3), dtype="float64", compressors=None)
    packed = g.create_array("b", shape=(4, 3), chunks=(2, 3), dtype="float64", compressors=ZstdCodec())
    assert _ZarrChunkFiles.create(plain, 48) is not None
    assert _ZarrChunkFiles.create(packed, 48) is None


def test_blocked_triangular_solve_and_product_equal_the_full_ones() -> None:
    from rnndyn.clv import _block_edges, _solve_upper, _times_upper_t

    k = 200
    edges = _block_edges(k)
    assert len(edges) > 2  # the blocked path
    g = gen(11)
    r = torch.triu(torch.randn(2, k, k, generator=g, dtype=F64)) + 3 * torch.eye(k, dtype=F64)
    c = torch.cat([torch.triu(torch.randn(2, k, k, generator=g, dtype=F64)) for _ in range(2)], -1)
    for m in (1, 2):  # one triangular block, and two side by side (the two backward starts)
        rhs = c[..., : m * k]
        x = _solve_upper(r, rhs, edges)
        full = torch.linalg.solve_triangular(r, rhs, upper=True)
        assert float((x - full).abs().max() / full.abs().max()) < 1e-13
        resid = torch.linalg.matrix_norm(r @ x - rhs) / (
            torch.linalg.matrix_norm(r) * torch.linalg.matrix_norm(x)
        )
        assert float(resid.max()) < 1e-14  # a backward-stable solution
        for j in range(m):  # upper triangular, with exact zeros
            assert torch.equal(x[..., j * k : (j + 1) * k], torch.triu(x[..., j * k : (j + 1) * k]))
    q = torch.randn(2, k + 7, k, generator=g, dtype=F64)
    ct = c[..., :k]
    vt = _times_upper_t(q.mT.contiguous(), ct, edges, torch.empty(2, k, k + 7, dtype=F64))  # (Q C)^T
    assert float((vt.mT - q @ ct).abs().max() / (q @ ct).abs().max()) < 1e-14


def test_frame_kept_as_reflectors_between_recorded_steps_gives_the_explicit_frames_factors() -> None:
    # a recorder that needs the frame every 3rd step: the engine keeps it as Householder
    # reflectors in between (J Q by ormqr, sign flips tracked); its R factors and frames must be
    # those of the explicit QR at every step (round-off only), and so must the CLVs
    net = rd.VanillaRNN(20, g=3.0, generator=gen(12), dtype=F64)
    eng = rd.LyapunovEngine(net, tangent="dense")
    assert eng.householder
    h0 = net.initial_state((2,), generator=gen(13))
    runs = []
    for sparse in (False, True):
        got: dict[int, tuple] = {}

        def rec(step, h, q, r, got=got):  # noqa: ANN001, ANN202
            got[step] = (None if q is None else q.clone(), r.clone())

        needs = (lambda step: step % 3 == 0) if sparse else None
        st = eng.advance(
            eng.init(h0, generator=gen(14)), n_steps=40, qr_every=1, recorder=rec, needs_frame=needs
        )
        runs.append((got, st))
    (full, st_full), (sparse, st_sparse) = runs
    assert sorted(full) == sorted(sparse) == list(range(1, 41))
    # round-off level: perturbing the start frame by one ulp moves R and Q by 4e-12 here and the
    # sums of ln R_ii by 7e-9 (the trailing vectors have not converged in 40 steps; measured for
    # the reflector frame: 1e-11 and 3e-9); a wrong sign flip would move them by O(1)
    for step in full:
        q_full, r_full = full[step]
        q_sp, r_sp = sparse[step]
        assert torch.equal(r_sp, torch.triu(r_sp)) and bool(
            (torch.diagonal(r_sp, dim1=-2, dim2=-1) > 0).all()
        )
        assert float((r_sp - r_full).abs().max() / r_full.abs().max()) < 1e-10
        if step % 3 == 0 or step == 40:
            assert float((q_sp - q_full).abs().max()) < 1e-10
        else:
            assert q_sp is None
    assert float((st_sparse.q - st_full.q).abs().max()) < 1e-10
    assert float((st_sparse.log_r - st_full.log_r).abs().max()) < 1e-7
    # the CLV run uses it between recorded steps and in the backward transient: the same CLVs
    # from the same random backward start (measured: 2.5e-13 and 6.4e-12; some of these CLVs
    # belong to complex pairs and do not converge, which does not matter for this comparison)
    kw = dict(n_steps=30, n_transient=100, n_backward_transient=100, h0=h0, hyperbolicity=False)
    every = rd.covariant_lyapunov_vectors(net, record_every=1, generator=gen(15), **kw)
    third = rd.covariant_lyapunov_vectors(net, record_every=3, generator=gen(15), **kw)
    assert every.status == third.status
    assert float((third.vectors - every.vectors[:, ::3]).abs().max()) < 1e-10
    assert float((third.log_growth - every.log_growth).abs().max()) < 1e-10


def test_unstable_and_stable_blocks_are_the_leading_and_trailing_runs() -> None:
    # finite-time QR exponents near zero can come out of order (N = 400 tanh net at g = 2 over
    # 2000 steps: 0.0055, 0.0069 against zero_tol 0.0056); the angle then uses the leading run
    # above the band and the trailing run below it instead of being dropped
    from rnndyn.clv import _angle_split

    e = torch.tensor([0.5, 0.2, 0.004, 0.007, 0.0, -0.006, -0.3, -0.002, -0.5], dtype=F64)
    # 0.004 ends the unstable run and -0.002 the stable one (read from the end)
    assert _angle_split(e, 0.005) == (2, 8)
    assert _angle_split(e, 0.001) == (4, 5)  # 0.004 and 0.007 unstable, -0.006 .. -0.5 stable
    assert _angle_split(e[:5], 0.005) is None  # no stable exponent
    assert _angle_split(-e.abs() - 1.0, 0.005) is None  # no unstable exponent
    assert _angle_split(torch.tensor([0.001, 0.5, -0.5], dtype=F64), 0.005) is None  # none leading


def test_progress_reports_the_end_of_each_phase() -> None:
    calls: list[tuple[int, int]] = []
    rd.covariant_lyapunov_vectors(
        rd.Henon(), n_steps=333, n_transient=77, n_backward_transient=101, generator=gen(0),
        progress=lambda done, total: calls.append((done, total)),
    )  # fmt: skip
    total = 77 + 2 * (333 + 101)
    assert {c[1] for c in calls} == {total}
    done = [c[0] for c in calls]
    assert done == sorted(done) and {77, 77 + 434, total} <= set(done)


# ---------------------------------------------------------------- bad input and statuses
def test_bad_input_gives_clear_errors() -> None:
    h = rd.Henon()
    with pytest.raises(ValueError, match="`k` must be <= state_size = 2; got 3"):
        rd.covariant_lyapunov_vectors(h, k=3, n_steps=10)
    with pytest.raises(ValueError, match="record_every"):
        rd.covariant_lyapunov_vectors(h, n_steps=10, record_every=0)
    with pytest.raises(ValueError, match="n_steps"):
        rd.covariant_lyapunov_vectors(h, n_steps=0)
    with pytest.raises(ValueError, match="pairs"):
        rd.covariant_lyapunov_vectors(h, n_steps=10, pairs=[(0, 2)])
    with pytest.raises(TypeError, match="flow"):
        rd.covariant_lyapunov_vectors(rd.Lorenz63(), n_steps=10)
    with pytest.raises(ValueError, match="max_memory"):
        rd.covariant_lyapunov_vectors(rd.VanillaRNN(20, dtype=F64), n_steps=100, max_memory=1000)
    res = rd.covariant_lyapunov_vectors(h, n_steps=20, n_backward_transient=0, generator=gen(0))
    with pytest.raises(ValueError, match="window"):
        rd.finite_time_exponents(res, window=21)
    with pytest.raises(TypeError, match="CLVResult"):
        rd.finite_time_exponents(object(), window=2)  # type: ignore[arg-type]


def test_slow_escape_from_an_unstable_fixed_point_is_not_converged() -> None:
    # the forward exponents of a run that spends its window leaving the unstable fixed point 0
    # (c = 0.03 from 1e-6, no transient): +0.058 in the first half, ln 0.91 on the attractor; the
    # CLVs themselves agree (one dimension), so only the stationarity check can say so
    kw = dict(n_steps=400, h0=torch.tensor([1e-6], dtype=F64), keep_vectors=False, generator=gen(0))
    res = rd.covariant_lyapunov_vectors(Escape(0.03), n_transient=0, **kw)
    chk = res.check("stationarity")
    assert res.status == "not_converged" and not chk.passed and chk.value > 10 and chk.tolerance == 5.0
    assert res.check("backward_convergence").passed and "backward transient was too short" not in res.message
    assert "forward exponents are not stationary" in res.message and "n_transient to >= 400" in res.message
    # oracle: with the advice followed the exponent is ln|f'(1)| = ln 0.91 and the run says success
    good = rd.covariant_lyapunov_vectors(Escape(0.03), n_transient=400, **kw)
    assert good.status == "success" and good.check("stationarity").passed, good.message
    assert float(good.exponents[0]) == pytest.approx(math.log(0.91), abs=1e-8)


class _TwoLines(rd.AbstractMap):
    """``u -> 1 + 0.99 (u - 1)`` for ``u > 0``, ``-1 + 0.9 (u + 1)`` otherwise: two attractors with
    constant slopes, so every trajectory's exponent is exactly ln 0.99 or ln 0.9."""

    def __init__(self) -> None:
        super().__init__()
        self.state_size, self.input_size = 1, 0
        self.register_buffer("slope", torch.tensor([0.99, 0.9], dtype=F64))

    def _step(self, h: torch.Tensor, x: torch.Tensor | None) -> torch.Tensor:
        return torch.where(h > 0, 1 + self.slope[0] * (h - 1), -1 + self.slope[1] * (h + 1))

    def _jacobian(self, h: torch.Tensor, x: torch.Tensor | None) -> torch.Tensor:
        return torch.where(h > 0, self.slope[0], self.slope[1]).expand_as(h).unsqueeze(-1)


def test_multistable_near_zero_tolerance_comes_from_within_the_clusters() -> None:
    # as in rd.lyapunov_spectrum: 3 x the spread over all six trajectories (0.064) exceeds the
    # mean's |lambda| = 0.0577, which counted as neutral; within the two clusters the spread is 0
    h0 = torch.tensor([[0.5], [2.0], [0.1], [-0.5], [-2.0], [-0.1]], dtype=F64)
    res = rd.covariant_lyapunov_vectors(_TwoLines(), n_steps=100, h0=h0, keep_vectors=False, generator=gen(0))
    per = res.log_r.mean(1)[:, 0]
    assert sorted(set(per.tolist())) == pytest.approx([math.log(0.9), math.log(0.99)], abs=1e-12)
    assert 3 * float(per.std()) / math.sqrt(6) > abs(float(res.exponents[0]))  # the old tolerance
    assert res.zero_tol == 1e-3 and (res.n_stable, res.n_neutral) == (1, 0)
    assert res.check("stationarity").passed  # constant slopes: exactly stationary


def test_short_backward_transient_is_reported_not_converged() -> None:
    net = rd.VanillaRNN(10, g=2.0, generator=gen(9), dtype=F64)
    short = rd.covariant_lyapunov_vectors(
        net, n_steps=20, n_transient=100, n_backward_transient=2, generator=gen(1)
    )
    assert short.status == "not_converged"
    assert not short.check("backward_convergence").passed
    none = rd.covariant_lyapunov_vectors(
        net, n_steps=20, n_transient=100, n_backward_transient=0, generator=gen(1)
    )
    assert none.status == "not_converged"
    d = short.to_dict()
    assert d["status"] == "not_converged" and "vectors" not in d and len(d["exponents"]) == 10


def test_divergence_raises_or_is_reported() -> None:
    lin = LinearMap(torch.diag(torch.tensor([1e200, 0.5], dtype=F64)))
    h0 = torch.ones(1, 2, dtype=F64)
    with pytest.raises(rd.AnalysisError, match="diverged"):
        rd.covariant_lyapunov_vectors(lin, n_steps=200, h0=h0)
    res = rd.covariant_lyapunov_vectors(lin, n_steps=200, h0=h0, throw=False)
    assert res.status == "diverged" and torch.isnan(res.exponents).all()


# ---------------------------------------------------------------- CLI
def test_cli_clv_reproduces_the_library_call(tmp_path) -> None:  # noqa: ANN001
    import json

    from typer.testing import CliRunner

    from rnndyn.cli import app

    js = tmp_path / "c.json"
    args = ["lyapunov", "--clv", "--model", "henon", "--steps", "200", "--transient", "100"]
    args += ["--trajectories", "2", "--record-every", "5", "--ftle-window", "20", "--no-progress"]
    res = CliRunner().invoke(app, [*args, "--json", str(js), "--out", str(tmp_path / "fig")])
    assert res.exit_code == 0, res.output
    assert "min angle unstable-stable" in res.output and "IPR" in res.output
    payload = json.loads(js.read_text())
    ref = rd.covariant_lyapunov_vectors(
        rd.Henon(), n_steps=200, n_transient=100, record_every=5, n_trajectories=2,
        keep_vectors=False, generator=gen(1),
    )  # fmt: skip
    assert payload["clv"]["exponents"] == pytest.approx(ref.exponents.tolist(), abs=1e-12)
    assert payload["clv"]["min_angle_overall"] == pytest.approx(ref.min_angle_overall, abs=1e-12)
    f = rd.finite_time_exponents(ref, window=20)
    assert payload["ftle"]["variance"] == pytest.approx(f.variance.tolist(), rel=1e-12)
    for name in ("clv_localisation.png", "clv_ftle.png", "clv_angles.png"):
        assert (tmp_path / "fig" / name).stat().st_size > 10_000
    bad = CliRunner().invoke(app, ["lyapunov", "--clv", "--model", "henon", "-k", "3", "--no-progress"])
    assert bad.exit_code != 0 and "`--k` must be <= state_size = 2; got 3" in bad.output


@pytest.mark.gpu
def test_cuda_run_gives_the_eigenvectors_of_a_non_normal_linear_map() -> None:
    if not torch.cuda.is_available():
        pytest.skip("needs CUDA")
    lin = LinearMap(A).to("cuda")
    for max_memory in (None, 10_000):  # in memory on the device, and spilled to disk
        res = rd.covariant_lyapunov_vectors(
            lin, n_steps=30, n_transient=80, n_backward_transient=80, max_memory=max_memory,
            h0=torch.zeros(2, 4, dtype=F64, device="cuda"), generator=gen(0),
        )  # fmt: skip
        assert res.status == "success", res.message
        assert res.vectors.device.type == "cpu" and "cuda_peak_bytes" in res.memory
        for i in range(4):
            assert float(_sin(res.vectors[..., i], S[:, i].expand(2, 30, 4)).max()) < 1e-8


def test_ftle_figure_says_undefined_when_no_autocorrelation_time_exists(tmp_path, monkeypatch) -> None:
    # every tau NaN (a series without fluctuations): the title said 'nan .. nan' (and nanmin warned)
    import warnings

    import rnndyn.plotting.clv as pclv
    from rnndyn.plotting.clv import plot_ftle

    figs: list = []
    save = pclv._save
    monkeypatch.setattr(pclv, "_save", lambda fig, path: (figs.append(fig), save(fig, path))[1])

    x = torch.full((1, 60, 1), 0.003, dtype=F64)
    res = rd.covariant_lyapunov_vectors(
        DrivenScalar(), n_steps=40, n_transient=10, n_backward_transient=5, inputs=x,
        h0=torch.ones(1, 1, dtype=F64), keep_vectors=False,
    )  # fmt: skip
    f = rd.finite_time_exponents(res, window=10)
    assert math.isnan(float(f.autocorrelation_time[0]))
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        plot_ftle(f, tmp_path / "ftle.png")
    titles = [ax.get_title() for ax in figs[0].axes]
    assert any("τ: undefined (" in t and "no fluctuations" in t for t in titles), titles
    assert not any("nan" in t for t in titles)


def test_report_rows_give_both_convergence_checks() -> None:
    from rnndyn.report import clv_rows

    res = rd.covariant_lyapunov_vectors(rd.Henon(), n_steps=40, n_transient=30, generator=gen(5))
    rows = dict(clv_rows(res))
    fwd = rows["forward convergence (Gram-Schmidt subspaces, sin)"]
    assert res.status == "success" and float(fwd) == pytest.approx(res.forward_convergence, rel=1e-2)
    assert res.forward_convergence < 1e-12  # Henon's gap 2.04 a step over 30 steps: e^-61

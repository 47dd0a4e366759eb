"""The declared model contract (rnndyn.models.base): every hook of every model and wrapper.

Oracle: ``step_and_tangent(h, x, Q)`` must equal the step (or vector field) and the dense Jacobian
times ``Q`` to 1e-12 for k = 1, 3 and the full tangent size; wrappers must pass every hook on.
"""

from __future__ import annotations

import math

import pytest
import torch

import rnndyn as rd
from model_zoo import WRAPPERS, ZOO
from rnndyn.meanfield.rmt import SpectralSupport
from rnndyn.models.base import AbstractMap
from rnndyn.spectra import predicted_support

F64 = torch.float64


def _models():
    for name in sorted(ZOO):
        yield name, ZOO[name]
    for name in sorted(WRAPPERS):
        yield name, WRAPPERS[name]


ALL = dict(_models())


def _inputs(model: rd.AbstractSystem, batch: tuple[int, ...], k: int, seed: int = 0):
    gen = torch.Generator().manual_seed(seed)
    h = model.initial_state(batch, generator=gen)
    x = torch.randn(*batch, model.input_size, generator=gen, dtype=F64) if model.input_size else None
    q = torch.randn(*batch, model.tangent_size, k, generator=gen, dtype=F64)
    return h, x, q


def _rhs(model, h, x):
    return model.step(h, x) if isinstance(model, AbstractMap) else model.vector_field(h, x)


@pytest.mark.parametrize("name", sorted(ALL))
def test_step_and_tangent_matches_dense_jacobian(name: str) -> None:
    model = ALL[name]()
    m = model.tangent_size
    for k in sorted({1, 3, m}):
        h, x, q = _inputs(model, (2,), k, seed=k)
        h_next, jq = model.step_and_tangent(h, x, q)
        assert jq.shape == (2, m, k)
        dense = model.jacobian(h, x)
        assert dense.shape == (2, m, m)
        torch.testing.assert_close(h_next, _rhs(model, h, x), rtol=1e-12, atol=1e-12)
        scale = float((dense.abs() @ q.abs()).max().detach()) + 1e-300
        err = float((jq - dense @ q).abs().max().detach()) / scale
        assert err < 1e-12, f"k={k}: relative error {err:.2e}"


@pytest.mark.parametrize("name", sorted(ALL))
def test_declared_hooks(name: str) -> None:
    model = ALL[name]()
    assert isinstance(model.tangent_size, int) and 1 <= model.tangent_size <= model.state_size
    assert model.dtype == F64 and model.device == torch.device("cpu")
    h, x, _ = _inputs(model, (), 1)
    assert model.initial_state().dtype == F64
    theory = model.spectral_theory(h, x)
    assert theory is None or isinstance(theory, SpectralSupport)


#: models with a random-matrix prediction, and wrappers of them (which must pass it on)
_THEORY = ("vanilla_tanh", "gru", "lstm", "gated", "gated_rk4")


@pytest.mark.parametrize("name", _THEORY)
def test_spectral_theory_declared_and_passed_on(name: str) -> None:
    model = ZOO[name]()
    h, x, _ = _inputs(model, (), 1, seed=7)
    theory = model.spectral_theory(h, x)
    assert isinstance(theory, SpectralSupport)
    # the validating entry point gives the model's own prediction
    via = predicted_support(model, h, x)
    assert via.radius == theory.radius and via.rightmost == theory.rightmost
    # a zero-input wrapper predicts what the model predicts at zero input
    if model.input_size == 0:
        wrapped = rd.autonomous(model).spectral_theory(h)
        assert wrapped.radius == theory.radius and wrapped.rightmost == theory.rightmost
    assert ZOO["plrnn"]().spectral_theory(ZOO["plrnn"]().initial_state()) is None


def test_step_and_tangent_validates() -> None:
    model = rd.VanillaRNN(4, generator=torch.Generator().manual_seed(0), dtype=F64)
    h = torch.zeros(2, 4, dtype=F64)
    with pytest.raises(ValueError, match=r"`Q` must have shape \(\*batch, 4, k\)"):
        model.step_and_tangent(h, None, torch.zeros(2, 3, 1, dtype=F64))
    with pytest.raises(TypeError, match="`Q` must have the dtype"):
        model.step_and_tangent(h, None, torch.zeros(2, 4, 1, dtype=torch.float32))
    with pytest.raises(ValueError, match="`Q` must be finite"):
        model.step_and_tangent(h, None, torch.full((2, 4, 1), float("nan"), dtype=F64))
    with pytest.raises(TypeError, match="`Q` must be a torch.Tensor"):
        model.step_and_tangent(h, None, [[1.0]])


def test_autonomous_h_only_lstm_regression() -> None:
    # used to raise a shape error: the private wrapper did not pass tangent_size on
    torch.manual_seed(0)
    net = rd.from_torch(torch.nn.LSTM(2, 3).double(), lstm_state="h")
    free = rd.autonomous(net)
    assert (free.input_size, free.state_size, free.tangent_size) == (0, 6, 3)
    gen = torch.Generator().manual_seed(1)
    res = rd.lyapunov_spectrum(free, n_steps=200, n_transient=20, generator=gen)
    assert res.exponents.shape == (3,)
    # oracle: the same run on the unwrapped model with explicit zero inputs
    ref = rd.lyapunov_spectrum(
        net,
        inputs=torch.zeros(220, 2, dtype=F64),
        n_transient=20,
        generator=torch.Generator().manual_seed(1),
    )
    torch.testing.assert_close(res.exponents, ref.exponents, rtol=1e-12, atol=1e-12)


class _ParamFree(AbstractMap):
    """h -> 0.5 h + 0.1 sin(h): no tensor parameters at all."""

    state_size, input_size = 3, 0

    def _step(self, h, x):
        return 0.5 * h + 0.1 * torch.sin(h)


class _ParamFree32(_ParamFree):
    def __init__(self) -> None:
        super().__init__()
        self.dtype = torch.float32


def test_parameter_free_model_dtype() -> None:
    m = _ParamFree()
    assert m.dtype == F64 and m.initial_state().dtype == F64  # float64 by default, not float32
    res = rd.lyapunov_spectrum(m, n_steps=50, generator=torch.Generator().manual_seed(0))
    # exact: at the fixed point 0 the Jacobian is 0.6 I, reached quickly
    assert abs(float(res.exponents[0]) - float(torch.log(torch.tensor(0.6, dtype=F64)))) < 0.05
    m32 = _ParamFree32()
    assert m32.dtype == torch.float32 and m32.initial_state().dtype == torch.float32
    with pytest.raises(TypeError, match="declared dtype"):
        m32.step(torch.zeros(3, dtype=F64))
    assert m32.to(F64).dtype == F64 and m32.initial_state().dtype == F64
    with pytest.raises(TypeError, match="`dtype` must be a floating-point torch.dtype"):
        m.dtype = torch.int64


def test_engine_recorder_hook() -> None:
    """The recorder sees every QR event: Q orthonormal, R upper triangular with positive diagonal,
    J_{t1-1} ... J_{t0} Q_{t0} = Q_{t1} R_{t1}, and the exponents are those of a run without it."""
    net = rd.GRU(6, g_h=3.0, alpha_r=2.0, generator=torch.Generator().manual_seed(3), dtype=F64)
    eng = rd.LyapunovEngine(net, k=4)
    h0 = net.initial_state((2,), generator=torch.Generator().manual_seed(4))
    start = eng.init(h0, generator=torch.Generator().manual_seed(5))
    events: list = []
    rec = eng.advance(start, n_steps=7, qr_every=3, recorder=lambda *a: events.append(a))
    plain = eng.advance(start, n_steps=7, qr_every=3)
    assert [e[0] for e in events] == [3, 6, 7]
    torch.testing.assert_close(rec.log_r, plain.log_r, rtol=0, atol=1e-12)
    h, q = start.h, start.q
    step = 0
    for t_event, h_rec, q_rec, r_rec in events:
        z = q
        while step < t_event:
            z = net.jacobian(h) @ z
            h = net.step(h)
            step += 1
        torch.testing.assert_close(h_rec, h, rtol=0, atol=1e-13)
        eye = torch.eye(4, dtype=F64).expand(2, 4, 4)
        torch.testing.assert_close(q_rec.mT @ q_rec, eye, rtol=0, atol=1e-13)
        assert bool((torch.diagonal(r_rec, dim1=-2, dim2=-1) > 0).all())
        torch.testing.assert_close(torch.tril(r_rec, -1), torch.zeros_like(r_rec), rtol=0, atol=0)
        torch.testing.assert_close(q_rec @ r_rec, z.detach(), rtol=1e-12, atol=1e-12)
        q = q_rec
    logs = sum(torch.log(torch.diagonal(e[3], dim1=-2, dim2=-1)) for e in events)
    torch.testing.assert_close(logs, rec.log_r, rtol=0, atol=1e-12)
    with pytest.raises(TypeError, match="`recorder` must be None or a callable"):
        eng.advance(start, n_steps=2, recorder=3)


@pytest.mark.parametrize("name", sorted(n for n in ALL if ALL[n]().input_size > 0))
def test_none_input_is_zero_input(name: str) -> None:
    """The contract's ``x = None`` means zero input in every hook (rd.autonomous relies on it)."""
    model = ALL[name]()
    h, _, q = _inputs(model, (2,), 3, seed=5)
    zero = torch.zeros(2, model.input_size, dtype=F64)
    free = rd.autonomous(model)
    for a, b in [
        (model.step_and_tangent(h, None, q), model.step_and_tangent(h, zero, q)),
        (free.step_and_tangent(h, None, q), model.step_and_tangent(h, zero, q)),
        ((model.jacobian(h, None),), (model.jacobian(h, zero),)),
        ((_rhs(free, h, None),), (_rhs(model, h, zero),)),
    ]:
        for u, v in zip(a, b, strict=True):
            torch.testing.assert_close(u, v, rtol=1e-13, atol=1e-13)


def test_gradient_horizon_h_only_lstm_goes_through_the_tangent_hook() -> None:
    # tangent_size < state_size: the product M_T = J_T ... J_1 lives in the h block only; oracle:
    # the same product from the dense h-only Jacobians along the same orbit
    from rnndyn.training import gradients as tr

    net = ZOO["torch_lstm_h_only"]()
    free = rd.autonomous(net)
    gen = torch.Generator().manual_seed(0)
    res = tr.gradient_horizon(
        free, horizons=[2, 5], n_trajectories=1, generator=gen, n_transient=0, lyapunov=False
    )  # the oracle is the tangent product; lambda_max (3000 QR steps, ~7 s) is not needed
    z = free.initial_state((1,), generator=torch.Generator().manual_seed(0))
    m = torch.eye(free.tangent_size, dtype=F64)
    logs = []
    with torch.no_grad():
        for t in range(1, 6):
            m = free.jacobian(z) @ m
            z = free.step(z)
            if t in (2, 5):
                logs.append(float(torch.linalg.matrix_norm(m, ord=2).log()))
    assert res.log_tangent_norm == pytest.approx(logs, abs=1e-10)


@pytest.mark.gpu
@pytest.mark.parametrize("name", sorted(ALL))
def test_step_and_tangent_on_cuda_matches_cpu(name: str) -> None:
    if not torch.cuda.is_available():
        pytest.skip("needs CUDA")
    model = ALL[name]()
    h, x, q = _inputs(model, (3,), 4, seed=11)
    with torch.no_grad():
        cpu = model.step_and_tangent(h, x, q)
        gpu_model = model.to("cuda")
        assert gpu_model.device.type == "cuda"
        gpu = gpu_model.step_and_tangent(h.cuda(), None if x is None else x.cuda(), q.cuda())
    for a, b in zip(cpu, gpu, strict=True):
        assert b.device.type == "cuda"
        torch.testing.assert_close(b.cpu(), a, rtol=1e-10, atol=1e-12)


class _ParamFreeFlow(rd.AbstractFlow):
    """dh/dt = -h + 0.5 tanh(h): no parameters; declares float32."""

    state_size, input_size = 2, 0

    def __init__(self) -> None:
        super().__init__()
        self.dtype = torch.float32

    def _vector_field(self, h, x):
        return -h + 0.5 * torch.tanh(h)


def test_wrappers_pass_an_explicit_dtype_on() -> None:
    flow = _ParamFreeFlow()
    disc = rd.discretise(flow, dt=0.1)
    auto = rd.autonomous(disc)
    assert flow.dtype == disc.dtype == auto.dtype == torch.float32
    assert auto.initial_state().dtype == torch.float32
    auto.to(F64)  # moving the outermost wrapper moves every rnndyn system inside
    assert flow.dtype == disc.dtype == auto.dtype == F64
    res = rd.lyapunov_spectrum(auto, n_steps=100, generator=torch.Generator().manual_seed(0))
    # exact: the fixed point 0 has the flow Jacobian -0.5 I, so both exponents tend to -0.5
    assert res.exponents.dtype == F64 and float((res.exponents + 0.5).abs().max()) < 0.05


class _Diag(AbstractMap):
    """h -> a * h (diagonal linear map): the exponents are ln|a_i| exactly."""

    def __init__(self, a: torch.Tensor) -> None:
        super().__init__()
        self.state_size = a.shape[0]
        self.register_buffer("a", a)

    def _step(self, h, x):
        return self.a * h

    def _jacobian(self, h, x):
        return torch.diag_embed(self.a.expand_as(h))


def test_auto_qr_every_bounds_growth_and_underflow() -> None:
    # strongly contracting, k = 1 (no spread): without the range bound 16 steps between
    # normalisations would underflow (1e-20^16 = 1e-320) and give -inf
    m = _Diag(torch.tensor([1e-20, 1e-25], dtype=F64))
    res = rd.lyapunov_spectrum(
        m, k=1, n_steps=200, n_transient=50, generator=torch.Generator().manual_seed(0)
    )
    assert res.qr_every == 1 and res.lambda_max == pytest.approx(math.log(1e-20), abs=1e-12)
    # a spread of ln(0.9/0.3) = 1.10 per step allows int(ln(1e7) / 1.10) = 14 steps between QRs,
    # and the exponents stay exact
    m = _Diag(torch.tensor([0.9, 0.6, 0.3], dtype=F64))
    res = rd.lyapunov_spectrum(m, n_steps=200, n_transient=50, generator=torch.Generator().manual_seed(0))
    assert res.qr_every == 14
    torch.testing.assert_close(
        res.exponents, torch.tensor([0.9, 0.6, 0.3], dtype=F64).log(), rtol=0, atol=1e-12
    )
    short = rd.lyapunov_spectrum(m, n_steps=50, n_transient=10, generator=torch.Generator().manual_seed(0))
    assert short.qr_every == 1  # too short a transient to estimate the exponents


@pytest.mark.parametrize("name", sorted(WRAPPERS))
def test_wrapper_jacobian_is_the_derivative_of_its_step(name: str) -> None:
    # the wrapper's own rhs differentiated by autograd (an independent oracle of the hooks it passes on)
    from rnndyn.jacobians import autograd_jacobian

    model = WRAPPERS[name]()
    h, x, _ = _inputs(model, (2,), 1, seed=5)
    m = model.tangent_size
    dense = model.jacobian(h, x)
    auto = autograd_jacobian(model._rhs, h, x)[..., :m, :m]
    torch.testing.assert_close(dense.detach(), auto.detach(), rtol=1e-12, atol=1e-12)

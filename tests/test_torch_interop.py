"""rd.from_torch: the wrapped map reproduces torch's own forward (float64, 1e-12), its analytic
Jacobians match autograd and finite differences (incl. the LSTM h-only convention), gradients
flow into the module's parameters, saved models load, and unsupported modules are rejected."""

from __future__ import annotations

import itertools

import pytest
import torch
from torch import nn

import rnndyn as rd
from rnndyn.jacobians import autograd_jacobian, finite_difference_jacobian

F64 = torch.float64
TOL = 1e-12
D, H, B, T = 3, 4, 3, 25


def _gen(seed: int) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def _seeded(module: nn.Module, seed: int, gain: float = 1.5) -> nn.Module:
    """Redraw every parameter N(0, gain^2/H) from a seeded generator (no global seeding)."""
    gen = _gen(seed)
    module = module.to(F64)
    with torch.no_grad():
        for p in module.parameters():
            p.copy_(torch.randn(p.shape, generator=gen, dtype=F64) * gain / module.hidden_size**0.5)
    return module


def _make(kind: str, *, cell: bool = False, **kw) -> nn.Module:
    if kind in ("rnn_tanh", "rnn_relu"):
        cls = nn.RNNCell if cell else nn.RNN
        kw["nonlinearity"] = kind[4:]
    else:
        cls = {"gru": (nn.GRU, nn.GRUCell), "lstm": (nn.LSTM, nn.LSTMCell)}[kind][int(cell)]
    return cls(D, H, **kw)


def _flat(a) -> list[torch.Tensor]:
    return [t for item in a for t in _flat(item)] if isinstance(a, tuple | list) else [a.detach()]


def _max_err(a, b) -> float:
    """Largest absolute difference between two tensors or (nested) tuples of tensors."""
    fa, fb = _flat(a), _flat(b)
    assert len(fa) == len(fb) and all(u.shape == v.shape for u, v in zip(fa, fb, strict=True))
    return max(float((u - v).abs().max()) for u, v in zip(fa, fb, strict=True))


KINDS = ("rnn_tanh", "rnn_relu", "gru", "lstm")
CONFIGS = list(itertools.product(KINDS, (1, 2), (True, False), (False, True)))


@pytest.mark.parametrize(("kind", "layers", "bias", "batch_first"), CONFIGS)
def test_rollout_equals_torch_forward(kind: str, layers: int, bias: bool, batch_first: bool) -> None:
    """rd.simulate of the wrapper == module(inputs, hx): outputs at every step and final state."""
    seed = CONFIGS.index((kind, layers, bias, batch_first))
    module = _seeded(_make(kind, num_layers=layers, bias=bias, batch_first=batch_first), seed)
    net = rd.from_torch(module)
    assert isinstance(net, rd.AbstractMap)
    assert net.state_size == (2 if kind == "lstm" else 1) * layers * H and net.input_size == D
    gen = _gen(100 + seed)
    x = torch.randn(B, T, D, generator=gen, dtype=F64)  # rnndyn layout (*batch, T, d)
    x_torch = x if batch_first else x.transpose(0, 1)
    hx = torch.randn(layers, B, H, generator=gen, dtype=F64) * 0.5
    if kind == "lstm":
        hx = (hx, torch.randn(layers, B, H, generator=gen, dtype=F64))
    with torch.no_grad():
        out_ref, hn_ref = module(x_torch, hx)
        traj = rd.simulate(net, net.state_from_torch(hx), inputs=x)
        out = net.output(traj)
        out_t, hn_t = rd.rollout_like_torch(net, x_torch, hx)
    out_ref_b = out_ref if batch_first else out_ref.transpose(0, 1)
    assert _max_err(out, out_ref_b) < TOL
    assert _max_err(net.state_to_torch(traj[:, -1]), hn_ref) < TOL
    assert _max_err(out_t, out_ref) < TOL and _max_err(hn_t, hn_ref) < TOL
    # the outputs are not trivially small: the comparison has teeth
    assert float(out_ref.abs().max()) > 0.1


@pytest.mark.parametrize("kind", KINDS)
def test_unbatched_and_default_state_like_torch(kind: str) -> None:
    module = _seeded(_make(kind, num_layers=2, batch_first=True), 7)
    net = rd.from_torch(module)
    x = torch.randn(9, D, generator=_gen(8), dtype=F64)
    with torch.no_grad():
        assert _max_err(rd.rollout_like_torch(net, x), module(x)) < TOL  # hx=None -> zeros
        hx = torch.full((2, H), 0.3, dtype=F64)
        hx = (hx, -hx) if kind == "lstm" else hx
        assert _max_err(rd.rollout_like_torch(net, x, hx), module(x, hx)) < TOL


@pytest.mark.parametrize(("kind", "bias"), list(itertools.product(KINDS, (True, False))))
def test_cells_equal_torch_cells(kind: str, bias: bool) -> None:
    cell = _seeded(_make(kind, cell=True, bias=bias), 20 + KINDS.index(kind) + 4 * bias, gain=2.0)
    net = rd.from_torch(cell)
    assert net.num_layers == 1 and net.state_size == (2 if kind == "lstm" else 1) * H
    gen = _gen(30)
    xs = torch.randn(T, B, D, generator=gen, dtype=F64)
    hx = torch.randn(B, H, generator=gen, dtype=F64)
    hx = (hx, torch.randn(B, H, generator=gen, dtype=F64)) if kind == "lstm" else hx
    with torch.no_grad():
        state, outs = hx, []
        for x_t in xs:
            state = cell(x_t, state)
            outs.append(state[0] if kind == "lstm" else state)
        out, hn = rd.rollout_like_torch(net, xs, hx)
        # the raw step: one cell call == one wrapper step
        one = net.step(net.state_from_torch(hx), xs[0])
    assert _max_err(out, torch.stack(outs)) < TOL and _max_err(hn, state) < TOL
    assert _max_err(net.state_to_torch(one), cell(xs[0], hx)) < TOL


JAC_CASES = list(itertools.product(KINDS, (1, 3), (True, False)))


@pytest.mark.parametrize(("kind", "layers", "bias"), JAC_CASES)
def test_full_jacobian_analytic_autograd_fd(kind: str, layers: int, bias: bool) -> None:
    module = _seeded(
        _make(kind, num_layers=layers, bias=bias), 40 + JAC_CASES.index((kind, layers, bias)), 2.5
    )
    net = rd.from_torch(module)
    gen = _gen(41)
    h = net.initial_state((2,), generator=gen)
    x = torch.randn(2, D, generator=gen, dtype=F64)
    for xx in (x, None):
        jac = net.jacobian(h, xx).detach()
        ag = autograd_jacobian(net._step, h, xx).detach()
        fd = finite_difference_jacobian(net._step, h, xx)
        scale = float(ag.abs().max())
        assert float((jac - ag).abs().max()) < 1e-12 * scale
        assert float((jac - fd).abs().max()) < 1e-8 * scale
    if layers > 1:  # layer 0 does not see layer 1: block lower-triangular (h-blocks of layer 0)
        assert float(jac[..., :H, H : layers * H].abs().max()) == 0.0


@pytest.mark.parametrize("layers", (1, 2))
def test_lstm_h_only_jacobian_is_dh_dh_at_fixed_c(layers: int) -> None:
    """[VPSL22] convention: dh_t/dh_{t-1} holding c_{t-1} fixed, LH x LH (docs/theory/chaos.md §3.2)."""
    module = _seeded(nn.LSTM(D, H, num_layers=layers), 50 + layers, gain=2.5)
    full, hnet = rd.from_torch(module), rd.from_torch(module, lstm_state="h")
    n, k = 2 * layers * H, layers * H
    assert hnet.state_size == n and hnet.tangent_size == k and full.tangent_size == n
    gen = _gen(52)
    s = full.initial_state((3,), generator=gen)
    x = torch.randn(3, D, generator=gen, dtype=F64)
    h, c = s[..., :k], s[..., k:]

    def h_map(hh: torch.Tensor, xc: torch.Tensor) -> torch.Tensor:
        # the h-update as a function of h alone; c rides along with the input, frozen
        return full._step(torch.cat([hh, xc[..., D:]], -1), xc[..., :D])[..., :k]

    xc = torch.cat([x, c], -1)
    ag = autograd_jacobian(h_map, h, xc).detach()
    fd = finite_difference_jacobian(h_map, h, xc)
    jac = hnet.jacobian(s, x).detach()
    assert jac.shape == (3, k, k)
    assert float((jac - ag).abs().max()) < 1e-12 * float(ag.abs().max())
    assert float((jac - fd).abs().max()) < 1e-8 * float(ag.abs().max())
    # the same block, whichever mode: leading block of the full Jacobian, and jacobian_h_only
    torch.testing.assert_close(full.jacobian(s, x)[..., :k, :k], jac, rtol=0, atol=0)
    torch.testing.assert_close(full.jacobian_h_only(s, x), jac, rtol=0, atol=0)
    torch.testing.assert_close(hnet.jacobian_full(s, x), full.jacobian(s, x), rtol=0, atol=0)
    # the rollout is the same map in both modes
    torch.testing.assert_close(hnet.step(s, x), full.step(s, x), rtol=0, atol=0)
    # and it genuinely differs from the full Jacobian's dynamics: dh/dc is not zero
    assert float(full.jacobian(s, x)[..., :k, k:].detach().abs().max()) > 1e-3


def test_gradients_flow_to_module_parameters() -> None:
    """d loss / d theta through the wrapper == through torch's forward (same parameters)."""
    module = _seeded(nn.LSTM(D, H, num_layers=2, batch_first=True), 60)
    net = rd.from_torch(module)
    assert {id(p) for p in net.parameters()} == {id(p) for p in module.parameters()}
    x = torch.randn(B, 12, D, generator=_gen(61), dtype=F64)
    target = torch.randn(B, 12, H, generator=_gen(62), dtype=F64)

    def grads(out: torch.Tensor) -> list[torch.Tensor]:
        return list(torch.autograd.grad(((out - target) ** 2).sum(), list(module.parameters())))

    g_torch = grads(module(x)[0])
    h0 = torch.zeros(B, net.state_size, dtype=F64)
    g_ours = grads(net.output(rd.simulate(net, h0, inputs=x, track_grad=True)))
    for a, b in zip(g_ours, g_torch, strict=True):
        assert float(b.abs().max()) > 0
        torch.testing.assert_close(a, b, rtol=1e-10, atol=1e-12)

    # training the module changes the wrapper (one SGD step), and they still agree
    before = net.output(rd.simulate(net, h0, inputs=x)).detach()
    opt = torch.optim.SGD(module.parameters(), lr=0.1)
    opt.zero_grad()
    ((module(x)[0] - target) ** 2).sum().backward()
    opt.step()
    with torch.no_grad():
        after = net.output(rd.simulate(net, h0, inputs=x))
        assert float((after - before).abs().max()) > 1e-3
        assert _max_err(after, module(x)[0]) < TOL


def test_dtype_follows_module_and_to_moves_both() -> None:
    module = _seeded(nn.GRU(D, H, num_layers=2), 70)
    net = rd.from_torch(module)
    net.to(torch.float32)
    assert module.weight_hh_l0.dtype == torch.float32
    x = torch.randn(2, 6, D, generator=_gen(71))
    with torch.no_grad():
        out, _ = rd.rollout_like_torch(net, x.transpose(0, 1))
        assert out.dtype == torch.float32
        assert _max_err(out, module(x.transpose(0, 1))[0]) < 1e-6
    with pytest.raises(TypeError, match="dtype"):
        net.step(torch.zeros(8, dtype=F64))


def test_dropout_module_in_eval_mode() -> None:
    module = _seeded(nn.GRU(D, H, num_layers=2, dropout=0.5), 80)
    with pytest.raises(ValueError, match=r"`module` must be in eval mode.*dropout=0.5"):
        rd.from_torch(module)
    module.eval()
    net = rd.from_torch(module)
    x = torch.randn(5, 2, D, generator=_gen(81), dtype=F64)
    with torch.no_grad():
        assert _max_err(rd.rollout_like_torch(net, x), module(x)) < TOL


@pytest.mark.parametrize(
    ("module", "lstm_state", "err", "match"),
    [
        (nn.Linear(3, 4), "full", TypeError, r"`module` must be nn.RNN, nn.GRU.*; got Linear"),
        ("gru", "full", TypeError, r"`module` must be a torch.nn module.*; got str"),
        (nn.GRU(3, 4, bidirectional=True), "full", ValueError, r"bidirectional=False.*got GRU"),
        (nn.LSTM(3, 4, proj_size=2), "full", ValueError, r"proj_size=0.*proj_size=2"),
        (nn.LSTM(3, 4), "c", ValueError, r"`lstm_state` must be one of 'full', 'h'; got 'c'"),
        (nn.GRU(3, 4), "h", ValueError, r"`lstm_state` applies to nn.LSTM.*got 'h' for GRU"),
        (nn.Sequential(nn.Linear(3, 3), nn.GRU(3, 4)), "full", TypeError, r"contains '1' \(GRU\)"),
    ],
)
def test_unsupported_modules_raise(module, lstm_state, err, match) -> None:
    with pytest.raises(err, match=match):
        rd.from_torch(module, lstm_state=lstm_state)


def test_bad_torch_state_and_inputs() -> None:
    net = rd.from_torch(nn.LSTM(D, H, num_layers=2, dtype=F64))
    with pytest.raises(TypeError, match=r"`hx` must be a tuple \(h, c\)"):
        net.state_from_torch(torch.zeros(2, 1, H, dtype=F64))
    with pytest.raises(ValueError, match=r"`hx\[1\]` must have shape \(2, \*batch, 4\); got \(1, 3, 4\)"):
        net.state_from_torch((torch.zeros(2, 3, H, dtype=F64), torch.zeros(1, 3, H, dtype=F64)))
    with pytest.raises(ValueError, match=r"`inputs` must have shape \(T, 3\), \(T, B, 3\); got \(5, 2, 2\)"):
        rd.rollout_like_torch(net, torch.zeros(5, 2, 2, dtype=F64))
    with pytest.raises(TypeError, match="`wrapped` must come from rnndyn.from_torch"):
        rd.rollout_like_torch(rd.VanillaRNN(4, input_size=3, dtype=F64), torch.zeros(5, 3, dtype=F64))
    with pytest.raises(ValueError, match=r"`h` must have shape \(\*batch, 16\)"):
        net.state_to_torch(torch.zeros(3, 8, dtype=F64))


@pytest.mark.filterwarnings("ignore:rnndyn.load_torch_model unpickles:DeprecationWarning")
def test_load_torch_model(tmp_path) -> None:
    module = _seeded(nn.LSTM(D, H, num_layers=2, batch_first=True), 90)
    x = torch.randn(2, 7, D, generator=_gen(91), dtype=F64)
    with torch.no_grad():
        ref = module(x)
    torch.save(module, tmp_path / "full.pt")
    torch.save({"module": module, "epoch": 3}, tmp_path / "dict.pt")
    for name, state in (("full.pt", "full"), ("dict.pt", "h")):
        net = rd.load_torch_model(tmp_path / name, lstm_state=state, trust_pickle=True)
        assert isinstance(net, rd.TorchLSTM) and net.lstm_state == state and not net.module.training
        with torch.no_grad():
            assert _max_err(rd.rollout_like_torch(net, x), ref) < TOL
    # a bare state dict is read (architecture inferred; batch_first is not stored: give it)
    torch.save(module.state_dict(), tmp_path / "sd.pt")
    net = rd.load_model(tmp_path / "sd.pt", batch_first=True)
    with torch.no_grad():
        assert _max_err(rd.rollout_like_torch(net, x), ref) < TOL
    torch.save(nn.Linear(2, 2), tmp_path / "lin.pt")
    with pytest.raises(TypeError, match="got Linear"):
        rd.load_torch_model(tmp_path / "lin.pt", trust_pickle=True)
    torch.save([1, 2], tmp_path / "list.pt")
    with pytest.raises(TypeError, match="`path` must hold a pickled nn.Module.*got list"):
        rd.load_torch_model(tmp_path / "list.pt", trust_pickle=True)
    with pytest.raises(FileNotFoundError, match="`path` must be an existing file"):
        rd.load_torch_model(tmp_path / "missing.pt")
    # the alias unpickles only when asked (it can run code from the file), says so, points to rd.load_model
    with pytest.warns(
        DeprecationWarning, match=r"unpickles whole modules only with trust_pickle=True.*rnndyn.load_model"
    ):
        rd.load_torch_model(tmp_path / "full.pt", trust_pickle=True)

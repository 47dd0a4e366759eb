"""rd.load_model: every common saved-model format, loaded safely.

Oracle for every format: the loaded map, rolled out with rnndyn, reproduces the original torch
module's forward pass (output and final state) to round-off in float64. Safety: a crafted pickle
that would create a file when unpickled is refused and the file is not created.
"""

from __future__ import annotations

import os

import pytest
import torch
from torch import nn

import rnndyn as rd
from rnndyn.io import infer_architecture

F64 = torch.float64
TOL = 1e-12


def _gen(seed: int) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def _seeded(module: nn.Module, seed: int) -> nn.Module:
    g = _gen(seed)
    with torch.no_grad():
        for p in module.parameters():
            p.copy_(torch.rand(p.shape, generator=g, dtype=p.dtype) - 0.5)
    return module.eval()


def _err(a, b) -> float:
    if isinstance(a, tuple | list):
        return max(_err(x, y) for x, y in zip(a, b, strict=True))
    return float((a - b).abs().max())


def _check_same(net, module: nn.Module, x: torch.Tensor) -> None:
    with torch.no_grad():
        assert _err(rd.rollout_like_torch(net, x), module(x)) < TOL


class Wrapper(nn.Module):
    """A user model: a recurrent core with a linear readout."""

    def __init__(self) -> None:
        super().__init__()
        self.rnn = nn.LSTM(3, 5, num_layers=2, batch_first=True, dtype=F64)
        self.head = nn.Linear(5, 2, dtype=F64)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.rnn(x)[0])


class Evil:
    """Unpickling this runs ``os.system`` (what a crafted .pt file can do)."""

    def __init__(self, marker: str) -> None:
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


@pytest.mark.parametrize(
    ("module", "arch", "batch_first"),
    [
        (nn.RNN(3, 4, nonlinearity="relu", dtype=F64), "rnn_relu", False),
        (nn.RNN(3, 4, num_layers=2, bias=False, dtype=F64), None, False),
        (nn.GRU(3, 4, num_layers=2, batch_first=True, dtype=F64), None, True),
        (nn.LSTM(3, 4, num_layers=2, batch_first=True, dtype=F64), None, True),
        (nn.LSTM(3, 4, bias=False, dtype=F64), "lstm", False),
    ],
)
def test_state_dict_round_trip(tmp_path, module, arch, batch_first) -> None:
    module = _seeded(module, 1)
    torch.save(module.state_dict(), tmp_path / "sd.pt")
    net = rd.load_model(tmp_path / "sd.pt", arch=arch, batch_first=batch_first)
    loaded = net.module
    assert type(loaded) is type(module) and loaded.num_layers == module.num_layers
    assert loaded.bias == module.bias and loaded.batch_first == batch_first
    if isinstance(module, nn.RNN):
        assert loaded.nonlinearity == module.nonlinearity
    x = torch.randn(2, 7, 3, generator=_gen(2), dtype=F64)
    _check_same(net, module, x)
    assert net.load_info["format"] == "state_dict"


def test_cells_and_the_relu_ambiguity(tmp_path) -> None:
    cell = _seeded(nn.GRUCell(3, 4, dtype=F64), 3)
    torch.save(cell.state_dict(), tmp_path / "cell.pt")
    net = rd.load_model(tmp_path / "cell.pt")
    assert isinstance(net.module, nn.GRUCell)
    x = torch.randn(6, 2, 3, generator=_gen(4), dtype=F64)
    with torch.no_grad():
        h = torch.zeros(2, 4, dtype=F64)
        for t in range(6):
            h = cell(x[t], h)
        assert _err(rd.rollout_like_torch(net, x)[1], h) < TOL
    # a ReLU RNN's state dict cannot say relu: tanh is assumed and the result says so
    relu = nn.RNN(3, 4, nonlinearity="relu", dtype=F64).state_dict()
    arch = infer_architecture(relu)
    assert arch.nonlinearity == "tanh" and "arch='rnn_relu'" in arch.assumed[0]
    assert infer_architecture(relu, arch="rnn_relu").nonlinearity == "relu"
    with pytest.raises(ValueError, match=r"`arch` must match the weights; got arch='gru'.*RNN"):
        infer_architecture(relu, arch="gru")
    with pytest.raises(ValueError, match="`arch` must be one of"):
        infer_architecture(relu, arch="transformer")


def test_wrapper_checkpoint_and_rnndyn_checkpoint(tmp_path) -> None:
    model = _seeded(Wrapper(), 5)
    x = torch.randn(2, 6, 3, generator=_gen(6), dtype=F64)
    # a wrapper's state dict: the recurrent part is found by its prefix
    torch.save(model.state_dict(), tmp_path / "wrap.pt")
    net = rd.load_model(tmp_path / "wrap.pt", batch_first=True)
    assert net.load_info["module_path"] == "rnn"
    _check_same(net, model.rnn, x)
    # a training checkpoint with the state dict inside, as PyTorch's tutorials save it
    import numpy as np

    ckpt = {
        "epoch": 7,
        "model_state_dict": model.state_dict(),
        "optimizer_state_dict": torch.optim.Adam(model.parameters()).state_dict(),
        "loss": np.float64(0.25),  # numpy values are common in checkpoints and safe to rebuild
        "val_curve": np.linspace(1.0, 0.25, 4),
    }
    ckpt = {
        "optimizer_first": {"state": {0: {"step": torch.tensor(3.0)}}, "by_index": {0: torch.zeros(1)}},
        **ckpt,
    }
    torch.save(ckpt, tmp_path / "ckpt.pt")
    net = rd.load_model(tmp_path / "ckpt.pt", batch_first=True)
    assert net.load_info["format"] == "checkpoint" and net.load_info["epoch"] == 7
    _check_same(net, model.rnn, x)
    # rnndyn's own `rnndyn train --checkpoint` layout: model = ForcedRNN(from_torch(nn.LSTM))
    forced = rd.training.ForcedRNN(_seeded(nn.LSTM(1, 4, dtype=F64), 7), 3, generator=_gen(8))
    torch.save(
        {"epoch": 2, "model": forced.state_dict(), "generator": _gen(0).get_state()}, tmp_path / "own.pt"
    )
    net = rd.load_model(tmp_path / "own.pt")
    assert net.load_info["module_path"] == "core.module"
    _check_same(net, forced.core.module, torch.randn(5, 1, generator=_gen(9), dtype=F64))


def test_several_networks_need_module_path(tmp_path) -> None:
    class Two(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.enc = nn.GRU(2, 3, dtype=F64)
            self.dec = nn.LSTM(3, 3, dtype=F64)

    two = _seeded(Two(), 10)
    torch.save(two.state_dict(), tmp_path / "two.pt")
    with pytest.raises(ValueError, match=r"several recurrent networks \['dec', 'enc'\]: pass `module_path`"):
        rd.load_model(tmp_path / "two.pt")
    net = rd.load_model(tmp_path / "two.pt", module_path="dec")
    _check_same(net, two.dec, torch.randn(4, 3, generator=_gen(11), dtype=F64))
    with pytest.raises(ValueError, match="`module_path` must name a recurrent network"):
        rd.load_model(tmp_path / "two.pt", module_path="head")


def test_torchscript(tmp_path) -> None:
    gru = _seeded(nn.GRU(3, 4, num_layers=2, batch_first=True, dtype=F64), 12)
    torch.jit.script(gru).save(str(tmp_path / "gru.ts"))
    net = rd.load_model(tmp_path / "gru.ts")
    assert net.load_info["format"] == "torchscript" and net.module.batch_first
    _check_same(net, gru, torch.randn(2, 5, 3, generator=_gen(13), dtype=F64))
    wrap = _seeded(Wrapper(), 14)
    torch.jit.script(wrap).save(str(tmp_path / "wrap.ts"))
    net = rd.load_model(tmp_path / "wrap.ts")
    assert net.load_info["module_path"] == "rnn"
    _check_same(net, wrap.rnn, torch.randn(2, 5, 3, generator=_gen(15), dtype=F64))


def test_whole_pickled_module_needs_trust(tmp_path) -> None:
    model = _seeded(Wrapper(), 16)
    torch.save(model, tmp_path / "whole.pt")
    with pytest.raises(
        ValueError, match=r"refusing to load .*unpickling can run arbitrary code.*trust_pickle=True"
    ):
        rd.load_model(tmp_path / "whole.pt")
    net = rd.load_model(tmp_path / "whole.pt", trust_pickle=True)
    assert net.load_info["module_path"] == "rnn"
    _check_same(net, model.rnn, torch.randn(2, 5, 3, generator=_gen(17), dtype=F64))


def test_crafted_pickle_runs_no_code(tmp_path) -> None:
    marker = tmp_path / "PWNED"
    sd = nn.GRU(2, 3, dtype=F64).state_dict()
    torch.save({"model": sd, "payload": Evil(str(marker))}, tmp_path / "evil.pt")
    with pytest.raises(ValueError, match="refusing to load"):
        rd.load_model(tmp_path / "evil.pt")
    assert not marker.exists()  # nothing ran
    # the CLI path refuses it too
    from typer.testing import CliRunner

    from rnndyn.cli import app

    res = CliRunner().invoke(app, ["analyze", "--torch-model", str(tmp_path / "evil.pt"), "--no-progress"])
    assert res.exit_code == 2 and "--trust-pickle" in res.output and not marker.exists()


def test_flags_are_bools_a_truthy_string_unpickles_nothing(tmp_path) -> None:
    """``trust_pickle="false"`` (or "0", read from a config or an environment variable) is truthy:
    before, it unpickled the file and ran its code. Flags must be bools; names are strings."""
    marker = tmp_path / "PWNED"
    sd = nn.GRU(2, 3, dtype=F64).state_dict()
    torch.save({"model": sd, "payload": Evil(str(marker))}, tmp_path / "evil.pt")
    for value in ("false", "0", 1):
        with pytest.raises(TypeError, match=rf"`trust_pickle` must be True or False; got \w+ {value!r}"):
            rd.load_model(tmp_path / "evil.pt", trust_pickle=value)
    assert not marker.exists()  # nothing ran
    torch.save(sd, tmp_path / "sd.pt")
    with pytest.raises(TypeError, match="`batch_first` must be True, False or None; got str 'yes'"):
        rd.load_model(tmp_path / "sd.pt", batch_first="yes")
    with pytest.raises(TypeError, match="`module_path` must be a str .* or None; got int"):
        rd.load_model(tmp_path / "sd.pt", module_path=0)
    # before: map_location='cuda' without CUDA was blamed on the file ("not a torch file, or a damaged one")
    with pytest.raises(ValueError, match="`map_location` must be cpu, cuda, cuda:N or mps; got 'tpu'"):
        rd.load_model(tmp_path / "sd.pt", map_location="tpu")
    with pytest.raises(TypeError, match="`map_location` must be a device .*; got int 3"):
        rd.load_model(tmp_path / "sd.pt", map_location=3)
    if not torch.cuda.is_available():
        with pytest.raises(ValueError, match="`map_location` must be a device this machine has; got 'cuda'"):
            rd.load_model(tmp_path / "sd.pt", map_location="cuda")
    # the oracle: on the CPU the state dict loads with its weights
    net = rd.load_model(tmp_path / "sd.pt", map_location=torch.device("cpu"))
    assert all(torch.equal(v, net.module.state_dict()[k]) for k, v in sd.items())


@pytest.mark.filterwarnings("ignore:rnndyn.load_torch_model unpickles:DeprecationWarning")
def test_deprecated_alias_unpickles_only_when_asked(tmp_path) -> None:
    """rd.load_torch_model unpickled any file without being asked (a crafted checkpoint ran its
    code); now it refuses as rd.load_model does, unless trust_pickle=True."""
    marker = tmp_path / "PWNED"
    sd = nn.GRU(2, 3, dtype=F64).state_dict()
    torch.save({"model": sd, "payload": Evil(str(marker))}, tmp_path / "evil.pt")
    with pytest.raises(ValueError, match="refusing to load .*trust_pickle=True"):
        rd.load_torch_model(tmp_path / "evil.pt")
    assert not marker.exists()  # nothing ran
    # the oracle: a state dict still loads through the alias, with the weights it holds
    torch.save(sd, tmp_path / "sd.pt")
    net = rd.load_torch_model(tmp_path / "sd.pt")
    assert all(torch.equal(v, net.module.state_dict()[k]) for k, v in sd.items())


def test_bad_files(tmp_path) -> None:
    (tmp_path / "empty.pt").write_bytes(b"")
    (tmp_path / "text.pt").write_text("hello, I am not a model")
    torch.save({"epoch": 1, "lr": 0.1}, tmp_path / "noweights.pt")
    torch.save(nn.GRU(2, 3, bidirectional=True).state_dict(), tmp_path / "bi.pt")
    torch.save(nn.LSTM(2, 4, proj_size=2).state_dict(), tmp_path / "proj.pt")
    torch.save({k: v.to(torch.int64) for k, v in nn.GRU(2, 3).state_dict().items()}, tmp_path / "int.pt")
    cases = [
        ("empty.pt", ValueError, "an empty file"),
        ("text.pt", ValueError, "torch cannot read"),
        ("noweights.pt", TypeError, r"got a dict with keys \['epoch', 'lr'\] and no nn.RNN/GRU/LSTM weights"),
        ("bi.pt", ValueError, "unidirectional"),
        ("proj.pt", ValueError, "proj_size=0"),
        ("int.pt", ValueError, "must be real floating point; got dtype torch.int64"),
        ("missing.pt", FileNotFoundError, "`path` must be an existing file"),
    ]
    for name, exc, msg in cases:
        with pytest.raises(exc, match=msg):
            rd.load_model(tmp_path / name)
    with pytest.raises(ValueError, match="`path` must be a file; got .*a directory"):
        rd.load_model(tmp_path)
    with pytest.raises(TypeError, match="`path` must be a str or path; got int"):
        rd.load_model(3)


def test_safetensors_and_npz_state_dicts(tmp_path) -> None:
    """A state dict saved as .safetensors (the Hugging Face hub's format) or as a NumPy .npz
    archive loads like a .pt state dict: the rollout reproduces torch's forward pass."""
    from safetensors.torch import save_file

    np = pytest.importorskip("numpy")
    lstm = _seeded(nn.LSTM(3, 4, num_layers=2, batch_first=True, dtype=F64), 30)
    save_file(lstm.state_dict(), str(tmp_path / "lstm.safetensors"))
    net = rd.load_model(tmp_path / "lstm.safetensors", batch_first=True)
    assert net.load_info["format"] == "safetensors" and net.module.num_layers == 2
    _check_same(net, lstm, torch.randn(2, 6, 3, generator=_gen(31), dtype=F64))

    wrap = _seeded(Wrapper(), 32)  # a wrapper's state dict with a prefix, plus a scalar entry
    arrays = {k: v.numpy() for k, v in wrap.state_dict().items()}
    np.savez(tmp_path / "wrap.npz", epoch=np.int64(3), **arrays)
    net = rd.load_model(tmp_path / "wrap.npz", batch_first=True)
    assert net.load_info["format"] == "npz" and net.module.num_layers == 2
    _check_same(net, wrap.rnn, torch.randn(2, 6, 3, generator=_gen(33), dtype=F64))

    # float32 files stay float32 (the file's dtype), as for .pt
    gru = nn.GRU(2, 3)
    save_file(gru.state_dict(), str(tmp_path / "gru32.safetensors"))
    assert rd.load_model(tmp_path / "gru32.safetensors").module.weight_hh_l0.dtype == torch.float32


def test_bad_safetensors_and_npz(tmp_path) -> None:
    np = pytest.importorskip("numpy")
    marker = tmp_path / "PWNED"
    np.savez(tmp_path / "obj.npz", weight_ih_l0=np.array([Evil(str(marker))], dtype=object))
    with pytest.raises(ValueError, match="only read by unpickling"):
        rd.load_model(tmp_path / "obj.npz")
    assert not marker.exists()
    np.savez(tmp_path / "str.npz", weight_ih_l0=np.array(["a", "b"]))
    with pytest.raises(
        ValueError, match=r"must hold numeric arrays \(a state dict\); got entries \['weight_ih_l0'\]"
    ):
        rd.load_model(tmp_path / "str.npz")
    np.savez(tmp_path / "other.npz", x=np.zeros(3))
    with pytest.raises(TypeError, match=r"got a dict with keys \['x'\] and no nn.RNN/GRU/LSTM weights"):
        rd.load_model(tmp_path / "other.npz")
    from safetensors.torch import save_file

    save_file({"w": torch.zeros(2)}, str(tmp_path / "ok.safetensors"))
    data = (tmp_path / "ok.safetensors").read_bytes()
    (tmp_path / "cut.safetensors").write_bytes(data[:-4])  # truncated: the header promises more bytes
    with pytest.raises(ValueError, match="looks like a safetensors file but cannot be read"):
        rd.load_model(tmp_path / "cut.safetensors")

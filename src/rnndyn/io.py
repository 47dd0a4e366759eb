"""Load saved recurrent networks safely: :func:`load_model` (used by ``--torch-model``).

Formats, in the order they are tried:

1. **TorchScript** (``torch.jit.save``): read with ``torch.jit.load``; its parameters are copied
   into a fresh ``nn.RNN/GRU/LSTM`` (TorchScript runs no Python pickle code).
2. Everything else is read with ``torch.load(..., weights_only=True)``, which only rebuilds
   tensors and plain containers and never runs code from the file:

   * a **state dict** of ``nn.RNN``, ``nn.GRU``, ``nn.LSTM`` or their cells, possibly with a
     prefix (``rnn.weight_ih_l0`` from a wrapper module, ``core.module.weight_ih_l0`` from
     ``rnndyn train --checkpoint``): the architecture is read off the keys and shapes (see
     :func:`infer_architecture`);
   * a **dict checkpoint** holding such a state dict under any key (``"model"``,
     ``"state_dict"``, ``"model_state_dict"``, ...), including rnndyn's own checkpoints.

3. **safetensors** (``safetensors.torch.save_file(module.state_dict(), path)``, the format of
   the Hugging Face hub) and **NumPy** ``.npz`` archives of a state dict
   (``np.savez(path, **{k: v.numpy() for k, v in sd.items()})``): read as tensors only
   (``safetensors.torch.load_file``; ``np.load(allow_pickle=False)``), then as a state dict.
4. A **whole pickled module** (``torch.save(module, path)``) cannot be read with
   ``weights_only=True``; it is unpickled only with ``trust_pickle=True`` (``--trust-pickle``),
   because unpickling can run arbitrary code.

What a state dict cannot say is taken from the arguments: ``arch`` (``"rnn_relu"`` for a ReLU
``nn.RNN``; tanh is torch's default and assumed otherwise) and ``batch_first`` (layout of the
inputs you pass later; rnndyn itself always uses ``(*batch, T, d)``).
"""

from __future__ import annotations

import os
import re
import warnings
import zipfile
from dataclasses import dataclass, field
from typing import Any

import torch
from torch import nn

from rnndyn._checks import check_choice, check_device
from rnndyn.models.torch_interop import _SUPPORTED, TorchGRU, TorchLSTM, TorchRNN, from_torch

#: Values of ``arch``: what a state dict cannot say by itself.
ARCHS = ("rnn", "rnn_tanh", "rnn_relu", "gru", "lstm")
_GATES = {1: "rnn", 3: "gru", 4: "lstm"}
_KEY = re.compile(r"^(?P<prefix>.*?)weight_ih(?:_l(?P<layer>\d+))?(?P<reverse>_reverse)?$")


@dataclass(frozen=True)
class Architecture:
    """What a state dict says about the network (and what was assumed).

    Attributes:
        kind: ``"rnn"``, ``"gru"`` or ``"lstm"``. cell: a ``*Cell`` (keys without ``_l0``).
        input_size, hidden_size, num_layers, bias: read off the shapes and keys.
        nonlinearity: ``"tanh"`` or ``"relu"`` (RNN only; from ``arch``, else torch's default tanh).
        prefix: the key prefix of the recurrent part (``""`` for a bare state dict).
        assumed: what was not in the file and was taken from defaults/arguments.
    """

    kind: str
    cell: bool
    input_size: int
    hidden_size: int
    num_layers: int
    bias: bool
    nonlinearity: str = "tanh"
    prefix: str = ""
    assumed: tuple[str, ...] = field(default_factory=tuple)

    def build(self, *, batch_first: bool = False, dtype: torch.dtype | None = None) -> nn.Module:
        """A fresh module of this architecture (parameters to be loaded)."""
        cls = {
            ("rnn", False): nn.RNN,
            ("gru", False): nn.GRU,
            ("lstm", False): nn.LSTM,
            ("rnn", True): nn.RNNCell,
            ("gru", True): nn.GRUCell,
            ("lstm", True): nn.LSTMCell,
        }[(self.kind, self.cell)]
        kw: dict[str, Any] = {"bias": self.bias, "dtype": dtype}
        if self.kind == "rnn":
            kw["nonlinearity"] = self.nonlinearity
        if not self.cell:
            kw.update(num_layers=self.num_layers, batch_first=batch_first)
        return cls(self.input_size, self.hidden_size, **kw)


def _is_tensor_dict(obj: Any) -> bool:
    return isinstance(obj, dict) and bool(obj) and all(isinstance(v, torch.Tensor) for v in obj.values())


def infer_architecture(
    state_dict: dict[str, torch.Tensor], *, arch: str | None = None, module_path: str | None = None
) -> Architecture:
    r"""Read the architecture of an ``nn.RNN/GRU/LSTM`` (or cell) from its state dict.

    torch stores ``weight_ih_l{k}`` of shape :math:`(G H, d_k)` and ``weight_hh_l{k}`` of shape
    :math:`(G H, H)` per layer ``k``, with :math:`G = 1` (RNN), 3 (GRU: r, z, n) or 4 (LSTM: i, f,
    g, o); cells drop the ``_l{k}`` suffix. So :math:`H` is ``weight_hh``'s second axis, :math:`G`
    the ratio of its axes, the input size :math:`d_0` is ``weight_ih_l0``'s second axis, the
    number of layers is the number of ``weight_ih_l{k}`` keys, and ``bias_ih_l0`` says ``bias``.

    Args:
        state_dict: ``{name: tensor}``; keys may carry a prefix (``"rnn."``).
        arch: ``"rnn"``/``"rnn_tanh"``, ``"rnn_relu"``, ``"gru"`` or ``"lstm"``: required only to
            tell a ReLU ``nn.RNN`` (else tanh, torch's default, is assumed) and checked against the
            shapes otherwise.
        module_path: the prefix to use when the dict holds several recurrent networks (``"rnn"``).

    Returns:
        :class:`Architecture`.

    Raises:
        ValueError: no recurrent weights, several candidates without ``module_path``, a
            bidirectional or projected LSTM, shapes that fit no architecture, or ``arch``
            disagreeing with them.
    """
    if arch is not None:
        check_choice(arch, "arch", ARCHS)
    prefixes: dict[str, list[int | None]] = {}
    for key in state_dict:
        m = _KEY.match(key) if isinstance(key, str) else None
        if m is None:
            continue
        if m["reverse"]:
            raise ValueError(
                f"`state_dict` must be of a unidirectional network (a backward-in-time layer is not a "
                f"causal map); got key {key!r} (bidirectional=True)"
            )
        prefixes.setdefault(m["prefix"], []).append(None if m["layer"] is None else int(m["layer"]))
    if module_path is not None:
        want = module_path.rstrip(".") + "." if module_path else ""
        if want not in prefixes:
            raise ValueError(
                f"`module_path` must name a recurrent network in the state dict; got {module_path!r}, "
                f"found {sorted(p.rstrip('.') or '<top level>' for p in prefixes) or 'none'}"
            )
        prefixes = {want: prefixes[want]}
    if not prefixes:
        keys = list(state_dict)[:5]
        raise ValueError(
            f"the state dict must hold the weights of an {_SUPPORTED} (keys like 'weight_ih_l0', "
            f"'weight_hh_l0'); got keys {keys}{'...' if len(state_dict) > 5 else ''}"
        )
    if len(prefixes) > 1:
        names = sorted(p.rstrip(".") or "<top level>" for p in prefixes)
        raise ValueError(
            f"the state dict holds several recurrent networks {names}: pass `module_path` "
            f"(--module-path) to choose one"
        )
    prefix, layers = next(iter(prefixes.items()))
    cell = layers == [None]
    num_layers = 1 if cell else len(layers)
    if not cell and sorted(layers) != list(range(num_layers)):  # type: ignore[type-var]
        raise ValueError(f"`state_dict` layers must be 0..L-1; got {sorted(layers)}")  # type: ignore[type-var]
    sfx = "" if cell else "_l0"
    if f"{prefix}weight_hr{sfx}" in state_dict:
        raise ValueError("`state_dict` must be of an LSTM with proj_size=0; got a projection 'weight_hr_l0'")
    w_ih = state_dict[f"{prefix}weight_ih{sfx}"]
    w_hh = state_dict.get(f"{prefix}weight_hh{sfx}")
    if w_hh is None or w_hh.ndim != 2 or w_ih.ndim != 2 or w_hh.shape[0] % max(w_hh.shape[1], 1):
        got = None if w_hh is None else tuple(w_hh.shape)
        raise ValueError(f"`{prefix}weight_hh{sfx}` must have shape (G*H, H), G in 1, 3, 4; got {got}")
    hidden = int(w_hh.shape[1])
    gates = int(w_hh.shape[0]) // hidden
    if gates not in _GATES:
        raise ValueError(
            f"`{prefix}weight_hh{sfx}` must have G*H rows with G = 1 (RNN), 3 (GRU) or 4 (LSTM); got "
            f"shape {tuple(w_hh.shape)} (G = {gates})"
        )
    kind = _GATES[gates]
    assumed: list[str] = []
    nonlinearity = "tanh"
    if arch is not None:
        want_kind = arch.split("_")[0]
        if want_kind != kind:
            raise ValueError(
                f"`arch` must match the weights; got arch={arch!r} but weight_hh has {gates}*H rows "
                f"({kind.upper()})"
            )
        if arch == "rnn_relu":
            nonlinearity = "relu"
    if kind == "rnn" and arch in (None, "rnn"):
        assumed.append(
            "nonlinearity tanh (torch's default; a state dict does not store it: pass arch='rnn_relu')"
        )
    bias = f"{prefix}bias_ih{sfx}" in state_dict
    return Architecture(
        kind=kind,
        cell=cell,
        input_size=int(w_ih.shape[1]),
        hidden_size=hidden,
        num_layers=num_layers,
        bias=bias,
        nonlinearity=nonlinearity,
        prefix=prefix,
        assumed=tuple(assumed),
    )


def module_from_state_dict(
    state_dict: dict[str, torch.Tensor],
    *,
    arch: str | None = None,
    module_path: str | None = None,
    batch_first: bool = False,
) -> tuple[nn.Module, Architecture]:
    """Build the ``nn.RNN/GRU/LSTM`` a state dict belongs to and load it (strictly).

    Returns:
        ``(module, architecture)``; the module is in eval mode, in the state dict's dtype.
    """
    a = infer_architecture(state_dict, arch=arch, module_path=module_path)
    sub = {k[len(a.prefix) :]: v for k, v in state_dict.items() if k.startswith(a.prefix)}
    sub = {k: v for k, v in sub.items() if "." not in k}
    dtype = next(iter(sub.values())).dtype
    if not dtype.is_floating_point:
        raise ValueError(f"the recurrent weights must be real floating point; got dtype {dtype}")
    module = a.build(batch_first=batch_first, dtype=dtype)
    try:
        module.load_state_dict(sub, strict=True)
    except RuntimeError as exc:
        first = str(exc).strip().splitlines()
        raise ValueError(
            f"the state dict does not fit an {type(module).__name__} with {a.num_layers} layer(s), "
            f"hidden size {a.hidden_size}: {' '.join(line.strip() for line in first[:3])}"
        ) from None
    module.eval()
    return module, a


def find_recurrent(module: nn.Module, *, module_path: str | None = None) -> tuple[nn.Module, str]:
    """The recurrent network inside ``module``: itself, ``module_path``, or its only RNN submodule.

    Raises:
        TypeError: no (or several, without ``module_path``) ``nn.RNN/GRU/LSTM`` inside.
    """
    kinds = (nn.RNNBase, nn.RNNCellBase)
    if module_path:
        try:
            sub = module.get_submodule(module_path)
        except AttributeError:
            names = [n for n, m in module.named_modules() if n and isinstance(m, kinds)]
            raise ValueError(
                f"`module_path` must name a submodule of {type(module).__name__}; got {module_path!r} "
                f"(recurrent submodules: {names or 'none'})"
            ) from None
        return sub, module_path
    if isinstance(module, kinds):
        return module, ""
    found = [(n, m) for n, m in module.named_modules() if n and isinstance(m, kinds)]
    if len(found) == 1:
        return found[0][1], found[0][0]
    if not found:
        raise TypeError(
            f"`model` must be (or contain) an {_SUPPORTED}; got {type(module).__name__}, which contains none"
        )
    raise TypeError(
        f"`model` {type(module).__name__} contains several recurrent networks "
        f"{[n for n, _ in found]}: pass module_path= (--module-path) to choose one"
    )


def _is_torchscript(path: str) -> bool:
    if not zipfile.is_zipfile(path):
        return False
    with zipfile.ZipFile(path) as zf:
        return any(name.split("/", 1)[-1].startswith("code/") for name in zf.namelist())


def _is_safetensors(path: str) -> bool:
    """A safetensors file: an 8-byte little-endian header length, then a JSON header."""
    with open(path, "rb") as fh:
        head = fh.read(9)
    if len(head) < 9 or head[8:9] != b"{":
        return False
    return int.from_bytes(head[:8], "little") <= os.path.getsize(path) - 8


def _is_npz(path: str) -> bool:
    """A NumPy ``.npz`` archive: a zip file whose members are all ``.npy`` arrays."""
    if not zipfile.is_zipfile(path):
        return False
    with zipfile.ZipFile(path) as zf:
        names = zf.namelist()
    return bool(names) and all(name.endswith(".npy") for name in names)


def _read_safetensors(path: str, map_location: str | torch.device | None) -> dict[str, torch.Tensor]:
    try:
        from safetensors import SafetensorError
        from safetensors.torch import load_file
    except ImportError:  # pragma: no cover - a dependency of rnndyn; only a broken install lacks it
        raise ImportError(
            f"`path` {path!r} is a safetensors file; reading it needs the `safetensors` package "
            "(pip install safetensors)"
        ) from None
    device = "cpu" if map_location is None else str(map_location)
    try:
        return load_file(path, device=device)
    except (SafetensorError, ValueError, RuntimeError, OSError) as exc:
        raise ValueError(f"`path` {path!r} looks like a safetensors file but cannot be read: {exc}") from None


def _read_npz(path: str, map_location: str | torch.device | None) -> dict[str, torch.Tensor]:
    import numpy as np

    try:
        with np.load(path, allow_pickle=False) as z:
            arrays = {k: z[k] for k in z.files}
    except ValueError as exc:  # object arrays need pickle: refused
        raise ValueError(
            f"`path` {path!r} is an .npz archive with an entry NumPy can only read by unpickling "
            f"({exc}); save plain arrays: np.savez(path, **{{k: v.numpy() for k, v in sd.items()}})"
        ) from None
    except (OSError, EOFError, zipfile.BadZipFile) as exc:
        raise ValueError(f"`path` {path!r} looks like an .npz archive but cannot be read: {exc}") from None
    bad = [k for k, a in arrays.items() if a.dtype.kind not in "fiub"]
    if bad:
        raise ValueError(
            f"`path` {path!r} must hold numeric arrays (a state dict); got entries {bad[:4]} of dtype "
            f"{arrays[bad[0]].dtype}"
        )
    device = "cpu" if map_location is None else map_location
    return {k: torch.from_numpy(np.ascontiguousarray(a)).to(device) for k, a in arrays.items()}


def _from_script(script: Any, *, arch: str | None, module_path: str | None, batch_first: bool | None):
    sd = {k: v.detach() for k, v in script.state_dict().items()}
    bf = batch_first
    if bf is None:
        target = script
        for part in (module_path or "").split("."):
            if part:
                target = getattr(target, part)
        bf = bool(getattr(target, "batch_first", False))
        if module_path is None:
            for _name, sub in script.named_modules():
                if hasattr(sub, "weight_ih_l0") or hasattr(sub, "weight_ih"):
                    bf = bool(getattr(sub, "batch_first", False))
                    break
    return module_from_state_dict(sd, arch=arch, module_path=module_path, batch_first=bf)


def from_script_module(
    script: Any, *, module_path: str | None = None, lstm_state: str = "full"
) -> TorchRNN | TorchGRU | TorchLSTM:
    """A TorchScript module in memory (``torch.jit.script(model)``) as :func:`load_model` reads a
    TorchScript file: its recurrent weights copied into a fresh ``nn.RNN/GRU/LSTM`` (a scripted
    module hides its submodules' types, so it cannot be wrapped directly); ``load_info`` says so."""
    info: dict[str, Any] = {"path": "TorchScript module in memory"}
    return _from_object(
        script, info, arch=None, module_path=module_path, batch_first=None, lstm_state=lstm_state
    )


def _numpy_safe_globals() -> list[Any]:
    """NumPy arrays, scalars and dtypes, which checkpoints often hold (``"loss": np.float64(...)``):
    rebuilding them runs no user code, so ``weights_only`` loading may accept them."""
    import numpy as np

    try:
        from numpy._core import multiarray
    except ImportError:  # pragma: no cover - NumPy < 2
        from numpy.core import multiarray  # type: ignore[no-redef]
    dtypes = set()
    for t in set(np.sctypeDict.values()):
        try:
            dtypes.add(type(np.dtype(t)))
        except TypeError:  # pragma: no cover
            continue
    return [multiarray._reconstruct, multiarray.scalar, np.ndarray, np.dtype, *sorted(dtypes, key=str)]


_UNSAFE = (
    "it holds pickled Python objects (e.g. a whole module saved with torch.save(module, path)), and "
    "unpickling can run arbitrary code. Load it only if you trust its source, with trust_pickle=True "
    "(--trust-pickle); better, save module.state_dict() instead"
)


def load_model(
    path: str | os.PathLike[str],
    *,
    arch: str | None = None,
    module_path: str | None = None,
    batch_first: bool | None = None,
    lstm_state: str = "full",
    trust_pickle: bool = False,
    map_location: str | torch.device | None = "cpu",
) -> TorchRNN | TorchGRU | TorchLSTM:
    """Load a saved recurrent network from any common format and wrap it with :func:`from_torch`.

    Formats: a ``state_dict`` of ``nn.RNN/GRU/LSTM`` (or a cell; architecture, layers, bias read
    off the keys and shapes, see :func:`infer_architecture`), a wrapper module's state dict
    (``rnn.weight_ih_l0``), a dict checkpoint holding a state dict (``{"model": ..., "epoch": ...}``,
    including ``rnndyn train --checkpoint`` files), a TorchScript file, a state dict saved as
    ``.safetensors`` or as a NumPy ``.npz`` archive, and, only with ``trust_pickle=True``, a whole
    pickled module. Everything except the last is read with ``torch.load(weights_only=True)``,
    ``torch.jit.load``, ``safetensors.torch.load_file`` or ``np.load(allow_pickle=False)``, which
    run no code from the file.

    The returned map carries ``load_info``: a dict saying the format, the architecture and what
    was assumed (shown by :func:`rnndyn.analyze`).

    Args:
        path: the file.
        arch: ``"rnn_relu"`` for a ReLU ``nn.RNN`` state dict; ``"rnn"``/``"rnn_tanh"``, ``"gru"``,
            ``"lstm"`` are checked against the shapes. Not needed otherwise.
        module_path: the recurrent submodule (``"rnn"``) when the file holds several.
        batch_first: input layout of the module; for a state dict (which does not store it)
            default ``False``, for modules default the module's own.
        lstm_state: LSTM tangent space, ``"full"`` or ``"h"`` (see :func:`rnndyn.from_torch`).
        trust_pickle: allow unpickling a whole module (can run code: trusted files only).
        map_location: where the tensors go, passed to ``torch.load`` (default ``"cpu"``; also used
            for safetensors and ``.npz`` files).

    Returns:
        :class:`~rnndyn.TorchRNN`, :class:`~rnndyn.TorchGRU` or :class:`~rnndyn.TorchLSTM`, in eval
        mode, in the file's dtype.

    Raises:
        FileNotFoundError: no such file. ValueError: an empty or unreadable file, a pickle without
        ``trust_pickle`` (the message says why), an unsupported network. TypeError: the file holds
        no recurrent network.

    Example:
        >>> import tempfile, os, torch, rnndyn as rd
        >>> gru = torch.nn.GRU(3, 8, num_layers=2, dtype=torch.float64)
        >>> with tempfile.TemporaryDirectory() as d:
        ...     torch.save(gru.state_dict(), os.path.join(d, "gru.pt"))
        ...     net = rd.load_model(os.path.join(d, "gru.pt"))
        >>> type(net).__name__, net.state_size, net.load_info["format"]
        ('TorchGRU', 16, 'state_dict')
    """
    if not isinstance(path, str | os.PathLike):
        raise TypeError(f"`path` must be a str or path; got {type(path).__name__}")
    spath = os.fspath(path)
    if arch is not None:
        check_choice(arch, "arch", ARCHS)
    # a flag that guards unpickling is a bool, never a truthy string ("false", "0" from a config)
    if not isinstance(trust_pickle, bool):
        raise TypeError(
            f"`trust_pickle` must be True or False; got {type(trust_pickle).__name__} {trust_pickle!r}"
        )
    if batch_first is not None and not isinstance(batch_first, bool):
        raise TypeError(
            f"`batch_first` must be True, False or None; got {type(batch_first).__name__} {batch_first!r}"
        )
    if isinstance(map_location, str | torch.device):
        # before: map_location='cuda' on a machine without CUDA was blamed on the file ("not a torch
        # file, or a damaged one"), or an AssertionError from torch for an .npz
        check_device(map_location, "map_location")
    elif map_location is not None:
        raise TypeError(
            f"`map_location` must be a device such as 'cpu' or 'cuda:0', a torch.device or None; got "
            f"{type(map_location).__name__} {map_location!r}"
        )
    if module_path is not None and not isinstance(module_path, str):
        raise TypeError(f"`module_path` must be a str (e.g. 'rnn') or None; got {type(module_path).__name__}")
    if not os.path.exists(spath):
        raise FileNotFoundError(f"`path` must be an existing file; got {spath!r} (no such file)")
    if not os.path.isfile(spath):
        raise ValueError(f"`path` must be a file; got {spath!r}, a directory")
    if os.path.getsize(spath) == 0:
        raise ValueError(f"`path` must be a saved torch model; got {spath!r}, an empty file")
    info: dict[str, Any] = {"path": spath}
    if _is_torchscript(spath):
        try:
            with warnings.catch_warnings():  # TorchScript is deprecated upstream, still widely saved
                warnings.simplefilter("ignore", DeprecationWarning)
                script = torch.jit.load(spath, map_location=map_location)
        except RuntimeError as exc:
            raise ValueError(f"`path` {spath!r} looks like TorchScript but cannot be loaded: {exc}") from None
        module, a = _from_script(script, arch=arch, module_path=module_path, batch_first=batch_first)
        info.update(format="torchscript", architecture=a)
        return _wrap(module, info, lstm_state)
    readers = (("safetensors", _is_safetensors, _read_safetensors), ("npz", _is_npz, _read_npz))
    for fmt, is_fmt, read in readers:
        if is_fmt(spath):
            info["format"] = fmt
            return _from_object(
                read(spath, map_location),
                info,
                arch=arch,
                module_path=module_path,
                batch_first=batch_first,
                lstm_state=lstm_state,
            )
    if not zipfile.is_zipfile(spath):
        with open(spath, "rb") as fh:
            magic = fh.read(1)
        if magic != b"\x80":  # neither torch's zip format nor a (legacy) pickle
            raise ValueError(
                "`path` must be a saved model (torch.save, torch.jit.save, .safetensors or .npz); "
                f"got {spath!r}, which "
                "torch cannot read (not a torch file)"
            )
    try:
        with torch.serialization.safe_globals(_numpy_safe_globals()):
            obj = torch.load(spath, map_location=map_location, weights_only=True)
    except Exception as exc:  # noqa: BLE001 - torch raises several types; all mean the same here
        msg = str(exc)
        if "Weights only load failed" not in msg and "weights_only" not in msg:
            raise ValueError(
                "`path` must be a saved model (torch.save, torch.jit.save, .safetensors or .npz); "
                f"got {spath!r}, which "
                f"torch cannot read (not a torch file, or a damaged one)"
            ) from None
        if not trust_pickle:
            raise ValueError(f"refusing to load {spath!r}: {_UNSAFE}") from None
        obj = torch.load(spath, map_location=map_location, weights_only=False)
        info["format"] = "pickled object (trusted)"
    return _from_object(
        obj, info, arch=arch, module_path=module_path, batch_first=batch_first, lstm_state=lstm_state
    )


def _state_dict_in(obj: dict[str, Any]) -> tuple[str, dict[str, torch.Tensor]] | None:
    """Find a state dict with recurrent weights in a checkpoint dict (depth-first, keys in order)."""
    if _is_tensor_dict(obj) and any(isinstance(k, str) and _KEY.match(k) for k in obj):
        return "", obj
    for key, value in obj.items():
        if isinstance(value, dict):
            found = _state_dict_in(value)
            if found is not None:
                return (f"{key}" + (f".{found[0]}" if found[0] else "")), found[1]
    return None


#: ``load_info["assumed"]`` of a state dict loaded without ``batch_first``
BATCH_FIRST_ASSUMED = (
    "batch_first=False: a state dict does not record the input layout (torch's default, time-first)"
)


def _from_object(
    obj: Any,
    info: dict[str, Any],
    *,
    arch: str | None,
    module_path: str | None,
    batch_first: bool | None,
    lstm_state: str,
) -> TorchRNN | TorchGRU | TorchLSTM:
    if isinstance(obj, dict) and not isinstance(obj, nn.Module):
        modules = {k: v for k, v in obj.items() if isinstance(v, nn.Module)}
        if modules:  # a trusted {"module": module, ...}
            key = "module" if "module" in modules else next(iter(modules))
            info.setdefault("format", "pickled object (trusted)")
            info["checkpoint_key"] = key
            return _from_object(
                modules[key],
                info,
                arch=arch,
                module_path=module_path,
                batch_first=batch_first,
                lstm_state=lstm_state,
            )
        found = _state_dict_in(obj)
        if found is None:
            keys = list(obj)[:6]
            raise TypeError(
                f"`path` must hold a recurrent network; got a dict with keys {keys}"
                f"{'...' if len(obj) > 6 else ''} and no nn.RNN/GRU/LSTM weights ('weight_ih_l0', ...) in it"
            )
        where, sd = found
        module, a = module_from_state_dict(
            sd, arch=arch, module_path=module_path, batch_first=bool(batch_first)
        )
        info.setdefault("format", "checkpoint" if where else "state_dict")
        if where:
            info["checkpoint_key"] = where
            if "epoch" in obj:
                info["epoch"] = obj["epoch"]
        info["architecture"] = a
        net = _wrap(module, info, lstm_state)
        if batch_first is None:  # rd.analyze warns about inputs whose layout rests on this
            net.load_info.setdefault("assumed", []).append(BATCH_FIRST_ASSUMED)
        return net
    if isinstance(obj, torch.jit.ScriptModule):
        module, a = _from_script(obj, arch=arch, module_path=module_path, batch_first=batch_first)
        info.update(format="torchscript", architecture=a)
        return _wrap(module, info, lstm_state)
    if isinstance(obj, nn.Module):
        sub, where = find_recurrent(obj, module_path=module_path)
        if where:
            info["module_path"] = where
        info.setdefault("format", "pickled module (trusted)")
        sub.eval()
        if batch_first is not None and hasattr(sub, "batch_first"):
            sub.batch_first = bool(batch_first)
        return _wrap(sub, info, lstm_state)
    raise TypeError(
        f"`path` must hold a pickled nn.Module or a state dict of an {_SUPPORTED}; got {type(obj).__name__}"
    )


def _wrap(module: nn.Module, info: dict[str, Any], lstm_state: str) -> TorchRNN | TorchGRU | TorchLSTM:
    net = from_torch(module, lstm_state=lstm_state)
    a = info.pop("architecture", None)
    info["architecture"] = describe_module(module)
    if a is not None and a.assumed:
        info["assumed"] = list(a.assumed)
    if a is not None and a.prefix:
        info["module_path"] = a.prefix.rstrip(".")
    net.load_info = info
    return net


def describe_module(module: nn.Module) -> dict[str, Any]:
    """The architecture of an ``nn.RNN/GRU/LSTM`` (or cell) as a plain dict (for reports)."""
    out: dict[str, Any] = {
        "type": type(module).__name__,
        "input_size": int(module.input_size),
        "hidden_size": int(module.hidden_size),
        "bias": bool(module.bias),
    }
    if isinstance(module, nn.RNNBase):
        out["num_layers"] = int(module.num_layers)
        out["batch_first"] = bool(module.batch_first)
    if isinstance(module, nn.RNN | nn.RNNCell):
        out["nonlinearity"] = str(module.nonlinearity)
    p = next(module.parameters(), None)
    if p is not None:
        out["dtype"] = str(p.dtype).replace("torch.", "")
    return out


def load_torch_model(
    path: str | os.PathLike[str],
    *,
    lstm_state: str = "full",
    map_location: str | torch.device | None = None,
    trust_pickle: bool = False,
) -> TorchRNN | TorchGRU | TorchLSTM:
    """Deprecated name kept for old scripts: :func:`load_model`.

    It reads every format :func:`load_model` reads, as safely: a whole pickled module, which can
    run code when it is unpickled, only with ``trust_pickle=True`` (trusted files only). Before,
    the alias unpickled any file without being asked (torch >= 2.6 refuses such files by default
    too, ``torch.load(weights_only=True)``).
    """
    warnings.warn(
        "rnndyn.load_torch_model unpickles whole modules only with trust_pickle=True (unpickling can "
        "run code from the file); use rnndyn.load_model(path), which reads state dicts, checkpoints "
        "and TorchScript safely, with trust_pickle=True only for trusted pickled modules",
        DeprecationWarning,
        stacklevel=2,
    )
    return load_model(path, lstm_state=lstm_state, map_location=map_location, trust_pickle=trust_pickle)


__all__ = [
    "ARCHS",
    "Architecture",
    "describe_module",
    "find_recurrent",
    "infer_architecture",
    "load_model",
    "load_torch_model",
    "module_from_state_dict",
]

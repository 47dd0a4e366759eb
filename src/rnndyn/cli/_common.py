"""Shared CLI plumbing: option types, model construction from flags, input files, output-path
checks, JSON output, clean errors.

Every command that takes a model takes it the same way: ``-m NAME`` (a registry name or a preset
from ``rnndyn models``) with ``-n`` and ``-p key=value``, *or* ``--torch-model FILE`` (any format
:func:`rnndyn.load_model` reads), never both. Bad input is reported in one line naming the
option, what was expected and what was received, before any long computation.

Nothing here imports torch, NumPy or an analysis at module level (only inside the functions that
need them): ``rnndyn --help``, ``rnndyn --version`` and every ``rnndyn COMMAND --help`` build the
command line from these modules and must start at once (``tests/test_cli_basic.py`` checks it).
"""

from __future__ import annotations

import dataclasses
import functools
import inspect
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console

from rnndyn._display import param_text

#: results go to stdout as plain text: no rich markup, so labels, messages and table cells print
#: verbatim (a preset's label "gru_chaotic [gru] (...)" lost its "[gru]" as an unknown style tag)
console = Console(markup=False)
err_console = Console(stderr=True)

#: The built-in default model: a chaotic CKS20 GRU (the zero state is unstable for g_h > 2;
#: Can, Krishnamurthy & Schwab 2020, arXiv:2002.00025, Cor. 4.3).
DEFAULT_MODEL = "gru"
DEFAULT_N = 64
DEFAULT_PARAMS: dict[str, Any] = {"g_h": 3.0, "alpha_z": 1.0, "alpha_r": 10.0}

ModelOpt = Annotated[
    str | None,
    typer.Option(
        "--model",
        "-m",
        help="Model name or preset (see `rnndyn models`); default: gru with g_h=3, alpha_z=1, "
        "alpha_r=10 (chaotic).",
        show_default=False,
    ),
]
NOpt = Annotated[
    int | None,
    typer.Option(
        "--n", "-n", help=f"Number of units (models that take one; default {DEFAULT_N}).", show_default=False
    ),
]
ParamOpt = Annotated[
    list[str] | None,
    typer.Option(
        "--param",
        "-p",
        help="Model parameter key=value, repeatable (e.g. -p g_h=3 -p alpha_z=5); overrides the "
        "preset's / default model's values, the others are kept.",
    ),
]
#: seeds are non-negative (NumPy's SeedSequence refuses others) and fit torch's 64-bit seed after
#: the small offsets the commands add for their sub-analyses
SEED_MAX = 2**63 - 1
SeedOpt = Annotated[
    int,
    typer.Option("--seed", min=0, max=SEED_MAX, help="Seed for weights and initial states (an int >= 0)."),
]
DeviceOpt = Annotated[str, typer.Option("--device", help="torch device: cpu, cuda, cuda:N or mps.")]
#: --dt/--method apply to flows (ODE models, discretised into maps); given for a map they are an
#: error rather than silently ignored, so their defaults are None here and these values in effect
DEFAULT_DT, DEFAULT_METHOD = 0.05, "rk4"
DtOpt = Annotated[
    float | None,
    typer.Option(
        "--dt", help=f"Time step used to discretise flows (default {DEFAULT_DT}).", show_default=False
    ),
]
MethodOpt = Annotated[
    str | None,
    typer.Option(
        "--method",
        help=f"Integrator for flows: euler, heun, rk4 (default {DEFAULT_METHOD}).",
        show_default=False,
    ),
]
JsonOpt = Annotated[Path | None, typer.Option("--json", help="Write the machine-readable result here.")]
OutOpt = Annotated[Path | None, typer.Option("--out", help="Folder for figures.")]
ForceOpt = Annotated[bool, typer.Option("--force", help="Overwrite existing output files.")]
TorchModelOpt = Annotated[
    Path | None,
    typer.Option(
        "--torch-model",
        help="A saved torch.nn RNN/GRU/LSTM: state_dict, checkpoint dict, TorchScript, or (with "
        "--trust-pickle) a whole pickled module. Not combinable with -m/-n/-p.",
    ),
]
ArchOpt = Annotated[
    str | None,
    typer.Option(
        "--arch",
        help="For a --torch-model state dict: rnn_relu for a ReLU nn.RNN (tanh assumed otherwise); "
        "rnn, gru, lstm are checked against the weights.",
    ),
]
ModulePathOpt = Annotated[
    str | None,
    typer.Option("--module-path", help="The recurrent submodule inside --torch-model (e.g. rnn)."),
]
TrustPickleOpt = Annotated[
    bool,
    typer.Option(
        "--trust-pickle",
        help="Allow --torch-model to unpickle a whole module: this can run arbitrary code, use only "
        "on files you trust.",
    ),
]
BatchFirstOpt = Annotated[
    bool | None,
    typer.Option(
        "--batch-first/--time-first",
        help="Layout of 3-D --inputs: (B, T, d) or (T, B, d); default: the torch module's "
        "batch_first, (B, T, d) for named models.",
        show_default=False,
    ),
]
LstmStateOpt = Annotated[
    str,
    typer.Option(
        "--lstm-state",
        help="For a --torch-model LSTM: 'full' (h, c) tangent space (2n exponents) or 'h' "
        "(dh/dh at fixed c, the VPSL22 convention; n exponents).",
    ),
]
ProgressOpt = Annotated[
    bool, typer.Option("--progress/--no-progress", help="Show a progress bar (on a terminal, on stderr).")
]
InputsOpt = Annotated[
    Path | None,
    typer.Option(
        "--inputs",
        help="Input sequences: .npy, or .npz with one array (or an 'inputs' array); (T, d), or 3-D "
        "in the layout of --batch-first/--time-first.",
    ),
]


def progress_display(*columns: Any, enabled: bool = True) -> Any:
    """A rich ``Progress`` for long work: on stderr and transient, so it shows while the work runs
    on a terminal and leaves nothing behind in the output (a piped or redirected stdout gets only
    the results; a non-terminal stderr, e.g. a log file, gets nothing, not even the blank line a
    transient display leaves). ``enabled=False``: a no-op display."""
    from rich.progress import Progress

    shown = enabled and err_console.is_terminal
    return Progress(*columns, console=err_console, transient=True, disable=not shown)


def to_jsonable(obj: Any) -> Any:
    """JSON-ready values: tensors/arrays as lists, snake_case keys, non-finite floats as ``None``
    (their reasons under ``"non_finite"`` at the top level; see :func:`rnndyn.analysis.jsonable`)."""
    from rnndyn.analysis import jsonable

    reasons: dict[str, str] = {}
    out = jsonable(obj, reasons=reasons)
    if reasons and isinstance(out, dict):
        out.setdefault("non_finite", {}).update(reasons)
    return out


def write_json(path: Path, payload: dict[str, Any]) -> None:
    """Strict JSON (no NaN/Infinity), written atomically."""
    from rnndyn.analysis import _atomic_write

    text = json.dumps(to_jsonable(payload), indent=2, allow_nan=False)
    _atomic_write(Path(path), text.encode("utf-8"))
    console.print(f"wrote {path}")


def with_overall_status(payload: dict[str, Any]) -> dict[str, Any]:
    """``payload`` with a top-level ``status`` (the worst of its sections' statuses) and a
    ``message`` naming each section's, for a JSON whose results are sections (chaos, train): a
    script reads one key, as in every other command's JSON. Sections are the top-level values that
    are results (a dict with ``status``) or lists of them."""
    from rnndyn._results import Status

    parts: list[tuple[str, str]] = []
    for key, value in payload.items():
        items = value if isinstance(value, list) else [value]
        for i, item in enumerate(items):
            if isinstance(item, dict) and isinstance(item.get("status"), str):
                parts.append((key if len(items) == 1 else f"{key}[{i}]", item["status"]))
    if not parts:  # nothing checked: no status is claimed
        return payload
    worst = Status.worst(*(status for _, status in parts))
    message = "worst of the sections' statuses: " + ", ".join(f"{k} {v}" for k, v in parts)
    return {"status": worst.value, "message": message, **payload}


def fail(message: str) -> typer.Exit:
    """Print a clean error (no traceback) and return an exit to raise."""
    from rich.markup import escape

    # one line whatever its length (a terminal wraps it; a log or a pipe gets one grep-able line),
    # and text, never markup
    err_console.print(f"[bold red]error:[/] {escape(message)}", soft_wrap=True)
    return typer.Exit(code=2)


def fail_from(exc: BaseException, options: dict[str, str], *, inputs_hint: str = "") -> typer.Exit:
    """:func:`fail` with a library error whose argument names are replaced by the options the
    user typed: where the library names its argument n_steps (in backticks), the command line
    names --steps. ``options`` maps argument name -> option. ``inputs_hint`` (see
    :func:`layout_hint`) is appended to an error about the inputs."""
    import re

    message = str(exc)
    for name, option in options.items():
        message = message.replace(f"`{name}`", f"`{option}`")
        if "_" in name:  # a distinctive name also in plain text ("n_transient + n_steps = 80")
            message = re.sub(rf"(?<![\w`.-]){re.escape(name)}(?![\w`-])", option, message)
    if inputs_hint and "inputs" in message:
        message += inputs_hint
    return fail(message)


def layout_hint(x: Any, batch_first: bool | None, module_batch_first: bool | None) -> str:
    """How 3-D ``--inputs`` were read when the user did not say (``--batch-first/--time-first``):
    a state dict's module is time-first like torch's default, so a (B, T, d) file is read as
    (T, B, d) and the error (too few steps) makes sense only with this said."""
    if x is None or x.ndim != 3 or batch_first is not None:
        return ""
    bf = module_batch_first if module_batch_first is not None else True
    read = "(B, T, d)" if bf else "(T, B, d)"
    source = (
        f"the module's batch_first={module_batch_first}" if module_batch_first is not None else "the default"
    )
    other = "--time-first" if bf else "--batch-first"
    return f" (3-D --inputs of shape {tuple(x.shape)} were read as {read}, {source}; pass {other} if not)"


#: the Lyapunov routines' arguments -> the options of `rnndyn lyapunov` / `rnndyn analyze`
LYAPUNOV_OPTIONS = {
    "k": "--k",
    "n_steps": "--steps",
    "n_transient": "--transient",
    "n_trajectories": "--trajectories",
    "qr_every": "--qr-every",
    "log_base": "--log-base",
    "inputs": "--inputs",
    "n_backward_transient": "--backward-transient",
    "record_every": "--record-every",
    "window": "--ftle-window",
    "store": "--store",
    "spectrum_states": "--spectrum-states",
    "fixed_point_starts": "--fp-starts",
    "sections": "--skip",
}

#: how the model flags reach the library: ``build_model``'s arguments -> the options
MODEL_OPTIONS = {"model": "--model", "name": "--model", "n": "--n", "dt": "--dt", "method": "--method"}


def build(
    model: str | None,
    n: int | None,
    params: list[str] | None,
    seed: int,
    device: str,
    dt: float | None,
    method: str | None,
):
    """Named model from CLI flags (presets and default parameters merged); user errors exit cleanly."""
    flags = ModelFlags(model=model, n=n, param=params)
    return resolve_model(flags, seed=seed, device=device, dt=dt, method=method).system


@dataclass(frozen=True)
class ModelFlags:
    """The model options of a command, as typed: ``-m/-n/-p`` (a named model or preset) or
    ``--torch-model`` with the options that apply to a file only. A command declares them as one
    parameter ``flags: ModelFlags`` (see :func:`takes_model`)."""

    model: str | None = None
    n: int | None = None
    param: list[str] | None = None
    torch_model: Path | None = None
    arch: str | None = None
    module_path: str | None = None
    trust_pickle: bool = False
    lstm_state: str = "full"


#: each field of :class:`ModelFlags` -> its option (the order of ``--help``)
_MODEL_FLAG_OPTIONS: dict[str, Any] = {
    "model": ModelOpt,
    "n": NOpt,
    "param": ParamOpt,
    "torch_model": TorchModelOpt,
    "arch": ArchOpt,
    "module_path": ModulePathOpt,
    "trust_pickle": TrustPickleOpt,
    "lstm_state": LstmStateOpt,
}


def takes_model(command: Callable[..., None]) -> Callable[..., None]:
    """A command that takes a model: its parameter ``flags: ModelFlags`` stands for the eight
    model options (``-m``, ``-n``, ``-p``, ``--torch-model``, ``--arch``, ``--module-path``,
    ``--trust-pickle``, ``--lstm-state``), which typer reads from the signature given here, at that
    place; the command receives them as one :class:`ModelFlags`. (typer has no option groups; the
    same signature rewriting gives ``rnndyn report`` its options.)"""
    sig = inspect.signature(command, eval_str=True)
    params: list[inspect.Parameter] = []
    for p in sig.parameters.values():
        if p.name != "flags":
            params.append(p)
            continue
        params += [
            inspect.Parameter(f.name, p.kind, default=f.default, annotation=_MODEL_FLAG_OPTIONS[f.name])
            for f in dataclasses.fields(ModelFlags)
        ]
    if len(params) != len(sig.parameters) + len(_MODEL_FLAG_OPTIONS) - 1:
        raise TypeError(f"{command.__name__} must have a parameter `flags: ModelFlags`")

    @functools.wraps(command)
    def parsed(**options: Any) -> None:
        flags = ModelFlags(**{name: options.pop(name) for name in _MODEL_FLAG_OPTIONS})
        command(flags=flags, **options)

    parsed.__signature__ = sig.replace(parameters=params)  # type: ignore[attr-defined]
    parsed.__annotations__ = {p.name: p.annotation for p in params}
    return parsed


@dataclass
class ModelChoice:
    """The model a command analyses: the map, a title label, its description, and the torch
    module's ``batch_first`` (``None`` for named models)."""

    system: Any
    label: str
    params: dict[str, Any] = field(default_factory=dict)
    batch_first: bool | None = None
    load_info: dict[str, Any] | None = None


def _did_you_mean(word: str, choices: list[str], what: str = "") -> str:
    """``"; did you mean 'gru'?"`` for a mistyped name (case and ``-``/``_`` ignored, then
    :func:`difflib.get_close_matches`), or ``''`` when nothing is close."""
    import difflib

    key = word.strip().lower().replace("-", "_")
    exact = [c for c in choices if c.lower() == key]
    close = exact[:1] or difflib.get_close_matches(key, choices, n=2, cutoff=0.75)
    return f"; did you mean {' or '.join(map(repr, close))}{what}?" if close else ""


def named_params(model: str | None, params: list[str] | None) -> tuple[str, dict[str, Any], str | None]:
    """``(registry name, merged parameters, preset name)`` for ``-m`` and ``-p``.

    Without ``-m`` the model is the default chaotic GRU (:data:`DEFAULT_PARAMS`, also the preset
    ``gru_chaotic``); ``-m gru`` is the GRU with its constructor defaults (``rnndyn models``); a preset
    gives its parameters. ``-p`` values override these one by one; nothing is dropped silently.
    """
    from rnndyn.models.presets import load_presets
    from rnndyn.models.registry import MODELS, model_parameters, parse_params

    try:
        given = parse_params(params)
    except ValueError as exc:
        raise fail(str(exc)) from None
    name = DEFAULT_MODEL if model is None else model
    presets = load_presets()["presets"]
    if name not in presets and name not in MODELS:
        names = sorted(MODELS) + sorted(presets)
        raise fail(
            f"`--model` must be one of {', '.join(names)} (see `rnndyn models`); got {name!r}"
            f"{_did_you_mean(name, names)}"
        )
    registry_name = presets[name]["model"] if name in presets else name
    takes = list(model_parameters(registry_name))
    unknown = sorted(set(given) - set(takes))
    if unknown:  # n, generator, dtype and device have their own options (or are fixed)
        hint = {
            "n": " (use -n)",
            "generator": " (use --seed)",
            "device": " (use --device)",
            "dtype": " (analyses run in float64)",
        }
        extra = "".join(f"; {k} is not a -p parameter{hint[k]}" for k in unknown if k in hint)
        extra += "".join(_did_you_mean(k, takes, f" (for {k})") for k in unknown if k not in hint)
        raise fail(
            f"`-p/--param`: model {registry_name!r} does not take {unknown}; it takes {', '.join(takes)} "
            f"(see `rnndyn models`){extra}"
        )
    if name in presets:
        return registry_name, {**presets[name]["params"], **given}, name
    base = dict(DEFAULT_PARAMS) if model is None else {}
    return name, {**base, **given}, None


def status_rows(result: Any) -> list[tuple[str, str]]:
    """The tables' status and check rows (:func:`rnndyn._results.status_rows`)."""
    from rnndyn._results import status_rows as rows

    return rows(result)


def check_device(device: str) -> str:
    """``--device``: a torch device string that exists on this machine (the library's check,
    :func:`rnndyn._checks.check_device`, as a clean command-line error)."""
    from rnndyn._checks import check_device as _check_device

    try:
        _check_device(device, "--device")
    except (TypeError, ValueError) as e:
        raise fail(str(e)) from None
    return device


def check_model_flags(
    model: str | None,
    n: int | None,
    params: list[str] | None,
    torch_model: Path | None,
    *,
    lstm_state: str = "full",
    arch: str | None = None,
    module_path: str | None = None,
    trust_pickle: bool = False,
) -> None:
    """``-m/-n/-p`` and ``--torch-model`` never together; the file-only flags only with a file."""
    if torch_model is not None:
        given = [
            flag
            for flag, v in (("-m/--model", model), ("-n/--n", n), ("-p/--param", params or None))
            if v is not None
        ]
        if given:
            raise fail(
                f"`--torch-model` takes the architecture from the file; it cannot be combined with "
                f"{', '.join(given)} (got {', '.join(given)} as well)"
            )
        return
    for flag, v in (("--arch", arch), ("--module-path", module_path)):
        if v is not None:
            raise fail(f"`{flag}` applies only to --torch-model; got {flag} {v!r} without --torch-model")
    if trust_pickle:
        raise fail("`--trust-pickle` applies only to --torch-model; got it without --torch-model")
    if lstm_state != "full":
        raise fail(
            f"`--lstm-state` applies only to a --torch-model LSTM; got {lstm_state!r} without --torch-model"
        )


def resolve_model(
    flags: ModelFlags, *, seed: int, device: str, dt: float | None = None, method: str | None = None
) -> ModelChoice:
    """The model of a command, from ``-m/-n/-p`` or ``--torch-model`` (never both), in float64.
    ``dt``/``method`` (``None``: :data:`DEFAULT_DT`, :data:`DEFAULT_METHOD`) only for a flow."""
    model, n, params, torch_model = flags.model, flags.n, flags.param, flags.torch_model
    lstm_state, arch, module_path = flags.lstm_state, flags.arch, flags.module_path
    trust_pickle = flags.trust_pickle
    check_device(device)
    given = [f"{flag} {v}" for flag, v in (("--dt", dt), ("--method", method)) if v is not None]
    check_model_flags(
        model,
        n,
        params,
        torch_model,
        lstm_state=lstm_state,
        arch=arch,
        module_path=module_path,
        trust_pickle=trust_pickle,
    )
    if torch_model is not None:
        from rnndyn.io import load_model

        try:
            system = load_model(
                torch_model,
                arch=arch,
                module_path=module_path,
                lstm_state=lstm_state,
                trust_pickle=trust_pickle,
                map_location="cpu",
            )
        except (FileNotFoundError, TypeError, ValueError) as exc:
            raise fail(f"`--torch-model`: {exc}") from None
        import torch

        arch_info = system.load_info["architecture"]
        bf = arch_info.get("batch_first")
        system = system.to(dtype=torch.float64, device=device)
        if given:
            raise fail(
                f"`--dt`/`--method` apply only to flows (ODE models such as rate, gated, lorenz63); a "
                f"--torch-model is a map; got {', '.join(given)}"
            )
        desc = ", ".join(f"{k}={v}" for k, v in arch_info.items() if k != "type")
        label = f"{torch_model.name} ({arch_info['type']}: {desc})"
        return ModelChoice(system, label, dict(arch_info), bf, dict(system.load_info))
    from rnndyn.models.registry import MODELS, build_model

    name, merged, preset = named_params(model, params)
    if n is not None and n < 1:
        raise fail(f"`--n` must be a positive int; got {n}")
    takes_n = MODELS[name].takes_n
    if n is not None and not takes_n:
        raise fail(f"`--n` does not apply to {name!r} (fixed state size); got -n {n}")
    size = (DEFAULT_N if n is None else n) if takes_n else None
    try:
        system = build_model(
            name,
            n=size,
            params=merged,
            seed=seed,
            device=device,
            dt=DEFAULT_DT if dt is None else dt,
            method=DEFAULT_METHOD if method is None else method,
        )
    except (TypeError, ValueError) as exc:  # a model parameter is set with -p NAME=VALUE
        raise fail_from(exc, {**MODEL_OPTIONS, **{k: f"-p {k}" for k in merged}}) from None
    if given and getattr(system, "dt", None) is None:  # a map: nothing to discretise
        raise fail(
            f"`--dt`/`--method` apply only to flows (ODE models such as rate, gated, lorenz63); {name!r} "
            f"is a map; got {', '.join(given)}"
        )
    from rnndyn.models.registry import model_parameters

    full = {k: v for k, v in model_parameters(name).items() if isinstance(v, float)}
    full.update(merged)  # every gain/bias with its value, plus whatever was set
    sizes = [f"n={size}"] if takes_n else []  # -n as typed: before, n=12 for -m gated -n 4
    if takes_n and system.state_size != size:  # gated (h, z, r), lstm (h, c): the state is larger
        sizes.append(f"state size {system.state_size}")
    shown = sizes + [f"{k}={param_text(v)}" for k, v in full.items()]
    if getattr(system, "dt", None) is not None:  # a flow: its results depend on the discretisation
        shown += [f"dt={param_text(system.dt)}", f"method={DEFAULT_METHOD if method is None else method}"]
    title = f"{preset} [{name}]" if preset else name
    label = f"{title} ({', '.join(shown)})" if shown else title
    return ModelChoice(system, label, merged, None, None)


def load_inputs(path: Path | None, device: str = "cpu") -> Any:
    """``--inputs``: a float64 array from ``.npy`` or ``.npz`` (layout handled by the library)."""
    if path is None:
        return None
    import numpy as np
    import torch

    if not path.exists():
        raise fail(f"`--inputs` must be an existing .npy/.npz file; got {str(path)!r} (no such file)")
    if path.is_dir():
        raise fail(f"`--inputs` must be a .npy/.npz file; got {str(path)!r}, a directory")
    with open(path, "rb") as fh:
        magic = fh.read(6)
    if magic != b"\x93NUMPY" and not magic.startswith(b"PK"):  # before: NumPy's advice on allow_pickle
        what = "an empty file" if not magic else f"whose first bytes {magic!r} are not NumPy's"
        raise fail(
            f"`--inputs` must be a NumPy .npy/.npz file (np.save / np.savez); got {str(path)!r}, {what}; "
            "a text or CSV file can be converted with np.save(path, np.loadtxt(...))"
        )
    try:
        arr = np.load(path, allow_pickle=False)
    except (OSError, ValueError, EOFError) as exc:
        first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise fail(f"`--inputs` must be a readable .npy/.npz file; got {str(path)!r} ({first})") from None
    if isinstance(arr, np.lib.npyio.NpzFile):
        keys = list(arr.keys())
        if any(k.endswith("data.pkl") for k in keys):  # before: its zip entries listed as 'arrays'
            raise fail(
                f"`--inputs` must be a NumPy .npy/.npz file; got {str(path)!r}, a torch file (torch.save); "
                "save the tensor with np.save(path, x.numpy())"
            )
        if "inputs" in keys:
            key = "inputs"
        elif len(keys) == 1:
            key = keys[0]
        else:
            raise fail(f"`--inputs` .npz must hold one array or an array named 'inputs'; got arrays {keys}")
        try:
            arr = arr[key]
        except ValueError as exc:  # before: a traceback for an object array inside the .npz
            raise fail(
                f"`--inputs` must hold real numbers; got array {key!r} that NumPy refuses ({exc})"
            ) from None
    if not (np.issubdtype(arr.dtype, np.floating) or np.issubdtype(arr.dtype, np.integer)):
        raise fail(f"`--inputs` must hold real numbers; got dtype {arr.dtype}")
    if arr.ndim not in (2, 3) or arr.size == 0:
        raise fail(f"`--inputs` must have shape (T, d) or a 3-D (B, T, d)/(T, B, d); got {arr.shape}")
    if not np.isfinite(arr).all():
        raise fail("`--inputs` must be finite; got NaN or inf entries")
    return torch.as_tensor(np.asarray(arr, dtype=np.float64), device=device)


def given(ctx: typer.Context, name: str) -> bool:
    """Whether the option of parameter ``name`` was given (not left at its default)."""
    return getattr(ctx.get_parameter_source(name), "name", None) not in (None, "DEFAULT")


def only_with(
    ctx: typer.Context, condition: bool, needed: str, options: dict[str, str], *, got: str | None = None
) -> None:
    """Refuse options typed on the command line that apply only with ``needed`` (``condition``
    False): ``options`` maps parameter name -> flag; ``got`` replaces the default '... without it'
    account of what was received. An option left at its default is not refused."""
    if condition:
        return
    typed = [
        flag
        for name, flag in options.items()
        if getattr(ctx.get_parameter_source(name), "name", None) == "COMMANDLINE"
    ]
    if typed:
        verb = "applies" if len(typed) == 1 else "apply"
        received = got if got is not None else f"{' '.join(typed)} without it"
        raise fail(f"`{'`, `'.join(typed)}` {verb} only with {needed}; got {received}")


def flag_of_layout(batch_first: bool) -> str:
    return "--batch-first" if batch_first else "--time-first"


def read_inputs(
    path: Path | None, batch_first: bool | None, choice: ModelChoice, device: str
) -> tuple[Any, str]:
    """``--inputs`` in rnndyn's layout (:func:`load_inputs`, :func:`orient_inputs` by
    ``--batch-first/--time-first`` or the model's ``batch_first``) and the :func:`layout_hint` an
    error about them gets."""
    if path is None and batch_first is not None:  # before: ignored without a word
        raise fail(
            f"`--batch-first/--time-first` applies only with --inputs; got {flag_of_layout(batch_first)}"
        )
    raw = load_inputs(path, device)
    hint = layout_hint(raw, batch_first, choice.batch_first)
    return orient_inputs(raw, batch_first, choice.batch_first), hint


def orient_inputs(x: Any, batch_first: bool | None, module_batch_first: bool | None) -> Any:
    """3-D inputs to rnndyn's ``(B, T, d)``: transposed when the layout is time-first."""
    if x is None or x.ndim != 3:
        return x
    bf = (
        batch_first
        if batch_first is not None
        else (module_batch_first if module_batch_first is not None else True)
    )
    return x if bf else x.transpose(0, 1).contiguous()


def _writable_dir(folder: Path) -> Path | None:
    """Create ``folder`` (and parents) and probe it with a temporary file; None if that fails."""
    import tempfile

    try:
        folder.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=folder, prefix=".rnndyn-probe-"):
            pass
    except OSError:
        return None
    return folder


def check_outputs(
    *,
    json_path: Path | None = None,
    out: Path | None = None,
    out_files: tuple[str, ...] = (),
    files: dict[str, Path | None] | None = None,
    force: bool = False,
) -> None:
    """Check every output path before the run: writable, not a directory (for files), not a file
    (for ``--out``), and no existing file overwritten without ``--force``."""
    targets: dict[str, Path] = {}
    if json_path is not None:
        targets["--json"] = json_path
    for flag, p in (files or {}).items():
        if p is not None:
            targets[flag] = p
    for flag, p in targets.items():
        if str(p) == "-":  # before: a file named '-' was written (the tables own stdout)
            raise fail(f"`{flag}` must be a file path; got '-' (stdout carries the tables; name a file)")
        if p.is_dir():
            raise fail(f"`{flag}` must be a file path; got {str(p)!r}, which is a directory")
        if _writable_dir(p.parent) is None:
            raise fail(f"`{flag}` must be in a writable folder; got {str(p)!r}")
        if p.exists() and not force:
            raise fail(f"`{flag}` {str(p)!r} exists; pass --force to overwrite it")
    if out is not None:
        if out.exists() and not out.is_dir():
            raise fail(f"`--out` must be a folder; got {str(out)!r}, which is a file")
        if _writable_dir(out) is None:
            raise fail(f"`--out` must be a writable folder; got {str(out)!r}")
        existing = [name for name in out_files if (out / name).exists()]
        if existing and not force:
            raise fail(f"`--out` {str(out)!r} already holds {', '.join(existing)}; pass --force to overwrite")


def check_zarr_target(path: Path | None, flag: str) -> None:
    """A Zarr store the command may replace (``--force``/``--fresh``) or resume: a new path or an
    existing Zarr store, never another folder or a file. Replacing a store deletes the folder's
    contents, so ``--zarr ~/results --force`` would have deleted every file in ``~/results``."""
    from rnndyn.sweeps import store_kind

    kind = "new" if path is None else store_kind(path)
    if kind == "file":
        raise fail(f"`{flag}` must be a new path or a Zarr store (a folder); got {str(path)!r}, a file")
    if kind == "other":
        raise fail(
            f"`{flag}` must be a new path or a Zarr store; got {str(path)!r}, a folder that holds no Zarr "
            "store (it is not overwritten: its contents would be deleted)"
        )


def write_netcdf(ds: Any, path: Path) -> Path:
    """Write an ``xarray.Dataset`` as NetCDF with whatever engine is installed (scipy's NetCDF-3
    included): text variables become fixed-width byte strings, non-scalar attributes JSON, and the
    file is written to a temporary name first, so a failure never leaves a corrupt file."""
    import os
    import tempfile

    import numpy as np

    ds = ds.copy()
    for name in list(ds.variables):
        kind, size = ds[name].dtype.kind, ds[name].dtype.itemsize
        if kind in ("U", "O"):  # UTF-8 bytes (NetCDF-3 has no unicode type; non-ASCII text stays)
            ds[name] = ds[name].copy(data=np.char.encode(ds[name].values.astype(str), "utf-8"))
        elif (kind == "i" and size > 4) or (kind == "u" and size >= 4):  # NetCDF-3: int32 at most
            v = ds[name].values
            fits = v.size == 0 or (v.min() >= np.iinfo(np.int32).min and v.max() <= np.iinfo(np.int32).max)
            ds[name] = ds[name].astype(np.int32 if fits else np.float64)  # float64: exact below 2**53
    ds.attrs = {
        k: v if isinstance(v, str | int | float) and not isinstance(v, bool) else json.dumps(to_jsonable(v))
        for k, v in ds.attrs.items()
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=path.name + ".", suffix=".tmp", dir=path.parent)
    umask = os.umask(0o022)  # mkstemp's file is private (0600): the result gets a new file's mode
    os.umask(umask)
    os.fchmod(fd, 0o666 & ~umask)
    os.close(fd)
    try:
        ds.to_netcdf(tmp)
        os.replace(tmp, path)
    except (ValueError, ImportError, KeyError, TypeError) as exc:
        raise fail(f"`--netcdf` {str(path)!r} could not be written: {exc}") from None
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    return path


# ------------------------------------------------------------------------------ status and checks
#: exit code of a command whose analysis came back ``failed`` (a self-check failed); every other
#: status exits 0, with a visible warning unless it is ``success``.
EXIT_FAILED = 1


def print_summary(rows: list[tuple[str, str]], result: Any = None, *, title: str | None = None) -> None:
    """A result's two-column summary table: ``rows`` (quantity, value), then the result's status
    and checks (:func:`status_rows`; none for ``result=None``)."""
    from rich.table import Table

    table = Table(show_header=False, title=title, title_justify="left")
    for key, value in [*rows, *status_rows(result)]:
        table.add_row(key, value)
    console.print(table)


def report_status(result: Any) -> None:
    """Print a visible warning for any status but ``success`` (on stderr, so tables and ``--json``
    stay clean) and exit with :data:`EXIT_FAILED` for ``failed``; return normally otherwise."""
    status = getattr(result, "status", None)
    if status is None:
        return
    value = str(getattr(status, "value", status))
    if value == "success":
        return
    message = str(getattr(result, "message", ""))
    if message.startswith(f"{value}: "):
        message = message[len(value) + 2 :]
    from rich.markup import escape

    err_console.print(f"[bold yellow]warning:[/] status {value}: {escape(message)}", soft_wrap=True)
    if value == "failed":
        raise typer.Exit(code=EXIT_FAILED)

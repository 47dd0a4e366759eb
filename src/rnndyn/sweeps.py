r"""Parameter sweeps: grid x seeds -> Dask -> Zarr; resumable, crash-consistent, one writer at a time.

Each (grid point, seed) is one task ``fn(params, seed)``. Results are written to a Zarr store (one
chunk per point and variable) as soon as each task finishes, by the single process that drives the
sweep. The guarantees (docs/sweeps.md):

* **Crash-consistent writes.** A point's variables are written first, in a fixed order, then its
  ``digest`` (SHA-256 of the point's values, status, message and seed), then, in a separate and
  last write, its ``done`` flag. On resume a point counts as done only if ``done`` is set *and*
  its values read back and hash to the stored digest; anything else (a kill between two writes,
  a deleted or truncated chunk) is recomputed.
* **Atomic creation.** The store is built under a temporary name next to the target and renamed
  into place, so a kill at any moment leaves no store or a valid one.
* **The store knows its sweep.** The full specification (function identity including the
  settings bound with ``functools.partial``, grid values, number of seeds, base seed, seed rule,
  ``attrs`` such as the model settings, rnndyn version) is stored at creation. Resuming with a
  different specification raises :class:`SweepSpecError` naming every difference; ``fresh=True``
  discards the old store and starts a new one.
* **Poison points are recorded, not fatal.** A point whose worker dies (segfault, SIGKILL, out of
  memory) is retried ``max_retries`` times on fresh workers, then stored with status ``failed``
  and the reason; an optional per-point ``time_limit`` does the same for points that run too long.
  Every other point completes. An exception raised by ``fn`` is recorded the same way at once.
* **One writer at a time.** A lock file next to the store (``<store>.lock``, an ``flock``, present
  only while a sweep runs) makes a second sweep on the same store wait up to ``wait`` seconds, then
  fail with :class:`SweepLockedError` naming the holder (pid, host, start time). A lock left by a
  killed sweep is taken over by the next one, with a ``UserWarning`` naming the dead holder.
* **Deterministic seeds.** Every point's seed is ``point_seed(base_seed, flat index)`` (NumPy
  ``SeedSequence``), so a resumed or redistributed sweep gives bit-identical numbers.

Statuses use the project vocabulary (:class:`rnndyn.Status`): ``success`` unless the point
function returns its own ``status``/``message`` entries or fails (``failed`` + the reason). A point
whose outputs hold NaN/inf and that has no status of its own is ``failed``, its message naming the
non-finite outputs; with a status of its own, the status is kept and the message starts with them.
"""

from __future__ import annotations

import functools
import hashlib
import itertools
import json
import math
import numbers
import os
import re
import shutil
import socket
import threading
import time
import uuid
import warnings
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from rnndyn._checks import check_positive_int
from rnndyn._results import Status

SweepFn = Callable[[dict[str, Any], int], Mapping[str, Any]]

#: version of the store layout (bumped when the layout changes; part of the specification)
STORE_FORMAT = 2
#: how each point's seed derives from the base seed (part of the specification)
SEED_RULE = "SeedSequence([base_seed, flat_index]).generate_state(1, uint32)[0]"

_MESSAGE_LEN = 300
_STATUS_LEN = max(len(s.value) for s in Status)
_DIGEST_LEN = 32
_BOOK = ("status", "message", "point_seed", "digest", "done")

#: Test hook: ``_write_hook(i, label)`` is called before the sweep's i-th store write (0-based,
#: counted from the start of the call), e.g. to kill the process at every write position.
_write_hook: Callable[[int, str], None] | None = None


class SweepSpecError(ValueError):
    """The store at ``store`` was made for a different sweep (the message names what differs)."""


class SweepLockedError(RuntimeError):
    """Another process holds the store's lock (the message names the holder)."""


class SchedulerUnreachableError(RuntimeError):
    """The Dask scheduler at the given address did not answer within the connect timeout."""


def point_seed(base_seed: int, index: int) -> int:
    """The seed of grid point ``index``: a pure function of ``(base_seed, index)``.

    ``SeedSequence([base_seed, index]).generate_state(1, uint32)[0]`` (NumPy's recommended way to
    derive independent streams), so seeds do not depend on the order, the worker or a resume.
    """
    # ints >= 0 only (NumPy's too): int(1.5) or int(True) would silently alias another seed
    base_seed = check_positive_int(base_seed, "base_seed", minimum=0)
    index = check_positive_int(index, "index", minimum=0)
    return int(np.random.SeedSequence([base_seed, index]).generate_state(1, dtype=np.uint32)[0])


# --------------------------------------------------------------------------- one point


def _run_point(
    fn: SweepFn, params: dict[str, Any], seed: int, time_limit: float | None = None
) -> tuple[dict[str, np.ndarray], str, str]:
    """``fn(params, seed)`` -> (outputs as float64 arrays, status, message); never raises."""
    if time_limit is None:
        return _call_point(fn, params, seed)
    box: list[tuple[dict[str, np.ndarray], str, str]] = []
    thread = threading.Thread(target=lambda: box.append(_call_point(fn, params, seed)), daemon=True)
    thread.start()
    thread.join(time_limit)
    if thread.is_alive() or not box:
        return {}, Status.FAILED.value, f"exceeded the per-point time limit of {time_limit:g} s (abandoned)"
    return box[0]


def _call_point(fn: SweepFn, params: dict[str, Any], seed: int) -> tuple[dict[str, np.ndarray], str, str]:
    try:
        out = fn(dict(params), seed)
        if not isinstance(out, Mapping):
            raise TypeError(
                f"the sweep function must return a mapping name -> value; got {type(out).__name__}"
            )
        out = dict(out)
        out_keys = set(out)
        status, message = Status.SUCCESS.value, ""
        if "status" in out:
            raw = out.pop("status")
            try:
                status = Status.coerce(str(getattr(raw, "value", raw))).value
            except ValueError:
                raise ValueError(
                    f"the sweep function returned status {raw!r}; expected one of {[s.value for s in Status]}"
                ) from None
        if "message" in out:
            message = str(out.pop("message"))
        reserved = sorted(set(map(str, out)) & {"seed", *_BOOK, *params})
        if reserved:
            raise ValueError(
                f"the sweep function returned reserved output name(s) {reserved} (grid axes or bookkeeping)"
            )
        arrays = {str(k): _as_output(str(k), v) for k, v in out.items()}
        status, message = _classify_non_finite(arrays, status, message, own_status="status" in out_keys)
        return arrays, status, message[:_MESSAGE_LEN]
    except Exception as exc:  # recorded per point, by design (a sweep never aborts on one point)
        return {}, Status.FAILED.value, f"{type(exc).__name__}: {exc}"[:_MESSAGE_LEN]


def _as_output(name: str, value: Any) -> np.ndarray:
    """One output of the point function as a float64 array; anything else names the output."""
    if isinstance(value, str | bytes):
        raise TypeError(
            f"the sweep function's output {name!r} must be a number or an array of numbers; got {value!r}"
        )
    try:
        return np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise TypeError(
            f"the sweep function's output {name!r} must be a number or a fixed-shape array of numbers; "
            f"got {type(value).__name__} ({exc})"
        ) from None


def _non_finite(name: str, value: np.ndarray) -> str:
    """``y = nan`` (a scalar) or ``z: 2 of 3 entries non-finite (nan, inf)`` (an array)."""
    if value.ndim == 0:
        return f"{name} = {float(value)!r}"
    kinds = [k for k, bad in (("nan", np.isnan(value)), ("inf", np.isposinf(value)),
                              ("-inf", np.isneginf(value))) if bad.any()]  # fmt: skip
    return (
        f"{name}: {int((~np.isfinite(value)).sum())} of {value.size} entries non-finite ({', '.join(kinds)})"
    )


def _classify_non_finite(
    outputs: Mapping[str, np.ndarray], status: str, message: str, *, own_status: bool
) -> tuple[str, str]:
    """A point whose outputs hold NaN/inf is never an unqualified ``success``.

    Without a status of its own from ``fn`` the point is ``failed`` (nothing vouches for a NaN);
    with one (an analysis that says what it checked, e.g. :func:`lyapunov_point`) the status is
    kept and the message starts by naming the non-finite outputs (first, so the 300-character
    message limit never cuts it off)."""
    bad = [
        _non_finite(name, outputs[name]) for name in sorted(outputs) if not np.isfinite(outputs[name]).all()
    ]
    if not bad:
        return status, message
    named = "; ".join(bad)
    if own_status:
        return status, f"non-finite output(s): {named}" + (f"; {message}" if message else "")
    return Status.FAILED.value, (
        f"the sweep function returned non-finite output(s): {named}. A NaN/inf value is not a "
        "result: fix the function, or return a 'status' entry (and 'message') that classifies such points"
    )


def _digest(outputs: Mapping[str, np.ndarray], status: str, message: str, seed: int) -> str:
    h = hashlib.sha256()
    for name in sorted(outputs):
        h.update(name.encode() + b"\0")
        h.update(np.ascontiguousarray(outputs[name], dtype="<f8").tobytes())
    h.update(f"\0{status}\0{message}\0{int(seed)}".encode())
    return h.hexdigest()[:_DIGEST_LEN]


# --------------------------------------------------------------------------- specification


def _canonical(value: Any) -> Any:
    """JSON-able canonical form (sorted keys; anything else by its repr)."""
    return json.loads(json.dumps(value, sort_keys=True, default=repr))


def function_identity(fn: Any) -> dict[str, Any]:
    """What identifies a point function in a store's specification: its import path and, for a
    ``functools.partial``, the arguments bound to it (the model and its settings)."""
    if isinstance(fn, functools.partial):
        inner = function_identity(fn.func)
        return _canonical(
            {
                **inner,
                "args": [*inner.get("args", []), *fn.args],
                "keywords": {**inner.get("keywords", {}), **fn.keywords},
            }
        )
    module = getattr(fn, "__module__", None) or type(fn).__module__
    name = getattr(fn, "__qualname__", None) or type(fn).__qualname__
    return {"function": f"{module}.{name}"}


def _spec(
    fn: Any, grid: dict[str, np.ndarray], n_seeds: int, base_seed: int, attrs: Mapping[str, Any] | None
) -> dict:
    from rnndyn._version import __version__

    return _canonical(
        {
            "store_format": STORE_FORMAT,
            "function": function_identity(fn),
            "grid": {k: v.tolist() for k, v in grid.items()},
            "n_seeds": n_seeds,
            "base_seed": int(base_seed),
            "seed_rule": SEED_RULE,
            "attrs": dict(attrs or {}),
            "rnndyn_version": __version__,
        }
    )


_ABSENT = object()


def _short(value: Any, limit: int = 120) -> str:
    text = "nothing" if value is _ABSENT else json.dumps(value, sort_keys=True)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _spec_diff(stored: Mapping[str, Any], wanted: Mapping[str, Any], prefix: str = "") -> list[str]:
    out = []
    for key in sorted(set(stored) | set(wanted)):
        a, b = stored.get(key, _ABSENT), wanted.get(key, _ABSENT)
        if a == b:
            continue
        if isinstance(a, dict) and isinstance(b, dict):
            out += _spec_diff(a, b, f"{prefix}{key}.")
        else:
            out.append(f"{prefix}{key}: store has {_short(a)}, this call asks for {_short(b)}")
    return out


# --------------------------------------------------------------------------- the store


class _Store:
    """The Zarr store of one sweep: creation, verified reading, point writes in a fixed order."""

    def __init__(self, path: Path, shape: tuple[int, ...], dims: list[str]) -> None:
        self.path = path
        self.shape = shape
        self.dims = dims
        self.n_writes = 0
        self.group: Any = None
        self.outputs: dict[str, tuple[int, ...]] = {}  # name -> per-point shape

    def _before_write(self, label: str) -> None:
        if _write_hook is not None:
            _write_hook(self.n_writes, label)
        self.n_writes += 1

    def open(self) -> None:
        import zarr

        self.group = zarr.open_group(str(self.path), mode="r+", zarr_format=2)
        if not _consolidated_ok(self.path):  # made before rnndyn consolidated, or a damaged copy
            zarr.consolidate_metadata(str(self.path), zarr_format=2)
        n = len(self.shape)
        self.outputs = {
            name: tuple(arr.shape[n:])
            for name, arr in self.group.arrays()
            if name not in _BOOK and name not in self.dims
        }

    def create(self, grid: dict[str, np.ndarray], n_seeds: int, seeds: np.ndarray, schema: Mapping[str, np.ndarray],
               spec: dict, attrs: Mapping[str, Any] | None) -> None:  # fmt: skip
        import xarray as xr

        coords: dict[str, Any] = dict(grid)
        coords["seed"] = np.arange(n_seeds)
        data: dict[str, Any] = {}
        for name, value in sorted(schema.items()):
            extra = [f"{name}_dim{i}" for i in range(value.ndim)]
            data[name] = ([*self.dims, *extra], np.full(self.shape + value.shape, np.nan))
        data["status"] = (self.dims, np.full(self.shape, "", dtype=f"<U{_STATUS_LEN}"))
        data["message"] = (self.dims, np.full(self.shape, "", dtype=f"<U{_MESSAGE_LEN}"))
        data["point_seed"] = (self.dims, seeds.astype(np.int64))
        data["digest"] = (self.dims, np.full(self.shape, "", dtype=f"<U{_DIGEST_LEN}"))
        data["done"] = (self.dims, np.zeros(self.shape, dtype=bool))
        ds = xr.Dataset(data, coords=coords)
        ds.attrs.update({k: str(v) for k, v in (attrs or {}).items()})
        ds.attrs["sweep_spec"] = json.dumps(spec, sort_keys=True)
        ones = (1,) * len(self.shape)
        encoding = {v: {"chunks": ones + ds[v].shape[len(self.shape) :]} for v in ds.data_vars}
        tmp = self.path.with_name(f".{self.path.name}.tmp-{os.getpid()}-{uuid.uuid4().hex[:8]}")
        self._before_write("create")
        # Zarr format 2: fixed-width strings have a stable encoding there.
        # Consolidated metadata (``.zmetadata``) so that ``xr.open_zarr(path)`` opens it silently. It
        # never goes stale: a sweep writes only chunks after this, never metadata (shapes and attrs
        # are fixed here), so a store read mid-run or after a kill shows every finished point.
        ds.to_zarr(tmp, mode="w-", encoding=encoding, zarr_format=2, consolidated=True)
        self._before_write("rename")
        os.rename(tmp, self.path)  # atomic: the store appears complete or not at all
        _fsync_dir(self.path.parent)
        self.open()

    def verified_done(self, *, retry_failed: bool) -> tuple[np.ndarray, int]:
        """Points whose ``done`` is set and whose values hash to their stored digest (and, with
        ``retry_failed``, whose status is not ``failed``); and how many were set but did not verify."""
        read = {name: self._read(name) for name in [*self.outputs, *_BOOK]}
        done_raw, ok_done = read["done"]
        claimed = np.zeros(self.shape, dtype=bool)
        claimed[ok_done] = done_raw[ok_done].astype(bool)
        good = claimed.copy()
        for idx in zip(*np.nonzero(claimed), strict=True):
            if not all(ok[idx] for _, ok in read.values()):
                good[idx] = False
                continue
            outs = {name: read[name][0][idx] for name in self.outputs}
            status, message = str(read["status"][0][idx]), str(read["message"][0][idx])
            seed = int(read["point_seed"][0][idx])
            if _digest(outs, status, message, seed) != str(read["digest"][0][idx]):
                good[idx] = False
            elif retry_failed and status == Status.FAILED.value:
                good[idx] = False
                claimed[idx] = False
        return good, int((claimed & ~good).sum())

    def _read(self, name: str) -> tuple[np.ndarray, np.ndarray]:
        """(values, readable per point); a damaged chunk marks only its own point unreadable."""
        arr = self.group[name]
        try:
            return np.asarray(arr[...]), np.ones(self.shape, dtype=bool)
        except Exception:  # a truncated or corrupt chunk somewhere: read point by point
            values = np.zeros(arr.shape, dtype=arr.dtype)
            ok = np.zeros(self.shape, dtype=bool)
            for idx in itertools.product(*[range(s) for s in self.shape]):
                try:
                    values[idx] = arr[idx]
                    ok[idx] = True
                except Exception:  # noqa: S112 - recorded in `ok`, the point is recomputed
                    continue
            return values, ok

    def check_outputs(
        self, outputs: dict[str, np.ndarray], status: str, message: str
    ) -> tuple[dict, str, str]:
        """Outputs that do not match the store's schema turn the point into ``failed``."""
        if not outputs and status == Status.FAILED.value:
            return {name: np.full(shp, np.nan) for name, shp in self.outputs.items()}, status, message
        names = set(outputs)
        if names != set(self.outputs):
            missing, extra = sorted(set(self.outputs) - names), sorted(names - set(self.outputs))
            msg = f"outputs differ from the store's: missing {missing}, unexpected {extra}"
            return self.check_outputs({}, Status.FAILED.value, msg)
        for name, shp in self.outputs.items():
            if outputs[name].shape != shp:
                msg = f"output {name!r} has shape {outputs[name].shape}, the store's is {shp}"
                return self.check_outputs({}, Status.FAILED.value, msg)
        return outputs, status, message

    def write_point(self, idx: tuple[int, ...], outputs: dict[str, np.ndarray], status: str, message: str,
                    seed: int) -> None:  # fmt: skip
        outputs, status, message = self.check_outputs(outputs, status, message)
        for name in sorted(outputs):  # data first, in a fixed order
            self._before_write(name)
            self.group[name][idx] = outputs[name]
        self._before_write("status")
        self.group["status"][idx] = status
        self._before_write("message")
        self.group["message"][idx] = message
        self._before_write("digest")
        self.group["digest"][idx] = _digest(outputs, status, message, seed)
        self._before_write("done")
        self.group["done"][idx] = True  # last, in a separate write


def _consolidated_ok(path: Path) -> bool:
    """``.zmetadata`` exists and holds the metadata of every array and the group's attributes."""
    try:
        meta = json.loads((path / ".zmetadata").read_text())["metadata"]
    except (OSError, ValueError, KeyError, TypeError):
        return False
    names = {p.parent.name for p in path.glob("*/.zarray")}
    return ".zattrs" in meta and all(f"{name}/.zarray" in meta for name in names)


def _fsync_dir(path: Path) -> None:
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


class _Lock:
    """One writer per store: an exclusive ``flock`` on ``<store>.lock``, a file that names its holder.

    The file exists only while a sweep holds it. The holder writes its pid, host and start time into
    it, and removes it, *while still holding the lock*, when the sweep ends (finished, failed or
    interrupted). A holder that is killed (kill -9, power loss) leaves the file, but the OS has
    released its ``flock``: the next sweep takes the lock at once, warns that the previous one ended
    without releasing it (naming it, from the record it left) and removes the file in its turn.

    Removing a lock file is safe only with a check on acquiring: a waiter may have opened the file
    that the previous holder then removed, while a third sweep creates and locks a new one. So
    after its ``flock`` succeeds a sweep checks that the file it locked is still the one at the
    path (same inode) and otherwise starts over; two sweeps can never both hold the lock (each
    holds the inode at the path, and only its holder removes it). Where ``fcntl`` is missing
    (Windows) the ``filelock`` library is used, which removes its file on release there.
    """

    def __init__(self, store: Path, wait: float) -> None:
        self.store = store
        self.path = store.with_name(store.name + ".lock")
        self.old_owner = store.with_name(
            store.name + ".lock.owner"
        )  # the holder record of older rnndyn versions
        self.wait = wait
        self.fd: int | None = None
        self.fallback: Any = None

    def _refuse(self) -> SweepLockedError:
        try:
            holder = self.path.read_text().strip() or "a process that has not yet written its record"
        except OSError:
            holder = "unknown process (no owner record)"
        return SweepLockedError(
            f"the store is being written by another sweep: {holder}; waited {self.wait:g} s "
            f"for its lock {self.path}. Wait for it to finish (or pass a longer wait, CLI --wait), "
            "then re-run to resume."
        )

    def __enter__(self) -> _Lock:
        try:
            import fcntl
        except ImportError:  # Windows: filelock's lock removes its file on release there
            from filelock import FileLock, Timeout

            self.fallback = FileLock(str(self.path), timeout=self.wait)
            try:
                self.fallback.acquire()
            except Timeout:
                raise SweepLockedError(
                    f"the store is being written by another sweep; waited {self.wait:g} s for its lock "
                    f"{self.path}. Wait for it to finish (or pass a longer wait, CLI --wait), then re-run."
                ) from None
            return self
        deadline = time.monotonic() + self.wait
        while True:
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                os.close(fd)
                left = deadline - time.monotonic()
                if left <= 0:
                    raise self._refuse() from None
                time.sleep(min(0.05, left))
                continue
            except BaseException:
                os.close(fd)
                raise
            try:
                same = os.path.samestat(os.fstat(fd), os.stat(self.path))
            except FileNotFoundError:
                same = False
            if same:
                break
            os.close(fd)  # the previous holder removed this file after we opened it: take the new one
        self.fd = fd
        previous = os.pread(fd, 4096, 0).decode(errors="replace").strip()
        if not previous and self.old_owner.exists():
            previous = self.old_owner.read_text(errors="replace").strip()
        if previous:
            warnings.warn(
                f"the previous sweep on {self.store} ({previous}) ended without releasing its lock "
                "(killed?); its lock is taken over, its finished points are kept and the rest computed",
                UserWarning,
                stacklevel=3,
            )
        info = f"pid {os.getpid()} on {socket.gethostname()}, since {time.strftime('%Y-%m-%d %H:%M:%S %Z')}"
        os.ftruncate(fd, 0)
        os.pwrite(fd, (info + "\n").encode(), 0)
        self.old_owner.unlink(missing_ok=True)
        return self

    def __exit__(self, *exc: object) -> None:
        if self.fallback is not None:
            self.fallback.release()
            return
        assert self.fd is not None
        try:
            self.path.unlink()  # first, while still holding the lock (see the class docstring)
        except OSError:
            pass
        os.close(self.fd)  # releases the flock
        self.fd = None


# --------------------------------------------------------------------------- the sweep


def _check_grid(grid: Mapping[str, Sequence[Any]]) -> dict[str, np.ndarray]:
    if not isinstance(grid, Mapping):
        raise TypeError(
            f"`grid` must be a mapping name -> sequence of values, e.g. {{'g': [0.5, 1.0]}}; got "
            f"{type(grid).__name__} {grid!r}"
        )
    if not grid:
        raise ValueError(f"`grid` must be a non-empty mapping name -> sequence of values; got {grid!r}")
    out: dict[str, np.ndarray] = {}
    for name, values in grid.items():
        if not isinstance(name, str) or not name:
            # the name becomes a dimension of the stored dataset and the key of fn's params
            raise TypeError(
                f"`grid` axis names must be non-empty strings; got {type(name).__name__} {name!r}"
            )
        if isinstance(values, str | bytes):
            raise ValueError(f"`grid[{name!r}]` must be a non-empty 1-D sequence; got the string {values!r}")
        arr = np.asarray(values)
        if arr.ndim != 1 or arr.size == 0:
            raise ValueError(f"`grid[{name!r}]` must be a non-empty 1-D sequence; got shape {arr.shape}")
        kinds = {_value_kind(v) for v in (values.tolist() if isinstance(values, np.ndarray) else values)}
        if None in kinds or len(kinds) > 1:
            raise TypeError(
                f"`grid[{name!r}]` must hold numbers only, strings only or bools only (NumPy would turn "
                f"a mixed list into strings); got {list(values)!r}"
            )
        uniq, counts = np.unique(arr, return_counts=True)
        if np.any(counts > 1):
            raise ValueError(
                f"`grid[{name!r}]` must list each value once (a repeated value is a repeated point "
                f"under another seed; use n_seeds for repeats); got {list(values)!r} with "
                f"{uniq[counts > 1].tolist()} repeated"
            )
        if arr.dtype.kind == "f" and not np.all(np.isfinite(arr)):
            raise ValueError(f"`grid[{name!r}]` must be finite; got {values!r}")
        if str(name) in ("seed", *_BOOK):
            raise ValueError(f"`grid` axis names must not be {('seed', *_BOOK)}; got {name!r}")
        out[str(name)] = arr
    return out


def _value_kind(v: Any) -> str | None:
    if isinstance(v, bool | np.bool_):
        return "bool"
    if isinstance(v, numbers.Real):
        return "number"
    if isinstance(v, str):
        return "str"
    return None


#: files that mark a folder as a Zarr store (format 2 group/array/attributes, format 3)
ZARR_MARKERS = (".zgroup", ".zarray", ".zattrs", "zarr.json")


def store_kind(path: Path) -> str:
    """What ``path`` is, for a command that may create, resume or replace a Zarr store there:
    ``"new"`` (nothing there), ``"file"``, ``"empty"`` (an empty folder), ``"store"`` (a folder
    with a Zarr marker, :data:`ZARR_MARKERS`) or ``"other"`` (a folder of other files). Only
    ``new``, ``empty`` and ``store`` may be written; the CLI (``--store``, ``--zarr``) and
    :func:`sweep` share this test."""
    if not path.exists():
        return "new"
    if not path.is_dir():
        return "file"
    entries = {e.name for e in path.iterdir()}
    if not entries:
        return "empty"
    return "store" if entries & set(ZARR_MARKERS) else "other"


def _check_replaceable(path: Path) -> None:
    """A sweep may open, and ``fresh=True`` delete, only a Zarr store or an empty folder at
    ``path``, never a file or a folder of other files (a mistyped ``store`` must not wipe a
    user's data)."""
    kind = store_kind(path)
    if kind == "file":
        raise SweepSpecError(
            f"`store` must be a Zarr store (a folder); got {path}, a file. Nothing was changed; use "
            "another path"
        )
    if kind == "other":
        entries = sorted(e.name for e in path.iterdir())
        shown = ", ".join(entries[:4]) + (", ..." if len(entries) > 4 else "")
        raise SweepSpecError(
            f"`store` {path} is a folder of other files ({shown}), not a Zarr store; fresh=True only "
            "replaces a sweep store or an empty folder. Nothing was changed; use another path"
        )


def _check_sweep_store(path: Path) -> None:
    """``fresh=True`` deletes only what a sweep made: an empty folder, or a Zarr group with the
    stored specification or (stores of older rnndyn versions) the ``done`` variable. Any other
    Zarr store (a CLV run's ``--store``, a dataset written with xarray) is refused, unchanged
    (before: deleted)."""
    import zarr

    if store_kind(path) == "empty":
        return
    try:
        group = zarr.open_group(str(path), mode="r", zarr_format=2)
        ours = "sweep_spec" in group.attrs or "done" in group
    except Exception as exc:  # noqa: BLE001 - zarr raises several types for "not a v2 group"
        ours, why = False, f"not readable as a sweep store: {type(exc).__name__}"
    else:
        why = "no sweep specification and no `done` variable"
    if not ours:
        raise SweepSpecError(
            f"`store` {path} is a Zarr store that rd.sweep did not make ({why}); fresh=True (CLI --fresh) "
            "only replaces a sweep store or an empty folder. Nothing was changed; use another path (or "
            "delete it yourself if it is no longer needed)"
        )


def _existing_spec(path: Path) -> dict | None:
    import zarr

    _check_replaceable(
        path
    )  # a file or a folder of other files: not a store, and fresh=True would not replace it
    try:
        group = zarr.open_group(str(path), mode="r", zarr_format=2)
        raw = group.attrs.get("sweep_spec")
    except Exception as exc:
        raise SweepSpecError(
            f"`store` {path} exists but is not a readable sweep store ({type(exc).__name__}: {exc}); "
            "use another path"
        ) from None
    return None if raw is None else json.loads(raw)


def _accepts(fn: Callable[..., Any], n_args: int) -> bool:
    """Whether ``fn`` can be called with ``n_args`` positional arguments (``True`` when its
    signature cannot be read, e.g. some builtins: then the call itself will say)."""
    import inspect

    try:
        inspect.signature(fn).bind(*range(n_args))
    except TypeError:
        return False
    except ValueError:  # no signature available
        return True
    return True


#: a Dask scheduler address: ``protocol://host[:port]`` (tcp, tls, ucx, inproc, ...) or ``host:port``
_ADDRESS = re.compile(r"[a-z][a-z0-9+.-]*://\S+|[^\s:/]+:\d+")


def sweep(
    fn: SweepFn,
    grid: Mapping[str, Sequence[Any]],
    *,
    store: str | Path,
    n_seeds: int = 1,
    base_seed: int = 0,
    scheduler: str | None = None,
    n_workers: int | None = None,
    progress: bool | Callable[[int, int], None] = True,
    attrs: Mapping[str, Any] | None = None,
    fresh: bool = False,
    retry_failed: bool = False,
    max_retries: int = 2,
    time_limit: float | None = None,
    wait: float = 0.0,
    connect_timeout: float = 5.0,
) -> Any:
    r"""Evaluate ``fn(params, seed)`` on every grid point and seed, in parallel, into Zarr.

    The points are the Cartesian product of the grid axes times ``n_seeds`` repetitions; point
    ``(i_1, ..., i_d, s)`` has flat (C-order) index ``k`` and seed ``point_seed(base_seed, k)``.
    See the module docstring and docs/sweeps.md for the fault model (crash-consistent writes,
    stored specification, atomic creation, poison points, one writer at a time).

    Args:
        fn: picklable function ``(params: dict, seed: int) -> {name: scalar or fixed-shape array}``.
            It may add ``"status"`` (an :class:`rnndyn.Status` value) and ``"message"`` entries;
            otherwise a point that returns finite values is ``success``, one that returns NaN/inf
            is ``failed`` (the message names the non-finite outputs) and one that raises is
            ``failed``. With a status of its own the status is kept and the message starts with
            the non-finite outputs, if any.
        grid: ``{parameter: values}``; the Cartesian product is swept.
        store: path of the Zarr store. If it exists and was made for the same sweep, its verified
            points are kept and the rest computed (resume).
        n_seeds: repetitions per grid point (independent seeds).
        base_seed: seeds are ``point_seed(base_seed, flat index)``.
        scheduler: ``None`` (or ``"local"``, the word ``rnndyn reproduce --scheduler`` uses)
            starts a local Dask cluster (processes: a point that kills its worker is isolated);
            ``"threads"`` a local in-process cluster; ``"sync"`` runs in this
            process without Dask (no isolation: a crash of a point is a crash of the sweep); any
            other string is the address of a running Dask scheduler (``tcp://host:8786``).
        n_workers: workers of the local cluster (default: all cores).
        progress: show a progress bar; or a ``callable(done, total)`` called instead.
        attrs: settings stored with the dataset and in the specification (e.g. the model).
        fresh: discard an existing store at ``store`` and start a new one.
        retry_failed: recompute points recorded as ``failed`` (e.g. after fixing their cause).
        max_retries: how many more times a point whose worker died is tried on a fresh worker
            before it is recorded ``failed`` (local clusters; a remote scheduler applies its own
            ``distributed.scheduler.allowed-failures``).
        time_limit: optional seconds per point; a point that takes longer is recorded ``failed``
            and its computation abandoned (it runs on in the background until it returns or its
            worker is closed at the end of the sweep).
        wait: seconds to wait for another sweep holding the store's lock; then
            :class:`SweepLockedError`.
        connect_timeout: seconds to wait for a remote ``scheduler`` before
            :class:`SchedulerUnreachableError`.

    Returns:
        The finished ``xarray.Dataset`` (loaded from the store), dims ``(*grid, seed)``: one
        variable per output, ``status`` and ``message`` per point, ``point_seed``, ``digest``,
        ``done``; ``attrs["sweep_spec"]`` is the stored specification (JSON).

    Raises:
        ValueError: bad grid or arguments (an empty, non-finite or repeated axis, ``base_seed < 0``).
        TypeError: an argument of the wrong type (a grid axis mixing numbers and strings, a
        non-integer ``base_seed``, a ``store`` that is no path). SweepSpecError: the store was made
        for another sweep.
        SweepLockedError: another sweep holds the store. SchedulerUnreachableError: no scheduler at
        the address. RuntimeError: every point failed (nothing to store).

    References:
        NumPy ``SeedSequence`` (O'Neill 2015, PCG); Dask distributed's ``allowed-failures``;
        docs/sweeps.md.

    Example:
        >>> import tempfile, rnndyn as rd
        >>> def f(p, seed):
        ...     return {"y": p["a"] * 2.0}
        >>> ds = rd.sweep(f, {"a": [1.0, 2.0]}, store=tempfile.mkdtemp() + "/s.zarr",
        ...               scheduler="sync", progress=False)
        >>> ds["y"].values[:, 0].tolist(), ds["status"].values[:, 0].tolist()
        ([2.0, 4.0], ['success', 'success'])
    """
    import xarray as xr

    grid_arrays = _check_grid(grid)
    n_seeds = check_positive_int(n_seeds, "n_seeds")
    max_retries = check_positive_int(max_retries, "max_retries", minimum=0)
    if time_limit is not None and not (isinstance(time_limit, int | float) and time_limit > 0):
        raise ValueError(f"`time_limit` must be a positive number of seconds or None; got {time_limit!r}")
    if isinstance(wait, bool) or not (isinstance(wait, int | float) and wait >= 0):
        raise ValueError(f"`wait` must be a number of seconds >= 0; got {wait!r}")
    for flag, value in (("fresh", fresh), ("retry_failed", retry_failed)):
        if not isinstance(value, bool):  # fresh="no" is truthy: it discarded the store
            raise TypeError(f"`{flag}` must be True or False; got {type(value).__name__} {value!r}")
    if not callable(fn):
        raise TypeError(f"`fn` must be callable (params, seed) -> mapping; got {type(fn).__name__}")
    base_seed = check_positive_int(base_seed, "base_seed", minimum=0)
    if not isinstance(store, str | os.PathLike) or not str(store):
        raise TypeError(f"`store` must be a path (str or pathlib.Path) to a Zarr folder; got {store!r}")
    if scheduler is not None and not isinstance(scheduler, str):
        raise TypeError(
            f"`scheduler` must be None (local cluster), 'sync', 'threads' or a scheduler address; got {scheduler!r}"
        )
    if scheduler == "local":  # rnndyn reproduce's word for a local cluster: the same here
        scheduler = None
    if scheduler not in (None, "sync", "threads") and not _ADDRESS.fullmatch(scheduler):
        # before: Dask's own "missing port number in address 'foo'" after the store was locked
        raise ValueError(
            "`scheduler` must be None or 'local' (a local cluster), 'sync' (in this process), "
            "'threads' or the "
            f"address of a running Dask scheduler such as 'tcp://host:8786'; got {scheduler!r}"
        )
    if n_workers is not None:
        n_workers = check_positive_int(n_workers, "n_workers")
    if not (isinstance(progress, bool) or callable(progress)):
        raise TypeError(f"`progress` must be a bool or a callable (done, total); got {progress!r}")
    if callable(progress) and not _accepts(progress, 2):
        # before: the TypeError came from the first finished point and ended the sweep there
        raise TypeError(f"`progress` must take two arguments, progress(done, total); got {progress!r}")
    if attrs is not None and not isinstance(attrs, Mapping):
        raise TypeError(f"`attrs` must be a mapping or None; got {type(attrs).__name__}")
    if isinstance(connect_timeout, bool) or not (
        isinstance(connect_timeout, int | float) and connect_timeout > 0 and math.isfinite(connect_timeout)
    ):
        raise ValueError(f"`connect_timeout` must be a finite number of seconds > 0; got {connect_timeout!r}")
    store = Path(store)
    names = list(grid_arrays)
    dims = [*names, "seed"]
    shape = tuple(len(v) for v in grid_arrays.values()) + (n_seeds,)
    spec = _spec(fn, grid_arrays, n_seeds, base_seed, attrs)
    tasks = []
    for flat, idx in enumerate(itertools.product(*[range(s) for s in shape])):
        params = {k: grid_arrays[k][i].item() for k, i in zip(names, idx[:-1], strict=True)}
        tasks.append((idx, params, point_seed(base_seed, flat)))
    seeds = np.array([t[2] for t in tasks], dtype=np.int64).reshape(shape)

    store.parent.mkdir(parents=True, exist_ok=True)
    with _Lock(store, float(wait)):
        for stale in store.parent.glob(f".{store.name}.tmp-*"):  # left by a killed creation
            shutil.rmtree(stale, ignore_errors=True)
        db = _Store(store, shape, dims)
        done = np.zeros(shape, dtype=bool)
        if fresh:
            if store.exists():
                _check_replaceable(store)
                _check_sweep_store(store)  # a CLV store, an xarray dataset: not ours to delete
                shutil.rmtree(store)
            store.with_name(store.name + ".attempts.json").unlink(missing_ok=True)
        if store.exists():
            stored = _existing_spec(store)
            if stored is None:
                _check_sweep_store(store)  # not a sweep store at all: fresh=True would not replace it
                raise SweepSpecError(
                    f"`store` {store} has no sweep specification (made by an older rnndyn); pass "
                    "fresh=True (CLI --fresh) to start a new store, or use another path"
                )
            diff = _spec_diff(stored, spec)
            if diff:
                raise SweepSpecError(
                    f"`store` {store} was made for a different sweep: " + "; ".join(diff)
                    + ". Re-run with the store's settings to resume it, pass fresh=True (CLI --fresh) to "
                    "discard it and start a new store, or use another path."
                )  # fmt: skip
            db.open()
            done, n_bad = db.verified_done(retry_failed=retry_failed)
            if n_bad:
                warnings.warn(
                    f"{n_bad} point(s) of {store} were marked done but did not read back consistent "
                    "(missing or damaged chunks, or a write cut short); they are recomputed",
                    UserWarning,
                    stacklevel=2,
                )
        pending = [t for t in tasks if not done[t[0]]]
        backlog: list[tuple[tuple[int, ...], dict, str, str, int]] = []

        def record(idx: tuple[int, ...], outputs: dict, status: str, message: str, seed: int) -> None:
            # points that fail before the first success wait until a success fixes the schema
            if db.group is None:
                if not outputs and status == Status.FAILED.value:
                    backlog.append((idx, outputs, status, message, seed))
                    return
                db.create(grid_arrays, n_seeds, seeds, outputs, spec, attrs)
            db.write_point(idx, outputs, status, message, seed)
            done[idx] = True
            while backlog:
                db.write_point(*backlog.pop(0))

        attempts = _Attempts(store, spec, max_retries) if scheduler == "sync" else None
        _execute(pending, fn, record, scheduler=scheduler, n_workers=n_workers, progress=progress,
                 n_total=len(tasks), max_retries=max_retries, time_limit=time_limit,
                 connect_timeout=connect_timeout, attempts=attempts)  # fmt: skip
        if attempts is not None:
            attempts.clear()
        if db.group is None:
            msgs = sorted({m for *_, m, _ in backlog})
            raise RuntimeError(f"every sweep point failed; no results to store. Errors: {msgs[:3]}")
        return xr.open_zarr(store, consolidated=False, chunks=None).load()  # no dask: fork-safe, faster


class _Attempts:
    """Points started but never recorded by an in-process (``"sync"``) sweep: a point during
    which the sweep process itself died (segfault, SIGKILL, the OOM killer) ``max_retries + 1``
    times is recorded ``failed`` instead of being tried again. Kept next to the store
    (``<store>.attempts.json``, replaced atomically), for the stored specification only."""

    def __init__(self, store: Path, spec: dict, max_retries: int) -> None:
        self.path = store.with_name(store.name + ".attempts.json")
        self.key = hashlib.sha256(json.dumps(spec, sort_keys=True).encode()).hexdigest()[:16]
        self.counts: dict[str, int] = {}
        try:
            raw = json.loads(self.path.read_text())
            if raw.get("spec") == self.key:
                self.counts = {str(k): int(v) for k, v in raw.get("attempts", {}).items()}
        except (OSError, ValueError, AttributeError):
            pass

    def start(self, idx: tuple[int, ...]) -> int:
        """How many earlier runs died on point ``idx``; records this run's attempt (unless poison)."""
        key = ",".join(map(str, idx))
        died = self.counts.get(key, 0)
        for done_key in [k for k in self.counts if k != key and self.counts[k] < 0]:
            del self.counts[done_key]
        self.counts[key] = died + 1
        tmp = self.path.with_name(self.path.name + f".{os.getpid()}")
        tmp.write_text(json.dumps({"spec": self.key, "attempts": self.counts}))
        os.replace(tmp, self.path)
        self.counts[key] = -1  # recorded below unless the process dies first; dropped on the next write
        return died

    def undo(self, idx: tuple[int, ...], died: int) -> None:
        """Forget this run's attempt at ``idx`` (it was interrupted, the process did not die)."""
        key = ",".join(map(str, idx))
        self.counts = {k: v for k, v in self.counts.items() if v >= 0}
        if died:
            self.counts[key] = died
        tmp = self.path.with_name(self.path.name + f".{os.getpid()}")
        tmp.write_text(json.dumps({"spec": self.key, "attempts": self.counts}))
        os.replace(tmp, self.path)

    def clear(self) -> None:
        try:
            self.path.unlink()
        except OSError:
            pass


class _Bar:
    """A rich progress bar, or a ``callback(done, total)`` instead of one."""

    def __init__(self, bar: Any, total: int, done: int, callback: Callable[[int, int], None] | None) -> None:
        self.bar, self.total, self.done, self.callback = bar, total, done, callback
        self.task = bar.add_task("sweep", total=total, completed=done)
        if callback is not None:
            callback(done, total)

    def advance(self) -> None:
        self.done += 1
        self.bar.advance(self.task)
        if self.callback is not None:
            self.callback(self.done, self.total)


def _execute(pending, fn, record, *, scheduler, n_workers, progress, n_total, max_retries, time_limit,
             connect_timeout, attempts=None) -> None:  # fmt: skip
    from rich.progress import Progress

    callback = progress if callable(progress) else None
    with Progress(disable=callback is not None or not progress, transient=False) as rich_bar:
        bar = _Bar(rich_bar, n_total, n_total - len(pending), callback)
        if scheduler == "sync":
            for idx, params, seed in pending:
                died = attempts.start(idx) if attempts is not None else 0
                if died > max_retries:  # the sweep process died on this point every time: poison
                    msg = (f"the sweep process died {died} time(s) while computing this point (segfault, "
                           "SIGKILL or out of memory?)")  # fmt: skip
                    record(idx, {}, Status.FAILED.value, msg, seed)
                else:
                    try:
                        result = _run_point(fn, params, seed, time_limit)
                    except BaseException:  # Ctrl-C and friends: not a death of the process
                        if attempts is not None:
                            attempts.undo(idx, died)
                        raise
                    record(idx, *result, seed)
                bar.advance()
            return
        import dask
        from dask.distributed import Client, LocalCluster, as_completed
        from distributed import KilledWorker

        cluster = None
        if scheduler in (None, "threads"):
            # allowed-failures: retries of a point whose worker died; worker-saturation 1.0: a
            # worker holds only the task it runs, so a death is charged to that task alone
            with dask.config.set(
                {
                    "distributed.scheduler.allowed-failures": max_retries,
                    "distributed.scheduler.worker-saturation": 1.0,
                }
            ):
                cluster = LocalCluster(
                    n_workers=n_workers,
                    threads_per_worker=1,
                    processes=scheduler is None,
                    dashboard_address=None,
                )
            client = Client(cluster)
        else:
            try:
                client = Client(scheduler, timeout=connect_timeout)
            except (OSError, TimeoutError) as exc:
                raise SchedulerUnreachableError(
                    f"could not reach the Dask scheduler at {scheduler!r} within {connect_timeout:g} s "
                    f"({type(exc).__name__}: {exc}); check the address and that the scheduler is running, "
                    "or leave `scheduler` unset for a local cluster"
                ) from None
        try:
            futures = {
                client.submit(_run_point, fn, params, seed, time_limit, pure=False): (idx, seed)
                for idx, params, seed in pending
            }
            for fut in as_completed(futures):
                idx, seed = futures[fut]
                try:
                    outputs, status, message = fut.result()
                except KilledWorker as exc:
                    outputs, status = {}, Status.FAILED.value
                    message = (f"the worker running this point died {max_retries + 1} time(s) (segfault, "
                               f"SIGKILL or out of memory?): {exc}")[:_MESSAGE_LEN]  # fmt: skip
                except Exception as exc:  # e.g. an unpicklable result: recorded, not fatal
                    outputs, status, message = (
                        {},
                        Status.FAILED.value,
                        f"{type(exc).__name__}: {exc}"[:_MESSAGE_LEN],
                    )
                record(idx, outputs, status, message, seed)
                bar.advance()
        finally:
            client.close()
            if cluster is not None:
                cluster.close()


def _lyapunov_summary(res: Any) -> dict[str, Any]:
    """The per-point outputs of the Lyapunov sweeps, with the analysis's own status and message."""
    return {
        "lambda_max": res.lambda_max,
        "lambda_max_stderr": float(res.stderr[0]),
        "kaplan_yorke_dimension": res.kaplan_yorke_dimension,
        "entropy_rate": res.entropy_rate,
        "exponent_sum": float(res.exponents.sum()),
        "status": str(getattr(res.status, "value", res.status)),
        "message": str(res.message),
    }


def lyapunov_point(
    params: dict[str, Any],
    seed: int,
    *,
    model: str,
    n: int | None,
    n_steps: int,
    n_transient: int,
    k: int | None = None,
    n_trajectories: int = 2,
    dt: float = 0.05,
    method: str = "rk4",
    fixed: Mapping[str, Any] | None = None,
    device: str = "cpu",
) -> dict[str, Any]:
    """One sweep point: build the named model with ``params`` (+ ``fixed``) and seed, return its
    Lyapunov summary (``lambda_max``, its stderr, Kaplan--Yorke dimension, entropy rate, sum) and
    the analysis's ``status`` and ``message``.

    Module-level so that ``functools.partial(lyapunov_point, model=..., ...)`` pickles to Dask
    workers. ``n`` in ``params`` overrides the fixed ``n`` (so ``n`` can be a grid axis).
    """
    import torch

    from rnndyn.lyapunov import lyapunov_spectrum
    from rnndyn.models.registry import build_model

    params = dict(params)
    n_point = params.pop("n", n)
    if n_point is not None:
        if isinstance(n_point, bool) or not float(n_point).is_integer() or n_point < 1:
            raise ValueError(f"`n` (state size, a grid axis or fixed) must be an int >= 1; got {n_point!r}")
        n_point = int(n_point)
    all_params = {**dict(fixed or {}), **params}
    system = build_model(model, n=n_point, params=all_params, seed=seed, dt=dt, method=method, device=device)
    res = lyapunov_spectrum(
        system,
        k=k,
        n_steps=n_steps,
        n_transient=n_transient,
        n_trajectories=n_trajectories,
        generator=torch.Generator().manual_seed(seed + 1),
        throw=False,  # a diverged or failed analysis is stored with its own status, not as an exception
    )
    return _lyapunov_summary(res)


#: grid axes a sweep over a trained torch model understands (see :func:`torch_model_point`)
TORCH_MODEL_AXES = ("weight_scale",)


def file_digest(path: str | Path) -> str:
    """SHA-256 of a file's bytes: part of a sweep's specification, so a changed file is a new sweep."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def torch_model_point(
    params: dict[str, Any],
    seed: int,
    *,
    path: str,
    digest: str,
    n_steps: int,
    n_transient: int,
    k: int | None = None,
    n_trajectories: int = 2,
    arch: str | None = None,
    module_path: str | None = None,
    lstm_state: str = "full",
    trust_pickle: bool = False,
    device: str = "cpu",
) -> dict[str, Any]:
    """One sweep point on a saved, trained network: load it (:func:`rnndyn.load_model`, float64),
    scale its recurrent weights ``weight_hh*`` by ``params["weight_scale"]`` (default 1, the trained
    network itself), and return the same Lyapunov summary as :func:`lyapunov_point`. ``seed`` draws
    the initial states (the weights are the file's).

    ``digest`` (:func:`file_digest` of ``path``) is checked before the run, so a file changed under a
    resumed sweep is an error, never a mix of two networks.
    """
    import torch

    from rnndyn.io import load_model
    from rnndyn.lyapunov import lyapunov_spectrum

    unknown = sorted(set(params) - set(TORCH_MODEL_AXES))
    if unknown:
        raise ValueError(
            f"a sweep over a trained --torch-model varies {list(TORCH_MODEL_AXES)}; got grid axes {unknown}"
        )
    if file_digest(path) != digest:
        raise ValueError(f"`path` {path} changed since the sweep was specified (its SHA-256 differs)")
    system = load_model(
        path, arch=arch, module_path=module_path, lstm_state=lstm_state, trust_pickle=trust_pickle
    ).to(dtype=torch.float64, device=device)
    scale = float(params.get("weight_scale", 1.0))
    with torch.no_grad():
        for name, p in system.module.named_parameters():
            if name.startswith("weight_hh"):
                p.mul_(scale)
    res = lyapunov_spectrum(
        system,
        k=k,
        n_steps=n_steps,
        n_transient=n_transient,
        n_trajectories=n_trajectories,
        generator=torch.Generator().manual_seed(seed + 1),
        throw=False,  # a diverged or failed analysis is stored with its own status, not as an exception
    )
    return _lyapunov_summary(res)


__all__ = [
    "SchedulerUnreachableError",
    "SweepLockedError",
    "SweepSpecError",
    "TORCH_MODEL_AXES",
    "file_digest",
    "function_identity",
    "lyapunov_point",
    "point_seed",
    "sweep",
    "torch_model_point",
]

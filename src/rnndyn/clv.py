r"""Covariant Lyapunov vectors (Ginelli's forward-backward method), finite-time Lyapunov
exponents and the localisation of tangent directions.

The QR method (:mod:`rnndyn.lyapunov`) pushes an orthonormal frame forward,
``J_t Q_t = Q_{t+1} R_{t+1}``; after a transient the columns of ``Q_t`` are the backward
(Gram-Schmidt) Lyapunov vectors. The covariant Lyapunov vectors (CLVs) ``v_i(t)`` are the
directions that the dynamics maps onto each other, ``J_t v_i(t) = d_i(t) v_{i+1}(t+1)``
(growth factor ``d_i(t) > 0``), and whose mean log growth is the ``i``-th exponent. Ginelli's
method writes them in the Gram-Schmidt basis, ``V_t = Q_t C_t`` with ``C_t`` upper triangular and
unit columns; covariance ``J_t V_t = V_{t+1} D_t`` with the upper-triangular ``R_{t+1}`` gives
the backward iteration

.. math::

    C_t = R_{t+1}^{-1} C_{t+1} D_t, \qquad D_t = \operatorname{diag}\bigl(1 /
    \lVert (R_{t+1}^{-1} C_{t+1})_{:,i} \rVert\bigr),

started from a random upper-triangular ``C`` far in the future (the *backward transient*), in
which every column converges to the CLV at the rate of the gap to the exponent above it. Only
the ``k x k`` factors ``R`` (every step) and the frames ``Q`` (at the recorded times) are kept,
handed over by the recorder of :meth:`rnndyn.LyapunovEngine.advance` (the forward pass is the QR
engine's); when they do not fit in ``max_memory`` they spill to disk, and the CLVs can go to a
Zarr store.

References:
    F. Ginelli, P. Poggi, A. Turchi, H. Chate, R. Livi, A. Politi, "Characterizing dynamics with
    covariant Lyapunov vectors", Phys. Rev. Lett. 99, 130601 (2007), arXiv:0706.0510;
    F. Ginelli, H. Chate, R. Livi, A. Politi, "Covariant Lyapunov vectors", J. Phys. A 46,
    254005 (2013), arXiv:1212.3961; the project's docs/clv.md.
"""

from __future__ import annotations

import dataclasses
import errno
import math
import numbers
import os
import resource
import shutil
import tempfile
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch

from rnndyn import _diagnostics as diag
from rnndyn._checks import (
    check_choice,
    check_generator,
    check_map,
    check_positive_int,
    check_real,
    check_tensor,
)
from rnndyn._results import AnalysisError, Check, Result, Status, status_from_checks
from rnndyn.lyapunov import (
    _AUTO_MIN_TRANSIENT,
    N_BLOCKS,
    LyapunovEngine,
    _check_flags,
    _near_zero,
    _prepare,
    _within_cluster_stderr,
)

Tensor = torch.Tensor

#: status -> meaning (the values open the messages).
STATUSES: dict[str, str] = {
    "success": "CLVs converged: two random initial frames and two random backward starts agree, and the "
    "growth identity holds",
    "warning": "CLVs computed, but a self-check did not pass (see checks)",
    "not_converged": "the backward transient was too short: CLVs from two random backward starts disagree",
    "diverged": "the trajectory diverged (inf/NaN); no CLVs",
}
#: the opening of the message when the backward starts agree but the forward frames do not
FORWARD_FAILED = (
    "the forward transient was too short: the Gram-Schmidt vectors from two random initial frames disagree "
    "at the start of the window"
)
#: the opening of the message when only the stationarity check keeps the run from ``success``
STATIONARY_FAILED = (
    "the CLVs agree between backward starts, but the forward exponents are not stationary over the window"
)

#: default bound on the bytes held in memory by the recorded R factors, frames and vectors
DEFAULT_MAX_MEMORY = 256 * 2**20
#: target size of one Zarr chunk (and of the in-memory write/read buffer of a spilled series)
_CHUNK_BYTES = 8 * 2**20
_STORE_FORMAT = "rnndyn-clv/1"
#: store settings that are written only when they differ from these defaults
_STORE_DEFAULTS: dict[str, Any] = {"qr_every": 1}
#: spill/Zarr I/O on a background thread per series (False: the same buffers, I/O in the caller)
_IO_THREAD = True


# --------------------------------------------------------------------------------------- storage
class _Meter:
    """Bytes held in memory by the recorded series (current and peak)."""

    def __init__(self) -> None:
        self.current = 0
        self.peak = 0

    def add(self, nbytes: int) -> None:
        self.current += nbytes
        self.peak = max(self.peak, self.current)


#: spill files bypass the page cache (``O_DIRECT``) where the file system allows it
_DIRECT_IO = True
#: alignment of direct I/O (buffer address, file offset and length): the largest common block size
_ALIGN = 4096
#: chunks smaller than this stay buffered (each direct transfer waits for the device)
_DIRECT_MIN_BYTES = 2**20


def _aligned_empty(nbytes: int) -> np.ndarray:
    """A zeroed ``uint8`` array of ``nbytes`` whose address is a multiple of ``_ALIGN``."""
    raw = np.zeros(nbytes + _ALIGN, dtype=np.uint8)
    off = (-raw.ctypes.data) % _ALIGN
    return raw[off : off + nbytes]


def _pwrite_all(fd: int, view: memoryview, offset: int) -> None:
    while view.nbytes:
        n = os.pwrite(fd, view, offset)
        view, offset = view[n:], offset + n


def _clear_direct(fd: int) -> None:
    """Switch an open file to buffered I/O."""
    import fcntl

    fl = fcntl.fcntl(fd, fcntl.F_GETFL)
    fcntl.fcntl(fd, fcntl.F_SETFL, fl & ~getattr(os, "O_DIRECT", 0))


class _ZarrChunkFiles:
    """Whole chunks of a Zarr array of the store written straight to their chunk files, for an
    array whose chunks are the raw bytes (Zarr v3 on a local store with the ``bytes`` codec in
    the machine's byte order and no other codec: then the file of chunk ``(c, 0, ...)`` holds
    exactly its C-order bytes, edge chunks full-size; Zarr reads them back as usual). The
    aligned head of each file is written with ``O_DIRECT`` where allowed (see
    :class:`_RawArray`; the unaligned tail, under ``_ALIGN`` bytes, is buffered), so the CLVs
    do not take fresh page-cache pages either. :meth:`create` returns ``None`` for any other
    array, which is then written through Zarr."""

    def __init__(self, directory: Path, encoding: Any, ndim: int, chunk_bytes: int, direct: bool) -> None:
        self.directory, self.encoding, self.ndim, self.chunk_bytes = directory, encoding, ndim, chunk_bytes
        self.direct = direct and _DIRECT_IO and chunk_bytes >= _DIRECT_MIN_BYTES

    @classmethod
    def create(cls, array: Any, chunk_bytes: int, *, direct: bool = True) -> _ZarrChunkFiles | None:
        import sys

        try:
            from zarr.codecs import BytesCodec
            from zarr.storage import LocalStore

            store, meta = array.store_path.store, array.metadata
            plain = (
                meta.zarr_format == 3
                and isinstance(store, LocalStore)
                and tuple(meta.codecs) == (BytesCodec(endian=sys.byteorder),)
                and array.dtype.byteorder in ("=", "|", "<" if sys.byteorder == "little" else ">")
            )
            if not plain:
                return None
            directory = Path(store.root) / array.store_path.path
            return cls(directory, meta.chunk_key_encoding, array.ndim, chunk_bytes, direct)
        except Exception:  # noqa: BLE001 - another Zarr layout or version: write through Zarr
            return None

    def write_chunk(self, c: int, buf: np.ndarray) -> None:
        """Write chunk ``c`` (``(c, 0, 0, ...)``) from ``buf`` (``chunk_bytes`` bytes, aligned)."""
        path = self.directory / self.encoding.encode_chunk_key((c,) + (0,) * (self.ndim - 1))
        path.parent.mkdir(parents=True, exist_ok=True)
        view = memoryview(buf).cast("B")[: self.chunk_bytes]
        flags = os.O_WRONLY | os.O_CREAT | os.O_TRUNC
        direct_flag = getattr(os, "O_DIRECT", 0)
        head = 0
        if self.direct and direct_flag:
            head = self.chunk_bytes // _ALIGN * _ALIGN
        fd = -1
        if head:
            try:
                fd = os.open(path, flags | direct_flag, 0o644)
            except OSError:
                head = 0
        if fd < 0:
            fd = os.open(path, flags, 0o644)
        try:
            if head:
                try:
                    _pwrite_all(fd, view[:head], 0)
                except OSError as err:
                    if err.errno != errno.EINVAL:
                        raise
                    head = 0  # refused at the transfer: all of it buffered
                _clear_direct(fd)
            _pwrite_all(fd, view[head:], head)
        finally:
            os.close(fd)


class _RawArray:
    """A spill-to-disk array: one binary file of whole chunks (chunk ``c`` at byte ``c *
    chunk_bytes``), written and read with positional file I/O (``pwrite``/``preadv``: no memory
    map, so the pages do not count towards the process's memory, no shared file position, no
    intermediate copies).

    Where the file system allows it the file is opened with ``O_DIRECT``: the data goes between
    the chunk buffers and the disk without passing through the page cache, so a spill of
    gigabytes neither takes gigabytes of fresh page-cache pages (allocating them is most of the
    cost of buffered writes: measured 5 ms per MB of CPU on a fresh VM page against 0.05 ms per
    MB direct, docs/clv.md) nor evicts other cached files. Direct I/O needs aligned buffers,
    offsets and lengths, so chunks are padded to a multiple of ``_ALIGN`` bytes and the caller
    passes buffers from :func:`_aligned_empty`. A file system without it (tmpfs, some network
    file systems) refuses ``O_DIRECT`` at ``open`` or at the first transfer; the file then falls
    back to ordinary buffered I/O, and so do chunks under ``_DIRECT_MIN_BYTES`` (a direct
    transfer waits for the device, which only pays for large ones) and ``direct=False`` (runs on
    a GPU, whose steps can outpace the disk)."""

    def __init__(self, path: Path, chunk_bytes: int, *, direct: bool = True) -> None:
        self.direct = False
        flags = os.O_RDWR | os.O_CREAT | os.O_TRUNC
        direct_flag = getattr(os, "O_DIRECT", 0)
        self.chunk_bytes = chunk_bytes
        if direct and _DIRECT_IO and direct_flag and chunk_bytes >= _DIRECT_MIN_BYTES:
            try:
                self.fd = os.open(path, flags | direct_flag, 0o600)
                self.direct = True
                # padded so that every chunk starts on an aligned offset
                self.chunk_bytes = -(-chunk_bytes // _ALIGN) * _ALIGN
                return
            except OSError:
                pass
        self.fd = os.open(path, flags, 0o600)

    def _buffered(self) -> None:
        """Switch the open file to buffered I/O (``O_DIRECT`` refused at a transfer)."""
        _clear_direct(self.fd)
        self.direct = False

    def _transfer(self, c: int, buf: np.ndarray, write: bool) -> None:
        view = memoryview(buf).cast("B")
        offset = c * self.chunk_bytes
        while view.nbytes:
            try:
                n = os.pwrite(self.fd, view, offset) if write else os.preadv(self.fd, [view], offset)
            except OSError as err:
                if not (self.direct and err.errno == errno.EINVAL):
                    raise
                self._buffered()  # the file system refused direct I/O: retry buffered
                continue
            if n <= 0:
                raise OSError(f"spill file truncated at byte {offset}")
            view, offset = view[n:], offset + n

    def write_chunk(self, c: int, buf: np.ndarray) -> None:
        """Write chunk ``c`` from ``buf`` (``chunk_bytes`` bytes, aligned for direct I/O)."""
        self._transfer(c, buf, True)

    def read_chunk(self, c: int, buf: np.ndarray) -> None:
        """Read chunk ``c`` into ``buf`` (as written by :meth:`write_chunk`)."""
        self._transfer(c, buf, False)

    def truncate(self, c: int) -> None:
        """Drop the chunks from ``c`` on (their pages, dirty or not, are freed unwritten)."""
        os.ftruncate(self.fd, c * self.chunk_bytes)

    def close(self) -> None:
        os.close(self.fd)


class _Series:
    """``n_times`` tensors of one shape, written with increasing or decreasing index and read
    with decreasing index; held in one preallocated tensor, or on disk (a Zarr array of the
    ``store``, or a raw spill file in a temporary folder) through chunk buffers in memory (time
    is the first axis, one chunk holds ``chunk`` times).

    On disk with more than one chunk there are two half-size buffers and one I/O thread: a full
    chunk is written while the next one fills, and while one chunk is read the one before it is
    prefetched (file writes and reads release the GIL, so the I/O overlaps the computation; the
    memory held is the same as one full-size buffer). All I/O of a series goes through its thread,
    in order, so a read always sees the earlier writes; :meth:`fill` queues the copying of an item
    into its buffer there too, before the chunk's write, and this thread waits for a buffer's
    queued tasks before it touches the buffer. Reads go backwards and each item is read once, so
    once reading has started a spill file is truncated behind the reader (the pages not yet written
    back to the disk are dropped, not written) and buffers are not written back.
    """

    def __init__(
        self,
        n_times: int,
        shape: tuple[int, ...],
        dtype: torch.dtype,
        device: torch.device,
        meter: _Meter,
        group: Any = None,
        name: str = "",
    ) -> None:
        self.n_times, self.shape, self.dtype, self.device = n_times, shape, dtype, device
        itemsize = torch.empty(0, dtype=dtype).element_size()
        self.item_bytes = int(np.prod(shape, dtype=np.int64)) * itemsize
        self.meter = meter
        self.array: Any = None
        self.pool: ThreadPoolExecutor | None = None
        if group is None:
            self.data = torch.empty(n_times, *shape, dtype=dtype, device=device)
            meter.add(self.data.numel() * itemsize)
            return
        per = max(1, _CHUNK_BYTES // max(self.item_bytes, 1))
        n_buf = 2 if per < n_times else 1
        self.chunk = min(n_times, max(1, per // n_buf))
        np_dtype = str(torch.empty(0, dtype=dtype).numpy().dtype)
        chunk_bytes = self.chunk * self.item_bytes
        # direct I/O for CPU runs only: a GPU run's steps can outpace the disk, and the page cache
        # (memory) keeps up with it
        direct = device.type == "cpu"
        # whole chunks go to disk through ``writer`` (a spill file, or the chunk files of a plain
        # Zarr array) from aligned buffers ``raw``, written and read whole (padding included);
        # other Zarr arrays are written through Zarr
        self.writer: _RawArray | _ZarrChunkFiles | None = None
        if isinstance(group, Path):
            self.array = self.writer = _RawArray(group / f"{name}.bin", chunk_bytes, direct=direct)
        else:
            self.array = group.create_array(
                name,
                shape=(n_times, *shape),
                chunks=(self.chunk, *shape),
                dtype=np_dtype,
                compressors=None,
                fill_value=0.0,
            )
            self.writer = _ZarrChunkFiles.create(self.array, chunk_bytes, direct=direct)
        size = self.writer.chunk_bytes if self.writer is not None else chunk_bytes
        # zeroed: the part of an edge chunk beyond the array is the fill value 0
        self.raw = [_aligned_empty(size) for _ in range(n_buf)]
        self.bufs = [r[:chunk_bytes].view(np_dtype).reshape(self.chunk, *shape) for r in self.raw]
        meter.add(sum(b.nbytes for b in self.raw))
        self.held: list[int | None] = [None] * n_buf  # chunk held in each buffer
        self.dirty = [False] * n_buf
        # tasks in flight on each buffer (fills, writes, reads): the one I/O thread runs them in
        # the order they were submitted, so a write follows the fills of its chunk
        self.pending: list[list[Future]] = [[] for _ in range(n_buf)]
        self.cur = 0
        self.reading = False
        self.pool = (
            ThreadPoolExecutor(max_workers=1, thread_name_prefix="rnndyn-clv-io")
            if n_buf == 2 and _IO_THREAD
            else None
        )

    def _chunk_slice(self, c: int) -> slice:
        return slice(c * self.chunk, min((c + 1) * self.chunk, self.n_times))

    def _write(self, c: int, b: int) -> None:
        if self.writer is not None:
            self.writer.write_chunk(c, self.raw[b])  # whole chunks (an edge chunk full-size)
            return
        sl = self._chunk_slice(c)
        self.array[sl] = self.bufs[b][: sl.stop - sl.start]

    def _read(self, c: int, b: int) -> None:
        if isinstance(self.array, _RawArray):
            self.array.read_chunk(c, self.raw[b])
            return
        sl = self._chunk_slice(c)
        self.bufs[b][: sl.stop - sl.start] = self.array[sl]

    def _io(self, b: int, fn: Any, c: int) -> None:
        """Run ``fn(c, b)`` on the I/O thread, after the tasks already queued (or here with a
        single buffer)."""
        if self.pool is None:
            fn(c, b)
        else:
            self.pending[b].append(self.pool.submit(fn, c, b))

    def _wait(self, b: int) -> None:
        """Wait for the tasks on buffer ``b`` (before this thread touches it)."""
        futs, self.pending[b] = self.pending[b], []
        for fut in futs:
            fut.result()  # re-raises an error of the thread

    def _truncate(self, c: int, b: int) -> None:
        self.array.truncate(c)

    def _retire(self, b: int) -> None:
        """Write buffer ``b`` out if it holds unwritten data (not once reading has started)."""
        if self.dirty[b] and self.held[b] is not None and not self.reading:
            self._io(b, self._write, self.held[b])  # type: ignore[arg-type]
        self.dirty[b] = False

    def _switch(self, c: int) -> int:
        """Make a buffer hold chunk ``c`` for writing or reading; returns its index."""
        cur = self.cur
        if self.held[cur] == c:
            return cur
        self._retire(cur)
        if len(self.bufs) == 2:
            cur = 1 - cur
            self.cur = cur
        self._wait(cur)
        if self.held[cur] != c:
            self.held[cur] = c
            return -1 - cur  # fresh: caller decides whether to read it
        return cur

    def _slot(self, i: int) -> tuple[int, Tensor]:
        if self.array is None:
            return -1, self.data[i]
        c = i // self.chunk
        b = self._switch(c)
        b = b if b >= 0 else -1 - b
        self.dirty[b] = True
        return b, torch.from_numpy(self.bufs[b][i - c * self.chunk])

    def slot(self, i: int) -> Tensor:
        """A writable tensor that is item ``i`` (in memory, or in the chunk buffer on disk): the
        caller computes item ``i`` straight into it (no intermediate array, no copy). Valid
        until the next ``slot``/``get`` of this series."""
        return self._slot(i)[1]

    def fill(self, i: int, fn: Any) -> Future | None:
        """Item ``i`` computed by ``fn(out)`` into its slot: on the I/O thread when the series
        has one (a CPU series on disk; the chunk's write is queued after it), else here. Copying
        into the chunk buffers is then off this thread, like the writes. ``fn`` may read only
        data that stays unchanged until the returned future (``None`` when run here) is done."""
        b, out = self._slot(i)
        if self.pool is None or b < 0 or self.device.type != "cpu":
            fn(out)
            return None
        fut = self.pool.submit(fn, out)
        self.pending[b].append(fut)
        return fut

    def get(self, i: int) -> Tensor:
        """Item ``i``; on disk, a view of the chunk buffer valid until the next ``get``/``slot``
        of this series moves two chunks on (use it, or copy it, before)."""
        if self.array is None:
            return self.data[i]
        c = i // self.chunk
        if not self.reading:
            self._retire(self.cur)  # the last chunk written: on disk before reading starts
            self.reading = True
        old = self.held[self.cur]
        b = self._switch(c)
        if b < 0:
            b = -1 - b
            self._io(b, self._read, c)
        self._wait(b)  # the read, or the fills still queued when the last chunk written is read
        if old is not None and old > c and isinstance(self.array, _RawArray):
            self._io(b, self._truncate, old)  # items from chunk ``old`` on are done
        if len(self.bufs) == 2 and c > 0:
            other = 1 - b
            if self.held[other] != c - 1:  # prefetch the chunk before this one (reads go backwards)
                self._retire(other)
                self._wait(other)
                self.held[other] = c - 1
                self._io(other, self._read, c - 1)
        return torch.from_numpy(self.bufs[b][i - c * self.chunk]).to(self.device)

    def close(self) -> None:
        if self.array is not None:
            for b in range(len(self.bufs)):
                self._retire(b)
            for b in range(len(self.bufs)):
                self._wait(b)
            if self.pool is not None:
                self.pool.shutdown()
            if isinstance(self.array, _RawArray):
                self.array.close()


def _open_store(path: Path, settings: dict[str, Any]) -> Any:
    """A fresh Zarr group at ``path`` for this run. An existing rnndyn CLV store with the same
    settings is overwritten; one with other settings, or any other existing content, raises."""
    import zarr

    if path.exists() and (path.is_file() or any(path.iterdir())):
        try:
            old = zarr.open_group(str(path), mode="r")
            attrs = dict(old.attrs)
        except Exception:  # noqa: BLE001 - any unreadable content is "not a CLV store"
            attrs = {}
        if attrs.get("format") != _STORE_FORMAT:
            raise ValueError(
                f"`store` must be a new path or an rnndyn CLV store; {str(path)!r} exists and is not one"
            )
        old_settings = attrs.get("settings", {})
        # a key missing on one side takes its default (stores written before it existed)
        keys = list(settings) + [k for k in old_settings if k not in settings]
        old_v = {k: old_settings.get(k, _STORE_DEFAULTS.get(k)) for k in keys}
        new_v = {k: settings.get(k, _STORE_DEFAULTS.get(k)) for k in keys}
        diff = {k: (old_v[k], new_v[k]) for k in keys if old_v[k] != new_v[k]}
        if diff:
            detail = ", ".join(f"{k}: store has {a!r}, this run {b!r}" for k, (a, b) in diff.items())
            raise ValueError(
                f"`store` {str(path)!r} holds a CLV run with other settings ({detail}); "
                "pass a new path or delete the store"
            )
    group = zarr.open_group(str(path), mode="w")
    group.attrs.update({"format": _STORE_FORMAT, "settings": settings, "complete": False})
    return group


# --------------------------------------------------------------------------------------- result
@dataclass(frozen=True, kw_only=True)
class CLVResult(Result):
    r"""Covariant Lyapunov vectors of one run, with the per-step growth data and self-checks.

    Indices are 0-based: column ``i`` of the vectors belongs to the ``i``-th largest exponent.

    Attributes:
        exponents: ``(k,)`` QR (Gram-Schmidt) exponents, mean over trajectories, in ``units``
            (not sorted across trajectories: column ``i`` is the ``i``-th QR column).
        clv_exponents: ``(k,)`` mean log growth factors of the CLVs, ``<ln d_i(t)>``: equal to
            ``exponents`` up to the boundary terms ``(ln C_{0,ii} - ln C_{T,ii}) / T``.
        stderr: ``(k,)`` standard error of ``exponents`` (over trajectories, or 10 time blocks).
        log_r: ``(B, n_steps // qr_every, k)`` ``ln R_ii`` of each QR event (natural log; per
            step with the default ``qr_every = 1``; the sum over the event's ``qr_every`` steps
            otherwise).
        log_growth: ``(B, n_steps // qr_every, k)`` ``ln d_i(t)`` of the CLVs, per QR event likewise.
        qr_every: steps between QR events (the value used; see :func:`covariant_lyapunov_vectors`).
        times: ``(R,)`` recorded steps ``0, record_every, ...`` (relative to the end of the
            forward transient). states: ``(B, R, n)`` the states there.
        vectors: ``(B, R, n_t, k)`` CLVs (unit columns) at ``times``, or ``None`` when they are
            in the Zarr ``store`` (read them with :meth:`vectors_at`) or were not kept.
        angle_pairs: the pairs ``(i, j)`` whose angles were recorded. angles: ``(B, R, P)``
            angles in radians, in ``[0, pi/2]``, between ``v_i`` and ``v_j``.
        n_unstable / n_neutral / n_stable: exponents above ``zero_tol``, within it, below it.
        min_angle: ``(B, R)`` smallest principal angle between the unstable subspace
            ``span(v_1..v_u)`` and the stable one ``span(v_{s+1}..v_k)`` (NaN when either is
            empty, and at recorded times between QR events when ``qr_every > 1``): a
            hyperbolicity indicator; ``u`` and ``k - s`` are the leading and trailing
            runs of exponents above ``zero_tol`` and below ``-zero_tol`` (equal to
            ``n_unstable`` and ``n_stable`` unless finite-time fluctuations put exponents near
            zero out of order); with ``k < n`` the stable subspace is the part that was computed.
        ipr_clv / ipr_gs: ``(k,)`` inverse participation ratio ``sum_j v_j^4`` of each CLV and
            each Gram-Schmidt vector, averaged over recorded times (for ``ipr_gs``: those that
            are QR steps) and trajectories (``1/n_t``:
            spread over all units; 1: one unit). ipr_clv_std / ipr_gs_std: their spread.
        backward_convergence: largest ``sin`` of the angle between the CLVs at the end of the
            recorded window from two independent random backward starts (NaN without a
            backward transient). backward_convergence_per_vector: ``(k,)`` the same per CLV (the
            slow ones are those with a small gap to the exponent above).
        forward_convergence: how far apart the Gram-Schmidt subspaces ``span(q_1..q_i)`` are at
            the start of the recorded window when two random initial frames run through the
            forward transient along the same trajectory: the largest over ``i`` of the Frobenius
            norm of the sines of their principal angles (an upper bound on the largest sine). The
            CLV ``v_i`` lies in that subspace, so it can be no more accurate. NaN after a
            divergence in the transient; with ``n_transient = 0`` the two random frames themselves.
            forward_convergence_per_vector: ``(k,)`` the same per ``i`` (the slow ones are those
            with a small gap to the exponent below; ``k = tangent_size`` makes the last 0).
        growth_identity_residual: largest ``|sum ln d_i - sum ln R_ii - ln C_{0,ii} +
            ln C_{T,ii}| / n_steps`` (round-off in the backward iteration).
        memory: ``storage`` of ``R`` and the frames (``"memory"`` or ``"spill"``), ``vectors``
            (``"memory"``, ``"zarr"`` or ``"none"``), ``peak_buffer_bytes``
            (the most bytes the recorded series held in memory at once), ``spilled_bytes``,
            ``process_peak_rss_bytes`` and, on CUDA, ``cuda_peak_bytes``.
        store: path of the Zarr store (``None`` without one, or for a temporary spill).
        checks / status / message: :class:`rnndyn.Check` records (``finite``,
            ``backward_convergence``, ``growth_identity``, ``stationarity`` of the forward
            exponents as in :func:`rnndyn.lyapunov_spectrum`, and with ``qr_every > 1``
            ``qr_round_off``: ``eps e^x``, ``x`` the largest ``ln R_11 - ln R_kk`` of one QR
            event, an estimate of the most stable CLVs' round-off, at most ``convergence_tol``)
            and the worst outcome; see
            :data:`STATUSES`.
    """

    exponents: Tensor
    clv_exponents: Tensor
    stderr: Tensor
    log_r: Tensor = field(repr=False)
    log_growth: Tensor = field(repr=False)
    times: Tensor = field(repr=False)
    states: Tensor = field(repr=False)
    vectors: Tensor | None = field(repr=False)
    angle_pairs: tuple[tuple[int, int], ...]
    angles: Tensor = field(repr=False)
    n_unstable: int
    n_neutral: int
    n_stable: int
    zero_tol: float
    min_angle: Tensor = field(repr=False)
    ipr_clv: Tensor
    ipr_gs: Tensor
    ipr_clv_std: Tensor = field(repr=False)
    ipr_gs_std: Tensor = field(repr=False)
    backward_convergence: float
    backward_convergence_per_vector: Tensor
    forward_convergence: float = math.nan
    forward_convergence_per_vector: Tensor | None = field(default=None, repr=False)
    growth_identity_residual: float
    units: str
    dt: float | None
    k: int
    state_size: int
    tangent_size: int
    n_steps: int
    n_transient: int
    n_backward_transient: int
    record_every: int
    qr_every: int = 1
    n_trajectories: int
    memory: dict[str, Any]
    store: str | None

    _repr_fields = ("exponents", "n_unstable", "min_angle_overall", "backward_convergence", "k", "n_steps")
    #: per-step and per-time arrays left out of ``to_dict()`` (summarised there instead)
    _bulk = ("log_r", "log_growth", "times", "states", "vectors", "angles", "min_angle")

    @property
    def success(self) -> bool:
        return self.status == Status.SUCCESS

    @property
    def min_angle_overall(self) -> float:
        """Smallest unstable-stable angle over all recorded times and trajectories (radians)."""
        a = self.min_angle[torch.isfinite(self.min_angle)]
        return float(a.min()) if a.numel() else math.nan

    def vectors_at(self, j: int) -> Tensor:
        """CLVs ``(B, n_t, k)`` at the ``j``-th recorded time, from memory or the Zarr store."""
        n_rec = int(self.times.numel())
        if isinstance(j, bool) or not isinstance(j, int | np.integer):
            raise TypeError(f"`j` must be an int (index of a recorded time); got {type(j).__name__} {j!r}")
        if not -n_rec <= j < n_rec:
            raise IndexError(f"`j` must be in [-{n_rec}, {n_rec}) (the {n_rec} recorded times); got {j}")
        j = int(j)
        if self.vectors is not None:
            return self.vectors[:, j]
        if self.store is None:
            raise ValueError("the CLVs were not kept (keep_vectors=False)")
        import zarr

        arr = zarr.open_group(self.store, mode="r")["vectors"]
        return torch.from_numpy(np.asarray(arr[j]))

    def _to_dict(self, prefix: str, reasons: Any) -> dict[str, Any]:
        from rnndyn._results import to_jsonable

        out: dict[str, Any] = {}
        for f in dataclasses.fields(self):
            if f.name in self._bulk:
                continue
            out[f.name] = to_jsonable(getattr(self, f.name), f"{prefix}{f.name}", reasons)
        finite = self.min_angle[torch.isfinite(self.min_angle)]
        extra = {
            "n_recorded": int(self.times.numel()),
            "min_angle_overall": self.min_angle_overall,
            "min_angle_median": float(finite.median()) if finite.numel() else math.nan,
            "angle_pairs_median": self.angles.flatten(0, 1).nanmedian(0).values
            if self.angles.numel()
            else [],
        }
        for name, v in extra.items():
            out[name] = to_jsonable(v, f"{prefix}{name}", reasons)
        return out


# --------------------------------------------------------------------------------------- helpers
def _block_checkpoints(lr: Tensor, n_steps: int) -> tuple[Tensor, Tensor]:
    """Cumulative sums ``(B, C, k)`` of the per-step ``ln R_ii`` ``lr`` ``(B, n_steps, k)`` at the
    time-block boundaries that :func:`rnndyn._diagnostics.block_means` looks for (10 blocks for the
    errors, up to 20 for the stationarity check), and those steps ``(C,)``."""
    ends = set()
    for nb in (min(N_BLOCKS, n_steps), min(diag.N_STATIONARITY_BLOCKS, n_steps // diag.MIN_BLOCK_STEPS)):
        ends |= {round((j + 1) * n_steps / nb) for j in range(nb)} if nb >= 1 else set()
    ends = sorted(e for e in ends | {n_steps} if e > 0)
    segments = torch.tensor_split(lr, ends[:-1], dim=1)
    cum = torch.stack([seg.sum(1) for seg in segments], dim=1).cumsum(1)
    return torch.tensor(ends, dtype=torch.int64), cum


def _random_upper(batch: int, k: int, generator: torch.Generator | None) -> Tensor:
    c = torch.triu(torch.randn(batch, k, k, generator=generator, dtype=torch.float64))
    d = torch.diagonal(c, dim1=-2, dim2=-1)
    return c + torch.diag_embed(d.abs() - d)


def _normalise_columns(c: Tensor) -> tuple[Tensor, Tensor]:
    norms = torch.linalg.vector_norm(c, dim=-2)
    return c / norms.unsqueeze(-2), norms


def _block_edges(k: int) -> list[int]:
    """Edges of the column blocks in which the products with upper-triangular ``k x k`` factors
    are split (about 96 or more columns a block, at most 4; one block for small ``k``)."""
    nb = max(1, min(4, k // 96))
    return [round(i * k / nb) for i in range(nb + 1)]


def _solve_upper(r: Tensor, c: Tensor, edges: list[int], out: Tensor | None = None) -> Tensor:
    r"""``R^{-1} C`` for ``R`` ``(B, k, k)`` upper triangular and ``C`` ``(B, k, m k)`` made of
    ``m`` upper-triangular ``k x k`` blocks (the result is too).

    Column block ``[a, b)`` of an upper-triangular block is zero below row ``b``, and so is its
    solution, so only ``R[:b, :b]`` enters: about a third of the flops of a full triangular solve
    (``k^3 / 3`` instead of ``k^3`` per block) with the same operations on the non-zero entries;
    the entries below the diagonal are exact zeros either way. Only the upper triangle of ``R``
    is read (the strictly lower part may hold anything).

    ``out``: a buffer like ``c`` (not overlapping it) to write into, whose entries below the
    diagonal blocks are zeros (a zero-initialised buffer that only ever receives results of this
    function keeps them); the blocks are written in place, without a fresh zeroed array.
    """
    if len(edges) == 2:
        if out is None:
            return torch.linalg.solve_triangular(r, c, upper=True)
        out.copy_(torch.linalg.solve_triangular(r, c, upper=True))
        return out
    k = r.shape[-1]
    m = c.shape[-1] // k
    if out is None:
        out = torch.zeros_like(c)
    if m == 1:
        for a, b in zip(edges[:-1], edges[1:], strict=True):
            out[..., :b, a:b] = torch.linalg.solve_triangular(r[..., :b, :b], c[..., :b, a:b], upper=True)
        return out
    c4, out4 = c.unflatten(-1, (m, k)), out.unflatten(-1, (m, k))  # (B, k, m, k) views
    for a, b in zip(edges[:-1], edges[1:], strict=True):
        rhs = c4[..., :b, :, a:b].reshape(*c.shape[:-2], b, m * (b - a))
        x = torch.linalg.solve_triangular(r[..., :b, :b], rhs, upper=True)
        out4[..., :b, :, a:b] = x.unflatten(-1, (m, b - a))
    return out


def _times_upper_t(qt: Tensor, c: Tensor, edges: list[int], out: Tensor) -> Tensor:
    r"""``(Q C)^T`` into ``out`` ``(B, k, n)`` for ``Q^T`` given as ``qt`` ``(B, k, n)`` (the frames
    are kept transposed: the layout in which the QR returns them) and ``C`` ``(B, k, k)`` upper
    triangular, by column blocks of ``C``: block ``[a, b)`` has zero rows from ``b`` on, so it
    needs only ``Q[:, :b]`` (about 5/8 of the flops of the full product with 4 blocks; the skipped
    terms are exact zeros). Each block is one GEMM with contiguous row blocks of ``Q^T`` and of
    the output."""
    for a, b in zip(edges[:-1], edges[1:], strict=True):
        torch.matmul(c[..., :b, a:b].transpose(-2, -1), qt[..., :b, :], out=out[..., a:b, :])
    return out


def _ipr_rows(vt: Tensor, buf: Tensor) -> Tensor:
    """Inverse participation ratio ``sum_j v_j^4 / (sum_j v_j^2)^2`` of the columns of ``V``, given
    as the rows of ``vt`` ``(B, k, n)`` -> ``(B, k)``, with the squares in the buffer ``buf`` (like
    ``vt``): two passes over it and no temporary arrays."""
    torch.mul(vt, vt, out=buf)
    s2 = buf.sum(-1)
    buf.square_()
    return buf.sum(-1) / s2.square()


class _Packer:
    """The upper triangle of ``(B, k, k)`` matrices <-> its row-major packing ``(B, k (k+1)/2)``
    (the order of ``torch.triu_indices``), by flat index gathers and scatters."""

    def __init__(self, k: int, device: torch.device) -> None:
        iu = torch.triu_indices(k, k)
        self.k = k
        self.flat = (iu[0] * k + iu[1]).to(device)  # position in a row-major matrix
        self.flat_t = (iu[1] * k + iu[0]).to(device)  # in a column-major one (LAPACK's layout)
        self.flat_np, self.flat_t_np = self.flat.cpu().numpy(), self.flat_t.cpu().numpy()

    def pack(self, r: Tensor, out: Tensor) -> None:
        """Write the packed upper triangle of ``r`` into ``out`` (contiguous)."""
        if r.transpose(-2, -1).is_contiguous():  # column-major: as the QR returns R
            src, idx, idx_np = r.transpose(-2, -1), self.flat_t, self.flat_t_np
        else:
            src, idx, idx_np = r.contiguous(), self.flat, self.flat_np
        src = src.reshape(*src.shape[:-2], -1)
        if src.device.type == "cpu" and out.device.type == "cpu" and out.is_contiguous():
            # numpy's take with an output and mode "clip" (the indices are valid) writes in place
            np.take(src.numpy(), idx_np, axis=-1, out=out.numpy(), mode="clip")
        elif src.device == out.device:
            torch.index_select(src, -1, idx.to(src.device), out=out)
        else:  # a GPU run spilling to disk: pack on the GPU, one copy to the host buffer
            out.copy_(torch.index_select(src, -1, idx.to(src.device)))

    def unpack(self, packed: Tensor, out: Tensor) -> None:
        """Write ``packed`` into the upper triangle of the contiguous ``out`` (the rest is kept)."""
        out.view(*out.shape[:-2], -1).index_copy_(-1, self.flat, packed.to(out.device))


def _angle_split(exps: Tensor, tol: float) -> tuple[int, int] | None:
    """``(u, s)``: the unstable subspace ``span(v_1..v_u)`` is the leading run of exponents above
    ``tol`` and the stable one ``span(v_{s+1}..v_k)`` the trailing run below ``-tol``, so that both
    are invariant (the first ``i`` CLVs span the first ``i`` Gram-Schmidt vectors); ``None`` when
    either is empty. The QR exponents come out ordered only up to finite-time fluctuations, which
    can put exponents near the ``+-tol`` band out of order; an unstable one after a neutral one (or
    a stable one before it) then belongs to neither block."""
    above = (exps > tol).tolist()
    below = (exps < -tol).tolist()
    u = next((i for i, a in enumerate(above) if not a), len(above))
    s = len(below) - next((i for i, b in enumerate(reversed(below)) if not b), len(below))
    return (u, s) if u > 0 and s < len(below) and u <= s else None


def _min_angle_unstable_stable(c: Tensor, n_unstable: int, stable_from: int) -> Tensor:
    r"""Smallest principal angle between ``span(v_1..v_u)`` and ``span(v_{s+1}..v_k)`` -> ``(B,)``.

    Computed in the Gram-Schmidt coordinates ``V = Q C`` (``Q`` orthonormal keeps angles): the
    unstable subspace is ``span(e_1..e_u)`` (the first ``u`` CLVs span the first ``u`` Gram-Schmidt
    vectors). With ``Y = C[:u, s:]`` (the stable CLVs' part inside it) and ``X = C[u:, s:]`` (the
    part outside, full column rank: it ends with the triangle ``C[s:, s:]``),

    .. math::

        \cot\theta = \max_y \frac{\lVert Y y\rVert}{\lVert X y\rVert}
        = \sigma_{\max}(Y R_X^{-1}), \qquad X = Q_X R_X,

    so ``theta = atan2(1, sigma_max)``, accurate for small angles. ``C`` is upper triangular, so
    ``X`` is the triangle ``C[s:, s:]`` under ``s - u`` dense rows (the neutral CLVs): without
    those ``R_X`` is that triangle itself, else the ``R`` of a QR of ``X``; then one triangular
    solve with ``u`` right-hand sides and the largest singular value of a ``u x (k - s)`` matrix.
    """
    u, s = n_unstable, stable_from
    x = c[..., u:, s:]
    rx = x if s == u else torch.linalg.qr(x, mode="r")[1]
    z = torch.linalg.solve_triangular(rx, c[..., :u, s:], upper=True, left=False)  # Y R_X^-1
    smax = torch.linalg.svdvals(z)[..., 0]
    return torch.atan2(torch.ones_like(smax), smax)


def _pair_angles(vt: Tensor, first: Tensor, second: Tensor) -> Tensor:
    """Angles in ``[0, pi/2]`` between the unit columns ``first[p]`` and ``second[p]`` of ``V``,
    given as the rows of ``vt`` ``(B, k, n)`` -> ``(B, P)``."""
    a, b = vt.index_select(-2, first), vt.index_select(-2, second)  # (B, P, n)
    dot = (a * b).sum(-1, keepdim=True)
    # atan2(|a - (a.b) b|, |a.b|): accurate for near-tangent pairs
    cross = torch.linalg.vector_norm(a - dot * b, dim=-1)
    return torch.atan2(cross, dot.squeeze(-1).abs())


def _resolve_qr_every(
    qr_every: int | str, engine: LyapunovEngine, log_r: Tensor, n_transient: int, n_steps: int, ok: bool
) -> int:
    """The QR interval of the recorded window: ``qr_every`` itself, or for ``"auto"`` the rule of
    :func:`rnndyn.lyapunov_spectrum` on the forward transient's exponent estimates ``log_r / n_transient``
    (QR every step below ``_AUTO_MIN_TRANSIENT`` transient steps or after a divergence), reduced to the
    largest divisor of ``n_steps`` not above it."""
    if qr_every != "auto":
        return int(qr_every)
    if not ok or n_transient < _AUTO_MIN_TRANSIENT:
        return 1
    rule = engine._auto_qr_every((log_r / n_transient).mean(0), log_r.dtype)
    return max(d for d in range(1, min(rule, n_steps) + 1) if n_steps % d == 0)


def _second_generator(generator: torch.Generator | None) -> torch.Generator:
    """A CPU generator for the second random frame, seeded from ``generator``'s seed (fixed
    without one), so that drawing that frame leaves ``generator``'s stream untouched."""
    seed = generator.initial_seed() if generator is not None else 0
    return torch.Generator().manual_seed((seed * 0x9E3779B1 + 0x5EED) % 2**63)


def _column_sines(a: Tensor, b: Tensor) -> Tensor:
    """``|a_i - (a_i . b_i) b_i|`` of the unit columns of ``a`` and ``b`` ``(B, n, k)`` -> ``(B, k)``:
    the sine of the angle between the lines they span, exact to round-off for small angles."""
    dot = (a * b).sum(-2, keepdim=True)
    return torch.linalg.vector_norm(a - dot * b, dim=-2).clamp(max=1.0)


def _subspace_sines(q: Tensor, p: Tensor) -> Tensor:
    """For orthonormal frames ``q``, ``p`` ``(B, n, k)``: the Frobenius norm of the sines of the
    principal angles between ``span(q_1..q_i)`` and ``span(p_1..p_i)`` for every ``i`` -> ``(B, k)``
    (an upper bound on the largest sine, at most ``sqrt(i)`` times it). With ``M = P^T Q``, the part
    of ``q_1..q_i`` outside ``span(p_1..p_i)`` is ``Z[:, :i] + P[:, i:] M[i:, :i]``, ``Z = Q - P M``
    outside the whole frame ``P``: two orthogonal terms, each formed without cancellation."""
    m = p.transpose(-2, -1) @ q  # (B, k, k)
    z = q - p @ m
    outside = torch.cumsum((z * z).sum(-2), dim=-1)  # (B, k): ||Z[:, :i]||_F^2
    low = torch.tril(m * m, diagonal=-1)  # entries (a, b) with a > b
    # S(i) = sum over rows a >= i, columns b < i (0-based: the span of the first i columns)
    cols = torch.cumsum(low, dim=-1)  # (B, k, k): sum over b <= column index
    rows = torch.flip(torch.cumsum(torch.flip(cols, dims=[-2]), dim=-2), dims=[-2])  # sum over a >= row
    k = q.shape[-1]
    idx = torch.arange(k, device=q.device)
    inside = torch.zeros_like(outside)
    if k > 1:
        inside[..., :-1] = rows[..., idx[1:], idx[:-1]]  # i = b + 1 columns: rows a >= b + 1, cols <= b
    return torch.sqrt(outside + inside).clamp(max=1.0)


def _qr_round_off(lr: Tensor, eps: float) -> tuple[float, float]:
    """``(eps e^x, x)`` with ``x`` the largest ``max_i ln R_ii - min_i ln R_ii`` over the QR events
    ``lr`` ``(B, E, k)``: the growth ratio between the leading and the most stable direction
    that one QR event resolves, so ``eps e^x`` estimates the relative round-off of the most
    stable Gram-Schmidt vectors and CLVs (``(0, 0)`` without events)."""
    if lr.numel() == 0 or lr.shape[-1] < 2:
        return 0.0, 0.0
    x = float((lr.amax(-1) - lr.amin(-1)).amax())
    return eps * math.exp(min(x, 700.0)), x


def _normalise_in_place(c: Tensor, sq: Tensor) -> Tensor:
    """Divide the columns of ``c`` by their norms in place, with the squares in the buffer ``sq``
    (like ``c``); returns the norms ``(B, m)``."""
    norms = torch.mul(c, c, out=sq).sum(-2).sqrt_()
    c.div_(norms.unsqueeze(-2))
    return norms


# --------------------------------------------------------------------------------------- main entry
def _window_from_inputs(inputs: Any, n_transient: int, n_backward_transient: int | None) -> int:
    """The longest recorded window ``n_steps`` that ``inputs`` cover after ``n_transient`` and the
    backward transient (``n_backward_transient``, or its default ``max(n_steps // 4, 100)``, which
    grows with ``n_steps``: the largest ``n`` with ``n + max(n // 4, 100) <= T - n_transient``)."""
    check_tensor(inputs, "inputs")
    if inputs.ndim not in (2, 3):
        raise ValueError(f"`inputs` must have shape (B, T, d) or (T, d); got {tuple(inputs.shape)}")
    avail = int(inputs.shape[-2]) - n_transient
    if n_backward_transient is not None:
        n = avail - n_backward_transient
    else:  # n + max(n // 4, 100) is nondecreasing in n: bisect for the largest n that fits
        lo, hi = 0, max(avail, 0)
        while lo < hi:
            mid = (lo + hi + 1) // 2
            lo, hi = (mid, hi) if mid + max(mid // 4, 100) <= avail else (lo, mid - 1)
        n = lo
    if n < 1:
        bt = (
            f"n_backward_transient = {n_backward_transient}"
            if n_backward_transient is not None
            else "the backward transient (default max(n_steps // 4, 100) >= 100 steps)"
        )
        raise ValueError(
            f"`inputs` has T = {inputs.shape[-2]} steps, which leaves no recorded step after n_transient = "
            f"{n_transient} and {bt}; give longer inputs or shorter transients"
        )
    return n


def covariant_lyapunov_vectors(
    system: Any,
    *,
    k: int | None = None,
    n_steps: int | None = None,
    n_transient: int = 0,
    n_backward_transient: int | None = None,
    record_every: int = 1,
    qr_every: int | str = 1,
    store: str | Path | None = None,
    max_memory: int | None = None,
    keep_vectors: bool = True,
    pairs: tuple[tuple[int, int], ...] | list[tuple[int, int]] | None = None,
    hyperbolicity: bool = True,
    inputs: Tensor | None = None,
    h0: Tensor | None = None,
    n_trajectories: int = 1,
    generator: torch.Generator | None = None,
    tangent: str = "auto",
    zero_tol: float | None = None,
    convergence_tol: float = 1e-6,
    throw: bool = True,
    progress: Any = None,
) -> CLVResult:
    r"""Covariant Lyapunov vectors of a map by Ginelli's forward-backward method.

    Forward: the state and an orthonormal frame of ``k`` tangent vectors run ``n_transient``
    steps (the frame converges to the Gram-Schmidt vectors), then ``n_steps +
    n_backward_transient`` steps with ``J_t Q_t = Q_{t+1} R_{t+1}`` (``diag R > 0``), keeping every
    ``R`` and the frames ``Q_t`` at the recorded times ``t = 0, record_every, ...`` ``< n_steps``.
    Backward: a random upper-triangular ``C`` at the final time is iterated back with

    .. math::

        C_t = R_{t+1}^{-1} C_{t+1} D_t, \qquad V_t = Q_t C_t,

    ``D_t`` normalising the columns; the ``n_backward_transient`` last steps converge ``C``, and
    the CLVs ``V_t`` (unit columns, ``v_i`` for the ``i``-th exponent) are recorded from
    ``t = n_steps - 1`` down to 0, with their growth factors ``d_i(t) = D_{t,ii}`` (so that
    ``J_t v_i(t) = d_i(t) v_i(t+1)``), the angles between chosen pairs, the smallest angle
    between the unstable and the stable subspaces, and the inverse participation ratios. A second
    random ``C`` runs through the backward transient to measure its convergence.

    What matters day to day: ``n_backward_transient`` (the CLV ``i`` converges like
    ``exp(-(lambda_{i-1} - lambda_i) t)``: at least a few times ``1 / gap``; default
    ``max(n_steps // 4, 100)``), ``n_transient`` (the Gram-Schmidt subspace ``span(q_1..q_i)``
    that holds ``v_i`` converges like ``exp(-(lambda_i - lambda_{i+1}) t)``; a second random
    frame runs through the transient to check it, which doubles the transient's cost), ``k``
    (top ``k`` CLVs cost ``O(n k^2)`` per step), ``record_every`` (memory of the frames and
    vectors) and ``qr_every`` (speed against the precision of the most stable CLVs).

    Memory: the run holds ``(n_steps + n_backward_transient) B k (k+1)/2`` numbers for ``R`` and
    ``B n_t k`` per recorded time for frames and vectors. When they would exceed ``max_memory``
    bytes (default 256 MiB), ``R`` and the frames spill to raw files in a temporary folder
    (deleted afterwards) and only one chunk (~8 MiB) of each is held in memory; with a ``store``
    the CLVs go to that Zarr store (chunk by chunk) instead of memory. ``result.memory`` reports
    the peak.

    Args:
        system: a map (``rd.discretise`` flows first); float64 recommended.
        k: number of CLVs (the top ``k``; default all ``tangent_size``).
        n_steps: steps of the recorded window. With ``inputs`` it defaults, as in
            :func:`rnndyn.lyapunov_spectrum`, to the longest window they cover after
            ``n_transient`` and the backward transient; without ``inputs`` it is required.
        n_transient: forward transient (state and frame).
        n_backward_transient: extra forward steps whose ``R`` only converge the backward
            iteration (default ``max(n_steps // 4, 100)``).
        record_every: keep the vectors every this many steps (int >= 1).
        qr_every: re-orthonormalise the frame every this many steps (int >= 1, a divisor of
            ``n_steps``), or ``"auto"``: the rule of :func:`rnndyn.lyapunov_spectrum` on the forward
            transient's exponents (QR every step below 20 transient steps), reduced to the largest
            divisor of ``n_steps`` not above it. With ``m > 1`` one QR and one triangular solve
            serve ``m`` steps: ``R`` is the product of the ``m`` one-step factors, and the CLVs in
            between are :math:`V_{t+j} = J_{t+j-1} \cdots J_t Q_t\, C_t` with normalised
            columns (the same vectors; the most stable ones lose precision as the ratio
            :math:`e^{m(\lambda_1 - \lambda_k)}` grows, which the ``"auto"`` rule caps at
            ``1e7`` in float64). ``log_r`` and ``log_growth`` then hold one row per QR event,
            and ``ipr_gs`` and ``min_angle`` are taken at the recorded times that are QR steps
            (``min_angle`` is NaN at the others). Default 1. See docs/clv.md.
        store: path of a Zarr store for the CLVs (created; an existing rnndyn CLV store with the
            same settings is overwritten, other settings raise). Needed when the CLVs at the
            recorded times do not fit in ``max_memory``.
        max_memory: bytes the recorded series may hold in memory (default 256 MiB).
        keep_vectors: keep the CLVs at the recorded times (else only their summaries).
        pairs: ``(i, j)`` index pairs (0-based) whose angles are recorded (default:
            consecutive pairs among the first 10).
        hyperbolicity: record the smallest unstable-stable angle (per recorded time: one
            triangular solve and the SVD of a ``u x (k - s)`` matrix, and a QR of ``(k - u) x
            (k - s)`` size when there are neutral exponents).
        inputs, h0, n_trajectories, generator, tangent: as :func:`rnndyn.lyapunov_spectrum`;
            ``inputs`` must cover ``n_transient + n_steps + n_backward_transient`` steps.
        zero_tol: tolerance that splits unstable / neutral / stable exponents (default
            ``max(1e-3, 3 stderr)`` of the exponent closest to zero, in ``units``).
        convergence_tol: largest ``sin`` angle allowed between the CLVs from two backward
            starts (else status ``"not_converged"``).
        throw: raise on divergence (default); ``False`` returns ``status="diverged"``.
        progress: optional ``callable(done, total)``; ``total`` counts forward and backward steps
            (called about 200 times, and always at the end of the transient, of the forward pass
            and of the backward pass).

    Returns:
        :class:`CLVResult`.

    Raises:
        TypeError: a flow, wrong argument types, neither ``n_steps`` nor ``inputs`` given.
        ValueError: ``k > tangent_size``, ``n_steps`` or ``record_every < 1``, inputs too short for
        the transients, a ``store`` that exists with other settings, CLVs that cannot
        be kept within ``max_memory`` without a store, bad inputs, or divergence (with
        ``throw=True``).

    References:
        F. Ginelli et al., Phys. Rev. Lett. 99, 130601 (2007), arXiv:0706.0510;
        F. Ginelli et al., J. Phys. A 46, 254005 (2013), arXiv:1212.3961.

    Example:
        >>> import math, torch, rnndyn as rd
        >>> res = rd.covariant_lyapunov_vectors(rd.Henon(), n_steps=200, n_transient=100,
        ...                                     generator=torch.Generator().manual_seed(0))
        >>> res.status.value, res.vectors.shape      # (B, recorded times, n, k)
        ('success', torch.Size([1, 200, 2, 2]))
        >>> bool(abs(res.exponents.sum() - math.log(0.3)) < 1e-10)   # sum rule: ln|det J|
        True
    """
    check_map(system)
    from rnndyn.checks import check_finite_parameters

    check_finite_parameters(system)  # NaN/inf weights are bad input, not a diverged trajectory
    _check_flags(throw=throw, progress=progress)
    check_generator(generator)
    n_t = int(system.tangent_size)
    if k is None:
        k = n_t
    k = check_positive_int(k, "k")
    if k > n_t:
        kind = "state_size" if n_t == system.state_size else "tangent_size"
        raise ValueError(f"`k` must be <= {kind} = {n_t}; got {k}")
    n_transient = check_positive_int(n_transient, "n_transient", minimum=0)
    if n_steps is None:  # as lyapunov_spectrum: the inputs' length decides
        if inputs is None:
            raise TypeError(
                "`n_steps` is required when no `inputs` are given (with `inputs` it defaults to the "
                "longest window they cover after n_transient and n_backward_transient)"
            )
        if n_backward_transient is not None:
            n_backward_transient = check_positive_int(n_backward_transient, "n_backward_transient", minimum=0)
        n_steps = _window_from_inputs(inputs, n_transient, n_backward_transient)
    n_steps = check_positive_int(n_steps, "n_steps")
    if n_backward_transient is None:
        n_backward_transient = max(n_steps // 4, 100)
    n_bt = check_positive_int(n_backward_transient, "n_backward_transient", minimum=0)
    record_every = check_positive_int(record_every, "record_every")
    if qr_every != "auto":
        if isinstance(qr_every, bool) or not isinstance(qr_every, numbers.Integral):
            raise TypeError(
                f"`qr_every` must be an int >= 1 or 'auto'; got {type(qr_every).__name__} {qr_every!r}"
            )
        qr_every = check_positive_int(qr_every, "qr_every")
        if n_steps % qr_every:
            raise ValueError(
                f"`n_steps` must be a multiple of `qr_every` = {qr_every} (one QR event ends the recorded "
                f"window); got n_steps = {n_steps}"
            )
    if max_memory is None:
        max_memory = DEFAULT_MAX_MEMORY
    max_memory = check_positive_int(max_memory, "max_memory")
    if not isinstance(keep_vectors, bool):
        raise TypeError(f"`keep_vectors` must be a bool; got {type(keep_vectors).__name__}")
    if not isinstance(hyperbolicity, bool):
        raise TypeError(f"`hyperbolicity` must be a bool; got {type(hyperbolicity).__name__}")
    convergence_tol = check_real(convergence_tol, "convergence_tol", low=0.0, low_open=True)
    if zero_tol is not None:
        zero_tol = check_real(zero_tol, "zero_tol", low=0.0)
    check_choice(tangent, "tangent", ("auto", "dense", "jvp"))
    if pairs is None:
        pairs_t = tuple((i, i + 1) for i in range(min(k - 1, 10)))
    else:
        if not isinstance(pairs, tuple | list):
            raise TypeError(f"`pairs` must be a list of (i, j) index pairs; got {type(pairs).__name__}")
        pairs_t = []
        for p in pairs:
            if (
                not isinstance(p, tuple | list)
                or len(p) != 2
                or not all(isinstance(i, int) and not isinstance(i, bool) for i in p)
                or not all(0 <= i < k for i in p)
                or p[0] == p[1]
            ):
                raise ValueError(
                    f"`pairs` must hold distinct index pairs (i, j) with 0 <= i, j < k = {k}; got {p!r}"
                )
            pairs_t.append((int(p[0]), int(p[1])))
        pairs_t = tuple(pairs_t)
    n_trajectories = check_positive_int(n_trajectories, "n_trajectories")
    total = n_steps + n_bt
    if isinstance(inputs, torch.Tensor) and inputs.ndim in (2, 3) and inputs.shape[-2] < n_transient + total:
        # _prepare would say "n_transient + n_steps", counting the backward transient as n_steps
        raise ValueError(
            f"`inputs` must cover n_transient + n_steps + n_backward_transient = {n_transient} + {n_steps} + "
            f"{n_bt} = {n_transient + total} steps (the backward transient needs inputs too); "
            f"got T = {inputs.shape[-2]}"
        )
    inputs, h0, _, batch = _prepare(system, inputs, h0, total, n_transient, n_trajectories)
    if h0 is None:
        h0 = system.initial_state((batch,), generator=generator)
    engine = LyapunovEngine(system, k=k, tangent=tangent, sum_check=False)
    dtype = h0.dtype
    itemsize = torch.empty(0, dtype=dtype).element_size()

    times = list(range(0, n_steps, record_every))
    n_rec = len(times)
    n_packed = k * (k + 1) // 2
    r_bytes = total * batch * n_packed * itemsize
    frame_bytes = n_rec * batch * n_t * k * itemsize
    vec_bytes = frame_bytes if keep_vectors else 0
    settings = {
        "model": type(system).__name__,
        "state_size": int(system.state_size),
        "tangent_size": int(n_t),
        "k": int(k),
        "n_steps": int(n_steps),
        "n_transient": int(n_transient),
        "n_backward_transient": int(n_bt),
        "record_every": int(record_every),
        "n_trajectories": int(batch),
        "dtype": str(dtype),
    }
    if qr_every != 1:  # absent for the default: stores written before qr_every existed still match
        settings["qr_every"] = qr_every
    if store is not None and not isinstance(store, str | Path):
        raise TypeError(f"`store` must be a path (str or Path) or None; got {type(store).__name__}")
    store_path = Path(store) if store is not None else None
    if store_path is None and keep_vectors and vec_bytes > max_memory:
        raise ValueError(
            f"keeping the CLVs at {n_rec} recorded times needs {vec_bytes / 2**20:.0f} MiB > max_memory = "
            f"{max_memory / 2**20:.0f} MiB; pass `store=` (a Zarr path), a larger `record_every`, "
            "a larger `max_memory` or `keep_vectors=False`"
        )
    # R and frames are working data: in memory when they fit, else in a temporary spill folder;
    # the CLVs are the output: in the Zarr store when one is given, else in memory
    vgroup = None
    if store_path is not None:
        vgroup = _open_store(store_path, settings)
        storage = "memory" if r_bytes + frame_bytes <= max_memory else "spill"
    elif r_bytes + frame_bytes + vec_bytes <= max_memory:
        storage = "memory"
    else:
        storage = "spill"

    meter = _Meter()
    tmpdir: str | None = None
    group = None
    if storage == "spill":
        tmpdir = tempfile.mkdtemp(prefix="rnndyn-clv-")
        group = Path(tmpdir)
    try:
        return _run(
            system,
            engine,
            h0,
            inputs,
            generator,
            k,
            n_t,
            n_steps,
            n_transient,
            n_bt,
            record_every,
            qr_every,
            times,
            batch,
            pairs_t,
            hyperbolicity,
            keep_vectors,
            storage,
            group,
            vgroup,
            meter,
            str(store_path) if store_path is not None else None,
            zero_tol,
            convergence_tol,
            throw,
            progress,
        )
    finally:
        if tmpdir is not None:
            shutil.rmtree(tmpdir, ignore_errors=True)


def _run(
    system: Any,
    engine: LyapunovEngine,
    h0: Tensor,
    inputs: Tensor | None,
    generator: torch.Generator | None,
    k: int,
    n_t: int,
    n_steps: int,
    n_transient: int,
    n_bt: int,
    record_every: int,
    qr_every: int | str,
    times: list[int],
    batch: int,
    pairs: tuple[tuple[int, int], ...],
    hyperbolicity: bool,
    keep_vectors: bool,
    storage: str,
    group: Any,
    vgroup: Any,
    meter: _Meter,
    store: str | None,
    zero_tol: float | None,
    convergence_tol: float,
    throw: bool,
    progress: Any,
) -> CLVResult:
    dtype, device = h0.dtype, h0.device
    total = n_steps + n_bt
    n_rec = len(times)
    grand_total = n_transient + total + total
    packer = _Packer(k, device)
    spill = group if storage == "spill" else None
    # the frames are kept transposed, Q^T (B, k, n_t): the QR returns Q column-major, so this is
    # a plain copy, and V^T = C^T Q^T reads contiguous row blocks of it
    q_series = _Series(n_rec, (batch, k, n_t), dtype, device, meter, spill, "frames")
    v_series = None
    if keep_vectors:
        v_series = _Series(n_rec, (batch, n_t, k), dtype, device, meter, vgroup, "vectors")
    states = torch.empty(batch, n_rec, system.state_size, dtype=dtype, device=device)
    every = max(1, grand_total // 200)

    phase_ends = {n_transient, n_transient + total, grand_total}  # always reported

    def tick(done: int) -> None:
        if progress is not None and (done % every == 0 or done in phase_ends):
            progress(done, grand_total)

    diverged_at: int | None = None
    singular_at: int | None = None

    def recorder(step: int, h: Tensor, q: Tensor | None, r: Tensor | None) -> None:
        # the engine's forward pass: after window step ``step`` (1-based), a QR event
        # J_{step-1} ... J_p Q_p = Q_step R_e (p = step - m; e = step / m - 1, its index), or, with
        # r None, the frame J_{step-1} ... J_p Q_p at a recorded step between QR events.
        # R and Q are fresh tensors that the engine only reads from here on, so packing R and
        # copying the frame into the spill buffers can run on the I/O thread
        if r is None:
            i = step // record_every
            q_series.fill(i, lambda out, q=q: out.copy_(q.transpose(-2, -1)))
            states[:, i] = h
            return
        e = -(-step // m) - 1
        r_series.fill(e, lambda out, r=r: packer.pack(r, out))
        if e < n_ev:
            log_r[:, e] = torch.log(torch.diagonal(r, dim1=-2, dim2=-1))
            if step < n_steps and step % record_every == 0:
                q_series.fill(step // record_every, lambda out, q=q: out.copy_(q.transpose(-2, -1)))
                states[:, step // record_every] = h

    # the frame is needed only at the recorded times: elsewhere the engine may keep it implicit
    def needs_frame(step: int) -> bool:
        return step < n_steps and step % record_every == 0

    chunk = 100
    fwd_per_vector = torch.full((k,), math.nan, dtype=torch.float64)  # diverged in the transient
    with torch.no_grad():
        state = engine.init(h0, generator=generator)
        # a second random frame along the same trajectory through the transient: where the two
        # agree at the window's start, the Gram-Schmidt vectors (which the CLVs are built on)
        # have converged; its own generator, so the run's random draws are those without it
        other = engine.init(h0, generator=_second_generator(generator))
        for start in range(0, n_transient, chunk):
            c_len = min(chunk, n_transient - start)
            x = inputs[:, start : start + c_len] if inputs is not None else None
            state = engine.advance(state, n_steps=c_len, inputs=x, qr_every=1)
            other = engine.advance(other, n_steps=c_len, inputs=x, qr_every=1)
            tick(start + c_len)
            if not bool(torch.isfinite(state.h).all()):
                diverged_at = start + c_len - 1
                break
        if diverged_at is None:
            fwd_per_vector = _subspace_sines(state.q, other.q).amax(0).detach().to("cpu", torch.float64)
        m = _resolve_qr_every(qr_every, engine, state.log_r, n_transient, n_steps, diverged_at is None)
        n_ev = n_steps // m  # QR events in the window (at steps m, 2m, ..., n_steps)
        r_series = _Series(n_ev + -(-n_bt // m), (batch, k * (k + 1) // 2), dtype, device, meter, spill, "r")
        log_r = torch.empty(batch, n_ev, k, dtype=dtype, device=device)
        meter.add(2 * log_r.numel() * log_r.element_size() + states.numel() * states.element_size())
        if diverged_at is None:
            state = engine.restart(state)
            q_series.slot(0).copy_(state.q.transpose(-2, -1))
            states[:, 0] = state.h
            # the engine ends every call with a QR event: calls of a multiple of m steps keep the
            # events at the multiples of m
            chunk = m * max(1, chunk // m)
            for start in range(0, total, chunk):
                c_len = min(chunk, total - start)
                x = (
                    inputs[:, n_transient + start : n_transient + start + c_len]
                    if inputs is not None
                    else None
                )
                state = engine.advance(
                    state, n_steps=c_len, inputs=x, qr_every=m, recorder=recorder, needs_frame=needs_frame
                )
                tick(n_transient + start + c_len)
                if not bool(torch.isfinite(state.h).all()) or bool(
                    (torch.isnan(state.log_r) | torch.isposinf(state.log_r)).any()
                ):
                    diverged_at = n_transient + start + c_len - 1
                    break
                if singular_at is None and bool(torch.isneginf(state.log_r).any()):
                    # an R_ii of exactly 0: the Jacobian is singular along the trajectory (dead ReLU
                    # units, saturated units, a zero gain), so the backward iteration R^{-1} does
                    # not exist; the state is fine, so this is no divergence
                    singular_at = n_transient + start + c_len - 1
                    break
    scale = 1.0 / (system.dt or 1.0)
    run_info: dict[str, Any] = dict(
        units=system.units,
        dt=system.dt,
        k=k,
        state_size=int(system.state_size),
        tangent_size=int(n_t),
        n_steps=n_steps,
        n_transient=n_transient,
        n_backward_transient=n_bt,
        record_every=record_every,
        qr_every=m,
        n_trajectories=batch,
        store=store,
    )
    if diverged_at is not None or singular_at is not None:
        if diverged_at is not None:
            status_out, checks_out = Status.DIVERGED, ()
            msg = (
                f"the trajectory diverged (inf/NaN) by step {diverged_at + 1} of the forward pass; "
                "reduce the gain, the inputs or dt"
            )
        else:
            status_out = Status.FAILED
            msg = (
                f"the Jacobian is singular along the trajectory: a diagonal entry of R is exactly 0 by step "
                f"{singular_at + 1} of the forward pass (a tangent direction collapsed: dead ReLU units, "
                "saturated units or a zero gain), so its exponent is -inf and the backward iteration "
                "R^-1 of the CLVs does not exist; rnndyn.lyapunov_spectrum reports the -inf exponents"
            )
            checks_out = (
                Check(
                    name="finite",
                    passed=False,
                    value=math.inf,
                    tolerance=0.0,
                    detail="growth factors and R diagonals are finite: an R diagonal entry is 0 (ln R = -inf)",
                    status=Status.FAILED,
                ),
            )
        r_series.close()
        q_series.close()
        if v_series is not None:
            v_series.close()
        if throw:
            raise AnalysisError(
                msg + f", or pass throw=False to get a result with status '{status_out.value}'"
            )
        nan_k = torch.full((k,), math.nan, dtype=torch.float64)
        return CLVResult(
            exponents=nan_k,
            clv_exponents=nan_k.clone(),
            stderr=nan_k.clone(),
            log_r=torch.zeros(batch, 0, k, dtype=torch.float64),
            log_growth=torch.zeros(batch, 0, k, dtype=torch.float64),
            times=torch.zeros(0, dtype=torch.int64),
            states=torch.zeros(batch, 0, system.state_size, dtype=torch.float64),
            vectors=None,
            angle_pairs=pairs,
            angles=torch.zeros(batch, 0, len(pairs), dtype=torch.float64),
            n_unstable=0,
            n_neutral=0,
            n_stable=0,
            zero_tol=math.nan,
            min_angle=torch.zeros(batch, 0, dtype=torch.float64),
            ipr_clv=nan_k.clone(),
            ipr_gs=nan_k.clone(),
            ipr_clv_std=nan_k.clone(),
            ipr_gs_std=nan_k.clone(),
            backward_convergence=math.nan,
            backward_convergence_per_vector=nan_k.clone(),
            forward_convergence_per_vector=nan_k.clone(),
            growth_identity_residual=math.nan,
            memory=_memory_report(storage, meter, device),
            checks=checks_out,
            status=status_out,
            message=msg,
            **run_info,
        )

    # exponents from the forward pass: they split unstable / neutral / stable for the angles
    lr = log_r.detach().to("cpu", torch.float64)  # (B, n_ev, k): one row per QR event
    # the block diagnostics below work on per-step series: each QR event's ln R_ii spread evenly
    # over its m steps (exact at event boundaries, so for the exponents and their block means)
    lr_steps = lr if m == 1 else (lr / m).repeat_interleave(m, dim=1)
    per_traj = lr_steps.mean(1) * scale  # (B, k)
    exps = per_traj.mean(0)
    if batch >= 2:
        stderr = per_traj.std(0, unbiased=True) / math.sqrt(batch)
    elif n_ev >= 10 and n_steps >= 20:
        # 10 time blocks of whole QR events (per step rates: the events' sums over their steps)
        parts = torch.tensor_split(lr[0], 10, dim=0)
        blocks = torch.stack([b.mean(0) if m == 1 else b.sum(0) / (b.shape[0] * m) for b in parts]) * scale
        stderr = blocks.std(0, unbiased=True) / math.sqrt(10)
    else:
        stderr = torch.full_like(exps, math.nan)
    # as in rd.lyapunov_spectrum: trajectories on different attractors (clusters of lambda_max by
    # their own time-block errors) set the near-zero tolerance from the spread within the clusters
    steps, cum = _block_checkpoints(lr_steps, n_steps)
    n_blocks = min(N_BLOCKS, n_steps)
    clusters, _ = diag.multistability(per_traj[:, 0], cum, steps, n_steps, n_blocks, scale, system.units)
    tol_err = _within_cluster_stderr(per_traj, clusters, cum, steps, n_steps, n_blocks, scale)
    tol, _, _ = _near_zero(exps, stderr if tol_err is None else tol_err, zero_tol)
    # the exponents' stationarity over the window (a transient, e.g. a slow escape from an
    # unstable fixed point, passes for an attractor's exponent otherwise)
    order = torch.argsort(torch.nan_to_num(exps, nan=-math.inf), descending=True)
    stationarity = diag.stationarity_check(
        cum=cum.mean(0),
        steps=steps,
        exps=exps[order],
        stderr=stderr[order],
        n_steps=n_steps,
        n_transient=n_transient,
        scale=scale,
        units=system.units,
    )
    n_unstable = int((exps > tol).sum())
    n_stable = int((exps < -tol).sum())
    n_neutral = k - n_unstable - n_stable
    # unstable = leading block, stable = trailing block of the QR columns
    angle_split = _angle_split(exps, tol) if hyperbolicity else None
    split = angle_split is not None

    log_growth = torch.empty(batch, n_ev, k, dtype=dtype, device=device)
    angles = torch.full((batch, n_rec, len(pairs)), math.nan, dtype=dtype, device=device)
    min_angle = torch.full((batch, n_rec), math.nan, dtype=dtype, device=device)
    ipr_c = torch.empty(batch, n_rec, k, dtype=dtype, device=device)
    ipr_g = torch.empty(batch, n_rec, k, dtype=dtype, device=device)
    with torch.no_grad():
        # two random upper-triangular starts with diag > 0, iterated together (one solve)
        cc = torch.cat([_random_upper(batch, k, generator), _random_upper(batch, k, generator)], dim=-1)
        cc = cc.to(dtype=dtype, device=device)
        cc = _normalise_columns(cc)[0]
        c_end = None
        convergence = math.nan
        per_vector = torch.full((k,), math.nan, dtype=torch.float64)
        # working buffers, reused at every step (no fresh n x k arrays in the loop): R (only its
        # upper triangle is written and read), C (two of each width, written alternately: a
        # solve's output must not overlap its input; zero below the blocks, see _solve_upper),
        # V^T and the squares of the IPRs
        rmat = torch.zeros(batch, k, k, dtype=dtype, device=device)
        cc_buf = [torch.zeros_like(cc), torch.zeros_like(cc)] if n_bt > 0 else []
        c_buf = [torch.zeros(batch, k, k, dtype=dtype, device=device) for _ in range(2)]
        # two V^T buffers: the copy of one into the CLV series may still run on the I/O thread
        # while the next is computed
        vts = [torch.empty(batch, k, n_t, dtype=dtype, device=device) for _ in range(2)]
        v_copy: list[Future | None] = [None, None]
        sq = torch.empty_like(vts[0])
        c_sq, cc_sq = torch.empty_like(c_buf[0]), torch.empty_like(cc)
        first = torch.tensor([p[0] for p in pairs], dtype=torch.int64, device=device)
        second = torch.tensor([p[1] for p in pairs], dtype=torch.int64, device=device)
        edges = _block_edges(k)
        rec = n_rec - 1
        for e in range(r_series.n_times - 1, -1, -1):
            # QR event e: J_{p+m-1} ... J_p Q_p = Q_{p+m} R_e (the last one ends at total)
            p = e * m
            packer.unpack(r_series.get(e), rmat)
            if p >= n_steps:
                cc = _solve_upper(rmat, cc, edges, out=cc_buf[e % 2])
                _normalise_in_place(cc, cc_sq)
                if p == n_steps:
                    a, b = cc[..., :k], cc[..., k:]
                    # sin of the angle as |a - (a.b) b| (unit columns): exact to round-off for small
                    # angles, where sqrt(1 - cos^2) stops at ~1e-8 (cos rounds to 1)
                    per_vector = _column_sines(a, b).amax(0).detach().to("cpu", torch.float64)
                    convergence = float(per_vector.max())
                    c = a
                    c_end = c.clone()
            else:
                if c_end is None:  # no backward transient
                    c = cc[..., :k]
                    c_end = c.clone()
                c = _solve_upper(rmat, c, edges, out=c_buf[e % 2])
                log_growth[:, e] = -torch.log(_normalise_in_place(c, c_sq))
                # the recorded times p <= t < p + m: V_t = F_t C_p, F_p = Q_p orthonormal, the
                # frames in between J_{t-1} ... J_p Q_p (their V columns normalised here)
                while rec >= 0 and times[rec] >= p:
                    t = times[rec]
                    qft = q_series.get(rec)  # Q^T (F^T between QR events)
                    j = rec % 2
                    if v_copy[j] is not None:
                        v_copy[j].result()  # type: ignore[union-attr]
                    vt = _times_upper_t(qft, c, edges, vts[j])  # V^T
                    if t > p:
                        vt.div_(torch.linalg.vector_norm(vt, dim=-1, keepdim=True))
                    if v_series is not None:
                        v_copy[j] = v_series.fill(rec, lambda out, vt=vt: out.copy_(vt.transpose(-2, -1)))
                    ipr_c[:, rec] = _ipr_rows(vt, sq)
                    angles[:, rec] = _pair_angles(vt, first, second)
                    if t == p:  # the Gram-Schmidt vectors and coordinates exist at QR steps only
                        ipr_g[:, rec] = _ipr_rows(qft, sq)
                        if split:
                            min_angle[:, rec] = _min_angle_unstable_stable(c, *angle_split)  # type: ignore[misc]
                    rec -= 1
            tick(n_transient + total + (total - p))
        if n_steps > 0 and c_end is None:
            c_end = c
    r_series.close()
    q_series.close()
    if v_series is not None:
        v_series.close()
    if vgroup is not None:
        vgroup.attrs.update({"complete": True})

    lg = log_growth.detach().to("cpu", torch.float64)
    clv_exps = (lg.sum(1) / n_steps * scale).mean(0)
    # telescoping identity ln d_t,ii = ln R_{t+1,ii} + ln C_t,ii - ln C_{t+1,ii}
    ident = lg.sum(1) - lr.sum(1) - torch.log(torch.diagonal(c, dim1=-2, dim2=-1)).cpu().double()
    ident = ident + torch.log(torch.diagonal(c_end, dim1=-2, dim2=-1)).cpu().double()  # type: ignore[arg-type]
    residual = float(ident.abs().max()) / n_steps
    fwd_convergence = float(fwd_per_vector.max())
    finite = bool(torch.isfinite(lg).all() and torch.isfinite(lr).all())
    eps = float(torch.finfo(dtype).eps)
    ident_tol = max(1e3 * eps, 1e-10)
    checks = [
        Check(
            name="finite",
            passed=finite,
            value=0.0 if finite else math.inf,
            tolerance=0.0,
            detail="growth factors and R diagonals are finite",
            status=Status.FAILED,
        ),
        Check(
            name="backward_convergence",
            passed=math.isfinite(convergence) and convergence <= convergence_tol,
            value=convergence,
            tolerance=convergence_tol,
            detail="largest sin(angle) between the CLVs from two random backward starts at the end of "
            "the recorded window"
            + (
                "; lengthen n_backward_transient"
                if n_bt > 0
                else " (n_backward_transient = 0: not measured, the last CLVs are not converged)"
            ),
            status=Status.NOT_CONVERGED,
        ),
        Check(
            name="growth_identity",
            passed=residual <= ident_tol,
            value=residual,
            tolerance=ident_tol,
            detail="|sum ln d_i - sum ln R_ii - ln C_0,ii + ln C_T,ii| / n_steps (round-off of the "
            "backward iteration; near-singular R)",
            status=Status.WARNING,
        ),
        Check(
            name="forward_convergence",
            passed=fwd_convergence <= convergence_tol,
            value=fwd_convergence,
            tolerance=convergence_tol,
            detail="largest sin(angle) between the Gram-Schmidt vectors at the start of the recorded window "
            "from two random initial frames (the CLVs are built on them; the i-th converges like "
            "exp(-(lambda_i - lambda_{i+1}) n_transient))"
            + ("; lengthen n_transient" if n_transient > 0 else " (n_transient = 0: the frame is random)"),
            status=Status.NOT_CONVERGED,
        ),
    ]
    if stationarity is not None:
        checks.append(stationarity)
    # round-off of the QR interval: Householder QR has a column-wise backward error of order eps
    # (Higham, Accuracy and Stability of Numerical Algorithms, 2nd ed., Thm 19.4), so a direction
    # that shrank by e^-x against the leading one since the last QR keeps about eps e^x relative
    # error; x = the largest ln R_11 - ln R_kk of one QR event (the realised growth ratio between
    # QRs, m steps of it). Measured against the CLVs of qr_every = 1 on tanh nets (n = 20-40,
    # qr_every 2-6): the largest difference was 0.03-4 times this estimate (docs/clv.md).
    qr_err, qr_ln = _qr_round_off(lr, eps)
    if m > 1:
        per_step = qr_ln / m
        fit = max(1, int(math.log(convergence_tol / eps) / per_step)) if per_step > 0 else m
        checks.append(
            Check(
                name="qr_round_off",
                passed=qr_err <= convergence_tol,
                value=qr_err,
                tolerance=convergence_tol,
                detail=f"estimated round-off of the most stable CLVs, eps e^x with x = {qr_ln:.1f} the largest "
                f"ln R_11 - ln R_kk of one QR event (qr_every = {m}); "
                + ("qr_every = 1" if fit <= 1 else f"qr_every <= {fit}")
                + " keeps it below the tolerance",
                status=Status.WARNING,
            )
        )
    vectors = None
    if v_series is not None and vgroup is None:
        vectors = v_series.data.detach().to("cpu").transpose(0, 1).contiguous()
    gs_rows = torch.tensor([t % m == 0 for t in times], dtype=torch.bool, device=device)
    status = status_from_checks(checks)
    failed = [ch.name for ch in checks if not ch.passed]
    head = STATUSES[status.value]
    fwd_check = checks[3]
    if status == Status.NOT_CONVERGED and checks[1].passed and fwd_check.passed:
        head = STATIONARY_FAILED
    elif status == Status.NOT_CONVERGED and checks[1].passed:
        head = FORWARD_FAILED
    message = head + (f" (failed: {', '.join(failed)})" if failed else "")
    if n_bt > 0 and not checks[1].passed:
        good = int((per_vector <= convergence_tol).sum())
        message += f"; {good} of {k} CLVs converged to {convergence_tol:g}"
    if not fwd_check.passed:
        good = int((fwd_per_vector <= convergence_tol).sum())
        message += (
            f"; {good} of {k} Gram-Schmidt vectors converged to {convergence_tol:g} (lengthen n_transient)"
        )
    if stationarity is not None and not stationarity.passed:
        message += f"; {stationarity.detail}"
    if m > 1 and not checks[-1].passed:
        message += f"; {checks[-1].detail}"
    return CLVResult(
        exponents=exps,
        clv_exponents=clv_exps,
        stderr=stderr,
        log_r=lr,
        log_growth=lg,
        times=torch.tensor(times, dtype=torch.int64),
        states=states.detach().to("cpu"),
        vectors=vectors,
        angle_pairs=pairs,
        angles=angles.detach().to("cpu"),
        n_unstable=n_unstable,
        n_neutral=n_neutral,
        n_stable=n_stable,
        zero_tol=tol,
        min_angle=min_angle.detach().to("cpu"),
        ipr_clv=ipr_c.mean((0, 1)).detach().to("cpu", torch.float64),
        ipr_gs=ipr_g[:, gs_rows].mean((0, 1)).detach().to("cpu", torch.float64),
        ipr_clv_std=ipr_c.flatten(0, 1).std(0).detach().to("cpu", torch.float64)
        if batch * n_rec > 1
        else torch.zeros(k, dtype=torch.float64),
        ipr_gs_std=ipr_g[:, gs_rows].flatten(0, 1).std(0).detach().to("cpu", torch.float64)
        if batch * int(gs_rows.sum()) > 1
        else torch.zeros(k, dtype=torch.float64),
        backward_convergence=convergence,
        backward_convergence_per_vector=per_vector,
        forward_convergence=fwd_convergence,
        forward_convergence_per_vector=fwd_per_vector,
        growth_identity_residual=residual,
        memory=_memory_report(storage, meter, device, r_series, q_series, v_series),
        checks=tuple(checks),
        status=status,
        message=message,
        **run_info,
    )


def _memory_report(storage: str, meter: _Meter, device: torch.device, *series: Any) -> dict[str, Any]:
    spilled = 0
    for s in series:
        if s is not None and s.array is not None:
            spilled += s.n_times * s.item_bytes
    vec = series[2] if len(series) > 2 else None
    out: dict[str, Any] = {
        "storage": storage,
        "vectors": "none" if vec is None else ("memory" if vec.array is None else "zarr"),
        "peak_buffer_bytes": int(meter.peak),
        "spilled_bytes": int(spilled),
        # ru_maxrss is in KiB on Linux: the process's peak so far, not only this call's
        "process_peak_rss_bytes": int(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss) * 1024,
    }
    if device.type == "cuda":
        out["cuda_peak_bytes"] = int(torch.cuda.max_memory_allocated(device))
    return out


# --------------------------------------------------------------------------------------- FTLE
@dataclass(frozen=True, kw_only=True)
class FTLEResult(Result):
    r"""Finite-time Lyapunov exponents over non-overlapping windows of ``window`` steps.

    Attributes:
        window: window length in steps. which: ``"gs"`` (from ``ln R_ii``, the Gram-Schmidt
            vectors) or ``"clv"`` (from the CLV growth factors).
        values: ``(B, n_windows, k)`` exponents of each window, in ``units``.
        mean / variance: ``(k,)`` over windows and trajectories.
        step_variance: ``(k,)`` variance of the one-step values (for a run with ``qr_every = m >
            1``: of the per-QR-event rates ``ln g / m``, the finest values it has; its
            ``autocorrelation_time`` is then that of the events times ``m``, so that
            ``predicted_variance`` keeps its meaning).
        autocorrelation_time: ``(k,)`` integrated autocorrelation time of the one-step values,
            ``tau = 1 + 2 sum_{l=1}^{M} rho(l)`` in steps (positive lags; the window ``M`` is the
            smallest with ``M >= 5 (1 + 2 sum_{l<=M} |rho(l)|)``). ``tau = 1`` for uncorrelated
            values; ``tau < 1`` is genuine for anticorrelated ones (the window averages cancel
            faster than white noise; AR(1) with coefficient ``a < 0``: ``(1 + a)/(1 - a)``). NaN
            where it is undefined, with the reason in ``autocorrelation_note``.
        autocorrelation_note: ``(k,)`` strings, ``""`` where ``autocorrelation_time`` is defined,
            else why it is NaN: no fluctuations (a fixed point), correlations that do not decay
            within the run (a periodic orbit), or a windowed sum that is not positive.
        predicted_variance: ``(k,)`` ``step_variance * tau / window``: the large-window variance
            of a time average with that autocorrelation (the measured ``variance`` approaches it
            for ``window >> tau``); NaN where ``tau`` is.
        units, dt: as the CLV result.
    """

    window: int
    which: str
    values: Tensor = field(repr=False)
    mean: Tensor
    variance: Tensor
    step_variance: Tensor
    autocorrelation_time: Tensor
    autocorrelation_note: tuple[str, ...]
    predicted_variance: Tensor
    units: str
    dt: float | None

    _repr_fields = ("window", "which", "mean", "variance", "autocorrelation_time")


def _autocorrelation_time(y: Tensor, c: float = 5.0) -> tuple[Tensor, tuple[str, ...]]:
    r"""Integrated autocorrelation time of ``y`` ``(B, T, k)`` (per column, pooled over ``B``).

    ``tau = 1 + 2 sum_{l=1}^{M} rho(l)`` (positive lags only) with the window ``M`` the smallest
    with ``M >= c tau_abs(M)``, ``tau_abs(M) = 1 + 2 sum_{l=1}^{M} |rho(l)|``: Sokal's automatic
    window, with the decay time of ``|rho|`` in place of ``tau`` so that anticorrelated series
    (``tau < 1``, where ``tau(M)`` itself may be small or negative at ``M = 1``) still sum their
    correlations until they have decayed. For positive correlations the two windows coincide.

    Returns ``(tau, reasons)``: ``reasons[j]`` is ``""`` where ``tau[j]`` is defined, else why it is
    NaN: no fluctuations (zero variance), or correlations that do not decay within the run
    (a periodic or quasi-periodic series, or a correlation time comparable to the run length),
    or a windowed sum that is not positive.
    """
    b, t, k = y.shape
    z = y - y.mean(1, keepdim=True)
    nfft = 1 << (2 * t - 1).bit_length()
    f = torch.fft.rfft(z, n=nfft, dim=1)
    acov = torch.fft.irfft(f * f.conj(), n=nfft, dim=1)[:, :t].mean(0)  # (t, k)
    acov = acov / torch.arange(t, 0, -1, dtype=y.dtype).unsqueeze(-1)
    rho = acov / acov[:1].clamp(min=torch.finfo(y.dtype).tiny)
    taus = 1.0 + 2.0 * torch.cumsum(rho[1:], 0)  # tau(M) for M = 1 .. t-1
    taus_abs = 1.0 + 2.0 * torch.cumsum(rho[1:].abs(), 0)
    lags = torch.arange(1, t, dtype=y.dtype)
    out = torch.full((k,), math.nan, dtype=y.dtype)
    reasons = []
    scale = y.abs().amax((0, 1)).clamp(min=1.0)
    for j in range(k):
        if t < 2 or float(acov[0, j]) <= (1e3 * torch.finfo(y.dtype).eps * float(scale[j])) ** 2:
            reasons.append("no fluctuations (constant one-step values, e.g. a fixed point)")
            continue
        m_max = t // 2  # beyond T/2 the lag estimates rest on too few pairs
        ok = (lags[:m_max] >= c * taus_abs[:m_max, j]).nonzero()
        if not ok.numel():
            reasons.append(
                "correlations do not decay within the run (periodic or quasi-periodic one-step "
                f"values, or a correlation time near the run length / {2 * c:g})"
            )
            continue
        tau = float(taus[int(ok[0]), j])
        if tau <= 0.0:  # the true value is >= 0 (a spectral density at zero frequency)
            reasons.append(
                f"the windowed sum 1 + 2 sum rho is {tau:.3g} <= 0: the fluctuations cancel within "
                "the window (no diffusive 1/L decay of the window variance to measure)"
            )
            continue
        out[j] = tau
        reasons.append("")
    return out, tuple(reasons)


def finite_time_exponents(result: CLVResult, *, window: int, which: str = "gs") -> FTLEResult:
    r"""Finite-time Lyapunov exponents of a CLV run over windows of ``window`` steps.

    .. math::

        \lambda_i^{(L)}(t) = \frac{1}{L\,\Delta t} \sum_{s=t}^{t+L-1} \ln g_i(s),

    with ``g_i(s) = R_{s+1,ii}`` (``which="gs"``, the Gram-Schmidt / QR exponents) or the CLV growth
    factor ``d_i(s)`` (``"clv"``), over the non-overlapping windows of the recorded ``n_steps``.
    Their spread shrinks like ``sigma^2 tau / L`` for windows much longer than the integrated
    autocorrelation time ``tau`` of the one-step values; a heavy lower tail of the first exponent
    marks intermittent excursions to stable regions.

    Args:
        result: a :class:`CLVResult` (it holds the per-step ``ln R_ii`` and ``ln d_i``).
        window: window length in steps (``1 <= window <= n_steps``; a multiple of the run's
            ``qr_every``).
        which: ``"gs"`` or ``"clv"``.

    Returns:
        :class:`FTLEResult` (status ``warning`` with fewer than 10 windows).

    Raises:
        TypeError: ``result`` is not a CLVResult. ValueError: ``window`` out of range, or a
        diverged result.

    References:
        F. Ginelli et al., J. Phys. A 46, 254005 (2013), arXiv:1212.3961 (finite-time exponents
        and their fluctuations); A. D. Sokal, "Monte Carlo methods in statistical mechanics"
        (1997) (the windowed autocorrelation time).

    Example:
        >>> import torch, rnndyn as rd
        >>> res = rd.covariant_lyapunov_vectors(rd.Henon(), n_steps=400, n_transient=100,
        ...                                     generator=torch.Generator().manual_seed(0))
        >>> f = rd.finite_time_exponents(res, window=20)
        >>> f.values.shape, bool(torch.allclose(f.values.mean((0, 1)), res.log_r.mean((0, 1))))
        (torch.Size([1, 20, 2]), True)
    """
    if not isinstance(result, CLVResult):
        raise TypeError(f"`result` must be a CLVResult; got {type(result).__name__}")
    check_choice(which, "which", ("gs", "clv"))
    if result.status == Status.DIVERGED or result.log_r.shape[-2] == 0:
        raise ValueError(
            f"`result` has status '{Status(result.status).value}' and no growth factors to window: "
            f"{result.message}"
        )
    window = check_positive_int(window, "window")
    if window > result.n_steps:
        raise ValueError(f"`window` must be <= n_steps = {result.n_steps}; got {window}")
    m = result.qr_every
    if window % m:
        raise ValueError(
            f"`window` must be a multiple of the run's qr_every = {m} (its growth factors are per QR "
            f"event of {m} steps); got {window}"
        )
    # (B, T, k) natural log per QR event of m steps (per step when qr_every = 1)
    y = result.log_r if which == "gs" else result.log_growth
    scale = 1.0 / (result.dt or 1.0)
    b, t, k = y.shape
    w = window // m  # events per window
    n_win = t // w
    vals = y[:, : n_win * w].reshape(b, n_win, w, k).sum(2) / window * scale
    flat = vals.reshape(-1, k)
    var = flat.var(0, unbiased=True) if flat.shape[0] > 1 else torch.full((k,), math.nan, dtype=y.dtype)
    step_var = (y / m).reshape(-1, k).var(0, unbiased=True) * scale**2
    tau, tau_note = _autocorrelation_time(y)
    tau = tau * m  # in steps
    enough = b * n_win >= 10
    checks = (
        Check(
            name="n_windows",
            passed=enough,
            value=float(b * n_win),
            tolerance=10.0,
            detail="windows (times trajectories) available for the variance; need >= 10: a shorter "
            "window or a longer run",
            status=Status.WARNING,
        ),
    )
    # convergence checks of `result` that the growth factors inherit: the Gram-Schmidt frame's
    # (both kinds), and the backward iteration's (only the CLV growth factors)
    inherited = [
        (
            "forward_convergence",
            "the Gram-Schmidt vectors of `result` had not converged at the start of its window "
            "(two random initial frames disagree), so its first growth factors are not yet those "
            "of the Oseledets directions; lengthen n_transient",
        )
    ]
    if which == "clv":
        inherited.insert(
            0,
            (
                "backward_convergence",
                "the CLVs of `result` did not converge (two backward starts disagree), so their "
                "growth factors are not yet those of the covariant vectors; lengthen "
                "n_backward_transient, or use which='gs'",
            ),
        )
    for name, detail in inherited:
        src = next((c for c in result.checks if c.name == name), None)
        if src is not None and not src.passed:
            checks = checks + (
                Check(
                    name=name,
                    passed=False,
                    value=src.value,
                    tolerance=src.tolerance,
                    detail=detail,
                    status=Status.WARNING,
                ),
            )
    status = status_from_checks(checks)
    return FTLEResult(
        window=window,
        which=which,
        values=vals,
        mean=flat.mean(0),
        variance=var,
        step_variance=step_var,
        autocorrelation_time=tau,
        autocorrelation_note=tau_note,
        predicted_variance=step_var * tau / window,
        units=result.units,
        dt=result.dt,
        checks=checks,
        status=status,
        message=f"{b * n_win} windows of {window} steps"
        + ("" if enough else "; too few windows for a reliable variance")
        + (
            "; the CLVs did not converge (backward_convergence)"
            if any(c.name == "backward_convergence" for c in checks)
            else ""
        )
        + (
            "; the Gram-Schmidt vectors did not converge (forward_convergence)"
            if any(c.name == "forward_convergence" for c in checks)
            else ""
        )
        + _tau_message(tau_note),
    )


def _tau_message(notes: tuple[str, ...]) -> str:
    """``; autocorrelation time undefined for ...`` grouped by reason (``""`` when all defined)."""
    by_reason: dict[str, list[int]] = {}
    for i, r in enumerate(notes):
        if r:
            by_reason.setdefault(r, []).append(i)
    return "".join(
        f"; autocorrelation time undefined (NaN) for exponent{'s' if len(ix) > 1 else ''} "
        f"{', '.join(str(i) for i in ix)}: {r}"
        for r, ix in by_reason.items()
    )


__all__ = ["STATUSES", "CLVResult", "FTLEResult", "covariant_lyapunov_vectors", "finite_time_exponents"]

"""Dense autograd Jacobian (``rnndyn._autodiff.autograd_jacobian``): the replicated-state route
against ``torch.func.vmap(torch.func.jacrev)`` (the reference), timed in the same process.

Two right-hand sides without an analytic Jacobian, as a custom model would have: ``tanh(2 W h)``
(``W ~ N(0, 1/n)``) and a ``torch.nn.GRUCell(3, n)`` step. For each size ``n`` and batch ``B`` both
routes run on the same states (median of ``REPEATS`` calls after one warm-up call each), under ``torch.no_grad`` (as the
analyses run) and with grad mode on (both results then stay differentiable in the parameters); the
largest entrywise difference relative to the largest entry is printed too. Then, in fresh
interpreters, the first call of each route (n = 16, one state) with whether it loaded
``torch._dynamo``.

Usage: OMP_NUM_THREADS=1 .venv/bin/python benchmarks/bench_autodiff.py [REPEATS]
"""

from __future__ import annotations

import itertools
import statistics
import subprocess
import sys
import time

import torch
from torch import func

from rnndyn import _autodiff

F64 = torch.float64
FIRST_CALL = """
import sys, time, torch
import rnndyn._autodiff as ad
ad.REPLICATE_MAX = {limit}
w = torch.randn(16, 16, dtype=torch.float64)
t = time.perf_counter()
ad.autograd_jacobian(lambda h, x: torch.tanh(h @ w.T), torch.randn(1, 16, dtype=torch.float64))
print(time.perf_counter() - t, "torch._dynamo" in sys.modules)
"""


def jacrev(fn, h, x):
    return func.vmap(func.jacrev(fn, argnums=0))(h, x)


def replicated(fn, h, x):
    return _autodiff._replicated_jacobian(fn, h, x)


def median_time(f, *args, repeats: int) -> float:
    f(*args)
    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        f(*args)
        times.append(time.perf_counter() - t)
    return statistics.median(times)


def main(repeats: int = 15) -> None:
    torch.set_num_threads(1)
    gen = torch.Generator().manual_seed(0)
    print(
        "| n | B | batch*n*n | model | grad mode | replicated | jacrev (reference) | ratio | max rel. diff |"
    )
    print("|---|---|---|---|---|---|---|---|---|")
    for n in (8, 64, 256):
        w = torch.randn(n, n, generator=gen, dtype=F64) / n**0.5
        cell = torch.nn.GRUCell(3, n).to(F64)
        models = {
            "tanh(2 W h)": lambda h, x, w=w: torch.tanh(2.0 * h @ w.T),
            "GRUCell": lambda h, x, cell=cell: cell(x, h),
        }
        for batch in (1, 4, 8):
            h = torch.randn(batch, n, generator=gen, dtype=F64)
            x = torch.randn(batch, 3, generator=gen, dtype=F64)
            for (name, fn), grad in itertools.product(models.items(), (False, True)):
                # grad mode on: both results stay differentiable in the parameters (create_graph)
                with torch.set_grad_enabled(grad):
                    ref = jacrev(fn, h, x)
                    diff = float(((replicated(fn, h, x) - ref).abs().max() / ref.abs().max()).detach())
                    t_rep = median_time(replicated, fn, h, x, repeats=repeats)
                    t_ref = median_time(jacrev, fn, h, x, repeats=repeats)
                print(
                    f"| {n} | {batch} | {batch * n * n} | {name} | {'on' if grad else 'off'} | {t_rep * 1e3:.2f} ms "
                    f"| {t_ref * 1e3:.2f} ms | {t_rep / t_ref:.2f} | {diff:.1e} |",
                    flush=True,
                )
    print(f"\nautograd_jacobian's route: replicated up to batch*n*n = {_autodiff.REPLICATE_MAX}")
    print("\n| first call in a fresh interpreter (n = 16, B = 1) | time | torch._dynamo loaded |")
    print("|---|---|---|")
    for label, limit in (("replicated", _autodiff.REPLICATE_MAX), ("jacrev", 0)):
        out = subprocess.run(
            [sys.executable, "-c", FIRST_CALL.format(limit=limit)], capture_output=True, text=True, check=True
        )
        seconds, loaded = out.stdout.split()
        print(f"| {label} | {float(seconds):.3f} s | {loaded} |")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 15)

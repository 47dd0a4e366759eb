"""Automatic tangent choice for custom models (no analytic Jacobian, no tangent product): time of
``rd.lyapunov_spectrum(model, k=k, n_steps=300, n_transient=50)`` with ``tangent="dense"`` (the
autograd Jacobian times Q) and ``tangent="jvp"`` (forward-mode products), in one process, best of 3
interleaved runs each, for a ``tanh(W h)`` map of n = 16 ... 128 units.

Run: ``OMP_NUM_THREADS=2 .venv/bin/python benchmarks/bench_tangent_choice.py``
"""

import time

import torch

import rnndyn as rd
from rnndyn.models.base import AbstractMap


class M(AbstractMap):
    def __init__(s, n, seed=0):
        super().__init__()
        g = torch.Generator().manual_seed(seed)
        s.W = torch.nn.Parameter(torch.randn(n, n, generator=g, dtype=torch.float64) * 2 / n**0.5)
        s.n = n

    @property
    def state_size(s):
        return s.n

    @property
    def input_size(s):
        return 0

    def _step(s, h, x=None):
        return torch.tanh(h @ s.W.T)


def main() -> None:
    from rnndyn.lyapunov import _choose_tangent

    print("n    k    dense s   jvp s   dense/jvp   auto")
    for n in (16, 32, 64, 128):
        m = M(n)
        for k in sorted({1, max(1, n // 8), n // 4, n // 2, n}):
            res: dict[str, list[float]] = {}
            for tg in ("jvp", "dense", "jvp", "dense", "jvp", "dense"):
                t = time.perf_counter()
                rd.lyapunov_spectrum(m, k=k, n_steps=300, n_transient=50, tangent=tg)
                res.setdefault(tg, []).append(time.perf_counter() - t)
            d, j = min(res["dense"]), min(res["jvp"])
            print(f"{n:<4} {k:<4} {d:7.3f} {j:7.3f}   {d / j:6.2f}      {_choose_tangent(m, k, 'auto')}")


if __name__ == "__main__":
    main()

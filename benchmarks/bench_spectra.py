"""Benchmark: Jacobian eigenvalues of 100 states of an N = 512 GRU, and a 1000-start fixed-point
search at N = 128, each against the naive scipy/numpy route run in the same process.

Run:  OMP_NUM_THREADS=2 .venv/bin/python benchmarks/bench_spectra.py [--device cuda] [--naive-starts 100]

Naive references (what one writes without rnndyn):
* spectra: per state, ``torch.autograd.functional.jacobian`` of one GRU step, then
  ``scipy.linalg.eigvals`` (no vectors) on the numpy copy;
* fixed points: per start, ``scipy.optimize.root(method="hybr")`` on F(h) - h with the analytic
  Jacobian, F and J evaluated by the torch model on a single state. Run on ``--naive-starts``
  starts and scaled to 1000 (stated in the output).
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import scipy.linalg
import scipy.optimize
import torch

import rnndyn as rd

F64 = torch.float64


def bench_spectra(device: str) -> None:
    n, s = 512, 100
    net = rd.GRU(
        n, g_h=3.0, alpha_z=5.0, alpha_r=1.0, generator=torch.Generator().manual_seed(0), dtype=F64
    ).to(device)
    states = rd.simulate(net, n_steps=s, n_transient=200, generator=torch.Generator().manual_seed(1))
    rd.jacobian_spectrum(net, states=states[:2])  # warm-up
    if device == "cuda":
        torch.cuda.synchronize()
    t0 = time.perf_counter()
    res = rd.jacobian_spectrum(net, states=states)
    if device == "cuda":
        torch.cuda.synchronize()
    t_ours = time.perf_counter() - t0

    cpu_net = net.to("cpu")
    st = states.detach().cpu()
    t0 = time.perf_counter()
    naive = []
    jacs = []
    for k in range(s):
        jac = torch.autograd.functional.jacobian(lambda h: cpu_net._step(h, None), st[k]).detach().numpy()
        jacs.append(jac)
        naive.append(scipy.linalg.eigvals(jac, check_finite=False))
    t_naive = time.perf_counter() - t0
    t0 = time.perf_counter()
    for jac in jacs:
        np.linalg.eigvals(jac)
    t_np_eig = time.perf_counter() - t0
    err = max(
        float(np.abs(np.sort(np.abs(naive[k])) - np.sort(res.eigenvalues[k].abs().cpu().numpy())).max())
        for k in range(s)
    )
    print(f"[spectra] GRU N={n}, {s} states, device={device}")
    print(f"  rnndyn.jacobian_spectrum            {t_ours:8.2f} s")
    print(
        f"  naive autograd + scipy eigvals loop {t_naive:8.2f} s   ratio naive/ours = {t_naive / t_ours:.2f}"
    )
    print(
        f"  (numpy eigvals alone on the same Jacobians: {t_np_eig:.2f} s; max |eig modulus| difference {err:.1e})"
    )


def bench_fixed_points(device: str, naive_starts: int) -> None:
    n, b = 128, 1000
    net = rd.GRU(
        n, g_h=2.5, alpha_z=1.0, alpha_r=1.0, generator=torch.Generator().manual_seed(2), dtype=F64
    ).to(device)
    rd.find_fixed_points(net, n_initial=4, generator=torch.Generator().manual_seed(3))  # warm-up
    t0 = time.perf_counter()
    res = rd.find_fixed_points(net, n_initial=b, generator=torch.Generator().manual_seed(4), throw=False)
    if device == "cuda":
        torch.cuda.synchronize()
    t_ours = time.perf_counter() - t0

    cpu_net = net.to("cpu")
    # the same starts as ours: trajectory samples
    h0 = cpu_net.initial_state((naive_starts,), generator=torch.Generator().manual_seed(4))
    with torch.no_grad():
        for _ in range(200):
            h0 = cpu_net._step(h0, None)

    def fun(v: np.ndarray) -> np.ndarray:
        with torch.no_grad():
            h = torch.from_numpy(v)
            return (cpu_net._step(h, None) - h).numpy()

    def jac(v: np.ndarray) -> np.ndarray:
        with torch.no_grad():
            return cpu_net._jacobian(torch.from_numpy(v), None).numpy() - np.eye(n)

    t0 = time.perf_counter()
    found = []
    for k in range(naive_starts):
        sol = scipy.optimize.root(fun, h0[k].numpy(), jac=jac, method="hybr", tol=1e-12)
        if sol.success and np.linalg.norm(fun(sol.x)) < 1e-9:
            found.append(sol.x)
    t_naive = time.perf_counter() - t0
    per = t_naive / naive_starts
    print(f"[fixed points] GRU N={n}, {b} starts, device={device}")
    print(
        f"  rnndyn.find_fixed_points            {t_ours:8.2f} s   ({res.message}; {res.n_iterations} LM iterations)"
    )
    print(
        f"  naive scipy.optimize.root loop      {t_naive:8.2f} s on {naive_starts} starts "
        f"({len(found)} converged) -> {per * b:.2f} s for {b}   ratio naive/ours = {per * b / t_ours:.2f}"
    )


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--device", default="cpu")
    p.add_argument("--naive-starts", type=int, default=100)
    p.add_argument("--only", choices=["spectra", "fixed_points"], default=None)
    a = p.parse_args()
    print(f"torch {torch.__version__}, threads {torch.get_num_threads()}")
    if a.only in (None, "spectra"):
        bench_spectra(a.device)
    if a.only in (None, "fixed_points"):
        bench_fixed_points(a.device, a.naive_starts)


if __name__ == "__main__":
    main()

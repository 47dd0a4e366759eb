"""Lyapunov spectra on CUDA against the CPU NumPy QR loop, in one call.

For each network (``vanilla``: x' = tanh(g W x), g = 2; ``gru``: the CKS20 GRU, g_h = 3) and each
size n (default 1024, 2048, 4096) it runs ``rd.lyapunov_spectrum`` on the device with a batch of
``--batch`` trajectories (default 8), full spectrum and top-64, in float64 and float32, and prints

* seconds per step per trajectory on the device (library defaults: ``qr_every="auto"``, the
  model's matrix-free tangent product; the device is synchronised before each timer stops);
* the same for the CPU NumPy loop (QR every step, one trajectory; for large n only the first
  ``--numpy-steps`` steps are timed and the per-step time is reported);
* the float32 error: max |lambda_float32 - lambda_float64| over the exponents (and over the top 10),
  both runs from the same initial states and frames.

Usage (a GPU machine; ``--device cpu --sizes 64 128`` runs it anywhere as a smoke test):

    .venv/bin/python benchmarks/bench_gpu.py
    .venv/bin/python benchmarks/bench_gpu.py --sizes 1024 --steps 100 --models vanilla
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import torch

import rnndyn as rd

F64 = torch.float64


def build(kind: str, n: int) -> rd.AbstractMap:
    gen = torch.Generator().manual_seed(n)
    if kind == "vanilla":
        return rd.VanillaRNN(n, g=2.0, generator=gen, dtype=F64)
    return rd.GRU(n, g_h=3.0, generator=gen, dtype=F64)


def sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def numpy_loop_time(net: rd.AbstractMap, h0: torch.Tensor, k: int, n_steps: int) -> float:
    """Seconds per step of the plain CPU loop: NumPy QR every step, one trajectory (the Jacobian is
    formed by the model on the CPU in float64, then ``q, r = np.linalg.qr(J @ q)``)."""
    n = net.tangent_size
    q = np.linalg.qr(np.random.default_rng(0).standard_normal((n, k)))[0]
    h = h0[:1].detach().to("cpu", F64)
    le = np.zeros(k)
    t = time.perf_counter()
    with torch.no_grad():
        for _ in range(n_steps):
            jac = net._jacobian(h, None)[0].numpy()
            h = net._step(h, None)
            q, r = np.linalg.qr(jac @ q)
            le += np.log(np.abs(np.diag(r)))
    return (time.perf_counter() - t) / n_steps


def device_run(
    net: rd.AbstractMap,
    h0: torch.Tensor,
    k: int,
    dtype: torch.dtype,
    device: torch.device,
    args: argparse.Namespace,
) -> tuple[torch.Tensor, float, int]:
    model = net.to(dtype=dtype, device=device)
    h = h0.to(dtype=dtype, device=device)
    kw = dict(k=k, n_steps=args.steps, n_transient=args.transient, h0=h, throw=False)
    rd.lyapunov_spectrum(
        model, **{**kw, "n_steps": 2, "n_transient": 0}, generator=torch.Generator().manual_seed(0)
    )
    sync(device)
    t = time.perf_counter()
    res = rd.lyapunov_spectrum(model, **kw, generator=torch.Generator().manual_seed(0))
    sync(device)
    sec = (time.perf_counter() - t) / ((args.steps + args.transient) * h.shape[0])
    return res.per_trajectory, sec, res.qr_every


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--sizes", type=int, nargs="+", default=[1024, 2048, 4096])
    p.add_argument("--models", nargs="+", default=["vanilla", "gru"], choices=["vanilla", "gru"])
    p.add_argument("--steps", type=int, default=300)
    p.add_argument("--transient", type=int, default=100)
    p.add_argument("--batch", type=int, default=8)
    p.add_argument("--top", type=int, default=64)
    p.add_argument("--numpy-steps", type=int, default=5, help="steps timed in the CPU NumPy loop")
    p.add_argument("--device", default="cuda")
    args = p.parse_args()
    device = torch.device(args.device)
    if device.type == "cuda" and not torch.cuda.is_available():
        raise SystemExit("CUDA is not available: run on a GPU machine, or pass --device cpu for a smoke test")
    name = torch.cuda.get_device_name(device) if device.type == "cuda" else "cpu"
    print(
        f"# device {name}, torch {torch.__version__}; batch {args.batch}, {args.steps} steps after {args.transient}"
    )
    print(
        f"{'model':8s} {'n':>5s} {'k':>5s} {'qr':>3s} {'f64 s/step':>11s} {'f32 s/step':>11s} "
        f"{'numpy s/step':>12s} {'f64 speed-up':>12s} {'f32 err max':>11s} {'f32 err top10':>13s}"
    )
    for kind in args.models:
        for n in args.sizes:
            net = build(kind, n)
            h0 = net.initial_state((args.batch,), generator=torch.Generator().manual_seed(1))
            for k in (net.tangent_size, min(args.top, net.tangent_size)):
                t_np = numpy_loop_time(build(kind, n), h0, k, args.numpy_steps)
                lam64, t64, m = device_run(build(kind, n), h0, k, F64, device, args)
                lam32, t32, _ = device_run(build(kind, n), h0, k, torch.float32, device, args)
                err = (lam32 - lam64).abs()
                print(
                    f"{kind:8s} {n:5d} {k:5d} {m:3d} {t64:11.2e} {t32:11.2e} {t_np:12.2e} {t_np / t64:12.1f} "
                    f"{float(err.max()):11.1e} {float(err[:, :10].max()):13.1e}",
                    flush=True,
                )


if __name__ == "__main__":
    main()

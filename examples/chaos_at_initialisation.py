"""Chaos at initialisation: how often is a randomly initialised network chaotic, by width?

A scalar feedback network x_{t+1} = f(x_t), f a 1 -> width -> 1 ReLU network with He
initialisation, is chaotic in the Li-Yorke sense when f has a point of least period 3, which is
detected exactly for ReLU networks (Chatziafratis, Panageas, Sanford & Stavroulakis 2022,
arXiv:2210.05212); the first table gives that probability per width with a 95% interval. The
second table shows the classic
order-to-chaos transition of a random tanh RNN h' = tanh(g W h) with W ~ N(0, 1/n): the largest
Lyapunov exponent crosses zero near g = 1. See docs/chaos.md.

Run:  python examples/chaos_at_initialisation.py [--quick]
"""

from __future__ import annotations

import argparse

import torch

import rnndyn as rd


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer networks (smoke test)")
    args = parser.parse_args()
    n_networks = 200 if args.quick else 2000
    res = rd.chaos.chaos_probability(
        [1, 2, 4, 8, 16], init="he", activation="relu", n_networks=n_networks, seed=0
    )
    print(f"P(Li-Yorke chaos) of random 1 -> w -> 1 ReLU networks ({n_networks} per width):")
    for w, p, lo, hi in zip(res.widths, res.probability, res.ci_low, res.ci_high, strict=True):
        print(f"  width {w:3d}: {p:.3f}  (95% CI {lo:.3f} - {hi:.3f})")

    n = 64 if args.quick else 200
    print(f"\nlargest Lyapunov exponent of h' = tanh(g W h), n = {n} (per step):")
    for g in (0.5, 0.9, 1.1, 1.5, 2.0, 3.0):
        net = rd.VanillaRNN(n, g=g, generator=torch.Generator().manual_seed(1), dtype=torch.float64)
        lam = rd.max_lyapunov(net, n_steps=500, n_transient=300, generator=torch.Generator().manual_seed(2))
        value = float(getattr(lam, "lambda_max", lam))
        print(f"  g = {g:3.1f}: lambda_max = {value:+.4f}  ({'chaotic' if value > 0.005 else 'ordered'})")


if __name__ == "__main__":
    main()

"""Sparse teacher forcing: train an LSTM on the chaotic Lorenz-63 system and compare the attractor.

Mikhaeil, Monfared & Durstewitz (2022, arXiv:2110.07238) show that gradients of an RNN trained on a
chaotic system explode with the sequence length at a rate set by the largest Lyapunov exponent,
and that forcing the latent state to the data every tau ~ ln 2 / lambda_max steps keeps them
bounded. This script trains a small nn.LSTM with forcing interval tau and evaluates the free-running
model against the data: D_stsp (attractor overlap, KL divergence of state-space occupations) and
D_H (power-spectrum distance), then analyses the trained network with rd.analyze. See
docs/training.md.

Run:  python examples/sparse_teacher_forcing.py [--tau 30] [--epochs 30] [--quick]
"""

from __future__ import annotations

import argparse

import torch

import rnndyn as rd
from rnndyn import training as tr


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tau", type=int, default=30)
    parser.add_argument("--epochs", type=int, default=30)
    parser.add_argument("--hidden", type=int, default=20)
    parser.add_argument("--quick", action="store_true", help="tiny run (smoke test)")
    args = parser.parse_args()
    if args.quick:
        args.epochs, args.hidden = 2, 8
    gen = torch.Generator().manual_seed(0)
    data = tr.chaotic_series(
        "lorenz63_rho38", n_series=4, n_steps=3000 if not args.quick else 800, generator=gen
    )
    lstm = tr.make_torch_rnn(
        "lstm", args.hidden, generator=torch.Generator().manual_seed(1), dtype=torch.float64
    )
    model = tr.ForcedRNN(lstm, data.train.shape[-1], generator=torch.Generator().manual_seed(2))
    config = tr.TrainConfig(
        n_epochs=args.epochs, batches_per_epoch=10, batch_size=16, seq_len=100, tau=args.tau
    )
    res = tr.train_forced(model, data, config=config, generator=torch.Generator().manual_seed(3))
    print(f"tau = {res.tau}: loss {res.losses[0]:.4f} -> {res.losses[-1]:.4f} over {res.epochs_run} epochs")
    ev = tr.evaluate_generative(
        model, data, n_steps=2000 if not args.quick else 300, generator=torch.Generator().manual_seed(4)
    )
    print(f"free-running model vs data: D_stsp = {ev.d_stsp:.3f}, D_H = {ev.d_h:.3f}")
    # the trained latent network as a dynamical system (autonomous: zero input, as it was trained)
    analysis = rd.analyze(model.core, sections=["lyapunov"], n_steps=500, n_transient=200)
    print("\n".join(analysis.verdict))


if __name__ == "__main__":
    main()

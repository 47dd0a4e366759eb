"""Analyse a trained recurrent network saved the way PyTorch recommends: as a state dict.

1. Train a small ``nn.GRU`` (or, with ``--arch lstm --layers 2``, a 2-layer ``nn.LSTM``) inside a
   user model (recurrent core + linear readout, ``batch_first=True``) to predict a noisy sine
   wave one step ahead.
2. Save ``model.state_dict()`` -- weights only, no pickled code.
3. Load it with ``rd.load_model`` (architecture read off the keys and shapes; the recurrent part
   found under its prefix ``rnn.``) and analyse it with ``rd.analyze`` on the training inputs:
   Lyapunov spectrum, Jacobian spectrum, fixed points, plain-language verdict.

Run:  python examples/trained_rnn_state_dict.py [--arch lstm --layers 2] [--out DIR]
(under a minute on one CPU core; ``--quick`` for a smoke test).
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

import torch
from torch import nn

import rnndyn as rd


class Predictor(nn.Module):
    """A user's model: a recurrent core and a linear readout."""

    def __init__(self, arch: str, hidden: int, layers: int) -> None:
        super().__init__()
        cls = {"gru": nn.GRU, "lstm": nn.LSTM, "rnn": nn.RNN}[arch]
        self.rnn = cls(1, hidden, num_layers=layers, batch_first=True)
        self.readout = nn.Linear(hidden, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.readout(self.rnn(x)[0])


def sine_batches(n: int, length: int, generator: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
    """Noisy sines with random phase and frequency: inputs (n, length, 1) and next-step targets."""
    t = torch.arange(length + 1, dtype=torch.float32)
    freq = 0.1 + 0.2 * torch.rand(n, 1, generator=generator)
    phase = 6.283 * torch.rand(n, 1, generator=generator)
    s = torch.sin(freq * t + phase) + 0.05 * torch.randn(n, length + 1, generator=generator)
    return s[:, :-1, None], s[:, 1:, None]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--arch", default="gru", choices=["gru", "lstm", "rnn"])
    parser.add_argument("--layers", type=int, default=1)
    parser.add_argument("--hidden", type=int, default=16)
    parser.add_argument("--steps", type=int, default=300, help="training steps")
    parser.add_argument("--out", type=Path, default=None, help="folder for report.html")
    parser.add_argument("--quick", action="store_true", help="tiny run (smoke test)")
    args = parser.parse_args()
    if args.quick:
        args.steps, args.hidden = 20, 8

    gen = torch.Generator().manual_seed(0)
    torch.manual_seed(0)  # the modules' own default initialisation
    model = Predictor(args.arch, args.hidden, args.layers)
    opt = torch.optim.Adam(model.parameters(), lr=1e-2)
    for step in range(args.steps):
        x, y = sine_batches(32, 60, gen)
        loss = nn.functional.mse_loss(model(x), y)
        opt.zero_grad()
        loss.backward()
        opt.step()
        if step % 100 == 0 or step == args.steps - 1:
            print(f"step {step:4d}  loss {loss.item():.4f}")

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "predictor.pt"
        torch.save(model.state_dict(), path)  # weights only
        # batch_first is not stored in a state dict: say it (it sets the layout of the inputs)
        net = rd.load_model(path, batch_first=True)
    print(f"loaded {net.load_info['architecture']} from the '{net.load_info['module_path']}.' prefix")

    x, _ = sine_batches(4, 400 if not args.quick else 120, gen)  # (B, T, 1), batch first
    res = rd.analyze(net, x, n_transient=100 if not args.quick else 20)
    print(res.summary())
    if args.out is not None:
        print("wrote", res.report(args.out / "report.html", figures_dir=args.out))


if __name__ == "__main__":
    main()

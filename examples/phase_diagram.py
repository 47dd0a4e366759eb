"""The mean-field phase diagram of the GRU over (g_h, alpha_r), with a figure.

For each point of the grid the mean-field theory of Can, Krishnamurthy & Schwab (2020,
arXiv:2002.00025) and Krishnamurthy, Can & Schwab (2022, arXiv:2007.14823) gives the nonzero
fixed-point branches and their stability; the points fall into the regions listed in the output
(stable zero fixed point, bistable, chaotic, marginal stability, ...). See docs/meanfield.md.

Run:  python examples/phase_diagram.py [--out DIR] [--quick]
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

import rnndyn as rd


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=None, help="folder for the figure")
    parser.add_argument("--quick", action="store_true", help="coarse grid (smoke test)")
    args = parser.parse_args()
    num = 6 if args.quick else 25
    ds = rd.phase_diagram("gru", g_h=np.linspace(1.2, 4.0, num), alpha_r=np.linspace(0.0, 12.0, num))
    names = dict(zip(ds.attrs["region_ids"], ds.attrs["region_labels"], strict=True))
    regions, counts = np.unique(ds["region"].values, return_counts=True)
    print(f"GRU mean-field phase diagram on a {num} x {num} grid (alpha_z = 0):")
    for r, c in zip(regions, counts, strict=True):
        print(f"  region {int(r)} ({names.get(int(r), '?')}): {c} points")
    # the zero fixed point loses stability at g_h = 2 whatever alpha_r (CKS20 Cor. 4.3)
    print("zero-fixed-point line g_h =", float(np.unique(ds["g_zero_fp"].values)[0]))
    if args.out is not None:
        from rnndyn.plotting.phase import plot_phase_diagram

        print("wrote", plot_phase_diagram(ds, args.out / "phase_diagram_gru.png"))


if __name__ == "__main__":
    main()

"""The five papers rnndyn reproduces."""

from __future__ import annotations

from rnndyn.reproduce._core import Paper

CPSS22 = Paper(
    "cpss22",
    "Chatziafratis, Panageas, Sanford, Stavroulakis",
    2022,
    "On Scrambling Phenomena for Randomly Initialized Recurrent Networks",
    "NeurIPS 2022",
    "2210.05212",
)
CKS20 = Paper(
    "cks20",
    "Can, Krishnamurthy, Schwab",
    2020,
    "Gating creates slow modes and controls phase-space complexity in GRUs and LSTMs",
    "MSML 2020 (PMLR 107)",
    "2002.00025",
)
KCS22 = Paper(
    "kcs22",
    "Krishnamurthy, Can, Schwab",
    2022,
    "Theory of gating in recurrent neural networks",
    "Phys. Rev. X 12, 011011",
    "2007.14823",
)
MMD22 = Paper(
    "mmd22",
    "Mikhaeil, Monfared, Durstewitz",
    2022,
    "On the difficulty of learning chaotic dynamics with RNNs",
    "NeurIPS 2022",
    "2110.07238",
)
VPSL22 = Paper(
    "vpsl22",
    "Vogt, Puelma Touzel, Shlizerman, Lajoie",
    2022,
    "On Lyapunov Exponents for RNNs: Understanding Information Propagation Using Dynamical Systems Tools",
    "Front. Appl. Math. Stat. 8",
    "2006.14123",
)

"""The defaults of :func:`rnndyn.find_fixed_points`, in a module that imports nothing, so that
``rnndyn fixed-points --help`` shows them without importing torch. The library's signature and
the command's options both read them from here (tests/test_fixed_points.py checks that every
option of the command has the library's default, or a reason to differ stated in its help)."""

from __future__ import annotations

#: number of starts
N_INITIAL = 128
#: steps run from the model's random initial states to sample starts on trajectories (and to
#: measure the box of visited states the spread starts are drawn from)
N_TRANSIENT = 200
#: standard deviation of the Gaussian noise added to every start
NOISE = 0.0
#: minimiser iterations
MAX_ITER = 200
#: the largest speed q = |F(h) - h|^2 / 2 of a reported slow point
SLOW_TOL = 1e-4
#: slow directions: eigenvalues with |lambda - 1| < EPS_SLOW
EPS_SLOW = 0.05
#: eigenvalues with ||lambda| - 1| <= MARGINAL_TOL are marginal, not unstable
MARGINAL_TOL = 1e-6
#: the minimiser: Levenberg--Marquardt ("lm") or Adam ("adam")
METHOD = "lm"
#: hand crawling starts to the staged reduced problem on the slow manifold
SLOW_MANIFOLD = True
#: The largest Good--Turing probability ``p_new`` (that one more start finds a fixed point not in
#: the list; Good 1953) for which a search counts as complete: fewer than one further start in a
#: hundred is expected to find a new point (docs/spectra.md, "How complete is a search?").
COMPLETENESS_TOL = 0.01
#: Where the starts come from (docs/spectra.md, "Where the starts come from"): ``"trajectory"``
#: (states after the transient: on the attractor), ``"spread"`` (uniform in the box of the visited
#: states: off the attractor too) or ``"mixed"`` (half each; the default, so that unstable points
#: off the attractor are reachable).
STARTS_FROM = "mixed"
#: the choices of ``starts_from``
STARTS_FROM_CHOICES = ("mixed", "trajectory", "spread")
#: the spread starts fill the box of the visited states widened this many times about its centre
#: (the demo GRU, n = 64, 64 starts: 17, 13, 10 and 1 of them reached a fixed point at 1, 1.25, 1.5
#: and 2; beyond the visited box the gates saturate and the minimiser rarely converges)
SPREAD_FACTOR = 1.0

__all__ = [
    "COMPLETENESS_TOL",
    "EPS_SLOW",
    "MARGINAL_TOL",
    "MAX_ITER",
    "METHOD",
    "NOISE",
    "N_INITIAL",
    "N_TRANSIENT",
    "SLOW_MANIFOLD",
    "SLOW_TOL",
    "SPREAD_FACTOR",
    "STARTS_FROM",
    "STARTS_FROM_CHOICES",
]

"""The Lyapunov run settings the command line shows in its help (``rnndyn lyapunov --help``),
in a module that imports nothing, so that the help needs no torch. Public as
``rnndyn.lyapunov.DEFAULTS`` / ``rnndyn.lyapunov.LyapunovDefaults``."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class LyapunovDefaults:
    """The run settings the command line (``rnndyn lyapunov``, ``rnndyn analyze``) and
    :func:`rnndyn.analyze` use when none are given; :func:`lyapunov_spectrum` shares ``qr_every``
    (its ``n_transient`` stays 0 and ``n_steps`` required: a library call says what it runs).

    ``n_steps`` is what ``rnndyn lyapunov`` averages; :func:`rnndyn.analyze` (and ``rnndyn
    analyze`` / ``report``) averages ``analyze_n_steps`` without inputs, because it runs the
    Jacobian spectrum and the fixed-point search too (with inputs it averages what the sequences
    leave after the transient). Both runs check their convergence and say when it is not enough."""

    n_steps: int = 2000
    n_transient: int = 500
    qr_every: int | str = "auto"
    analyze_n_steps: int = 1000


#: The one set of defaults (see :class:`LyapunovDefaults`).
DEFAULTS = LyapunovDefaults()

__all__ = ["DEFAULTS", "LyapunovDefaults"]

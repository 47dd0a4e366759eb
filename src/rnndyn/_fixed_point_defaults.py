"""The fixed-point search settings the command line shows in its help (``rnndyn fixed-points
--help``), in a module that imports nothing, so that the help needs no torch.
:func:`rnndyn.find_fixed_points` takes its defaults from here."""

from __future__ import annotations

#: The largest Good--Turing probability ``p_new`` (that one more start finds a fixed point not in
#: the list; Good 1953) for which a search counts as complete: fewer than one further start in a
#: hundred is expected to find a new point (docs/spectra.md, "How complete is a search?").
COMPLETENESS_TOL = 0.01

__all__ = ["COMPLETENESS_TOL"]

"""Named model settings and literature reference values, read from ``presets.toml``.

The file holds numbers with their citations (theory notes' status labels included); docs, the
CLI and the tests read it through :func:`load_presets`, so the oracles and the documentation share
one source.
"""

from __future__ import annotations

import copy
import tomllib
from functools import lru_cache
from importlib import resources
from typing import Any

from rnndyn._checks import check_choice


@lru_cache(maxsize=1)
def _load() -> dict[str, Any]:
    text = resources.files("rnndyn.models").joinpath("presets.toml").read_text(encoding="utf-8")
    return tomllib.loads(text)


def load_presets() -> dict[str, Any]:
    """Return the contents of ``presets.toml`` as a (fresh, mutable) dict.

    Returns:
        ``{"presets": {name: {"model", "description", "params", "source"}},
        "reference": {name: {..., "description", "source", "status"}}}``.

    Example:
        >>> from rnndyn.models.presets import load_presets
        >>> p = load_presets()
        >>> p["reference"]["gru_zero_fp_critical_g_h"]["value"]
        2.0
        >>> p["presets"]["gru_slow_modes"]["params"]["alpha_z"]
        20.0
    """
    return copy.deepcopy(_load())


def reference_value(name: str) -> dict[str, Any]:
    """One entry of the ``[reference]`` table (``ValueError`` listing the known names if unknown)."""
    refs = _load()["reference"]
    check_choice(name, "name", sorted(refs))
    return copy.deepcopy(refs[name])


__all__ = ["load_presets", "reference_value"]

"""The package version, on the lowest floor so that any module can read it without importing the
package's top level (``from rnndyn._version import __version__``)."""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("rnndyn")
except PackageNotFoundError:  # pragma: no cover - running from a source tree
    __version__ = "0.1.0"

__all__ = ["__version__"]

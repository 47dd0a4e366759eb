"""``python -m rnndyn.cli``: the ``rnndyn`` command (for an environment without the script)."""

from __future__ import annotations

from rnndyn.cli import main

if __name__ == "__main__":
    main()

"""Headless-Chromium helpers for tests that check an HTML page renders (reports, galleries).

Chromium is Debian's ``chromium`` package (``apt-get install chromium``); where it is missing the
tests that need it are skipped with a message saying how to install it. Every run uses a fresh
temporary profile and switches off networking side-channels, so a test never touches the user's
browser profile or the network.

    from browser_helpers import dump_dom, render_screenshot
    png = render_screenshot(tmp_path / "report.html", tmp_path / "shot.png")
    dom = dump_dom(tmp_path / "report.html")
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest

#: Where to look for the browser, in order (``$RNNDYN_CHROMIUM`` first).
CANDIDATES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")

FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--hide-scrollbars",
)

SKIP_MESSAGE = "headless Chromium not found (install Debian's `chromium` package or set $RNNDYN_CHROMIUM)"


def find_chromium() -> str | None:
    """Path of a Chromium executable, or None."""
    env = os.environ.get("RNNDYN_CHROMIUM")
    if env and Path(env).exists():
        return env
    for name in CANDIDATES:
        found = shutil.which(name)
        if found:
            return found
    return None


def require_chromium() -> str:
    """The Chromium executable; skips the calling test with a clear message when there is none."""
    exe = find_chromium()
    if exe is None:
        pytest.skip(SKIP_MESSAGE)
    return exe


def _run(args: list[str], *, timeout: float) -> subprocess.CompletedProcess[str]:
    exe = require_chromium()
    with tempfile.TemporaryDirectory(prefix="rnndyn-chromium-") as profile:
        cmd = [exe, *FLAGS, f"--user-data-dir={profile}", *args]
        return subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, check=False)


def render_screenshot(
    html_path: str | Path,
    png_path: str | Path,
    *,
    width: int = 1100,
    height: int = 2400,
    timeout: float = 120.0,
) -> Path:
    """Open ``html_path`` in headless Chromium and write a PNG screenshot to ``png_path``.

    Skips the test when Chromium is missing; raises ``AssertionError`` with Chromium's output when
    it ran but wrote no screenshot.
    """
    html_path = Path(html_path).resolve()
    png_path = Path(png_path).resolve()
    png_path.parent.mkdir(parents=True, exist_ok=True)
    if png_path.exists():
        png_path.unlink()
    proc = _run(
        [f"--screenshot={png_path}", f"--window-size={width},{height}", html_path.as_uri()],
        timeout=timeout,
    )
    if not png_path.exists() or png_path.stat().st_size == 0:
        raise AssertionError(
            f"chromium wrote no screenshot (rc={proc.returncode}); stderr tail:\n{proc.stderr[-2000:]}"
        )
    return png_path


def dump_dom(html_path: str | Path, *, timeout: float = 120.0) -> str:
    """The DOM of ``html_path`` after Chromium has parsed and laid it out (``--dump-dom``)."""
    html_path = Path(html_path).resolve()
    proc = _run(["--dump-dom", html_path.as_uri()], timeout=timeout)
    if proc.returncode != 0 or "<html" not in proc.stdout.lower():
        raise AssertionError(f"chromium --dump-dom failed (rc={proc.returncode}):\n{proc.stderr[-2000:]}")
    return proc.stdout


def image_stats(png_path: str | Path) -> dict[str, float]:
    """Fraction of non-white pixels and the number of distinct colours of a PNG (is it blank?)."""
    import matplotlib.image as mpimg
    import numpy as np

    img = np.asarray(mpimg.imread(str(png_path)))[..., :3]
    nonwhite = float(np.mean(np.any(img < 0.98, axis=-1)))
    colours = len(np.unique((img.reshape(-1, 3) * 255).astype(np.uint8), axis=0))
    return {"nonwhite_fraction": nonwhite, "n_colours": float(colours), "height": img.shape[0]}


__all__ = ["dump_dom", "find_chromium", "image_stats", "render_screenshot", "require_chromium"]

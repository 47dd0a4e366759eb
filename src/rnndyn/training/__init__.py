"""Training dynamics (filled below)."""

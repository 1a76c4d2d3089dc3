"""Stage 1, fetching: one HTTP client per run with per-host pacing, robots.txt, conditional GET,
size limits and the one retry rule (`retry.py`); `encoding.py` turns bytes into text."""

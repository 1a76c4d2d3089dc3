"""Read views for people: the storage read model (storage/reads.py) shaped for the terminal and
JSON (notices, links, status, diffs, a source preview)."""

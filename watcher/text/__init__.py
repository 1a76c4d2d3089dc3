"""Pure text functions, a leaf every stage may use (storage too): normalisation for fingerprints,
文号 / titles / dates, paragraph diffs. Nothing here imports another part of the project."""

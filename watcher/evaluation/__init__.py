"""Measuring the stages on labelled data: `extraction.py` (title, date, body, list items) and
`links.py` (precision and recall of links)."""

"""Stage 2b, attachments: the files a detail page links to, downloaded through the run's fetcher
(`reader.py`) and read to text in a time- and memory-limited child process (`sandbox.py`, `doctext.py`)."""

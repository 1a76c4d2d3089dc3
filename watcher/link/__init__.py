"""Stage 4, linking: each stored version is fingerprinted (`fingerprint.py`, MinHash), looked up in
the LSH index (`index.py`, `lshstore.py`), verified, classified (`classify.py`) and linked to what it revises,
reposts or derives from (`linker.py`); `stage.py` is the light face the pipeline sees."""

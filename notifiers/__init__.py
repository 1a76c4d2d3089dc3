"""Stage 5, announcing: the events stored with each notice become an email digest (`digest.py`) and
webhook alerts (`dispatch.py`), one class per chat service in `services/`, each event delivered once per channel
(claims in storage/deliveries.py)."""

"""The web view: `watcher serve` (app.py: pages and the JSON API; auth.py: the token off loopback; templates/)."""

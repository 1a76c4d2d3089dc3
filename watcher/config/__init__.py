"""Stage 0, configuration: sources.yaml to typed value objects. `settings` and `channels` are the
schemas (a leaf: nothing else of the project below them); `loader` reads the file and checks each source's
kind and options against the registry; `sources_file` edits the file for `watcher sources …`."""

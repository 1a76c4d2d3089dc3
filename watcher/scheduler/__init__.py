"""Running cycles on each source's schedule in one process (APScheduler), reloading
sources.yaml when it changes."""

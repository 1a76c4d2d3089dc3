"""Stage 3, storage: every SQL statement of the project. `repo.Store` is the façade over one class per
aggregate (notices, pages, runs, search, links); `deliveries.py` holds the notifiers' claims and marks,
`reads.py` the read model for the CLI and views, `records.py` the typed records passed between stages, and
`models.py` + `migrations/` the schema."""

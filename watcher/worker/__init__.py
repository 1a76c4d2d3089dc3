"""Workers on a shared PostgreSQL queue (procrastinate): `watcher worker`, for more than one machine.

app.py       the procrastinate App over the database, its schema set up at the first start
runtime.py   what the tasks share in one worker process: configuration, store, linker, pacer
tasks.py     the jobs: a source's list pages, batches of detail pages, linking, alerts, the digest
schedule.py  the periodic deferrer (one deferral per source per period for the cluster) and stall recovery
pacing.py    per-host concurrency and min_delay held across every worker (storage/queue.py's tables)
run.py       one worker process: deferrer, stall recovery and procrastinate's worker loop
"""

"""The cycle that joins the stages: `poll.py` polls one source (list pages, detail pages,
attachments, snapshots into storage), `cycle.py` runs poll → link → alert for the CLI, the scheduler and the demo."""

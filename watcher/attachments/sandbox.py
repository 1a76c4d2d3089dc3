"""Reading a file's text in a child process with a time and memory limit.

A crafted PDF can hang a parser or eat memory, and must cost one attachment, not the poll. Children
fork from a forkserver that has `watcher.attachments.doctext` preloaded, so each one starts warm.
"""

from __future__ import annotations

import multiprocessing
import resource
from multiprocessing.connection import Connection
from multiprocessing.context import ForkServerContext

from watcher.attachments.doctext import Limits, TextResult, extract, sniff
from watcher.config.settings import AttachmentSettings

# The module every child needs; the forkserver imports it once, before it forks anyone.
PRELOAD = "watcher.attachments.doctext"

_ctx: ForkServerContext | None = None


def _context() -> ForkServerContext:
    global _ctx
    if _ctx is None:
        # forkserver: children fork from a clean, single-threaded server, never from the event
        # loop's process with its threads and locks.
        _ctx = multiprocessing.get_context("forkserver")
        _ctx.set_forkserver_preload([PRELOAD])
    return _ctx


def _child(conn: Connection, data: bytes, filename: str, limits: Limits, max_memory: int) -> None:
    try:
        resource.setrlimit(resource.RLIMIT_AS, (max_memory, max_memory))
    except (ValueError, OSError):
        pass
    try:
        conn.send(extract(data, filename, limits).as_dict())
    except MemoryError:
        conn.send({"status": "error", "error": f"needed more than {max_memory // 1_000_000} MB to read"})
    finally:
        conn.close()


def extract_isolated(data: bytes, filename: str, settings: AttachmentSettings) -> TextResult:
    """doctext.extract in a child process, killed past settings.timeout."""
    file_type = sniff(data, filename)
    ctx = _context()
    parent, child = ctx.Pipe(duplex=False)
    proc = ctx.Process(
        target=_child,
        args=(child, data, filename, Limits(max_pages=settings.max_pages), settings.max_memory),
        daemon=True,
    )
    proc.start()
    child.close()
    try:
        if parent.poll(settings.timeout):
            try:
                out = parent.recv()
            except EOFError:
                out = {"status": "error", "error": f"the reader died (exit code {proc.exitcode})"}
        else:
            proc.kill()
            out = {"status": "error", "error": f"text extraction took over {settings.timeout:g} s"}
    finally:
        proc.join(5)
        if proc.is_alive():
            proc.kill()
        parent.close()
    return TextResult(
        file_type=out.get("file_type") or file_type,
        status=out["status"],
        text=out.get("text") or "",
        error=out.get("error"),
        pages=out.get("pages"),
        parts=out.get("parts") or [],
    )

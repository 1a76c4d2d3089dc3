"""Reading a file's text in a child process with a time and memory limit.

A crafted PDF can hang a parser or eat memory, and must cost one attachment, not the poll. Children
fork from a forkserver that has `watcher.attachments.doctext` preloaded, so each one starts warm.
"""

from __future__ import annotations

import multiprocessing
import resource
import signal
from multiprocessing.connection import Connection
from multiprocessing.context import ForkServerContext
from multiprocessing.process import BaseProcess

from watcher.attachments.doctext import Limits, TextResult, die_with_parent, extract, sniff
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
    # Killed with the forkserver, which exits when the poll does: no reader outlives a killed poll.
    die_with_parent()
    parent = multiprocessing.parent_process()
    if parent is not None and not parent.is_alive():
        return  # the poll died before the line above took effect
    try:
        resource.setrlimit(resource.RLIMIT_AS, (max_memory, max_memory))
    except (ValueError, OSError):
        pass
    try:
        conn.send(extract(data, filename, limits).as_dict())
    except MemoryError:
        conn.send({"status": "error", "error": _over_memory(max_memory)})
    except Exception as exc:  # noqa: BLE001 - a parser's own failure: said in the result, not as a dead reader
        conn.send({"status": "error", "error": f"the reader failed: {type(exc).__name__}: {exc}"[:500]})
    finally:
        conn.close()


def _over_memory(max_memory: int) -> str:
    return f"limit exceeded: needed more than {max_memory // 1_000_000} MB to read"


def _died(proc: BaseProcess, max_memory: int) -> str:
    """Why a reader ended without an answer: killed (the kernel's memory killer, or memory so short the
    answer could not be sent), or its exit status."""
    proc.join(5)
    if proc.exitcode is not None and proc.exitcode < 0 and -proc.exitcode == signal.SIGKILL:
        return _over_memory(max_memory) + " (the reader was killed)"
    return f"the reader died (exit code {proc.exitcode})"


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
                out = {"status": "error", "error": _died(proc, settings.max_memory)}
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

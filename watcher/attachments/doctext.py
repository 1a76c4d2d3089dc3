"""Text of attachment files: PDF, DOCX, XLSX, OFD, zip archives of those; legacy .doc/.wps/.xls
through a converter when one is installed.

Everything here treats the file as hostile. The type comes from the bytes, not the extension; zip
members are checked for count, total size and compression ratio before anything is inflated;
PDFs stop at a page limit. The caller (watcher/attachments/sandbox.py) also runs this in a child process
with a time and memory limit, since a parser can loop or balloon on a crafted file.
"""

from __future__ import annotations

import io
import re
import shutil
import signal
import subprocess
import tempfile
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from xml.etree import ElementTree as ET


@dataclass(frozen=True)
class Limits:
    max_pages: int = 300
    max_chars: int = 2_000_000
    max_unzipped: int = 100_000_000  # bytes inflated from one archive
    max_ratio: int = 100  # uncompressed / compressed, per member
    max_members: int = 2000
    converter_timeout: float = 60.0


@dataclass
class TextResult:
    file_type: str  # from the bytes: pdf docx xlsx ofd zip doc wps xls html text unknown
    status: str  # ok | no_text | error
    text: str = ""
    error: str | None = None
    pages: int | None = None
    parts: list[str] = field(default_factory=list)  # zip: the members read

    def as_dict(self) -> dict:
        return dict(
            file_type=self.file_type,
            status=self.status,
            text=self.text,
            error=self.error,
            pages=self.pages,
            parts=self.parts,
        )


class Unreadable(Exception):
    """The file is broken, encrypted or over a limit; the message says which."""


MEDIA_TYPES = {
    "pdf": "application/pdf",
    "docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "ofd": "application/ofd",
    "zip": "application/zip",
    "doc": "application/msword",
    "wps": "application/vnd.ms-works",
    "xls": "application/vnd.ms-excel",
    "rar": "application/vnd.rar",
    "html": "text/html",
    "text": "text/plain",
}
_OLE = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")


def sniff(data: bytes, filename: str = "") -> str:
    """The file's real type, from its first bytes (and for zips, their members); the extension only
    decides between formats that share a container (.doc/.wps/.xls are all OLE)."""
    ext = Path(filename.lower()).suffix.lstrip(".")
    head = data[:8]
    if head.startswith(b"%PDF-") or b"%PDF-" in data[:1024]:
        return "pdf"
    if head.startswith(_OLE):
        return ext if ext in ("doc", "wps", "xls", "et") else "doc"
    if head.startswith(b"Rar!"):
        return "rar"
    if head.startswith(b"PK\x03\x04") or head.startswith(b"PK\x05\x06"):
        try:
            names = set(zipfile.ZipFile(io.BytesIO(data)).namelist())
        except zipfile.BadZipFile:
            return "zip"
        if "word/document.xml" in names:
            return "docx"
        if "xl/workbook.xml" in names:
            return "xlsx"
        if "OFD.xml" in names or any(n.lower().endswith("/ofd.xml") for n in names):
            return "ofd"
        return "zip"
    sample = data[:2048].lstrip().lower()
    if sample.startswith((b"<!doctype html", b"<html")) or b"<html" in sample[:512]:
        return "html"  # a download script answering with an error page
    return ext or "unknown"


def _checked_zip(data: bytes, limits: Limits) -> zipfile.ZipFile:
    try:
        zf = zipfile.ZipFile(io.BytesIO(data))
    except zipfile.BadZipFile as exc:
        raise Unreadable(f"broken zip container: {exc}") from None
    infos = zf.infolist()
    if len(infos) > limits.max_members:
        raise Unreadable(f"{len(infos)} members in the archive (limit {limits.max_members})")
    total = 0
    for info in infos:
        if info.flag_bits & 0x1:
            raise Unreadable(f"encrypted archive member {info.filename}")
        total += info.file_size
        if info.file_size > 1_000_000 and info.file_size > limits.max_ratio * max(info.compress_size, 1):
            raise Unreadable(f"zip bomb: {info.filename} inflates {info.file_size // max(info.compress_size, 1)}x")
    if total > limits.max_unzipped:
        raise Unreadable(f"archive inflates to {total} bytes (limit {limits.max_unzipped})")
    return zf


def _read(zf: zipfile.ZipFile, name: str) -> bytes:
    try:
        return zf.read(name)
    except Exception as exc:  # noqa: BLE001 - BadZipFile, KeyError, EOFError, zlib.error on truncated members
        raise Unreadable(f"cannot read {name}: {type(exc).__name__}: {exc}") from None


def _xml(data: bytes, what: str) -> ET.Element:
    try:
        return ET.fromstring(data)
    except ET.ParseError as exc:
        raise Unreadable(f"broken XML in {what}: {exc}") from None


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def docx_text(data: bytes, limits: Limits = Limits()) -> str:
    zf = _checked_zip(data, limits)
    root = _xml(_read(zf, "word/document.xml"), "word/document.xml")
    paras = []
    for p in root.iter():
        if _local(p.tag) != "p":
            continue
        parts = []
        for node in p.iter():
            name = _local(node.tag)
            if name == "t" and node.text:
                parts.append(node.text)
            elif name == "tab":
                parts.append("\t")
            elif name in ("br", "cr"):
                parts.append("\n")
        text = "".join(parts).strip()
        if text:
            paras.append(text)
    return "\n".join(paras)


def _sheet_number(name: str) -> int:
    """xl/worksheets/sheet12.xml -> 12 (only names that matched sheetN.xml get here)."""
    m = re.search(r"(\d+)\.xml$", name)
    return int(m.group(1)) if m else 0


def xlsx_text(data: bytes, limits: Limits = Limits()) -> str:
    """Every sheet, a row a line, cells joined by tabs (shared and inline strings, numbers)."""
    zf = _checked_zip(data, limits)
    shared: list[str] = []
    if "xl/sharedStrings.xml" in zf.namelist():
        for si in _xml(_read(zf, "xl/sharedStrings.xml"), "sharedStrings").iter():
            if _local(si.tag) == "si":
                shared.append("".join(t.text or "" for t in si.iter() if _local(t.tag) == "t"))
    lines = []
    sheets = sorted((n for n in zf.namelist() if re.match(r"xl/worksheets/sheet\d+\.xml$", n)), key=_sheet_number)
    for name in sheets:
        for row in _xml(_read(zf, name), name).iter():
            if _local(row.tag) != "row":
                continue
            cells = []
            for c in row:
                if _local(c.tag) != "c":
                    continue
                cell_type = c.get("t")
                value = next((v.text for v in c if _local(v.tag) == "v"), None)
                if cell_type == "s" and value is not None and value.isdigit() and int(value) < len(shared):
                    cells.append(shared[int(value)])
                elif cell_type == "inlineStr":
                    cells.append("".join(t.text or "" for t in c.iter() if _local(t.tag) == "t"))
                elif value is not None:
                    cells.append(value)
            if any(x.strip() for x in cells):
                lines.append("\t".join(cells).rstrip())
    return "\n".join(lines)


def ofd_text(data: bytes, limits: Limits = Limits()) -> str:
    """OFD (GB/T 33190): a zip of XML pages; text is in TextCode elements, laid out by position.
    Codes are grouped into lines by their Y coordinate, lines ordered top to bottom per page."""
    zf = _checked_zip(data, limits)
    pages = sorted(
        (n for n in zf.namelist() if re.search(r"Pages/Page_?\d+/Content\.xml$", n, re.I)),
        key=lambda n: [int(x) for x in re.findall(r"\d+", n)],
    )
    if not pages:
        raise Unreadable("OFD without page content")
    out = []
    for name in pages[: limits.max_pages]:
        rows: dict[float, list[tuple[float, str]]] = {}
        for obj in _xml(_read(zf, name), name).iter():
            if _local(obj.tag) != "TextObject":
                continue
            bx = [float(x) for x in (obj.get("Boundary") or "0 0 0 0").split()[:2]]
            for code in obj:
                if _local(code.tag) != "TextCode" or not code.text:
                    continue
                x = bx[0] + float(code.get("X") or 0)
                y = round(bx[1] + float(code.get("Y") or 0), 0)
                rows.setdefault(y, []).append((x, code.text))
        for y in sorted(rows):
            out.append("".join(t for _, t in sorted(rows[y])))
    return "\n".join(out)


def pdf_text(data: bytes, limits: Limits = Limits()) -> tuple[str, int]:
    from pypdf import PdfReader
    from pypdf.errors import LimitReachedError, PdfReadError, PyPdfError

    try:
        reader = PdfReader(io.BytesIO(data), strict=False)
        if reader.is_encrypted:
            try:
                if not reader.decrypt(""):  # an owner password alone still lets anyone read
                    raise Unreadable("encrypted PDF (a password is needed to open it)")
            except NotImplementedError as exc:
                raise Unreadable(f"encrypted PDF: {exc}") from None
        n = len(reader.pages)
        texts = []
        for page in list(reader.pages)[: limits.max_pages]:
            texts.append(page.extract_text() or "")
            if sum(map(len, texts)) > limits.max_chars:
                break
    except Unreadable:
        raise
    except LimitReachedError as exc:  # pypdf's own bounds: a stream that inflates past them, too many tokens
        raise Unreadable(f"limit exceeded: {exc}") from None
    except (PdfReadError, PyPdfError, ValueError, KeyError, TypeError, AttributeError, IndexError, OSError) as exc:
        raise Unreadable(f"broken PDF: {type(exc).__name__}: {exc}") from None
    return "\n".join(texts), n


def die_with_parent() -> None:
    """Be killed when the parent process dies (Linux: PR_SET_PDEATHSIG). A reader outliving a killed poll
    would burn its CPU for nothing; a converter outliving its reader likewise."""
    import ctypes

    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(1, signal.SIGKILL, 0, 0, 0)  # 1: PR_SET_PDEATHSIG
    except (OSError, AttributeError):  # not Linux: the reader's time limit still bounds it
        return


def convert_legacy(data: bytes, file_type: str, converters: dict[str, list[list[str]]], limits: Limits) -> str | None:
    """Run the first installed converter for the file type (argv with {path}); None when none is installed."""
    for argv in converters.get(file_type, []):
        if shutil.which(argv[0]) is None:
            continue
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / f"attachment.{file_type}"
            path.write_bytes(data)
            try:
                proc = subprocess.run(
                    [a.replace("{path}", str(path)) for a in argv],
                    capture_output=True,
                    timeout=limits.converter_timeout,
                    preexec_fn=die_with_parent,  # noqa: PLW1509 - the reader is single-threaded
                )
            except subprocess.TimeoutExpired:
                raise Unreadable(f"{argv[0]} took over {limits.converter_timeout:g} s") from None
            if proc.returncode != 0:
                raise Unreadable(f"{argv[0]} failed: {proc.stderr.decode('utf-8', 'replace').strip()[:200]}")
            return proc.stdout.decode("utf-8", "replace")
    return None


# Legacy formats read through a command-line converter, first installed wins (stdout = the text).
CONVERTERS: dict[str, list[list[str]]] = {
    "doc": [["catdoc", "-d", "utf-8", "{path}"], ["antiword", "-m", "UTF-8.txt", "{path}"]],
    "wps": [["catdoc", "-d", "utf-8", "{path}"]],
    "xls": [["xls2csv", "-d", "utf-8", "{path}"]],
    "et": [["xls2csv", "-d", "utf-8", "{path}"]],
}


def extract(
    data: bytes,
    filename: str = "",
    limits: Limits = Limits(),
    converters: dict[str, list[list[str]]] | None = None,
    _depth: int = 0,
) -> TextResult:
    """The text of one file. Never raises for a bad file: the result says what went wrong."""
    file_type = sniff(data, filename)
    converters = CONVERTERS if converters is None else converters
    try:
        if file_type == "pdf":
            text, pages = pdf_text(data, limits)
            res = TextResult(
                file_type,
                "ok" if text.strip() else "no_text",
                text,
                pages=pages,
                error=None if text.strip() else "no text layer (a scanned PDF?)",
            )
        elif file_type == "docx":
            res = TextResult(file_type, "ok", docx_text(data, limits))
        elif file_type == "xlsx":
            res = TextResult(file_type, "ok", xlsx_text(data, limits))
        elif file_type == "ofd":
            res = TextResult(file_type, "ok", ofd_text(data, limits))
        elif file_type == "zip":
            res = _zip_text(data, limits, converters, _depth)
        elif file_type in ("doc", "wps", "xls", "et"):
            converted = convert_legacy(data, file_type, converters, limits)
            tool = converters.get(file_type, [["—"]])[0][0]
            res = (
                TextResult(file_type, "no_text", error=f"no converter installed for .{file_type} (install {tool})")
                if converted is None
                else TextResult(file_type, "ok", converted)
            )
        elif file_type == "html":
            res = TextResult(file_type, "error", error="an HTML page, not a file (a broken download link?)")
        else:
            res = TextResult(file_type, "no_text", error=f"no text extraction for .{file_type} files")
    except Unreadable as exc:
        return TextResult(file_type, "error", error=str(exc))
    # NUL and other C0 controls come out of broken fonts; PostgreSQL refuses NUL in text.
    res.text = _CONTROL.sub("", res.text[: limits.max_chars])
    if res.status == "ok" and not res.text.strip():
        res.status, res.error = "no_text", res.error or "the file holds no text"
    return res


def _zip_text(data: bytes, limits: Limits, converters: dict[str, list[list[str]]], depth: int) -> TextResult:
    if depth >= 1:
        raise Unreadable("an archive inside an archive")
    zf = _checked_zip(data, limits)
    texts, parts = [], []
    for info in zf.infolist():
        if info.is_dir():
            continue
        name = _member_name(info)
        inner = extract(_read(zf, info.filename), name, limits, converters, depth + 1)
        if inner.status == "ok":
            texts.append(inner.text)
            parts.append(name)
    return TextResult(
        "zip",
        "ok" if texts else "no_text",
        "\n\n".join(texts),
        parts=parts,
        error=None if texts else "no readable document in the archive",
    )


def _member_name(info: zipfile.ZipInfo) -> str:
    """Zip names without the UTF-8 flag are usually GBK on Chinese systems, read by zipfile as cp437."""
    if info.flag_bits & 0x800:
        return info.filename
    try:
        return info.filename.encode("cp437").decode("gb18030")
    except (UnicodeEncodeError, UnicodeDecodeError):
        return info.filename

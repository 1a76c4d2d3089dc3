"""Hostile PDFs built byte by byte: a content stream that inflates to gigabytes from a megabyte and a half,
and one whose text operators keep a reader busy for seconds."""

from __future__ import annotations

import zlib

MB = 1 << 20


def pdf_of(streams: list[bytes]) -> bytes:
    """A PDF with one page per FlateDecode content stream (Helvetica as /F1)."""
    n = len(streams)
    font = "/Resources << /Font << /F1 << /Type /Font /Subtype /Type1 /BaseFont /Helvetica >> >> >>"
    objs = [b"<< /Type /Catalog /Pages 2 0 R >>"]
    objs.append(f"<< /Type /Pages /Kids [{' '.join(f'{3 + i} 0 R' for i in range(n))}] /Count {n} >>".encode())
    objs += [
        f"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] {font} /Contents {3 + n + i} 0 R >>".encode()
        for i in range(n)
    ]
    objs += [f"<< /Length {len(s)} /Filter /FlateDecode >>\nstream\n".encode() + s + b"\nendstream" for s in streams]
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for i, obj in enumerate(objs):
        offsets.append(len(out))
        out += f"{i + 1} 0 obj\n".encode() + obj + b"\nendobj\n"
    xref = len(out)
    out += f"xref\n0 {len(objs) + 1}\n0000000000 65535 f \n".encode()
    out += b"".join(f"{o:010d} 00000 n \n".encode() for o in offsets)
    out += f"trailer\n<< /Size {len(objs) + 1} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n".encode()
    return bytes(out)


def inflating(size: int, chunk: bytes = b" " * MB) -> bytes:
    """A zlib stream that inflates to `size` bytes: one fully flushed deflate block of `chunk`, repeated
    (each block stands alone), with the right checksum. 1.5 GB costs 1.5 MB and a second to make."""
    c = zlib.compressobj(9, zlib.DEFLATED, -15)
    block = c.compress(chunk) + c.flush(zlib.Z_FULL_FLUSH)
    n = size // len(chunk)
    adler = 1
    for _ in range(n):
        adler = zlib.adler32(chunk, adler)
    return b"\x78\xda" + block * n + b"\x03\x00" + adler.to_bytes(4, "big")


def pdf_bomb(size: int = 1536 * MB) -> bytes:
    """A PDF whose one content stream inflates to `size` bytes (1.5 GB by default)."""
    return pdf_of([inflating(size)])


def slow_pdf(size: int = 64 * MB) -> bytes:
    """A PDF whose text operators take a reader many seconds to parse (before pypdf's token bound stops it)."""
    line = b"BT /F1 12 Tf 72 712 Td (AAAAAAAAAAAAAAAA) Tj ET\n"
    return pdf_of([inflating(size, line * (MB // len(line)))])

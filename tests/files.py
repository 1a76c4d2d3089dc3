"""Real attachment files made on the fly: PDF (reportlab, CJK font), DOCX (python-docx), XLSX
(openpyxl), OFD (the GB/T 33190 package layout), and broken or hostile variants of them."""

from __future__ import annotations

import io
import zipfile


def pdf(lines: list[str], pages: int = 1, password: str | None = None) -> bytes:
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.cidfonts import UnicodeCIDFont
    from reportlab.pdfgen import canvas

    pdfmetrics.registerFont(UnicodeCIDFont("STSong-Light"))
    buf = io.BytesIO()
    c = canvas.Canvas(buf)
    for _ in range(pages):
        c.setFont("STSong-Light", 11)
        y = 800
        for line in lines:
            c.drawString(50, y, line)
            y -= 16
            if y < 40:
                c.showPage()
                c.setFont("STSong-Light", 11)
                y = 800
        c.showPage()
    c.save()
    data = buf.getvalue()
    if password:
        from pypdf import PdfReader, PdfWriter

        w = PdfWriter()
        for page in PdfReader(io.BytesIO(data)).pages:
            w.add_page(page)
        w.encrypt(user_password=password, owner_password=password + "-owner")
        out = io.BytesIO()
        w.write(out)
        data = out.getvalue()
    return data


def docx(paragraphs: list[str]) -> bytes:
    import docx as python_docx

    d = python_docx.Document()
    for p in paragraphs:
        d.add_paragraph(p)
    buf = io.BytesIO()
    d.save(buf)
    return buf.getvalue()


def xlsx(rows: list[list]) -> bytes:
    from openpyxl import Workbook

    wb = Workbook()
    ws = wb.active
    for r in rows:
        ws.append(r)
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def ofd(lines: list[str]) -> bytes:
    ns = 'xmlns:ofd="http://www.ofdspec.org/2016"'
    objs = "".join(
        f'<ofd:TextObject ID="{i + 10}" Boundary="20 {30 + i * 8} 170 8" Font="1" Size="4">'
        f'<ofd:TextCode X="0" Y="6">{line}</ofd:TextCode></ofd:TextObject>'
        for i, line in enumerate(lines)
    )
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr(
            "OFD.xml",
            f'<?xml version="1.0" encoding="UTF-8"?><ofd:OFD {ns} Version="1.0" DocType="OFD">'
            "<ofd:DocBody><ofd:DocRoot>Doc_0/Document.xml</ofd:DocRoot></ofd:DocBody></ofd:OFD>",
        )
        z.writestr(
            "Doc_0/Document.xml",
            f'<?xml version="1.0" encoding="UTF-8"?><ofd:Document {ns}><ofd:Pages>'
            '<ofd:Page ID="1" BaseLoc="Pages/Page_0/Content.xml"/></ofd:Pages></ofd:Document>',
        )
        z.writestr(
            "Doc_0/Pages/Page_0/Content.xml",
            f'<?xml version="1.0" encoding="UTF-8"?><ofd:Page {ns}>'
            f'<ofd:Content><ofd:Layer ID="2">{objs}</ofd:Layer></ofd:Content></ofd:Page>',
        )
    return buf.getvalue()


def zip_of(members: dict[str, bytes], gbk_names: bool = False) -> bytes:
    """gbk_names: names stored as GBK bytes without the UTF-8 flag, as Chinese Windows tools write them
    (zipfile itself would store UTF-8, so an ASCII placeholder of the same length is patched)."""
    buf = io.BytesIO()
    patches = []
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        for i, (name, data) in enumerate(members.items()):
            stored = name
            if gbk_names:
                raw = name.encode("gbk")
                stored = f"{i:02d}".ljust(len(raw), "_")
                patches.append((stored.encode(), raw))
            z.writestr(stored, data)
    out = buf.getvalue()
    for placeholder, raw in patches:
        out = out.replace(placeholder, raw)
    return out


def zip_bomb(size: int = 300_000_000) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        with z.open("word/document.xml", "w", force_zip64=True) as fh:
            chunk = b"\0" * 1_000_000
            for _ in range(size // len(chunk)):
                fh.write(chunk)
    return buf.getvalue()

"""Damaged pages from a real portal: a stray byte or a cut-off character costs that character, not the
page (issue 14, item 7)."""

from __future__ import annotations

import pytest

from watcher.config.settings import FetchSettings
from watcher.crawl.fetch import Fetcher

FAST = FetchSettings(min_delay=0, retries=0, timeout=5)
PARA = "关于印发淮安市实施方案的通知，各县区人民政府，市各委办局：现印发给你们，请认真贯彻执行。"


def _page(charset: str | None, encoding: str) -> bytes:
    head = f'<meta http-equiv="Content-Type" content="text/html; charset={charset}">' if charset else ""
    return f"<html><head>{head}</head><body><p>{PARA * 12}</p></body></html>".encode(encoding)


async def _fetch(portal, body: bytes, content_type: str = "text/html") -> tuple[str, str | None]:
    portal.add("/p.html", body, content_type=content_type)
    async with Fetcher() as f:
        resp = await f.get(portal.url("/p.html"), FAST)
    return resp.text, resp.encoding


def _at_char(body: bytes, n: int) -> int:
    """The byte offset of the n-th repetition of PARA: a character boundary."""
    start = body.index(PARA.encode("gbk"))
    return start + n * len(PARA.encode("gbk"))


@pytest.mark.parametrize("charset", ["gbk", "gb2312"])
async def test_a_stray_byte_in_a_declared_gbk_page_keeps_the_declaration(portal, charset):
    body = _page(charset, "gbk")
    at = _at_char(body, 5)
    text, enc = await _fetch(portal, body[:at] + b"\xff" + body[at:])
    assert enc == "gb18030"
    assert text.count("\ufffd") == 1 and text.count(PARA) == 12


async def test_a_corrupted_byte_in_a_gbk_page_declared_in_the_header(portal):
    body = _page(None, "gbk")
    at = _at_char(body, 3)
    damaged = body[: at + 1] + b"\xff" + body[at + 2 :]  # the second byte of a character overwritten
    text, enc = await _fetch(portal, damaged, "text/html; charset=GBK")
    assert enc == "gb18030" and text.count(PARA) == 11 and text.count("\ufffd") <= 2


@pytest.mark.parametrize("inside", [1, 2])  # bytes of the last, three-byte character that arrived
@pytest.mark.parametrize("chars", [5, 40, 300])
async def test_a_utf8_page_cut_mid_character_stays_utf8(portal, chars, inside):
    body = _page(None, "utf-8")
    start = body.index(PARA.encode())
    cut = body[: start + len((PARA * 12)[:chars].encode()) + inside]
    text, enc = await _fetch(portal, cut, "text/html")
    assert enc == "utf-8" and text.endswith((PARA * 12)[:chars] + "\ufffd")


async def test_a_declared_utf8_page_cut_mid_character_and_with_a_stray_byte(portal):
    body = _page("utf-8", "utf-8")
    at = body.index(PARA.encode()) + 3 * len(PARA.encode())
    text, enc = await _fetch(portal, body[:at] + b"\x80" + body[at:-7])
    assert enc == "utf-8" and text.count(PARA) >= 11 and text.count("\ufffd") <= 3


async def test_gbk_without_a_declaration_still_decodes_as_gb18030(portal):
    text, enc = await _fetch(portal, _page(None, "gbk"))
    assert enc == "gb18030" and text.count(PARA) == 12


async def test_a_page_in_another_charset_than_declared_is_still_detected(portal):
    """The tolerance is for a few bytes: a GBK page declared UTF-8 fails on most characters, and is detected."""
    text, enc = await _fetch(portal, _page("utf-8", "gbk"))
    assert enc == "gb18030" and text.count(PARA) == 12

"""The digest on a phone and on a desktop: rendered in Debian's chromium (Playwright, no browser download) at 390 and
1200 px, it never scrolls sideways, its column stays readable, and the summary comes before the first notice. The
screenshots are saved under tmp_path (the paths are printed, to look at them)."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from notifiers.digest import render_digest
from notifiers.items import Item
from watcher.i18n import use_locale
from watcher.link.explain import parent_name, relation_line
from watcher.text.changes import text_changes

CHROMIUM = "/usr/bin/chromium"
OLD = "第一条 总则。\n\n第二条 到2025年，支持10家企业开展试点，由市发展改革委负责。\n\n第三条 附则。"
NEW = (
    "第一条 总则。\n\n第二条 到2027年，支持20家企业开展试点，由市工业和信息化局负责。\n\n第三条 附则。"
    "\n\n第四条 本办法自发布之日起施行，有效期五年。"
)


def _items() -> list[Item]:
    """Ten notices from three issuers: long titles, a long 文号, a URL with no place to break, a revision with its
    changes, links rendered from their structure."""
    parent = parent_name("苏政发〔2020〕28号", "江苏省人民政府关于推进绿色产业发展和生态环境保护协同增效的若干意见")
    derived = relation_line("derived", parent, {"cites": "苏政发〔2020〕28号"}, dict(reused=3, modified=6, added=2))
    placeholder = relation_line(
        "derived", "国发〔2021〕4号《国务院关于加快建立健全绿色低碳循环发展经济体系的指导意见》", {"unresolved": True}
    )
    issuers = ["江苏省人民政府办公厅", "连云港市人民政府", "国家发展和改革委员会 工业和信息化部 生态环境部 财政部"]
    items = []
    for i in range(1, 11):
        kind, relation, changes = "notice.new", "new", []
        if i in (2, 5):
            kind, relation = "link.new", derived if i == 2 else f"{placeholder}；{derived}"
        if i == 3:
            changes = text_changes(OLD, NEW, limit=3)
            kind, relation = "notice.version", f"修订：{len(changes)} 处改动"
        items.append(
            Item(
                event_id=i,
                kind=kind,
                notice_id=i,
                source_id="src",
                title=f"第{i}件 关于印发《" + "加快建立健全绿色低碳循环发展经济体系" * (1 + i % 3) + "实施方案》的通知",
                url=f"https://www.example.gov.cn/art/2024/5/{i}/art_84242_{'1234567890' * 8}.html",
                doc_no="国家发展改革委 工业和信息化部 生态环境部〔2024〕第" + "1" * (4 + i) + "号",
                issuer=issuers[i % 3],
                written="2024-04-28",
                published=f"2024-05-{i:02d}",
                relation=relation,
                level="important" if i == 5 else "notice",
                relations=["derived"] if kind == "link.new" else [],
                changes=changes,
            )
        )
    return items


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        yield b
        b.close()


@pytest.mark.parametrize("width", [390, 1200])
def test_the_digest_fits_phones_and_desktops(browser, tmp_path: Path, width: int):
    with use_locale("zh_CN"):
        _subject, text, html = render_digest(_items(), date(2024, 5, 10), web_url="https://watch.example.org")
    assert '<meta name="viewport" content="width=device-width, initial-scale=1">' in html
    assert 'width="640"' not in html and "max-width:720px" in html
    page = browser.new_page(viewport={"width": width, "height": 900})
    page.set_content(html)
    metrics = page.evaluate(
        """() => {
          const summary = document.getElementById('summary').getBoundingClientRect();
          const items = [...document.querySelectorAll('td.item')].map(e => e.getBoundingClientRect());
          return {scroll: document.documentElement.scrollWidth, inner: window.innerWidth,
                  summaryBottom: summary.bottom, firstItemTop: items[0].top, items: items.length,
                  widest: Math.max(...items.map(r => r.width)),
                  overflowing: [...document.querySelectorAll('body *')].filter(
                    e => e.getBoundingClientRect().right > window.innerWidth + 0.5).length}
        }"""
    )
    shot = tmp_path / f"digest-{width}.png"
    page.screenshot(path=str(shot), full_page=True)
    page.close()
    print(f"screenshot: {shot}")
    assert metrics["scroll"] <= metrics["inner"] == width, metrics  # nothing scrolls sideways
    assert metrics["overflowing"] == 0, metrics  # no element sticks out past the right edge
    assert metrics["items"] == 10 and metrics["summaryBottom"] <= metrics["firstItemTop"], metrics
    assert metrics["widest"] <= 720, metrics  # on a desktop the column stays a readable width
    assert shot.stat().st_size > 10_000
    # what the screenshot shows is the digest: the summary and a revision's change are in it
    assert "按发布机关：" in text and "10家 → 20家" in text and "https://watch.example.org/notices/3" in text

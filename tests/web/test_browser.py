"""The web view in a real browser: Debian's chromium (Playwright through executable_path) against `watcher serve`
(uvicorn) on 127.0.0.1 — the list, a source filter, a search, a notice with its parent link and its changes, and no
horizontal scrolling on a phone or a desktop."""

from __future__ import annotations

import re

import httpx
import pytest

WIDTHS = (390, 1200)


@pytest.fixture
def page(browser):
    context = browser.new_context(viewport={"width": 1200, "height": 900})
    p = context.new_page()
    yield p
    context.close()


def listed(page) -> list[int]:
    return [int(i) for i in page.locator("#results li[data-id]").evaluate_all("els => els.map(e => e.dataset.id)")]


def test_list_filter_search_and_a_notice(page, live, served):
    s = served[0]
    page.goto(live + "/notices")
    assert page.title().startswith("文件")  # Chinese first
    everything = listed(page)
    assert len(everything) == 50 and page.locator("a", has_text="下一页").count() == 1

    page.select_option("select[name=source]", "lyg")
    page.click("button[type=submit]")
    page.wait_for_url(re.compile(r"source=lyg"))
    assert listed(page) == [s.lyg]
    api = httpx.get(live + "/api/notices", params={"source": "lyg"}).json()
    assert [n["id"] for n in api["notices"]] == listed(page)

    page.select_option("select[name=source]", "")
    page.fill("input[name=q]", "绿色 金融")
    page.click("button[type=submit]")
    page.wait_for_url(re.compile(r"q=%E7%BB%BF"))
    hits = listed(page)
    assert hits[0] == s.finance and s.lyg in hits
    assert page.locator("#results mark", has_text="绿色").count() > 0
    api = httpx.get(live + "/api/notices", params={"q": "绿色 金融"}).json()
    assert [h["id"] for h in api["hits"]] == hits

    page.click(f"#results li[data-id='{s.lyg}'] a")
    page.wait_for_url(f"**/notices/{s.lyg}")
    parent = page.locator("#parents ~ ul a.related").first
    assert parent.inner_text() == "苏政发〔2020〕28号"
    parent.click()
    page.wait_for_url(f"**/notices/{s.js}")
    assert page.locator("h1").inner_text() == "江苏省人民政府关于推进绿色产业发展的意见"


def test_a_revision_shows_the_changed_characters(page, live, served):
    s = served[0]
    page.goto(f"{live}/notices/{s.pilot}")
    assert page.locator("#changes ~ .diff del").first.inner_text() == "10家"
    assert page.locator("#changes ~ .diff ins").first.inner_text() == "20家"
    page.click("text=与第 1 版比较")
    page.wait_for_url(re.compile(r"/diff\?old=1&new=2"))
    assert page.locator(".diff del").inner_text() == "10家" and page.locator(".diff ins").inner_text() == "20家"


@pytest.mark.parametrize("width", WIDTHS)
def test_no_page_scrolls_sideways(browser, live, served, width):
    s = served[0]
    context = browser.new_context(viewport={"width": width, "height": 800})
    page = context.new_page()
    paths = [
        "/notices",
        "/notices?q=绿色 金融",
        f"/notices/{s.lyg}",
        f"/notices/{s.pilot}",
        f"/notices/{s.pilot}/diff",
        f"/align/{s.js}/{s.lyg}",
        "/sources",
        "/channels",
        "/feeds",
    ]
    try:
        for path in paths:
            page.goto(live + path)
            scroll, inner = page.evaluate("[document.documentElement.scrollWidth, window.innerWidth]")
            assert inner == width and scroll <= inner, (path, scroll, inner)
    finally:
        context.close()

"""PageTexts: the page read again after pruning gives what a fresh walk of it gives."""

from __future__ import annotations

from selectolax.lexbor import LexborHTMLParser

from watcher.extract.generic import prune, remove_related_lists
from watcher.extract.htmltext import PageTexts, segments

PAGE = """<html><body><div class="nav">首页 &gt; 信息公开</div>
<table class="meta"><tr><td>发布日期：</td><td>2024年03月01日</td></tr>
<tr><td>来源：<span style="display:none">隐藏</span>本局</td></tr></table>
<div id="body"><p>第一段<span hidden>不显示</span>正文。</p><p>第二段<script>x()</script>正文。</p></div>
<div id="other">其他<b>文字</b></div>
<div class="wrap"><div id="inner"><p>里面</p></div><nav>导航</nav></div></body></html>"""


def _read(meta: str, body: str) -> tuple[list[str], list[str]]:
    """(the page's segments through PageTexts, the page's segments walked afresh) after pruning."""
    tree = LexborHTMLParser(PAGE)
    texts = PageTexts()
    texts.segments(tree.css_first(meta))
    texts.segments(tree.css_first(body))
    prune(tree, texts)
    remove_related_lists(tree, texts)
    return texts.page(tree.body), segments(tree.body)


def test_blocks_read_before_pruning_are_read_again_when_pruning_changed_them():
    got, fresh = _read("table.meta", "#body")
    assert got == fresh
    assert "来源：本局" in got and "第一段正文。" in got and "隐藏" not in "".join(got)


def test_blocks_pruning_left_alone_are_taken_as_read():
    tree = LexborHTMLParser(PAGE)
    texts = PageTexts()
    assert texts.segments(tree.css_first("#other")) == ["其他文字"]
    prune(tree, texts)
    assert texts.page(tree.body) == segments(tree.body)


def test_a_block_inside_a_removed_element_is_forgotten():
    got, fresh = _read("#inner", "div.wrap")
    assert got == fresh and "导航" not in got


def test_non_block_nodes_and_nothing_read_like_segments():
    tree = LexborHTMLParser(PAGE)
    texts = PageTexts()
    span = tree.css_first("span")
    assert texts.segments(span) == segments(span)
    assert texts.segments(None) == []

"""Messages: every message id in the code and the templates has a Chinese entry; the locale is chosen by config."""

from __future__ import annotations

from pathlib import Path

import pytest
from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po

from watcher.config.loader import load_config
from watcher.i18n import CATALOGS, _, current_locale, merged_catalog, ngettext, set_locale, use_locale
from watcher.text.changes import inline_diff, text_changes

ROOT = Path(__file__).resolve().parents[1]
METHODS = [
    ("**.py", "python"),
    ("**/templates/**.html", "jinja2.ext:babel_extract"),
    ("**/templates/**.txt", "jinja2.ext:babel_extract"),
]


def _ids_in_code() -> dict[str, str]:
    found: dict[str, str] = {}
    for pkg in ("watcher", "notifiers", "storage"):
        for filename, _lineno, message, _comments, _ctx in extract_from_dir(
            str(ROOT / pkg), METHODS, keywords={"_": None, "gettext": None, "ngettext": (1, 2)}
        ):
            m = message[0] if isinstance(message, tuple) else message  # a plural is filed under its singular
            if m:
                found.setdefault(m, f"{pkg}/{filename}")
    return found


def _catalog(locale: str):
    """Every .po file of the locale in one catalog, as watcher.i18n compiles them."""
    return merged_catalog(locale)


def test_every_message_in_the_code_has_a_chinese_entry():
    catalog = _catalog("zh_CN")
    missing = sorted(
        f"{where}: {m!r}" for m, where in _ids_in_code().items() if not (catalog.get(m) and catalog[m].string)
    )
    assert missing == []


def test_no_message_has_two_chinese_texts_in_two_catalogs():
    """The catalogs are merged (first file wins): one message id translated two ways would read one way in the chat
    and another in the digest."""
    seen: dict[str, tuple[str, object]] = {}
    clashes = []
    for po in sorted((CATALOGS / "zh_CN" / "LC_MESSAGES").glob("*.po")):
        with po.open("rb") as fh:
            for m in read_po(fh, locale="zh_CN"):
                key = m.id if isinstance(m.id, str) else m.id[0]
                if key and key in seen and seen[key][1] != m.string:
                    clashes.append(f"{key!r}: {seen[key][0]} {seen[key][1]!r} / {po.name} {m.string!r}")
                seen.setdefault(key, (po.name, m.string))
    assert clashes == []


def test_chinese_is_the_default_and_english_the_option(tmp_path):
    set_locale("zh_CN")
    assert current_locale() == "zh_CN"
    cfg = tmp_path / "sources.yaml"
    cfg.write_text("defaults:\n  locale: en\nsources: []\n", encoding="utf-8")
    assert load_config(cfg).defaults.locale == "en"
    cfg.write_text("defaults:\n  locale: fr\nsources: []\n", encoding="utf-8")
    with pytest.raises(Exception, match="locale"):
        load_config(cfg)
    with use_locale("en"):
        assert current_locale() == "en"
    assert current_locale() == "zh_CN"


def test_a_chinese_entry_is_what_a_message_renders_to():
    catalog = _catalog("zh_CN")
    entry = next((m for m in catalog if m.id and isinstance(m.id, str) and m.string and m.string != m.id), None)
    if entry is None:  # the catalog holds only identity entries so far: nothing to compare
        assert all(m.string == m.id for m in catalog if m.id and isinstance(m.id, str))
        return
    with use_locale("zh_CN"):
        assert _(entry.id) == entry.string
    with use_locale("en"):
        assert _(entry.id) == entry.id
        assert ngettext("{n} item", "{n} items", 2) == "{n} items"


def test_a_revision_reads_as_the_tokens_that_changed():
    old = "第一条 总则。\n\n第二条 到2025年，支持10家企业开展试点。\n\n第三条 附则。"
    new = "第一条 总则。\n\n第二条 到2025年，支持20家企业开展试点。\n\n第三条 附则。\n\n第四条 本办法自发布之日起施行。"
    changes = text_changes(old, new)
    assert [(c.old, c.new) for c in changes] == [("10家", "20家"), ("", "第四条本办法自发布之日起施行。")]
    assert "20家" in changes[0].sentence


@pytest.mark.parametrize(
    ("old", "new"),
    [
        ("由市发展改革委负责", "由市工业和信息化局负责"),
        ("2025年", "2027年"),
        ("", "新增"),
        ("删去", ""),
        ("甲乙丙丁", "甲丙乙丁"),
    ],
)
def test_inline_segments_rebuild_both_texts(old, new):
    segs = inline_diff(old, new)
    assert "".join(s.text for s in segs if s.op != "insert") == old
    assert "".join(s.text for s in segs if s.op != "delete") == new
    assert any(s.op != "equal" for s in segs)

"""Messages in the reader's language: gettext catalogs (Babel), Chinese by default, English as an option.

Every string a person reads goes through `_` (or `ngettext`, or a jinja2 template's `{% trans %}`/`_()`), written in
English in the code as the gettext message id; the .po files in `watcher/locale/zh_CN/LC_MESSAGES/` hold the Chinese.
The locale is `defaults.locale` in sources.yaml (`zh_CN`, the default, or `en`), or a channel's own `locale:`; it is
held in a context variable, so one process can render one channel in Chinese and another in English
(`with use_locale("en"): …`).

The catalogs are shipped as .po files and compiled in memory on first use (Babel's `read_po` + `write_mo`, a few
milliseconds): no build step, and a .po file edited in a pull request is what runs. `tests/test_i18n.py` checks that
every message id in the code and the templates has a Chinese entry.
"""

from __future__ import annotations

import gettext as _gettext
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from functools import cache
from io import BytesIO
from pathlib import Path
from typing import TYPE_CHECKING, Literal

if TYPE_CHECKING:
    from babel.messages.catalog import Catalog

Locale = Literal["zh_CN", "en"]
LOCALES: tuple[str, ...] = ("zh_CN", "en")
DEFAULT_LOCALE: Locale = "zh_CN"
CATALOGS = Path(__file__).with_name("locale")
DOMAIN = "watcher"

_current: ContextVar[str] = ContextVar("watcher_locale", default=DEFAULT_LOCALE)


def merged_catalog(locale: str) -> Catalog | None:
    """Every .po file of a locale's folder, one per part of the project (messages.po, alerts.po, web.po …), as one
    Babel catalog (the first file to hold a message id wins); None when the locale has no file."""
    from babel.messages.pofile import read_po

    merged = None
    for po in sorted((CATALOGS / locale / "LC_MESSAGES").glob("*.po")):
        with po.open("rb") as fh:
            catalog = read_po(fh, locale=locale, domain=DOMAIN)
        if merged is None:
            merged = catalog
            continue
        for message in catalog:
            if message.id and message.id not in merged:
                merged[message.id] = message
    return merged


@cache
def translations(locale: str) -> _gettext.NullTranslations:
    """The compiled catalog of a locale (`merged_catalog`); English, the message ids themselves, needs none."""
    if locale not in LOCALES:
        raise ValueError(f"unknown locale {locale!r} (known: {', '.join(LOCALES)})")
    merged = merged_catalog(locale)
    if merged is None:
        return _gettext.NullTranslations()
    from babel.messages.mofile import write_mo

    buf = BytesIO()
    write_mo(buf, merged)
    buf.seek(0)
    return _gettext.GNUTranslations(buf)


def set_locale(locale: str) -> None:
    """The locale of this context from now on (the CLI sets it once from the configuration)."""
    translations(locale)  # an unknown locale fails here, where it is set, not at the first message
    _current.set(locale)


def current_locale() -> str:
    return _current.get()


@contextmanager
def use_locale(locale: str | None) -> Iterator[str]:
    """Render a block in one locale (a channel's own), then go back; None keeps the current one."""
    if locale is None:
        yield _current.get()
        return
    translations(locale)
    token = _current.set(locale)
    try:
        yield locale
    finally:
        _current.reset(token)


def gettext(message: str) -> str:
    return translations(_current.get()).gettext(message)


def ngettext(singular: str, plural: str, n: int) -> str:
    return translations(_current.get()).ngettext(singular, plural, n)


_ = gettext


def install(env) -> None:  # env: jinja2.Environment (jinja2 loads only where templates are rendered)
    """Give a jinja2 environment `_`, `gettext`, `ngettext` and `{% trans %}`, following the current locale."""
    if "jinja2.ext.InternationalizationExtension" not in env.extensions:
        env.add_extension("jinja2.ext.i18n")
    env.install_gettext_callables(gettext, ngettext, newstyle=True)

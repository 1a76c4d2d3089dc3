"""The daily email digest: HTML with inline CSS (what mail clients render) and a plain-text twin."""

from __future__ import annotations

from collections import OrderedDict
from datetime import date

from jinja2 import Environment

from notifiers.items import Item

_env = Environment(autoescape=True, trim_blocks=True, lstrip_blocks=True)
_text_env = Environment(autoescape=False, trim_blocks=True, lstrip_blocks=True)

HTML = _env.from_string("""<!DOCTYPE html>
<html><head><meta charset="utf-8"><title>{{ subject }}</title></head>
<body style="margin:0;padding:0;background:#f4f4f4">
<table role="presentation" width="100%" cellpadding="0" cellspacing="0" style="background:#f4f4f4"><tr><td align="center">
<table role="presentation" width="640" cellpadding="0" cellspacing="0" style="max-width:640px;background:#ffffff;font-family:'PingFang SC','Microsoft YaHei',Arial,sans-serif;color:#222">
<tr><td style="padding:20px 24px;background:#8b0000;color:#ffffff;font-size:20px;font-weight:bold">政策动态日报 · {{ day }}</td></tr>
<tr><td style="padding:12px 24px;font-size:14px;color:#555">{{ summary }}</td></tr>
{% if not groups %}
<tr><td style="padding:16px 24px;font-size:15px">今日无新文件。Nothing new since the last digest.</td></tr>
{% endif %}
{% for group, notices in groups.items() %}
<tr><td style="padding:16px 24px 4px 24px;font-size:16px;font-weight:bold;border-top:1px solid #eee;color:#8b0000">{{ group }}</td></tr>
{% for n in notices %}
<tr><td style="padding:8px 24px 8px 24px">
  <a href="{{ n.url }}" style="font-size:15px;color:#1a4e8a;text-decoration:none;font-weight:bold">{{ n.title }}</a>
  <div style="font-size:13px;color:#666;margin-top:2px">{{ [n.doc_no, n.issuer, n.dates] | select | join(" · ") }}</div>
  {% for line in n.lines %}<div style="font-size:13px;color:#333;margin-top:2px">↳ {{ line }}</div>{% endfor %}
</td></tr>
{% endfor %}
{% endfor %}
<tr><td style="padding:16px 24px;font-size:12px;color:#999;border-top:1px solid #eee">Policy Watcher · {{ count }} items</td></tr>
</table></td></tr></table></body></html>""")

TEXT = _text_env.from_string("""政策动态日报 · {{ day }}
{{ summary }}
{% if not groups %}

今日无新文件。Nothing new since the last digest.
{% endif %}
{% for group, notices in groups.items() %}

== {{ group }} ==
{% for n in notices %}
* {{ n.title }}
  {{ [n.doc_no, n.issuer, n.dates] | select | join(" · ") }}
  {{ n.url }}
{% for line in n.lines %}
  -> {{ line }}
{% endfor %}
{% endfor %}
{% endfor %}
""")


def _group(items: list[Item]) -> OrderedDict[str, list[dict]]:
    """One entry per notice (its events merged into lines), grouped by issuer/source, newest first."""
    per_notice: dict[int, dict] = {}
    for i in items:
        n = per_notice.setdefault(
            i.notice_id,
            dict(
                title=i.title,
                url=i.url,
                doc_no=i.doc_no,
                issuer=i.issuer,
                group=i.issuer or i.source_id,
                published=i.published or "",
                lines=[],
                dates=" / ".join(
                    x
                    for x in (f"成文 {i.written}" if i.written else "", f"发布 {i.published}" if i.published else "")
                    if x
                ),
            ),
        )
        if i.relation != "new" and i.relation not in n["lines"]:
            n["lines"].append(i.relation)
    groups: OrderedDict[str, list[dict]] = OrderedDict()
    for n in sorted(per_notice.values(), key=lambda n: n["published"], reverse=True):
        groups.setdefault(n["group"], []).append(n)
    return groups


def render_digest(items: list[Item], day: date, store=None) -> tuple[str, str, str]:
    """(subject, text, html)."""
    new = sum(i.kind == "notice.new" for i in items)
    changed = sum(i.kind == "notice.version" for i in items)
    links = sum(i.kind == "link.new" and i.level != "info" for i in items)
    summary = f"{new} 条新文件，{changed} 条修订，{links} 条关联"
    subject = f"政策动态日报 {day.isoformat()}：{summary}" if items else f"政策动态日报 {day.isoformat()}：无新文件"
    groups = _group(items)
    ctx = dict(day=day.isoformat(), summary=summary, groups=groups, count=len(items), subject=subject)
    return subject, TEXT.render(**ctx), HTML.render(**ctx)

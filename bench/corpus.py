"""Documents for the linking benchmarks, built from real paragraphs: the demo seeds and the law articles
of the labelled linking corpora under tests/fixtures, each document with its own title, 文号, issuer and
date. Storing goes through the Store and the pipeline's snapshot, linking through `Linker(store).run()`:
what `watcher run` does, one document at a time so each one's link time can be read.
"""

from __future__ import annotations

import math
import random
import sys
import time
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from storage.repo import Store  # noqa: E402
from watcher.demo.portal import seed_documents  # noqa: E402
from watcher.evaluation.links import store_text  # noqa: E402
from watcher.extract.model import Detail  # noqa: E402

FIXTURES = ROOT / "tests" / "fixtures"

# Prefecture-level cities; with the district names below they give 500 distinct issuers.
CITIES = (
    "南京 无锡 徐州 常州 苏州 南通 连云港 淮安 盐城 扬州 镇江 泰州 "
    "宿迁 杭州 宁波 温州 嘉兴 湖州 绍兴 金华 衢州 舟山 台州 丽水 "
    "合肥 芜湖 蚌埠 淮南 马鞍山 淮北 铜陵 安庆 黄山 滁州 阜阳 宿州 "
    "六安 亳州 池州 宣城 福州 厦门 莆田 三明 泉州 漳州 南平 龙岩 "
    "宁德 南昌 景德镇 萍乡 九江 新余 鹰潭 赣州 吉安 宜春 抚州 上饶 "
    "济南 青岛 淄博 枣庄 东营 烟台 潍坊 济宁 泰安 威海 日照 临沂 "
    "德州 聊城 滨州 菏泽 郑州 开封 洛阳 平顶山 安阳 鹤壁 新乡 焦作 "
    "濮阳 许昌 漯河 三门峡 南阳 商丘 信阳 周口 驻马店 武汉 黄石 十堰 "
    "宜昌 襄阳 鄂州 荆门"
).split()
DISTRICTS = ("", "市中", "经济开发", "高新", "新城")


def city(i: int) -> str:
    """The i-th of 500 distinct issuing places: 南京市, 南京市市中区, …"""
    name, d = CITIES[i % len(CITIES)], DISTRICTS[(i // len(CITIES)) % len(DISTRICTS)]
    return f"{name}市{d}区" if d else f"{name}市"


@dataclass
class Doc:
    title: str
    body: str
    doc_no: str | None
    issuer: str
    written: date


def law_paragraphs() -> list[str]:
    """Article paragraphs of the law corpora (headings and short lines left out)."""
    out: list[str] = []
    for folder in (FIXTURES / "linking", FIXTURES / "linking_large"):
        for f in sorted(folder.rglob("*.md")):
            if f.name.lower().startswith(("readme", "manifest")):
                continue
            body = f.read_text(encoding="utf-8").partition("<!-- INFO END -->")[2]
            out += [p.strip() for p in body.splitlines() if len(p.strip()) > 40 and not p.startswith("#")]
    return out


def seed(title_part: str) -> tuple[dict, str]:
    """The demo seed whose title contains `title_part`: (metadata, text)."""
    return next((m, t) for m, t in seed_documents()[1] if title_part in m["title"])


def seed_paragraphs(exclude: str | None = None) -> list[str]:
    return [
        p
        for m, t in seed_documents()[1]
        if not exclude or exclude not in m["title"]
        for p in t.splitlines()
        if len(p) > 40
    ]


def other_document(i: int, pool: list[str], rng: random.Random) -> Doc:
    """A notice of 8–30 paragraphs drawn from the pool, with its own heading, addressees and signature."""
    place = city(rng.randrange(500))
    topic = rng.choice(("安全生产", "营商环境", "农业农村", "生态环境", "教育", "卫生健康", "交通运输", "市场监管"))
    title = f"{place}人民政府关于做好{topic}第{i}项重点工作的通知"
    written = date(2023, 1, 1) + timedelta(days=rng.randrange(700))
    body = [f"各县（市、区）人民政府，{place}各有关部门：", f"现就做好{topic}有关工作通知如下。"]
    body += rng.sample(pool, rng.randint(8, 30))
    body += [f"{place}人民政府", f"{written.year}年{written.month}月{written.day}日"]
    return Doc(title, "\n".join(body), f"{place[:2]}政发〔{written.year}〕{i}号", f"{place}人民政府", written)


def store_document(store: Store, n: int, doc: Doc) -> int:
    """Store one document as a new notice (what a poll does with a detail page); its notice id."""
    detail = Detail(
        url=f"http://bench/{n}",
        title=doc.title,
        body=doc.body,
        doc_no=doc.doc_no,
        issuer=doc.issuer,
        written=doc.written,
        published=doc.written,
    )
    return store_text(store, "bench", f"http://bench/list/{n}", detail)


def timed_run(linker) -> tuple[float, int]:
    """The link stage once: its seconds and the links it made."""
    t = time.perf_counter()
    made = linker.run()
    return time.perf_counter() - t, made


def percentile(values: list[float], q: float) -> float:
    """Nearest-rank percentile, q in 0–100."""
    s = sorted(values)
    return s[max(0, min(len(s) - 1, math.ceil(len(s) * q / 100) - 1))] if s else float("nan")

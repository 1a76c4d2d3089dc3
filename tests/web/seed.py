"""A database for the web view's tests: the demo's seed documents stored as two portals' notices and linked by the real
linking stage (Lianyungang's opinions derive from 苏政发〔2020〕28号), a notice revised from 10家 to 20家, a notice on
green finance, and a third source without links."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from storage.records import Outcome, Snapshot
from storage.repo import Store
from watcher.config.loader import parse_config
from watcher.config.settings import Config
from watcher.extract.model import ListItem
from watcher.link.stage import make_linker
from watcher.text.normalise import content_hash, normalise

SEEDS = Path(__file__).resolve().parents[2] / "watcher" / "demo" / "seeds"
MANIFEST = json.loads((SEEDS / "manifest.json").read_text(encoding="utf-8"))

PILOT_V1 = "第一条 为支持企业开展试点，制定本办法。\n\n第二条 到2025年，支持10家企业开展试点，每家给予资金补助。\n\n第三条 本办法由市工业和信息化局负责解释。\n\n第四条 本办法自发布之日起施行。"
PILOT_V2 = PILOT_V1.replace("10家", "20家")
FINANCE = "大力发展绿色金融，完善绿色金融标准体系，引导金融机构加大对绿色产业的信贷投放。\n\n鼓励发行绿色债券。"

CONFIG = """
defaults: {timezone: Asia/Shanghai}
sources:
  - {id: js, name: 江苏省人民政府 政策文件, urls: ["http://js.test/list"], tags: [江苏, 省级]}
  - {id: lyg, name: 连云港市人民政府 政府文件, urls: ["http://lyg.test/list"], tags: [江苏, 市级]}
  - {id: other, name: 测试市人民政府, urls: ["http://other.test/list"], tags: [市级]}
feeds:
  - {id: derived-sz, title: 派生自苏政发的文件, filter: {relations: [derived], parent_prefix: 苏政发}}
  - {id: derived-guofa, filter: {relations: [derived], parent_prefix: 国发}}
"""


@dataclass(frozen=True)
class Seeded:
    store: Store
    cfg: Config
    js: int  # 苏政发〔2020〕28号
    lyg: int  # derived from it
    pilot: int  # two versions: 10家 → 20家
    finance: int


def _snap(url: str, title: str, body: str, doc_no: str | None, issuer: str, published: date | None) -> Snapshot:
    norm = normalise(body)
    return Snapshot(
        url=url,
        title=title,
        body=body,
        norm_text=norm,
        content_hash=content_hash(title + norm),
        doc_no=doc_no,
        issuer=issuer,
        published=published,
    )


def _store(store: Store, source: str, snaps: list[Snapshot]) -> list[int]:
    states = store.record_list(source, {"url": f"http://{source}.test/list"}, [ListItem(s.url, s.title) for s in snaps])
    store.apply(source, [Outcome(states[s.url], s) for s in snaps])
    return [store.notice_by_url(s.url).id for s in snaps]  # type: ignore[union-attr]


def _seed_doc(i: int) -> tuple[dict, str]:
    doc = MANIFEST["documents"][i]
    return doc, (SEEDS / doc["file"]).read_text(encoding="utf-8")


def seed(url: str, extra_other: int = 0) -> Seeded:
    """Store and link the notices; `extra_other` more plain notices in source `other` (for pagination)."""
    store = Store.open(url)
    cfg = parse_config(CONFIG)
    store.sync_sources(cfg.sources)
    (jd, jtext), (ld, ltext) = _seed_doc(0), _seed_doc(1)
    [js] = _store(
        store, "js", [_snap("http://js.test/a/1", jd["title"], jtext, jd["doc_no"], jd["issuer"], date(2020, 3, 27))]
    )
    [lyg] = _store(
        store, "lyg", [_snap("http://lyg.test/a/1", ld["title"], ltext, None, ld["issuer"], date(2020, 9, 1))]
    )
    pilot_url = "http://other.test/a/pilot"
    [pilot] = _store(
        store,
        "other",
        [_snap(pilot_url, "关于开展企业试点的办法", PILOT_V1, "测政发〔2024〕2号", "测试市人民政府", date(2024, 1, 2))],
    )
    _store(
        store,
        "other",
        [_snap(pilot_url, "关于开展企业试点的办法", PILOT_V2, "测政发〔2024〕2号", "测试市人民政府", date(2024, 1, 2))],
    )
    [finance] = _store(
        store,
        "other",
        [
            _snap(
                "http://other.test/a/fin",
                "关于发展绿色金融的通知",
                FINANCE,
                "测金发〔2023〕5号",
                "测试市金融局",
                date(2023, 6, 1),
            )
        ],
    )
    plain = [
        _snap(
            f"http://other.test/p/{i}",
            f"第{i}号测试通知",
            f"测试通知正文第{i}号，内容各不相同：{i * 7919}。",
            None,
            "测试市人民政府",
            date(2022, 1, 1 + i % 28) if i % 5 else None,
        )
        for i in range(extra_other)
    ]
    if plain:
        _store(store, "other", plain)
    make_linker(cfg, store).run()
    return Seeded(store, cfg, js, lyg, pilot, finance)

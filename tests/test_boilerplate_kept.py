"""BoilerplateFilter.observe, common and share_of read one clause_table and ask kept(): the same counts and
the same clauses as the definitions they replace (clauses() one by one, the estimate against the threshold)."""

import random

import numpy as np

from watcher.link.boilerplate import BoilerplateFilter, clause_keys, clauses

HEAD = "首页 > 政务公开 > 通知公告\n字号：大 中 小 打印本页 关闭窗口\n各区县人民政府，市政府各部门，各直属机构："
FOOT = "特此通知。\n（此件公开发布）\n主办单位：某市人民政府办公室 承办单位：某市大数据中心"
WORDS = "水资源保护规划编制农业技术推广教师队伍建设档案管理防汛抗旱安全生产监督检查城乡规划交通运输医疗保障"


def notices(seed: int, n: int) -> list[str]:
    rnd = random.Random(seed)
    out = []
    for _ in range(n):
        body = "".join(rnd.choice(WORDS) for _ in range(rnd.randint(20, 80)))
        parts = [HEAD if rnd.random() < 0.7 else "", f"关于{body[:10]}的通知。{body[10:]}，{body[:8]}。", FOOT]
        out.append("\n".join(p for p in parts if p or rnd.random() < 0.5))
    return out + ["", "。，、", "一、二、"]  # no clause at all


def test_observe_counts_what_observe_keys_of_the_clauses_counts():
    docs = notices(5, 80)
    a, b = BoilerplateFilter(min_docs=10), BoilerplateFilter(min_docs=10)
    for d in docs:
        a.observe(d)
        b.observe_keys(clause_keys(clauses(d)))
    assert a.docs == b.docs == len(docs)
    assert a.sketch.to_bytes() == b.sketch.to_bytes()
    assert a.sketch.table.any()


def test_common_and_share_of_are_the_clauses_at_or_over_the_threshold():
    docs = notices(6, 80)
    bf = BoilerplateFilter(min_docs=30)
    for d in docs:
        bf.observe(d)
    seen_common = 0
    for d in docs:
        cs = clauses(d)
        est = bf.sketch.estimate(clause_keys(cs)) if cs else np.zeros(0, dtype=np.uint16)
        want = [c for c, n in zip(cs, est, strict=True) if n >= bf.threshold]
        assert bf.common(d) == want
        total = sum(c.end - c.start for c in cs)
        assert bf.share_of(d) == (sum(c.end - c.start for c in want) / total if total else 0.0)
        seen_common += bool(want) and len(want) < len(cs)
    assert seen_common  # some texts are part template, part their own

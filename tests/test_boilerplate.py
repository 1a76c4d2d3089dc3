"""Document-frequency filter for text common to many documents (watcher/link/boilerplate.py)."""

import random

import numpy as np

from watcher.link.boilerplate import BoilerplateFilter, CountMinSketch, clauses
from watcher.link.fingerprint import exact_scores, shingle_hashes

HEAD = "首页 > 政务公开 > 通知公告\n字号：大 中 小 打印本页 关闭窗口\n各区县人民政府，市政府各部门，各直属机构："
FOOT = "特此通知。\n（此件公开发布）\n主办单位：某市人民政府办公室 承办单位：某市大数据中心 网站标识码：1234567890"
WORDS = "水资源保护规划编制农业技术推广教师队伍建设档案管理防汛抗旱安全生产监督检查城乡规划交通运输医疗保障"


def notice(rnd: random.Random, n: int = 60) -> str:
    body = "".join(rnd.choice(WORDS) for _ in range(n))
    return f"{HEAD}\n关于做好{body[:12]}工作的通知。{body}。\n{FOOT}"


def test_template_clauses_are_stripped_and_content_is_kept():
    rnd = random.Random(1)
    bf = BoilerplateFilter(min_docs=20)
    docs = [notice(rnd) for _ in range(60)]
    for d in docs:
        bf.observe(d)
    stripped = bf.strip(docs[0])
    assert "此件公开发布" not in stripped and "打印本页" not in stripped and "各直属机构" not in stripped
    assert docs[0].split("\n")[3][4:20] in stripped  # the notice's own sentence survives
    assert 0.3 < bf.share_of(docs[0]) < 0.9


def test_two_short_notices_sharing_only_the_template_do_not_look_reused():
    rnd = random.Random(2)
    bf = BoilerplateFilter(min_docs=20)
    docs = [notice(rnd, 30) for _ in range(40)]
    for d in docs:
        bf.observe(d)
    _, raw_a, _ = exact_scores(shingle_hashes(docs[0]), shingle_hashes(docs[1]))
    _, clean_a, _ = exact_scores(shingle_hashes(bf.strip(docs[0])), shingle_hashes(bf.strip(docs[1])))
    assert raw_a >= 0.4  # without the filter the template alone looks like derivation
    assert clean_a < 0.15  # with it they are unrelated


def test_below_the_threshold_nothing_is_boilerplate():
    bf = BoilerplateFilter(min_docs=50)
    for _ in range(10):
        bf.observe(HEAD + FOOT)
    assert bf.common(HEAD + FOOT) == []
    assert bf.strip("第一条 为了规范管理，制定本办法。") == "第一条 为了规范管理\n制定本办法"


def test_clauses_ignore_digits_and_short_pieces():
    a = clauses("2023年5月6日发布（此件公开发布）一、")
    b = clauses("2024年1月2日发布（此件公开发布）二、")
    assert [c.key for c in a] == [c.key for c in b] and len(a) == 2


def test_the_sketch_never_underestimates_and_has_a_fixed_size():
    sk = CountMinSketch(width_bits=10, depth=3)  # tiny: collisions on purpose
    rng = np.random.default_rng(0)
    truth: dict[int, int] = {}
    for _ in range(200):
        keys = np.unique(rng.integers(0, 5000, size=50, dtype=np.uint32))
        sk.add(keys)
        for k in keys.tolist():
            truth[k] = truth.get(k, 0) + 1
    ks = np.array(sorted(truth), dtype=np.uint32)
    assert (sk.estimate(ks) >= np.array([truth[k] for k in ks.tolist()])).all()
    assert sk.table.nbytes == 3 * 1024 * 2


def test_ageing_halves_counts_and_the_sketch_round_trips():
    bf = BoilerplateFilter(min_docs=4, window=8)
    for _ in range(7):
        bf.observe(HEAD)
    assert bf.common(HEAD) and bf.docs == 7
    bf.observe(HEAD)  # the eighth document ages the counts
    assert bf.docs == 4 and bf.common(HEAD)
    other = BoilerplateFilter(min_docs=4)
    other.sketch.load(bf.sketch.to_bytes())
    other.docs = bf.docs
    assert [c.key for c in other.common(HEAD)] == [c.key for c in bf.common(HEAD)]

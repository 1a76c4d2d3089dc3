"""The linking stage's shortcuts give what the plain computations give: shingles of many articles in one pass,
article similarities against a parent sorted once, the diffs kept for the pairs diffed last, the count-min
sketch over its flattened table, a pass's exact scores from the intersections it already counted, strip's plain(),
the attachment lines found from line starts and a signature's band keys in numpy."""

from __future__ import annotations

import random

import numpy as np

from watcher.link.align import _similarity, align, articles_of, char_diff, similarities, split_articles
from watcher.link.boilerplate import _PINYIN_CLAUSE, _TONE, BoilerplateFilter, CountMinSketch, clause_table, plain
from watcher.link.classify import Thresholds, is_news_report
from watcher.link.fingerprint import (
    Params,
    exact_scores,
    intersection_size,
    shingle_hashes,
    signature,
    signature_of_hashes,
    signatures_bulk,
)
from watcher.link.index import Index
from watcher.link.lshstore import bucket_key, bucket_keys, query_bucket_keys
from watcher.link.purpose import _ATTACHMENT, _attachments
from watcher.link.writer import LinkWriter

LAW = "\n".join(
    [
        "第一条 为了规范 行政许可，保护公民、法人和其他组织的合法权益，制定本办法。",
        "第二条 本办法适用于本省行政区域内的行政许可。",
        "第三条 许可 事项",  # spaces are no part of a shingle
        "第四条 ABC abc 许可事项目录由省人民政府公布，实行动态管理。",
        "第五条 𠀀𠀁 本办法自2024年1月1日起施行。",  # outside the BMP
    ]
)
CHILD = "\n".join(
    [
        "第一条 为了规范行政许可，保护公民和法人的合法权益，结合本市实际，制定本细则。",
        "第二条 本细则适用于本市行政区域内的行政许可。",
        "第三条 许可事项目录由市人民政府公布，实行动态管理。",
        "第四条 本细则自2024年3月1日起施行。",
    ]
)


def test_articles_shingled_at_once_as_one_by_one() -> None:
    short = "1.甲乙丙丁戊己庚辛。\n2.\n3.己庚辛壬癸子丑寅。\n4.子丑寅卯辰巳午未。"  # `2.`: one shingle of 2
    for text in (LAW, CHILD, short, "一、总则\n二、适用范围和对象\n三、附则"):
        arts = articles_of(text)
        singly = [shingle_hashes(a.text, 3) for a in split_articles(text)]
        assert len(arts.hashes) == len(singly) > 0
        for got, want in zip(arts.hashes, singly, strict=True):
            assert np.array_equal(got, want)


def test_similarities_as_pair_by_pair() -> None:
    child, parent = articles_of(CHILD), articles_of(LAW)
    sims = similarities(list(child.hashes), list(parent.hashes))
    want = np.array([[_similarity(c, p) for p in parent.hashes] for c in child.hashes])
    assert sims.shape == (4, 5)
    assert np.array_equal(sims, want)
    assert sims.max() > 0.5  # the articles kept are found


def test_align_and_diffs_repeat_alike() -> None:
    first = align(LAW, CHILD)
    again = align(LAW, CHILD)  # diffs from the cache: equal, and a list the caller may change
    assert first == again
    assert first["modified"] >= 1
    diff = char_diff("本办法适用于本省", "本细则适用于本市")
    assert diff == char_diff("本办法适用于本省", "本细则适用于本市")
    assert isinstance(diff, list) and ("replace", "办法", "细则") in diff
    diff.clear()
    assert char_diff("本办法适用于本省", "本细则适用于本市")


def _reference_add(table: np.ndarray, cells: np.ndarray) -> None:
    """CountMinSketch.add as it was written first: (row, column) pairs, one row at a time."""
    rows = np.arange(table.shape[0])[:, None]
    new = np.minimum(table[rows, cells].min(axis=0).astype(np.int64) + 1, 65535).astype(np.uint16)
    for r in range(table.shape[0]):
        np.maximum.at(table[r], cells[r], new)


def test_sketch_counts_as_row_by_row() -> None:
    sk = CountMinSketch(width_bits=6)  # 64 cells a row: keys collide, as they do in the full table
    rng = np.random.default_rng(3)
    ref = sk.table.copy()
    for _ in range(40):
        keys = np.unique(rng.integers(0, 2**32, size=int(rng.integers(1, 120)), dtype=np.uint64).astype(np.uint32))
        cells = sk._cells(keys) - (np.arange(sk.depth) << sk.width_bits)[:, None]  # back to columns
        assert cells.min() >= 0 and cells.max() < 64
        _reference_add(ref, cells)
        sk.add(keys)
        assert np.array_equal(sk.table, ref)
        assert np.array_equal(sk.estimate(keys), ref[np.arange(sk.depth)[:, None], cells].min(axis=0))
    assert ref.min() > 5  # collisions piled up: the case where the order of updates could matter


def test_writer_scores_from_known_intersections() -> None:
    a, b, c = (shingle_hashes(t) for t in (LAW, CHILD, LAW[: len(LAW) // 2]))
    w = LinkWriter(None)  # type: ignore[arg-type]  # scores read no database
    w.know(a, [b], [intersection_size(a, b)])
    assert w.scores(a, b) == exact_scores(a, b)
    assert w.scores(b, a) == exact_scores(b, a)
    w.know(a, [c], [0])  # a wrong count is used only for these very arrays
    assert w.scores(c, a) == (0.0, 0.0, 0.0)
    assert w.scores(a, c.copy()) == exact_scores(a, c) != (0.0, 0.0, 0.0)


def test_strip_reads_kept_clauses_as_plain_does() -> None:
    """strip skips plain() on the kept clauses when the whole text needs none: the same text either way."""
    bf = BoilerplateFilter(min_docs=2)
    for _ in range(3):
        bf.observe("此件公开发布。各市人民政府，省各委办厅局：")
    texts = [
        CHILD,
        "根據《中華人民共和國水法》，制定本條例。此件公开发布。",  # traditional script
        "关于发(fā)展绿色产业的意见，国函〔2009130号印发。",  # pinyin and a lost bracket
        "国函〔2009〕130号 已印发，请各市人民政府认真贯彻执行。",  # a bracket, nothing lost
    ]
    for text in texts:
        t = clause_table(text)
        keep = (bf.sketch.estimate(t.keys) < bf.threshold).tolist()
        kept = [text[a:b] for a, b, k in zip(t.starts, t.ends, keep, strict=True) if k]
        if _TONE.search(text):
            kept = [k for k in kept if not _PINYIN_CLAUSE.fullmatch(k)]
        want = plain("\n".join(kept))
        assert bf.strip(text) == want
        assert bf.strip(text) == want  # plain_text(text) kept now
    assert "制定本条例" in bf.strip(texts[1]) and "〔2009〕130号" in bf.strip(texts[2])
    assert "公开发布" not in bf.strip(texts[1])  # boilerplate went


def test_attachments_found_as_the_pattern_finds_them() -> None:
    """_attachments tries _ATTACHMENT only where a line opens with 附 or a digit: the matches finditer gives,
    a match running over several lines included (附件：\\n1.X)."""
    rng = random.Random(5)
    pieces = ["附件", "附 件 2：", "1.", "12、", "１．", "\n", "\n\n", " ", "\u3000", "\t", "：", "\r\n"]
    pieces += ["关于印发绿色产业发展意见的通知", "请认真贯彻执行", "。", "附", "2", "长" * 90]
    found = 0
    for _ in range(3000):
        text = "".join(rng.choice(pieces) for _ in range(rng.randint(1, 14)))
        want = [(m.start(), m.end(), m.group("title")) for m in _ATTACHMENT.finditer(text)]
        assert [(m.start(), m.end(), m.group("title")) for m in _attachments(text)] == want, text
        found += len(want)
    assert found > 500


def test_band_keys_of_one_signature_as_of_its_bytes() -> None:
    """query_bucket_keys' numpy path (bands of two 32-bit words) gives bucket_key of each band's big-endian
    bytes, as MinHashLSH hands them to the tables, and what bucket_keys gives a matrix of signatures."""
    rng = np.random.default_rng(2)
    for dtype in (np.dtype("<u4"), np.dtype(">u4")):
        for _ in range(50):
            hv = rng.integers(0, 2**32, 128, dtype=np.uint64).astype(dtype)
            hv[:4] = [0, 2**32 - 1, 2**32 - 1, 2**32 - 1]  # the extremes of a band
            want = [bucket_key(hv[2 * b : 2 * b + 2].astype(">u4").tobytes()) for b in range(64)]
            assert query_bucket_keys(hv, 2, 64) == want
            assert bucket_keys(hv[None, :].astype(np.uint32), 2, 64)[0].tolist() == want
    assert query_bucket_keys(hv, 4, 32) == [
        bucket_key(hv[4 * b : 4 * b + 4].astype(">u4").tobytes()) for b in range(32)
    ]


def test_ranked_neighbours_as_datasketch_counts_them() -> None:
    """The compact index's shared-band counts, from merged tables and the insert buffer both, are the counts
    datasketch's own storage gives."""
    texts = [
        LAW,
        CHILD,
        LAW.replace("本省", "本市"),
        CHILD.replace("细则", "办法"),
        "一、总则\n二、适用范围和对象\n三、附则",
    ]
    texts += [t + f"第{i}号补充规定，自公布之日起施行。" for i, t in enumerate([LAW, CHILD] * 3)]
    sigs = [signature(t) for t in texts]
    compact, plain_lsh = Index(Params(), Thresholds()), Index(Params(), Thresholds(), storage="dict")
    half = len(sigs) // 2
    for ix in (compact, plain_lsh):
        ix.load([(str(i), s) for i, s in enumerate(sigs[:half])])  # the compact tables merge these
        for i, s in enumerate(sigs[half:], start=half):
            ix.put(str(i), s)  # these stay in the buffer
    assert compact.compact is not None and len(compact.compact.bands[0].h) == half
    shared = 0
    for i, s in enumerate(sigs):
        got = compact.ranked(s, 100)
        assert sorted(got) == sorted(plain_lsh.ranked(s, 100))
        assert got[0] == (str(i), 64)  # itself, in every band
        shared += len(got) - 1
    assert shared >= len(sigs)  # neighbours found, from the merged tables and the buffer


def test_clause_table_finds_tone_marks_as_the_pattern() -> None:
    for text in [
        "发(fā)展绿色产业",
        "绿色产业发展",
        "",
        "ABC abc：x",
        "國函〔2009〕130號",
        *[f"关于{c}的通知" for c in "āǜüaé"],
    ]:
        assert clause_table(text).tone is (_TONE.search(text) is not None)
    assert clause_table("关于ǚ的通知").tone and not clause_table("关于ü的通知").tone


def test_bulk_signatures_as_one_by_one() -> None:
    empty = np.zeros(0, dtype=np.uint32)
    hs = [shingle_hashes(LAW), empty, shingle_hashes(CHILD), empty, shingle_hashes("一、总则")]
    for batch in (hs, [hs[0], hs[2]], [empty]):
        got = signatures_bulk(batch)
        want = [signature_of_hashes(h) for h in batch]
        assert [(g.hashvalues.tolist(), g.size) for g in got] == [(w.hashvalues.tolist(), w.size) for w in want]
    assert signatures_bulk([empty])[0].hashvalues.min() == 2**32 - 1


def test_news_opening_read_once_alike() -> None:
    report = "新华社北京10月16日电 日前，国务院印发《关于推进绿色产业发展的意见》。" + CHILD
    for _ in range(2):  # the second time from what was kept
        assert is_news_report(report) and is_news_report("本报讯 " + LAW)
        assert not is_news_report(LAW) and not is_news_report("x" * 300 + "本报讯")  # past the opening

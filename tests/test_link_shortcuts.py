"""The linking stage's shortcuts give what the plain computations give: shingles of many articles in one pass,
article similarities against a parent sorted once, and the diffs kept for the pairs diffed last."""

from __future__ import annotations

import numpy as np

from watcher.link.align import _similarity, align, articles_of, char_diff, similarities, split_articles
from watcher.link.fingerprint import shingle_hashes

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

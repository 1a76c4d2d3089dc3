"""Instrument identity and version chains (watcher/link/instruments.py): no database."""

from datetime import date

import pytest

from watcher.link.instruments import (
    InstrumentKey,
    Version,
    VersionChain,
    carried_title,
    fold_title,
    forwarded_title,
    implemented_by_title,
    instrument_key,
    is_distinctive,
    is_standing,
)


@pytest.mark.parametrize(
    "variant",
    [
        "水法",
        "《中华人民共和国水法》",
        "〈水法〉",
        "中华人民共和国水法（2016年修正）",
        "《水法(2016年修正)》",
        "中华人民共和国 水法",
        "《中华人民共和国水法（第二次修正）》",
    ],
)
def test_title_variants_of_one_law_fold_together(variant):
    assert fold_title(variant) == "水法"


def test_title_variants_of_a_local_measure_fold_together():
    keys = {
        fold_title(t)
        for t in (
            "青岛市实施《中华人民共和国水法》若干规定",
            "青岛市实施《水法》的若干规定",
            "青岛市实施〈中华人民共和国水法〉若干规定",
            "青岛市实施《水法》若干规定（试行）",
        )
    }
    assert keys == {"青岛市实施水法若干规定"}


def test_full_and_half_width_fold_together():
    assert fold_title("Ｘ省数据条例（２０２１年修订）") == fold_title("X省数据条例")


def test_plans_for_different_periods_stay_apart():
    # a year range is part of a plan's name, not a version note
    assert fold_title("某市规划（2016—2020年）") != fold_title("某市规划（2021—2025年）")


@pytest.mark.parametrize(
    "key,distinct",
    [
        ("水法", True),
        ("宪法", True),
        ("教师法", True),
        ("办法", False),
        ("本办法", False),
        ("该条例", False),
        ("有关规定", False),
        ("意见", False),
        ("实施意见", False),
        ("国务院关于X的指导意见", True),
        ("", False),
    ],
)
def test_short_law_names_are_instruments_but_kind_words_are_not(key, distinct):
    assert is_distinctive(key) is distinct


def test_standing_rules_chain_by_title_alone():
    assert is_standing("水法") and is_standing("北京市审计条例") and is_standing("青岛市实施水法若干规定")
    assert not is_standing("关于做好春节期间安全工作通知")


def test_legislation_includes_decisions_of_a_legislature():
    from watcher.link.instruments import is_legislation

    assert is_legislation("全国人民代表大会常务委员会关于完善和加强备案审查制度决定")
    assert is_legislation("水法") and not is_legislation("国务院关于加快发展X决定")


def test_a_publishing_notice_is_the_instrument_it_carries():
    assert carried_title("关于印发《汕头市绿色低碳发展实施方案》的通知") == "汕头市绿色低碳发展实施方案"
    assert carried_title("江西省人民政府印发关于加快绿色发展的若干措施的通知") == "关于加快绿色发展的若干措施"
    assert instrument_key("国务院关于印发《国务院工作规则》的通知") == instrument_key("国务院工作规则")
    # a 转发 notice is a document of its own: it forwards, it is no version of what it forwards
    assert carried_title("关于转发《省政府关于X的意见》的通知") is None
    assert forwarded_title("关于转发《省政府关于X的意见》的通知") == "省政府关于X的意见"


def test_instrument_key_needs_a_name_and_compares_issuers_when_known():
    assert instrument_key("办法") is None and instrument_key(None) is None
    a, b = instrument_key("北京市审计条例", "北京市人大常委会"), instrument_key("北京市审计条例（2023年修正）")
    assert a is not None and b is not None and a.same(b)
    assert not InstrumentKey("X条例", "甲").same(InstrumentKey("X条例", "乙"))


@pytest.mark.parametrize(
    "title,implemented",
    [
        ("上海市实施《中华人民共和国残疾人保障法》办法", ["残疾人保障法"]),
        ("青岛市实施《中华人民共和国水法》的若干规定", ["水法"]),
        ("道路交通安全法实施条例", ["道路交通安全法"]),
        ("中华人民共和国母婴保健法实施办法", ["母婴保健法"]),
        ("北京市实施中华人民共和国节约能源法办法", ["节约能源法"]),
        ("关于贯彻落实《X条例》的实施意见", ["X条例"]),
        ("北京市审计条例", []),
        (None, []),
    ],
)
def test_what_a_title_says_it_implements(title, implemented):
    assert implemented_by_title(title) == implemented


def _chain(*versions):
    c = VersionChain()
    for i, d in versions:
        c.add(Version(i, d))
    return c


def test_version_in_force_is_the_latest_not_after_the_child():
    laws = _chain((1, date(2009, 8, 27)), (2, date(2024, 11, 8)))
    assert laws.in_force(date(2012, 1, 13)).id == 1
    assert laws.in_force(date(2024, 11, 8)).id == 2
    assert laws.in_force(date(2025, 1, 1)).id == 2


def test_a_child_older_than_every_version_implements_the_earliest():
    laws = _chain((2, date(2024, 4, 26)), (1, date(2012, 8, 31)))
    assert laws.in_force(date(1996, 4, 1)).id == 1


def test_an_undated_child_implements_the_latest_and_undated_versions_come_last():
    laws = _chain((1, date(2012, 8, 31)), (2, date(2024, 4, 26)), (3, None))
    assert laws.in_force(None).id == 2
    assert [v.id for v in laws.versions] == [1, 2, 3]
    assert _chain((3, None)).in_force(date(2020, 1, 1)).id == 3


def test_a_new_version_does_not_change_what_an_old_child_implements():
    laws = _chain((1, date(2018, 10, 26)))
    before = laws.in_force(date(2019, 5, 30)).id
    laws.add(Version(2, date(2022, 10, 30)))
    assert laws.in_force(date(2019, 5, 30)).id == before == 1


def test_predecessor_and_successor_for_revision_links():
    laws = _chain((1, date(2016, 3, 16)), (2, date(2023, 12, 29)), (3, date(2020, 1, 1)))
    assert laws.predecessor(Version(2, date(2023, 12, 29))).id == 3
    assert laws.predecessor(Version(1, date(2016, 3, 16))) is None
    # an older version arriving late: the next one revises it
    assert laws.successor(Version(3, date(2020, 1, 1))).id == 2
    assert laws.in_force(date(2021, 1, 1), exclude=3).id == 1

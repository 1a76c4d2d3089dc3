"""Amendment histories at the head of laws and regulations (watcher/link/amendments.py)."""

from datetime import date

from watcher.link.amendments import parse_history

NATIONAL = """中华人民共和国水法
（1988年1月21日第六届全国人民代表大会常务委员会第二十四次会议通过　2002年8月29日第九届全国人民代表大会常务委员会第二十九次会议修订　根据2009年8月27日第十一届全国人民代表大会常务委员会第十次会议《关于修改部分法律的决定》第一次修正　根据2016年7月2日第十二届全国人民代表大会常务委员会第二十一次会议《关于修改〈中华人民共和国节约能源法〉等六部法律的决定》第二次修正）
第一章　总则
第一条　为了合理开发、利用、节约和保护水资源，防治水害，制定本法。
"""

LOCAL = """河南省实施《中华人民共和国水法》办法
1993年2月16日 河南省第七届人民代表大会常务委员会第三十三次会议通过
1997年5月23日 河南省第八届人民代表大会常务委员会第二十六次会议《关于修改〈河南省水法实施办法〉的决定》第一次修正
2018年9月29日 河南省第十三届人民代表大会常务委员会第六次会议《河南省人民代表大会常务委员会关于修改部分地方性法规的决定》第二次修正

第一条 为了合理开发、利用、节约和保护水资源，根据《中华人民共和国水法》，结合本省实际情况，制定本办法。
"""


def test_national_law_history_on_one_line():
    h = parse_history(NATIONAL)
    assert [e.action for e in h.events] == ["通过", "修订", "修正", "修正"]
    assert [e.ordinal for e in h.events] == [None, None, 1, 2]
    assert h.version_date == date(2016, 7, 2)
    assert h.amended
    assert date(2002, 8, 29) in h.earlier_dates()
    assert NATIONAL[h.end :].lstrip().startswith("第一章")


def test_a_batch_decision_names_another_law_and_is_never_an_own_title():
    h = parse_history(NATIONAL)
    assert "关于修改〈中华人民共和国节约能源法〉等六部法律的决定" in h.decisions()
    assert "节约能源法" in h.named_instruments()
    assert h.own_titles() == set()  # 部分法律, 节约能源法等六部法律: not this law's names
    assert "关于修改部分法律决定" in h.decision_keys()


def test_local_regulation_history_gives_its_former_title():
    h = parse_history(LOCAL)
    assert h.version_date == date(2018, 9, 29)
    assert h.own_titles() == {"河南省水法实施办法"}


def test_a_title_broken_over_two_lines_and_a_bare_effective_line():
    text = (
        "# 中华人民共和国土地管理法\n\n1986年6月25日 第六届全国人民代表大会常务委员会第十六次会议通过\n\n"
        "2019年8月26日 第十三届全国人民代表大会常务委员会第十二次会议《关于修改〈中华人民共和国土地管理法〉\n\n"
        "〈中华人民共和国城市房地产管理法〉的决定》第三次修正\n\n2020年1月1日 施行\n\n第一条 为了加强土地管理，制定本法。"
    )
    h = parse_history(text)
    assert [e.action for e in h.events] == ["通过", "修正", "施行"]
    assert h.version_date == date(2019, 8, 26)
    assert h.own_titles() == set()  # it amends two laws at once


def test_a_state_council_order_counts_as_promulgation():
    h = parse_history(
        "# 中华人民共和国反间谍法实施细则\n\n2017年11月22日 中华人民共和国国务院令第692号\n\n第一条 根据…"
    )
    assert [e.action for e in h.events] == ["公布"]


def test_no_history_in_a_notice_and_none_from_a_closing_article():
    assert parse_history("各区县人民政府：\n现将有关事项通知如下。").events == []
    text = "第一条 为了规范管理，制定本办法。\n" + "第二条 内容。\n" * 200 + "本办法自2020年1月1日起施行。"
    assert parse_history(text).events == []


def test_version_keys_and_listed_dates_find_a_renamed_earlier_version():
    from watcher.link.amendments import version_keys
    from watcher.link.instruments import instrument_key

    h = parse_history(LOCAL)
    key = instrument_key("河南省实施《中华人民共和国水法》办法").title
    assert version_keys(key, h) == {"河南省实施水法办法", "河南省水法实施办法"}
    assert h.lists(date(1997, 5, 23)) and not h.lists(date(2018, 9, 29)) and not h.lists(None)

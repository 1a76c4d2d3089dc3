from datetime import date

import pytest

from watcher.text.docno import (
    DocNo,
    find_docnos,
    find_titles,
    normalise_docno,
    parse_date,
    parse_docno,
)


@pytest.mark.parametrize(
    "raw,norm",
    [
        ("苏政发〔2020〕28号", "苏政发〔2020〕28号"),
        ("苏政发[2020]28号", "苏政发〔2020〕28号"),
        ("苏政发［2020］28号", "苏政发〔2020〕28号"),
        ("苏政发【2020】28号", "苏政发〔2020〕28号"),
        ("苏政发(2020)28号", "苏政发〔2020〕28号"),
        ("苏政发（２０２０）２８号", "苏政发〔2020〕28号"),
        ("苏政发 〔2020〕 第28号", "苏政发〔2020〕28号"),
        ("国办发明电〔2018〕15号", "国办发明电〔2018〕15号"),
        ("国令第707号", "国令第707号"),
        ("无", None),
    ],
)
def test_docno_variants_normalise(raw, norm):
    assert normalise_docno(raw) == norm


def test_docno_parts():
    assert parse_docno("汕府〔2023〕30号") == DocNo("汕府", 2023, 30)


def test_docnos_in_running_text_drop_leading_words():
    text = "近日，江苏省人民政府以苏政发〔2020〕28号文印发了意见。按照国发〔2021〕4号和粤府〔2021〕81号要求，再次落实国发〔2021〕4号。"
    assert [str(d) for d in find_docnos(text)] == ["苏政发〔2020〕28号", "国发〔2021〕4号", "粤府〔2021〕81号"]


def test_pdf_dump_without_digits_is_not_a_docno():
    assert find_docnos("江苏省人民政府以苏政发〔 〕 号文印发") == []


def test_titles_and_title_keys():
    assert find_titles("根据《中华人民共和国归侨侨眷权益保护法》和《意见》，《意见》") == [
        "中华人民共和国归侨侨眷权益保护法",
        "意见",
    ]
    # One key per instrument, whatever the quoting and version note (the linker's and storage's key).
    from watcher.text.titles import fold_title

    assert fold_title("《中华人民共和国归侨侨眷权益保护法》") == fold_title("归侨侨眷权益保护法")
    assert fold_title("农业技术推广法（2012年修正）") == "农业技术推广法"


@pytest.mark.parametrize(
    "raw,expected",
    [
        ("2021-07-08", date(2021, 7, 8)),
        ("2021年7月8日", date(2021, 7, 8)),
        ("2021/7/8", date(2021, 7, 8)),
        ("2021.07.08", date(2021, 7, 8)),
        ("发布日期：2019年02月15日", date(2019, 2, 15)),
        ("二〇二〇年三月二十七日", date(2020, 3, 27)),
        ("二〇〇六年十二月三十日", date(2006, 12, 30)),
        ("2021-13-40", None),
        ("", None),
        (None, None),
    ],
)
def test_dates(raw, expected):
    assert parse_date(raw) == expected


def test_title_spans_keep_the_outermost_title_only():
    from watcher.text.docno import find_title_spans

    spans = find_title_spans(
        "根据《中华人民共和国水法》和〈教师法〉，经《关于修改<青岛市实施《中华人民共和国水法》若干规定>的决定》修正"
    )
    assert [s.raw for s in spans] == [
        "中华人民共和国水法",
        "教师法",
        "关于修改<青岛市实施《中华人民共和国水法》若干规定>的决定",
    ]
    assert [s.raw for s in find_title_spans("《关于修改〈浙江省实施〈中华人民共和国教师法〉办法〉的决定》")] == [
        "关于修改〈浙江省实施〈中华人民共和国教师法〉办法〉的决定"
    ]


def test_title_spans_survive_unbalanced_quotes_and_stray_angle_brackets():
    from watcher.text.docno import find_title_spans

    assert [s.raw for s in find_title_spans("《未闭合的引号 然后《水法》和《教师法》")] == ["水法", "教师法"]
    assert [s.raw for s in find_title_spans("比例<5%，依照《X条例》")] == ["X条例"]


def test_effective_date_from_the_closing_article():
    from watcher.text.docno import effective_date

    assert effective_date("第三十六条 本办法自1996年4月1日起施行。") == date(1996, 4, 1)
    assert effective_date("本规定自２０２０年１月１日起实施") == date(2020, 1, 1)
    assert effective_date("2020年1月1日发布") is None


@pytest.mark.parametrize(
    "text,found",
    [
        # Words that also occur inside codes do not cut them.
        ("沪规划资源乡〔2022〕348号", ["沪规划资源乡〔2022〕348号"]),
        ("国中医药办法监发〔2017〕5号", ["国中医药办法监发〔2017〕5号"]),
        ("中华人民共和国国务院令第558号", ["中华人民共和国国务院令第558号"]),
        # Leading verbs, the previous number's 号 and a date's 日 never stick to the code.
        ("关于废止豫政〔2000〕27号豫政办〔2005〕110号", ["豫政〔2000〕27号", "豫政办〔2005〕110号"]),
        ("关于明确苏政发〔2020〕28号有关事项、调整苏政办发〔2021〕3号", ["苏政发〔2020〕28号", "苏政办发〔2021〕3号"]),
        ("1991年3月4日中华人民共和国国务院令第76号发布", ["中华人民共和国国务院令第76号"]),
        # Several numbers after one code; a code said once for several years.
        ("沪府办发〔1998〕8号、55号", ["沪府办发〔1998〕8号", "沪府办发〔1998〕55号"]),
        ("国办发〔2018〕108、109号", ["国办发〔2018〕108号", "国办发〔2018〕109号"]),
        ("宁政办发〔2022〕73号, 〔2023〕51号", ["宁政办发〔2022〕73号", "宁政办发〔2023〕51号"]),
        # Announcements, orders numbered by year, 第N号令, orders numbered in Chinese.
        ("国家税务总局公告2015年第41号", ["国家税务总局公告2015年第41号"]),
        ("财政部 税务总局公告2019年第39号", ["财政部 税务总局公告2019年第39号"]),
        ("交通运输部令2019年第1号", ["交通运输部令2019年第1号"]),
        ("北京市人民政府第15号令", ["北京市人民政府令第15号"]),
        ("中华人民共和国主席令第三十一号", ["中华人民共和国主席令第31号"]),
        # Brackets of every kind, a dash, a number in its own parentheses.
        ("粤府〖2021〗81号", ["粤府〔2021〕81号"]),
        ("苏政办发﹝2019﹞12号", ["苏政办发〔2019〕12号"]),
        ("湘政发2011-8号", ["湘政发〔2011〕8号"]),
        ("市教党[2010]（15号）", ["市教党〔2010〕15号"]),
        # A place or organisation written out before its code.
        ("岳阳市岳财发〔2024〕3号", ["岳财发〔2024〕3号"]),
        ("工信部联企业〔2024〕1号", ["工信部联企业〔2024〕1号"]),
        ("2011-8号楼", []),
    ],
)
def test_docno_grammar_classes(text, found):
    assert [str(d) for d in find_docnos(text)] == found


def test_one_order_cited_by_its_full_and_short_name_is_one_number():
    text = "根据《个人所得税法实施条例》（中华人民共和国国务院令第707号）和国令第707号的规定，参照国令第706号。"
    assert [str(d) for d in find_docnos(text)] == ["中华人民共和国国务院令第707号", "国令第706号"]
    assert [d.key for d in find_docnos(text)] == ["国务院令第707号", "国务院令第706号"]


def test_a_page_does_not_cite_its_own_number_in_another_form():
    from watcher.config.settings import DetailSelectors
    from watcher.extract.detail import parse_detail

    html = (
        "<html><body><table class='meta'><tr><td>发文字号：</td><td>国令第707号</td></tr></table>"
        "<div id='body'><p>中华人民共和国国务院令第707号</p><p>现公布修订后的条例，自公布之日起施行。</p>"
        "<p>依据国令第706号。</p></div></body></html>"
    )
    d = parse_detail(html, "http://127.0.0.1/a.html", DetailSelectors(meta="table.meta", body="#body"))
    assert d.doc_no == "国令第707号"  # as the page prints it
    assert d.cited_docnos == ["国令第706号"]

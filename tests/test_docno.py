from datetime import date

import pytest

from watcher.text.docno import DocNo, find_docnos, find_titles, normalise_docno, normalise_title, parse_date, parse_docno


@pytest.mark.parametrize("raw,norm", [
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
])
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
    assert find_titles("根据《中华人民共和国归侨侨眷权益保护法》和《意见》，《意见》") == ["中华人民共和国归侨侨眷权益保护法", "意见"]
    assert normalise_title("《中华人民共和国归侨侨眷权益保护法》") == normalise_title("归侨侨眷权益保护法")
    assert normalise_title("农业技术推广法（2012年修正）") == "农业技术推广法"


@pytest.mark.parametrize("raw,expected", [
    ("2021-07-08", date(2021, 7, 8)), ("2021年7月8日", date(2021, 7, 8)), ("2021/7/8", date(2021, 7, 8)),
    ("2021.07.08", date(2021, 7, 8)), ("发布日期：2019年02月15日", date(2019, 2, 15)),
    ("二〇二〇年三月二十七日", date(2020, 3, 27)), ("二〇〇六年十二月三十日", date(2006, 12, 30)),
    ("2021-13-40", None), ("", None), (None, None),
])
def test_dates(raw, expected):
    assert parse_date(raw) == expected

from watcher.demo.portal import seed_documents
from watcher.text.normalise import normalise, paragraphs, rejoin_lines


def _seed(prefix):
    _, docs = seed_documents()
    return next(text for meta, text in docs if meta["file"].startswith(prefix))


def test_seed_000_repeated_copy_is_dropped():
    raw = _seed("000")
    paras = paragraphs(raw)
    keys = [p for p in paras if len(p) > 20]
    assert len(keys) == len(set(keys))
    # The second, PDF-broken copy starts with the same sentence as the first: it must not survive.
    assert sum("党的十八大以来，省委、省政府".replace("，", ",") in p for p in paras) == 1
    assert len(normalise(raw)) < 0.97 * len(raw)
    assert paras[-1] == "一、总体要求" or all(len(p) < 400 for p in paras[-2:])


def test_pdf_broken_lines_are_rejoined_but_headings_kept():
    lines = [
        "(一)指导思想。以习近平新时代中国特色社会主义思想为指导,深入贯彻",
        "",
        "党的十九大精神。",
        "二、主要任务",
        "(二)加快发展。内容。",
    ]
    assert rejoin_lines(lines) == [
        "(一)指导思想。以习近平新时代中国特色社会主义思想为指导,深入贯彻党的十九大精神。",
        "二、主要任务",
        "(二)加快发展。内容。",
    ]


def test_width_and_spacing_do_not_change_the_normal_form():
    a = "第一条　为了规范管理，制定本办法。\n第二条 本办法适用于全省。"
    b = "第一条 为了规范管理,制定本办法。\r\n\r\n第二条  本办法适用于全省。"
    assert normalise(a) == normalise(b)

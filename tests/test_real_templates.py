"""The www.gov.cn templates, read from real saved pages (tests/fixtures/portal_real/, issue #15): the
`govcn` kind and the generic extractor (`html` kind without selectors) give the hand labels."""

from __future__ import annotations

from pathlib import Path

import pytest
from ruamel.yaml import YAML

from watcher.config.settings import Source
from watcher.evaluation.extraction import char_f1, evaluate_extraction, reference_body
from watcher.extract.kinds import kind_for

REAL = Path(__file__).parent / "fixtures" / "portal_real"
LABELS = YAML(typ="safe").load((REAL / "labels.yaml").read_text(encoding="utf-8"))["pages"]
CASES = [(kind, lab) for lab in LABELS for kind in ("govcn", "html")]


def _flat(text: str | None) -> str:
    return "".join((text or "").split())


@pytest.mark.parametrize("kind,lab", CASES, ids=[f"{k}-{lab['page'].split('/')[-1]}" for k, lab in CASES])
def test_kind_reads_the_labelled_fields_of_a_real_page(kind, lab):
    html = (REAL / lab["page"]).read_text(encoding="utf-8")
    source = Source.model_validate(dict(id="real", name="real", kind=kind, urls=[lab["url"]]))
    d = kind_for(source).parse_detail(html, lab["url"], None)
    got = (_flat(d.title), d.published.isoformat() if d.published else None, d.doc_no, d.issuer)
    assert got == (_flat(lab["title"]), lab["published"], lab["doc_no"], lab["issuer"]), d.provenance
    assert _flat(d.body).startswith(_flat(lab["body_start"]))
    assert char_f1(d.body, reference_body(html, lab))[2] >= 0.97


def test_eval_extract_scores_every_real_page_right():
    report = evaluate_extraction(REAL / "labels.yaml")
    summary = report["summary"]["govcn_real"]
    assert summary["pages"] == len(LABELS)
    assert (summary["title"], summary["date"], summary["body_f1_min"]) == (1.0, 1.0, 1.0)


@pytest.mark.parametrize(
    "title,issuer",
    [
        ("国务院办公厅关于进一步优化营商环境的通知", "国务院办公厅"),
        ("全国人民代表大会常务委员会关于批准某项协定的决定", "全国人民代表大会常务委员会"),
        ("国家发展改革委 国家能源局关于加快某项工作的通知", None),  # joint: more than one organ
        ("王勇在河北检查指导防汛减灾工作", None),  # a news title names no issuer
    ],
)
def test_a_single_organ_before_guanyu_in_the_title_is_the_issuer(title, issuer):
    from watcher.extract.detail import _title_issuer

    assert _title_issuer(title, None)[0] == issuer

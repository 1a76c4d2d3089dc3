"""The www.gov.cn templates, read from real saved pages (tests/fixtures/portal_real/, issue #15): the
`govcn` kind and the generic extractor (`html` kind without selectors) give the hand labels. The current
gov.cn policy-library page and the gkmlpt detail page have no saved real copy yet: pages BUILT in the
layouts public scrapers document (portal_real/built/, see its README) check the `govcn` and `gkmlpt`
kinds and the generic extractor on those layouts meanwhile."""

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
BUILT = REAL / "built"
BUILT_LABELS = YAML(typ="safe").load((BUILT / "labels.yaml").read_text(encoding="utf-8"))["pages"]
BUILT_CASES = [(kind, lab) for lab in BUILT_LABELS for kind in (lab["kind_of_page"], "html")]
OPTIONS = {"gkmlpt": {"sid": "755000"}}


def _flat(text: str | None) -> str:
    return "".join((text or "").split())


@pytest.mark.parametrize("kind,lab", CASES, ids=[f"{k}-{lab['page'].split('/')[-1]}" for k, lab in CASES])
def test_kind_reads_the_labelled_fields_of_a_real_page(kind, lab):
    _check(REAL, kind, lab)


@pytest.mark.parametrize("kind,lab", BUILT_CASES, ids=[f"{k}-{lab['page']}" for k, lab in BUILT_CASES])
def test_kind_reads_the_documented_layout_of_a_built_page(kind, lab):
    _check(BUILT, kind, lab)


def _check(root: Path, kind: str, lab: dict) -> None:
    html = (root / lab["page"]).read_text(encoding="utf-8")
    source = Source.model_validate(
        dict(id="real", name="real", kind=kind, urls=[lab["url"]], options=OPTIONS.get(kind, {}))
    )
    d = kind_for(source).parse_detail(html, lab["url"], None)
    got = (_flat(d.title), d.published.isoformat() if d.published else None, d.doc_no, d.issuer)
    assert got == (_flat(lab["title"]), lab["published"], lab["doc_no"], lab["issuer"]), d.provenance
    assert _flat(d.body).startswith(_flat(lab["body_start"]))
    assert char_f1(d.body, reference_body(html, lab))[2] >= 0.97


@pytest.mark.parametrize("root,labels,name", [(REAL, LABELS, "govcn_real"), (BUILT, BUILT_LABELS, "documented_built")])
def test_eval_extract_scores_every_page_right(root, labels, name):
    report = evaluate_extraction(root / "labels.yaml")
    summary = report["summary"][name]
    assert summary["pages"] == len(labels)
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

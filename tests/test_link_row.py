"""link_row: the one builder of a LinkRow from stored columns, a row's or a kept link's (storage/linkoverlay.py)."""

from dataclasses import replace
from types import SimpleNamespace

from storage.linkoverlay import Overlay, link_row, link_values
from storage.records import LinkRow

LINK = LinkRow(
    7, 3, "n:3", "derived", 0.5, 0.75, 0.25, {"shared": ["第一条"], "n": 2}, {"pairs": [["1", "2"]]}, "由 3 派生"
)


def test_a_row_reads_back_with_or_without_its_alignment():
    row = SimpleNamespace(**link_values(LINK))
    assert link_row(row) == LINK
    assert link_row(row, aligned=False) == replace(LINK, alignment=None)
    bare = SimpleNamespace(**{**link_values(LINK), "evidence_json": "", "alignment_json": None})
    assert link_row(bare) == replace(LINK, evidence={}, alignment=None)


def test_a_kept_link_reads_back_as_its_row_without_alignment():
    values = link_values(LINK)
    assert link_row(values, aligned=False) == link_row(SimpleNamespace(**values), aligned=False)
    kept = Overlay()
    kept.add_link(values)
    (got,) = kept.links(7, ("derived",), [])
    assert got == replace(LINK, alignment=None)
    assert got.evidence is not LINK.evidence  # decoded from the JSON kept, as a read of the row would be
    assert kept.links(8, ("derived",), []) == [] and kept.links(7, ("sibling",), []) == []

"""The chapters' record(...) calls (lstm_course.results) against the chapters and appendix A: every section
they name is a section id the page will have, and every record a claim reads is recorded by its chapter."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from docutils.nodes import make_id

from lstm_course.claims import CHAPTERS_READ, CLAIMS
from lstm_course.results import CHAPTERS

ROOT = Path(__file__).resolve().parents[2]
SECTION = re.compile(r'section="([^"]+)"')
RECORD = re.compile(r'record\(\s*"(ch\d\.[a-z0-9_.]+)"')


def section_ids(text: str) -> set[str]:
    """The ids Sphinx gives the page's sections: each heading's (docutils' make_id) and each (label)=."""
    outside_code = re.sub(r"^```.*?^```", "", text, flags=re.S | re.M)
    headings = {make_id(title) for title in re.findall(r"^#{1,6} (.+)$", outside_code, re.M)}
    labels = set(re.findall(r"^\(([\w-]+)\)=$", text, re.M))
    return headings | labels


def test_section_ids_follow_docutils():
    text = "(sec-x)=\n## Are the gates 0/1 switches?\n```python\n# not a heading\n```\n### Counting: aⁿbⁿ\n"
    assert section_ids(text) == {"sec-x", "are-the-gates-0-1-switches", "counting-anbn"}


@pytest.mark.parametrize("page", sorted(CHAPTERS.values()))
def test_every_recorded_section_exists_on_its_page(page):
    text = (ROOT / "book" / f"{page}.md").read_text(encoding="utf-8")
    named = set(SECTION.findall(text))
    missing = named - section_ids(text)
    assert not missing, f"{page}.md records under sections it does not have: {sorted(missing)}"


def test_every_record_a_claim_reads_is_recorded_by_its_chapter():
    recorded = set()
    for page in CHAPTERS.values():
        recorded |= set(RECORD.findall((ROOT / "book" / f"{page}.md").read_text(encoding="utf-8")))
    claims_source = (ROOT / "lstm_course" / "claims.py").read_text(encoding="utf-8")
    read = set(re.findall(r'r\["(ch\d\.[a-z0-9_.]+)"\]', claims_source))
    read |= {claim.decided_by for claim in CLAIMS}
    assert read, "no record names found in claims.py"
    assert read <= recorded, f"claims read records no chapter makes: {sorted(read - recorded)}"
    assert {name.split(".")[0] for name in read} == set(CHAPTERS_READ)


HTML = ROOT / "_build" / "html" / "book"


@pytest.mark.skipif(
    not (HTML / "appendix_a_claims.html").is_file(), reason="the book is not built (make book)"
)
@pytest.mark.parametrize("page", ["appendix_a_claims"])
def test_every_link_of_the_built_appendix_reaches_a_section(page):
    text = (HTML / f"{page}.html").read_text(encoding="utf-8")
    links = re.findall(r'<a href="(\d\d_[a-z_]+)\.html#([\w-]+)">', text)
    assert len(links) >= len(CLAIMS), f"{page}.html: fewer section links than claims"
    for target, anchor in links:
        assert f'id="{anchor}"' in (HTML / f"{target}.html").read_text(encoding="utf-8"), f"{target}#{anchor}"

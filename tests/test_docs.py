"""The README stays short, the docs name no issue numbers, and the README links resolve."""

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "README.md"
MAX_README_LINES = 250
# Issue numbers and change history belong to the tracker and `git log`, not to the docs. The
# same pattern as `grep -rinE "issue [0-9]|#[0-9]+" README.md docs/`.
ISSUE_REFERENCE = re.compile(r"issue [0-9]|#[0-9]+", re.IGNORECASE)
# Markdown links and images: [text](target) and ![alt](target).
LINK = re.compile(r"!?\[[^\]]*\]\(([^)\s]+)\)")


def doc_files() -> list[Path]:
    """README.md and every text file under docs/ (images are binary: grep -I skips them too)."""
    files = [README, *(p for p in (ROOT / "docs").rglob("*") if p.is_file())]
    return [p for p in files if b"\0" not in p.read_bytes()]


def issue_references(text: str) -> list[str]:
    """Return each line of `text` that names an issue number, as `number: line`."""
    return [
        f"{number}: {line.strip()}"
        for number, line in enumerate(text.splitlines(), start=1)
        if ISSUE_REFERENCE.search(line)
    ]


def local_links(text: str) -> list[str]:
    """Return the relative link targets of a Markdown text, without any #anchor."""
    targets = (target.split("#")[0] for target in LINK.findall(text))
    return [t for t in targets if t and not re.match(r"^[a-z][a-z0-9+.-]*:", t, re.I)]


def test_readme_is_at_most_250_lines():
    lines = README.read_text().count("\n")
    assert lines <= MAX_README_LINES, f"README.md has {lines} lines; move detail to docs/"


@pytest.mark.parametrize("path", doc_files(), ids=lambda p: str(p.relative_to(ROOT)))
def test_no_issue_numbers_in_docs(path: Path):
    assert issue_references(path.read_text()) == []


@pytest.mark.parametrize(
    "text",
    ["Fixed in issue 5.", "See #12 for the history.", "ISSUE 23: docs", "a `#1` heading"],
)
def test_issue_references_are_found(text: str):
    assert issue_references(text) != []


@pytest.mark.parametrize("text", ["Issue the refresh token.", "color #fff", "issues: none"])
def test_plain_text_is_not_an_issue_reference(text: str):
    assert issue_references(text) == []


def test_readme_links_point_at_files_that_exist():
    links = local_links(README.read_text())
    assert "docs/architecture.md" in links  # the docs the README must lead to
    for required in ("decisions.md", "performance.md", "operations.md"):
        assert f"docs/{required}" in links
    missing = [target for target in links if not (ROOT / target).exists()]
    assert missing == [], f"README.md links to missing files: {missing}"


def test_docs_links_point_at_files_that_exist():
    missing = [
        f"{path.relative_to(ROOT)} -> {target}"
        for path in (ROOT / "docs").glob("*.md")
        for target in local_links(path.read_text())
        if not (path.parent / target).exists()
    ]
    assert missing == []


def test_local_links_ignore_urls_and_anchors():
    text = "[a](docs/x.md#part) [b](https://example.org/y.md) ![c](docs/images/z.png) [d](#top)"
    assert local_links(text) == ["docs/x.md", "docs/images/z.png"]


# A test named in the docs, as `test_file.py::test_name` (the security matrix names one per row).
TEST_REFERENCE = re.compile(r"\b(test_[a-z0-9_]+\.py)::(test_[A-Za-z0-9_]+)")


def missing_tests(text: str) -> list[str]:
    """Return each `file::test` reference in `text` whose test function is not in tests/."""
    missing = []
    for file_name, test_name in sorted(set(TEST_REFERENCE.findall(text))):
        sources = [p.read_text() for p in (ROOT / "tests").rglob(file_name)]
        if not any(re.search(rf"^\s*def {test_name}\(", s, re.M) for s in sources):
            missing.append(f"{file_name}::{test_name}")
    return missing


@pytest.mark.parametrize("path", doc_files(), ids=lambda p: str(p.relative_to(ROOT)))
def test_the_tests_the_docs_name_exist(path):
    assert missing_tests(path.read_text()) == []


def test_a_renamed_test_is_caught():
    assert missing_tests("row | test_docs.py::test_a_renamed_test_is_caught |") == []
    assert missing_tests("row | test_docs.py::test_that_never_was |") == [
        "test_docs.py::test_that_never_was"
    ]

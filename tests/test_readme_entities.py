"""README.md's list of API entities and docs/api.md are generated from the catalog and current."""

from pathlib import Path

from imis_mock.api import catalog
from imis_mock.api.describe import README_END, README_START, api_doc, readme_with_entities
from imis_mock.cli import api_entities_command

ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "README.md"
API_DOC = ROOT / "docs" / "api.md"


def test_readme_entity_list_and_api_doc_are_current():
    text = README.read_text(encoding="utf-8")
    assert readme_with_entities(text) == text, "run `flask --app app api-entities`"
    assert API_DOC.read_text(encoding="utf-8") == api_doc(), "run `flask --app app api-entities`"
    block = text[text.index(README_START) : text.index(README_END)]
    table = API_DOC.read_text(encoding="utf-8")
    for entity in catalog.ENTITIES:
        assert f"`{entity.name}`" in block
        assert f"| {entity.name} |" in table


def test_cli_checks_and_rewrites_a_stale_list(runner, tmp_path):
    readme = tmp_path / "README.md"
    readme.write_text(f"# x\n\n{README_START}\nold\n{README_END}\n\nafter\n", encoding="utf-8")
    docs = tmp_path / "api.md"
    paths = ["--readme", str(readme), "--docs", str(docs)]
    result = runner.invoke(api_entities_command, ["--check", *paths])
    assert result.exit_code == 1 and "stale" in result.output
    assert not docs.exists()
    result = runner.invoke(api_entities_command, paths)
    assert result.exit_code == 0
    text = readme.read_text(encoding="utf-8")
    assert "old" not in text and "`PartyStatus`" in text and text.endswith("after\n")
    assert "| PartyStatus |" in docs.read_text(encoding="utf-8")
    result = runner.invoke(api_entities_command, ["--check", *paths])
    assert result.exit_code == 0 and "up to date" in result.output

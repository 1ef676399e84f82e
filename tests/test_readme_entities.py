"""README.md's list of API entities is generated from the catalog and must not go stale."""

from pathlib import Path

from imis_mock.api import catalog
from imis_mock.api.describe import README_END, README_START, readme_with_entities
from imis_mock.cli import api_entities_command

README = Path(__file__).resolve().parent.parent / "README.md"


def test_readme_entity_list_is_current():
    text = README.read_text(encoding="utf-8")
    assert readme_with_entities(text) == text, "run `flask --app app api-entities`"
    block = text[text.index(README_START) : text.index(README_END)]
    for entity in catalog.ENTITIES:
        assert f"| {entity.name} |" in block


def test_cli_checks_and_rewrites_a_stale_list(runner, tmp_path):
    readme = tmp_path / "README.md"
    readme.write_text(f"# x\n\n{README_START}\nold\n{README_END}\n\nafter\n", encoding="utf-8")
    result = runner.invoke(api_entities_command, ["--check", "--readme", str(readme)])
    assert result.exit_code == 1 and "stale" in result.output
    result = runner.invoke(api_entities_command, ["--readme", str(readme)])
    assert result.exit_code == 0
    text = readme.read_text(encoding="utf-8")
    assert "old" not in text and "| PartyStatus |" in text and text.endswith("after\n")
    result = runner.invoke(api_entities_command, ["--check", "--readme", str(readme)])
    assert result.exit_code == 0 and "up to date" in result.output

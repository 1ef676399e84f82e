"""scripts/check_lock.py (`make lock-check`): pyproject.toml's dependencies and requirements.in."""

import shutil
from pathlib import Path

import pytest

from scripts import check_lock

ROOT = Path(__file__).resolve().parent.parent

PYPROJECT = """\
[project]
name = "x"
dependencies = ["Flask>=3.1.3,<4", "PyYAML>=6.0.4,<7"]

[project.optional-dependencies]
postgresql = ["psycopg[binary]>=3.3.9,<4"]
"""
REQUIREMENTS = """\
# Comments and order do not matter, nor the spelling of a name or of a range.
psycopg[binary] >=3.3.9, <4
pyyaml<7,>=6.0.4
flask>=3.1.3,<4
"""


def problems(tmp_path: Path, pyproject: str, requirements: str) -> list[str]:
    (tmp_path / "pyproject.toml").write_text(pyproject)
    (tmp_path / "requirements.in").write_text(requirements)
    return check_lock.project_problems(tmp_path)


def test_the_same_dependencies_in_any_order_and_spelling_pass(tmp_path):
    assert problems(tmp_path, PYPROJECT, REQUIREMENTS) == []


@pytest.mark.parametrize(
    ("pyproject", "requirements", "message"),
    [
        (
            PYPROJECT.replace("Flask>=3.1.3,<4", "Flask>=3.2,<4"),
            REQUIREMENTS,
            "requirements.in asks for flask<4,>=3.1.3, but pyproject.toml for Flask<4,>=3.2.",
        ),
        (
            PYPROJECT,
            REQUIREMENTS + "requests>=2.34.2,<3\n",
            "requirements.in lists requests<3,>=2.34.2, which pyproject.toml does not.",
        ),
        (
            PYPROJECT,
            REQUIREMENTS.replace("pyyaml<7,>=6.0.4\n", ""),
            "pyproject.toml lists PyYAML<7,>=6.0.4, which requirements.in does not.",
        ),
        (
            PYPROJECT,
            REQUIREMENTS.replace("psycopg[binary]", "psycopg"),
            "requirements.in asks for psycopg<4,>=3.3.9, but pyproject.toml for "
            "psycopg[binary]<4,>=3.3.9.",
        ),
        (
            PYPROJECT,
            REQUIREMENTS.replace("flask>=3.1.3,<4", "flask"),
            "requirements.in asks for flask, but pyproject.toml for Flask<4,>=3.1.3.",
        ),
    ],
)
def test_a_difference_is_named(tmp_path, pyproject, requirements, message):
    assert problems(tmp_path, pyproject, requirements) == [message]


def test_the_command_fails_with_the_difference_and_the_fix(tmp_path, capsys):
    for source, lock in check_lock.PAIRS:
        shutil.copy(ROOT / source, tmp_path / source)
        shutil.copy(ROOT / lock, tmp_path / lock)
    pyproject = (ROOT / "pyproject.toml").read_text()
    (tmp_path / "pyproject.toml").write_text(pyproject)
    assert check_lock.main(tmp_path) == 0  # the repository's own files agree
    (tmp_path / "pyproject.toml").write_text(pyproject.replace('"nh3>=0.3.8,<0.4",\n', ""))
    assert check_lock.main(tmp_path) == 1
    err = capsys.readouterr().err
    assert "pyproject.toml and requirements.in do not list the same dependencies:" in err
    assert "requirements.in lists nh3<0.4,>=0.3.8, which pyproject.toml does not." in err
    assert check_lock.PROJECT_FIX in err and check_lock.FIX not in err  # the locks are fine

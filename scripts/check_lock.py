"""Check that the pinned requirements files still match the .in files they are compiled from.

`make test` runs this first. It needs no network: it reads the .in files and the `# via`
annotations that `uv pip compile` writes into each lock. A lock is stale when a requirement of
its .in files is missing from it or pinned at a version the requirement no longer allows, when
it pins a package for a .in file that no longer lists it, or when it disagrees with a lock it
is constrained by (`-c requirements.txt`). The fix is always `make lock`.

It also checks that pyproject.toml's [project] dependencies (with its extras) and requirements.in
name the same packages with the same version ranges: `pip install .` and `make run` must get
the same runtime. That one is fixed by hand, in whichever file is behind.
"""

from __future__ import annotations

import re
import sys
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

from packaging.requirements import InvalidRequirement, Requirement
from packaging.utils import canonicalize_name

FIX = "Run `make lock` to recompile the pins, then commit the .txt files."
PROJECT_FIX = (
    "Make pyproject.toml's [project] dependencies and requirements.in list the same packages "
    "and ranges (then run `make lock`)."
)
RUNTIME = "requirements.in"
PAIRS = (("requirements.in", "requirements.txt"), ("requirements-dev.in", "requirements-dev.txt"))
PIN = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)(?:\[[^\]]*\])?==([^\s;\\]+)")


@dataclass
class Inputs:
    """The requirements of one .in file and of the .in files it includes with -r."""

    requirements: dict[str, list[Requirement]] = field(default_factory=dict)  # by .in file
    constraints: list[str] = field(default_factory=list)  # locks named with -c


def read_inputs(path: Path, inputs: Inputs | None = None) -> Inputs:
    """Read a .in file, following -r includes, into its requirements and -c constraints."""
    inputs = inputs or Inputs()
    if path.name in inputs.requirements:
        return inputs
    inputs.requirements[path.name] = []
    for number, raw in enumerate(path.read_text().splitlines(), start=1):
        line = raw.split(" #")[0].strip()
        if not line or line.startswith("#"):
            continue
        option, _, argument = line.partition(" ")
        if option in ("-r", "--requirement"):
            read_inputs(path.parent / argument.strip(), inputs)
        elif option in ("-c", "--constraint"):
            inputs.constraints.append(argument.strip())
        else:
            try:
                inputs.requirements[path.name].append(Requirement(line))
            except InvalidRequirement as error:
                raise SystemExit(f"{path.name}:{number}: {error}") from None
    return inputs


def read_lock(path: Path) -> tuple[dict[str, str], dict[str, set[str]]]:
    """Return a lock's pins (name -> version) and what each pin is there for (`# via`)."""
    pins: dict[str, str] = {}
    via: dict[str, set[str]] = {}
    current = None
    for raw in path.read_text().splitlines():
        match = PIN.match(raw)
        if match:
            current = canonicalize_name(match[1])
            pins[current] = match[2]
            via[current] = set()
            continue
        comment = raw.strip().removeprefix("#").strip()
        if current and raw.startswith("    #") and comment:
            via[current].add(comment.removeprefix("via").strip())
    return pins, via


def problems(root: Path, source: str, lock: str) -> list[str]:
    """List why `lock` does not match `source`; an empty list means it matches."""
    lock_path = root / lock
    if not lock_path.exists():
        return [f"{lock} is missing."]
    inputs = read_inputs(root / source)
    pins, via = read_lock(lock_path)
    found = []
    for in_file, requirements in inputs.requirements.items():
        listed = set()
        for requirement in requirements:
            if requirement.marker and not requirement.marker.evaluate():
                continue
            name = canonicalize_name(requirement.name)
            listed.add(name)
            if name not in pins:
                found.append(f"{in_file} asks for {requirement}, which {lock} does not pin.")
            elif not requirement.specifier.contains(pins[name], prereleases=True):
                found.append(
                    f"{in_file} asks for {requirement}, but {lock} pins {name}=={pins[name]}."
                )
        for name, reasons in via.items():
            if f"-r {in_file}" in reasons and name not in listed:
                found.append(f"{lock} pins {name} for {in_file}, which no longer lists it.")
    for constraint in inputs.constraints:
        other, _ = read_lock(root / constraint)
        for name, version in pins.items():
            if name in other and other[name] != version:
                found.append(
                    f"{lock} pins {name}=={version}, but {constraint} pins {name}=={other[name]}."
                )
    return found


def _key(requirement: Requirement) -> tuple:
    """What two spellings of one requirement share: extras, version range and marker."""
    return frozenset(requirement.extras), requirement.specifier, requirement.marker


def project_problems(root: Path) -> list[str]:
    """List how pyproject.toml's dependencies and extras differ from requirements.in."""
    project = tomllib.loads((root / "pyproject.toml").read_text())["project"]
    declared = list(project.get("dependencies", []))
    for extra in project.get("optional-dependencies", {}).values():
        declared += extra
    try:
        wanted = {canonicalize_name(r.name): r for r in map(Requirement, declared)}
    except InvalidRequirement as error:
        return [f"pyproject.toml: {error}"]
    runtime = read_inputs(root / RUNTIME).requirements[RUNTIME]
    listed = {canonicalize_name(r.name): r for r in runtime}
    found = []
    for name in sorted(wanted.keys() | listed.keys()):
        ours, theirs = listed.get(name), wanted.get(name)
        if theirs is None:
            found.append(f"{RUNTIME} lists {ours}, which pyproject.toml does not.")
        elif ours is None:
            found.append(f"pyproject.toml lists {theirs}, which {RUNTIME} does not.")
        elif _key(ours) != _key(theirs):
            found.append(f"{RUNTIME} asks for {ours}, but pyproject.toml for {theirs}.")
    return found


def _report(title: str, found: list[str], fix: str) -> None:
    print(title, file=sys.stderr)
    for problem in found:
        print(f"  - {problem}", file=sys.stderr)
    print(fix, file=sys.stderr)


def main(root: Path = Path(".")) -> int:
    """Print what is stale, with what fixes it; return the exit status."""
    stale = [problem for source, lock in PAIRS for problem in problems(root, source, lock)]
    if stale:
        _report("The pinned requirements do not match the .in files:", stale, FIX)
    differ = project_problems(root)
    if differ:
        title = f"pyproject.toml and {RUNTIME} do not list the same dependencies:"
        _report(title, differ, PROJECT_FIX)
    return 1 if stale or differ else 0


if __name__ == "__main__":
    sys.exit(main(Path(sys.argv[1]) if len(sys.argv) > 1 else Path(__file__).parent.parent))

"""Map the checkout's top-level templates/, static/ and migrations/ into the wheel's package.

The rest of the metadata is in pyproject.toml. The repository keeps its layout (run from a clone
with `make run`); an installed copy finds these folders inside the package (imis_mock.resource_dir).
"""

from setuptools import find_packages, setup

DATA_DIRS = ("templates", "static", "migrations")

setup(
    packages=find_packages(include=["imis_mock", "imis_mock.*"])
    + [f"imis_mock.{name}" for name in DATA_DIRS],
    package_dir={f"imis_mock.{name}": name for name in DATA_DIRS},
    package_data={f"imis_mock.{name}": ["**/*"] for name in DATA_DIRS}
    | {"imis_mock.scenarios": ["*.json", "*.yaml"]},
)

"""Map the checkout's top-level templates/, static/ and migrations/ into the wheel's package.

The rest of the metadata is in pyproject.toml. The repository keeps its layout (run from a clone
with `make run`); an installed copy finds these folders inside the package (imis_mock.resource_dir).
"""

from pathlib import Path

from setuptools import find_packages, setup

DATA_DIRS = ("templates", "static", "migrations")

Path(__file__).with_name("build").mkdir(exist_ok=True)  # egg_base must exist (below)

setup(
    packages=find_packages(include=["imis_mock", "imis_mock.*"])
    + [f"imis_mock.{name}" for name in DATA_DIRS],
    package_dir={f"imis_mock.{name}": name for name in DATA_DIRS},
    package_data={f"imis_mock.{name}": ["**/*"] for name in DATA_DIRS}
    | {"imis_mock.scenarios": ["*.json", "*.yaml"], "imis_mock.admin_api": ["openapi.json"]},
    # Not imis_mock.egg-info at the top of the checkout: the checkout is on sys.path when it runs
    # its own tests, and the metadata's pytest11 entry point would load the plugin twice.
    options={"egg_info": {"egg_base": "build"}},
)

"""Scenario files: the JSON Schema (scenario.schema.json) and the demo site as a scenario.

The code that validates, loads and exports them is services/scenario.py.
"""

from pathlib import Path

HERE = Path(__file__).resolve().parent
SCHEMA_PATH = HERE / "scenario.schema.json"
DEMO_PATH = HERE / "demo.yaml"
# Named demo scenarios for `flask load-demo --scenario NAME` (the default "demo" is demo.yaml,
# which services/demo.py adds where missing; these replace the site).
SCENARIOS = {"sdk-demo": HERE / "sdk-demo.yaml"}

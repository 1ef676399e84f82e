"""Entry point: `flask --app app ...` and `python serve.py app:app`."""

from imis_mock import create_app

app = create_app()

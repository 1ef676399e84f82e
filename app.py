"""Entry point: `flask --app app ...` and `gunicorn app:app`."""

from imis_mock import create_app

app = create_app()

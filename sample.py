"""Entry point for the sample third-party app: `python serve.py sample:app` (make run starts it)."""

from sample_app import create_app

app = create_app()

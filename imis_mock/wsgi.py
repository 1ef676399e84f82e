"""The mock as a WSGI app for a server started by `imis-mock serve` (imis_mock.wsgi:app).

Each worker creates its app from the environment: IMIS_INSTANCE_PATH and FLASK_* settings.
"""

from imis_mock import create_app

app = create_app()

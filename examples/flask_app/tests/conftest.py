import lms
import pytest


@pytest.fixture
def imis_redirect_url():
    # Our app's Login redirect URL, as registered in iMIS (the test client needs no real host).
    return "http://lms.test/sso"


@pytest.fixture
def client(imis_mock, imis_client_app):
    app = lms.create_app(
        {
            "SECRET_KEY": "test",
            "IMIS_URL": imis_mock.url,
            "IMIS_CLIENT_ID": imis_client_app.client_id,
            "IMIS_CLIENT_SECRET": imis_client_app.secret,
        }
    )
    return app.test_client()

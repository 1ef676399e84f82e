"""A plain requests client: the hand-off's refresh token, /token, then the REST API."""

import requests


def test_refresh_token_then_party(imis_mock, imis_member, imis_client_app, imis_sso_handoff):
    handoff = imis_sso_handoff(imis_member, imis_client_app)

    token = requests.post(
        f"{imis_mock.url}/token",
        data={
            "grant_type": "refresh_token",
            "refresh_token": handoff.refresh_token,
            "client_id": imis_client_app.client_id,
            "client_secret": imis_client_app.secret,
        },
        timeout=10,
    )
    assert token.status_code == 200
    assert token.json()["userName"] == imis_member.username

    party = requests.get(
        f"{imis_mock.url}/api/Party/{imis_member.imis_id}",
        headers={"Authorization": f"Bearer {token.json()['access_token']}"},
        timeout=10,
    )
    assert party.status_code == 200
    assert party.json()["Id"] == imis_member.imis_id


def test_a_wrong_client_secret_is_refused(
    imis_mock, imis_member, imis_client_app, imis_sso_handoff
):
    handoff = imis_sso_handoff(imis_member, imis_client_app)

    token = requests.post(
        f"{imis_mock.url}/token",
        data={
            "grant_type": "refresh_token",
            "refresh_token": handoff.refresh_token,
            "client_id": imis_client_app.client_id,
            "client_secret": "not-the-secret",
        },
        timeout=10,
    )

    assert token.status_code == 400
    assert token.json()["error"] == "invalid_client"


def test_the_plugin_redeems_for_an_api_session(
    imis_mock, imis_member, imis_client_app, imis_sso_handoff
):
    api = imis_sso_handoff(imis_member, imis_client_app).redeem()

    assert api.token["userName"] == imis_member.username
    party = api.get(f"{imis_mock.url}/api/Party/{imis_member.imis_id}", timeout=10)
    assert party.status_code == 200

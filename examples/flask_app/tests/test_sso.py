"""The Example LMS against imis-mock, with only the plugin's fixtures."""


def test_a_member_signs_in_with_sso(client, imis_member, imis_client_app, imis_sso_handoff):
    handoff = imis_sso_handoff(imis_member, imis_client_app)
    assert handoff.form["action"] == "http://lms.test/sso"

    response = client.post("/sso", data=handoff.form["fields"])

    assert response.status_code == 302
    assert client.get("/").text == f"Welcome, {imis_member.username}"


def test_an_expired_hand_off_is_refused(
    client, imis_member, imis_client_app, imis_sso_handoff, imis_clock
):
    handoff = imis_sso_handoff(imis_member, imis_client_app)
    imis_clock.advance(imis_client_app.refresh_token_lifetime + 1)

    response = client.post("/sso", data=handoff.form["fields"])

    assert response.status_code == 401
    assert response.text == "Sign-in failed: invalid_grant"


def test_an_imis_outage_is_reported(
    client, imis_mock, imis_member, imis_client_app, imis_sso_handoff
):
    imis_mock.admin("PUT", f"/faults/{imis_client_app.client_id}", json={"mode": "http_500"})
    handoff = imis_sso_handoff(imis_member, imis_client_app)

    response = client.post("/sso", data=handoff.form["fields"])

    assert response.status_code == 401


def test_the_journal_shows_our_token_request(
    client, imis_member, imis_client_app, imis_sso_handoff, imis_journal
):
    client.post("/sso", data=imis_sso_handoff(imis_member, imis_client_app).form["fields"])

    token_requests = imis_journal.entries(client_id=imis_client_app.client_id, path="/token")

    assert [(e["action"], e["outcome"]) for e in token_requests] == [("oauth.token", "success")]


def test_each_test_starts_with_a_fresh_site(imis_mock):
    assert imis_mock.admin("GET", "/scenario").json()["client_applications"] == []

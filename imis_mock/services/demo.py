"""The demo site: imis_mock/scenarios/demo.yaml, loaded through the scenario loader.

load() adds the demo where it is missing, so running it twice changes nothing. The sample
app's part (its client application and the Single Sign-On record that launches it) loads on its
own too: the tests' base database leaves it out.
"""

from flask import current_app

from imis_mock.scenarios import DEMO_PATH
from imis_mock.services import accounts, clients, scenario


def documents() -> tuple[dict, dict]:
    """Return demo.yaml as two scenarios: the site, and the sample app's part.

    The demo's one client application is the sample app (sample_app/); its Login redirect URL
    comes from DEMO_SAMPLE_APP_URL (`make run` sets the sample app's port).
    """
    site = scenario.parse(DEMO_PATH.read_text(encoding="utf-8"))
    applications = site.pop("client_applications")
    for application in applications:
        application["redirect_url"] = current_app.config["DEMO_SAMPLE_APP_URL"]
    records = site["content"]["records"]
    launch = [r for r in records if any(i["kind"] == "sso" for i in r.get("items", []))]
    site["content"]["records"] = [r for r in records if r not in launch]
    sample_app = {
        "version": site["version"],
        "client_applications": applications,
        "content": {"records": launch},
    }
    return site, sample_app


def load(*, sample_app: bool = True) -> int:
    """Add the demo site unless its accounts are there, and the sample app unless registered.

    Return how many accounts were created. Commits (the scenario loader does).
    """
    site, app_part = documents()
    accounts.ensure_guest()
    created = 0
    people = site.get("staff", []) + site.get("contacts", [])
    if not any(accounts.get_user(person["username"]) for person in people):
        loaded = scenario.load(site, replace=False)
        created = loaded.counts.get("staff", 0) + loaded.counts.get("contacts", 0)
    if sample_app:
        _load_sample_app(app_part)
    return created


def load_sample_app() -> None:
    """Register the sample app as a client application with its Single Sign-On record.

    The record is /SampleApp.aspx: the Client ID as the publish file name, as the Laravel
    Socialite iMIS provider expects.
    """
    _load_sample_app(documents()[1])


def _load_sample_app(part: dict) -> None:
    if not any(clients.find_client(c["client_id"]) for c in part["client_applications"]):
        scenario.load(part, replace=False)

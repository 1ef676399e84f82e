"""Scenario files (services/scenario.py): validation, loading in one transaction, export."""

import json
from datetime import datetime
from decimal import Decimal
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import select

from imis_mock.command import main
from imis_mock.extensions import db
from imis_mock.models import FAULT_MODES, ClientApplication, Contact, PartyStatus
from imis_mock.scenarios import DEMO_PATH, SCHEMA_PATH
from imis_mock.services import activities, demo, groups, iqa, qa, scenario, secrets
from imis_mock.services.clients import find_client
from sample_app import DEFAULTS as SAMPLE_APP
from tests.support import databases
from tests.support.apps import make_app
from tests.support.data import database_dump

ROOT = Path(__file__).resolve().parent.parent

SITE = """\
version: 1
contacts:
- username: alice
  first_name: Alice
  last_name: Ng
  password: Alice-pass-1
  imis_id: '30001'
  email: alice@example.org
  join_date: 2021-04-01
- {username: bob, imis_id: '30002', first_name: Bob, last_name: Ray, disabled: true}
staff:
- {username: boss, first_name: Bea, last_name: Oss, password: Boss-pass-1}
client_applications:
- client_id: Lms
  secret: lms-secret-1-Zq7Lm3Vx9Rt2Wp8Kc5H
  refresh_token_lifetime: 10
  redirect_url: https://lms.example/sso
- {client_id: Events, redirect_url: 'http://127.0.0.1:8000/sso'}
content:
  folders:
  - {path: Members, secure: true}
  - {path: Members/Courses}
  records:
  - title: Go to the LMS
    folder: Members/Courses
    publish_file_name: Lms
    requires_login: true
    items:
    - {kind: sso, name: LMS, client: Lms}
  - title: Welcome
    publish_file_name: Welcome
    items:
    - {kind: content_html, name: Text, html: '<p>Hello</p>'}
  - {title: Draft, publish_file_name: Draft, published: false}
  after_sign_in: /Welcome.aspx
settings:
  clock_offset_seconds: 120
  faults:
  - {client: Events, mode: delay, delay_seconds: 3, count: 2}
"""

# Groups and activities, after the rest (so that SITE's lines stay where BROKEN says).
GROUPS = """\
group_classes:
- {class_id: CHAPTER, name: Chapter, description: Local chapters, date_limited: true}
group_roles:
- {name: Treasurer, priority: 40, use_dates: true}
groups:
- group_id: TORONTO
  name: Toronto chapter
  class: CHAPTER
  category: Regional
  status: I
  members:
  - party: '30001'
    join_date: 2021-04-01
    roles:
    - {role: Treasurer, effective_date: 2021-04-01, expiration_date: 2022-03-31T17:00:00}
    - {role: member, active: false}
  - {party: '30002', active: false}
- {name: Readers}
activities:
- party: '30001'
  type: course
  effective_date: 2026-11-20
  thru_date: 2026-12-01T10:30:00
  transaction_date: 2026-11-20T08:00:00
  description: Course completed
  units: 3
  amount: '12.50'
  recurring_request: true
  note: Done
- {party: '30002', type: DUES}
"""
GROUPS_SITE = SITE + GROUPS

# Party statuses and parties without a login, after the rest too (they load first all the same).
PARTIES = """\
party_statuses:
- {code: A, name: Active}
- {code: X, name: Expired, description: Membership lapsed, active_status: Inactive}
parties:
- {imis_id: '30010', first_name: Pat, last_name: Lee, employer: '30009', status: X}
- {imis_id: '30009', is_organization: true, organization: Acme, member_type: CM}
"""
PARTIES_SITE = SITE + PARTIES


def load_text(text: str, **kwargs) -> scenario.Loaded:
    return scenario.load(scenario.parse(text), text=text, **kwargs)


def test_a_scenario_builds_the_whole_site(app, client):
    with app.app_context():
        loaded = load_text(SITE)
        assert loaded.counts == {
            "contacts": 2,
            "staff": 1,
            "client_applications": 2,
            "content_records": 3,
            "faults": 1,
        }
        # A secret that was not given is generated, and only reported once.
        assert list(loaded.client_secrets) == ["Events"]
        assert scenario.export()["settings"]["clock_offset_seconds"] == 120.0
        fault = qa.faults_by_client()[find_client("Events").id]
        assert (fault.mode, fault.delay_seconds, fault.remaining) == ("delay", 3, 2)
    # The people can sign in (or not), and the content is published where it says.
    response = client.post("/SignIn", data={"username": "alice", "password": "Alice-pass-1"})
    assert response.status_code == 303
    assert response.headers["Location"].endswith("/Welcome.aspx")
    assert "Hello" in client.get("/Welcome.aspx").text
    handoff = client.get("/Members/Courses/Lms.aspx")
    assert 'action="https://lms.example/sso"' in handoff.text
    assert client.get("/Draft.aspx").status_code == 404
    assert client.post("/SignIn", data={"username": "bob", "password": "x"}).status_code == 200


def test_groups_and_activities_load_through_their_services(app):
    with app.app_context():
        loaded = load_text(GROUPS_SITE)
        assert {k: loaded.counts[k] for k in ("groups", "activities")} == {
            "groups": 2,
            "activities": 2,
        }
        toronto = groups.get_group("toronto")
        assert (toronto.group_class.name, toronto.status_code) == ("Chapter", "I")
        alice, bob = groups.list_members(group_id="TORONTO")
        assert [(d.role.name, d.is_active) for d in alice.details] == [
            ("Treasurer", True),
            ("Member", False),
        ]
        assert alice.details[0].expiration_date == datetime(2022, 3, 31, 17)
        assert bob.is_active is False and [d.role.name for d in bob.details] == ["Member"]
        readers = groups.list_groups(name="Readers")[0]
        assert readers.group_class.imis_id == groups.PURCHASED_PRODUCTS_CLASS_ID
        course, dues = activities.list_activities(party_id="30001") + activities.list_activities(
            party_id="30002"
        )
        assert (course.activity_type, course.units, course.amount) == (
            "COURSE",
            Decimal("3.00"),
            Decimal("12.50"),
        )
        assert course.recurring_request is True and dues.activity_type == "DUES"
        exported = scenario.export()
        assert exported["group_roles"] == [
            {"role_id": groups.get_role("Treasurer").imis_id, "name": "Treasurer"}
            | {"use_dates": True, "priority": 40}
        ]
        assert exported["activities"][0]["thru_date"] == "2026-12-01T10:30:00"
        assert exported["activities"][0]["effective_date"] == "2026-11-20"


def test_the_round_trip_is_identical(app):
    with app.app_context():
        load_text(GROUPS_SITE)
        demo.load_sample_app()
        db.session.commit()
        for secrets in (False, True):
            first = scenario.dump(scenario.export(include_secrets=secrets))
            load_text(first)
            second = scenario.dump(scenario.export(include_secrets=secrets))
            assert second == first
            assert ("secret_hash" in first) is secrets and ("password_hash" in first) is secrets
        as_json = scenario.dump(scenario.export(), "json")
        load_text(as_json)
        assert scenario.dump(scenario.export(), "json") == as_json


def test_secrets_stay_out_of_an_export_unless_asked(app):
    with app.app_context():
        load_text(SITE)
        text = scenario.dump(scenario.export())
        with_secrets = scenario.dump(scenario.export(include_secrets=True))
    for secret in ("lms-secret-1-Zq7Lm3Vx9Rt2Wp8Kc5H", "Alice-pass-1"):
        assert secret not in text and secret not in with_secrets
    assert "password" not in text and "secret" not in text
    assert "groups" in text
    assert "secret_hash" in with_secrets and "pbkdf2:" in with_secrets


def test_a_loaded_secret_hash_still_signs_in(app, client):
    with app.app_context():
        load_text(SITE)
        exported = scenario.dump(scenario.export(include_secrets=True))
        load_text(exported)
    response = client.post("/SignIn", data={"username": "alice", "password": "Alice-pass-1"})
    assert response.status_code == 303


BROKEN = [
    (
        SITE.replace("first_name: Alice", "first_name: 17"),
        'contacts[0].first_name (line 4): 17 is not of type "string"',
    ),
    (
        SITE.replace("client: Lms}", "client: Nowhere}"),
        "content.records[0].items[0].client (line 29): no client application 'Nowhere'",
    ),
    (
        SITE.replace("username: bob", "username: ALICE"),
        "contacts[1].username (line 10): duplicate username 'ALICE'",
    ),
    (
        SITE.replace("{username: boss", "{username: Bob"),
        "staff[0].username (line 12): duplicate username 'Bob'",
    ),
    (
        SITE.replace("https://lms.example/sso", "ftp://lms.example/sso"),
        "client_applications[0].redirect_url (line 17): Enter an absolute http or https URL",
    ),
    (
        SITE.replace("delay_seconds: 3", "delay_seconds: 99"),
        "settings.faults[0].delay_seconds (line 39): a delay is 1 to 60 seconds",
    ),
    (
        SITE.replace("path: Members/Courses}", "path: Nope/Courses}"),
        "content.records[0].folder (line 25): no folder 'Members/Courses'",
    ),
    (SITE.replace("version: 1", "version: 2"), "version (line 1): 1 was expected"),
    (SITE + "  colour: blue\n", "settings (line 36): Additional properties are not allowed"),
    ("version: 1\ncontacts: [\n", "line 3, column 1: "),
]


BROKEN_GROUPS = [
    (
        GROUPS_SITE.replace("party: '30002', active", "party: '99999', active"),
        "groups[0].members[1].party (line 56): Party 99999 does not exist.",
    ),
    (
        GROUPS_SITE.replace("effective_date: 2026-11-20", "effective_date: 2026-02-30"),
        "activities[0].effective_date (line 61): EFFECTIVE_DATE must be a date like 2024-06-01",
    ),
    (
        GROUPS_SITE.replace("effective_date: 2026-11-20", "effective_date: soon"),
        'activities[0].effective_date (line 61): "soon" does not match',
    ),
    (
        GROUPS_SITE.replace("role: member", "role: Chief"),
        "groups[0].members[0].roles[1].role (line 55): Role Chief does not exist.",
    ),
    (
        GROUPS_SITE.replace("2022-03-31T17:00:00", "2022-03-31T25:00:00"),
        "groups[0].members[0].roles[0].expiration_date (line 54): ExpirationDate must be a date",
    ),
    (
        GROUPS_SITE.replace("class: CHAPTER", "class: NOPE"),
        "groups[0].class (line 47): Group class NOPE does not exist.",
    ),
    (
        GROUPS_SITE.replace("{name: Readers}", "{name: Readers, group_id: toronto}"),
        "groups[1].group_id (line 57): Group toronto already exists.",
    ),
]


@pytest.mark.parametrize(("text", "message"), BROKEN + BROKEN_GROUPS)
def test_a_broken_scenario_names_the_field_and_loads_nothing(app, text, message):
    before = database_dump(app)
    with app.app_context():
        with pytest.raises(scenario.ScenarioError) as caught:
            load_text(text)
    assert message in caught.value.message
    assert database_dump(app) == before


def test_a_rule_broken_late_undoes_what_came_before(app):
    """The people and the first client are written before the bad redirect URL is reached."""
    before = database_dump(app)
    text = SITE.replace("http://127.0.0.1:8000/sso", "not a url")
    with app.app_context():
        with pytest.raises(scenario.ScenarioError, match=r"client_applications\[1\]"):
            load_text(text)
        assert find_client("Lms") is None
    assert database_dump(app) == before


def test_merging_keeps_the_site_and_refuses_a_clash(app):
    with app.app_context():
        load_text(
            "version: 1\ncontacts: [{username: zed, first_name: Z, last_name: Z}]\n", replace=False
        )
        assert "jsmith" in [c["username"] for c in scenario.export()["contacts"]]
        with pytest.raises(scenario.ScenarioError) as caught:
            load_text(SITE, replace=False)
    assert "content.folders[0].path (line 21): A folder with that name" in caught.value.message


def test_an_unknown_section_is_refused_by_name(app):
    with app.app_context():
        with pytest.raises(scenario.ScenarioError, match=r"'colours' was unexpected"):
            scenario.load({"version": 1, "colours": []})


def test_the_published_schema_is_the_one_the_loader_uses():
    assert (ROOT / "docs" / "scenario.schema.json").read_text() == SCHEMA_PATH.read_text()
    modes = json.loads(SCHEMA_PATH.read_text())["$defs"]["settings"]["properties"]["faults"]
    assert set(modes["items"]["properties"]["mode"]["enum"]) == set(FAULT_MODES)


def test_organizations_and_party_statuses_load_and_export(app):
    with app.app_context():
        loaded = load_text(PARTIES_SITE.replace("email: alice@example.org", "employer: '30009'"))
        assert (loaded.counts["parties"], loaded.counts["party_statuses"]) == (2, 2)
        exported = scenario.export()
        assert exported["party_statuses"][1] == {
            "code": "X",
            "name": "Expired",
            "description": "Membership lapsed",
            "active_status": "Inactive",
        }
        acme, pat = exported["parties"]
        assert acme["is_organization"] and acme["organization"] == "Acme"
        assert (pat["employer"], pat["organization"], pat["status"]) == ("30009", "Acme", "X")
        assert "member_type" not in pat  # NM, a party's default
        alice = exported["contacts"][0]
        assert (alice["employer"], alice["organization"]) == ("30009", "Acme")
        assert "employer" not in exported["contacts"][1]


BROKEN_PARTIES = [
    (
        PARTIES_SITE.replace("employer: '30009'", "employer: '30001'"),
        "parties[0].employer (line 44): There is no organization with the id '30001'.",
    ),
    (
        PARTIES_SITE.replace("status: X", "status: Z"),
        "parties[0] (line 44): 'Z' is not a party status.",
    ),
    (
        PARTIES_SITE.replace("code: X", "code: A"),
        "party_statuses[1].code (line 42): duplicate 'A'",
    ),
    (
        PARTIES_SITE.replace("imis_id: '30010'", "imis_id: '30009'"),
        "parties[0].imis_id (line 44): iMIS ID 30009 is already used.",
    ),
    (
        PARTIES_SITE.replace("organization: Acme", "email: info@acme.example"),
        "parties[1] (line 45): Organization name is required.",
    ),
    (
        PARTIES_SITE.replace("email: alice@example.org", "employer: '30010'"),
        "contacts[0].employer (line 8): There is no organization with the id '30010'.",
    ),
]


@pytest.mark.parametrize(("text", "message"), BROKEN_PARTIES)
def test_a_broken_party_names_the_field_and_loads_nothing(app, text, message):
    before = database_dump(app)
    with app.app_context():
        with pytest.raises(scenario.ScenarioError) as caught:
            load_text(text)
    assert message in caught.value.message
    assert database_dump(app) == before


STAFFED = """\
version: 1
parties:
- {imis_id: '40001', is_organization: true, organization: Acme Corp, member_type: CM}
- imis_id: '40003'
  prefix: Dr.
  first_name: Ana
  middle_name: Maria
  last_name: Silva
  suffix: PhD
  title: CTO
  employer: '40001'
contacts:
- {username: ben, password: Ben-pass-1, imis_id: '40002', first_name: Ben, middle_name: Q,
   last_name: Ng, suffix: Jr., employer: '40001'}
"""


def test_an_organization_with_staff_round_trips_into_a_fresh_database(
    app, template_instance, tmp_path, monkeypatch
):
    with app.app_context():
        load_text(STAFFED)
        exported = {s: scenario.export(include_secrets=s) for s in (False, True)}
    ana, ben = exported[False]["parties"][1], exported[False]["contacts"][0]
    assert (ana["middle_name"], ana["suffix"], ana["employer"]) == ("Maria", "PhD", "40001")
    assert (ben["middle_name"], ben["suffix"], ben["employer"]) == ("Q", "Jr.", "40001")
    assert ben["organization"] == "Acme Corp"  # the employer's name
    for include_secrets, document in exported.items():
        fresh = tmp_path / f"fresh-{include_secrets}"
        fresh.mkdir()
        databases.clone(template_instance, fresh)
        try:
            other = make_app(fresh, monkeypatch)
            with other.app_context():
                text = scenario.dump(document)
                load_text(text)
                assert scenario.dump(scenario.export(include_secrets=include_secrets)) == text
        finally:
            databases.close_connections()
            databases.release(fresh)


def test_the_demo_is_demo_yaml_and_round_trips(app):
    with app.app_context():
        scenario.reset()
        assert demo.load() == 5
        versaton = db.session.scalar(select(Contact).where(Contact.imis_id == "23100"))
        assert versaton.is_organization and versaton.organization == "Versaton"
        staff = db.session.scalars(
            select(Contact.imis_id).where(Contact.organization_party_id == versaton.id)
        )
        assert sorted(staff) == ["23179", "23183"]
        assert db.session.get(PartyStatus, "D").name == "Deceased"
        assert iqa.get_folder("$/OAuth2") is not None
        client = find_client("SampleApp")
        assert client.redirect_url == app.config["DEMO_SAMPLE_APP_URL"]
        assert secrets.client_secret_matches(SAMPLE_APP["SAMPLE_CLIENT_SECRET"], client.secret_hash)
        first = scenario.dump(scenario.export(include_secrets=True))
        load_text(first)
        assert scenario.dump(scenario.export(include_secrets=True)) == first
        # Loaded as it is written: demo.yaml is the demo's one source.
        assert (
            scenario.export()["contacts"][0]["uniform_id"]
            == scenario.parse(DEMO_PATH.read_text())["contacts"][2]["uniform_id"]
        )


def invoke(instance: Path, monkeypatch, *args: str, input: str | None = None):
    monkeypatch.setenv("IMIS_INSTANCE_PATH", str(instance))
    url = ["--database-url", databases.uri_for(instance)]
    return CliRunner().invoke(main, [*args, "--instance", str(instance), *url], input=input)


def test_the_command_loads_and_exports(instance, monkeypatch, tmp_path):
    path = tmp_path / "site.yaml"
    path.write_text(SITE)
    result = invoke(instance, monkeypatch, "load-scenario", str(path))
    assert result.exit_code == 0, result.output
    assert "Generated client secret for Events: " in result.output
    result = invoke(instance, monkeypatch, "export-scenario", "--format", "json")
    assert result.exit_code == 0, result.output
    exported = json.loads(result.output)
    assert [c["username"] for c in exported["contacts"]] == ["alice", "bob"]
    result = invoke(instance, monkeypatch, "mint-handoff", "--user", "alice", "--client", "Lms")
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["form"]["action"] == "https://lms.example/sso"
    result = invoke(instance, monkeypatch, "reset", "--yes")
    assert result.exit_code == 0, result.output
    result = invoke(instance, monkeypatch, "export-scenario", "--format", "json")
    assert json.loads(result.output)["client_applications"] == []


def test_the_command_prints_the_error_and_loads_nothing(app, instance, monkeypatch, tmp_path):
    before = database_dump(app)
    path = tmp_path / "site.yaml"
    path.write_text(SITE.replace("client: Lms}", "client: Nowhere}"))
    result = invoke(instance, monkeypatch, "load-scenario", str(path))
    assert result.exit_code == 1
    assert "content.records[0].items[0].client (line 29)" in result.output
    assert database_dump(app) == before


@pytest.mark.parametrize(
    "command", ["serve", "init", "load-scenario", "export-scenario", "mint-handoff", "reset"]
)
def test_every_subcommand_has_help(command):
    result = CliRunner().invoke(main, [command, "--help"])
    assert result.exit_code == 0
    assert "--instance" in result.output and "--database-url" in result.output


def test_reset_keeps_only_the_guest(app):
    with app.app_context():
        load_text(SITE)
        scenario.reset()
        db.session.commit()
        assert db.session.scalars(select(ClientApplication)).all() == []
        assert scenario.export()["contacts"] == [] and scenario.export()["staff"] == []


def test_serve_loads_the_scenario_and_hands_its_settings_to_the_server(
    instance, monkeypatch, tmp_path
):
    served = {}
    monkeypatch.setattr(
        "imis_mock.command.run_server",
        lambda host, port, workers, config: served.update(config, port=port, workers=workers),
    )
    path = tmp_path / "site.yaml"
    path.write_text(SITE.replace("faults:", "strict_refresh_token_rotation: true\n  faults:"))
    result = invoke(
        instance,
        monkeypatch,
        "serve",
        "--port",
        "5123",
        "--scenario",
        str(path),
        "--admin-token",
        "tok-123",
    )
    assert result.exit_code == 0, result.output
    assert "Admin API: http://127.0.0.1:5123/qa/api/" in result.output
    assert served["STRICT_REFRESH_TOKEN_ROTATION"] is True
    assert served["QA_ADMIN_TOKEN"] == "tok-123"
    assert served["port"] == 5123
    exported = json.loads(
        invoke(instance, monkeypatch, "export-scenario", "--format", "json").output
    )
    assert [c["client_id"] for c in exported["client_applications"]] == ["Events", "Lms"]


def test_serve_keeps_one_admin_token_in_the_instance(instance, monkeypatch):
    tokens = []
    monkeypatch.setattr(
        "imis_mock.command.run_server",
        lambda host, port, workers, config: tokens.append(config["QA_ADMIN_TOKEN"]),
    )
    for _ in range(2):
        assert invoke(instance, monkeypatch, "serve").exit_code == 0
    assert tokens[0] == tokens[1] == (instance / "admin_token").read_text()
    assert len(tokens[0]) >= 40
    assert (instance / "admin_token").stat().st_mode & 0o077 == 0
    monkeypatch.setattr(
        "imis_mock.command.run_server",
        lambda host, port, workers, config: tokens.append(config.get("QA_ADMIN_TOKEN")),
    )
    assert invoke(instance, monkeypatch, "serve", "--no-admin-api").exit_code == 0
    assert tokens[-1] is None

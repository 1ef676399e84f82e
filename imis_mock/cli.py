"""Command-line tools: flask --app app init-db | load-demo | create-user | prune-tokens |
api-entities ..."""

import sys
from pathlib import Path

import click
from flask import Flask, current_app
from flask.cli import with_appcontext
from flask_migrate import upgrade

from imis_mock.extensions import db
from imis_mock.scenarios import SCENARIOS
from imis_mock.services import ServiceError, accounts, demo, qa, scenario, tokens
from imis_mock.services.clients import find_client


@click.command("init-db")
@with_appcontext
def init_db_command() -> None:
    """Bring the database to the latest schema (the same as `flask db upgrade`)."""
    upgrade()
    accounts.ensure_guest()
    db.session.commit()
    click.echo("Database is at the latest schema.")


@click.command("prune-tokens")
@with_appcontext
def prune_tokens_command() -> None:
    """Delete tokens that expired or were revoked more than an hour ago."""
    refresh, access = tokens.prune()
    click.echo(f"Deleted {refresh} refresh tokens and {access} access tokens.")


@click.command("load-demo")
@with_appcontext
@click.option("--if-empty", is_flag=True, help="Only load when the database has no accounts yet.")
@click.option(
    "--scenario",
    "name",
    default=None,
    help="demo (the default, or DEMO_SCENARIO) or sdk-demo: iMIS's SDK demo ids. sdk-demo "
    "replaces the whole site.",
)
def load_demo_command(if_empty: bool, name: str | None) -> None:
    """Load the demo staff account, members and configuration (safe to run twice)."""
    if if_empty and accounts.count_people() > 0:
        click.echo("The database already has accounts; demo data not loaded.")
        return
    name = name or current_app.config.get("DEMO_SCENARIO") or "demo"
    if name != "demo":
        path = SCENARIOS.get(name)
        if path is None:
            raise click.UsageError(
                f"No demo scenario '{name}' (known: demo, {', '.join(SCENARIOS)})."
            )
        text = path.read_text(encoding="utf-8")
        try:
            loaded = scenario.load(scenario.parse(text), text=text)
        except scenario.ScenarioError as error:
            raise click.ClickException(error.message) from None
        click.echo(f"Scenario {name} loaded: {loaded.counts}.")
        return
    created = demo.load()
    db.session.commit()
    click.echo(f"Demo data loaded ({created} new accounts). Demo accounts are in README.md.")


@click.command("create-user")
@with_appcontext
@click.argument("username")
@click.option("--staff", "role", flag_value="staff", help="A Staff site account.")
@click.option("--member", "role", flag_value="member", help="A member site account.")
@click.option("--first-name", required=True)
@click.option("--last-name", required=True)
@click.option("--email", default="")
@click.option("--password-stdin", is_flag=True, help="Read the password from standard input.")
def create_user_command(
    username: str,
    role: str | None,
    first_name: str,
    last_name: str,
    email: str,
    password_stdin: bool,
) -> None:
    """Create a contact with a user account; the password is prompted for or read from stdin."""
    if role is None:
        raise click.UsageError("Say --staff or --member.")
    if password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    else:
        password = click.prompt("Password", hide_input=True, confirmation_prompt=True)
    try:
        user = accounts.create_user(
            username,
            password,
            staff=role == "staff",
            first_name=first_name,
            last_name=last_name,
            email=email,
        )
    except ServiceError as error:
        db.session.rollback()
        raise click.ClickException(error.message) from None
    db.session.commit()
    click.echo(f"Created {role} account {user.username} (iMIS ID {user.imis_id}).")


def _client(client_id: str):
    client = find_client(client_id)
    if client is None:
        raise click.ClickException(f"No client application {client_id!r}.")
    return client


@click.command("issue-refresh-token")
@click.option("--user", "username", required=True, help="The member's username.")
@click.option("--client", "client_id", required=True, help="The Client ID.")
@with_appcontext
def issue_refresh_token_command(username: str, client_id: str) -> None:
    """Mint a refresh token, as the Single Sign-On item would, and print it."""
    try:
        click.echo(qa.simulate_sso(username, _client(client_id), actor="cli"))
    except ServiceError as error:
        raise click.ClickException(error.message) from None


@click.command("tokens")
@click.argument("action", type=click.Choice(["expire", "revoke"]))
@click.option("--user", "username", default="", help="Only this user's tokens.")
@click.option("--client", "client_id", default="", help="Only this client's tokens.")
@click.option("--kind", type=click.Choice(["refresh", "access", "all"]), default="all")
@with_appcontext
def tokens_command(action: str, username: str, client_id: str, kind: str) -> None:
    """Expire or revoke active tokens (all of them, or a user's, or a client's)."""
    try:
        count = qa.change_tokens(
            action, kind=kind, username=username, client_id=client_id, actor="cli"
        )
    except ServiceError as error:
        raise click.ClickException(error.message) from None
    click.echo(f"{count} token(s) {'expired' if action == 'expire' else 'revoked'}.")


@click.group("faults")
def faults_group() -> None:
    """Make /token misbehave for a client application (QA fault injection)."""


@faults_group.command("set")
@click.argument("client_id")
@click.argument("mode", type=click.Choice(sorted(qa.FAULT_MODES)))
@click.option("--delay", "delay_seconds", type=int, default=0, help="Seconds, for mode delay.")
@click.option(
    "--count", type=int, default=None, help="For the next N requests (default: until cleared)."
)
@with_appcontext
def faults_set_command(client_id: str, mode: str, delay_seconds: int, count: int | None) -> None:
    """Arm a fault for CLIENT_ID's /token requests."""
    try:
        qa.set_fault(
            _client(client_id), mode, delay_seconds=delay_seconds, count=count, actor="cli"
        )
    except ServiceError as error:
        raise click.ClickException(error.message) from None
    click.echo(f"Fault {mode} armed for {client_id}.")


@faults_group.command("clear")
@click.argument("client_id")
@with_appcontext
def faults_clear_command(client_id: str) -> None:
    """Turn off CLIENT_ID's fault."""
    qa.clear_fault(_client(client_id), actor="cli")
    click.echo(f"Fault cleared for {client_id}.")


@click.command("api-entities")
@click.option("--check", is_flag=True, help="Only report whether the lists are up to date.")
@click.option(
    "--readme",
    type=click.Path(dir_okay=False, path_type=Path),
    default=Path(__file__).resolve().parent.parent / "README.md",
    show_default=True,
)
@click.option(
    "--docs",
    type=click.Path(dir_okay=False, path_type=Path),
    default=Path(__file__).resolve().parent.parent / "docs" / "api.md",
    show_default=True,
)
def api_entities_command(check: bool, readme: Path, docs: Path) -> None:
    """Rewrite README.md's list of API entities and docs/api.md from the catalog."""
    from imis_mock.api.describe import api_doc, readme_with_entities

    text = readme.read_text(encoding="utf-8")
    old_doc = docs.read_text(encoding="utf-8") if docs.exists() else ""
    fresh, fresh_doc = readme_with_entities(text), api_doc()
    if fresh == text and fresh_doc == old_doc:
        click.echo("README.md's API entity list and docs/api.md are up to date.")
        return
    if check:
        click.echo("The API entity lists are stale: run `flask --app app api-entities`.")
        sys.exit(1)
    readme.write_text(fresh, encoding="utf-8")
    docs.write_text(fresh_doc, encoding="utf-8")
    click.echo("README.md's API entity list and docs/api.md were rewritten.")


def init_app(app: Flask) -> None:
    for command in (
        api_entities_command,
        init_db_command,
        prune_tokens_command,
        load_demo_command,
        create_user_command,
        issue_refresh_token_command,
        tokens_command,
        faults_group,
    ):
        app.cli.add_command(command)

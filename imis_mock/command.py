"""The `imis-mock` command (installed by `pip install`): serve the mock and manage its site.

    imis-mock serve [--port 5000] [--instance DIR] [--scenario FILE] [--database-url URL]
    imis-mock init | load-scenario FILE | export-scenario | mint-handoff | reset

Every subcommand works on the site in --instance (default ./instance: the SQLite database, the
generated secret key and an optional config.py), or on --database-url. People who clone the
repository keep using `make run` and `flask --app app ...`; both use the same services.
"""

import json
import os
import secrets
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import click
from flask import Flask
from flask_migrate import upgrade

from imis_mock import create_app, serving
from imis_mock.extensions import db
from imis_mock.services import ServiceError, accounts, admin, demo, scenario

DEFAULT_PORT = 5000


def make_app(instance: str, database_url: str | None, **config) -> Flask:
    """Create the app for a site folder (and database), as `imis-mock` runs it."""
    os.environ["IMIS_INSTANCE_PATH"] = str(Path(instance).resolve())
    if database_url:
        config["SQLALCHEMY_DATABASE_URI"] = database_url
    return create_app(config or None)


@contextmanager
def site(instance: str, database_url: str | None, **config) -> Iterator[Flask]:
    """Work on a site inside an app context; close its database connections at the end."""
    app = make_app(instance, database_url, **config)
    with app.app_context():
        try:
            yield app
        finally:
            db.session.remove()
            db.engine.dispose()


def site_options(command):
    """Add --instance and --database-url to a subcommand."""
    command = click.option(
        "--database-url",
        envvar="IMIS_DATABASE_URL",
        help="SQLAlchemy URL, e.g. postgresql+psycopg://user:pw@host/db (default: SQLite in "
        "the instance folder).",
    )(command)
    return click.option(
        "--instance",
        envvar="IMIS_INSTANCE_PATH",
        default="instance",
        show_default=True,
        type=click.Path(file_okay=False),
        help="The site folder: database, secret key, optional config.py.",
    )(command)


def read_scenario(path: str) -> tuple[dict, str]:
    """Read and parse a scenario file; a bad one stops the command with the error."""
    text = sys.stdin.read() if path == "-" else Path(path).read_text(encoding="utf-8")
    try:
        return scenario.parse(text), text
    except scenario.ScenarioError as error:
        raise click.ClickException(error.message) from None


def init_database() -> None:
    """Bring the database to the latest schema and make sure the GUEST user exists."""
    upgrade()
    accounts.ensure_guest()
    db.session.commit()


def load_file(document: dict, text: str, *, replace: bool = True) -> None:
    try:
        loaded = scenario.load(document, text=text, replace=replace)
    except scenario.ScenarioError as error:
        raise click.ClickException(error.message) from None
    for client_id, secret in loaded.client_secrets.items():
        click.echo(f"Generated client secret for {client_id}: {secret}")
    click.echo(f"Scenario loaded ({_counts(loaded.counts)}).")


def _counts(counts: dict[str, int]) -> str:
    return ", ".join(f"{count} {name.replace('_', ' ')}" for name, count in counts.items())


def stored_admin_token(instance: Path) -> str:
    """Return the admin token kept in the instance folder, making it the first time."""
    instance.mkdir(parents=True, exist_ok=True)
    path = instance / "admin_token"
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        pass
    else:
        with os.fdopen(fd, "w") as out:
            out.write(secrets.token_urlsafe(32))
    return path.read_text().strip()


def run_server(host: str, port: int, workers: int, config: dict) -> None:
    """Serve the mock until stopped, with the server `make run` uses (imis_mock/serving.py).

    Each worker creates its own app from the environment (IMIS_INSTANCE_PATH, and the
    configuration passed here as FLASK_* variables, which create_app reads as JSON).
    """
    for key, value in config.items():
        os.environ[f"FLASK_{key}"] = json.dumps(value)
    os.environ.update(HOST=host, PORT=str(port), WEB_CONCURRENCY=str(workers))
    serving.server("imis_mock.wsgi:app").serve()


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
def main() -> None:
    """A mock iMIS site for testing Single Sign-On, /token and the REST API."""


@main.command()
@site_options
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", type=int, default=DEFAULT_PORT, show_default=True)
@click.option("--workers", type=int, default=2, show_default=True)
@click.option(
    "--scenario",
    "scenario_path",
    type=click.Path(dir_okay=False, exists=True),
    help="Replace the site with this scenario file on start (default: the demo data, if empty).",
)
@click.option(
    "--admin-token",
    envvar="IMIS_ADMIN_TOKEN",
    help="The admin API's token (default: made once and kept in INSTANCE/admin_token).",
)
@click.option("--no-admin-api", is_flag=True, help="Leave the admin API (/qa/api) off.")
def serve(
    instance: str,
    database_url: str | None,
    host: str,
    port: int,
    workers: int,
    scenario_path: str | None,
    admin_token: str | None,
    no_admin_api: bool,
) -> None:
    """Serve the mock site: SQLite in --instance with the demo data, unless told otherwise.

    The HTTP admin API (/qa/api) is on, with the --admin-token or the one in
    INSTANCE/admin_token: `curl -H "Authorization: Bearer $(cat instance/admin_token)" ...`.
    """
    config: dict = {}
    if not no_admin_api:
        config["QA_ADMIN_TOKEN"] = admin_token or stored_admin_token(Path(instance))
    if database_url:
        config["SQLALCHEMY_DATABASE_URI"] = database_url
    document, text = read_scenario(scenario_path) if scenario_path else (None, "")
    settings = (document or {}).get("settings", {})
    if isinstance(settings, dict) and "strict_refresh_token_rotation" in settings:
        config["STRICT_REFRESH_TOKEN_ROTATION"] = settings["strict_refresh_token_rotation"]
    with site(instance, None, **config):
        init_database()
        if document is not None:
            load_file(document, text)
        elif accounts.count_people() == 0:
            demo.load()
            db.session.commit()
            click.echo("Demo data loaded (see the README for the demo accounts).")
    click.echo(f"Mock iMIS: http://{host}:{port}/")
    if not no_admin_api:
        where = "as given" if admin_token else f"in {Path(instance) / 'admin_token'}"
        click.echo(f"Admin API: http://{host}:{port}/qa/api/ (its token is {where})")
    run_server(host, port, workers, config)


@main.command()
@site_options
@click.option("--demo", "with_demo", is_flag=True, help="Also load the demo data if empty.")
def init(instance: str, database_url: str | None, with_demo: bool) -> None:
    """Create or upgrade the database to the latest schema."""
    with site(instance, database_url):
        init_database()
        if with_demo and accounts.count_people() == 0:
            demo.load()
            db.session.commit()
    click.echo("Database is at the latest schema.")


@main.command("load-scenario")
@site_options
@click.argument("path", type=click.Path(dir_okay=False, allow_dash=True))
@click.option(
    "--merge", is_flag=True, help="Add to the current site instead of replacing everything."
)
def load_scenario(instance: str, database_url: str | None, path: str, merge: bool) -> None:
    """Replace the site with a scenario file (YAML or JSON; - reads standard input)."""
    document, text = read_scenario(path)
    with site(instance, database_url):
        init_database()
        load_file(document, text, replace=not merge)
    if isinstance(document.get("settings"), dict):
        if document["settings"].get("strict_refresh_token_rotation"):
            click.echo(
                "Note: strict_refresh_token_rotation is a server setting: "
                "`imis-mock serve --scenario FILE` applies it."
            )


@main.command("export-scenario")
@site_options
@click.option("--output", "-o", default="-", help="File to write (default: standard output).")
@click.option("--format", "fmt", type=click.Choice(["yaml", "json"]), default=None)
@click.option(
    "--include-secrets",
    is_flag=True,
    help="Include password and client secret hashes (usable under the same SECRET_KEY).",
)
def export_scenario(
    instance: str, database_url: str | None, output: str, fmt: str | None, include_secrets: bool
) -> None:
    """Write the site as a scenario file."""
    fmt = fmt or ("json" if output.endswith(".json") else "yaml")
    with site(instance, database_url):
        text = scenario.dump(scenario.export(include_secrets=include_secrets), fmt)
    if output == "-":
        click.echo(text, nl=False)
    else:
        Path(output).write_text(text, encoding="utf-8")


@main.command("mint-handoff")
@site_options
@click.option("--user", "username", required=True, help="The username.")
@click.option("--client", "client_id", required=True, help="The Client ID.")
def mint_handoff(instance: str, database_url: str | None, username: str, client_id: str) -> None:
    """Mint a Single Sign-On hand-off; print its refresh token and form POST as JSON."""
    with site(instance, database_url):
        try:
            handoff = admin.mint_handoff(username, client_id)
        except ServiceError as error:
            raise click.ClickException(error.message) from None
    click.echo(json.dumps({"refresh_token": handoff.refresh_token, "form": handoff.form()}))


@main.command()
@site_options
@click.option("--demo", "with_demo", is_flag=True, help="Load the demo data after the reset.")
@click.option(
    "--scenario",
    "scenario_path",
    type=click.Path(dir_okay=False, exists=True),
    help="Load this scenario after the reset.",
)
@click.confirmation_option(prompt="Delete everything on this site?")
def reset(
    instance: str, database_url: str | None, with_demo: bool, scenario_path: str | None
) -> None:
    """Delete every contact, client application, content record, token and event."""
    document, text = read_scenario(scenario_path) if scenario_path else (None, "")
    with site(instance, database_url):
        init_database()
        if document is not None:
            load_file(document, text)
            return
        scenario.reset()
        if with_demo:
            demo.load()
        db.session.commit()
    click.echo("The site is empty." if not with_demo else "The site holds the demo data.")


if __name__ == "__main__":
    main()

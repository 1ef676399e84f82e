"""Command-line tools: flask --app app init-db | load-demo | create-user."""

import sys

import click
from flask import Flask
from flask.cli import with_appcontext
from flask_migrate import upgrade

from imis_mock.extensions import db
from imis_mock.services import ServiceError, accounts, demo


@click.command("init-db")
@with_appcontext
def init_db_command() -> None:
    """Bring the database to the latest schema (the same as `flask db upgrade`)."""
    upgrade()
    accounts.ensure_guest()
    db.session.commit()
    click.echo("Database is at the latest schema.")


@click.command("load-demo")
@with_appcontext
@click.option("--if-empty", is_flag=True, help="Only load when the database has no accounts yet.")
def load_demo_command(if_empty: bool) -> None:
    """Load the demo staff account, members and configuration (safe to run twice)."""
    if if_empty and accounts.count_people() > 0:
        click.echo("The database already has accounts; demo data not loaded.")
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


def init_app(app: Flask) -> None:
    for command in (init_db_command, load_demo_command, create_user_command):
        app.cli.add_command(command)

"""The filtered list's query and JSON alone: `make bench`'s `floor` case, beside the `lists` case.

`GET /api/Party?lastname=startsWith:S&limit=100` answered from the mock's own database (a scratch
instance with the demo data, or with 100,000 parties more) with the engine's two queries written
plainly on `sqlite3` (the counts, then the page found by walking the table in key order, its rows
read in the walk rather than joined back by key), and each record written by the mock's own
writer (`api/catalog/party.py`, from its shape's templates): the same bytes as the mock's answer,
with no bearer check, no filter engine, no SQLAlchemy and no journal. What SQLite and the JSON
alone cost for the list, served as `make run` serves the mock.
"""

import os
import sqlite3
import threading
from datetime import date, datetime

from flask import Flask, Response, request

from imis_mock.api.catalog import party
from imis_mock.api.engine import wire
from imis_mock.api.engine.filters import Page
from imis_mock.services.parties import PartyRecord

DATABASE = os.path.join(os.environ["IMIS_INSTANCE_PATH"], "imis.db")
COLUMNS = (
    "id, imis_id, uniform_id, prefix, first_name, middle_name, last_name, suffix,"
    " is_organization, organization_party_id, informal_name, email, phone, organization, title,"
    " member_type, status, address_line, city, region, postal_code, country_code, join_date,"
    " created_at, updated_at, (SELECT employer.imis_id FROM contacts AS employer"
    " WHERE employer.id = contacts.organization_party_id) AS employer_imis_id"
)
COUNTS = (
    "SELECT (SELECT count(*) FROM contacts WHERE lower(last_name) >= ? AND lower(last_name) < ?),"
    " (SELECT count(*) FROM contacts)"
)
# The unary + keeps the terms off the index, so SQLite walks the table in key order.
PAGE = (
    f"SELECT {COLUMNS} FROM contacts WHERE +lower(last_name) >= ? AND +lower(last_name) < ?"
    " ORDER BY id LIMIT ? OFFSET 0"
)

app = Flask(__name__)
_local = threading.local()


def _connection() -> sqlite3.Connection:
    connection = getattr(_local, "connection", None)
    if connection is None:
        connection = _local.connection = sqlite3.connect(DATABASE, check_same_thread=False)
    return connection


def _record(names: list[str], row: tuple) -> PartyRecord:
    values = dict(zip(names, row, strict=True))
    values["is_organization"] = bool(values["is_organization"])
    for name in ("created_at", "updated_at"):
        values[name] = datetime.fromisoformat(values[name])
    if values["join_date"]:
        values["join_date"] = date.fromisoformat(values["join_date"])
    return PartyRecord(values)


@app.get("/api/Party")
def parties():
    operator, _, prefix = request.args.get("lastname", "").partition(":")
    if operator != "startsWith" or not prefix:
        return Response('{"Message":"The floor answers startsWith only."}', 400)
    low = prefix.lower()
    high = low[:-1] + chr(ord(low[-1]) + 1)
    limit = min(int(request.args.get("limit", 100)), 500)
    connection = _connection()
    total, _ = connection.execute(COUNTS, (low, high)).fetchone()
    cursor = connection.execute(PAGE, (low, high, limit))
    names = [column[0] for column in cursor.description]
    items = [party.party_text(_record(names, row)) for row in cursor.fetchall()]
    page = Page(items=items, offset=0, limit=limit, total=total)
    text = wire.paged_text(party.PARTY_DATA, ",".join(items), len(items), page)
    return Response(text, content_type=wire.JSON_TYPE)

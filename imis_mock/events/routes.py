"""Staff Events: the event list and an event's page with its registrants (read-only: QA sees
here what a client wrote through the API)."""

from flask import abort, render_template

from imis_mock.events import bp
from imis_mock.services import events, records


@bp.get("/")
def index():
    rows = records.of_entity(events.EVENTS)
    counts = {row.key: len(events.active_registrations(row.key)) for row in rows}
    return render_template("staff/events/index.html", events=rows, counts=counts)


@bp.get("/<path:event_id>")
def detail(event_id: str):
    event = records.find(events.EVENTS, event_id)
    if event is None:
        abort(404)
    return render_template(
        "staff/events/detail.html",
        event=event,
        registrations=records.children(events.REGISTRATIONS, event.key),
        functions=events.functions_of(event.data),
        closed=events.closed_reason(event.data),
    )

"""The contact page's Registrations, Orders/Invoices and Notes tabs (records written through
the API; read-only here)."""

from flask import render_template

from imis_mock.contacts import bp
from imis_mock.contacts.routes import contact_or_404
from imis_mock.services import records

# Tab endpoint -> (title, the entities it lists).
TABS = {
    "registrations": ("Registrations", ("EventRegistration",)),
    "invoices": ("Orders/Invoices", ("Invoice", "ComboOrder")),
    "notes": ("Notes", ("PartyNote",)),
}


def _tab(imis_id: str, tab: str):
    contact = contact_or_404(imis_id)
    title, entities = TABS[tab]
    return render_template(
        f"staff/contacts/{tab}.html",
        contact=contact,
        title=title,
        rows=records.of_contact(entities, contact.id),
    )


@bp.get("/<imis_id>/Registrations")
def registrations_tab(imis_id: str):
    return _tab(imis_id, "registrations")


@bp.get("/<imis_id>/Invoices")
def invoices_tab(imis_id: str):
    return _tab(imis_id, "invoices")


@bp.get("/<imis_id>/Notes")
def notes_tab(imis_id: str):
    return _tab(imis_id, "notes")

"""The entity catalog: every entity the REST API serves, one declarative entry each.

Reading this package tells you everything /api serves. api/routes.py builds the standard route
set (reference §1.5) for each entry; api/engine/ runs it; api/describe.py generates
/api/metadata/{E}, /api/BoEntityDefinition, /api/openapi.json and README.md's entity list from
the same entries. One module per family; each exports ENTITIES, collected in ENTITIES below.

How to add an entity
====================

1. A plain entity (a table, no behaviour): a model, a migration, an entry, demo rows. No view.
   See lookups.py (PartyStatus):

       THING = Entity(
           name="Thing",                                  # the URL segment (matched in any case)
           description="One line for metadata and the README.",
           item_type=contract(MEMBERSHIP, "ThingData"),   # the record's $type
           properties=(
               Prop("ThingId", column=Thing.code, identity=True),  # identity: the URL id
               Prop("Name", column=Thing.name),           # column: filterable and orderable
               Prop("Amount", "Decimal", column=Thing.amount),     # String/Boolean/Integer/
           ),                                             #   Decimal/Date
           query=lambda: select(Thing),                   # rows before filters and access
           key=(Thing.code,),                             # the column(s) the URL id names
           order=(Thing.code,),                           # default order: stable pages
           identity="text",                               # numeric | guid | text | composite |
                                                          #   slash (ids containing "/")
           id_properties=("ThingId",),                    # body fields a PUT must not contradict
           model=Thing,                                   # default read/write build this model
       )

   then add it to that module's ENTITIES (and a new module's ENTITIES to the tuple below).
   Verbs default to the whole route set; `verbs=frozenset({...})` narrows it (others get 405,
   or 404 when an entity has no verb on a path at all). `owner=None` (the default) means
   everyone reads and staff write; `owner=("party", Model.contact_id)` makes rows a member's
   own when that column holds their contacts.id (`("user", Model.user_id)` for users.id).
   `aliases={"lastname": "PersonName.LastName"}` adds filter keys; a Prop as the target filters
   on a column the record does not show.

2. An entity with behaviour: the same entry plus hooks, plain functions that call services
   (see party.py and user.py):
   - to_wire(row) -> dict                     the record as iMIS sends it
   - read(body, row_or_None) -> values        check a write body (engine/bodies.py helpers;
                                              raise errors.Invalid or a ServiceError)
   - write(values, row_or_None, caller) -> row  store it (the engine flushes, checks that the
                                              caller may hold the row, and commits)
   - remove(row, caller)                      delete
   - load(caller, key) -> row                 a faster GET-by-id (apply access.by_key's rule)
   - operations={"findbyusername": fn}        _execute: fn(caller, body) -> Result
   - accepts=(...)                            other top-level $types a write may carry
   - member_writes=frozenset({"replace"})     which writes a member may make to own rows

3. A GenericEntityData entity with `~a|b` keys (Activity, panel sources; reference §5, §7):
   identity="composite" with one key column per element (`key=(Row.party_id, Row.seqn)`; a
   one-element key still accepts a bare id), `object_type="Multi"`, `metadata=False` when iMIS
   answers 501 for its metadata, `replace_status=201` if PUT should answer 201 (§3.1), and a
   to_wire built with wire.generic_entity():

       def activity_wire(row) -> dict:
           return generic_entity(
               "Activity", [str(row.id)],
               [("ACTIVITY_TYPE", row.activity_type), ("PartyId", row.party_imis_id),
                ("EFFECTIVE_DATE", row.effective_date), ("AMOUNT", row.amount)],
               parent=("Party", [row.party_imis_id]),
           )

   Its read hook takes the Properties bag: `{p.get("Name"): p.get("Value") for p in
   body.items("Properties")}` (typed values arrive unwrapped); filters name the bag's
   properties, e.g. Prop("EFFECTIVE_DATE", "Date", column=Activity.effective_date) and
   aliases={"PartyId": Prop("PartyId", column=Contact.imis_id)} with a query that joins
   contacts.

4. Panel sources are not declared here: staff define them in the Staff site (Panel designer)
   and panels.py builds their entries from the stored definitions; find() falls back to them.
"""

from imis_mock.api.catalog import (
    activity,
    commerce,
    communications,
    contacts,
    events,
    groups,
    longtail,
    lookups,
    panels,
    party,
    queries,
    user,
)
from imis_mock.api.engine.entity import Entity

ENTITIES: tuple[Entity, ...] = (
    *party.ENTITIES,
    *user.ENTITIES,
    *lookups.ENTITIES,
    *activity.ENTITIES,
    *groups.ENTITIES,
    *contacts.ENTITIES,
    *queries.ENTITIES,
    *events.ENTITIES,
    *commerce.ENTITIES,
    *communications.ENTITIES,
    *longtail.ENTITIES,
)
_BY_NAME = {entity.name.lower(): entity for entity in ENTITIES}
assert len(_BY_NAME) == len(ENTITIES), "two entries share a name"


def find(name: str) -> Entity | None:
    """The entry named `name` in any letter case (a panel source's too), or None."""
    found = _BY_NAME.get(name.lower())
    return found if found is not None else panels.find(name)


# Names under /api that are routes of their own, not entities (api/routes.py).
ROUTE_NAMES = {"query", "iqa", "metadata", "boentitydefinition", "openapi.json"}


def is_static(name: str) -> bool:
    """Whether `name` is taken by a declared entry or a route (panel sources may not take it)."""
    return name.lower() in _BY_NAME or name.lower() in ROUTE_NAMES


def all_entries() -> list[Entity]:
    """Every entry: the declared ones, then the panel sources staff defined."""
    return [*ENTITIES, *panels.all_entries()]

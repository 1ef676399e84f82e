"""Plain lookup entities: a catalog entry and a table, no hooks and no view.

PartyStatus is iMIS's party status list (PM-ENT has a PartyStatus section; PartyStatusData is
nested in every party [C]; `ActiveStatus` is 20.3.235's [C: §3.6]). Everyone reads it, staff
change it (owner None, see engine/access.py). The demo rows are in scenarios/demo.yaml.
"""

from sqlalchemy import select

from imis_mock.api.engine.entity import Entity, Prop
from imis_mock.api.engine.wire import MEMBERSHIP, contract
from imis_mock.models import PartyStatus

PARTY_STATUS = Entity(
    name="PartyStatus",
    description="A party status code: Active, Inactive, ...",
    item_type=contract(MEMBERSHIP, "PartyStatusData"),
    properties=(
        Prop("PartyStatusId", column=PartyStatus.code, identity=True),
        Prop("Name", column=PartyStatus.name),
        Prop("Description", column=PartyStatus.description),
        Prop("ActiveStatus", column=PartyStatus.active_status),
    ),
    query=lambda: select(PartyStatus),
    key=(PartyStatus.code,),
    order=(PartyStatus.code,),
    identity="text",
    id_properties=("PartyStatusId",),
    model=PartyStatus,
)

ENTITIES = (PARTY_STATUS,)

"""The catalog's rules that no served entity exercises yet: slash ids and composite keys."""

import pytest
from sqlalchemy import select

from imis_mock.api import catalog
from imis_mock.api.engine import resource
from imis_mock.api.engine.entity import Entity, Prop
from imis_mock.models import PartyStatus


def entity(**changes) -> Entity:
    values = {
        "name": "Thing",
        "description": "A test entity.",
        "item_type": "X.ThingData, Asi.Contracts",
        "properties": (Prop("ThingId", column=PartyStatus.code, identity=True),),
        "query": lambda: select(PartyStatus),
        "key": (PartyStatus.code,),
        "order": (PartyStatus.code,),
        "identity": "text",
    }
    return Entity(**(values | changes))


def test_slash_ids_take_the_rest_of_the_path_and_have_no_changelog():
    routes = {kind: path for kind, path, _ in entity(identity="slash").routes()}
    assert routes["item"] == "/Thing/<path:key>"
    assert "changelog" not in routes
    assert resource.key_parts(entity(identity="slash"), "REGULAR/ACT") == ["REGULAR/ACT"]


def test_composite_keys():
    two = entity(identity="composite", key=(PartyStatus.code, PartyStatus.name))
    assert resource.key_parts(two, "~23179|2") == ["23179", "2"]
    assert resource.key_condition(two, "~23179|2") is not None
    assert resource.key_condition(two, "23179") is None  # a bare id cannot name two elements
    assert resource.key_condition(two, "~23179|") is None
    one = entity(identity="composite")
    assert resource.key_parts(one, "23179") == ["23179"]


def test_verbs_shape_the_route_set():
    routes = entity(verbs=frozenset({"list", "get", "metadata"})).routes()
    assert routes == [
        ("collection", "/Thing", {"GET": "list"}),
        ("item", "/Thing/<key>", {"GET": "get"}),
    ]
    # _execute exists only with named operations.
    assert "execute" not in entity().verbs
    assert "execute" in entity(operations={"x": lambda caller, body: None}).verbs
    with pytest.raises(AssertionError):
        entity(verbs=frozenset({"fly"}))


def test_aliases_must_name_filterable_properties():
    broken = entity(aliases={"nickname": "Nickname"})
    with pytest.raises(AssertionError):
        broken.filter_index()


def test_every_entry_is_consistent():
    for entry in catalog.ENTITIES:
        index = entry.filter_index()
        assert all(p.column is not None for p in index.values()), entry.name
        assert [p.name for p in entry.properties if p.identity], entry.name
        assert catalog.find(entry.name.upper()) is entry

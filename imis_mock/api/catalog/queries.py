"""QueryDefinition (reference §8.3): `POST /api/QueryDefinition/_execute` with FindByPath
returns a query's definition. The queries themselves run at `/api/IQA` and `/api/query`
(api/iqa.py)."""

from sqlalchemy import select

from imis_mock.api.engine.bodies import Body
from imis_mock.api.engine.entity import Entity, Prop
from imis_mock.api.engine.errors import ApiError, NotFound
from imis_mock.api.engine.wire import CORE, contract
from imis_mock.models import IqaQuery
from imis_mock.services import iqa


def find_by_path(caller, body: Body) -> dict:
    """FindByPath: one System.String parameter, the query's path."""
    from imis_mock.api import iqa as engine  # the engine reads the catalog this module is in

    values = body.items("Parameters")
    path = values[0] if values else None
    if not isinstance(path, str) or not path.strip():
        raise ApiError("FindByPath needs the query's path.")
    query = iqa.find_by_path(path)
    if query is None:
        raise NotFound(f"The query '{path}' was not found.")
    return engine.definition(query)


QUERY_DEFINITION = Entity(
    name="QueryDefinition",
    description="An IQA query's definition (_execute FindByPath).",
    item_type=contract(CORE, "IqaQueryDefinitionData"),
    properties=(Prop("QueryDefinitionId", column=IqaQuery.document_key, identity=True),),
    query=lambda: select(IqaQuery),
    key=(IqaQuery.document_key,),
    order=(IqaQuery.id,),
    identity="guid",
    verbs=frozenset({"execute"}),
    metadata=False,
    operations={"findbypath": find_by_path},
)

ENTITIES = (QUERY_DEFINITION,)

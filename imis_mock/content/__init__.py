"""Content: RiSE > Page Builder > Manage content on the Staff site, and the published pages.

`bp` is nested in the staff blueprint (so the staff guard covers it); `published_bp` serves the
published records at the site root.
"""

from flask import Blueprint
from flask.blueprints import BlueprintSetupState
from werkzeug.routing import PathConverter


class AspxConverter(PathConverter):
    """A path ending in .aspx, in any letter case, so other paths keep their 404 or 405."""

    regex = r"[^/].*?\.(?i:aspx)"


bp = Blueprint("content", __name__)
published_bp = Blueprint("published", __name__)


@published_bp.record_once
def add_converter(state: BlueprintSetupState) -> None:
    # Registered before the routes below are added (deferred functions run in order).
    state.app.url_map.converters["aspx"] = AspxConverter


from imis_mock.content import published, routes  # noqa: E402,F401

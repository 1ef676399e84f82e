"""What a published Single Sign-On content item does when its page is shown: the hand-off.

The access checks (requires login, secure) have already run in content.published.page; an
anonymous visitor reaching here is on a public page, and iMIS then hands over a token for its
GUEST user (real clients check for userName "GUEST" and refuse it).
"""

from flask import Response
from flask_login import current_user

from imis_mock.models import ContentItem, ContentRecord
from imis_mock.oauth.handoff import handoff_response
from imis_mock.services import accounts, content


def respond(record: ContentRecord, item: ContentItem) -> Response:
    """Mint a refresh token for the viewer and POST it to the item's client application."""
    viewer = current_user if current_user.is_authenticated else accounts.ensure_guest()
    # A client application deleted after the item was placed arrives here as None: the
    # hand-off then answers with a clear error page and mints nothing.
    return handoff_response(item.client_application, viewer, content=content.published_path(record))

"""What a published Single Sign-On content item does when its page is shown.

PLACEHOLDER until the SSO hand-off (issue 5) replaces the body of respond(): it mints no token.
The access checks (requires login, secure) have already run in content.published.page; an
anonymous visitor reaching here is on a public page (iMIS then hands over a GUEST token).
"""

from flask import current_app, render_template

from imis_mock.models import ContentItem, ContentRecord


def respond(record: ContentRecord, item: ContentItem):
    """Return the response for a page whose published copy holds a Single Sign-On item."""
    client = item.client_application
    if client is None:
        # The client application was deleted after the item was placed: no token, a clear page.
        current_app.logger.warning(
            "Single Sign-On item %s on content record %s has no client application",
            item.id,
            record.id,
        )
        return render_template("published/sso_unavailable.html", record=record), 404
    return render_template("published/sso_placeholder.html", record=record, client=client)

"""WSGI middleware: answer a successful `GET /api/{Entity}/{id}` (and `GET /api/IQA` and
`/api/query`) without Flask's request machinery.

The by-id read is what an integration sends most after Single Sign-On (the party, the user), and
Flask's request context, hooks and response object cost more than the read itself. This path
reaches the same rules by other means, and answers only a success:

- the route: Flask's own URL map's answer, kept per path (after imis_mock/routing.py has made
  the path canonical): an item rule of a catalog entry (declared or a panel source) that has
  `get`, or an IQA endpoint;
- the caller: Authlib's bearer check (`require_bearer.validate_request`, with the validator of
  oauth/bearer.py), for a request that sends `Authorization: Bearer ...` and nothing that could
  make the guard answer otherwise: no body, no cookie, an ASCII path without NUL, no query
  string (the IQA endpoints' is read by the app's own request class, and one with an
  `access_token` goes to Flask, whose guard refuses it);
- the record: engine/resource.get_one_text, with its 403/404 rule (the IQA endpoints: api/iqa.py's
  answer_iqa and answer_query, as their views call them); the journal: api.journal_call;
- the bytes: resource.get_one_text's (the entry's to_text, or wire.json_text), with the headers
  Flask's hooks give an API answer, in their order (tests/test_api_fast_path.py compares both
  answers header by header).

Anything else (a refusal, an error, another route) goes to Flask, which answers it from the
start, having changed nothing: the only write here is the journal entry of a success. A
database that cannot be reached is handed to Flask with the error, answered 503 at once.
"""

import os
from functools import lru_cache
from types import MappingProxyType

from authlib.oauth2.rfc6749 import JsonRequest
from flask import Flask, g
from werkzeug.exceptions import HTTPException
from werkzeug.routing import RequestRedirect

from imis_mock.api import catalog, iqa, journal_call
from imis_mock.api.engine import filters, resource, wire
from imis_mock.diagnostics import WORKER_PID_HEADER
from imis_mock.errors import DATABASE_ERROR, DATABASE_UNAVAILABLE
from imis_mock.oauth.bearer import require_bearer
from imis_mock.security import fast_path_headers, holds_nul
from imis_mock.services import audit

ITEM_ENDPOINTS = ("api.item_", "api.dynamic_item")
# The IQA endpoints (api/routes.py) and what each answers.
IQA_ANSWERS = {"api.run_iqa": iqa.answer_iqa, "api.run_query": iqa.answer_query}
IQA_PATHS = ("/iqa", "/query")  # their paths' ends, as routing.py spells them


class ApiReadFastPath:
    def __init__(self, app: Flask, wsgi_app):
        self.app = app
        self.wsgi_app = wsgi_app
        # Bound once: with no SERVER_NAME, Flask's binding per request matches paths alike. With
        # one, the host takes part in matching, and every request goes to Flask.
        self.urls = None if app.config.get("SERVER_NAME") else app.url_map.bind("localhost")
        # The URL map's answer for a path, kept: the map is complete when the middleware is
        # installed, the factory's last step (routing.py compiles its patterns from it then
        # too; panel sources are served by catch-all rules), so the answer for a path never
        # changes. Matching cost about 5 us a request, as much as Authlib's part of the check.
        self.route = lru_cache(maxsize=4096)(self._route)
        # The IQA endpoints' arguments for a query string, kept: a function of the string alone
        # (a client paging through a query sends a few), and parsing it as Flask's request does
        # cost about 10 us a request.
        self.iqa_args = lru_cache(maxsize=1024)(self._iqa_args)
        # security.add_security_headers gives every /api answer `no-store` (never stored).
        self.after_headers = fast_path_headers(app, ("Cache-Control", "no-store"))

    def __call__(self, environ: dict, start_response):
        path = environ.get("PATH_INFO") or ""
        if (
            self.urls is not None
            and environ.get("REQUEST_METHOD") == "GET"
            and path.startswith("/api/")
            and environ.get("HTTP_AUTHORIZATION", "")[:7].lower() == "bearer "
            # A query string only for what may be an IQA endpoint (the URL map decides).
            and (not environ.get("QUERY_STRING") or path.endswith(IQA_PATHS))
            and not environ.get("CONTENT_LENGTH", "0").strip("0")
            and "HTTP_TRANSFER_ENCODING" not in environ
            and "HTTP_COOKIE" not in environ
            and path.isascii()
            and "\x00" not in path
        ):
            answered = self.answer(environ, path)
            if answered is not None:
                body, headers = answered
                start_response("200 OK", headers)
                return [body]
        return self.wsgi_app(environ, start_response)

    def _route(self, path: str) -> tuple[str, MappingProxyType] | None:
        """The URL map's endpoint and arguments for `GET path` (read-only); None for no route."""
        try:
            endpoint, args = self.urls.match(path, method="GET")
        except (HTTPException, RequestRedirect):
            return None
        return endpoint, MappingProxyType(args)

    def _iqa_args(self, query_string: str) -> tuple[tuple[str, str], ...] | None:
        """The query string's arguments as the views read them (routes.query_args: the app's
        request class, keys in any case); None for one that Flask's hooks refuse: a NUL
        (security.py), or a token sent two ways at once (the guard, oauth/bearer.py)."""
        query = self.app.request_class({"QUERY_STRING": query_string}).args
        if holds_nul(query) or "access_token" in query:
            return None
        return tuple(query.items(multi=True))

    def answer(self, environ: dict, path: str) -> tuple[bytes, list] | None:
        """The body and headers of the read's success; None hands the request to Flask."""
        route = self.route(path)
        if route is None:
            return None
        endpoint, args = route
        answer_iqa = IQA_ANSWERS.get(endpoint)
        if answer_iqa is None and (
            environ.get("QUERY_STRING") or not endpoint.startswith(ITEM_ENDPOINTS)
        ):
            return None
        with self.app.app_context():
            if answer_iqa is not None:
                pairs = self.iqa_args(environ.get("QUERY_STRING", ""))
                if pairs is None:  # Flask refuses it
                    return None
                iqa_args = filters.lower_args(pairs)

                def read(user) -> str:
                    return answer_iqa(iqa_args, user)
            else:
                entry = catalog.find(args["entity"])
                if entry is None or not entry.has("get"):
                    return None

                def read(user) -> str:
                    return resource.get_one_text(entry, user, args["key"], {})

            g.setdefault(audit.REMOTE_ADDR, environ.get("REMOTE_ADDR") or "")
            try:
                # Authlib reads the Authorization header alone (and tests a request's headers
                # for truth, which made werkzeug's EnvironHeaders count the whole environ).
                sent = {"Authorization": environ["HTTP_AUTHORIZATION"]}
                token = require_bearer.validate_request(
                    scopes=None, request=JsonRequest("GET", path, sent)
                )
                text = read(token.user)
                journal_call(token.user, token.client_id, 200, {"method": "GET", "path": path})
            except DATABASE_UNAVAILABLE as error:
                environ[DATABASE_ERROR] = error
                return None
            except Exception:  # noqa: BLE001
                # A refusal (OAuth2Error, ApiError) or a failure: Flask answers it from the start
                # (a failure is logged and journalled there, as on every route).
                return None
            expose_pid = self.app.config.get("EXPOSE_WORKER_PID")
        body = text.encode()
        headers = [("Content-Type", wire.JSON_TYPE), ("Content-Length", str(len(body)))]
        if expose_pid:
            headers.append((WORKER_PID_HEADER, str(os.getpid())))
        return body, [*headers, *self.after_headers]

"""Routing as IIS does it, in one place, before Flask sees a request.

iMIS runs on IIS and ASP.NET, where a URL's path and query keys are matched regardless of letter
case, and clients rely on it: `/api/party/23179`, `POST /TOKEN`, `/api//Party` (a double slash
that a widely used client sends on every page), `POST /api/ComboOrder/` (reference §1.2-1.4).
This middleware rewrites the path to the spelling of the route it names, so every rule is
written once, in its canonical case:

- repeated slashes collapse and a trailing slash is ignored; the request is served in place,
  never redirected (werkzeug's redirect built its Location from the Host header);
- each literal part of the path is matched to a rule regardless of case, and replaced by the
  rule's spelling; the variable parts (ids) are passed on exactly as sent;
- with IMIS_APP_ROOT set (e.g. "/Asi.Scheduler_SDKDemo", as ASI's Postman environment has it),
  /token and /api are also served under that prefix; the pages stay at the site root.

Query keys are matched regardless of case by CaseBlindRequest (request.args lower-cases them).
"""

import re
from functools import lru_cache

from flask import Flask, Request
from werkzeug.datastructures import ImmutableMultiDict
from werkzeug.utils import cached_property

VARIABLE = re.compile(r"<(?:(?P<converter>\w+)(?:\([^)]*\))?:)?(?P<name>\w+)>")
SLASHES = re.compile(r"/{2,}")
# Paths mounted under the application root: the machine endpoints.
ROOTED = ("/token", "/api")


class CaseBlindArgs(ImmutableMultiDict):
    """Query arguments whose keys are matched regardless of case (stored lower-cased)."""

    def __init__(self, mapping=None):
        pairs = mapping.items(multi=True) if hasattr(mapping, "items") else mapping or ()
        super().__init__([(str(k).lower(), v) for k, v in pairs])

    def __getitem__(self, key):
        return super().__getitem__(key.lower() if isinstance(key, str) else key)

    def __contains__(self, key):
        return super().__contains__(key.lower() if isinstance(key, str) else key)

    def getlist(self, key, type=None):  # noqa: A002 (werkzeug's signature)
        return super().getlist(key.lower() if isinstance(key, str) else key, type)


class CaseBlindRequest(Request):
    """Flask's request, with query keys matched regardless of case (ASP.NET binds them so)."""

    @cached_property
    def args(self) -> CaseBlindArgs:
        return CaseBlindArgs(super().args)


class IISRouting:
    """WSGI middleware: application root, slashes and letter case, then the wrapped app."""

    def __init__(self, app: Flask, wsgi_app):
        self.wsgi_app = wsgi_app
        root = (app.config.get("IMIS_APP_ROOT") or "").strip().rstrip("/")
        self.root = ("/" + root.lstrip("/")).lower() if root else ""
        self.exact, self.pattern, self.templates = _compile(app)
        self.canonical = lru_cache(maxsize=4096)(self._canonical)

    def __call__(self, environ: dict, start_response):
        path = environ.get("PATH_INFO") or "/"
        canonical = self.canonical(path)
        if canonical != path:
            # A copy: the server's access log keeps the path as the client sent it.
            environ = {**environ, "PATH_INFO": canonical}
        return self.wsgi_app(environ, start_response)

    def _canonical(self, path: str) -> str:
        path = SLASHES.sub("/", path)
        if self.root:
            lowered = path.lower()
            if lowered.startswith(self.root + "/"):
                rest = path[len(self.root) :]
                if rest.lower().split("/")[1] in {r.strip("/") for r in ROOTED}:
                    path = rest
        trimmed = path.rstrip("/") or "/"
        # A spelling that names a rule exactly (/token and /Token are both rules) stays as sent.
        match = self.exact.fullmatch(trimmed) or self.pattern.fullmatch(trimmed)
        if match is None:
            return path
        index = int(match.lastgroup[1:])
        statics, trailing = self.templates[index]
        start = match.re.groupindex[match.lastgroup]
        values = match.groups()[start : start + len(statics) - 1]
        parts = [statics[0]]
        for value, static in zip(values, statics[1:], strict=True):
            parts += [value, static]
        result = "".join(parts)
        return result + "/" if trailing and not result.endswith("/") else result


def _compile(app: Flask):
    """One regex for every rule of the app, most literal text first (werkzeug's priority)."""
    rules = []
    for rule in app.url_map.iter_rules():
        text = rule.rule
        trailing = text.endswith("/") and text != "/"
        text = text.rstrip("/") or "/"
        statics, regexes, position = [], [], 0
        for found in VARIABLE.finditer(text):
            statics.append(text[position : found.start()])
            converter = app.url_map.converters[found["converter"] or "default"]
            regexes.append(converter(app.url_map).regex)
            position = found.end()
        statics.append(text[position:])
        rules.append((sum(len(s) for s in statics), statics, regexes, trailing))
    rules.sort(key=lambda r: -r[0])
    alternatives, exact, templates = [], [], []
    for index, (_size, statics, regexes, trailing) in enumerate(rules):
        body = re.escape(statics[0])
        for regex, static in zip(regexes, statics[1:], strict=True):
            body += f"((?-i:{regex}))" + re.escape(static)
        alternatives.append(f"(?P<r{index}>{body})")
        # A catch-all whose name segment is a variable (/api/<entity>/<key>, for entities
        # defined at run time) would keep every spelling as sent: it is never an exact match,
        # so /api/user/_EXECUTE still finds /api/User/_execute.
        if not (len(statics) > 1 and statics[0].endswith("/") and statics[0].count("/") == 2):
            exact.append(alternatives[-1])
        templates.append((statics, trailing))
    joined = "|".join(alternatives)
    return re.compile("|".join(exact)), re.compile(joined, re.IGNORECASE), templates


def init_app(app: Flask) -> None:
    """Install the middleware around Flask and the case-blind request class.

    The /token fast path (oauth/server.py, TokenFastPath) wraps this in turn: it answers /token
    and /Token as sent and hands every other spelling to Flask, which serves it through here.
    """
    app.request_class = CaseBlindRequest
    app.url_map.merge_slashes = False
    app.wsgi_app = IISRouting(app, app.wsgi_app)

"""A minimal browser over real HTTP: follow links by their text and submit forms as a browser does.

Forms are submitted with their successful controls only (hidden inputs such as the CSRF token,
text values, checked boxes, the selected option, the button that was pressed), so a test posts
exactly what a browser would post from that page.
"""

from dataclasses import dataclass, field
from html.parser import HTMLParser
from urllib.parse import urljoin

import requests


@dataclass
class Form:
    action: str
    method: str
    fields: list[tuple[str, str]] = field(default_factory=list)  # successful non-button controls
    buttons: list[tuple[str, str, str]] = field(default_factory=list)  # (name, value, label)
    selects: dict[str, list[tuple[str, str]]] = field(default_factory=dict)  # name: (value, label)
    checkboxes: dict[str, str] = field(default_factory=dict)  # name: value, checked or not

    def names(self) -> list[str]:
        return [name for name, _ in self.fields]

    def values(self, overrides: dict[str, str | bool], button: str | None) -> list[tuple]:
        """The pairs a browser would send, with typed-in values and the pressed button."""
        data = [(name, value) for name, value in self.fields if name not in overrides]
        for name, value in overrides.items():
            if value is False:
                continue
            if value is True:
                value = self.checkboxes[name]
            elif name in self.selects:
                value = self.option(name, value)
            data.append((name, value))
        if button is not None:
            [(name, value)] = [(n, v) for n, v, label in self.buttons if button in (label, v)]
            if name:
                data.append((name, value))
        return data

    def option(self, select: str, label_or_value: str) -> str:
        """The value of a drop-down option chosen by its visible label (or its value)."""
        options = self.selects[select]
        matches = [v for v, label in options if label_or_value in (label, v)]
        assert matches, f"no option {label_or_value!r} in {select}: {options}"
        return matches[0]


class PageParser(HTMLParser):
    def __init__(self):
        super().__init__()
        self.forms: list[Form] = []
        self.links: list[tuple[str, str]] = []
        self.text: list[str] = []
        self._link: list | None = None
        self._select: str | None = None
        self._option: tuple[str, bool] | None = None
        self._textarea: str | None = None
        self._button: dict | None = None
        self._chosen: dict[str, str] = {}

    def handle_starttag(self, tag, attrs):
        attrs = {k: (v if v is not None else "") for k, v in attrs}
        form = self.forms[-1] if self.forms else None
        if tag == "form":
            self.forms.append(Form(attrs.get("action", ""), attrs.get("method", "get").lower()))
        elif tag == "a" and "href" in attrs:
            self._link = [attrs["href"], ""]
        elif form is None:
            return
        elif tag == "input":
            kind = attrs.get("type", "text").lower()
            name, value = attrs.get("name", ""), attrs.get("value", "")
            if kind == "submit":
                form.buttons.append((name, value, value))
            elif kind in ("checkbox", "radio"):
                form.checkboxes[name] = value or "on"
                if "checked" in attrs:
                    form.fields.append((name, value or "on"))
            elif name and "disabled" not in attrs:
                form.fields.append((name, value))
        elif tag == "button" and attrs.get("type", "submit") == "submit":
            self._button = {"name": attrs.get("name", ""), "value": attrs.get("value", "")}
        elif tag == "select":
            self._select = attrs["name"]
            form.selects[self._select] = []
        elif tag == "option" and self._select:
            self._option = (attrs.get("value"), "selected" in attrs)
            self._option_label = ""
        elif tag == "textarea":
            self._textarea = attrs["name"]
            form.fields.append((self._textarea, ""))

    def handle_data(self, data):
        self.text.append(data)
        if self._link is not None:
            self._link[1] += data
        if self._option is not None:
            self._option_label += data
        if self._textarea is not None:
            name, value = self.forms[-1].fields[-1]
            self.forms[-1].fields[-1] = (name, value + data)
        if self._button is not None:
            self._button.setdefault("label", "")
            self._button["label"] += data

    def handle_endtag(self, tag):
        form = self.forms[-1] if self.forms else None
        if tag == "a" and self._link is not None:
            self.links.append((self._link[1].strip(), self._link[0]))
            self._link = None
        elif tag == "option" and self._option is not None:
            value, selected = self._option
            label = self._option_label.strip()
            form.selects[self._select].append((label if value is None else value, label))
            if selected:
                self._chosen[self._select] = label if value is None else value
            self._option = None
        elif tag == "select" and self._select:
            options = form.selects[self._select]
            chosen = self._chosen.get(self._select, options[0][0] if options else None)
            if chosen is not None:
                form.fields.append((self._select, chosen))
            self._select = None
        elif tag == "textarea":
            self._textarea = None
        elif tag == "button" and self._button is not None:
            b = self._button
            form.buttons.append((b["name"], b["value"], b.get("label", "").strip()))
            self._button = None


@dataclass
class Page:
    url: str
    response: requests.Response
    forms: list[Form]
    links: list[tuple[str, str]]
    text: str

    @property
    def status(self) -> int:
        return self.response.status_code

    def link(self, text: str) -> str:
        """The absolute URL of the first link with this text."""
        hrefs = [href for label, href in self.links if label == text]
        assert hrefs, f"no link {text!r} on {self.url}: {[label for label, _ in self.links]}"
        return urljoin(self.url, hrefs[0])

    def form_posting_to(self, path: str) -> Form:
        """The first form whose action ends with this path."""
        for form in self.forms:
            if form.action.endswith(path):
                return form
        raise AssertionError(f"no form posting to {path!r} on {self.url}")

    def form_with(self, name: str) -> Form:
        """The first form that has a field of this name."""
        for form in self.forms:
            if name in form.names() or name in form.selects or name in form.checkboxes:
                return form
        raise AssertionError(f"no form with a {name!r} field on {self.url}")


class Browser:
    """A requests.Session that keeps cookies and reads pages like a browser."""

    def __init__(self, base_url: str):
        self.base_url = base_url
        self.session = requests.Session()

    def _page(self, response: requests.Response) -> Page:
        parser = PageParser()
        parser.feed(response.text)
        return Page(response.url, response, parser.forms, parser.links, "".join(parser.text))

    def get(self, url: str, **kwargs) -> Page:
        response = self.session.get(urljoin(self.base_url, url), timeout=30, **kwargs)
        return self._page(response)

    def post(self, url: str, data, **kwargs) -> Page:
        response = self.session.post(urljoin(self.base_url, url), data=data, timeout=30, **kwargs)
        return self._page(response)

    def submit(self, page: Page, form: Form, button: str | None = None, **values) -> Page:
        """Fill in the form (select options by their label) and press a button; follow redirects."""
        target = urljoin(page.url, form.action or page.url)
        data = form.values(values, button)
        if form.method == "post":
            response = self.session.post(target, data=data, timeout=30)
        else:
            response = self.session.get(target, params=data, timeout=30)
        return self._page(response)

"""Reading HTML forms over HTTP, for tests that drive a real server with ``requests`` (no browser): the
fields of a form as a browser would submit them, with their current values, so a test overrides only
what it fills in."""

from __future__ import annotations

from html.parser import HTMLParser


class _Forms(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.forms: list[dict] = []
        self._form: dict | None = None
        self._select: str | None = None
        self._select_first: str | None = None
        self._textarea: str | None = None

    def handle_starttag(self, tag, attrs):
        a = {k: (v if v is not None else "") for k, v in attrs}
        if tag == "form":
            self._form = {
                "action": a.get("action", ""),
                "method": a.get("method", "get").lower(),
                "attrs": a,
                "fields": [],
                "submits": [],
                "names": set(),
            }
            self.forms.append(self._form)
            return
        if self._form is None:
            return
        name = a.get("name")
        if name and tag in ("input", "select", "textarea", "button"):
            self._form["names"].add(name)
        if tag == "input" and name:
            kind = a.get("type", "text").lower()
            if kind in ("submit", "button", "image"):
                self._form["submits"].append((name, a.get("value", "")))
            elif kind in ("checkbox", "radio"):
                if "checked" in a:
                    self._form["fields"].append((name, a.get("value", "on")))
            elif kind != "file":
                self._form["fields"].append((name, a.get("value", "")))
        elif tag == "button" and name:
            self._form["submits"].append((name, a.get("value", "")))
        elif tag == "select" and name:
            # A multiple select with nothing selected sends nothing; a single one sends its first option.
            self._select, self._select_first = name, ("\0chosen" if "multiple" in a else None)
        elif tag == "option" and self._select is not None:
            value = a.get("value", "")
            if self._select_first is None:
                self._select_first = value
            if "selected" in a:
                self._form["fields"].append((self._select, value))
                self._select_first = "\0chosen"
        elif tag == "textarea" and name:
            self._textarea = name
            self._form["fields"].append((name, ""))

    def handle_data(self, data):
        if self._textarea is not None and self._form is not None:
            name, value = self._form["fields"][-1]
            self._form["fields"][-1] = (name, value + data)

    def handle_endtag(self, tag):
        if tag == "form":
            self._form = None
        elif tag == "select" and self._select is not None:
            if self._select_first not in (None, "\0chosen") and self._form is not None:
                self._form["fields"].append((self._select, self._select_first))
            self._select = None
        elif tag == "textarea":
            self._textarea = None


def forms(html: str) -> list[dict]:
    """Every form of the page: ``{"action", "method", "attrs", "fields": [(name, value)] as a browser would
    send them, "submits": [(name, value)], "names": every control's name}``."""
    parser = _Forms()
    parser.feed(html)
    return parser.forms


def form_with(html: str, field: str) -> dict:
    """The first form that has a field or submit button named ``field``."""
    for form in forms(html):
        if field in form["names"]:
            return form
    raise AssertionError(f"no form with a field {field!r}")


def filled(form: dict, values: dict[str, str], submit: str | None = None) -> dict[str, str | list[str]]:
    """The form's data with ``values`` put in (a list value sends the name once per item)."""
    data: dict[str, str | list[str]] = {}
    for name, value in form["fields"]:
        if name in values:
            continue
        if name in data:
            previous = data[name]
            data[name] = [*previous, value] if isinstance(previous, list) else [previous, value]
        else:
            data[name] = value
    data.update(values)
    if submit is not None:
        data[submit] = dict(form["submits"]).get(submit, "1") or "1"
    return data

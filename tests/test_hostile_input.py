"""Hostile input never gives a 500 (issue 17, item 7), property-based with hypothesis.

Every POST route (taken from ``app.url_map``, with the ids of a populated scene) is posted to as each
role, with plausible form data where a few fields are replaced by hostile values: text with NUL and
other control characters, NaN / sNaN / Infinity / 1e999999 in number fields, years 0001 and 9999 in
date fields, very long strings, arbitrary unicode. Every GET route gets the same values in its query
parameters. No response may be a 500, and afterwards no row holds what a form refuses (a control
character, a non-finite number, a date outside 1900-9998).

Hypothesis runs derandomized with a few examples (each example walks every route), so CI is stable
and the whole test stays well under 90 seconds on SQLite. On PostgreSQL (TEST_DATABASE_URL), a NUL
byte reaching the database would raise: the same test covers it.
"""

from __future__ import annotations

import logging
import re
import time
import traceback
from datetime import date, datetime
from decimal import Decimal

import sqlalchemy as sa
from flask import url_for
from flask_wtf import FlaskForm
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from wtforms.fields import FieldList, FormField
from wtforms.fields.core import UnboundField

from marketplace.auth.models import User
from marketplace.extensions import db
from marketplace.tenders.committee.models import CommitteeMember
from tests.test_auditor_read_only import FORM, _scene
from tests.test_tender_pages import form_data

# Query parameters the GET pages read (search and filter forms, pagination, exports).
QUERY_NAMES = [
    "q", "category", "district", "method", "status", "budget_min", "budget_max", "deadline_from",
    "deadline_to", "sort", "page", "per_page", "next", "download", "job", "version", "year", "area",
    "availability", "date_from", "date_to", "activity", "target", "from", "to", "agency",
    "organization", "action", "actor", "object_type", "object_id", "format", "kind", "tender",
]  # fmt: skip

NASTY_TEXT = ["a\x00b", "\x00", "x\x01\x02\x1b[31m", "line\x0bbreak", "del\x7f", "c1\x85\x9f", "\ud7ff\uffff"]
NASTY_NUMBERS = [
    "sNaN", "NaN", "-NaN", "Infinity", "-Infinity", "inf", "1e999999", "-1e999999", "1e-999999",
    "9" * 60, "0E-1000000", "1e18", "-0", "2147483648", "99999999999999999999", "1,000,000.005", "0x10",
]  # fmt: skip
NASTY_DATES = [
    "0001-01-01", "9999-12-31", "0001-01-01T00:00", "9999-12-31T23:59", "0000-00-00", "2026-02-30",
    "10000-01-01", "1899-12-31", "2026-13-01T25:61",
]  # fmt: skip

hostile_value = st.one_of(
    st.sampled_from(NASTY_TEXT + NASTY_NUMBERS + NASTY_DATES),
    st.text(max_size=30),  # any unicode, control characters and surrogates included
    st.text(alphabet=st.characters(max_codepoint=0x9F), max_size=20),  # mostly ASCII and controls
    st.builds(lambda n, c: c * n, st.integers(5_000, 20_000), st.sampled_from("x中\x00")),
)

STATE_CHANGING = {"POST", "PUT", "PATCH", "DELETE"}
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")


def _form_field_names() -> list[str]:
    """The field names of every form class of the app (a FieldList's first entry as ``name-0-sub``)."""
    names: set[str] = set()
    pending = list(FlaskForm.__subclasses__())
    while pending:
        cls = pending.pop()
        pending.extend(cls.__subclasses__())
        for name in dir(cls):
            value = getattr(cls, name, None)
            if not isinstance(value, UnboundField):
                continue
            names.add(name)
            if value.field_class is FieldList and value.args and isinstance(value.args[0], UnboundField):
                inner = value.args[0]
                if inner.field_class is FormField and inner.args:
                    for sub in dir(inner.args[0]):
                        if isinstance(getattr(inner.args[0], sub, None), UnboundField):
                            names.add(f"{name}-0-{sub}")
                else:
                    names.add(f"{name}-0")
    return sorted(names)


def _routes(app, ids, methods: set[str]):
    """(endpoint, method, url, has_args) of every rule, with the scene's first id for each argument."""
    for rule in sorted(app.url_map.iter_rules(), key=lambda r: r.rule):
        used = sorted(rule.methods & methods)
        if not used or rule.endpoint.startswith(("legacy.", "static")) or rule.endpoint == "auth.logout":
            continue
        args = sorted(rule.arguments)
        with app.test_request_context():
            url = url_for(rule.endpoint, **{a: ids.get(a, [1])[0] for a in args})
        for method in used:
            yield rule.endpoint, method, url, bool(args)


def _sign_in(client, user) -> None:
    with client.session_transaction() as sess:
        sess.clear()
        if user is not None:
            sess["_user_id"] = str(user.id)
            sess["_fresh"] = True


def _stored_refusals() -> list[str]:
    """Rows holding what a form refuses: control characters, non-finite numbers, absurd dates."""
    found = []
    with db.session.no_autoflush:
        for table in db.metadata.sorted_tables:
            checked = [
                c
                for c in table.columns
                if isinstance(c.type, (sa.String, sa.Text, sa.Numeric, sa.Date, sa.DateTime))
            ]
            if not checked:
                continue
            for row in db.session.execute(sa.select(*checked)).all():
                for column, value in zip(checked, row, strict=True):
                    if isinstance(value, str) and _CONTROL.search(value):
                        found.append(f"{table.name}.{column.name}: {value[:40]!r}")
                    elif isinstance(value, Decimal) and not value.is_finite():
                        found.append(f"{table.name}.{column.name}: {value}")
                    elif isinstance(value, date | datetime) and not 1900 <= value.year <= 9998:
                        found.append(f"{table.name}.{column.name}: {value}")
    return found


def test_hostile_input_never_gives_a_500_nor_stores_what_a_form_refuses(app, client, world):
    ids = _scene(world)
    member = db.session.scalars(sa.select(CommitteeMember).where(CommitteeMember.role == "expert")).first()
    org_member = db.session.scalars(
        sa.select(User).where(User.organization_id == ids["org_id"][0], User.role == "org_member")
    ).first()
    db.session.commit()
    roles = {
        "officer": world["officer"],
        "org_member": org_member,
        "evaluator": member.user,
        "admin": world["admin"],
        "anonymous": None,  # GET only: a POST without a session is sent to the sign-in page
    }  # the auditor's POSTs are tests/test_auditor_read_only.py's
    names = _form_field_names()
    base = {**form_data(), **FORM}
    posts = [(m, u) for _e, m, u, _a in _routes(app, ids, STATE_CHANGING)]
    gets = [(u, has_args) for _e, _m, u, has_args in _routes(app, ids, {"GET"})]
    assert len(posts) > 50 and len(gets) > 50  # the walk really covers the app
    keys = st.sampled_from(names + list(base))
    failures: list[str] = []
    walked = {"post": 0, "get": 0}

    errors: list[logging.LogRecord] = []

    class Errors(logging.Handler):
        def emit(self, record):
            if record.exc_info:
                errors.append(record)

    handler = Errors()
    app.logger.addHandler(handler)
    logging.getLogger().addHandler(handler)

    def _check(r, what: str) -> None:
        cause = "".join(traceback.format_exception(*errors[0].exc_info))[-3000:] if errors else ""
        try:  # a request that leaves the database transaction aborted breaks every later one
            db.session.execute(sa.text("SELECT 1"))
        except sa.exc.DBAPIError as exc:
            raise AssertionError(f"{what[:2000]} left the transaction broken: {exc}\n{cause}") from None
        if r.status_code >= 500:
            failures.append(f"{what[:2000]} -> {r.status_code}\n{cause}")
            assert len(failures) < 5, "\n".join(failures)  # stop early: later ones may only cascade

    @settings(
        max_examples=1,
        deadline=None,
        phases=(Phase.generate,),  # no shrinking: a failure is reported with its route and values
        derandomize=True,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    @given(data=st.data())
    def walk(data):
        for index, (role, user) in enumerate(roles.items()):
            _sign_in(client, user)
            for method, url in posts if user is not None else ():
                hostile = data.draw(st.dictionaries(keys, hostile_value, min_size=1, max_size=4))
                _check(
                    client.open(url, method=method, data={**base, **hostile}),
                    f"{role} {method} {url} {hostile!r}",
                )
                walked["post"] += 1
            # Filter and list pages (no URL argument) as every role; the others once, by turns.
            for n, (url, has_args) in enumerate(gets):
                if has_args and n % len(roles) != index:
                    continue
                query = data.draw(
                    st.dictionaries(st.sampled_from(QUERY_NAMES), hostile_value, min_size=1, max_size=3)
                )
                _check(client.get(url, query_string=query), f"{role} GET {url} {query!r}")
                walked["get"] += 1

    started = time.monotonic()
    try:
        walk()
    finally:
        app.logger.removeHandler(handler)
        logging.getLogger().removeHandler(handler)
    print(f"hostile walk: {walked} in {time.monotonic() - started:.1f}s, cpu {time.process_time():.1f}s")  # noqa: T201
    assert not failures, "\n".join(failures[:30])
    assert walked["post"] == len(posts) * (len(roles) - 1)
    db.session.expire_all()
    assert _stored_refusals() == []


def test_control_characters_are_refused_at_the_edge(client, login_as, db):
    login_as("officer")
    data = form_data(title="社区\x00助餐")
    r = client.post("/tenders/new", data=data)
    assert r.status_code == 400 and b"control characters" in r.data
    assert client.get("/tenders", query_string={"q": "a\x00b"}).status_code == 400
    assert client.get("/tenders/%00").status_code in (400, 404)
    r = client.get("/api/v1/tenders", query_string={"status": "\x1b"})
    assert r.status_code == 400 and r.is_json and "control characters" in r.get_json()["detail"]
    # Tab, CR and LF are ordinary in multi-line text: not refused at the edge.
    assert client.get("/tenders", query_string={"q": "a\tb\r\nc"}).status_code == 200


def test_year_one_and_nan_are_refused_with_a_message(client, login_as, db):
    login_as("officer")
    r = client.post("/tenders/new", data=form_data(bid_deadline="0001-01-01T09:00"))
    assert r.status_code == 400 and b"between 1900-01-01 and 9998-12-31" in r.data
    for nasty in ("sNaN", "NaN", "Infinity", "1e999999"):
        r = client.post("/tenders/new", data=form_data(budget_ceiling=nasty))
        assert r.status_code == 400 and b"Enter a number" in r.data, nasty
    r = client.get("/tenders", query_string={"deadline_from": "0001-01-01"})
    assert r.status_code == 400 and b"between 1900-01-01 and 9998-12-31" in r.data
    r = client.get("/tenders", query_string={"budget_min": "sNaN"})
    assert r.status_code == 400 and b"Enter a number" in r.data

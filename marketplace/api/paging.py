"""Cursor (keyset) paging for the /api/v1 lists: reusable by every API module.

A list is ordered by a few key columns that end with a unique one (the id); the next page starts
after the last row of this one (``WHERE (k1, k2) > (v1, v2)``, each key ascending or descending), so
rows added or removed meanwhile never make a page repeat or skip a row, and no page costs an OFFSET.
The cursor carries the last row's key values, signed (itsdangerous, keyed by ``SECRET_KEY``) and bound
to the list it came from: to a client it is an opaque string, and a forged or foreign one is a 422.
Key columns must not be NULL.

Use::

    @blp.arguments(PageArgs, location="query")
    @blp.response(200, page_schema(TenderSchema))
    def tenders(args):
        return paging.page(stmt, [Key(Tender.id, descending=True)], args, scope="tenders",
                           values=lambda t: (t.id,))
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from urllib.parse import urlencode

import marshmallow as ma
from flask import current_app, request
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_smorest import abort
from itsdangerous import BadData, URLSafeSerializer
from sqlalchemy import Select, and_, or_

from marketplace.core.schemas import InputSchema
from marketplace.extensions import db

CURSOR_MAX = 500
_SALT = "marketplace.api-cursor"


@dataclass(frozen=True)
class Key:
    """A column the list is ordered by (never NULL); the last key must be unique."""

    column: object
    descending: bool = False


def _max_limit() -> int:
    return int(current_app.config.get("MAX_PER_PAGE", 100))


class PageArgs(InputSchema):
    """``cursor`` (from the previous page's ``next_cursor``) and ``limit`` (1 to 100, default 20)."""

    cursor = ma.fields.String(
        validate=ma.validate.Length(max=CURSOR_MAX),
        metadata={"description": "The previous page's next_cursor; left out: the first page"},
    )
    limit = ma.fields.Integer(
        validate=ma.validate.Range(min=1, max=100, error=_l("Give a limit from 1 to 100.")),
        metadata={"description": "Items per page (1-100, default 20)"},
    )


class _PageSchema(ma.Schema):
    next_cursor = ma.fields.String(
        allow_none=True,
        required=True,
        metadata={"description": "Pass as cursor for the next page; null: last"},
    )
    limit = ma.fields.Integer(required=True)


_page_schemas: dict[str, type[ma.Schema]] = {}


def page_schema(item_schema: type[ma.Schema]) -> type[ma.Schema]:
    """The schema of one page of ``item_schema`` items (one class per item schema, for the document)."""
    name = item_schema.__name__.removesuffix("Schema") + "PageSchema"
    if name not in _page_schemas:
        _page_schemas[name] = type(
            name, (_PageSchema,), {"items": ma.fields.List(ma.fields.Nested(item_schema), required=True)}
        )
    return _page_schemas[name]


@dataclass
class Page:
    items: list
    next_cursor: str | None
    limit: int


def _serializer() -> URLSafeSerializer:
    return URLSafeSerializer(current_app.config["SECRET_KEY"], salt=_SALT)


def _plain(value):
    if isinstance(value, datetime):
        return ["t", value.isoformat()]
    if isinstance(value, date):
        return ["d", value.isoformat()]
    if isinstance(value, Decimal):
        return ["n", str(value)]
    return value


def _typed(value):
    if isinstance(value, list) and len(value) == 2:
        kind, text = value
        return {"t": datetime.fromisoformat, "d": date.fromisoformat, "n": Decimal}[kind](text)
    return value


def encode(values: Sequence, scope: str) -> str:
    return _serializer().dumps({"s": scope, "v": [_plain(v) for v in values]})


def decode(cursor: str, scope: str, size: int) -> list:
    """The key values of ``cursor``; a 422 problem when it is not one of this list's cursors."""
    try:
        data = _serializer().loads(cursor)
        if data.get("s") != scope or len(data.get("v", ())) != size:
            raise ValueError
        return [_typed(v) for v in data["v"]]
    except (BadData, ValueError, TypeError, KeyError, ArithmeticError, AttributeError):
        abort(422, message=_("This cursor is not valid here."), errors={"cursor": [_("Not a valid cursor.")]})


def _after(keys: Sequence[Key], values: Sequence):
    clauses = []
    for i, key in enumerate(keys):
        equal = [k.column == v for k, v in zip(keys[:i], values[:i], strict=True)]
        beyond = key.column < values[i] if key.descending else key.column > values[i]
        clauses.append(and_(*equal, beyond))
    return or_(*clauses)


def page(
    stmt: Select,
    keys: Sequence[Key],
    args: dict,
    *,
    scope: str,
    values: Callable[[object], Sequence],
) -> Page:
    """One page of ``stmt`` ordered by ``keys``, after ``args["cursor"]``, ``args["limit"]`` long."""
    limit = min(int(args.get("limit") or current_app.config.get("PER_PAGE", 20)), _max_limit())
    if args.get("cursor"):
        stmt = stmt.where(_after(keys, decode(args["cursor"], scope, len(keys))))
    order = [k.column.desc() if k.descending else k.column.asc() for k in keys]
    rows = list(db.session.scalars(stmt.order_by(None).order_by(*order).limit(limit + 1)).unique())
    more = len(rows) > limit
    rows = rows[:limit]
    return Page(
        items=rows, next_cursor=encode(values(rows[-1]), scope) if more and rows else None, limit=limit
    )


def link_header(next_cursor: str | None) -> dict:
    """A ``Link: <...>; rel="next"`` header for the next page (the same query, the new cursor)."""
    if not next_cursor:
        return {}
    args = request.args.to_dict(flat=False)
    args["cursor"] = [next_cursor]
    return {"Link": f'<{request.base_url}?{urlencode(args, doseq=True)}>; rel="next"'}

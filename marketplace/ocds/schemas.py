"""The OCDS API's query arguments and packages, for flask-smorest and the OpenAPI document.

A release or record is described loosely (an object): the OCDS release schema is its contract, and the
packages validate against the OCDS 1.1 package schemas (tests/test_ocds_feed.py).
"""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from marshmallow import Schema, ValidationError, fields

from marketplace.core.schemas import InputSchema

MAX_PER_PAGE = 100  # config MAX_PER_PAGE


class WholeNumber(fields.Integer):
    """A whole number from ``minimum`` to ``maximum`` in ASCII digits (``int()`` alone also reads "٣")."""

    def __init__(self, minimum: int, maximum: int, **kwargs):
        super().__init__(strict=False, **kwargs)
        self.minimum, self.maximum = minimum, maximum
        self.metadata.setdefault("minimum", minimum)
        self.metadata.setdefault("maximum", maximum)

    def _deserialize(self, value, attr, data, **kwargs):
        text = str(value)
        if (
            not (text.isascii() and text.isdigit())
            or len(text) > 9
            or not self.minimum <= int(text) <= self.maximum
        ):
            raise ValidationError(
                str(
                    _l(
                        "'%(name)s' must be a whole number from %(minimum)d to %(maximum)d.",
                        name=self.data_key or attr,
                        minimum=self.minimum,
                        maximum=self.maximum,
                    )
                )
            )
        return int(text)


class FeedArgs(InputSchema):
    since = fields.String(
        load_default=None,
        metadata={
            "description": "Opaque cursor, as given in the previous page's `links.next`. Left out: the "
            "feed from its first release."
        },
    )
    limit = WholeNumber(
        1,
        MAX_PER_PAGE,
        load_default=None,
        metadata={"description": "Releases per page (1-100, default 100)."},
    )


class Publisher(Schema):
    name = fields.String(required=True)
    uri = fields.String()


class Links(Schema):
    next = fields.String(metadata={"description": "The next page (the feed: always; poll it when empty)."})
    prev = fields.String()


class _Package(Schema):
    uri = fields.String(required=True)
    version = fields.String(required=True)
    publishedDate = fields.String(required=True)  # noqa: N815 - OCDS field name
    publisher = fields.Nested(Publisher, required=True)
    license = fields.String()
    publicationPolicy = fields.String()  # noqa: N815 - OCDS field name
    links = fields.Nested(Links)


class ReleasePackage(_Package):
    releases = fields.List(fields.Dict(), required=True)


class RecordPackage(_Package):
    records = fields.List(fields.Dict(), required=True)

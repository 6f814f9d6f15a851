"""The one validation of a need, for the grid worker's form, the residents' form and the dispatch."""

from __future__ import annotations

import re
import unicodedata

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from marshmallow import ValidationError, fields, validate

from marketplace.contracts.personal_data import no_identity_number, no_phone_number
from marketplace.core.catalogue import SERVICE_CATEGORIES
from marketplace.core.schemas import InputSchema, Money, Text
from marketplace.needs.models import URGENCIES

DESCRIPTION_MAX = 500
# A resident named by a common family name and a kinship or courtesy term (张大爷, 王奶奶, 李女士), or a
# "name:" label: a need describes what is needed and for how many, never who. The family names are the
# hundred most common (they cover about 85% of people); words such as 老人家属 are not names.
_SURNAMES = (
    "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈"
    "姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝龚邵万钱严覃武戴莫孔向汤"
)
_TERMS = "大爷|大妈|大娘|奶奶|爷爷|阿姨|叔叔|先生|女士|老太太|老太|老伯|大叔|大姐|师傅"
_NAMED = re.compile(r"(姓名|名字)\s*[:：]|[" + _SURNAMES + "](" + _TERMS + ")")


def looks_like_a_name(text: str | None) -> bool:
    return bool(_NAMED.search(unicodedata.normalize("NFKC", text or "")))


def no_resident_name(text: str | None) -> None:
    if looks_like_a_name(text):
        raise ValidationError(
            _("Remove the resident's name: a need says what is needed and for how many people, never who.")
        )


def _category(value: str) -> None:
    if value not in SERVICE_CATEGORIES:
        raise ValidationError(_("Choose a service category from the list."))


class NeedInputSchema(InputSchema):
    grid_id = fields.Integer(
        required=True,
        strict=False,
        error_messages={"required": _l("Choose the grid."), "invalid": _l("Choose the grid.")},
    )
    category = fields.String(
        required=True,
        validate=_category,
        error_messages={"required": _l("Choose a service category from the list.")},
    )
    description = Text(
        required=True,
        multiline=True,
        max_length=DESCRIPTION_MAX,
        validate=[no_identity_number, no_phone_number, no_resident_name],
    )
    households = fields.Integer(
        load_default=0,
        validate=validate.Range(0, 100_000, error=_l("Households: a whole number from 0 to 100,000.")),
        error_messages={"invalid": _l("Households: a whole number from 0 to 100,000.")},
    )
    people = fields.Integer(
        required=True,
        validate=validate.Range(1, 100_000, error=_l("People affected: a whole number from 1 to 100,000.")),
        error_messages={
            "invalid": _l("People affected: a whole number from 1 to 100,000."),
            "required": _l("People affected: a whole number from 1 to 100,000."),
        },
    )
    urgency = fields.String(
        load_default="normal",
        validate=validate.OneOf(URGENCIES, error=_l("Choose an urgency from the list.")),
    )


class DeclineSchema(InputSchema):
    reason = Text(
        required=True, multiline=True, max_length=1000, validate=[no_identity_number, no_phone_number]
    )


class TenderFromNeedsSchema(InputSchema):
    """What the officer adds to the needs to make a tender draft (the draft is then edited as any other)."""

    title = Text(required=True, max_length=200)
    budget_ceiling = Money(required=True)
    contract_term_months = fields.Integer(
        load_default=12,
        validate=validate.Range(1, 36, error=_l("Contract term: 1 to 36 months.")),
        error_messages={"invalid": _l("Contract term: 1 to 36 months.")},
    )

"""Unified social credit code (统一社会信用代码, GB 32100-2015).

18 characters: [1] registration department, [2] category, [3-8] division code of the registering
authority, [9-17] subject identifier, [18] check character computed from the first 17.

The check character is python-stdnum's (:mod:`stdnum.cn.uscc`). The checks before it are ours, so
that a mistyped code gets a message saying what is wrong and where; stdnum's own ``compact`` is not
used, because it would quietly accept inner spaces and dashes.
"""

from __future__ import annotations

from flask_babel import gettext as _
from stdnum.cn import uscc as stdnum_uscc

ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"  # 31 characters: no I, O, Z, S, V
NEVER_USED = "IOZSV"
LENGTH = 18

# Department 5 (civil affairs, 民政) and its categories: the organization types this platform registers.
CIVIL_AFFAIRS_TYPES = {
    "1": "social_group",  # 社会团体
    "2": "social_service_agency",  # 民办非企业单位 / 社会服务机构
    "3": "foundation",  # 基金会
    "9": "other_civil_affairs",  # 其他
}


def _check_characters(code: str) -> None:
    for position, ch in enumerate(code, start=1):
        if ch in ALPHABET:
            continue
        if ch in NEVER_USED:
            raise ValueError(
                _(
                    "Character %(position)d is '%(char)s': the letters I, O, Z, S and V never occur "
                    "in a credit code.",
                    position=position,
                    char=ch,
                )
            )
        raise ValueError(
            _(
                "Character %(position)d ('%(char)s') is not a digit or an allowed capital letter.",
                position=position,
                char=ch,
            )
        )


def check_uscc(code: str) -> str:
    """The normalised code (upper case, no surrounding spaces), or ``ValueError`` saying what is wrong."""
    if not isinstance(code, str):
        raise ValueError(_("The unified social credit code must be text."))
    normalised = code.strip().upper()
    if len(normalised) != LENGTH:
        raise ValueError(
            _(
                "The unified social credit code has 18 characters; this one has %(n)d.",
                n=len(normalised),
            )
        )
    _check_characters(normalised)
    if not normalised[2:8].isdigit():
        raise ValueError(
            _("Characters 3 to 8 must be the six-digit division code of the registering authority.")
        )
    if normalised[17] != stdnum_uscc.calc_check_digit(normalised[:17]):
        raise ValueError(
            _("The check character (the 18th) does not match: the code is mistyped or not genuine.")
        )
    return normalised


def organization_type(code: str) -> str | None:
    """The civil-affairs organization type the code encodes, or ``None`` when it is not a 5x code."""
    if code[0] != "5":
        return None
    return CIVIL_AFFAIRS_TYPES.get(code[1])


def with_check_character(first17: str) -> str:
    """Complete a 17-character prefix with its check character (demo data and tests)."""
    return first17 + stdnum_uscc.calc_check_digit(first17)

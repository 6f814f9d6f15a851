"""Unified social credit code (统一社会信用代码, GB 32100-2015).

18 characters: [1] registration department, [2] category, [3-8] division code of the registering
authority, [9-17] subject identifier, [18] check character computed from the first 17.
"""

from __future__ import annotations

from flask_babel import gettext as _

ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"  # 31 characters: no I, O, Z, S, V
VALUES = {ch: i for i, ch in enumerate(ALPHABET)}
WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)

# Department 5 (civil affairs, 民政) and its categories: the organization types this platform registers.
CIVIL_AFFAIRS_TYPES = {
    "1": "social_group",  # 社会团体
    "2": "social_service_agency",  # 民办非企业单位 / 社会服务机构
    "3": "foundation",  # 基金会
    "9": "other_civil_affairs",  # 其他
}


def check_character(first17: str) -> str:
    total = sum(VALUES[ch] * w for ch, w in zip(first17, WEIGHTS, strict=True))
    value = 31 - total % 31
    return ALPHABET[0 if value == 31 else value]


def check_uscc(code: str) -> str:
    """The normalised code (upper case, no surrounding spaces), or ``ValueError`` saying what is wrong."""
    if not isinstance(code, str):
        raise ValueError(_("The unified social credit code must be text."))
    normalised = code.strip().upper()
    if len(normalised) != 18:
        raise ValueError(
            _(
                "The unified social credit code has 18 characters; this one has %(n)d.",
                n=len(normalised),
            )
        )
    for position, ch in enumerate(normalised, start=1):
        if ch not in VALUES:
            if ch in "IOZSV":
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
    if not normalised[2:8].isdigit():
        raise ValueError(
            _("Characters 3 to 8 must be the six-digit division code of the registering authority.")
        )
    expected = check_character(normalised[:17])
    if normalised[17] != expected:
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
    return first17 + check_character(first17)

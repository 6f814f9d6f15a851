"""Citations of the laws the platform follows, in the reader's language.

The code keeps a short reference (``"O87 60"``, ``"GPL 35; O87 41, 45"``, the abbreviations of
``docs``/DOMAIN.md); pages show it as a citation a reader recognises: in Chinese by the law's
official name and a Chinese article number (《政府采购货物和服务招标投标管理办法》第六十条), in
English by a readable title (MOF Order 87, art. 60). Page texts that cite a law carry the citation in
each language already; this module serves the references kept as data (time limits, procedure
profiles) through the ``law`` template filter and :func:`cite`.
"""

from __future__ import annotations

import re

from flask import Flask
from flask_babel import get_locale

# abbreviation -> (English title, Chinese title); articles follow the title.
LAWS: dict[str, tuple[str, str]] = {
    "GPL": ("Government Procurement Law", "《中华人民共和国政府采购法》"),
    "IR": ("Government Procurement Regulations", "《中华人民共和国政府采购法实施条例》"),
    "O87": ("MOF Order 87", "《政府采购货物和服务招标投标管理办法》"),
    "O102": ("MOF Order 102", "《政府购买服务管理办法》"),
}
# Documents cited as a whole (no articles).
DOCUMENTS: dict[str, tuple[str, str]] = {
    "C46": ("Caiku [2020] 46", "《政府采购促进中小企业发展管理办法》（财库〔2020〕46号）"),
    "C214": ("Caiku [2014] 214", "《政府采购竞争性磋商采购方式管理暂行办法》（财库〔2014〕214号）"),
}

_PART = re.compile(
    r"^\s*(?P<law>[A-Z]+\d*)(?:\s+art\.?)?(?:\s+(?P<articles>\d+(?:\s*(?:,|-|and)\s*\d+)*))?\s*$"
)
_DIGITS = "零一二三四五六七八九"


def chinese_number(n: int) -> str:
    """1 -> 一, 10 -> 十, 14 -> 十四, 60 -> 六十, 105 -> 一百零五 (article numbers, below 1000)."""
    if n < 10:
        return _DIGITS[n]
    if n < 100:
        tens, ones = divmod(n, 10)
        return ("" if tens == 1 else _DIGITS[tens]) + "十" + (_DIGITS[ones] if ones else "")
    hundreds, rest = divmod(n, 100)
    if rest == 0:
        return _DIGITS[hundreds] + "百"
    middle = "零" if rest < 10 else ""
    tail = _DIGITS[rest] if rest < 10 else ("一" if rest < 20 else "") + chinese_number(rest)
    return _DIGITS[hundreds] + "百" + middle + tail


def _is_chinese(lang: str | None) -> bool:
    if lang is None:
        locale = get_locale()
        lang = locale.language if locale is not None else "zh"
    return lang.startswith("zh")


def _one(part: str, chinese: bool) -> str:
    match = _PART.match(part)
    if not match:
        return part.strip()
    law, articles = match["law"], match["articles"]
    if law in DOCUMENTS:
        return DOCUMENTS[law][1 if chinese else 0]
    if law not in LAWS:
        return part.strip()
    title = LAWS[law][1 if chinese else 0]
    if not articles:
        return title
    numbers = [int(n) for n in re.findall(r"\d+", articles)]
    ranged = "-" in articles and len(numbers) == 2
    if chinese:
        names = [f"第{chinese_number(n)}条" for n in numbers]
        return title + ("至".join(names) if ranged else "、".join(names))
    if len(numbers) == 1:
        return f"{title}, art. {numbers[0]}"
    joined = (
        f"{numbers[0]}-{numbers[1]}" if ranged else ", ".join(map(str, numbers[:-1])) + f" and {numbers[-1]}"
    )
    return f"{title}, arts. {joined}"


def cite(reference: str | None, lang: str | None = None) -> str:
    """``"GPL 35; O87 41, 45"`` as a citation in ``lang`` (default: the current locale)."""
    if not reference:
        return ""
    chinese = _is_chinese(lang)
    return ("；" if chinese else "; ").join(_one(p, chinese) for p in reference.split(";"))


def init_app(app: Flask) -> None:
    app.jinja_env.filters["law"] = cite

"""Reading a file of service records (CSV or XLSX) into rows, and writing its template.

A file has one header row (English or Chinese column names, or the field names themselves, in any
order; a title row above it is skipped) and one row per service. What a spreadsheet does to its
cells is undone here: merged cells give every row they cover the merged value, real Excel dates and
date strings (2026-03-01, 2026/3/1, 2026年3月1日) become ISO dates, CSV files may start with a byte
order mark and be encoded in UTF-8 or GB 18030. Each row becomes a dict of strings keyed by field
name, with its line number in the file; checking the values is the import's job (``imports``).

Columns for personal data (names, identity numbers, phone numbers of residents) refuse the file:
service records hold counts only.
"""

from __future__ import annotations

import csv
import io
import re
import unicodedata
import zipfile
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from itertools import islice

from flask_babel import force_locale, get_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from openpyxl import Workbook, load_workbook
from openpyxl.utils.datetime import from_excel
from openpyxl.worksheet.datavalidation import DataValidation

from marketplace.contracts.labels import LABELS
from marketplace.core import filetypes

MAX_ROWS = 2000
MAX_BYTES = 5 * 1024 * 1024
MAX_UNPACKED_BYTES = 40 * 1024 * 1024  # an XLSX's XML, unpacked
HEADER_SEARCH_ROWS = 10  # a title or notes above the header row
FORMATS = ("csv", "xlsx")

# field name → (English header, Chinese header); the template's column order.
COLUMNS = {
    "service_date": (_l("Service date"), "服务日期"),
    "activity_type": (_l("Activity"), "服务类型"),
    "target": (_l("Target"), "对应指标"),
    "quantity": (_l("Quantity"), "数量"),
    "beneficiaries": (_l("Beneficiaries"), "服务人数"),
    "hours": (_l("Hours"), "服务时长"),
    "community": (_l("Community"), "社区"),
    "notes": (_l("Notes"), "备注"),
}
REQUIRED_COLUMNS = ("service_date", "activity_type")
# More names people give these columns.
_ALIASES = {
    "service_date": ("date", "日期", "服务时间", "service_date"),
    "activity_type": ("activity type", "type", "活动类型", "服务项目", "activity_type"),
    "target": ("target_id", "指标", "目标", "绩效指标"),
    "quantity": ("qty", "服务数量", "完成数量"),
    "beneficiaries": ("people", "人数", "受益人数", "服务人次"),
    "hours": ("时长", "小时", "工时"),
    "community": ("community_code", "社区代码", "所在社区"),
    "notes": ("note", "remarks", "说明", "备注说明"),
}
_IGNORED = ("no", "no.", "#", "序号", "编号")  # a row counter: read past
_PERSONAL = (
    "name", "姓名", "名字", "服务对象", "服务对象姓名", "老人姓名", "resident", "resident name", "recipient",
    "身份证", "身份证号", "身份证号码", "id number", "identity number", "id card",
    "phone", "mobile", "telephone", "电话", "手机", "手机号", "联系电话", "联系方式",
    "address", "住址", "地址",
)  # fmt: skip
_DATE_TEXT = re.compile(r"^\s*(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*日?\s*$")
_BRACKETS = re.compile(r"[(（\[【].*?[)）\]】]")


def _key(text) -> str:
    """A header as compared: NFKC, no bracketed unit ("数量（次）"), no spaces or '*', case-folded."""
    folded = unicodedata.normalize("NFKC", str(text or "")).replace("\ufeff", "")
    return re.sub(r"[\s*:：]", "", _BRACKETS.sub("", folded)).casefold()


def _header_names() -> dict[str, str]:
    names: dict[str, str] = {}
    for name, (english, chinese) in COLUMNS.items():
        with force_locale("en"):
            names[_key(str(english))] = name
        names[_key(chinese)] = name
        names[_key(name)] = name
        for alias in _ALIASES.get(name, ()):
            names[_key(alias)] = name
    return names


@dataclass
class Row:
    line: int  # the row's number in the file (the header row's line + n)
    values: dict[str, str]


@dataclass
class ReadFile:
    rows: list[Row] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)  # about the whole file: nothing can be imported


class FileProblem(Exception):
    """The file cannot be read as service records; ``message`` says why."""

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


# --- cells ------------------------------------------------------------------------------------------


def cell_text(value, name: str | None = None) -> str:
    """A cell as text: dates as YYYY-MM-DD, numbers without float noise, strings stripped."""
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.date().isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, int | float | Decimal):
        if name == "service_date" and isinstance(value, int | float) and 1 <= value < 2958466:
            return from_excel(value).date().isoformat()  # a date cell without its date format
        number = Decimal(str(value))
        return format(number.normalize(), "f") if number == number.to_integral() else str(number)
    text = unicodedata.normalize("NFC", str(value)).strip()
    if name == "service_date":
        match = _DATE_TEXT.match(unicodedata.normalize("NFKC", text))
        if match:
            try:
                return date(*map(int, match.groups())).isoformat()
            except ValueError:
                return text
    return text


# --- header and rows --------------------------------------------------------------------------------


def _columns(header: list) -> tuple[dict[int, str], list[str]]:
    """Column index → field name, and the problems with the header."""
    names, columns, problems = _header_names(), {}, []
    personal = {_key(p) for p in _PERSONAL}
    for index, cell in enumerate(header):
        key = _key(cell_text(cell))
        if not key or key in {_key(i) for i in _IGNORED}:
            continue
        if key in personal:
            problems.append(
                _(
                    'Remove the column "%(column)s": service records hold counts only, never residents\' '
                    "names, identity numbers or contact details.",
                    column=cell_text(cell),
                )
            )
        elif key not in names:
            problems.append(
                _('The column "%(column)s" is not one of the template\'s columns.', column=cell_text(cell))
            )
        elif names[key] in columns.values():
            problems.append(_('The column "%(column)s" appears twice.', column=cell_text(cell)))
        else:
            columns[index] = names[key]
    for name in REQUIRED_COLUMNS:
        if name not in columns.values():
            problems.append(_('The column "%(column)s" is missing.', column=header_label(name)))
    return columns, problems


def _is_header(cells: list) -> bool:
    names = _header_names()
    return sum(_key(cell_text(c)) in names for c in cells) >= 2


def _rows(table: list[list]) -> ReadFile:
    """Find the header row, then turn each non-blank row below it into a :class:`Row`."""
    result = ReadFile()
    start = next((i for i, cells in enumerate(table[:HEADER_SEARCH_ROWS]) if _is_header(cells)), None)
    if start is None:
        result.errors.append(
            _("No header row was found: the first row must name the columns, as in the template.")
        )
        return result
    columns, result.errors = _columns(table[start])
    if result.errors:
        return result
    for offset, cells in enumerate(table[start + 1 :], start=start + 2):
        values = {name: cell_text(cells[i], name) if i < len(cells) else "" for i, name in columns.items()}
        if any(values.values()):
            result.rows.append(Row(offset, values))
    if not result.rows:
        result.errors.append(_("The file has no service records below its header row."))
    elif len(result.rows) > MAX_ROWS:
        result.errors.append(
            _("The file has %(n)d rows; import at most %(max)d at a time.", n=len(result.rows), max=MAX_ROWS)
        )
    return result


def _csv_table(data: bytes) -> list[list]:
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            text = data.decode(encoding)
            break
        except UnicodeDecodeError:
            continue
    else:
        raise FileProblem(_('The CSV file is not UTF-8 or GB 18030 text. Save it as "CSV UTF-8".'))
    try:
        dialect = csv.Sniffer().sniff(text[:4096], delimiters=",;\t")
    except csv.Error:
        dialect = csv.excel
    try:
        return list(islice(csv.reader(io.StringIO(text), dialect), MAX_ROWS + HEADER_SEARCH_ROWS + 2))
    except csv.Error:
        raise FileProblem(_("The CSV file could not be read: check its quotes and separators.")) from None


def _unpacked_size(data: bytes) -> int:
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            return sum(entry.file_size for entry in archive.infolist())
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, ValueError, EOFError):
        raise FileProblem(
            _("The spreadsheet could not be opened. Save it again as .xlsx and retry.")
        ) from None


def _xlsx_table(data: bytes) -> list[list]:
    # The whole workbook is loaded (merged cells need it): refuse one that unpacks to far more than a
    # sheet of MAX_ROWS rows needs, before it is parsed (a zip bomb).
    if _unpacked_size(data) > MAX_UNPACKED_BYTES:
        raise FileProblem(
            _("The file has more than %(max)d rows; import at most %(max)d at a time.", max=MAX_ROWS)
        )
    try:
        book = load_workbook(io.BytesIO(data), data_only=True)
    except Exception:  # openpyxl raises many kinds of error for a damaged workbook
        raise FileProblem(
            _("The spreadsheet could not be opened. Save it again as .xlsx and retry.")
        ) from None
    sheet = book.worksheets[0]
    if sheet.max_row > MAX_ROWS + HEADER_SEARCH_ROWS + 1:
        raise FileProblem(
            _("The file has more than %(max)d rows; import at most %(max)d at a time.", max=MAX_ROWS)
        )
    table = [list(row) for row in sheet.iter_rows(values_only=True)]
    for merged in sheet.merged_cells.ranges:  # the merged value in every cell the range covers
        value = sheet.cell(merged.min_row, merged.min_col).value
        for r in range(merged.min_row, merged.max_row + 1):
            for c in range(merged.min_col, merged.max_col + 1):
                if r - 1 < len(table):
                    cells = table[r - 1]
                    cells.extend([None] * (c - len(cells)))
                    cells[c - 1] = value
    return table


def read(filename: str, data: bytes) -> ReadFile:
    """The rows of an uploaded CSV or XLSX file; raises :class:`FileProblem` when it cannot be read."""
    ext = filename.rsplit(".", 1)[-1].lower() if "." in filename else ""
    if ext not in FORMATS:
        raise FileProblem(_("Upload a .csv or .xlsx file (the template's formats)."))
    if not data:
        raise FileProblem(_("The file is empty."))
    if len(data) > MAX_BYTES:
        raise FileProblem(_("The file is larger than %(mb)d MB.", mb=MAX_BYTES // (1024 * 1024)))
    kind = filetypes.detect(data, ext).kind
    expected = "xlsx" if ext == "xlsx" else "txt"
    if kind is None or kind.name != expected:
        raise FileProblem(_("The file's content is not a .%(ext)s file.", ext=ext))
    return _rows(_xlsx_table(data) if ext == "xlsx" else _csv_table(data))


# --- the template -------------------------------------------------------------------------------------


def header_label(name: str, language: str | None = None) -> str:
    """A column's header in ``language`` ("zh" or "en"; the reader's when None)."""
    english, chinese = COLUMNS[name]
    if language == "zh":
        return chinese
    if language == "en":
        with force_locale("en"):
            return str(english)
    return chinese if str(get_locale() or "en").startswith("zh") else str(english)


def _example(day: date, targets: list[str], communities: list[str]) -> list:
    return [day.isoformat(), activity_names()[0], targets[0] if targets else "", "1", "1", "1.5",
            communities[0] if communities else "", ""]  # fmt: skip


def activity_names(language: str | None = None) -> list[str]:
    """The activity types as the template lists them (their labels in the reader's language)."""
    if language:
        with force_locale(language):
            return [str(label.text) for label in LABELS["activity"].values()]
    return [str(label.text) for label in LABELS["activity"].values()]


def template_csv(language: str, day: date, targets: list[str], communities: list[str]) -> bytes:
    """The CSV template: a BOM (so Excel reads it as UTF-8), the header and one example row."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow([header_label(name, language) for name in COLUMNS])
    with force_locale(language):
        writer.writerow(_example(day, targets, communities))
    return ("\ufeff" + out.getvalue()).encode("utf-8")


def template_xlsx(language: str, day: date, targets: list[str], communities: list[str]) -> bytes:
    """The XLSX template: the header, an example row, and lists of the accepted values (drop-downs)."""
    book = Workbook()
    sheet = book.active
    with force_locale(language):
        sheet.title = _("Service records")
        lists = book.create_sheet(_("Accepted values"))
        sheet.append([header_label(name, language) for name in COLUMNS])
        example = _example(day, targets, communities)
        example[0] = day
        sheet.append(example)
        sheet["A2"].number_format = "yyyy-mm-dd"
        for column, (title, values) in enumerate(
            (
                (header_label("activity_type", language), activity_names()),
                (header_label("target", language), targets),
                (header_label("community", language), communities),
            ),
            start=1,
        ):
            lists.cell(1, column, title)
            for row, value in enumerate(values, start=2):
                lists.cell(row, column, value)
    for letter, column, count in (
        ("B", "A", len(activity_names())),
        ("C", "B", len(targets)),
        ("G", "C", len(communities)),
    ):
        if count:
            check = DataValidation(
                type="list", formula1=f"'{lists.title}'!${column}$2:${column}${count + 1}", allow_blank=True
            )
            check.add(f"{letter}2:{letter}{MAX_ROWS + 1}")
            sheet.add_data_validation(check)
    for letter in "ABCDEFGH":
        sheet.column_dimensions[letter].width = 18
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()

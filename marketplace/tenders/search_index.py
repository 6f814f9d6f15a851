"""The tender search index (docs/search.md): the tokens a tender is found by and the tokens a query
asks for, the column type that stores them, and the schema objects the migration creates for them.

Chinese (and Japanese, Korean) is written without spaces, so it is indexed as Lucene's CJK analyzer
does: every character and every pair of adjacent characters. Other words (Latin letters, digits) are
indexed as the overlapping three-character pieces of each lowercased word, so that any part of a word
of three characters or more can be looked up. The index only narrows: what it returns is a superset of
the substring matches, and ``search`` keeps exactly the substring matches (cheap once narrowed).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass

from sqlalchemy import (
    ColumnElement,
    Connection,
    Integer,
    Select,
    Subquery,
    Text,
    TypeDecorator,
    bindparam,
    cast,
    column,
    func,
    literal_column,
    select,
    table,
)
from sqlalchemy.dialects.postgresql import TSQUERY, TSVECTOR

# Scripts written without spaces: CJK radicals and symbols that are letters (々〆〇), kana, bopomofo,
# Hangul, the unified ideographs with their extensions and compatibility forms.
_CJK = (
    "\u2e80-\u2fdf\u3005-\u3007\u3021-\u3029\u3031-\u3035\u3038-\u303c\u3040-\u30ff\u3100-\u312f"
    "\u3130-\u318f\u31a0-\u31bf\u31f0-\u31ff\u3400-\u4dbf\u4e00-\u9fff\ua960-\ua97f\uac00-\ud7ff"
    "\uf900-\ufaff\uff66-\uff9f\U00020000-\U0003134f"
)
_RUNS = re.compile(rf"([{_CJK}]+)|([^\W_{_CJK}]+)")
WORD_PIECE = 3  # Latin words are indexed as their pieces of this many characters

# The stored token text: the title's, the reference's and the description's tokens, in this order,
# separated by FIELD_BREAK (a separator to every tokenizer: SQLite's FTS5 and PostgreSQL weights).
FIELD_BREAK = "|"
FIELD_WEIGHTS = ("A", "B", "D")  # title, reference, description (ts_rank weighs A highest)

# The PostgreSQL GIN index and the SQLite FTS5 table (created by migration 0016): not in the models'
# metadata, so schema comparison leaves them out (``include_name``).
PG_INDEX = "ix_tenders_search_tokens"
FTS_TABLE = "tender_search"
FTS_TRIGGERS = ("tender_search_ai", "tender_search_ad", "tender_search_au")
FTS_WEIGHTS = (10.0, 1.0)  # bm25's weights of the FTS5 table's columns: the title's tokens, the others'.
# PostgreSQL keeps at most this many positions of one lexeme, and no position above the maximum.
_PG_MAX_POSITIONS = 256
_PG_MAX_POSITION = 16383


def fold(text: str) -> str:
    """Lowercase character by character, as SQL's ``lower()`` does: no final sigma, and a character
    whose lowercase is two (İ) becomes the first, so a word's pieces here are those ``LIKE`` compares."""
    low = text.lower()
    if len(low) == len(text) and "ς" not in low:
        return low
    return "".join(ch.lower()[:1] for ch in text)


def _tokens(text: str) -> Iterator[str]:
    for cjk, word in _RUNS.findall(fold(text)):
        if cjk:
            for i, ch in enumerate(cjk):
                yield ch
                if i + 1 < len(cjk):
                    yield cjk[i : i + 2]
        else:
            for i in range(len(word) - WORD_PIECE + 1):
                yield word[i : i + WORD_PIECE]


def document_tokens(title: str | None, description: str | None, reference: str | None) -> str:
    """The value of ``Tender.search_tokens`` for these texts."""
    fields = (title or "", reference or "", description or "")
    return f" {FIELD_BREAK} ".join(" ".join(_tokens(text)) for text in fields)


@dataclass(frozen=True)
class QueryTerm:
    """One space-separated word of a query: the index tokens a match must all have, and whether
    having them is already the substring match (one or two CJK characters and nothing else)."""

    text: str
    tokens: tuple[str, ...]
    exact: bool


def query_term(text: str) -> QueryTerm:
    tokens: list[str] = []
    runs = _RUNS.findall(fold(text))
    for cjk, word in runs:
        if len(cjk) == 1:
            tokens.append(cjk)
        elif cjk:
            tokens.extend(cjk[i : i + 2] for i in range(len(cjk) - 1))
        else:
            tokens.extend(word[i : i + WORD_PIECE] for i in range(len(word) - WORD_PIECE + 1))
    exact = len(runs) == 1 and runs[0][0] == fold(text) and len(text) <= 2
    return QueryTerm(text, tuple(dict.fromkeys(tokens)), exact)


def fts5_query(tokens: list[str]) -> str:
    """An FTS5 MATCH expression: every token, as a string (tokens never hold a double quote)."""
    return " AND ".join(f'"{t}"' for t in tokens)


def tsquery(tokens: list[str]) -> str:
    """A ``tsquery`` literal: every token, quoted (tokens never hold a quote or a backslash), so
    PostgreSQL's text parser never sees them. A single character is asked as a prefix: the
    ``tsvector`` keeps a character on its own only where no pair starts with it (``tsvector_literal``)."""
    return " & ".join(f"'{t}':*" if len(t) == 1 else f"'{t}'" for t in tokens)


def tsvector_literal(stored: str) -> str:
    """The ``tsvector`` literal of a stored token text, written as a literal so PostgreSQL's text
    parser, which would split or drop some characters (radicals, kana marks), never sees the tokens.

    Kept small, because a search reads it for every row it ranks or checks outside the index: a
    single CJK character is left out where the pair after it starts with it (a one-character search
    is a prefix search, see ``tsquery``), and only the title's (weight A) and the reference's (B)
    tokens keep their positions; the description's tokens have none, which ``ts_rank`` weighs as D."""
    positions: dict[str, list[str]] = {}
    position = 0
    for field, weight in zip(stored.split(FIELD_BREAK), FIELD_WEIGHTS, strict=False):
        tokens = field.split()
        for i, token in enumerate(tokens):
            position = min(position + 1, _PG_MAX_POSITION)
            if (
                len(token) == 1
                and i + 1 < len(tokens)
                and len(tokens[i + 1]) == 2
                and tokens[i + 1][0] == token
            ):
                continue  # a character followed by its pair: found by the pair's prefix
            seen = positions.setdefault(token, [])
            if weight != FIELD_WEIGHTS[-1] and len(seen) < _PG_MAX_POSITIONS:
                seen.append(f"{position}{weight}")
    return " ".join(f"'{token}':{','.join(at)}" if at else f"'{token}'" for token, at in positions.items())


def _pg_query(tokens: list[str]) -> ColumnElement:
    # Written into the statement, not bound: a prepared statement's generic plan would guess one
    # selectivity for every query, and a broad word (75% of the tenders) needs another plan than a
    # rare one. The literal is quoted by SQLAlchemy; the tokens hold no quote anyway.
    return cast(bindparam(None, tsquery(tokens), type_=Text, literal_execute=True), TSQUERY)


def match(stmt: Select, id_column, tokens_column, tokens: list[str], dialect: str) -> Select:
    """``stmt`` narrowed to the rows whose index has every one of ``tokens``: the GIN index over the
    ``tsvector`` on PostgreSQL, the FTS5 table (joined by rowid) on SQLite."""
    if dialect == "postgresql":
        return stmt.where(tokens_column.bool_op("@@")(_pg_query(tokens)))
    fts = table(FTS_TABLE, column("rowid"))
    return stmt.join(fts, fts.c.rowid == id_column).where(
        literal_column(FTS_TABLE).bool_op("MATCH")(fts5_query(tokens))
    )


@dataclass(frozen=True)
class RankedWindow:
    """The matches a ranked search orders: at most ``size`` rows of (id, relevance, tie-breaks,
    ``matched``: the number of rows in the window, counted for free as it is capped anyway)."""

    entity: type
    id_column: ColumnElement
    window: Subquery
    order: tuple[tuple[str, bool], ...]  # (column of the window, descending)

    def _order_by(self, ranked: Subquery) -> list[ColumnElement]:
        return [
            ranked.c[name].desc() if descending else ranked.c[name].asc() for name, descending in self.order
        ]

    def rows(self, offset: int = 0, limit: int | None = None, counted: bool = False) -> Select:
        """The ``entity`` rows, best first (and the window's ``matched`` count with ``counted``). With
        a ``limit``, the window is ordered and cut before the join, so only the page's rows are read
        from ``entity``'s table."""
        ranked = self.window
        if limit is not None:
            ranked = select(ranked).order_by(*self._order_by(ranked)).offset(offset).limit(limit).subquery()
        columns = (self.entity, ranked.c.matched) if counted else (self.entity,)
        return (
            select(*columns)
            .join(ranked, ranked.c[self.id_column.name] == self.id_column)
            .order_by(*self._order_by(ranked))
        )


def rank_window(
    entity,
    matched: Select,
    id_column,
    tokens_column,
    tokens: list[str],
    dialect: str,
    *,
    tiebreaks: tuple,
    size: int,
) -> RankedWindow:
    """The newest ``size`` rows of ``matched`` (narrowed by :func:`match`; highest ids first), to be
    ordered by relevance, best first, then by ``tiebreaks`` (``(column, descending)`` pairs):
    ``ts_rank`` over the ``tsvector`` on PostgreSQL, ``bm25`` of the FTS5 table on SQLite.

    Ranking reads every ranked row's index entry, so a broad search ranks a window of its matches
    rather than all of them (docs/search.md)."""
    tiebreak_columns = [tiebreak.label(f"tiebreak_{i}") for i, (tiebreak, _) in enumerate(tiebreaks)]
    if dialect == "postgresql":
        # Ranked once the window is cut: with a plan that sorts the matches by id, a rank in the
        # window's own SELECT would be computed for every match.
        columns = [id_column, tokens_column.label("tokens"), *tiebreak_columns]
        limited = matched.with_only_columns(*columns).order_by(id_column.desc()).limit(size).subquery()
        relevance = func.ts_rank(limited.c.tokens, _pg_query(tokens))
        kept = [limited.c[id_column.name], *(limited.c[c.name] for c in tiebreak_columns)]
        window = select(*kept, relevance.label("relevance"), func.count().over().label("matched"))
    else:  # bm25() is only known to the SELECT that has the MATCH; lower is better
        relevance = -func.bm25(literal_column(FTS_TABLE), *FTS_WEIGHTS)
        # The FTS5 table walks its matches by rowid, so ordering by its rowid stops after the window.
        newest_first = literal_column(f"{FTS_TABLE}.rowid").desc()
        columns = [id_column, relevance.label("relevance"), *tiebreak_columns]
        limited = matched.with_only_columns(*columns).order_by(newest_first).limit(size).subquery()
        window = select(limited, func.count().over().label("matched"))
    window = window.subquery()
    order = (("relevance", True), *((f"tiebreak_{i}", desc) for i, (_, desc) in enumerate(tiebreaks)))
    return RankedWindow(entity, id_column, window, order)


class SearchTokens(TypeDecorator):
    """``Tender.search_tokens``: the token text (``document_tokens``) on SQLite, where the FTS5 table
    reads it; a weighted ``tsvector`` on PostgreSQL, where a GIN index covers it. Written, never read
    back by the application."""

    impl = Text
    cache_ok = True

    def load_dialect_impl(self, dialect):
        if dialect.name == "postgresql":
            return dialect.type_descriptor(TSVECTOR())
        return dialect.type_descriptor(Text())

    def process_bind_param(self, value: str | None, dialect):
        if value is not None and dialect.name == "postgresql":
            return tsvector_literal(value)
        return value


def include_name(name: str | None, type_: str, parent_names: dict) -> bool:
    """For Alembic's schema comparison: the search index objects the models do not declare."""
    if type_ == "table":
        return not (name or "").startswith(FTS_TABLE)
    if type_ == "index":
        return name != PG_INDEX
    return True


def refill(connection: Connection, batch: int = 1000) -> None:
    """Compute every tender's tokens (migration 0016; again after a change of the tokenizer), in
    batches of ``batch``, past the ORM. On SQLite the triggers carry them to the FTS5 table."""
    tenders = table(
        "tenders",
        column("id", Integer),
        column("title", Text),
        column("description", Text),
        column("reference", Text),
        column("search_tokens", SearchTokens()),
    )
    update = (
        tenders.update()
        .where(tenders.c.id == bindparam("tender_id"))
        .values(search_tokens=bindparam("tokens", type_=SearchTokens()))
    )
    last_id = 0
    while rows := connection.execute(
        select(tenders.c.id, tenders.c.title, tenders.c.description, tenders.c.reference)
        .where(tenders.c.id > last_id)
        .order_by(tenders.c.id)
        .limit(batch)
    ).all():
        tokens = [document_tokens(r.title, r.description, r.reference) for r in rows]
        connection.execute(
            update, [{"tender_id": r.id, "tokens": t} for r, t in zip(rows, tokens, strict=True)]
        )
        last_id = rows[-1].id

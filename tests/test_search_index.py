"""The tender search index (docs/search.md): its tokens, the index kept in step with every change of a
tender's texts, exactly the old substring search's results on a varied corpus, the relevance order,
the capped count and its pages. Runs on SQLite (FTS5) and, with TEST_DATABASE_URL, PostgreSQL (GIN)."""

from __future__ import annotations

import random
import re
from datetime import timedelta
from decimal import Decimal

import pytest
from sqlalchemy import inspect, or_, select, text

from marketplace import clock
from marketplace.extensions import db as _db
from marketplace.tenders import search, search_index
from marketplace.tenders.amendments import amend
from marketplace.tenders.drafting import update_draft
from marketplace.tenders.models import PUBLIC_STATUSES, Tender
from marketplace.tenders.publication import publish
from marketplace.tenders.search import TenderFilters, public_tenders_query
from tests import factories
from tests.factories import deadline_in

# --- the tokens ------------------------------------------------------------------------------------


def test_document_tokens_are_cjk_characters_and_pairs_and_word_pieces():
    tokens = search_index.document_tokens("老年助餐 Meals", "为老人助餐。", "110101-2026-00012")
    title, reference, description = (part.split() for part in tokens.split(search_index.FIELD_BREAK))
    assert title == ["老", "老年", "年", "年助", "助", "助餐", "餐", "mea", "eal", "als"]
    assert reference == ["110", "101", "010", "101", "202", "026", "000", "001", "012"]
    assert description == ["为", "为老", "老", "老人", "人", "人助", "助", "助餐", "餐"]  # 。 is no letter
    # A pair never spans two fields, nor a punctuation mark or a space.
    assert "餐为" not in tokens and "人助" in tokens
    assert "餐为" not in search_index.document_tokens("助餐", "为", "")


def test_query_terms_say_when_the_index_answers_exactly():
    assert search_index.query_term("助") == search_index.QueryTerm("助", ("助",), True)
    assert search_index.query_term("助餐") == search_index.QueryTerm("助餐", ("助餐",), True)
    # Longer phrases, Latin words and anything mixed are narrowed by the index, then checked.
    phrase = search_index.QueryTerm("居家养老", ("居家", "家养", "养老"), False)
    assert search_index.query_term("居家养老") == phrase
    assert search_index.query_term("MEAL") == search_index.QueryTerm("MEAL", ("mea", "eal"), False)
    assert search_index.query_term("助餐。") == search_index.QueryTerm("助餐。", ("助餐",), False)
    # Nothing to look up: the word is checked as a substring of everything.
    assert search_index.query_term("IT").tokens == () and search_index.query_term("%").tokens == ()


def test_folding_is_character_by_character_as_sql_lower():
    assert search_index.fold("ΟΔΟΣ") == "οδοσ"  # no final sigma, as PostgreSQL's lower()
    assert search_index.fold("İstanbul") == "istanbul"
    assert search_index.fold("MEAL 助餐") == "meal 助餐"


def test_the_postgresql_vector_leaves_out_characters_their_pairs_cover():
    stored = search_index.document_tokens("助餐", "老人助", "")
    assert search_index.tsvector_literal(stored) == "'助餐':2A '餐':3A '老人' '人助' '助'"
    assert search_index.tsquery(["助", "助餐"]) == "'助':* & '助餐'"


# --- the index follows every change ----------------------------------------------------------------


def _ids(**filters) -> list[int]:
    """The search page's results (best match first unless a sort is given)."""
    filters.setdefault("sort", search.BEST_MATCH)
    return [t.id for t in _db.session.scalars(public_tenders_query(TenderFilters(**filters)))]


def test_the_index_follows_drafting_publication_and_amendment(world, db):
    officer = world["officer"]
    t = factories.draft(officer, title="草稿标题 Draft", description="最初的说明")
    update_draft(t, factories.tender_input(title="助浴服务 Bathing", description="上门助浴"), officer)
    publish(t, officer, confirm_not_excluded=True)
    db.session.flush()
    assert _ids(q="助浴") == [t.id] and _ids(q="bathing") == [t.id]
    assert _ids(q="草稿") == [] and _ids(q="最初") == []
    assert _ids(q=t.reference) == [t.id] and _ids(q=t.reference[-5:]) == [t.id]  # set at publication
    amend(t, {"reason": "说明更正", "description": "改为上门助餐 Meals at home"}, officer)
    db.session.flush()
    assert _ids(q="助餐") == [t.id] and _ids(q="meals") == [t.id]
    assert _ids(q="上门助浴") == []
    db.session.commit()  # a savepoint: the index follows committed changes as well
    assert _ids(q="改为") == [t.id]


def test_the_index_objects_exist(db):
    connection = db.session.connection()
    if connection.dialect.name == "postgresql":
        indexes = {ix["name"] for ix in inspect(connection).get_indexes("tenders")}
        assert search_index.PG_INDEX in indexes
        return
    # A migration that rebuilds the tenders table (batch mode) drops its triggers: it must make them
    # again, or the FTS5 table falls behind.
    triggers = set(connection.scalars(text("SELECT name FROM sqlite_master WHERE type = 'trigger'")))
    assert set(search_index.FTS_TRIGGERS) <= triggers


def test_refill_computes_every_tenders_tokens_again(world, db):
    t = _corpus_tender(world, 1, "助浴服务", "Bathing help")
    db.session.flush()
    db.session.execute(text("UPDATE tenders SET search_tokens = ''"))  # as a bulk load past the ORM
    assert _ids(q="助浴") == [] and _ids(q="bathing") == []
    search_index.refill(db.session.connection(), batch=1)
    assert _ids(q="助浴") == [t.id] and _ids(q="bathing") == [t.id]


def test_a_deleted_tender_leaves_the_index(world, db):
    t = _corpus_tender(world, 1, "独有标题", "独有说明")
    db.session.flush()
    assert _ids(q="独有") == [t.id]
    db.session.execute(text("DELETE FROM tenders WHERE id = :id"), {"id": t.id})
    db.session.expunge(t)
    assert _ids(q="独有") == []
    if db.session.connection().dialect.name == "sqlite":
        fts = search_index.FTS_TABLE
        rows = db.session.execute(text(f"SELECT rowid FROM {fts} WHERE {fts} MATCH :q"), {"q": '"独有"'})
        assert rows.all() == []


# --- exactly the substring search ------------------------------------------------------------------

CHINESE = [
    "居家养老",
    "上门服务",
    "老年助餐",
    "助浴",
    "心理疏导",
    "普惠托育",
    "康复训练",
    "残疾人",
    "服务项目",
    "东城区",
    "和平里街道",
    "二〇二六年",
    "第3期",
    "3.5万元",
    "（一）",
    "【公告】",
    "人人",
    "々",
    "ケアプラン",
    "복지관",
    "𠀀𠀁",
    "⺮部",
    "助餐服务中心",
    "养老服务驿站",
]
LATIN = [
    "Meal",
    "meals",
    "service",
    "Services",
    "healthcare",
    "care",
    "CARE",
    "Elderly",
    "rehabilitation",
    "day-care",
    "e-mail",
    "co-op",
    "Zoë",
    "naïve",
    "ΟΔΟΣ",
    "οδός",
    "Straße",
    "İstanbul",
    "ＡＢＣ１２３",
    "x",
    "IT",
    "5G",
    "a_b",
    "50%",
    "No.12",
    "O'Brien",
    "2026",
]
SEPARATORS = ["", "", " ", "，", "、", "。", "-", "·", "/", "\n", "：", " - "]


def _text(rng: random.Random, pieces: int) -> str:
    words = [rng.choice(CHINESE if rng.random() < 0.6 else LATIN) for _ in range(pieces)]
    out = words[0] if words else ""
    for word in words[1:]:
        out += rng.choice(SEPARATORS) + word
    return out


def _corpus_tender(world, i: int, title: str, description: str, status: str = "open") -> Tender:
    t = Tender(
        title=title[:200],
        description=description,
        reference=f"110101-2026-{i:05d}",
        category="elderly_care" if i % 3 else "childcare",
        agency_id=world["agency"].id,
        district_code="110101",
        method="public_tender",
        evaluation_method="comprehensive_scoring",
        budget_ceiling=Decimal(100000 + 1000 * (i % 50)),
        funding_sources=["county_budget"],
        contract_term_months=12,
        bid_deadline=deadline_in(20 + i % 40),
        status=status,
        published_at=clock.now(),
        created_by_id=world["officer"].id,
    )
    _db.session.add(t)
    return t


@pytest.fixture
def corpus(world, db) -> list[Tender]:
    rng = random.Random(16)
    statuses = ["open"] * 8 + ["cancelled", "draft"]
    tenders = []
    for i in range(1, 301):
        title, description = _text(rng, rng.randint(1, 4)), _text(rng, rng.randint(0, 12))
        tenders.append(_corpus_tender(world, i, title, description, rng.choice(statuses)))
    db.session.flush()
    return tenders


def _substring_ids(q: str, **filters) -> set[int]:
    """The search before the index: every word a substring of the title, description or reference."""
    stmt = select(Tender.id).where(Tender.status.in_(PUBLIC_STATUSES))
    for term in q.split()[: search.MAX_SEARCH_WORDS]:
        stmt = stmt.where(
            or_(
                Tender.title.icontains(term, autoescape=True),
                Tender.description.icontains(term, autoescape=True),
                Tender.reference.icontains(term, autoescape=True),
            )
        )
    if "category" in filters:
        stmt = stmt.where(Tender.category == filters["category"])
    return set(_db.session.scalars(stmt))


def _queries(tenders: list[Tender]) -> list[str]:
    rng = random.Random(1600)
    texts = [f"{t.title}\n{t.description}\n{t.reference}" for t in tenders]
    chars = sorted({ch for s in texts for ch in s if re.match(f"[{search_index._CJK}]", ch)})
    queries = list(chars)  # every CJK character of the corpus
    for length, count in ((2, 80), (3, 40), (4, 30), (6, 20)):  # substrings of the texts
        for _ in range(count):
            s = rng.choice(texts)
            if len(s) > length:
                start = rng.randrange(len(s) - length)
                queries.append(s[start : start + length])
    for word in LATIN:  # Latin words, their cases, prefixes and inner parts
        queries += [word, word.lower(), word.upper(), word[:3], word[1:4], word[-3:], word[:1]]
    queries += ["110101-2026-00012", "2026-0001", "00012", "110101", "-2026-", "%", "_", "-", "/", "100%"]
    queries += ["不存在的词", "zzzq", "养老服务驿站运营", "助餐 care", "助 餐", "MEAL 助餐", "care 居家 2026"]
    words = [q for q in queries if q.strip()]
    queries += [f"{rng.choice(words)} {rng.choice(words)}" for _ in range(60)]
    return [q for q in dict.fromkeys(queries) if q.split()]


def test_the_index_finds_exactly_what_the_substring_search_found(corpus, db):
    queries = _queries(corpus)
    assert len(queries) > 400
    wrong = {}
    for q in queries:
        expected = _substring_ids(q)
        found = _ids(q=q)
        if set(found) != expected or len(found) != len(expected):
            wrong[q] = (sorted(expected - set(found)), sorted(set(found) - expected))
    assert wrong == {}, f"{len(wrong)} queries differ (missing, extra): {wrong}"


def test_sorted_and_filtered_searches_find_the_same(corpus, db):
    for q in ["助", "助餐", "居家养老", "care", "2026", "x", "ΟΔΟΣ", "助餐 care"]:
        expected = _substring_ids(q, category="elderly_care")
        assert set(_ids(q=q, category="elderly_care", sort="deadline")) == expected, q
        assert set(_ids(q=q, category="elderly_care")) == expected, q
        page = search.search_page(TenderFilters(q=q, category="elderly_care", sort=""), 1, 500)
        assert page.total == len(expected) and {t.id for t in page.items} == expected, q


# --- relevance, the count, the pages ---------------------------------------------------------------


def test_title_matches_come_first_then_the_soonest_deadline(world, db):
    in_description = _corpus_tender(world, 1, "社区服务", "提供助餐服务")
    later_title = _corpus_tender(world, 2, "老年助餐服务", "社区服务")
    sooner_title = _corpus_tender(world, 3, "老年助餐服务", "社区服务")
    sooner_title.bid_deadline = later_title.bid_deadline - timedelta(days=1)
    db.session.flush()
    assert _ids(q="助餐") == [sooner_title.id, later_title.id, in_description.id]
    assert _ids(q="助餐", sort="-deadline")[0] == later_title.id  # a sort chosen still wins


def test_a_broad_search_ranks_its_newest_matches(world, db, monkeypatch):
    monkeypatch.setattr(search, "RANK_WINDOW", 3)
    monkeypatch.setattr(search, "COUNT_CAP", 2)
    tenders = [_corpus_tender(world, i, "助餐" * (6 - i), "说明") for i in range(1, 6)]
    db.session.flush()
    newest = sorted((t.id for t in tenders), reverse=True)[:3]
    assert set(_ids(q="助餐")) == set(newest)  # the oldest, best titles, are past the window
    # Every match, with a sort chosen.
    assert len(_ids(q="助餐", sort="deadline")) == 5


def test_the_count_stops_at_the_cap_and_the_pages_go_on(client, world, db, monkeypatch):
    monkeypatch.setattr(search, "COUNT_CAP", 5)
    monkeypatch.setattr(search, "RANK_WINDOW", 6)
    monkeypatch.setattr(search, "RECENT_SPAN", 4)  # PostgreSQL looks among the newest first
    for i in range(1, 13):
        _corpus_tender(world, i, f"助餐项目 {i:02d}", "说明")
    db.session.commit()
    first = client.get("/tenders?q=助餐项目&per_page=2")  # a phrase: several tokens
    assert first.status_code == 200 and b"More than 5 tenders found" in first.data
    assert b'id="ranking-note"' in first.data  # says the best matches come from the newest
    assert b"page=2" in first.data and b"page=3" in first.data
    pages = [client.get(f"/tenders?q=助餐项目&per_page=2&page={p}") for p in (1, 2, 3, 4)]
    ranked = [page.get_data(as_text=True) for page in pages]
    shown = [re.findall(r"助餐项目 (\d\d)", page) for page in ranked]
    assert [len(s) for s in shown] == [2, 2, 2, 0]  # the ranked window: the newest 6
    assert sorted(n for s in shown for n in s) == [f"{i:02d}" for i in range(7, 13)]
    deep = client.get("/tenders?q=助餐项目&per_page=2&page=6&sort=deadline")  # a sort pages past the cap
    assert deep.status_code == 200 and len(re.findall(r"助餐项目 \d\d", deep.get_data(as_text=True))) == 2
    assert b"page=5" in deep.data and b"More than 5" in deep.data and b"ranking-note" not in deep.data
    exact = client.get("/tenders?q=助餐项目&category=childcare")  # 3, 6, 9, 12: counted exactly
    assert b"4 tenders found" in exact.data


def test_page_numbers_with_a_capped_count():
    page = search.ResultPage(items=[], page=1, per_page=20, total=search.COUNT_CAP + 1, has_next=True)
    assert page.capped and page.pages == 50
    assert list(page.iter_pages()) == [1, 2, 3, 4, 5, None]
    page = search.ResultPage(items=[], page=60, per_page=20, total=search.COUNT_CAP + 1, has_next=True)
    assert page.pages == 61 and list(page.iter_pages()) == [1, 2, None, 58, 59, 60, 61]
    page = search.ResultPage(items=[], page=3, per_page=20, total=130, has_next=True)
    assert not page.capped and list(page.iter_pages()) == [1, 2, 3, 4, 5, 6, 7]

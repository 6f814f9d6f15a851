"""Service recipients' satisfaction surveys: one public survey per contract, answered without logging in.

Abuse is contained in layers: the survey page is rate limited per address (``SURVEY_RATE_LIMIT``, in
the view), one response per device (a long-lived random cookie, stored only as a keyed hash), answers
only while the contract is active, and free-text comments are screened (too long, or containing a
link) before officers see them. Neither the address nor the device token is stored in clear.

Responses are anonymous by design, so answering writes no audit event: the response row is the record.
"""

from __future__ import annotations

import hashlib
import re
import secrets
import unicodedata
from dataclasses import dataclass, field
from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from marketplace import clock
from marketplace.audit import log as audit
from marketplace.contracts.models import Contract
from marketplace.contracts.personal_data import looks_like_identity_number, looks_like_phone_number
from marketplace.contracts.policy import is_buyer, is_supplier
from marketplace.core.errors import RuleViolation
from marketplace.core.messages import N_
from marketplace.core.schemas import load
from marketplace.extensions import db
from marketplace.performance.models import Survey, SurveyResponse
from marketplace.performance.schemas import QUESTIONS, SurveyAnswerInputSchema

DEVICE_TOKEN = re.compile(r"^[A-Za-z0-9_-]{16,100}$")
TWO_PLACES = Decimal("0.01")

_LINK = re.compile(
    r"https?://|www\.|"
    # a domain-like word: name.tld, for the top-level domains link spam uses around here
    r"\b[a-z0-9][a-z0-9-]*(?:\.[a-z0-9-]+)*\.(?:com|cn|net|org|info|top|xyz|io|cc|co|me|vip|shop|site"
    r"|online|gov|edu|biz|tk|ru|hk|tw|us|uk|de|jp|app|link|club|wang|ltd|xin|live|fun|icu|work)\b",
    re.IGNORECASE,
)


def new_device_token() -> str:
    return secrets.token_urlsafe(32)


def is_device_token(value: str | None) -> bool:
    return bool(value) and DEVICE_TOKEN.match(value) is not None


def _keyed_hash(value: str) -> str:
    secret = current_app.config["SECRET_KEY"]
    return hashlib.sha256(f"{secret}\x00{value}".encode()).hexdigest()


def find_survey(contract: Contract) -> Survey | None:
    return db.session.scalar(select(Survey).where(Survey.contract_id == contract.id))


def survey_for(contract: Contract) -> Survey:
    """The contract's survey, created (with its unguessable key) the first time it is asked for."""
    survey = find_survey(contract)
    if survey is None:
        survey = Survey(contract_id=contract.id, key=secrets.token_urlsafe(24), created_at=clock.now())
        db.session.add(survey)
        db.session.flush()
    return survey


def may_make_survey(contract: Contract, user) -> bool:
    """A party to an active contract may make its survey link."""
    return contract.is_active and (is_buyer(user, contract) or is_supplier(user, contract))


def make_survey(contract: Contract, actor) -> Survey:
    """Make the contract's survey link (its unguessable key), audited; idempotent."""
    if not may_make_survey(contract, actor):
        raise RuleViolation(_("Only the parties to an active contract can make its survey link."))
    survey = find_survey(contract)
    if survey is not None:
        return survey
    survey = survey_for(contract)
    audit.record(
        actor,
        "survey.create",
        "contract",
        contract.id,
        N_("Satisfaction survey link made for contract %(id)s"),
        {"survey_id": survey.id},
        tender_id=contract.tender_id,
        params={"id": contract.id},
    )
    return survey


def by_key(key: str) -> Survey | None:
    if not key or len(key) > 40:
        return None
    return db.session.scalar(select(Survey).where(Survey.key == key))


def is_open(survey: Survey) -> bool:
    return survey.contract.is_active


def answered(survey: Survey, device_token: str) -> bool:
    """Whether this device already answered the survey."""
    return (
        db.session.scalar(
            select(SurveyResponse.id).where(
                SurveyResponse.survey_id == survey.id, SurveyResponse.device_hash == _keyed_hash(device_token)
            )
        )
        is not None
    )


def screen(comment: str) -> str:
    """'none', 'shown' or 'held': long comments and anything that looks like a link wait for review."""
    if not comment:
        return "none"
    if len(comment) > current_app.config["SURVEY_COMMENT_MAX"]:
        return "held"
    # Full-width letters and dots (ｗｗｗ．…) fold to ASCII; the ideographic full stop counts as a dot.
    folded = unicodedata.normalize("NFKC", comment).replace("\u3002", ".")
    return "held" if _LINK.search(folded) else "shown"


def answer(
    survey: Survey, answers: dict, comment: str | None, device_token: str, address: str
) -> SurveyResponse:
    """Record one recipient's answers. Refused when the contract is not active or the device answered."""
    if not is_open(survey):
        raise RuleViolation(_("This survey is closed: the service contract is not running any more."))
    if not is_device_token(device_token):
        raise RuleViolation(_("Your browser must accept cookies to answer this survey."))
    data = load(SurveyAnswerInputSchema(), {**(answers or {}), "comment": comment})
    comment = data.pop("comment")
    checked = {key: data[key] for key, _label in QUESTIONS}
    device_hash = _keyed_hash(device_token)
    if answered(survey, device_token):
        raise RuleViolation(_("This survey was already answered from this device."))
    mean = (Decimal(sum(checked.values())) / len(checked)).quantize(TWO_PLACES, ROUND_HALF_UP)
    response = SurveyResponse(
        survey_id=survey.id,
        submitted_at=clock.now(),
        answers=checked,
        mean=mean,
        comment=comment,
        comment_status=screen(comment),
        device_hash=device_hash,
        address_hash=_keyed_hash(address or ""),
    )
    try:
        with db.session.begin_nested():  # two simultaneous submissions from one device: one wins
            db.session.add(response)
    except IntegrityError:
        raise RuleViolation(_("This survey was already answered from this device.")) from None
    return response


# --- results --------------------------------------------------------------------------------------


@dataclass
class Comment:
    text: str
    submitted_at: datetime


@dataclass
class SurveyResults:
    count: int = 0
    overall: Decimal | None = None  # mean of all answers to all questions
    by_question: dict[str, Decimal | None] = field(default_factory=dict)
    comments: list[Comment] = field(default_factory=list)  # shown ones, newest first
    held: int = 0  # comments held by screening (counted, not shown)


def _mean(total: int, n: int) -> Decimal | None:
    return (Decimal(total) / n).quantize(TWO_PLACES, ROUND_HALF_UP) if n else None


def results(survey: Survey | None) -> SurveyResults:
    """A contract's aggregated answers, its screened comments and how many comments are held."""
    out = SurveyResults(by_question={key: None for key, _label in QUESTIONS})
    if survey is None:
        return out
    rows = db.session.execute(
        select(
            SurveyResponse.answers,
            SurveyResponse.comment,
            SurveyResponse.comment_status,
            SurveyResponse.submitted_at,
        )
        .where(SurveyResponse.survey_id == survey.id)
        .order_by(SurveyResponse.submitted_at.desc(), SurveyResponse.id.desc())
    ).all()
    totals = {key: [0, 0] for key, _label in QUESTIONS}
    for answers, comment, status, submitted_at in rows:
        for key, value in (answers or {}).items():
            if key in totals:
                totals[key][0] += int(value)
                totals[key][1] += 1
        # A comment stored before personal details were refused is held, never shown verbatim.
        personal = looks_like_phone_number(comment) or looks_like_identity_number(comment)
        if status == "shown" and not personal:
            out.comments.append(Comment(comment, submitted_at))
        elif status in ("shown", "held"):
            out.held += 1
    out.count = len(rows)
    out.by_question = {key: _mean(*totals[key]) for key in totals}
    out.overall = _mean(sum(t for t, _n in totals.values()), sum(n for _t, n in totals.values()))
    return out


@dataclass
class Satisfaction:
    count: int
    mean: Decimal | None  # mean of the responses' means, 1-5


def organization_satisfaction(organization_id: int) -> Satisfaction:
    """All responses to surveys of the organization's contracts, each response weighing the same."""
    count, mean = db.session.execute(
        select(func.count(SurveyResponse.id), func.avg(SurveyResponse.mean))
        .join(Survey, Survey.id == SurveyResponse.survey_id)
        .join(Contract, Contract.id == Survey.contract_id)
        .where(Contract.organization_id == organization_id)
    ).one()
    return Satisfaction(
        int(count or 0), Decimal(str(mean)).quantize(TWO_PLACES, ROUND_HALF_UP) if count else None
    )

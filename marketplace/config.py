"""Configuration. The only module that reads ``os.environ``."""

from __future__ import annotations

import base64
import os
from pathlib import Path

from werkzeug.utils import import_string

from marketplace.core.keyring import check_keys


class ConfigError(RuntimeError):
    """The environment does not describe a runnable app."""


def _bool(value: str | None, default: bool = False) -> bool:
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def _int(name: str, default: int) -> int:
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        return int(raw)
    except ValueError as exc:
        raise ConfigError(f"{name} must be a whole number, got {raw!r}") from exc


def _database_url(instance_path: Path) -> str:
    url = os.environ.get("DATABASE_URL")
    if not url:
        return f"sqlite:///{instance_path / 'marketplace.sqlite3'}"
    return _with_driver(url)


def _replica_binds() -> dict:
    """``DATABASE_REPLICA_URL``: a read replica for public pages and exports (core/replica.py)."""
    url = os.environ.get("DATABASE_REPLICA_URL")
    return {"replica": _with_driver(url)} if url else {}


def _with_driver(url: str) -> str:
    # Hosting platforms often hand out postgres:// or postgresql:// URLs; we use psycopg 3.
    if url.startswith("postgres://"):
        url = "postgresql+psycopg://" + url[len("postgres://") :]
    elif url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url[len("postgresql://") :]
    return url


def load_config(instance_path: str, overrides: dict | None = None) -> dict:
    """Build the configuration dict from the environment, then apply ``overrides``.

    ``overrides`` comes from ``create_app(config=...)``; tests use it. When it sets ``TESTING``,
    the environment's ``SECRET_KEY`` requirement is waived.
    """
    overrides = dict(overrides or {})
    env = overrides.get("ENV") or os.environ.get("MARKETPLACE_ENV", "production")
    testing = bool(overrides.get("TESTING", False))
    instance = Path(instance_path)
    mail_use_ssl = _bool(os.environ.get("MAIL_USE_SSL"), False)
    # Cookies Secure and HSTS by default in production (not under tests); the environment may say otherwise.
    production = env == "production" and not testing
    session_cookie_secure = _bool(os.environ.get("SESSION_COOKIE_SECURE"), production)

    config: dict = {
        "ENV": env,
        "TESTING": testing,
        "SECRET_KEY": os.environ.get("SECRET_KEY"),
        "SQLALCHEMY_DATABASE_URI": _database_url(instance),
        "SQLALCHEMY_BINDS": _replica_binds(),
        # Anonymous GETs of these blueprints read from the replica when there is one (core/replica.py).
        "REPLICA_BLUEPRINTS": ("tenders", "transparency", "ocds", "api_ocds_feed", "api_public"),
        "SQLALCHEMY_ENGINE_OPTIONS": {"pool_pre_ping": True},
        "SQLALCHEMY_RECORD_QUERIES": False,
        "TIMEZONE": os.environ.get("TIMEZONE", "Asia/Shanghai"),
        "BABEL_DEFAULT_LOCALE": os.environ.get("DEFAULT_LOCALE", "zh_CN"),
        "BABEL_DEFAULT_TIMEZONE": os.environ.get("TIMEZONE", "Asia/Shanghai"),
        "LANGUAGES": ["zh_CN", "en"],
        "UPLOAD_FOLDER": os.environ.get("UPLOAD_FOLDER", str(instance / "uploads")),
        # 20 MiB per request: a tender document or bid attachment, never more.
        "MAX_CONTENT_LENGTH": _int("MAX_CONTENT_LENGTH", 20 * 1024 * 1024),
        "ALLOWED_DOCUMENT_EXTENSIONS": {"pdf", "png", "jpg", "jpeg", "doc", "docx", "xls", "xlsx", "txt"},
        # Uploads (docs/security.md, "Uploads"): scanned by clamd when set (a unix socket path or
        # tcp://host:port), refused when clamd cannot be reached; files no row refers to are deleted
        # by the sweep-uploads job once older than UPLOAD_ORPHAN_HOURS.
        "CLAMD_SOCKET": os.environ.get("CLAMD_SOCKET") or None,
        "CLAMD_TIMEOUT": _int("CLAMD_TIMEOUT", 30),
        "UPLOAD_ORPHAN_HOURS": _int("UPLOAD_ORPHAN_HOURS", 24),
        "WTF_CSRF_ENABLED": True,
        "WTF_CSRF_TIME_LIMIT": None,
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SAMESITE": "Lax",
        "SESSION_COOKIE_SECURE": session_cookie_secure,
        "REMEMBER_COOKIE_HTTPONLY": True,
        "REMEMBER_COOKIE_SAMESITE": "Lax",
        "REMEMBER_COOKIE_SECURE": _bool(os.environ.get("REMEMBER_COOKIE_SECURE"), session_cookie_secure),
        # Security headers (core/security_headers.py): Strict-Transport-Security's max-age on HTTPS responses
        # (0: none; a year in production); FORCE_HTTPS redirects plain HTTP in the app (off: the proxy does).
        "HSTS_MAX_AGE": _int("HSTS_MAX_AGE", 31536000 if production else 0),
        "FORCE_HTTPS": _bool(os.environ.get("FORCE_HTTPS"), False),
        "BOOTSTRAP_SERVE_LOCAL": True,
        "RATELIMIT_ENABLED": _bool(os.environ.get("RATELIMIT_ENABLED"), True),
        # Rate limits shared by every process on REDIS_URL (each process its own under tests or without it).
        "RATELIMIT_STORAGE_URI": os.environ.get("RATELIMIT_STORAGE_URI")
        or (os.environ.get("REDIS_URL") if not testing else "")
        or "memory://",
        "RATELIMIT_HEADERS_ENABLED": True,
        "LOGIN_RATE_LIMIT": os.environ.get("LOGIN_RATE_LIMIT", "10 per minute"),
        # The JSON API (docs/api.md): requests per personal API token, and per address without one.
        "API_RATE_LIMIT": os.environ.get("API_RATE_LIMIT", "600 per minute"),
        "API_ANONYMOUS_RATE_LIMIT": os.environ.get("API_ANONYMOUS_RATE_LIMIT", "120 per minute"),
        # flask-smorest: the OpenAPI 3 document at /api/v1/openapi.json (marketplace/api/registry.py).
        "API_TITLE": "Public Service Procurement API",
        "API_VERSION": "v1",
        "OPENAPI_VERSION": "3.0.3",
        "OPENAPI_URL_PREFIX": "/api/v1",
        "OPENAPI_JSON_PATH": "openapi.json",
        # Public satisfaction surveys: answers per address, the longest comment shown without review.
        "SURVEY_RATE_LIMIT": os.environ.get("SURVEY_RATE_LIMIT", "30 per minute"),
        "SURVEY_COMMENT_MAX": _int("SURVEY_COMMENT_MAX", 500),
        # Share of the final milestone's amount held back while the ex-post grade is poor (差).
        "FINAL_PAYMENT_HOLDBACK_SHARE": os.environ.get("FINAL_PAYMENT_HOLDBACK_SHARE", "0.10"),
        # A bid's receipt time is when its request reached the server (docs/bidding.md). Behind our own
        # reverse proxy, the header it stamps the arrival in (nginx: X-Request-Start "t=$msec"); unset,
        # the application's own stamp at the start of the request. A header more than MAX_AGE seconds
        # older than our stamp (or in the future) is ignored.
        "TRUSTED_PROXY_TIME_HEADER": os.environ.get("TRUSTED_PROXY_TIME_HEADER", ""),
        "TRUSTED_PROXY_TIME_MAX_AGE": _int("TRUSTED_PROXY_TIME_MAX_AGE", 30),
        # The bids are opened this many seconds after the deadline, once every request that arrived
        # before it has been processed: keep it at least the proxy header's MAX_AGE plus the web
        # workers' request timeout (deploy/gunicorn.conf.py, 60 s).
        "BID_OPENING_GRACE_SECONDS": _int("BID_OPENING_GRACE_SECONDS", 90),
        # Sealed bids (docs/bidding.md, "Encryption"): the platform's wrapping keys (Fernet, comma-separated,
        # newest first; required in production, derived from SECRET_KEY otherwise); how long the
        # officers have to contribute their shares after the opening time; how many officers' shares
        # (with the platform's part) open a tender's bids; the cost of an officer's passphrase (scrypt,
        # log2 N) and its least length.
        "BID_KEY_WRAPPING_KEYS": [
            k.strip() for k in os.environ.get("BID_KEY_WRAPPING_KEYS", "").split(",") if k.strip()
        ],
        "BID_DECRYPTION_WINDOW_MINUTES": _int("BID_DECRYPTION_WINDOW_MINUTES", 60),
        "BID_OPENING_OFFICERS_REQUIRED": _int("BID_OPENING_OFFICERS_REQUIRED", 2),
        "OPENING_KEY_SCRYPT_LOG_N": _int("OPENING_KEY_SCRYPT_LOG_N", 15),
        "OPENING_PASSPHRASE_MIN_LENGTH": _int("OPENING_PASSPHRASE_MIN_LENGTH", 12),
        "PER_PAGE": _int("PER_PAGE", 20),
        "MAX_PER_PAGE": 100,
        # Procedure profile overrides: {"public_tender": {"min_days": 25}} (provinces set their own).
        "PROCEDURE_OVERRIDES": {},
        # Rule numbers of DOMAIN.md (docs/rules.md), the rule as the default:
        # a substantive clarification or amendment: days before the deadline, at least (IR 31; O87 27);
        "AMENDMENT_NOTICE_DAYS": _int("AMENDMENT_NOTICE_DAYS", 15),
        # the award notice period, and the challenge window after it, in working days (O87 69; GPL 52; IR 53);
        "AWARD_NOTICE_PERIOD_WORKING_DAYS": _int("AWARD_NOTICE_PERIOD_WORKING_DAYS", 1),
        "CHALLENGE_WINDOW_WORKING_DAYS": _int("CHALLENGE_WINDOW_WORKING_DAYS", 7),
        # value increases by variations, as a share of the original contract value, at most (GPL 49);
        "VARIATION_CAP_SHARE": os.environ.get("VARIATION_CAP_SHARE", "0.10"),
        # a contract term: this many months, longer only with a written justification, never past the maximum
        # (O102 art 24: multi-year service contracts up to 3 years);
        "CONTRACT_TERM_DEFAULT_MONTHS": _int("CONTRACT_TERM_DEFAULT_MONTHS", 12),
        "CONTRACT_TERM_MAX_MONTHS": _int("CONTRACT_TERM_MAX_MONTHS", 36),
        # performance grades: the lowest total (of 100) of excellent 优, good 良 and fair 中; below: poor 差
        # (财预〔2020〕10号 and the ministry's practice for purchased services).
        "PERFORMANCE_GRADE_FLOORS": {"excellent": 90, "good": 80, "fair": 60},
        # Money sanity bound: no single public-service tender on this platform exceeds this (CNY).
        "MAX_BUDGET": _int("MAX_BUDGET", 1_000_000_000),
        # C46: small and micro organizations' prices are reduced by 10-20 % for scoring (unreserved tenders).
        "SMALL_ORG_PRICE_DEDUCTION": os.environ.get("SMALL_ORG_PRICE_DEDUCTION", "0.10"),
        # O87 60: a price below this share of the mean valid price is abnormally low (needs a justification).
        "ABNORMALLY_LOW_RATIO": os.environ.get("ABNORMALLY_LOW_RATIO", "0.80"),
        # Training clock (training/, issue 20): in development and in a TRAINING_MODE deployment (a sandbox
        # for training, never the live platform) an admin may move the platform's clock forward; each
        # process reads the offset from the database at most every TRAINING_CLOCK_CACHE_SECONDS.
        "TRAINING_MODE": _bool(os.environ.get("TRAINING_MODE"), False),
        "TRAINING_CLOCK_CACHE_SECONDS": _int("TRAINING_CLOCK_CACHE_SECONDS", 2),
        "SCHEDULER_ENABLED": _bool(os.environ.get("SCHEDULER_ENABLED"), False),
        # Scheduled jobs: how often each runs (seconds), and the notice periods they apply.
        "JOB_FAST_INTERVAL": _int("JOB_FAST_INTERVAL", 60),  # open-bids, finalize-awards
        "JOB_SLOW_INTERVAL": _int("JOB_SLOW_INTERVAL", 600),  # flag-overdue, reminders, contract deadlines
        # How often new audit events are sealed into the hash chain (seconds; docs/audit.md).
        "AUDIT_SEAL_INTERVAL": _int("AUDIT_SEAL_INTERVAL", 5),
        # The audit chain's key (docs/audit.md, "Keys"): an HMAC key for every event hash and head,
        # required in production, derived from SECRET_KEY otherwise; never change it (the chain would
        # no longer verify). The published heads: signed with AUDIT_HEAD_SIGNING_KEY (Ed25519, 32 bytes
        # base64; derived from the chain key when unset), written to AUDIT_HEADS_DIR, checked for a moved
        # head every AUDIT_PUBLISH_INTERVAL seconds.
        "AUDIT_CHAIN_KEY": os.environ.get("AUDIT_CHAIN_KEY", ""),
        "AUDIT_HEAD_SIGNING_KEY": os.environ.get("AUDIT_HEAD_SIGNING_KEY", ""),
        "AUDIT_HEADS_DIR": os.environ.get("AUDIT_HEADS_DIR", str(instance / "audit-heads")),
        "AUDIT_PUBLISH_INTERVAL": _int("AUDIT_PUBLISH_INTERVAL", 3600),
        "JOB_LOCK_SECONDS": _int("JOB_LOCK_SECONDS", 900),  # a crashed run's lock row expires after this
        # prune-operational (every JOB_PRUNE_INTERVAL seconds): run log rows, read notifications and
        # expired export tasks older than these many days, and idle login throttle rows, are deleted.
        "JOB_PRUNE_INTERVAL": _int("JOB_PRUNE_INTERVAL", 86400),
        # saved-search-alerts (alerts/digest.py): the daily inbox alerts and email digest of saved searches.
        "SAVED_SEARCH_ALERT_INTERVAL": _int("SAVED_SEARCH_ALERT_INTERVAL", 86400),
        "JOB_RUN_RETENTION_DAYS": _int("JOB_RUN_RETENTION_DAYS", 90),
        "NOTIFICATION_RETENTION_DAYS": _int("NOTIFICATION_RETENTION_DAYS", 365),
        "EXPORT_TASK_RETENTION_DAYS": _int("EXPORT_TASK_RETENTION_DAYS", 90),
        "REMINDER_DAYS": _int("REMINDER_DAYS", 7),
        "EXPIRY_NOTICE_DAYS": _int("EXPIRY_NOTICE_DAYS", 30),
        "UNSIGNED_CONTRACT_DAYS": _int("UNSIGNED_CONTRACT_DAYS", 30),
        # Red flags for auditors (issue 22, docs/red-flags.md): how often the incremental and the full
        # computation run (seconds), and each indicator's threshold.
        "REDFLAG_INTERVAL": _int("REDFLAG_INTERVAL", 3600),
        "REDFLAG_FULL_INTERVAL": _int("REDFLAG_FULL_INTERVAL", 86400),
        "REDFLAG_INCREMENTAL_MAX": _int("REDFLAG_INCREMENTAL_MAX", 5000),  # more changed: a full run
        "REDFLAG_OVERLAP_SECONDS": _int("REDFLAG_OVERLAP_SECONDS", 300),
        "REDFLAG_PERIOD_MARGIN_DAYS": _int("REDFLAG_PERIOD_MARGIN_DAYS", 0),
        "REDFLAG_PERIOD_MEDIAN_SHARE": os.environ.get("REDFLAG_PERIOD_MEDIAN_SHARE", "0.75"),
        "REDFLAG_PERIOD_MEDIAN_MIN_SAMPLE": _int("REDFLAG_PERIOD_MEDIAN_MIN_SAMPLE", 5),
        "REDFLAG_AMENDMENT_DAYS": _int("REDFLAG_AMENDMENT_DAYS", 3),
        "REDFLAG_WINNER_SHARE_PERCENT": _int("REDFLAG_WINNER_SHARE_PERCENT", 50),
        "REDFLAG_WINNER_MIN_AWARDS": _int("REDFLAG_WINNER_MIN_AWARDS", 3),
        "REDFLAG_WINNER_WINDOW_DAYS": _int("REDFLAG_WINNER_WINDOW_DAYS", 365),
        "REDFLAG_CEILING_MARGIN_PERCENT": os.environ.get("REDFLAG_CEILING_MARGIN_PERCENT", "1"),
        "REDFLAG_ROTATION_MIN_TOGETHER": _int("REDFLAG_ROTATION_MIN_TOGETHER", 3),
        "REDFLAG_LOSER_MIN_BIDS": _int("REDFLAG_LOSER_MIN_BIDS", 5),
        "REDFLAG_VARIATION_CAP_USED": os.environ.get("REDFLAG_VARIATION_CAP_USED", "0.9"),
        "REDFLAG_SIGNATURE_DAYS": _int("REDFLAG_SIGNATURE_DAYS", 30),
        "REDFLAG_POOR_GRADES": ["poor"],
        # Statutory time limits (docs/rules.md), in working days: the committee report after the opening,
        # the buyer's decision after the report, the award notice after the decision, the answer to a
        # challenge after it was filed. The contract signature's 30 calendar days after the award notice
        # (GPL 46) is UNSIGNED_CONTRACT_DAYS above.
        "COMMITTEE_REPORT_WORKING_DAYS": _int("COMMITTEE_REPORT_WORKING_DAYS", 2),  # O87 68
        "AWARD_DECISION_WORKING_DAYS": _int("AWARD_DECISION_WORKING_DAYS", 5),  # O87 68
        "AWARD_NOTICE_WORKING_DAYS": _int("AWARD_NOTICE_WORKING_DAYS", 2),  # O87 69
        "CHALLENGE_ANSWER_WORKING_DAYS": _int("CHALLENGE_ANSWER_WORKING_DAYS", 7),  # GPL 53
        # The officers are reminded this many working days before a time limit passes (once per limit).
        "TIME_LIMIT_REMINDER_WORKING_DAYS": _int("TIME_LIMIT_REMINDER_WORKING_DAYS", 1),
        # Bonds (IR 33, 48): the largest bid bond as a share of the budget, the largest performance bond
        # as a share of the contract value; bid bonds are returned within 5 working days (IR 33: losers
        # after the award notice, the winner after the contract is signed).
        "BID_BOND_MAX_SHARE": os.environ.get("BID_BOND_MAX_SHARE", "0.02"),  # IR 33
        "PERFORMANCE_BOND_MAX_SHARE": os.environ.get("PERFORMANCE_BOND_MAX_SHARE", "0.10"),  # IR 48
        "BID_BOND_RETURN_WORKING_DAYS": _int("BID_BOND_RETURN_WORKING_DAYS", 5),  # IR 33
        # New tenders waive both bonds unless the officer asks for them (many districts waive them for
        # social organizations); the officer sets it per tender when drafting.
        "BONDS_WAIVED_BY_DEFAULT": _bool(os.environ.get("BONDS_WAIVED_BY_DEFAULT"), False),
        # Email (Flask-Mailman): sent over SMTP after the transaction commits, only when MAIL_SERVER is set.
        # SMTP under TESTING too, where Flask-Mailman would otherwise keep mails in memory.
        "MAIL_BACKEND": "smtp",
        "MAIL_SERVER": os.environ.get("MAIL_SERVER", ""),
        "MAIL_PORT": _int("MAIL_PORT", 25),
        "MAIL_USE_SSL": mail_use_ssl,
        # Flask-Mailman refuses both; STARTTLS has no place on an SSL connection, so SSL wins.
        "MAIL_USE_TLS": _bool(os.environ.get("MAIL_USE_TLS"), False) and not mail_use_ssl,
        "MAIL_USERNAME": os.environ.get("MAIL_USERNAME", ""),
        "MAIL_PASSWORD": os.environ.get("MAIL_PASSWORD", ""),
        "MAIL_DEFAULT_SENDER": os.environ.get("MAIL_DEFAULT_SENDER")
        or os.environ.get("MAIL_FROM")
        or ("" if production else "noreply@marketplace.local"),
        # No mail at all (a trial or bench): production then needs neither MAIL_SERVER nor a sender.
        "MAIL_SUPPRESS_SEND": _bool(os.environ.get("MAIL_SUPPRESS_SEND"), False),
        "MAIL_TIMEOUT": _int("MAIL_TIMEOUT", 10),
        # Absolute links in emails ("https://gov-services.example.cn"); none when unset.
        "PUBLIC_BASE_URL": os.environ.get("PUBLIC_BASE_URL", ""),
        # OCDS open data (docs/ocds.md). The ocid prefix is a placeholder until the Open Contracting
        # Partnership assigns this publisher its own "ocds-" + 6 characters prefix.
        "OCDS_PREFIX": os.environ.get("OCDS_PREFIX", "ocds-gzfw01"),
        "OCDS_PUBLISHER_NAME": os.environ.get("OCDS_PUBLISHER_NAME", "政府购买公共服务平台"),
        "OCDS_PUBLISHER_URI": os.environ.get("OCDS_PUBLISHER_URI", ""),
        # The licence of the open data (package ``license``), and how often the ocds-feed job positions
        # new releases (seconds; the ocds-feed-sweep runs every JOB_SLOW_INTERVAL). docs/ocds.md.
        "OCDS_LICENSE": os.environ.get("OCDS_LICENSE", "https://creativecommons.org/licenses/by/4.0/"),
        "OCDS_FEED_INTERVAL": _int("OCDS_FEED_INTERVAL", 10),
        # Residents' needs (docs/needs.md): the streets' boundaries for the map (GeoJSON, features keyed by
        # the GB/T 2260 street code in properties.code; unset: the demo district's schematic ones), and the
        # residents' public form's limit per address.
        "NEEDS_BOUNDARIES_FILE": os.environ.get("NEEDS_BOUNDARIES_FILE") or None,
        "NEED_REPORT_RATE_LIMIT": os.environ.get("NEED_REPORT_RATE_LIMIT", "10 per hour"),
        # Background tasks (core/tasks.py): an RQ queue on this Redis, run by `flask exports worker`;
        # unset (development, tests), a task runs in the web process right after its request commits.
        "REDIS_URL": os.environ.get("REDIS_URL", ""),
        # The public search's page cache (tenders/search_cache.py, docs/search.md): Flask-Caching on
        # REDIS_URL (shared by every process), else in each process (SimpleCache: a tender change is
        # then seen at once only by the process that made it, the others within SEARCH_CACHE_SECONDS).
        # Anonymous search pages are kept SEARCH_CACHE_SECONDS (0: no page cache; tests default to 0).
        "CACHE_TYPE": "RedisCache" if os.environ.get("REDIS_URL") and not testing else "SimpleCache",
        "CACHE_REDIS_URL": os.environ.get("REDIS_URL", ""),
        "CACHE_KEY_PREFIX": os.environ.get("CACHE_KEY_PREFIX", "marketplace:"),
        "CACHE_DEFAULT_TIMEOUT": 300,
        "SEARCH_CACHE_SECONDS": _int("SEARCH_CACHE_SECONDS", 0 if testing else 30),
        # Contract exports (audit/export_tasks.py): XLSX, JSON and CSV of more than
        # EXPORT_STREAM_MAX_CONTRACTS contracts are written in the background to EXPORT_FOLDER (in the
        # instance folder, never under static/), fetched by the auditor who asked until
        # EXPORT_RETENTION_HOURS after they were written, then deleted by the expire-exports job. A
        # worker saves an export's progress at most every EXPORT_PROGRESS_SECONDS and gives it up after
        # EXPORT_TASK_TIMEOUT seconds.
        "EXPORT_FOLDER": os.environ.get("EXPORT_FOLDER", str(instance / "exports")),
        "EXPORT_RETENTION_HOURS": _int("EXPORT_RETENTION_HOURS", 24),
        "EXPORT_STREAM_MAX_CONTRACTS": _int("EXPORT_STREAM_MAX_CONTRACTS", 2000),
        "EXPORT_PROGRESS_SECONDS": _int("EXPORT_PROGRESS_SECONDS", 1),
        "EXPORT_TASK_TIMEOUT": _int("EXPORT_TASK_TIMEOUT", 3600),
        "EXPORT_QUEUE": os.environ.get("EXPORT_QUEUE", "exports"),
        "LOG_LEVEL": os.environ.get("LOG_LEVEL", "INFO"),
        # Logs (core/request_log.py): one JSON object per line in production, text otherwise.
        "LOG_FORMAT": os.environ.get("LOG_FORMAT", "json" if production else "text"),
        # Deployment (docs: issue 18): how many reverse proxies stand before the app (their X-Forwarded-For,
        # -Proto and -Host are trusted, werkzeug's ProxyFix; 0: none), the scheme of external URLs, whether
        # production may run without Redis (a single-process bench: rate limits and caches per process),
        # and how old the scheduler's heartbeat may be before /readyz says it is not ready (seconds).
        "TRUSTED_PROXIES": os.environ.get("TRUSTED_PROXIES", "0"),
        "PREFERRED_URL_SCHEME": os.environ.get("PREFERRED_URL_SCHEME", "https" if production else "http"),
        "REQUIRE_REDIS": _bool(os.environ.get("REQUIRE_REDIS"), True),
        "SCHEDULER_HEARTBEAT_MAX_AGE": _int("SCHEDULER_HEARTBEAT_MAX_AGE", 180),
        # werkzeug's default (scrypt). The test suite lowers it: hashing is not what it tests.
        "PASSWORD_HASH_METHOD": os.environ.get("PASSWORD_HASH_METHOD", "scrypt"),
        # Accounts (docs/security.md, "Sessions and accounts"): a new password's least length (ASVS 2.1.1);
        # how long an email confirmation link and a password reset link work; after how many failed
        # sign-ins an account refuses attempts for 2, 4, 8 ... seconds, at most the cap; how many
        # confirmation or reset mails one address may ask for.
        "PASSWORD_MIN_LENGTH": _int("PASSWORD_MIN_LENGTH", 12),
        "EMAIL_VERIFICATION_HOURS": _int("EMAIL_VERIFICATION_HOURS", 48),
        "PASSWORD_RESET_MINUTES": _int("PASSWORD_RESET_MINUTES", 60),
        "LOGIN_FAILURES_BEFORE_BACKOFF": _int("LOGIN_FAILURES_BEFORE_BACKOFF", 5),
        "LOGIN_BACKOFF_MAX_SECONDS": _int("LOGIN_BACKOFF_MAX_SECONDS", 900),
        "ACCOUNT_MAIL_RATE_LIMIT": os.environ.get("ACCOUNT_MAIL_RATE_LIMIT", "10 per hour"),
    }

    if str(config["SQLALCHEMY_DATABASE_URI"]).startswith("postgresql"):
        # A connection per gunicorn thread (deploy/gunicorn.conf.py: GUNICORN_THREADS, default 16).
        config["SQLALCHEMY_ENGINE_OPTIONS"].update(
            pool_size=_int("DB_POOL_SIZE", 16), max_overflow=_int("DB_MAX_OVERFLOW", 8), pool_timeout=30
        )

    extra = os.environ.get("MARKETPLACE_SETTINGS")
    if extra:
        obj = import_string(extra)
        config.update({k: getattr(obj, k) for k in dir(obj) if k.isupper()})

    config.update(overrides)

    problems: list[str] = []
    if not config.get("SECRET_KEY"):
        if config["TESTING"] or config["ENV"] == "development":
            config["SECRET_KEY"] = "dev-only-secret-key-not-for-production"  # noqa: S105
        else:
            problems.append(
                "SECRET_KEY must be set outside development and testing "
                "(export SECRET_KEY=... or MARKETPLACE_ENV=development)."
            )
    for check in (_check_wrapping_keys, _check_audit_keys, check_deployment):
        try:
            check(config)
        except ConfigError as exc:
            problems.extend(str(exc).split(_SEP))
    if problems:
        raise ConfigError(_SEP.join(problems) if len(problems) == 1 else _HEAD + _SEP + _SEP.join(problems))
    return config


_SEP = "\n- "
_HEAD = "The configuration cannot run:"


def check_deployment(config: dict) -> None:
    """What a production process needs besides its keys (PostgreSQL, Redis, mail, no scheduler in
    the web workers), and the settings every environment must spell right. All problems at once."""
    problems = []
    try:
        proxies = int(str(config.get("TRUSTED_PROXIES") or 0).strip())
        if proxies < 0:
            raise ValueError
        config["TRUSTED_PROXIES"] = proxies
    except ValueError:
        problems.append(
            f"TRUSTED_PROXIES must be the number of reverse proxies before the app (0 or more), "
            f"got {config.get('TRUSTED_PROXIES')!r}."
        )
    if config.get("PREFERRED_URL_SCHEME") not in ("http", "https"):
        problems.append(
            f"PREFERRED_URL_SCHEME must be http or https, got {config.get('PREFERRED_URL_SCHEME')!r}."
        )
    if config.get("LOG_FORMAT") not in ("json", "text"):
        problems.append(f"LOG_FORMAT must be json or text, got {config.get('LOG_FORMAT')!r}.")
    if config["ENV"] == "production" and not config["TESTING"]:
        problems += _production_problems(config)
    if problems:
        raise ConfigError(_SEP.join(problems))


def _production_problems(config: dict) -> list[str]:
    problems = []
    if not str(config.get("SQLALCHEMY_DATABASE_URI", "")).startswith("postgresql"):
        problems.append(
            "DATABASE_URL must be a PostgreSQL URL in production (postgresql://user@host/db); "
            "SQLite is for development only."
        )
    replica = (config.get("SQLALCHEMY_BINDS") or {}).get("replica")
    if replica and not str(replica).startswith("postgresql"):
        problems.append("DATABASE_REPLICA_URL must be a PostgreSQL URL (a read replica of DATABASE_URL).")
    if not config.get("REDIS_URL") and config.get("REQUIRE_REDIS", True):
        problems.append(
            "REDIS_URL must be set in production (rate limits, caches and background tasks shared by "
            "every process; redis://host:6379/0)."
        )
    if not config.get("MAIL_SUPPRESS_SEND"):
        for name in ("MAIL_SERVER", "MAIL_DEFAULT_SENDER"):
            if not config.get(name):
                problems.append(
                    f"{name} must be set in production (or MAIL_SUPPRESS_SEND=1: no mail at all)."
                )
    if config.get("SCHEDULER_ENABLED"):
        problems.append(
            "SCHEDULER_ENABLED must be off in production: the web workers never run the jobs; run them "
            "in one separate process, `flask --app marketplace jobs run`."
        )
    return problems


def _check_audit_keys(config: dict) -> None:
    """The audit chain's key is required in production; the head signing key, when set, is 32 bytes."""
    if not config.get("AUDIT_CHAIN_KEY") and not (config["TESTING"] or config["ENV"] == "development"):
        raise ConfigError(
            "AUDIT_CHAIN_KEY must be set outside development and testing: a long random secret kept apart "
            "from the database (e.g. `python -c 'import secrets; print(secrets.token_urlsafe(48))'`; "
            "docs/audit.md)."
        )
    signing = config.get("AUDIT_HEAD_SIGNING_KEY")
    if signing:
        try:
            seed = base64.b64decode(str(signing), validate=True)
        except ValueError:
            seed = b""
        if len(seed) != 32:
            raise ConfigError("AUDIT_HEAD_SIGNING_KEY must be 32 bytes, base64 (an Ed25519 private key).")


def _check_wrapping_keys(config: dict) -> None:
    keys = config.get("BID_KEY_WRAPPING_KEYS") or []
    if isinstance(keys, str):
        keys = config["BID_KEY_WRAPPING_KEYS"] = [k.strip() for k in keys.split(",") if k.strip()]
    if not keys and not (config["TESTING"] or config["ENV"] == "development"):
        raise ConfigError(
            "BID_KEY_WRAPPING_KEYS must be set outside development and testing: one or more Fernet keys, "
            "newest first (make one with `flask keys new`; docs/bidding.md)."
        )
    try:
        check_keys(keys)
    except ValueError as exc:
        raise ConfigError(str(exc)) from exc

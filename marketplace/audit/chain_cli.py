"""``flask audit verify`` (the main chain, every sealed ledger, the published heads and the stored
files) and ``flask audit db-role`` (the SQL that makes the application's restricted PostgreSQL role)."""

from __future__ import annotations

import re
import sys

import click
from flask.cli import AppGroup

from marketplace import clock
from marketplace.audit import chain, ledger, published
from marketplace.core.documents import StoredFilesReport, verify_stored_files

audit_cli = AppGroup("audit", help="The tamper-evident audit log.")

AUDIT_TABLES = ("audit_events", "audit_chain_heads", "audit_ledger_heads", "audit_published_heads")


@audit_cli.command("verify")
@click.option("--batch-size", default=1000, show_default=True, type=click.IntRange(1, 100_000))
def verify_command(batch_size: int):
    """Recompute the audit chain and every tender's sealed ledger, compare the chain with the published
    heads, and check every stored document against its SHA-256; exit 1 naming the first edited,
    deleted or out-of-order event, the published heads the chain lost, and the missing or altered
    files."""
    chain_ok = _echo_chain(chain.verify_chain(batch_size))
    ledgers_ok = _echo_ledgers(ledger.verify_ledgers(chain.chain_key(), batch_size))
    published_ok = _echo_published(published.verify_published(batch_size))
    files_ok = _echo_files(verify_stored_files(batch_size))
    if not (chain_ok and ledgers_ok and published_ok and files_ok):
        sys.exit(1)


def _echo_chain(report: chain.ChainReport) -> bool:
    if not report.ok:
        click.echo(f"audit chain BROKEN at {report.broken.describe()}", err=True)
        click.echo(f"({report.events} events verified before it)", err=True)
        return False
    click.echo(f"audit chain OK: {report.events} events")
    if report.events:
        click.echo(f"head: seq {report.head_seq} hash {report.head_hash}")
    if report.unsealed:
        age = (clock.now() - report.oldest_unsealed_at).total_seconds()
        click.echo(
            f"not sealed yet: {report.unsealed} events, the oldest written {age:.0f} s ago "
            "(the seal-audit job seals them; they are verified once sealed)"
        )
    return True


def _echo_ledgers(report: ledger.LedgerReport) -> bool:
    if not report.ok:
        click.echo(f"sealed ledgers BROKEN: {report.broken}", err=True)
        return False
    click.echo(f"sealed ledgers OK: {report.ledgers} ledgers, {report.events} events")
    return True


def _echo_published(report: published.PublishedReport) -> bool:
    if not report.ok:
        click.echo(f"published heads BROKEN: {len(report.problems)} of {report.checked}", err=True)
        for line in report.problems[:10]:
            click.echo(f"  {line}", err=True)
        return False
    click.echo(f"published heads OK: {report.checked} found in the chain")
    return True


def _echo_files(report: StoredFilesReport) -> bool:
    """The stored documents (kept 15 years, GPL 42): each file present with its recorded SHA-256."""
    if report.ok:
        click.echo(f"stored files OK: {report.checked} documents")
        return True
    click.echo(
        f"stored files BROKEN: {report.missing} missing, {report.altered} altered "
        f"of {report.checked} documents",
        err=True,
    )
    for line in report.examples:
        click.echo(f"  {line}", err=True)
    shown = len(report.examples)
    if report.missing + report.altered > shown:
        click.echo(f"  … and {report.missing + report.altered - shown} more", err=True)
    return False


# --- the restricted database role -----------------------------------------------------------------

_IDENTIFIER = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")


def role_sql(role: str, owner: str, schema: str = "public") -> str:
    """SQL, run by the tables' owner, making ``role``: it reads and writes the application's tables but
    owns none, so it can neither drop nor disable the audit triggers, and may not delete or truncate
    the audit tables (docs/audit.md, "In the database")."""
    audit = ", ".join(f"{schema}.{t}" for t in AUDIT_TABLES)
    return f"""-- Run as {owner}, the role that owns the tables and runs `flask db upgrade`.
CREATE ROLE {role} LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS;
-- Then give it a password (psql: \\password {role}) and use it in the application's DATABASE_URL.
GRANT USAGE ON SCHEMA {schema} TO {role};
GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA {schema} TO {role};
GRANT USAGE, SELECT, UPDATE ON ALL SEQUENCES IN SCHEMA {schema} TO {role};
ALTER DEFAULT PRIVILEGES FOR ROLE {owner} IN SCHEMA {schema}
  GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO {role};
ALTER DEFAULT PRIVILEGES FOR ROLE {owner} IN SCHEMA {schema}
  GRANT USAGE, SELECT, UPDATE ON SEQUENCES TO {role};
-- The audit tables: appended to, never deleted from (the triggers refuse UPDATE and DELETE too).
REVOKE DELETE, TRUNCATE ON {audit} FROM {role};
REVOKE UPDATE ON {schema}.audit_published_heads FROM {role};
"""


@audit_cli.command("db-role")
@click.option("--role", default="marketplace_app", show_default=True, help="The application's role.")
@click.option("--owner", default="marketplace_owner", show_default=True, help="The tables' owner.")
@click.option("--schema", default="public", show_default=True)
def db_role_command(role: str, owner: str, schema: str):
    """Print the SQL that creates the application's restricted PostgreSQL role (docs/audit.md)."""
    for value, option in ((role, "--role"), (owner, "--owner"), (schema, "--schema")):
        if not _IDENTIFIER.match(value):
            raise click.BadParameter("lower-case letters, digits and _ only", param_hint=option)
    if role == owner:
        raise click.BadParameter("the application must not connect as the tables' owner", param_hint="--role")
    click.echo(role_sql(role, owner, schema), nl=False)

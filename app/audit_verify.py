"""Checking the audit chains, and `flask audit verify`.

A chain verifies when its events are numbered 1..n without a gap or a repeat, each event's hash
is the hash of its columns and of the event before it, and the head record (kept apart from
the events) names event n and its hash. What this detects and what it cannot: docs/operating.md
("Audit trail").
"""

from __future__ import annotations

import re
import sys
import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime

import click
import sqlalchemy as sa
from flask import current_app
from flask.cli import AppGroup
from flask_babel import gettext as _

from app.audit import GENESIS, event_hash
from app.extensions import db
from app.models import INSTANCE_CHAIN, AuditChainHead, AuditEvent, Organisation, utcnow

INSTANCE_LABEL = "instance"
_TOKEN = re.compile(
    r"^(?P<label>[0-9a-fA-F-]{36}|instance)@(?P<seq>\d{1,18}):(?P<hash>[0-9a-f]{64})$")


@dataclass(frozen=True)
class Break:
    """The first broken link: the event number where the chain stops verifying, and why."""

    seq: int
    what: str


@dataclass
class ChainState:
    chain: int
    name: str          # the organisation's name, or "instance"
    label: str         # the organisation's public id, or "instance" (used in head tokens)
    verified: int = 0  # events 1..verified are intact
    head_seq: int = 0
    head_hash: str = GENESIS
    broken: Break | None = None
    expected_ok: list[int] = field(default_factory=list)  # noted heads that were found
    # When the walk resumed from the last full check: its event and time.
    resumed_from: int = 0
    resumed_checked_at: datetime | None = None

    @property
    def ok(self) -> bool:
        return self.broken is None

    @property
    def token(self) -> str:
        """What an operator notes out of band and passes back later with --expect-head."""
        return f"{self.label}@{self.head_seq}:{self.head_hash}"


def parse_token(text: str) -> tuple[str, int, str]:
    found = _TOKEN.match(text.strip())
    if not found:
        raise ValueError(f"{text!r} is not a head printed by `flask audit verify` "
                         "(ORGANISATION-ID@SEQ:HASH)")
    label = found["label"].lower()
    if label != INSTANCE_LABEL:
        label = str(uuid.UUID(label))
    return label, int(found["seq"]), found["hash"]


def _resume_point(chain: int) -> tuple[int, str, datetime | None]:
    """Where the last full check left off, if its event is still there, unchanged, and
    preceded by exactly that many events; else (0, GENESIS, None): walk from event 1."""
    head = db.session.get(AuditChainHead, chain, populate_existing=True)
    if head is None or not head.checked_seq or not head.checked_hash:
        return 0, GENESIS, None
    e = AuditEvent.__table__.c
    below = db.session.scalar(sa.select(sa.func.count()).where(
        e.chain == chain, e.seq <= head.checked_seq))
    last = db.session.scalar(sa.select(e.hash).where(e.chain == chain,
                                                     e.seq == head.checked_seq))
    if below != head.checked_seq or last != head.checked_hash:
        return 0, GENESIS, None  # something changed below the check: the full walk says what
    return head.checked_seq, head.checked_hash, head.checked_at


def verify_chain(chain: int, name: str, label: str,
                 expected: Iterable[tuple[int, str]] = (), *,
                 resume: bool = False) -> ChainState:
    """Walk one chain from event 1 (or, with `resume`, from the last full check), stop at the
    first broken link."""
    state = ChainState(chain=chain, name=name, label=label)
    noted = dict(expected)
    seen: dict[int, str] = {}
    start, prev = 0, GENESIS
    if resume:
        start, prev, state.resumed_checked_at = _resume_point(chain)
        state.resumed_from = state.verified = start
    e = AuditEvent.__table__.c
    # Core rows, streamed: a long chain is walked without building ORM objects.
    # (Options on the statement: Connection.execution_options would stick to the session's
    # connection and stream every later statement through a server-side cursor.)
    rows = db.session.connection().execute(
        sa.select(e.seq, e.hash, e.org_id, e.actor_id, e.action, e.object_type, e.object_id,
                  e.details, e.created_at)
        .where(e.chain == chain, e.seq > start).order_by(e.seq, e.id)
        .execution_options(yield_per=5000))
    expect = start + 1
    for row in rows:
        if row.seq < expect:
            state.broken = Break(row.seq, _("event %(n)d appears twice (the chain was forked "
                                            "or an event was copied)", n=row.seq))
            break
        if row.seq > expect:
            state.broken = Break(expect, _("events %(a)d to %(b)d are missing (deleted)",
                                           a=expect, b=row.seq - 1) if row.seq - 1 > expect
                                 else _("event %(n)d is missing (deleted)", n=expect))
            break
        try:
            computed = event_hash(chain=chain, seq=row.seq, prev=prev, org_id=row.org_id,
                                  actor_id=row.actor_id, action=row.action,
                                  object_type=row.object_type, object_id=row.object_id,
                                  details=row.details, created_at=row.created_at)
        except (TypeError, ValueError, AttributeError):  # e.g. a time set to NULL
            computed = None
        if computed != row.hash:
            state.broken = Break(row.seq, _(
                "event %(n)d does not match its hash: it was changed, moved, or an event "
                "before it was rewritten", n=row.seq))
            break
        if row.seq in noted:
            seen[row.seq] = row.hash
        prev, expect = row.hash, expect + 1
        state.verified = row.seq
    rows.close()
    state.head_seq, state.head_hash = state.verified, prev
    if state.ok:
        _check_head(state)
    if state.ok:
        _check_noted(state, noted, seen)
    return state


def _check_head(state: ChainState) -> None:
    head = db.session.get(AuditChainHead, state.chain, populate_existing=True)
    last = state.verified
    if head is None:
        if last:
            state.broken = Break(last, _("the chain's head record is missing"))
        elif state.chain != INSTANCE_CHAIN:
            state.broken = Break(0, _("the organisation has no audit events at all (its "
                                      "creation is always recorded): they were deleted"))
        return
    if head.seq > last:
        state.broken = Break(last + 1, _(
            "events %(a)d to %(b)d are missing: the newest events were deleted",
            a=last + 1, b=head.seq) if head.seq > last + 1 else _(
            "event %(n)d is missing: the newest event was deleted", n=last + 1))
    elif head.seq < last or head.hash != state.head_hash:
        state.broken = Break(head.seq, _("the chain's head record (event %(n)d) does not match "
                                         "the events", n=head.seq))


def _check_noted(state: ChainState, noted: dict[int, str], seen: dict[int, str]) -> None:
    for seq in sorted(noted):
        if seq not in seen:
            state.broken = Break(seq, _("event %(n)d, noted earlier as the head, is gone: "
                                        "events were deleted and the chain rebuilt", n=seq))
            return
        if seen[seq] != noted[seq]:
            state.broken = Break(seq, _("event %(n)d is not the one noted earlier: the chain "
                                        "was rewritten", n=seq))
            return
        state.expected_ok.append(seq)


def verify_org(org: Organisation) -> ChainState:
    """For the audit log page: resumes from the last full check of `flask audit verify`, so
    a page view walks only the events written since (see docs/operating.md)."""
    return verify_chain(org.id, org.name, org.pid, resume=True)


def note_checks(states: Iterable[ChainState]) -> None:
    """Remember where each intact chain was checked in full; forget it for a broken one.
    Only the head's check columns change (appenders change seq and hash). Heads are updated
    in ascending chain order, as appenders lock them, so the two never wait for each other
    in a circle."""
    head = AuditChainHead.__table__
    now = utcnow()
    for state in sorted(states, key=lambda s: s.chain):
        values = ({"checked_seq": state.head_seq, "checked_hash": state.head_hash,
                   "checked_at": now} if state.ok and state.head_seq
                  else {"checked_seq": None, "checked_hash": None, "checked_at": None})
        db.session.execute(sa.update(head).where(head.c.chain == state.chain).values(**values))


def verify_all(expected: Iterable[str] = (), only: Organisation | None = None) -> list[
        ChainState]:
    """Every organisation's chain and the instance chain (or one organisation's)."""
    noted: dict[str, list[tuple[int, str]]] = {}
    for token in expected:
        label, seq, digest = parse_token(token)
        noted.setdefault(label, []).append((seq, digest))
    orgs = [only] if only else list(db.session.scalars(
        sa.select(Organisation).order_by(Organisation.id)))
    targets = [(o.id, o.name, o.pid) for o in orgs]
    if only is None:
        targets.append((INSTANCE_CHAIN, INSTANCE_LABEL, INSTANCE_LABEL))
        known = {t[0] for t in targets}
        # Chains of organisations that no longer exist (none are ever deleted) still count.
        for (chain,) in db.session.execute(sa.union(
                sa.select(AuditEvent.chain).distinct(), sa.select(AuditChainHead.chain))):
            if chain not in known:
                targets.append((chain, f"#{chain}", f"#{chain}"))
    unknown = set(noted) - {t[2] for t in targets}
    if unknown:
        raise ValueError(f"no chain is called {sorted(unknown)[0]!r} here")
    return [verify_chain(chain, name, label, noted.get(label, ()))
            for chain, name, label in targets]


audit_cli = AppGroup("audit", help="Check the tamper-evident audit trail.")


@audit_cli.command("verify")
@click.option("--org", "org_name", default=None,
              help="Only this organisation (name or id); default: every chain.")
@click.option("--expect-head", "heads", multiple=True, metavar="ID@SEQ:HASH",
              help="A head printed by an earlier run and kept elsewhere; repeatable.")
def verify_command(org_name: str | None, heads: tuple[str, ...]) -> None:
    """Verify every audit chain; print each chain's head; exit 1 at a broken link."""
    from app.cli import _find_org

    only = _find_org(org_name) if org_name else None
    # The reasons are translated strings: a request context gives them the default language.
    with current_app.test_request_context("/"):
        try:
            states = verify_all(heads, only)
        except ValueError as exc:
            raise click.ClickException(str(exc)) from exc
    for state in states:
        where = f"{state.name} ({state.label})" if state.name != state.label else state.name
        if state.ok:
            noted = (f"; noted head(s) {', '.join(map(str, state.expected_ok))} found"
                     if state.expected_ok else "")
            click.echo(f"OK      {where}: events 1-{state.verified} intact{noted}. "
                       f"Head: {state.token}")
        else:
            assert state.broken is not None
            click.echo(f"BROKEN  {where} at event {state.broken.seq}: {state.broken.what}. "
                       f"Events 1-{state.verified} verify.")
    note_checks(states)
    db.session.commit()
    broken = [s for s in states if not s.ok]
    if broken:
        click.echo(f"{len(broken)} chain(s) broken.", err=True)
        sys.exit(1)

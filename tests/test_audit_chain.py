"""The tamper-evident audit trail: events chain per organisation, `flask audit verify` names the
first broken link after rows are edited, deleted, reordered or moved, the audit log page says
so, and a head noted out of band catches a rebuilt chain."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
import sqlalchemy as sa
from flask.testing import FlaskCliRunner

from app import audit
from app.extensions import db
from app.models import INSTANCE_CHAIN, AuditChainHead, AuditEvent, Organisation
from tests.actors import Browser
from tests.people import invite, org_of

HEAD = re.compile(r"Head: (\S+@\d+:[0-9a-f]{64})")


@pytest.fixture
def busy_org(coordinator: Browser) -> Organisation:
    """Red Umbrella with a dozen events (creation, registration, login, invitations)."""
    for n in range(6):
        invite(coordinator, f"person{n}@example.org", "outreach")
    org = org_of()
    assert count(org.id) >= 10
    return org


def count(chain: int) -> int:
    return db.session.scalar(sa.select(sa.func.count()).where(AuditEvent.chain == chain)) or 0


def event(chain: int, seq: int) -> AuditEvent:
    found = db.session.scalar(sa.select(AuditEvent).where(AuditEvent.chain == chain,
                                                          AuditEvent.seq == seq))
    assert found is not None
    return found


def verify(runner: FlaskCliRunner, *args: str) -> tuple[int, str]:
    db.session.remove()  # the command reads what is committed, like a separate process
    result = runner.invoke(args=["audit", "verify", *args])
    if result.exception and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result.exit_code, result.output


def org_line(output: str) -> str:
    return next(line for line in output.splitlines() if "Red Umbrella" in line)


def tamper(statement: Any) -> None:
    db.session.execute(statement)
    db.session.commit()


def test_events_form_an_unbroken_chain(busy_org: Organisation, runner: FlaskCliRunner,
                                       coordinator: Browser) -> None:
    n = count(busy_org.id)
    seqs = db.session.scalars(sa.select(AuditEvent.seq).where(
        AuditEvent.chain == busy_org.id).order_by(AuditEvent.seq)).all()
    assert seqs == list(range(1, n + 1))
    head = db.session.get(AuditChainHead, busy_org.id)
    assert head is not None and (head.seq, head.hash) == (n, event(busy_org.id, n).hash)
    code, output = verify(runner)
    assert code == 0, output
    line = org_line(output)
    assert line.startswith("OK") and f"events 1-{n} intact" in line
    assert busy_org.pid in line
    page = coordinator.get("/org/audit").get_data(as_text=True)
    assert f"Audit trail verified up to event {n}." in page
    found = HEAD.search(line)
    assert found and found.group(1) in page  # the page shows the head the operator can note


def test_events_without_an_organisation_have_their_own_chain(
        app: Any, runner: FlaskCliRunner) -> None:
    for n in range(3):
        audit.record("instance_thing", n=n)
        db.session.commit()
    assert db.session.scalars(sa.select(AuditEvent.seq).where(
        AuditEvent.chain == INSTANCE_CHAIN).order_by(AuditEvent.seq)).all() == [1, 2, 3]
    assert db.session.scalars(sa.select(AuditEvent.org_id)).all() == [None] * 3
    code, output = verify(runner)
    assert code == 0 and "OK      instance: events 1-3 intact" in output, output


def test_a_rolled_back_transaction_writes_no_event(busy_org: Organisation,
                                                   runner: FlaskCliRunner,
                                                   coordinator: Browser) -> None:
    before = count(busy_org.id)
    # A refused invitation (an address with an account) rolls back: nothing is recorded.
    response = coordinator.post_form("/org/invites", {"email": "coord@example.org",
                                                      "role": "outreach"})
    assert response.status_code == 400
    audit.record("never_committed", org=org_of())
    db.session.rollback()
    assert count(busy_org.id) == before
    invite(coordinator, "later@example.org", "analyst")
    assert count(busy_org.id) == before + 1
    assert verify(runner)[0] == 0


def test_several_events_of_several_chains_in_one_transaction(busy_org: Organisation,
                                                             runner: FlaskCliRunner) -> None:
    before = count(busy_org.id)
    org = org_of()
    for n in range(3):
        audit.record("bulk", org=org, n=n)
        audit.record("bulk_instance", n=n)
    db.session.commit()
    assert [e.details["n"] for e in db.session.scalars(sa.select(AuditEvent).where(
        AuditEvent.chain == org.id, AuditEvent.seq > before).order_by(AuditEvent.seq))] == [
        0, 1, 2]
    assert count(INSTANCE_CHAIN) == 3
    assert verify(runner)[0] == 0


def test_bad_details_are_refused_before_anything_is_written(app: Any) -> None:
    with pytest.raises(ValueError):
        audit.record("x", narrative="y" * 500)
    with pytest.raises(ValueError):
        audit.record("x", nested={"a": 1})  # type: ignore[arg-type]
    db.session.commit()
    assert db.session.scalar(sa.select(sa.func.count()).select_from(AuditEvent)) == 0


E = AuditEvent


def _edit(**values: Any) -> Callable[[int, int], Any]:
    return lambda chain, seq: sa.update(E).where(E.chain == chain, E.seq == seq).values(**values)


TAMPERING: dict[str, Callable[[int, int], Any]] = {
    "action edited": _edit(action="login"),
    "details edited": _edit(details={"role": "coordinator", "purpose": "join"}),  # was outreach
    "actor removed": _edit(actor_id=None),
    "object edited": _edit(object_id="00000000-0000-0000-0000-000000000000"),
    "object type edited": _edit(object_type="user"),  # was invite
    "time edited": lambda chain, seq: sa.update(E).where(E.chain == chain, E.seq == seq).values(
        created_at=event(chain, seq).created_at + timedelta(seconds=1)),
    "deleted": lambda chain, seq: sa.delete(E).where(E.chain == chain, E.seq == seq),
}


@pytest.mark.parametrize("how", sorted(TAMPERING))
def test_a_changed_or_deleted_event_breaks_the_chain_there(
        busy_org: Organisation, runner: FlaskCliRunner, coordinator: Browser,
        how: str) -> None:
    chain, target = busy_org.id, 6  # an invitation by the coordinator, to an outreach worker
    assert event(chain, target).action == "invite_created" and event(chain, target).actor_id
    tamper(TAMPERING[how](chain, target))
    code, output = verify(runner)
    assert code == 1
    line = org_line(output)
    assert line.startswith("BROKEN") and f"at event {target}:" in line, line
    assert f"Events 1-{target - 1} verify" in line
    assert ("missing" in line) == (how == "deleted")
    page = coordinator.get("/org/audit").get_data(as_text=True)
    assert f"Audit trail broken at event {target}:" in page


def test_an_edit_with_its_own_hash_recomputed_breaks_the_next_link(
        busy_org: Organisation, runner: FlaskCliRunner) -> None:
    chain = busy_org.id
    edited = event(chain, 4)
    edited.action = "nothing_to_see"
    edited.hash = audit.hash_of(edited, event(chain, 3).hash)
    db.session.commit()
    code, output = verify(runner)
    assert code == 1 and "at event 5:" in org_line(output), output


def test_swapping_two_events_is_detected(busy_org: Organisation,
                                         runner: FlaskCliRunner) -> None:
    chain = busy_org.id
    for seq, new in ((3, -1), (6, 3), (-1, 6)):
        tamper(sa.update(E).where(E.chain == chain, E.seq == seq).values(seq=new))
    code, output = verify(runner)
    assert code == 1 and "at event 3:" in org_line(output), output


def test_moving_an_event_to_another_chain_is_detected(busy_org: Organisation,
                                                      runner: FlaskCliRunner) -> None:
    tamper(sa.update(E).where(E.chain == busy_org.id, E.seq == 2).values(
        org_id=None, chain=INSTANCE_CHAIN, seq=1))
    code, output = verify(runner)
    assert code == 1
    assert "at event 2: event 2 is missing" in org_line(output)
    assert "BROKEN  instance at event 1" in output


def test_deleting_the_newest_events_is_detected_by_the_head(busy_org: Organisation,
                                                            runner: FlaskCliRunner) -> None:
    n = count(busy_org.id)
    tamper(sa.delete(E).where(E.chain == busy_org.id, E.seq >= n - 1))
    code, output = verify(runner)
    assert code == 1
    line = org_line(output)
    assert f"at event {n - 1}: events {n - 1} to {n} are missing" in line, line


def test_deleting_every_event_and_the_head_is_detected(busy_org: Organisation,
                                                       runner: FlaskCliRunner) -> None:
    tamper(sa.delete(E).where(E.chain == busy_org.id))
    tamper(sa.delete(AuditChainHead).where(AuditChainHead.chain == busy_org.id))
    code, output = verify(runner)
    assert code == 1 and "no audit events at all" in org_line(output), output


def test_a_deleted_head_record_is_detected(busy_org: Organisation,
                                           runner: FlaskCliRunner) -> None:
    tamper(sa.delete(AuditChainHead).where(AuditChainHead.chain == busy_org.id))
    code, output = verify(runner)
    assert code == 1 and "head record is missing" in org_line(output), output


def test_truncating_the_tail_and_head_is_caught_only_by_a_noted_head(
        busy_org: Organisation, runner: FlaskCliRunner) -> None:
    """What the chain cannot see on its own: someone who deletes the newest events and sets
    the head back. A head noted earlier (out of band) catches it."""
    code, output = verify(runner, "--org", "Red Umbrella")
    noted = HEAD.search(org_line(output))
    assert code == 0 and noted
    n = count(busy_org.id)
    tamper(sa.delete(E).where(E.chain == busy_org.id, E.seq == n))
    tamper(sa.update(AuditChainHead).where(AuditChainHead.chain == busy_org.id).values(
        seq=n - 1, hash=event(busy_org.id, n - 1).hash))
    assert verify(runner)[0] == 0  # undetectable without the note (documented)
    code, output = verify(runner, "--expect-head", noted.group(1))
    assert code == 1
    assert f"at event {n}: event {n}, noted earlier as the head, is gone" in org_line(output)


def test_a_rebuilt_chain_is_caught_only_by_a_noted_head(busy_org: Organisation,
                                                        runner: FlaskCliRunner) -> None:
    code, output = verify(runner)
    noted = HEAD.search(org_line(output))
    assert code == 0 and noted
    # Someone with write access edits event 2 and recomputes every hash and the head.
    chain = busy_org.id
    prev = audit.GENESIS
    for item in db.session.scalars(sa.select(E).where(E.chain == chain).order_by(E.seq)):
        if item.seq == 2:
            item.details = {"role": "analyst"}
        item.hash = prev = audit.hash_of(item, prev)
    head = db.session.get(AuditChainHead, chain)
    assert head is not None
    head.hash = prev
    db.session.commit()
    assert verify(runner)[0] == 0
    code, output = verify(runner, "--expect-head", noted.group(1))
    assert code == 1 and "is not the one noted earlier: the chain was rewritten" in output
    # A later event does not hide it: the noted event is checked wherever the chain now ends.
    audit.record("later", org=org_of())
    db.session.commit()
    assert verify(runner, "--expect-head", noted.group(1))[0] == 1


def test_a_noted_head_stays_valid_as_the_chain_grows(busy_org: Organisation,
                                                     runner: FlaskCliRunner,
                                                     coordinator: Browser) -> None:
    noted = HEAD.search(org_line(verify(runner)[1]))
    assert noted
    invite(coordinator, "another@example.org", "outreach")
    code, output = verify(runner, "--expect-head", noted.group(1))
    assert code == 0 and "noted head(s)" in org_line(output), output


@pytest.mark.parametrize("token", ["nonsense", "instance@x:abc",
                                   "00000000-0000-0000-0000-000000000000@1:" + "a" * 64])
def test_a_malformed_or_unknown_noted_head_is_refused(busy_org: Organisation,
                                                      runner: FlaskCliRunner,
                                                      token: str) -> None:
    code, output = verify(runner, "--expect-head", token)
    assert code != 0 and "Error" in output and "Traceback" not in output


def test_the_migration_chains_existing_events_in_the_order_they_were_written() -> None:
    """Events written before the chain existed get numbers and hashes that verify."""
    from flask_migrate import upgrade

    from app.audit_verify import verify_all
    from tests.conftest import fresh_database, make_app

    with fresh_database("audit-backfill") as url:
        app = make_app(url)
        with app.app_context():
            upgrade(revision="cb99fa1a222e")
            with db.engine.begin() as conn:
                ids = {}
                for org in (1, 2):
                    conn.execute(sa.text(
                        "INSERT INTO organisation (public_id, created_at, name, current_kv, "
                        "require_2fa, extract_quorum) VALUES (:pid, :at, :name, 1, :f, 1)"),
                        {"pid": f"00000000-0000-0000-0000-00000000000{org}",
                         "at": "2026-01-01 00:00:00", "name": f"Org {org}", "f": False})
                    ids[org] = conn.execute(sa.text(
                        "SELECT id FROM organisation WHERE name = :name"),
                        {"name": f"Org {org}"}).scalar_one()
                # Written out of time order, both organisations and the instance, odd details.
                rows = [(1, 1, "2026-01-03 10:00:00.000001", '{"role": "outreach"}'),
                        (2, 1, "2026-01-01 09:00:00", "{}"),
                        (3, None, "2026-01-02 08:00:00", '{"n": 3, "ok": true}'),
                        (4, 2, "2026-01-05 00:00:00", '{"note": "caf\u00e9"}'),
                        (5, 1, "2026-01-02 12:00:00.5", '{"kv": 2, "x": null}'),
                        (6, None, "2026-01-01 07:00:00", "{}")]
                for n, org_id, at, details in rows:
                    conn.execute(sa.text(
                        "INSERT INTO audit_event (org_id, action, details, created_at) "
                        "VALUES (:org, :action, :details, :at)"),
                        {"org": ids[org_id] if org_id else None, "action": f"old_{n}",
                         "details": details, "at": at})
                # Enough later events for the migration to read them in several pages.
                conn.execute(sa.text(
                    "INSERT INTO audit_event (org_id, action, details, created_at) "
                    "VALUES (:org, 'bulk', '{}', :at)"),
                    [{"org": ids[2], "at": f"2026-02-{1 + n % 28:02d} 00:00:{n % 60:02d}"}
                     for n in range(12_000)])
            upgrade()
            order = {chain: db.session.scalars(sa.select(AuditEvent.action).where(
                AuditEvent.chain == chain).order_by(AuditEvent.seq)).all()
                for chain in (0, ids[1], ids[2])}
            assert order == {0: ["old_6", "old_3"], ids[1]: ["old_2", "old_5", "old_1"],
                             ids[2]: ["old_4"] + ["bulk"] * 12_000}
            times = db.session.scalars(sa.select(AuditEvent.created_at).where(
                AuditEvent.chain == ids[2]).order_by(AuditEvent.seq)).all()
            assert times == sorted(times)
            with app.test_request_context():
                states = verify_all()
            assert [(s.name, s.ok, s.verified) for s in states] == [
                ("Org 1", True, 3), ("Org 2", True, 12_001), ("instance", True, 2)]
            # New events continue each chain.
            audit.record("new", org=db.session.get(Organisation, ids[1]))
            db.session.commit()
            assert event(ids[1], 4).action == "new"
            with app.test_request_context():
                assert all(s.ok for s in verify_all())
            db.session.remove()
            db.engine.dispose()


def _page_state(coord: Browser) -> str:
    page = coord.get("/org/audit").get_data(as_text=True)
    found = re.search(r'id="audit-chain-state" data-state="(\w+)"', page)
    assert found
    return found.group(1) + ("+resumed" if "checked in full by the instance" in page else "")


def test_the_page_walks_on_from_the_last_full_check(busy_org: Organisation,
                                                    runner: FlaskCliRunner,
                                                    coordinator: Browser) -> None:
    assert _page_state(coordinator) == "verified"  # no full check yet: walks from event 1
    assert verify(runner)[0] == 0
    head = db.session.get(AuditChainHead, busy_org.id, populate_existing=True)
    assert head is not None and head.checked_seq == head.seq and head.checked_at
    checked = head.checked_seq
    invite(coordinator, "after@example.org", "outreach")
    assert _page_state(coordinator) == "verified+resumed"
    # A change after the checked part is seen at once.
    tamper(_edit(action="tampered")(busy_org.id, checked + 1))
    page = coordinator.get("/org/audit").get_data(as_text=True)
    assert f"Audit trail broken at event {checked + 1}:" in page


def test_a_deletion_below_the_last_full_check_is_seen_by_the_page(
        busy_org: Organisation, runner: FlaskCliRunner, coordinator: Browser) -> None:
    assert verify(runner)[0] == 0
    tamper(sa.delete(E).where(E.chain == busy_org.id, E.seq == 3))
    page = coordinator.get("/org/audit").get_data(as_text=True)
    assert "Audit trail broken at event 3:" in page


def test_an_edit_below_the_last_full_check_is_seen_at_the_next_full_check(
        busy_org: Organisation, runner: FlaskCliRunner, coordinator: Browser) -> None:
    """The page trusts the daily full check for the events it covered (documented); the next
    full check finds the edit, and from then on the page shows it too."""
    assert verify(runner)[0] == 0
    tamper(_edit(action="tampered")(busy_org.id, 4))
    assert _page_state(coordinator) == "verified+resumed"
    code, output = verify(runner)
    assert code == 1 and "at event 4:" in org_line(output)
    head = db.session.get(AuditChainHead, busy_org.id, populate_existing=True)
    assert head is not None and head.checked_seq is None
    assert "Audit trail broken at event 4:" in coordinator.get("/org/audit").get_data(
        as_text=True)


def test_an_event_about_an_organisation_not_yet_flushed_joins_its_chain(app: Any) -> None:
    org = Organisation(name="Brand new")
    db.session.add(org)
    audit.record("org_created", org=org)
    db.session.commit()
    assert event(org.id, 1).action == "org_created" and event(org.id, 1).org_id == org.id

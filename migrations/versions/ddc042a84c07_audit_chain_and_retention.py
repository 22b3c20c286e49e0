"""audit chain and retention

The audit trail becomes a hash chain per organisation (and one for events of no
organisation): every event gets its chain, its number in it and its hash, and
audit_chain_head keeps each chain's last number and hash. Existing events are chained in the
order they were written (created_at, then id).

Incidents may lose their sealed tier to an organisation's retention rule: incident.sealed
becomes nullable and sealed_destroyed_at records when; organisation.retention_months holds
the rule.

Revision ID: ddc042a84c07
Revises: d3fc384f0fe8
Create Date: 2026-11-29 21:48:20.377359

"""
import hashlib
import json
from datetime import UTC

from alembic import op
import sqlalchemy as sa

# revision identifiers, used by Alembic.
revision = 'ddc042a84c07'
down_revision = 'd3fc384f0fe8'
branch_labels = None
depends_on = None

GENESIS = "0" * 64


def _hash(chain, seq, prev, row):
    # Frozen copy of app.audit.event_hash (version 1): a later change of the app's hash must
    # not change what this migration wrote.
    created = row.created_at
    created = created.replace(tzinfo=UTC) if created.tzinfo is None else created.astimezone(UTC)
    body = {"v": 1, "chain": chain, "seq": seq, "prev": prev, "org": row.org_id,
            "actor": row.actor_id, "action": row.action, "object_type": row.object_type,
            "object_id": row.object_id, "details": row.details if row.details is not None
            else {}, "at": created.isoformat(timespec="microseconds")}
    data = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(b"collateral/v1/audit\n" + data.encode()).hexdigest()


def _chain_existing_events():
    bind = op.get_bind()
    events = sa.table(
        "audit_event", sa.column("id", sa.Integer), sa.column("org_id", sa.Integer),
        sa.column("actor_id", sa.Integer), sa.column("action", sa.String),
        sa.column("object_type", sa.String), sa.column("object_id", sa.String),
        sa.column("details", sa.JSON), sa.column("created_at", sa.DateTime(timezone=True)),
        sa.column("chain", sa.Integer), sa.column("seq", sa.Integer),
        sa.column("hash", sa.String))
    heads = sa.table("audit_chain_head", sa.column("chain", sa.Integer),
                     sa.column("seq", sa.Integer), sa.column("hash", sa.String))
    chain_of = sa.func.coalesce(events.c.org_id, 0)
    # SQLite keeps times as text and orders them as text: the page boundary is compared as the
    # stored text, not as a time formatted again (which could differ from what was stored).
    when = (sa.type_coerce(events.c.created_at, sa.String) if bind.dialect.name == "sqlite"
            else events.c.created_at)
    order = sa.tuple_(chain_of, when, events.c.id)
    state = {}  # chain -> (last seq, last hash)
    updates = []
    after = None
    while True:  # in pages (keyset on the chain order), so memory stays flat
        query = (sa.select(events, when.label("boundary"))
                 .order_by(chain_of, events.c.created_at, events.c.id))
        if after is not None:
            query = query.where(order > sa.tuple_(*after))
        rows = bind.execute(query.limit(5000)).all()
        if not rows:
            break
        for row in rows:
            chain = row.org_id or 0
            seq, prev = state.get(chain, (0, GENESIS))
            digest = _hash(chain, seq + 1, prev, row)
            state[chain] = (seq + 1, digest)
            updates.append({"b_id": row.id, "b_chain": chain, "b_seq": seq + 1,
                            "b_hash": digest,
                            "b_details": row.details if row.details is not None else {}})
        last = rows[-1]
        after = (last.org_id or 0, last.boundary, last.id)
        _write(bind, events, updates)
    if state:
        bind.execute(heads.insert(), [{"chain": c, "seq": s, "hash": h}
                                      for c, (s, h) in sorted(state.items())])


def _write(bind, events, updates):
    if updates:
        bind.execute(events.update().where(events.c.id == sa.bindparam("b_id")).values(
            chain=sa.bindparam("b_chain"), seq=sa.bindparam("b_seq"),
            hash=sa.bindparam("b_hash"), details=sa.bindparam("b_details", type_=sa.JSON)),
            updates)
        updates.clear()


def upgrade():
    op.create_table('audit_chain_head',
    sa.Column('chain', sa.Integer(), autoincrement=False, nullable=False),
    sa.Column('seq', sa.Integer(), nullable=False),
    sa.Column('hash', sa.String(length=64), nullable=False),
    sa.Column('checked_seq', sa.Integer(), nullable=True),
    sa.Column('checked_hash', sa.String(length=64), nullable=True),
    sa.Column('checked_at', sa.DateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('chain', name=op.f('pk_audit_chain_head'))
    )
    with op.batch_alter_table('audit_event', schema=None) as batch_op:
        batch_op.add_column(sa.Column('chain', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('seq', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('hash', sa.String(length=64), nullable=True))
    _chain_existing_events()
    with op.batch_alter_table('audit_event', schema=None) as batch_op:
        batch_op.alter_column('chain', existing_type=sa.Integer(), nullable=False)
        batch_op.alter_column('seq', existing_type=sa.Integer(), nullable=False)
        batch_op.alter_column('hash', existing_type=sa.String(length=64), nullable=False)
        batch_op.create_unique_constraint(batch_op.f('uq_audit_event_chain'), ['chain', 'seq'])

    with op.batch_alter_table('incident', schema=None) as batch_op:
        batch_op.add_column(sa.Column('sealed_destroyed_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.alter_column('sealed', existing_type=sa.JSON(), nullable=True)

    with op.batch_alter_table('organisation', schema=None) as batch_op:
        batch_op.add_column(sa.Column('retention_months', sa.Integer(), nullable=True))


def downgrade():
    destroyed = op.get_bind().execute(sa.text(
        "SELECT count(*) FROM incident WHERE sealed IS NULL")).scalar()
    if destroyed:
        raise RuntimeError(f"{destroyed} incident(s) lost their sealed tier to a retention "
                           "rule; the older schema needs one for every incident. Not "
                           "downgrading.")
    with op.batch_alter_table('organisation', schema=None) as batch_op:
        batch_op.drop_column('retention_months')

    with op.batch_alter_table('incident', schema=None) as batch_op:
        batch_op.alter_column('sealed', existing_type=sa.JSON(), nullable=False)
        batch_op.drop_column('sealed_destroyed_at')

    with op.batch_alter_table('audit_event', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('uq_audit_event_chain'), type_='unique')
        batch_op.drop_column('hash')
        batch_op.drop_column('seq')
        batch_op.drop_column('chain')

    op.drop_table('audit_chain_head')

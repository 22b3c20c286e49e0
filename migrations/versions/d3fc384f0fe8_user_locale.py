"""the interface language a person chose (user.locale)

Revision ID: d3fc384f0fe8
Revises: cb99fa1a222e
Create Date: 2026-11-29 21:46:26.995178

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'd3fc384f0fe8'
down_revision = 'cb99fa1a222e'
branch_labels = None
depends_on = None


def upgrade():
    # NULL: no choice yet, the browser's Accept-Language decides (app/i18n.py).
    with op.batch_alter_table('user', schema=None) as batch_op:
        batch_op.add_column(sa.Column('locale', sa.String(length=8), nullable=True))


def downgrade():
    with op.batch_alter_table('user', schema=None) as batch_op:
        batch_op.drop_column('locale')

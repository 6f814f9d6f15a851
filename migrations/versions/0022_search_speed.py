"""tender search speed (issue 16)

Revision ID: 0022_search_speed
Revises: 0021_uploads_rounds
Create Date: 2026-12-02 13:30:00

"""
from alembic import op
import sqlalchemy as sa

import marketplace.core.db


revision = '0022_search_speed'
down_revision = '0021_uploads_rounds'
branch_labels = None
depends_on = None


def upgrade():
    pass


def downgrade():
    pass

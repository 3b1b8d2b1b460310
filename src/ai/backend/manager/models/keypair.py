"""Keypairs: the access/secret keys that sign API requests, each owned by one user."""

from __future__ import annotations

import sqlalchemy as sa

from .base import created_at_column, metadata, modified_at_column

keypairs = sa.Table(
    "keypairs", metadata,
    # `user_id` is the owner's email (the API's historical name); `user` is the owner's UUID.
    sa.Column("user_id", sa.String(256), index=True),
    sa.Column("access_key", sa.String(20), primary_key=True),
    sa.Column("secret_key", sa.String(40), nullable=False),
    sa.Column("is_active", sa.Boolean, nullable=False, server_default=sa.true(), index=True),
    sa.Column("is_admin", sa.Boolean, nullable=False, server_default=sa.false(), index=True),
    created_at_column(),
    modified_at_column(),
    sa.Column("last_used", sa.DateTime(timezone=True)),
    sa.Column("rate_limit", sa.Integer, nullable=False, server_default="30000"),
    sa.Column("num_queries", sa.BigInteger, nullable=False, server_default="0"),
    sa.Column("ssh_public_key", sa.Text),
    sa.Column("ssh_private_key", sa.Text),
    sa.Column("user", sa.Uuid(),
              sa.ForeignKey("users.uuid", onupdate="CASCADE", ondelete="CASCADE"),
              nullable=False, index=True),
    sa.Column("resource_policy", sa.String(256),
              sa.ForeignKey("keypair_resource_policies.name"), nullable=False),
    sa.Column("bootstrap_script", sa.Text, nullable=False, server_default=""),
)

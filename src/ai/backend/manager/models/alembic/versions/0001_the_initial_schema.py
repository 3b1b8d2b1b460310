"""the initial schema

Revision ID: 0001
Revises:
Create Date: 2026-11-23

Every table of the manager: tenancy (domains, projects, users, keypairs, resource
policies), resource groups, agents, images and registries, sessions and kernels, virtual
folders, session templates, dotfiles and error logs.
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = '0001'
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('container_registries',
    sa.Column('id', sa.Uuid(), server_default=sa.text('gen_random_uuid()'), nullable=False),
    sa.Column('url', sa.String(length=512), nullable=False),
    sa.Column('registry_name', sa.String(length=50), nullable=False),
    sa.Column('type', sa.String(length=32), server_default='docker', nullable=False),
    sa.Column('project', sa.String(length=255), nullable=True),
    sa.Column('username', sa.String(length=255), nullable=True),
    sa.Column('password', sa.String(length=255), nullable=True),
    sa.Column('ssl_verify', sa.Boolean(), server_default=sa.text('true'), nullable=False),
    sa.Column('is_global', sa.Boolean(), server_default=sa.text('true'), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_container_registries')),
    sa.UniqueConstraint('registry_name', 'project', name=op.f('uq_container_registries_registry_name_project'))
    )
    op.create_index(op.f('ix_container_registries_registry_name'), 'container_registries', ['registry_name'], unique=False)
    op.create_table('domains',
    sa.Column('name', sa.String(length=64), nullable=False),
    sa.Column('description', sa.String(length=512), nullable=True),
    sa.Column('is_active', sa.Boolean(), server_default=sa.text('true'), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('modified_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('total_resource_slots', postgresql.JSONB(astext_type=sa.Text()), server_default=sa.text("'{}'::jsonb"), nullable=False),
    sa.Column('allowed_vfolder_hosts', postgresql.JSONB(astext_type=sa.Text()), server_default=sa.text("'{}'::jsonb"), nullable=False),
    sa.Column('allowed_docker_registries', postgresql.ARRAY(sa.String()), server_default='{}', nullable=False),
    sa.Column('integration_id', sa.String(length=512), nullable=True),
    sa.PrimaryKeyConstraint('name', name=op.f('pk_domains'))
    )
    op.create_table('images',
    sa.Column('id', sa.Uuid(), server_default=sa.text('gen_random_uuid()'), nullable=False),
    sa.Column('name', sa.String(length=512), nullable=False),
    sa.Column('image', sa.String(length=512), nullable=False),
    sa.Column('tag', sa.String(length=128), nullable=False),
    sa.Column('registry', sa.String(length=512), nullable=False),
    sa.Column('architecture', sa.String(length=32), server_default='x86_64', nullable=False),
    sa.Column('config_digest', sa.String(length=128), nullable=False),
    sa.Column('size_bytes', sa.BigInteger(), server_default='0', nullable=False),
    sa.Column('type', sa.String(length=64), server_default='compute', nullable=False),
    sa.Column('accelerators', sa.String(length=256), nullable=True),
    sa.Column('labels', postgresql.JSONB(astext_type=sa.Text()), server_default=sa.text("'{}'::jsonb"), nullable=False),
    sa.Column('resources', postgresql.JSONB(astext_type=sa.Text()), server_default=sa.text("'{}'::jsonb"), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_images')),
    sa.UniqueConstraint('name', 'architecture', name=op.f('uq_images_name_architecture'))
    )
    op.create_index(op.f('ix_images_name'), 'images', ['name'], unique=False)
    op.create_index(op.f('ix_images_registry'), 'images', ['registry'], unique=False)
    op.create_table('keypair_resource_policies',
    sa.Column('name', sa.String(length=256), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('default_for_unspecified', sa.String(length=64), server_default='UNLIMITED', nullable=False),
    sa.Column('total_resource_slots', postgresql.JSONB(astext_type=sa.Text()), server_default=sa.text("'{}'::jsonb"), nullable=False),
    sa.Column('max_session_lifetime', sa.Integer(), server_default='0', nullable=False),
    sa.Column('max_concurrent_sessions', sa.Integer(), server_default='0', nullable=False),
    sa.Column('max_concurrent_sftp_sessions', sa.Integer(), server_default='1', nullable=False),
    sa.Column('max_containers_per_session', sa.Integer(), server_default='1', nullable=False),
    sa.Column('idle_timeout', sa.BigInteger(), server_default='0', nullable=False),
    sa.Column('max_pending_session_count', sa.Integer(), nullable=True),
    sa.Column('allowed_vfolder_hosts', postgresql.JSONB(astext_type=sa.Text()), server_default=sa.text("'{}'::jsonb"), nullable=False),
    sa.Column('max_vfolder_count', sa.Integer(), server_default='0', nullable=False),
    sa.Column('max_vfolder_size', sa.BigInteger(), server_default='0', nullable=False),
    sa.PrimaryKeyConstraint('name', name=op.f('pk_keypair_resource_policies'))
    )
    op.create_table('project_resource_policies',
    sa.Column('name', sa.String(length=256), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('max_vfolder_count', sa.Integer(), server_default='0', nullable=False),
    sa.Column('max_quota_scope_size', sa.BigInteger(), server_default='0', nullable=False),
    sa.Column('max_network_count', sa.Integer(), server_default='0', nullable=False),
    sa.PrimaryKeyConstraint('name', name=op.f('pk_project_resource_policies'))
    )
    op.create_table('scaling_groups',
    sa.Column('name', sa.String(length=64), nullable=False),
    sa.Column('description', sa.String(length=512), nullable=True),
    sa.Column('is_active', sa.Boolean(), server_default=sa.text('true'), nullable=False),
    sa.Column('is_public', sa.Boolean(), server_default=sa.text('true'), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('wsproxy_addr', sa.String(length=1024), nullable=True),
    sa.Column('wsproxy_api_token', sa.String(length=128), nullable=True),
    sa.Column('driver', sa.String(length=64), server_default='static', nullable=False),
    sa.Column('driver_opts', postgresql.JSONB(astext_type=sa.Text()), server_default=sa.text("'{}'::jsonb"), nullable=False),
    sa.Column('scheduler', sa.String(length=64), server_default='fifo', nullable=False),
    sa.Column('scheduler_opts', postgresql.JSONB(astext_type=sa.Text()), server_default=sa.text("'{}'::jsonb"), nullable=False),
    sa.Column('use_host_network', sa.Boolean(), server_default=sa.text('false'), nullable=False),
    sa.PrimaryKeyConstraint('name', name=op.f('pk_scaling_groups'))
    )
    op.create_index(op.f('ix_scaling_groups_is_active'), 'scaling_groups', ['is_active'], unique=False)
    op.create_table('user_resource_policies',
    sa.Column('name', sa.String(length=256), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('total_resource_slots', postgresql.JSONB(astext_type=sa.Text()), server_default=sa.text("'{}'::jsonb"), nullable=False),
    sa.Column('max_vfolder_count', sa.Integer(), server_default='0', nullable=False),
    sa.Column('max_quota_scope_size', sa.BigInteger(), server_default='0', nullable=False),
    sa.Column('max_session_count_per_model_session', sa.Integer(), server_default='0', nullable=False),
    sa.Column('max_customized_image_count', sa.Integer(), server_default='3', nullable=False),
    sa.PrimaryKeyConstraint('name', name=op.f('pk_user_resource_policies'))
    )
    op.create_table('agents',
    sa.Column('id', sa.String(length=64), nullable=False),
    sa.Column('status', sa.String(length=64), nullable=False),
    sa.Column('status_changed', sa.DateTime(timezone=True), nullable=True),
    sa.Column('region', sa.String(length=64), server_default='local', nullable=False),
    sa.Column('scaling_group', sa.String(length=64), server_default='default', nullable=False),
    sa.Column('schedulable', sa.Boolean(), server_default=sa.text('true'), nullable=False),
    sa.Column('available_slots', postgresql.JSONB(astext_type=sa.Text()), server_default=sa.text("'{}'::jsonb"), nullable=False),
    sa.Column('resource_slot_types', postgresql.JSONB(astext_type=sa.Text()), server_default=sa.text("'{}'::jsonb"), nullable=False),
    sa.Column('addr', sa.String(length=128), nullable=False),
    sa.Column('public_host', sa.String(length=256), nullable=True),
    sa.Column('first_contact', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=True),
    sa.Column('lost_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('version', sa.String(length=64), server_default='', nullable=False),
    sa.Column('architecture', sa.String(length=32), server_default='x86_64', nullable=False),
    sa.Column('compute_plugins', postgresql.JSONB(astext_type=sa.Text()), server_default=sa.text("'{}'::jsonb"), nullable=False),
    sa.Column('auto_terminate_abusing_kernel', sa.Boolean(), server_default=sa.text('false'), nullable=False),
    sa.ForeignKeyConstraint(['scaling_group'], ['scaling_groups.name'], name=op.f('fk_agents_scaling_group_scaling_groups'), onupdate='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_agents'))
    )
    op.create_index(op.f('ix_agents_region'), 'agents', ['region'], unique=False)
    op.create_index(op.f('ix_agents_scaling_group'), 'agents', ['scaling_group'], unique=False)
    op.create_index(op.f('ix_agents_status'), 'agents', ['status'], unique=False)
    op.create_table('groups',
    sa.Column('id', sa.Uuid(), server_default=sa.text('gen_random_uuid()'), nullable=False),
    sa.Column('name', sa.String(length=64), nullable=False),
    sa.Column('description', sa.String(length=512), nullable=True),
    sa.Column('is_active', sa.Boolean(), server_default=sa.text('true'), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('modified_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('integration_id', sa.String(length=512), nullable=True),
    sa.Column('domain_name', sa.String(length=64), nullable=False),
    sa.Column('total_resource_slots', postgresql.JSONB(astext_type=sa.Text()), server_default=sa.text("'{}'::jsonb"), nullable=False),
    sa.Column('allowed_vfolder_hosts', postgresql.JSONB(astext_type=sa.Text()), server_default=sa.text("'{}'::jsonb"), nullable=False),
    sa.Column('resource_policy', sa.String(length=256), nullable=True),
    sa.Column('type', sa.String(length=64), server_default='general', nullable=False),
    sa.Column('container_registry', postgresql.JSONB(astext_type=sa.Text()), nullable=True),
    sa.ForeignKeyConstraint(['domain_name'], ['domains.name'], name=op.f('fk_groups_domain_name_domains'), onupdate='CASCADE', ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['resource_policy'], ['project_resource_policies.name'], name=op.f('fk_groups_resource_policy_project_resource_policies')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_groups')),
    sa.UniqueConstraint('name', 'domain_name', name=op.f('uq_groups_name_domain_name'))
    )
    op.create_index(op.f('ix_groups_domain_name'), 'groups', ['domain_name'], unique=False)
    op.create_table('image_aliases',
    sa.Column('id', sa.Uuid(), server_default=sa.text('gen_random_uuid()'), nullable=False),
    sa.Column('alias', sa.String(length=256), nullable=False),
    sa.Column('image', sa.Uuid(), nullable=False),
    sa.ForeignKeyConstraint(['image'], ['images.id'], name=op.f('fk_image_aliases_image_images'), onupdate='CASCADE', ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_image_aliases')),
    sa.UniqueConstraint('alias', name=op.f('uq_image_aliases_alias'))
    )
    op.create_index(op.f('ix_image_aliases_image'), 'image_aliases', ['image'], unique=False)
    op.create_table('resource_presets',
    sa.Column('id', sa.Uuid(), server_default=sa.text('gen_random_uuid()'), nullable=False),
    sa.Column('name', sa.String(length=256), nullable=False),
    sa.Column('resource_slots', postgresql.JSONB(astext_type=sa.Text()), nullable=False),
    sa.Column('shared_memory', sa.BigInteger(), nullable=True),
    sa.Column('scaling_group_name', sa.String(length=64), nullable=True),
    sa.ForeignKeyConstraint(['scaling_group_name'], ['scaling_groups.name'], name=op.f('fk_resource_presets_scaling_group_name_scaling_groups'), onupdate='CASCADE', ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_resource_presets')),
    sa.UniqueConstraint('name', 'scaling_group_name', name=op.f('uq_resource_presets_name_scaling_group_name'))
    )
    op.create_index('ix_resource_presets_name_global', 'resource_presets', ['name'], unique=True, postgresql_where=sa.text('scaling_group_name IS NULL'))
    op.create_table('sgroups_for_domains',
    sa.Column('scaling_group', sa.String(length=64), nullable=False),
    sa.Column('domain', sa.String(length=64), nullable=False),
    sa.ForeignKeyConstraint(['domain'], ['domains.name'], name=op.f('fk_sgroups_for_domains_domain_domains'), onupdate='CASCADE', ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['scaling_group'], ['scaling_groups.name'], name=op.f('fk_sgroups_for_domains_scaling_group_scaling_groups'), onupdate='CASCADE', ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('scaling_group', 'domain', name=op.f('pk_sgroups_for_domains'))
    )
    op.create_index(op.f('ix_sgroups_for_domains_domain'), 'sgroups_for_domains', ['domain'], unique=False)
    op.create_table('users',
    sa.Column('uuid', sa.Uuid(), server_default=sa.text('gen_random_uuid()'), nullable=False),
    sa.Column('username', sa.String(length=64), nullable=True),
    sa.Column('email', sa.String(length=64), nullable=False),
    sa.Column('password', sa.String(length=128), nullable=True),
    sa.Column('need_password_change', sa.Boolean(), server_default=sa.text('false'), nullable=False),
    sa.Column('password_changed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('full_name', sa.String(length=64), nullable=True),
    sa.Column('description', sa.String(length=500), nullable=True),
    sa.Column('status', sa.String(length=64), server_default='active', nullable=False),
    sa.Column('status_info', sa.Unicode(length=64), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('modified_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('domain_name', sa.String(length=64), nullable=False),
    sa.Column('role', sa.String(length=64), server_default='user', nullable=False),
    sa.Column('allowed_client_ip', postgresql.ARRAY(sa.String(length=64)), nullable=True),
    sa.Column('totp_key', sa.String(length=32), nullable=True),
    sa.Column('totp_activated', sa.Boolean(), server_default=sa.text('false'), nullable=False),
    sa.Column('totp_activated_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('resource_policy', sa.String(length=256), nullable=True),
    sa.Column('sudo_session_enabled', sa.Boolean(), server_default=sa.text('false'), nullable=False),
    sa.Column('main_access_key', sa.String(length=20), nullable=True),
    sa.ForeignKeyConstraint(['domain_name'], ['domains.name'], name=op.f('fk_users_domain_name_domains'), onupdate='CASCADE'),
    sa.ForeignKeyConstraint(['resource_policy'], ['user_resource_policies.name'], name=op.f('fk_users_resource_policy_user_resource_policies')),
    sa.PrimaryKeyConstraint('uuid', name=op.f('pk_users')),
    sa.UniqueConstraint('email', name=op.f('uq_users_email')),
    sa.UniqueConstraint('username', name=op.f('uq_users_username'))
    )
    op.create_index(op.f('ix_users_domain_name'), 'users', ['domain_name'], unique=False)
    op.create_table('association_groups_users',
    sa.Column('user_id', sa.Uuid(), nullable=False),
    sa.Column('group_id', sa.Uuid(), nullable=False),
    sa.ForeignKeyConstraint(['group_id'], ['groups.id'], name=op.f('fk_association_groups_users_group_id_groups'), onupdate='CASCADE', ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['users.uuid'], name=op.f('fk_association_groups_users_user_id_users'), onupdate='CASCADE', ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('user_id', 'group_id', name=op.f('pk_association_groups_users'))
    )
    op.create_index('ix_association_groups_users_group_id', 'association_groups_users', ['group_id'], unique=False)
    op.create_table('error_logs',
    sa.Column('id', sa.Uuid(), server_default=sa.text('gen_random_uuid()'), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('severity', sa.String(length=64), nullable=False),
    sa.Column('source', sa.String(length=64), nullable=False),
    sa.Column('user', sa.Uuid(), nullable=True),
    sa.Column('is_read', sa.Boolean(), server_default=sa.text('false'), nullable=False),
    sa.Column('is_cleared', sa.Boolean(), server_default=sa.text('false'), nullable=False),
    sa.Column('message', sa.Text(), nullable=False),
    sa.Column('context_lang', sa.String(length=32), nullable=False),
    sa.Column('context_env', postgresql.JSONB(astext_type=sa.Text()), nullable=False),
    sa.Column('request_url', sa.String(length=512), nullable=True),
    sa.Column('request_status', sa.Integer(), nullable=True),
    sa.Column('traceback', sa.Text(), nullable=True),
    sa.ForeignKeyConstraint(['user'], ['users.uuid'], name=op.f('fk_error_logs_user_users'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_error_logs'))
    )
    op.create_index(op.f('ix_error_logs_is_cleared'), 'error_logs', ['is_cleared'], unique=False)
    op.create_index(op.f('ix_error_logs_is_read'), 'error_logs', ['is_read'], unique=False)
    op.create_index(op.f('ix_error_logs_severity'), 'error_logs', ['severity'], unique=False)
    op.create_index(op.f('ix_error_logs_user'), 'error_logs', ['user'], unique=False)
    op.create_table('keypairs',
    sa.Column('user_id', sa.String(length=256), nullable=True),
    sa.Column('access_key', sa.String(length=20), nullable=False),
    sa.Column('secret_key', sa.String(length=40), nullable=False),
    sa.Column('is_active', sa.Boolean(), server_default=sa.text('true'), nullable=False),
    sa.Column('is_admin', sa.Boolean(), server_default=sa.text('false'), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('modified_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('last_used', sa.DateTime(timezone=True), nullable=True),
    sa.Column('rate_limit', sa.Integer(), server_default='30000', nullable=False),
    sa.Column('num_queries', sa.BigInteger(), server_default='0', nullable=False),
    sa.Column('ssh_public_key', sa.Text(), nullable=True),
    sa.Column('ssh_private_key', sa.Text(), nullable=True),
    sa.Column('user', sa.Uuid(), nullable=False),
    sa.Column('resource_policy', sa.String(length=256), nullable=False),
    sa.Column('bootstrap_script', sa.Text(), server_default='', nullable=False),
    sa.ForeignKeyConstraint(['resource_policy'], ['keypair_resource_policies.name'], name=op.f('fk_keypairs_resource_policy_keypair_resource_policies')),
    sa.ForeignKeyConstraint(['user'], ['users.uuid'], name=op.f('fk_keypairs_user_users'), onupdate='CASCADE', ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('access_key', name=op.f('pk_keypairs'))
    )
    op.create_index(op.f('ix_keypairs_is_active'), 'keypairs', ['is_active'], unique=False)
    op.create_index(op.f('ix_keypairs_is_admin'), 'keypairs', ['is_admin'], unique=False)
    op.create_index(op.f('ix_keypairs_user'), 'keypairs', ['user'], unique=False)
    op.create_index(op.f('ix_keypairs_user_id'), 'keypairs', ['user_id'], unique=False)
    # users.main_access_key and keypairs.user refer to each other: add this FK last.
    op.create_foreign_key(op.f('fk_users_main_access_key_keypairs'), 'users', 'keypairs', ['main_access_key'], ['access_key'], ondelete='SET NULL', deferrable=True, initially='DEFERRED')
    op.create_table('session_templates',
    sa.Column('id', sa.Uuid(), server_default=sa.text('gen_random_uuid()'), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('is_active', sa.Boolean(), server_default=sa.text('true'), nullable=False),
    sa.Column('domain_name', sa.String(length=64), nullable=False),
    sa.Column('group_id', sa.Uuid(), nullable=True),
    sa.Column('user_uuid', sa.Uuid(), nullable=False),
    sa.Column('type', sa.String(length=64), server_default='task', nullable=False),
    sa.Column('name', sa.String(length=128), nullable=True),
    sa.Column('template', postgresql.JSONB(astext_type=sa.Text()), nullable=False),
    sa.ForeignKeyConstraint(['domain_name'], ['domains.name'], name=op.f('fk_session_templates_domain_name_domains'), onupdate='CASCADE', ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['group_id'], ['groups.id'], name=op.f('fk_session_templates_group_id_groups'), onupdate='CASCADE', ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_uuid'], ['users.uuid'], name=op.f('fk_session_templates_user_uuid_users'), onupdate='CASCADE', ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_session_templates'))
    )
    op.create_index(op.f('ix_session_templates_is_active'), 'session_templates', ['is_active'], unique=False)
    op.create_index(op.f('ix_session_templates_type'), 'session_templates', ['type'], unique=False)
    op.create_index(op.f('ix_session_templates_user_uuid'), 'session_templates', ['user_uuid'], unique=False)
    op.create_table('sgroups_for_groups',
    sa.Column('scaling_group', sa.String(length=64), nullable=False),
    sa.Column('group', sa.Uuid(), nullable=False),
    sa.ForeignKeyConstraint(['group'], ['groups.id'], name=op.f('fk_sgroups_for_groups_group_groups'), onupdate='CASCADE', ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['scaling_group'], ['scaling_groups.name'], name=op.f('fk_sgroups_for_groups_scaling_group_scaling_groups'), onupdate='CASCADE', ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('scaling_group', 'group', name=op.f('pk_sgroups_for_groups'))
    )
    op.create_index(op.f('ix_sgroups_for_groups_group'), 'sgroups_for_groups', ['group'], unique=False)
    op.create_table('vfolders',
    sa.Column('id', sa.Uuid(), server_default=sa.text('gen_random_uuid()'), nullable=False),
    sa.Column('host', sa.String(length=128), nullable=False),
    sa.Column('quota_scope_id', sa.String(length=64), nullable=True),
    sa.Column('name', sa.String(length=64), nullable=False),
    sa.Column('usage_mode', sa.String(length=64), server_default='general', nullable=False),
    sa.Column('permission', sa.String(length=64), server_default='rw', nullable=False),
    sa.Column('max_files', sa.Integer(), server_default='0', nullable=False),
    sa.Column('max_size', sa.BigInteger(), nullable=True),
    sa.Column('num_files', sa.Integer(), server_default='0', nullable=False),
    sa.Column('cur_size', sa.BigInteger(), server_default='0', nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('last_used', sa.DateTime(timezone=True), nullable=True),
    sa.Column('creator', sa.String(length=128), nullable=True),
    sa.Column('unmanaged_path', sa.String(length=512), nullable=True),
    sa.Column('ownership_type', sa.String(length=64), server_default='user', nullable=False),
    sa.Column('user', sa.Uuid(), nullable=True),
    sa.Column('group', sa.Uuid(), nullable=True),
    sa.Column('cloneable', sa.Boolean(), server_default=sa.text('false'), nullable=False),
    sa.Column('status', sa.String(length=64), server_default='ready', nullable=False),
    sa.Column('status_changed', sa.DateTime(timezone=True), nullable=True),
    sa.Column('status_history', postgresql.JSONB(astext_type=sa.Text()), server_default=sa.text("'[]'::jsonb"), nullable=False),
    sa.CheckConstraint('(ownership_type = \'user\' AND "user" IS NOT NULL AND "group" IS NULL) OR (ownership_type = \'group\' AND "group" IS NOT NULL AND "user" IS NULL)', name=op.f('ck_vfolders_ownership_type_match_with_user_or_group')),
    sa.ForeignKeyConstraint(['group'], ['groups.id'], name=op.f('fk_vfolders_group_groups'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user'], ['users.uuid'], name=op.f('fk_vfolders_user_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_vfolders'))
    )
    op.create_index('ix_vfolders_group', 'vfolders', ['group'], unique=False)
    op.create_index(op.f('ix_vfolders_name'), 'vfolders', ['name'], unique=False)
    op.create_index(op.f('ix_vfolders_ownership_type'), 'vfolders', ['ownership_type'], unique=False)
    op.create_index(op.f('ix_vfolders_status'), 'vfolders', ['status'], unique=False)
    op.create_index('ix_vfolders_user', 'vfolders', ['user'], unique=False)
    op.create_table('dotfiles',
    sa.Column('id', sa.Uuid(), server_default=sa.text('gen_random_uuid()'), nullable=False),
    sa.Column('scope', sa.String(length=64), nullable=False),
    sa.Column('access_key', sa.String(length=20), nullable=True),
    sa.Column('group_id', sa.Uuid(), nullable=True),
    sa.Column('domain_name', sa.String(length=64), nullable=True),
    sa.Column('path', sa.String(length=256), nullable=False),
    sa.Column('data', sa.Text(), nullable=False),
    sa.Column('permission', sa.String(length=4), server_default='644', nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('modified_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.CheckConstraint("(scope = 'user' AND access_key IS NOT NULL AND group_id IS NULL AND domain_name IS NULL) OR (scope = 'group' AND group_id IS NOT NULL AND access_key IS NULL AND domain_name IS NULL) OR (scope = 'domain' AND domain_name IS NOT NULL AND access_key IS NULL AND group_id IS NULL)", name=op.f('ck_dotfiles_one_owner_per_scope')),
    sa.ForeignKeyConstraint(['access_key'], ['keypairs.access_key'], name=op.f('fk_dotfiles_access_key_keypairs'), onupdate='CASCADE', ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['domain_name'], ['domains.name'], name=op.f('fk_dotfiles_domain_name_domains'), onupdate='CASCADE', ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['group_id'], ['groups.id'], name=op.f('fk_dotfiles_group_id_groups'), onupdate='CASCADE', ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_dotfiles'))
    )
    op.create_index('ix_dotfiles_domain_path', 'dotfiles', ['domain_name', 'path'], unique=True, postgresql_where=sa.text("scope = 'domain'"))
    op.create_index('ix_dotfiles_group_path', 'dotfiles', ['group_id', 'path'], unique=True, postgresql_where=sa.text("scope = 'group'"))
    op.create_index('ix_dotfiles_user_path', 'dotfiles', ['access_key', 'path'], unique=True, postgresql_where=sa.text("scope = 'user'"))
    op.create_table('sessions',
    sa.Column('id', sa.Uuid(), server_default=sa.text('gen_random_uuid()'), nullable=False),
    sa.Column('creation_id', sa.String(length=32), nullable=True),
    sa.Column('name', sa.String(length=64), nullable=False),
    sa.Column('session_type', sa.String(length=64), server_default='interactive', nullable=False),
    sa.Column('priority', sa.Integer(), server_default='0', nullable=False),
    sa.Column('cluster_mode', sa.String(length=64), server_default='single-node', nullable=False),
    sa.Column('cluster_size', sa.Integer(), server_default='1', nullable=False),
    sa.Column('agent_ids', postgresql.ARRAY(sa.String(length=64)), nullable=True),
    sa.Column('domain_name', sa.String(length=64), nullable=False),
    sa.Column('group_id', sa.Uuid(), nullable=False),
    sa.Column('user_uuid', sa.Uuid(), nullable=False),
    sa.Column('access_key', sa.String(length=20), nullable=True),
    sa.Column('images', postgresql.ARRAY(sa.String(length=512)), nullable=True),
    sa.Column('tag', sa.String(length=64), nullable=True),
    sa.Column('scaling_group_name', sa.String(length=64), nullable=True),
    sa.Column('target_sgroup_names', postgresql.ARRAY(sa.String(length=64)), nullable=True),
    sa.Column('requested_slots', postgresql.JSONB(astext_type=sa.Text()), server_default=sa.text("'{}'::jsonb"), nullable=False),
    sa.Column('occupying_slots', postgresql.JSONB(astext_type=sa.Text()), server_default=sa.text("'{}'::jsonb"), nullable=False),
    sa.Column('vfolder_mounts', postgresql.JSONB(astext_type=sa.Text()), nullable=True),
    sa.Column('environ', postgresql.JSONB(astext_type=sa.Text()), nullable=True),
    sa.Column('bootstrap_script', sa.Text(), nullable=True),
    sa.Column('startup_command', sa.Text(), nullable=True),
    sa.Column('callback_url', sa.String(length=2048), nullable=True),
    sa.Column('use_host_network', sa.Boolean(), server_default=sa.text('false'), nullable=False),
    sa.Column('timeout', sa.BigInteger(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('terminated_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('starts_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('status', sa.String(length=64), server_default='PENDING', nullable=False),
    sa.Column('status_changed', sa.DateTime(timezone=True), nullable=True),
    sa.Column('status_info', sa.Unicode(length=256), nullable=True),
    sa.Column('status_data', postgresql.JSONB(astext_type=sa.Text()), nullable=True),
    sa.Column('status_history', postgresql.JSONB(astext_type=sa.Text()), server_default=sa.text("'[]'::jsonb"), nullable=False),
    sa.Column('result', sa.String(length=64), server_default='UNDEFINED', nullable=False),
    sa.Column('num_queries', sa.BigInteger(), server_default='0', nullable=False),
    sa.Column('last_stat', postgresql.JSONB(astext_type=sa.Text()), nullable=True),
    sa.ForeignKeyConstraint(['access_key'], ['keypairs.access_key'], name=op.f('fk_sessions_access_key_keypairs')),
    sa.ForeignKeyConstraint(['domain_name'], ['domains.name'], name=op.f('fk_sessions_domain_name_domains')),
    sa.ForeignKeyConstraint(['group_id'], ['groups.id'], name=op.f('fk_sessions_group_id_groups')),
    sa.ForeignKeyConstraint(['scaling_group_name'], ['scaling_groups.name'], name=op.f('fk_sessions_scaling_group_name_scaling_groups')),
    sa.ForeignKeyConstraint(['user_uuid'], ['users.uuid'], name=op.f('fk_sessions_user_uuid_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_sessions'))
    )
    op.create_index(op.f('ix_sessions_access_key'), 'sessions', ['access_key'], unique=False)
    op.create_index(op.f('ix_sessions_domain_name'), 'sessions', ['domain_name'], unique=False)
    op.create_index(op.f('ix_sessions_group_id'), 'sessions', ['group_id'], unique=False)
    op.create_index(op.f('ix_sessions_name'), 'sessions', ['name'], unique=False)
    op.create_index(op.f('ix_sessions_scaling_group_name'), 'sessions', ['scaling_group_name'], unique=False)
    op.create_index(op.f('ix_sessions_session_type'), 'sessions', ['session_type'], unique=False)
    op.create_index(op.f('ix_sessions_status'), 'sessions', ['status'], unique=False)
    op.create_index(op.f('ix_sessions_status_changed'), 'sessions', ['status_changed'], unique=False)
    op.create_index(op.f('ix_sessions_terminated_at'), 'sessions', ['terminated_at'], unique=False)
    op.create_index(op.f('ix_sessions_user_uuid'), 'sessions', ['user_uuid'], unique=False)
    op.create_table('sgroups_for_keypairs',
    sa.Column('scaling_group', sa.String(length=64), nullable=False),
    sa.Column('access_key', sa.String(length=20), nullable=False),
    sa.ForeignKeyConstraint(['access_key'], ['keypairs.access_key'], name=op.f('fk_sgroups_for_keypairs_access_key_keypairs'), onupdate='CASCADE', ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['scaling_group'], ['scaling_groups.name'], name=op.f('fk_sgroups_for_keypairs_scaling_group_scaling_groups'), onupdate='CASCADE', ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('scaling_group', 'access_key', name=op.f('pk_sgroups_for_keypairs'))
    )
    op.create_index(op.f('ix_sgroups_for_keypairs_access_key'), 'sgroups_for_keypairs', ['access_key'], unique=False)
    op.create_table('vfolder_invitations',
    sa.Column('id', sa.Uuid(), server_default=sa.text('gen_random_uuid()'), nullable=False),
    sa.Column('permission', sa.String(length=64), server_default='rw', nullable=False),
    sa.Column('inviter', sa.String(length=256), nullable=False),
    sa.Column('invitee', sa.String(length=256), nullable=False),
    sa.Column('state', sa.String(length=64), server_default='pending', nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('modified_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('vfolder', sa.Uuid(), nullable=False),
    sa.ForeignKeyConstraint(['vfolder'], ['vfolders.id'], name=op.f('fk_vfolder_invitations_vfolder_vfolders'), onupdate='CASCADE', ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_vfolder_invitations'))
    )
    op.create_index('ix_vfolder_invitations_invitee_state', 'vfolder_invitations', ['invitee', 'state'], unique=False)
    op.create_table('vfolder_permissions',
    sa.Column('id', sa.Uuid(), server_default=sa.text('gen_random_uuid()'), nullable=False),
    sa.Column('permission', sa.String(length=64), server_default='rw', nullable=False),
    sa.Column('vfolder', sa.Uuid(), nullable=False),
    sa.Column('user', sa.Uuid(), nullable=False),
    sa.ForeignKeyConstraint(['user'], ['users.uuid'], name=op.f('fk_vfolder_permissions_user_users'), onupdate='CASCADE', ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['vfolder'], ['vfolders.id'], name=op.f('fk_vfolder_permissions_vfolder_vfolders'), onupdate='CASCADE', ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_vfolder_permissions')),
    sa.UniqueConstraint('vfolder', 'user', name=op.f('uq_vfolder_permissions_vfolder_user'))
    )
    op.create_table('kernels',
    sa.Column('id', sa.Uuid(), server_default=sa.text('gen_random_uuid()'), nullable=False),
    sa.Column('session_id', sa.Uuid(), nullable=False),
    sa.Column('session_creation_id', sa.String(length=32), nullable=True),
    sa.Column('session_name', sa.String(length=64), nullable=True),
    sa.Column('session_type', sa.String(length=64), server_default='interactive', nullable=False),
    sa.Column('cluster_mode', sa.String(length=64), server_default='single-node', nullable=False),
    sa.Column('cluster_size', sa.Integer(), server_default='1', nullable=False),
    sa.Column('cluster_role', sa.String(length=16), server_default='main', nullable=False),
    sa.Column('cluster_idx', sa.Integer(), server_default='1', nullable=False),
    sa.Column('local_rank', sa.Integer(), server_default='0', nullable=False),
    sa.Column('cluster_hostname', sa.String(length=64), server_default='main1', nullable=False),
    sa.Column('uid', sa.Integer(), nullable=True),
    sa.Column('main_gid', sa.Integer(), nullable=True),
    sa.Column('gids', postgresql.ARRAY(sa.Integer()), nullable=True),
    sa.Column('domain_name', sa.String(length=64), nullable=False),
    sa.Column('group_id', sa.Uuid(), nullable=False),
    sa.Column('user_uuid', sa.Uuid(), nullable=False),
    sa.Column('access_key', sa.String(length=20), nullable=True),
    sa.Column('scaling_group', sa.String(length=64), nullable=True),
    sa.Column('agent', sa.String(length=64), nullable=True),
    sa.Column('agent_addr', sa.String(length=128), nullable=True),
    sa.Column('image', sa.String(length=512), nullable=True),
    sa.Column('architecture', sa.String(length=32), server_default='x86_64', nullable=False),
    sa.Column('registry', sa.String(length=512), nullable=True),
    sa.Column('tag', sa.String(length=64), nullable=True),
    sa.Column('container_id', sa.String(length=64), nullable=True),
    sa.Column('requested_slots', postgresql.JSONB(astext_type=sa.Text()), server_default=sa.text("'{}'::jsonb"), nullable=False),
    sa.Column('occupied_slots', postgresql.JSONB(astext_type=sa.Text()), server_default=sa.text("'{}'::jsonb"), nullable=False),
    sa.Column('occupied_shares', postgresql.JSONB(astext_type=sa.Text()), server_default=sa.text("'{}'::jsonb"), nullable=False),
    sa.Column('attached_devices', postgresql.JSONB(astext_type=sa.Text()), server_default=sa.text("'{}'::jsonb"), nullable=False),
    sa.Column('resource_opts', postgresql.JSONB(astext_type=sa.Text()), server_default=sa.text("'{}'::jsonb"), nullable=False),
    sa.Column('environ', postgresql.ARRAY(sa.String()), nullable=True),
    sa.Column('mounts', postgresql.ARRAY(sa.String()), nullable=True),
    sa.Column('mount_map', postgresql.JSONB(astext_type=sa.Text()), server_default=sa.text("'{}'::jsonb"), nullable=False),
    sa.Column('vfolder_mounts', postgresql.JSONB(astext_type=sa.Text()), nullable=True),
    sa.Column('bootstrap_script', sa.Text(), nullable=True),
    sa.Column('startup_command', sa.Text(), nullable=True),
    sa.Column('callback_url', sa.String(length=2048), nullable=True),
    sa.Column('kernel_host', sa.String(length=128), nullable=True),
    sa.Column('repl_in_port', sa.Integer(), nullable=True),
    sa.Column('repl_out_port', sa.Integer(), nullable=True),
    sa.Column('stdin_port', sa.Integer(), nullable=True),
    sa.Column('stdout_port', sa.Integer(), nullable=True),
    sa.Column('service_ports', postgresql.JSONB(astext_type=sa.Text()), nullable=True),
    sa.Column('preopen_ports', postgresql.ARRAY(sa.Integer()), nullable=True),
    sa.Column('use_host_network', sa.Boolean(), server_default=sa.text('false'), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('terminated_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('starts_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('status', sa.String(length=64), server_default='PENDING', nullable=False),
    sa.Column('status_changed', sa.DateTime(timezone=True), nullable=True),
    sa.Column('status_info', sa.Unicode(length=256), nullable=True),
    sa.Column('status_data', postgresql.JSONB(astext_type=sa.Text()), nullable=True),
    sa.Column('status_history', postgresql.JSONB(astext_type=sa.Text()), server_default=sa.text("'[]'::jsonb"), nullable=False),
    sa.Column('result', sa.String(length=64), server_default='UNDEFINED', nullable=False),
    sa.Column('exit_code', sa.Integer(), nullable=True),
    sa.Column('internal_data', postgresql.JSONB(astext_type=sa.Text()), nullable=True),
    sa.Column('container_log', sa.LargeBinary(), nullable=True),
    sa.Column('num_queries', sa.BigInteger(), server_default='0', nullable=False),
    sa.Column('last_stat', postgresql.JSONB(astext_type=sa.Text()), nullable=True),
    sa.ForeignKeyConstraint(['access_key'], ['keypairs.access_key'], name=op.f('fk_kernels_access_key_keypairs')),
    sa.ForeignKeyConstraint(['agent'], ['agents.id'], name=op.f('fk_kernels_agent_agents')),
    sa.ForeignKeyConstraint(['domain_name'], ['domains.name'], name=op.f('fk_kernels_domain_name_domains')),
    sa.ForeignKeyConstraint(['group_id'], ['groups.id'], name=op.f('fk_kernels_group_id_groups')),
    sa.ForeignKeyConstraint(['scaling_group'], ['scaling_groups.name'], name=op.f('fk_kernels_scaling_group_scaling_groups')),
    sa.ForeignKeyConstraint(['session_id'], ['sessions.id'], name=op.f('fk_kernels_session_id_sessions'), onupdate='CASCADE', ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_uuid'], ['users.uuid'], name=op.f('fk_kernels_user_uuid_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_kernels'))
    )
    op.create_index(op.f('ix_kernels_access_key'), 'kernels', ['access_key'], unique=False)
    op.create_index(op.f('ix_kernels_agent'), 'kernels', ['agent'], unique=False)
    op.create_index('ix_kernels_agent_status', 'kernels', ['agent', 'status'], unique=False)
    op.create_index(op.f('ix_kernels_scaling_group'), 'kernels', ['scaling_group'], unique=False)
    op.create_index(op.f('ix_kernels_session_id'), 'kernels', ['session_id'], unique=False)
    op.create_index(op.f('ix_kernels_session_name'), 'kernels', ['session_name'], unique=False)
    op.create_index(op.f('ix_kernels_status'), 'kernels', ['status'], unique=False)
    op.create_index(op.f('ix_kernels_status_changed'), 'kernels', ['status_changed'], unique=False)
    op.create_index(op.f('ix_kernels_terminated_at'), 'kernels', ['terminated_at'], unique=False)
    op.create_table('session_dependencies',
    sa.Column('session_id', sa.Uuid(), nullable=False),
    sa.Column('depends_on', sa.Uuid(), nullable=False),
    sa.ForeignKeyConstraint(['depends_on'], ['sessions.id'], name=op.f('fk_session_dependencies_depends_on_sessions'), onupdate='CASCADE', ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['session_id'], ['sessions.id'], name=op.f('fk_session_dependencies_session_id_sessions'), onupdate='CASCADE', ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('session_id', 'depends_on', name=op.f('pk_session_dependencies'))
    )


def downgrade() -> None:
    op.drop_constraint(op.f('fk_users_main_access_key_keypairs'), 'users', type_='foreignkey')
    op.drop_table('session_dependencies')
    op.drop_index(op.f('ix_kernels_terminated_at'), table_name='kernels')
    op.drop_index(op.f('ix_kernels_status_changed'), table_name='kernels')
    op.drop_index(op.f('ix_kernels_status'), table_name='kernels')
    op.drop_index(op.f('ix_kernels_session_name'), table_name='kernels')
    op.drop_index(op.f('ix_kernels_session_id'), table_name='kernels')
    op.drop_index(op.f('ix_kernels_scaling_group'), table_name='kernels')
    op.drop_index('ix_kernels_agent_status', table_name='kernels')
    op.drop_index(op.f('ix_kernels_agent'), table_name='kernels')
    op.drop_index(op.f('ix_kernels_access_key'), table_name='kernels')
    op.drop_table('kernels')
    op.drop_table('vfolder_permissions')
    op.drop_index('ix_vfolder_invitations_invitee_state', table_name='vfolder_invitations')
    op.drop_table('vfolder_invitations')
    op.drop_index(op.f('ix_sgroups_for_keypairs_access_key'), table_name='sgroups_for_keypairs')
    op.drop_table('sgroups_for_keypairs')
    op.drop_index(op.f('ix_sessions_user_uuid'), table_name='sessions')
    op.drop_index(op.f('ix_sessions_terminated_at'), table_name='sessions')
    op.drop_index(op.f('ix_sessions_status_changed'), table_name='sessions')
    op.drop_index(op.f('ix_sessions_status'), table_name='sessions')
    op.drop_index(op.f('ix_sessions_session_type'), table_name='sessions')
    op.drop_index(op.f('ix_sessions_scaling_group_name'), table_name='sessions')
    op.drop_index(op.f('ix_sessions_name'), table_name='sessions')
    op.drop_index(op.f('ix_sessions_group_id'), table_name='sessions')
    op.drop_index(op.f('ix_sessions_domain_name'), table_name='sessions')
    op.drop_index(op.f('ix_sessions_access_key'), table_name='sessions')
    op.drop_table('sessions')
    op.drop_index('ix_dotfiles_user_path', table_name='dotfiles', postgresql_where=sa.text("scope = 'user'"))
    op.drop_index('ix_dotfiles_group_path', table_name='dotfiles', postgresql_where=sa.text("scope = 'group'"))
    op.drop_index('ix_dotfiles_domain_path', table_name='dotfiles', postgresql_where=sa.text("scope = 'domain'"))
    op.drop_table('dotfiles')
    op.drop_index('ix_vfolders_user', table_name='vfolders')
    op.drop_index(op.f('ix_vfolders_status'), table_name='vfolders')
    op.drop_index(op.f('ix_vfolders_ownership_type'), table_name='vfolders')
    op.drop_index(op.f('ix_vfolders_name'), table_name='vfolders')
    op.drop_index('ix_vfolders_group', table_name='vfolders')
    op.drop_table('vfolders')
    op.drop_index(op.f('ix_sgroups_for_groups_group'), table_name='sgroups_for_groups')
    op.drop_table('sgroups_for_groups')
    op.drop_index(op.f('ix_session_templates_user_uuid'), table_name='session_templates')
    op.drop_index(op.f('ix_session_templates_type'), table_name='session_templates')
    op.drop_index(op.f('ix_session_templates_is_active'), table_name='session_templates')
    op.drop_table('session_templates')
    op.drop_index(op.f('ix_keypairs_user_id'), table_name='keypairs')
    op.drop_index(op.f('ix_keypairs_user'), table_name='keypairs')
    op.drop_index(op.f('ix_keypairs_is_admin'), table_name='keypairs')
    op.drop_index(op.f('ix_keypairs_is_active'), table_name='keypairs')
    op.drop_table('keypairs')
    op.drop_index(op.f('ix_error_logs_user'), table_name='error_logs')
    op.drop_index(op.f('ix_error_logs_severity'), table_name='error_logs')
    op.drop_index(op.f('ix_error_logs_is_read'), table_name='error_logs')
    op.drop_index(op.f('ix_error_logs_is_cleared'), table_name='error_logs')
    op.drop_table('error_logs')
    op.drop_index('ix_association_groups_users_group_id', table_name='association_groups_users')
    op.drop_table('association_groups_users')
    op.drop_index(op.f('ix_users_domain_name'), table_name='users')
    op.drop_table('users')
    op.drop_index(op.f('ix_sgroups_for_domains_domain'), table_name='sgroups_for_domains')
    op.drop_table('sgroups_for_domains')
    op.drop_index('ix_resource_presets_name_global', table_name='resource_presets', postgresql_where=sa.text('scaling_group_name IS NULL'))
    op.drop_table('resource_presets')
    op.drop_index(op.f('ix_image_aliases_image'), table_name='image_aliases')
    op.drop_table('image_aliases')
    op.drop_index(op.f('ix_groups_domain_name'), table_name='groups')
    op.drop_table('groups')
    op.drop_index(op.f('ix_agents_status'), table_name='agents')
    op.drop_index(op.f('ix_agents_scaling_group'), table_name='agents')
    op.drop_index(op.f('ix_agents_region'), table_name='agents')
    op.drop_table('agents')
    op.drop_table('user_resource_policies')
    op.drop_index(op.f('ix_scaling_groups_is_active'), table_name='scaling_groups')
    op.drop_table('scaling_groups')
    op.drop_table('project_resource_policies')
    op.drop_table('keypair_resource_policies')
    op.drop_index(op.f('ix_images_registry'), table_name='images')
    op.drop_index(op.f('ix_images_name'), table_name='images')
    op.drop_table('images')
    op.drop_table('domains')
    op.drop_index(op.f('ix_container_registries_registry_name'), table_name='container_registries')
    op.drop_table('container_registries')

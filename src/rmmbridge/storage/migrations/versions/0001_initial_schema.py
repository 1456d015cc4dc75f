"""initial schema

Revision ID: 0001
Revises: 
Create Date: 2026-12-06 23:41:57.062704
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql
revision: str = '0001'
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('alert_routes',
    sa.Column('tenant_id', sa.Uuid(), nullable=False),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('enabled', sa.Boolean(), nullable=False),
    sa.Column('severities', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('alert_types', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('client_ids', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('device_name_pattern', sa.String(length=200), nullable=True),
    sa.Column('business_hours', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('subscription_ids', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('stop_after_match', sa.Boolean(), nullable=False),
    sa.Column('group_window_s', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('tenant_id', 'id', name=op.f('pk_alert_routes'))
    )
    with op.batch_alter_table('alert_routes', schema=None) as batch_op:
        batch_op.create_index('ix_alert_routes_tenant_position', ['tenant_id', 'position'], unique=False)

    op.create_table('audit_log',
    sa.Column('tenant_id', sa.Uuid(), nullable=False),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('actor', sa.String(length=80), nullable=False),
    sa.Column('actor_email', sa.String(length=320), nullable=True),
    sa.Column('action', sa.String(length=60), nullable=False),
    sa.Column('target_type', sa.String(length=40), nullable=False),
    sa.Column('target_id', sa.Uuid(), nullable=True),
    sa.Column('target_label', sa.String(length=320), nullable=True),
    sa.Column('detail', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.PrimaryKeyConstraint('tenant_id', 'id', name=op.f('pk_audit_log'))
    )
    with op.batch_alter_table('audit_log', schema=None) as batch_op:
        batch_op.create_index('ix_audit_log_tenant_at', ['tenant_id', 'at'], unique=False)

    op.create_table('delivery_cursors',
    sa.Column('name', sa.String(length=60), nullable=False),
    sa.Column('tx_id', sa.BigInteger(), nullable=False),
    sa.Column('event_id', sa.Uuid(), nullable=True),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('name', name=op.f('pk_delivery_cursors'))
    )
    op.create_table('deployment_settings',
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('value', sa.Text(), nullable=False),
    sa.Column('source', sa.String(length=40), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('name', name=op.f('pk_deployment_settings'))
    )
    op.create_table('event_subscriptions',
    sa.Column('tenant_id', sa.Uuid(), nullable=False),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('url', sa.String(length=2000), nullable=False),
    sa.Column('format', sa.String(length=20), nullable=False),
    sa.Column('event_types', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('client_ids', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('enabled', sa.Boolean(), nullable=False),
    sa.Column('disabled_reason', sa.String(length=500), nullable=True),
    sa.Column('disabled_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('failing_since', sa.DateTime(timezone=True), nullable=True),
    sa.Column('last_success_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('previous_secret_expires_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('tenant_id', 'id', name=op.f('pk_event_subscriptions'))
    )
    op.create_table('identity_policies',
    sa.Column('tenant_id', sa.Uuid(), nullable=False),
    sa.Column('mode', sa.String(length=10), nullable=False),
    sa.Column('junk_threshold', sa.Integer(), nullable=False),
    sa.Column('precedence', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('tenant_id', name=op.f('pk_identity_policies'))
    )
    op.create_table('merge_candidates',
    sa.Column('tenant_id', sa.Uuid(), nullable=False),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('asset_a', sa.Uuid(), nullable=False),
    sa.Column('asset_b', sa.Uuid(), nullable=False),
    sa.Column('client_id', sa.Uuid(), nullable=True),
    sa.Column('score', sa.Integer(), nullable=False),
    sa.Column('reason', sa.String(length=200), nullable=False),
    sa.Column('evidence', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('decided_by', sa.String(length=100), nullable=True),
    sa.Column('decided_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('tenant_id', 'id', name=op.f('pk_merge_candidates')),
    sa.UniqueConstraint('tenant_id', 'asset_a', 'asset_b', name=op.f('uq_merge_candidates_tenant_id_asset_a_asset_b'))
    )
    with op.batch_alter_table('merge_candidates', schema=None) as batch_op:
        batch_op.create_index('ix_merge_candidates_tenant_status', ['tenant_id', 'status', 'client_id'], unique=False)

    op.create_table('scheduler_leases',
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('holder', sa.String(length=200), nullable=False),
    sa.Column('expires_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('name', name=op.f('pk_scheduler_leases'))
    )
    op.create_table('software_catalog',
    sa.Column('tenant_id', sa.Uuid(), nullable=False),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('name', sa.String(length=500), nullable=False),
    sa.Column('normalized_name', sa.String(length=500), nullable=False),
    sa.Column('publisher', sa.String(length=500), server_default='', nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('tenant_id', 'id', name=op.f('pk_software_catalog')),
    sa.UniqueConstraint('tenant_id', 'normalized_name', 'publisher', name=op.f('uq_software_catalog_tenant_id_normalized_name_publisher'))
    )
    op.create_table('tenants',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_tenants')),
    sa.UniqueConstraint('name', name=op.f('uq_tenants_name'))
    )
    op.create_table('clients',
    sa.Column('tenant_id', sa.Uuid(), nullable=False),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('archived_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], name=op.f('fk_clients_tenant_id_tenants')),
    sa.PrimaryKeyConstraint('tenant_id', 'id', name=op.f('pk_clients'))
    )
    op.create_table('event_deliveries',
    sa.Column('tenant_id', sa.Uuid(), nullable=False),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('subscription_id', sa.Uuid(), nullable=False),
    sa.Column('event_id', sa.Uuid(), nullable=False),
    sa.Column('event_type', sa.String(length=60), nullable=False),
    sa.Column('entity_id', sa.String(length=255), nullable=False),
    sa.Column('payload', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('next_attempt_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('lease_owner', sa.String(length=200), nullable=True),
    sa.Column('lease_expires_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('last_status_code', sa.Integer(), nullable=True),
    sa.Column('last_latency_ms', sa.Integer(), nullable=True),
    sa.Column('response_excerpt', sa.String(length=1000), nullable=True),
    sa.Column('last_error', sa.String(length=500), nullable=True),
    sa.Column('route_id', sa.Uuid(), nullable=True),
    sa.Column('event_created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('delivered_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['tenant_id', 'subscription_id'], ['event_subscriptions.tenant_id', 'event_subscriptions.id'], name=op.f('fk_event_deliveries_tenant_id_subscription_id_event_subscriptions'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('tenant_id', 'id', name=op.f('pk_event_deliveries')),
    sa.UniqueConstraint('tenant_id', 'subscription_id', 'event_id', name=op.f('uq_event_deliveries_tenant_id_subscription_id_event_id'))
    )
    with op.batch_alter_table('event_deliveries', schema=None) as batch_op:
        batch_op.create_index('ix_event_deliveries_created', ['created_at'], unique=False)
        batch_op.create_index('ix_event_deliveries_due', ['status', 'next_attempt_at'], unique=False)
        batch_op.create_index('ix_event_deliveries_sub_entity', ['tenant_id', 'subscription_id', 'entity_id'], unique=False)
        batch_op.create_index('ix_event_deliveries_tenant_sub_created', ['tenant_id', 'subscription_id', 'created_at'], unique=False)

    op.create_table('event_outbox',
    sa.Column('tenant_id', sa.Uuid(), nullable=False),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('event_type', sa.String(length=60), nullable=False),
    sa.Column('entity_type', sa.String(length=40), nullable=False),
    sa.Column('entity_id', sa.String(length=255), nullable=False),
    sa.Column('payload', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('tx_id', sa.BigInteger(), nullable=False),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], name=op.f('fk_event_outbox_tenant_id_tenants')),
    sa.PrimaryKeyConstraint('tenant_id', 'id', name=op.f('pk_event_outbox'))
    )
    with op.batch_alter_table('event_outbox', schema=None) as batch_op:
        batch_op.create_index('ix_event_outbox_created', ['created_at'], unique=False)
        batch_op.create_index('ix_event_outbox_tenant_tx_id', ['tenant_id', 'tx_id', 'id'], unique=False)
        batch_op.create_index('ix_event_outbox_tx', ['tx_id'], unique=False)

    op.create_table('rmm_integrations',
    sa.Column('tenant_id', sa.Uuid(), nullable=False),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('provider', sa.String(length=40), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('instance_url', sa.String(length=500), nullable=True),
    sa.Column('auth_mode', sa.String(length=40), nullable=True),
    sa.Column('is_active', sa.Boolean(), nullable=False),
    sa.Column('state', sa.String(length=30), nullable=False),
    sa.Column('state_message', sa.String(length=1000), nullable=True),
    sa.Column('settings', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('credential_hints', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('webhook_secret_digest', sa.String(length=64), nullable=True),
    sa.Column('webhook_configured_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('webhook_provisioning', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('webhook_hints', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('previous_webhook_secret_digest', sa.String(length=64), nullable=True),
    sa.Column('previous_webhook_secret_until', sa.DateTime(timezone=True), nullable=True),
    sa.Column('connected_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('disconnected_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('credentials_expire_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('last_test_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('last_test_result', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('sync_status', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('status_checked_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('status_fresh_until', sa.DateTime(timezone=True), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], name=op.f('fk_rmm_integrations_tenant_id_tenants')),
    sa.PrimaryKeyConstraint('tenant_id', 'id', name=op.f('pk_rmm_integrations')),
    sa.UniqueConstraint('tenant_id', 'name', name=op.f('uq_rmm_integrations_tenant_id_name')),
    sa.UniqueConstraint('webhook_secret_digest', name=op.f('uq_rmm_integrations_webhook_secret_digest'))
    )
    with op.batch_alter_table('rmm_integrations', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_rmm_integrations_previous_webhook_secret_digest'), ['previous_webhook_secret_digest'], unique=False)

    op.create_table('tenant_secrets',
    sa.Column('tenant_id', sa.Uuid(), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('ciphertext', sa.LargeBinary(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], name=op.f('fk_tenant_secrets_tenant_id_tenants')),
    sa.PrimaryKeyConstraint('tenant_id', 'name', name=op.f('pk_tenant_secrets'))
    )
    op.create_table('users',
    sa.Column('tenant_id', sa.Uuid(), nullable=False),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('email', sa.String(length=320), nullable=False),
    sa.Column('password_hash', sa.String(length=255), nullable=False),
    sa.Column('role', sa.String(length=20), nullable=False),
    sa.Column('is_active', sa.Boolean(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('last_login_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], name=op.f('fk_users_tenant_id_tenants')),
    sa.PrimaryKeyConstraint('tenant_id', 'id', name=op.f('pk_users')),
    sa.UniqueConstraint('email', name=op.f('uq_users_email'))
    )
    op.create_table('api_tokens',
    sa.Column('tenant_id', sa.Uuid(), nullable=False),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('user_id', sa.Uuid(), nullable=False),
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('token_digest', sa.String(length=64), nullable=False),
    sa.Column('last4', sa.String(length=4), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('last_used_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('revoked_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['tenant_id', 'user_id'], ['users.tenant_id', 'users.id'], name=op.f('fk_api_tokens_tenant_id_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('tenant_id', 'id', name=op.f('pk_api_tokens')),
    sa.UniqueConstraint('token_digest', name=op.f('uq_api_tokens_token_digest'))
    )
    op.create_table('assets',
    sa.Column('tenant_id', sa.Uuid(), nullable=False),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('client_id', sa.Uuid(), nullable=True),
    sa.Column('asset_type', sa.String(length=30), nullable=False),
    sa.Column('name', sa.String(length=255), nullable=False),
    sa.Column('serial_number', sa.String(length=255), nullable=True),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('location', sa.String(length=255), nullable=True),
    sa.Column('notes', sa.Text(), nullable=True),
    sa.Column('rmm_provider', sa.String(length=40), nullable=True),
    sa.Column('rmm_integration_id', sa.Uuid(), nullable=True),
    sa.Column('rmm_device_id', sa.String(length=255), nullable=True),
    sa.Column('rmm_organization_id', sa.String(length=255), nullable=True),
    sa.Column('rmm_site_id', sa.String(length=255), nullable=True),
    sa.Column('rmm_site_name', sa.String(length=255), nullable=True),
    sa.Column('agent_status', sa.String(length=20), nullable=False),
    sa.Column('last_seen_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('offline_after_s', sa.Integer(), nullable=True),
    sa.Column('overdue_after_s', sa.Integer(), nullable=True),
    sa.Column('offline_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('overdue_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('last_rmm_sync_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('missing_since', sa.DateTime(timezone=True), nullable=True),
    sa.Column('missing_snapshots', sa.Integer(), nullable=False),
    sa.Column('overrides', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['tenant_id', 'client_id'], ['clients.tenant_id', 'clients.id'], name=op.f('fk_assets_tenant_id_client_id_clients')),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], name=op.f('fk_assets_tenant_id_tenants')),
    sa.PrimaryKeyConstraint('tenant_id', 'id', name=op.f('pk_assets'))
    )
    with op.batch_alter_table('assets', schema=None) as batch_op:
        batch_op.create_index('ix_assets_tenant_client', ['tenant_id', 'client_id'], unique=False)
        batch_op.create_index('ix_assets_tenant_integration', ['tenant_id', 'rmm_integration_id'], unique=False)
        batch_op.create_index('ix_assets_tenant_name', ['tenant_id', 'name'], unique=False)

    op.create_table('external_entity_mappings',
    sa.Column('tenant_id', sa.Uuid(), nullable=False),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('integration_id', sa.Uuid(), nullable=False),
    sa.Column('entity_type', sa.String(length=40), nullable=False),
    sa.Column('external_id', sa.String(length=255), nullable=False),
    sa.Column('local_id', sa.Uuid(), nullable=False),
    sa.Column('external_ref', sa.String(length=255), nullable=True),
    sa.Column('realm_id', sa.String(length=255), nullable=True),
    sa.Column('site_id', sa.String(length=255), nullable=True),
    sa.Column('content_hash', sa.String(length=64), nullable=True),
    sa.Column('last_seen_run_id', sa.Uuid(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['tenant_id', 'integration_id'], ['rmm_integrations.tenant_id', 'rmm_integrations.id'], name=op.f('fk_external_entity_mappings_tenant_id_integration_id_rmm_integrations'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('tenant_id', 'id', name=op.f('pk_external_entity_mappings')),
    sa.UniqueConstraint('tenant_id', 'integration_id', 'entity_type', 'external_id', name=op.f('uq_external_entity_mappings_tenant_id_integration_id_entity_type_external_id'))
    )
    with op.batch_alter_table('external_entity_mappings', schema=None) as batch_op:
        batch_op.create_index('ix_eem_tenant_local', ['tenant_id', 'entity_type', 'local_id'], unique=False)

    op.create_table('oauth_authorizations',
    sa.Column('tenant_id', sa.Uuid(), nullable=False),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('integration_id', sa.Uuid(), nullable=False),
    sa.Column('user_id', sa.Uuid(), nullable=True),
    sa.Column('state_digest', sa.String(length=64), nullable=False),
    sa.Column('instance_url', sa.String(length=500), nullable=False),
    sa.Column('redirect_uri', sa.String(length=1000), nullable=False),
    sa.Column('expires_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('used_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['tenant_id', 'integration_id'], ['rmm_integrations.tenant_id', 'rmm_integrations.id'], name=op.f('fk_oauth_authorizations_tenant_id_integration_id_rmm_integrations'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('tenant_id', 'id', name=op.f('pk_oauth_authorizations')),
    sa.UniqueConstraint('state_digest', name=op.f('uq_oauth_authorizations_state_digest'))
    )
    op.create_table('rmm_organization_mappings',
    sa.Column('tenant_id', sa.Uuid(), nullable=False),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('integration_id', sa.Uuid(), nullable=False),
    sa.Column('external_org_id', sa.String(length=255), nullable=False),
    sa.Column('external_org_name', sa.String(length=255), nullable=False),
    sa.Column('scope_kind', sa.String(length=40), nullable=False),
    sa.Column('attributes', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('client_id', sa.Uuid(), nullable=True),
    sa.Column('auto_sync_assets', sa.Boolean(), nullable=False),
    sa.Column('device_count', sa.Integer(), nullable=True),
    sa.Column('missing_since', sa.DateTime(timezone=True), nullable=True),
    sa.Column('last_synced_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['tenant_id', 'client_id'], ['clients.tenant_id', 'clients.id'], name=op.f('fk_rmm_organization_mappings_tenant_id_client_id_clients')),
    sa.ForeignKeyConstraint(['tenant_id', 'integration_id'], ['rmm_integrations.tenant_id', 'rmm_integrations.id'], name=op.f('fk_rmm_organization_mappings_tenant_id_integration_id_rmm_integrations'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('tenant_id', 'id', name=op.f('pk_rmm_organization_mappings')),
    sa.UniqueConstraint('tenant_id', 'integration_id', 'external_org_id', name=op.f('uq_rmm_organization_mappings_tenant_id_integration_id_external_org_id'))
    )
    op.create_table('saved_views',
    sa.Column('tenant_id', sa.Uuid(), nullable=False),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('user_id', sa.Uuid(), nullable=False),
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('filters', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('columns', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['tenant_id', 'user_id'], ['users.tenant_id', 'users.id'], name=op.f('fk_saved_views_tenant_id_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('tenant_id', 'id', name=op.f('pk_saved_views')),
    sa.UniqueConstraint('tenant_id', 'user_id', 'name', name=op.f('uq_saved_views_tenant_id_user_id_name'))
    )
    op.create_table('schedule_states',
    sa.Column('tenant_id', sa.Uuid(), nullable=False),
    sa.Column('integration_id', sa.Uuid(), nullable=False),
    sa.Column('kind', sa.String(length=20), nullable=False),
    sa.Column('last_fired_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('next_due_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['tenant_id', 'integration_id'], ['rmm_integrations.tenant_id', 'rmm_integrations.id'], name=op.f('fk_schedule_states_tenant_id_integration_id_rmm_integrations'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('tenant_id', 'integration_id', 'kind', name=op.f('pk_schedule_states'))
    )
    op.create_table('sync_cursors',
    sa.Column('tenant_id', sa.Uuid(), nullable=False),
    sa.Column('integration_id', sa.Uuid(), nullable=False),
    sa.Column('stream', sa.String(length=60), nullable=False),
    sa.Column('value', sa.String(length=1000), nullable=True),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['tenant_id', 'integration_id'], ['rmm_integrations.tenant_id', 'rmm_integrations.id'], name=op.f('fk_sync_cursors_tenant_id_integration_id_rmm_integrations'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('tenant_id', 'integration_id', 'stream', name=op.f('pk_sync_cursors'))
    )
    op.create_table('sync_runs',
    sa.Column('tenant_id', sa.Uuid(), nullable=False),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('integration_id', sa.Uuid(), nullable=False),
    sa.Column('kind', sa.String(length=20), nullable=False),
    sa.Column('trigger', sa.String(length=20), nullable=False),
    sa.Column('target', sa.String(length=255), server_default='', nullable=False),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('params', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('counters', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('progress', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('errors', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('complete_snapshot', sa.Boolean(), nullable=False),
    sa.Column('owner', sa.String(length=200), nullable=True),
    sa.Column('heartbeat_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('attempt', sa.Integer(), server_default='0', nullable=False),
    sa.Column('lease_expires_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('attempts', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('started_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('finished_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['tenant_id', 'integration_id'], ['rmm_integrations.tenant_id', 'rmm_integrations.id'], name=op.f('fk_sync_runs_tenant_id_integration_id_rmm_integrations'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('tenant_id', 'id', name=op.f('pk_sync_runs'))
    )
    with op.batch_alter_table('sync_runs', schema=None) as batch_op:
        batch_op.create_index('ix_sync_runs_recent_target', ['tenant_id', 'integration_id', 'kind', 'target', 'created_at'], unique=False)
        batch_op.create_index('ix_sync_runs_tenant_integration_created', ['tenant_id', 'integration_id', 'created_at'], unique=False)
        batch_op.create_index('uq_sync_runs_one_active', ['tenant_id', 'integration_id', 'kind', 'target'], unique=True, sqlite_where=sa.text("status IN ('queued', 'running')"), postgresql_where=sa.text("status IN ('queued', 'running')"))

    op.create_table('user_sessions',
    sa.Column('tenant_id', sa.Uuid(), nullable=False),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('user_id', sa.Uuid(), nullable=False),
    sa.Column('token_digest', sa.String(length=64), nullable=False),
    sa.Column('csrf_token', sa.String(length=64), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('expires_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('last_seen_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['tenant_id', 'user_id'], ['users.tenant_id', 'users.id'], name=op.f('fk_user_sessions_tenant_id_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('tenant_id', 'id', name=op.f('pk_user_sessions')),
    sa.UniqueConstraint('token_digest', name=op.f('uq_user_sessions_token_digest'))
    )
    op.create_table('webhook_deliveries',
    sa.Column('tenant_id', sa.Uuid(), nullable=False),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('integration_id', sa.Uuid(), nullable=False),
    sa.Column('accepted', sa.Boolean(), nullable=False),
    sa.Column('reason', sa.String(length=500), nullable=True),
    sa.Column('payload_excerpt', sa.String(length=4000), nullable=True),
    sa.Column('received_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['tenant_id', 'integration_id'], ['rmm_integrations.tenant_id', 'rmm_integrations.id'], name=op.f('fk_webhook_deliveries_tenant_id_integration_id_rmm_integrations'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('tenant_id', 'id', name=op.f('pk_webhook_deliveries'))
    )
    with op.batch_alter_table('webhook_deliveries', schema=None) as batch_op:
        batch_op.create_index('ix_webhook_deliveries_received', ['received_at'], unique=False)
        batch_op.create_index('ix_webhook_deliveries_tenant_integration_at', ['tenant_id', 'integration_id', 'received_at'], unique=False)

    op.create_table('asset_history',
    sa.Column('tenant_id', sa.Uuid(), nullable=False),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('asset_id', sa.Uuid(), nullable=False),
    sa.Column('action', sa.String(length=20), nullable=False),
    sa.Column('actor', sa.String(length=100), nullable=False),
    sa.Column('changes', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['tenant_id', 'asset_id'], ['assets.tenant_id', 'assets.id'], name=op.f('fk_asset_history_tenant_id_asset_id_assets'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('tenant_id', 'id', name=op.f('pk_asset_history'))
    )
    with op.batch_alter_table('asset_history', schema=None) as batch_op:
        batch_op.create_index('ix_asset_history_tenant_asset_at', ['tenant_id', 'asset_id', 'created_at'], unique=False)

    op.create_table('asset_liveness',
    sa.Column('tenant_id', sa.Uuid(), nullable=False),
    sa.Column('asset_id', sa.Uuid(), nullable=False),
    sa.Column('integration_id', sa.Uuid(), nullable=False),
    sa.Column('last_seen_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('offline_after_s', sa.Integer(), nullable=True),
    sa.Column('overdue_after_s', sa.Integer(), nullable=True),
    sa.Column('offline_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('overdue_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('rmm_status', sa.String(length=20), nullable=True),
    sa.Column('observed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('fresh_until', sa.DateTime(timezone=True), nullable=True),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('status_changed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('checks_failing', sa.Integer(), nullable=True),
    sa.Column('checks_warning', sa.Integer(), nullable=True),
    sa.Column('needs_reboot', sa.Boolean(), nullable=True),
    sa.Column('patches_pending', sa.Boolean(), nullable=True),
    sa.Column('maintenance_mode', sa.Boolean(), nullable=True),
    sa.Column('pending_actions', sa.Integer(), nullable=True),
    sa.Column('current_user', sa.String(length=255), nullable=True),
    sa.Column('boot_time', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['tenant_id', 'asset_id'], ['assets.tenant_id', 'assets.id'], name=op.f('fk_asset_liveness_tenant_id_asset_id_assets'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['tenant_id', 'integration_id'], ['rmm_integrations.tenant_id', 'rmm_integrations.id'], name=op.f('fk_asset_liveness_tenant_id_integration_id_rmm_integrations'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('tenant_id', 'asset_id', name=op.f('pk_asset_liveness'))
    )
    with op.batch_alter_table('asset_liveness', schema=None) as batch_op:
        batch_op.create_index('ix_asset_liveness_tenant_integration', ['tenant_id', 'integration_id'], unique=False)

    op.create_table('asset_software',
    sa.Column('tenant_id', sa.Uuid(), nullable=False),
    sa.Column('asset_id', sa.Uuid(), nullable=False),
    sa.Column('software_id', sa.Uuid(), nullable=False),
    sa.Column('version', sa.String(length=200), server_default='', nullable=False),
    sa.Column('install_date', sa.DateTime(timezone=True), nullable=True),
    sa.Column('size_bytes', sa.BigInteger(), nullable=True),
    sa.Column('is_current', sa.Boolean(), nullable=False),
    sa.Column('first_seen_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('last_seen_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('uninstalled_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['tenant_id', 'asset_id'], ['assets.tenant_id', 'assets.id'], name=op.f('fk_asset_software_tenant_id_asset_id_assets'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['tenant_id', 'software_id'], ['software_catalog.tenant_id', 'software_catalog.id'], name=op.f('fk_asset_software_tenant_id_software_id_software_catalog')),
    sa.PrimaryKeyConstraint('tenant_id', 'asset_id', 'software_id', 'version', name=op.f('pk_asset_software'))
    )
    with op.batch_alter_table('asset_software', schema=None) as batch_op:
        batch_op.create_index('ix_asset_software_tenant_software', ['tenant_id', 'software_id'], unique=False)

    op.create_table('asset_software_inventories',
    sa.Column('tenant_id', sa.Uuid(), nullable=False),
    sa.Column('asset_id', sa.Uuid(), nullable=False),
    sa.Column('digest', sa.String(length=64), nullable=False),
    sa.Column('installations', sa.Integer(), nullable=False),
    sa.Column('seen_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('changed_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['tenant_id', 'asset_id'], ['assets.tenant_id', 'assets.id'], name=op.f('fk_asset_software_inventories_tenant_id_asset_id_assets'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('tenant_id', 'asset_id', name=op.f('pk_asset_software_inventories'))
    )
    op.create_table('asset_sources',
    sa.Column('tenant_id', sa.Uuid(), nullable=False),
    sa.Column('mapping_id', sa.Uuid(), nullable=False),
    sa.Column('asset_id', sa.Uuid(), nullable=False),
    sa.Column('integration_id', sa.Uuid(), nullable=False),
    sa.Column('provider', sa.String(length=40), nullable=False),
    sa.Column('external_id', sa.String(length=255), nullable=False),
    sa.Column('origin_asset_id', sa.Uuid(), nullable=False),
    sa.Column('client_id', sa.Uuid(), nullable=True),
    sa.Column('fields', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('last_seen_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('missing_since', sa.DateTime(timezone=True), nullable=True),
    sa.Column('attached_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('attached_by', sa.String(length=100), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['tenant_id', 'mapping_id'], ['external_entity_mappings.tenant_id', 'external_entity_mappings.id'], name=op.f('fk_asset_sources_tenant_id_mapping_id_external_entity_mappings'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('tenant_id', 'mapping_id', name=op.f('pk_asset_sources'))
    )
    with op.batch_alter_table('asset_sources', schema=None) as batch_op:
        batch_op.create_index('ix_asset_sources_tenant_asset', ['tenant_id', 'asset_id'], unique=False)
        batch_op.create_index('ix_asset_sources_tenant_integration', ['tenant_id', 'integration_id'], unique=False)

    op.create_table('identity_evidence',
    sa.Column('tenant_id', sa.Uuid(), nullable=False),
    sa.Column('mapping_id', sa.Uuid(), nullable=False),
    sa.Column('kind', sa.String(length=10), nullable=False),
    sa.Column('value', sa.String(length=255), nullable=False),
    sa.Column('asset_id', sa.Uuid(), nullable=False),
    sa.Column('integration_id', sa.Uuid(), nullable=False),
    sa.Column('client_id', sa.Uuid(), nullable=True),
    sa.Column('vendor', sa.String(length=40), nullable=False),
    sa.ForeignKeyConstraint(['tenant_id', 'mapping_id'], ['external_entity_mappings.tenant_id', 'external_entity_mappings.id'], name=op.f('fk_identity_evidence_tenant_id_mapping_id_external_entity_mappings'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('tenant_id', 'mapping_id', 'kind', 'value', name=op.f('pk_identity_evidence'))
    )
    with op.batch_alter_table('identity_evidence', schema=None) as batch_op:
        batch_op.create_index('ix_identity_evidence_lookup', ['tenant_id', 'value'], unique=False)

    op.create_table('rmm_alerts',
    sa.Column('tenant_id', sa.Uuid(), nullable=False),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('integration_id', sa.Uuid(), nullable=False),
    sa.Column('external_alert_id', sa.String(length=255), nullable=False),
    sa.Column('external_device_id', sa.String(length=255), nullable=True),
    sa.Column('asset_id', sa.Uuid(), nullable=True),
    sa.Column('severity', sa.String(length=20), nullable=False),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('alert_type', sa.String(length=60), nullable=True),
    sa.Column('message', sa.Text(), nullable=True),
    sa.Column('source', sa.String(length=20), nullable=False),
    sa.Column('occurrences', sa.Integer(), nullable=False),
    sa.Column('raised_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('resolved_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('first_seen_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('last_seen_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('webhook_seen', sa.Boolean(), nullable=False),
    sa.Column('poll_seen', sa.Boolean(), nullable=False),
    sa.Column('attributes', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('acknowledged_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('acknowledged_by', sa.String(length=320), nullable=True),
    sa.Column('resolved_by', sa.String(length=320), nullable=True),
    sa.Column('snoozed_until', sa.DateTime(timezone=True), nullable=True),
    sa.Column('remote_action', sa.String(length=20), nullable=True),
    sa.Column('remote_state', sa.String(length=20), nullable=True),
    sa.Column('remote_error', sa.Text(), nullable=True),
    sa.ForeignKeyConstraint(['tenant_id', 'asset_id'], ['assets.tenant_id', 'assets.id'], name=op.f('fk_rmm_alerts_tenant_id_asset_id_assets')),
    sa.ForeignKeyConstraint(['tenant_id', 'integration_id'], ['rmm_integrations.tenant_id', 'rmm_integrations.id'], name=op.f('fk_rmm_alerts_tenant_id_integration_id_rmm_integrations'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('tenant_id', 'id', name=op.f('pk_rmm_alerts')),
    sa.UniqueConstraint('tenant_id', 'integration_id', 'external_alert_id', name=op.f('uq_rmm_alerts_tenant_id_integration_id_external_alert_id'))
    )
    with op.batch_alter_table('rmm_alerts', schema=None) as batch_op:
        batch_op.create_index('ix_rmm_alerts_tenant_asset', ['tenant_id', 'asset_id'], unique=False)
        batch_op.create_index('ix_rmm_alerts_tenant_status', ['tenant_id', 'status'], unique=False)

    op.create_table('server_assets',
    sa.Column('tenant_id', sa.Uuid(), nullable=False),
    sa.Column('asset_id', sa.Uuid(), nullable=False),
    sa.Column('manufacturer', sa.String(length=255), nullable=True),
    sa.Column('model', sa.String(length=255), nullable=True),
    sa.Column('hardware_uuid', sa.String(length=64), nullable=True),
    sa.Column('os_name', sa.String(length=255), nullable=True),
    sa.Column('os_version', sa.String(length=100), nullable=True),
    sa.Column('platform', sa.String(length=30), nullable=True),
    sa.Column('architecture', sa.String(length=20), nullable=True),
    sa.Column('cpu_model', sa.String(length=255), nullable=True),
    sa.Column('cpu_cores', sa.Integer(), nullable=True),
    sa.Column('cpu_threads', sa.Integer(), nullable=True),
    sa.Column('ram_bytes', sa.BigInteger(), nullable=True),
    sa.Column('volumes', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('physical_disks', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('gpu', sa.String(length=255), nullable=True),
    sa.Column('domain', sa.String(length=255), nullable=True),
    sa.Column('agent_version', sa.String(length=50), nullable=True),
    sa.Column('current_user', sa.String(length=255), nullable=True),
    sa.Column('last_user', sa.String(length=255), nullable=True),
    sa.Column('boot_time', sa.DateTime(timezone=True), nullable=True),
    sa.Column('lan_ips', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('primary_ip', sa.String(length=64), nullable=True),
    sa.Column('wan_ip', sa.String(length=64), nullable=True),
    sa.Column('mac_addresses', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('needs_reboot', sa.Boolean(), nullable=True),
    sa.Column('patches_last_installed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['tenant_id', 'asset_id'], ['assets.tenant_id', 'assets.id'], name=op.f('fk_server_assets_tenant_id_asset_id_assets'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('tenant_id', 'asset_id', name=op.f('pk_server_assets'))
    )
    op.create_table('workstation_assets',
    sa.Column('tenant_id', sa.Uuid(), nullable=False),
    sa.Column('asset_id', sa.Uuid(), nullable=False),
    sa.Column('manufacturer', sa.String(length=255), nullable=True),
    sa.Column('model', sa.String(length=255), nullable=True),
    sa.Column('hardware_uuid', sa.String(length=64), nullable=True),
    sa.Column('os_name', sa.String(length=255), nullable=True),
    sa.Column('os_version', sa.String(length=100), nullable=True),
    sa.Column('platform', sa.String(length=30), nullable=True),
    sa.Column('architecture', sa.String(length=20), nullable=True),
    sa.Column('cpu_model', sa.String(length=255), nullable=True),
    sa.Column('cpu_cores', sa.Integer(), nullable=True),
    sa.Column('cpu_threads', sa.Integer(), nullable=True),
    sa.Column('ram_bytes', sa.BigInteger(), nullable=True),
    sa.Column('volumes', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('physical_disks', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('gpu', sa.String(length=255), nullable=True),
    sa.Column('domain', sa.String(length=255), nullable=True),
    sa.Column('agent_version', sa.String(length=50), nullable=True),
    sa.Column('current_user', sa.String(length=255), nullable=True),
    sa.Column('last_user', sa.String(length=255), nullable=True),
    sa.Column('boot_time', sa.DateTime(timezone=True), nullable=True),
    sa.Column('lan_ips', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('primary_ip', sa.String(length=64), nullable=True),
    sa.Column('wan_ip', sa.String(length=64), nullable=True),
    sa.Column('mac_addresses', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('needs_reboot', sa.Boolean(), nullable=True),
    sa.Column('patches_last_installed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['tenant_id', 'asset_id'], ['assets.tenant_id', 'assets.id'], name=op.f('fk_workstation_assets_tenant_id_asset_id_assets'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('tenant_id', 'asset_id', name=op.f('pk_workstation_assets'))
    )
    op.create_table('rmm_alert_entries',
    sa.Column('tenant_id', sa.Uuid(), nullable=False),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('alert_id', sa.Uuid(), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('kind', sa.String(length=30), nullable=False),
    sa.Column('source', sa.String(length=20), nullable=False),
    sa.Column('actor', sa.String(length=320), nullable=True),
    sa.Column('detail', sa.Text(), nullable=True),
    sa.Column('payload', sa.Text(), nullable=True),
    sa.ForeignKeyConstraint(['tenant_id', 'alert_id'], ['rmm_alerts.tenant_id', 'rmm_alerts.id'], name=op.f('fk_rmm_alert_entries_tenant_id_alert_id_rmm_alerts'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('tenant_id', 'id', name=op.f('pk_rmm_alert_entries'))
    )
    with op.batch_alter_table('rmm_alert_entries', schema=None) as batch_op:
        batch_op.create_index('ix_rmm_alert_entries_alert', ['tenant_id', 'alert_id', 'at'], unique=False)

    op.create_index(
        "uq_clients_tenant_lower_name_live",
        "clients",
        ["tenant_id", sa.text("lower(name)")],
        unique=True,
        sqlite_where=sa.text("archived_at IS NULL"),
        postgresql_where=sa.text("archived_at IS NULL"),
    )


def downgrade() -> None:
    op.drop_index("uq_clients_tenant_lower_name_live", table_name="clients")
    with op.batch_alter_table('rmm_alert_entries', schema=None) as batch_op:
        batch_op.drop_index('ix_rmm_alert_entries_alert')

    op.drop_table('rmm_alert_entries')
    op.drop_table('workstation_assets')
    op.drop_table('server_assets')
    with op.batch_alter_table('rmm_alerts', schema=None) as batch_op:
        batch_op.drop_index('ix_rmm_alerts_tenant_status')
        batch_op.drop_index('ix_rmm_alerts_tenant_asset')

    op.drop_table('rmm_alerts')
    with op.batch_alter_table('identity_evidence', schema=None) as batch_op:
        batch_op.drop_index('ix_identity_evidence_lookup')

    op.drop_table('identity_evidence')
    with op.batch_alter_table('asset_sources', schema=None) as batch_op:
        batch_op.drop_index('ix_asset_sources_tenant_integration')
        batch_op.drop_index('ix_asset_sources_tenant_asset')

    op.drop_table('asset_sources')
    op.drop_table('asset_software_inventories')
    with op.batch_alter_table('asset_software', schema=None) as batch_op:
        batch_op.drop_index('ix_asset_software_tenant_software')

    op.drop_table('asset_software')
    with op.batch_alter_table('asset_liveness', schema=None) as batch_op:
        batch_op.drop_index('ix_asset_liveness_tenant_integration')

    op.drop_table('asset_liveness')
    with op.batch_alter_table('asset_history', schema=None) as batch_op:
        batch_op.drop_index('ix_asset_history_tenant_asset_at')

    op.drop_table('asset_history')
    with op.batch_alter_table('webhook_deliveries', schema=None) as batch_op:
        batch_op.drop_index('ix_webhook_deliveries_tenant_integration_at')
        batch_op.drop_index('ix_webhook_deliveries_received')

    op.drop_table('webhook_deliveries')
    op.drop_table('user_sessions')
    with op.batch_alter_table('sync_runs', schema=None) as batch_op:
        batch_op.drop_index('uq_sync_runs_one_active', sqlite_where=sa.text("status IN ('queued', 'running')"), postgresql_where=sa.text("status IN ('queued', 'running')"))
        batch_op.drop_index('ix_sync_runs_tenant_integration_created')
        batch_op.drop_index('ix_sync_runs_recent_target')

    op.drop_table('sync_runs')
    op.drop_table('sync_cursors')
    op.drop_table('schedule_states')
    op.drop_table('saved_views')
    op.drop_table('rmm_organization_mappings')
    op.drop_table('oauth_authorizations')
    with op.batch_alter_table('external_entity_mappings', schema=None) as batch_op:
        batch_op.drop_index('ix_eem_tenant_local')

    op.drop_table('external_entity_mappings')
    with op.batch_alter_table('assets', schema=None) as batch_op:
        batch_op.drop_index('ix_assets_tenant_name')
        batch_op.drop_index('ix_assets_tenant_integration')
        batch_op.drop_index('ix_assets_tenant_client')

    op.drop_table('assets')
    op.drop_table('api_tokens')
    op.drop_table('users')
    op.drop_table('tenant_secrets')
    with op.batch_alter_table('rmm_integrations', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_rmm_integrations_previous_webhook_secret_digest'))

    op.drop_table('rmm_integrations')
    with op.batch_alter_table('event_outbox', schema=None) as batch_op:
        batch_op.drop_index('ix_event_outbox_tx')
        batch_op.drop_index('ix_event_outbox_tenant_tx_id')
        batch_op.drop_index('ix_event_outbox_created')

    op.drop_table('event_outbox')
    with op.batch_alter_table('event_deliveries', schema=None) as batch_op:
        batch_op.drop_index('ix_event_deliveries_tenant_sub_created')
        batch_op.drop_index('ix_event_deliveries_sub_entity')
        batch_op.drop_index('ix_event_deliveries_due')
        batch_op.drop_index('ix_event_deliveries_created')

    op.drop_table('event_deliveries')
    op.drop_table('clients')
    op.drop_table('tenants')
    op.drop_table('software_catalog')
    op.drop_table('scheduler_leases')
    with op.batch_alter_table('merge_candidates', schema=None) as batch_op:
        batch_op.drop_index('ix_merge_candidates_tenant_status')

    op.drop_table('merge_candidates')
    op.drop_table('identity_policies')
    op.drop_table('event_subscriptions')
    op.drop_table('deployment_settings')
    op.drop_table('delivery_cursors')
    with op.batch_alter_table('audit_log', schema=None) as batch_op:
        batch_op.drop_index('ix_audit_log_tenant_at')

    op.drop_table('audit_log')
    with op.batch_alter_table('alert_routes', schema=None) as batch_op:
        batch_op.drop_index('ix_alert_routes_tenant_position')

    op.drop_table('alert_routes')

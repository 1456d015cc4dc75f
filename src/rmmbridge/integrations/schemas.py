"""Typed records for integrations and organization mappings."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, StrictBool, StringConstraints

from rmmbridge.kit.text import NO_NUL, InputJson, InputText


class CheckOut(BaseModel):
    name: str
    ok: bool
    message: str
    fix: str | None = None
    warning: bool = False


class ProviderInfo(BaseModel):
    key: str
    display_name: str
    description: str
    capabilities: list[str]
    auth_modes: list[str]
    allows_multiple: bool
    scope_label: str
    has_webhook: bool
    config_schema: dict[str, Any]
    secret_fields: list[str]


class SyncKindStatus(BaseModel):
    last_success_at: datetime | None = None
    last_error_at: datetime | None = None
    last_error: str | None = None
    last_run_id: uuid.UUID | None = None


class IntegrationOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: uuid.UUID
    provider: str
    provider_name: str
    name: str
    instance_url: str | None
    auth_mode: str | None
    is_active: bool
    state: str
    state_message: str | None
    settings: dict[str, Any]
    credentials: dict[str, str] = Field(description="stored credentials, masked (last 4 characters only)")
    capabilities: list[str]
    webhook_configured: bool
    connected_at: datetime | None
    disconnected_at: datetime | None
    last_test_at: datetime | None
    last_test_result: list[CheckOut]
    sync_status: dict[str, SyncKindStatus]
    created_at: datetime
    updated_at: datetime


class IntegrationCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    provider: str = Field(min_length=1, max_length=40, pattern=NO_NUL)
    name: str | None = Field(default=None, max_length=200, pattern=NO_NUL)
    settings: dict[InputText, InputJson] = Field(default_factory=dict)


class IntegrationUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str | None = Field(default=None, min_length=1, max_length=200, pattern=NO_NUL)
    settings: dict[InputText, InputJson] | None = Field(default=None, description="merged into the stored settings")


class CredentialsIn(BaseModel):
    """Connection settings and secrets; omitted secrets keep their stored values."""

    model_config = ConfigDict(extra="forbid")
    instance_url: str | None = Field(default=None, max_length=500, pattern=NO_NUL)
    auth_mode: str | None = Field(default=None, max_length=40, pattern=NO_NUL)
    values: dict[InputText, InputText | int | bool | None] = Field(default_factory=dict)


class TestIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    totp_code: str | None = Field(default=None, pattern=r"^\d{6,8}$", description="one-time code, when asked")


class TestOut(BaseModel):
    ok: bool
    totp_required: bool = False
    checks: list[CheckOut]
    integration: IntegrationOut


class MappingOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: uuid.UUID
    integration_id: uuid.UUID
    external_org_id: str
    external_org_name: str
    scope_kind: str
    client_id: uuid.UUID | None
    client_name: str | None = None
    auto_sync_assets: bool
    device_count: int | None
    missing_since: datetime | None
    last_synced_at: datetime | None
    asset_count: int = 0
    attributes: dict[str, Any]


class MappingUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    client_id: uuid.UUID | None = Field(default=None, description="PSA client; null unmaps")
    auto_sync_assets: StrictBool | None = None
    unmap: StrictBool = Field(default=False, description="set true to clear the client")


class WebhookInfo(BaseModel):
    supported: bool
    url: str | None
    header: str | None
    header_aliases: list[str] = Field(default_factory=list)
    secret_configured: bool
    secret_hint: str | None
    templates: dict[str, str]
    deliveries_accepted: int = 0
    deliveries_rejected: int = 0
    alerts_missed_by_webhook: int = 0
    # Delivery health: when the webhook was configured (missed alerts count from then), the last
    # delivery, whether rmmbridge can configure the RMM itself, the last provisioning report, and
    # why alerts polling found never arrived (from what the RMM reports).
    configured_at: datetime | None = None
    last_delivery_at: datetime | None = None
    last_delivery_accepted: bool | None = None
    can_provision: bool = False
    provisioning: dict[str, Any] = Field(default_factory=dict)
    hints: list[str] = Field(default_factory=list)


class ProvisionIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    # The RMM's alert templates to attach to (its ids); omitted: every active template that applies.
    template_ids: list[Annotated[str, StringConstraints(max_length=40)]] | None = Field(default=None, max_length=200)
    send_test: bool = True


class ProvisionStepOut(BaseModel):
    item: str
    outcome: str
    detail: str = ""
    fix: str | None = None


class ProvisionOut(BaseModel):
    ok: bool
    steps: list[ProvisionStepOut]
    test_delivered: bool | None = None
    test_detail: str | None = None
    info: WebhookInfo


class AlertTemplateOut(BaseModel):
    id: str
    name: str
    active: bool
    default: bool
    # The mapped scopes (RMM ids) it applies to; null when the RMM did not say.
    applies_to: list[str] | None
    in_default: bool  # part of the default choice (provisioning without template_ids)
    preselected: bool  # ticked in the UI: the default choice less templates running another action
    action: str = ""  # the failure action it runs now
    ours: bool = False  # that action is rmmbridge's


class AlertTemplatesOut(BaseModel):
    templates: list[AlertTemplateOut]
    # Set when the RMM could not be read (a permission, unreachable): in plain words, with a fix.
    error: str | None = None
    fix: str | None = None


class WebhookTestOut(BaseModel):
    delivered: bool
    detail: str
    info: WebhookInfo


class DisconnectIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    remove_webhook: StrictBool = False  # {"remove_webhook": 0} is a 422, as the document says


class WebhookSecretOut(BaseModel):
    secret: str
    info: WebhookInfo
    # After a rotate of a provisioned webhook: how the RMM's copy of the secret was updated.
    rmm_update: dict[str, Any] | None = None


# --------------------------------------------------------------------------- bulk mapping (issue #17)


class NameMatchOut(BaseModel):
    mapping_id: uuid.UUID
    organization: str
    client_id: uuid.UUID
    client_name: str
    exact: bool = Field(description="equal names once case, punctuation and legal forms are ignored")
    score: float = Field(description="similarity, 1.0 for exact matches")


class MatchConfirm(BaseModel):
    model_config = ConfigDict(extra="forbid")
    mapping_id: uuid.UUID
    client_id: uuid.UUID


class MatchesIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    matches: list[MatchConfirm] = Field(max_length=5000)


class BulkMappingIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    mapping_ids: list[uuid.UUID] = Field(min_length=1, max_length=5000)
    client_id: uuid.UUID | None = None
    unmap: StrictBool = False
    auto_sync_assets: StrictBool | None = None


class BulkMappingOut(BaseModel):
    updated: int
    created_clients: int = 0
    reused_clients: int = 0

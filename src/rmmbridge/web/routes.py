"""Every router of the service, in one place: REST (``/api/v1``), webhooks, and UI pages."""

from __future__ import annotations

from fastapi import APIRouter, Depends

from rmmbridge.alerts import api as alerts_api
from rmmbridge.alerts import ui as alerts_ui
from rmmbridge.alerts import webhooks as alert_webhooks
from rmmbridge.assets import api as assets_api
from rmmbridge.assets import saved_views_ui
from rmmbridge.assets import ui as assets_ui
from rmmbridge.clients import api as clients_api
from rmmbridge.clients import ui as clients_ui
from rmmbridge.delivery import api as delivery_api
from rmmbridge.delivery import ui as delivery_ui
from rmmbridge.events import api as events_api
from rmmbridge.identity import api as identity_api
from rmmbridge.identity import ui as identity_ui
from rmmbridge.integrations import api as integrations_api
from rmmbridge.integrations import ui as integrations_ui
from rmmbridge.sync import api as sync_api
from rmmbridge.tenancy import api as tenancy_api
from rmmbridge.tenancy import ui as tenancy_ui
from rmmbridge.tenancy import users_ui
from rmmbridge.web.input import reject_nul
from rmmbridge.web.ui import pages

# Webhooks are not here: their bodies are remote free text, stripped of NULs by the ingestion.
api_router = APIRouter(prefix="/api/v1", dependencies=[Depends(reject_nul)])
api_router.include_router(alerts_api.router)
api_router.include_router(assets_api.router)
api_router.include_router(assets_api.fleet_router)
api_router.include_router(assets_api.views_router)
api_router.include_router(clients_api.router)
api_router.include_router(delivery_api.router)
api_router.include_router(events_api.router)
api_router.include_router(identity_api.router)
api_router.include_router(integrations_api.router)
api_router.include_router(sync_api.router)
api_router.include_router(tenancy_api.router)

webhook_router = alert_webhooks.router

ui_router = APIRouter(include_in_schema=False, dependencies=[Depends(reject_nul)])
ui_router.include_router(tenancy_ui.router)
ui_router.include_router(clients_ui.router)
ui_router.include_router(integrations_ui.router)
ui_router.include_router(delivery_ui.router)
# Before the asset pages: /assets/views/… must not be read as /assets/{asset_id}/….
ui_router.include_router(saved_views_ui.router)
ui_router.include_router(assets_ui.router)
ui_router.include_router(alerts_ui.router)
ui_router.include_router(identity_ui.router)
ui_router.include_router(pages.router)
ui_router.include_router(users_ui.router)

"""Application errors. Each maps to one HTTP status and one stable problem ``type``."""

from __future__ import annotations

from typing import Any


class AppError(Exception):
    status_code = 400
    type = "bad-request"
    title = "Bad request"

    def __init__(self, detail: str, *, errors: list[dict[str, Any]] | None = None) -> None:
        super().__init__(detail)
        self.detail = detail
        self.errors = errors or []


class NotFound(AppError):
    status_code = 404
    type = "not-found"
    title = "Not found"


class Conflict(AppError):
    status_code = 409
    type = "conflict"
    title = "Conflict"


class WrongState(Conflict):
    """The request is well-formed, but the integration's current state does not allow it yet
    (not configured, disconnected, no webhook secret): 409, not 422, since the same request
    succeeds once the state changes."""

    type = "wrong-state"
    title = "Not possible in the current state"


class ProviderMismatch(Conflict):
    """The body is a valid configuration of another provider than the integration's (409: valid
    on its own, in conflict with the target resource)."""

    type = "provider-mismatch"
    title = "Configuration for another provider"


class IncompleteConfiguration(Conflict):
    """A valid partial update that, merged with the stored values, still leaves the configuration
    incomplete or inconsistent (e.g. no API key stored for the chosen auth mode): 409, since the
    same body succeeds once the stored state has what is missing. ``errors`` names the fields."""

    type = "incomplete-configuration"
    title = "Configuration incomplete"


class MissingReference(Conflict):
    """A well-formed body names another resource (by id) that does not exist in the tenant now, e.g.
    a routing rule naming a deleted subscription: 409, a conflict with the current state — the same
    body succeeds once that resource exists — not 404, which would say the target (the URL) is gone.
    ``errors`` names the field."""

    type = "missing-reference"
    title = "Refers to something that does not exist"


class Forbidden(AppError):
    status_code = 403
    type = "forbidden"
    title = "Forbidden"


class AddressRefused(Forbidden):
    """The operator's address policy forbids connecting to this host (a metadata or link-local
    address, or a private one when private RMM hosts are disallowed), judged on what the name
    resolves to now. Not a 422: the address is well formed; whether rmmbridge may connect to it
    depends on the policy and on DNS, which no request schema can state."""

    type = "address-refused"
    title = "Address refused by policy"


class Unauthorized(AppError):
    status_code = 401
    type = "unauthorized"
    title = "Unauthorized"


class ValidationFailed(AppError):
    status_code = 422
    type = "validation-failed"
    title = "Validation failed"


class CapabilityNotSupported(AppError):
    # The request is well-formed, but this integration's provider has no such operation: the
    # sub-resource (its webhook, a sync kind, provisioning) does not exist for it, and no change of
    # state would make it succeed — 404, as for an unknown id, with the reason.
    status_code = 404
    type = "capability-not-supported"
    title = "Not supported by this provider"


class RateLimited(AppError):
    status_code = 429
    type = "rate-limited"
    title = "Too many requests"

    def __init__(self, detail: str, *, retry_after_s: float = 1.0) -> None:
        super().__init__(detail)
        self.retry_after_s = retry_after_s

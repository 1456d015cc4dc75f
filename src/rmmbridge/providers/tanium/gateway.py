"""The Tanium API Gateway (GraphQL) client and the HTTP classification shared with the Asset API.

- Every call is a POST to ``<host>/plugin/products/gateway/graphql`` with the ``session`` header (the
  API token, ``token-`` prefix included) — never ``Authorization: Bearer`` (reference §1.2). Redirects are
  never followed: a 302 means the Console host or an SSO login (§8).
- HTTP classification (§8): 3xx or HTML → :class:`ProviderConfigError` (Console host / proxy page);
  403 → :class:`ProviderAuthError` (token wrong, expired, revoked, or the IP is not trusted);
  401 → :class:`ProviderConfigError` (authenticated, but the persona lacks Gateway permission);
  404 → :class:`ProviderConfigError` (Gateway not installed / wrong path); 429, 5xx and transport errors
  are retried (Retry-After honoured) and then raised as :class:`ProviderRetriableError`; a 200 that is
  not JSON is retried up to 3 times.
- GraphQL classification: ``errors`` **without** ``data`` is a validation error (the schema lacks a
  field): :class:`GatewaySchemaError` (a config error). ``errors`` **with** ``data`` is an execution error
  (expired cursor, permission, module, load): :class:`GatewayQueryError`, whose caller decides (a cursor
  walk restarts, a connection check names it). ``data`` null or empty without errors is a broken answer.
  Tanium's message is kept verbatim (the token masked) — never replaced with a generic text.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable, Mapping, Sequence
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any

import httpx

from rmmbridge.kit.http import RetryPolicy, retry_after_seconds, with_retry
from rmmbridge.kit.http_failures import describe_failure
from rmmbridge.kit.http_transport import SEND_ONCE
from rmmbridge.kit.masking import mask
from rmmbridge.providers.base import (
    ProviderAuthError,
    ProviderConfigError,
    ProviderContext,
    ProviderError,
    ProviderIncompleteError,
    ProviderRetriableError,
)

from .config import TaniumConfig

GATEWAY_PATH = "/plugin/products/gateway/graphql"
NON_JSON_ATTEMPTS = 3

# ----------------------------------------------------------------------------- documents

# Every endpoints walk sorts by id: without ``sort`` Tanium's order "is undefined and should not be relied
# on", and a walk that outlives its collection resumes after the last id it handed out (pagination.py).
SORT_BY_ID = 'sort: [{ path: "id", order: asc }]'

NOW_DOC = "query RmmbridgeTaniumNow { now }"

GROUPS_PROBE_DOC = """query RmmbridgeTaniumGroupsProbe {
  computerGroups(first: 1) { totalRecords edges { node { id name } } }
}"""

ENDPOINTS_PROBE_DOC = """query RmmbridgeTaniumEndpointsProbe {
  endpoints(first: 1) { totalRecords edges { node { id eidLastSeen } } }
}"""

# ``now`` in the same request: the server's clock at the moment this request used the configured token.
MY_TOKENS_DOC = """query RmmbridgeTaniumMyTokens {
  now
  myAPITokens {
    tokens { id created expiration lastUsed notes persona { name } trustedIPAddresses }
    error { message retryable timedOut }
  }
}"""

COMPUTER_GROUPS_DOC = """query RmmbridgeTaniumComputerGroups($first: Int!, $after: Cursor) {
  computerGroups(first: $first, after: $after) {
    totalRecords
    pageInfo { hasNextPage endCursor }
    edges { node { id name type filterEnabled managementRightsEnabled } }
  }
}"""

COMPUTER_GROUP_DOC = """query RmmbridgeTaniumComputerGroup($id: ID) {
  computerGroup(ref: { id: $id }) { id name }
}"""

def endpoint_walk_doc(op: str, node: str) -> str:
    """A cursor-walk document over ``endpoints`` (sorted by id) selecting ``node`` on each endpoint."""
    return (
        f"query {op}($first: Int!, $after: Cursor, $filter: EndpointFieldFilter) {{\n"
        f"  endpoints(first: $first, after: $after, filter: $filter, {SORT_BY_ID}) {{\n"
        "    totalRecords\n"
        "    pageInfo { hasNextPage endCursor }\n"
        f"    edges {{ node {{ {node} }} }}\n"
        "  }\n"
        "}"
    )


MEMBERSHIP_DOC = endpoint_walk_doc("RmmbridgeTaniumMembership", "id")

# The core walk: only fields whose Tanium descriptions name no content solution, so every deployment has
# them. Content-dependent fields come from the best-effort enrichment walks below.
ENDPOINTS_DOC = endpoint_walk_doc(
    "RmmbridgeTaniumEndpoints",
    "id name computerID chassisType domainName isVirtual eidFirstSeen eidLastSeen "
    "ipAddress ipAddresses macAddresses os { name platform generation windows { releaseId } }",
)

# The core walk's fallback when a field error nulls a page (one endpoint's failing sensor on a non-null
# field nulls the whole page): besides the id only nullable fields, which a field error cannot propagate from.
ENDPOINTS_NARROW_DOC = endpoint_walk_doc(
    "RmmbridgeTaniumEndpointsNarrow", "id isVirtual eidFirstSeen eidLastSeen ipAddresses macAddresses"
)

# Enrichment: fields that need the Core Content solution (hardware, last user, disks).
HARDWARE_DOC = endpoint_walk_doc(
    "RmmbridgeTaniumHardware",
    "id serialNumber systemUUID manufacturer model lastLoggedInUser memory { total } "
    "processor { cpu logicalProcessors } disks { name total free usedPercentage }",
)

# Enrichment: the primary user needs the Core AD Query Content solution.
PRIMARY_USER_DOC = endpoint_walk_doc("RmmbridgeTaniumPrimaryUser", "id primaryUser { name email }")

# The liveness pass (issue #11): only what moves. ``eidLastSeen`` is TDS metadata (a virtual sensor), so this
# walk evaluates no sensor on any endpoint; Tanium has no status verdict and no cheap health field to add
# (reference §5: status comes from ``eidLastSeen`` and the integration's thresholds).
LIVENESS_DOC = endpoint_walk_doc("RmmbridgeTaniumLiveness", "id eidLastSeen")

# Which EIDs the Gateway still knows: ``endpoints`` filtered to a batch of ids. ``endpointLastSeen`` is
# deprecated and takes only one EID, whatever its list type suggests.
LAST_SEEN_DOC = endpoint_walk_doc("RmmbridgeTaniumLastSeen", "id eidLastSeen")

SOFTWARE_DOC = endpoint_walk_doc("RmmbridgeTaniumSoftware", "id computerID installedApplications { name version }")

# Best-effort enrichments (§4.7): separate walks with the inventory's filter, so a missing module
# or a failing sensor costs only its own field.
WAN_IP_DOC = endpoint_walk_doc("RmmbridgeTaniumWanIp", "id discover { natIpAddress }")

LAST_REBOOT_DOC = endpoint_walk_doc(
    "RmmbridgeTaniumLastReboot",
    'id lastReboot: sensorReadings(sensors: [{ name: "Last Reboot" }]) { columns { name values } }',
)

ROTATE_DOC = """mutation RmmbridgeTaniumRotate($token: String!) {
  apiTokenRotate(input: { tokenString: $token }) {
    token { id tokenString expiration }
    error { message retryable timedOut }
  }
}"""

ID_CHANGES_DOC = """query RmmbridgeTaniumIdChanges($after: Time!) {
  endpointIdChanges(after: $after) { before changes { oldId newId } }
}"""


def filter_counts_doc(count: int) -> str:
    """``totalRecords`` of ``count`` endpoint filters in one request: aliases ``g0``…, variables ``$f0``…"""
    params = ", ".join(f"$f{i}: EndpointFieldFilter" for i in range(count))
    fields = "\n".join(f"  g{i}: endpoints(first: 1, filter: $f{i}) {{ totalRecords }}" for i in range(count))
    return f"query RmmbridgeTaniumFilterCounts({params}) {{\n{fields}\n}}"


# ----------------------------------------------------------------------------- errors


class GatewaySchemaError(ProviderConfigError):
    """HTTP 200 with ``errors`` and no ``data``: the Gateway rejected the document (validation)."""


class GatewayQueryError(ProviderError):
    """HTTP 200 with ``errors`` next to ``data``: an execution error (cursor, permission, module, load)."""

    def __init__(self, message: str, *, errors: Sequence[Mapping[str, Any]], cause: str | None = None) -> None:
        super().__init__(message, cause=cause)
        self.errors = list(errors)

    @property
    def paths(self) -> list[tuple[Any, ...]]:
        return [tuple(e.get("path") or ()) for e in self.errors if isinstance(e, Mapping)]


class RequestTally:
    """HTTP requests sent on behalf of one consumer (a liveness walk of one scope).

    Installed with :meth:`install` in the consumer's task; tasks it spawns (the walker's prefetch,
    a membership walk it is the first to need) copy the context and count to it too, while a scope
    that merely awaits another's cached membership walk does not: the counts of concurrent scopes
    add up to what the server saw.
    """

    def __init__(self) -> None:
        self.count = 0

    def install(self) -> RequestTally:
        _TALLY.set(self)
        return self

    def take(self) -> int:
        taken, self.count = self.count, 0
        return taken


_TALLY: ContextVar[RequestTally | None] = ContextVar("tanium_request_tally", default=None)


@dataclass(frozen=True)
class Classified:
    """A usable 2xx JSON answer."""

    status: int
    body: Any


def is_html(response: httpx.Response, body: bytes) -> bool:
    if "text/html" in response.headers.get("content-type", "").lower():
        return True
    head = body.lstrip()[:15].lower()
    return head.startswith((b"<!doctype html", b"<html"))


def _text(body: bytes, limit: int = 300) -> str:
    try:
        value: Any = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        value = body[:limit].decode("utf-8", "replace").strip()
    if isinstance(value, Mapping):
        value = value.get("text") or value.get("message") or value.get("error") or json.dumps(value)
    text = str(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"


class TaniumHttp:
    """Requests to one Tanium host for one provider instance (never shared across tenants)."""

    def __init__(self, config: TaniumConfig, ctx: ProviderContext) -> None:
        self.config = config
        self.ctx = ctx
        self.base = config.instance_url
        self.host = httpx.URL(self.base).host
        self._token = config.api_token.get_secret_value()
        self.retry_policy = RetryPolicy(attempts=5, base_delay_s=1.0, max_delay_s=16.0)
        self.sleep: Callable[[float], Awaitable[None]] = ctx.sleep  # the app's: tests drive time without waiting
        self.timeout = httpx.Timeout(connect=10.0, read=config.request_timeout_s, write=30.0, pool=30.0)
        # Hard limit for one attempt (connect + a slow, trickling body); a timeout is retried like one.
        self.deadline_s = config.request_timeout_s + 10.0
        self._slots = asyncio.Semaphore(config.max_concurrent_requests)
        self._http: httpx.AsyncClient | None = None

    @property
    def token(self) -> str:
        return self._token

    def use_token(self, token: str) -> None:
        """Send ``token`` from now on (after a rotation the old one no longer works)."""
        self._token = token
        if self._http is not None:
            self._http.headers["session"] = token

    @property
    def http(self) -> httpx.AsyncClient:
        if self._http is None:
            self._http = self.ctx.http(
                self.base,
                headers={"session": self._token, "Content-Type": "application/json", "Accept": "application/json"},
                timeout=self.timeout,
            )
        return self._http

    async def aclose(self) -> None:
        if self._http is not None:
            await self._http.aclose()
            self._http = None

    def masked(self, text: str) -> str:
        return text.replace(self._token, mask(self._token)) if self._token else text

    def unreachable(self, exc: httpx.TransportError) -> ProviderRetriableError:
        """A transport failure, saying "Cannot reach" only when no connection could be made."""
        failure = describe_failure(exc, self.host)
        return ProviderRetriableError(
            self.masked(
                failure.message(
                    address_hint="Check the address, DNS, TLS (a CA bundle for an internal CA) and that rmmbridge "
                    "can reach the server."
                )
            ),
            cause=f"{type(exc).__name__}",
        )

    async def send(
        self, method: str, path: str, *, policy: RetryPolicy | None = None, **kwargs: Any
    ) -> tuple[httpx.Response, bytes]:
        """Send with retries on transport errors, 429 and 5xx; a hard deadline per attempt."""
        request = self.http.build_request(method, path, **kwargs)
        deadline = self.deadline_s

        async def attempt() -> httpx.Response:
            async with self._slots:
                tally = _TALLY.get()
                if tally is not None:
                    tally.count += 1
                try:
                    async with asyncio.timeout(deadline):
                        response = await self.http.send(request)
                        await response.aread()
                        return response
                except TimeoutError:
                    raise httpx.ReadTimeout(f"no complete answer within {deadline:.0f} s", request=request) from None

        try:
            response = await with_retry(attempt, policy or self.retry_policy, sleep=self.sleep)
        except httpx.TransportError as exc:
            raise self.unreachable(exc) from exc
        return response, response.content

    def classify(self, response: httpx.Response, body: bytes, *, area: str) -> None:
        """Raise the right error unless ``response`` is a 2xx non-HTML answer (§8)."""
        status = response.status_code
        what = "API Gateway" if area == "gateway" else "Asset API"
        if status in (301, 302, 303, 307, 308):
            location = response.headers.get("location", "")
            raise ProviderConfigError(
                f"{self.host} redirected the {what} call to {location or '(no location)'}: this is the Tanium "
                "Console host or a sign-in page, not the API. For Tanium Cloud use "
                "<customer>-api.cloud.tanium.com; on-prem use the Tanium Server host.",
                cause=f"HTTP {status}",
            )
        if is_html(response, body):
            raise ProviderConfigError(
                f"{self.host} answered the {what} call with an HTML page (the Tanium Console or a login or proxy "
                "page). Use the API host: <customer>-api.cloud.tanium.com for Tanium Cloud, the Tanium Server host "
                "on-prem.",
                cause=f"HTTP {status} text/html",
            )
        if 200 <= status < 300:
            return
        detail = self.masked(_text(body))
        if status == 403:
            if area == "asset":
                raise ProviderConfigError(
                    f"Tanium refused the Asset API (HTTP 403: {detail}): the token's persona lacks Asset API "
                    "rights. Grant them, or disable the Asset API fallback.",
                    cause=detail,
                )
            raise ProviderAuthError(
                f"Tanium rejected the API token (HTTP 403: {detail}): it is wrong, expired or revoked, or "
                "rmmbridge's egress IP address is not in the token's trusted IP addresses.",
                cause=detail,
            )
        if status == 401:
            raise ProviderConfigError(
                f"The API token authenticated but may not use the {what} (HTTP 401: {detail}). Give the token's "
                "persona the Gateway permission (and read access to the content sets holding the sensors).",
                cause=detail,
            )
        if status == 404:
            if area == "asset":
                raise ProviderConfigError(
                    f"The Tanium Asset API is not available on {self.host} (HTTP 404): the Asset module is not "
                    "installed. Disable the Asset API fallback.",
                    cause=detail,
                )
            raise ProviderConfigError(
                f"No API Gateway at {self.base}{GATEWAY_PATH} (HTTP 404): the Gateway is not installed or the "
                "address has a wrong path. Enter only the host.",
                cause=detail,
            )
        if status == 429 or status >= 500:
            wait = retry_after_seconds(response)
            if status == 500 and "failed to initialize request" in body[:2000].decode("utf-8", "replace").lower():
                message = (
                    f"Tanium's System User service on {self.host} is not running (HTTP 500 \"Failed to initialize "
                    'request"); rmmbridge will retry.'
                )
            elif status == 429:
                message = f"Tanium asked rmmbridge to slow down (HTTP 429); retry in {int(wait or 60)} s."
            else:
                message = f"Tanium answered HTTP {status} ({detail}); rmmbridge will retry."
            raise ProviderRetriableError(message, retry_after=wait, cause=f"HTTP {status}")
        raise ProviderConfigError(f"Tanium refused the {what} call (HTTP {status}): {detail}", cause=f"HTTP {status}")

    async def request_json(self, method: str, path: str, *, area: str, **kwargs: Any) -> Any:
        """A classified request whose body must be JSON; a non-JSON 2xx is retried (§8), then retriable."""
        for attempt in range(1, NON_JSON_ATTEMPTS + 1):
            response, body = await self.send(method, path, **kwargs)
            self.classify(response, body, area=area)
            try:
                return json.loads(body)
            except (ValueError, UnicodeDecodeError) as exc:
                if attempt >= NON_JSON_ATTEMPTS:
                    raise ProviderRetriableError(
                        f"Tanium sent an incomplete or non-JSON answer for {path} {NON_JSON_ATTEMPTS} times "
                        "(a proxy or gateway error).",
                        cause=f"{type(exc).__name__}",
                    ) from exc
                await self.sleep(self.retry_policy.backoff(attempt))
        raise AssertionError("unreachable")  # pragma: no cover


class TaniumGateway:
    """GraphQL queries over :class:`TaniumHttp`."""

    def __init__(self, http: TaniumHttp) -> None:
        self.http = http

    async def query(self, document: str, variables: Mapping[str, Any] | None = None, *, op: str | None = None) -> Any:
        """Run ``document``; return ``data`` (a dict) or raise the classified error."""
        payload: dict[str, Any] = {"query": document, "variables": dict(variables or {})}
        if op:
            payload["operationName"] = op
        body = await self.http.request_json("POST", GATEWAY_PATH, area="gateway", json=payload)
        return self.data_of(body, op or "query")

    async def mutate_once(self, document: str, variables: Mapping[str, Any], *, op: str) -> dict[str, Any]:
        """A mutation sent exactly once: no retry on timeouts, 5xx or a non-JSON answer, because a
        lost answer may hide a mutation that happened (§1.3: never rotate blindly twice). Not even the
        transport's re-send after a lost kept-alive connection: the server may have read it."""
        payload = {"query": document, "variables": dict(variables), "operationName": op}
        response, body = await self.http.send(
            "POST", GATEWAY_PATH, policy=RetryPolicy(attempts=1), json=payload, extensions={SEND_ONCE: True}
        )
        self.http.classify(response, body, area="gateway")
        try:
            parsed = json.loads(body)
        except (ValueError, UnicodeDecodeError) as exc:
            raise ProviderRetriableError(f"Tanium answered {op} with something that is not JSON.") from exc
        return self.data_of(parsed, op)

    def data_of(self, body: Any, op: str) -> dict[str, Any]:
        if not isinstance(body, Mapping):
            raise ProviderIncompleteError(f"The Gateway answered {op} with something that is not a JSON object.")
        errors = [e for e in body.get("errors") or [] if isinstance(e, Mapping)]
        messages = "; ".join(self.http.masked(str(e.get("message") or "error")) for e in errors)
        if errors and "data" not in body:
            raise GatewaySchemaError(
                f"The Tanium Gateway rejected rmmbridge's {op} document: {messages}. The Gateway schema lacks a "
                "field or argument rmmbridge uses (an older Tanium release, or a bug).",
                cause=messages,
            )
        data = body.get("data")
        if errors:
            raise GatewayQueryError(f"The Tanium Gateway could not run {op}: {messages}", errors=errors, cause=messages)
        if not isinstance(data, Mapping) or not data:
            raise ProviderIncompleteError(f"The Tanium Gateway answered {op} without data (a broken response).")
        return dict(data)


__all__ = [
    "COMPUTER_GROUPS_DOC",
    "COMPUTER_GROUP_DOC",
    "ENDPOINTS_DOC",
    "ENDPOINTS_NARROW_DOC",
    "ENDPOINTS_PROBE_DOC",
    "GATEWAY_PATH",
    "GROUPS_PROBE_DOC",
    "HARDWARE_DOC",
    "LAST_SEEN_DOC",
    "LIVENESS_DOC",
    "MEMBERSHIP_DOC",
    "MY_TOKENS_DOC",
    "NOW_DOC",
    "PRIMARY_USER_DOC",
    "SOFTWARE_DOC",
    "GatewayQueryError",
    "GatewaySchemaError",
    "RequestTally",
    "TaniumGateway",
    "TaniumHttp",
    "endpoint_walk_doc",
    "filter_counts_doc",
]

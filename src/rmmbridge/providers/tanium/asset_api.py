"""The Tanium Asset REST API listing (reference §7.2), used only by the Asset API fallback.

``GET /plugin/products/asset/v1/assets?limit=N&minimumAssetId=M`` → ``{"data": [...], "meta":
{"nextAssetId", "endOfReader"}}``. ``minimumAssetId`` is inclusive; the walk starts at 1, continues at
``meta.nextAssetId`` and stops on ``endOfReader`` or an empty page. A missing ``nextAssetId``, or one not
greater than the previous minimum, makes the listing incomplete. Rows are deduplicated by ``id``; ``offset``
is never used (the API is not known to honour it). Rows are large (full component inventory), so pages are
small and each page is released before the next is read.

Two envelopes exist: deployed servers and the known clients use ``data``/``meta`` at the top level, while
the published OpenAPI wraps them in ``{"response": {"data", "meta"}}``. Both are read (:func:`listing`); an
answer in neither shape fails loudly as incomplete, never as an empty listing.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from rmmbridge.providers.base import ProviderIncompleteError

from .gateway import TaniumHttp

ASSETS_PATH = "/plugin/products/asset/v1/assets"
DEFAULT_LIMIT = 50
MAX_PAGES = 1_000_000


def listing(body: Any) -> tuple[list[Any], Mapping[str, Any]] | None:
    """``(data, meta)`` of an Asset listing in either envelope; ``None`` for any other shape."""
    if isinstance(body, Mapping) and not isinstance(body.get("data"), list):
        body = body.get("response")
    if not isinstance(body, Mapping) or not isinstance(body.get("data"), list):
        return None
    meta = body.get("meta")
    return body["data"], meta if isinstance(meta, Mapping) else {}


def shape_of(body: Any) -> str:
    """A short description of an answer that is not a listing (for the error message)."""
    if isinstance(body, Mapping):
        return "an object with " + (", ".join(sorted(map(str, body))[:6]) or "no keys")
    return f"a JSON {type(body).__name__}"


@dataclass
class AssetWalk:
    http: TaniumHttp
    limit: int = DEFAULT_LIMIT
    rows_read: int = 0
    pages_read: int = 0
    _ids: set[int] = field(default_factory=set)

    async def pages(self) -> AsyncIterator[list[dict[str, Any]]]:
        minimum = 1
        while True:
            body = await self.http.request_json(
                "GET", ASSETS_PATH, area="asset", params={"limit": self.limit, "minimumAssetId": minimum}
            )
            found = listing(body)
            if found is None:
                raise ProviderIncompleteError(
                    f"The Tanium Asset API answered {ASSETS_PATH} with {shape_of(body)}, neither {{data, meta}} "
                    "nor {response: {data, meta}}; the Asset listing is incomplete."
                )
            data, meta = found
            rows: list[dict[str, Any]] = []
            for row in data:
                if not isinstance(row, Mapping):
                    continue
                asset_id = row.get("id")
                if isinstance(asset_id, bool) or not isinstance(asset_id, int) or asset_id in self._ids:
                    continue
                self._ids.add(asset_id)
                rows.append(dict(row))
            self.pages_read += 1
            self.rows_read += len(rows)
            end = meta.get("endOfReader") is True or not data
            next_id = meta.get("nextAssetId")
            del body, data
            yield rows
            if end:
                return
            if isinstance(next_id, bool) or not isinstance(next_id, int) or next_id <= minimum:
                raise ProviderIncompleteError(
                    f"The Tanium Asset listing is incomplete: after minimumAssetId={minimum} the API gave "
                    f"nextAssetId={next_id!r} without endOfReader.",
                    cause="bad nextAssetId",
                )
            if self.pages_read >= MAX_PAGES:
                raise ProviderIncompleteError("The Tanium Asset listing does not end (runaway paging).")
            minimum = next_id

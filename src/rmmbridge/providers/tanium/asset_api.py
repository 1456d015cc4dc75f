"""The Tanium Asset REST API listing (reference §7.2), used only by the Asset API fallback.

``GET /plugin/products/asset/v1/assets?limit=N&minimumAssetId=M`` → ``{"data": [...], "meta":
{"nextAssetId", "endOfReader"}}``. ``minimumAssetId`` is inclusive; the walk starts at 1, continues at
``meta.nextAssetId`` and stops on ``endOfReader`` or an empty page. A missing ``nextAssetId``, or one not
greater than the previous minimum, makes the listing incomplete. Rows are deduplicated by ``id``; ``offset``
is never used (the API is not known to honour it). Rows are large (full component inventory), so pages are
small and each page is released before the next is read.
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
            if not isinstance(body, Mapping) or not isinstance(body.get("data"), list):
                raise ProviderIncompleteError(
                    f"The Tanium Asset API answered {ASSETS_PATH} without a data list; the Asset listing is incomplete."
                )
            raw_meta = body.get("meta")
            meta: Mapping[str, Any] = raw_meta if isinstance(raw_meta, Mapping) else {}
            rows: list[dict[str, Any]] = []
            for row in body["data"]:
                if not isinstance(row, Mapping):
                    continue
                asset_id = row.get("id")
                if isinstance(asset_id, bool) or not isinstance(asset_id, int) or asset_id in self._ids:
                    continue
                self._ids.add(asset_id)
                rows.append(dict(row))
            self.pages_read += 1
            self.rows_read += len(rows)
            end = meta.get("endOfReader") is True or not body["data"]
            next_id = meta.get("nextAssetId")
            del body
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

"""A minimal, fast HTTP/1.1 webhook receiver for bench.delivery (its own process).

Answers every POST with 204 (kept alive), records the lag from the event's ``timestamp`` to its
arrival, and serves ``GET /stats`` (count, unique ids, lags) and ``POST /reset``. Raw asyncio, so
the receiver is not what limits the measured rate.
"""

from __future__ import annotations

import asyncio
import json
import sys
import time
from datetime import datetime

STATE: dict[str, object] = {"lags": [], "ids": set(), "count": 0}
OK = b"HTTP/1.1 204 No Content\r\nContent-Length: 0\r\n\r\n"


def _record(webhook_id: bytes | None, body: bytes) -> None:
    now = time.time()
    STATE["count"] = int(STATE["count"]) + 1  # type: ignore[call-overload]
    STATE["ids"].add(webhook_id or b"")  # type: ignore[attr-defined]
    marker = body.find(b'"timestamp":"')
    if marker >= 0:
        start = marker + 13
        stamp = body[start : body.index(b'"', start)].decode()
        at = datetime.fromisoformat(stamp.replace("Z", "+00:00")).timestamp()
        STATE["lags"].append((now - at) * 1000)  # type: ignore[attr-defined]


class Receiver(asyncio.Protocol):
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]
        self.buffer = b""

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        while True:
            end = self.buffer.find(b"\r\n\r\n")
            if end < 0:
                return
            head = self.buffer[:end].lower()  # only the two headers it needs are looked up
            length = int(_header(head, b"content-length") or b"0")
            if len(self.buffer) < end + 4 + length:
                return
            body = self.buffer[end + 4 : end + 4 + length]
            self.buffer = self.buffer[end + 4 + length :]
            if head.startswith(b"post /hook"):
                _record(_header(head, b"webhook-id"), body)
                self.transport.write(OK)  # type: ignore[attr-defined]
            elif head.startswith(b"get /stats"):
                # The counts alone while the benchmark polls (cheap for both sides); the lags once, at the end.
                lags = STATE["lags"] if head.startswith(b"get /stats?lags=1 ") else []
                out = json.dumps(
                    {"count": STATE["count"], "unique": len(STATE["ids"]), "lags_ms": lags}  # type: ignore[arg-type]
                ).encode()
                self.transport.write(  # type: ignore[attr-defined]
                    b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n" % len(out) + out
                )
            elif head.startswith(b"post /reset"):
                STATE.update({"lags": [], "ids": set(), "count": 0})
                self.transport.write(OK)  # type: ignore[attr-defined]
            else:
                self.transport.write(b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n")  # type: ignore[attr-defined]


def _header(head: bytes, name: bytes) -> bytes | None:
    at = head.find(b"\r\n" + name + b":")
    if at < 0:
        return None
    start = at + len(name) + 3
    stop = head.find(b"\r\n", start)
    return head[start : stop if stop >= 0 else len(head)].strip()


async def main(port: int) -> None:
    server = await asyncio.get_running_loop().create_server(Receiver, "127.0.0.1", port, backlog=1024)
    print("ready", flush=True)
    async with server:
        await server.serve_forever()


if __name__ == "__main__":
    asyncio.run(main(int(sys.argv[1])))

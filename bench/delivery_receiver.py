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


def _record(headers: dict[bytes, bytes], body: bytes) -> None:
    now = time.time()
    STATE["count"] = int(STATE["count"]) + 1  # type: ignore[call-overload]
    STATE["ids"].add(headers.get(b"webhook-id", b""))  # type: ignore[attr-defined]
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
            head = self.buffer[:end].split(b"\r\n")
            headers = {}
            for line in head[1:]:
                name, _, value = line.partition(b":")
                headers[name.strip().lower()] = value.strip()
            length = int(headers.get(b"content-length", b"0"))
            if len(self.buffer) < end + 4 + length:
                return
            body = self.buffer[end + 4 : end + 4 + length]
            self.buffer = self.buffer[end + 4 + length :]
            method, path = head[0].split(b" ")[:2]
            if method == b"GET" and path == b"/stats":
                out = json.dumps(
                    {"count": STATE["count"], "unique": len(STATE["ids"]), "lags_ms": STATE["lags"]}  # type: ignore[arg-type]
                ).encode()
                self.transport.write(  # type: ignore[attr-defined]
                    b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n" % len(out) + out
                )
            elif path == b"/reset":
                STATE.update({"lags": [], "ids": set(), "count": 0})
                self.transport.write(OK)  # type: ignore[attr-defined]
            else:
                _record(headers, body)
                self.transport.write(OK)  # type: ignore[attr-defined]


async def main(port: int) -> None:
    server = await asyncio.get_running_loop().create_server(Receiver, "127.0.0.1", port, backlog=1024)
    print("ready", flush=True)
    async with server:
        await server.serve_forever()


if __name__ == "__main__":
    asyncio.run(main(int(sys.argv[1])))

"""A resolver the test controls: names in ``answers`` resolve to the given addresses (changeable
mid-test, like DNS rebinding), every other name goes to the real resolver.

It replaces ``socket.getaddrinfo``, which both asyncio's and anyio's resolvers call, so the code
under test resolves exactly as in production, only with other answers.
"""

from __future__ import annotations

import socket
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest


@contextmanager
def fake_dns(monkeypatch: pytest.MonkeyPatch, answers: dict[str, list[str]]) -> Iterator[dict[str, list[str]]]:
    real = socket.getaddrinfo
    asked: list[str] = []

    def getaddrinfo(host: Any, port: Any, family: int = 0, type: int = 0, proto: int = 0, flags: int = 0) -> Any:
        name = host.decode() if isinstance(host, bytes) else str(host)
        if name.lower() not in answers:
            return real(host, port, family, type, proto, flags)
        asked.append(name)
        numeric_port = int(port) if port not in (None, "") else 0
        infos = []
        for address in answers[name.lower()]:
            if ":" in address:
                infos.append((socket.AF_INET6, socket.SOCK_STREAM, 6, "", (address, numeric_port, 0, 0)))
            else:
                infos.append((socket.AF_INET, socket.SOCK_STREAM, 6, "", (address, numeric_port)))
        return infos

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    yield answers

"""Issue #14 item 8: IPv6 spellings of blocked IPv4 addresses are judged by the IPv4 address they
reach, at save time (the URL an admin types, the name it resolves to) and at connect time."""

from __future__ import annotations

import ipaddress

import httpx
import pytest
from pydantic import ValidationError

from rmmbridge.errors import AddressRefused
from rmmbridge.kit.http import HttpClientFactory
from rmmbridge.kit.urls import address_refusal, check_host_allowed
from rmmbridge.providers.tacticalrmm.config import TacticalConfig
from tests.support.fake_dns import fake_dns

METADATA_FORMS = [
    "::ffff:169.254.169.254",  # IPv4-mapped
    "::169.254.169.254",  # IPv4-compatible
    "64:ff9b::a9fe:a9fe",  # NAT64 well-known prefix
    "64:ff9b:1::a9fe:a9fe",  # NAT64 local-use prefix
    "2002:a9fe:a9fe::1",  # 6to4
]
LOOPBACK_FORMS = ["::ffff:127.0.0.1", "::127.0.0.1", "64:ff9b::7f00:1", "2002:7f00:1::1", "::ffff:10.1.2.3"]


@pytest.mark.parametrize("address", METADATA_FORMS)
def test_metadata_forms_are_refused_even_with_private_hosts_allowed(address: str) -> None:
    assert address_refusal(ipaddress.ip_address(address), allow_private=True) == "a link-local or metadata address"
    with pytest.raises(ValidationError, match="link-local or metadata"):
        TacticalConfig(instance_url=f"https://[{address}]/", api_key="K")


@pytest.mark.parametrize("address", LOOPBACK_FORMS)
def test_private_forms_follow_the_private_host_setting(address: str) -> None:
    ip = ipaddress.ip_address(address)
    assert address_refusal(ip, allow_private=True) is None
    assert "private-network" in (address_refusal(ip, allow_private=False) or "")


@pytest.mark.parametrize("address", ["2606:4700::1111", "2001:4860:4860::8888", "1.1.1.1", "::1"])
def test_ordinary_addresses_keep_their_verdict(address: str) -> None:
    ip = ipaddress.ip_address(address)
    assert address_refusal(ip, allow_private=True) is None
    assert (address_refusal(ip, allow_private=False) is None) == (address != "::1")


async def test_a_name_resolving_to_a_mapped_metadata_address_is_refused_at_save_time(monkeypatch) -> None:
    with fake_dns(monkeypatch, {"rmm.rebind.example": ["::ffff:169.254.169.254"]}):
        with pytest.raises(AddressRefused, match="link-local or metadata"):
            await check_host_allowed("rmm.rebind.example", allow_private=True)


@pytest.mark.parametrize("address", [*METADATA_FORMS, "name"])
async def test_metadata_forms_are_never_connected_to(monkeypatch, address: str) -> None:
    url = "http://rmm.rebind.example/" if address == "name" else f"http://[{address}]/"
    with fake_dns(monkeypatch, {"rmm.rebind.example": ["::ffff:169.254.169.254"]}):
        async with HttpClientFactory()(timeout=1) as client:  # allow_private=True: the default
            with pytest.raises(httpx.ConnectError, match="link-local or metadata address; rmmbridge does not connect"):
                await client.get(url)

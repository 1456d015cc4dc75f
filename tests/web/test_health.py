"""Health and metrics endpoints."""

from __future__ import annotations


async def test_healthz_checks_database(http, backend):
    r = await http.get("/healthz")
    assert r.status_code == 200
    body = r.json()
    assert body["status"] == "ok"
    assert body["database"] == ("sqlite" if backend == "sqlite" else "postgresql")


async def test_metrics_count_requests(http):
    await http.get("/healthz")
    text = (await http.get("/metrics")).text
    assert 'rmmbridge_http_requests_total{method="GET",route="/healthz",status="200"}' in text

"""Injected faults: transient errors (5xx, drop, runningoperation) and latency."""

from __future__ import annotations

import time

import pytest
import requests

from .helpers import HELP_PAGE_ORDER, Client, error_of


def faulty(make_client, kinds: str, **extra) -> Client:
    """A logged-in client of an emulator that faults every API request after login."""
    c = make_client(**extra)
    c.login()
    c.admin_json("POST", "faults", {"transient_rate": 1.0, "transient_kinds": kinds})
    return c


def test_5xx(make_client) -> None:
    c = faulty(make_client, "5xx")
    for _ in range(5):
        resp = c.post({"func": "image", "out": "json", "auth": c.token or ""})
        assert resp.status_code in (502, 503)
        with pytest.raises(ValueError):
            resp.json()
    log = c.admin_json("GET", "requests")
    assert [e["outcome"] for e in log[1:]] == ["fault:5xx"] * 5


def test_drop_closes_connection_and_server_survives(make_client) -> None:
    c = faulty(make_client, "drop")
    for _ in range(3):
        with pytest.raises(requests.ConnectionError):
            c.post({"func": "image", "out": "json", "auth": c.token or ""})
    # Admin calls are never faulted; switch the fault off and carry on.
    assert c.admin_json("GET", "health") == {"ok": True}
    c.admin_json("POST", "faults", {"transient_rate": 0})
    assert "error" not in c.call("image")
    outcomes = [e["outcome"] for e in c.admin_json("GET", "requests")]
    assert outcomes == ["ok", "fault:drop", "fault:drop", "fault:drop", "ok"]


def test_running_operation_fault(make_client) -> None:
    c = faulty(make_client, "runningoperation")
    assert error_of(c.call("image")) == ("value", "runningoperation")
    assert error_of(c.order()) == ("value", "runningoperation")
    assert c.admin_json("GET", "images") == []  # never applied
    # A login is never answered with runningoperation.
    assert "auth" in c.call("auth", username="demo", password="demo")
    outcomes = [e["outcome"] for e in c.admin_json("GET", "requests")]
    assert outcomes[1:] == ["fault:runningoperation"] * 2 + ["ok"]


@pytest.mark.parametrize("kind", ["5xx", "drop"])
def test_mutating_fault_before_or_after_the_change(make_client, kind: str) -> None:
    c = faulty(make_client, kind, seed=7)
    for i in range(16):
        fields = {"func": "v2.image.order.param", "out": "json", "auth": c.token or "", "sok": "ok"}
        try:
            c.post({**fields, **HELP_PAGE_ORDER, "image_name": f"img{i}"})
        except requests.ConnectionError:
            assert kind == "drop"
    log = c.admin_json("GET", "requests")[1:]
    assert all(e["outcome"] == f"fault:{kind}" for e in log)
    applied = {e["form"]["image_name"] for e in log if e["fault_after_change"]}
    assert all(e["result"] == "ok" for e in log if e["fault_after_change"])
    created = {img["image_name"] for img in c.admin_json("GET", "images")}
    assert created == applied
    assert 0 < len(created) < 16  # some orders landed, some did not


def test_reads_are_never_applied_after(make_client) -> None:
    c = faulty(make_client, "5xx", seed=3)
    for _ in range(6):
        c.post({"func": "image", "out": "json", "auth": c.token or ""})
    assert not any(e["fault_after_change"] for e in c.admin_json("GET", "requests")[1:])


def test_seed_reproduces_faults(make_client) -> None:
    def run() -> list[str]:
        c = make_client(seed=42)
        c.login()
        c.admin_json("POST", "faults", {"transient_rate": 0.5, "transient_kinds": ["5xx"]})
        codes = []
        for _ in range(12):
            codes.append(
                c.post({"func": "image", "out": "json", "auth": c.token or ""}).status_code
            )
        return [str(x) for x in codes]

    first = run()
    assert first == run()
    assert "200" in first
    assert set(first) - {"200"}


def test_partial_rate(make_client) -> None:
    c = make_client(seed=1, transient_rate=0.3, transient_kinds=("5xx",))
    statuses = [c.post({"func": "auth", "out": "json"}).status_code for _ in range(40)]
    assert 3 <= sum(s != 200 for s in statuses) <= 25


def test_latency(make_client) -> None:
    c = make_client(latency_ms=250)
    c.login()
    start = time.monotonic()
    c.call("image")
    assert time.monotonic() - start >= 0.25
    start = time.monotonic()
    c.admin_json("GET", "health")  # admin calls are not delayed
    assert time.monotonic() - start < 0.2

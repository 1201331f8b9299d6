"""``v2.image.order.param``: validation and what an order creates."""

from __future__ import annotations

import threading

import pytest

from .helpers import HELP_PAGE_ORDER, Client, error_of


def test_order_returns_id_and_creates_saving_image(client: Client) -> None:
    doc = client.order()
    assert doc["ok"] == {}
    assert doc["id"] == {"$": "5206259"}
    image = client.image("5206259")
    assert image["status"] == "Saving"
    assert image["image_name"] == "Ubuntu24"
    assert image["protected"] is True
    assert client.order_id() == "5206260"


def test_order_multipart(client: Client) -> None:
    doc = client.call_multipart("v2.image.order.param", sok="ok", **HELP_PAGE_ORDER)
    assert doc["id"]["$"] == "5206259"


def test_order_without_returned_id(make_client) -> None:
    c = make_client(order_reply="none")
    doc = c.order()
    assert doc["ok"] == {}
    assert "id" not in doc
    assert [e["image_name"]["$"] for e in c.elems()] == ["Ubuntu24"]


def test_missing_sok(client: Client) -> None:
    doc = client.call("v2.image.order.param", **HELP_PAGE_ORDER)
    assert error_of(doc) == ("missed", "sok")
    assert client.admin_json("GET", "images") == []


REQUIRED = [f for f in HELP_PAGE_ORDER if f != "os_version"]


@pytest.mark.parametrize("field", REQUIRED)
def test_missing_required_field(client: Client, field: str) -> None:
    form = {k: v for k, v in HELP_PAGE_ORDER.items() if k != field}
    assert error_of(client.call("v2.image.order.param", sok="ok", **form)) == ("missed", field)
    form[field] = ""
    assert error_of(client.call("v2.image.order.param", sok="ok", **form)) == ("missed", field)
    assert client.admin_json("GET", "images") == []


BAD_VALUES = [
    ("image_type", "snapshot"),
    ("skipbasket", "off"),
    ("image_name", "   "),
    ("min_disk", "0"),
    ("min_disk", "-1"),
    ("min_disk", "1.5"),
    ("min_ram", "lots"),
    ("disk_format", "ISO"),
    ("disk_format", "img"),
    ("architecture", "arm64"),
    ("url", "ftp://example.com/x.iso"),
    ("url", "not a url"),
    ("protected", "yes"),
    ("pricelist", "1234"),
    ("order_period", "1"),
]


@pytest.mark.parametrize(("field", "value"), BAD_VALUES)
def test_bad_value(client: Client, field: str, value: str) -> None:
    doc = client.order(**{field: value})
    assert error_of(doc) == ("value", field)
    params = {p["$name"]: p["$"] for p in doc["error"]["param"]}
    assert params == {"object": field, "value": value}
    assert client.admin_json("GET", "images") == []


def test_os_version_optional(client: Client) -> None:
    form = {k: v for k, v in HELP_PAGE_ORDER.items() if k != "os_version"}
    doc = client.call("v2.image.order.param", sok="ok", **form)
    assert client.image(doc["id"]["$"])["os_version"] == ""
    assert client.elems()[0]["os_version"] == {}


def test_regions_and_pricelists_config(make_client) -> None:
    c = make_client(regions=("Netherlands-2", "Poland-1"), pricelists=("6854", "7000"))
    assert error_of(c.order(region="Mars-1")) == ("value", "region")
    assert "error" not in c.order(region="Poland-1", pricelist="7000")


def test_any_region_by_default(client: Client) -> None:
    assert "error" not in client.order(region="Anywhere-9")


def test_concurrent_orders_get_distinct_ids(client: Client) -> None:
    client.login()
    ids: list[str] = []
    lock = threading.Lock()

    def order() -> None:
        c = Client(client.server)
        c.token = client.token
        image_id = c.order_id(image_name="parallel")
        with lock:
            ids.append(image_id)

    threads = [threading.Thread(target=order) for _ in range(12)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(ids) == [str(5206259 + i) for i in range(12)]

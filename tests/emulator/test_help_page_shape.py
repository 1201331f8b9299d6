"""The list element matches the help page's example element, key for key."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from .helpers import Client

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "help_page_element.json"

#: Keys whose value follows from the help page's order (same values expected).
DETERMINED = (
    "architecture",
    "cost",
    "costperiod",
    "currency_id",
    "currency_str",
    "description",
    "disk_format",
    "expiredate",
    "fleio_status",
    "hypervisor_type",
    "image_name",
    "image_size",
    "image_type",
    "intname",
    "item_real_status",
    "item_status",
    "min_disk",
    "min_ram",
    "os_distro",
    "os_version",
    "period",
    "pmmodule",
    "pricelist",
    "pricelist_id",
    "processingnode",
    "protected",
    "region",
    "status",
    "visibility",
)
#: Keys that depend on when and as what the image was made.
VARYING = {
    "createdate",
    "fleio_id",
    "i_expiretime",
    "i_opentime",
    "id",
    "name",
    "real_expiredate",
}


def shape(value: Any) -> Any:
    """The wrapping of a value without its contents: which ``$`` keys, list or ``{}``."""
    if isinstance(value, list):
        return [shape(v) for v in value]
    assert isinstance(value, dict)
    assert all(isinstance(v, str) for v in value.values())
    return sorted(value)


def test_fixture_is_the_help_page_element() -> None:
    example = json.loads(FIXTURE.read_text())
    assert example["id"] == {"$": "5206258"}
    assert len(example) == 73


def test_list_element_matches_help_page(client: Client) -> None:
    example = json.loads(FIXTURE.read_text())
    image_id = client.order_id()  # the help page's order (os_version 22, as its curl)
    client.wait_status(image_id, "Active")
    [elem] = client.elems()

    assert list(elem) == list(example)  # same keys, same order
    for key in example:
        assert shape(elem[key]) == shape(example[key]), key
    for key in DETERMINED:
        assert elem[key] == example[key], key
    # Everything else (flags, billing constants) is equal too, except per-image values.
    for key in set(example) - VARYING:
        assert elem[key] == example[key], key

    assert elem["id"] == {"$": image_id}
    assert elem["name"] == {"$": f"Image #{image_id}"}
    assert elem["createdate"][0] == elem["createdate"][1]
    assert elem["os_distro"] == {"$": "Ubuntu"}
    assert elem["protected"] == {"$orig": "on", "$": "Enable"}
    assert elem["pricelist_id"] == {"$": "6854"}

"""``func=image``: lifecycle as listed, paging, sorting and the list's quirks."""

from __future__ import annotations

import time

from .helpers import Client


def test_status_fields_follow_lifecycle(client: Client) -> None:
    image_id = client.order_id()
    [elem] = client.elems()
    assert elem["fleio_status"] == {"$": "Saving"}
    assert elem["item_status"]["$orig"] == "5"
    assert elem["item_status"]["$"] == "Processing"
    assert elem["status"] == elem["item_real_status"] == {"$": "5"}
    assert elem["image_size"] == {"$": "0"}
    client.wait_status(image_id, "Active")
    [elem] = client.elems()
    assert elem["fleio_status"] == {"$": "Active"}
    assert elem["item_status"] == {"$color": "green", "$orig": "2", "$": "Active"}
    assert elem["status"] == elem["item_real_status"] == {"$": "2"}
    assert elem["image_size"] == {"$": "3"}


def test_empty_list_has_no_elem(client: Client) -> None:
    doc = client.call("image")
    assert "elem" not in doc
    assert doc["p_elems"] == {"$": "0"}


def test_single_elem_as_object(client: Client) -> None:
    client.order_id()
    elem = client.call("image")["elem"]
    assert isinstance(elem, dict)
    assert elem["name"] == {"$": "Image #5206259"}


def test_single_elem_as_list(make_client) -> None:
    c = make_client(single_elem_object=False)
    c.order_id()
    elem = c.call("image")["elem"]
    assert isinstance(elem, list)
    assert len(elem) == 1


def test_paging(client: Client) -> None:
    ids = [client.order_id(image_name=f"img{i}") for i in range(5)]
    doc = client.call("image")
    assert (doc["p_num"], doc["p_elems"], doc["p_cnt"]) == ({"$": "1"}, {"$": "5"}, {"$": "5"})
    assert [e["id"]["$"] for e in doc["elem"]] == ids
    pages = [client.call("image", p_num=str(n), p_cnt="2") for n in (1, 2, 3, 4)]
    assert [[e["id"]["$"] for e in p["elem"]] for p in pages[:2]] == [ids[:2], ids[2:4]]
    assert pages[2]["elem"]["id"]["$"] == ids[4]  # the last page holds one: an object
    assert "elem" not in pages[3]  # past the end: no elem at all
    for n, page in enumerate(pages, 1):
        assert page["p_num"] == {"$": str(n)}
        assert page["p_cnt"] == {"$": "2"}
        assert page["p_elems"] == {"$": "5"}


def test_sorting(client: Client) -> None:
    ids = [client.order_id(image_name=name) for name in ("b", "c", "a")]
    assert [e["id"]["$"] for e in client.elems(p_col="-id")] == ids[::-1]
    assert [e["id"]["$"] for e in client.elems(p_col="+id")] == ids
    assert [e["image_name"]["$"] for e in client.elems(p_col="image_name")] == ["a", "b", "c"]


def test_bad_paging_values(client: Client) -> None:
    assert client.call("image", p_num="0")["error"]["$object"] == "p_num"
    assert client.call("image", p_cnt="x")["error"]["$object"] == "p_cnt"


def test_default_and_max_page_size(make_client) -> None:
    c = make_client(default_page_size=2, max_page_size=3)
    for i in range(5):
        c.order_id(image_name=f"img{i}")
    doc = c.call("image")
    assert len(doc["elem"]) == 2
    assert doc["p_cnt"] == {"$": "2"}
    assert doc["p_elems"] == {"$": "5"}
    doc = c.call("image", p_cnt="100")
    assert len(doc["elem"]) == 3
    assert doc["p_cnt"] == {"$": "3"}


def test_kill_name(make_client) -> None:
    c = make_client(kill_name="^bad", kill_status="Error")
    bad = c.order_id(image_name="bad-image")
    good = c.order_id(image_name="good-image")
    c.wait_status(bad, "Error")
    c.wait_status(good, "Active")
    elems = {e["id"]["$"]: e for e in c.elems()}
    assert elems[bad]["fleio_status"] == {"$": "Error"}
    assert elems[bad]["item_status"]["$orig"] == "5"
    assert elems[bad]["processingmodule_failed"] == {"$": "on"}
    assert elems[good]["processingmodule_failed"] == {"$": "off"}


def test_kill_default_status(make_client) -> None:
    c = make_client(kill_name="doomed")
    c.wait_status(c.order_id(image_name="doomed"), "Killed")


def test_stuck_name(make_client) -> None:
    c = make_client(stuck_name="stuck")
    stuck = c.order_id(image_name="i-am-stuck")
    time.sleep(0.5)
    assert c.image(stuck)["status"] == "Saving"
    assert c.elems()[0]["fleio_status"] == {"$": "Saving"}
    # Clearing the fault lets the upload finish.
    c.admin_json("POST", "faults", {"stuck_name": None})
    c.wait_status(stuck, "Active")


def test_os_distro_capitalised_in_list_not_in_edit(client: Client) -> None:
    image_id = client.order_id(os_distro="ubuntu")
    assert client.elems()[0]["os_distro"] == {"$": "Ubuntu"}
    assert client.call("image.edit", elid=image_id)["os_distro"] == {"$": "ubuntu"}

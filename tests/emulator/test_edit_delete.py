"""``image.edit`` (view and change) and ``image.delete`` with its lifecycle."""

from __future__ import annotations

import pytest

from .helpers import Client, error_of

EDIT_VIEW_KEYS = {
    "elid",
    "image_name",
    "fleio_status",
    "region",
    "image_size",
    "min_ram",
    "min_disk",
    "disk_format",
    "os_distro",
    "os_version",
    "architecture",
    "protected",
    "url",
    "fleio_id",
    "created",
    "updated",
}


def active_image(client: Client, **overrides: str) -> str:
    image_id = client.order_id(**overrides)
    client.wait_status(image_id, "Active")
    return image_id


def test_edit_view(client: Client) -> None:
    image_id = active_image(client)
    doc = client.call("image.edit", elid=image_id)
    assert set(doc) >= EDIT_VIEW_KEYS
    assert doc["elid"] == {"$": image_id}
    assert doc["protected"] == {"$": "on"}
    assert doc["fleio_status"] == {"$": "Active"}
    assert doc["fleio_id"]["$"] == client.image(image_id)["fleio_id"]
    assert doc["url"]["$"].startswith("https://releases.ubuntu.com/")
    assert all(set(v) == {"$"} for k, v in doc.items() if k in EDIT_VIEW_KEYS)


def test_edit_view_while_saving_is_allowed(client: Client) -> None:
    image_id = client.order_id()
    assert client.call("image.edit", elid=image_id)["fleio_status"] == {"$": "Saving"}


@pytest.mark.parametrize("multipart", [False, True])
def test_edit_changes_fields(client: Client, multipart: bool) -> None:
    image_id = active_image(client)
    form = {
        "sok": "ok",
        "elid": image_id,
        "image_name": "Ubuntu24_new",
        "min_disk": "2",
        "min_ram": "3",
        "os_distro": "altlinux",
        "os_version": "8",
        "architecture": "i686",
        "protected": "off",
    }
    doc = client.send("image.edit", form, multipart=multipart)
    assert doc["ok"] == {}
    image = client.image(image_id)
    assert (image["image_name"], image["min_disk"], image["min_ram"]) == ("Ubuntu24_new", 2, 3)
    assert (image["os_distro"], image["os_version"], image["architecture"]) == (
        "altlinux",
        "8",
        "i686",
    )
    assert image["protected"] is False
    assert image["status"] == "Active"
    [elem] = client.elems()
    assert elem["protected"] == {"$orig": "off", "$": "Disable"}
    assert elem["os_distro"] == {"$": "Altlinux"}


def test_edit_partial_and_ignored_fields(client: Client) -> None:
    image_id = active_image(client)
    before = client.image(image_id)
    doc = client.call(
        "image.edit", sok="ok", elid=image_id, min_ram="4", url="https://x.org/a.iso", region="X"
    )
    assert doc["ok"] == {}
    after = client.image(image_id)
    assert after["min_ram"] == 4
    assert after["url"] == before["url"]  # read-only fields are ignored
    assert after["region"] == before["region"]
    assert after["image_name"] == before["image_name"]


def test_edit_can_clear_os_version(client: Client) -> None:
    image_id = active_image(client)
    assert client.call("image.edit", sok="ok", elid=image_id, os_version="")["ok"] == {}
    assert client.image(image_id)["os_version"] == ""


@pytest.mark.parametrize(
    ("field", "value", "expected"),
    [
        ("min_disk", "0", ("value", "min_disk")),
        ("architecture", "sparc", ("value", "architecture")),
        ("protected", "maybe", ("value", "protected")),
        ("image_name", "", ("missed", "image_name")),
    ],
)
def test_edit_validation(client: Client, field: str, value: str, expected: tuple) -> None:
    image_id = active_image(client)
    assert (
        error_of(client.call("image.edit", sok="ok", elid=image_id, **{field: value})) == expected
    )


def test_edit_while_saving_is_running_operation(client: Client) -> None:
    image_id = client.order_id()
    doc = client.call("image.edit", sok="ok", elid=image_id, image_name="other")
    assert error_of(doc) == ("value", "runningoperation")
    assert "another operation" in doc["error"]["msg"]["$"].lower()
    client.wait_status(image_id, "Active")
    assert client.call("image.edit", sok="ok", elid=image_id, image_name="other")["ok"] == {}


def test_edit_unknown_or_missing_elid(client: Client) -> None:
    assert error_of(client.call("image.edit", elid="999")) == ("missed", "elid")
    assert error_of(client.call("image.edit", sok="ok", elid="abc")) == ("missed", "elid")
    assert error_of(client.call("image.edit", sok="ok")) == ("missed", "elid")


def test_delete_lifecycle(client: Client) -> None:
    image_id = active_image(client, protected="off")
    assert client.call("image.delete", elid=image_id)["ok"] == {}
    [elem] = client.elems()
    assert elem["fleio_status"] == {"$": "Deleting"}
    assert elem["item_status"]["$orig"] == "5"
    assert client.image(image_id)["status"] == "Deleting"
    # A second delete and an edit while it is going: another operation runs.
    assert error_of(client.call("image.delete", elid=image_id)) == ("value", "runningoperation")
    doc = client.call("image.edit", sok="ok", elid=image_id, min_ram="2")
    assert error_of(doc) == ("value", "runningoperation")
    client.wait_gone(image_id)
    assert "elem" not in client.call("image")
    assert error_of(client.call("image.delete", elid=image_id)) == ("missed", "elid")


def test_delete_protected_is_blocked(client: Client) -> None:
    image_id = active_image(client)
    doc = client.call("image.delete", elid=image_id)
    assert error_of(doc) == ("value", "protected")
    assert "protected" in doc["error"]["msg"]["$"]
    assert client.image(image_id)["status"] == "Active"
    client.call("image.edit", sok="ok", elid=image_id, protected="off")
    assert client.call("image.delete", elid=image_id)["ok"] == {}


def test_delete_while_saving_is_allowed(make_client) -> None:
    c = make_client(stuck_name="stuck")
    image_id = c.order_id(image_name="stuck", protected="off")
    assert c.call("image.delete", elid=image_id)["ok"] == {}
    c.wait_gone(image_id)


def test_delete_missing_elid(client: Client) -> None:
    assert error_of(client.call("image.delete")) == ("missed", "elid")
    assert error_of(client.call("image.delete", elid="5206259")) == ("missed", "elid")

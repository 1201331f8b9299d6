"""The switches for answers the help page leaves open: how a missing id is answered
(``missing_id_error``), where an order answer carries the new id (``order_reply``),
and the words ``fleio_status`` shows (``saving_status``, ``active_status``,
``deleting_status``, ``queued_for``). Each is checked at start-up
(``EmulatorConfig``) and at run time (``POST /_emulator/faults``)."""

from __future__ import annotations

import json
from typing import Any, Callable

import pytest
import requests

from zomro_pulumi.emulator import EmulatorConfig, EmulatorServer
from zomro_pulumi.emulator.config import (
    MISSING_ID_ERRORS,
    ORDER_REPLIES,
    RUNTIME_FIELDS,
    SettingError,
)

from .helpers import HELP_PAGE_ORDER, Client, error_of

MakeClient = Callable[..., Client]

# --- a call on a missing, foreign or purged id -----------------------------------------

#: call name -> the form of that call on ``elid`` (besides func/out/auth).
CALLS: dict[str, Callable[[str], dict[str, str]]] = {
    "view": lambda elid: {"func": "image.edit", "elid": elid},
    "edit": lambda elid: {"func": "image.edit", "elid": elid, "sok": "ok", "min_ram": "2"},
    "delete": lambda elid: {"func": "image.delete", "elid": elid},
}


def raw_call(client: Client, form: dict[str, str]) -> requests.Response:
    """One API request with the client's session, the answer unchecked."""
    return client.post({"out": "json", "auth": client.token or client.login(), **form})


def json_or_none(resp: requests.Response) -> Any:
    try:
        return json.loads(resp.text)
    except ValueError:
        return None


def assert_missing_id_answer(shape: str, resp: requests.Response) -> None:
    """The answer has exactly the shape ``missing_id_error=shape`` describes."""
    body = json_or_none(resp)
    if shape in ("missed", "value", "access"):
        assert resp.status_code == 200, resp.text
        assert resp.headers["Content-Type"].startswith("application/json")
        error = body["doc"]["error"]
        assert error["$type"] == shape
        assert error["$object"] == ("" if shape == "access" else "elid")
        assert error["msg"]["$"]
        return
    assert body is None, resp.text
    assert resp.headers["Content-Type"].startswith("text/html")
    if shape == "http404":
        assert resp.status_code == 404
        assert "404 Not Found" in resp.text
        assert len(resp.text) < 400  # a proxy's short page
    else:
        assert shape == "html"
        assert resp.status_code == 200
        assert resp.text.lstrip().startswith("<!DOCTYPE html>")
        assert "<html>" in resp.text and "Not Found" in resp.text


def test_missing_id_shapes_are_the_documented_values() -> None:
    assert MISSING_ID_ERRORS == ("missed", "value", "access", "http404", "html")
    assert EmulatorConfig().missing_id_error == "missed"


@pytest.mark.parametrize("call", sorted(CALLS))
@pytest.mark.parametrize("shape", MISSING_ID_ERRORS)
def test_missing_id_answer(make_client: MakeClient, shape: str, call: str) -> None:
    c = make_client(missing_id_error=shape)
    resp = raw_call(c, CALLS[call]("999"))
    assert_missing_id_answer(shape, resp)
    [entry] = [e for e in c.admin_json("GET", "requests") if e["form"].get("elid") == "999"]
    expected = {
        "missed": "error:missed/elid",
        "value": "error:value/elid",
        "access": "error:access/",
        "http404": "error:http404/elid",
        "html": "error:html/elid",
    }
    assert entry["outcome"] == expected[shape]
    assert c.admin_json("GET", "images") == []


@pytest.mark.parametrize("shape", MISSING_ID_ERRORS)
def test_missing_id_shape_set_at_run_time(client: Client, shape: str) -> None:
    settings = client.admin_json("POST", "faults", {"missing_id_error": shape})
    assert settings["missing_id_error"] == shape
    assert client.admin_json("GET", "faults")["missing_id_error"] == shape
    for make_form in CALLS.values():
        assert_missing_id_answer(shape, raw_call(client, make_form("5206259")))


@pytest.mark.parametrize("shape", MISSING_ID_ERRORS)
def test_foreign_and_purged_ids_answer_like_missing_ones(
    make_client: MakeClient, shape: str
) -> None:
    c = make_client(accounts={"alice": "pw"}, missing_id_error=shape)
    foreign = c.admin_json("POST", "images", {"account": "alice", "protected": False})["id"]
    purged = c.admin_json("POST", "images", {"protected": False})["id"]
    c.call("image.delete", elid=purged)
    c.wait_gone(purged)
    for elid in (foreign, purged):
        for make_form in CALLS.values():
            assert_missing_id_answer(shape, raw_call(c, make_form(elid)))
    # The foreign image is untouched by the other account's edit and delete.
    assert c.image(foreign)["status"] == "Active"
    assert c.image(foreign)["min_ram"] == 1


@pytest.mark.parametrize("shape", MISSING_ID_ERRORS)
def test_existing_images_and_an_absent_elid_are_not_affected(
    make_client: MakeClient, shape: str
) -> None:
    c = make_client(missing_id_error=shape)
    image_id = c.admin_json("POST", "images", {"protected": False})["id"]
    assert c.call("image.edit", elid=image_id)["elid"] == {"$": image_id}
    assert c.call("image.edit", elid=image_id, sok="ok", min_ram="2")["ok"] == {}
    # An elid that is not sent at all is a missing field, whatever the shape.
    assert error_of(c.call("image.edit", sok="ok")) == ("missed", "elid")
    assert error_of(c.call("image.delete")) == ("missed", "elid")
    assert c.call("image.delete", elid=image_id)["ok"] == {}


def test_missing_id_access_stays_access_after_a_new_login(make_client: MakeClient) -> None:
    """A client logs in again once on ``access``: the retry must be refused alike,
    while the new session itself works."""
    c = make_client(missing_id_error="access")
    first = raw_call(c, CALLS["view"]("999"))
    assert_missing_id_answer("access", first)
    c.login()
    retry = raw_call(c, CALLS["view"]("999"))
    assert_missing_id_answer("access", retry)
    assert "error" not in c.call("image")


def test_missing_id_error_rejects_other_values(client: Client) -> None:
    for bad in ("404", "MISSED", "", None, 1):
        assert client.admin("POST", "faults", {"missing_id_error": bad}).status_code == 400
    assert client.admin_json("GET", "faults")["missing_id_error"] == "missed"
    with pytest.raises(SettingError):
        EmulatorServer(EmulatorConfig(port=0, missing_id_error="gone"))


# --- the order's answer ----------------------------------------------------------------


def order_doc(client: Client) -> dict[str, Any]:
    doc = client.order()
    assert "error" not in doc, doc
    return {k: v for k, v in doc.items() if not k.startswith("$")}


ORDER_BODIES = {
    "id": {"ok": {}, "id": {"$": "5206259"}},
    "elid": {"ok": {}, "elid": {"$": "5206259"}},
    "item.id": {"ok": {}, "item.id": {"$": "5206259"}},
    "bare": {"ok": {}, "id": "5206259"},
    "none": {"ok": {}},
}


@pytest.mark.parametrize("reply", ORDER_REPLIES)
def test_order_reply_shapes(make_client: MakeClient, reply: str) -> None:
    c = make_client(order_reply=reply)
    assert order_doc(c) == ORDER_BODIES[reply]
    assert c.image("5206259")["status"] == "Saving"


@pytest.mark.parametrize("reply", ORDER_REPLIES)
def test_order_reply_set_at_run_time(client: Client, reply: str) -> None:
    settings = client.admin_json("POST", "faults", {"order_reply": reply})
    assert settings["order_reply"] == reply
    assert order_doc(client) == ORDER_BODIES[reply]


def test_order_reply_checks_at_run_time_and_start_up(client: Client) -> None:
    assert client.admin("POST", "faults", {"order_reply": "doc.id"}).status_code == 400
    # The older boolean form is gone everywhere: order_reply says none or id.
    assert "order_returns_id" not in RUNTIME_FIELDS
    assert client.admin("POST", "faults", {"order_returns_id": False}).status_code == 400
    with pytest.raises(TypeError):
        EmulatorConfig(order_returns_id=False)  # type: ignore[call-arg]
    with pytest.raises(SettingError, match="order_reply"):
        EmulatorServer(EmulatorConfig(port=0, order_reply="doc.id"))


def test_order_reply_survives_copies_and_reset(make_client: MakeClient) -> None:
    c = make_client(order_reply="bare")
    c.admin_json("POST", "faults", {"order_reply": "none"})
    assert c.admin_json("POST", "reset") == {"ok": True}
    assert c.admin_json("GET", "faults")["order_reply"] == "bare"
    assert EmulatorConfig(order_reply="elid").copy().order_reply == "elid"


# --- status words ----------------------------------------------------------------------

WORDS = {"saving_status": "queued", "active_status": "active", "deleting_status": "pending_delete"}


def shown(client: Client, image_id: str) -> tuple[str, str]:
    """``fleio_status`` of the image in the list and in the single view."""
    [elem] = [e for e in client.elems() if e["id"]["$"] == image_id]
    view = client.call("image.edit", elid=image_id)
    return elem["fleio_status"]["$"], view["fleio_status"]["$"]


def test_default_words() -> None:
    cfg = EmulatorConfig()
    assert (cfg.saving_status, cfg.active_status, cfg.deleting_status) == (
        "Saving",
        "Active",
        "Deleting",
    )
    assert cfg.queued_for == 0


def test_status_words_for_each_phase(make_client: MakeClient) -> None:
    c = make_client(stuck_name="^stuck$", **WORDS)
    saving = c.order_id(image_name="stuck", protected="off")
    assert shown(c, saving) == ("queued", "queued")
    [elem] = c.elems()
    assert elem["item_status"]["$orig"] == "5" and elem["status"] == {"$": "5"}
    # The lifecycle does not depend on the words: still busy while saving.
    doc = c.call("image.edit", sok="ok", elid=saving, min_ram="2")
    assert error_of(doc) == ("value", "runningoperation")
    assert c.image(saving)["status"] == "Saving"
    assert c.image(saving)["fleio_status"] == "queued"

    active = c.order_id(protected="off")
    c.wait_status(active, "Active")
    assert shown(c, active) == ("active", "active")
    elem = next(e for e in c.elems() if e["id"]["$"] == active)
    assert elem["item_status"]["$orig"] == "2" and elem["image_size"] == {"$": "3"}
    assert c.call("image.edit", sok="ok", elid=active, min_ram="2")["ok"] == {}

    c.admin_json("POST", "faults", {"delete_delay": 3600})
    assert c.call("image.delete", elid=active)["ok"] == {}
    assert shown(c, active) == ("pending_delete", "pending_delete")
    assert c.image(active)["status"] == "Deleting"
    doc = c.call("image.delete", elid=active)
    assert error_of(doc) == ("value", "runningoperation")
    c.admin_json("POST", "faults", {"delete_delay": 0})
    c.wait_gone(active)


def test_status_words_set_at_run_time(client: Client) -> None:
    client.admin_json("POST", "faults", {"activation_delay": 3600})
    image_id = client.order_id(protected="off")
    assert shown(client, image_id) == ("Saving", "Saving")
    settings = client.admin_json("POST", "faults", {"saving_status": " uploading "})
    assert settings["saving_status"] == "uploading"
    assert shown(client, image_id) == ("uploading", "uploading")
    client.admin_json("POST", "faults", {"active_status": "Ready", "activation_delay": 0})
    assert shown(client, image_id) == ("Ready", "Ready")
    client.admin_json("POST", "faults", {"deleting_status": "removing", "delete_delay": 3600})
    client.call("image.delete", elid=image_id)
    assert shown(client, image_id) == ("removing", "removing")


def test_kill_status_is_shown_as_is(make_client: MakeClient) -> None:
    c = make_client(kill_name="^bad", kill_status="killed", **WORDS)
    image_id = c.order_id(image_name="bad-image")
    c.wait_status(image_id, "killed")
    assert shown(c, image_id) == ("killed", "killed")


@pytest.mark.parametrize("name", ["saving_status", "active_status", "deleting_status"])
def test_status_words_reject_empty(client: Client, name: str) -> None:
    for bad in ("", "   ", None, 3):
        assert client.admin("POST", "faults", {name: bad}).status_code == 400
    with pytest.raises(SettingError):
        overrides: dict[str, Any] = {name: " "}
        EmulatorServer(EmulatorConfig(port=0, **overrides))


def test_queued_comes_before_the_saving_word(make_client: MakeClient) -> None:
    c = make_client(queued_for=3600, activation_delay=3600, saving_status="saving")
    image_id = c.order_id(protected="off")
    assert shown(c, image_id) == ("queued", "queued")
    doc = c.call("image.edit", sok="ok", elid=image_id, min_ram="2")
    assert error_of(doc) == ("value", "runningoperation")
    assert c.image(image_id)["status"] == "Saving"
    # The queue is over: saving for activation_delay, then active.
    c.admin_json("POST", "faults", {"queued_for": 0})
    assert shown(c, image_id) == ("saving", "saving")
    c.admin_json("POST", "faults", {"activation_delay": 0})
    assert shown(c, image_id) == ("Active", "Active")


def test_queued_delays_activation(make_client: MakeClient) -> None:
    c = make_client(queued_for=3600, activation_delay=0)
    image_id = c.order_id()
    assert shown(c, image_id) == ("queued", "queued")
    assert c.image(image_id)["status"] == "Saving"
    c.admin_json("POST", "faults", {"queued_for": 0})
    assert c.image(image_id)["status"] == "Active"


def test_queued_for_is_a_runtime_number(client: Client) -> None:
    assert client.admin_json("GET", "faults")["queued_for"] == 0
    assert client.admin_json("POST", "faults", {"queued_for": 1.5})["queued_for"] == 1.5
    for bad in (-1, "soon", True, None):
        assert client.admin("POST", "faults", {"queued_for": bad}).status_code == 400


def test_admin_out_of_band_image_shows_the_words(make_client: MakeClient) -> None:
    c = make_client(**WORDS)
    body = {**HELP_PAGE_ORDER, "status": "Saving"}
    for key in ("image_type", "skipbasket"):
        body.pop(key)
    image_id = c.admin_json("POST", "images", body)["id"]
    assert c.image(image_id)["fleio_status"] == "queued"
    c.admin_json("PATCH", f"images/{image_id}", {"status": "Active"})
    assert shown(c, image_id) == ("active", "active")

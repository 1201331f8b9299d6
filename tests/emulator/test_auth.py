"""Login, sessions, authinfo, and the transport-level errors of the API."""

from __future__ import annotations

import re
import time

import requests

from .helpers import Client, error_of


def test_login_returns_24_hex_token(client: Client) -> None:
    doc = client.call("auth", username="demo", password="demo")
    assert doc["auth"]["$id"] == doc["auth"]["$"]
    assert re.fullmatch(r"[0-9a-f]{24}", doc["auth"]["$id"])


def test_login_multipart_and_urlencoded(client: Client) -> None:
    for multipart in (True, False):
        doc = client.send("auth", {"username": "demo", "password": "demo"}, multipart=multipart)
        assert "auth" in doc
    token = client.login()
    for multipart in (True, False):
        doc = client.send("image", {"auth": token}, multipart=multipart)
        assert "error" not in doc


def test_bad_login(client: Client) -> None:
    doc = client.call("auth", username="demo", password="wrong")
    assert error_of(doc) == ("auth", "badpassword")
    doc = client.call("auth", username="nobody", password="demo")
    assert error_of(doc) == ("auth", "badpassword")
    assert doc["error"]["msg"]["$"]


def test_no_auth_and_bad_token(client: Client) -> None:
    assert error_of(client.call("image", auth=""))[0] == "access"
    doc = client.call("image", auth="0123456789abcdef01234567")
    assert error_of(doc) == ("access", "")
    assert "session" in doc["error"]["msg"]["$"].lower()


def test_authinfo(client: Client) -> None:
    assert "error" not in client.call("image", authinfo="demo:demo")
    assert error_of(client.call("image", authinfo="demo:nope"))[0] == "access"
    assert error_of(client.call("image", authinfo="demo"))[0] == "access"


def test_extra_accounts_and_no_demo(make_client) -> None:
    c = make_client(accounts={"alice": "s3cret"}, demo_account=False)
    assert error_of(c.call("auth", username="demo", password="demo"))[0] == "auth"
    c.login("alice", "s3cret")
    assert "error" not in c.call("image")


def test_images_are_per_account(make_client) -> None:
    alice = make_client(accounts={"alice": "pw"})
    alice.login("alice", "pw")
    image_id = alice.order_id(protected="off")
    demo = Client(alice.server)
    assert demo.elems() == []
    assert error_of(demo.call("image.delete", elid=image_id)) == ("missed", "elid")
    assert [e["id"]["$"] for e in alice.elems()] == [image_id]
    assert alice.elems()[0]["subaccount"] != {"$": "351336"}  # demo's


def test_session_idle_expiry_and_refresh(make_client) -> None:
    c = make_client(session_idle=0.4)
    c.login()
    for _ in range(3):  # each request refreshes the idle timer
        time.sleep(0.25)
        assert "error" not in c.call("image")
    time.sleep(0.6)
    assert error_of(c.call("image"))[0] == "access"
    c.login()
    assert "error" not in c.call("image")


def test_admin_expires_sessions(client: Client) -> None:
    client.login()
    assert client.admin_json("POST", "sessions/expire")["expired"] >= 1
    assert error_of(client.call("image"))[0] == "access"
    assert "error" not in client.call("image", authinfo="demo:demo")


def test_out_json_required(client: Client) -> None:
    token = client.login()
    resp = client.post({"func": "image", "auth": token})
    assert resp.status_code == 200
    assert error_of(resp.json()["doc"]) == ("missed", "out")
    resp = client.post({"func": "image", "auth": token, "out": "xml"})
    assert error_of(resp.json()["doc"]) == ("value", "out")


def test_unknown_and_missing_func(client: Client) -> None:
    assert error_of(client.call("image.frobnicate")) == ("missed", "func")
    token = client.login()
    resp = client.post({"out": "json", "auth": token})
    assert error_of(resp.json()["doc"]) == ("missed", "func")


def test_only_post_root(client: Client) -> None:
    assert requests.get(client.url, timeout=5).status_code == 405
    assert requests.put(client.url, timeout=5).status_code == 405
    assert requests.post(client.url + "other", data={"out": "json"}, timeout=5).status_code == 404


def test_error_envelope_shape(client: Client) -> None:
    doc = client.call("v2.image.order.param", sok="ok")
    error = doc["error"]
    assert set(error) >= {"$type", "$object", "msg"}
    assert isinstance(error["msg"]["$"], str)
    assert all(set(p) == {"$name", "$"} for p in error["param"])

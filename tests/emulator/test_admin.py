"""The ``/_emulator/`` control API."""

from __future__ import annotations

import json

from zomro_pulumi.emulator import RUNTIME_FIELDS, EmulatorConfig, EmulatorServer

from .helpers import Client, error_of


def test_health_and_index(client: Client) -> None:
    assert client.admin_json("GET", "health") == {"ok": True}
    assert any("faults" in e for e in client.admin_json("GET", "")["endpoints"])
    assert client.admin("GET", "nope").status_code == 404
    assert client.admin("POST", "health").status_code == 405


def test_stats_count_every_request_and_reset(client: Client) -> None:
    client.login()
    client.call("image")
    client.order()
    client.order(image_name="")  # failed, still counted
    client.call("image.edit", elid="5206259")  # a read
    client.call("image.edit", elid="5206259", sok="ok", min_ram="2")  # runningoperation
    client.call("image.delete", elid="5206259")
    client.admin_json("GET", "health")  # admin calls are not counted
    stats = client.admin_json("GET", "stats")
    assert stats["counts"] == {
        "auth": 1,
        "image": 1,
        "v2.image.order.param": 2,
        "image.edit": 2,
        "image.delete": 1,
    }
    assert stats["total"] == 7
    assert stats["mutating"] == 4
    assert client.admin_json("POST", "stats/reset") == {"ok": True}
    assert client.admin_json("GET", "stats") == {"counts": {}, "total": 0, "mutating": 0}
    assert client.admin_json("GET", "requests") == []


def test_request_log_masks_credentials(client: Client, capsys) -> None:
    client.login()
    client.call("image", authinfo="demo:demo")
    client.order()
    client.call("image", auth="badtoken")
    log = client.admin_json("GET", "requests")
    assert [e["seq"] for e in log] == [1, 2, 3, 4]
    assert log[0]["form"] == {"func": "auth", "out": "json", "username": "demo", "password": "***"}
    assert log[1]["form"]["authinfo"] == "***"
    assert log[2]["form"]["auth"] == "***"
    assert log[2]["form"]["image_name"] == "Ubuntu24"
    assert [e["outcome"] for e in log] == ["ok", "ok", "ok", "error:access/"]
    assert {"seq", "time", "func", "form", "outcome"} <= set(log[0])
    text = json.dumps(log)
    assert client.token is not None
    assert client.token not in text
    assert "demo:demo" not in text
    assert [e["seq"] for e in client.admin_json("GET", "requests?since=2")] == [3, 4]
    out = capsys.readouterr()
    assert client.token not in out.out + out.err


def test_log_requests_to_stdout_without_credentials(make_client, capfd) -> None:
    c = make_client(log_requests=True)
    c.login()
    c.call("image")
    out = capfd.readouterr().out
    assert "func=auth -> ok" in out
    assert "func=image -> ok" in out
    assert c.token is not None
    assert c.token not in out


def test_images_create_list_patch_delete(client: Client) -> None:
    new = client.admin("POST", "images", {"image_name": "oob", "protected": True})
    assert new.status_code == 200
    image_id = new.json()["id"]
    image = client.image(image_id)
    assert image["status"] == "Active"
    assert image["protected"] is True
    assert image["account"] == "demo"
    assert set(image) >= {
        "id", "image_name", "region", "url", "disk_format", "os_distro", "os_version",
        "architecture", "min_disk", "min_ram", "protected", "pricelist", "order_period",
        "status", "fleio_id", "created",
    }  # fmt: skip
    assert [e["image_name"]["$"] for e in client.elems()] == ["oob"]

    saving = client.admin_json("POST", "images", {"status": "Saving", "min_ram": "2"})["id"]
    assert client.image(saving)["status"] == "Saving"
    assert client.image(saving)["min_ram"] == 2
    client.wait_status(saving, "Active")

    patched = client.admin_json(
        "PATCH", f"images/{image_id}", {"image_name": "renamed", "min_ram": 8, "status": "Killed"}
    )
    assert (patched["image_name"], patched["min_ram"], patched["status"]) == (
        "renamed",
        8,
        "Killed",
    )
    assert client.elems(p_col="+id")[0]["fleio_status"] == {"$": "Killed"}

    # Out-of-band delete ignores protection.
    assert client.admin_json("DELETE", f"images/{image_id}") == {"ok": True}
    assert client.admin("GET", f"images/{image_id}").status_code == 404
    assert client.admin("DELETE", f"images/{image_id}").status_code == 404
    assert [img["id"] for img in client.admin_json("GET", "images")] == [saving]


def test_images_bad_admin_input(client: Client) -> None:
    assert client.admin("POST", "images", {"bogus": 1}).status_code == 400
    assert client.admin("POST", "images", {"disk_format": "floppy"}).status_code == 400
    assert client.admin("POST", "images", {"min_disk": 0}).status_code == 400
    assert client.admin("POST", "images", [1, 2]).status_code == 400
    assert client.admin("PATCH", "images/1", {"min_ram": 2}).status_code == 404
    resp = client.http.post(client.admin_url + "images", data="{not json", timeout=5)
    assert resp.status_code == 400


def test_faults_get_set_and_unknown_key(client: Client) -> None:
    settings = client.admin_json("GET", "faults")
    assert set(settings) == set(RUNTIME_FIELDS)
    assert settings["activation_delay"] == 0.2
    assert settings["transient_kinds"] == ["5xx", "drop", "runningoperation"]
    new = client.admin_json(
        "POST", "faults", {"order_reply": "none", "kill_name": "x", "transient_kinds": "drop"}
    )
    assert new["order_reply"] == "none"
    assert new["kill_name"] == "x"
    assert new["transient_kinds"] == ["drop"]
    assert "id" not in client.order()
    assert client.admin("POST", "faults", {"no_such_setting": 1}).status_code == 400
    assert client.admin("POST", "faults", {"order_returns_id": False}).status_code == 400
    start_up_only = client.admin("POST", "faults", {"port": 1})
    assert start_up_only.status_code == 400
    assert "start-up" in start_up_only.json()["error"]
    assert client.admin("POST", "faults", {"transient_rate": 2}).status_code == 400
    assert client.admin("POST", "faults", {"kill_name": "("}).status_code == 400
    assert client.admin("POST", "faults", {"transient_kinds": ["boom"]}).status_code == 400
    assert client.admin("POST", "faults", {"activation_delay": "soon"}).status_code == 400
    # A rejected request changes nothing.
    resp = client.admin("POST", "faults", {"latency_ms": 5, "bogus": 1})
    assert resp.status_code == 400
    assert client.admin_json("GET", "faults")["latency_ms"] == 0


def test_activation_delay_change_finishes_saving_images(make_client) -> None:
    c = make_client(activation_delay=3600)
    image_id = c.order_id()
    assert c.image(image_id)["status"] == "Saving"
    c.admin_json("POST", "faults", {"activation_delay": 0})
    assert c.image(image_id)["status"] == "Active"


def test_reset(client: Client) -> None:
    client.login()
    client.order_id()
    client.admin_json("POST", "faults", {"latency_ms": 50, "order_reply": "none"})
    assert client.admin_json("POST", "reset") == {"ok": True}
    assert client.admin_json("GET", "images") == []
    assert client.admin_json("GET", "stats")["total"] == 0
    assert client.admin_json("GET", "faults")["latency_ms"] == 0
    assert client.admin_json("GET", "faults")["order_reply"] == "id"
    assert error_of(client.call("image"))[0] == "access"  # sessions are gone
    client.login()
    assert client.order_id() == "5206260"  # ids are never reused


def test_state_file_survives_restart(tmp_path) -> None:
    path = tmp_path / "state" / "images.json"
    config = EmulatorConfig(port=0, activation_delay=0.2, delete_delay=0.2, state_file=str(path))
    with EmulatorServer(config) as first:
        c = Client(first)
        kept = c.order_id(image_name="kept")
        gone = c.order_id(image_name="gone", protected="off")
        c.wait_status(kept, "Active")
        c.call("image.delete", elid=gone)
        c.wait_gone(gone)
        before = c.image(kept)
    assert path.exists()
    with EmulatorServer(config) as second:
        c = Client(second)
        assert c.admin_json("GET", "images") == [before]
        [elem] = c.elems()
        assert elem["id"] == {"$": kept}
        assert elem["fleio_id"] == {"$": before["fleio_id"]}
        assert c.order_id() == str(int(gone) + 1)


def test_state_file_keeps_lifecycle_running_across_restart(tmp_path) -> None:
    config = EmulatorConfig(port=0, activation_delay=0.3, state_file=str(tmp_path / "s.json"))
    with EmulatorServer(config) as first:
        image_id = Client(first).order_id()
    with EmulatorServer(config) as second:
        c = Client(second)
        c.wait_status(image_id, "Active")

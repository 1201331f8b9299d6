"""The switches a chaos test of the provider needs: late mutating requests, list
answers that contradict themselves, list answers without paging fields, the records
of orders and deletions, and ``func=whoami``."""

from __future__ import annotations

import time
from typing import Any, Callable, Optional

import pytest
import requests

from zomro_pulumi.emulator import EmulatorConfig, EmulatorServer
from zomro_pulumi.emulator.__main__ import build_parser, config_from_args

from .helpers import HELP_PAGE_ORDER, Client, error_of

MakeClient = Callable[..., Client]

LATE_S = 0.4
#: A client timeout well below LATE_S: it gives up before a late answer comes.
SHORT = 0.15


def images(client: Client) -> list[dict[str, Any]]:
    return list(client.admin_json("GET", "images"))


def add_images(client: Client, count: int) -> list[str]:
    """``count`` Active images of the demo account, made out of band (no API request)."""
    return [
        client.admin_json("POST", "images", {"image_name": f"img{i}"})["id"] for i in range(count)
    ]


def order_form(client: Client, **overrides: str) -> dict[str, str]:
    fields = {"func": "v2.image.order.param", "out": "json", "sok": "ok", **HELP_PAGE_ORDER}
    return {**fields, "auth": client.token or client.login(), **overrides}


def list_doc(client: Client, **params: str) -> dict[str, Any]:
    """The list answer's ``doc`` without BILLmanager's ``$`` attributes."""
    doc = client.call("image", **params)
    return {k: v for k, v in doc.items() if not k.startswith("$")}


def ids(doc: dict[str, Any]) -> list[Optional[str]]:
    elem = doc.get("elem", [])
    elems = elem if isinstance(elem, list) else [elem]
    return [e["id"]["$"] if "id" in e else None for e in elems]


def log(client: Client) -> list[dict[str, Any]]:
    return list(client.admin_json("GET", "requests"))


# --- settings ---------------------------------------------------------------------------


def test_new_switches_are_off_by_default_and_checked(client: Client) -> None:
    settings = client.admin_json("GET", "faults")
    assert {k: settings[k] for k in NEW_DEFAULTS} == NEW_DEFAULTS
    for bad in (
        {"late_rate": 1.5},
        {"late_s": -1},
        {"late_kinds": ["soon"]},
        {"list_fault_rate": "often"},
        {"list_fault_kinds": "truncated,missing"},
        {"omit_paging_fields": "yes"},
    ):
        assert client.admin("POST", "faults", bad).status_code == 400, bad
    assert client.admin_json("GET", "faults") == settings  # nothing changed
    new = client.admin_json(
        "POST", "faults", {"late_kinds": "act", "list_fault_kinds": ["idless", "overcount"]}
    )
    assert (new["late_kinds"], new["list_fault_kinds"]) == (["act"], ["idless", "overcount"])


NEW_DEFAULTS: dict[str, Any] = {
    "late_rate": 0.0,
    "late_s": 0.0,
    "late_kinds": ["answer", "act"],
    "list_fault_rate": 0.0,
    "list_fault_kinds": ["truncated", "no_elements", "idless", "overcount", "undercount"],
    "omit_paging_fields": False,
}


def test_new_switches_have_flags() -> None:
    args = build_parser().parse_args(
        [
            "--late-rate", "0.5", "--late-s", "0.2", "--late-kinds", "act",
            "--list-fault-rate", "0.25", "--list-fault-kinds", "idless,overcount",
            "--omit-paging-fields",
        ]
    )  # fmt: skip
    cfg = config_from_args(args)
    assert (cfg.late_rate, cfg.late_s, cfg.late_kinds) == (0.5, 0.2, ("act",))
    assert (cfg.list_fault_rate, cfg.list_fault_kinds) == (0.25, ("idless", "overcount"))
    assert cfg.omit_paging_fields is True
    defaults = config_from_args(build_parser().parse_args([]))
    assert (defaults.late_rate, defaults.list_fault_rate, defaults.omit_paging_fields) == (
        0.0,
        0.0,
        False,
    )


# --- late mutating requests ----------------------------------------------------------------


def test_late_answer_makes_the_change_at_once_and_holds_the_answer(
    make_client: MakeClient,
) -> None:
    c = make_client(late_rate=1.0, late_s=LATE_S, late_kinds=("answer",))
    form = order_form(c, image_name="late-answer")
    with pytest.raises(requests.Timeout):
        c.http.post(c.url, data=form, timeout=SHORT)
    # The answer was lost, the image is there already.
    assert [i["image_name"] for i in images(c)] == ["late-answer"]
    entry = log(c)[-1]
    assert (entry["outcome"], entry["late"]) == ("ok", "answer")
    # A patient client gets the answer, LATE_S later.
    start = time.monotonic()
    doc = c.http.post(c.url, data=order_form(c, image_name="patient"), timeout=10).json()["doc"]
    assert time.monotonic() - start >= LATE_S
    assert doc["id"] == {"$": "5206260"}


def test_late_act_makes_the_change_after_the_wait(make_client: MakeClient) -> None:
    c = make_client(late_rate=1.0, late_s=LATE_S, late_kinds=("act",))
    form = order_form(c, image_name="late-act")
    sent = time.time()
    with pytest.raises(requests.Timeout):
        c.http.post(c.url, data=form, timeout=SHORT)
    assert images(c) == []  # not yet: it lands after the client gave up
    deadline = time.monotonic() + 5
    while not images(c):
        assert time.monotonic() < deadline, "the late order never landed"
        time.sleep(0.05)
    [order] = c.admin_json("GET", "orders")
    assert order["time"] >= sent + LATE_S - 0.01
    assert log(c)[-1]["late"] == "act"


def test_late_edit_and_delete_and_never_reads(make_client: MakeClient) -> None:
    c = make_client()
    [image_id] = add_images(c, 1)
    c.admin_json("POST", "faults", {"late_rate": 1.0, "late_s": LATE_S, "late_kinds": ["act"]})
    start = time.monotonic()
    assert c.call("image") and c.call("image.edit", elid=image_id) and c.call("whoami")
    assert time.monotonic() - start < LATE_S  # reads are never late
    start = time.monotonic()
    assert "ok" in c.call("image.edit", elid=image_id, sok="ok", min_ram="4")
    assert time.monotonic() - start >= LATE_S
    assert c.image(image_id)["min_ram"] == 4
    start = time.monotonic()
    assert "ok" in c.call("image.delete", elid=image_id)
    assert time.monotonic() - start >= LATE_S
    lates = [(e["func"], e.get("late")) for e in log(c)]
    assert ("image.edit", "act") in lates and ("image.delete", "act") in lates
    assert all(late is None for func, late in lates if func in ("auth", "image", "whoami"))


def test_late_schedule_is_reproducible_whatever_the_outcome(make_client: MakeClient) -> None:
    def run(break_some: bool) -> list[Optional[str]]:
        c = make_client(seed=5, late_rate=0.5, late_s=0.01)
        c.login()
        for i in range(12):
            name = "" if break_some and i % 2 else f"img{i}"
            c.http.post(c.url, data=order_form(c, image_name=name), timeout=10)
        return [e.get("late") for e in log(c) if e["func"] == "v2.image.order.param"]

    first = run(False)
    assert first == run(False)
    assert first == run(True)  # failed orders draw as many numbers as good ones
    assert None in first and {"answer", "act"} <= set(first)


# --- list answers that contradict themselves ---------------------------------------------------


def faulty_lists(make_client: MakeClient, kind: str, count: int = 3, **extra: Any) -> Client:
    """A client with ``count`` images whose list answers are all faulty as ``kind``."""
    c = make_client(**extra)
    add_images(c, count)
    c.admin_json("POST", "faults", {"list_fault_rate": 1.0, "list_fault_kinds": [kind]})
    return c


TRUE_IDS = ["5206259", "5206260", "5206261"]


def test_truncated(make_client: MakeClient) -> None:
    c = faulty_lists(make_client, "truncated")
    doc = list_doc(c)
    held = ids(doc)
    assert 1 <= len(held) <= 2 and held == TRUE_IDS[: len(held)]
    assert (doc["p_elems"], doc["p_cnt"], doc["p_num"]) == ({"$": "3"}, {"$": "3"}, {"$": "1"})
    assert log(c)[-1]["list_fault"] == "truncated"


def test_no_elements(make_client: MakeClient) -> None:
    c = faulty_lists(make_client, "no_elements")
    assert list_doc(c) == {"p_cnt": {"$": "3"}, "p_elems": {"$": "3"}, "p_num": {"$": "1"}}


def test_idless(make_client: MakeClient) -> None:
    c = faulty_lists(make_client, "idless")
    doc = list_doc(c)
    held = ids(doc)
    assert len(held) == 3 and held.count(None) == 1
    assert [i for i in held if i] == [i for i in TRUE_IDS if i in held]
    assert doc["p_elems"] == {"$": "3"}
    idless = next(e for e in doc["elem"] if "id" not in e)
    assert idless["name"]["$"].startswith("Image #")  # the rest of it is intact


def test_overcount_and_undercount(make_client: MakeClient) -> None:
    c = faulty_lists(make_client, "overcount")
    doc = list_doc(c)
    assert (ids(doc), doc["p_elems"]) == (TRUE_IDS, {"$": "4"})
    c.admin_json("POST", "faults", {"list_fault_kinds": ["undercount"]})
    doc = list_doc(c)
    assert (ids(doc), doc["p_elems"]) == (TRUE_IDS, {"$": "2"})
    # Undercount is one less than this answer holds: a last page of one says 0.
    doc = list_doc(c, p_cnt="2", p_num="2")
    assert (ids(doc), doc["p_elems"]) == ([TRUE_IDS[2]], {"$": "0"})


@pytest.mark.parametrize("kind", ["truncated", "no_elements", "idless", "undercount"])
def test_kinds_that_need_images_leave_an_empty_page_alone(
    make_client: MakeClient, kind: str
) -> None:
    c = faulty_lists(make_client, kind, count=0)
    assert list_doc(c) == {"p_cnt": {"$": "1"}, "p_elems": {"$": "0"}, "p_num": {"$": "1"}}
    assert "list_fault" not in log(c)[-1]


def test_truncated_needs_two_and_overcount_applies_to_an_empty_account(
    make_client: MakeClient,
) -> None:
    c = faulty_lists(make_client, "truncated", count=1)
    assert ids(list_doc(c)) == [TRUE_IDS[0]]
    empty = faulty_lists(make_client, "overcount", count=0)
    assert list_doc(empty) == {"p_cnt": {"$": "1"}, "p_elems": {"$": "1"}, "p_num": {"$": "1"}}


def test_list_faults_touch_only_successful_image_lists(make_client: MakeClient) -> None:
    c = faulty_lists(make_client, "no_elements")
    assert c.call("image.edit", elid=TRUE_IDS[0])["elid"] == {"$": TRUE_IDS[0]}
    assert c.call("whoami")["user"] == {"$": "demo"}
    assert error_of(c.call("image", auth="bad")) == ("access", "")
    faulted = [e["func"] for e in log(c) if "list_fault" in e]
    assert faulted == []


def test_list_fault_schedule_is_reproducible(make_client: MakeClient) -> None:
    def run() -> tuple[list[tuple[Any, ...]], list[Optional[str]]]:
        c = make_client(seed=11)
        add_images(c, 3)
        c.admin_json("POST", "faults", {"list_fault_rate": 0.5})
        answers = []
        for i in range(16):
            if i % 3 == 2:
                c.call("whoami")  # draws too, never faulted
                continue
            doc = list_doc(c)
            answers.append((tuple(ids(doc)), doc.get("p_elems", {}).get("$")))
        return answers, [e.get("list_fault") for e in log(c) if e["func"] == "image"]

    answers, faults = run()
    assert (answers, faults) == run()
    assert len(set(faults) - {None}) >= 3  # several kinds
    assert (tuple(TRUE_IDS), "3") in answers  # and true answers between them


def test_switching_list_faults_on_keeps_the_transient_schedule(make_client: MakeClient) -> None:
    def codes(list_fault_rate: float) -> list[int]:
        c = make_client(seed=42)
        c.login()
        c.admin_json(
            "POST",
            "faults",
            {
                "transient_rate": 0.5,
                "transient_kinds": ["5xx"],
                "list_fault_rate": list_fault_rate,
            },
        )
        form = {"func": "image", "out": "json", "auth": c.token or ""}
        return [c.post(form).status_code for _ in range(12)]

    assert codes(0.0) == codes(1.0)


# --- list answers without paging fields ------------------------------------------------------


def test_omit_paging_fields_with_a_capped_page(make_client: MakeClient) -> None:
    c = make_client(omit_paging_fields=True, max_page_size=2)
    add_images(c, 3)
    first = list_doc(c)
    assert set(first) == {"elem"} and ids(first) == TRUE_IDS[:2]
    second = list_doc(c, p_num="2")
    assert set(second) == {"elem"} and ids(second) == TRUE_IDS[2:]
    assert list_doc(c, p_num="3") == {}


def test_without_paging_fields_only_idless_applies(make_client: MakeClient) -> None:
    c = faulty_lists(make_client, "overcount", omit_paging_fields=True)
    assert ids(list_doc(c)) == TRUE_IDS
    c.admin_json("POST", "faults", {"list_fault_kinds": ["no_elements", "truncated"]})
    assert ids(list_doc(c)) == TRUE_IDS
    c.admin_json("POST", "faults", {"list_fault_kinds": ["idless"]})
    assert ids(list_doc(c)).count(None) == 1


# --- the records of orders and deletions -------------------------------------------------------


def test_orders_record(make_client: MakeClient) -> None:
    c = make_client(accounts={"alice": "pw"})
    before = time.time()
    first = c.order_id(image_name="one")
    assert error_of(c.order(image_name=""))[0] == "missed"  # refused: not an order made
    c.admin_json("POST", "images", {"image_name": "oob"})  # out of band: not an order
    alice = Client(c.server)
    alice.login("alice", "pw")
    second = alice.order_id(image_name="two")
    orders = c.admin_json("GET", "orders")
    assert [{k: o[k] for k in ("id", "image_name", "account")} for o in orders] == [
        {"id": first, "image_name": "one", "account": "demo"},
        {"id": second, "image_name": "two", "account": "alice"},
    ]
    assert set(orders[0]) == {"id", "image_name", "account", "time"}
    assert before - 1 <= orders[0]["time"] <= orders[1]["time"] <= time.time() + 1


def test_orders_record_orders_whose_answer_was_lost(make_client: MakeClient) -> None:
    c = make_client(seed=7)
    c.login()
    c.admin_json("POST", "faults", {"transient_rate": 1.0, "transient_kinds": ["5xx"]})
    for i in range(10):
        c.post(order_form(c, image_name=f"img{i}"))
    made = {i["id"] for i in images(c)}
    assert 0 < len(made) < 10
    assert {o["id"] for o in c.admin_json("GET", "orders")} == made


def test_deletions_record(make_client: MakeClient) -> None:
    c = make_client(activation_delay=3600, queued_for=3600)
    saving = c.order_id(image_name="saving", protected="off")
    active, killed, kept, patched, dropped = (
        c.admin_json("POST", "images", {"image_name": n, **extra})["id"]
        for n, extra in (
            ("active", {}),
            ("bad", {"status": "Killed"}),
            ("kept", {"protected": True}),
            ("patched", {}),
            ("dropped", {"protected": True}),
        )
    )
    for image_id in (saving, active, killed):
        assert "ok" in c.call("image.delete", elid=image_id)
    assert error_of(c.call("image.delete", elid=kept)) == ("value", "protected")
    assert error_of(c.call("image.delete", elid=saving)) == ("value", "runningoperation")
    assert error_of(c.call("image.delete", elid="1")) == ("missed", "elid")
    c.admin_json("PATCH", f"images/{patched}", {"status": "Deleting"})
    c.admin_json("PATCH", f"images/{patched}", {"status": "Deleting"})  # already: no entry
    c.admin_json("DELETE", f"images/{dropped}")
    c.admin_json("DELETE", f"images/{saving}")  # deleting already
    deletions = c.admin_json("GET", "deletions")
    assert [
        (d["id"], d["image_name"], d["account"], d["status"], d["fleio_status"], d["via"])
        for d in deletions
    ] == [
        (saving, "saving", "demo", "Saving", "queued", "api"),
        (active, "active", "demo", "Active", "Active", "api"),
        (killed, "bad", "demo", "Killed", "Killed", "api"),
        (patched, "patched", "demo", "Active", "Active", "admin"),
        (dropped, "dropped", "demo", "Active", "Active", "admin"),
        (saving, "saving", "demo", "Deleting", "Deleting", "admin"),
    ]
    keys = {"id", "image_name", "account", "status", "fleio_status", "via", "time"}
    assert all(set(d) == keys for d in deletions)
    times = [d["time"] for d in deletions]
    assert times == sorted(times)


def test_records_survive_stats_reset_not_reset(make_client: MakeClient) -> None:
    c = make_client()
    image_id = c.order_id(protected="off")
    c.call("image.delete", elid=image_id)
    c.admin_json("POST", "stats/reset")
    assert len(c.admin_json("GET", "orders")) == len(c.admin_json("GET", "deletions")) == 1
    c.admin_json("POST", "reset")
    assert c.admin_json("GET", "orders") == c.admin_json("GET", "deletions") == []
    assert any("deletions" in e for e in c.admin_json("GET", "")["endpoints"])


# --- whoami ------------------------------------------------------------------------------


def test_whoami(make_client: MakeClient) -> None:
    c = make_client(accounts={"alice": "pw"})
    assert c.call("whoami") == {
        "$lang": "en",
        "$func": "whoami",
        "$binary": "/billmgr",
        "user": {"$": "demo"},
    }
    assert c.call("whoami", authinfo="alice:pw")["user"] == {"$": "alice"}
    assert error_of(c.call("whoami", auth="not-a-token")) == ("access", "")
    c.admin_json("POST", "sessions/expire")
    assert error_of(c.call("whoami")) == ("access", "")
    stats = c.admin_json("GET", "stats")
    assert stats["counts"]["whoami"] == 4
    assert stats["mutating"] == 0
    assert c.admin_json("GET", "images") == []


def test_whoami_meets_transient_faults_like_other_reads(make_client: MakeClient) -> None:
    c = make_client()
    c.login()
    c.admin_json("POST", "faults", {"transient_rate": 1.0, "transient_kinds": ["runningoperation"]})
    assert error_of(c.call("whoami")) == ("value", "runningoperation")
    c.admin_json("POST", "faults", {"transient_kinds": ["5xx"]})
    resp = c.post({"func": "whoami", "out": "json", "auth": c.token or ""})
    assert resp.status_code in (502, 503)


def test_lose_order_name_loses_the_next_matching_orders_without_making_them() -> None:
    with EmulatorServer(EmulatorConfig(port=0, lose_order_name="^Shared", lose_orders=1)) as srv:
        token = requests.post(
            srv.url, data={"func": "auth", "username": "demo", "password": "demo", "out": "json"},
            timeout=10,
        ).json()["doc"]["auth"]["$id"]
        form = {
            "func": "v2.image.order.param", "out": "json", "auth": token, "sok": "ok",
            "image_type": "image", "skipbasket": "on", "region": "Netherlands-2", "min_disk": "1",
            "min_ram": "1", "disk_format": "iso", "os_distro": "ubuntu", "architecture": "x86_64",
            "url": "https://example.com/a.iso", "protected": "off", "pricelist": "6854",
            "order_period": "-50",
        }
        other = requests.post(srv.url, data={**form, "image_name": "Other"}, timeout=10)
        lost = requests.post(srv.url, data={**form, "image_name": "Shared-zp-1"}, timeout=10)
        made = requests.post(srv.url, data={**form, "image_name": "Shared-zp-1"}, timeout=10)
        assert (other.status_code, lost.status_code, made.status_code) == (200, 502, 200)
        names = [i["image_name"] for i in requests.get(srv.admin_url + "images", timeout=10).json()]
        assert names == ["Other", "Shared-zp-1"]  # the lost one was not made


def test_a_lost_order_lands_at_once_or_later_as_lost_order_lands_after_says(make_client: Any) -> None:
    c = make_client(lose_order_name="Shared", lose_orders=2, lost_order_lands_after=0)
    c.login()
    assert c.post(order_form(c, image_name="Shared-1")).status_code == 502
    assert [i["image_name"] for i in images(c)] == ["Shared-1"]  # made, its answer lost
    c.admin_json("POST", "faults", {"lost_order_lands_after": 0.5})
    assert c.post(order_form(c, image_name="Shared-2")).status_code == 502
    assert [i["image_name"] for i in images(c)] == ["Shared-1"]  # not yet
    deadline = time.monotonic() + 10
    while len(images(c)) < 2:
        assert time.monotonic() < deadline, "the late order never landed"
        time.sleep(0.05)
    assert [i["image_name"] for i in images(c)] == ["Shared-1", "Shared-2"]


@pytest.mark.parametrize(
    ("settings", "stored"),
    [
        ({}, "zp-0123456789abcdef-Ubuntu 24"),
        ({"name_cut": 12}, "zp-012345678"),
        ({"name_case": "upper"}, "ZP-0123456789ABCDEF-UBUNTU 24"),
        ({"name_case": "lower", "name_cut": 22}, "zp-0123456789abcdef-ub"),
    ],
)
def test_names_are_stored_as_the_name_switches_say_on_order_and_edit(
    make_client: Any, settings: dict[str, Any], stored: str
) -> None:
    c = make_client(activation_delay=0, **settings)
    c.login()
    c.post(order_form(c, image_name="zp-0123456789abcdef-Ubuntu 24")).raise_for_status()
    (image,) = images(c)
    assert image["image_name"] == stored
    assert c.call("image")["elem"]["image_name"]["$"] == stored
    edited = "zp-0123456789abcdef-Ubuntu 24"
    c.call("image.edit", elid=str(image["id"]), sok="ok", image_name=edited)
    assert images(c)[0]["image_name"] == stored


def test_name_trim_drops_surrounding_blanks(make_client: Any) -> None:
    c = make_client(name_trim=True)
    c.login()
    c.post(order_form(c, image_name="  Ubuntu24 ")).raise_for_status()
    assert [i["image_name"] for i in images(c)] == ["Ubuntu24"]


def test_list_filter_hides_images_with_counts_that_agree_and_the_view_shows_them(
    make_client: Any,
) -> None:
    c = make_client(list_filter="^img0$")
    made = add_images(c, 3)
    doc = list_doc(c)
    assert ids(doc) == [made[0]] and doc["p_elems"]["$"] == "1"
    assert c.call("image.edit", elid=made[2])["elid"]["$"] == made[2]
    assert c.call("image.filter")["image_name"] == {"$": "^img0$"}  # the saved filter, read
    c.admin_json("POST", "faults", {"list_filter": None})
    assert ids(list_doc(c)) == made
    assert c.call("image.filter")["image_name"] == {}  # none saved

"""The API client: envelope, auth, retries, deadlines, paging, shared list,
the wire trace, redaction."""

from __future__ import annotations

import json
import pickle
import threading
import time
from pathlib import Path
from typing import Any

import pytest
import requests

from zomro_pulumi import (
    ApiError,
    AuthError,
    BusyError,
    ConfigError,
    InvalidRequestError,
    TransportError,
    UncertainOrderError,
    ZomroClient,
    ZomroError,
)
from zomro_pulumi.clock import FakeClock
from zomro_pulumi.errors import AnswerTimeout, IncompleteListError
from zomro_pulumi.trace import WireTrace
from zomro_pulumi.wire import MIN_ATTEMPT_TIMEOUT

from .conftest import (
    ENDPOINT,
    MISSING_SHAPES,
    ORDER,
    FakeApi,
    Hang,
    envelope_error,
    fast_client,
    wrap,
)

ORDER_FORM = {
    "image_name": "Ubuntu24", "region": "Netherlands-2",
    "min_disk": "1", "min_ram": "1", "disk_format": "iso", "os_distro": "ubuntu", "os_version": "24",
    "architecture": "x86_64", "url": "https://releases.ubuntu.com/24.04/x.iso", "protected": "on",
    "pricelist": "6854", "order_period": "-50",
}


def test_every_call_sends_out_json_and_the_token_as_multipart(api: FakeApi) -> None:
    fast_client().list_images()
    call = api.calls[0]
    assert call["func"] == "image" and call["out"] == "json" and call["auth"] == "tok-1"
    assert (call["p_num"], call["p_cnt"]) == ("1", "500")


def test_order_adds_the_documented_constant_fields_and_reads_the_id(api: FakeApi) -> None:
    new_id = fast_client().order_image(ORDER_FORM)
    (call,) = api.forms(ORDER)
    assert set(call) == {"func", "out", "auth", "sok", "skipbasket", "image_type", *ORDER_FORM}
    assert (call["sok"], call["skipbasket"], call["image_type"]) == ("ok", "on", "image")
    assert {k: call[k] for k in ORDER_FORM} == ORDER_FORM
    assert new_id == "5206259" and list(api.images) == ["5206259"]


@pytest.mark.parametrize("reply", ["id", "elid", "item.id", "bare"])
def test_order_id_found_in_every_plausible_reply(api: FakeApi, reply: str) -> None:
    api.order_reply = reply
    assert fast_client().order_image(ORDER_FORM) == "5206259"


@pytest.mark.parametrize(
    "doc", [{"ok": {}}, {"id": {}}, {"id": wrap("not-a-number")}, {"elid": wrap("")}]
)
def test_order_without_a_usable_id_returns_none(api: FakeApi, doc: dict) -> None:
    api.queue(ORDER, {"doc": doc})
    assert fast_client().order_image(ORDER_FORM) is None


def test_login_with_username_password_reads_doc_auth_id(api: FakeApi) -> None:
    client = ZomroClient(ENDPOINT, username="alice", password="s3cret-pass")
    client.list_images()
    assert api.funcs() == ["auth", "image"]
    assert api.calls[0]["username"] == "alice" and "auth" not in api.calls[0]
    assert api.calls[1]["auth"] == "tok-2"


def test_expired_session_logs_in_again_once_and_retries(api: FakeApi) -> None:
    client = ZomroClient(ENDPOINT, username="alice", password="s3cret-pass")
    client.list_images()
    api.tokens.clear()  # every session expires
    client.list_images(max_age=0)
    assert api.funcs() == ["auth", "image", "image", "auth", "image"]


def test_relogin_happens_only_once_per_call(api: FakeApi) -> None:
    client = ZomroClient(ENDPOINT, username="alice", password="s3cret-pass")
    api.queue("image", envelope_error("access"), envelope_error("access"))
    with pytest.raises(AuthError):
        client.list_images()
    assert api.funcs() == ["auth", "image", "auth", "image"]


def test_expired_token_without_login_says_what_to_configure(api: FakeApi) -> None:
    api.tokens.clear()
    with pytest.raises(AuthError) as info:
        fast_client(token="tok-old-123").list_images()
    assert "zomro:authToken" in str(info.value) and "zomro:username" in str(info.value)
    assert "tok-old-123" not in str(info.value)


def test_bad_password_is_an_auth_error_without_the_password(api: FakeApi) -> None:
    client = ZomroClient(ENDPOINT, username="alice", password="wrong-pass")
    with pytest.raises(AuthError) as info:
        client.list_images()
    assert info.value.err_object == "badpassword"
    assert "wrong-pass" not in str(info.value) and "wrong-pass" not in repr(info.value)


def test_no_credentials_is_a_clear_error_at_the_first_call(api: FakeApi) -> None:
    client = ZomroClient(ENDPOINT)
    with pytest.raises(ConfigError) as info:
        client.list_images()
    for key in ("zomro:authToken", "zomro:username", "zomro:password", "ZOMRO_AUTH_TOKEN"):
        assert key in str(info.value)
    assert api.calls == []


@pytest.mark.parametrize(
    ("err", "cls"),
    [
        (envelope_error("value", "disk_format", "bad value"), InvalidRequestError),
        (envelope_error("missed", "image_name", "missing"), InvalidRequestError),
        (envelope_error("exists", "image_name", "exists"), InvalidRequestError),
        (envelope_error("weird", "thing", "strange"), ApiError),
        ({"doc": {"error": "not-an-object"}}, ApiError),
    ],
)
def test_error_envelopes_with_http_200_map_to_exceptions(api: FakeApi, err: dict, cls: type[ZomroError]) -> None:
    api.queue("image.edit", err)
    with pytest.raises(cls) as info:
        fast_client().edit_image("1", {"image_name": "x"})
    assert info.value.func == "image.edit"


def test_error_carries_type_object_message_and_params(api: FakeApi) -> None:
    err = envelope_error("value", "min_disk", "Field has invalid value")
    err["doc"]["error"]["param"] = [{"$name": "value", "$": "-1"}]
    api.queue("image.edit", err)
    with pytest.raises(InvalidRequestError) as info:
        fast_client().edit_image("1", {"min_disk": "-1"})
    exc = info.value
    assert (exc.err_type, exc.err_object) == ("value", "min_disk")
    assert "Field has invalid value" in str(exc) and "value=-1" in str(exc)


def test_token_echoed_by_the_api_is_redacted(api: FakeApi) -> None:
    api.queue("image", envelope_error("value", "x", "bad session tok-1 given"))
    with pytest.raises(InvalidRequestError) as info:
        fast_client().list_images()
    assert "tok-1" not in str(info.value) and "***" in str(info.value)


def test_client_repr_and_pickle_never_show_credentials() -> None:
    client = ZomroClient(ENDPOINT, token="tok-secret-9", username="u", password="pw-secret-9")
    assert "secret" not in repr(client)
    with pytest.raises(TypeError):
        pickle.dumps(client)


def test_runningoperation_is_retried_even_for_orders(api: FakeApi) -> None:
    api.queue("v2.image.order.param", envelope_error("value", "runningoperation", "busy"))
    assert fast_client().order_image(ORDER_FORM) == "5206259"
    assert api.funcs() == ["v2.image.order.param", "v2.image.order.param"]


def test_runningoperation_gives_up_after_the_retry_budget(api: FakeApi) -> None:
    api.queue("image.edit", *[envelope_error("value", "runningoperation", "busy")] * 10)
    with pytest.raises(BusyError):
        fast_client(retries=2).edit_image("1", {"image_name": "x"})
    assert len(api.forms("image.edit")) == 3


@pytest.mark.parametrize(
    "failure",
    [(502, "<html>Bad gateway</html>"), (503, ""), (200, "<html>processing</html>"),
     requests.ConnectionError("connection dropped")],
)
def test_lost_answers_are_retried_for_safe_calls(api: FakeApi, failure: Any) -> None:
    image_id = api.add_image(image_name="a")
    api.queue("image", failure, failure)
    records = fast_client().list_images()
    assert [r.id for r in records] == [image_id]
    assert api.funcs() == ["image"] * 3


@pytest.mark.parametrize(
    "failure", [(502, "bad gateway"), (200, "not json"), requests.ConnectionError("dropped")]
)
def test_lost_order_answer_is_uncertain_and_never_resent(api: FakeApi, failure: Any) -> None:
    api.queue("v2.image.order.param", failure)
    with pytest.raises(UncertainOrderError):
        fast_client().order_image(ORDER_FORM)
    assert api.funcs() == ["v2.image.order.param"]


def test_transport_error_after_budget_names_the_func(api: FakeApi) -> None:
    api.queue("image", *[(500, "x")] * 10)
    with pytest.raises(TransportError) as info:
        fast_client(retries=1).list_images()
    assert info.value.func == "image"


def test_http_403_blocked_ip_is_not_retried_or_relogged(api: FakeApi) -> None:
    api.queue("image", (403, "460"))
    client = ZomroClient(ENDPOINT, username="alice", password="s3cret-pass")
    with pytest.raises(AuthError) as info:
        client.list_images()
    assert "blocked" in str(info.value)
    assert api.funcs() == ["auth", "image"]


def test_paging_collects_every_page(api: FakeApi) -> None:
    ids = [api.add_image(image_name=f"img{i}") for i in range(7)]
    api.page_size_cap = 3
    records = fast_client(page_size=3).list_images()
    assert sorted(r.id for r in records) == sorted(ids)
    assert [c["p_num"] for c in api.calls] == ["1", "2", "3"]  # last page holds one, as an object


def test_server_capping_the_page_size_is_followed(api: FakeApi) -> None:
    ids = [api.add_image(image_name=f"img{i}") for i in range(5)]
    api.page_size_cap = 2
    records = fast_client(page_size=500).list_images()
    assert sorted(r.id for r in records) == sorted(ids)
    assert len(api.calls) == 3


def test_list_pages_says_what_the_last_list_cost(api: FakeApi) -> None:
    ids = [api.add_image(image_name=f"img{i}") for i in range(7)]
    api.page_size_cap = 3
    clock = FakeClock()
    client = fast_client(clock, page_size=3)
    client.list_images()
    assert client.list_pages == 3
    for image_id in ids[1:]:
        del api.images[image_id]
    clock.advance(1)
    client.list_images(max_age=0)
    assert client.list_pages == 1


def test_single_element_as_object_and_as_list(api: FakeApi) -> None:
    image_id = api.add_image(image_name="only")
    assert [r.id for r in fast_client().list_images()] == [image_id]
    api.single_as_object = False
    assert [r.id for r in fast_client().list_images()] == [image_id]


def test_no_elem_at_all_is_an_empty_list(api: FakeApi) -> None:
    assert fast_client().list_images() == []


def test_without_paging_fields_the_pages_are_read_until_an_empty_one(api: FakeApi) -> None:
    """A server that caps the page size and leaves the paging fields out: a short
    page is no proof of the end; only an empty page is."""
    api.queue(
        "image",
        {"doc": {"elem": [{"id": wrap("1")}, {"id": wrap("2")}]}},
        {"doc": {"elem": {"id": wrap("3")}}},
        {"doc": {}},
    )
    assert [r.id for r in fast_client().list_images()] == ["1", "2", "3"]
    assert [c["p_num"] for c in api.calls] == ["1", "2", "3"]


def test_a_capped_page_size_with_paging_fields_reads_every_page(api: FakeApi) -> None:
    for n in range(7):
        api.add_image(image_name=f"img{n}")
    api.page_size_cap = 3  # asked for 500, given 3 a page
    client = fast_client()
    assert len(client.list_images()) == 7
    assert [c["p_num"] for c in api.forms("image")] == ["1", "2", "3"] and client.list_pages == 3


# Lists that contradict themselves: none of them may be taken as the account.
CONTRADICTIONS: dict[str, list[dict[str, Any]]] = {
    "a total but no elements": [{"doc": {"p_elems": wrap("3")}}],
    "an element without an id": [
        {"doc": {"p_elems": wrap("2"), "elem": [{"id": wrap("1")}, {"image_name": wrap("x")}]}}
    ],
    "fewer elements than the total": [
        {"doc": {"p_elems": wrap("3"), "p_cnt": wrap("500"), "elem": [{"id": wrap("1")}, {"id": wrap("2")}]}},
        {"doc": {"p_elems": wrap("3"), "p_cnt": wrap("500")}},
    ],
    "more elements than the total": [
        {"doc": {"p_elems": wrap("1"), "elem": [{"id": wrap("1")}, {"id": wrap("2")}]}}
    ],
    "a page that repeats the first": [
        {"doc": {"p_elems": wrap("4"), "elem": [{"id": wrap("1")}, {"id": wrap("2")}]}},
        {"doc": {"p_elems": wrap("4"), "elem": [{"id": wrap("1")}, {"id": wrap("2")}]}},
    ],
    "a total that changes between pages": [
        {"doc": {"p_elems": wrap("4"), "elem": [{"id": wrap("1")}, {"id": wrap("2")}]}},
        {"doc": {"p_elems": wrap("3"), "elem": [{"id": wrap("3")}]}},
    ],
}


@pytest.mark.parametrize("case", sorted(CONTRADICTIONS))
def test_a_list_that_contradicts_itself_is_refused(api: FakeApi, case: str) -> None:
    api.queue("image", *CONTRADICTIONS[case])
    with pytest.raises(IncompleteListError):
        fast_client().list_images()


def test_the_deadline_is_checked_between_pages(api: FakeApi) -> None:
    clock = api.clock
    for n in range(9):
        api.add_image(image_name=f"img{n}")
    api.page_size_cap = 3

    def slow_page(data: dict[str, str]) -> Any:
        clock.advance(4)
        return None

    api.queue("image", *[slow_page] * 3)
    start = clock.monotonic()
    with pytest.raises(AnswerTimeout):
        fast_client(clock).list_images(deadline=start + 6)
    assert len(api.forms("image")) == 2 and clock.monotonic() - start == 8


def test_single_view_reads_one_image(api: FakeApi) -> None:
    image_id = api.add_image(image_name="one", url="https://example.com/one.iso")
    rec = fast_client().get_image(image_id)
    assert rec.id == image_id and rec.url == "https://example.com/one.iso" and rec.protected is True
    assert api.calls[0]["elid"] == image_id and "sok" not in api.calls[0]


# What the client raises for an id the account does not hold, per answer shape:
# it never decides that the image is gone, whatever the wording.
MISSING_ERRORS = {
    "missed": (ApiError, "missed"),
    "value": (InvalidRequestError, "value"),
    "access": (AuthError, "access"),
    "http404": (ApiError, "http404"),
    "html200": (TransportError, None),
}


@pytest.mark.parametrize("shape", MISSING_SHAPES)
def test_single_view_of_a_missing_id_raises_whatever_the_answer(api: FakeApi, shape: str) -> None:
    api.missing = shape
    cls, err_type = MISSING_ERRORS[shape]
    with pytest.raises(cls) as info:
        fast_client().get_image("999")
    assert info.value.err_type == err_type and info.value.func == "image.edit"


@pytest.mark.parametrize("shape", MISSING_SHAPES)
def test_delete_of_a_missing_id_raises_whatever_the_answer(api: FakeApi, shape: str) -> None:
    api.missing = shape
    cls, _ = MISSING_ERRORS[shape]
    with pytest.raises(cls):
        fast_client().delete_image("424242")
    assert {c["elid"] for c in api.forms("image.delete")} == {"424242"}


def test_delete_returns_nothing_and_the_image_is_gone(api: FakeApi) -> None:
    image_id = api.add_image(image_name="x", protected=False)
    assert fast_client().delete_image(image_id) is None  # type: ignore[func-returns-value]
    assert api.images == {}


@pytest.mark.parametrize("status", [400, 404, 410])
def test_http_4xx_is_an_api_error_named_by_its_status_and_not_retried(api: FakeApi, status: int) -> None:
    api.queue("image.edit", (status, "<html>nope</html>"))
    with pytest.raises(ApiError) as info:
        fast_client().edit_image("1", {"image_name": "x"})
    assert info.value.err_type == f"http{status}" and f"HTTP {status}" in str(info.value)
    assert len(api.forms("image.edit")) == 1


def test_edit_sends_sok_elid_and_fields(api: FakeApi) -> None:
    image_id = api.add_image(image_name="a")
    fast_client().edit_image(image_id, {"image_name": "b"})
    (call,) = api.forms("image.edit")
    assert (call["sok"], call["elid"], call["image_name"]) == ("ok", image_id, "b")


def test_list_answer_is_shared_and_cached_until_a_change(api: FakeApi) -> None:
    image_id = api.add_image(image_name="a")
    client = fast_client(list_ttl=60)
    client.list_images()
    client.list_images()
    assert api.funcs() == ["image"]
    client.edit_image(image_id, {"image_name": "b"})
    assert [r.image_name for r in client.list_images()] == ["b"]
    assert api.funcs() == ["image", "image.edit", "image"]
    assert [r.image_name for r in client.list_images(max_age=0)] == ["b"]
    assert api.funcs()[-1] == "image" and len(api.funcs()) == 4


def test_concurrent_readers_share_one_list_call(api: FakeApi) -> None:
    api.add_image(image_name="a")
    gate = threading.Event()

    def slow_list(data: dict) -> None:
        gate.wait(2)
        return None  # fall through to the normal answer

    api.queue("image", slow_list)
    client = fast_client(list_ttl=0)
    results: list[int] = []
    threads = [threading.Thread(target=lambda: results.append(len(client.list_images()))) for _ in range(8)]
    for t in threads:
        t.start()
    time.sleep(0.2)
    gate.set()
    for t in threads:
        t.join(5)
    assert results == [1] * 8
    assert api.funcs() == ["image"]


@pytest.mark.parametrize(
    "endpoint",
    ["http://api.zomro.com/", "http://10.0.0.5:8765/", "ftp://api.zomro.com/", "nonsense", "http://[::1/"],
)
def test_plain_http_is_refused_unless_loopback(endpoint: str) -> None:
    with pytest.raises(ConfigError):
        ZomroClient(endpoint, token="t")


@pytest.mark.parametrize("endpoint", ["http://127.0.0.1:8765", "http://localhost:1/", "http://[::1]:80/"])
def test_plain_http_to_loopback_is_allowed(endpoint: str) -> None:
    assert ZomroClient(endpoint, token="t").endpoint.endswith("/")


# ---------------------------------------------------------------- deadlines


def test_without_a_deadline_every_attempt_gets_the_full_timeout(api: FakeApi) -> None:
    fast_client(timeout=60).list_images()
    (timeout,) = api.timeouts
    assert timeout[1] == 60 and timeout[0] <= 60


def test_each_attempt_timeout_shrinks_to_the_time_left(api: FakeApi) -> None:
    clock = FakeClock()
    client = fast_client(clock, timeout=60)
    client.list_images(deadline=clock.monotonic() + 20)
    clock.advance(15)
    client.list_images(max_age=0, deadline=clock.monotonic() + 5)
    client.list_images(max_age=0, deadline=clock.monotonic() + 0.01)
    assert [t[1] for t in api.timeouts] == [20, 5, MIN_ATTEMPT_TIMEOUT]
    assert all(connect <= read for connect, read in api.timeouts)


def test_retries_stop_at_the_deadline(api: FakeApi) -> None:
    clock = FakeClock()
    client = fast_client(clock, retries=6)
    api.queue("image", *[(502, "bad gateway")] * 20)
    deadline = clock.monotonic() + 3
    with pytest.raises(TransportError):
        client.list_images(deadline=deadline)
    assert clock.monotonic() <= deadline  # no pause ran past it
    tried = len(api.calls)
    assert 1 <= tried < 7
    api.calls.clear()
    with pytest.raises(TransportError):
        client.list_images(max_age=0)  # without a deadline the whole budget is used
    assert len(api.calls) == 7


def test_a_hanging_answer_ends_the_call_at_its_deadline(api: FakeApi) -> None:
    client = fast_client(api.clock, timeout=60)
    api.queue("image.edit", *[Hang()] * 10)
    start = api.clock.monotonic()
    with pytest.raises(TransportError):
        client.get_image("1", deadline=start + 25)
    assert api.clock.monotonic() - start <= 25 + client.tuning.timeout
    assert len(api.views()) == 1  # the time was used up by the first attempt


def test_backoff_pauses_go_through_the_injected_clock(api: FakeApi) -> None:
    clock = FakeClock()
    api.queue("image", (503, ""), (503, ""))
    start = clock.monotonic()
    fast_client(clock, backoff_factor=5).list_images()
    assert len(clock.sleeps) == 2 and sum(clock.sleeps) >= 5
    assert clock.monotonic() - start == pytest.approx(sum(clock.sleeps))


# ---------------------------------------------------------------- wire trace


def test_wire_trace_has_one_line_per_exchange_and_no_credentials(api: FakeApi, tmp_path: Path) -> None:
    path = tmp_path / "trace.jsonl"
    trace = WireTrace(path)
    client = ZomroClient(
        ENDPOINT, username="alice", password="s3cret-pass", clock=FakeClock(), trace=trace
    )
    image_id = api.add_image(image_name="a")
    api.queue("image", (502, "<html>bad gateway</html>"))
    client.list_images()
    client.edit_image(image_id, {"image_name": "b"})
    trace.close()
    lines = [json.loads(line) for line in path.read_text().splitlines()]
    assert [line["func"] for line in lines] == api.funcs() == ["auth", "image", "image", "image.edit"]
    assert [line["http_status"] for line in lines] == [200, 502, 200, 200]
    text = path.read_text()
    tokens = api.tokens - {"tok-1"}
    assert "s3cret-pass" not in text and not any(token in text for token in tokens)
    assert lines[0]["request"]["password"] == "***" and lines[1]["request"]["auth"] == "***"
    assert lines[3]["request"]["image_name"] == "b"

"""`zomro-pulumi doctor` against recorded answers: the help page's own element,
and answers the emulator cannot give (a hang, a success for a missing id,
undecodable fields)."""

from __future__ import annotations

import io
import json
from typing import Any

import pytest
import requests

from zomro_pulumi import doctor
from zomro_pulumi.__main__ import main
from zomro_pulumi.settings import ProviderSettings

from .conftest import ENDPOINT, FakeApi, envelope_error, wrap

TOKEN_SETTINGS = ProviderSettings(endpoint=ENDPOINT, token="tok-1")


def by_name(report: doctor.Report) -> dict[str, doctor.Check]:
    return {c.name: c for c in report.checks}


def run(settings: ProviderSettings = TOKEN_SETTINGS) -> doctor.Report:
    return doctor.run(settings, timeout=5)


def only_for_elid(elid: str, answer: Any) -> Any:
    """A queued answer for `image.edit` on one id; other ids get the fake's own answer."""

    def pick(data: dict[str, str]) -> Any:
        if data.get("elid") != elid:
            return None
        if isinstance(answer, Exception):
            raise answer
        return answer

    return pick


def test_help_page_element_passes_every_list_check(api: FakeApi) -> None:
    api.add_image("5206258", fleio_status="Active")
    api.add_image("5206259", fleio_status="Active")
    report = run()
    checks = by_name(report)
    for spec in doctor.LIST_FIELDS:
        assert checks[f"list {spec.name}"].status == doctor.OK, checks[f"list {spec.name}"]
    assert checks["list protected"].seen.endswith("e.g. $orig 'on' / $ 'Enable'")
    assert checks["list createdate"].seen.startswith('list of {"$"}')
    assert checks["status 'Active'"].status == doctor.OK
    assert checks["missing id (elid 0)"].status == doctor.OK
    assert "$type missed $object elid" in checks["missing id (elid 0)"].seen
    assert report.exit_status == 0
    assert set(api.funcs()) == {"image", "image.edit"}
    assert not any("sok" in call for call in api.calls)


def test_empty_account_is_unknown_not_failed(api: FakeApi) -> None:
    report = run()
    checks = by_name(report)
    assert checks["list envelope"].seen.endswith("doc.elem absent (no images)")
    assert checks["list image_name"].status == doctor.UNKNOWN
    assert "no images in the account" in checks["list image_name"].seen
    assert checks["view"].status == doctor.UNKNOWN
    assert report.exit_status == 0


def test_missing_id_answered_like_success_fails(api: FakeApi) -> None:
    api.add_image("5206258", fleio_status="Active")
    success = {"doc": {"image_name": wrap(""), "elid": wrap("0")}}
    api.queue("image.edit", *[only_for_elid("0", success)] * 3)
    report = run()
    check = by_name(report)["missing id (elid 0)"]
    assert check.status == doctor.FAIL
    assert "looks like success" in check.seen
    assert report.exit_status == 1


def test_missing_id_that_hangs_fails(api: FakeApi) -> None:
    api.add_image("5206258", fleio_status="Active")
    api.queue("image.edit", *[only_for_elid("0", requests.exceptions.ReadTimeout())] * 3)
    report = run()
    check = by_name(report)["missing id (elid 0)"]
    assert check.status == doctor.FAIL
    assert "no answer within 5 s" in check.seen
    assert report.exit_status == 1


def test_missing_id_other_error_is_unknown(api: FakeApi) -> None:
    api.add_image("5206258", fleio_status="Active")
    answer = envelope_error("value", "elid", "no such item")
    api.queue("image.edit", *[only_for_elid("0", answer)] * 3)
    report = run()
    check = by_name(report)["missing id (elid 0)"]
    assert check.status == doctor.UNKNOWN
    assert "$type value $object elid" in check.seen
    assert "the provider will confirm through the image list" in check.seen
    assert report.exit_status == 0


def test_undecodable_field_fails_and_names_it(api: FakeApi) -> None:
    api.add_image("5206258", fleio_status="Active", min_disk="lots")
    report = run()
    check = by_name(report)["list min_disk"]
    assert check.status == doctor.FAIL
    assert check.seen == """undecodable in 1 of 1, e.g. '{"$": "lots"}'"""
    assert report.exit_status == 1


def test_absent_field_is_unknown(api: FakeApi) -> None:
    image_id = api.add_image("5206258", fleio_status="Active")
    del api.images[image_id]["pricelist_id"]
    check = by_name(run())["list pricelist_id"]
    assert check.status == doctor.UNKNOWN
    assert check.seen == "absent from all 1 element(s)"


def test_unknown_status_word_is_unknown_and_named(api: FakeApi) -> None:
    api.add_image("5206258", fleio_status="Uploaded")
    report = run()
    check = by_name(report)["status 'Uploaded'"]
    assert check.status == doctor.UNKNOWN
    assert "unknown word 'Uploaded'" in check.seen
    assert "word for Active" not in check.seen  # its billing state is 5, processing
    assert report.exit_status == 0


def test_elements_without_ids_fail(api: FakeApi) -> None:
    api.queue("image", {"doc": {"elem": [{"name": wrap("x")}], "p_num": wrap("1")}})
    report = run()
    check = by_name(report)["elem shape"]
    assert check.status == doctor.FAIL
    assert "no usable id" in check.seen
    assert report.exit_status == 1


def test_paging_that_repeats_page_one_fails(api: FakeApi) -> None:
    api.add_image("5206258", fleio_status="Active")
    api.add_image("5206259", fleio_status="Active")
    first = {"doc": {"elem": api.images["5206258"], "p_num": wrap("1"), "p_cnt": wrap("1"),
                     "p_elems": wrap("2")}}
    # the walk of pages of 500 is served normally; then pages 1 and 2 of one each
    api.queue("image", lambda _data: None, first, first)
    check = by_name(run())["list paging"]
    assert check.status == doctor.FAIL
    assert "repeats page 1" in check.seen


def test_expired_token_fails_and_stops(api: FakeApi) -> None:
    api.tokens.clear()
    report = run()
    assert [c.name for c in report.checks] == ["token accepted"]
    assert report.checks[0].status == doctor.FAIL
    assert "$type access" in report.checks[0].seen
    assert report.exit_status == 1


def test_login_checks_doc_auth_id_then_uses_that_token(api: FakeApi) -> None:
    api.add_image("5206258", fleio_status="Active")
    settings = ProviderSettings(endpoint=ENDPOINT, username="alice", password="s3cret-pass")
    report = run(settings)
    checks = by_name(report)
    assert checks["login"].status == doctor.OK
    assert checks["token accepted"].seen.endswith("from the login was not an access error")
    assert report.exit_status == 0
    tokens = {c.get("auth") for c in api.calls if c["func"] != "auth"}
    assert tokens == {"tok-2"}


def test_login_token_only_at_dollar_is_unknown(api: FakeApi) -> None:
    api.queue("auth", {"doc": {"auth": {"$": "tok-1"}}})
    settings = ProviderSettings(endpoint=ENDPOINT, username="alice", password="s3cret-pass")
    check = by_name(run(settings))["login"]
    assert check.status == doctor.UNKNOWN
    assert "doc.auth.$" in check.seen


def test_bad_password_fails_login_and_stops(api: FakeApi) -> None:
    settings = ProviderSettings(endpoint=ENDPOINT, username="alice", password="wrong-one")
    report = run(settings)
    assert [c.name for c in report.checks] == ["login"]
    assert report.checks[0].status == doctor.FAIL
    assert "badpassword" in report.checks[0].seen
    assert report.exit_status == 1


def test_text_and_json_come_from_the_same_checks(api: FakeApi) -> None:
    api.add_image("5206258", fleio_status="Uploaded")
    report = run()
    text, data = io.StringIO(), io.StringIO()
    doctor.print_report(report, as_json=False, out=text)
    doctor.print_report(report, as_json=True, out=data)
    lines = text.getvalue().splitlines()[1:-1]
    parsed = json.loads(data.getvalue())
    assert lines == [f"{c['mark']} {c['name']}: {c['seen']}" for c in parsed["checks"]]
    assert parsed["exit_status"] == report.exit_status == 0


def test_ascii_marks_when_the_terminal_cannot_show_them(api: FakeApi) -> None:
    report = run()
    out = io.TextIOWrapper(io.BytesIO(), encoding="ascii")
    doctor.print_report(report, as_json=False, out=out)
    out.seek(0)
    text = out.read()
    assert "+ token accepted:" in text and "✓" not in text


def test_error_texts_never_carry_the_token(api: FakeApi) -> None:
    api.queue("image", envelope_error("value", "p_cnt", "bad request from session tok-1"))
    report = run()
    assert report.exit_status == 1
    dumped = json.dumps(report.to_json())
    assert "tok-1" not in dumped
    assert "***" in dumped


def test_public_endpoint_drops_user_info() -> None:
    assert doctor.public_endpoint("https://u:pw@api.zomro.com/x?a=b") == "https://api.zomro.com/x"


@pytest.mark.parametrize(
    ("argv", "env", "message"),
    [
        (["doctor"], {}, "no Zomro credentials"),
        (["doctor", "--username", "alice"], {}, "no password: set ZOMRO_PASSWORD"),
        (["doctor", "--token", "t0ken", "--endpoint", "http://example.com/"], {}, "plain http"),
        ([], {}, "usage"),
    ],
)
def test_usage_errors_exit_2(
    argv: list[str],
    env: dict[str, str],
    message: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    for key in ("ZOMRO_ENDPOINT", "ZOMRO_AUTH_TOKEN", "ZOMRO_USERNAME", "ZOMRO_PASSWORD"):
        monkeypatch.delenv(key, raising=False)
    monkeypatch.setattr("sys.stdin", io.StringIO(""))
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert message in err
    assert "t0ken" not in err


def test_password_flag_does_not_exist(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exc:
        main(["doctor", "--password", "x"])
    assert exc.value.code == 2


@pytest.mark.parametrize(
    ("value", "state"),
    [
        ({"$": "3"}, "ok"),
        ({"$orig": "3", "$": "three"}, "ok"),
        ([{"$": "3"}, {"$": "3"}], "ok"),
        ({}, "empty"),
        ({"$": ""}, "empty"),
        (None, "empty"),
        ([], "empty"),
        ({"$": "three"}, "bad"),
        ({"$": {"nested": "3"}}, "bad"),
        (True, "bad"),
    ],
)
def test_decode_sorts_values_into_ok_empty_bad(value: Any, state: str) -> None:
    spec = doctor.FieldSpec("min_disk", "int")
    assert doctor._decode(spec, value)[0] == state


def test_refused_token_with_a_working_login_is_unknown(api: FakeApi) -> None:
    api.add_image("5206258", fleio_status="Active")
    settings = ProviderSettings(
        endpoint=ENDPOINT, token="stale-token", username="alice", password="s3cret-pass"
    )
    report = run(settings)
    checks = by_name(report)
    assert checks["token accepted"].status == doctor.UNKNOWN
    assert "logs in with the username and password instead" in checks["token accepted"].seen
    assert checks["login token accepted"].status == doctor.OK
    assert checks["missing id (elid 0)"].status == doctor.OK
    assert report.exit_status == 0
    assert "stale-token" not in json.dumps(report.to_json())


def test_refused_login_with_a_working_token_fails_but_checks_the_rest(api: FakeApi) -> None:
    api.add_image("5206258", fleio_status="Active")
    settings = ProviderSettings(
        endpoint=ENDPOINT, token="tok-1", username="alice", password="wrong-one"
    )
    report = run(settings)
    checks = by_name(report)
    assert checks["login"].status == doctor.FAIL
    assert checks["token accepted"].status == doctor.OK
    assert checks["missing id (elid 0)"].status == doctor.OK
    assert report.stopped is None
    assert report.exit_status == 1


@pytest.mark.parametrize(
    ("answer", "says"),
    [
        (envelope_error("access", "", "Access denied"), "error $type access"),
        ((404, "<html><body>Not Found</body></html>"), "HTTP 404"),
        ((200, "<!DOCTYPE html><html>working…</html>"), "HTML that is not JSON"),
    ],
    ids=["access", "http404", "html"],
)
def test_missing_id_answers_the_client_does_not_map_are_unknown(
    answer: Any, says: str, api: FakeApi
) -> None:
    api.add_image("5206258", fleio_status="Active")
    api.queue("image.edit", *[only_for_elid("0", answer)] * 4)
    report = run()
    check = by_name(report)["missing id (elid 0)"]
    assert check.status == doctor.UNKNOWN, check
    assert says in check.seen
    assert check.seen.endswith(doctor._NOT_DIRECT)
    assert report.exit_status == 0

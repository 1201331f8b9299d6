"""`zomro-pulumi doctor` against recorded answers: the help page's own element,
and answers the emulator cannot give (a hang, a success for a missing id,
undecodable fields, lists that do not add up), and the settings it reads inside
a Pulumi project (a stand-in `pulumi` on PATH)."""

from __future__ import annotations

import io
import json
import os
import stat
from pathlib import Path
from typing import Any

import pytest

from zomro_pulumi import doctor
from zomro_pulumi.__main__ import main
from zomro_pulumi.clock import FakeClock
from zomro_pulumi.model import DECODE_TABLE, LIST
from zomro_pulumi.settings import ProviderSettings

from .conftest import ENDPOINT, FakeApi, Hang, envelope_error, wrap

TOKEN_SETTINGS = ProviderSettings(endpoint=ENDPOINT, token="tok-1")
LOGIN_SETTINGS = ProviderSettings(endpoint=ENDPOINT, username="alice", password="s3cret-pass")


@pytest.fixture(autouse=True)
def outside_any_project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The repository root is a Pulumi project (the demo); these runs are not."""
    monkeypatch.chdir(tmp_path)


def by_name(report: doctor.Report) -> dict[str, doctor.Check]:
    return {c.name: c for c in report.checks}


def run(clock: FakeClock, settings: ProviderSettings = TOKEN_SETTINGS) -> doctor.Report:
    return doctor.run(settings, timeout=5, clock=clock)


def only_for_elid(elid: str, answer: Any) -> Any:
    """A queued answer for `image.edit` on one id; other ids get the fake's own answer."""

    def pick(data: dict[str, str]) -> Any:
        return answer if data.get("elid") == elid else None

    return pick


def test_help_page_element_passes_every_list_check(api: FakeApi, clock: FakeClock) -> None:
    api.add_image("5206258", fleio_status="Active")
    api.add_image("5206259", fleio_status="Active")
    report = run(clock)
    checks = by_name(report)
    for d in DECODE_TABLE:
        if LIST in d.views:
            assert checks[f"list {d.attr}"].status == doctor.OK, checks[f"list {d.attr}"]
    assert checks["list protected"].seen.endswith("e.g. $orig 'on' / $ 'Enable'")
    assert checks["list created"].seen.startswith('createdate: list of {"$"}')
    assert checks["list pricelist"].seen.startswith("pricelist_id: ")
    assert checks["status 'Active'"].status == doctor.OK
    assert checks["list pages"].seen == "1 page(s), 2 distinct image(s), as p_elems says"
    assert checks["missing id (elid 0)"].status == doctor.OK
    assert "$type missed $object elid" in checks["missing id (elid 0)"].seen
    # an API that does not know image.filter: not known, not a failure
    assert checks["image list filter"].status == doctor.UNKNOWN
    assert checks["image list filter"].seen.startswith("image.filter: ")
    assert report.exit_status == 0
    assert set(api.funcs()) == {"image", "image.edit", "whoami", "image.filter"}
    assert not any("sok" in call for call in api.calls)


def test_empty_account_is_unknown_not_failed(api: FakeApi, clock: FakeClock) -> None:
    report = run(clock)
    checks = by_name(report)
    assert checks["list envelope"].seen.endswith("doc.elem absent (no images)")
    assert checks["list image_name"].status == doctor.UNKNOWN
    assert "no images in the account" in checks["list image_name"].seen
    assert checks["view"].status == doctor.UNKNOWN
    assert report.exit_status == 0


def test_missing_id_answered_like_success_fails(api: FakeApi, clock: FakeClock) -> None:
    api.add_image("5206258", fleio_status="Active")
    success = {"doc": {"image_name": wrap(""), "elid": wrap("0")}}
    api.queue("image.edit", *[only_for_elid("0", success)] * 3)
    report = run(clock)
    check = by_name(report)["missing id (elid 0)"]
    assert check.status == doctor.FAIL
    assert "looks like success" in check.seen
    assert report.exit_status == 1


def test_missing_id_that_hangs_fails(api: FakeApi, clock: FakeClock) -> None:
    api.add_image("5206258", fleio_status="Active")
    api.queue("image.edit", *[only_for_elid("0", Hang())] * 3)
    report = run(clock)
    check = by_name(report)["missing id (elid 0)"]
    assert check.status == doctor.FAIL
    assert check.seen == "no answer within 5 s: a call on a missing id hangs"
    assert report.exit_status == 1


def test_missing_id_other_error_is_unknown(api: FakeApi, clock: FakeClock) -> None:
    api.add_image("5206258", fleio_status="Active")
    answer = envelope_error("value", "elid", "no such item")
    api.queue("image.edit", *[only_for_elid("0", answer)] * 3)
    report = run(clock)
    check = by_name(report)["missing id (elid 0)"]
    assert check.status == doctor.UNKNOWN
    assert "$type value $object elid" in check.seen
    assert "the provider will confirm through the image list" in check.seen
    assert report.exit_status == 0


def test_undecodable_field_fails_and_names_it(api: FakeApi, clock: FakeClock) -> None:
    api.add_image("5206258", fleio_status="Active", min_disk="lots")
    report = run(clock)
    check = by_name(report)["list min_disk"]
    assert check.status == doctor.FAIL
    assert check.seen == """undecodable in 1 of 1, e.g. '{"$": "lots"}'"""
    assert report.exit_status == 1


def test_absent_field_is_unknown(api: FakeApi, clock: FakeClock) -> None:
    image_id = api.add_image("5206258", fleio_status="Active")
    del api.images[image_id]["visibility"]
    check = by_name(run(clock))["list visibility"]
    assert check.status == doctor.UNKNOWN
    assert check.seen == "absent from all 1 element(s) (visibility)"


def test_a_label_where_the_id_is_expected_is_not_read(api: FakeApi, clock: FakeClock) -> None:
    image_id = api.add_image("5206258", fleio_status="Active")
    del api.images[image_id]["pricelist_id"]  # only the label "Image" is left
    check = by_name(run(clock))["list pricelist"]
    assert check.status == doctor.UNKNOWN
    assert check.seen == 'pricelist: nothing usable ({"$"}) in 1 element(s)'


def test_unknown_status_word_is_unknown_and_named(api: FakeApi, clock: FakeClock) -> None:
    api.add_image("5206258", fleio_status="Uploaded")
    report = run(clock)
    check = by_name(report)["status 'Uploaded'"]
    assert check.status == doctor.UNKNOWN
    assert "unknown word 'Uploaded'" in check.seen
    assert "word for Active" not in check.seen  # its billing state is 5, processing
    assert report.exit_status == 0


def test_elements_without_ids_fail(api: FakeApi, clock: FakeClock) -> None:
    api.queue("image", {"doc": {"elem": [{"name": wrap("x")}], "p_num": wrap("1")}})
    report = run(clock)
    check = by_name(report)["elem shape"]
    assert check.status == doctor.FAIL
    assert "no usable id" in check.seen
    assert report.exit_status == 1


def page(api: FakeApi, ids: list[str], **paging: str) -> dict[str, Any]:
    return {"doc": {"elem": [api.images[i] for i in ids], **{k: wrap(v) for k, v in paging.items()}}}


def test_a_list_that_holds_fewer_images_than_it_says_fails(api: FakeApi, clock: FakeClock) -> None:
    for image_id in ("5206258", "5206259"):
        api.add_image(image_id, fleio_status="Active")
    short = page(api, ["5206258", "5206259"], p_num="1", p_cnt="500", p_elems="3")
    api.queue("image", short, page(api, [], p_num="2", p_cnt="500", p_elems="3"))
    report = run(clock)
    check = by_name(report)["list pages"]
    assert check.status == doctor.FAIL
    assert check.seen.startswith("2 page(s), 2 distinct image(s) but p_elems says 3")
    assert report.exit_status == 1


def test_paging_fields_left_out_are_named(api: FakeApi, clock: FakeClock) -> None:
    api.add_image("5206258", fleio_status="Active")
    api.queue("image", page(api, ["5206258"]), {"doc": {}})
    checks = by_name(run(clock))
    assert checks["list paging fields"].status == doctor.UNKNOWN
    assert "missing or not a number: p_num, p_cnt, p_elems" in checks["list paging fields"].seen
    assert checks["list pages"].status == doctor.UNKNOWN
    assert "no p_elems total: the provider reads until an empty page" in checks["list pages"].seen


def test_a_page_that_repeats_earlier_images_fails(api: FakeApi, clock: FakeClock) -> None:
    for image_id in ("5206258", "5206259"):
        api.add_image(image_id, fleio_status="Active")
    first = page(api, ["5206258"], p_num="1", p_cnt="1", p_elems="2")
    api.queue("image", first, first)
    check = by_name(run(clock))["list pages"]
    assert check.status == doctor.FAIL
    assert "page 2 repeats earlier images" in check.seen


def test_paging_that_repeats_page_one_fails(api: FakeApi, clock: FakeClock) -> None:
    api.add_image("5206258", fleio_status="Active")
    api.add_image("5206259", fleio_status="Active")
    first = page(api, ["5206258"], p_num="1", p_cnt="1", p_elems="2")
    # the walk of pages of 500 is served normally; then pages 1 and 2 of one each
    api.queue("image", lambda _data: None, first, first)
    check = by_name(run(clock))["list paging"]
    assert check.status == doctor.FAIL
    assert "repeats page 1" in check.seen


@pytest.mark.parametrize(
    ("answer", "status", "says"),
    [
        ({"doc": {"user": {"$name": "demo"}}}, doctor.OK, "func=whoami answers for the session"),
        (envelope_error("access", "", "Access denied"), doctor.FAIL, "would refuse a working token"),
        (envelope_error("missed", "func", "no such function"), doctor.UNKNOWN, "does not know"),
    ],
    ids=["answers", "refuses", "unknown"],
)
def test_whoami(answer: Any, status: str, says: str, api: FakeApi, clock: FakeClock) -> None:
    api.queue("whoami", answer)
    check = by_name(run(clock))["whoami"]
    assert check.status == status and says in check.seen, check


def test_expired_token_fails_and_stops(api: FakeApi, clock: FakeClock) -> None:
    api.tokens.clear()
    report = run(clock)
    assert [c.name for c in report.checks] == ["token accepted"]
    assert report.checks[0].status == doctor.FAIL
    assert "$type access" in report.checks[0].seen
    assert report.exit_status == 1


def test_login_checks_doc_auth_id_then_uses_that_token(api: FakeApi, clock: FakeClock) -> None:
    api.add_image("5206258", fleio_status="Active")
    report = run(clock, LOGIN_SETTINGS)
    checks = by_name(report)
    assert checks["login"].status == doctor.OK
    assert checks["token accepted"].seen.endswith("from the login was not an access error")
    assert report.exit_status == 0
    tokens = {c.get("auth") for c in api.calls if c["func"] != "auth"}
    assert tokens == {"tok-2"}


def test_login_token_only_at_dollar_is_unknown(api: FakeApi, clock: FakeClock) -> None:
    api.queue("auth", {"doc": {"auth": {"$": "tok-1"}}})
    check = by_name(run(clock, LOGIN_SETTINGS))["login"]
    assert check.status == doctor.UNKNOWN
    assert "doc.auth.$" in check.seen


def test_login_without_a_token_fails_naming_what_came(api: FakeApi, clock: FakeClock) -> None:
    api.queue("auth", {"doc": {"auth": {"$level": "16"}}})
    report = run(clock, LOGIN_SETTINGS)
    assert [(c.name, c.status) for c in report.checks] == [("login", doctor.FAIL)]
    assert report.checks[0].seen == "no session token at doc.auth.$id; doc.auth has keys ['$level']"


def test_bad_password_fails_login_names_the_setting_and_stops(
    api: FakeApi, clock: FakeClock
) -> None:
    settings = ProviderSettings(endpoint=ENDPOINT, username="alice", password="wrong-one")
    report = run(clock, settings)
    assert [c.name for c in report.checks] == ["login"]
    assert report.checks[0].status == doctor.FAIL
    assert "badpassword" in report.checks[0].seen
    assert report.checks[0].seen.endswith("; check zomro:password")
    assert report.exit_status == 1


def test_text_and_json_come_from_the_same_checks(api: FakeApi, clock: FakeClock) -> None:
    api.add_image("5206258", fleio_status="Uploaded")
    report = run(clock)
    text, data = io.StringIO(), io.StringIO()
    doctor.print_report(report, as_json=False, out=text)
    doctor.print_report(report, as_json=True, out=data)
    lines = [ln for ln in text.getvalue().splitlines()[1:-1] if not ln.startswith("  ")]
    parsed = json.loads(data.getvalue())
    assert lines == [f"{c['mark']} {c['name']}: {c['seen']}" for c in parsed["checks"]]
    assert parsed["exit_status"] == report.exit_status == 0
    assert parsed["settings"] == [{"name": "endpoint", "value": ENDPOINT, "source": "default"},
                                  {"name": "authToken", "value": "***", "source": "default"}]


def test_ascii_marks_when_the_terminal_cannot_show_them(api: FakeApi, clock: FakeClock) -> None:
    report = run(clock)
    out = io.TextIOWrapper(io.BytesIO(), encoding="ascii")
    doctor.print_report(report, as_json=False, out=out)
    out.seek(0)
    text = out.read()
    assert "+ token accepted:" in text and "✓" not in text


def test_error_texts_never_carry_the_token(api: FakeApi, clock: FakeClock) -> None:
    api.queue("image", envelope_error("value", "p_cnt", "bad request from session tok-1"))
    report = run(clock)
    assert report.exit_status == 1
    dumped = json.dumps(report.to_json())
    assert "tok-1" not in dumped
    assert "***" in dumped


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["doctor"], "no Zomro credentials"),
        (["doctor", "--username", "alice"], "no password: set ZOMRO_PASSWORD"),
        (["doctor", "--token", "t0ken", "--endpoint", "http://example.com/"], "plain http"),
        (["doctor", "--account", "prod"], "unknown Zomro account 'prod'"),
        (["doctor", "--stack", "dev"], "--stack needs a Pulumi project"),
        (["import", "--token", "t0ken", "--endpoint", "ftp://x/"], "is not an http(s) URL"),
        ([], "usage"),
    ],
)
def test_usage_errors_exit_2(
    argv: list[str],
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
    ("value", "status"),
    [
        ({"$": "3"}, doctor.OK),
        ({"$orig": "3", "$": "three"}, doctor.OK),
        ([{"$": "3"}, {"$": "3"}], doctor.OK),
        ({}, doctor.UNKNOWN),
        ({"$": ""}, doctor.UNKNOWN),
        (None, doctor.UNKNOWN),
        ([], doctor.UNKNOWN),
        ({"$": "three"}, doctor.FAIL),
        ({"$": {"nested": "3"}}, doctor.FAIL),
        (True, doctor.FAIL),
    ],
)
def test_field_check_sorts_values_as_the_provider_decodes_them(value: Any, status: str) -> None:
    (min_disk,) = [d for d in DECODE_TABLE if d.attr == "min_disk"]
    assert doctor.field_check("list", min_disk, [{"min_disk": value}]).status == status


def test_refused_token_with_a_working_login_is_unknown(api: FakeApi, clock: FakeClock) -> None:
    api.add_image("5206258", fleio_status="Active")
    settings = ProviderSettings(
        endpoint=ENDPOINT, token="stale-token", username="alice", password="s3cret-pass"
    )
    report = run(clock, settings)
    checks = by_name(report)
    assert checks["token accepted"].status == doctor.UNKNOWN
    assert "logs in with the username and password instead" in checks["token accepted"].seen
    assert checks["login token accepted"].status == doctor.OK
    assert checks["missing id (elid 0)"].status == doctor.OK
    assert report.exit_status == 0
    assert "stale-token" not in json.dumps(report.to_json())


def test_refused_login_with_a_working_token_fails_but_checks_the_rest(
    api: FakeApi, clock: FakeClock
) -> None:
    api.add_image("5206258", fleio_status="Active")
    settings = ProviderSettings(
        endpoint=ENDPOINT, token="tok-1", username="alice", password="wrong-one"
    )
    report = run(clock, settings)
    checks = by_name(report)
    assert checks["login"].status == doctor.FAIL
    assert checks["token accepted"].status == doctor.OK
    assert checks["missing id (elid 0)"].status == doctor.OK
    assert report.stopped is None
    assert report.exit_status == 1


@pytest.mark.parametrize(
    ("answer", "says"),
    [
        (envelope_error("access", "", "Access denied"), "JSON error $type access"),
        ((404, "<html><body>Not Found</body></html>"), "HTTP 404, HTML that is not JSON"),
        ((200, "<!DOCTYPE html><html>working…</html>"), "HTTP 200, HTML that is not JSON"),
    ],
    ids=["access", "http404", "html"],
)
def test_missing_id_answers_the_client_does_not_map_are_unknown(
    answer: Any, says: str, api: FakeApi, clock: FakeClock
) -> None:
    api.add_image("5206258", fleio_status="Active")
    api.queue("image.edit", *[only_for_elid("0", answer)] * 4)
    report = run(clock)
    check = by_name(report)["missing id (elid 0)"]
    assert check.status == doctor.UNKNOWN, check
    assert says in check.seen
    assert check.seen.endswith(doctor.NOT_DIRECT)
    assert report.exit_status == 0


# --- inside a Pulumi project: the stack's config, read with the CLI ------------------

STACK_CONFIG = {
    "zomro:endpoint": {"value": ENDPOINT, "secret": False},
    "zomro:username": {"value": "alice", "secret": False},
    "zomro:accounts": {
        "value": json.dumps({"prod": {"endpoint": ENDPOINT, "authToken": "tok-1"}}),
        "objectValue": {"prod": {"endpoint": ENDPOINT, "authToken": "tok-1"}},
        "secret": True,
    },
}


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A project folder (we run in a subfolder of it) and a stand-in `pulumi` on
    PATH that prints `STACK_CONFIG` for `pulumi config --json` and logs its arguments."""
    (tmp_path / "Pulumi.yaml").write_text("name: p\nruntime: python\n")
    (tmp_path / "config.json").write_text(json.dumps(STACK_CONFIG))
    fake = tmp_path / "bin" / "pulumi"
    fake.parent.mkdir()
    fake.write_text(
        f'#!/bin/sh\necho "$@" >> {tmp_path}/args\ncd "{tmp_path}" && cat config.json\n'
    )
    fake.chmod(fake.stat().st_mode | stat.S_IEXEC)
    monkeypatch.setenv("PATH", f"{fake.parent}{os.pathsep}{os.environ['PATH']}")
    (tmp_path / "sub").mkdir()
    monkeypatch.chdir(tmp_path / "sub")
    for key in ("ZOMRO_ENDPOINT", "ZOMRO_AUTH_TOKEN"):
        monkeypatch.delenv(key, raising=False)
    monkeypatch.setenv("ZOMRO_PASSWORD", "s3cret-pass")
    return tmp_path


def test_in_a_project_the_stack_config_comes_first_and_each_source_is_shown(
    project: Path, api: FakeApi, capsys: pytest.CaptureFixture[str]
) -> None:
    api.add_image("5206258", fleio_status="Active")
    assert main(["doctor", "--stack", "dev"]) == 0
    out = capsys.readouterr().out
    assert f"  endpoint: {ENDPOINT} (stack config zomro:endpoint)\n" in out
    assert "  username: alice (stack config zomro:username)\n" in out
    assert "  password: *** (environment ZOMRO_PASSWORD)\n" in out
    assert "s3cret-pass" not in out and "tok-1" not in out
    args = (project / "args").read_text().split()
    assert args[:3] == ["config", "--json", "--show-secrets"] and args[-2:] == ["--stack", "dev"]


def test_an_account_of_the_stack_config(
    project: Path, api: FakeApi, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["doctor", "--account", "prod", "--json"]) == 0
    settings = json.loads(capsys.readouterr().out)["settings"]
    assert settings == [
        {"name": "account", "value": "prod", "source": "flag --account"},
        {"name": "endpoint", "value": ENDPOINT, "source": "stack config zomro:accounts.prod.endpoint"},
        {"name": "authToken", "value": "***", "source": "stack config zomro:accounts.prod.authToken"},
    ]
    assert {c.get("auth") for c in api.calls} == {"tok-1"}


def test_an_unknown_account_names_the_known_ones(
    project: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("ZOMRO_STAGING_AUTH_TOKEN", "tok-9")
    assert main(["doctor", "--account", "prd"]) == 2
    err = capsys.readouterr().err
    assert "unknown Zomro account 'prd'" in err and "known accounts: prod, staging" in err
    assert "tok-9" not in err


def test_a_stack_config_the_cli_cannot_read_is_a_usage_error(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (project / "bin" / "pulumi").write_text("#!/bin/sh\necho 'error: no stack selected' >&2\nexit 255\n")
    assert main(["doctor"]) == 2
    assert "failed in" in capsys.readouterr().err


def test_the_wire_trace_gets_every_call_and_no_credential(
    api: FakeApi, clock: FakeClock, tmp_path: Path
) -> None:
    api.add_image("5206258", fleio_status="Active")
    trace = tmp_path / "trace.jsonl"
    settings = ProviderSettings(endpoint=ENDPOINT, username="alice", password="s3cret-pass",
                                trace=str(trace))
    run(clock, settings)
    lines = trace.read_text().splitlines()
    assert [json.loads(line)["func"] for line in lines] == [c["func"] for c in api.calls]
    assert "s3cret-pass" not in trace.read_text() and "tok-2" not in trace.read_text()

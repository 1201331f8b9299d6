"""The wire trace: one parseable, credential-free JSON line per API call."""

from __future__ import annotations

import json
import os
import threading
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest

from zomro_pulumi.errors import ConfigError
from zomro_pulumi.trace import MAX_TEXT, WireTrace

TOKEN = "0f6744198ec41bb23fe1c923"
PASSWORD = 'pä"ss\\wörd 1'  # a quote, a backslash and non-ASCII: JSON escapes some of it


def lines(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def call(trace: WireTrace, **overrides: Any) -> None:
    fields: dict[str, Any] = {
        "func": "image",
        "request": {"out": "json", "func": "image", "auth": TOKEN},
        "http_status": 200,
        "duration_s": 0.25,
        "body": {"doc": {"elem": [{"id": {"$": "1"}}]}},
    }
    fields.update(overrides)
    trace.record(**fields)


def test_one_line_per_call_with_every_field(tmp_path: Path) -> None:
    path = tmp_path / "trace.jsonl"
    with WireTrace(path) as trace:
        before = datetime.now(timezone.utc)
        call(trace)
        call(trace, func="image.delete", request={"elid": "1"}, http_status=None,
             duration_s=1.5, body=None, error="no answer from https://api.zomro.com/")
    first, second = lines(path)
    assert list(first) == ["time", "func", "request", "http_status", "duration_s", "answer", "error"]
    stamp = datetime.fromisoformat(first["time"].replace("Z", "+00:00"))
    assert stamp.utcoffset() == timedelta(0)
    assert before - timedelta(seconds=1) <= stamp <= datetime.now(timezone.utc)
    assert first["func"] == "image" and first["http_status"] == 200
    assert first["request"] == {"out": "json", "func": "image", "auth": "***"}
    assert first["duration_s"] == 0.25
    assert first["answer"] == {"doc": {"elem": [{"id": {"$": "1"}}]}}
    assert first["error"] is None
    assert (second["http_status"], second["answer"]) == (None, None)
    assert second["error"] == "no answer from https://api.zomro.com/"


def test_appends_to_an_existing_trace(tmp_path: Path) -> None:
    path = tmp_path / "trace.jsonl"
    path.write_text('{"earlier": true}\n')
    with WireTrace(str(path)) as trace:
        call(trace)
    assert [next(iter(entry)) for entry in lines(path)] == ["earlier", "time"]


@pytest.mark.parametrize(
    "field", ["password", "auth", "authinfo", "token", "Password", "X-Auth-Token", "passwd"]
)
def test_credential_form_fields_are_hidden(tmp_path: Path, field: str) -> None:
    path = tmp_path / "trace.jsonl"
    with WireTrace(path) as trace:
        call(trace, request={"func": "auth", "username": "alice", field: "hunter22"})
    (entry,) = lines(path)
    assert entry["request"] == {"func": "auth", "username": "alice", field: "***"}
    assert "hunter22" not in path.read_text()


def test_login_answer_token_is_hidden(tmp_path: Path) -> None:
    path = tmp_path / "trace.jsonl"
    answer = {"doc": {"auth": {"$id": "fresh-session-token", "$": "fresh-session-token"}}}
    with WireTrace(path) as trace:
        call(trace, func="auth", request={"func": "auth", "username": "alice"}, body=answer)
    (entry,) = lines(path)
    assert entry["answer"] == {"doc": {"auth": {"$id": "***", "$": "***"}}}
    assert "fresh-session-token" not in path.read_text()
    assert answer["doc"]["auth"]["$id"] == "fresh-session-token"  # the caller's answer untouched


def test_known_secrets_never_reach_the_file(tmp_path: Path) -> None:
    path = tmp_path / "trace.jsonl"
    escaped = json.dumps(PASSWORD, ensure_ascii=False)[1:-1]
    with WireTrace(path, secrets=lambda: [TOKEN, PASSWORD, "ab"]) as trace:
        call(trace, request={"func": "image", "note": f"x{TOKEN}y"})
        call(trace, body={"doc": {"error": {"msg": {"$": f"bad password {PASSWORD}"}},
                                  TOKEN: [PASSWORD, {"deep": TOKEN}]}})
        call(trace, body=f"<html>{PASSWORD} {TOKEN}</html>", http_status=502)
        call(trace, body=None, http_status=None, error=f"failed for {TOKEN} / {PASSWORD}")
        call(trace, body={"short": "ab"})  # too short to redact without mangling everything
    text = path.read_text(encoding="utf-8")
    raw = path.read_bytes()
    for secret in (TOKEN, PASSWORD, escaped):
        assert secret not in text and secret.encode() not in raw
    entries = lines(path)
    assert len(entries) == 5
    assert entries[0]["request"]["note"] == "x***y"
    assert entries[1]["answer"] == {
        "doc": {"error": {"msg": {"$": "bad password ***"}}, "***": ["***", {"deep": "***"}]}
    }
    assert entries[2]["answer"] == "<html>*** ***</html>"
    assert entries[3]["error"] == "failed for *** / ***"
    assert entries[4]["answer"] == {"short": "ab"}


def test_secrets_are_asked_again_for_every_call(tmp_path: Path) -> None:
    path = tmp_path / "trace.jsonl"
    current = ["token-one"]
    with WireTrace(path, secrets=lambda: current) as trace:
        call(trace, body={"seen": "token-one"})
        current[0] = "token-two"
        call(trace, body={"seen": "token-two"})
    assert [entry["answer"] for entry in lines(path)] == [{"seen": "***"}, {"seen": "***"}]


def test_a_secret_spanning_json_syntax_withholds_the_line(tmp_path: Path) -> None:
    path = tmp_path / "trace.jsonl"
    with WireTrace(path, secrets=lambda: ['":{']) as trace:
        call(trace, body={"doc": {"a": {"b": 1}}})
    (entry,) = lines(path)
    assert (entry["func"], entry["http_status"]) == ("image", 200)
    assert entry["error"] == "line withheld: it would show a secret"
    assert '":{' not in path.read_text()


def test_text_answers_are_truncated(tmp_path: Path) -> None:
    path = tmp_path / "trace.jsonl"
    with WireTrace(path) as trace:
        call(trace, body="still processing", http_status=200)
        call(trace, body="x" * (MAX_TEXT * 3), http_status=502)
        call(trace, body=b"\xffbytes", http_status=502)
    short, long, raw = (entry["answer"] for entry in lines(path))
    assert short == "still processing"
    assert long.startswith("x" * MAX_TEXT) and len(long) < MAX_TEXT + 100
    assert f"{MAX_TEXT * 3} characters" in long
    assert raw == "\ufffdbytes"


def test_an_answer_that_cannot_be_serialized_still_leaves_a_line(tmp_path: Path) -> None:
    path = tmp_path / "trace.jsonl"
    deep: Any = "bottom"
    for _ in range(50_000):
        deep = [deep]
    with WireTrace(path) as trace:
        call(trace, body=deep)
        call(trace, body={"doc": {"value": object()}})  # not JSON: shown as text
    too_deep, odd = lines(path)
    assert too_deep["func"] == "image" and "not traceable" in too_deep["error"]
    assert odd["answer"]["doc"]["value"].startswith("<object")


def test_many_threads_never_interleave_lines(tmp_path: Path) -> None:
    path = tmp_path / "trace.jsonl"
    threads, per_thread = 16, 50
    trace = WireTrace(path, secrets=lambda: [TOKEN])
    start = threading.Barrier(threads)

    def worker(n: int) -> None:
        start.wait()
        for i in range(per_thread):
            # Big enough lines (~20 KB) that a torn write would show.
            call(trace, func=f"t{n}", request={"i": str(i), "auth": TOKEN},
                 body={"doc": {"filler": f"{n}-{i}-" + "z" * 20_000, "t": TOKEN}})

    workers = [threading.Thread(target=worker, args=(n,)) for n in range(threads)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    trace.close()
    entries = lines(path)
    assert len(entries) == threads * per_thread
    seen = {(e["func"], e["request"]["i"]) for e in entries}
    assert seen == {(f"t{n}", str(i)) for n in range(threads) for i in range(per_thread)}
    assert all(e["answer"]["doc"]["t"] == "***" for e in entries)
    assert TOKEN not in path.read_text()


def test_an_unwritable_path_fails_at_start_naming_it(tmp_path: Path) -> None:
    for bad in (tmp_path, tmp_path / "missing-dir" / "trace.jsonl"):
        with pytest.raises(ConfigError, match="wire trace") as caught:
            WireTrace(bad)
        assert str(bad) in str(caught.value)


@pytest.mark.skipif(not os.path.exists("/dev/full"), reason="needs /dev/full")
def test_a_later_write_failure_warns_once_and_never_raises(
    capsys: pytest.CaptureFixture[str],
) -> None:
    trace = WireTrace("/dev/full")  # opens fine; every write fails with ENOSPC
    call(trace)
    call(trace)
    trace.close()
    err = capsys.readouterr().err
    assert err.count("cannot write the wire trace '/dev/full'") == 1


def test_a_failing_secrets_source_does_not_break_the_call(tmp_path: Path) -> None:
    def broken() -> list[str]:
        raise RuntimeError("no secrets today")

    path = tmp_path / "trace.jsonl"
    with WireTrace(path, secrets=broken) as trace:
        call(trace)
    assert lines(path)[0]["request"]["auth"] == "***"


def test_records_after_close_are_dropped(tmp_path: Path) -> None:
    path = tmp_path / "trace.jsonl"
    trace = WireTrace(path)
    trace.close()
    call(trace)
    trace.close()
    assert path.read_text() == ""


def test_from_setting(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    assert WireTrace.from_setting(None) is None
    assert WireTrace.from_setting("") is None
    assert WireTrace.from_setting("   ") is None
    monkeypatch.setenv("HOME", str(tmp_path))
    trace = WireTrace.from_setting("~/trace.jsonl", secrets=lambda: [TOKEN])
    assert trace is not None and trace.path == str(tmp_path / "trace.jsonl")
    call(trace, body={"t": TOKEN})
    trace.close()
    assert lines(tmp_path / "trace.jsonl")[0]["answer"] == {"t": "***"}
    with pytest.raises(ConfigError):
        WireTrace.from_setting(str(tmp_path / "nope" / "trace.jsonl"))


@pytest.mark.skipif(os.name != "posix", reason="POSIX permissions")
def test_a_new_trace_file_is_private(tmp_path: Path) -> None:
    path = tmp_path / "trace.jsonl"
    WireTrace(path).close()
    assert path.stat().st_mode & 0o077 == 0

"""`zomro-pulumi doctor` against the emulator, including its switches for the
answers nobody knows (a missing id's error, status words), through the command
line as a user runs it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any, Callable, Optional

import pytest

from zomro_pulumi.__main__ import main
from zomro_pulumi.emulator import EmulatorServer

from .helpers import HELP_PAGE_ORDER, Client

ENV_KEYS = ("ZOMRO_ENDPOINT", "ZOMRO_AUTH_TOKEN", "ZOMRO_USERNAME", "ZOMRO_PASSWORD")
PASSWORD = "Pa55-word-never-shown"
READ_ONLY_FUNCS = {"auth", "whoami", "image", "image.edit", "image.filter"}


@pytest.fixture(autouse=True)
def outside_any_project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The repository root is a Pulumi project (the demo); these runs are not."""
    monkeypatch.chdir(tmp_path)


@pytest.fixture
def emu_client(make_server: Callable[..., EmulatorServer]) -> Client:
    """An emulator with an extra account (a password that is easy to spot) and two
    Active images of the demo account."""
    client = Client(make_server(accounts={"alice": PASSWORD}))
    for name in ("doctor-a", "doctor-b"):
        create(client, image_name=name)
    return client


def create(client: Client, **fields: Any) -> str:
    body: dict[str, Any] = {**HELP_PAGE_ORDER, "status": "Active", **fields}
    for key in ("image_type", "skipbasket"):
        body.pop(key)
    image_id: str = client.admin_json("POST", "images", body)["id"]
    return image_id


def require_switch(client: Client, name: str) -> None:
    if name not in client.admin_json("GET", "faults"):
        pytest.skip(f"the emulator has no `{name}` switch (POST /_emulator/faults) yet")


def doctor(
    client: Client,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    *args: str,
    username: str = "demo",
    password: str = "demo",
) -> tuple[int, str]:
    """Run `zomro-pulumi doctor` in-process with the provider's environment."""
    for key in ENV_KEYS:
        monkeypatch.delenv(key, raising=False)
    monkeypatch.setenv("ZOMRO_ENDPOINT", client.url)
    monkeypatch.setenv("ZOMRO_USERNAME", username)
    monkeypatch.setenv("ZOMRO_PASSWORD", password)
    client.admin_json("POST", "stats/reset")
    code = main(["doctor", "--timeout", "10", *args])
    out, err = capsys.readouterr()
    # the demo account's password is its user name, which doctor shows
    if "--json" in args:
        data = json.loads(out)
        assert {"name": "password", "value": "***", "source": "environment ZOMRO_PASSWORD"} in (
            data["settings"]
        )
        data["settings"] = [s for s in data["settings"] if s["name"] != "username"]
        assert password not in json.dumps(data) + err
    else:
        assert password not in (out + err).replace(f"  username: {username} (", "")
        assert "  password: *** (environment ZOMRO_PASSWORD)\n" in out
    assert_read_only(client)
    return code, out


def assert_read_only(client: Client) -> None:
    """The emulator's request log: only auth, list and single views; never `sok`."""
    log = client.admin_json("GET", "requests")
    assert log, "doctor sent nothing"
    funcs = {entry["func"] for entry in log}
    assert funcs <= READ_ONLY_FUNCS, funcs
    assert "image" in funcs and "image.edit" in funcs
    for entry in log:
        assert "sok" not in entry["form"], entry
        if entry["func"] == "image.edit":
            assert entry["form"].get("elid"), entry


def check_lines(out: str) -> list[str]:
    """The check lines of the text output (between the settings and the summary)."""
    return [line for line in out.splitlines()[1:-1] if not line.startswith("  ")]


def lines(out: str) -> dict[str, str]:
    """Check name -> its whole line, from the text output."""
    return {line[2:].split(": ", 1)[0]: line for line in check_lines(out)}


def test_defaults_all_hold(
    emu_client: Client, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out = doctor(emu_client, monkeypatch, capsys)
    assert code == 0, out
    checks = check_lines(out)
    assert len(checks) > 40
    assert all(line.startswith("✓ ") for line in checks), out
    found = lines(out)
    assert found["login"] == "✓ login: doc.auth.$id carries a session token"
    assert found["whoami"].startswith("✓ whoami: func=whoami answers for the session")
    assert found["list pages"] == "✓ list pages: 1 page(s), 2 distinct image(s), as p_elems says"
    assert found["list paging fields"].startswith("✓ list paging fields: p_num ")
    assert found["status 'Active'"].startswith("✓ status 'Active': known (active")
    assert found["missing id (elid 0)"].startswith(
        "✓ missing id (elid 0): HTTP 200, JSON error $type missed $object elid"
    )
    assert out.splitlines()[1:3] == [
        f"  endpoint: {emu_client.url} (environment ZOMRO_ENDPOINT)",
        "  username: demo (environment ZOMRO_USERNAME)",
    ]
    assert "  password: *** (environment ZOMRO_PASSWORD)" in out
    assert found["image list filter"] == "✓ image list filter: no filter saved for the image list"
    assert out.splitlines()[-1].endswith("everything the provider needs holds")


def test_a_filter_saved_for_the_image_list_fails_naming_it(
    emu_client: Client, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    emu_client.admin_json("POST", "faults", {"list_filter": "^doctor-a$"})
    code, out = doctor(emu_client, monkeypatch, capsys)
    assert code == 1, out
    line = lines(out)["image list filter"]
    assert line.startswith("✗ image list filter: a filter is saved for the image list (image_name '^doctor-a$')")
    assert line.endswith("Clear it in the panel")


def test_pages_capped_by_the_server_are_walked_and_add_up(
    make_server: Callable[..., EmulatorServer],
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    client = Client(make_server(max_page_size=2))
    for index in range(5):
        create(client, image_name=f"paged-{index}")
    code, out = doctor(client, monkeypatch, capsys)
    assert lines(out)["list pages"] == "✓ list pages: 3 page(s), 5 distinct image(s), as p_elems says"
    assert code == 0, out


# value -> (mark, what the line must say, exit status)
MISSING_ID_ANSWERS = {
    "missed": ("✓", "$type missed $object elid: recognised as not found", 0),
    "value": ("?", "error $type value", 0),
    "access": ("?", "error $type access", 0),
    "http404": ("?", "HTTP 404", 0),
    "html": ("?", "not JSON", 0),
}


@pytest.mark.parametrize("answer", sorted(MISSING_ID_ANSWERS))
def test_missing_id_answers(
    answer: str,
    emu_client: Client,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    require_switch(emu_client, "missing_id_error")
    emu_client.admin_json("POST", "faults", {"missing_id_error": answer})
    code, out = doctor(emu_client, monkeypatch, capsys)
    mark, says, status = MISSING_ID_ANSWERS[answer]
    line = lines(out)["missing id (elid 0)"]
    assert line.startswith(f"{mark} missing id (elid 0): "), line
    assert says in line, line
    if mark == "?":
        assert line.endswith(
            "not recognised directly; the provider will confirm through the image list"
        ), line
    assert code == status, out
    others = [ln for name, ln in lines(out).items() if name != "missing id (elid 0)"]
    assert all(ln.startswith("✓ ") for ln in others), out


def test_unknown_word_for_active_images_fails_naming_it(
    emu_client: Client, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    require_switch(emu_client, "active_status")
    emu_client.admin_json("POST", "faults", {"active_status": "Ready"})
    image_id = emu_client.order_id(image_name="doctor-ready", protected="off")
    deadline = time.monotonic() + 10
    while True:
        elems = {e["id"]["$"]: e for e in emu_client.elems()}
        if elems[image_id]["fleio_status"].get("$") == "Ready":
            break
        assert time.monotonic() < deadline, elems[image_id]["fleio_status"]
        time.sleep(0.05)
    code, out = doctor(emu_client, monkeypatch, capsys)
    line = lines(out)["status 'Ready'"]
    assert line.startswith("✗ status 'Ready': unknown word 'Ready' on "), line
    assert "most likely the word for Active" in line
    assert code == 1, out


def test_bad_password_fails_the_login(
    emu_client: Client, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    for key in ENV_KEYS:
        monkeypatch.delenv(key, raising=False)
    monkeypatch.setenv("ZOMRO_ENDPOINT", emu_client.url)
    monkeypatch.setenv("ZOMRO_PASSWORD", "not-the-password")
    assert main(["doctor", "--username", "alice"]) == 1
    out, err = capsys.readouterr()
    assert "not-the-password" not in out + err
    assert lines(out)["login"].startswith("✗ login: login refused: ")
    assert lines(out)["login"].endswith("; check environment ZOMRO_PASSWORD")
    assert "$object badpassword" in out
    log = emu_client.admin_json("GET", "requests")
    assert [entry["func"] for entry in log] == ["auth"]


def test_json_matches_text(
    emu_client: Client, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    _, text = doctor(emu_client, monkeypatch, capsys)
    code, out = doctor(emu_client, monkeypatch, capsys, "--json")
    data = json.loads(out)
    assert code == data["exit_status"] == 0
    assert data["ok"] is True
    assert data["endpoint"] == emu_client.url
    rendered = [f"{c['mark']} {c['name']}: {c['seen']}" for c in data["checks"]]
    # The fleio_id and dates of the images are the same in both runs.
    assert rendered == check_lines(text)
    assert {c["status"] for c in data["checks"]} == {"ok"}


def test_empty_account_is_unknown_not_failed(
    make_server: Callable[..., EmulatorServer],
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    client = Client(make_server())
    for key in ENV_KEYS:
        monkeypatch.delenv(key, raising=False)
    monkeypatch.setenv("ZOMRO_ENDPOINT", client.url)
    monkeypatch.setenv("ZOMRO_AUTH_TOKEN", client.login())
    assert main(["doctor"]) == 0
    out = capsys.readouterr().out
    found = lines(out)
    assert found["list image_name"] == (
        "? list image_name: no images in the account: nothing to check"
    )
    assert found["view"] == "? view: no listed image to view"
    assert found["missing id (elid 0)"].startswith("✓ ")


def run_cli(
    client: Client, env: dict[str, str], *args: str, cwd: Optional[Path] = None
) -> subprocess.CompletedProcess[str]:
    base = {k: v for k, v in os.environ.items() if k not in ENV_KEYS}
    root = Path(__file__).resolve().parents[2]
    return subprocess.run(
        [sys.executable, "-m", "zomro_pulumi", "doctor", "--json", *args],
        cwd=cwd or Path.cwd(),  # not the repository's root, which is a Pulumi project
        env={**base, "PYTHONPATH": str(root), "ZOMRO_ENDPOINT": client.url, **env},
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_cli_json_never_shows_credentials(emu_client: Client) -> None:
    token = emu_client.login("alice", PASSWORD)
    create(emu_client, image_name="alice-image", account="alice")

    by_login = run_cli(emu_client, {"ZOMRO_USERNAME": "alice", "ZOMRO_PASSWORD": PASSWORD})
    by_token = run_cli(emu_client, {"ZOMRO_AUTH_TOKEN": token})
    by_flag = run_cli(emu_client, {}, "--token", token)
    for proc in (by_login, by_token, by_flag):
        assert proc.returncode == 0, proc.stdout + proc.stderr
        assert PASSWORD not in proc.stdout + proc.stderr
        assert token not in proc.stdout + proc.stderr
        data = json.loads(proc.stdout)
        assert data["exit_status"] == 0
    assert json.loads(by_login.stdout)["checks"][0]["name"] == "login"
    assert json.loads(by_token.stdout)["checks"][0]["name"] == "token accepted"
    assert_read_only(emu_client)

    no_password = run_cli(emu_client, {"ZOMRO_USERNAME": "alice"})
    assert no_password.returncode == 2
    assert "ZOMRO_PASSWORD" in no_password.stderr


def test_in_a_project_whose_stack_config_cannot_be_read_it_goes_on_with_flags_and_environment(
    emu_client: Client, tmp_path: Path
) -> None:
    """A Pulumi project, but no `pulumi` on PATH (as with no stack selected or no
    backend login): one line says so, and the doctor checks what it was given."""
    (tmp_path / "Pulumi.yaml").write_text("name: elsewhere\nruntime: yaml\n")
    nowhere = tmp_path / "empty-bin"
    nowhere.mkdir()
    env = {"PATH": str(nowhere), "ZOMRO_USERNAME": "demo", "ZOMRO_PASSWORD": "demo"}
    proc = run_cli(emu_client, env, "--endpoint", emu_client.url, cwd=tmp_path)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    (line,) = [x for x in proc.stderr.splitlines() if "stack config cannot be read" in x]
    assert "going on with the flags and the environment" in line
    assert json.loads(proc.stdout)["exit_status"] == 0
    named = run_cli(emu_client, env, "--stack", "dev", cwd=tmp_path)
    assert named.returncode == 2  # a stack asked for by name must be read

"""``python -m zomro_pulumi.emulator``: start, first line, serve, terminate."""

from __future__ import annotations

import ast
import os
import re
import signal
import subprocess
import sys
import threading
from pathlib import Path

import pytest
import requests

from zomro_pulumi.emulator import RUNTIME_FIELDS
from zomro_pulumi.emulator.__main__ import build_parser, config_from_args, main
from zomro_pulumi.emulator.config import SETTINGS, flag_of

ROOT = Path(__file__).resolve().parents[2]


def read_line(proc: subprocess.Popen[str], timeout: float = 30.0) -> str:
    """One stdout line, failing instead of hanging if the process says nothing."""
    box: list[str] = []
    reader = threading.Thread(target=lambda: box.append(proc.stdout.readline()))  # type: ignore[union-attr]
    reader.start()
    reader.join(timeout)
    assert box, "the emulator printed nothing"
    return box[0]


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_cli_starts_serves_and_stops(sig: int) -> None:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.Popen(
        [sys.executable, "-m", "zomro_pulumi.emulator", "--port", "0"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        first = read_line(proc)
        match = re.fullmatch(
            r"Zomro API emulator listening on (http://127\.0\.0\.1:(\d+)/)\n", first
        )
        assert match, first
        url, port = match.group(1), int(match.group(2))
        assert port != 0
        second = read_line(proc)
        assert "demo / demo" in second
        assert f"{url}_emulator/" in second
        resp = requests.post(
            url, data={"func": "auth", "username": "demo", "password": "demo", "out": "json"}
        )
        token = resp.json()["doc"]["auth"]["$id"]
        assert requests.get(url + "_emulator/health", timeout=5).json() == {"ok": True}
        proc.send_signal(sig)
        out, err = proc.communicate(timeout=15)
        assert proc.returncode == 0, err
        assert token not in out + err
        assert "Traceback" not in err
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()


def test_cli_flags_map_to_config(tmp_path) -> None:
    args = build_parser().parse_args(
        [
            "--host", "127.0.0.2", "--port", "0",
            "--account", "alice:pw", "--account", "bob:x:y", "--no-demo-account",
            "--activation-delay", "0.5", "--delete-delay", "2", "--session-idle", "60",
            "--order-reply", "none", "--no-single-elem-object",
            "--default-page-size", "10", "--max-page-size", "20",
            "--kill-name", "^bad", "--kill-status", "Error", "--stuck-name", "stuck",
            "--transient-rate", "0.25", "--transient-kinds", "5xx,drop",
            "--latency-ms", "15", "--seed", "9", "--state-file", str(tmp_path / "s.json"),
            "--regions", "A,B", "--pricelists", "1,2", "--log-requests",
        ]
    )  # fmt: skip
    cfg = config_from_args(args)
    assert (cfg.host, cfg.port) == ("127.0.0.2", 0)
    assert cfg.accounts == {"alice": "pw", "bob": "x:y"}
    assert cfg.demo_account is False
    assert (cfg.activation_delay, cfg.delete_delay, cfg.session_idle) == (0.5, 2.0, 60.0)
    assert cfg.order_reply == "none"
    assert cfg.single_elem_object is False
    assert (cfg.default_page_size, cfg.max_page_size) == (10, 20)
    assert (cfg.kill_name, cfg.kill_status, cfg.stuck_name) == ("^bad", "Error", "stuck")
    assert (cfg.transient_rate, cfg.transient_kinds) == (0.25, ("5xx", "drop"))
    assert (cfg.latency_ms, cfg.seed) == (15, 9)
    assert cfg.state_file == str(tmp_path / "s.json")
    assert (cfg.regions, cfg.pricelists) == (("A", "B"), ("1", "2"))
    assert cfg.log_requests is True
    defaults = config_from_args(build_parser().parse_args([]))
    assert (defaults.port, defaults.activation_delay, defaults.pricelists) == (8765, 3.0, ("6854",))
    assert defaults.order_reply == "id" and defaults.missing_id_error == "missed"
    assert defaults.single_elem_object and defaults.demo_account


def test_cli_rejects_bad_settings(capsys) -> None:
    assert main(["--port", "0", "--transient-kinds", "boom"]) == 2
    assert "boom" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["--account", "nopassword"])


def test_cli_answer_shape_flags_map_to_config() -> None:
    args = build_parser().parse_args(
        [
            "--missing-id-error", "http404", "--order-reply", "item.id",
            "--saving-status", "queued", "--active-status", "active",
            "--deleting-status", "pending_delete", "--queued-for", "2.5",
        ]
    )  # fmt: skip
    cfg = config_from_args(args)
    assert (cfg.missing_id_error, cfg.order_reply) == ("http404", "item.id")
    assert (cfg.saving_status, cfg.active_status, cfg.deleting_status) == (
        "queued",
        "active",
        "pending_delete",
    )
    assert cfg.queued_for == 2.5
    for value in ("id", "elid", "item.id", "bare", "none"):
        assert (
            config_from_args(build_parser().parse_args(["--order-reply", value])).order_reply
            == value
        )
    for value in ("missed", "value", "access", "http404", "html"):
        parsed = build_parser().parse_args(["--missing-id-error", value])
        assert config_from_args(parsed).missing_id_error == value


@pytest.mark.parametrize(
    "argv",
    [
        ["--missing-id-error", "gone"],
        ["--order-reply", "doc.id"],
        ["--queued-for", "soon"],
        ["--order-returns-id"],  # the older boolean form is gone: --order-reply none|id
    ],
)
def test_cli_rejects_unknown_shapes(argv: list[str], capsys) -> None:
    with pytest.raises(SystemExit) as info:
        main(argv)
    assert info.value.code == 2
    assert argv[0] in capsys.readouterr().err


@pytest.mark.parametrize(
    "argv",
    [
        ["--port", "0", "--saving-status", " "],
        ["--port", "0", "--pricelists", ","],
        ["--port", "0", "--late-rate", "1.5"],
        ["--port", "0", "--queued-for", "-1"],
    ],
)
def test_cli_rejects_bad_answer_settings(argv: list[str], capsys) -> None:
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.startswith("zomro-emulator: ") and "Traceback" not in err


#: Run first in the child: werkzeug cannot be imported, as where the extra is missing.
HIDE_WERKZEUG = "import sys\nsys.modules['werkzeug'] = None\n"
NEEDS_EXTRA = 'zomro-emulator needs the emulator extra: pip install "zomro-pulumi[emulator]"\n'


def without_werkzeug(tmp_path: Path) -> dict[str, str]:
    """An environment whose Python cannot import werkzeug (a sitecustomize hides it)."""
    site = tmp_path / "site"
    site.mkdir()
    (site / "sitecustomize.py").write_text(HIDE_WERKZEUG)
    return {**os.environ, "PYTHONPATH": os.pathsep.join([str(site), str(ROOT)])}


def test_hidden_werkzeug_cannot_be_imported(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-c", "import werkzeug"],
        env=without_werkzeug(tmp_path),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 1 and "ModuleNotFoundError" in done.stderr


@pytest.mark.parametrize("how", ["module", "script"])
def test_without_werkzeug_the_command_names_the_extra(tmp_path: Path, how: str) -> None:
    if how == "module":
        command = [sys.executable, "-m", "zomro_pulumi.emulator", "--port", "0"]
    else:
        script = Path(sys.executable).parent / "zomro-emulator"
        if not script.exists():
            pytest.skip("zomro-emulator is not installed next to this Python")
        command = [str(script), "--port", "0"]
    done = subprocess.run(
        command,
        cwd=tmp_path,
        env=without_werkzeug(tmp_path),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert (done.returncode, done.stdout, done.stderr) == (2, "", NEEDS_EXTRA)


def test_without_werkzeug_settings_still_import(tmp_path: Path) -> None:
    code = (
        "from zomro_pulumi.emulator import EmulatorConfig, RUNTIME_FIELDS\n"
        "print(EmulatorConfig().order_reply, len(RUNTIME_FIELDS) > 0)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code],
        env=without_werkzeug(tmp_path),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert (done.returncode, done.stdout) == (0, "id True\n"), done.stderr


def test_the_emulator_imports_nothing_else_of_the_package() -> None:
    """The emulator judges the client, so it must not share code with it."""
    package = ROOT / "zomro_pulumi" / "emulator"
    for path in sorted(package.glob("*.py")):
        tree = ast.parse(path.read_text(), str(path))
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom):
                assert node.level in (0, 1), f"{path.name}: from {'.' * node.level}{node.module}"
                names = [node.module or ""] if node.level == 0 else []
            elif isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            else:
                continue
            for name in names:
                assert name.split(".")[0] != "zomro_pulumi", f"{path.name} imports {name}"


def test_every_setting_has_a_row_in_the_readme_switch_table() -> None:
    """The README's table names each setting, its flag and whether it is runtime."""
    readme = (ROOT / "zomro_pulumi" / "emulator" / "README.md").read_text()
    for name, spec in SETTINGS.items():
        runtime = "yes" if spec.runtime else "no"
        row = re.search(rf"^\| `{re.escape(name)}` \| `([^`]*)` \| (\w+) \|", readme, re.M)
        assert row, f"{name} has no row in the README's switch table"
        assert row.group(1).split()[0] == flag_of(name), name
        assert row.group(2) == runtime, name


def test_every_runtime_setting_and_its_flag_is_documented() -> None:
    readme = (ROOT / "zomro_pulumi" / "emulator" / "README.md").read_text()
    flags = {opt for action in build_parser()._actions for opt in action.option_strings}
    for name in RUNTIME_FIELDS:
        assert f"`{name}`" in readme, f"{name} is not in the emulator README"
        flag = "--" + name.replace("_", "-")
        assert flag in flags, f"{name} has no command-line flag"

"""Drive the real `pulumi` CLI on a file backend against an emulator.

Shared by the end-to-end tests and `benchmarks/run.py` (a top-level package so
neither imports the other; it is not part of the wheel): an `Emulator` in this
process with helpers for its admin side, and a `Project` whose program declares
one `zomro.Image` per entry of `images.json`, so a caller changes what is
declared by rewriting that file, exactly as a user edits a program.

`ZOMRO_E2E_EMULATOR`, a JSON object of `EmulatorConfig` field overrides, is
merged into every emulator the harness starts, so the whole suite can be rerun
under another API shape without editing a test.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Optional

import requests

from zomro_pulumi.emulator import EmulatorConfig, EmulatorServer

ROOT = Path(__file__).resolve().parents[1]

PROGRAM = textwrap.dedent(
    '''
    """Declares one zomro.Image per entry of images.json (written by the test)."""
    import json
    from pathlib import Path

    import pulumi

    import zomro_pulumi as zomro

    spec = json.loads((Path(__file__).parent / "images.json").read_text())
    made = {}
    for name, args in spec.get("images", {}).items():
        args = dict(args)
        # Pulumi's resource options, not inputs: import_, and depends_on (names above)
        imported = args.pop("import_", None)
        after = [made[n] for n in args.pop("depends_on", [])]
        opts = pulumi.ResourceOptions(import_=imported, depends_on=after)
        img = made[name] = zomro.Image(name, opts=opts, **args)
        pulumi.export(f"{name}_id", img.image_id)
        pulumi.export(f"{name}_status", img.status)
        pulumi.export(f"{name}_name", img.image_name)
    for name, image_id in spec.get("gets", {}).items():
        got = zomro.Image.get(name, image_id)
        pulumi.export(f"{name}_name", got.image_name)
        pulumi.export(f"{name}_url", got.url)
    for name, query in spec.get("lookups", {}).items():
        found = zomro.get_images(**query)
        pulumi.export(name, [r.id for r in found])
    '''
)

UBUNTU: dict[str, Any] = {
    "image_name": "Ubuntu24",
    "region": "Netherlands-2",
    "url": "https://releases.ubuntu.com/24.04/ubuntu-24.04-live-server-amd64.iso",
    "disk_format": "iso",
    "os_distro": "ubuntu",
    "os_version": "24",
    "architecture": "x86_64",
    "min_disk": 1,
    "min_ram": 1,
}

MUTATING = ("v2.image.order.param", "image.delete")


def script_output(name: str, *args: str) -> str:
    """The last line a toolchain script of `scripts/` prints (a directory it made
    or found), or RuntimeError with the end of what it said on failure."""
    done = subprocess.run(
        [str(ROOT / "scripts" / name), *args], capture_output=True, text=True, timeout=900, check=False
    )
    if done.returncode != 0:
        raise RuntimeError(f"scripts/{name} failed:\n{done.stderr[-3000:]}")
    return done.stdout.strip().splitlines()[-1]


def pulumi_bin() -> str:
    """The CLI the README's commands provide (scripts/ensure-pulumi.sh), built if missing."""
    given = os.environ.get("ZOMRO_PULUMI_BIN")
    if given and (Path(given) / "pulumi").exists():
        return given
    done = subprocess.run(
        [str(ROOT / "scripts" / "ensure-pulumi.sh")], capture_output=True, text=True, check=False
    )
    if done.returncode != 0:
        raise RuntimeError(f"could not provide the pulumi CLI:\n{done.stderr[-4000:]}")
    return done.stdout.strip().splitlines()[-1]


ENV_SETTINGS = "ZOMRO_E2E_EMULATOR"


def env_settings() -> dict[str, Any]:
    """`EmulatorConfig` overrides from `ZOMRO_E2E_EMULATOR` (a JSON object), or none.

    Keys are passed through untouched so a misspelt field fails `EmulatorConfig`
    loudly instead of silently testing the default shape; JSON lists become tuples,
    the type of every sequence field of the config.
    """
    raw = os.environ.get(ENV_SETTINGS, "").strip()
    if not raw:
        return {}
    try:
        given = json.loads(raw)
    except ValueError as exc:
        raise ValueError(f"{ENV_SETTINGS} is not JSON: {exc}") from None
    if not isinstance(given, dict):
        raise ValueError(f"{ENV_SETTINGS} must be a JSON object of EmulatorConfig fields")
    return {k: tuple(v) if isinstance(v, list) else v for k, v in given.items()}


class Emulator:
    """The emulator in this process, with helpers to read its admin side.

    Settings are layered: the harness's fast defaults, then `ZOMRO_E2E_EMULATOR`,
    then what the caller passes (a test that needs a particular shape keeps it).
    """

    def __init__(self, **settings: Any) -> None:
        merged = {
            "activation_delay": 1.0,
            "delete_delay": 0.3,
            "seed": 7,
            **env_settings(),
            **settings,
        }
        config = EmulatorConfig(port=0, **merged)
        self.server = EmulatorServer(config).start()
        self.url: str = self.server.url
        self.admin: str = self.server.admin_url

    def get(self, path: str) -> Any:
        resp = requests.get(self.admin + path, timeout=10)
        resp.raise_for_status()
        return resp.json()

    def post(self, path: str, body: Optional[dict[str, Any]] = None) -> Any:
        resp = requests.post(self.admin + path, json=body or {}, timeout=10)
        resp.raise_for_status()
        return resp.json()

    def patch(self, path: str, body: dict[str, Any]) -> Any:
        resp = requests.patch(self.admin + path, json=body, timeout=10)
        resp.raise_for_status()
        return resp.json()

    def delete(self, path: str) -> Any:
        resp = requests.delete(self.admin + path, timeout=10)
        resp.raise_for_status()
        return resp.json()

    def images(self) -> list[dict[str, Any]]:
        return list(self.get("images"))

    def counts(self) -> dict[str, int]:
        return dict(self.get("stats")["counts"])

    def requests(self) -> list[dict[str, Any]]:
        return list(self.get("requests"))

    def mutating(self) -> int:
        return int(self.get("stats")["mutating"])

    def changes(self) -> dict[str, int]:
        """Orders, edits (with `sok`) and deletes the API was asked for, from its log."""
        log = self.requests()
        return {
            "orders": sum(1 for r in log if r["func"] == "v2.image.order.param"),
            "edits": sum(1 for r in log if r["func"] == "image.edit" and r["form"].get("sok")),
            "deletes": sum(1 for r in log if r["func"] == "image.delete"),
        }

    def image_named(self, name: str) -> dict[str, Any]:
        """The one image of that name, as a user finds it in the panel."""
        (image,) = [i for i in self.images() if i["image_name"] == name]
        return image

    def reset_stats(self) -> None:
        self.post("stats/reset")

    def faults(self, **settings: Any) -> Any:
        return self.post("faults", settings)

    def login(self, user: str = "demo", password: str = "demo") -> str:
        resp = requests.post(
            self.url,
            data={"func": "auth", "username": user, "password": password, "out": "json"},
            timeout=10,
        )
        return str(resp.json()["doc"]["auth"]["$id"])

    def stop(self) -> None:
        self.server.stop()

    def __enter__(self) -> Emulator:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


@dataclass
class Result:
    """What one CLI command printed and how it exited."""

    returncode: int
    stdout: str
    stderr: str

    @property
    def output(self) -> str:
        return self.stdout + self.stderr


@dataclass
class Project:
    """A Pulumi project + stack on a file backend, driven with the real CLI."""

    path: Path
    backend: Path
    bin_dir: str
    stack: str = "e2e"
    extra_env: dict[str, str] = field(default_factory=dict)
    log: list[str] = field(default_factory=list)

    @property
    def env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("PULUMI_", "ZOMRO_"))}
        env.update(
            PATH=f"{self.bin_dir}{os.pathsep}{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}",
            PULUMI_BACKEND_URL=f"file://{self.backend}",
            PULUMI_CONFIG_PASSPHRASE="e2e-passphrase",
            PULUMI_SKIP_UPDATE_CHECK="true",
            PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION="true",
            PIP_DISABLE_PIP_VERSION_CHECK="1",
            PULUMI_HOME=str(self.backend.parent / "pulumi-home"),
            NO_COLOR="1",
        )
        env.update(self.extra_env)
        return env

    def run(self, *args: str, check: bool = True, timeout: float = 600) -> Result:
        cmd = ["pulumi", *args, "--non-interactive", "--color", "never"]
        if args and args[0] in ("preview", "up", "refresh", "destroy", "stack", "config"):
            cmd += ["--stack", self.stack] if args[:2] != ("stack", "init") else []
        done = subprocess.run(
            cmd,
            cwd=self.path,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
        result = Result(done.returncode, done.stdout, done.stderr)
        self.log.append(f"$ {' '.join(cmd)}\n{result.output}")
        if check and done.returncode != 0:
            raise AssertionError(
                f"`{' '.join(cmd)}` exited {done.returncode}:\n{result.output[-6000:]}"
            )
        return result

    def declare(self, images: Optional[dict[str, dict[str, Any]]] = None, **extra: Any) -> None:
        (self.path / "images.json").write_text(json.dumps({"images": images or {}, **extra}))

    def up(self, *args: str, check: bool = True) -> Result:
        return self.run("up", "--yes", "--skip-preview", *args, check=check)

    def preview(self, *args: str, check: bool = True) -> Result:
        return self.run("preview", "--diff", *args, check=check)

    def outputs(self) -> dict[str, Any]:
        return dict(json.loads(self.run("stack", "output", "--json", "--show-secrets").stdout))

    def export(self) -> dict[str, Any]:
        return dict(json.loads(self.run("stack", "export", "--show-secrets").stdout))

    def resources(self) -> list[dict[str, Any]]:
        deployment = self.export().get("deployment", {})
        return [
            r
            for r in deployment.get("resources", []) or []
            if r.get("type") == "pulumi-python:dynamic/zomro:Image"
        ]

    def config(self, key: str, value: str, *, secret: bool = False) -> None:
        self.run("config", "set", key, value, *(["--secret"] if secret else []))

    def set_account(self, label: str, url: str, user: str = "demo", password: str = "demo") -> None:
        """`zomro:accounts.LABEL`: an endpoint and a login, as a user sets them."""
        self.run("config", "set", "--path", f"zomro:accounts.{label}.endpoint", url)
        self.run("config", "set", "--path", f"zomro:accounts.{label}.username", user)
        self.run("config", "set", "--secret", "--path", f"zomro:accounts.{label}.password", password)


def diagnostics(output: str) -> dict[str, list[str]]:
    """The Diagnostics section of a CLI run: resource heading -> its lines."""
    blocks: dict[str, list[str]] = {}
    lines = output.splitlines()
    start = next((i for i, line in enumerate(lines) if line.strip() == "Diagnostics:"), len(lines))
    current: Optional[list[str]] = None
    for line in lines[start + 1 :]:
        if line.startswith("  ") and not line.startswith("    ") and line.rstrip().endswith(":"):
            current = blocks.setdefault(line.strip()[:-1], [])
        elif line.startswith("    ") and current is not None:
            current.append(line.strip())
        elif line and not line.startswith(" "):
            break
    return blocks


def make_project(
    tmp_path: Path, bin_dir: str, emulator: Emulator, *, stack: str = "e2e", login: bool = True
) -> Project:
    path = tmp_path / "project"
    path.mkdir(parents=True, exist_ok=True)
    backend = tmp_path / "backend"
    backend.mkdir(exist_ok=True)
    (path / "Pulumi.yaml").write_text(
        "name: zomro-e2e\n"
        "runtime:\n"
        "  name: python\n"
        "  options:\n"
        f"    virtualenv: {Path(sys.executable).parent.parent}\n"
    )
    (path / "__main__.py").write_text(PROGRAM)
    project = Project(path=path, backend=backend, bin_dir=bin_dir, stack=stack)
    project.declare({})
    project.run("stack", "init", stack)
    # The settings in one CLI call, as `pulumi config set-all` lets a user do.
    settings = ["--plaintext", f"zomro:endpoint={emulator.url}"]
    if login:
        settings += ["--plaintext", "zomro:username=demo", "--secret", "zomro:password=demo"]
    project.run("config", "set-all", *settings)
    return project

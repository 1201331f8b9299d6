"""The built package works where a user installs it, with nothing from the checkout.

The sdist and wheel are built as `make dist` builds them (`python -m build`, the
wheel from the sdist, so a file the sdist forgot breaks the wheel too), unless
`ZOMRO_WHEEL` names a wheel already built.  Then, in a fresh directory: a new
Pulumi project (`Pulumi.yaml` whose `virtualenv` option names a venv made here,
holding the wheel and its `[emulator]` extra; `requirements.txt` naming the
wheel) runs `zomro-emulator --port 0` from that venv, and is taken through
`pulumi install`, `preview`, `up` and `destroy` on a file backend, credentials
from the environment.  The emulator's admin side shows the image Active after
`up` and gone after `destroy`.
"""

from __future__ import annotations

import email
import json
import os
import re
import shutil
import subprocess
import sys
import tarfile
import textwrap
import time
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

ROOT = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.e2e

PROGRAM = textwrap.dedent(
    """\
    import pulumi
    import zomro_pulumi as zomro

    img = zomro.Image(
        "packaged",
        image_name="PackagedUbuntu",
        region="Netherlands-2",
        url="https://releases.ubuntu.com/24.04/ubuntu-24.04-live-server-amd64.iso",
        disk_format="iso",
        os_distro="ubuntu",
        architecture="x86_64",
    )
    pulumi.export("image_id", img.image_id)
    pulumi.export("status", img.status)
    pulumi.export("module", zomro.__file__)
    """
)


def pulumi_bin() -> str:
    from harness import pulumi_bin as find

    return find()


@pytest.fixture(scope="module")
def dist(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    given = os.environ.get("ZOMRO_WHEEL")
    if given:
        return {"wheel": Path(given).resolve()}
    out = tmp_path_factory.mktemp("dist")
    subprocess.run(
        [sys.executable, "-m", "build", "--outdir", str(out), str(ROOT)],
        check=True,
        capture_output=True,
        timeout=600,
    )
    (wheel,) = out.glob("zomro_pulumi-*.whl")
    (sdist,) = out.glob("zomro_pulumi-*.tar.gz")
    return {"wheel": wheel, "sdist": sdist}


def test_wheel_carries_types_license_and_metadata(dist: dict[str, Path]) -> None:
    with zipfile.ZipFile(dist["wheel"]) as wheel:
        names = wheel.namelist()
        meta_name = next(n for n in names if n.endswith(".dist-info/METADATA"))
        meta = email.message_from_bytes(wheel.read(meta_name))
    assert "zomro_pulumi/py.typed" in names
    assert any(n.endswith(".dist-info/licenses/LICENSE") for n in names)
    assert not any(n.startswith(("tests/", "harness/", "benchmarks/")) for n in names)
    assert meta["License-Expression"] == "Apache-2.0"
    assert meta["Requires-Python"] == ">=3.10"
    requires = meta.get_all("Requires-Dist") or []
    assert any(re.fullmatch(r"pulumi<4\.0\.0,>=3\.\d+\.\d+|pulumi>=3\.\d+\.\d+,<4\.0\.0", r) for r in requires)
    assert "Typing :: Typed" in (meta.get_all("Classifier") or [])
    if "sdist" in dist:
        with tarfile.open(dist["sdist"]) as sdist:
            members = {Path(m).name for m in sdist.getnames()}
        assert {"LICENSE", "py.typed", "README.md", "pyproject.toml"} <= members


def venv_python(venv: Path) -> Path:
    return venv / "bin" / "python"


# The README's instructions hold for the lowest and the highest Python supported.
PYTHONS = ("3.10", "3.13")


def interpreter(version: str) -> Path:
    """A CPython of that version on this machine (pyenv's, or on PATH); a missing
    one fails the test rather than shrinking what it proves."""
    found = sorted(Path.home().glob(f".pyenv/versions/{version}.*/bin/python{version}"))
    found += [Path(p) for p in [shutil.which(f"python{version}")] if p]
    for candidate in found:
        done = subprocess.run(
            [str(candidate), "-c", "import sys; print('%d.%d' % sys.version_info[:2])"],
            capture_output=True, text=True, check=False,
        )
        if done.stdout.strip() == version:
            return candidate
    pytest.fail(f"no Python {version} on this machine (pyenv or PATH)")


@pytest.fixture(scope="module", params=PYTHONS)
def installed(
    request: pytest.FixtureRequest, dist: dict[str, Path], tmp_path_factory: pytest.TempPathFactory
) -> Path:
    """The user's project directory with a fresh venv (on each supported end of
    the Python range) holding the wheel and its emulator extra; nothing else of ours."""
    project = tmp_path_factory.mktemp(f"user-py{request.param}") / "project"
    venv = project / "venv"
    base = interpreter(request.param)
    subprocess.run([str(base), "-m", "venv", str(venv)], check=True, timeout=120)
    subprocess.run(
        [str(venv_python(venv)), "-m", "pip", "install", "--quiet", f"{dist['wheel']}[emulator]"],
        check=True,
        timeout=600,
        env={**os.environ, "PIP_DISABLE_PIP_VERSION_CHECK": "1"},
    )
    return project


@pytest.fixture
def emulator(installed: Path, tmp_path: Path) -> Iterator[str]:
    """`zomro-emulator --port 0` from the user's venv; yields its base URL."""
    log = tmp_path / "emulator.log"
    with log.open("w") as out:
        proc = subprocess.Popen(
            [str(installed / "venv" / "bin" / "zomro-emulator"), "--port", "0", "--activation-delay", "1",
             "--delete-delay", "0.3"],
            stdout=out,
            stderr=subprocess.STDOUT,
            cwd=tmp_path,
            env={"PATH": "/usr/bin:/bin"},
        )
    try:
        deadline = time.monotonic() + 30
        url = None
        while url is None and time.monotonic() < deadline and proc.poll() is None:
            found = re.search(r"listening on (http://\S+/)", log.read_text())
            url = found.group(1) if found else None
            time.sleep(0.1)
        assert url, f"zomro-emulator did not start:\n{log.read_text()}"
        yield url
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def admin_images(url: str) -> list[dict[str, Any]]:
    resp = requests.get(url + "_emulator/images", timeout=10)
    resp.raise_for_status()
    images: list[dict[str, Any]] = resp.json()
    return images


def test_a_fresh_project_installs_the_wheel_and_manages_an_image(
    dist: dict[str, Path], installed: Path, emulator: str, tmp_path: Path
) -> None:
    bin_dir = pulumi_bin()
    project = installed
    (project / "Pulumi.yaml").write_text(
        "name: packaged\n"
        "runtime:\n"
        "  name: python\n"
        "  options:\n"
        "    virtualenv: venv\n"
    )
    (project / "requirements.txt").write_text(f"{dist['wheel']}\n")
    (project / "__main__.py").write_text(PROGRAM)
    backend = tmp_path / "backend"
    backend.mkdir()
    # Only the CLI, the project's own venv (made with the Python under test), and the
    # system: not the checkout's .venv, not PYTHONPATH.
    env = {
        "PATH": os.pathsep.join([bin_dir, str(project / "venv" / "bin"), "/usr/bin", "/bin"]),
        "HOME": str(tmp_path / "home"),
        "PULUMI_HOME": str(tmp_path / "pulumi-home"),
        "PULUMI_BACKEND_URL": f"file://{backend}",
        "PULUMI_CONFIG_PASSPHRASE": "packaging-test",
        "PULUMI_SKIP_UPDATE_CHECK": "true",
        "PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION": "true",
        "PIP_DISABLE_PIP_VERSION_CHECK": "1",
        "ZOMRO_ENDPOINT": emulator,
        "ZOMRO_USERNAME": "demo",
        "ZOMRO_PASSWORD": "demo",
        "NO_COLOR": "1",
    }
    # pip's cache lives in HOME; keep using the machine's so installs stay offline-friendly.
    env["PIP_CACHE_DIR"] = os.environ.get("PIP_CACHE_DIR", str(Path.home() / ".cache" / "pip"))

    def pulumi(*args: str) -> str:
        done = subprocess.run(
            ["pulumi", *args, "--non-interactive", "--color", "never"],
            cwd=project, env=env, capture_output=True, text=True, timeout=600, check=False,
        )
        output = done.stdout + done.stderr
        assert done.returncode == 0, f"pulumi {' '.join(args)} exited {done.returncode}:\n{output[-6000:]}"
        assert "demo" not in output, "a credential reached the output"
        return output

    pulumi("install")
    assert (project / "venv" / "bin" / "python").exists()
    pulumi("stack", "init", "smoke")
    preview = pulumi("preview", "--diff", "--stack", "smoke")
    assert "+ pulumi-python:dynamic/zomro:Image: (create)" in preview, preview
    assert admin_images(emulator) == []  # a preview orders nothing

    pulumi("up", "--yes", "--stack", "smoke")
    images = admin_images(emulator)
    assert [(i["image_name"], i["status"]) for i in images] == [("PackagedUbuntu", "Active")]
    outputs = pulumi("stack", "output", "--json", "--stack", "smoke")
    assert f'"image_id": "{images[0]["id"]}"' in outputs
    assert str(project / "venv") in outputs and str(ROOT) not in outputs  # the installed wheel ran

    pulumi("destroy", "--yes", "--stack", "smoke")
    assert admin_images(emulator) == []


def test_the_wheel_puts_the_plugin_on_the_venvs_path(installed: Path, tmp_path: Path) -> None:
    """`pip install zomro-pulumi` gives `pulumi-resource-zomro`, which the CLI
    finds on PATH and which serves the checked-in schema."""
    plugin = installed / "venv" / "bin" / "pulumi-resource-zomro"
    assert plugin.is_file()
    env = {k: v for k, v in os.environ.items() if not k.startswith("PULUMI_")}
    env.update(PULUMI_HOME=str(tmp_path / "home"), PULUMI_SKIP_UPDATE_CHECK="true")
    cli = str(Path(pulumi_bin()) / "pulumi")
    done = subprocess.run([cli, "package", "get-schema", str(plugin)], cwd=tmp_path, env=env,
                          capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr
    schema = Path(__file__).resolve().parents[2] / "schema.json"
    assert json.loads(done.stdout) == json.loads(schema.read_text())

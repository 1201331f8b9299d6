"""The Python SDK (sdk/python, `pulumi_zomro`) imports, takes exactly the inputs
of the field table, and the example program type-checks against it with mypy;
a wrong type is refused naming the argument."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from zomro_pulumi.fields import INPUTS

ROOT = Path(__file__).resolve().parents[2]
SDK = ROOT / "sdk" / "python"
EXAMPLE = ROOT / "examples" / "python-sdk" / "__main__.py"


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """sdk/python installed as a user installs it (`pip install sdk/python`),
    into a folder of its own; its dependencies are this virtualenv's."""
    target = tmp_path_factory.mktemp("pulumi-zomro")
    source = tmp_path_factory.mktemp("sdk") / "python"
    shutil.copytree(SDK, source)  # setuptools builds in the source folder: not in the checkout
    done = subprocess.run(
        [sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--disable-pip-version-check",
         "--target", str(target), str(source)],
        capture_output=True, text=True, timeout=600, check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return target


def python(installed: Path, code: str) -> str:
    done = subprocess.run(
        [sys.executable, "-c", code], env={**os.environ, "PYTHONPATH": str(installed)},
        capture_output=True, text=True, timeout=120, check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return done.stdout


def mypy(program: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "mypy", "--no-incremental", "--config-file", "/dev/null", "--strict",
         "--follow-imports", "silent", str(program)],
        env={**os.environ, "MYPYPATH": str(SDK)}, capture_output=True, text=True, timeout=600, check=False,
    )


def test_the_installed_sdk_takes_exactly_the_inputs_of_the_field_table(installed: Path) -> None:
    said = python(
        installed,
        "import inspect, json, pulumi_zomro as z\n"
        "names = [n for n in inspect.signature(z.ImageArgs.__init__).parameters if not n.startswith('__')]\n"
        "print(json.dumps({'names': names, 'file': z.__file__, 'version': z._utilities.get_version()}))",
    )
    found = json.loads(said)
    assert found["file"].startswith(str(installed)) and found["version"] == "0.1.0"
    assert sorted(found["names"]) == sorted(f.name for f in INPUTS)


def test_the_example_type_checks_against_the_sdk() -> None:
    checked = mypy(EXAMPLE)
    assert checked.returncode == 0, checked.stdout[-3000:]


def test_a_wrongly_typed_argument_is_refused_naming_it(tmp_path: Path) -> None:
    program = tmp_path / "program.py"
    program.write_text(
        "import pulumi_zomro as zomro\n\n"
        "args = zomro.ImageArgs(image_name='a', region='Netherlands-2', url='https://example.com/a.iso',\n"
        "                       disk_format=3, os_distro='ubuntu', architecture='x86_64')\n"
        "zomro.Image('a', args)\n"
    )
    checked = mypy(program)
    assert checked.returncode != 0, checked.stdout
    assert 'Argument "disk_format" to "ImageArgs" has incompatible type "int"' in checked.stdout, checked.stdout

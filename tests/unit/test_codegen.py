"""`zomro-pulumi import`: the generated program compiles, passes ruff, declares
valid inputs under valid, unique, stable names, and the command only reads."""

from __future__ import annotations

import ast
import io
import keyword
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from zomro_pulumi import codegen
from zomro_pulumi.__main__ import main
from zomro_pulumi.fields import INPUTS, check_inputs
from zomro_pulumi.model import ImageRecord

from .conftest import FakeApi

UBUNTU = ImageRecord(
    id="5206258", image_name="Ubuntu24", region="Netherlands-2",
    url="https://releases.ubuntu.com/24.04/ubuntu-24.04-live-server-amd64.iso",
    disk_format="iso", os_distro="ubuntu", os_version="24", architecture="x86_64",
    min_disk=1, min_ram=2, protected=True, pricelist="6854", order_period=-50, status="Active",
)


def record(image_id: str, name: str, **fields: Any) -> ImageRecord:
    return ImageRecord(**{**UBUNTU.__dict__, "id": image_id, "image_name": name, **fields})


def declared(text: str) -> list[tuple[str, dict[str, Any], Any]]:
    """(resource name, keyword arguments, import id) of each `zomro.Image(...)`."""
    found = []
    for node in ast.walk(ast.parse(text)):
        if isinstance(node, ast.Call) and ast.unparse(node.func) == "zomro.Image":
            kwargs = {str(k.arg): ast.literal_eval(k.value) for k in node.keywords if k.arg != "opts"}
            opts = [k.value for k in node.keywords if k.arg == "opts"]
            import_id = None
            if opts:
                assert isinstance(opts[0], ast.Call)
                import_id = ast.literal_eval(opts[0].keywords[0].value)
            found.append((ast.literal_eval(node.args[0]), kwargs, import_id))
    return found


def ruff(text: str, tmp_path: Path) -> subprocess.CompletedProcess[str]:
    """ruff with its defaults, then with this project's rule families, as a user's
    project sees the file (`zomro_pulumi` is a third-party package there).  An
    image name may be in any script, so letters that look like Latin ones
    (RUF001) are the image's own."""
    program = tmp_path / "__main__.py"
    program.write_text(text)
    ruff = [str(Path(sys.executable).parent / "ruff"), "check", "--isolated", "--no-cache"]
    rules = ["--select", "E,F,W,I,B,UP,SIM,RUF", "--ignore", "RUF001", "--line-length", "100"]
    for extra in ([], rules):
        done = subprocess.run(
            [*ruff, *extra, str(program)], capture_output=True, text=True, check=False, cwd=tmp_path
        )
        if done.returncode:
            break
    return done


def test_the_program_compiles_passes_ruff_and_declares_valid_inputs(tmp_path: Path) -> None:
    records = [UBUNTU, record("5206260", "Ubuntu24", protected=False), record("5206259", "Debian 12")]
    text = codegen.program(records, account=None, where="https://api.zomro.com/")
    compile(text, "__main__.py", "exec")
    done = ruff(text, tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr
    images = declared(text)
    assert [name for name, _, _ in images] == ["ubuntu24", "ubuntu24_5206260", "debian_12"]
    for (_, kwargs, import_id), rec in zip(images, records):
        if codegen.TAKE_OVER_WITH_IMPORT:
            assert import_id == rec.id and "adopt_image_id" not in kwargs
        else:
            assert kwargs.pop("adopt_image_id") == rec.id
        reported = {f.name: f.live(rec) for f in INPUTS if f.live(rec) is not None}
        assert kwargs == reported
        checked = check_inputs(kwargs, lambda _value: False)
        assert checked.problems == []


def test_names_are_valid_unique_and_stable() -> None:
    names = ["Ubuntu 24.04 (old)", "ubuntu-24-04-old", "2024 backup", "class", "pulumi",
             "Zażółć gęślą", "", "…", "Ubuntu 24.04 (old)"]
    records = [record(str(5206258 + i), name) for i, name in enumerate(names)]
    result = codegen.resource_names(records)
    assert result == [
        "ubuntu_24_04_old", "ubuntu_24_04_old_5206259", "image_2024_backup", "class_image",
        "pulumi_image", "zazolc_gesla", "image", "image_5206265", "ubuntu_24_04_old_5206266",
    ]
    assert all(n.isidentifier() and not keyword.iskeyword(n) for n in result)
    assert codegen.resource_names(records) == result


def test_text_that_needs_escaping_and_what_the_api_does_not_report(tmp_path: Path) -> None:
    odd = record("7", 'say "hi" \\ \u2028 Łódź \ud800 Привет', url=None, os_version=None)
    text = codegen.program([odd], account="prod", where="https://api.zomro.com/")
    ((_, kwargs, _),) = declared(text)
    assert kwargs["image_name"] == 'say "hi" \\ \u2028 Łódź \ud800 Привет'
    assert "Łódź" in text and "\\u2028" in text
    assert "url" not in kwargs and "os_version" not in kwargs
    assert "# Not reported by the API, to be filled in: url." in text
    if "account" in {f.name for f in INPUTS}:
        assert kwargs["account"] == "prod"
    assert ruff(text, tmp_path).returncode == 0


def test_the_command_views_each_match_once_and_only_reads(
    api: FakeApi, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.chdir(tmp_path)  # not inside a Pulumi project
    wanted = api.add_image(fleio_status="Active", region="Netherlands-2", image_name="Ubuntu24")
    api.add_image(fleio_status="Active", region="Netherlands-1", image_name="Ubuntu24")
    api.add_image(fleio_status="Active", region="Netherlands-2", image_name="Debian")
    api.add_image(fleio_status="Saving", region="Netherlands-2", image_name="Ubuntu24-new")
    out, err = io.StringIO(), io.StringIO()
    monkeypatch.setattr("sys.stdout", out)
    monkeypatch.setattr("sys.stderr", err)
    assert main(["import", "--region", "netherlands-2", "--name", "Ubuntu24*"]) == 0
    ((name, kwargs, _),) = declared(out.getvalue())
    assert name == "ubuntu24" and kwargs["url"] == api.urls[wanted]
    assert "left out image" in err.getvalue() and "Saving, not Active" in err.getvalue()
    assert [c.get("elid") for c in api.views()] == [wanted]
    assert set(api.funcs()) == {"image", "image.edit"}
    assert not any("sok" in call for call in api.calls)


def test_an_image_the_provider_would_refuse_is_left_out_with_a_comment_saying_why(
    tmp_path: Path,
) -> None:
    bell = record("5206261", "bell\x07\nname")
    records = [UBUNTU, bell, record("5206262", "x" * 250)]
    assert codegen.refused(UBUNTU) == []
    text = codegen.program(records, account=None, where="https://api.zomro.com/")
    assert [import_id for _, _, import_id in declared(text)] == [UBUNTU.id]
    assert '# Left out: image 5206261 ("bell\\u0007\\nname")' in text
    assert "#   image_name must not contain control characters (found '\\x07' at position 4)" in text
    assert '("xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx…")' in text
    assert "#   image_name must be at most 235 characters, got 250" in text
    assert "\x07" not in text and ruff(text, tmp_path).returncode == 0

"""The README's input table is the field table: they cannot drift apart."""

from __future__ import annotations

import dataclasses
from pathlib import Path

from zomro_pulumi import ImageArgs
from zomro_pulumi.fields import INPUTS, OUTPUTS, Field

README = (Path(__file__).resolve().parents[2] / "README.md").read_text()


def row(f: Field) -> str:
    if f.required:
        need = "required"
    elif f.default is not None:
        need = f"default `{f.default!r}`".replace("'", '"')
    else:
        need = "optional"
    return f"| `{f.name}` | {need} | {f.change.value} | {f.doc} |"


def test_every_input_is_documented_with_its_change_kind() -> None:
    for field in INPUTS:
        assert row(field) in README, f"README input table is out of date for {field.name}"


def test_every_output_is_documented() -> None:
    for name in OUTPUTS:
        assert f"| `{name}` |" in README


def test_image_args_lists_exactly_the_table_inputs() -> None:
    required_first = sorted(INPUTS, key=lambda f: not f.required)
    assert [f.name for f in dataclasses.fields(ImageArgs)] == [f.name for f in required_first]

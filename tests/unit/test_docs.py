"""The README's input table is the field table: they cannot drift apart."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from zomro_pulumi import ImageArgs
from zomro_pulumi.fields import INPUTS, OUTPUT_TABLE, Field, Invalid

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


def test_every_output_is_documented_as_the_table_says() -> None:
    for output in OUTPUT_TABLE:
        assert f"| `{output.name}` | {output.doc} |" in README, output.name


def test_few_allowed_values_are_the_only_ones_parsed() -> None:
    for field in INPUTS:
        for value in field.choices:
            assert field.parse(value) == value
        if field.choices:
            with pytest.raises(Invalid):
                field.parse("not-one-of-them" if field.kind == "string" else 7)


def test_image_args_lists_exactly_the_table_inputs() -> None:
    required_first = sorted(INPUTS, key=lambda f: not f.required)
    assert [f.name for f in dataclasses.fields(ImageArgs)] == [f.name for f in required_first]

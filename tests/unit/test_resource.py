"""`zomro.Image` and `ImageArgs` stay in step with the field table, and both call
styles register the same inputs.

The docstrings and signatures in `resource.py` are written out for type checkers
and editors; these tests make the field table (`fields.INPUTS`) their one source.
"""

from __future__ import annotations

import ast
import asyncio
import dataclasses
import inspect
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Optional

import pulumi
import pytest

import zomro_pulumi as zomro
from zomro_pulumi import resource
from zomro_pulumi.fields import INPUTS, OUTPUTS, Field
from zomro_pulumi.model import ImageRecord

SOURCE = ast.parse(Path(resource.__file__).read_text())
REQUIRED_FIRST = sorted(INPUTS, key=lambda f: not f.required)


def class_node(name: str) -> ast.ClassDef:
    return next(n for n in SOURCE.body if isinstance(n, ast.ClassDef) and n.name == name)


def attribute_docs(cls: ast.ClassDef) -> dict[str, tuple[str, Optional[str]]]:
    """name -> (annotation source, docstring) for the annotated attributes of a class."""
    found: dict[str, tuple[str, Optional[str]]] = {}
    body = cls.body
    for i, node in enumerate(body):
        if isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
            doc = None
            nxt = body[i + 1] if i + 1 < len(body) else None
            if isinstance(nxt, ast.Expr) and isinstance(nxt.value, ast.Constant):
                doc = str(nxt.value.value)
            found[node.target.id] = (ast.unparse(node.annotation), doc)
    return found


def input_type(f: Field) -> str:
    """The Python type of an input: that of its default, text when it has none."""
    return type(f.default).__name__ if f.default is not None else "str"


def keyword_overload() -> ast.FunctionDef:
    overloads = [
        n
        for n in class_node("Image").body
        if isinstance(n, ast.FunctionDef)
        and n.name == "__init__"
        and any(ast.unparse(d) == "overload" for d in n.decorator_list)
    ]
    assert len(overloads) == 2
    return next(n for n in overloads if n.args.kwonlyargs)


def param_docs(func: ast.FunctionDef) -> dict[str, str]:
    text = ast.get_docstring(func) or ""
    return {
        m.group(1): " ".join(m.group(2).split())
        for m in re.finditer(r":param (\w+): (.*?)(?=\n\s*:param |\Z)", text, re.S)
    }


def test_image_args_has_the_required_inputs_first_without_defaults_and_the_table_docs() -> None:
    fields = attribute_docs(class_node("ImageArgs"))
    assert list(fields) == [f.name for f in REQUIRED_FIRST]
    for f in INPUTS:
        annotation, doc = fields[f.name]
        assert doc == f.doc, f"ImageArgs.{f.name} docstring differs from fields.INPUTS"
        expected = f"pulumi.Input[{input_type(f)}]"
        assert annotation == (expected if f.required else f"Optional[{expected}]")
    for dc_field in dataclasses.fields(zomro.ImageArgs):
        required = dc_field.default is dataclasses.MISSING
        assert required == next(f.required for f in INPUTS if f.name == dc_field.name)
        assert dc_field.kw_only


def test_image_attributes_document_every_input_and_output() -> None:
    attrs = attribute_docs(class_node("Image"))
    assert set(attrs) == {f.name for f in INPUTS} | set(OUTPUTS)
    for f in INPUTS:
        annotation, doc = attrs[f.name]
        assert doc == f.doc, f"Image.{f.name} docstring differs from fields.INPUTS"
        assert annotation.startswith("pulumi.Output[")
    for name in OUTPUTS:
        annotation, doc = attrs[name]
        assert doc, f"output {name} has no docstring"
        assert annotation.startswith("pulumi.Output[")


def test_keyword_overload_lists_every_input_with_its_type_and_doc() -> None:
    func = keyword_overload()
    names = [a.arg for a in func.args.kwonlyargs]
    assert names == [f.name for f in REQUIRED_FIRST]
    defaults = dict(zip(names, func.args.kw_defaults))
    for f in INPUTS:
        arg = next(a for a in func.args.kwonlyargs if a.arg == f.name)
        assert arg.annotation is not None
        expected = f"pulumi.Input[{input_type(f)}]"
        if f.required:
            assert defaults[f.name] is None, f"required {f.name} has a default"
            assert ast.unparse(arg.annotation) == expected
        else:
            default = defaults[f.name]
            assert default is not None and ast.unparse(default) == "None"
            assert ast.unparse(arg.annotation) == f"Optional[{expected}]"
    docs = param_docs(func)
    for f in INPUTS:
        assert docs[f.name] == f.doc, f":param {f.name} differs from fields.INPUTS"


def test_image_args_refuses_missing_required_inputs_at_run_time_too() -> None:
    with pytest.raises(TypeError, match="image_name"):
        zomro.ImageArgs(region="NL")  # type: ignore[call-arg]


# ---------------------------------------------------------------- at run time


class Mocks(pulumi.runtime.Mocks):
    def __init__(self) -> None:
        self.registered: list[pulumi.runtime.MockResourceArgs] = []

    def new_resource(self, args: pulumi.runtime.MockResourceArgs) -> tuple[Optional[str], dict[str, Any]]:
        self.registered.append(args)
        return (args.resource_id or "5206259", {**args.inputs, "status": "Active", "image_id": "5206259"})

    def call(self, args: pulumi.runtime.MockCallArgs) -> Any:
        raise AssertionError("no invokes expected")


@pytest.fixture
def mocks() -> Iterator[Mocks]:
    # The SDK makes its futures on the current event loop; give it one of its own.
    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    mocks = Mocks()
    pulumi.runtime.set_mocks(mocks, preview=False)
    try:
        yield mocks
    finally:
        loop.close()
        asyncio.set_event_loop_policy(None)  # back to a pristine policy for later tests


VALUES: dict[str, Any] = {
    "image_name": "Ubuntu24",
    "region": "Netherlands-2",
    "url": "https://releases.ubuntu.com/24.04/ubuntu-24.04-live-server-amd64.iso",
    "disk_format": "iso",
    "os_distro": "ubuntu",
    "architecture": "x86_64",
    "min_disk": 2,
}


def inputs_of(args: pulumi.runtime.MockResourceArgs) -> dict[str, Any]:
    return {k: v for k, v in args.inputs.items() if k != "__provider"}


@pulumi.runtime.test
def test_both_call_styles_register_the_same_inputs(mocks: Mocks) -> Any:
    by_keywords = zomro.Image("kw", **VALUES)
    by_args = zomro.Image("args", zomro.ImageArgs(**VALUES), pulumi.ResourceOptions(protect=False))

    def check(values: list[Any]) -> None:
        first, second = (inputs_of(a) for a in mocks.registered)
        assert first == second
        assert {k: first[k] for k in VALUES} == VALUES
        assert values == ["Active", "Active", "Ubuntu24"]

    return pulumi.Output.all(by_keywords.status, by_args.status, by_args.image_name).apply(check)


@pulumi.runtime.test
def test_unknown_keywords_still_reach_the_provider_check(mocks: Mocks) -> Any:
    img = zomro.Image("typo", **VALUES, imagename="x")  # type: ignore[call-overload]

    def check(_: Any) -> None:
        assert inputs_of(mocks.registered[0])["imagename"] == "x"

    return img.urn.apply(check)


def test_positional_mistakes_are_refused() -> None:
    with pytest.raises(TypeError, match="ResourceOptions"):
        zomro.Image("bad", zomro.ImageArgs(**VALUES), "opts")  # type: ignore[call-overload]
    with pytest.raises(TypeError, match="ImageArgs"):
        zomro.Image("bad", args={"image_name": "x"})  # type: ignore[call-overload]


@pulumi.runtime.test
def test_get_reads_by_id_without_inputs(mocks: Mocks) -> Any:
    img = zomro.Image.get("ro", "5206258")

    def check(_: Any) -> None:
        (read,) = mocks.registered
        assert read.resource_id == "5206258"
        assert all(v is None for v in inputs_of(read).values())

    return img.urn.apply(check)


RECORDS = [
    record
    for record in (
        ImageRecord.from_api({"id": {"$": "1"}, "image_name": {"$": "Ubuntu24"}}),
        ImageRecord.from_api({"id": {"$": "2"}, "image_name": {"$": "Debian12"}}),
    )
    if record is not None
]


@pulumi.runtime.test
def test_get_images_output_takes_outputs_and_resolves_to_a_typed_result(
    mocks: Mocks, monkeypatch: pytest.MonkeyPatch
) -> Any:
    seen: list[tuple[Optional[str], Optional[str], Optional[str]]] = []

    def fake_get_images(
        region: Optional[str] = None, image_name: Optional[str] = None, account: Optional[str] = None
    ) -> list[ImageRecord]:
        seen.append((region, image_name, account))
        return [r for r in RECORDS if image_name is None or r.image_name == image_name]

    assert len(RECORDS) == 2
    monkeypatch.setattr(resource, "get_images", fake_get_images)
    img = zomro.Image("kw", **VALUES)
    result = zomro.get_images_output(region="Netherlands-2", image_name=img.image_name, account="prod")

    def check(found: resource.GetImagesResult) -> None:
        assert isinstance(found, zomro.GetImagesResult)
        assert seen == [("Netherlands-2", "Ubuntu24", "prod")] and found.account == "prod"
        assert found.ids == ["1"] and found.image_name == "Ubuntu24"

    return result.apply(check)


def test_lookups_are_exported_in_both_styles() -> None:
    assert {"get_images", "get_images_output", "GetImagesResult"} <= set(zomro.__all__)
    params = inspect.signature(zomro.get_images_output).parameters
    assert list(params) == list(inspect.signature(zomro.get_images).parameters)

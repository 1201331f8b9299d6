"""The Pulumi package schema of the `zomro` provider plugin, written from the
field table and the settings: one source for the plugin, its SDKs and the
README, so that no second list of fields can drift.

`schema.json` at the top of the repository is this text, checked in (`make
schema` writes it; a test fails when it is stale).  Property names are
camelCase, as Pulumi schemas spell them (`image_name` is `imageName`);
`python_name` maps them back.
"""

from __future__ import annotations

import json
import re
from typing import Any

from .fields import INPUTS, OUTPUT_TABLE, Change, Field, Output
from .settings import (
    ACCOUNT_KEYS,
    ACCOUNTS_DOC,
    ACCOUNTS_KEY,
    CONFIG_DOCS,
    CONFIG_KEYS,
    SECRET_ATTRS,
)

PACKAGE = "zomro"
IMAGE = f"{PACKAGE}:index:Image"
IMAGE_INFO = f"{PACKAGE}:index:ImageInfo"
GET_IMAGES = f"{PACKAGE}:index:getImages"
REPOSITORY = "https://github.com/zomro-pulumi/zomro-pulumi"
# What the engine may report as always there once an image exists.
ALWAYS = ("image_id", "status")


def camel(name: str) -> str:
    """`image_name` -> `imageName`: a field's name in the schema."""
    head, *rest = name.split("_")
    return head + "".join(part[:1].upper() + part[1:] for part in rest)


def python_name(name: str) -> str:
    """`imageName` -> `image_name`: the field table's name of a schema property."""
    return re.sub(r"(?<=[a-z0-9])([A-Z])", lambda m: "_" + m.group(1).lower(), name)


def _input(field: Field) -> dict[str, Any]:
    prop: dict[str, Any] = {"type": field.kind, "description": field.doc}
    if field.default is not None:
        prop["default"] = field.default
    if field.change is Change.REPLACE:
        prop["replaceOnChanges"] = True
    return prop


def _output(output: Output) -> dict[str, Any]:
    return {"type": output.kind, "description": output.doc[:1].upper() + output.doc[1:] + "."}


def secret_config() -> frozenset[str]:
    """The provider's config keys that hold credentials: `accounts` holds some."""
    return frozenset(camel(CONFIG_KEYS[attr][0].split(":", 1)[1]) for attr in SECRET_ATTRS) | {
        ACCOUNTS_KEY.split(":", 1)[1]
    }


def _config() -> dict[str, Any]:
    """Provider configuration: `zomro:<key>` in the stack config."""
    variables: dict[str, Any] = {}
    for attr, (key, env) in CONFIG_KEYS.items():
        prop: dict[str, Any] = {
            "type": "integer" if attr == "max_concurrency" else "string",
            "description": f"{CONFIG_DOCS[attr]} Environment: `{env}`.",
        }
        if attr in SECRET_ATTRS:
            prop["secret"] = True
        variables[camel(key.split(":", 1)[1])] = prop
    variables[ACCOUNTS_KEY.split(":", 1)[1]] = {
        "type": "object",
        "additionalProperties": {"$ref": f"#/types/{PACKAGE}:index:Account"},
        "description": ACCOUNTS_DOC,
    }
    return variables


def _account_type() -> dict[str, Any]:
    """One entry of `zomro:accounts`."""
    properties: dict[str, Any] = {}
    for attr, (key, _suffix) in ACCOUNT_KEYS.items():
        properties[key] = {"type": "string", "description": CONFIG_DOCS[attr]}
        if attr in SECRET_ATTRS:
            properties[key]["secret"] = True
    return {"type": "object", "description": "One Zomro account of `zomro:accounts`.", "properties": properties}


def _image() -> dict[str, Any]:
    inputs = {camel(f.name): _input(f) for f in INPUTS}
    outputs = {camel(o.name): _output(o) for o in OUTPUT_TABLE}
    required_inputs = [camel(f.name) for f in INPUTS if f.required]
    return {
        "description": (
            "A Zomro Cloud VPS image: ordered through the Zomro API, waited on until Active, "
            "edited in place or replaced, refreshed, and deleted."
        ),
        "inputProperties": inputs,
        "requiredInputs": required_inputs,
        "properties": {**inputs, **outputs},
        "required": required_inputs + [camel(name) for name in ALWAYS],
    }


def _image_info() -> dict[str, Any]:
    """An image as a lookup reports it: what the API shows, nothing of a stack."""
    properties = {camel(f.name): {"type": f.kind, "description": f.doc} for f in INPUTS if f.form_key}
    properties.update({camel(o.name): _output(o) for o in OUTPUT_TABLE if o.attr})
    return {
        "type": "object",
        "description": "An image of the account, as the image list shows it.",
        "properties": properties,
        "required": [camel(name) for name in ALWAYS],
    }


def _get_images() -> dict[str, Any]:
    return {
        "description": "Images of the account, optionally filtered by region and exact name.",
        "inputs": {
            "properties": {
                "region": {"type": "string", "description": "Only images in this data centre (any letter case)."},
                "imageName": {"type": "string", "description": "Only images with exactly this name."},
                "account": {"type": "string", "description": "The account to look in (a key of `zomro:accounts`)."},
            },
        },
        "outputs": {
            "properties": {
                "images": {"type": "array", "items": {"$ref": f"#/types/{IMAGE_INFO}"}},
            },
            "required": ["images"],
        },
    }


def schema(version: str) -> dict[str, Any]:
    """The package schema, as the plugin's `GetSchema` serves it."""
    config = _config()
    return {
        "name": PACKAGE,
        "displayName": "Zomro",
        "version": version,
        "description": "Zomro Cloud VPS images as code.",
        "keywords": ["pulumi", "zomro", "category/cloud", "kind/native"],
        "homepage": REPOSITORY,
        "repository": REPOSITORY,
        "license": "Apache-2.0",
        "config": {"variables": config},
        "provider": {"description": "The Zomro provider: one account's settings.", "inputProperties": config},
        "types": {f"{PACKAGE}:index:Account": _account_type(), IMAGE_INFO: _image_info()},
        "resources": {IMAGE: _image()},
        "functions": {GET_IMAGES: _get_images()},
        # The generated SDKs (`make sdk`) name this version, so a program asks the
        # engine for the plugin it was written against.
        "language": {
            "python": {"packageName": "pulumi_zomro", "respectSchemaVersion": True, "pyproject": {"enabled": True}},
            "nodejs": {"packageName": "@zomro-pulumi/zomro", "respectSchemaVersion": True},
            "go": {
                "importBasePath": "github.com/zomro-pulumi/zomro-pulumi/sdk/go/zomro",
                "modulePath": "github.com/zomro-pulumi/zomro-pulumi/sdk/go",
                "respectSchemaVersion": True,
            },
        },
    }


def text(version: str) -> str:
    """`schema.json` as checked in: stable key order, a newline at the end."""
    return json.dumps(schema(version), indent=2, ensure_ascii=False) + "\n"


if __name__ == "__main__":
    from . import __version__

    print(text(__version__), end="")

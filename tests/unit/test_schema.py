"""The plugin's package schema is the field table: `schema.json` is what the
generator writes now, every input and output is in it as the table says, and
the plugin serves exactly that text."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import zomro_pulumi
from zomro_pulumi import schema
from zomro_pulumi.fields import INPUTS, OUTPUT_TABLE, Change
from zomro_pulumi.plugin import ZomroProvider
from zomro_pulumi.settings import CONFIG_KEYS, SECRET_ATTRS

CHECKED_IN = Path(__file__).resolve().parents[2] / "schema.json"


def test_the_checked_in_schema_is_what_the_field_table_writes() -> None:
    assert CHECKED_IN.read_text() == schema.text(zomro_pulumi.__version__), (
        "schema.json is stale: run `make schema` and commit it"
    )


def test_every_input_and_output_is_in_the_schema_as_the_table_says() -> None:
    image = schema.schema("0.0.0")["resources"][schema.IMAGE]
    inputs = image["inputProperties"]
    assert list(inputs) == [schema.camel(f.name) for f in INPUTS]
    for field in INPUTS:
        prop = inputs[schema.camel(field.name)]
        assert prop["type"] == field.kind and prop["description"] == field.doc
        assert prop.get("replaceOnChanges", False) is (field.change is Change.REPLACE)
        assert prop.get("default") == field.default
        assert schema.python_name(schema.camel(field.name)) == field.name
    assert image["requiredInputs"] == [schema.camel(f.name) for f in INPUTS if f.required]
    for output in OUTPUT_TABLE:
        prop = image["properties"][schema.camel(output.name)]
        assert prop["type"] == output.kind and output.doc[1:] in prop["description"]
        assert schema.python_name(schema.camel(output.name)) == output.name


def test_credentials_are_secrets_in_the_config_and_in_each_account() -> None:
    package = schema.schema("0.0.0")
    variables = package["config"]["variables"]
    secret = {name for name, prop in variables.items() if prop.get("secret")}
    assert secret == {schema.camel(CONFIG_KEYS[a][0].split(":")[1]) for a in SECRET_ATTRS}
    account = package["types"]["zomro:index:Account"]["properties"]
    assert {k for k, v in account.items() if v.get("secret")} == {"authToken", "password"}
    assert package["provider"]["inputProperties"] == variables


def test_the_plugin_serves_the_checked_in_schema() -> None:
    served = asyncio.run(ZomroProvider().get_schema(None))  # type: ignore[arg-type]
    assert served.schema == CHECKED_IN.read_text()
    assert json.loads(served.schema or "")["name"] == "zomro"

"""Settings: stack config over environment over defaults, several accounts
(`zomro:accounts`, `ZOMRO_<NAME>_*`), where each value came from, and no
credential in any repr or error text."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Optional

import pytest
from pulumi.dynamic.config import Config as DynamicConfig

from zomro_pulumi.errors import ConfigError
from zomro_pulumi.settings import (
    DEFAULT,
    Place,
    ProviderSettings,
    Source,
    env_name,
    find_project,
    known_accounts,
)

# As the provider process gets the stack config: every key in full, a structured
# value as the JSON text of the whole object, secret leaves decrypted.
ACCOUNTS = {
    "prod": {"endpoint": "https://prod.example.com/", "username": "ops", "password": "pr0d-Secret"},
    "my-test": {"authToken": "t0ken-of-test"},
}


def getter(values: dict[str, Any]) -> Any:
    """The provider's config getter (`ConfigureRequest.config.get`), built by the SDK."""
    return DynamicConfig(raw_config=values, project_name="proj").get


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("ZOMRO_ENDPOINT")
    monkeypatch.delenv("ZOMRO_AUTH_TOKEN")


def test_without_an_account_exactly_the_default_keys(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ZOMRO_PASSWORD", "env-Password")
    monkeypatch.setenv("ZOMRO_USERNAME", "env-user")
    config = getter({"zomro:username": "cfg-user", "zomro:maxConcurrency": "8",
                     "zomro:accounts": json.dumps(ACCOUNTS)})
    settings = ProviderSettings.load(config)
    assert (settings.username, settings.password, settings.max_concurrency) == (
        "cfg-user", "env-Password", 8
    )
    assert settings.endpoint == "https://api.zomro.com/" and settings.account is None
    assert settings.source("username") == Source("stack config", "zomro:username")
    assert str(settings.source("password")) == "environment ZOMRO_PASSWORD"
    assert settings.source("endpoint") is DEFAULT and str(DEFAULT) == "default"
    assert settings.origin("token") == "zomro:authToken"  # unset: the key to set


def test_an_account_from_the_structured_stack_config(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ZOMRO_PROD_PASSWORD", "env-Password")  # stack config wins
    monkeypatch.setenv("ZOMRO_USERNAME", "global-user")  # never mixed into an account
    config = getter({"zomro:accounts": json.dumps(ACCOUNTS), "zomro:endpoint": "https://x/",
                     "zomro:maxConcurrency": "6", "zomro:trace": "/tmp/t.jsonl"})
    settings = ProviderSettings.load(config, account="prod")
    assert (settings.endpoint, settings.username, settings.password, settings.token) == (
        "https://prod.example.com/", "ops", "pr0d-Secret", None
    )
    assert (settings.max_concurrency, settings.trace) == (6, "/tmp/t.jsonl")  # global
    assert settings.origin("password") == "stack config zomro:accounts.prod.password"
    assert settings.config_key("token") == "zomro:accounts.prod.authToken"
    assert settings.env_key("token") == "ZOMRO_PROD_AUTH_TOKEN"
    assert settings.origin("trace") == "stack config zomro:trace"


def test_an_account_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ZOMRO_MY_TEST_ENDPOINT", "https://test.example.com/")
    monkeypatch.setenv("ZOMRO_MY_TEST_AUTH_TOKEN", "env-t0ken")
    settings = ProviderSettings.load(getter({}), account="my-test")
    assert (settings.endpoint, settings.token) == ("https://test.example.com/", "env-t0ken")
    assert settings.origin("token") == "environment ZOMRO_MY_TEST_AUTH_TOKEN"
    assert settings.problem() is None
    assert env_name("my-test") == "MY_TEST" and env_name("a.b c") == "A_B_C"


def test_an_account_falls_back_to_the_default_endpoint_not_the_global_one() -> None:
    config = getter({"zomro:accounts": json.dumps(ACCOUNTS), "zomro:endpoint": "https://x/"})
    settings = ProviderSettings.load(config, account="my-test")
    assert settings.endpoint == "https://api.zomro.com/" and settings.token == "t0ken-of-test"


@pytest.mark.parametrize("shape", ["json text", "object"])
def test_the_accounts_object_as_text_or_as_a_dict(shape: str) -> None:
    value = json.dumps(ACCOUNTS) if shape == "json text" else ACCOUNTS
    settings = ProviderSettings.load({"zomro:accounts": value}.get, account="prod")
    assert settings.username == "ops"


def test_an_unknown_account_names_the_known_ones(monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(ConfigError, match="no accounts are configured"):
        ProviderSettings.load(getter({}), account="prod-2")
    monkeypatch.setenv("ZOMRO_STAGING_USERNAME", "st")
    monkeypatch.setenv("ZOMRO_PROD_PASSWORD", "dup")  # the same account as zomro:accounts.prod
    config = getter({"zomro:accounts": json.dumps(ACCOUNTS)})
    assert known_accounts(config) == ["prod", "my-test", "staging"]
    with pytest.raises(ConfigError) as caught:
        ProviderSettings.load(config, account="prd")
    assert caught.value.message == (
        "unknown Zomro account 'prd': no zomro:accounts.prd in the stack config and no "
        "ZOMRO_PRD_* variable; known accounts: prod, my-test, staging"
    )


def test_known_accounts_ignores_the_global_variables(monkeypatch: pytest.MonkeyPatch) -> None:
    for key in ("ZOMRO_ENDPOINT", "ZOMRO_AUTH_TOKEN", "ZOMRO_USERNAME", "ZOMRO_PASSWORD",
                "ZOMRO_MAX_CONCURRENCY", "ZOMRO_TRACE"):
        monkeypatch.setenv(key, "x")
    assert known_accounts(None) == []


@pytest.mark.parametrize(
    ("value", "says"),
    [
        ("not json {", "must be an object of accounts"),
        ("[1]", "must be an object of accounts"),
        (json.dumps({"prod": "pr0d-Secret"}), "zomro:accounts.prod must be an object"),
        (json.dumps({"prod": {"pasword": "pr0d-Secret"}}), "unknown key(s) pasword; allowed"),
    ],
)
def test_a_malformed_accounts_object_is_named_never_quoted(value: str, says: str) -> None:
    with pytest.raises(ConfigError) as caught:
        ProviderSettings.load(getter({"zomro:accounts": value}), account="prod")
    assert says in caught.value.message
    assert "pr0d-Secret" not in str(caught.value)


def test_missing_credentials_of_an_account_name_its_keys() -> None:
    config = getter({"zomro:accounts": json.dumps({"prod": {"username": "ops"}})})
    problem = ProviderSettings.load(config, account="prod").problem()
    assert problem is not None
    key, message = problem
    assert key == "zomro:accounts.prod.authToken"
    assert "for account 'prod'" in message and "zomro:accounts.prod.password" in message
    assert "ZOMRO_PROD_USERNAME and ZOMRO_PROD_PASSWORD" in message


def test_no_credential_in_repr_or_sources(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ZOMRO_PROD_AUTH_TOKEN", "env-t0ken-value")
    settings = ProviderSettings.load(getter({"zomro:accounts": json.dumps(ACCOUNTS)}), account="prod")
    settings = settings.override(Source("flag", "--token"), token="flag-t0ken-value")
    text = repr(settings) + str(settings)
    for secret in ("pr0d-Secret", "env-t0ken-value", "flag-t0ken-value"):
        assert secret not in text
    assert settings.origin("token") == "flag --token" and settings.token == "flag-t0ken-value"


def test_override_ignores_flags_not_given() -> None:
    settings = ProviderSettings(username="u").override(Source("flag", "--username"), username=None)
    assert settings.username == "u" and settings.source("username") is DEFAULT


def test_sources_do_not_make_settings_differ() -> None:
    """The provider rebuilds its client only when a value changes."""
    assert ProviderSettings(username="u", sources={"username": Source("environment", "X")}) == (
        ProviderSettings(username="u")
    )


def test_find_project_looks_upwards(tmp_path: Path) -> None:
    (tmp_path / "Pulumi.yaml").write_text("name: p\n")
    deep = tmp_path / "a" / "b"
    deep.mkdir(parents=True)
    found: Optional[Path] = find_project(deep)
    assert found == tmp_path.resolve()
    assert find_project(Path("/")) is None


def test_an_explicit_providers_settings_are_named_as_its_arguments(monkeypatch: pytest.MonkeyPatch) -> None:
    """A message about a `pulumi:providers:zomro` resource's settings names its
    argument, which the user wrote, not a stack config key nobody set."""
    config = {"zomro:endpoint": "https://api.example", "zomro:password": "pw", "zomro:username": "u"}
    for key in ("ZOMRO_PASSWORD", "ZOMRO_USERNAME", "ZOMRO_ENDPOINT"):
        monkeypatch.delenv(key, raising=False)
    explicit = ProviderSettings.load(config.get, place=Place("other"))
    assert explicit.origin("password") == "argument password"
    assert Place("other").default_account == "provider 'other'"
    default = ProviderSettings.load(config.get)
    assert default.origin("password") == "stack config zomro:password"
    assert Place().default_account == "the default Zomro account"

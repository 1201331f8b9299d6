"""Several Zomro accounts in one YAML program through the provider plugin: the
`zomro:accounts` stack config with each image's `account`, and explicit
`pulumi:providers:zomro` resources; credentials are tried once per provider at
preview, and a refused one is named in one line."""

from __future__ import annotations

import json
import re

from harness import UBUNTU, Emulator, Project
from harness.yaml import ids, image, write_resources


def test_images_in_two_accounts_through_the_stack_config(
    yaml_project: Project, emulator: Emulator, second: Emulator
) -> None:
    project = yaml_project
    project.run("config", "set", "--path", "zomro:accounts.prod.endpoint", second.url)
    project.run("config", "set", "--path", "zomro:accounts.prod.username", "demo")
    project.run("config", "set", "--secret", "--path", "zomro:accounts.prod.password", "demo")
    write_resources(project.path, {"home": image(UBUNTU), "away": image({**UBUNTU, "account": "prod"})})
    project.up()
    (home,) = emulator.images()
    (away,) = second.images()
    assert ids(project) == {"home": str(home["id"]), "away": str(away["id"])}

    emulator.reset_stats()
    second.reset_stats()
    preview = project.preview()  # unchanged: one login per account, nothing about images
    assert "to update" not in preview.stdout and "to create" not in preview.stdout, preview.stdout
    assert emulator.counts() == {"auth": 1} and second.counts() == {"auth": 1}

    project.run("config", "set", "--secret", "zomro:password", "not-the-password")
    emulator.reset_stats()
    refused = project.preview(check=False)
    lines = [x for x in refused.output.splitlines() if "refused the credentials" in x]
    assert len(lines) == 1 and "the default Zomro account (stack config zomro:password)" in lines[0], lines
    assert emulator.counts() == {"auth": 1}
    project.run("config", "set", "--secret", "zomro:password", "demo")

    write_resources(project.path, {"home": image({**UBUNTU, "account": "staging"})})
    unknown = project.preview(check=False)
    (line,) = [x for x in unknown.output.splitlines() if "unknown Zomro account 'staging'" in x]
    assert "prod" in line
    project.run("destroy", "--yes", "--skip-preview")
    assert emulator.images() == [] and second.images() == []


def test_an_explicit_provider_resource_manages_another_account(
    yaml_project: Project, emulator: Emulator, second: Emulator
) -> None:
    project = yaml_project
    other = {
        "type": "pulumi:providers:zomro",
        "properties": {"endpoint": second.url, "username": "demo", "password": "${otherPassword}"},
    }
    config = {"otherPassword": {"type": "string", "secret": True}}
    project.run("config", "set", "--secret", "otherPassword", "demo")
    # A second provider whose password is written in the program in clear.
    clear = {"type": "pulumi:providers:zomro", "properties": {"endpoint": second.url, "username": "demo",
                                                               "password": "demo"}}
    away_args = image(UBUNTU, {"provider": "${other}"})
    write_resources(project.path, {"other": other, "clear": clear, "home": image(UBUNTU), "away": away_args}, config)
    project.up()
    (home,) = emulator.images()
    (away,) = second.images()
    assert ids(project) == {"home": str(home["id"]), "away": str(away["id"])}
    raw = json.loads(project.run("stack", "export").stdout)["deployment"]["resources"]
    providers = {r["urn"].rsplit("::", 1)[1]: r for r in raw if r["type"] == "pulumi:providers:zomro"}
    for name in ("other", "clear"):
        for where in ("inputs", "outputs"):
            password = providers[name][where]["password"]
            assert isinstance(password, dict) and "ciphertext" in password, (name, where, password)
    assert "demo" not in json.dumps(providers["clear"]["inputs"]).replace('"username": "demo"', "")
    write_resources(project.path, {"other": other, "home": image(UBUNTU), "away": away_args}, config)

    emulator.reset_stats()
    second.reset_stats()
    preview = project.preview()
    assert "to update" not in preview.stdout and "to create" not in preview.stdout, preview.stdout
    assert emulator.counts() == {"auth": 1} and second.counts() == {"auth": 1}

    # The explicit provider's password is wrong: the preview fails in one line
    # naming that provider's setting, and nothing is sent but the one login.
    project.run("config", "set", "--secret", "otherPassword", "not-the-password")
    second.reset_stats()
    refused = project.preview(check=False)
    assert refused.returncode != 0
    lines = [x for x in refused.output.splitlines() if "refused the credentials" in x]
    assert len(lines) == 1 and "provider 'other' (argument password)" in lines[0], refused.output
    assert not re.search(r"File \"|Traceback", refused.output), refused.output
    assert second.counts() == {"auth": 1} and len(second.images()) == 1

    project.run("config", "set", "--secret", "otherPassword", "demo")
    project.run("destroy", "--yes", "--skip-preview")
    assert emulator.images() == [] and second.images() == []

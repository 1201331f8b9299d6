"""Several images whose inputs come from each other's outputs and from config."""

import pulumi

import zomro_pulumi as zomro

config = pulumi.Config()
region = config.get("region") or "Netherlands-2"
versions = config.get_object("ubuntuVersions") or ["22", "24"]

base = zomro.Image(
    "base",
    zomro.ImageArgs(
        image_name="base-debian12",
        region=region,
        url="https://cloud.debian.org/images/cloud/bookworm/latest/debian-12-generic-amd64.qcow2",
        disk_format="qcow2",
        os_distro="debian",
        os_version="12",
        architecture="x86_64",
        min_disk=2,
    ),
)

ubuntus = [
    zomro.Image(
        f"ubuntu-{v}",
        image_name=base.image_id.apply(lambda base_id, v=v: f"ubuntu{v}-after-{base_id}"),
        region=base.region,  # same data centre as the base image
        url=f"https://releases.ubuntu.com/{v}.04/ubuntu-{v}.04-live-server-amd64.iso",
        disk_format="iso",
        os_distro="ubuntu",
        os_version=v,
        architecture=base.architecture,
        min_disk=base.min_disk,  # at least as large as the base requirement
        min_ram=2,
    )
    for v in versions
]

pulumi.export("base", {"id": base.image_id, "status": base.status})
pulumi.export("ubuntu", [{"name": img.image_name, "id": img.image_id} for img in ubuntus])
pulumi.export("all_ids", pulumi.Output.all(base.image_id, *[i.image_id for i in ubuntus]))

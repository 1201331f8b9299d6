"""One Zomro image from Python through the provider plugin and the generated SDK
(`pulumi_zomro`, in sdk/python), as a program in any other language manages it.
`zomro_pulumi.Image`, the dynamic provider, does the same without a plugin."""

import pulumi
import pulumi_zomro as zomro

config = pulumi.Config()

image = zomro.Image(
    "ubuntu",
    image_name=config.get("imageName") or "Ubuntu24",
    region=config.get("region") or "Netherlands-2",
    url="https://releases.ubuntu.com/24.04/ubuntu-24.04-live-server-amd64.iso",
    disk_format="iso",
    os_distro="ubuntu",
    os_version="24",
    architecture="x86_64",
    min_ram=config.get_int("minRam"),
)

pulumi.export("image_id", image.image_id)
pulumi.export("status", image.status)

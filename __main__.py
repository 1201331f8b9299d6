"""Two images: an Ubuntu ISO and a Debian cloud image that reuses its region."""

import pulumi

import zomro_pulumi as zomro

ubuntu = zomro.Image(
    "ubuntu-24",
    image_name="Ubuntu24",
    region="Netherlands-2",
    url="https://releases.ubuntu.com/24.04/ubuntu-24.04-live-server-amd64.iso",
    disk_format="iso",
    os_distro="ubuntu",
    os_version="24",
    architecture="x86_64",
    min_disk=1,
    min_ram=1,
)

debian = zomro.Image(
    "debian-12",
    zomro.ImageArgs(
        image_name="Debian12-cloud",
        region=ubuntu.region,  # outputs feed inputs like any Pulumi resource
        url="https://cloud.debian.org/images/cloud/bookworm/latest/debian-12-generic-amd64.qcow2",
        disk_format="qcow2",
        os_distro="debian",
        os_version="12",
        architecture="x86_64",
        min_disk=2,
        min_ram=1,
    ),
)

pulumi.export("ubuntu_image_id", ubuntu.image_id)
pulumi.export("ubuntu_status", ubuntu.status)
pulumi.export("debian_image_id", debian.image_id)
pulumi.export("debian_status", debian.status)

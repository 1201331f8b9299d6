"""One image, every input spelled out, and its outputs exported."""

import pulumi

import zomro_pulumi as zomro

image = zomro.Image(
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
    protected=False,  # True blocks deletion, and `pulumi destroy` with it
    pricelist="6854",
    order_period=-50,
    create_timeout=1800,
)

pulumi.export("image_id", image.image_id)
pulumi.export("status", image.status)
pulumi.export("size_gb", image.image_size)
pulumi.export("cost", image.cost)

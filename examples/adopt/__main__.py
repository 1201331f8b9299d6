"""Take over images that already exist, read one without managing it, and look some up.

Dynamic providers cannot use `pulumi import`, so `adopt_image_id` does the job:
the first `pulumi up` checks that the fields that cannot be edited match, edits
the ones that can, and from then on the image is managed like any other.

    pulumi config set existingImageId 5206258     # an image made in the panel
    pulumi config set readOnlyImageId 5206259     # one to read but never change
"""

import pulumi

import zomro_pulumi as zomro

config = pulumi.Config()

adopted = zomro.Image(
    "adopted",
    image_name="Ubuntu24",
    region="Netherlands-2",
    url="https://releases.ubuntu.com/24.04/ubuntu-24.04-live-server-amd64.iso",
    disk_format="iso",
    os_distro="ubuntu",
    os_version="24",
    architecture="x86_64",
    adopt_image_id=config.require("existingImageId"),
)

# Read-only: refreshed on every run, never edited or deleted by this stack.
existing = zomro.Image.get("read-only", config.require("readOnlyImageId"))

# A plain lookup when the program runs (previews too).
same_region = zomro.get_images(region="Netherlands-2")

pulumi.export("adopted_id", adopted.image_id)
pulumi.export("read_only_name", existing.image_name)
pulumi.export("images_in_region", [r.id for r in same_region])

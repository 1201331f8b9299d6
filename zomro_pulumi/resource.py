"""The public resource: `zomro.Image`, its `ImageArgs`, and lookups.

Shaped like Pulumi's generated SDKs (an args class, typed `Output` properties)
so it reads like any other provider; the work is done by `ImageProvider`.
"""

from __future__ import annotations

import dataclasses
from typing import Any, Optional, overload

import pulumi
from pulumi import dynamic

from .fields import OUTPUTS
from .model import ImageRecord
from .provider import ImageProvider
from .settings import ProviderSettings

__all__ = ["Image", "ImageArgs", "get_images"]


@dataclasses.dataclass
class ImageArgs:
    """Inputs of `zomro.Image`.  Every field may be a plain value or a Pulumi `Input`.

    Required: `image_name`, `region`, `url`, `disk_format`, `os_distro`,
    `architecture`.  The provider checks every value before anything is sent
    (see the README's field table for which changes edit in place and which
    replace the image).
    """

    image_name: Optional[pulumi.Input[str]] = None
    """Name of the image as shown in the panel (edited in place)."""
    region: Optional[pulumi.Input[str]] = None
    """Data centre storing the image, e.g. `Netherlands-2` (replaces)."""
    url: Optional[pulumi.Input[str]] = None
    """Direct http(s) link to the image file (replaces)."""
    disk_format: Optional[pulumi.Input[str]] = None
    """One of iso, ami, ari, aki, vhd, vmdk, raw, qcow2, vdi (replaces)."""
    os_distro: Optional[pulumi.Input[str]] = None
    """Operating system name, e.g. `ubuntu` (edited in place)."""
    os_version: Optional[pulumi.Input[str]] = None
    """Operating system version, e.g. `24` (edited in place)."""
    architecture: Optional[pulumi.Input[str]] = None
    """One of x86_64, i686, ia64 (edited in place)."""
    min_disk: Optional[pulumi.Input[int]] = None
    """Minimum instance disk in GB; default 1 (edited in place)."""
    min_ram: Optional[pulumi.Input[int]] = None
    """Minimum instance RAM in GB; default 1 (edited in place)."""
    protected: Optional[pulumi.Input[bool]] = None
    """Block deletion while true; default false (edited in place)."""
    pricelist: Optional[pulumi.Input[str]] = None
    """Tariff id of the image service; default `6854` (replaces)."""
    order_period: Optional[pulumi.Input[int]] = None
    """Billing period; images are billed daily: -50, the default (replaces)."""
    create_timeout: Optional[pulumi.Input[int]] = None
    """Seconds to wait for Active before the new image is deleted and create fails; default 1800."""
    adopt_image_id: Optional[pulumi.Input[str]] = None
    """Id of an existing image to manage instead of ordering a new one."""

    def to_props(self) -> dict[str, Any]:
        return {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}


class Image(dynamic.Resource, module="zomro", name="Image"):
    """A Zomro Cloud VPS image, ordered through the API and waited on until Active.

    The Pulumi id is the API's image id (`elid`), also exported as `image_id`.
    """

    image_name: pulumi.Output[str]
    region: pulumi.Output[str]
    url: pulumi.Output[str]
    disk_format: pulumi.Output[str]
    os_distro: pulumi.Output[str]
    architecture: pulumi.Output[str]
    min_disk: pulumi.Output[int]
    min_ram: pulumi.Output[int]
    os_version: pulumi.Output[Optional[str]]
    protected: pulumi.Output[bool]
    pricelist: pulumi.Output[str]
    order_period: pulumi.Output[int]
    create_timeout: pulumi.Output[int]
    adopt_image_id: pulumi.Output[Optional[str]]
    image_id: pulumi.Output[str]
    """The API's id of the image (`elid`); the same as the resource id."""
    status: pulumi.Output[str]
    """The image's status as the API lists it (`fleio_status`), e.g. `Active`."""
    image_size: pulumi.Output[Optional[int]]
    """Size of the stored image in GB, as listed."""
    cost: pulumi.Output[Optional[str]]
    """Price label, e.g. `0.00 EUR / Day`."""
    visibility: pulumi.Output[Optional[str]]
    """`Private` for images of this account."""
    fleio_id: pulumi.Output[Optional[str]]
    """The image's UUID in the cloud platform (Fleio/OpenStack)."""
    created: pulumi.Output[Optional[str]]
    """Date the image was ordered."""

    @overload
    def __init__(
        self, resource_name: str, args: ImageArgs, opts: Optional[pulumi.ResourceOptions] = None
    ) -> None: ...

    @overload
    def __init__(
        self,
        resource_name: str,
        args: None = None,
        opts: Optional[pulumi.ResourceOptions] = None,
        **kwargs: Any,
    ) -> None: ...

    def __init__(
        self,
        resource_name: str,
        args: Optional[ImageArgs] = None,
        opts: Optional[pulumi.ResourceOptions] = None,
        **kwargs: Any,
    ) -> None:
        props = (args or ImageArgs()).to_props()
        # Keys that are not ImageArgs fields go through too, so the provider's
        # check names them ("unknown property ...") at preview, before any call.
        props.update(kwargs)
        for name in OUTPUTS:
            props.setdefault(name, None)
        super().__init__(ImageProvider(), resource_name, props, opts)

    @staticmethod
    def get(
        resource_name: str, id: pulumi.Input[str], opts: Optional[pulumi.ResourceOptions] = None
    ) -> Image:
        """Read an existing image by id without managing it (`pulumi destroy` leaves it)."""
        merged = pulumi.ResourceOptions.merge(opts, pulumi.ResourceOptions(id=id))
        return Image(resource_name, ImageArgs(), merged)


def get_images(region: Optional[str] = None, image_name: Optional[str] = None) -> list[ImageRecord]:
    """Images of the account, optionally filtered by region and exact name.

    A plain function for lookups in programs (it calls the API when the program
    runs, previews included); uses the same settings as the provider.
    """
    config = pulumi.Config("zomro")
    settings = ProviderSettings.load(
        lambda key: config.get(key.split(":", 1)[1]) if key.startswith("zomro:") else None
    )
    client = settings.client()
    try:
        records = client.list_images(max_age=0)
    finally:
        client.close()
    return [
        r
        for r in records
        if (region is None or (r.region or "").casefold() == region.casefold())
        and (image_name is None or r.image_name == image_name)
    ]

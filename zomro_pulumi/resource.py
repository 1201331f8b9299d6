"""The public resource: `zomro.Image`, its `ImageArgs`, and lookups.

Shaped like Pulumi's generated SDKs (an args class with the required inputs
first, typed overloads for both call styles, typed `Output` properties, and
lookups as a plain function and as an `Output`) so that a type checker catches a
misspelt or missing input before `pulumi preview` runs.  The work is done by
`ImageProvider`.

The docstrings of the inputs are written out because type checkers and editors
read them from the source; `tests/unit/test_resource.py` keeps each equal to
its field's `doc` in `fields.INPUTS`, the one table the provider checks against.
"""

from __future__ import annotations

import copy
import dataclasses
import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Optional, cast, overload

import pulumi
import yaml
from pulumi import dynamic
from pulumi.output import UNKNOWN

from .fields import INPUTS, OUTPUTS
from .model import ImageRecord, selected
from .provider import ImageProvider
from .settings import ACCOUNTS_KEY, ProviderSettings

__all__ = ["GetImagesResult", "Image", "ImageArgs", "get_images", "get_images_output"]


@dataclasses.dataclass(kw_only=True)
class ImageArgs:
    """Inputs of `zomro.Image`; every one may be a plain value or a Pulumi `Input`.

    The provider checks every value before anything is sent; which change edits
    the image in place and which replaces it is in the README's input table.
    """

    image_name: pulumi.Input[str]
    """Name of the image as shown in the panel."""
    region: pulumi.Input[str]
    """Data centre that stores the image, e.g. `Netherlands-2`."""
    url: pulumi.Input[str]
    """Direct http(s) link to the image file the API downloads."""
    disk_format: pulumi.Input[str]
    """Image file format: one of iso, ami, ari, aki, vhd, vmdk, raw, qcow2, vdi."""
    os_distro: pulumi.Input[str]
    """Operating system name, e.g. `ubuntu` (listed back as `Ubuntu`)."""
    architecture: pulumi.Input[str]
    """CPU architecture: one of x86_64, i686, ia64."""
    os_version: Optional[pulumi.Input[str]] = None
    """Operating system version, e.g. `24`."""
    min_disk: Optional[pulumi.Input[int]] = None
    """Minimum instance disk in GB (whole number >= 1)."""
    min_ram: Optional[pulumi.Input[int]] = None
    """Minimum instance RAM in GB (whole number >= 1)."""
    protected: Optional[pulumi.Input[bool]] = None
    """Blocks deletion while true (also blocks `pulumi destroy`)."""
    pricelist: Optional[pulumi.Input[str]] = None
    """Id of the image tariff (price list)."""
    order_period: Optional[pulumi.Input[int]] = None
    """Billing period; images are billed daily, which the API calls -50."""
    create_timeout: Optional[pulumi.Input[int]] = None
    """Seconds to wait for a new image to become Active before it is deleted and the create fails."""
    adopt_image_id: Optional[pulumi.Input[str]] = None
    """Id of an existing image to take over instead of ordering a new one."""
    account: Optional[pulumi.Input[str]] = None
    """Name of the Zomro account (a key of `zomro:accounts`) that holds the image; absent: the default settings."""

    def to_props(self) -> dict[str, Any]:
        """The inputs by name, unset ones as None (the provider fills in defaults)."""
        return {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}


def _split_args(
    args: tuple[Any, ...], kwargs: dict[str, Any]
) -> tuple[Optional[ImageArgs], Optional[pulumi.ResourceOptions], dict[str, Any]]:
    """(ImageArgs, ResourceOptions, remaining keyword inputs) from either call style."""
    positional = list(args)
    image_args = kwargs.pop("args", None)
    opts = kwargs.pop("opts", None)
    if positional and (positional[0] is None or isinstance(positional[0], ImageArgs)):
        image_args = positional.pop(0) or image_args
    if positional:
        opts = positional.pop(0)
    if positional:
        raise TypeError("zomro.Image takes (resource_name, args, opts) or keyword inputs")
    if image_args is not None and not isinstance(image_args, ImageArgs):
        raise TypeError(f"args must be a zomro.ImageArgs, got {type(image_args).__name__}")
    if opts is not None and not isinstance(opts, pulumi.ResourceOptions):
        raise TypeError(f"opts must be a pulumi.ResourceOptions, got {type(opts).__name__}")
    return image_args, opts, kwargs


class Image(dynamic.Resource, module="zomro", name="Image"):
    """A Zomro Cloud VPS image, ordered through the API and waited on until Active.

    The Pulumi id is the API's image id (`elid`), also exported as `image_id`.
    """

    image_name: pulumi.Output[str]
    """Name of the image as shown in the panel."""
    region: pulumi.Output[str]
    """Data centre that stores the image, e.g. `Netherlands-2`."""
    url: pulumi.Output[str]
    """Direct http(s) link to the image file the API downloads."""
    disk_format: pulumi.Output[str]
    """Image file format: one of iso, ami, ari, aki, vhd, vmdk, raw, qcow2, vdi."""
    os_distro: pulumi.Output[str]
    """Operating system name, e.g. `ubuntu` (listed back as `Ubuntu`)."""
    architecture: pulumi.Output[str]
    """CPU architecture: one of x86_64, i686, ia64."""
    os_version: pulumi.Output[Optional[str]]
    """Operating system version, e.g. `24`."""
    min_disk: pulumi.Output[int]
    """Minimum instance disk in GB (whole number >= 1)."""
    min_ram: pulumi.Output[int]
    """Minimum instance RAM in GB (whole number >= 1)."""
    protected: pulumi.Output[bool]
    """Blocks deletion while true (also blocks `pulumi destroy`)."""
    pricelist: pulumi.Output[str]
    """Id of the image tariff (price list)."""
    order_period: pulumi.Output[int]
    """Billing period; images are billed daily, which the API calls -50."""
    create_timeout: pulumi.Output[int]
    """Seconds to wait for a new image to become Active before it is deleted and the create fails."""
    adopt_image_id: pulumi.Output[Optional[str]]
    """Id of an existing image to take over instead of ordering a new one."""
    account: pulumi.Output[Optional[str]]
    """Name of the Zomro account (a key of `zomro:accounts`) that holds the image; absent: the default settings."""
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
    order_token: pulumi.Output[Optional[str]]
    """The token the image's order carried before its name until Active: later runs
    delete, or name if protected, any other image carrying it."""

    @overload
    def __init__(
        self,
        resource_name: str,
        args: ImageArgs,
        opts: Optional[pulumi.ResourceOptions] = None,
    ) -> None:
        """Create an image from an `ImageArgs`.

        :param resource_name: The Pulumi name of the resource (not the image's name).
        :param args: The inputs.
        :param opts: Options for the resource (`protect`, `depends_on`, ...).
        """

    @overload
    def __init__(
        self,
        resource_name: str,
        opts: Optional[pulumi.ResourceOptions] = None,
        *,
        image_name: pulumi.Input[str],
        region: pulumi.Input[str],
        url: pulumi.Input[str],
        disk_format: pulumi.Input[str],
        os_distro: pulumi.Input[str],
        architecture: pulumi.Input[str],
        os_version: Optional[pulumi.Input[str]] = None,
        min_disk: Optional[pulumi.Input[int]] = None,
        min_ram: Optional[pulumi.Input[int]] = None,
        protected: Optional[pulumi.Input[bool]] = None,
        pricelist: Optional[pulumi.Input[str]] = None,
        order_period: Optional[pulumi.Input[int]] = None,
        create_timeout: Optional[pulumi.Input[int]] = None,
        adopt_image_id: Optional[pulumi.Input[str]] = None,
        account: Optional[pulumi.Input[str]] = None,
    ) -> None:
        """Create an image from keyword inputs.

        :param resource_name: The Pulumi name of the resource (not the image's name).
        :param opts: Options for the resource (`protect`, `depends_on`, ...).
        :param image_name: Name of the image as shown in the panel.
        :param region: Data centre that stores the image, e.g. `Netherlands-2`.
        :param url: Direct http(s) link to the image file the API downloads.
        :param disk_format: Image file format: one of iso, ami, ari, aki, vhd, vmdk, raw, qcow2, vdi.
        :param os_distro: Operating system name, e.g. `ubuntu` (listed back as `Ubuntu`).
        :param architecture: CPU architecture: one of x86_64, i686, ia64.
        :param os_version: Operating system version, e.g. `24`.
        :param min_disk: Minimum instance disk in GB (whole number >= 1).
        :param min_ram: Minimum instance RAM in GB (whole number >= 1).
        :param protected: Blocks deletion while true (also blocks `pulumi destroy`).
        :param pricelist: Id of the image tariff (price list).
        :param order_period: Billing period; images are billed daily, which the API calls -50.
        :param create_timeout: Seconds to wait for a new image to become Active before it is
            deleted and the create fails.
        :param adopt_image_id: Id of an existing image to take over instead of ordering a new one.
        :param account: Name of the Zomro account (a key of `zomro:accounts`) that holds the
            image; absent: the default settings.
        """

    def __init__(self, resource_name: str, *args: Any, **kwargs: Any) -> None:
        image_args, opts, extra = _split_args(args, kwargs)
        props: dict[str, Any] = {f.name: None for f in INPUTS}
        if image_args is not None:
            props.update(image_args.to_props())
        # Keys that are not inputs go through too (a type checker flags them, a
        # plain `python` run does not), so the provider's check names them at
        # preview ("unknown property ..."), before any API call.
        props.update(extra)
        opts = _import_as_adoption(props, opts)
        _refuse_plain_credentials()
        # Declaring the outputs makes them attributes of the resource.  In a
        # preview they are "not known yet", so that a replacement shows them as
        # `=> [unknown]` rather than as removed.
        placeholder = UNKNOWN if pulumi.runtime.is_dry_run() else None
        for name in OUTPUTS:
            props.setdefault(name, placeholder)
        super().__init__(ImageProvider(), resource_name, props, opts)

    @staticmethod
    def get(
        resource_name: str,
        id: pulumi.Input[str],
        opts: Optional[pulumi.ResourceOptions] = None,
        account: Optional[pulumi.Input[str]] = None,
    ) -> Image:
        """Read an existing image by id without managing it (`pulumi destroy` leaves it).
        An id that is not in the account fails the run, naming it.

        :param resource_name: The Pulumi name of the resource.
        :param id: The API's image id (`elid`).
        :param opts: Options for the resource.
        :param account: The Zomro account that holds it (a key of `zomro:accounts`);
            absent: the default settings.
        """
        merged = pulumi.ResourceOptions.merge(opts, pulumi.ResourceOptions(id=id))
        # No other inputs: a read takes every value from the API.
        return cast(Any, Image)(resource_name, opts=merged, account=account)


def get_images(
    region: Optional[str] = None,
    image_name: Optional[str] = None,
    account: Optional[str] = None,
) -> list[ImageRecord]:
    """Images of the account, optionally filtered by region and exact name.

    A plain function for lookups in programs (it calls the API when the program
    runs, previews included); uses the same settings as the provider.

    :param region: Only images in this data centre (any letter case).
    :param image_name: Only images with exactly this name.
    :param account: The Zomro account to look in (a key of `zomro:accounts`);
        absent: the default settings.
    """
    _refuse_plain_credentials()
    config = pulumi.Config("zomro")
    settings = ProviderSettings.load(
        lambda key: config.get(key.split(":", 1)[1]) if key.startswith("zomro:") else None,
        account=account,
    )
    client = settings.client()
    try:
        records = client.list_images(max_age=0)
    finally:
        client.close()
    return selected(records, region, image_name)


@dataclasses.dataclass(frozen=True)
class GetImagesResult:
    """What `get_images_output` resolves to: the filters and the matching images."""

    region: Optional[str]
    """The region filter the lookup ran with (None: every region)."""
    image_name: Optional[str]
    """The name filter the lookup ran with (None: every name)."""
    account: Optional[str]
    """The account the lookup ran in (None: the default settings)."""
    images: list[ImageRecord]
    """The matching images, as the API lists them."""

    @property
    def ids(self) -> list[str]:
        """The API ids of the matching images."""
        return [r.id for r in self.images]


def get_images_output(
    region: Optional[pulumi.Input[Optional[str]]] = None,
    image_name: Optional[pulumi.Input[Optional[str]]] = None,
    account: Optional[pulumi.Input[Optional[str]]] = None,
) -> pulumi.Output[GetImagesResult]:
    """`get_images` for inputs that are Pulumi `Output`s (another resource's name...).

    The lookup runs once the filters are known; during a preview with unknown
    filters the result is unknown, as with generated SDKs' `*_output` lookups.

    :param region: Only images in this data centre (any letter case).
    :param image_name: Only images with exactly this name.
    :param account: The Zomro account to look in; absent: the default settings.
    """

    def lookup(filters: Mapping[str, Any]) -> GetImagesResult:
        found = get_images(**filters)
        return GetImagesResult(filters["region"], filters["image_name"], filters["account"], found)

    return pulumi.Output.all(region=region, image_name=image_name, account=account).apply(lookup)


def _import_as_adoption(
    props: dict[str, Any], opts: Optional[pulumi.ResourceOptions]
) -> Optional[pulumi.ResourceOptions]:
    """`ResourceOptions(import_=id)` as `adopt_image_id=id`.

    The engine's own import asks a dynamic provider to read the resource without
    its pickled provider, which the SDK cannot do (pulumi/pulumi#16175); adopting
    takes the image over the same way: nothing ordered, what cannot be edited
    must match, what can is edited to match the program.
    """
    if opts is None or opts.import_ is None:
        return opts
    given = props.get("adopt_image_id")
    if given is not None and given != opts.import_:
        raise TypeError(
            f"zomro.Image: import_={opts.import_!r} and adopt_image_id={given!r} name different "
            "images; give one of them"
        )
    props["adopt_image_id"] = opts.import_
    plain = copy.copy(opts)
    plain.import_ = None
    return plain


_CREDENTIAL_KEYS = ("zomro:password", "zomro:authToken")
_ACCOUNT_CREDENTIALS = ("password", "authToken")


def _refuse_plain_credentials() -> None:
    """Credentials given as plain (not `--secret`) stack config would be written
    unencrypted to `Pulumi.<stack>.yaml` and to the state: stop the program
    with the command that fixes it, before anything is sent."""
    plain = [
        key
        for key in _CREDENTIAL_KEYS
        if pulumi.runtime.get_config(key) not in (None, "") and not pulumi.runtime.is_config_secret(key)
    ]
    plain += _plain_account_credentials()
    if plain:
        raise pulumi.RunError(
            f"{plain[0]} is plain text in the stack config, so Pulumi writes it unencrypted to "
            f"Pulumi.{pulumi.get_stack()}.yaml and to the state: run `pulumi config set --secret "
            f"{'--path ' if '.' in plain[0] else ''}{plain[0]} <value>` (or give it as an "
            "environment variable)"
        )


def _plain_account_credentials() -> list[str]:
    """`zomro:accounts.NAME.password` / `.authToken` set without `--secret`.
    The engine marks the whole `zomro:accounts` key secret as soon as one leaf
    is, so the stack's config file says which leaves are plain."""
    raw = pulumi.runtime.get_config(ACCOUNTS_KEY)
    if raw in (None, ""):
        return []
    if not pulumi.runtime.is_config_secret(ACCOUNTS_KEY):
        accounts = _json_object(raw)
    else:
        accounts = _stack_file_config().get(ACCOUNTS_KEY)
    if not isinstance(accounts, dict):
        return []
    return [
        f"{ACCOUNTS_KEY}.{name}.{key}"
        for name, entry in accounts.items()
        if isinstance(entry, dict)
        for key in _ACCOUNT_CREDENTIALS
        if isinstance(entry.get(key), str) and entry[key]
    ]


def _json_object(raw: Any) -> Any:
    try:
        return json.loads(raw) if isinstance(raw, str) else raw
    except ValueError:
        return None


def _stack_file_config() -> dict[str, Any]:
    """The `config:` of this stack's `Pulumi.<stack>.yaml`, if it is where the
    program runs (secret leaves there are `{secure: ...}` objects)."""
    path = Path.cwd() / f"Pulumi.{pulumi.get_stack()}.yaml"
    try:
        loaded = yaml.safe_load(path.read_text())
    except (OSError, yaml.YAMLError):
        return {}
    config = loaded.get("config") if isinstance(loaded, dict) else None
    return config if isinstance(config, dict) else {}

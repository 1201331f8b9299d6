"""Manage Zomro Cloud VPS images as code with Pulumi.

    import zomro_pulumi as zomro
    img = zomro.Image("ubuntu-24", image_name="Ubuntu24", region="Netherlands-2", ...)

Names are imported on first use, so `python -m zomro_pulumi.emulator` does not
pay for (or depend on) the Pulumi SDK.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .client import ZomroClient
    from .errors import (
        AnswerTimeout,
        ApiError,
        AuthError,
        BusyError,
        ConfigError,
        DecodeError,
        EndpointUnreachable,
        ImageCreateError,
        ImageCreateTimeout,
        IncompleteListError,
        InvalidRequestError,
        NotFoundError,
        ProtectedImageError,
        ReportedError,
        TransportError,
        UncertainOrderError,
        ZomroError,
    )
    from .model import ImageRecord
    from .provider import ImageProvider
    from .resource import GetImagesResult, Image, ImageArgs, get_images, get_images_output
    from .settings import ProviderSettings

_EXPORTS = {
    "ZomroClient": "client",
    "AnswerTimeout": "errors",
    "IncompleteListError": "errors",
    "ProtectedImageError": "errors",
    "ApiError": "errors",
    "AuthError": "errors",
    "BusyError": "errors",
    "ConfigError": "errors",
    "InvalidRequestError": "errors",
    "NotFoundError": "errors",
    "TransportError": "errors",
    "UncertainOrderError": "errors",
    "DecodeError": "errors",
    "EndpointUnreachable": "errors",
    "ImageCreateError": "errors",
    "ImageCreateTimeout": "errors",
    "ReportedError": "errors",
    "ZomroError": "errors",
    "ImageRecord": "model",
    "ImageProvider": "provider",
    "ProviderSettings": "settings",
    "Image": "resource",
    "ImageArgs": "resource",
    "get_images": "resource",
    "get_images_output": "resource",
    "GetImagesResult": "resource",
}

__all__ = [
    "AnswerTimeout",
    "ApiError",
    "AuthError",
    "BusyError",
    "ConfigError",
    "DecodeError",
    "EndpointUnreachable",
    "GetImagesResult",
    "Image",
    "ImageArgs",
    "ImageCreateError",
    "ImageCreateTimeout",
    "ImageProvider",
    "ImageRecord",
    "IncompleteListError",
    "InvalidRequestError",
    "NotFoundError",
    "ProtectedImageError",
    "ProviderSettings",
    "ReportedError",
    "TransportError",
    "UncertainOrderError",
    "ZomroClient",
    "ZomroError",
    "get_images",
    "get_images_output",
]
__version__ = "0.1.0"


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'zomro_pulumi' has no attribute {name!r}")
    value = getattr(importlib.import_module(f".{module}", __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted([*globals(), *_EXPORTS])

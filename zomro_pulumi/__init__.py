"""Manage Zomro Cloud VPS images as code with Pulumi.

import zomro_pulumi as zomro
img = zomro.Image("ubuntu-24", image_name="Ubuntu24", region="Netherlands-2", ...)
"""

from .client import ZomroClient
from .errors import (
    ApiError,
    AuthError,
    BusyError,
    ConfigError,
    InvalidRequestError,
    NotFoundError,
    TransportError,
    UncertainOrderError,
    ZomroError,
)
from .model import ImageRecord
from .provider import ImageProvider, ProviderSettings
from .resource import Image, ImageArgs, get_images

__all__ = [
    "ApiError",
    "AuthError",
    "BusyError",
    "ConfigError",
    "Image",
    "ImageArgs",
    "ImageProvider",
    "ImageRecord",
    "InvalidRequestError",
    "NotFoundError",
    "ProviderSettings",
    "TransportError",
    "UncertainOrderError",
    "ZomroClient",
    "ZomroError",
    "get_images",
]

__version__ = "0.1.0"

"""Exceptions raised by the Zomro API client.

The API answers errors with HTTP 200 and an envelope (`doc.error`), so callers
need more than a status code to decide what to do: these classes carry the
API function, the error `$type`, `$object` and message, and sort the answer
into the few cases a caller reacts to differently (re-login, retry, not found,
bad input, uncertain order).  Every text is redacted before it is stored.
"""

from __future__ import annotations

from typing import Optional

REDACTED = "***"

# Said by the preview's check and by the client's first call alike.
NO_CREDENTIALS = (
    "no Zomro credentials: set `pulumi config set --secret zomro:authToken TOKEN`, or "
    "zomro:username and `pulumi config set --secret zomro:password ...` (environment: "
    "ZOMRO_AUTH_TOKEN, or ZOMRO_USERNAME and ZOMRO_PASSWORD)"
)


def redact(text: str, secrets: tuple[str, ...] | list[str]) -> str:
    """Replace every known secret in `text`; short strings are skipped so that
    redacting a one-letter password cannot mangle a whole message."""
    for secret in sorted({s for s in secrets if s and len(s) >= 3}, key=len, reverse=True):
        text = text.replace(secret, REDACTED)
    return text


class ZomroError(Exception):
    """Base of every error this package raises."""

    def __init__(
        self,
        message: str,
        *,
        func: Optional[str] = None,
        err_type: Optional[str] = None,
        err_object: Optional[str] = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.func = func
        self.err_type = err_type
        self.err_object = err_object

    def __str__(self) -> str:
        where = []
        if self.func:
            where.append(f"func={self.func}")
        if self.err_type:
            where.append(f"type={self.err_type}")
        if self.err_object:
            where.append(f"object={self.err_object}")
        return f"{self.message} ({', '.join(where)})" if where else self.message

    def __repr__(self) -> str:
        return f"{type(self).__name__}({str(self)!r})"

    def __reduce__(self):  # type: ignore[no-untyped-def]
        # Keep the keyword-only fields when exceptions cross process/pickle boundaries.
        return (
            _rebuild,
            (type(self), self.message, self.func, self.err_type, self.err_object),
        )


def _rebuild(
    cls: type[ZomroError],
    message: str,
    func: Optional[str],
    err_type: Optional[str],
    err_object: Optional[str],
) -> ZomroError:
    err = cls.__new__(cls)
    ZomroError.__init__(err, message, func=func, err_type=err_type, err_object=err_object)
    return err


class ConfigError(ZomroError):
    """The provider settings are missing or unsafe (no credentials, plain http)."""


class ApiError(ZomroError):
    """The API answered with an error envelope."""


class AuthError(ApiError):
    """Login refused, or the session expired and cannot be renewed."""


class NotFoundError(ApiError):
    """The image the call names does not exist (any more)."""


class InvalidRequestError(ApiError):
    """The API rejected a field value (`$type` value/missed)."""


class BusyError(ApiError):
    """Another operation on the image is still running (`$object` runningoperation)."""


class TransportError(ZomroError):
    """No usable answer: connection failure, HTTP 5xx, or a body that is not JSON."""


class EndpointUnreachable(TransportError):
    """No connection to the endpoint could be opened: nothing was sent."""


class AnswerTimeout(TransportError):
    """No answer in time: an HTTP read timed out, or the caller's deadline passed
    between calls (a page of the list, a retry)."""


class IncompleteListError(ZomroError):
    """An image list answer that does not prove it holds every image: an element
    without an id, counts that disagree with what the pages hold, a page that
    repeats an earlier one.  Such a list is no evidence that an image is gone."""


class UncertainOrderError(TransportError):
    """An order was sent but its answer was lost; the image may or may not exist."""


class DecodeError(ZomroError):
    """An answer carries a field that must be usable (the image id) but is not."""


class ReportedError(ZomroError):
    """Carries an error of the provider to the engine with its message first."""


class ImageCreateError(ZomroError):
    """A new image did not become Active; the text says what happened to it."""


class ImageCreateTimeout(ImageCreateError):
    """A new image was not Active within `create_timeout`."""


class ProtectedImageError(ZomroError):
    """Zomro refuses to delete the image because it is protected."""

    def __init__(self, image_id: str, cause: ZomroError) -> None:
        super().__init__(
            f"image {image_id} is protected, so Zomro refuses to delete it",
            func="image.delete", err_type=cause.err_type, err_object=cause.err_object,
        )
        self.image_id = image_id

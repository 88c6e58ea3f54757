"""REST errors: ``{"errors": [{type, code, message, attribute, url}]}`` with an HTTP status.

RELAY result codes of the handlers map to statuses (``status_for``): "400" -> 400,
"404" and "410" (a call that ended) -> 404, "409" -> 409, "429" -> 429, "-32001" -> 403.
"""

from __future__ import annotations

from starlette.responses import JSONResponse

from voxrelay.server.rest.models import ErrorBody, ErrorItem

_STATUS_OF_CODE = {
    "400": 400,
    "402": 402,
    "404": 404,
    "409": 409,
    "410": 404,
    "429": 429,
    "500": 500,
    "-32001": 403,
}
_TYPE_OF_STATUS = {
    400: "invalid_request",
    401: "authentication_error",
    402: "payment_required",
    403: "permission_denied",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    413: "request_too_large",
    422: "validation_error",
    429: "rate_limited",
    500: "internal_error",
    503: "unavailable",
}
_CODE_OF_RELAY = {"404": "call_not_found", "410": "call_ended", "409": "conflict"}


class RestError(Exception):
    """An error answer. ``code`` is a short machine name, ``attribute`` the field at fault."""

    def __init__(
        self, status: int, message: str, *, code: str | None = None, attribute: str | None = None
    ) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.code = code or _TYPE_OF_STATUS.get(status, "error")
        self.attribute = attribute

    @classmethod
    def from_relay(cls, code: str, message: str) -> RestError:
        """A RELAY failure result (``CommandError``) as an HTTP error."""
        status = _STATUS_OF_CODE.get(code, 500 if not code.startswith("4") else 400)
        return cls(status, message, code=_CODE_OF_RELAY.get(code, f"relay_{code}"))

    def body(self) -> ErrorBody:
        item = ErrorItem(
            type=_TYPE_OF_STATUS.get(self.status, "error"),
            code=self.code,
            message=self.message,
            attribute=self.attribute,
        )
        return ErrorBody(errors=[item])

    def response(self) -> JSONResponse:
        headers = {"WWW-Authenticate": 'Basic realm="voxrelay"'} if self.status == 401 else None
        return JSONResponse(
            self.body().model_dump(mode="json"), status_code=self.status, headers=headers
        )

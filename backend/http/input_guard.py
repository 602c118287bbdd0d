"""The text rule (backend.http.text_input) applied to every input before any handler sees it.

An app-level middleware, so every route is covered, today's and tomorrow's: path parameters,
every query parameter (names too), the decoded JSON body (every string and object key, however
deep) and the multipart or URL-encoded form (every field, and each uploaded file's name; not
the file's bytes). A refusal is a 400 naming the field.

It runs after authentication and the route's guards, so an anonymous or wrong-role caller is
still told 401/403 and never makes the server parse a body. The body it decodes is Litestar's
own per-request cache (the handler reads the same parsed JSON or form, nothing is read twice);
a form it refuses is closed here, since the route never runs to close it.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qsl

from litestar.datastructures import UploadFile
from litestar.enums import RequestEncodingType
from litestar.exceptions import SerializationException
from litestar.handlers import HTTPRouteHandler
from litestar.params import BodyKwarg
from litestar.types import ASGIApp, Receive, Scope, Send

from backend.http.text_input import check, walk_json

FORM_ENCODINGS = frozenset({RequestEncodingType.MULTI_PART, RequestEncodingType.URL_ENCODED})


def body_encoding(handler: Any) -> str | None:
    """How the route's ``data`` parameter is encoded (JSON unless declared otherwise), or None
    when the route takes no body."""
    if not isinstance(handler, HTTPRouteHandler):
        return None
    data = handler.parsed_fn_signature.parameters.get("data")
    if data is None:
        return None
    kwarg = data.kwarg_definition
    return kwarg.media_type if isinstance(kwarg, BodyKwarg) else RequestEncodingType.JSON


def check_path_and_query(scope: Scope) -> None:
    for name, value in (scope.get("path_params") or {}).items():
        if isinstance(value, str):
            check(name, "path", value)
    raw = scope.get("query_string", b"").decode("utf-8", "replace")
    for name, value in parse_qsl(raw, keep_blank_values=True):
        check(name, "query", name, "the name of")
        check(name, "query", value)


async def check_body(
    scope: Scope, receive: Receive, send: Send, handler: HTTPRouteHandler, encoding: str
) -> None:
    request = handler.resolve_request_class()(scope=scope, receive=receive, send=send)
    if handler.resolve_guards():
        await handler.authorize_connection(request)  # the route does it again: they are pure
    if encoding == RequestEncodingType.JSON:
        if not await request.body():
            return
        try:
            data = await request.json()
        except SerializationException:
            return  # malformed: the route's own parsing answers it (400)
        for field, text, what in walk_json(data):
            check(field, "body", text, what)
    elif encoding in FORM_ENCODINGS:
        form = await request.form()
        try:
            for name, value in form.multi_items():
                check(name, "body", name, "the name of")
                if isinstance(value, UploadFile):
                    check(name, "body", value.filename or "", "the file name of")
                elif isinstance(value, str):
                    check(name, "body", value)
        except BaseException:
            await form.close()
            raise


def input_guard_middleware(app: ASGIApp) -> ASGIApp:
    """Refuse control and bidi characters in every text input (see the module docstring)."""

    async def middleware(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            check_path_and_query(scope)
            handler = scope.get("route_handler")
            encoding = body_encoding(handler)
            if encoding is not None:
                assert isinstance(handler, HTTPRouteHandler)
                await check_body(scope, receive, send, handler, encoding)
        await app(scope, receive, send)

    return middleware

"""A SageMaker-compatible model server around the inference core (the bring-your-own-container
contract), so the same model can run behind a SageMaker real-time endpoint.

Container contract: SageMaker starts the image as ``<entrypoint> serve``; the server listens on
port 8080 (or ``SAGEMAKER_BIND_TO_PORT``), answers ``GET /ping`` with 200 once the model is loaded
and ``POST /invocations`` with the image bytes in the body. The answer is JSON: the prediction
summary plus ``mask_png_b64`` and ``overlay_png_b64``. A bad image gets 400 (415 for an
unsupported format) with ``{"code", "message"}`` from the core's InputError.

It also answers the runtime API path ``POST /endpoints/{name}/invocations`` the way the
sagemaker-runtime service does (a container 4xx becomes ``ModelError``, HTTP 424, with
``OriginalStatusCode``/``OriginalMessage``), so an aioboto3 ``sagemaker-runtime`` client with
``endpoint_url`` pointed here works unchanged. Request signatures are not checked.

Run: ``python -m backend.sagemaker_server [serve] [--host H] [--port P] [--model PATH]``.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
from pathlib import Path

from litestar import Litestar, Request, Response, get, post

from backend.inference_backends.local import LocalBackend
from backend.inference_backends.wire import (
    CUSTOM_ATTRIBUTES_HEADER,
    RESULT_CONTENT_TYPE,
    SCOPE_OVERRIDE_ATTRIBUTE,
    encode_input_error,
    encode_result,
)
from inference.errors import InputError
from inference.model_files import model_path_from_environment

log = logging.getLogger("medsegtext.sagemaker_server")
SAGEMAKER_MODEL_DIR = Path("/opt/ml/model")
MAX_BODY_BYTES = 64 * 2**20


def default_model_path() -> str | None:
    """MEDSEGTEXT_MODEL_PATH, else an .onnx SageMaker unpacked into /opt/ml/model, else shipped."""
    explicit = model_path_from_environment()
    if explicit:
        return explicit
    found = sorted(SAGEMAKER_MODEL_DIR.glob("*.onnx")) if SAGEMAKER_MODEL_DIR.is_dir() else []
    return str(found[0]) if found else None


async def _invoke(request: Request) -> tuple[int, bytes]:
    """(status, body) as the container answers it: 200 result, 4xx InputError, 500 failure."""
    backend: LocalBackend | None = request.app.state.get("backend")
    if backend is None:
        return 503, json.dumps({"message": "model is not loaded yet"}).encode()
    data = await request.body()
    try:
        override = request.headers.get(CUSTOM_ATTRIBUTES_HEADER, "") == SCOPE_OVERRIDE_ATTRIBUTE
        result = await backend.predict(data, check_scope=not override)
    except InputError as e:
        return (415 if e.code == "unsupported_format" else 400), encode_input_error(e)
    except Exception as e:  # any engine failure is the model's 5xx, not a crash
        log.exception("inference failed")
        return 500, json.dumps({"message": f"inference failed: {type(e).__name__}"}).encode()
    return 200, encode_result(result)


@get("/ping", sync_to_thread=False)
def ping(request: Request) -> Response[bytes]:
    ready = request.app.state.get("backend") is not None
    return Response(b"", status_code=200 if ready else 503)


@post("/invocations", status_code=200)
async def invocations(request: Request) -> Response[bytes]:
    status, body = await _invoke(request)
    return Response(body, status_code=status, media_type=RESULT_CONTENT_TYPE)


@post("/endpoints/{name:str}/invocations", status_code=200)
async def runtime_invoke(request: Request) -> Response[bytes]:
    """The sagemaker-runtime InvokeEndpoint API, as botocore calls it (any endpoint name)."""
    status, body = await _invoke(request)
    if status == 200:
        return Response(
            body,
            status_code=200,
            media_type=RESULT_CONTENT_TYPE,
            headers={"x-Amzn-Invoked-Production-Variant": "AllTraffic"},
        )
    kind = "client" if status < 500 else "server"
    original = body.decode(errors="replace")
    error = {
        "ErrorCode": f"{kind.upper()}_ERROR_FROM_MODEL",
        "Message": f'Received {kind} error ({status}) from primary with message "{original}".',
        "OriginalStatusCode": status,
        "OriginalMessage": original,
    }
    return Response(
        json.dumps(error).encode(),
        status_code=424,
        media_type="application/json",
        headers={"x-amzn-ErrorType": "ModelError"},
    )


def create_server(
    model_path: str | None = None, device: str = "auto", pool_threads: int = 1
) -> Litestar:
    """The ASGI app; the model loads on startup, so /ping is 200 only with the model in memory."""

    async def load(app: Litestar) -> None:
        path = model_path or default_model_path()
        app.state.backend = await LocalBackend.load(path, device=device, pool_threads=pool_threads)
        log.info("model %s loaded from %s", app.state.backend.model_version, path or "the image")

    async def unload(app: Litestar) -> None:
        backend = app.state.pop("backend", None)
        if backend is not None:
            await backend.close()

    return Litestar(
        [ping, invocations, runtime_invoke],
        on_startup=[load],
        on_shutdown=[unload],
        request_max_body_size=MAX_BODY_BYTES,
    )


def main(argv: list[str] | None = None) -> None:
    import uvicorn  # the server process only; tests import the app

    p = argparse.ArgumentParser(
        prog="python -m backend.sagemaker_server",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument(
        "command",
        nargs="?",
        choices=["serve"],
        help="what SageMaker passes; also binds all interfaces, as a container must",
    )
    p.add_argument("--host", default=None, help="default 127.0.0.1, or 0.0.0.0 with 'serve'")
    p.add_argument("--port", type=int, default=int(os.environ.get("SAGEMAKER_BIND_TO_PORT", 8080)))
    p.add_argument("--model", default=None, help="ONNX file (its manifest beside it)")
    p.add_argument("--device", default="auto", choices=["auto", "cpu", "cuda"])
    p.add_argument("--threads", type=int, default=1, help="concurrent inferences")
    args = p.parse_args(argv)
    host = args.host or ("0.0.0.0" if args.command == "serve" else "127.0.0.1")
    logging.basicConfig(level=logging.INFO)
    app = create_server(args.model, args.device, args.threads)
    uvicorn.run(app, host=host, port=args.port, log_level="info", timeout_graceful_shutdown=25)


if __name__ == "__main__":
    main()

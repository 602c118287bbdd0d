"""The Litestar application. Domains register their controllers in one place (DOMAINS); the
lifespan starts the process's clients (Services) and closes them. The app never creates tables:
Alembic does (backend.platform.migrate)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from types import ModuleType
from typing import Any

from litestar import Litestar
from litestar.config.cors import CORSConfig
from litestar.openapi import OpenAPIConfig
from litestar.openapi.spec import Components, SecurityScheme

from backend import (
    accounts,
    admin,
    cases,
    datasets,
    identity_map,
    models_registry,
    pacs_outbox,
    pacs_query,
    reports,
    reviews,
)
from backend.http import health
from backend.http.auth import auth_middleware
from backend.http.csrf import csrf_middleware
from backend.http.deps import DEPENDENCIES
from backend.http.docs import SelfHostedSwagger
from backend.http.errors import EXCEPTION_HANDLERS
from backend.http.input_guard import input_guard_middleware
from backend.http.openapi import document_operations
from backend.http.proxies import forwarded_headers_middleware, parse_networks
from backend.http.requests import https_only, request_context_middleware, response_headers
from backend.models_registry.service import register_shipped_model
from backend.platform.logs import configure_logging, get_logger
from backend.platform.services import Services
from backend.platform.version import app_version
from backend.settings import Settings, get_settings

# The one registration point: a new domain package with a CONTROLLERS list is added here.
DOMAINS: tuple[ModuleType, ...] = (
    health,
    accounts,
    cases,
    reviews,
    reports,
    admin,
    models_registry,
    datasets,
    identity_map,
    pacs_outbox,
    pacs_query,
)
MULTIPART_OVERHEAD_BYTES = 1 * 2**20  # form fields and boundaries around the uploaded file

log = get_logger("app")


async def _register_shipped_model(services: Services) -> None:
    """Best effort: the API still starts when the database is down (it answers 503 then)."""
    try:
        await register_shipped_model(services)
    except Exception as e:  # a concurrent start registered it, or the database is down
        log.warning("shipped model not registered", extra={"reason": str(e)[:300]})


def collect_controllers() -> list[Any]:
    return [c for domain in DOMAINS for c in domain.CONTROLLERS]


def create_app(settings: Settings | None = None, services: Services | None = None) -> Litestar:
    """Build the API. Given services are used as they are and left open at shutdown."""
    settings = settings or (services.settings if services else get_settings())
    configure_logging()

    @asynccontextmanager
    async def lifespan(app: Litestar) -> AsyncIterator[None]:
        owned = services is None
        app.state.services = services if services is not None else await Services.start(settings)
        await _register_shipped_model(app.state.services)
        log.info("api started", extra={"environment": settings.environment})
        try:
            yield
        finally:
            if owned:
                await app.state.services.close()

    openapi = OpenAPIConfig(
        title="MedSegText API",
        version=app_version(),
        description="Chest X-ray lesion segmentation and findings. Authenticate with "
        "`Authorization: Bearer <token>` (POST /api/auth/login or a personal token) "
        "or the `medsegtext_session` cookie (writes with the cookie only from this "
        "origin). JSON bodies need `Content-Type: application/json`. No text input "
        "may hold control characters (other than tab and line breaks) or "
        "bidirectional formatting characters (400 naming the field).",
        path="/api/schema",
        render_plugins=[SelfHostedSwagger()],
        components=Components(
            security_schemes={
                "bearer": SecurityScheme(type="http", scheme="bearer"),
                "cookie": SecurityScheme(
                    type="apiKey", name="medsegtext_session", security_scheme_in="cookie"
                ),
            }
        ),
        security=[{"bearer": []}, {"cookie": []}],
    )
    cors = (
        CORSConfig(
            allow_origins=list(settings.cors_origins),
            allow_credentials=True,
            expose_headers=["X-Request-ID"],
        )
        if settings.cors_origins
        else None
    )
    app = Litestar(
        route_handlers=collect_controllers(),
        lifespan=[lifespan],
        dependencies=DEPENDENCIES,
        # outermost first: the request id; the client address (trusted proxies only); where a
        # cookie write may come from and that JSON is JSON; who is calling; the text rule
        middleware=[
            request_context_middleware,
            forwarded_headers_middleware(parse_networks(settings.trusted_proxies)),
            csrf_middleware(settings),
            auth_middleware(),
            input_guard_middleware,
        ],
        exception_handlers=EXCEPTION_HANDLERS,
        before_send=[response_headers(https_only(settings))],
        openapi_config=openapi,
        cors_config=cors,
        request_max_body_size=settings.max_upload_bytes + MULTIPART_OVERHEAD_BYTES,
        logging_config=None,
        debug=False,
    )
    document_operations(app)
    return app

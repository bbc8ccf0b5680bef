"""The API application: the execution routes and the gateway on one pipeline, one token service."""

from __future__ import annotations

from fastapi import FastAPI

from config.errors import PromptForgeError
from config.settings import Settings
from security.identity.principal import Principal

# the pipeline every request acts through (``acting_as`` the caller); it has no role of its own
SERVICE = Principal("api", frozenset(), "system")


def create_app(settings: Settings, pipeline=None) -> FastAPI:
    """The API on ``settings``; ``pipeline`` (tests pass one sharing their scrubber) defaults to a
    new one. Its heavy services (database, scrubber, screener) are built here, once, so that every
    request's ``acting_as`` copy shares them."""
    from fastapi.exceptions import RequestValidationError

    from api import gateway, routes
    from api.auth import Quotas
    from api.errors import invalid_request, project_error
    from execution.pipeline import Pipeline
    from security.identity.tokens import token_service

    app = FastAPI(
        docs_url=None,  # served below from local Swagger UI assets: the browser fetches nothing from outside
        redoc_url=None,
        title="PromptForge API",
        version="1",
        description=(
            "The governed pipeline over HTTP: every call is authenticated by an API token "
            "(`Authorization: Bearer TOKEN`), checked against its account's roles and the token's scope, "
            "scrubbed, screened, evaluated and recorded like a run in the app. Errors are "
            '`{"error": {"type", "message", "hint", "detail"}}` with the same messages as the command line; '
            "the OpenAI-compatible routes answer in OpenAI's error shape."
        ),
    )
    pipeline = pipeline or Pipeline(settings, principal=SERVICE)
    pipeline.store, pipeline.scrubber, pipeline.screener, pipeline.audit  # noqa: B018 - built once, shared
    tokens = token_service(settings)
    app.state.pipeline = pipeline
    app.state.tokens = tokens
    app.state.quotas = Quotas(tokens.tokens, pipeline.store.engine)
    app.state.background_errors = {}
    app.add_exception_handler(PromptForgeError, project_error)
    app.add_exception_handler(RequestValidationError, invalid_request)
    app.include_router(routes.router)
    app.include_router(gateway.router)

    _local_docs(app)

    @app.get("/health", tags=["health"], summary="Liveness: no token needed")
    def health() -> dict[str, str]:
        return {"status": "ok"}

    return app


DOCS_ASSETS = "/docs-assets"


def _local_docs(app: FastAPI) -> None:
    """``/docs``: Swagger UI from the assets ``fastapi-offline`` ships, not from a CDN."""
    from pathlib import Path

    import fastapi_offline
    from fastapi.openapi.docs import get_swagger_ui_html
    from fastapi.staticfiles import StaticFiles

    app.mount(DOCS_ASSETS, StaticFiles(directory=Path(fastapi_offline.__file__).parent / "static"), name="docs-assets")

    @app.get("/docs", include_in_schema=False)
    def docs():
        return get_swagger_ui_html(
            openapi_url=app.openapi_url, title=f"{app.title}: documentation",
            swagger_js_url=f"{DOCS_ASSETS}/swagger-ui-bundle.js", swagger_css_url=f"{DOCS_ASSETS}/swagger-ui.css",
            swagger_favicon_url=f"{DOCS_ASSETS}/favicon.png",
        )

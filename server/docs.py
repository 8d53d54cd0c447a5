"""Interactive API docs that work offline.

FastAPI's default /docs page loads Swagger UI from a CDN. The fastapi-offline package ships the same files
(Swagger UI 5, which reads FastAPI's OpenAPI 3.1 schema); /docs serves them from this server. Without the
package /docs says so and the schema is still at /openapi.json.
"""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles

ASSETS = "/docs-assets"


def _assets() -> Path | None:
    try:
        import fastapi_offline
    except ImportError:
        return None
    path = Path(fastapi_offline.__file__).parent / "static"
    return path if (path / "swagger-ui-bundle.js").is_file() else None


def install(app: FastAPI) -> None:
    assets = _assets()
    if assets is not None:
        app.mount(ASSETS, StaticFiles(directory=assets), name="docs-assets")

    @app.get("/docs", include_in_schema=False)
    def swagger() -> HTMLResponse:
        if assets is None:
            return HTMLResponse(
                "<p>Interactive docs need the fastapi-offline package; "
                'the schema is at <a href="/openapi.json">/openapi.json</a>.</p>',
                status_code=404,
            )
        return get_swagger_ui_html(
            openapi_url="/openapi.json",
            title="anyseek API",
            swagger_js_url=f"{ASSETS}/swagger-ui-bundle.js",
            swagger_css_url=f"{ASSETS}/swagger-ui.css",
            swagger_favicon_url=f"{ASSETS}/favicon.png",
        )

"""The explorer's web application (Starlette): its own three static files and a JSON API
over one :class:`Explorer`. No route takes a path from the request to the file system; every
malformed or out-of-range request is answered 4xx with {"error": "..."}."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.middleware.trustedhost import TrustedHostMiddleware
from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse, Response
from starlette.routing import Route

from .explorer import BadRequest, Explorer

STATIC = Path(__file__).with_name("static")
ASSETS = {"explorer.js": "text/javascript", "explorer.css": "text/css"}
MAX_BODY = 64 * 1024  # bytes: a latent of thousands of numbers fits


def _error(status: int, message: str) -> JSONResponse:
    return JSONResponse({"error": message}, status_code=status)


async def _body(request: Request) -> Any:
    """The JSON body, read no further than MAX_BODY bytes (a huge upload is refused as it
    arrives, not after it is held in memory)."""
    too_big = BadRequest(f"the body is larger than {MAX_BODY} bytes")
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > MAX_BODY:
        raise too_big
    raw = bytearray()
    async for chunk in request.stream():
        raw += chunk
        if len(raw) > MAX_BODY:
            raise too_big
    try:
        return json.loads(raw, parse_constant=lambda c: float("nan"))  # NaN: refused later
    except (ValueError, RecursionError):
        raise BadRequest("the body is not JSON") from None


def make_app(explorer: Explorer, hosts: tuple[str, ...] = ("127.0.0.1", "localhost")) -> Starlette:
    """The application serving ``explorer``; run it with uvicorn. Requests naming another
    Host than ``hosts`` are refused (400), so a web page elsewhere cannot reach the explorer
    through a DNS name it rebinds to 127.0.0.1."""

    def answer(fn: Callable[[Request], Any]) -> Callable[[Request], Any]:
        async def endpoint(request: Request) -> Response:
            try:
                return JSONResponse(await fn(request))
            except (BadRequest, ValueError, OverflowError) as e:  # a value the checks missed
                return _error(400, str(e) if isinstance(e, BadRequest) else "bad request")

        return endpoint

    async def index(request: Request) -> Response:
        return FileResponse(STATIC / "index.html", media_type="text/html")

    async def asset(request: Request) -> Response:
        name = request.path_params["name"]
        if name not in ASSETS:  # a fixed list: nothing from the request reaches a path
            return _error(404, "no such file")
        return FileResponse(STATIC / name, media_type=ASSETS[name])

    async def info(request: Request) -> Any:
        return explorer.info()

    async def points(request: Request) -> Any:
        return explorer.points()

    async def decode(request: Request) -> Any:
        return explorer.decoded(await _body(request))

    async def interpolate(request: Request) -> Any:
        q = request.query_params
        return explorer.interpolate(q.get("i"), q.get("j"), q.get("steps", "8"), q.get("class"))

    async def samples(request: Request) -> Any:
        q = request.query_params
        return explorer.samples(q.get("n", "16"), q.get("seed", "0"), q.get("class"))

    async def anomalies(request: Request) -> Any:
        return explorer.anomalies(request.query_params.get("n", "12"))

    async def http_error(request: Request, exc: Exception) -> Response:
        status = exc.status_code if isinstance(exc, HTTPException) else 400
        return _error(status, "not found" if status == 404 else str(getattr(exc, "detail", exc)))

    routes = [
        Route("/", index),
        Route("/static/{name}", asset),
        Route("/api/info", answer(info)),
        Route("/api/points", answer(points)),
        Route("/api/decode", answer(decode), methods=["POST"]),
        Route("/api/interpolate", answer(interpolate)),
        Route("/api/samples", answer(samples)),
        Route("/api/anomalies", answer(anomalies)),
    ]
    return Starlette(routes=routes, exception_handlers={HTTPException: http_error},
                     middleware=[Middleware(TrustedHostMiddleware, allowed_hosts=list(hosts))])  # fmt: skip

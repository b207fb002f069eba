"""The one-click unsubscribe service: a small Starlette app served by uvicorn.

- `POST /u/{token}` is RFC 8058's one-click request (mail clients send the form body
  `List-Unsubscribe=One-Click`): no confirmation, the suppression and the `unsubscribed` outcome are recorded in
  one transaction before the answer (200), so the very next send honours it. The signed token, not the form
  body, authorises it: a POST with a genuine token is never refused for a missing field. No redirect (RFC 8058
  forbids one).
- `GET /u/{token}` shows a page with a button that POSTs the same form; it records nothing, because link
  scanners and mail previews fetch URLs without a person asking.
- `GET /healthz` answers `ok`.

A genuine token for a contact no longer on file (purged) answers the same page and records nothing: the address
is gone, and a purge kept any earlier suppression as a hash. TLS is terminated by the proxy in front.

A forged or altered token answers 400, an expired one 410, with a plain sentence, and nothing is recorded. No
token, address or contact id reaches a log line: uvicorn's access log is off and this app logs the route's
template (`/u/{token}`), the status and the organisation and campaign only. Answers carry `Cache-Control:
no-store` and `Referrer-Policy: no-referrer` (the token is in the URL).
"""

from __future__ import annotations

import html
import logging
import time
from collections.abc import Callable
from datetime import datetime

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import HTMLResponse, PlainTextResponse, Response
from starlette.routing import Route

from backbeat.outreach.suppression import honour_unsubscribe
from backbeat.outreach.unsubscribe import TokenRefused, check_key, read_token
from integrations.warehouse import Warehouse

log = logging.getLogger("backbeat.outreach.unsubscribe")

HEADERS = {
    "Cache-Control": "no-store",
    "Referrer-Policy": "no-referrer",
    "X-Robots-Tag": "noindex",
    "X-Content-Type-Options": "nosniff",
}
SOURCE = "one_click"

_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width">
<meta name="robots" content="noindex"><title>{title}</title></head>
<body style="font-family: sans-serif; max-width: 32em; margin: 3em auto">
<h1>{title}</h1>{body}</body></html>
"""
_CONFIRM = """<p>Click the button to stop receiving these emails.</p>
<form method="post" action="">
<input type="hidden" name="List-Unsubscribe" value="One-Click">
<button type="submit">Unsubscribe</button></form>"""


def _page(title: str, body: str, status: int = 200) -> HTMLResponse:
    return HTMLResponse(_PAGE.format(title=html.escape(title), body=body), status_code=status, headers=HEADERS)


def create_app(warehouse: Warehouse, key: str | bytes, *, clock: Callable[[], datetime] | None = None) -> Starlette:
    """The app recording unsubscribes in `warehouse`, reading tokens signed with `key`.

    `clock` (naive UTC now) is for tests that need an expired token without waiting.
    """
    check_key(key)

    def now() -> datetime | None:
        return clock() if clock else None

    def refused(exc: TokenRefused) -> PlainTextResponse:
        return PlainTextResponse(exc.reason + "\n", status_code=exc.status_code, headers=HEADERS)

    async def confirm(request: Request) -> Response:
        try:
            read_token(key, request.path_params["token"], now=now())
        except TokenRefused as exc:
            log.info("GET /u/{token} refused: %s", exc.reason)
            return refused(exc)
        return _page("Unsubscribe", _CONFIRM)

    async def one_click(request: Request) -> Response:
        try:
            claim = read_token(key, request.path_params["token"], now=now())
        except TokenRefused as exc:
            log.info("POST /u/{token} refused: %s", exc.reason)
            return refused(exc)
        started = time.monotonic()
        result = await run_in_threadpool(
            honour_unsubscribe, warehouse, claim.org_id, claim.contact_id, claim.campaign_id, source=SOURCE
        )
        log.info(
            "POST /u/{token} org=%s campaign=%s known=%s new=%s in %.0f ms",
            claim.org_id,
            claim.campaign_id,
            result.known,
            result.newly_suppressed,
            (time.monotonic() - started) * 1000,
        )
        return _page("You are unsubscribed", "<p>You will not receive these emails any more.</p>")

    async def healthz(request: Request) -> Response:
        return PlainTextResponse("ok\n", headers=HEADERS)

    return Starlette(
        routes=[
            Route("/u/{token}", confirm, methods=["GET"]),
            Route("/u/{token}", one_click, methods=["POST"]),
            Route("/healthz", healthz, methods=["GET"]),
        ]
    )


def serve(host: str, port: int, warehouse_url: str, key: str | bytes, *, log_level: str = "info") -> None:
    """Run the service with uvicorn until interrupted (`backbeat outreach unsubscribe-server`).

    `key` is the unsubscribe key (the CLI reads `BACKBEAT_UNSUBSCRIBE_KEY`, else `BACKBEAT_SECRET_KEY`).
    """
    import uvicorn

    logging.basicConfig(level=log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    app = create_app(Warehouse(warehouse_url), key)
    uvicorn.run(app, host=host, port=port, access_log=False, log_level=log_level, proxy_headers=True)

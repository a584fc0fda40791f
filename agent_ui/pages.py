"""The browser pages: the agent panel (``/``, ``/panel``), the wallboard (``/wallboard``) and
the supervisors' reports (``/reports``, charts with Chart.js from ``node_modules``).

Static files only (HTML, JS, CSS in ``agent_ui/static``, the JsSIP browser bundle from
``agent_ui/node_modules``, installed by ``scripts/bootstrap``); every piece of data reaches
the page through the existing API and WebSocket with the token the page keeps in
sessionStorage. These routes are not under ``/api`` and not in the OpenAPI document.

One JSON route lives here, ``GET /panel/config``: what the page needs besides the API —
pause reasons and the softphone's SIP account (WSS address, ``agent-<login>`` and its
password). It answers only with a valid Bearer token (``/panel*`` is public in the auth
middleware, so it checks the token itself).

Every page is served with a strict Content-Security-Policy: scripts from this origin only,
no inline script, so data that slips into markup still cannot run.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from aiohttp import web

HERE = Path(__file__).resolve().parent
STATIC = HERE / "static"
JSSIP_BUNDLE = HERE / "node_modules" / "jssip" / "dist" / "jssip.min.js"
CHART_BUNDLE = HERE / "node_modules" / "chart.js" / "dist" / "chart.umd.min.js"
STATIC_NAME = re.compile(r"^[a-z][a-z0-9_-]{0,40}\.(js|css|html|svg)$")
TYPES = {"js": "text/javascript", "css": "text/css", "html": "text/html", "svg": "image/svg+xml"}
SOFTPHONE_ROLES = ("agent", "supervisor")


_HOST = re.compile(r"^(?:[A-Za-z0-9.-]{1,253}|\[[0-9A-Fa-f:.]{2,45}\])$")


def softphone_wss_url(request: web.Request) -> str:
    """The agents' softphone WebSocket: ``[asterisk] wss_url``, else the host the browser
    used with ``wss_port``. The Host header is the browser's (hostile) input: anything
    but a plain host name or address falls back to the configured sip_bind."""
    from telephony.web import SERVICE_KEY

    a = request.app[SERVICE_KEY].config.asterisk
    if a.wss_url:
        return a.wss_url
    host = request.url.host or ""
    if not _HOST.match(host):
        host = a.sip_bind
    return f"wss://{host}:{a.wss_port}/ws"


def _origin(url: str) -> str:
    """``wss://host:port/ws`` -> ``wss://host:port`` (a CSP source expression)."""
    scheme, _, rest = url.partition("://")
    return f"{scheme}://{rest.split('/', 1)[0]}"


def _headers(kind: str, wss: str = "") -> dict[str, str]:
    headers = {
        "Content-Type": f"{TYPES[kind]}; charset=utf-8",
        "X-Content-Type-Options": "nosniff",
        "Referrer-Policy": "no-referrer",
        "Cache-Control": "no-store" if kind == "html" else "no-cache",
    }
    if kind == "html":
        headers["Content-Security-Policy"] = (
            "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
            f"connect-src 'self' {_origin(wss)}".rstrip() + "; "
            "media-src 'self' blob:; base-uri 'none'; "
            "form-action 'none'; frame-ancestors 'none'")
        headers["X-Frame-Options"] = "DENY"
    return headers


def _file(path: Path, wss: str = "") -> web.Response:
    kind = path.suffix.lstrip(".")
    try:
        body = path.read_bytes()
    except FileNotFoundError:
        raise web.HTTPNotFound() from None
    return web.Response(body=body, headers=_headers(kind, wss))


def _page(request: web.Request, name: str) -> web.Response:
    """An HTML page whose CSP lets it connect to this origin and the softphone WSS only
    (not any ws:/wss: host: a script slipped into a page cannot phone home over it)."""
    return _file(STATIC / name, softphone_wss_url(request))


async def panel(request: web.Request) -> web.Response:
    return _page(request, "panel.html")


async def wallboard(request: web.Request) -> web.Response:
    return _page(request, "wallboard.html")


async def reports(request: web.Request) -> web.Response:
    return _page(request, "reports.html")


async def scripts_editor(_request: web.Request) -> web.Response:
    """The call-script editor (supervisors and admins; the API checks the role)."""
    return _file(STATIC / "scripts.html")


async def chart_bundle(_request: web.Request) -> web.Response:
    """Chart.js, pinned in package-lock.json (the reports page draws without a CDN)."""
    if not CHART_BUNDLE.is_file():
        raise web.HTTPNotFound()
    return _file(CHART_BUNDLE)


async def static(request: web.Request) -> web.Response:
    name = request.match_info["name"]
    if not STATIC_NAME.match(name) or name.endswith(".html"):
        raise web.HTTPNotFound()
    return _file(STATIC / name)


async def jssip(_request: web.Request) -> web.Response:
    if not JSSIP_BUNDLE.is_file():
        # The panel still works without it (pop, states); its softphone says so.
        raise web.HTTPNotFound()
    return _file(JSSIP_BUNDLE)


async def panel_config(request: web.Request) -> web.Response:
    from telephony.asterisk_conf import agent_sip_password
    from telephony.auth import bearer
    from telephony.config import ConfigError
    from telephony.web import SERVICE_KEY

    service = request.app[SERVICE_KEY]
    who = await service.sessions.resolve(bearer(request))
    if who is None:
        return web.json_response(
            {"error": {"code": "unauthorised", "message": "log in first (Bearer token)"}},
            status=401, headers={"WWW-Authenticate": "Bearer", "Cache-Control": "no-store"})
    login, role = who["login"], who["role"]
    record = await service.agents_repo.get(login)
    softphone: dict[str, Any] | None = None
    problem = ""
    if role in SOFTPHONE_ROLES and any(a.login == login for a in service.config.agents):
        try:
            password = agent_sip_password(login)
        except ConfigError:
            password, problem = "", "geen SIP-wachtwoord geconfigureerd (KCC_SIP_SECRET)"
        if password:
            # The host the browser used to reach us: the PBX's WSS listens beside it.
            wss = softphone_wss_url(request)
            host = _origin(wss).split("://", 1)[1].rsplit(":", 1)[0]
            softphone = {
                "wss_url": wss,
                "uri": f"sip:agent-{login}@{host}",
                "username": f"agent-{login}", "password": password,
                "display_name": record.name if record else login,
                # PJSIP drops an idle WSS connection after ~32 s: register every 60 s
                # and ping every 20 s (JsSIP's session timers/keepalive).
                "register_expires": 60, "keepalive_seconds": 20}
    elif role in SOFTPHONE_ROLES:
        problem = "geen softphone-account voor deze medewerker in de PBX-configuratie"
    return web.json_response({
        "login": login, "role": role, "name": record.name if record else login,
        "endpoint": record.endpoint if record else "",
        "pause_reasons": list(service.config.acd.pause_reasons),
        # Where a call may be transferred to (POST /api/calls/{id}/transfer checks again).
        "transfer_targets": [{"to": q.id, "label": q.name} for q in service.config.queues]
        + [{"to": f"agent-{a.login}", "label": a.name} for a in service.config.agents
           if a.role in SOFTPHONE_ROLES and a.login != login],
        "max_transfers": service.config.kcc.max_transfers,
        "softphone": softphone, "softphone_problem": problem,
    }, headers={"Cache-Control": "no-store"})


PAGE_ROUTES: list[tuple[str, str, Any]] = [
    ("GET", "/", panel),
    ("GET", "/panel", panel),
    ("GET", "/panel/config", panel_config),
    ("GET", "/wallboard", wallboard),
    ("GET", "/reports", reports),
    ("GET", "/panel/scripts", scripts_editor),
    ("GET", "/static/vendor/jssip.min.js", jssip),
    ("GET", "/static/vendor/chart.umd.min.js", chart_bundle),
    ("GET", "/static/{name}", static),
]


def add_page_routes(app: web.Application) -> None:
    for method, path, handler in PAGE_ROUTES:
        app.router.add_route(method, path, handler)

"""HTTP API of the supervisor reports: queues, agents and callbacks per day.

``GET /api/reports/{queues,agents,callbacks}?from=YYYY-MM-DD&to=YYYY-MM-DD[&format=csv]``,
supervisors and admins only. Days are local days of ``[kcc] timezone``; ``from`` and ``to``
are inclusive, at most 93 days. Errors are JSON ``{"error": {"code", "message"}}``: 400
bad dates/format, 401 not logged in, 403 not a supervisor.

Definitions (the same as the live wallboard, ``telephony/acd/stats.py``; see
``telephony/reports/queries.py`` for the SQL):

* service level = answered within the queue's ``service_level_seconds`` ÷ (answered +
  abandoned + callbacks reached), abandons shorter than ``[acd] short_abandon_seconds``
  left out (reported as ``short_abandoned``); ASA = mean wait of answered calls; waits
  from when the call first queued;
* first-contact resolution (proxy) = answered calls with no (counted) transfer and no
  terugbelnotitie made for the call, ÷ answered; a transfer the dialplan refused is not
  counted (``calls.transfer_count``);
* agents: a state lasts until the agent's next ``agent_state_log`` row (the last until
  now), clipped to the day; wrap-up is the ``nawerk`` pause; AHT = (talk + wrap-up) ÷
  calls answered that day;
* callbacks: the promised term is ``taken.deadline`` for terugbelnotities and
  ``callbacks.window_end`` for terugbelafspraken; a keep-my-place callback has none.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Awaitable, Callable
from datetime import UTC, date, datetime
from typing import TYPE_CHECKING, Any

from aiohttp import web

from telephony.acd.service import WRAPUP_REASON
from telephony.auth import require_role
from telephony.reports import queries

if TYPE_CHECKING:
    from telephony.service import KccService

MAX_DAYS = 93


class _Bad(ValueError):
    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


def _error(status: int, code: str, message: str) -> web.Response:
    return web.json_response({"error": {"code": code, "message": message}}, status=status)


def _service(request: web.Request) -> KccService:
    from telephony.web import SERVICE_KEY

    return request.app[SERVICE_KEY]


def parse_range(query: Any) -> tuple[date, date, str]:
    """``from``/``to`` (inclusive local days) and ``format``; raises ``_Bad``."""
    out = []
    for key in ("from", "to"):
        raw = query.get(key)
        if not raw:
            raise _Bad("bad_date", f"{key} is required (YYYY-MM-DD)")
        try:
            if len(raw) != 10:
                raise ValueError
            out.append(date.fromisoformat(raw))
        except ValueError:
            raise _Bad("bad_date", f"{key} must be a date YYYY-MM-DD") from None
    start, end = out
    if start > end:
        raise _Bad("bad_range", "from must not be after to")
    if (end - start).days + 1 > MAX_DAYS:
        raise _Bad("bad_range", f"at most {MAX_DAYS} days per report")
    fmt = query.get("format", "json")
    if fmt not in ("json", "csv"):
        raise _Bad("bad_format", "format must be json or csv")
    return start, end, fmt


def _ratio(num: float, den: float) -> float | None:
    return round(num / den, 3) if den else None


def _r1(value: float | None) -> float | None:
    return None if value is None else round(float(value), 1)


def shape_queues(rows: list[dict[str, Any]], targets: dict[str, float]) -> list[dict[str, Any]]:
    out = []
    for r in rows:
        answered, cb = r["answered"], r["callbacks_reached"]
        sl = _ratio(r["answered_within"] + r["callbacks_within"],
                    answered + r["abandoned"] + cb)
        target = targets.get(r["queue"])
        out.append({
            "day": r["day"].isoformat(), "queue": r["queue"],
            "offered": r["offered"], "answered": answered, "abandoned": r["abandoned"],
            "short_abandoned": r["short_abandoned"],
            "left_for_callback": r["left_for_callback"],
            "callbacks_reached": cb,
            "service_level": sl, "service_level_target": target,
            "service_level_met": None if sl is None or target is None else sl >= target,
            "asa": _r1(r["answered_wait_sum"] / answered) if answered else None,
            "avg_wait": _r1(r["avg_wait"]), "max_wait": _r1(r["max_wait"]),
            "avg_talk": _r1(r["avg_talk"]),
            "transfers": int(r["transfers"]),
            "transferred_calls": r["transferred_calls"],
            "transferred_share": _ratio(r["transferred_calls"], answered),
            "first_contact_resolution": _ratio(r["resolved_first_contact"], answered),
            "callback_requests": r["callback_requests"],
        })
    return out


def shape_agents(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    table: dict[tuple[str, str], dict[str, Any]] = {}
    for r in rows:
        key = (r["day"].isoformat(), r["agent"])
        a = table.setdefault(key, {
            "day": key[0], "agent": key[1], "logged_in": 0.0, "available": 0.0,
            "ringing": 0.0, "on_call": 0.0, "wrap_up": 0.0, "unavailable": 0.0,
            "paused": {}, "calls_answered": 0, "talk": 0.0, "aht": None})
        secs = float(r["seconds"])
        if r["kind"] == "calls":
            a["calls_answered"] += int(r["calls"])
            a["talk"] += secs
            continue
        a["logged_in"] += secs
        state, reason = r["state"], r["reason"]
        if (state == "paused" and reason == WRAPUP_REASON) or state == "wrap_up":
            a["wrap_up"] += secs
        elif state == "paused":
            a["paused"][reason or "onbekend"] = a["paused"].get(reason or "onbekend", 0.0) + secs
        elif state in a:
            a[state] += secs
        else:  # a state this report does not know yet: still logged-in time
            a["paused"].setdefault("other:" + state, 0.0)
            a["paused"]["other:" + state] += secs
    out = []
    for a in table.values():
        if a["calls_answered"]:
            a["aht"] = round((a["talk"] + a["wrap_up"]) / a["calls_answered"], 1)
        for k in ("logged_in", "available", "ringing", "on_call", "wrap_up", "unavailable",
                  "talk"):
            a[k] = round(a[k], 1)
        a["paused"] = {k: round(v, 1) for k, v in sorted(a["paused"].items())}
        out.append(a)
    return sorted(out, key=lambda a: (a["day"], a["agent"]))


def shape_callbacks(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [{**r, "day": r["day"].isoformat()} for r in rows]


def to_csv(rows: list[dict[str, Any]]) -> bytes:
    """Excel as Dutch offices have it: ``;`` separated, decimal comma, UTF-8 with BOM."""
    flat = []
    for r in rows:
        f: dict[str, Any] = {}
        for k, v in r.items():
            if isinstance(v, dict):
                for sub, val in v.items():
                    f[f"{k}_{sub}"] = val
            else:
                f[k] = v
        flat.append(f)
    columns: list[str] = []
    for f in flat:
        columns.extend(k for k in f if k not in columns)
    buf = io.StringIO()
    writer = csv.writer(buf, delimiter=";", lineterminator="\r\n")
    writer.writerow(columns)
    for f in flat:
        writer.writerow([_cell(f.get(c)) for c in columns])
    return ("\ufeff" + buf.getvalue()).encode("utf-8")


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "ja" if value else "nee"
    if isinstance(value, float):
        return repr(value).replace(".", ",")
    return str(value)


def _answer(name: str, start: date, end: date, fmt: str, tz: str,
            rows: list[dict[str, Any]]) -> web.Response:
    if fmt == "csv":
        return web.Response(body=to_csv(rows), content_type="text/csv", charset="utf-8",
                            headers={"Content-Disposition": f'attachment; filename="{name}-'
                                     f'{start.isoformat()}-{end.isoformat()}.csv"'})
    return web.json_response({"from": start.isoformat(), "to": end.isoformat(),
                              "timezone": tz, "rows": rows})


Rows = list[dict[str, Any]]
Build = Callable[["KccService", date, date, str], Awaitable[Rows]]


def _report(title: str, build: Build) -> Callable[[web.Request], Awaitable[web.Response]]:
    """A report handler: supervisors only, the date range checked, JSON or CSV."""
    async def handler(request: web.Request) -> web.Response:
        require_role(request, "supervisor", "admin")
        try:
            start, end, fmt = parse_range(request.query)
        except _Bad as exc:
            return _error(400, exc.code, str(exc))
        service = _service(request)
        tz = service.config.kcc.timezone
        return _answer(title, start, end, fmt, tz, await build(service, start, end, tz))
    return handler


async def _queues(service: KccService, start: date, end: date, tz: str) -> Rows:
    cfg = service.config
    rows = await queries.queue_rows(
        service.pool, start, end, tz, cfg.acd.short_abandon_seconds,
        {q.id: q.service_level_seconds for q in cfg.queues})
    return shape_queues(rows, {q.id: q.service_level_target for q in cfg.queues})


async def _agents(service: KccService, start: date, end: date, tz: str) -> Rows:
    return shape_agents(await queries.agent_rows(service.pool, start, end, tz,
                                                 datetime.now(UTC)))


async def _callbacks(service: KccService, start: date, end: date, tz: str) -> Rows:
    return shape_callbacks(await queries.callback_rows(service.pool, start, end, tz,
                                                       datetime.now(UTC)))


queues_report = _report("wachtrijen", _queues)
agents_report = _report("medewerkers", _agents)
callbacks_report = _report("terugbellen", _callbacks)


ROUTES: list[tuple[str, str, Any]] = [
    ("GET", "/api/reports/queues", queues_report),
    ("GET", "/api/reports/agents", agents_report),
    ("GET", "/api/reports/callbacks", callbacks_report),
]

_PARAMS = [
    {"name": "from", "in": "query", "required": True,
     "schema": {"type": "string", "format": "date"}, "description": "first local day"},
    {"name": "to", "in": "query", "required": True,
     "schema": {"type": "string", "format": "date"},
     "description": "last local day (inclusive), at most 93 days after from"},
    {"name": "format", "in": "query", "required": False,
     "schema": {"type": "string", "enum": ["json", "csv"], "default": "json"},
     "description": "csv: ';' separated, decimal comma, UTF-8 BOM (Dutch Excel)"},
]
_R = {"200": {"description": "rows per day",
              "content": {"application/json": {"schema": {"type": "object"}},
                          "text/csv": {}}},
      "400": {"description": "bad_date, bad_range or bad_format"},
      "401": {"description": "not logged in"},
      "403": {"description": "supervisors and admins only"}}
OPENAPI_PATHS: dict[str, Any] = {
    "/api/reports/queues": {"get": {
        "summary": "Per queue per day: offered, answered, abandoned (short ones apart), "
                   "service level vs target, ASA, waits, talk, transfers, FCR proxy, "
                   "callback requests (wallboard definitions)",
        "parameters": _PARAMS, "responses": _R}},
    "/api/reports/agents": {"get": {
        "summary": "Per agent per day: logged in, available, on call, wrap-up, pauses per "
                   "reason (seconds), calls answered, AHT",
        "parameters": _PARAMS, "responses": _R}},
    "/api/reports/callbacks": {"get": {
        "summary": "Per day and kind: callbacks requested, done within the promised term, "
                   "late, open past the deadline",
        "parameters": _PARAMS, "responses": _R}},
}

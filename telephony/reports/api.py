"""HTTP API of the supervisor reports.

``GET /api/reports/contacts?from=YYYY-MM-DD&to=YYYY-MM-DD&by=day|week|month|hour|total
&group=queue|subject|channel|outcome|total[&format=csv]`` — every figure of
``telephony/reports/definitions.py`` (the wallboard's and the metrics' definitions) per
period (or per hour of the day) and per queue, subject, channel or registered outcome.
``/api/reports/queues`` is the same per day and queue; ``/api/reports/agents`` and
``/api/reports/callbacks`` per day. Supervisors and admins only. Days are local days of
``[kcc] timezone``; ``from`` and ``to`` are inclusive, at most 93 days per day or hour
report and 366 for weeks, months and totals. Errors are JSON ``{"error": {"code",
"message"}}``: 400 bad dates/format/grouping, 401 not logged in, 403 not a supervisor.

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
from datetime import UTC, date, datetime, time, timedelta
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from aiohttp import web

from telephony.acd.service import WRAPUP_REASON
from telephony.auth import require_role
from telephony.reports import aggregates, definitions, queries

if TYPE_CHECKING:
    from telephony.service import KccService

MAX_DAYS = 93
MAX_DAYS_LONG = 366
PERIODS = ("day", "week", "month", "hour", "total")
GROUPS = ("queue", "subject", "channel", "outcome", "total")


class _Bad(ValueError):
    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


def _error(status: int, code: str, message: str) -> web.Response:
    return web.json_response({"error": {"code": code, "message": message}}, status=status)


def _service(request: web.Request) -> KccService:
    from telephony.web import SERVICE_KEY

    return request.app[SERVICE_KEY]


def parse_range(query: Any, max_days: int = MAX_DAYS) -> tuple[date, date, str]:
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
    if (end - start).days + 1 > max_days:
        raise _Bad("bad_range", f"at most {max_days} days per report")
    fmt = query.get("format", "json")
    if fmt not in ("json", "csv"):
        raise _Bad("bad_format", "format must be json or csv")
    return start, end, fmt


def _choice(query: Any, key: str, allowed: tuple[str, ...], default: str) -> str:
    value = query.get(key, default)
    if value not in allowed:
        raise _Bad(f"bad_{key}", f"{key} must be one of {', '.join(allowed)}")
    return value


def local_bounds(tz: str, start: date, end: date) -> tuple[datetime, datetime]:
    """[start 00:00, end + 1 day 00:00) local, as aware datetimes."""
    zone = ZoneInfo(tz)
    return (datetime.combine(start, time(), zone),
            datetime.combine(end + timedelta(days=1), time(), zone))


def _label(value: Any) -> Any:
    return value.isoformat() if isinstance(value, date) else value


def shape_contacts(rows: list[dict[str, Any]], dims: list[str]) -> list[dict[str, Any]]:
    """One row per group: its dimensions, counters and derived figures."""
    return [{**{d: _label(r[d]) for d in dims}, **definitions.figures(r)} for r in rows]


def shape_queues(rows: list[dict[str, Any]], targets: dict[str, float]) -> list[dict[str, Any]]:
    """Per day and queue, with the queue's service-level target and whether it was met."""
    out = []
    for r in shape_contacts(rows, ["day", "queue"]):
        target = targets.get(r["queue"])
        sl = r["service_level"]
        out.append({**r, "service_level_target": target,
                    "service_level_met": None if sl is None or target is None
                    else sl >= target})
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


async def contact_rows(service: KccService, start: date, end: date, by: str,
                       group: str) -> Rows:
    dims = [d for d in (by, group) if d != "total"]
    rows = await aggregates.fetch(service.pool, service.config, start, end, dims)
    if not dims:  # one total row, also when there were no contacts at all
        return [definitions.figures(definitions.add(rows))]
    return shape_contacts(rows, dims)


async def contacts_report(request: web.Request) -> web.Response:
    require_role(request, "supervisor", "admin")
    try:
        by = _choice(request.query, "by", PERIODS, "day")
        group = _choice(request.query, "group", GROUPS, "queue")
        start, end, fmt = parse_range(request.query,
                                      MAX_DAYS if by in ("day", "hour") else MAX_DAYS_LONG)
    except _Bad as exc:
        return _error(400, exc.code, str(exc))
    service = _service(request)
    rows = await contact_rows(service, start, end, by, group)
    return _answer(f"contacten-{by}-{group}", start, end, fmt, service.config.kcc.timezone,
                   rows)


async def _queues(service: KccService, start: date, end: date, tz: str) -> Rows:
    cfg = service.config
    rows = await aggregates.fetch(service.pool, cfg, start, end, ["day", "queue"])
    rows = [r for r in rows if r["queue"]]  # the IVR's self-service has no queue
    return shape_queues(rows, {q.id: q.service_level_target for q in cfg.queues})


async def _agents(service: KccService, start: date, end: date, tz: str) -> Rows:
    return shape_agents(await queries.agent_rows(service.pool, start, end, tz,
                                                 datetime.now(UTC)))


async def _callbacks(service: KccService, start: date, end: date, tz: str) -> Rows:
    return shape_callbacks(await queries.callback_rows(service.pool, start, end, tz,
                                                       datetime.now(UTC)))


async def _registration(service: KccService, start: date, end: date, tz: str) -> Rows:
    return await queries.registration_rows(service.pool, start, end, tz)


async def _refusals(service: KccService, start: date, end: date, tz: str) -> Rows:
    return await queries.refusal_rows(service.pool, start, end, tz)


queues_report = _report("wachtrijen", _queues)
registration_report = _report("registratie", _registration)
refusals_report = _report("weigeringen", _refusals)
agents_report = _report("medewerkers", _agents)
callbacks_report = _report("terugbellen", _callbacks)


ROUTES: list[tuple[str, str, Any]] = [
    ("GET", "/api/reports/contacts", contacts_report),
    ("GET", "/api/reports/queues", queues_report),
    ("GET", "/api/reports/agents", agents_report),
    ("GET", "/api/reports/callbacks", callbacks_report),
    ("GET", "/api/reports/registration", registration_report),
    ("GET", "/api/reports/refusals", refusals_report),
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
_BY = [
    {"name": "by", "in": "query", "required": False,
     "schema": {"type": "string", "enum": list(PERIODS), "default": "day"},
     "description": "period: day, week, month, hour of the day, or one total"},
    {"name": "group", "in": "query", "required": False,
     "schema": {"type": "string", "enum": list(GROUPS), "default": "queue"},
     "description": "per queue, IVR subject, channel (direct, callback, ivr) or outcome"},
]
OPENAPI_PATHS: dict[str, Any] = {
    "/api/reports/contacts": {"get": {
        "summary": "Contacts per period (day/week/month/hour of day) and queue, subject, "
                   "channel or outcome: offered, answered, abandoned (short apart), SL, "
                   "ASA, AHT, abandon rate, transfers and refused transfers, registration, "
                   "FCR by outcome and by repeat calls, call-backs on time "
                   "(definitions: telephony/reports/definitions.py)",
        "parameters": [*_PARAMS, *_BY],
        "responses": {**_R, "400": {"description": "bad_date, bad_range, bad_format, "
                                                   "bad_by or bad_group"}}}},
    "/api/reports/queues": {"get": {
        "summary": "Per queue per day: the contacts report's figures with the queue's "
                   "service-level target and whether it was met",
        "parameters": _PARAMS, "responses": _R}},
    "/api/reports/agents": {"get": {
        "summary": "Per agent per day: logged in, available, on call, wrap-up, pauses per "
                   "reason (seconds), calls answered, AHT",
        "parameters": _PARAMS, "responses": _R}},
    "/api/reports/callbacks": {"get": {
        "summary": "Per day and kind: callbacks requested, done within the promised term, "
                   "late, open past the deadline",
        "parameters": _PARAMS, "responses": _R}},
    "/api/reports/registration": {"get": {
        "summary": "Per day, agent, queue and kanaal: contactmomenten, registered with an "
                   "outcome, left onvolledig, open, resolved, completeness",
        "parameters": _PARAMS, "responses": _R}},
    "/api/reports/refusals": {"get": {
        "summary": "Per day and rule: actions the call-script rules refused (action, code), "
                   "and by how many agents",
        "parameters": _PARAMS, "responses": _R}},
}

"""Time windows a caller can choose in the IVR for a terugbelafspraak: the next working
day's morning or afternoon, cut to the opening hours (so nothing is ever promised for
when the KCC is closed)."""

from __future__ import annotations

from datetime import datetime, time
from zoneinfo import ZoneInfo

from ivr.hours import Hours

NOON = time(12, 0)


def next_day_windows(hours: Hours, tz: str, now: datetime) -> dict[str, tuple[datetime,
                                                                             datetime]]:
    """{"morning": (start, end), "afternoon": (...)} on the next working day; a part of
    the day when the KCC is closed is left out."""
    zone = ZoneInfo(tz)
    day = hours.add_working_days(now.astimezone(zone).date(), 1)
    noon = datetime.combine(day, NOON)
    out: dict[str, tuple[datetime, datetime]] = {}
    for begin, end in hours.open_intervals(day):
        for name, lo, hi in (("morning", begin, min(end, noon)),
                             ("afternoon", max(begin, noon), end)):
            if lo < hi and name not in out:
                out[name] = (lo.replace(tzinfo=zone), hi.replace(tzinfo=zone))
    return out

"""The history grid's filters from a request's query, as the page keeps them in its URL:
`since`, `until` (YYYY-MM-DD, inclusive), `bureau` (part of its name), `press`, `state`
(repeatable), `name` (a leading "-" excludes). Without either date, the last 60 days;
`since=` empty means from the first job."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from multidict import MultiMapping

from asyncpdf.domain.lifecycle import JobState
from asyncpdf.errors import BadRequest
from asyncpdf.store.history import HistoryFilter

DEFAULT_DAYS = 60
MAX_TEXT = 200


def _day(query: MultiMapping[str], name: str) -> date | None:
    raw = query.get(name, "")
    if not raw:
        return None
    try:
        return date.fromisoformat(raw)
    except ValueError:
        raise BadRequest(f"{name} must be a date as YYYY-MM-DD, not {raw!r}") from None


def _text(query: MultiMapping[str], name: str) -> str | None:
    raw = query.get(name, "").strip()
    if len(raw) > MAX_TEXT:
        raise BadRequest(f"{name} must be at most {MAX_TEXT} characters")
    return raw or None


def history_filter(query: MultiMapping[str], today: date) -> HistoryFilter:
    since = _day(query, "since")
    until = _day(query, "until")
    if "since" not in query and "until" not in query:
        since = today - timedelta(days=DEFAULT_DAYS - 1)
    if since and until and since > until:
        raise BadRequest(f"since ({since}) is after until ({until})")
    states = []
    for raw in query.getall("state", []):
        for value in filter(None, raw.split(",")):
            try:
                states.append(JobState(value))
            except ValueError:
                known = ", ".join(state.value for state in JobState)
                raise BadRequest(f"state must be one of {known}, not {value!r}") from None
    return HistoryFilter(
        since=since,
        until=until,
        bureau=_text(query, "bureau"),
        press=_text(query, "press"),
        states=tuple(dict.fromkeys(states)),
        name=_text(query, "name"),
    )


def described(found: HistoryFilter) -> str:
    """The filters in words, for the head of a CSV: "since 2026-03-01, bureau Leo"."""
    parts = [
        f"since {found.since}" if found.since else "from the first job",
        f"until {found.until}" if found.until else "",
        f"bureau {found.bureau}" if found.bureau else "",
        f"press {found.press}" if found.press else "",
        f"state {' or '.join(state.value for state in found.states)}" if found.states else "",
        f"name {found.name}" if found.name else "",
    ]
    return ", ".join(part for part in parts if part)


def as_json(found: HistoryFilter) -> dict[str, Any]:
    return {
        "since": found.since.isoformat() if found.since else None,
        "until": found.until.isoformat() if found.until else None,
        "bureau": found.bureau,
        "press": found.press,
        "state": [state.value for state in found.states],
        "name": found.name,
    }

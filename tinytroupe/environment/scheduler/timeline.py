"""Time on the scheduler's timeline: instants (aware times compared in UTC, naive times as they are),
lead times (``"2h"``, ``"30m"``, ``"1d"``, or minutes) and :class:`Recurrence`, an event's occurrences
by an RFC 5545 RRULE (``python-dateutil``), found in windows that move forward without walking the rule
again from its first occurrence at every step.

Wall time and instants: an occurrence of a rule whose start has a time zone is a wall time in that zone
(a daily 09:00 in ``Europe/Lisbon`` stays 09:00 across the daylight-saving changes); windows are compared
as instants, so a step whose clock is aware delivers each occurrence once whatever zone the clock is in.
A wall time that does not exist (the hour skipped in March) is read with the offset before the gap, and
an ambiguous one (the hour repeated in October) as its first instance, as RFC 5545 says.

Example:
    >>> from datetime import datetime
    >>> every_month_end = Recurrence(datetime(2025, 1, 31, 9), "FREQ=MONTHLY;BYMONTHDAY=-1")
    >>> [t.date().isoformat() for t in every_month_end.between(datetime(2025, 2, 1), datetime(2025, 4, 30, 9))]
    ['2025-02-28', '2025-03-31', '2025-04-30']
    >>> parse_lead("1h30m"), parse_lead(15)
    (datetime.timedelta(seconds=5400), datetime.timedelta(seconds=900))
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

from dateutil.rrule import rrule, rrulestr

from tinytroupe.errors import InvalidArgument

#: the longest reminder lead time
MAX_LEAD = timedelta(days=366)
# How far before a window a rule's walk starts: wall times near a daylight-saving change can sort
# up to an offset change (at most a few hours anywhere) away from their instants.
_MARGIN = timedelta(hours=6)
_LEAD = re.compile(r"^\s*(?:(\d+)\s*d)?\s*(?:(\d+)\s*h)?\s*(?:(\d+)\s*m(?:in)?)?\s*$")
# RRULE parts; DTSTART comes from the event's start, and EXDATE/RDATE from the scheduler's own fields.
_RULE_PARTS = {"FREQ", "UNTIL", "COUNT", "INTERVAL", "BYSECOND", "BYMINUTE", "BYHOUR", "BYDAY", "BYMONTHDAY",
               "BYYEARDAY", "BYWEEKNO", "BYMONTH", "BYSETPOS", "WKST"}


def instant(value: datetime) -> datetime:
    """``value`` as a point on the timeline: aware times in UTC, naive ones as they are."""
    return value.astimezone(UTC) if value.tzinfo is not None else value


def same_kind(a: datetime, b: datetime) -> bool:
    """Whether both times are naive or both aware (only those can be compared)."""
    return (a.tzinfo is None) == (b.tzinfo is None)


def parse_lead(value: int | str | timedelta) -> timedelta:
    """A reminder's lead time: a timedelta, minutes, or text like ``"30m"``, ``"2h"``, ``"1d"``, ``"1h30m"``.

    Raises:
        InvalidArgument: not one of those, not positive, or over a year.
    """
    if isinstance(value, timedelta):
        lead = value
    elif isinstance(value, int) and not isinstance(value, bool):
        lead = timedelta(minutes=value)
    elif isinstance(value, str) and (match := _LEAD.match(value)) and any(match.groups()):
        days, hours, minutes = (int(g or 0) for g in match.groups())
        lead = timedelta(days=days, hours=hours, minutes=minutes)
    else:
        raise InvalidArgument(f"reminder {value!r}: write minutes (15) or a duration like '30m', '2h', '1d', '1h30m'")
    if not timedelta(0) < lead <= MAX_LEAD:
        raise InvalidArgument(f"reminder {value!r}: must be more than 0 and at most a year before the event")
    return lead


def parse_rule(text: str, start: datetime) -> rrule:
    """The RFC 5545 RRULE ``text`` (``FREQ=WEEKLY;BYDAY=MO,WE``, with or without ``RRULE:``) starting at ``start``.

    Raises:
        InvalidArgument: not one RRULE line, a part RRULE does not have, or a value dateutil refuses (the
            message quotes it).
    """
    body = text.strip().removeprefix("RRULE:")
    if not body or "\n" in body or ":" in body:
        raise InvalidArgument(f"rrule {text!r}: give one RRULE such as 'FREQ=DAILY;BYDAY=MO,TU,WE,TH,FR' (the start "
                              "is the event's start; no DTSTART or other lines)")
    names = {part.split("=", 1)[0].strip().upper() for part in body.split(";") if part.strip()}
    unknown = sorted(names - _RULE_PARTS)
    if unknown or "FREQ" not in names:
        what = f"unknown part {', '.join(unknown)}" if unknown else "it needs FREQ"
        raise InvalidArgument(f"rrule {text!r}: {what} (RFC 5545 parts: {', '.join(sorted(_RULE_PARTS))})")
    try:
        rule = rrulestr(body, dtstart=start)
    except (ValueError, TypeError) as exc:
        raise InvalidArgument(f"rrule {text!r}: {exc}") from None
    if not isinstance(rule, rrule):  # pragma: no cover - one RRULE line always gives an rrule
        raise InvalidArgument(f"rrule {text!r}: expected one rule")
    return rule


class Recurrence:
    """The occurrences of an event starting at ``start``: that one time, or those of ``rule``, less
    ``skipped`` (cancelled occurrences). Times come back as the rule makes them (wall times in the
    start's zone); the bounds of :meth:`between` are compared as instants.

    Delivery windows move forward, so the walk resumes from the last occurrence before the latest one
    (a rule restarted at one of its own occurrences, with what is left of its COUNT, yields the same
    occurrences onwards); a window earlier than that walks again from the start.
    """

    def __init__(self, start: datetime, rule: str | None = None, skipped: Iterable[datetime] = ()) -> None:
        self.start = start
        self._rule = parse_rule(rule, start) if rule is not None else None
        self.skipped = {instant(t) for t in skipped}
        self._anchor: tuple[datetime, int] | None = None  # (an occurrence, how many came before it)

    @property
    def recurring(self) -> bool:
        return self._rule is not None

    def skip(self, occurrence: datetime) -> None:
        """Leave ``occurrence`` out from now on (a cancelled occurrence)."""
        self.skipped.add(instant(occurrence))

    def is_occurrence(self, value: datetime) -> bool:
        """Whether ``value`` is one of the occurrences (cancelled ones included)."""
        at = instant(value)
        return any(instant(t) == at for t in self._walk(at, inclusive=True, until=at))

    def between(self, low: datetime, high: datetime, *, low_inclusive: bool = True,
                advance: bool = False) -> Iterator[datetime]:
        """The occurrences not skipped from ``low`` (exclusive unless ``low_inclusive``) to ``high`` inclusive.

        ``advance``: no later call will ask for a window starting before ``low``, so the next walks may
        resume from there (the scheduler's delivery windows; other questions leave the resume point).
        """
        lo, hi = instant(low), instant(high)
        for t in self._walk(lo, inclusive=low_inclusive, until=hi, advance=advance):
            if instant(t) not in self.skipped:
                yield t

    def after(self, low: datetime, count: int) -> list[datetime]:
        """The next ``count`` occurrences not skipped after ``low`` (exclusive)."""
        found: list[datetime] = []
        for t in self._walk(instant(low), inclusive=False, until=None):
            if instant(t) not in self.skipped:
                found.append(t)
                if len(found) >= count:
                    break
        return found

    def _walk(self, lo: datetime, *, inclusive: bool, until: datetime | None,
              advance: bool = False) -> Iterator[datetime]:
        if self._rule is None:
            at = instant(self.start)
            if (at > lo or (inclusive and at == lo)) and (until is None or at <= until):
                yield self.start
            return
        rule, seen = self._resumed(lo)
        for t in rule:
            at = instant(t)
            if until is not None and at > until:
                return
            if at < lo - _MARGIN:
                if advance:
                    self._anchor = (t, seen)  # every later window starts after this one
            elif at > lo or (inclusive and at == lo):
                yield t
            seen += 1

    def _resumed(self, lo: datetime) -> tuple[Any, int]:
        assert self._rule is not None
        anchor = self._anchor
        if anchor is None or instant(anchor[0]) >= lo - _MARGIN:
            return self._rule, 0  # an earlier window (a question about the past): walk from the start
        at, seen = anchor
        count = self._rule._count  # dateutil keeps COUNT only there
        return self._rule.replace(dtstart=at, count=count - seen if count is not None else None), seen


__all__ = ["MAX_LEAD", "Recurrence", "instant", "parse_lead", "parse_rule", "same_kind"]

"""Calendar arithmetic for the dates agent: whole months that clamp, business days, shifts.

Pure functions on `datetime.date`, kept apart from the parsing of plain words so that
both stay small and the arithmetic can be tested on its own.
"""

from __future__ import annotations

import calendar
from datetime import date, timedelta

from mesh.errors import TaskRejected

MAX_AMOUNT = 1_000_000


def add_months(start: date, months: int) -> date:
    """`start` moved by whole months, clamped to the last day of the month it lands in."""
    index = start.year * 12 + start.month - 1 + months
    year, month = divmod(index, 12)
    if not 1 <= year <= 9999:
        raise TaskRejected(f"moving {start} by {months} months leaves the years 1-9999")
    last = calendar.monthrange(year, month + 1)[1]
    return date(year, month + 1, min(start.day, last))


def add_business_days(start: date, days: int) -> date:
    """`days` Monday-to-Friday days after (or, if negative, before) `start`."""
    step = 1 if days >= 0 else -1
    weeks, rest = divmod(abs(days), 5)
    current = start + timedelta(weeks=weeks * step)
    while rest:
        current += timedelta(days=step)
        if current.weekday() < 5:
            rest -= 1
    return current


def business_days_between(start: date, end: date) -> int:
    """Weekdays from `start` (inclusive) up to `end` (exclusive); negative if end is earlier."""
    if end < start:
        return -business_days_between(end, start)
    whole_weeks, rest = divmod((end - start).days, 7)
    count = whole_weeks * 5
    for offset in range(rest):
        if (start + timedelta(days=whole_weeks * 7 + offset)).weekday() < 5:
            count += 1
    return count


def shift(start: date, amount: int, unit: str) -> date:
    """`start` moved by `amount` days, weeks, months, years or business days."""
    if abs(amount) > MAX_AMOUNT:
        raise TaskRejected(f"{amount} {unit} is too far: keep durations under {MAX_AMOUNT:,}")
    try:
        if unit == "days":
            return start + timedelta(days=amount)
        if unit == "weeks":
            return start + timedelta(weeks=amount)
        if unit == "business_days":
            return add_business_days(start, amount)
        return add_months(start, amount * (12 if unit == "years" else 1))
    except OverflowError:
        raise TaskRejected(f"moving {start} by {amount} {unit} leaves the years 1-9999") from None


def calendar_difference(start: date, end: date) -> tuple[int, int, int]:
    """Whole (years, months, days) from `start` to `end` (end must not be earlier)."""
    months = (end.year - start.year) * 12 + end.month - start.month
    if add_months(start, months) > end:
        months -= 1
    anchor = add_months(start, months)
    return months // 12, months % 12, (end - anchor).days

"""The dates agent: calendar arithmetic from plain words, on the proleptic Gregorian calendar.

It answers five kinds of question: the time between two dates ("how many days between
2024-01-01 and 2024-03-01", "business days from … to …"), a date plus or minus a
duration ("90 days after 2024-02-10", "add 1 month to 2024-01-31" → 2024-02-29: months
and years clamp to the month's last day), the weekday of a date, whether a year is a
leap year, and the days in a month or a year ("how many days are in February 2024").
Dates are ISO (2024-03-01) or written out (1 March 2024, March 1, 2024); numeric dates
with slashes are refused because 03/04/2024 means two different days.
"today" is the date the request states ("today is 2025-03-15"), else `inputs["today"]`,
else the machine's local date.
"""

from __future__ import annotations

import calendar
import re
from collections.abc import Mapping
from datetime import date, timedelta
from typing import Any

from mesh.agents._arith import THAT_MANY, upstream_number
from mesh.agents._calendar import business_days_between, calendar_difference, shift
from mesh.agents._numwords import with_digits
from mesh.errors import InvalidInput, TaskRejected
from mesh.models import AgentCard, Skill, TaskRequest, TaskResult

_MONTHS = {name.lower(): i for i, name in enumerate(calendar.month_name) if name}
_MONTHS |= {name.lower(): i for i, name in enumerate(calendar.month_abbr) if name}
_MONTHS["sept"] = 9
_MONTH = "|".join(sorted(_MONTHS, key=len, reverse=True))
_WEEKDAYS = list(calendar.day_name)
_ORD = r"(?:st|nd|rd|th)?"
_ISO_DATE = r"\b\d{4}-\d{1,2}-\d{1,2}\b"
_DAY_MONTH = rf"\b\d{{1,2}}{_ORD}\s+(?:of\s+)?(?:{_MONTH})\.?,?\s+\d{{4}}\b"
_MONTH_DAY = rf"\b(?:{_MONTH})\.?\s+\d{{1,2}}{_ORD},?\s+\d{{4}}\b"
_DATE = re.compile(
    rf"(?P<iso>{_ISO_DATE})|(?P<dmy>{_DAY_MONTH})|(?P<mdy>{_MONTH_DAY})"
    r"|(?P<rel>\b(?:today|tomorrow|yesterday)\b)"
    r"|(?P<slash>\b\d{1,4}[/.]\d{1,2}[/.]\d{1,4}\b)",
    re.IGNORECASE,
)
_UNIT_WORDS = {
    "day": "days",
    "days": "days",
    "week": "weeks",
    "weeks": "weeks",
    "month": "months",
    "months": "months",
    "year": "years",
    "years": "years",
    "business day": "business_days",
    "business days": "business_days",
    "working day": "business_days",
    "working days": "business_days",
    "weekday": "business_days",
    "weekdays": "business_days",
}
_DURATION = re.compile(
    r"(?P<n>\d[\d,]*|an?|one)\s+(?P<unit>(?:business|working)\s+days?|weekdays?|days?|weeks?"
    r"|months?|years?)\b",
    re.IGNORECASE,
)
_BACKWARD = re.compile(r"\b(before|ago|earlier|prior\s+to|subtract|minus|back\s+from)\b", re.I)
_FORWARD = re.compile(r"\b(after|from|later|add|plus|since|hence)\b", re.I)
_FROM_AFTER = re.compile(r"\b(?:until|till|to)\b[^.?!]*\bfrom\s+\S")  # "until X from Y"
_WRITTEN = rf"(?:{_ISO_DATE}|{_DAY_MONTH}|{_MONTH_DAY})"
_STATED_TODAY = re.compile(  # "today is 2025-03-15", "it's 1 March 2025 today"
    rf"[,;]?\s*(?:\b(?:and|but|assuming|if|given(?:\s+that)?)\s+)?(?:\btoday(?:'s\s+date)?"
    rf"\s+is\s+(?:the\s+)?(?P<date>{_WRITTEN})|\bit(?:'s|\s+is)\s+(?P<said>{_WRITTEN})\s+today\b)",
    re.IGNORECASE,
)
_UNTIL_NOW = re.compile(r"\b(?:until|since|till|ago|from\s+now|left|remain(?:ing|s)?|to\s+go)\b")
_ASKED_UNIT = re.compile(r"\bhow\s+many\s+(weeks|months|years)\b")
_DAYS_IN = re.compile(  # "how many days are in february 2024", "… does april have", "… in 2024"
    r"\bhow\s+many\s+days\s+(?:(?:are|were|will\s+be|is)\s+)?(?:there\s+)?(?:in|does|did)\s+"
    rf"(?:the\s+month\s+of\s+)?(?:(?P<month>{_MONTH})\.?(?:\s+(?:of\s+)?(?P<year>\d{{4}}))?"
    r"|(?:the\s+year\s+)?(?P<whole>\d{4}))\b",
    re.IGNORECASE,
)


def parse_date(text: str, today: date | None = None) -> date:
    """One date written as ISO, "1 March 2024", "March 1st, 2024", today/tomorrow/yesterday."""
    match = _DATE.fullmatch(text.strip())
    if not match:
        raise TaskRejected(f"{text!r} is not a date: write 2024-03-01 or 1 March 2024")
    return _date_from(match, today or date.today())


def _date_from(match: re.Match[str], today: date) -> date:
    raw = match[0]
    if match["slash"]:
        raise TaskRejected(
            f"{raw!r} is ambiguous (day/month or month/day?): write it as YYYY-MM-DD,"
            " e.g. 2024-03-04, or as 4 March 2024"
        )
    if match["rel"]:
        offset = {"today": 0, "tomorrow": 1, "yesterday": -1}[raw.lower()]
        return today + timedelta(days=offset)
    if match["iso"]:
        year, month, day = (int(p) for p in raw.split("-"))
    else:
        words = re.findall(r"[A-Za-z]+|\d+", raw)
        numbers = [int(w) for w in words if w.isdigit()]
        month_word = next(w for w in words if w.lower() in _MONTHS)
        day, year, month = numbers[0], numbers[-1], _MONTHS[month_word.lower()]
    try:
        return date(year, month, day)
    except ValueError:
        raise InvalidInput(
            f"{raw!r} is not a real date: {_why_invalid(year, month, day)}"
        ) from None


def _why_invalid(year: int, month: int, day: int) -> str:
    if not 1 <= year <= 9999:
        return f"the year {year} is out of range; give a valid date, years run 1 to 9999"
    if not 1 <= month <= 12:
        return (
            f"there is no month {month}, so the date does not exist; give a valid date,"
            " months run 1 to 12"
        )
    days = calendar.monthrange(year, month)[1]
    name = calendar.month_name[month]
    return f"{name} {year} has {days} days, so day {day} does not exist; give a valid date"


def find_dates(text: str, today: date | None = None) -> list[date]:
    """Every date in `text`, in order."""
    now = today or date.today()
    return [_date_from(m, now) for m in _DATE.finditer(text)]


def _plural(n: int, noun: str) -> str:
    return f"{n:,} {noun}" + ("" if abs(n) == 1 else "s")


def _in_unit(days: int, years: int, months: int, rest: int, unit: str) -> tuple[str, float]:
    """A difference told in the unit asked ("how many weeks between …"), and its value
    in that unit: weeks as a fraction (days / 7), months and years whole, with the days
    left over shown."""
    sign = -1 if days < 0 else 1
    counted: list[tuple[int, str]]
    if unit == "weeks":
        whole, extra = divmod(abs(days), 7)
        counted = [(sign * whole, "week"), (extra, "day")]
        value = sign * whole if not extra else round(days / 7, 4)
    elif unit == "months":
        counted = [(sign * (years * 12 + months), "month"), (rest, "day")]
        value = counted[0][0]
    else:
        counted, value = [(sign * years, "year"), (months, "month"), (rest, "day")], sign * years
    told = [_plural(counted[0][0], counted[0][1])]
    told += [_plural(n, noun) for n, noun in counted[1:] if n]
    words = " and ".join(told) if len(told) < 3 else f"{told[0]}, {told[1]} and {told[2]}"
    return f"{words} ({_plural(days, 'day')})", value


def _difference(
    start: date, end: date, business: bool, unit: str = "days"
) -> tuple[str, dict[str, Any]]:
    days = (end - start).days
    early, late = sorted((start, end))
    years, months, rest = calendar_difference(early, late)
    parts = [_plural(p, n) for p, n in ((years, "year"), (months, "month"), (rest, "day")) if p]
    data: dict[str, Any] = {"operation": "difference", "start": str(start), "end": str(end)}
    data |= {"days": days, "weeks": round(days / 7, 4), "value": days, "unit": "day"}
    data |= {"years": years, "months": months, "remaining_days": rest}
    data["business_days"] = business_days_between(start, end)
    if business:
        data["value"] = data["business_days"]
        return (
            f"{_plural(data['business_days'], 'business day')} from {start} to {end}"
            " (Monday to Friday, end date excluded)",
            data,
        )
    if unit in ("weeks", "months", "years"):
        told, data["value"] = _in_unit(days, years, months, rest, unit)
        data["unit"] = unit.removesuffix("s")
        return f"{told} from {start} to {end}", data
    breakdown = f" ({', '.join(parts)})" if len(parts) > 1 or (parts and not rest) else ""
    return f"{_plural(days, 'day')} from {start} to {end}{breakdown}", data


def _amount(token: str) -> int:
    if token.lower() in ("a", "an", "one"):
        return 1
    return int(token.replace(",", ""))


def answer(description: str, today: date | None = None) -> tuple[str, dict[str, Any]]:
    """The answer to a date question in words, and its structured data."""
    text = re.sub(r"\bthe\s+(day|week|month|year)\s+(after|before)\b", r"1 \1 \2", description)
    text = text.strip()
    stated = _STATED_TODAY.search(text)  # the speaker's today wins over the clock's
    if stated:
        today = parse_date(stated["date"] or stated["said"])
        text = f"{text[: stated.start()]}{text[stated.end() :]}"
    now = today or date.today()
    dates = find_dates(text, now)
    lowered = text.lower()
    leap = re.search(r"\bleap\s+year\b", lowered)
    if leap and not dates:
        year_match = re.search(r"\b(\d{1,4})\b", text)
        if not year_match:
            raise TaskRejected("say which year, e.g. 'is 2024 a leap year'")
        year = int(year_match[1])
        is_leap = calendar.isleap(year)
        return f"{year} is {'' if is_leap else 'not '}a leap year", {
            "operation": "leap-year",
            "year": year,
            "value": is_leap,
        }
    if (days_in := _DAYS_IN.search(text)) and not dates:
        return _days_in(days_in)
    duration = _DURATION.search(text)
    if len(dates) >= 2 and not (duration and _FORWARD.search(lowered)):
        business = bool(re.search(r"business|working|weekdays", lowered))
        start, end = dates[1::-1] if _FROM_AFTER.search(lowered) else dates[:2]
        asked = _ASKED_UNIT.search(lowered)
        return _difference(start, end, business, asked[1] if asked else "days")
    if duration and dates:
        unit = _UNIT_WORDS[re.sub(r"\s+", " ", duration["unit"].lower())]
        amount = _amount(duration["n"])
        around = text[: duration.start()] + " " + text[duration.end() :]
        if _BACKWARD.search(around):
            amount = -amount
        moved = shift(dates[0], amount, unit)
        shown = _plural(abs(amount), unit.replace("_", " ").removesuffix("s"))
        verb = "after" if amount >= 0 else "before"
        output = f"{moved} ({_WEEKDAYS[moved.weekday()]}) is {shown} {verb} {dates[0]}"
        return output, {
            "operation": "shift",
            "start": str(dates[0]),
            "amount": amount,
            "unit": unit,
            "date": str(moved),
            "weekday": _WEEKDAYS[moved.weekday()],
        }
    if dates and re.search(r"\b(day|weekday)\b", lowered):
        day = dates[0]
        return f"{day} is a {_WEEKDAYS[day.weekday()]}", {
            "operation": "weekday",
            "date": str(day),
            "weekday": _WEEKDAYS[day.weekday()],
            "iso_week": day.isocalendar().week,
            "day_of_year": day.timetuple().tm_yday,
        }
    if len(dates) == 1 and (until := _UNTIL_NOW.search(lowered)):
        since = until[0] in ("since", "ago")  # "how many days since X" counts up to today
        start, end = (dates[0], now) if since else (now, dates[0])
        return _difference(start, end, "business" in lowered)
    raise TaskRejected(
        f"found no date question in {description.strip()[:200]!r}: ask e.g. 'how many days"
        " between 2024-01-01 and 2024-03-01', 'what date is 90 days after 2024-02-10',"
        " 'what day of the week is 2025-12-25' or 'is 2024 a leap year'"
    )


def _days_in(asked: re.Match[str]) -> tuple[str, dict[str, Any]]:
    """The days in a month of a year, or in a year; February needs its year."""
    if asked["whole"]:
        year = int(asked["whole"])
        days = 366 if calendar.isleap(year) else 365
        return f"{year} has {days} days", {"operation": "days-in", "year": year, "value": days}
    month = _MONTHS[asked["month"].lower()]
    name = calendar.month_name[month]
    if asked["year"] is None:
        if month == 2:
            raise TaskRejected(
                "February has 28 days, 29 in a leap year: say which year, e.g. 'how many days"
                " are in February 2024'"
            )
        days = calendar.monthrange(2001, month)[1]
        return f"{name} has {days} days", {"operation": "days-in", "month": month, "value": days}
    year = int(asked["year"])
    days = calendar.monthrange(year, month)[1]
    return f"{name} {year} has {days} days", {
        "operation": "days-in",
        "month": month,
        "year": year,
        "value": days,
    }


DATES_CARD = AgentCard(
    name="dates",
    version="0.2.4",  # 0.2: "that many days" from the task before; 0.2.1: a day count
    # says its unit, so "convert that into hours" after it needs no "from days"; 0.2.2:
    # "how many weeks/months/years between" answers in that unit; "until X from Y";
    # 0.2.3: "today is X" in the request is today; "days left"; "since X" counts up;
    # 0.2.4: the days in a month or a year
    description=(
        "Date arithmetic and calendars: days between two dates, a date plus or minus days,"
        " weeks, months or business days, the day of the week of a date, leap years, the days"
        " in a month."
    ),
    tags=["dates", "calendar", "time", "days", "deadline"],
    skills=[
        Skill(
            name="date-difference",
            description=(
                "Count the days, weeks, months, years or business days between two dates,"
                " or until a deadline."
            ),
            tags=["dates", "duration", "days-between", "business-days"],
            examples=[
                "how many days between 2024-01-01 and 2024-03-01",
                "business days from 1 March 2024 to 29 March 2024",
                "how many days until 2030-01-01",
            ],
        ),
        Skill(
            name="date-shift",
            description=(
                "The date a number of days, weeks, months, years or business days after or"
                " before a given date; the day of the week of a date; leap years and the"
                " days in a month."
            ),
            tags=["dates", "deadline", "weekday", "calendar"],
            examples=[
                "what date is 90 days after 2024-02-10",
                "add 1 month to 2024-01-31",
                "10 business days before 2024-12-24",
                "what day of the week is 2025-12-25",
                "is 2100 a leap year",
                "how many days are in February 2024",
            ],
        ),
    ],
)


_THAT_MANY = re.compile(
    rf"{THAT_MANY}(?=(?:business\s+|working\s+)?(?:days?|weeks?|months?|years?)\b)"
    r"|\b(?:the\s+(?:result|answer|number)|it)\s+(?=(?:business\s+|working\s+)?days?\b)",
    re.IGNORECASE,
)


_NAMED_DATE = (  # "that date", "the result": a date even beside another date
    r"(?:that|this|the\s+(?:new|resulting))\s+(?:date|day)\b|the\s+(?:result|answer)\b"
)
_NAMED_DATE_RE = re.compile(rf"\b(?:{_NAMED_DATE})", re.I)
_THAT_DATE = re.compile(rf"\b(?:{_NAMED_DATE}|the\s+date\b|(?:that|this|it)\b)", re.I)
_ISO = re.compile(r"\b\d{4}-\d{2}-\d{2}\b")


def upstream_dates(upstream: Mapping[str, TaskResult]) -> list[str]:
    """The dates the succeeded tasks before produced: their ``date`` field, else the one
    ISO date in their output (an output naming two dates gives none: which was meant?)."""
    found: list[str] = []
    for result in upstream.values():
        if result.status != "succeeded":
            continue
        given = result.data.get("date")
        if isinstance(given, str) and _ISO.fullmatch(given):
            found.append(given)
        elif len(in_output := _ISO.findall(result.output)) == 1:
            found.append(in_output[0])
    return found


def with_upstream(description: str, upstream: Mapping[str, TaskResult]) -> str:
    """ "that many days after 2025-01-01" with the number the task before gave (210 days);
    "what weekday is that?" with the date it gave, when the question names no date."""
    match = _THAT_MANY.search(description)
    number = upstream_number(upstream) if match else None
    if match is None or number is None:
        return _with_upstream_date(description, upstream)
    value = float(number[0].replace(",", ""))
    if not value.is_integer():
        raise TaskRejected(
            f"the task before gave {number[0]}, not a whole number of days, weeks, months or"
            " years: round it first"
        )
    return description[: match.start()] + f"{int(value)} " + description[match.end() :]


def _with_upstream_date(description: str, upstream: Mapping[str, TaskResult]) -> str:
    named = _DATE.search(description) is not None  # then only "that date" refers
    reference = (_NAMED_DATE_RE if named else _THAT_DATE).search(description)
    if reference is None:
        return description
    dates = upstream_dates(upstream)
    if len(dates) != 1:
        return description
    return description[: reference.start()] + dates[0] + description[reference.end() :]


def handler(req: TaskRequest) -> TaskResult:
    """Answer the date question in the description (`inputs["today"]` pins today's date);
    "that many days" is the number the task before gave."""
    given = req.inputs.get("today")
    today = parse_date(str(given)) if given else None
    output, data = answer(with_upstream(with_digits(req.description), req.upstream), today)
    return TaskResult(
        task_id=req.task_id, status="succeeded", agent="dates", output=output, data=data
    )

"""What in a request frames its asks instead of asking: greetings, a header before a
numbered list, and statements of context.

Used by the offline planner (`mesh.offline`) before it splits a request into parts.
Without it, "Good morning! Write a report on …" planned "Good morning!" as a task of
its own, refused at discovery; "My API keeps getting HTTP 429. What does that status
code mean?" sent the question without the code it was about; and "I drive 45 miles a
day. Compute 45 * 22" planned the statement as a task, refused at discovery, failing a
run whose ask was answered.
"""

from __future__ import annotations

import re

from mesh.wording import BARE_ASK

__all__ = [
    "drop_asides",
    "drop_greetings",
    "only_greets",
    "set_context_aside",
    "strip_list_header",
]

_GREETING = re.compile(
    r"(?:hi|hello|hey|hiya|howdy|greetings|good\s+(?:morning|afternoon|evening|day)|thanks"
    r"|thank\s+you|cheers)(?:\s+(?:there|all|everyone|team|folks|so\s+much|a\s+lot))?"
    r"\s*[!.,]*",
    re.IGNORECASE,
)
_ANNOUNCES = (  # "Two quick ones.", "Quick question:", "3 things pls:", "quick q -"
    r"(?:(?:i\s+)?(?:need|have|got)\s+)?"
    r"(?:(?:a\s+)?(?:couple(?:\s+of)?|few|two|three|four|five|several|some|one|\d)\s+)?"
    r"(?:(?:quick|small|short|simple|little|easy|more|random)\s+){0,2}"
    r"(?:ones?|questions?|things?|q'?s|(?<=quick\s)q|asks?|requests?|favou?rs?|queries|query"
    r"|answers)"
    r"(?:\s+for\s+(?:you|ya|u))?(?:\s+(?:pls|plz|please|then|here))?"
)
_ANNOUNCEMENT = re.compile(rf"{_ANNOUNCES}\s*[!.:,]*", re.IGNORECASE)
_ANNOUNCED = re.compile(rf"{_ANNOUNCES}\s*(?::|,|\s[-–—])\s+", re.IGNORECASE)
_LIST_HEADER = re.compile(  # "Two things:\n1. …", "A few questions: 1) …", "answer these\n1. …"
    r"^\s*(?P<head>[^\n:?!.]{1,60})(?::\s*|[ \t]*\n\s*)(?=\(?(?:1[.)]|a\))\s)"
)
_INLINE_LIST = re.compile(  # "I need (a) … and (b) …", "what is 1) 2+2 2) 3+3"
    r"^\s*(?P<head>[^\n:?!.()]{1,40}?)[ \t]+(?P<open>\(?)(?P<first>1|a)\)[ \t]"
)
_JOINER = re.compile(r"(?:[,;]\s*|\s+)(?:and|&|plus)$|[,;]$", re.IGNORECASE)
_FIRST_PERSON = re.compile(  # and the speaker left out: "getting a bunch of 429s from …"
    r"^(?:i|i'm|im|i've|i'd|my|we|we're|we've|our|me|got|getting|keep\s+getting|seeing|hitting"
    r"|running\s+into|dealing\s+with|struggling\s+with|debugging|noticed|noticing)\b",
    re.IGNORECASE,
)
_SPEAKER = re.compile(r"\b(?:i|i'm|im|me|my|we|us|our)\b", re.IGNORECASE)
_REFERS_BACK = re.compile(r"\b(?:which\s+one|that|this|it|these|those|they)\b", re.IGNORECASE)
_ASKS_ANYWAY = re.compile(  # a statement that still asks: "I need the weekday of …"
    r"\b(?:wants?|wanted|need(?:s|ed)?(?!\s+\d)|like|love|wonder(?:ing)?|curious|help"
    r"|ask(?:s|ed)?|looking|trying|hope|wish|please|could|can|would|should|must|have\s+to|has\s+to"
    r"|let|question|questions|interested|require[sd]?|i'd|we'd|i'll|we'll)\b",
    re.IGNORECASE,
)
_FIGURE = re.compile(r"(?<![A-Za-z\d])\d")  # a figure to work on, not a label's: "Q3", "FY24"
_CONTENT_WORD = re.compile(
    r"\b(?!(?:what|when|where|which|does|that|this|with|from|have|will)\b)[a-z]{4,}"
)
_DATE = re.compile(
    r"\b\d{4}-\d{1,2}-\d{1,2}\b|\b\d{1,2}/\d{1,2}/\d{2,4}\b|\b(?:jan|feb|mar|apr|may|jun|jul"
    r"|aug|sep|sept|oct|nov|dec)[a-z]*\.?\s+\d{1,2}(?:st|nd|rd|th)?\b",
    re.IGNORECASE,
)
_TODAY_IS = re.compile(  # "today is 2026-02-01.", "It's 1 March 2025 today." date the ask
    r"^\s*(?:today(?:'s\s+date)?\s+is|it(?:'s|\s+is)\s+[^.?!]*\btoday\b)[^?]*$", re.I
)
_FROM_TODAY = re.compile(r"\b(?:today|until|till|since|ago|left|from\s+now)\b", re.I)
_DATE_ASKED = re.compile(  # "what date is 18 months after the start?", "when is the deadline?"
    r"\b(?:what|which)\s+(?:date|day)\b|\bwhen\b|\b(?:due|end|expiry|closing)\s+date\b"
    r"|\b(?:days?|weeks?|months?|years?)\s+(?:after|before|from|until|since)\b"
    r"|\b(?:later|earlier)\b",  # "what's the date 6 months later?"
    re.I,
)
_DATA_LINE = re.compile(r"[A-Za-z][\w ]{0,30}:\s+\S")  # "Budget: flights 640, …"
_NUMBER = re.compile(r"\d+(?:[.,]\d+)*")
_DECLARES = re.compile(  # "… is 45 days", "Project kicked off on 2025-01-01"
    r"\b(?:is|are|was|were|has|have|had|costs?|takes?|comes?\s+to|[a-z]{3,}ed)\b", re.I
)
_NEXT_STEP = re.compile(r"[,;]?\s+(?:and\s+)?(?:then|after\s+that)\b", re.IGNORECASE)
_FRAMES = re.compile(  # no data of its own: "Trying to work out my notice period."
    r"(?:(?:i'm|im|i\s+am|we're|we\s+are)\s+)?(?:just\s+)?"
    r"(?:trying\s+to|working\s+(?:out|on)|figuring\s+out|planning|looking\s+into)\b"
    r"|(?:\w+\s+){1,3}?(?:asked|asks|wants\s+to\s+know|wanted\s+to\s+know|was\s+asking)"
    r"\s+(?:me\s+|us\s+)?(?:how|what|whether|if|why|when|which)\b",
    re.IGNORECASE,
)
_TRAILING_ASIDE = re.compile(  # "…, that's how much taller I am", "… since the workshop has …"
    r"(?:,\s+(?:that's|that\s+is|which\s+is|so\s+that|so\s+i|so\s+we|it's\s+for)"
    r"|,?\s+(?:since|because|as)\s+(?:the|my|our|we|i|it|they|there|this|he|she))\b[^?]*$",
    re.IGNORECASE,
)
_TRAILING_BRACKETS = re.compile(  # "… by 4 (relay team, each leg)"; not "(employees.csv)"
    r"\s+\((?![^()]*\w\.[a-z]{2,4}\b)[^()\d]*\)\s*[.?!]*\s*$"
)
_LABEL_AND_FIGURE = r"[A-Za-z][\w&/-]*(?: [A-Za-z][\w&/-]*){0,3} [$€£]?\d[\d,.]*%?"
_LABELLED_FIGURES = re.compile(  # ": cloud 2,400, staff 9,000, travel 600." at the end
    rf"(?<=:)\s+{_LABEL_AND_FIGURE}(?:(?:[,;] ?| and ){_LABEL_AND_FIGURE})+[.?!]?\s*$"
)
_DETERMINERS = {"my", "our", "the", "a", "an", "this", "that", "his", "her", "their"}


def drop_greetings(sentences: list[str]) -> list[str]:
    """The sentences without those that only greet, thank or announce the asks ("Two
    quick ones."); all of them if nothing else is left (then discovery refuses the
    request, naming it)."""
    kept = [_unannounced(s) for s in sentences if not only_greets(s)]
    return kept or sentences


def only_greets(sentence: str) -> bool:
    """Whether a sentence only greets, thanks or announces ("Hi!", "Two quick ones.")."""
    return bool(_GREETING.fullmatch(sentence.strip()) or _ANNOUNCEMENT.fullmatch(sentence.strip()))


def _unannounced(sentence: str) -> str:
    """The sentence without an announcement before its asks ("3 things pls: what …")."""
    announced = _ANNOUNCED.match(sentence.strip())
    rest = sentence.strip()[announced.end() :] if announced else ""
    return rest if rest.strip() else sentence


def strip_list_header(text: str, instruction_words: set[str]) -> str:
    """`text` without a short header before a numbered list that asks nothing itself
    ("Two things:") or asks for whatever the items name ("answer the following:"), so the
    list is read as a list. A header that works on the items keeps them as its material
    ("count the words in these lines:\n1. …")."""
    if inline := _inline_list(text, instruction_words):
        return inline
    header = _LIST_HEADER.match(text)
    if not header:
        return text
    return text if _works_on_items(header["head"], instruction_words) else text[header.end() :]


def _works_on_items(head: str, instruction_words: set[str]) -> bool:
    """Whether the words before a list ask something of the items, which are then its
    material or finish it ("count the words in these lines:", "what is (a) … (b) …"),
    rather than nothing ("Two things:") or only for what each item asks ("answer these")."""
    words = head.strip().lower().split()
    return bool(words) and words[0] in instruction_words and not BARE_ASK.fullmatch(head.strip())


def _inline_list(text: str, instruction_words: set[str]) -> str | None:
    """A list in the line after a few words, as a numbered list on lines of its own: the
    items finish the words before them when those ask ("what is (a) 2+2 and (b) 3+3" is
    "what is 2+2", "what is 3+3"), else the words are a header ("I need (a) … (b) …").
    None when the items do not go on in sequence ("the area with (a) 3 m sides")."""
    found = _INLINE_LIST.match(text)
    if not found or "\n" in text:
        return None
    lettered, opening = found["first"] == "a", re.escape(found["open"])
    start, items = found.end(), []
    for number in range(2, 11):
        label = chr(ord("a") + number - 1) if lettered else str(number)
        after = re.search(rf"\s{opening}{label}\)[ \t]", text[start:])
        if not after:
            break
        items.append(text[start : start + after.start()])
        start += after.end()
    if not items:
        return None
    items = [_JOINER.sub("", item.strip()) for item in [*items, text[start:]]]
    head = found["head"].strip()
    lead = f"{head} " if _works_on_items(head, instruction_words) else ""
    return "\n".join(f"{n}. {lead}{item}" for n, item in enumerate(items, 1))


def _is_statement(sentence: str, instruction_words: set[str]) -> bool:
    """Whether a sentence is neither a question nor opens with an instruction."""
    stated = sentence.strip()
    return bool(
        stated
        and not stated.endswith("?")
        and stated.split()[0].lower().strip(",:") not in instruction_words
    )


def _states(sentence: str, instruction_words: set[str]) -> bool:
    """Whether a sentence states the user's situation: a statement in the first person."""
    return bool(_FIRST_PERSON.match(sentence.strip())) and _is_statement(
        sentence, instruction_words
    )


def _frames(sentence: str) -> bool:
    """Whether a sentence only says what the asks after it are for: a purpose or a
    reported question, without figures to work on ("HR asked how far our top salary sits
    above the median.")."""
    stated = sentence.strip()
    return bool(_FRAMES.match(stated) and not stated.endswith("?") and not _FIGURE.search(stated))


def _restated(sentence: str, following: str, instruction_words: set[str]) -> bool:
    """Whether a statement only gives figures the next sentence gives again, in its own ask
    ("commute is 23 mi each way, 5 days a week. what's 23 * 2 * 5, and then …")."""
    figures = set(_NUMBER.findall(sentence))
    return bool(
        figures
        and _DECLARES.search(sentence)
        and _is_statement(sentence, instruction_words)
        and not _ASKS_ANYWAY.search(sentence)
        and figures <= set(_NUMBER.findall(following))
    )


def _gives_data(sentence: str, following: str, instruction_words: set[str]) -> bool:
    """Whether a statement is the data of the ask after it, which has no figures: labelled
    ("Budget: flights 640, hotel 480. Can you give me a report with each share?"), or, in
    any person, a question's about the same thing ("contract starts 2025-11-20 and the
    trial is 45 days. what date does the trial end?")."""
    asked = following.strip()
    return bool(
        _FIGURE.search(sentence)
        and _is_statement(sentence, instruction_words)
        and asked
        and not _FIGURE.search(asked)
        and (
            _DATA_LINE.match(sentence.strip())
            or (
                not _ASKS_ANYWAY.search(sentence)
                and _asks_without_figures(asked, instruction_words)
                and bool(_words(sentence) & _words(asked))  # about the same thing
            )
        )
    )


def _dates_the_ask(sentence: str, ask: str, instruction_words: set[str]) -> bool:
    """Whether a statement gives the date a date question after it counts from: the today
    ("today is 2026-02-01. what date is 3 weeks from today?"), or the date a question
    without one of its own counts from ("my contract starts 2025-03-15. what date is 18
    months after the start?"). The dates agent needs both."""
    if not (_DATE.search(sentence) and _is_statement(sentence, instruction_words)):
        return False
    if _TODAY_IS.match(sentence):
        return bool(_FROM_TODAY.search(ask))
    return bool(_DATE_ASKED.search(ask)) and not _DATE.search(ask)


def _words(text: str) -> set[str]:
    return {word.rstrip("s") for word in _CONTENT_WORD.findall(text.lower())}


def _tells(sentence: str, following: str, instruction_words: set[str]) -> bool:
    """Whether a sentence only tells something, without figures or an ask, before a
    sentence that asks ("Signed up for a half marathon this spring. It's 13.1 mi - how
    many km is that?", "Q3 numbers are in. give me a breakdown …": a label's digit is no
    figure)."""
    return bool(
        following
        and _is_statement(sentence, instruction_words)
        and not _FIGURE.search(sentence)
        and not _ASKS_ANYWAY.search(sentence)
        and not _is_statement(following, instruction_words)
    )


def set_context_aside(
    sentences: list[str], instruction_words: set[str]
) -> tuple[list[str], list[str]]:
    """The sentences that ask, and apart from them the statements that only give context
    ("I drive 45 miles a day for 22 days a month.") when another sentence asks.

    A statement travels with the next sentence when that one asks about it ("My API keeps
    getting HTTP 429. What does that status code mean?"; a dated one with "… 6 months
    later?"), or when it has figures and the ask has none ("I have 3 apples and 5 pears.
    How many fruits in total?"; so does labelled data: "Budget: flights 640, hotel 480.
    Can you give me a report?") or asks about the speaker ("i was born on 1990-05-17. how
    many days old will i be on 2025-05-17?").
    A statement whose figures the next ask gives again is context in any person. A statement
    that asks anyway ("I need …", "My boss wants a report …") stays an ask, unless it only
    gives a purpose or reports a question, without figures ("Trying to work out my notice
    period.", "HR asked how far …"): then the ask after it carries the question."""
    asks: list[str] = []
    context: list[str] = []
    pending: list[str] = []  # statements that ask nothing, not yet placed
    last_states = False  # the last ask is a statement as written (one that asks anyway)
    for i, sentence in enumerate(sentences):
        states = _states(sentence, instruction_words)
        following = sentences[i + 1] if i + 1 < len(sentences) else ""
        if _restated(sentence, following, instruction_words):
            context.append(sentence)
            continue
        gives_data = _gives_data(sentence, following, instruction_words)
        aside = _tells(sentence, following, instruction_words)
        dated = _dates_the_ask(sentence, following, instruction_words)
        if (
            (states and not _ASKS_ANYWAY.search(sentence))
            or _frames(sentence)
            or gives_data
            or aside
            or dated
        ):
            pending.append(sentence)
            continue
        refers = _REFERS_BACK.search(_NEXT_STEP.split(sentence, maxsplit=1)[0]) or (
            pending and _dates_the_ask(pending[-1], sentence, instruction_words)
        )
        if pending and refers:
            context += pending[:-1]
            sentence, states = _joined(pending[-1], sentence), False
        elif (
            pending
            and (not _FIGURE.search(sentence) or _SPEAKER.search(sentence))
            and any(map(_FIGURE.search, pending))
        ):
            sentence, states = _joined(*pending, sentence), False
        elif (
            refers
            and not pending
            and (last_states or _asks_about(asks, sentence, instruction_words))
        ):
            sentence, states = _joined(asks.pop(), sentence), False
        else:
            context += pending
        pending, last_states = [], states
        asks.append(sentence)
    if not asks:
        return pending, []
    return asks, context + pending


def _asks_about(asks: list[str], question: str, instruction_words: set[str]) -> bool:
    """Whether `question`, without figures, asks about the statement just before it ("Euro
    recipe says bake at 230 celsius but my oven only does fahrenheit. What do I set it
    to?"); "Then convert it to km." is a step after it instead."""
    return (
        bool(asks)
        and _asks_without_figures(question, instruction_words)
        and (_is_statement(asks[-1], instruction_words))
    )


def _asks_without_figures(question: str, instruction_words: set[str]) -> bool:
    """Whether `question` asks, with no figures of its own and not as a next step ("Then
    convert it …"): so it asks about what a sentence before it says."""
    asked = question.strip()
    return bool(
        asked
        and not _FIGURE.search(asked)
        and not _NEXT_STEP.match(" " + asked)
        and (asked.endswith("?") or asked.split()[0].lower() in instruction_words)
    )


def _joined(*sentences: str) -> str:
    return " ".join(s.strip() for s in sentences)


def drop_asides(capability: str, instruction_words: set[str]) -> str:
    """What discovery searches for an ask, without the purpose before it ("For the road trip
    budget what is 12 times 37": the budget picked the report agent), the situation before
    a question with figures of its own, or the reason after it ("divide the result by 16
    since the workshop has 16 slots" fell under the floor; so did "… by 4 (relay team,
    each leg)"), or labelled figures after a colon ("breakdown of Q3 costs: cloud 2,400,
    staff 9,000, travel 600" read as data fell under the floor). The task's text keeps
    them."""
    words = capability.split()
    if len(words) > 3 and words[0].lower() == "for" and words[1].lower() in _DETERMINERS:
        for i in range(3, min(len(words), 9)):
            if words[i].lower().strip(",:") in instruction_words:
                capability = " ".join(words[i:])
                break
    if _FIRST_PERSON.match(capability):  # "we've raised 240 meals …, what's 240 divided by 0"
        for comma in re.finditer(r"[,;—–]\s+", capability):
            rest = capability[comma.end() :]
            if rest.split()[0].lower() in instruction_words:
                if _FIGURE.search(rest) and not _REFERS_BACK.search(rest):
                    capability = rest
                break
    capability = _LABELLED_FIGURES.sub(" …", capability)  # the data does not pick the agent
    trimmed = _TRAILING_ASIDE.sub("", _TRAILING_BRACKETS.sub("", capability)).strip()
    return trimmed if len(trimmed.split()) >= 2 else capability

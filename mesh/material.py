"""Where a request's sentences, list items and material are: what the offline planner
(`mesh.offline`) splits into parts, and what it keeps whole.

Material is the text an ask works on: quoted text (hidden before splitting as
``\x00N\x00``), what follows an instruction's colon, a quote alone after its question,
or data a sentence names before giving it ("this blurb …: '<text>'").
"""

from __future__ import annotations

import re
from collections.abc import Callable

from mesh.framing import only_greets
from mesh.wording import (
    BARE_ASK,
    CLAUSE,
    COUNT_WORDS,
    FILLER,
    INSTRUCTION_WORDS,
    SEPARATELY,
    SEQUENCE,
    VERBS,
    first_word,
    is_instruction,
    lead_word,
    strip_lead,
)

__all__ = [
    "DATA_LATER",
    "HIDDEN",
    "SEMICOLON",
    "keep_material",
    "list_items",
    "material_first",
    "sentences",
]

_SENTENCE_GAP = re.compile(r"(?<=[.?!])\s+(?=\S)")
_CAPITAL_START = re.compile(r"[A-Z\"'“\x00]")
_ABBREVIATION = re.compile(  # "e.g." "i.e." "approx." end no sentence before lower case
    r"(?:\b\w\.\w|\b(?:al|approx|ca|cf|eq|esp|etc|fig|incl|no|nr|resp|viz|vs))\.$",
    re.IGNORECASE,
)
SEMICOLON = r"\s*(?<!\btl);(?!\s?dr\b)\s*"  # "tl;dr" is a word
_AFTER_QUOTE = re.compile(r"(?<=\x00)\s+(?=[A-Z])")
_LIST_START = re.compile(r"^\(?(?:1([.)])|a(\)))\s+")  # "1." "1)" "(1)" "a)" "(a)"
_BULLET = re.compile(r"(?:^|\n)[ \t]*[-*•][ \t]+")
_HEADER_LINE = re.compile(r"(?:^|(?<=[.?!\n])\s*)[^.?!\n]*:\s*$")  # "I need two things:"
_YES_NO = re.compile(  # "is 2028 a leap year?" asks, in lower case too
    r"(?:is|are|was|were|do|does|did|can|could|will|would|should|has|have)\s+"
    r"(?:[^.?!]|\.(?=\d))*\?",
    re.IGNORECASE,
)
_COUNTED = re.compile(  # "pls do both:", "two things:", "I need 3 quick answers:"
    r"(?:^|(?<=[.?!])\s+)(?:(?:pls|please|can\s+you|could\s+you)\s+)?"
    r"(?:(?:i\s+)?(?:need|have|got|do|answer)\s+)?(?:(?:these|the\s+following)\s+)?"
    rf"(?P<count>{'|'.join(COUNT_WORDS)}|[2-5])"
    r"(?:\s+(?:quick|small|short|simple|little|easy)){0,2}"
    r"(?P<noun>\s+(?:ones|questions|things|q'?s|asks|requests|answers|calcs|calculations"
    r"|conversions))?(?:\s+(?:pls|plz|please|for\s+(?:me|you|u)))?:[ \t]+(?=\S)",
    re.IGNORECASE,
)
_ITEM_GAPS = (  # from the strongest separator of listed asks to the weakest
    re.compile(SEMICOLON),
    re.compile(r",\s+and\s+", re.IGNORECASE),
    re.compile(r",\s+(?!\d{4}\b)"),  # not "Jan 5, 2025"
    re.compile(r"\s+and\s+", re.IGNORECASE),
)
_FIGURE = re.compile(r"\d")
_QUESTION_LABEL = re.compile(r"(?:^|(?<=\s))[Qq](\d{1,2})[:.)]\s+")  # "Q1: … Q2: …"
_LIST_ITEM = re.compile(r"\s+\(?(\d{1,2}|[a-j])([.)])(?=\s)")
_COLON = re.compile(r":\s+")
_DASH = re.compile(r"\s[-–—]{1,2}\s")
_SEMICOLON_SPLIT = re.compile(SEMICOLON, re.IGNORECASE)
_SEPARATELY = re.compile(SEPARATELY, re.IGNORECASE)
_AFTER_DATA = re.compile(  # after a closing bracket or a quote
    r"(?<=[\]}\x00])\s*,?\s+(?:and\s+then|and\s+also|and|then|also|plus)\s+", re.I
)
_SEPARATE_START = re.compile(r"\s*(?:and\s+)?separately\b", re.IGNORECASE)
HIDDEN = re.compile(r"\x00(\d+)\x00")
DATA_LATER = re.compile(  # data named before it is given: "this JSON", "the text below"
    r"\b(?:this|these|the\s+following)\s+(?:paragraph|text|passage|essay|email|message|note"
    r"|list|table|data|csv|json|records?|rows|numbers|figures|snippet|sentences?|words|lines"
    r"|blurb|quote|review|post|tweet|bio|caption|article|story|phrase|string|description)\b"
    r"|\bbelow\b",
    re.IGNORECASE,
)
_ONLY_MATERIAL = re.compile(r"\s*\x00\d+\x00[\s.?!]*")
_MATERIAL_LAST = re.compile(  # "count the words in this blurb and then …: '<text>'"
    r"(?P<ask>[^\x00]*?)(?P<next>,?\s+(?:and\s+)?(?:then|after\s+that)\b[^\x00]*?)"
    r"(?P<data>:\s*\x00\d+\x00\W*)",
    re.IGNORECASE,
)


def list_items(text: str) -> list[str]:
    """The items of a request: its bullets when every bullet asks, or, when it starts
    with "1)" or "1.", its numbered items, split at a later number after punctuation, or
    at the next number in sequence, in the same style ("1) 15% of 2,340 2) 5 kg in lbs";
    not inside brackets: "1) (4 * 2) times 3"); "Q1: … Q2: …" is numbered too; when it
    starts with "a)", its lettered items, split at the next letter in sequence ("a) 60 mph
    in km/h b) square root of 1,764"); else the asks a sentence announces the count of
    ("pls do both: …", see `_counted_items`)."""
    if (labelled := _QUESTION_LABEL.match(text)) and is_instruction(text[labelled.end() :]):
        text = _QUESTION_LABEL.sub(r"\1) ", text)
    if bulleted := _bullet_items(text):
        return bulleted
    first = _LIST_START.match(text)
    if not first:
        return _counted_items(text)
    lettered, style = first.group(2) is not None, first.group(1) or first.group(2)
    body, items, start, expected = text[first.end() :], list[str](), 0, 2
    for match in _LIST_ITEM.finditer(body):
        label = match.group(1)
        if label.isdigit() == lettered:
            continue
        number = ord(label) - ord("a") + 1 if lettered else int(label)
        in_turn = number == expected and match.group(2) == style
        if lettered:
            splits = in_turn
        else:
            punctuated = body[match.start() - 1 : match.start()] in tuple(".?!;:,")
            item = body[start : match.start()]
            splits = punctuated or (in_turn and _open_brackets(item, "(") <= 0)
        if splits:
            items.append(body[start : match.start()].strip())
            start, expected = match.end(), number + 1
    return [*items, body[start:].strip()]


def _counted_items(text: str) -> list[str]:
    """The asks of a sentence that announces how many it holds ("pls do both: 72 kg in
    pounds, and the square root of 1764"), split at the strongest separator outside
    brackets that gives that many; after the text before the announcement. The text
    whole when there is no such announcement, or no separator gives that count."""
    counted = _COUNTED.search(text)
    if not counted or (counted["count"].lower() != "both" and not counted["noun"]):
        return [text]
    rest, word = text[counted.end() :], counted["count"].lower()
    count = COUNT_WORDS.get(word) or int(word)
    if "\n" in rest or _LIST_START.match(rest) or len(_sentence_ends(rest)) > 1:
        return [text]
    for gap in _ITEM_GAPS:
        cuts = [m for m in gap.finditer(rest) if not _open_brackets(rest[: m.start()])]
        if len(cuts) == count - 1:
            starts, ends = [0, *(m.end() for m in cuts)], [*(m.start() for m in cuts), len(rest)]
            items = [rest[a:b].strip() for a, b in zip(starts, ends, strict=True)]
            return _after_statements(text[: counted.start()], items)
    return [text]


def _asks_yes_no(text: str) -> bool:
    """Whether `text`, order words and fillers aside, is a yes/no question ("also, is 2028
    a leap year?"): no instruction word starts it, yet it asks."""
    return bool(_YES_NO.match(strip_lead(text)))


def _open_brackets(text: str, opening: str = "([{") -> int:
    """How many of the `opening` brackets `text` leaves open: 0 outside brackets."""
    closing = opening.translate(str.maketrans("([{", ")]}"))
    return sum(map(text.count, opening)) - sum(map(text.count, closing))


def _bullet_items(text: str) -> list[str]:
    """The asks of a bulleted list whose every bullet asks ("I need two quick things:\n-
    how many words are in …\n- how many days between …") or whose header asks for what
    the bullets name ("Can you give me:\n- total units per product …\n- 7 factorial"),
    after what comes before the list without its header line; [] when it is not such a
    list (bullets of data: "Summarize:\n- …")."""
    bullets = list(_BULLET.finditer(text))
    if len(bullets) < 2:
        return []
    ends = [b.start() for b in bullets[1:]] + [len(text)]
    items = [text[b.end() : end].strip() for b, end in zip(bullets, ends, strict=True)]
    before = text[: bullets[0].start()]
    header = _HEADER_LINE.search(before)
    asked = header is not None and BARE_ASK.fullmatch(header[0].strip().rstrip(":").strip())
    if not asked and not all(map(is_instruction, items)):
        return []
    if header and not re.search(r"\d", header[0]):
        before = before[: header.start()]
    return _after_statements(before, items)


def _after_statements(before: str, items: list[str]) -> list[str]:
    """The items of a list, the first after what came before the list, greetings aside
    (a statement there is context, or the first ask's data)."""
    kept = " ".join(s for s in sentences(before.strip()) if s.strip() and not only_greets(s))
    return [f"{kept} {items[0]}", *items[1:]] if kept else items


def _sentence_ends(text: str) -> list[str]:
    """Split after ". " "? " "! " before a capital, or before a lower-case instruction
    word or yes/no question, after an order word or filler or not ("… fahrenheit. what
    is …", "… utilities 180. then divide the total by 4", "… transport 100. also how
    many liters is …", "… in sales.csv? also, is 2028 a leap year?"), unless the full
    stop ends an abbreviation; after "?", also before a filler and figures ("… sqrt of
    1764? and 4 gallons in liters")."""
    out, start = list[str](), 0
    for gap in _SENTENCE_GAP.finditer(text):
        rest = text[gap.end() :]
        asks = (
            first_word(rest) in INSTRUCTION_WORDS
            or ((SEQUENCE.match(rest) or FILLER.match(rest)) and is_instruction(rest))
            or _asks_yes_no(rest)
            or (text[gap.start() - 1] == "?" and FILLER.match(rest) and _FIGURE.search(rest))
        )
        lower_case_ask = asks and not (
            _ABBREVIATION.search(text[max(0, gap.start() - 16) : gap.start()])
        )
        if _CAPITAL_START.match(rest) or lower_case_ask:
            out.append(text[start : gap.start()])
            start = gap.end()
    return [*out, text[start:]]


def sentences(text: str) -> list[str]:
    """Split at sentence ends, and after a quote when a capitalised instruction follows."""
    out: list[str] = []
    for sentence in _sentence_ends(text):
        start = 0
        for match in _AFTER_QUOTE.finditer(sentence):
            if first_word(sentence[match.end() :]) in INSTRUCTION_WORDS:
                out.append(sentence[start : match.start()])
                start = match.end()
        out.append(sentence[start:])
    return out


def keep_material(sentences: list[str], hide: Callable[[str], str]) -> list[str]:
    """Hide the material after "Instruction: ..." with the sentences that follow it, as
    one span, so that none of it (not even a short sentence) becomes the capability.

    The material ends before an instruction or yes/no question that starts with an order
    word or a filler ("Then …", "Also, what is …", "also, is 2028 a leap year?"), before
    a sentence that starts with "Separately", at "-- and separately," and at a ";" or,
    after the data's closing bracket, an "and" followed by a new instruction ("…: Q1
    1200, Q2 900; and what is …"), whose text is read on as a sentence of its own. An
    ask that names data it does not hold ("how many sentences in this paragraph?") takes
    the plain sentences after it as material."""
    out: list[str] = []
    head, material = "", list[str]()

    def close() -> None:
        text = " ".join(material)
        out.append(head + hide(text) if text.strip() else head.rstrip())
        material.clear()

    queue = list(reversed(sentences))
    while queue:
        sentence = queue.pop()
        led = SEQUENCE.match(sentence) or FILLER.match(sentence)
        if material and (
            (led and (is_instruction(sentence) or _asks_yes_no(sentence)))
            or _SEPARATE_START.match(sentence)  # not "Then it rained."; "Also, what is …"
        ):
            close()
        if material:
            material.append(sentence)
        else:
            colon = _COLON.search(sentence)
            if colon and _opens_material(sentence[: colon.start()], sentence[colon.end() :]):
                head = sentence[: colon.end()]
            elif colon and "\n" in colon[0] and out and DATA_LATER.search(out[-1]):
                head = f"{out.pop()} {sentence[: colon.end()]}"  # "… in this paragraph? …:\n…"
            elif out and _ONLY_MATERIAL.fullmatch(sentence):  # "… this sentence? '<text>'"
                out[-1] = f"{out[-1]} {sentence.strip()}"
                continue
            elif _names_what_follows(sentence, queue):  # "… in this paragraph? The build …"
                head, colon = f"{sentence.rstrip()} ", None
                sentence = queue.pop()
            else:
                out.append(sentence)
                continue
            material.append(sentence[colon.end() :] if colon else sentence)
        end = _material_end(material[-1])
        if end is not None:
            queue.append(material[-1][end.end() :])
            material[-1] = material[-1][: end.start()]
            close()
    if material:
        close()
    return out


def _names_what_follows(sentence: str, queue: list[str]) -> bool:
    """Whether an ask names data it does not hold ("how many sentences in this paragraph?")
    and plain sentences, not asks, follow it: they are that data."""
    return bool(
        DATA_LATER.search(sentence)
        and is_instruction(sentence)
        and not HIDDEN.search(sentence)
        and ":" not in sentence
        and queue
        and not is_instruction(queue[-1])
        and not _ONLY_MATERIAL.fullmatch(queue[-1])
    )


def _opens_material(head: str, rest: str) -> bool:
    """Whether what follows the colon is material to work on: after a verb ("Summarize:
    …", "tl;dr: …"), or after a question ("How many sentences does this have: …") when
    it is text, not a new question (no instruction word first, no "?" to end it). A
    colon inside brackets is data's ("turn [{"sku": "A1"}] into CSV, and …"). What a
    dash sets before the ask is not its start ("Quick check before I send this - how
    many sentences does this have: …")."""
    asked = _DASH.split(head)[-1]
    first, lead = lead_word(asked), strip_lead(asked)
    opened = _open_brackets(head, "[{") > 0
    if not rest.strip() or first not in INSTRUCTION_WORDS or opened:
        return False
    if first in VERBS:
        return True
    asks = lead_word(rest) in INSTRUCTION_WORDS or rest.rstrip().endswith("?")
    return not CLAUSE.match(lead) and not asks


def _material_end(material: str) -> re.Match[str] | None:
    """The first ";" in colon material that a new instruction follows, or "and" / "also"
    after the data's closing bracket or quote ('[{"city": "Oslo"}] and what is …', "'It
    rained. We stayed in.' also how many minutes are in 7.5 hours"), or the first "--
    and separately," whatever follows it."""
    for match in [*_SEMICOLON_SPLIT.finditer(material), *_AFTER_DATA.finditer(material)]:
        balanced = not _open_brackets(material[: match.start()], "[{")
        if balanced and is_instruction(material[match.end() :]):
            return match
    return _SEPARATELY.search(material)


def material_first(sentence: str) -> str:
    """The material at the end of a sentence moved to the ask that names it, before the
    steps after that ask: "count the words in this blurb and then multiply that by 0.12:
    '<text>'" counts the words of the text and multiplies the count."""
    found = _MATERIAL_LAST.fullmatch(sentence)
    if not found or not DATA_LATER.search(found["ask"]):
        return sentence
    return f"{found['ask']}{found['data'].rstrip()}{found['next']}"

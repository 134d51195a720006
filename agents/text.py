"""The text agent: counts words and sentences, and writes short extractive summaries.

Everything is computed locally with regular expressions, so results are exact and
repeatable: statistics are exact counts, and a summary quotes the text's own sentences
(those carrying its most frequent words) in their original order, so it never says
anything the text does not. The text comes from the task's inputs, a quoted span or the
part after a colon in the description, or else the outputs of the tasks it depends on.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Mapping
from typing import Any

from mesh.errors import TaskRejected
from mesh.models import AgentCard, Skill, TaskRequest, TaskResult
from mesh.registry_input import URL

DEFAULT_SUMMARY_SENTENCES = 2
MAX_SUMMARY_SENTENCES = 50
TOP_WORDS = 5

# "Dr. Smith", "e.g. this": a period after these never ends a sentence.
_NEVER_END = {"dr", "mr", "mrs", "ms", "prof", "vs", "e.g", "i.e", "cf", "fig", "approx", "mt"}
# "Main St." or "apples, etc." end a sentence only when a capital letter follows.
_MAYBE_END = {"st", "jr", "sr", "etc", "inc", "ltd", "co", "corp", "no", "al", "a.m", "p.m"}
_BOUNDARY = re.compile(r"[.!?…]+[\"'”’)\]]*(?=\s)|\n[ \t]*\n")
_WORD_RE = re.compile(  # "U.S." and "1,200.50" are one word each, and so is "3pm"
    r"(?:[^\W\d_]\.){2,}|\d+(?:[.,]\d+)*[^\W_]*|\w+(?:['’-]\w+)*"
)
_STOPWORDS = set(
    """a about above after again all also am an and any are as at be because been before
    being below between both but by can could did do does doing down during each few for
    from further had has have having he her here hers him his how i if in into is it its
    itself just me more most my no nor not now of off on once only or other our ours out
    over own same she should so some such than that the their theirs them then there these
    they this those through to too under until up very was we were what when where which
    while who whom why will with would you your yours""".split()  # noqa: SIM905
)
_QUOTES = [("“", "”"), ('"', '"'), ("‘", "’"), ("'", "'")]
_SUMMARY_RE = re.compile(r"summar|tl;?\s?dr|condens|\bgist\b|\bsum\s+up|boil\s+down", re.I)
_NUMBER_WORDS = {"one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6}
_NUMBER_WORDS |= {"seven": 7, "eight": 8, "nine": 9, "ten": 10, "a": 1, "single": 1}
_COUNTED = r"(?:(?:unique|distinct)\s+words?|words?|sentences?|characters?|chars?)"
_ASKED_COUNT = re.compile(  # "count the words", "how many sentences and characters"
    rf"\b(?:count|how\s+many|number\s+of|tally)(?:\s+(?:of|the|all))*\s+({_COUNTED}"
    rf"(?:\s*(?:,|and|&)\s*(?:the\s+)?{_COUNTED})*)\b",
    re.IGNORECASE,
)
_STATS_ASKED = re.compile(  # what the statistics answer; anything else is not this agent's
    r"(?<!\bthe\s)(?<!\bits\s)(?<!\bthat\s)(?<!\bthis\s)\bcount"  # not "multiply the count"
    r"|how\s+many|number\s+of|tally|word|sentence|char|letter|stat|frequen|common"
    r"|length|long|analy[sz]|readab|text|about",
    re.IGNORECASE,
)
_OTHER_WORK = re.compile(  # asks about words or letters that no statistic answers
    r"\b(?:revers|sort|alphabeti|upper[\s-]*case|lower[\s-]*case|title[\s-]*case|capitali"
    r"|translat|rewrite|rephras|paraphras|proofread|spell|correct|fix|replac|remov|delet"
    r"|shuffl|redact|censor|encod|decod|encrypt|decrypt|longest|shortest|vowel|consonant"
    r"|palindrom|anagram|rhym|syllabl)\w*",
    re.IGNORECASE,
)
_COUNT_KEYS = {"word": "words", "sentence": "sentences", "character": "characters"}
_COUNT_KEYS |= {"char": "characters", "unique": "unique_words", "distinct": "unique_words"}
_COUNT_RE = re.compile(  # "3 sentences", "one short sentence", "a single sentence"
    rf"\b(\d+|{'|'.join(_NUMBER_WORDS)})[\s-]+(?:(?:short|brief|key|single|concise)[\s-]+)?"
    r"sentences?\b",
    re.IGNORECASE,
)


def _is_boundary(text: str, match: re.Match[str]) -> bool:
    """Whether a period really ends a sentence, rather than an abbreviation or initial."""
    if match[0][0] != "." or match[0].startswith(".."):
        return True
    before = re.search(r"[\w.]*$", text[max(0, match.start() - 40) : match.start()])
    word = before[0].strip(".") if before else ""
    following = text[match.end() : match.end() + 40].lstrip()[:1]
    if word.lower() in _NEVER_END or (len(word) == 1 and word.isupper()):
        return False
    if word.lower() in _MAYBE_END or re.fullmatch(r"(?:[^\W\d_]\.)+[^\W\d_]", word):
        return following.isupper()
    return True


def split_sentences(text: str) -> list[str]:
    """The sentences of `text`, keeping abbreviations (e.g., Dr.) and decimals (3.14) whole."""
    sentences: list[str] = []
    start = 0
    for match in _BOUNDARY.finditer(text):
        if match[0].startswith("\n") or _is_boundary(text, match):
            cut = match.start() if match[0].startswith("\n") else match.end()
            sentences.append(text[start:cut].strip())
            start = cut
    sentences.append(text[start:].strip())
    return [s for s in sentences if re.search(r"\w", s)]


def _words(text: str) -> list[str]:
    return _WORD_RE.findall(text)


def _is_word(token: str) -> bool:
    return any(ch.isalpha() for ch in token)


def text_stats(text: str) -> dict[str, Any]:
    """Exact counts for `text`: words, sentences, characters, averages, most frequent words.

    `characters` excludes whitespace; `top_words` skips common words such as "the"
    unless the text has nothing else.
    """
    words = _words(text)
    sentences = split_sentences(text)
    counts = Counter(w.lower() for w in words if _is_word(w))
    content = Counter({w: c for w, c in counts.items() if w not in _STOPWORDS}) or counts
    top = sorted(content.items(), key=lambda item: -item[1])[:TOP_WORDS]
    letters = sum(ch.isalnum() for w in words for ch in w)
    return {
        "words": len(words),
        "unique_words": len({w.lower() for w in words}),
        "sentences": len(sentences),
        "characters": sum(not ch.isspace() for ch in text),
        "characters_with_spaces": len(text),
        "average_word_length": round(letters / len(words), 2) if words else 0.0,
        "average_sentence_length": round(len(words) / len(sentences), 2) if sentences else 0.0,
        "top_words": [{"word": w, "count": c} for w, c in top],
    }


def _plural(n: int, noun: str) -> str:
    return f"{n} {noun}" if n == 1 else f"{n} {noun}s"


def describe_stats(stats: Mapping[str, Any]) -> str:
    """One line a person reads, e.g. "5 words, 1 sentence, 21 characters (25 with spaces)..."."""
    line = (
        f"{_plural(stats['words'], 'word')}, {_plural(stats['sentences'], 'sentence')},"
        f" {_plural(stats['characters'], 'character')}"
        f" ({stats['characters_with_spaces']} with spaces);"
        f" average word length {stats['average_word_length']:g}"
    )
    repeated = [f"{t['word']} ({t['count']})" for t in stats["top_words"] if t["count"] > 1]
    return line + (f"; most frequent: {', '.join(repeated)}" if repeated else "")


def rank_sentences(text: str, sentences: int) -> list[int]:
    """Indexes of the `sentences` best sentences, in text order.

    A sentence scores the summed document frequency of its content words divided by the
    square root of their number, so it favours sentences dense in the text's main words
    without simply rewarding length; ties go to the earlier sentence.
    """
    if not 1 <= sentences <= MAX_SUMMARY_SENTENCES:
        raise TaskRejected(
            f"a summary takes 1 to {MAX_SUMMARY_SENTENCES} sentences, not {sentences}"
        )
    parts = split_sentences(text)
    if not parts:
        raise TaskRejected("the text has no sentences to summarise: give some text")
    if len(parts) <= sentences:
        return list(range(len(parts)))
    tokens = [
        [w.lower() for w in _words(s) if _is_word(w) and w.lower() not in _STOPWORDS] for s in parts
    ]
    freq = Counter(w for sentence in tokens for w in sentence)
    scores = [sum(freq[w] for w in ws) / math.sqrt(len(ws)) if ws else 0.0 for ws in tokens]
    best = sorted(range(len(parts)), key=lambda i: (-scores[i], i))[:sentences]
    return sorted(best)


def summarize(text: str, sentences: int = DEFAULT_SUMMARY_SENTENCES) -> str:
    """An extractive summary: the `sentences` best sentences of `text`, in their order."""
    parts = split_sentences(text)
    return " ".join(parts[i] for i in rank_sentences(text, sentences))


def _quoted_spans(description: str) -> list[str]:
    spans = []
    for open_, close in _QUOTES:
        pattern = rf"(?<!\w){re.escape(open_)}(.+?){re.escape(close)}(?!\w)"
        spans += [m.strip() for m in re.findall(pattern, description, re.DOTALL) if m.strip()]
    return spans


def extract_subject_text(
    description: str,
    inputs: Mapping[str, Any] | None = None,
    upstream: Mapping[str, TaskResult] | None = None,
) -> str:
    """The text a task is about, from the first of these that has some.

    `inputs["text"]`; the longest quoted span in the description ('...', "...", “...”,
    ‘...’); the description after its first colon, or after its first question ("how
    many sentences in this paragraph? …"); the outputs of succeeded upstream
    tasks, joined by blank lines. Otherwise a TaskRejected says how to give the text.
    """
    given = (inputs or {}).get("text")
    if given is not None and str(given).strip():
        return str(given).strip()
    spans = _quoted_spans(description)
    if spans:
        return max(spans, key=len)
    after_colon = re.search(r":\s+(\S.*)", description, re.DOTALL)
    if after_colon:
        return after_colon[1].strip()
    after_question = re.search(r"\?\s+(\S.*)", description, re.DOTALL)  # "… this paragraph? …"
    if after_question:
        return after_question[1].strip()
    outputs = [
        r.output.strip()
        for r in (upstream or {}).values()
        if r.status == "succeeded" and r.output.strip()
    ]
    if outputs:
        return "\n\n".join(outputs)
    raise TaskRejected(
        "no text to work on: put it in quotes (count the words in 'your text here'), after a"
        " colon (summarize: your text), in inputs={'text': ...}, or make the task depend on"
        " the task that produces it"
    )


def _instruction(description: str) -> str:
    """The description without the text it carries, so that text cannot change the mode."""
    for span in _quoted_spans(description):
        description = description.replace(span, " ")
    return re.split(r"[:?]\s", description, maxsplit=1)[0]


def asked_count(instruction: str) -> str | None:
    """Which of the statistics the instruction asks for by name ("count the words" ->
    "words"), so that a task after it can use that number as "the result"; None when
    it asks for several or none."""
    asked = set()
    for match in _ASKED_COUNT.finditer(instruction):
        for noun in re.split(r"\s*(?:,|and|&)\s*(?:the\s+)?", match[1].lower()):
            first = noun.split()[0].rstrip("s")
            asked.add(_COUNT_KEYS[first])
    return asked.pop() if len(asked) == 1 else None


def _summary_length(instruction: str, given: Any) -> int:
    if given is not None:
        try:
            return int(given)
        except (TypeError, ValueError):
            raise TaskRejected(
                f"inputs['sentences'] must be a whole number, not {given!r}"
            ) from None
    match = _COUNT_RE.search(instruction)
    if match:
        word = match[1].lower()
        return int(word) if word.isdigit() else _NUMBER_WORDS[word]
    return 1 if re.search(r"tl;?\s?dr", instruction, re.I) else DEFAULT_SUMMARY_SENTENCES


TEXT_CARD = AgentCard(
    name="text",
    version="0.2.3",  # 0.2: the count asked for is its value, for the task after; 0.2.1:
    # a task that asks neither for statistics nor a summary is refused; the text after a
    # question ("how many sentences in this paragraph? …"); 0.2.2: "3pm" is one word;
    # 0.2.3: "reverse the words", "the longest word" are refused, not answered with counts
    description=(
        "Text analysis: counts the words, sentences and characters of a text, finds its most"
        " frequent words, and summarises it in a few of its own key sentences."
    ),
    tags=["text", "nlp", "words", "statistics", "summary"],
    skills=[
        Skill(
            name="text-statistics",
            description=(
                "Count the words, sentences and characters of a text; average word and"
                " sentence length; most frequent words."
            ),
            tags=["count", "words", "sentences", "statistics", "word-count"],
            examples=[
                "count the words in 'the quick brown fox jumps'",
                "how many sentences are in this paragraph: ...",
                "what are the most frequent words in the previous answer",
            ],
        ),
        Skill(
            name="summarize",
            description=(
                "Summarise a text in a few of its own sentences, those carrying its main"
                " words, kept in their original order."
            ),
            tags=["summary", "summarize", "tl;dr", "condense", "extractive"],
            examples=[
                "summarize the results in 2 sentences",
                "tl;dr: ...",
                "condense this report into one sentence: ...",
            ],
        ),
    ],
)


def handler(req: TaskRequest) -> TaskResult:
    """Statistics for the task's text, or a summary when the description asks for one."""
    text = extract_subject_text(req.description, req.inputs, req.upstream)
    instruction = _instruction(req.description)
    mode = req.inputs.get("mode") or ("summary" if _SUMMARY_RE.search(instruction) else "stats")
    asks_other = re.search(r"[A-Za-z]", instruction) and not _STATS_ASKED.search(instruction)
    if not req.inputs.get("mode") and mode == "stats":
        other = _OTHER_WORK.search(instruction)  # "reverse the words", "the longest word"
        if asks_other or other:  # "multiply the count"
            asked = f"{other[0].lower()!r} is neither a count nor a summary" if other else ""
            raise TaskRejected(
                "the text agent counts the words, sentences and characters of a text and"
                f" summarises it; {instruction.strip()!r} asks for neither"
                + (f" ({asked})" if asked else "")
            )
    if mode == "summary":
        if not URL.sub("", text).strip():  # "tl;dr this article: https://…" gave the link back
            raise TaskRejected(
                f"the text to summarise is only a link, {text[:200]}: the text agent does not"
                " fetch pages; ask for the page to be read first, or paste its text"
            )
        count = _summary_length(instruction, req.inputs.get("sentences"))
        picked = rank_sentences(text, count)
        parts = split_sentences(text)
        output = " ".join(parts[i] for i in picked)
        data: dict[str, Any] = {"mode": "summary", "summary": output, "picked": picked}
        data |= {"sentences": len(picked), "source_sentences": len(parts)}
    elif mode == "stats":
        stats = text_stats(text)
        output, data = describe_stats(stats), {"mode": "stats", **stats}
        if key := asked_count(instruction):
            data |= {"value": stats[key], "unit": key}
    else:
        raise TaskRejected(f"inputs['mode'] must be 'stats' or 'summary', not {mode!r}")
    return TaskResult(
        task_id=req.task_id, status="succeeded", agent="text", output=output, data=data
    )

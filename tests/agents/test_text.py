"""The text agent: exact statistics, extractive summaries, and where the text comes from."""

from __future__ import annotations

import pytest

from mesh.agents.text import (
    TEXT_CARD,
    describe_stats,
    extract_subject_text,
    handler,
    rank_sentences,
    split_sentences,
    summarize,
    text_stats,
)
from mesh.errors import TaskRejected
from mesh.models import TaskRequest, TaskResult

ARTICLE = (
    "Solar panels turn sunlight into electricity. "
    "My neighbour owns a red bicycle. "
    "Modern solar panels convert about a fifth of sunlight into electricity. "
    "The weather was pleasant on Tuesday. "
    "Cheap solar panels made solar electricity the cheapest power in many countries."
)


def _ok(task_id: str, output: str) -> TaskResult:
    return TaskResult(task_id=task_id, status="succeeded", output=output, agent="x")


def test_stats_of_a_simple_phrase() -> None:
    stats = text_stats("the quick brown fox jumps")
    assert stats["words"] == 5
    assert stats["sentences"] == 1
    assert stats["characters"] == 21
    assert stats["characters_with_spaces"] == 25
    assert stats["average_word_length"] == 4.2
    assert stats["unique_words"] == 5


def test_stats_count_sentences_and_frequent_words() -> None:
    text = "The cat saw the cat. The dog saw a cat! Did the dog run?"
    stats = text_stats(text)
    assert stats["words"] == 14
    assert stats["sentences"] == 3
    assert stats["average_sentence_length"] == round(14 / 3, 2)
    assert stats["top_words"][:3] == [
        {"word": "cat", "count": 3},
        {"word": "saw", "count": 2},
        {"word": "dog", "count": 2},
    ]


def test_stats_words_keep_contractions_numbers_and_abbreviations_whole() -> None:
    stats = text_stats("Don't pay 3.14 or 2,000 dollars, e.g. a well-known fee.")
    assert stats["words"] == 10  # Don't pay 3.14 or 2,000 dollars e.g. a well-known fee
    assert stats["sentences"] == 1


def test_stats_a_number_with_letters_stuck_to_it_is_one_word() -> None:
    stats = text_stats("Moved to Thursday at 3pm, the 2nd slot, 10km away.")
    assert stats["words"] == 10  # Moved to Thursday at 3pm the 2nd slot 10km away


def test_stats_of_empty_text_are_zero() -> None:
    stats = text_stats("")
    assert stats["words"] == stats["sentences"] == stats["characters"] == 0
    assert stats["average_word_length"] == 0.0
    assert stats["top_words"] == []


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("One. Two! Three?", ["One.", "Two!", "Three?"]),
        ("Pi is 3.14 today. Next.", ["Pi is 3.14 today.", "Next."]),
        ("Dr. Smith met Mr. Jones. They talked.", ["Dr. Smith met Mr. Jones.", "They talked."]),
        ("Use a tool, e.g. a hammer. Then stop.", ["Use a tool, e.g. a hammer.", "Then stop."]),
        ("That is, i.e. done. Yes.", ["That is, i.e. done.", "Yes."]),
        ("J. R. R. Tolkien wrote it. Really.", ["J. R. R. Tolkien wrote it.", "Really."]),
        ("We ate apples, pears, etc. Then left.", ["We ate apples, pears, etc.", "Then left."]),
        ("See No. 5 for more. Ok.", ["See No. 5 for more.", "Ok."]),
        ("We met at 5 p.m. today. Fine.", ["We met at 5 p.m. today.", "Fine."]),
        ('He said "Stop." Then he left.', ['He said "Stop."', "Then he left."]),
        ("Wait... what? Yes.", ["Wait...", "what?", "Yes."]),
        ("A title\n\nThe body text", ["A title", "The body text"]),
        ("no final stop", ["no final stop"]),
        ("", []),
    ],
)
def test_sentence_splitting(text: str, expected: list[str]) -> None:
    assert split_sentences(text) == expected


def test_summary_picks_the_topical_sentences_in_order() -> None:
    assert rank_sentences(ARTICLE, 2) == [0, 4]
    summary = summarize(ARTICLE, sentences=2)
    assert summary == (
        "Solar panels turn sunlight into electricity. Cheap solar panels made solar"
        " electricity the cheapest power in many countries."
    )
    assert "bicycle" not in summarize(ARTICLE, sentences=3)
    assert "weather" not in summarize(ARTICLE, sentences=3)


def test_summary_of_short_text_is_the_text() -> None:
    assert summarize("Only one sentence here.", sentences=2) == "Only one sentence here."


def test_summary_with_bad_length_or_no_text_fails() -> None:
    with pytest.raises(TaskRejected, match="1 to 50 sentences"):
        summarize(ARTICLE, sentences=0)
    with pytest.raises(TaskRejected, match="no sentences"):
        summarize("   ", sentences=2)


def test_describe_stats_reads_like_a_sentence() -> None:
    line = describe_stats(text_stats("the quick brown fox jumps"))
    assert line.startswith("5 words, 1 sentence, 21 characters")
    assert "most frequent" not in line
    repeated = describe_stats(text_stats("Cats nap. Cats eat. Dogs bark."))
    assert "most frequent: cats (2)" in repeated


def test_subject_text_priority() -> None:
    upstream = {"a": _ok("a", "from upstream")}
    assert extract_subject_text("count 'quoted'", {"text": "given"}, upstream) == "given"
    assert extract_subject_text("count 'quoted': after", {}, upstream) == "quoted"
    assert extract_subject_text("count these: after colon", {}, upstream) == "after colon"
    assert extract_subject_text("count the words", {}, upstream) == "from upstream"


@pytest.mark.parametrize(
    ("description", "expected"),
    [
        ("count the words in 'the quick brown fox jumps'", "the quick brown fox jumps"),
        ('count the words in "hello there world"', "hello there world"),
        ("count the words in “curly double quotes”", "curly double quotes"),
        ("count the words in ‘curly single’ please", "curly single"),
        ("count the words in 'don't stop me now'", "don't stop me now"),
        ("the agent's job: count 'a b' and 'a much longer one'", "a much longer one"),
        ("Summarize the following:\nFirst line. Second line.", "First line. Second line."),
    ],
)
def test_subject_text_from_the_description(description: str, expected: str) -> None:
    assert extract_subject_text(description, {}) == expected


def test_subject_text_from_upstream_skips_failed_and_empty_tasks() -> None:
    upstream = {
        "a": _ok("a", "First result."),
        "b": TaskResult(task_id="b", status="failed", error="boom", output="partial"),
        "c": _ok("c", "   "),
        "d": _ok("d", "Second result."),
    }
    text = extract_subject_text("summarize the results", {}, upstream)
    assert text == "First result.\n\nSecond result."


def test_missing_text_asks_for_it_in_quotes() -> None:
    with pytest.raises(TaskRejected, match="in quotes"):
        extract_subject_text("count the words", {}, {})
    with pytest.raises(TaskRejected, match="in quotes"):
        extract_subject_text("summarize the results", {}, {"a": _ok("a", "")})


def _request(description: str, **inputs: object) -> TaskRequest:
    return TaskRequest(task_id="t1", description=description, inputs=dict(inputs))


def test_handler_counts_words() -> None:
    result = handler(_request("count the words in 'the quick brown fox jumps'"))
    assert result.task_id == "t1"
    assert result.status == "succeeded"
    assert result.agent == "text"
    assert result.output.startswith("5 words, 1 sentence, 21 characters")
    assert result.data["mode"] == "stats"
    assert result.data["words"] == 5
    assert result.data["characters"] == 21


@pytest.mark.parametrize(
    ("description", "value", "unit"),
    [
        ("count the words in 'to be or not to be'", 6, "words"),
        ("how many sentences are in 'One. Two. Three.'", 3, "sentences"),
        ("number of characters in 'a bc'", 3, "characters"),
        ("count the unique words in 'to be or not to be'", 4, "unique_words"),
    ],
)
def test_the_count_asked_for_is_the_value_a_next_task_uses(
    description: str, value: int, unit: str
) -> None:
    data = handler(_request(description)).data
    assert (data["value"], data["unit"]) == (value, unit)


@pytest.mark.parametrize(
    "description",
    ["count the words and sentences in 'a b. c'", "statistics for 'a b c'", "tl;dr: 'a b. c d.'"],
)
def test_no_value_when_several_counts_or_none_are_asked_for(description: str) -> None:
    assert "value" not in handler(_request(description)).data


def test_handler_summarises_when_asked() -> None:
    result = handler(_request(f"Summarize this article: {ARTICLE}"))
    assert result.data["mode"] == "summary"
    assert result.data["picked"] == [0, 4]
    assert result.data["source_sentences"] == 5
    assert result.output == result.data["summary"] == summarize(ARTICLE, 2)


@pytest.mark.parametrize(
    ("description", "sentences"),
    [
        ("summarize in 3 sentences: {text}", 3),
        ("summarise it in one sentence: {text}", 1),
        ("condense into two short sentences: {text}", 2),
        ("tl;dr: {text}", 1),
        ("give me the gist: {text}", 2),
        ("summarize in a sentence: {text}", 1),
        ("summarize in a single sentence: {text}", 1),
        ("summarize in a few sentences: {text}", 2),
        ("summarize in 3 key sentences: {text}", 3),
    ],
)
def test_handler_summary_length_from_the_wording(description: str, sentences: int) -> None:
    result = handler(_request(description.format(text=ARTICLE)))
    assert result.data["mode"] == "summary"
    assert result.data["sentences"] == sentences


def test_handler_mode_ignores_words_inside_the_text() -> None:
    result = handler(_request("count the words in 'a summary of the news'"))
    assert result.data["mode"] == "stats"
    assert result.data["words"] == 5


def test_handler_uses_inputs_and_upstream() -> None:
    by_input = handler(_request("summarize", text=ARTICLE, sentences=1))
    assert (
        by_input.output
        == "Cheap solar panels made solar electricity the cheapest power in many countries."
    )
    req = TaskRequest(
        task_id="t2",
        description="summarize the findings",
        upstream={"a": _ok("a", ARTICLE)},
    )
    assert handler(req).data["picked"] == [0, 4]
    stats = handler(_request("statistics please", text="one two", mode="stats"))
    assert stats.data["words"] == 2


def test_handler_errors() -> None:
    with pytest.raises(TaskRejected, match="in quotes"):
        handler(_request("count the words"))
    with pytest.raises(TaskRejected, match="'stats' or 'summary'"):
        handler(_request("do it", text="abc", mode="translate"))
    with pytest.raises(TaskRejected, match="whole number"):
        handler(_request("summarize", text=ARTICLE, sentences="many"))


@pytest.mark.parametrize("description", ["multiply the count by 250", "convert it to km"])
def test_a_task_that_asks_neither_statistics_nor_a_summary_is_refused(description: str) -> None:
    """ "multiply the count by 250", after a word count, came back as statistics of the
    count's own text, reported as success; refused, it goes to the calculator."""
    with pytest.raises(TaskRejected, match="asks for neither"):
        handler(_request(description, text="13 words, 1 sentence"))
    assert handler(_request("how long is it", text="a b c")).data["words"] == 3


@pytest.mark.parametrize(
    "description",
    [
        'reverse the words in "the quick brown fox"',
        'capitalize every word in "the lord of the rings"',
        'what is the longest word in "a quick brown elephant"',
        'count the vowels in "mississippi"',
    ],
)
def test_a_task_about_words_that_no_count_answers_is_refused(description: str) -> None:
    """These came back as word counts of the quoted text, reported as success."""
    with pytest.raises(TaskRejected, match="neither a count nor a summary"):
        handler(_request(description))
    assert handler(_request('count the words in "the longest day"')).data["words"] == 3


def test_the_text_after_a_question_is_its_subject() -> None:
    asked = "how many sentences in this paragraph? The build failed. Then Sam restarted it."
    assert handler(_request(asked)).data["sentences"] == 2


def test_card() -> None:
    assert TEXT_CARD.name == "text"
    names = {s.name for s in TEXT_CARD.skills}
    assert names == {"text-statistics", "summarize"}
    assert all(s.examples and s.tags for s in TEXT_CARD.skills)


@pytest.mark.parametrize(
    "description",
    [
        "tl;dr this article: https://blog.example.org/2024/05/release-notes",
        "summarize this: www.example.com/a.html https://example.com/b",
    ],
)
def test_a_summary_of_only_a_link_is_refused(description: str) -> None:
    """It gave the link back as its own summary, reported as success."""
    with pytest.raises(TaskRejected, match=r"only a link.*does not fetch pages"):
        handler(_request(description))


def test_a_text_holding_a_link_is_still_summarised() -> None:
    text = "Release 2.0 is out. See https://example.com/notes for details. It is faster."
    result = handler(_request(f"summarize in 1 sentence: {text}"))
    assert result.status == "succeeded" and result.data["sentences"] == 1

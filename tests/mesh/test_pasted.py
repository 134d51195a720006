"""Text pasted on lines of its own, next to the ask about it, goes to that ask whole."""

from __future__ import annotations

import pytest

from mesh import Mesh
from mesh.models import Task
from mesh.offline import parse_request
from mesh.pasted import mark_pasted

NOTES = (
    "Our team shipped the new billing system in March. Customers can now pay by invoice"
    " or card. Support tickets about payments fell by a third in the first month. The next"
    " step is to add refunds to the self-service page."
)


CSV = "city,pop\nOslo,709000"


@pytest.mark.parametrize(
    ("request_text", "marked"),
    [
        (f"please summarize this\n\n{NOTES}", f"please summarize this:\n{NOTES}"),
        (f"summarize\n{NOTES}", f"summarize:\n{NOTES}"),
        (f"count the words below\n{NOTES}", f"count the words below:\n{NOTES}"),
        (f"{NOTES}\n\ncan you count words in that?", f"can you count words in that:\n{NOTES}"),
        (f"turn this csv into json\n{CSV}", f"turn this csv into json:\n{CSV}"),
        (f"summarize the following text {NOTES}", f"summarize the following text: {NOTES}"),
        (f"tl;dr {NOTES}", f"tl;dr: {NOTES}"),
    ],
)  # fmt: skip
def test_pasted_text_becomes_the_material_of_its_ask(request_text: str, marked: str) -> None:
    assert mark_pasted(request_text) == marked
    (part,) = parse_request(request_text)
    assert (CSV if "csv" in request_text else NOTES) in part.text, "the task gets the text"
    assert "Customers" not in part.capability, "discovery does not search with it"


@pytest.mark.parametrize(
    "request_text",
    [
        "what is 2+2\n\n\nand 3+3",  # a second ask on its own line
        "My rent is 900 a month.\nhow much is that a year",  # short: context, not a paste
        "summarize this\nWhat is the capital of France?",  # what follows asks
        "summarize\nconvert 5 km to miles",
        "Two things:\n1. what is 2+2\n2. convert 5 km to miles",
        "answer this\n1) 17*23\n2) 5 km in miles",  # a numbered list is read as one
        'turn this JSON into CSV: [{"city": "Oslo"}]',  # material after a colon already
        "what day is this Friday, I mean the next one, in the calendar of this year please",
        "My rent is 900 a month. I pay 60 for power.\nwhat is that in total",  # figures
        "The meeting ran long.\nsummarize that",  # one short sentence may be context
    ],
)
def test_asks_on_their_own_lines_are_not_pasted_text(request_text: str) -> None:
    assert mark_pasted(request_text) == request_text


@pytest.mark.parametrize(
    ("request_text", "marked"),
    [
        ("The cat sat on the mat. The dog barked.\ncount the words in that",
         "count the words in that:\nThe cat sat on the mat. The dog barked."),
        ("proofread this\nTheir going to the store tomorow.",
         "proofread this:\nTheir going to the store tomorow."),  # a verb no list holds
        ("summarize this,\nOur team shipped it. Customers love it.",
         "summarize this:\nOur team shipped it. Customers love it."),
        ("do the following\n- what is 2+2\n- convert 5 km to miles",  # bullets split after it
         "do the following:\n- what is 2+2\n- convert 5 km to miles"),
    ],
)  # fmt: skip
def test_short_pasted_text_is_material_when_nothing_says_it_is_context(
    request_text: str, marked: str
) -> None:
    assert mark_pasted(request_text) == marked


def test_a_pasted_text_is_summarized_by_one_task(mesh: Mesh) -> None:
    """Each pasted sentence was a task of its own that no agent matched (4 failed tasks)."""
    result = mesh.run(f"please summarize this\n\n{NOTES}")
    (only,) = result.results.values()
    assert result.ok and only.agent == "text"
    assert only.data["source_sentences"] == 4
    assert all(sentence.rstrip(".") in NOTES for sentence in only.output.split(". "))


def test_text_before_an_ask_that_points_back_is_its_material(mesh: Mesh) -> None:
    result = mesh.run(f"{NOTES}\n\ncan you count the words in that")
    (only,) = result.results.values()
    assert result.ok and only.agent == "text"
    assert only.data["words"] == len(NOTES.split())


def test_discovery_reads_the_ends_of_a_long_need() -> None:
    """A need of 5,000 characters was refused as a search query over 4,000; the ask is
    at the start or the end of a long request."""
    pasted = "The fox ran by the river while the farmer watched. " * 100
    need = Task(id="t", description=f"please summarize {pasted}").need
    assert need.startswith("please summarize The fox") and "…" in need
    assert len(need.split()) <= 49
    tail = Task(id="t", description=f"{pasted} count the words in that").need
    assert tail.endswith("count the words in that")

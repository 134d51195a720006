"""The knowledge agent on the shipped documents, a real embedded Chroma and the real model."""

from __future__ import annotations

from pathlib import Path

import pytest
from chromadb.api import ClientAPI

from mesh.agents.knowledge import (
    DOCS_DIR,
    KNOWLEDGE_CARD,
    KnowledgeBase,
    split_chunks,
    split_sentences,
)
from mesh.errors import TaskRejected
from mesh.models import AgentCard, TaskRequest
from mesh.vectorstore.client import make_client
from mesh.vectorstore.embeddings import MiniLMEmbedding


@pytest.fixture(scope="module")
def emb() -> MiniLMEmbedding:
    return MiniLMEmbedding()


@pytest.fixture
def client(tmp_path: Path) -> ClientAPI:
    return make_client(tmp_path, None)


@pytest.fixture
def kb(client: ClientAPI, emb: MiniLMEmbedding) -> KnowledgeBase:
    base = KnowledgeBase(client, emb)
    assert base.ensure_seeded() > 0
    return base


def test_card_is_valid_and_describes_two_skills() -> None:
    card = AgentCard.model_validate(KNOWLEDGE_CARD.model_dump())
    assert card.name == "knowledge"
    assert len(card.skills) == 2
    assert all(s.examples for s in card.skills)


def test_shipped_docs_exist() -> None:
    names = {p.stem for p in DOCS_DIR.glob("*.md")}
    assert {"solar-system", "si-units", "http-status-codes", "python-basics"} <= names


@pytest.mark.parametrize(
    ("question", "fact", "source"),
    [
        ("How many planets are in the solar system?", "eight planets", "solar-system"),
        ("What does HTTP status 404 mean?", "404 Not Found", "http-status-codes"),
        ("What is the SI base unit of electric current?", "ampere", "si-units"),
        ("Who created Python?", "Guido van Rossum", "python-basics"),
        ("What does the registry of the agentic mesh store?", "agent card", "agentic-mesh"),
    ],
)
def test_ask_quotes_the_fact_and_names_the_source(
    kb: KnowledgeBase, question: str, fact: str, source: str
) -> None:
    text, sources = kb.ask(question)
    assert fact in text
    assert sources[0] == source
    assert source in text


def test_handler_returns_a_succeeded_result_with_provenance(kb: KnowledgeBase) -> None:
    req = TaskRequest(task_id="t1", description="How many planets are in the solar system?")
    result = kb.handler(req)
    assert result.status == "succeeded"
    assert result.task_id == "t1"
    assert result.agent == "knowledge"
    assert "eight planets" in result.output and "solar-system" in result.output
    assert result.data["sources"] == ["solar-system"]
    assert result.data["passages"][0]["source"] == "solar-system"
    assert "eight planets" in result.data["passages"][0]["text"]


def test_handler_prefers_the_question_input(kb: KnowledgeBase) -> None:
    req = TaskRequest(
        task_id="t2",
        description="look something up in the knowledge base",
        inputs={"question": "How many moons does Mars have?"},
    )
    result = kb.handler(req)
    assert "Phobos" in result.output


def test_empty_knowledge_base_raises_agent_error(client: ClientAPI, emb: MiniLMEmbedding) -> None:
    empty = KnowledgeBase(client, emb, collection="empty_kb")
    with pytest.raises(TaskRejected, match="add documents"):
        empty.ask("How many planets are in the solar system?")
    with pytest.raises(TaskRejected, match="no document in the knowledge base answers"):
        empty.handler(TaskRequest(task_id="t", description="How many planets are there?"))


def test_unrelated_question_raises_agent_error(kb: KnowledgeBase) -> None:
    with pytest.raises(TaskRejected, match="no document in the knowledge base answers"):
        kb.ask("Who won the 1998 football world cup?")


def test_ensure_seeded_only_fills_an_empty_collection(
    client: ClientAPI, emb: MiniLMEmbedding, tmp_path: Path
) -> None:
    base = KnowledgeBase(client, emb, collection="custom_kb")
    base.add_documents({"zorblax": "The zorblax is a fictional animal that eats copper wire."})
    assert base.ensure_seeded() == 0
    assert base.count() == 1
    text, sources = base.ask("What does a zorblax eat?")
    assert "copper wire" in text and sources == ["zorblax"]


def test_add_documents_is_idempotent_and_drops_stale_chunks(
    client: ClientAPI, emb: MiniLMEmbedding
) -> None:
    base = KnowledgeBase(client, emb, collection="idem_kb")
    doc = (
        "# Tea\n\nGreen tea is not fermented.\n\nBlack tea is fully oxidised.\n\nOolong is between."
    )
    assert base.add_documents({"tea": doc}) == 3
    assert base.add_documents({"tea": doc}) == 3
    assert base.count() == 3
    assert sorted(base.collection.get()["ids"]) == ["tea#0", "tea#1", "tea#2"]
    base.add_documents({"tea": "Green tea is not fermented."})
    assert base.collection.get()["ids"] == ["tea#0"]


def test_split_chunks_keeps_headings_with_their_paragraph() -> None:
    chunks = split_chunks("# Title\n\nFirst para\nwraps here.\n\n## Sub\n\nSecond para.")
    assert chunks == ["# Title\nFirst para\nwraps here.", "## Sub\nSecond para."]


def test_split_sentences_handles_wrapping_and_lists() -> None:
    text = "# H\nOne sentence\nwrapped. Two here!\nThe list:\n- item one\n- item two\n\nTail."
    assert split_sentences(text) == [
        "One sentence wrapped.",
        "Two here!",
        "The list.",
        "item one",
        "item two",
        "Tail.",
    ]


def test_the_card_has_a_skill_per_document_naming_what_it_covers(kb: KnowledgeBase) -> None:
    card = kb.card()
    docs = {s.name: s for s in card.skills if s.name.startswith("doc-")}
    assert set(docs) == {f"doc-{p.stem}" for p in DOCS_DIR.glob("*.md")}
    solar = docs["doc-solar-system"]
    assert solar.description.startswith("The Solar System: The Solar System is the Sun")
    assert {"Mars", "Jupiter"} <= set(solar.tags)
    assert card.skills[:2] == KNOWLEDGE_CARD.skills
    kb.add_documents({"Tea Notes": "# Tea\n\nIn Darjeeling, Assam and Nilgiri tea is grown."})
    added = next(s for s in kb.card().skills if s.name == "doc-tea-notes")
    assert added.description.startswith("Tea: In Darjeeling") and "Assam" in added.tags


def test_a_question_on_a_document_finds_the_knowledge_agent(tmp_path: Path) -> None:
    from mesh import Mesh

    with Mesh.local(tmp_path / "home") as m:
        result = m.run("How many moons does Mars have?")
        # names a document mentions once are on the card too (it listed only the ten
        # most frequent, and this scored 0.18, under MESH_MIN_SCORE)
        moons = m.run("Which planet has the moons Phobos and Deimos?")
    assert [r.agent for r in result.results.values()] == ["knowledge"]
    assert "Phobos" in result.answer
    assert moons.ok and "Mars" in moons.answer


def test_a_fact_deep_in_a_document_finds_the_knowledge_agent(tmp_path: Path) -> None:
    """The document's skill holds its whole text, not its first 400 characters: the speed
    of light is in the fourth paragraph of si-units (knowledge scored 0.197, under the
    floor, and units took the question and failed)."""
    from mesh import Mesh

    with Mesh.local(tmp_path / "home") as m:
        result = m.run("what is the exact speed of light in metres per second?")
    assert result.ok and [r.agent for r in result.results.values()] == ["knowledge"]
    assert "299,792,458" in result.answer


def test_a_how_many_question_takes_only_a_sentence_with_a_number(kb: KnowledgeBase) -> None:
    assert "eight planets" in kb.answer("How many planets are in the solar system?").text
    with pytest.raises(TaskRejected, match="gives the number"):
        kb.answer("how old is the mesh registry?")


@pytest.mark.parametrize(
    "question",
    ["how far is earth from the sun?", "according to your docs how far is earth from the sun?"],
)
def test_a_how_far_question_takes_a_sentence_with_a_distance(
    kb: KnowledgeBase, question: str
) -> None:
    """It quoted "Light from the Sun takes about 8 minutes and 20 seconds to reach Earth.",
    a number, but a time."""
    answer = kb.answer(question)
    assert "150 million kilometres" in answer.text and "8 minutes" not in answer.text


@pytest.mark.parametrize(
    "question", ["how far is the moon?", "how far is mars from the sun", "how cold is neptune"]
)
def test_a_how_far_question_about_something_no_sentence_measures_is_refused(
    kb: KnowledgeBase, question: str
) -> None:
    """ "how far is the moon" was answered with Earth's distance from the Sun, the only
    distance near it, reported as success."""
    with pytest.raises(TaskRejected, match="give it for something else"):
        kb.answer(question)


@pytest.mark.parametrize(
    "question",
    [
        # each was answered by the nearest sentence naming its subject
        "what is the mass of the sun?",  # "… its mass is more than twice …", Jupiter's
        "what is the diameter of mars?",  # "Mars has two small moons …"
        "what is the population of jupiter?",
        "what is the orbital period of neptune?",  # "Beyond Neptune lie the Kuiper belt …"
        "how big is the moon?",  # "Earth has one natural satellite, the Moon."
    ],
)
def test_a_measure_no_sentence_gives_for_its_subject_is_refused(
    kb: KnowledgeBase, question: str
) -> None:
    with pytest.raises(TaskRejected, match="no document in the knowledge base"):
        kb.answer(question)


@pytest.mark.parametrize(
    ("question", "quoted", "not_quoted"),
    [
        ("what is the distance from earth to the sun?", "150 million", "In order of distance"),
        ("what is the speed of light?", "299,792,458", "kilogram"),
        ("what is the boiling point of water?", "100 °C", "kelvin"),
        # "how old" only asks: it was refused as naming nothing the documents hold
        ("how old is the solar system?", "4.6 billion years", "eight planets"),
        ("what is the age of the solar system?", "4.6 billion years", "eight planets"),
    ],
)
def test_a_measure_asked_is_quoted_from_the_sentence_giving_it(
    kb: KnowledgeBase, question: str, quoted: str, not_quoted: str
) -> None:
    text = kb.answer(question).text
    assert quoted in text and not_quoted not in text


@pytest.mark.parametrize(
    ("question", "quoted"),
    [
        # "The registry stores an agent card …" came first: near, but no place
        ("where does the mesh store the agent cards?", "kept in Chroma"),
        ("who made python?", "Guido van Rossum"),  # "made" only asks, as "created" does
        ("who's the guy that created Python?", "Guido van Rossum"),
        ("who made python originally", "Guido van Rossum"),  # "originally" only asks
        # "what <kind> …" wants the sentence naming that kind: the one saying most about
        # the registry came first
        ("what embedding model does the mesh registry use for the agent cards?",
         "all-MiniLM-L6-v2"),
        ("which planet has the two little moons Phobos and Deimos?", "Mars"),  # by name
        ("what year was Python first released?", "1991"),  # a year is stated, not named
    ],
)  # fmt: skip
def test_the_sentence_quoted_answers_what_kind_of_question_it_is(
    kb: KnowledgeBase, question: str, quoted: str
) -> None:
    assert quoted in kb.answer(question).text


def test_the_words_the_documents_use_follow_a_document_replaced(
    client: ClientAPI, emb: MiniLMEmbedding
) -> None:
    """The vocabulary is kept between questions; a document replaced by one of as many
    chunks must not leave it stale ("jupiter" unknown would let Mars's moons answer)."""
    kb = KnowledgeBase(client, emb, collection="vocabulary")
    kb.add_documents({"planets": "Mars has two small moons."})
    assert "two small moons" in kb.answer("how many moons does mars have?").text
    kb.add_documents({"planets": "Mars has two small moons. Jupiter is a gas giant."})
    with pytest.raises(TaskRejected, match="for something else"):
        kb.answer("how many moons does jupiter have?")


@pytest.mark.parametrize(
    ("question", "message"),
    [
        # "The four inner planets … are rocky" and "Mars has two small moons"
        ("how many planets have rings", "give a number give it for something else"),
        ("how many moons does jupiter have", "give a number give it for something else"),
        # "Python is a high-level … language": the documents say "dict"
        ("what is a python dictionary", "name none of what it asks about"),
    ],
)
def test_a_sentence_that_does_not_name_what_is_asked_does_not_answer(
    kb: KnowledgeBase, question: str, message: str
) -> None:
    with pytest.raises(TaskRejected, match=message):
        kb.answer(question)
    assert "two small moons" in kb.answer("How many moons does Mars have?").text


@pytest.mark.parametrize("question", ["whats 350 F in celsius", "how many litres are in 12 kg?"])
def test_a_question_with_a_figure_takes_only_a_sentence_that_mentions_it(
    kb: KnowledgeBase, question: str
) -> None:
    """ "whats 350 F in celsius" was answered "Temperature in degrees Celsius is the kelvin
    temperature minus 273.15.", reported as success: the figure is to compute with."""
    with pytest.raises(TaskRejected, match="no sentence near it mentions"):
        kb.answer(question)


def test_the_sentence_with_the_questions_figure_answers_below_the_usual_floor(
    kb: KnowledgeBase,
) -> None:
    # "Codes from 400 to 499 are client errors." is nearer, but does not say what 429 is
    assert kb.answer("what is status code 429").sentences == [
        "429 Too Many Requests means the client is being rate limited."
    ]


@pytest.mark.parametrize(
    ("question", "said"),
    [
        ("What does HTTP 429 mean?", "429 Too Many Requests"),
        ("what is a tuple in python", "tuple (ordered and immutable)"),
        # "Python's" and "What's" once held "python" and "s", which the first sentence
        # of python-basics holds too; the document's own name picks no sentence in it
        ("What's a tuple in Python?", "tuple (ordered and immutable)"),
        ("What is a dict in Python's collections?", "dict (a mapping"),
        # "keep" asks for the sentence that says "kept"
        ("where does the mesh keep its agent cards?", "kept in Chroma"),
    ],
)
def test_the_questions_rarer_words_pick_the_sentence(
    kb: KnowledgeBase, question: str, said: str
) -> None:
    assert said in kb.answer(question).text


def test_the_plans_capability_answers_when_the_text_leans_on_context(kb: KnowledgeBase) -> None:
    leaning = "when was it first released?"
    with pytest.raises(TaskRejected, match="no document"):
        kb.handler(TaskRequest(task_id="t", description=leaning))
    said = TaskRequest(task_id="t", description=leaning, capability="when was Python released?")
    assert "1991" in kb.handler(said).output
    hidden = TaskRequest(task_id="t", description=leaning, capability="when was … released?")
    with pytest.raises(TaskRejected, match="no document"):
        kb.handler(hidden)

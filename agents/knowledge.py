"""The knowledge agent: answers questions from local documents kept in Chroma.

It retrieves the passages nearest to the question, then quotes the one or two sentences
that answer it best (scored with the same embedding function) and names their source
documents, so an answer can always be traced back to a file. It never makes anything
up: when no sentence is close enough to the question, it fails and says how to add
documents.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
from chromadb.api import ClientAPI
from chromadb.api.types import Documents, EmbeddingFunction

from mesh.agents._evidence import (
    about_subject,
    kind_named,
    names_any,
    number_asked,
    overlap,
    terms,
    where_asked,
)
from mesh.agents._numwords import with_digits
from mesh.agents._passages import split_chunks, split_sentences
from mesh.errors import AgentError, ConfigError, TaskRejected
from mesh.lexical import STOPWORDS
from mesh.models import MAX_DESCRIPTION_CHARS, AgentCard, Skill, TaskRequest, TaskResult
from mesh.vectorstore.client import get_collection

DOCS_DIR = Path(__file__).resolve().parent / "docs"
DEFAULT_COLLECTION = "mesh_knowledge"
MIN_SCORE = 0.4
SECOND_SENTENCE_MARGIN = 0.06
MAX_DOCUMENT_SKILLS = 20  # beyond this the card names the documents' words no more
_TOPIC_WORDS = 30
FIGURE_SLACK = 0.1  # a sentence holding the question's own figures ("429") may score lower
LEXICAL_BONUS = 0.3  # how much the question's rarer words ("tuple", "429") move a sentence
_UPSERT_BATCH = 256
_FIGURE = re.compile(r"\d+(?:[.,]\d+)?")
_ADD_HINT = (
    "add documents with KnowledgeBase.add_documents({'name': 'text'}) or put .md files in"
    f" a folder and call ensure_seeded(folder) (the shipped ones are in {DOCS_DIR})"
)

KNOWLEDGE_CARD = AgentCard(
    name="knowledge",
    version="0.2.1",  # 0.2: a skill per document, from what is indexed; 0.2.1: the sentence
    # quoted names what is asked ("how far is the moon", "how many planets have rings" and
    # "what is a python dictionary" are refused), and gives a place when asked where
    description=(
        "Answers questions from the local knowledge base: documents indexed in Chroma."
        " Quotes the sentences that answer the question and names the documents they come"
        " from. Ships with documents on the Agentic Mesh and its services, SI units and the"
        " metric system, the planets of the solar system, HTTP status codes and Python basics."
    ),
    tags=["knowledge", "retrieval", "question-answering", "documents", "offline"],
    skills=[
        Skill(
            name="answer-question",
            description=(
                "Answer a factual question from the local knowledge base, quoting the most"
                " relevant sentences and naming their source documents."
            ),
            tags=["qa", "rag", "search"],
            examples=[
                "How many planets are in the solar system?",
                "What does the registry of the agentic mesh store?",
                "What does HTTP status 503 mean?",
            ],
        ),
        Skill(
            name="lookup-fact",
            description=(
                "Look up a fact, definition, unit or code in local documents and return the"
                " sentence that states it, with its source."
            ),
            tags=["lookup", "definition", "facts"],
            examples=[
                "Define the newton",
                "What is the SI base unit of electric current?",
                "What is a list comprehension in Python?",
            ],
        ),
    ],
)


@dataclass
class Answer:
    """An answer with its provenance: quoted sentences, their documents and the passages."""

    text: str
    sentences: list[str]
    sources: list[str]
    score: float
    passages: list[dict[str, Any]] = field(default_factory=list)


def _unit_rows(vectors: Any) -> npt.NDArray[np.float32]:
    matrix = np.asarray([np.asarray(v, dtype=np.float32) for v in vectors], dtype=np.float32)
    norms = np.linalg.norm(matrix, axis=1, keepdims=True)
    return np.asarray(matrix / np.clip(norms, 1e-12, None), dtype=np.float32)


def document_skill(name: str, text: str) -> Skill:
    """What one document covers, as a skill of the knowledge agent: its title, its text
    (as much as a skill's description holds, not only the opening: the speed of light is
    in the fourth paragraph of si-units) and the names it mentions most (Mars, Jupiter,
    HTTP). A question about Mars's moons then finds this agent by the words of its
    documents, which a fixed card cannot list."""
    body = [ln for ln in text.splitlines() if not ln.lstrip().startswith("#")]
    headings = [ln.lstrip("# ").strip() for ln in text.splitlines() if ln.startswith("# ")]
    title = headings[0] if headings else name
    room = MAX_DESCRIPTION_CHARS - len(title) - 2
    opening = " ".join(" ".join(body).split())[:room]
    counts: dict[str, int] = {}
    for found in _NAMED.findall(text):  # capitalised mid-sentence: a name, not a first word
        if found.lower() not in STOPWORDS:
            counts[found] = counts.get(found, 0) + 1
    top = sorted(counts, key=lambda w: -counts[w])[:_TOPIC_WORDS]  # stable: first seen first
    slug = re.sub(r"[^a-z0-9_.-]+", "-", name.lower()).strip("-.")[:60] or "document"
    return Skill(name=f"doc-{slug}", description=f"{title}: {opening}", tags=top)


_NAMED = re.compile(r"(?<=[a-z0-9,;:(] )(?:[A-Z][a-z]+[A-Z]?[a-z]*|[A-Z]{2,}[a-z]?)\b")


class KnowledgeBase:
    """Local documents in one Chroma collection, and the agent that answers from them."""

    def __init__(
        self,
        client: ClientAPI,
        embedding_function: EmbeddingFunction[Documents],
        collection: str = DEFAULT_COLLECTION,
        min_score: float = MIN_SCORE,
    ):
        self._ef = embedding_function
        self.min_score = min_score
        self.collection = get_collection(client, collection, embedding_function)
        self._known: tuple[int, set[str]] = (-1, set())

    def count(self) -> int:
        """How many chunks are indexed."""
        return self.collection.count()

    def _vocabulary(self) -> set[str]:
        """The words the indexed documents use, kept until the chunk count changes."""
        count = self.count()
        if self._known[0] != count:
            texts = self.collection.get(include=["documents"])["documents"] or []
            self._known = (count, set().union(*map(terms, texts)))
        return self._known[1]

    def add_documents(self, docs: dict[str, str]) -> int:
        """Index documents by name, one chunk per paragraph; re-adding replaces, never doubles.

        Returns the number of chunks written.
        """
        written = 0
        for name, text in docs.items():
            if not name or not name.strip():
                raise AgentError("a document needs a non-empty name (e.g. its file stem)")
            chunks = split_chunks(text)
            ids = [f"{name}#{i}" for i in range(len(chunks))]
            stale = set(self.collection.get(where={"source": name}, include=[])["ids"])
            stale.difference_update(ids)
            if stale:
                self.collection.delete(ids=sorted(stale))
            metas: list[dict[str, str | int]] = [
                {"source": name, "chunk": i} for i in range(len(chunks))
            ]
            for start in range(0, len(chunks), _UPSERT_BATCH):
                end = start + _UPSERT_BATCH
                self.collection.upsert(
                    ids=ids[start:end],
                    documents=chunks[start:end],
                    metadatas=metas[start:end],
                )
            written += len(chunks)
        self._known = (-1, set())  # the same count may hold other words
        return written

    def ensure_seeded(self, docs_dir: Path | None = None) -> int:
        """Index the ``*.md`` files of `docs_dir` (the shipped ones by default) if empty.

        Returns the number of chunks added: 0 when the collection already had documents.
        """
        if self.count() > 0:
            return 0
        folder = Path(docs_dir) if docs_dir is not None else DOCS_DIR
        if not folder.is_dir():
            raise ConfigError(f"knowledge documents folder {folder} does not exist")
        docs = {p.stem: p.read_text(encoding="utf-8") for p in sorted(folder.glob("*.md"))}
        return self.add_documents(docs)

    def card(self) -> AgentCard:
        """The knowledge card with one skill per indexed document (the first
        MAX_DOCUMENT_SKILLS by name), so discovery sees what the documents are about."""
        got = self.collection.get(include=["documents", "metadatas"])
        texts: dict[str, list[tuple[int, str]]] = {}
        for doc, meta in zip(got["documents"] or [], got["metadatas"] or [], strict=True):
            texts.setdefault(str(meta["source"]), []).append((int(str(meta["chunk"])), doc))
        skills = [
            document_skill(name, "\n\n".join(t for _, t in sorted(texts[name])))
            for name in sorted(texts)[:MAX_DOCUMENT_SKILLS]
        ]
        return KNOWLEDGE_CARD.model_copy(update={"skills": [*KNOWLEDGE_CARD.skills, *skills]})

    def search(self, question: str, k: int = 3) -> list[dict[str, Any]]:
        """The `k` passages nearest to `question`: source, chunk, text and cosine score."""
        return self._search(self._ef.embed_query([question])[0], k)

    def _search(self, qv: Any, k: int) -> list[dict[str, Any]]:
        count = self.count()
        if count == 0:
            return []
        res = self.collection.query(
            query_embeddings=[qv],
            n_results=max(1, min(k, count)),
            include=["documents", "metadatas", "distances"],
        )
        docs = (res.get("documents") or [[]])[0]
        metas = (res.get("metadatas") or [[]])[0]
        dists = (res.get("distances") or [[]])[0]
        return [
            {
                "source": str(meta.get("source", "")) if meta else "",
                "chunk": int(meta.get("chunk", 0)) if meta else 0,
                "text": doc,
                "score": round(1.0 - float(dist), 4),
            }
            for doc, meta, dist in zip(docs, metas, dists, strict=False)
        ]

    def answer(self, question: str, k: int = 3) -> Answer:
        """The best one or two sentences from the top `k` passages, or TaskRejected."""
        question = question.strip()
        if not question:
            raise TaskRejected("the knowledge agent needs a question; got an empty one")
        if self.count() == 0:
            raise TaskRejected(
                f"no document in the knowledge base answers {question!r}: the knowledge base"
                f" is empty; {_ADD_HINT}"
            )
        qv = _unit_rows(self._ef.embed_query([question]))[0]
        passages = self._search(qv, k)
        split = [split_sentences(p["text"]) for p in passages]
        candidates = [
            (sentence, p["source"])
            for p, said in zip(passages, split, strict=True)
            for sentence in said
        ]
        if not candidates:
            raise TaskRejected(
                f"no document in the knowledge base answers {question!r}; {_ADD_HINT}"
            )
        dense = _unit_rows(self._ef([s for s, _ in candidates])) @ qv
        best = float(dense.max())
        scores = dense + LEXICAL_BONUS * overlap(question, candidates)
        passes = dense >= self.min_score  # words alone never make an answer
        figures = set(_FIGURE.findall(question))
        if figures:  # "what is 350 F in celsius" is not answered by what Celsius is
            holds = np.array([figures <= set(_FIGURE.findall(s)) for s, _ in candidates])
            passes = holds & (passes | (dense >= self.min_score - FIGURE_SLACK))
        scores[~passes] = -np.inf
        if best < self.min_score:
            raise TaskRejected(
                f"no document in the knowledge base answers {question!r} (best sentence scored"
                f" {best:.2f}, below {self.min_score:.2f}); {_ADD_HINT}"
            )
        if figures and not np.isfinite(scores).any():
            raise TaskRejected(
                f"no document in the knowledge base answers {question!r}: no sentence near"
                f" it mentions {', '.join(sorted(figures))} (a figure to compute with is a"
                f" task for another agent); {_ADD_HINT}"
            )
        if asked := number_asked(question):  # "how many …", "the mass of …" want a number
            scores[[not re.search(r"\d", with_digits(s)) for s, _ in candidates]] = -np.inf
            if not np.isfinite(scores).any():
                raise TaskRejected(
                    f"no document in the knowledge base gives the number {question!r} asks"
                    f" for: the nearest sentences state none; {_ADD_HINT}"
                )
            fits = about_subject(question, asked.words, split, self._vocabulary())
            if asked.holds:  # "how far …" wants a distance, not a time
                fits &= np.array([bool(asked.holds.search(s)) for s, _ in candidates])
            if not (fits & np.isfinite(scores)).any():
                raise TaskRejected(
                    f"no document in the knowledge base answers {question!r}: the nearest"
                    f" sentences that give a {asked.measure} give it for something else;"
                    f" {_ADD_HINT}"
                )
            scores[~fits] = -np.inf
        asking = asked.words if asked else ""
        names = names_any(question, split, [p["source"] for p in passages], asking)
        if not (names & np.isfinite(scores)).any():
            raise TaskRejected(
                f"no document in the knowledge base answers {question!r}: the nearest"
                f" sentences name none of what it asks about; {_ADD_HINT}"
            )
        scores[~names] = -np.inf
        for fits in (where_asked(question, candidates), kind_named(question, candidates)):
            if (fits & np.isfinite(scores)).any():  # else the nearest, as for any question
                scores[~fits] = -np.inf
        order = [int(i) for i in np.argsort(-scores)]
        floor = float(scores[order[0]]) - SECOND_SENTENCE_MARGIN
        top_source = candidates[order[0]][1]
        runner_up = [i for i in order[1:] if candidates[i][1] == top_source][:1]
        picked = [order[0]] + [i for i in runner_up if float(scores[i]) >= floor]
        sentences = [candidates[i][0] for i in picked]
        sources = list(dict.fromkeys(candidates[i][1] for i in picked))
        label = "source" if len(sources) == 1 else "sources"
        text = f"{' '.join(sentences)} ({label}: {', '.join(sources)})"
        return Answer(
            text=text, sentences=sentences, sources=sources, score=best, passages=passages
        )

    def ask(self, question: str, k: int = 3) -> tuple[str, list[str]]:
        """The answer text (quoted sentences and their sources) and the source names."""
        answer = self.answer(question, k)
        return answer.text, answer.sources

    def handler(self, req: TaskRequest) -> TaskResult:
        """Answer ``req.inputs["question"]`` (or the task description) for the mesh."""
        question = req.inputs.get("question")
        if not isinstance(question, str) or not question.strip():
            question = req.description
        k = req.inputs.get("k")
        k = k if isinstance(k, int) and k > 0 else 3
        try:
            answer = self.answer(question, k=k)
        except TaskRejected:
            # The plan's capability may say what the text leaves to context ("when was
            # Python first released?" for "when was it first released?"); hidden
            # material ("…") means it says less, not more.
            wanted = req.capability
            if question != req.description or not wanted or wanted == question or "…" in wanted:
                raise
            answer = self.answer(wanted, k=k)
        return TaskResult(
            task_id=req.task_id,
            status="succeeded",
            output=answer.text,
            data={
                "sources": answer.sources,
                "sentences": answer.sentences,
                "passages": answer.passages,
                "score": round(answer.score, 4),
            },
            agent=KNOWLEDGE_CARD.name,
            attempts=req.attempt,
        )


__all__ = [
    "DOCS_DIR",
    "KNOWLEDGE_CARD",
    "Answer",
    "KnowledgeBase",
    "split_chunks",
    "split_sentences",
]

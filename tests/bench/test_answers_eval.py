"""The end-to-end answer sets are well formed; the figures themselves are bench/answers_eval.py's.

Structural only: no mesh is started and no accuracy is asserted.
"""

from __future__ import annotations

import importlib.util
import json
import re
import sys
from pathlib import Path
from types import ModuleType

import pytest

BENCH = Path(__file__).resolve().parents[2] / "bench" / "answers_eval.py"


@pytest.fixture(scope="module")
def ev() -> ModuleType:
    spec = importlib.util.spec_from_file_location("answers_eval", BENCH)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules.setdefault("answers_eval", module)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize(
    ("split", "size"), [("dev", 60), ("holdout", 30), ("holdout2", 40), ("holdout3", 40)]
)
def test_split_loads_with_every_kind(ev: ModuleType, split: str, size: int) -> None:
    cases = ev.load_cases(ev.SPLITS[split])
    assert len(cases) == size
    assert {c.kind for c in cases} == set(ev.KINDS)
    assert len({c.id for c in cases}) == size
    assert {a for c in cases for a in c.agents} <= ev.builtin_names()
    assert "web-reader" not in {a for c in cases for a in c.agents}  # no network here


@pytest.mark.parametrize(
    ("one", "other"),
    [
        ("dev", "holdout"),
        ("dev", "holdout2"),
        ("holdout", "holdout2"),
        ("dev", "holdout3"),
        ("holdout", "holdout3"),
        ("holdout2", "holdout3"),
    ],
)
def test_splits_share_no_id_or_request(ev: ModuleType, one: str, other: str) -> None:
    dev, held = (ev.load_cases(ev.SPLITS[s]) for s in (one, other))
    assert not {c.id for c in dev} & {c.id for c in held}
    assert not {c.request.lower() for c in dev} & {c.request.lower() for c in held}


@pytest.mark.parametrize(
    ("split", "sizes"),
    [("holdout2", (16, 8, 8, 8)), ("holdout3", (14, 8, 10, 8))],
)
def test_held_out_sets_mix_kinds_and_ask_every_offline_agent_alone(
    ev: ModuleType, split: str, sizes: tuple[int, ...]
) -> None:
    cases = ev.load_cases(ev.SPLITS[split])
    counts = {kind: sum(c.kind == kind for c in cases) for kind in ev.KINDS}
    assert counts == dict(zip(ev.KINDS, sizes, strict=True))
    singles = {c.agents[0] for c in cases if c.kind == "single"}
    assert singles == ev.builtin_names() - {"web-reader"}
    assert not [c.id for c in cases if any(e.lower() in c.request.lower() for e in c.expect)]


def test_csv_files_exist_for_answers(ev: ModuleType) -> None:
    """A refusal may name a file that exists (asking it for a column it lacks)."""
    for split in ev.SPLITS.values():
        for case in ev.load_cases(split):
            for name in re.findall(r"[\w./-]+\.csv\b", case.request):
                if case.kind != "refuse":
                    assert name in ev.CSV_FILES, case.id


GOOD = {"id": "x", "request": "2+2", "expect": ["4"], "agents": ["calculator"], "kind": "single"}


@pytest.mark.parametrize(
    ("change", "problem"),
    [
        ({"expect": []}, "expect"),
        ({"expect": [" "]}, "empty substring"),
        ({"agents": ["abacus"]}, "unknown agents ['abacus']"),
        ({"kind": "odd"}, "kind"),
        ({"kind": "refuse"}, "names no agents"),
        ({"kind": "chain"}, "at least two"),
        ({"agents": ["calculator", "units"]}, "exactly one agent"),
        ({"request": ""}, "request"),
        (
            {"kind": "refuse", "agents": [], "request": "convert 5 kg to km", "expect": ["kg"]},
            "would pass",
        ),
    ],
)
def test_loader_rejects_bad_cases(
    ev: ModuleType, tmp_path: Path, change: dict[str, object], problem: str
) -> None:
    path = tmp_path / "answers.jsonl"
    path.write_text(json.dumps(GOOD) + "\n" + json.dumps({**GOOD, "id": "y", **change}) + "\n")
    with pytest.raises(ValueError, match=re.escape(problem)) as raised:
        ev.load_cases(path)
    assert "answers.jsonl:2" in str(raised.value)


def test_loader_rejects_non_json_duplicates_and_empty_files(ev: ModuleType, tmp_path: Path) -> None:
    path = tmp_path / "dup.jsonl"
    path.write_text("not json\n")
    with pytest.raises(ValueError, match=re.escape("dup.jsonl:1")):
        ev.load_cases(path)
    path.write_text(f"{json.dumps(GOOD)}\n{json.dumps(GOOD)}\n")
    with pytest.raises(ValueError, match="duplicate id 'x'"):
        ev.load_cases(path)
    path.write_text("\n")
    with pytest.raises(ValueError, match="no cases"):
        ev.load_cases(path)
    path.write_text(json.dumps(GOOD) + "\n")
    assert [c.id for c in ev.load_cases(path)] == ["x"]


def test_matching_ignores_case_and_digit_grouping(ev: ModuleType) -> None:
    assert ev.contains("1234 times 5678 = 7,006,652", "7006652")
    assert ev.contains("404 Not Found", "not found")
    assert not ev.contains("the total is 700", "7006652")
    assert ev.contains("Oslo,709000", "Oslo,709000")

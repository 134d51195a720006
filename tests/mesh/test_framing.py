"""Greetings, list headers and context statements frame a request; they are not asks."""

from __future__ import annotations

import pytest

from mesh.genai import OfflinePlanner
from mesh.offline import parse_request


def parts(request: str) -> list[tuple[str, tuple[int, ...]]]:
    return [(p.text, p.depends_on) for p in parse_request(request)]


@pytest.mark.parametrize(
    ("request_", "planned"),
    [
        # a greeting was a task of its own, refused at discovery
        ("Good morning! Write a report on: rent 1000, food 500",
         ["Write a report on: rent 1000, food 500"]),
        ("Thanks! What is 2+2?", ["What is 2+2?"]),
        ("Two quick ones. What's 7 cubed, and how many pounds is 90 kg?",
         ["What's 7 cubed", "how many pounds is 90 kg?"]),  # it was a task, refused
        ("Question for you. What is 2+2?", ["What is 2+2?"]),
        ("Quick question: what is 7 cubed?", ["what is 7 cubed?"]),
        ("quick q - whats 1,250 x 48", ["whats 1,250 x 48"]),  # was read as text to count
        ("quick q, what is 2+2", ["what is 2+2"]),
        # "can you" before an instruction kept its material from being read as material
        ("can you write up a report on our spend: social 4200, search ads 3100, print 700",
         ["can you write up a report on our spend: social 4200, search ads 3100, print 700"]),
        ("Write a report on: Alice 250, Bob 150; separately, how many days are left from"
         " 2025-09-15 until 2026-01-01?", ["Write a report on: Alice 250, Bob 150",
         "how many days are left from 2025-09-15 until 2026-01-01?"]),
        # material after a later colon, on lines of its own, is what the ask points at
        ("Can you count the words in this paragraph? It's for school:\n\nOur library opened"
         " in 1952. It runs a reading challenge.", ["Can you count the words in this"
         " paragraph? It's for school:\n\nOur library opened in 1952. It runs a reading"
         " challenge."]),
        ("A couple of things: convert 5 km to miles", ["convert 5 km to miles"]),
        ("3 things pls: what does a 404 mean, how many feet are in 100 meters, and what is 2+2",
         ["what does a 404 mean", "how many feet are in 100 meters", "what is 2+2"]),
        ("Two quick ones.", ["Two quick ones."]),
        ("Hi!", ["Hi!"]),  # nothing else: kept, and discovery refuses it with its reason
        # a header before a numbered list hid the list
        ("Two things:\n1. Count the words in 'a b c'\n2. Convert 30 °C to Fahrenheit",
         ["Count the words in 'a b c'", "Convert 30 °C to Fahrenheit"]),
        ("Compute this: 1) 2+2 2) 3+3", ["Compute this: 1) 2+2 2) 3+3"]),  # an instruction
        # a header that asks for what the items name, with or without a colon: it was read
        # as an ask of its own ("answer these\n1." and "what is 2+2\n2.") or hid the list
        ("answer these  \n1. what is 2+2\n2. convert 5 km to miles",  # spaces before the break
         ["what is 2+2", "convert 5 km to miles"]),
        ("answer the following:\n1. what is 2+2\n2. convert 5 km to miles",
         ["what is 2+2", "convert 5 km to miles"]),
        ("Two things\n1) 17*23\n2) 5 km in miles", ["17*23", "5 km in miles"]),
        ("I need two things for the quarterly review: a) a breakdown of sales: north 340,"
         " south 210, west 95 b) the date 10 business days before 2025-12-24",  # 42 chars
         ["a breakdown of sales: north 340, south 210, west 95",
          "the date 10 business days before 2025-12-24"]),
        ("do the following\n- what is 2+2\n- convert 5 km to miles",
         ["what is 2+2", "convert 5 km to miles"]),
        ("count the words in these lines:\n1. The cat sat\n2. The dog ran",  # works on them
         ["count the words in these lines:\n1. The cat sat\n2. The dog ran"]),
        # a statement the next sentence asks about travels with it
        ("My API keeps getting HTTP 429. What does that status code mean?",
         ["My API keeps getting HTTP 429. What does that status code mean?"]),
        ("My daughter asked which planet is the hottest and I blanked. Which one is it?",
         ["My daughter asked which planet is the hottest and I blanked. Which one is it?"]),
        ("I weigh 80 kg. What is that in pounds? And what is 2+2?",
         ["I weigh 80 kg. What is that in pounds?", "what is 2+2?"]),
        # a statement nothing refers to is context: it was a task, refused, failing the run
        ("My name is Bob. Convert 5 km to miles.", ["Convert 5 km to miles."]),
        ("I drive 45 miles a day for 22 days a month. Compute 45 * 22, then convert the result"
         " from miles to km.", ["Compute 45 * 22", "convert the result from miles to km."]),
        ("Convert 5 km to miles. My run is tomorrow.", ["Convert 5 km to miles."]),
        # so is a statement whose figures the ask after it gives again, in any person
        ("commute is 23 mi each way, 5 days a week. what's 23 * 2 * 5, and then convert the"
         " result from miles to km", ["what's 23 * 2 * 5", "convert the result from miles to km"]),
        # a statement with figures travels with an ask about the speaker
        ("i was born on 1990-05-17. how many days old will i be on 2025-05-17? convert that"
         " into hours", ["i was born on 1990-05-17. how many days old will i be on"
         " 2025-05-17?", "convert that into hours"]),
        # ... but not a statement with figures the ask does not give
        ("The rent is 1200 and food 450. What is 1200 * 12?",
         ["The rent is 1200 and food 450.", "What is 1200 * 12?"]),
        # so is a purpose or a reported question without figures, before an ask with its own
        ("Trying to work out my notice period. How many days are there between 2024-10-01"
         " and 2025-01-31?", ["How many days are there between 2024-10-01 and 2025-01-31?"]),
        ("I'm trying to plan my budget. What is 1200 / 4?", ["What is 1200 / 4?"]),
        ("HR asked how far our top salary sits above the median. What's the median salary"
         " in employees.csv, then subtract it from 95000?",
         ["What's the median salary in employees.csv", "subtract it from 95000?"]),
        # ... but not one with figures of its own, nor one that is the only ask
        ("My boss asked what weekday 2025-03-01 is. Also convert 5 km to miles.",
         ["My boss asked what weekday 2025-03-01 is.", "convert 5 km to miles."]),
        ("I'm trying to convert 5 km to miles. What is 2+2?",
         ["I'm trying to convert 5 km to miles.", "What is 2+2?"]),
        ("Trying to work out my notice period.", ["Trying to work out my notice period."]),
        # a statement that asks anyway stays an ask
        ("My boss wants a report on: ads 2500, events 1500",
         ["My boss wants a report on: ads 2500, events 1500"]),
        ("I need the weekday of 2025-03-01. Convert 5 km to miles.",
         ["I need the weekday of 2025-03-01.", "Convert 5 km to miles."]),
        ("My name is Bob.", ["My name is Bob."]),  # nothing else asks: discovery refuses it
        # an ask without figures after a statement with figures is about them
        ("I have 3 apples and 5 pears. How many fruits in total?",
         ["I have 3 apples and 5 pears. How many fruits in total?"]),
        # "later" without a date of its own is later than the date before
        ("i started my new job on 2023-09-18. what's the date 6 months later?",
         ["i started my new job on 2023-09-18. what's the date 6 months later?"]),
        ("We met on 2020-01-01. What date is 30 days later than 2021-01-01?",
         ["What date is 30 days later than 2021-01-01?"]),
        # labelled data before an ask without figures is what the ask works on
        ("Planning a trip. Budget: flights 640, hotel 480, food 280. Can you give me a report"
         " with the total and each share?", ["Planning a trip. Budget: flights 640, hotel"
         " 480, food 280. Can you give me a report with the total and each share?"]),
        ("Budget: flights 640, hotel 480. What is 2+2?",  # the ask gives its own figures
         ["Budget: flights 640, hotel 480.", "What is 2+2?"]),
        # a sentence opening "Separately" ends the material before it
        ("Write a report on our Q1 spend: ads 300, tools 150, travel 50. Separately, what date"
         " is 2 weeks after 2025-02-20?", ["Write a report on our Q1 spend: ads 300, tools"
         " 150, travel 50.", "what date is 2 weeks after 2025-02-20?"]),
        # a lettered list after a header
        ("pls do both: a) 60 mph in km/h  b) square root of 1,764",
         ["60 mph in km/h", "square root of 1,764"]),
        ("a) 2+2 b) 3+3 c) 4+4", ["2+2", "3+3", "4+4"]),
        # "I need" with a count of things states data; the ask after it works on it
        ("I need 3 bags of flour at 250 g each. whats the total, then convert it to oz",
         ["I need 3 bags of flour at 250 g each. whats the total", "convert it to oz"]),
        # an order word after a full stop starts the next step, in lower case too
        ("write a report on my budget: rent 1,400, food 520, gas 180. then divide the total"
         " by 4", ["write a report on my budget: rent 1,400, food 520, gas 180.",
                   "divide the total by 4"]),
        # what a dash sets before an ask does not hide the text after its colon
        ("Quick check before I send this - how many sentences does this have: We shipped."
         " Two bugs came in! Nobody complained.", ["Quick check before I send this - how"
         " many sentences does this have: We shipped. Two bugs came in! Nobody complained."]),
        # in-turn numbers split an inline list, not inside brackets; "Q1:" numbers too
        ("two things: 1) 15% of 2,340 2) 5 kg in lbs", ["15% of 2,340", "5 kg in lbs"]),
        ("1) compute (4 * 2) times 3", ["compute (4 * 2) times 3"]),
        ("Q1: how many moons does mars have and what are they called? Q2: how many days"
         " from 2025-06-15 to 2025-09-01?", ["how many moons does mars have and what are"
         " they called?", "how many days from 2025-06-15 to 2025-09-01?"]),
        ("report: Q1: 1200, Q2: 900", ["report: Q1: 1200, Q2: 900"]),  # quarters, no list
        # "need 3 quick answers:" announces; its questions are split at commas
        ("need 3 quick answers: what date is 10 weeks after 2025-02-14, how many minutes are"
         " in 3.5 hours, and what is 7 factorial", ["what date is 10 weeks after 2025-02-14",
         "how many minutes are in 3.5 hours", "what is 7 factorial"]),
        # "both:" or a count with a noun announces asks without instruction words, split at
        # the strongest separator that gives that count
        ("pls do both: 72 kg in pounds, and the square root of 1764",
         ["72 kg in pounds", "the square root of 1764"]),
        ("hey! two things: days from Jan 5, 2025 to Mar 1, 2025 and 5 kg in lbs",
         ["days from Jan 5, 2025 to Mar 1, 2025", "5 kg in lbs"]),
        ("compare these two: apples and pears", ["compare these two: apples and pears"]),
        ("three things: 2+2 and 3+3", ["2+2 and 3+3"]),  # no split gives 3: not split
        # a statement with figures, in any person, is the data of a question about it
        ("contract starts 2025-11-20 and the trial is 45 days. what date does the trial end?",
         ["contract starts 2025-11-20 and the trial is 45 days. what date does the trial"
          " end?"]),
        ("The report is due 2025-03-01. How many moons does Mars have?",  # not about it
         ["The report is due 2025-03-01.", "How many moons does Mars have?"]),
        # a yes/no question after a sentence end asks, in lower case and after "also,"
        ("which region sold the most units in sales.csv? also, is 2028 a leap year?",
         ["which region sold the most units in sales.csv?", "is 2028 a leap year?"]),
        ("two things: write a report on expenses: hosting 90, domains 15, email 45. also, is"
         " 2028 a leap year?", ["write a report on expenses: hosting 90, domains 15, email"
         " 45.", "is 2028 a leap year?"]),
        # a lower-case "also" + a question after a full stop ends colon material, too
        ("give me a breakdown of my monthly spend: rent 1,600, groceries 300, transport 100."
         " also how many liters is 5 US gallons?", ["give me a breakdown of my monthly spend:"
         " rent 1,600, groceries 300, transport 100.", "how many liters is 5 US gallons?"]),
        ("summarize this: we met at noon. also the room was cold.",  # no ask after "also"
         ["summarize this: we met at noon. also the room was cold."]),
        # after "?", "and" with figures starts an ask; without them it stays ("and why?")
        ("Quick q's: who created python? what's the sqrt of 1764? and 4 gallons in liters",
         ["who created python?", "what's the sqrt of 1764?", "4 gallons in liters"]),
        ("what is the hottest planet? and why?", ["what is the hottest planet? and why?"]),
        ("whats a 502 error mean? and also 2^16", ["whats a 502 error mean?", "2^16"]),
        ("who created python? and separately, what's 7 cubed minus 1",
         ["who created python?", "what's 7 cubed minus 1"]),
        # after a quote closes colon material, "also" + an instruction starts a new ask
        ("how many sentences are in this: 'It rained. We stayed in.' also how many minutes"
         " are in 7.5 hours", ["how many sentences are in this: 'It rained. We stayed in.'",
                               "how many minutes are in 7.5 hours"]),
        ("count the words in this: 'the cat sat down here' and the dog",
         ["count the words in this: 'the cat sat down here' and the dog"]),
        # a statement whose figures the ask after it gives again is context, in any tense
        ("Project kicked off on 2025-01-01. how many days from 2025-01-01 to 2025-04-10",
         ["how many days from 2025-01-01 to 2025-04-10"]),
        ("how many days until 2025-12-25? is what my kid keeps asking.",
         ["how many days until 2025-12-25? is what my kid keeps asking."]),
        # a statement with a figure is the data of the verb after its comma that refers to it
        ("my suitcase weighs 150 lbs, convert that to kg and then double the result",
         ["my suitcase weighs 150 lbs, convert that to kg", "double the result"]),
        ("my bag is 20 kg, convert 5 km to miles", ["my bag is 20 kg", "convert 5 km to miles"]),
        # a sentence that only tells, with no figures, before a question
        ("Signed up for a half marathon this spring. It's 13.1 mi - how many km is that?",
         ["Signed up for a half marathon this spring. It's 13.1 mi - how many km is that?"]),
        # a label's digit ("Q3", "FY24") is no figure to work on: the sentence only tells
        ("Q3 numbers are in. give me a breakdown of sales: online 4200, store 2800",
         ["give me a breakdown of sales: online 4200, store 2800"]),
        ("FY24 closed. what is 2+2", ["what is 2+2"]),
        ("Trying to work out our FY24 budget. what is 4200 * 12?", ["what is 4200 * 12?"]),
        # a stated today goes with the date question that counts from it, and only then
        ("today is 2026-02-01. what date is 3 weeks from today?",
         ["today is 2026-02-01. what date is 3 weeks from today?"]),
        ("today is sunny. what is 2+2?", ["what is 2+2?"]),
        # so does a stated date with a date question that has none of its own: the
        # statement was set aside or planned alone, and "after the start" had no date
        ("my contract starts 2025-03-15 and runs for 18 months. what date is 18 months after"
         " the start?", ["my contract starts 2025-03-15 and runs for 18 months. what date is"
         " 18 months after the start?"]),
        ("the project kicked off on 2025-01-10. what date is 90 days after that?",
         ["the project kicked off on 2025-01-10. what date is 90 days after that?"]),
        ("we signed on March 3, 2025. when is 6 weeks after that?",
         ["we signed on March 3, 2025. when is 6 weeks after that?"]),
        ("the trial started 2025-03-15. what is 2+2?", ["the trial started 2025-03-15.",
         "what is 2+2?"]),
        ("Q3 revenue was 4200. what is 2+2", ["Q3 revenue was 4200.", "what is 2+2"]),
        # a numbered item on a line of its own
        ("1) 19% of 2,340\n2) 5 ft 11 in to cm", ["19% of 2,340", "5 ft 11 in to cm"]),
        ("what is 5 a) b)", ["what is 5 a) b)"]),  # not a list: it does not start as one
        # a list in the line: "what is (a) 2+2 and (b) 3+3" answered 6 alone, dropping 2+2
        ("I need (a) the total units of widget in sales.csv and (b) 2^12",
         ["the total units of widget in sales.csv", "2^12"]),
        ("what is (a) 2+2 and (b) 3+3", ["what is 2+2", "what is 3+3"]),
        ("convert 1) 5 km to miles, 2) 3 kg to lbs and 3) 100 F to C",
         ["convert 5 km to miles", "convert 3 kg to lbs", "convert 100 F to C"]),
        ("the area with (a) 3 m sides", ["the area with (a) 3 m sides"]),  # no (b)
        # data named before it is given is one ask with the data
        ('From this JSON keep the records where age > 30 and give me CSV: [{"age": 31}]',
         ['From this JSON keep the records where age > 30 and give me CSV: [{"age": 31}]']),
        ('Sort these by age and give me CSV: [{"age": 31}]',
         ['Sort these by age and give me CSV: [{"age": 31}]']),
        ("Sort these by age and count the words in 'a b c'",
         ["Sort these by age", "count the words in 'a b c'"]),
    ],
)  # fmt: skip
def test_what_frames_a_request_is_not_planned_as_an_ask(request_: str, planned: list[str]) -> None:
    assert [text for text, _ in parts(request_)] == planned


def test_a_list_in_the_line_after_nothing_but_spaces_is_read_as_a_list() -> None:
    """An empty header raised IndexError."""
    from mesh.framing import strip_list_header
    from mesh.wording import INSTRUCTION_WORDS

    assert strip_list_header(" \t(a) 2+2 (b) 3+3", INSTRUCTION_WORDS) == "1. 2+2\n2. 3+3"


@pytest.mark.parametrize(
    ("request_", "context"),
    [
        ("My dashboard is full of 504 errors. What does HTTP 504 mean?",
         "My dashboard is full of 504 errors."),
        # the speaker left out: it was a task of its own, refused at discovery
        ("getting a bunch of 504s from our gateway. What does HTTP 504 mean?",
         "getting a bunch of 504s from our gateway."),
    ],
)  # fmt: skip
def test_context_set_aside_is_shown_in_the_plan_not_dropped_in_silence(
    request_: str, context: str
) -> None:
    plan = OfflinePlanner().plan(request_)
    assert [t.description for t in plan.tasks] == ["What does HTTP 504 mean?"]
    assert context in plan.rationale


@pytest.mark.parametrize(
    ("request_", "searched"),
    [
        # a purpose before the ask picked the report agent ("budget")
        ("For the road trip budget what is 12 times 37", "what is 12 times 37"),
        ("For my sleep log: what is 7.5 hours times 365 nights?",
         "what is 7.5 hours times 365 nights?"),
        # a reason after it kept the ask under the floor
        ("take 175 away from 200, that's how much taller I am than my brother.",
         "take 175 away from 200"),
        ("divide 90 by 16 since the workshop has 16 equal slots", "divide 90 by 16"),
        ("divide 90 by 4 (relay team, each leg)", "divide 90 by 4"),
        ("what is f(x)", "what is f(x)"),
        # a file named in brackets is not an aside; labelled figures are data, not the ask
        ("whats teh average salary in the Engineering dept? (employees.csv)",
         "whats teh average salary in the Engineering dept? (employees.csv)"),
        ("breakdown of Q3 costs: cloud 2,400, staff 9,000, travel 600.",
         "breakdown of Q3 costs: …"),
        # the situation before a question with figures of its own
        ("we've raised 240 meals so far, what's 240 divided by 0", "what's 240 divided by 0"),
        # ... but not before one about its figures
        ("I'm 6 ft 2 in tall, what is that in cm?", "I'm 6 ft 2 in tall, what is that in cm?"),
        ("I got 78 and 88 on my exams, what's my average?",
         "I got 78 and 88 on my exams, what's my average?"),
        # not asides: a date after "since", a grouping after "For each"
        ("how many days since 2024-01-01", "how many days since 2024-01-01"),
        ("For each planet, what moons does it have?", "For each planet, what moons does it have?"),
    ],
)  # fmt: skip
def test_discovery_searches_the_ask_without_its_purpose_or_reason(
    request_: str, searched: str
) -> None:
    (part,) = parse_request(request_)
    assert (part.text, part.capability) == (request_, searched)


def test_a_long_run_of_words_and_figures_is_read_in_one_pass() -> None:
    """What discovery searches is cut from any request, however long: a pattern with
    nested repeats took exponential time on this shape, which never ends in a list."""
    request_ = "breakdown: " + "a b c d e 1 and " * 40 + "why"
    (part,) = parse_request(request_)
    assert part.capability == request_.strip()

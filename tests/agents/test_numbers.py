"""Whole numbers, percentages people use every day, and number bases: the calculator's
answers beyond plain arithmetic, and its refusals of what it cannot answer."""

from __future__ import annotations

import math
import random
from fractions import Fraction

import pytest

from mesh import Mesh
from mesh.agents._numbers import MAX_FACTORED, factorise, is_prime
from mesh.agents.calculator import evaluate, handler
from mesh.errors import InvalidInput, TaskRejected
from mesh.models import TaskRequest, TaskResult


def _ask(description: str, upstream: dict[str, TaskResult] | None = None) -> TaskResult:
    return handler(TaskRequest(task_id="t1", description=description, upstream=upstream or {}))


def _by_trial_division(n: int) -> bool:
    return n >= 2 and all(n % d for d in range(2, math.isqrt(n) + 1))


def test_primality_agrees_with_trial_division_below_20000() -> None:
    assert [n for n in range(20_000) if is_prime(n)] == [
        n for n in range(20_000) if _by_trial_division(n)
    ]


@pytest.mark.parametrize(
    ("n", "prime"),
    [
        (2**61 - 1, True),  # a Mersenne prime
        (1_000_000_007, True),
        (561, False),  # Carmichael numbers fool Fermat's test
        (41_041, False),
        (3_215_031_751, False),  # a strong pseudoprime to the bases 2, 3, 5 and 7
        ((10**9 + 7) * (10**9 + 9), False),
        (MAX_FACTORED - 1, False),
    ],
)
def test_primality_is_exact_where_simple_tests_are_fooled(n: int, prime: bool) -> None:
    assert is_prime(n) is prime


def test_factors_multiply_back_and_are_all_prime() -> None:
    rng = random.Random(7)
    for n in [rng.randrange(2, 10**12) for _ in range(200)] + [(10**9 + 7) * (10**9 + 9)]:
        factors = factorise(n)
        assert math.prod(factors) == n and all(map(is_prime, factors)), n
        assert factors == sorted(factors)


@pytest.mark.parametrize(
    ("expr", "value"),
    [
        ("median(3, 9, 4, 7, 1)", 4),
        ("median(12, 5, 8, 20)", 10),
        ("median(1, 2)", Fraction(3, 2)),
        ("gcd(48, 18)", 6),
        ("gcd(84, 36, 24)", 12),
        ("lcm(4, 6)", 12),
    ],
)
def test_median_gcd_and_lcm_are_exact(expr: str, value: int | Fraction) -> None:
    assert evaluate(expr) == value


def test_gcd_of_a_fraction_says_it_takes_whole_numbers() -> None:
    with pytest.raises(TaskRejected, match=r"gcd takes whole numbers in 'gcd\(4.5, 3\)'"):
        evaluate("gcd(4.5, 3)")


@pytest.mark.parametrize(
    ("description", "output"),
    [
        # each was refused ("found no arithmetic expression") or found no agent
        ("15% tip on $84.50", "15% of 84.50 = 12.675"),
        ("what is the tip on $45 at 20%", "20% of 45 = 9"),
        ("20% off 59.99", "59.99 - 20% = 47.992"),
        ("a $120 jacket is 25% off, what do I pay", "120 - 25% = 90"),
        ("I paid 80 for shoes that were 20% off. what was the original price?",
         "80 / (1 - 20/100) = 100"),
        ("what percent is 45 of 60", "45 / 60 * 100 = 75"),
        ("what percentage of 60 is 45", "45 / 60 * 100 = 75"),
        ("18 out of 24 as a percentage", "18 / 24 * 100 = 75"),
        ("percentage change from 80 to 100", "(100 - 80) / 80 * 100 = 25"),
        ("the price went from 50 to 65, what's the percentage increase?",
         "(65 - 50) / 50 * 100 = 30"),
        ("median of 3, 9, 4, 7, 1", "median(3, 9, 4, 7, 1) = 4"),
        ("gcd of 48 and 18", "gcd(48, 18) = 6"),
        ("the least common multiple of 4 and 6", "lcm(4, 6) = 12"),
        # a list of three: "lcm(12, 18) = 36" dropped the 30, reported as success
        ("least common multiple of 12, 18 and 30?", "lcm(12, 18, 30) = 180"),
        ("hcf of 24, 36 and 60", "gcd(24, 36, 60) = 12"),
        ("is 97 prime", "97 is prime"),
        ("is 91 a prime number?", "91 is not prime: 91 = 7 × 13"),
        ("is 1 prime?", "1 is not prime: a prime is a whole number above 1"),
        ("prime factors of 84", "84 = 2 × 2 × 3 × 7"),
        ("factorize 600851475143", "600851475143 = 71 × 839 × 1471 × 6857"),
        ("what's 0xff in decimal", "0xff = 255 in decimal"),
        ("convert 1010 from binary to decimal", "1010 from binary = 10 in decimal"),
        ("convert 255 to hex", "255 = 0xff in hexadecimal"),
        ("convert 1,000 to hex", "1000 = 0x3e8 in hexadecimal"),  # was read as 1 and 000
        ("what is 100 in base 7", "100 = 202 in base 7"),
        ("-5 in binary", "-5 = -0b101 in binary"),
        ("what is 0b1010 + 1", "10 + 1 = 11"),
        # both asked, both answered: the total had been dropped, or the median had been
        # taken of the average (18, reported as success)
        ("what's a 15% tip on $84.50, and the total?",
         "15% of 84.50 = 12.675\n84.50 + 15% = 97.175"),
        ("what's the average and median of 4, 8, 15, 16, 23, 42",
         "((4 + 8 + 15 + 16 + 23 + 42) / 6) = 18\nmedian(4, 8, 15, 16, 23, 42) = 15.5"),
        ("what is the sum and the average of 3, 4 and 5",
         "(3 + 4 + 5) = 12\n((3 + 4 + 5) / 3) = 4"),
    ],
)  # fmt: skip
def test_everyday_percentages_whole_numbers_and_bases(description: str, output: str) -> None:
    assert _ask(description).output == output


def test_a_result_in_binary_is_the_result_written_in_base_2() -> None:
    """ "what is 2+2 in binary" answered 4: the base was ignored."""
    result = _ask("what is 2+2 in binary")
    assert result.output == "2+2 = 4 = 0b100 in binary"
    assert (result.data["value"], result.data["base"], result.data["digits"]) == (4, 2, "0b100")


@pytest.mark.parametrize(
    ("description", "reason"),
    [
        ("is 7.5 prime", "7.5 is not a whole number: only whole numbers are prime"),
        ("is 1000000000000000000000007 prime", "has 25 digits: .* below 10\\*\\*24"),
        ("2.5 in binary", "^2.5 is not a whole number: only whole numbers are written in binary"),
        ("what is 7 / 2 in hex", "7 / 2 = 3.5 is not a whole number"),
        ("what is 255 in base 40", "base 40 does not exist here: give a base from 2 to 36"),
        ("convert 1012 from binary to decimal", "'1012' is not a binary number"),
    ],
)
def test_what_has_no_whole_number_answer_is_refused_saying_why(
    description: str, reason: str
) -> None:
    with pytest.raises(InvalidInput, match=reason):
        _ask(description)


def test_a_task_that_only_names_the_result_before_is_refused() -> None:
    """ "… a 18% tip on 62.40 and what's the total" planned "what's the total" apart, and
    the calculator answered the tip again as the total."""
    tip = TaskResult(task_id="t0", status="succeeded", output="= 11.232", data={"value": 11.232})
    with pytest.raises(TaskRejected, match='nothing to compute in "what\'s the total"'):
        _ask("what's the total", {"t0": tip})
    assert _ask("double it", {"t0": tip}).data["value"] == pytest.approx(22.464)


@pytest.mark.parametrize(
    ("asked", "answer"),
    [
        ("is 97 prime", "97 is prime"),  # no agent scored above MESH_MIN_SCORE
        ("gcd of 48 and 18", "= 6"),
        ("convert 255 to hex", "0xff"),  # the units agent and transform refused it
        ("what's the median of 12, 5, 8, 20", "= 10"),  # the csv analyst refused it
        ("what percent is 45 of 60", "= 75"),
    ],
)
def test_the_calculator_is_found_for_them_in_a_mesh(mesh: Mesh, asked: str, answer: str) -> None:
    result = mesh.run(asked)
    assert result.ok, result.answer
    (task,) = result.results.values()
    assert task.agent == "calculator" and answer in task.output

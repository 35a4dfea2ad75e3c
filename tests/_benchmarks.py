"""What the benchmark smoke tests share: running a script with ``--smoke`` and
reading what it printed. Each test checks what a script measured, not how it
words it: the figures it prints are parsed and must agree with each other (a
ratio with the two numbers it divides, a mean with the scores it averages, a
count with the run's size), and the behaviour a script demonstrates (the planted
shortcut found, the same parameters picked with and without a cache, no request
failing) must hold. Used by tests/test_benchmarks_accuracy.py and
tests/test_benchmarks_speed.py."""

import re
import subprocess
import sys
from pathlib import Path

import numpy as np

BENCHMARKS = Path(__file__).resolve().parents[1] / "benchmarks"
# a number as the scripts print them: 8,151,810 or 0.25 or 6.5e-09
_NUMBER = re.compile(r"-?\d+(?:,\d{3})*(?:\.\d+)?(?:e[-+]?\d+)?")


def smoke(script, *args, timeout=600):
    out = subprocess.run(
        [sys.executable, script, "--smoke", *args], cwd=BENCHMARKS,
        capture_output=True, text=True, timeout=timeout,
    )
    assert out.returncode == 0, out.stderr[-3000:]
    return out.stdout


def tables(stdout):
    """Every markdown table in ``stdout``: a list of rows, each a dict from the
    header's cells to the row's (the rule line left out)."""
    found, header = [], None
    for line in stdout.splitlines() + [""]:
        if line.startswith("|"):
            cells = [c.strip() for c in line.strip()[1:-1].split("|")]
            if header is None:
                header, rows = cells, []
            elif not set(line) <= set("|-: "):
                rows.append(dict(zip(header, cells)))
        elif header is not None:
            found.append(rows)
            header = None
    return found


def numbers(text):
    """The numbers in ``text``, in order."""
    return [float(n.replace(",", "")) for n in _NUMBER.findall(text)]


def number(text):
    (number,) = numbers(text)
    return number


def half_step(text):
    """Half the last digit printed of the one number in ``text``: how far the
    number printed may be from the number measured."""
    (printed,) = _NUMBER.findall(text)
    mantissa = printed.split("e")[0]
    decimals = len(mantissa.split(".")[1]) if "." in mantissa else 0
    exponent = int(printed.split("e")[1]) if "e" in printed else 0
    return 0.5 * 10.0 ** (exponent - decimals)


def assert_quotient(shown, top, bottom):
    """``shown`` (a printed ratio) is ``top / bottom`` (printed figures), each
    figure anywhere within its rounding."""
    r, t, b = number(shown), number(top), number(bottom)
    dr, dt, db = half_step(shown), half_step(top), half_step(bottom)
    low = (t - dt) / (b + db)
    high = (t + dt) / (b - db) if b > db else np.inf
    assert low - dr <= r <= high + dr, f"{shown!r} is not {top!r} / {bottom!r}"


def assert_scores(row, score, ci="95 % CI", p="p"):
    """An evaluation's row: the headline within its interval, the p-value a
    probability, a dummy exactly at chance and never above it."""
    headline = number(row[score].split("(")[0])
    folds = numbers(row[score].split("(")[1])
    low, high = (float(x) for x in row[ci].split("-"))
    assert low - 0.005 <= headline <= high + 0.005, row
    assert all(0 <= s <= 1 for s in folds + [headline]) and 0 < number(row[p]) <= 1
    if row["model"].startswith("dummy"):
        assert headline == 0.5 and number(row[p]) == 1.0  # two classes
    return headline, folds


"""A stranger's clone is the test: no test or benchmark names a path of the machine it was written on."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# Absolute paths of a development machine, and the sibling folder a clone does not have.
MACHINE_PATH = re.compile(r"(?<![\w.])/(?:work|home|root|Users|tmp)/\w|\.\./shared\b")


def test_tests_and_benchmarks_name_no_path_of_this_machine():
    sources = [p for folder in ("tests", "bench") for p in (ROOT / folder).rglob("*") if p.suffix in (".py", ".md")]
    assert len(sources) > 20
    offenders = [
        f"{path.relative_to(ROOT)}:{number}: {line.strip()}"
        for path in sources
        if path != Path(__file__).resolve()
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1)
        if MACHINE_PATH.search(line)
    ]
    assert offenders == []

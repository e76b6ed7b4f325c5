"""Figures of the hardening suites, written to test-artifacts/hardening.json.

tests/conftest.py registers HardeningFigures. It counts the tests of the four
hardening files that ran and how each ended, and the distinct cases of the
bad-input corpus (each runs once through lib/ and once through its page). The
file is written only when at least one of those tests ran, and contains the
figures of that run alone.
"""

from __future__ import annotations

import json
import time
from collections import Counter
from pathlib import Path

SUITES = {
    "test_corpus.py": "corpus",
    "test_faults.py": "faults",
    "test_storage_faults.py": "storage_faults",
    "test_secrets.py": "secret_checks",
}
CORPUS_TESTS = ("test_corpus_lib", "test_corpus_page")
COMMAND = (
    ".venv/bin/python -m pytest tests/test_corpus.py tests/test_faults.py "
    "tests/test_storage_faults.py tests/test_secrets.py"
)


class HardeningFigures:
    """A pytest plugin that records the outcome of each hardening test."""

    def __init__(self, root: Path):
        self.output = root / "test-artifacts" / "hardening.json"
        self.outcomes: dict[str, str] = {}

    def pytest_runtest_logreport(self, report) -> None:
        if _suite_of(report.nodeid) is None:
            return
        outcome = _outcome(report)
        if outcome is None:
            return
        # A failure in setup, call or teardown decides. Otherwise the call does.
        if self.outcomes.get(report.nodeid) != "failed":
            self.outcomes[report.nodeid] = outcome

    def pytest_sessionfinish(self, session, exitstatus) -> None:
        if not self.outcomes:
            return
        self.output.parent.mkdir(parents=True, exist_ok=True)
        figures = {
            "generated_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            "command": COMMAND,
            **self.figures(),
        }
        self.output.write_text(json.dumps(figures, indent=2) + "\n", encoding="utf-8")

    def figures(self) -> dict:
        """Return the counts per suite, and per corpus case."""
        by_suite: dict[str, Counter] = {}
        for nodeid, outcome in self.outcomes.items():
            counts = by_suite.setdefault(_suite_of(nodeid), Counter())
            counts["run"] += 1
            counts[outcome] += 1
        result = {suite: _counts(counts) for suite, counts in by_suite.items()}
        if "corpus" in result:
            result["corpus"]["cases"] = self._corpus_cases()
        return result

    def _corpus_cases(self) -> dict:
        """Count corpus cases: a case passed when its lib and page runs passed, and
        is a known bug when one of them is an expected failure."""
        cases: dict[str, set[str]] = {}
        for nodeid, outcome in self.outcomes.items():
            name, _, rest = nodeid.partition("::")[2].partition("[")
            if name in CORPUS_TESTS and rest:
                cases.setdefault(rest.rstrip("]"), set()).add(outcome)
        counts = Counter()
        for outcomes in cases.values():
            counts["run"] += 1
            if outcomes == {"passed"}:
                counts["passed"] += 1
            elif "failed" in outcomes:
                counts["failed"] += 1
            elif "xfailed" in outcomes:
                counts["xfailed"] += 1
        return _counts(counts)


def _suite_of(nodeid: str) -> str | None:
    return SUITES.get(nodeid.partition("::")[0].rpartition("/")[2])


def _outcome(report) -> str | None:
    """Return passed, failed, skipped or xfailed for a report that decides it."""
    if hasattr(report, "wasxfail"):
        return "xfailed" if report.skipped else "failed"
    if report.failed:
        return "failed"
    if report.skipped:
        return "skipped"
    if report.when == "call":
        return "passed"
    return None


def _counts(counts: Counter) -> dict:
    return {
        name: counts.get(name, 0)
        for name in ("run", "passed", "failed", "xfailed", "skipped")
    }

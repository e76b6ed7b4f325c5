"""Smoke tests of the benchmarks: each runs at a tiny size and reports.

They check that every benchmark still runs and fills in its figure, target and
command. They never check a speed: timings on a shared machine are not stable
enough for a test, and `make bench` reports them.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from benchmarks import (
    first_rows,
    load_all,
    memory,
    peer,
    refresh,
    rerun,
    startup,
)
from benchmarks.__main__ import BENCHMARKS
from benchmarks.common import Result

CHROMIUM = Path("/usr/bin/chromium")


def check_reported(results: list[Result], benchmark: str) -> None:
    assert results
    for result in results:
        assert result.benchmark == benchmark
        assert result.measure
        assert result.figure
        assert result.target
        assert result.command.startswith(".venv/bin/python -m benchmarks.")
        assert result.met in (True, False, None)


def test_runner_lists_every_module():
    modules = {path.stem for path in Path(load_all.__file__).parent.glob("*.py")}
    assert set(BENCHMARKS) == modules - {"__init__", "__main__", "common"}


def test_load_all_reports():
    check_reported(load_all.run(tiny=True), "Load all")


def test_peer_reports():
    pytest.importorskip("atlassian", reason="make bench installs the peer library")
    check_reported(peer.run(tiny=True), "Peer comparison")


def test_first_rows_reports():
    check_reported(first_rows.run(tiny=True), "Time to first rows")


def test_rerun_reports():
    results = rerun.run(tiny=True)
    check_reported(results, "Rerun cost")
    assert len(results) == len(rerun.CASES)


def require_chromium() -> None:
    if CHROMIUM.exists():
        return
    if os.environ.get("REQUIRE_BROWSER") == "1":
        pytest.fail(f"Chromium is not installed at {CHROMIUM}")
    pytest.skip(f"Chromium is not installed at {CHROMIUM}")


def test_startup_reports():
    require_chromium()
    check_reported(startup.run(tiny=True), "Start-up")


def test_memory_reports():
    require_chromium()
    check_reported(memory.run(tiny=True), "Memory")


def test_refresh_reports():
    results = refresh.run(tiny=True)
    check_reported(results, "Refresh under load")
    assert results[0].figure.isdigit()


def test_importtime_parent_is_next_shallower_line():
    text = (
        "import time: self [us] | cumulative | imported package\n"
        "import time:       100 |        100 |     numpy\n"
        "import time:       200 |        300 |   pandas.core\n"
        "import time:        50 |        350 | sqlite_utils\n"
    )
    modules = startup.parse_importtime(text)
    assert modules["numpy"].parent == "pandas.core"
    assert modules["pandas.core"].parent == "sqlite_utils"
    assert modules["sqlite_utils"].parent is None
    assert modules["sqlite_utils"].cumulative_ms == 0.35


def test_heavy_imports_names_project_importer():
    app = startup.parse_importtime(
        "import time:     30000 |      30000 |     pandas.core\n"
        "import time:       200 |      30200 |   sqlite_utils\n"
        "import time:       100 |      30300 | lib.store\n"
    )
    hello = startup.parse_importtime("import time:       100 |        100 | json\n")
    described = startup.heavy_imports(app, hello)
    assert described == ["sqlite_utils 30 ms (from lib.store, with pandas 30 ms)"]

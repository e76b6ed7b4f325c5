"""Benchmark: a rerun of each explorer page with warm results, against an empty
page in the same frame.

A rerun happens on every widget change, so with warm results it should send no
HTTP request and cost little more than drawing nothing. Each explorer page is
opened in its own AppTest session against the large site and run once to warm
its results. Then it is rerun, and each rerun's script time
(ScriptRunner._run_script, with compiled scripts kept as a server keeps them)
is recorded while every request sent through `requests` is counted. Reruns of
the page and of the empty page take turns.

The empty page is the dashboard's own frame around a page that draws nothing:
app.py runs unchanged (page config, logging, the sidebar's request log, the
navigation) but its navigation contains a single empty page. It runs in a session
whose request log contains the same records as the explorer page's session, so
the sidebar draws the same table in both.

Run: .venv/bin/python -m benchmarks.rerun [--tiny]
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

from benchmarks.common import (
    APP,
    LATENCY_MS,
    TINY_LATENCY_MS,
    Result,
    SandboxProcess,
    connected_data_folder,
    count_http_requests,
    median,
    open_page,
    print_results,
    quiet_logging,
    script_run_times,
    server_script_cache,
)

COMMAND = ".venv/bin/python -m benchmarks.rerun"
TARGET_RATIO = 2.0

EMPTY_PAGE_SCRIPT = """\
import runpy

import streamlit as st

_navigation = st.navigation
_page = st.Page


def _draw_nothing():
    pass


_empty_page = st.Page(_draw_nothing, title="Empty", default=True)
st.navigation = lambda pages, **options: _navigation([_empty_page])
st.Page = lambda page, **options: None
try:
    runpy.run_path({app!r}, run_name="__main__")
finally:
    st.navigation = _navigation
    st.Page = _page
"""


def _choose_project(at) -> None:
    at.selectbox(key="jira_project").select_index(0).run()


def _choose_space_and_page(at) -> None:
    space = at.selectbox(key="confluence_space")
    space.select_index(next(i for i, o in enumerate(space.options) if "(ENG)" in o))
    at.run()
    at.selectbox(key="confluence_page").select_index(1).run()


# (label, page, steps that bring the page to the state that is rerun)
CASES = (
    ("views/sites.py", "views/sites.py", None),
    ("views/jira.py", "views/jira.py", None),
    ("views/jira.py, first project chosen", "views/jira.py", _choose_project),
    ("views/confluence.py", "views/confluence.py", None),
    (
        "views/confluence.py, space ENG and a page chosen",
        "views/confluence.py",
        _choose_space_and_page,
    ),
    ("views/api_console.py", "views/api_console.py", None),
)


def rerun_once(at) -> float:
    """Rerun an AppTest session and return the script time of the rerun."""
    with script_run_times() as durations:
        at.run()
    if at.exception:
        raise RuntimeError(f"the rerun raised: {at.exception[0].value}")
    return sum(durations)


def open_empty_page(script: Path, request_log):
    """Open the empty page in a new session whose request log is `request_log`."""
    from streamlit.testing.v1 import AppTest

    at = AppTest.from_file(str(script), default_timeout=120)
    at.session_state["request_log"] = request_log
    at.run()
    return at


def measure_case(page: str, prepare, empty_script: Path, reruns: int):
    """Return the rerun times of a page, those of the empty page, and the
    requests sent during the page's reruns. The two take turns, so a change in
    the machine's load affects both."""
    at = open_page(page)
    if prepare is not None:
        prepare(at)
    at.run()
    empty = open_empty_page(empty_script, at.session_state["request_log"])
    page_times, empty_times = [], []
    with count_http_requests() as sent:
        for _ in range(reruns):
            page_times.append(rerun_once(at))
            empty_times.append(rerun_once(empty))
    return page_times, empty_times, sent


def run(tiny: bool = False) -> list[Result]:
    latency_ms = TINY_LATENCY_MS if tiny else LATENCY_MS
    reruns = 3 if tiny else 40
    results = []
    with (
        tempfile.TemporaryDirectory(prefix="rerun-bench-") as folder,
        SandboxProcess(large=not tiny, latency_ms=latency_ms) as sandbox,
        connected_data_folder(sandbox.base_url),
        server_script_cache(),
    ):
        empty_script = Path(folder) / "empty_page.py"
        empty_script.write_text(EMPTY_PAGE_SCRIPT.format(app=str(APP)), "utf-8")
        for label, page, prepare in CASES:
            page_times, empty_times, sent = measure_case(
                page, prepare, empty_script, reruns
            )
            results.append(
                _result(label, median(page_times), median(empty_times), sent)
            )
    return results


def _result(label: str, page_s: float, empty_s: float, sent: list[str]) -> Result:
    ratio = page_s / empty_s
    return Result(
        benchmark="Rerun cost",
        measure=f"{label}: rerun / empty page, script time",
        figure=f"{ratio:.2f}x ({page_s * 1000:.1f} ms vs {empty_s * 1000:.1f} ms), "
        f"{len(sent)} requests",
        target=f"0 requests and within {TARGET_RATIO:g}x",
        met=not sent and ratio <= TARGET_RATIO,
        command=COMMAND,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tiny", action="store_true", help="small site, to check")
    quiet_logging()
    print_results(run(tiny=parser.parse_args().tiny))


if __name__ == "__main__":
    main()

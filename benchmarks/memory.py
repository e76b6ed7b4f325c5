"""Benchmark: the dashboard server's resident memory after "Load all" of the large
site, against after start.

The dashboard runs as `streamlit run app.py` with a data folder whose connection
points at the sandbox (large site, 50 ms latency), which runs in a process of
its own, so its data is not counted. Chromium opens the Jira page and the first
reading of the server's resident set size (VmRSS from /proc) is taken once the
first projects are drawn. Then, in the same browser tab, Load all is pressed on
the Jira page (10,000 projects) and on the Confluence page (2,000 spaces), and
the second reading is taken once both listings are complete. Both readings wait
until the server's memory has been steady for a second.

Run: .venv/bin/python -m benchmarks.memory [--tiny]
"""

from __future__ import annotations

import argparse
import time

from benchmarks.common import (
    APP,
    LATENCY_MS,
    TINY_LATENCY_MS,
    Result,
    SandboxProcess,
    StreamlitServer,
    chromium,
    connected_data_folder,
    print_results,
    resident_memory_bytes,
)

COMMAND = ".venv/bin/python -m benchmarks.memory"
TARGET_MB = 100.0
MB = 1024 * 1024
# Milliseconds Playwright waits for a page element or a listing to finish.
WAIT_MS = 300_000
# The server's memory counts as steady when it grew by less than this over
# STEADY_SECONDS.
STEADY_BYTES = 256 * 1024
STEADY_SECONDS = 1.0


def steady_memory(pid: int) -> int:
    """Return the process's resident memory once it stops growing."""
    previous = resident_memory_bytes(pid)
    while True:
        time.sleep(STEADY_SECONDS)
        current = resident_memory_bytes(pid)
        if current - previous < STEADY_BYTES:
            return current
        previous = current


def load_all(page, done_text: str) -> float | None:
    """Press Load all, wait for `done_text`, and return the seconds between, or
    None when the page shows no Load all (the listing fits on one page)."""
    button = page.get_by_role("button", name="Load all")
    if button.count() == 0:
        return None
    started = time.perf_counter()
    button.click()
    page.get_by_text(done_text).first.wait_for(timeout=WAIT_MS)
    return time.perf_counter() - started


def run(tiny: bool = False) -> list[Result]:
    latency_ms = TINY_LATENCY_MS if tiny else LATENCY_MS
    projects, spaces = (120, 60) if tiny else (10_000, 2_000)
    with (
        SandboxProcess(large=not tiny, latency_ms=latency_ms) as sandbox,
        connected_data_folder(sandbox.base_url),
        StreamlitServer(APP) as server,
        chromium() as browser,
    ):
        page = browser.new_page()
        page.goto(f"{server.url}/jira")
        # The caption under the buttons is drawn after them.
        page.get_by_text("Projects 1–50 of").first.wait_for(timeout=WAIT_MS)
        after_start = steady_memory(server.pid)

        jira_seconds = load_all(page, f"All {projects} projects.")
        page.get_by_role("link", name="Confluence").click()
        # The caption under the buttons is drawn after them.
        page.get_by_text("spaces loaded.").first.wait_for(timeout=WAIT_MS)
        confluence_seconds = load_all(page, f"{spaces} spaces loaded.")
        after_load = steady_memory(server.pid)
        page.close()

    added_mb = (after_load - after_start) / MB
    timings = [
        f"Load all took {seconds:.2f} s on the {name} page, from the click to "
        "the complete table"
        for name, seconds in (
            ("Jira", jira_seconds),
            ("Confluence", confluence_seconds),
        )
        if seconds is not None
    ]
    return [
        Result(
            benchmark="Memory",
            measure=f"server RSS added by Load all of {projects} projects and "
            f"{spaces} spaces",
            figure=f"{added_mb:.0f} MB ({after_start / MB:.0f} MB after start, "
            f"{after_load / MB:.0f} MB after)",
            target=f"under {TARGET_MB:.0f} MB more",
            met=added_mb < TARGET_MB,
            command=COMMAND,
            details=tuple(timings),
        )
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tiny", action="store_true", help="small site, to check")
    print_results(run(tiny=parser.parse_args().tiny))


if __name__ == "__main__":
    main()

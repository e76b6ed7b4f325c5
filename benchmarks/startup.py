"""Benchmark: start-up of `streamlit run app.py` against a hello-world app.

Each server is started the same way (headless, a free port on 127.0.0.1, the
project folder as working directory, so .streamlit/config.toml applies to both).
The clock starts when the process is spawned. It stops when /_stcore/health
returns ok, and again when Chromium shows the first page's title: Streamlit runs a
page's script only when a browser session connects, so the second time includes
the first script run and every import it makes. Chromium is started before any
server, so its own start is not counted. The two apps take turns and the
figure is the median of each.

A second pass runs each server once under `python -X importtime` and lists the
imports the dashboard makes up to its first page that the hello-world app does
not make, with their cumulative import time.

Run: .venv/bin/python -m benchmarks.startup [--tiny]
"""

from __future__ import annotations

import argparse
import os
import re
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from benchmarks.common import (
    ROOT,
    SERVER_START_TIMEOUT,
    Result,
    StreamlitServer,
    chromium,
    median,
    print_results,
)

COMMAND = ".venv/bin/python -m benchmarks.startup"
TARGET_RATIO = 1.3
APP_TITLE = "Atlassian Cloud onboarding dashboard"
HELLO_TITLE = "Hello, world"
HELLO_SCRIPT = f'import streamlit as st\n\nst.title("{HELLO_TITLE}")\n'
# A package whose import takes at least this long in total is listed.
HEAVY_IMPORT_MS = 10.0


@dataclass(frozen=True)
class StartTimes:
    healthy: float
    rendered: float


def start_once(browser, script: Path, title: str, env: dict, stderr) -> StartTimes:
    """Start one server, load its first page in a new browser page, stop it."""
    with StreamlitServer(script, env, stderr) as server:
        page = browser.new_page()
        try:
            page.goto(server.url)
            page.get_by_role("heading", name=title).wait_for(
                timeout=SERVER_START_TIMEOUT * 1000
            )
            rendered_at = time.perf_counter()
        finally:
            page.close()
    return StartTimes(
        server.healthy_at - server.started_at, rendered_at - server.started_at
    )


def _prepared_environment(data_folder: Path) -> dict:
    """Return the server environment, with a data folder whose database and key
    exist already, as on any start after the first."""
    from lib.settings import DATA_DIR_ENV
    from lib.store import Store

    env = {**os.environ, DATA_DIR_ENV: str(data_folder), "PYTHONUNBUFFERED": "1"}
    saved = os.environ.get(DATA_DIR_ENV)
    os.environ[DATA_DIR_ENV] = str(data_folder)
    try:
        Store.open().close()
    finally:
        if saved is None:
            os.environ.pop(DATA_DIR_ENV, None)
        else:
            os.environ[DATA_DIR_ENV] = saved
    return env


# Import times ------------------------------------------------------------------

_IMPORT_LINE = re.compile(r"import time:\s+(\d+) \|\s+(\d+) \|( *)(\S+)")
_PROJECT_PACKAGES = ("lib", "ui", "views")


@dataclass(frozen=True)
class ImportTime:
    module: str
    cumulative_ms: float
    parent: str | None


def parse_importtime(text: str) -> dict[str, ImportTime]:
    """Return each module of -X importtime output with its cumulative time and
    the module that imported it.

    The output lists a module after the modules it imported, indented one level
    deeper, so a line's children are the deeper lines just before it.
    """
    modules: dict[str, ImportTime] = {}
    waiting: dict[int, list[str]] = {}
    for match in _IMPORT_LINE.finditer(text):
        name = match.group(4)
        depth = len(match.group(3)) // 2
        for child in waiting.pop(depth + 1, []):
            modules[child] = ImportTime(child, modules[child].cumulative_ms, name)
        modules[name] = ImportTime(name, int(match.group(2)) / 1000, None)
        waiting.setdefault(depth, []).append(name)
    return modules


def _package(module: str) -> str:
    return module.split(".")[0]


def heavy_imports(app: dict, hello: dict) -> list[str]:
    """Describe the third-party packages that the app's own modules import and
    hello-world does not, heaviest first, each with the heaviest package it
    brings in.

    A package's time is the sum over the modules of it that a module of another
    package imported, because -X importtime does not always print a line for
    the package itself.
    """
    totals: dict[tuple[str, str], float] = {}
    for name, item in app.items():
        if name in hello or item.parent is None:
            continue
        package = _package(name)
        if package in _PROJECT_PACKAGES or package in sys.stdlib_module_names:
            continue
        if package != _package(item.parent):
            key = (package, item.parent)
            totals[key] = totals.get(key, 0.0) + item.cumulative_ms

    described = []
    for (package, parent), total in sorted(totals.items(), key=lambda kv: -kv[1]):
        if total < HEAVY_IMPORT_MS or _package(parent) not in _PROJECT_PACKAGES:
            continue
        text = f"{package} {total:.0f} ms (from {parent}"
        inside = [
            (inner, inner_total)
            for (inner, inner_parent), inner_total in totals.items()
            if _package(inner_parent) == package and inner_total >= HEAVY_IMPORT_MS
        ]
        if inside:
            inner, inner_total = max(inside, key=lambda pair: pair[1])
            text += f", with {inner} {inner_total:.0f} ms"
        described.append(text + ")")
    return described


def _importtime_run(browser, script: Path, title: str, env: dict) -> dict:
    with tempfile.TemporaryFile(mode="w+") as stderr:
        start_once(
            browser, script, title, {**env, "PYTHONPROFILEIMPORTTIME": "1"}, stderr
        )
        stderr.seek(0)
        return parse_importtime(stderr.read())


# The benchmark -----------------------------------------------------------------


def run(tiny: bool = False) -> list[Result]:
    rounds = 1 if tiny else 5
    with tempfile.TemporaryDirectory(prefix="startup-bench-") as folder:
        hello = Path(folder) / "hello.py"
        hello.write_text(HELLO_SCRIPT, encoding="utf-8")
        env = _prepared_environment(Path(folder) / "data")
        app = ROOT / "app.py"
        with chromium() as browser:
            if not tiny:
                # One unmeasured start of each warms the operating system's
                # file cache, so the first measured round is not the slowest.
                start_once(browser, hello, HELLO_TITLE, env, None)
                start_once(browser, app, APP_TITLE, env, None)
            app_times, hello_times = [], []
            for _ in range(rounds):
                hello_times.append(start_once(browser, hello, HELLO_TITLE, env, None))
                app_times.append(start_once(browser, app, APP_TITLE, env, None))
            app_imports = _importtime_run(browser, app, APP_TITLE, env)
            hello_imports = _importtime_run(browser, hello, HELLO_TITLE, env)
    heavy = heavy_imports(app_imports, hello_imports)
    return _results(app_times, hello_times, heavy)


def _results(app_times, hello_times, heavy) -> list[Result]:
    results = []
    for label, attribute in (
        ("first page rendered in Chromium", "rendered"),
        ("/_stcore/health returns ok", "healthy"),
    ):
        app_s = median(getattr(times, attribute) for times in app_times)
        hello_s = median(getattr(times, attribute) for times in hello_times)
        ratio = app_s / hello_s
        results.append(
            Result(
                benchmark="Start-up",
                measure=f"spawn to {label}, app.py / hello-world",
                figure=f"{ratio:.2f}x ({app_s:.2f} s vs {hello_s:.2f} s, median "
                f"of {len(app_times)})",
                target=f"at most {TARGET_RATIO}x",
                met=ratio <= TARGET_RATIO,
                command=COMMAND,
            )
        )
    listed = "; ".join(heavy) or "none"
    results.append(
        Result(
            benchmark="Start-up",
            measure="imports up to the first page that hello-world does not make, "
            f"at least {HEAVY_IMPORT_MS:.0f} ms each (python -X importtime)",
            figure=listed,
            target="only what the first page needs",
            met=None,
            command=COMMAND,
        )
    )
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tiny", action="store_true", help="one round, to check")
    print_results(run(tiny=parser.parse_args().tiny))


if __name__ == "__main__":
    main()

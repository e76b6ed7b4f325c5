"""Results of API calls kept per browser session for a short time.

A rerun of a page whose results are still fresh sends no HTTP request. Keys name
the page's scope, the connection, the site and the request. The connection part
includes the grant time, so a new consent misses the cache. Values are parsed
results with the response they came from, never a token or a session.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar

import streamlit as st

TTL_SECONDS = 120
MAX_ENTRIES = 100
_STATE_KEY = "result_cache"

T = TypeVar("T")


def _entries() -> dict:
    return st.session_state.setdefault(_STATE_KEY, {})


def get(key: tuple):
    """Return the fresh value stored under key, or None."""
    entry = _entries().get(key)
    if entry is None:
        return None
    stored_at, value, pinned = entry
    if not pinned and time.monotonic() - stored_at > TTL_SECONDS:
        return None
    return value


def put(key: tuple, value, *, pinned: bool = False) -> None:
    """Store a value. A pinned value (what the user loaded on purpose, with Load
    more or Load all) does not expire; Refresh or a new consent drops it."""
    entries = _entries()
    entries[key] = (time.monotonic(), value, pinned)
    if len(entries) > MAX_ENTRIES:
        oldest = sorted(entries, key=lambda k: entries[k][0])
        for stale in oldest[: len(entries) - MAX_ENTRIES]:
            del entries[stale]


def cached(key: tuple, compute: Callable[[], T]) -> T:
    """Return the fresh value under key, or compute, store and return it."""
    value = get(key)
    if value is None:
        value = compute()
        put(key, value)
    return value


def clear(scope: str | None = None) -> None:
    """Drop every entry, or those whose key starts with `scope`."""
    entries = _entries()
    for key in [k for k in entries if scope is None or k[0] == scope]:
        del entries[key]


_FRAMES_KEY = "result_frames"
MAX_FRAMES = 30


def frame(source, build_rows: Callable[[], list[dict]]):
    """Return a table's rows as a pandas DataFrame, built once per cached result.

    `source` is the cached result the rows come from. While the same object (of
    the same length, for lists that grow) is passed, the DataFrame is reused, so
    a rerun does not convert the rows again.
    """
    import pandas

    frames = st.session_state.setdefault(_FRAMES_KEY, {})
    entry = frames.get(id(source))
    if entry is not None and entry[0] is source and entry[1] == len(source):
        return entry[2]
    table = pandas.DataFrame(build_rows())
    frames[id(source)] = (source, len(source), table)
    while len(frames) > MAX_FRAMES:
        del frames[next(iter(frames))]
    return table

"""The sidebar's request log: this browser tab's outbound calls.

Its place in the sidebar is reserved before the page runs, so it sits above the
page's own sidebar widgets, and it is drawn after the page, so the page's calls
are listed. A page that stops early stops through `stop_page`, which draws the
log first: nothing can be drawn after `st.stop()`. There is no timer, because a
rerun every few seconds would redraw an open dropdown under the user's pointer.
"""

from __future__ import annotations

import threading
from typing import NoReturn

import streamlit as st

from lib.http import RequestLog

# The slot of the script run on this thread. Streamlit runs a session's script
# on one thread from start to end.
_run = threading.local()


def request_log() -> RequestLog:
    """Return this browser session's log of outbound calls."""
    return st.session_state.setdefault("request_log", RequestLog())


def reserve() -> None:
    """Reserve the log's place in the sidebar for this script run."""
    _run.slot = st.sidebar.empty()


def draw() -> None:
    """Draw the log into its reserved place, replacing what was drawn before."""
    slot = getattr(_run, "slot", None)
    if slot is None:
        return
    with slot.container():
        _panel()


def stop_page() -> NoReturn:
    """Draw the log, then stop the page as `st.stop()` does."""
    draw()
    st.stop()


def _panel() -> None:
    records = request_log().records()
    with st.expander(f"Request log ({len(records)})"):
        if not records:
            st.caption("No calls yet in this browser tab.")
            return
        st.dataframe(
            [
                {
                    "status": record.status if record.status is not None else "—",
                    "ms": round(record.duration_ms),
                    "call": f"{record.method} {_short_path(record.path)}",
                    "retries": record.retries,
                    "error": record.error or "",
                    "host": record.host,
                }
                for record in records
            ],
            hide_index=True,
            width="stretch",
        )
        st.caption("Newest first. Bodies and headers are never kept.")


def _short_path(path: str) -> str:
    """Drop the gateway prefix (/ex/jira/<cloud id>) that every call shares."""
    parts = path.split("/")
    if len(parts) > 3 and parts[1] == "ex":
        return "/" + "/".join(parts[4:])
    return path

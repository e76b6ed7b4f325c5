"""Streamlit helpers shared by pages: the store, errors, the stepper, the app URL."""

from __future__ import annotations

import re
import time
from pathlib import Path

import streamlit as st

from lib import failures, practice, settings
from lib.errors import DashboardError, InvalidInput, StorageError
from lib.store import AppRecord, ConnectionRecord, Store
from ui.request_log import stop_page

ROOT = Path(__file__).resolve().parents[1]

PAGES = {
    "home": "views/home.py",
    "console": "views/console.py",
    "credentials": "views/credentials.py",
    "scopes": "views/scopes.py",
    "consent": "views/consent.py",
    "callback": "views/callback.py",
    "connection": "views/connection.py",
    "sites": "views/sites.py",
    "jira": "views/jira.py",
    "confluence": "views/confluence.py",
    "api_console": "views/api_console.py",
    "api_token": "views/api_token.py",
    "export": "views/export.py",
}

STEPS = (
    ("console", "Developer console"),
    ("credentials", "Credentials"),
    ("scopes", "Scopes"),
    ("consent", "Consent"),
    ("callback", "Callback"),
    ("connection", "Connection"),
)


def open_store() -> Store:
    """Open the store for this script run, or show why it cannot be opened and stop.

    Each run opens its own SQLite connection: Streamlit runs scripts in several
    threads, and a sqlite3 connection belongs to the thread that made it.
    """
    try:
        return Store.open()
    except StorageError as exc:
        show_error(exc)
        stop_page()


def app_url() -> str:
    """Return the origin this page was loaded from (http://localhost:8501 when
    Streamlit cannot tell, as in tests)."""
    url = st.context.url
    return url if url else settings.DEFAULT_APP_URL


def own_callback_url() -> str:
    """Return this dashboard's callback page URL, with a loopback host written as
    localhost: the address Atlassian's examples use, whichever name the browser
    used to open the dashboard."""
    return settings.callback_url(app_url(), loopback_name="localhost")


def active_app(store: Store) -> AppRecord | None:
    """Return the active app; a practice app gets its sandbox started first."""
    app = store.active_app()
    if app is None:
        return None
    try:
        return practice.prepare_app(store, app, own_callback_url())
    except OSError as exc:
        st.error(f"The practice sandbox could not start: {exc}.")
        st.info("Another program may hold the ports; restart the dashboard.")
        stop_page()


def show_error(exc: DashboardError) -> None:
    """Show a failure from lib/ through the catalogue: what happened, what to do
    next, why it happens, and the raw details in an expander."""
    show_diagnosis(failures.diagnose(exc))


def show_diagnosis(diagnosis: failures.Diagnosis) -> None:
    """Show a catalogue entry with the action it offers."""
    failure = diagnosis.failure
    st.error(
        f"**{escape_markdown(failure.title)}.**  \n"
        f"{escape_markdown(diagnosis.what_happened)}",
        icon=":material/error:",
    )
    next_step = escape_markdown(diagnosis.next_step)
    if diagnosis.causes:
        listed = "\n".join(
            f"{number}. {escape_markdown(cause)}"
            for number, cause in enumerate(diagnosis.causes, 1)
        )
        next_step = f"{next_step}\n\n{listed}"
    st.info(next_step, icon=":material/arrow_forward:")
    _offer_action(diagnosis)
    with st.expander("Why this happens, and technical details"):
        st.markdown(escape_markdown(failure.explanation))
        if diagnosis.details:
            st.json(diagnosis.details)


def _offer_action(diagnosis: failures.Diagnosis) -> None:
    action = diagnosis.failure.action
    if diagnosis.required_scopes:
        names = ", ".join(diagnosis.required_scopes)
        st.button(
            f"Tick {names} and go to Consent",
            key=f"failure_tick_{diagnosis.key}",
            icon=":material/add_task:",
            on_click=_tick_scopes,
            args=(diagnosis.required_scopes,),
        )
    elif action in _ACTION_LINKS:
        page, label, icon = _ACTION_LINKS[action]
        # An absolute path resolves under any entry script, tests' included.
        st.page_link(str(ROOT / PAGES[page]), label=label, icon=icon)


_ACTION_LINKS = {
    failures.CONSENT_AGAIN: ("consent", "Go to Consent", ":material/replay:"),
    failures.REFRESH: ("connection", "Go to Connection", ":material/refresh:"),
    failures.CREDENTIALS: ("credentials", "Go to Credentials", ":material/key:"),
    failures.SCOPES: ("scopes", "Go to Scopes", ":material/checklist:"),
    failures.CONNECTION: ("connection", "Go to Connection", ":material/link:"),
    failures.API_TOKEN: ("api_token", "Go to Email + API token", ":material/password:"),
}


def _tick_scopes(scopes: tuple[str, ...]) -> None:
    """Add scopes to the selection the Consent page uses, then open it."""
    with Store.open() as store:
        chosen = store.selected_scopes() or ()
        store.save_selected_scopes(tuple(dict.fromkeys((*chosen, *scopes))))
    st.session_state["switch_to_consent"] = True


def show_field_error(exc: InvalidInput) -> None:
    """Show an input error under its field: the problem and the fix in one line."""
    st.error(escape_markdown(f"{exc.message} {exc.hint}"))


def practice_connection_is_stale(app: AppRecord, connection: ConnectionRecord) -> bool:
    """Return whether a practice connection's tokens died with an earlier sandbox."""
    return app.is_practice and practice.is_from_earlier_sandbox(connection)


def step_states(store: Store) -> dict[str, bool]:
    """Return, for each setup step, whether it is done."""
    app = store.active_app()
    connection = store.active_connection()
    connected = connection is not None and app is not None
    return {
        "console": app is not None,
        "credentials": app is not None and app.has_secret,
        "scopes": bool(store.selected_scopes()),
        "consent": connected,
        "callback": connected,
        "connection": connected
        and connection.status == "active"
        and not practice_connection_is_stale(app, connection)
        and (connection.expires_at > time.time() or connection.has_refresh_token),
    }


def stepper(store: Store, current: str) -> None:
    """Draw the setup steps as a row: done ones ticked, the current one bold."""
    done = step_states(store)
    columns = st.columns(len(STEPS))
    for index, (column, (key, label)) in enumerate(zip(columns, STEPS, strict=True)):
        mark = (
            ":material/check_circle:"
            if done[key]
            else ":material/radio_button_unchecked:"
        )
        text = f"{mark} {index + 1}. {label}"
        if key == current:
            text = f"**{text}**"
        column.markdown(text)
    app = store.active_app()
    if app is not None and app.is_practice:
        st.caption(
            "Practice mode: every call goes to the built-in sandbox on this "
            "computer, not to Atlassian."
        )
    st.divider()


_MARKDOWN_SPECIAL = re.compile(r"([\\`*_{}\[\]()#+\-.!|<>~$:/])")
# Addresses that GitHub-flavoured Markdown turns into links even when escaped.
_LINKABLE = re.compile(
    r"(?i)(?:https?://|ftp://|mailto:|www\.)[^\s`]+|[\w.+-]+@[\w-]+\.[\w.-]+"
)


def escape_markdown(text: str) -> str:
    """Make text from a user or a server render as itself in Markdown.

    Markdown characters and Streamlit directives (such as :red[...]) get a
    backslash. Web and email addresses go into code spans, which are never turned
    into links and copy exactly as shown.
    """
    pieces = []
    last = 0
    for match in _LINKABLE.finditer(text):
        pieces.append(_MARKDOWN_SPECIAL.sub(r"\\\1", text[last : match.start()]))
        pieces.append(f"`{match.group(0)}`")
        last = match.end()
    pieces.append(_MARKDOWN_SPECIAL.sub(r"\\\1", text[last:]))
    return "".join(pieces)


def format_duration(seconds: float) -> str:
    """Format seconds as "1 h 02 min", "4 min 05 s", "12 s", or "expired" at <= 0."""
    if seconds <= 0:
        return "expired"
    seconds = int(seconds)
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"{hours} h {minutes:02d} min"
    if minutes:
        return f"{minutes} min {secs:02d} s"
    return f"{secs} s"

"""Step 6: the token's status, who and what it belongs to, refresh now, disconnect."""

import time
from datetime import UTC, datetime

import streamlit as st

from lib import atlassian, connect
from lib.errors import DashboardError
from lib.scopes import ENDPOINT_SCOPES, OFFLINE_ACCESS
from lib.store import Store
from ui.common import (
    PAGES,
    active_app,
    escape_markdown,
    format_duration,
    open_store,
    practice_connection_is_stale,
    show_error,
    stepper,
)
from ui.explore import session_factory, show_api_token_connection
from ui.request_log import stop_page

store = open_store()
app = active_app(store)
connection = store.active_connection()

st.title("6. Connection")
stepper(store, current="connection")

if st.session_state.pop("disconnected", False):
    st.success("Disconnected: the connection's tokens were deleted.")

if connection is None or (app is None and not connection.is_api_token):
    st.info("There is no connection yet. Finish the consent step first.")
    st.page_link(PAGES["consent"], label="Go to Consent", icon=":material/arrow_back:")
    stop_page()


def _use_connection(widget_key: str) -> None:
    with Store.open() as writable:
        writable.set_active_connection(st.session_state[widget_key])


def _renew(connection_id: int, scopes: tuple[str, ...]) -> None:
    """Start the consent that renews a connection, with the scopes it asked for."""
    with Store.open() as writable:
        writable.save_selected_scopes(scopes)
    st.session_state["renew_connection"] = connection_id
    st.session_state["switch_to_consent"] = True


def _renew_button(label: str = "Consent again") -> None:
    st.button(
        label,
        key="renew_connection_button",
        icon=":material/replay:",
        type="primary",
        on_click=_renew,
        args=(connection.id, connection.requested_scopes),
        help="Opens the Consent page with the scopes this connection asked for. "
        "The new tokens replace this connection's, and its chosen site is kept.",
    )


def _timestamp(seconds: float | None) -> str:
    if seconds is None:
        return "never"
    try:
        return datetime.fromtimestamp(seconds, UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
    except (OverflowError, OSError, ValueError):
        return f"{seconds!r} (not a valid time)"


def _describe(item) -> str:
    if item.is_api_token:
        return f"{item.label}, API token on {item.site_url}"
    owner = store.get_app(item.app_id)
    client = owner.client_id if owner else "an app no longer stored"
    state = " (needs consent again)" if item.status == connect.NEEDS_CONSENT else ""
    return f"{item.label}, app {client}{state}"


connections = store.list_connections(connection.environment)
if len(connections) > 1:
    labels = {item.id: _describe(item) for item in connections}
    st.session_state["connection_choice"] = connection.id
    st.selectbox(
        "Connection in use",
        list(labels),
        key="connection_choice",
        format_func=labels.__getitem__,
        on_change=_use_connection,
        args=("connection_choice",),
        help="Each Atlassian account (or OAuth app) that consented has its own "
        "connection. The explorer pages use the one chosen here.",
    )

# An email + API token connection has no app, expiry, refresh or consent.
if connection.is_api_token:
    show_api_token_connection(store, connection)
    stop_page()


where = "the practice sandbox" if app.is_practice else "Atlassian Cloud"
who = f" as {connection.account_name}" if connection.account_name else ""
st.write(
    f"App with client ID {escape_markdown(app.client_id)}, connected to {where}"
    f"{escape_markdown(who)}. "
    f"Granted {_timestamp(connection.granted_at)}, last refreshed "
    f"{_timestamp(connection.refreshed_at)}."
)

# Tokens from a sandbox that has since stopped cannot be used or counted down.
tokens_dead = practice_connection_is_stale(app, connection)
if tokens_dead:
    st.warning(
        "The practice sandbox restarted since this connection was made, and it "
        "keeps its tokens only in memory, so these tokens no longer work. Consent "
        "again to get new ones.",
        icon=":material/restart_alt:",
    )
    _renew_button()
elif connection.status == connect.NEEDS_CONSENT:
    st.error(
        "The authorization server rejected the refresh token, so this connection "
        "needs a new consent. The app, scopes and chosen site are kept."
    )
    _renew_button()


@st.fragment(run_every=1)
def _countdown() -> None:
    remaining = connection.expires_at - time.time()
    st.metric("Access token expires in", format_duration(remaining))
    st.caption(f"At {_timestamp(connection.expires_at)}")


status_column, refresh_column = st.columns(2)
with status_column:
    if tokens_dead:
        st.metric("Access token", "no longer valid")
    else:
        _countdown()
with refresh_column:
    if connection.has_refresh_token:
        st.metric("Refresh token", "stored")
        st.caption(
            "It rotates on every refresh: the new one replaces the old one here. "
            "Unless refreshed again, it stops working around "
            f"{_timestamp(connect.refresh_token_expiry(connection))} (90 days "
            "unused, or 365 days after the consent, whichever comes first)."
        )
    else:
        st.metric("Refresh token", "none")
        st.caption(
            "offline_access was not requested, so the connection ends when the "
            "access token expires. Tick offline_access and consent again to stay "
            "connected."
        )

st.subheader("Who you are connected as")
if tokens_dead:
    st.caption("Shown again after the new consent.")
elif ENDPOINT_SCOPES["/me"].is_met_by(frozenset(connection.granted_scopes)):
    try:
        session, endpoints = connect.authorized_session(
            store, connection, session_factory=session_factory()
        )
        profile = atlassian.get_me(session, endpoints)
    except DashboardError as exc:
        show_error(exc)
    else:
        name = profile.get("name") or profile.get("nickname") or "(no name)"
        email = profile.get("email") or "no email shared"
        status = profile.get("account_status", "status unknown")
        st.write(escape_markdown(f"{name} ({email}), account {status}."))
        st.caption(f"From GET `{endpoints.me_url}`")
        with st.expander("Raw response"):
            st.json(profile)
else:
    st.caption(
        "read:me was not granted, so the profile is not shown. Tick it (and add "
        "the User Identity API in the developer console) to see it."
    )

st.subheader("Scopes")
requested = set(connection.requested_scopes)
granted = set(connection.granted_scopes)
rows = [
    {
        "scope": name,
        "requested": name in requested,
        "granted": name in granted,
    }
    for name in sorted(requested | granted)
]
st.dataframe(rows, hide_index=True, width="stretch")
missing = sorted(requested - granted - {OFFLINE_ACCESS})
if missing:
    st.warning(
        f"Requested but not granted: {', '.join(missing)}. Add them to the app "
        "in the developer console, then consent again."
    )

refresh_button, disconnect_button = st.columns(2)
if refresh_button.button(
    "Refresh now", disabled=not connection.has_refresh_token, type="primary"
):
    try:
        connect.refresh_connection(
            store, connection.id, session_factory=session_factory()
        )
    except DashboardError as exc:
        show_error(exc)
    else:
        st.session_state["refreshed"] = True
        st.rerun()
if st.session_state.pop("refreshed", False):
    st.success("Refreshed: a new access token and refresh token are stored.")

with disconnect_button.popover("Disconnect", icon=":material/link_off:"):
    st.write(
        "Delete this connection's access and refresh tokens from this computer? "
        "The app's credentials stay, and nothing is revoked at Atlassian."
    )
    if st.button("Yes, delete the tokens", key="confirm_disconnect"):
        store.delete_connection(connection.id)
        st.session_state["disconnected"] = True
        st.rerun()

with st.expander("Connect another Atlassian account"):
    st.write(
        "Atlassian keeps one grant per app and account, so a consent given by "
        "another account becomes a separate connection here, and the one above "
        "stays. Atlassian's screen uses the account signed in to the browser: sign "
        "out of Atlassian first, or open the consent address in a private window."
    )
    st.page_link(PAGES["consent"], label="Go to Consent", icon=":material/person_add:")

st.page_link(
    PAGES["sites"], label="Next: browse your sites", icon=":material/travel_explore:"
)

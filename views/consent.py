"""Step 4: the authorize URL, the button that opens it, and the paste path back."""

import time
from urllib.parse import parse_qsl, urlsplit

import streamlit as st

from lib import connect, credentials, failures, oauth, settings
from lib.errors import DashboardError
from lib.scopes import scope_string
from ui.common import (
    PAGES,
    active_app,
    app_url,
    escape_markdown,
    open_store,
    show_diagnosis,
    show_error,
    stepper,
)
from ui.request_log import stop_page

# A started consent is renewed when less than this many seconds of its life remain.
RENEW_MARGIN = 60

store = open_store()
app = active_app(store)

st.title("4. Consent")
stepper(store, current="consent")

if app is None:
    st.warning("Save the app's credentials first.", icon=":material/key:")
    st.page_link(
        PAGES["credentials"], label="Go to Credentials", icon=":material/arrow_forward:"
    )
    stop_page()
scopes = store.selected_scopes()
if not scopes:
    st.warning("Choose at least one scope first.", icon=":material/checklist:")
    st.page_link(PAGES["scopes"], label="Go to Scopes", icon=":material/arrow_forward:")
    stop_page()


def _renewed_connection():
    """Return the connection this tab's consent renews, if the Connection page
    asked for one and it belongs to the app in use."""
    connection_id = st.session_state.get("renew_connection")
    renewed = store.get_connection(connection_id) if connection_id else None
    if renewed is None or renewed.app_id != app.id:
        st.session_state.pop("renew_connection", None)
        return None
    return renewed


renewed = _renewed_connection()


def _current_consent() -> connect.ConsentStart:
    """Return this tab's consent for the saved app and scopes, starting a new one
    when there is none, the app or scopes changed, or it is about to expire."""
    replaces = renewed.id if renewed else None
    key = (app.id, app.updated_at, app.auth_base, scope_string(scopes), replaces)
    consent = st.session_state.get("consent")
    if (
        consent is None
        or st.session_state.get("consent_key") != key
        or _must_renew(consent)
    ):
        consent = connect.begin_consent(store, app, scopes, replaces=replaces)
        st.session_state["consent"] = consent
        st.session_state["consent_key"] = key
        st.session_state["connection_before"] = _connection_marker(store)
    return consent


def _connection_marker(source) -> tuple | None:
    """Return (id, granted at) of the active app's connection, which changes when
    any consent for the app finishes, in this tab or another."""
    connection = source.active_connection()
    return None if connection is None else (connection.id, connection.granted_at)


def _finished_elsewhere(source) -> bool:
    """Return whether a consent started in another tab (or before a reload) has
    connected the app since this tab started its consent."""
    before = st.session_state.get("connection_before")
    marker = _connection_marker(source)
    return marker is not None and marker != before


def _show_outcome(consent: connect.ConsentStart) -> bool:
    """Show how this tab's consent ended, and return whether it has ended."""
    pending = store.pending_state(consent.state_hash)
    connected_elsewhere = _finished_elsewhere(store)
    if (pending is None or pending.consumed_at is None) and not connected_elsewhere:
        return False
    if connected_elsewhere or pending.connection_id is not None:
        st.success(
            "Connected. The tokens are stored encrypted.", icon=":material/check:"
        )
        st.page_link(
            PAGES["connection"],
            label="See the connection",
            icon=":material/arrow_forward:",
        )
        st.page_link(
            PAGES["sites"], label="Browse your sites", icon=":material/travel_explore:"
        )
    elif pending.error:
        st.error(escape_markdown(f"The consent did not finish: {pending.error}"))
    else:
        st.info("The callback for this consent is being processed…")
        return True
    if st.button("Start a new consent", key="new_consent"):
        st.session_state.pop("consent", None)
        st.session_state.pop("renew_connection", None)
        st.rerun()
    return True


def _must_renew(consent: connect.ConsentStart) -> bool:
    return consent.expires_at - time.time() < RENEW_MARGIN


try:
    consent = _current_consent()
except DashboardError as exc:
    show_error(exc)
    st.page_link(PAGES["scopes"], label="Check the scopes", icon=":material/checklist:")
    stop_page()
if _show_outcome(consent):
    stop_page()
if renewed is not None:
    st.info(
        f"This consent renews the connection {escape_markdown(renewed.label)}: "
        "the new tokens replace its old ones, and its chosen site is kept.",
        icon=":material/replay:",
    )

st.subheader("Authorize URL")
st.write(
    "This is the exact address the button opens. Copy it with the button at the "
    "right of the box if you want to open it elsewhere."
)
st.code(consent.url, language=None, wrap_lines=True)
with st.expander("Parameters, decoded"):
    st.table(dict(parse_qsl(urlsplit(consent.url).query)))

st.link_button(
    "Open the consent screen",
    consent.url,
    type="primary",
    icon=":material/open_in_new:",
)
st.caption(
    f"This consent stays valid for {connect.CONSENT_LIFETIME // 60} minutes and "
    "works once. The page renews it when it runs out."
)

st.markdown(
    """
**What to expect.** A new tab opens on Atlassian's consent screen. It names your
app, lists the scopes above, and offers a choice of site when you have several.
Press **Accept**. Atlassian then sends the browser to your redirect URI with
`?code=…&state=…`. Pressing **Cancel** sends it back with `error=access_denied`.
"""
)

own_callback = credentials.is_served_by(
    app.redirect_uri, app_url(), settings.CALLBACK_PATH
)
if own_callback:
    st.info(
        "The redirect URI is this dashboard's callback page, so the new tab "
        "finishes the connection by itself. This tab notices within a few seconds.",
        icon=":material/sync:",
    )
else:
    st.warning(
        f"The redirect URI {escape_markdown(app.redirect_uri)} belongs to another "
        "server, not this dashboard. After you press Accept, copy the whole address "
        "from the new tab's address bar (even if the page there shows an error) and "
        "paste it below.",
        icon=":material/content_paste:",
    )


@st.fragment(run_every=2)
def _watch_for_callback() -> None:
    """Poll the store until a callback (in another tab) finishes a consent for this
    app, and renew this tab's consent shortly before it expires."""
    with open_store() as watcher_store:
        pending = watcher_store.pending_state(consent.state_hash)
        finished = _finished_elsewhere(watcher_store)
    if finished or (pending is not None and pending.consumed_at is not None):
        st.rerun(scope="app")
    if _must_renew(consent):
        st.rerun(scope="app")
    st.caption("Waiting for the callback…")


_watch_for_callback()

st.subheader("Or paste the address you landed on")
with st.form("paste"):
    pasted = st.text_area(
        "Address from the browser bar, or just the code",
        help="After Accept, the browser lands on an address like "
        "http://localhost:8501/callback?code=…&state=…. Paste all of it. A bare "
        "code also works when it comes from the consent opened on this page.",
    )
    submitted = st.form_submit_button("Connect with this address")

if submitted:
    try:
        callback = oauth.parse_callback(pasted)
        connect.complete_consent(store, callback, expected_state=consent.state)
    except DashboardError as exc:
        show_error(exc)
    else:
        st.rerun()


# Symptoms a person can see on Atlassian's side, where the browser never comes back.
_SYMPTOMS = {
    "It says the redirect_uri is not registered for the client": (
        "redirect_uri_not_registered"
    ),
    "Only the app's developer can use the app (development mode)": "app_not_shared",
    "Your site admin must authorize this app": "admin_approval_required",
    "The site I want is not in the list": "site_not_offered",
}

with st.expander("Atlassian showed an error instead of coming back here"):
    symptom = st.radio(
        "What does Atlassian's page say?",
        list(_SYMPTOMS),
        index=None,
        key="consent_symptom",
    )
    if symptom is not None:
        show_diagnosis(failures.explain(_SYMPTOMS[symptom]))
    registered = st.text_input(
        "Callback URL as registered in the developer console",
        key="registered_callback",
        help="Copy it from the app's Authorization page, OAuth 2.0 (3LO), Callback "
        "URL. It is compared with the one this dashboard sends.",
    )
    if registered.strip():
        differences = failures.redirect_uri_differences(registered, app.redirect_uri)
        if differences:
            lines = "\n".join(f"- {escape_markdown(item)}" for item in differences)
            st.error(
                f"They differ:\n{lines}\n\nMake them the same, in the developer "
                "console or on the Credentials page."
            )
        else:
            st.success("They are the same, so the callback URL is not the problem.")

"""Step 5: the redirect target. It reads code and state from the query string,
exchanges the code once, and clears the query string."""

import streamlit as st

from lib import connect, oauth
from lib.errors import DashboardError, NetworkError, StateReplayed, StorageError
from lib.store import hash_state
from ui.common import PAGES, active_app, open_store, show_error, stepper
from ui.request_log import stop_page

store = open_store()

st.title("5. Callback")

query = {name: st.query_params.get_all(name) for name in st.query_params}

if not query:
    stepper(store, current="callback")
    st.write(
        "Atlassian sends the browser here after the consent screen, with "
        "`?code=…&state=…` in the address. This page then exchanges the code for "
        "tokens. Nothing arrived in this visit."
    )
    st.page_link(PAGES["consent"], label="Go to Consent", icon=":material/arrow_back:")
    stop_page()

try:
    callback = oauth.callback_from_query(query)
    active_app(store)  # a practice app needs its sandbox running for the exchange
    connect.complete_consent(store, callback)
except (StorageError, NetworkError) as exc:
    # Nothing was used up: the address stays so that a reload tries again.
    show_error(exc)
    st.info("Reload this page to try again once the problem is fixed.")
    stop_page()
except StateReplayed as exc:
    st.query_params.clear()
    pending = store.pending_state(hash_state(callback.state or ""))
    if pending is not None and pending.connection_id is not None:
        # The browser's Back button or history reopened a finished callback.
        st.info(
            "This consent already finished and connected. Reopening its address "
            "changes nothing.",
            icon=":material/check:",
        )
        st.page_link(
            PAGES["connection"], label="See the connection", icon=":material/link:"
        )
    else:
        show_error(exc)
    stop_page()
except DashboardError as exc:
    st.query_params.clear()
    show_error(exc)
    st.page_link(
        PAGES["consent"], label="Back to Consent", icon=":material/arrow_back:"
    )
    stop_page()

# The code must not survive a reload.
st.query_params.clear()
stepper(store, current="callback")
st.success(
    "Connected. The tokens are stored encrypted. You can close this tab: the tab "
    "you started from updates by itself.",
    icon=":material/check:",
)
st.page_link(
    PAGES["connection"], label="See the connection", icon=":material/arrow_forward:"
)
st.page_link(
    PAGES["sites"], label="Browse your sites", icon=":material/travel_explore:"
)

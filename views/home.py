"""Start: what the dashboard does, and a choice of practice or real Atlassian."""

import streamlit as st

from lib import practice
from lib.store import ATLASSIAN
from ui.common import (
    PAGES,
    active_app,
    escape_markdown,
    open_store,
    own_callback_url,
    stepper,
)

store = open_store()
app = active_app(store)

st.title("Atlassian Cloud onboarding dashboard")
st.write(
    "This dashboard walks you through connecting to Atlassian Cloud with OAuth 2.0 "
    "(3LO): you create an app in Atlassian's developer console, enter its "
    "credentials here, pick scopes, approve access on Atlassian's consent screen, "
    "and then browse your Jira projects and Confluence spaces with the stored token."
)
stepper(store, current="")

practice_column, real_column = st.columns(2)

with practice_column:
    st.subheader("Practice with the built-in sandbox")
    st.write(
        "Rehearse every step against a stand-in for Atlassian that runs on this "
        "computer. The credentials are filled in for you and nothing leaves this "
        "machine. The sandbox's sites, projects and spaces are sample data."
    )
    if st.button("Start practice mode", type="primary", key="start_practice"):
        practice.start_practice(store, own_callback_url())
        st.switch_page(PAGES["credentials"])

with real_column:
    st.subheader("Connect to your Atlassian site")
    st.write(
        "Use an OAuth 2.0 (3LO) app of your own from developer.atlassian.com. "
        "Start with the developer console step: it says what to create and which "
        "callback URL to register. A practice connection is kept, and the "
        "Credentials page switches between the two."
    )
    if st.button("Set up a real connection", key="start_real"):
        store.set_active_environment(ATLASSIAN)
        st.switch_page(PAGES["console"])

if app is not None:
    mode = "practice sandbox" if app.is_practice else "Atlassian"
    st.info(
        f"Current app: client ID {escape_markdown(app.client_id)} against the {mode}. "
        "Continue with the steps in the sidebar.",
        icon=":material/info:",
    )

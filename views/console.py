"""Step 1: how to create the OAuth 2.0 (3LO) app in Atlassian's developer console."""

import streamlit as st

from lib import credentials, practice
from lib.errors import DashboardError, InvalidInput
from ui.common import (
    PAGES,
    active_app,
    escape_markdown,
    open_store,
    own_callback_url,
    show_error,
    show_field_error,
    stepper,
)

store = open_store()
app = active_app(store)

st.title("1. Create the app in the developer console")
stepper(store, current="console")

callback = own_callback_url()

st.markdown(
    """
1. Open **developer.atlassian.com**, sign in, and go to **Developer console**
   (your profile menu, top right).
2. Choose **Create → OAuth 2.0 integration**, give it a name, accept the terms,
   and create it.
3. Under **Permissions**, add the APIs you want: **Jira API** and **Confluence API**,
   and **User Identity API** if you want the dashboard to show who you are.
   For each, choose **Add**, then **Configure** and tick the scopes. The scopes you
   request later must be among the ones added here.
4. Under **Authorization**, next to *OAuth 2.0 (3LO)*, choose **Add** and enter
   the callback URL below. It must match the dashboard's redirect URI exactly:
   scheme, host, port, path, even a trailing slash.
5. Under **Settings**, copy the **Client ID** and the **Secret**. You enter them on
   the next page.
"""
)

st.subheader("Callback URL to register")
st.write(
    "This is the dashboard's own callback page, on localhost at the port you "
    "opened it with. Use the copy button at the right of the box."
)
st.code(callback, language=None)
st.caption(
    "If you register a callback of another server (your own app, or an OAuth "
    "broker), you can still finish here: after consenting, paste the address you "
    "land on into the Consent page."
)

if app is not None and app.is_practice:
    st.subheader("Practice: the sandbox's developer console")
    st.write(
        "In practice mode the sandbox plays the developer console. It has the "
        "dashboard's own callback page registered. Register another address here "
        "to rehearse the paste path (a callback that belongs to another server), "
        "then enter the same address on the Credentials page."
    )
    with st.form("practice_callback"):
        registered = st.text_input(
            "Callback URL registered with the practice app",
            value=practice.registered_callback() or callback,
            help="The sandbox accepts only this exact redirect_uri, as Atlassian does.",
        )
        if st.form_submit_button("Register with the sandbox"):
            try:
                practice.register_callback(
                    credentials.validate_redirect_uri(registered)
                )
            except InvalidInput as exc:
                show_field_error(exc)
            else:
                st.success(
                    escape_markdown(f"The sandbox now accepts {registered.strip()}.")
                )

    st.subheader("Practice: make something go wrong")
    st.write(
        "Each choice makes the sandbox fail the way Atlassian does, so you can see "
        "what the dashboard explains and what it asks you to do."
    )
    labels = {f.key: f.label for f in practice.PRACTICE_FAILURES}
    chosen = st.selectbox(
        "Failure", list(labels), format_func=labels.__getitem__, key="practice_fault"
    )
    failure = practice.PRACTICE_FAILURES_BY_KEY[chosen]
    st.caption(escape_markdown(f"Once it is on: {failure.how_to_see}"))
    trigger_column, restore_column = st.columns(2)
    try:
        if trigger_column.button("Switch it on", key="trigger_practice_fault"):
            practice.trigger_failure(chosen)
            st.success(
                "Switched on. Switch all failures off here when you are done.",
                icon=":material/bug_report:",
            )
            st.page_link(
                PAGES[failure.page],
                label="Go where it shows",
                icon=":material/arrow_forward:",
            )
        if restore_column.button("Switch all failures off", key="restore_practice"):
            practice.restore_sandbox()
            st.success("Every practice failure is off again.")
    except DashboardError as exc:
        show_error(exc)

st.subheader("Let other people consent: Distribution")
st.write(
    "A new app is in development mode, so only you, its owner, can complete the "
    "consent screen. Before anyone else can connect, open **Distribution**, choose "
    "**Edit**, set the status to **Sharing**, and fill in the vendor name and a "
    "privacy policy URL, and answer whether the app stores personal data. Sharing "
    "does not list the app on the Atlassian Marketplace."
)

st.subheader("Forge apps are different")
st.write(
    "Forge apps run on Atlassian's platform and get no client secret, so they "
    "cannot use this flow. This dashboard is for OAuth 2.0 (3LO) integrations, "
    "which run on your own servers and hold a client ID and secret."
)

st.page_link(
    PAGES["credentials"],
    label="Next: enter the credentials",
    icon=":material/arrow_forward:",
)

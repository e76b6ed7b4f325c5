"""Step 2: client ID, client secret and redirect URI, validated before saving."""

import streamlit as st

from lib import credentials, practice, settings
from lib.errors import DashboardError, StorageError
from lib.store import ATLASSIAN, PRACTICE
from ui.common import (
    PAGES,
    active_app,
    open_store,
    own_callback_url,
    show_error,
    show_field_error,
    stepper,
)

store = open_store()
app = active_app(store)

st.title("2. Credentials")
stepper(store, current="credentials")

ENVIRONMENTS = {
    ATLASSIAN: "Atlassian Cloud, with your app's credentials",
    PRACTICE: "The practice sandbox on this computer",
}
environment = store.active_environment()
chosen = st.radio(
    "Connect to",
    list(ENVIRONMENTS),
    index=list(ENVIRONMENTS).index(environment),
    format_func=ENVIRONMENTS.get,
    horizontal=True,
    help="Each keeps its own credentials and connection. Switching back later "
    "finds them as you left them.",
)
if chosen != environment:
    if chosen == PRACTICE and store.find_app(PRACTICE) is None:
        practice.start_practice(store, own_callback_url())
    else:
        store.set_active_environment(chosen)
    st.session_state.pop("credential_errors", None)
    st.rerun()

try:
    secrets = dict(st.secrets)
except (FileNotFoundError, KeyError, ValueError):
    secrets = {}
prefill = settings.prefilled_credentials(secrets)

if app is not None and app.is_practice:
    st.info(
        "Practice mode: the sandbox's ready-made credentials are already saved. "
        "Change the redirect URI and save to see how a mismatch looks.",
        icon=":material/school:",
    )
elif prefill:
    names = ", ".join(settings.CREDENTIAL_VARIABLES[field] for field in prefill)
    st.caption(f"Prefilled from the environment or Streamlit secrets: {names}.")

client_id_default = app.client_id if app else prefill.get("client_id", "")
redirect_default = app.redirect_uri if app else prefill.get("redirect_uri", "")
if not redirect_default:
    redirect_default = own_callback_url()
has_saved_secret = app is not None and app.has_secret
saved_secret = None
if has_saved_secret:
    try:
        saved_secret = store.client_secret(app.id)
    except StorageError as exc:
        show_error(exc)
        st.warning("Enter the client secret again to store it with the current key.")
        has_saved_secret = False

errors = st.session_state.get("credential_errors", {})

with st.form("credentials"):
    client_id = st.text_input(
        "Client ID",
        value=client_id_default,
        help="From Settings of your app in the developer console: one word, with "
        "no spaces or quotes.",
    )
    if "client_id" in errors:
        show_field_error(errors["client_id"])

    secret_label = "Client secret"
    secret_help = (
        "From Settings of your app, next to the client ID. It is stored encrypted "
        "and never shown again in full."
    )
    if has_saved_secret:
        masked = credentials.mask_secret(saved_secret)
        secret_label = f"Client secret (saved: {masked})"
        secret_help = "Leave empty to keep the saved secret, or paste a new one."
    client_secret = st.text_input(
        secret_label,
        value="" if has_saved_secret else prefill.get("client_secret", ""),
        type="password",
        help=secret_help,
    )
    if "client_secret" in errors:
        show_field_error(errors["client_secret"])

    redirect_uri = st.text_input(
        "Redirect URI (callback URL)",
        value=redirect_default,
        help="Exactly the callback URL registered under Authorization in the "
        f"developer console. This dashboard's own is {own_callback_url()}.",
    )
    if "redirect_uri" in errors:
        show_field_error(errors["redirect_uri"])

    submitted = st.form_submit_button("Save credentials", type="primary")

if submitted:
    secret_value = client_secret
    if has_saved_secret and not client_secret.strip():
        secret_value = saved_secret
    errors = credentials.collect_errors(client_id, secret_value, redirect_uri)
    st.session_state["credential_errors"] = errors
    if not errors:
        valid = credentials.validate_credentials(client_id, secret_value, redirect_uri)
        auth_base = app.auth_base if app else settings.ATLASSIAN_AUTH_BASE
        api_base = app.api_base if app else settings.ATLASSIAN_API_BASE
        if app is None and environment == PRACTICE:
            auth_base = api_base = practice.ensure_sandbox(own_callback_url())
        try:
            store.save_app(
                environment=environment,
                client_id=valid.client_id,
                client_secret=valid.client_secret,
                redirect_uri=valid.redirect_uri,
                auth_base=auth_base,
                api_base=api_base,
            )
        except DashboardError as exc:
            # Shown without a rerun, which would clear the message.
            show_error(exc)
        else:
            st.session_state["credentials_saved"] = True
            st.rerun()
    else:
        st.rerun()

if st.session_state.pop("credentials_saved", False):
    st.success("Credentials saved. The client secret is stored encrypted.")

if errors:
    st.warning("Nothing was saved: fix the fields marked above.")

if app is not None:
    st.page_link(
        PAGES["scopes"], label="Next: choose scopes", icon=":material/arrow_forward:"
    )

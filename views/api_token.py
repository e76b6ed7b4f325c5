"""Connect with an email and an Atlassian API token, verified before it is stored."""

import streamlit as st

from lib import api_token, practice
from lib.errors import DashboardError, InvalidInput
from lib.sandbox.api_tokens import PRACTICE_API_TOKEN, PRACTICE_API_TOKEN_EMAIL
from lib.store import ATLASSIAN, PRACTICE, Account
from ui.common import (
    PAGES,
    escape_markdown,
    open_store,
    own_callback_url,
    show_error,
    show_field_error,
)
from ui.explore import api_token_scopes, session_factory
from ui.request_log import stop_page

ERRORS_KEY = "api_token_errors"
SITE_KEY = "api_token_site_url"
EMAIL_KEY = "api_token_email"
TOKEN_KEY = "api_token_value"
SAVED_KEY = "api_token_saved"
ENVIRONMENTS = {
    ATLASSIAN: "An Atlassian Cloud site",
    PRACTICE: "The practice sandbox on this computer",
}

store = open_store()

st.title("Email + API token")
st.write(
    "An API token signs in as you, with all of your account's permissions. It "
    "fits your own scripts and browsing your own sites here. An app that other "
    "people use should be an OAuth 2.0 (3LO) app (the numbered steps), so that "
    "each person consents for themselves and can revoke the access."
)

environment = st.radio(
    "Connect to",
    list(ENVIRONMENTS),
    index=list(ENVIRONMENTS).index(store.active_environment()),
    format_func=ENVIRONMENTS.get,
    horizontal=True,
    key="api_token_environment",
    help="The practice sandbox accepts only its own sites and practice account.",
)


def _fill_practice_values(site: str) -> None:
    st.session_state[SITE_KEY] = site
    st.session_state[EMAIL_KEY] = PRACTICE_API_TOKEN_EMAIL
    st.session_state[TOKEN_KEY] = PRACTICE_API_TOKEN


practice_base = None
if environment == PRACTICE:
    try:
        practice_base = practice.ensure_sandbox(own_callback_url())
    except OSError as exc:
        st.error(f"The practice sandbox could not start: {exc}.")
        st.info("Another program may hold the ports; restart the dashboard.")
        stop_page()
    st.info(
        "Practice mode: use the sandbox's practice account. Site URL "
        f"{practice_base}/sites/practice-cloud, email {PRACTICE_API_TOKEN_EMAIL}, "
        f"API token {PRACTICE_API_TOKEN}. The other sandbox sites work too.",
        icon=":material/school:",
    )
    site_example = f"{practice_base}/sites/practice-cloud"
    st.button(
        "Fill in the practice values",
        key="fill_practice_values",
        on_click=_fill_practice_values,
        args=(site_example,),
    )
else:
    site_example = "https://your-site.atlassian.net"

errors: dict[str, InvalidInput] = st.session_state.get(ERRORS_KEY, {})

with st.form("api_token_form"):
    site_url = st.text_input(
        "Site URL",
        key=SITE_KEY,
        placeholder=site_example,
        help="The address of your Atlassian site, such as "
        "https://your-site.atlassian.net. An address copied from a Jira board or "
        "a Confluence page works too: only the part up to the host is kept.",
    )
    if "site_url" in errors:
        show_field_error(errors["site_url"])

    email = st.text_input(
        "Email",
        key=EMAIL_KEY,
        placeholder="name@example.com",
        help="The email address of the Atlassian account that created the API "
        "token. The token works only together with that address.",
    )
    if "email" in errors:
        show_field_error(errors["email"])

    token = st.text_input(
        "API token",
        key=TOKEN_KEY,
        type="password",
        help="Create one at id.atlassian.com, Security, API tokens "
        f"({api_token.TOKEN_PAGE}), and copy it when Atlassian shows it, which "
        "happens only once. It is stored encrypted and never shown again.",
    )
    if "api_token" in errors:
        show_field_error(errors["api_token"])

    submitted = st.form_submit_button("Verify and save", type="primary")


def _field_errors(site_url: str, email: str, token: str) -> dict[str, InvalidInput]:
    """Check each field on its own, so every wrong field is marked at once."""
    checks = {
        "site_url": lambda: api_token.normalize_site_url(
            site_url, practice_base=practice_base
        ),
        "email": lambda: api_token.validate_email(email),
        "api_token": lambda: api_token.clean_api_token(token),
    }
    found = {}
    for field, check in checks.items():
        try:
            check()
        except InvalidInput as exc:
            found[field] = exc
    return found


def _verify_and_save(site_url: str, email: str, token: str) -> str | None:
    """Verify the values and store the connection. Return the summary, or None
    after showing why it failed, in which case nothing is stored."""
    try:
        verification = api_token.verify(
            session_factory(),
            site_url,
            email,
            token,
            gateway_base=practice_base,
            practice_base=practice_base,
        )
    except DashboardError as exc:
        show_error(exc)
        return None
    store.save_api_token_connection(
        environment=PRACTICE if practice_base else ATLASSIAN,
        site_url=verification.site_url,
        email=verification.email,
        api_route=verification.route,
        api_token=api_token.clean_api_token(token),
        account=Account(verification.account_id, verification.display_name),
        cloud_id=verification.cloud_id,
        scopes=api_token_scopes(verification.products),
    )
    typed = site_url.strip().split("://", 1)[-1].rstrip("/").lower()
    kept = verification.site_url.split("://", 1)[-1].lower()
    if typed != kept:
        return (
            f"{verification.summary}. Using the site root {verification.site_url}: "
            "the rest of the address you entered was left out"
        )
    return verification.summary


if submitted:
    errors = _field_errors(site_url, email, token)
    st.session_state[ERRORS_KEY] = errors
    if errors:
        st.rerun()
    summary = _verify_and_save(site_url, email, token)
    if summary is not None:
        st.session_state[SAVED_KEY] = summary
        st.rerun()

if errors:
    st.warning("Nothing was saved: fix the fields marked above.")

saved = st.session_state.pop(SAVED_KEY, None)
if saved is not None:
    st.success(
        escape_markdown(
            f"Connected: {saved}. The API token is stored encrypted, and this "
            "connection is now the one the explorer pages use."
        )
    )

connection = store.active_connection()
if connection is not None and connection.is_api_token:
    st.caption(
        escape_markdown(
            f"In use: {connection.label} ({connection.email}) on {connection.site_url}."
        )
    )
    links = st.columns(3)
    links[0].page_link(
        PAGES["sites"], label="Browse your site", icon=":material/travel_explore:"
    )
    links[1].page_link(
        PAGES["connection"], label="See the connection", icon=":material/link:"
    )
    links[2].page_link(
        PAGES["export"], label="Export settings", icon=":material/download:"
    )

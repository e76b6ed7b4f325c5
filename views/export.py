"""Export settings: the active connection's values as Django settings, a .env file,
scope lists, the authorize URL and a Python example, each ready to copy or
download. Secrets are left out unless the user ticks "Include secrets"."""

import streamlit as st

from lib import export
from lib.api_token import GATEWAY
from lib.errors import DashboardError
from ui.common import PAGES, active_app, escape_markdown, open_store, show_error
from ui.explore import api_token_endpoints, follow_practice_sandbox
from ui.request_log import stop_page

store = open_store()
app = active_app(store)
connection = store.active_connection()

st.title("Export settings")
st.write(
    "The values of the connection in use, for your own project: copy a block with "
    "its copy button, or download it as a file."
)

if connection is None and app is None:
    st.info("There is nothing to export yet: connect first.")
    st.page_link(PAGES["home"], label="Go to Start", icon=":material/arrow_back:")
    stop_page()

include_secrets = st.checkbox(
    "Include secrets",
    value=False,
    key="export_include_secrets",
    help="Off: the client secret or API token is read from the environment or "
    "left as a placeholder, so the text can be shared or committed. On: it is "
    "written into the text.",
)


def _api_token_export(connection, include_secrets: bool) -> export.ApiTokenExport:
    endpoints = api_token_endpoints(connection)
    secret = store.api_token(connection.id) if include_secrets else None
    return export.ApiTokenExport(
        site_url=connection.site_url,
        email=connection.email,
        api_token=secret,
        cloud_id=connection.cloud_id if connection.api_route == GATEWAY else None,
        api_base=endpoints.api_base,
    )


def _oauth_export(app, connection, include_secrets: bool) -> export.OAuthAppExport:
    if connection is not None:
        scopes = connection.requested_scopes
    else:
        scopes = store.selected_scopes() or ()
    secret = None
    if include_secrets and app.has_secret:
        secret = store.client_secret(app.id)
    return export.OAuthAppExport(
        client_id=app.client_id,
        client_secret=secret,
        redirect_uri=app.redirect_uri,
        scopes=tuple(scopes),
        auth_base=app.auth_base,
        api_base=app.api_base,
    )


def _block(
    title: str, text: str, language: str | None, file_name: str, label: str = ""
) -> None:
    st.subheader(title)
    st.code(text, language=language, wrap_lines=True)
    st.download_button(
        f"Download {label or file_name}",
        data=text,
        file_name=file_name,
        mime="text/plain",
        key=f"download:{file_name}",
        on_click="ignore",
        icon=":material/download:",
    )


try:
    if connection is not None and connection.is_api_token:
        connection = follow_practice_sandbox(store, connection)
        data = _api_token_export(connection, include_secrets)
        secret_name = "API token"
        st.caption(
            escape_markdown(
                f"Email + API token connection: {connection.email} on "
                f"{connection.site_url}."
            )
        )
    else:
        data = _oauth_export(app, connection, include_secrets)
        secret_name = "client secret"
        st.caption(escape_markdown(f"OAuth 2.0 (3LO) app {app.client_id}."))
except DashboardError as exc:
    show_error(exc)
    stop_page()

if include_secrets:
    st.warning(
        f"The blocks below contain the {secret_name}. Keep the files out of "
        "version control and share them with no one.",
        icon=":material/warning:",
    )

_block(
    "Django settings",
    export.django_settings(data, include_secrets=include_secrets),
    "python",
    "atlassian_settings.py",
)
_block(
    ".env",
    export.dotenv(data, include_secrets=include_secrets),
    "bash",
    "atlassian.env",
    label=".env",
)
# Browsers drop the leading dot of a downloaded file's name.
st.caption("It downloads as atlassian.env: rename it to .env in your project.")

if isinstance(data, export.OAuthAppExport):
    _block(
        "Scopes, comma-separated",
        export.scopes_comma_separated(data.scopes),
        None,
        "scopes_comma_separated.txt",
    )
    _block(
        "Scopes, space-separated",
        export.scopes_space_separated(data.scopes),
        None,
        "scopes_space_separated.txt",
    )
    _block(
        "Authorize URL",
        export.authorize_url(data),
        None,
        "authorize_url.txt",
    )
    st.caption(
        f"Replace {export.STATE_PLACEHOLDER} with a new random value for each "
        "consent, and check that the callback returns the same value."
    )
    example_name = "atlassian_oauth_example.py"
else:
    st.caption(
        "Scopes and an authorize URL belong to OAuth apps: an API token acts with "
        "the permissions of its account (a scoped token, with the scopes chosen "
        "when it was created)."
    )
    example_name = "atlassian_api_token_example.py"

_block(
    "Python example",
    export.python_example(data, include_secrets=include_secrets),
    "python",
    example_name,
)

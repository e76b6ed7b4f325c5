"""API console: any request under the chosen site's Jira or Confluence API base."""

import streamlit as st

from lib import api_console, atlassian
from lib.errors import DashboardError, InvalidInput
from ui.common import (
    PAGES,
    escape_markdown,
    open_store,
    show_error,
    show_field_error,
)
from ui.explore import open_explorer
from ui.request_log import stop_page

EXAMPLES = {
    "jira": "/rest/api/3/myself",
    "confluence": "/wiki/api/v2/spaces",
}

st.title("API console")
store = open_store()
explorer = open_explorer(store)
site = explorer.site

st.caption(
    escape_markdown(
        f"Site {site.name}. Requests go only to this site's API base on "
        f"{explorer.endpoints.api_base}, with the stored token."
    )
)

with st.form("api_request"):
    columns = st.columns([1, 1, 4])
    product = columns[0].selectbox(
        "API", ["jira", "confluence"], format_func=str.capitalize
    )
    method = columns[1].selectbox("Method", api_console.METHODS)
    path = columns[2].text_input(
        "Path",
        value=EXAMPLES["jira"],
        help="A path under the API base, such as /rest/api/3/myself for Jira or "
        "/wiki/api/v2/spaces for Confluence. A full URL is accepted only when it "
        "starts with that base.",
    )
    query = st.text_area(
        "Query parameters",
        height=80,
        help="Either one line written as a query string (a=1&b=2, %-encoded), or "
        "one name=value per line, taken exactly as typed.",
    )
    body = st.text_area(
        "JSON body",
        height=120,
        help="For POST, PUT and PATCH only. It must be valid JSON.",
    )
    submitted = st.form_submit_button("Send", type="primary", icon=":material/send:")

base = (
    explorer.endpoints.jira_base(site.cloud_id)
    if product == "jira"
    else explorer.endpoints.confluence_base(site.cloud_id)
)
st.caption(f"API base: `{base}`")

if not submitted:
    stop_page()

try:
    request = api_console.build_request(
        explorer.endpoints, site.cloud_id, product, method, path, query, body
    )
except InvalidInput as exc:
    show_field_error(exc)
    stop_page()

st.subheader("The same call elsewhere")
connection = explorer.connection
email = connection.email if connection.is_api_token else None
variable = api_console.TOKEN_ENV_VAR if email is None else api_console.API_TOKEN_ENV_VAR
st.caption(f"The token is a placeholder: set {variable} yourself.")
st.code(
    api_console.curl_command(request, basic_auth_email=email),
    language="bash",
    wrap_lines=True,
)
with st.expander("Python (requests)"):
    st.code(
        api_console.python_snippet(request, basic_auth_email=email), language="python"
    )

try:
    response = api_console.send(explorer.session, request)
except DashboardError as exc:
    show_error(exc)
    stop_page()

st.subheader("Response")
status_columns = st.columns(3)
status_columns[0].metric("Status", f"{response.status} {response.reason}")
status_columns[1].metric("Time", f"{response.elapsed_ms:.0f} ms")
size = f"{response.body_bytes:,} bytes"
status_columns[2].metric("Size", f"{size}+" if response.truncated else size)
st.caption(f"{request.method} `{response.url}`")
if response.status == 401 and atlassian.SCOPE_MISMATCH_MESSAGE in response.text:
    requirement = atlassian.requirement_for(request.url)
    needed = requirement.describe() if requirement else "a scope not granted"
    st.warning(
        f"The token lacks a scope this endpoint needs: {escape_markdown(needed)}. "
        "Tick it on the Scopes page, add it to the app in the developer console, "
        "and consent again.",
        icon=":material/key_off:",
    )
    st.page_link(PAGES["scopes"], label="Go to Scopes", icon=":material/checklist:")
with st.expander("Headers"):
    # A dataframe shows the values as the server sent them, not as Markdown.
    st.dataframe(
        [{"name": name, "value": value} for name, value in response.headers],
        hide_index=True,
        width="stretch",
    )
if response.json is not None:
    with st.expander("JSON", expanded=True):
        st.json(response.json, expanded=2)
else:
    st.code(response.text or "(empty body)", language=None, wrap_lines=True)
if response.text_cut:
    st.warning(
        "The body is larger than the console shows: the text view is cut, and "
        "JSON is shown only when the whole body was read. Use the curl line for "
        "the full response."
    )

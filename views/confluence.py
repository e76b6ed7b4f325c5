"""Explore Confluence: spaces (REST v2, or v1), the pages of a space, one page."""

import streamlit as st

from lib import confluence, sanitize
from lib.errors import DashboardError
from lib.scopes import ENDPOINT_SCOPES
from ui import cache
from ui.common import escape_markdown, open_store, show_error
from ui.explore import (
    GrowingTable,
    choose_item,
    continue_pages,
    missing_product_text,
    open_explorer,
    refresh_button,
    site_link,
)
from ui.request_log import stop_page

st.title("Confluence")
store = open_store()
explorer = open_explorer(store)
session, endpoints, site = explorer.session, explorer.endpoints, explorer.site
granted = frozenset(explorer.connection.granted_scopes)

st.caption(escape_markdown(f"Site {site.name} ({site.url})"))
if "confluence" not in site.products:
    st.info(missing_product_text("Confluence", granted))
    stop_page()

api = confluence.confluence_api_for(granted)
if api is None:
    st.warning(
        "No granted scope lets the dashboard list spaces. Tick "
        "read:space:confluence (REST v2) on the Scopes page and consent again."
    )
    stop_page()
if api == "v1":
    st.info(
        "Spaces come from the v1 API (/wiki/rest/api/space), because only classic "
        "Confluence scopes were granted. Tick read:space:confluence and "
        "read:page:confluence and consent again to use REST v2 and see pages."
    )
else:
    st.caption("Spaces come from REST v2 (/wiki/api/v2/spaces).")


def _space_rows(spaces) -> list[dict]:
    return [
        {
            "key": space.key,
            "name": space.name,
            "type": space.type,
            "status": space.status,
            "open": site_link(site, f"/wiki{space.webui}") if space.webui else None,
        }
        for space in spaces
    ]


def _next_url(page) -> str | None:
    return page.next_url


SPACE_COLUMNS = {"open": st.column_config.LinkColumn("open", display_text="Open")}

# Spaces ------------------------------------------------------------------------

st.header("Spaces")
types = confluence.SPACE_TYPES_V2 if api == "v2" else confluence.SPACE_TYPES_V1
filter_columns = st.columns([2, 2, 3])
type_choice = filter_columns[0].selectbox("Type", ["all", *types])
status_choice = filter_columns[1].selectbox(
    "Status", ["all", *confluence.SPACE_STATUSES]
)
filters = {
    "space_type": None if type_choice == "all" else type_choice,
    "status": None if status_choice == "all" else status_choice,
}
filter_key = (api, filters["space_type"], filters["status"])
with filter_columns[2]:
    refresh_button("spaces")

spaces_key = explorer.key("spaces", filter_key)
loaded = cache.get(spaces_key)
try:
    if loaded is None:
        first = confluence.list_spaces(
            session, endpoints, site.cloud_id, api=api, limit=250, **filters
        )
        loaded = {"items": list(first.spaces), "next": first.next_url, "url": first.url}
        cache.put(spaces_key, loaded)
except DashboardError as exc:
    show_error(exc)
    stop_page()


def _next_spaces(next_url: str):
    return confluence.list_spaces(
        session, endpoints, site.cloud_id, api=api, next_url=next_url
    )


button_columns = st.columns([1, 1, 3])
if loaded["next"] and button_columns[0].button("Load more", key="more_spaces"):
    try:
        continue_pages(loaded, _next_spaces, next_of=_next_url, max_pages=1)
    except DashboardError as exc:
        show_error(exc)
    cache.put(spaces_key, loaded, pinned=True)
if loaded["next"] and button_columns[1].button(
    "Load all", icon=":material/download:", help="Follow every next link."
):
    progress = st.progress(0.0, text="Loading spaces…")
    table = GrowingTable()

    def _show_progress() -> None:
        # Cursor paging gives no total, so the bar shows activity, not a share.
        progress.progress(
            0.5 if loaded["next"] else 1.0,
            text=f"Loaded {len(loaded['items'])} spaces",
        )
        table.show(lambda: _space_rows(loaded["items"]))

    try:
        continue_pages(loaded, _next_spaces, next_of=_next_url, on_page=_show_progress)
    except DashboardError as exc:
        show_error(exc)
    cache.put(spaces_key, loaded, pinned=True)
    progress.empty()
    table.clear()

spaces = loaded["items"]
more_text = " More on later pages." if loaded["next"] else ""
st.caption(f"{len(spaces)} spaces loaded.{more_text} GET `{loaded['url']}`")
st.dataframe(
    cache.frame(spaces, lambda: _space_rows(spaces)),
    hide_index=True,
    width="stretch",
    column_config=SPACE_COLUMNS,
)

# Pages of a space --------------------------------------------------------------

by_id = {space.id: space for space in spaces}
space_id = choose_item(
    "Space",
    {space.id: f"{space.name} ({space.key})" for space in spaces},
    placeholder="Choose a space to see its pages",
    key="confluence_space",
)
if space_id is None:
    stop_page()
space = by_id[space_id]
st.header(escape_markdown(f"Pages of {space.name}"))
if not ENDPOINT_SCOPES["/wiki/api/v2/spaces/{id}/pages"].is_met_by(granted):
    st.info(
        "Listing pages needs read:page:confluence (REST v2). Tick it on the Scopes "
        "page and consent again."
    )
    stop_page()

pages_key = explorer.key("pages", space.id)
try:
    page_list = cache.get(pages_key)
    if page_list is None:
        first_pages = confluence.list_pages(session, endpoints, site.cloud_id, space.id)
        page_list = {"items": list(first_pages.pages), "next": first_pages.next_url}
        cache.put(pages_key, page_list)
except DashboardError as exc:
    show_error(exc)
    stop_page()

if page_list["next"] and st.button("Load more pages", key="more_pages"):
    try:
        continue_pages(
            page_list,
            lambda next_url: confluence.list_pages(
                session, endpoints, site.cloud_id, space.id, next_url=next_url
            ),
            next_of=_next_url,
            max_pages=1,
        )
    except DashboardError as exc:
        show_error(exc)
    cache.put(pages_key, page_list, pinned=True)

pages = page_list["items"]


def _page_rows() -> list[dict]:
    return [
        {
            "title": page.title,
            "status": page.status,
            "version": page.version,
            "created": (page.created_at or "")[:10],
        }
        for page in pages
    ]


st.dataframe(
    cache.frame(pages, _page_rows),
    hide_index=True,
    width="stretch",
)
if not pages:
    st.info("This space has no pages your account can see.")
    stop_page()

# One page ----------------------------------------------------------------------

pages_by_id = {page.id: page for page in pages}
page_id = choose_item(
    "Page",
    {page.id: page.title or "(untitled)" for page in pages},
    placeholder="Choose a page to read it",
    key="confluence_page",
)
if page_id is None:
    stop_page()
chosen = pages_by_id[page_id]
body_format = st.radio(
    "Body format",
    confluence.BODY_FORMATS,
    format_func={"view": "view (rendered HTML)", "storage": "storage (XHTML)"}.get,
    horizontal=True,
    help="Both are sanitized before they are shown: no script, no event "
    "handlers, no javascript: links.",
)
if body_format == "storage":
    st.caption(
        "Storage format is the page's source. Macros (status, dates, code "
        "blocks, attached images) keep their content in elements that are "
        "removed here, so read the page in view format."
    )
try:
    body = cache.cached(
        explorer.key("page", chosen.id, body_format),
        lambda: confluence.get_page(
            session, endpoints, site.cloud_id, chosen.id, body_format=body_format
        ),
    )
except DashboardError as exc:
    show_error(exc)
    stop_page()

st.subheader(escape_markdown(body.page.title or "(untitled)"))
if body.page.webui:
    st.link_button(
        "Open in Confluence",
        site_link(site, f"/wiki{body.page.webui}"),
        icon=":material/open_in_new:",
    )
with st.container(border=True):
    if not body.body.strip():
        st.caption("This page has no body in this format.")
    elif sanitize.can_render(body.body):
        clean = cache.cached(
            explorer.key("clean", chosen.id, body_format),
            lambda: sanitize.clean_html(body.body, base_url=body.base_url),
        )
        st.html(clean or "<p></p>")
    else:
        st.warning(
            "This body is too large or too deeply nested to render safely and "
            "quickly, so it is shown as source text below."
        )
# Drawn only on request: a closed expander would still send the body every run.
if st.toggle("Show the raw body, as the server sent it", key="confluence_raw_body"):
    st.code(body.body, language="html", wrap_lines=True)

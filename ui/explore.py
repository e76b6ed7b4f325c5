"""Explorer helpers shared by pages: connection, chosen site, request log."""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import partial
from urllib.parse import unquote, urlsplit

import requests
import streamlit as st

from lib import atlassian, connect, failures, paging, practice, settings
from lib.api_token import (
    CONFLUENCE,
    JIRA,
    SITE,
    ApiTokenAuth,
    ApiTokenEndpoints,
)
from lib.atlassian import Endpoints, Site
from lib.errors import DashboardError, InvalidResponse
from lib.http import create_session, origin_of
from lib.scopes import product_of
from lib.store import PRACTICE, AppRecord, ConnectionRecord, Store
from ui import cache
from ui.common import (
    PAGES,
    active_app,
    escape_markdown,
    own_callback_url,
    practice_connection_is_stale,
    show_diagnosis,
    show_error,
)
from ui.request_log import request_log, stop_page

SITE_WIDGET_KEY = "site_choice"


def session_factory():
    return partial(create_session, request_log=request_log())


# The scopes an API-token connection is taken to have for each product it signed
# in to, so that the explorer pages' scope checks pass. A classic token acts with
# all of the account's permissions. NOTE: a scoped token's scopes cannot be read
# from any API, so a call it lacks a scope for fails with 401 at that call.
API_TOKEN_SCOPES = {
    JIRA: ("read:jira-work", "read:jira-user"),
    CONFLUENCE: (
        "read:confluence-user",
        "read:confluence-space.summary",
        "read:space:confluence",
        "read:page:confluence",
    ),
}


def api_token_scopes(products) -> tuple[str, ...]:
    """Return the scopes the explorer assumes for an API token's products."""
    return tuple(scope for product in products for scope in API_TOKEN_SCOPES[product])


@dataclass
class Explorer:
    """The connection and site an explorer page works on. `app` is None for an
    API-token connection."""

    store: Store
    app: AppRecord | None
    connection: ConnectionRecord
    sites: tuple[Site, ...]
    site: Site
    session: requests.Session
    endpoints: Endpoints

    def key(self, scope: str, *request) -> tuple:
        """Return a cache key for a request made on this connection and site."""
        return (
            scope,
            self.connection.id,
            self.connection.granted_at,
            self.site.cloud_id,
            *request,
        )


@dataclass
class Grant:
    """The active connection with a ready session and the sites it reaches. `app`
    is None for an API-token connection."""

    app: AppRecord | None
    connection: ConnectionRecord
    sites: tuple[Site, ...]
    session: requests.Session
    endpoints: Endpoints


def open_grant(store: Store) -> Grant:
    """Return the connection's session and sites, or show what is missing and
    stop the page."""
    app = active_app(store)
    connection = store.active_connection()
    if connection is not None and connection.is_api_token:
        return _open_api_token_grant(store, app, connection)
    if connection is None or app is None:
        st.info("Connect first: finish the setup steps up to the consent.")
        st.page_link(
            PAGES["consent"], label="Go to Consent", icon=":material/arrow_back:"
        )
        stop_page()
    if practice_connection_is_stale(app, connection):
        st.warning(
            "The practice sandbox restarted since this connection was made, so its "
            "tokens no longer work. Consent again to browse the practice sites."
        )
        st.page_link(PAGES["consent"], label="Consent again", icon=":material/replay:")
        stop_page()

    try:
        session, endpoints = connect.authorized_session(
            store, connection, session_factory=session_factory()
        )
        connection = store.get_connection(connection.id)
        sites = cache.cached(
            ("sites", connection.id, connection.granted_at),
            lambda: atlassian.list_sites(session, endpoints),
        )
    except DashboardError as exc:
        show_error(exc)
        stop_page()
    if not sites:
        show_diagnosis(failures.explain("no_sites"))
        stop_page()
    return Grant(app, connection, sites, session, endpoints)


def _open_api_token_grant(
    store: Store, app: AppRecord | None, connection: ConnectionRecord
) -> Grant:
    """Return the session and the one site of an email + API token connection."""
    if connection.environment == PRACTICE:
        connection = follow_practice_sandbox(store, connection)
    endpoints = api_token_endpoints(connection)
    try:
        token = store.api_token(connection.id)
    except DashboardError as exc:
        show_error(exc)
        stop_page()
    auth = ApiTokenAuth(connection.email, token, endpoints.api_origins)
    session = create_session(auth=auth, request_log=request_log())
    return Grant(app, connection, (api_token_site(connection),), session, endpoints)


def api_token_endpoints(connection: ConnectionRecord) -> ApiTokenEndpoints:
    """Return the API bases of an API-token connection: its site URL, or the
    gateway (the practice sandbox in practice mode) for a scoped token."""
    api_base = settings.ATLASSIAN_API_BASE
    if connection.environment == PRACTICE:
        api_base = origin_of(connection.site_url)
    return ApiTokenEndpoints(
        api_base=api_base, site_url=connection.site_url, route=connection.api_route
    )


def api_token_site(connection: ConnectionRecord) -> Site:
    """Return the site of an API-token connection as the explorer pages use it.

    A site whose tenant_info gave no cloud id gets a stable stand-in derived from
    its URL: the site route does not put the cloud id in any request.
    """
    parts = urlsplit(connection.site_url)
    if connection.environment == PRACTICE:
        name = unquote(parts.path.rstrip("/").rsplit("/", 1)[-1])
    else:
        name = parts.hostname.split(".")[0]
    cloud_id = connection.cloud_id
    if not cloud_id:
        digest = hashlib.sha256(connection.site_url.encode()).hexdigest()[:16]
        cloud_id = f"site-{digest}"
    return Site(
        cloud_id=cloud_id,
        name=name,
        url=connection.site_url,
        scopes=connection.granted_scopes,
        avatar_url=None,
    )


def follow_practice_sandbox(
    store: Store, connection: ConnectionRecord
) -> ConnectionRecord:
    """Point a practice site URL at the running sandbox, which takes a new port
    each time the dashboard starts. The practice API token itself stays valid."""
    try:
        base = practice.ensure_sandbox(own_callback_url())
    except OSError as exc:
        st.error(f"The practice sandbox could not start: {exc}.")
        st.info("Another program may hold the ports; restart the dashboard.")
        stop_page()
    site_url = base + urlsplit(connection.site_url).path
    if site_url != connection.site_url:
        store.set_api_token_site_url(connection.id, site_url)
        connection = store.get_connection(connection.id)
    return connection


def show_api_token_connection(store: Store, connection: ConnectionRecord) -> None:
    """Show who an email + API token connection signs in as, and offer to delete
    it. Such a connection has no expiry to count down and nothing to refresh."""
    where = (
        "the practice sandbox"
        if connection.environment == PRACTICE
        else "Atlassian Cloud"
    )
    route = (
        "the site URL (a classic token)"
        if connection.api_route == SITE
        else "the API gateway (a scoped token)"
    )
    products = api_token_site(connection).products
    saved = datetime.fromtimestamp(connection.granted_at, UTC)

    st.write(
        escape_markdown(
            f"Email + API token connection to {where}, signed in as "
            f"{connection.label} ({connection.email}) on {connection.site_url}, "
            f"through {route}. Verified {saved:%Y-%m-%d %H:%M:%S} UTC."
        )
    )
    names = ", ".join(name.capitalize() for name in products) or "none"
    st.write(f"Products the token signed in to: {names}.")
    st.caption(
        "An API token has no refresh and no expiry this dashboard can read. When "
        "it is revoked or expires (at most a year after it was created), create a "
        "new one and verify it again on the email + API token page."
    )

    links = st.columns(3)
    links[0].page_link(
        PAGES["sites"], label="Browse your site", icon=":material/travel_explore:"
    )
    links[1].page_link(
        PAGES["api_token"], label="Verify a new token", icon=":material/password:"
    )
    with links[2].popover("Disconnect", icon=":material/link_off:"):
        st.write(
            "Delete this connection and its API token from this computer? The "
            "token stays valid at Atlassian until you revoke it at "
            "id.atlassian.com."
        )
        if st.button("Yes, delete the API token", key="confirm_disconnect"):
            store.delete_connection(connection.id)
            st.session_state["disconnected"] = True
            st.rerun()


def open_explorer(store: Store) -> Explorer:
    """Return the explorer context with the site chosen in the sidebar, or show
    what is missing and stop the page."""
    grant = open_grant(store)
    site = choose_site(store, grant.connection, grant.sites)
    return Explorer(
        store,
        grant.app,
        grant.connection,
        grant.sites,
        site,
        grant.session,
        grant.endpoints,
    )


def choose_site(store: Store, connection: ConnectionRecord, sites) -> Site:
    """Show the site picker in the sidebar and remember the choice per connection.

    With several sites and none chosen yet, it requests a choice and stops the
    page, because Atlassian does not report which site the user picked at consent.
    """
    by_id = {site.cloud_id: site for site in sites}
    ids = list(by_id)
    if connection.cloud_id in by_id:
        current = connection.cloud_id
    elif len(ids) == 1:
        current = ids[0]
        store.set_connection_site(connection.id, current)
    else:
        current = None
    # The stored choice is the truth: another page or tab may have changed it.
    # The widget is keyed and set from the store before it is drawn, and a pick
    # is saved by its callback before the next run reads the store.
    st.session_state[SITE_WIDGET_KEY] = current
    st.sidebar.selectbox(
        "Site",
        ids,
        key=SITE_WIDGET_KEY,
        format_func=lambda cloud_id: by_id[cloud_id].name,
        placeholder="Choose a site",
        on_change=save_site_choice,
        args=(connection.id, SITE_WIDGET_KEY),
        help="Every explorer page works on this site. Atlassian lists the sites "
        "of the grant in no particular order and does not say which one was "
        "picked on the consent screen.",
    )
    if current is None:
        several = failures.explain("several_sites")
        st.info(
            f"**{several.failure.title}.** {several.failure.explanation} "
            f"{several.next_step}",
            icon=":material/travel_explore:",
        )
        stop_page()
    return by_id[current]


def save_site_choice(connection_id: int, widget_key: str) -> None:
    """Store the site picked in a widget as the connection's chosen site."""
    chosen = st.session_state.get(widget_key)
    if chosen is None:
        return
    with Store.open() as store:
        store.set_connection_site(connection_id, chosen)


def restore(key: str, options=None) -> None:
    """Put back a widget value that Streamlit dropped when the user left the page.

    Call it just before drawing the widget, and `keep(key)` just after. A value
    that is no longer among `options` is not restored.
    """
    kept = f"kept:{key}"
    if key in st.session_state or kept not in st.session_state:
        return
    value = st.session_state[kept]
    if options is None or value in options:
        st.session_state[key] = value


def keep(key: str) -> None:
    st.session_state[f"kept:{key}"] = st.session_state.get(key)


def choose_item(
    label: str, options: dict[str, str], *, placeholder: str, key: str
) -> str | None:
    """Show a selectbox of options (value to label) with nothing chosen at first,
    and return the chosen value or None. The choice survives leaving the page."""
    restore(key, options)
    extra = {} if key in st.session_state else {"index": None}
    value = st.selectbox(
        label,
        list(options),
        format_func=options.__getitem__,
        placeholder=placeholder,
        key=key,
        **extra,
    )
    keep(key)
    return value


def continue_pages(
    loaded: dict,
    fetch,
    *,
    next_of,
    max_pages: int | None = None,
    on_page=None,
) -> None:
    """Append the pages after `loaded["next"]` to `loaded["items"]`.

    `fetch(next)` returns a page with `.items`, and `next_of(page)` its next token
    or link. Paging stops at the last page or after `max_pages`. A token or link
    seen before in this listing, or too many empty pages in a row, ends it with
    InvalidResponse and clears `loaded["next"]`, so no button loops.
    """
    seen: set = loaded.setdefault("seen", set())
    empty = 0
    count = 0
    try:
        while loaded["next"] and (max_pages is None or count < max_pages):
            if loaded["next"] in seen:
                raise paging.repeated_error()
            seen.add(loaded["next"])
            page = fetch(loaded["next"])
            count += 1
            loaded["items"] += list(page.items)
            loaded["next"] = next_of(page)
            empty = 0 if page.items else empty + 1
            if empty > paging.MAX_EMPTY_PAGES and loaded["next"]:
                raise paging.empty_pages_error()
            if on_page is not None:
                on_page()
    except InvalidResponse:
        loaded["next"] = None
        raise


def missing_product_text(product: str, granted_scopes) -> str:
    """Explain why a site shows no Jira or Confluence, and what to do about it."""
    granted_for_product = [
        scope for scope in granted_scopes if product_of(scope) == product.lower()
    ]
    if granted_for_product:
        return (
            f"This site has no {product}: its entry in accessible-resources lists no "
            f"{product} scope, although the grant has some. Choose another site in "
            "the sidebar."
        )
    scope = "read:jira-work" if product == "Jira" else "read:space:confluence"
    return (
        f"The grant has no {product} scope. Tick {scope} on the Scopes page, add "
        "it to the app in the developer console, and consent again."
    )


def jira_time(value: str | None) -> str:
    """Format a Jira timestamp such as 2026-02-25T17:41:51.223+0100 for reading."""
    if not value:
        return "—"
    try:
        moment = datetime.strptime(value, "%Y-%m-%dT%H:%M:%S.%f%z")
    except ValueError:
        return value
    return moment.strftime("%Y-%m-%d %H:%M (UTC%z)")


def site_link(site: Site, path: str) -> str:
    """Return a link into the site's own web pages (not the API)."""
    return site.url.rstrip("/") + path


def refresh_button(scope: str, label: str = "Refresh") -> None:
    """Offer a button that drops this page's cached results."""
    if st.button(label, key=f"refresh:{scope}", icon=":material/refresh:"):
        cache.clear(scope)
        st.rerun()


class GrowingTable:
    """A table that shows rows as pages arrive, redrawn at most every
    REDRAW_SECONDS: redrawing after each of a hundred pages would cost more than
    fetching them."""

    REDRAW_SECONDS = 0.5

    def __init__(self):
        self._slot = st.empty()
        self._drawn_at: float | None = None

    def show(self, build_rows: Callable[[], list[dict]]) -> None:
        now = time.monotonic()
        if self._drawn_at is not None and now - self._drawn_at < self.REDRAW_SECONDS:
            return
        self._slot.dataframe(build_rows(), hide_index=True)
        self._drawn_at = now

    def clear(self) -> None:
        self._slot.empty()

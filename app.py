"""Entry point: page config, logging, and the navigation over views/.

The pages live in views/, not pages/: Streamlit treats a pages/ folder beside the
entry script as its older multipage layout and, for a first visit to a page's
address after a server start, runs that page without this router.
"""

import logging

import streamlit as st

from lib.errors import DashboardError
from ui import request_log
from ui.common import PAGES, show_error

logger = logging.getLogger("lib.app")


def _configure_logging() -> None:
    """Set up one stderr handler for the dashboard's loggers, once per process."""
    root = logging.getLogger("lib")
    if root.handlers:
        return
    handler = logging.StreamHandler()
    handler.setFormatter(
        logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s")
    )
    root.addHandler(handler)
    root.setLevel(logging.INFO)


_configure_logging()
# No page_title here: each tab then shows its own page's title, so the tab that
# started a consent and the callback tab look different.
st.set_page_config(
    page_icon=":material/hub:",
    layout="wide",
)

navigation = st.navigation(
    {
        "Set up": [
            st.Page(PAGES["home"], title="Start", icon=":material/flag:", default=True),
            st.Page(
                PAGES["console"], title="1. Developer console", icon=":material/build:"
            ),
            st.Page(
                PAGES["credentials"], title="2. Credentials", icon=":material/key:"
            ),
            st.Page(PAGES["scopes"], title="3. Scopes", icon=":material/checklist:"),
            st.Page(
                PAGES["consent"], title="4. Consent", icon=":material/open_in_new:"
            ),
            st.Page(
                PAGES["callback"],
                title="5. Callback",
                icon=":material/login:",
                url_path="callback",
            ),
            st.Page(PAGES["connection"], title="6. Connection", icon=":material/link:"),
            st.Page(
                PAGES["api_token"],
                title="Or: email + API token",
                icon=":material/password:",
            ),
            st.Page(
                PAGES["export"], title="Export settings", icon=":material/download:"
            ),
        ],
        "Explore": [
            st.Page(
                PAGES["sites"],
                title="Sites and first look",
                icon=":material/travel_explore:",
            ),
            st.Page(PAGES["jira"], title="Jira", icon=":material/view_kanban:"),
            st.Page(PAGES["confluence"], title="Confluence", icon=":material/article:"),
            st.Page(
                PAGES["api_console"], title="API console", icon=":material/terminal:"
            ),
        ],
    },
    # Fully expanded: with more than twelve pages, Streamlit would otherwise
    # hide the last ones behind a "View more" button.
    expanded=True,
)
if st.session_state.pop("switch_to_consent", False):
    # Set by the action of a failure, such as ticking a missing scope.
    st.switch_page(PAGES["consent"])
request_log.reserve()
try:
    navigation.run()
except DashboardError as exc:
    # A page that did not handle an error itself still shows its message and
    # next step, never a traceback.
    show_error(exc)
except Exception as exc:
    # Streamlit's own stop and rerun signals are not Exceptions, so they pass.
    logger.exception("Unexpected error on page %s", navigation.title)
    st.error(
        f"Something unexpected failed on this page ({type(exc).__name__}). The "
        "details are in the dashboard's log, in the terminal that runs it.",
        icon=":material/error:",
    )
    st.info("Reload the page. If it happens again, report the log lines.")
# A page that stopped early drew the log itself (ui.request_log.stop_page).
request_log.draw()

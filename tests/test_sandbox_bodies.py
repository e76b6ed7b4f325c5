"""Tests of Confluence page bodies: hostile and rich storage format, view HTML."""

from __future__ import annotations

import json

import pytest
import requests
from test_sandbox_jira import grant

from conftest import FakeClock
from lib.sandbox import SandboxConfig, SandboxServer
from lib.sandbox.data import PEOPLE, build_dataset
from lib.sandbox.page_bodies import storage_to_view

TIMEOUT = 10
WIKI_SCOPES = ("read:space:confluence", "read:page:confluence")
HOSTILE_TITLE = "<script>alert('x')</script> is plain text"
# Parts of the hostile page that must reach the client unchanged in both formats.
HOSTILE_PARTS = (
    "<script>alert('storage script')</script>",
    "onerror=\"alert('img onerror')\"",
    "onclick=\"alert('paragraph onclick')\"",
    "href=\"javascript:alert('link')\"",
    '<iframe src="https://evil.example.test/frame"',
    "<style>body { display: none !important; }</style>",
    'style="position: fixed;',
    'src="data:image/svg+xml;base64,',
    'href="data:text/html;base64,',
    "<svg onload=",
)


class Wiki:
    """Calls the Confluence v2 routes of one site with one token."""

    def __init__(self, server: SandboxServer, token: str, cloud_id: str):
        self.base = f"{server.base_url}/ex/confluence/{cloud_id}"
        self.headers = {"Authorization": f"Bearer {token}"}

    def get(self, path: str, **params) -> requests.Response:
        return requests.get(
            f"{self.base}{path}", params=params, headers=self.headers, timeout=TIMEOUT
        )

    def space_id(self, key: str) -> str:
        spaces = self.get("/wiki/api/v2/spaces", keys=key).json()
        return spaces["results"][0]["id"]

    def page_by_title(self, space_key: str, title: str) -> dict:
        path = f"/wiki/api/v2/spaces/{self.space_id(space_key)}/pages"
        return self.get(path, title=title).json()["results"][0]

    def body(self, page_id: str, body_format: str) -> str:
        page = self.get(f"/wiki/api/v2/pages/{page_id}", **{"body-format": body_format})
        return page.json()["body"][body_format]["value"]


@pytest.fixture(scope="module")
def server():
    with SandboxServer(SandboxConfig(clock=FakeClock())) as running:
        yield running


@pytest.fixture(scope="module")
def wiki(server):
    return Wiki(server, *grant(server, WIKI_SCOPES))


@pytest.fixture(scope="module")
def hostile_page(wiki):
    return wiki.page_by_title("ENG", HOSTILE_TITLE)


@pytest.fixture(scope="module")
def rich_page(wiki):
    return wiki.page_by_title("ENG", "Getting started")


@pytest.mark.parametrize("part", HOSTILE_PARTS)
def test_hostile_storage_body(wiki, hostile_page, part):
    assert part in wiki.body(hostile_page["id"], "storage")


@pytest.mark.parametrize("part", HOSTILE_PARTS)
def test_hostile_view_body(wiki, hostile_page, part):
    assert part in wiki.body(hostile_page["id"], "view")


def test_hostile_storage_has_macro(wiki, hostile_page):
    storage = wiki.body(hostile_page["id"], "storage")
    assert '<ac:structured-macro ac:name="html"' in storage


def test_hostile_view_runs_html_macro(wiki, hostile_page):
    view = wiki.body(hostile_page["id"], "view")
    assert "<script>alert('html macro')</script>" in view


def test_hostile_view_keeps_escaped_text(wiki, hostile_page):
    view = wiki.body(hostile_page["id"], "view")
    assert "&lt;script&gt;alert('escaped')&lt;/script&gt;" in view


def test_hostile_page_in_space_list(wiki, hostile_page):
    path = f"/wiki/api/v2/spaces/{hostile_page['spaceId']}/pages"
    pages = wiki.get(path, limit=250, **{"body-format": "storage"}).json()["results"]
    # Titles repeat with a suffix such as " (2)" after each cycle of titles.
    hostile = [page for page in pages if page["title"].startswith(HOSTILE_TITLE)]
    assert len(hostile) == 5
    assert "<script>" in hostile[0]["body"]["storage"]["value"]


@pytest.mark.parametrize(
    "part",
    [
        "<table",
        "<th>",
        "<ul>",
        "<ol>",
        '<a href="https://docs.example.test/',
        "<ac:image",
        "<ri:attachment",
        "<ac:link><ri:user",
        '<ac:structured-macro ac:name="info"',
        '<ac:structured-macro ac:name="code"',
        "<![CDATA[",
        "<h2>",
    ],
)
def test_rich_storage_body(wiki, rich_page, part):
    assert part in wiki.body(rich_page["id"], "storage")


@pytest.mark.parametrize(
    "part",
    [
        "<table",
        "<ul>",
        '<img class="confluence-embedded-image"',
        "confluence-information-macro",
        '<span class="status-macro aui-lozenge">On track</span>',
        "if a &lt; b and c &gt; d:",
        "✅ Done",
    ],
)
def test_rich_view_body(wiki, rich_page, part):
    assert part in wiki.body(rich_page["id"], "view")


@pytest.mark.parametrize("prefix", ["<ac:", "<ri:", "CDATA", "maxLevel"])
def test_view_drops_storage_elements(wiki, rich_page, prefix):
    assert prefix not in wiki.body(rich_page["id"], "view")


def test_view_names_mentioned_user(wiki, rich_page):
    view = wiki.body(rich_page["id"], "view")
    author = next(p for p in PEOPLE if p.account_id == rich_page["authorId"])
    assert f"@{author.display_name}</a>" in view


def test_adf_body_is_document(wiki, hostile_page):
    document = json.loads(wiki.body(hostile_page["id"], "atlas_doc_format"))
    assert document["type"] == "doc"
    assert document["content"][0]["content"][0]["text"] == HOSTILE_TITLE


def test_space_pages_limit_over_250_400(wiki):
    path = f"/wiki/api/v2/spaces/{wiki.space_id('ENG')}/pages"
    assert wiki.get(path, limit=251).status_code == 400
    assert wiki.get(path, limit=250).status_code == 200


# storage_to_view without a server


@pytest.fixture(scope="module")
def any_page():
    return build_dataset().site_by_slug("practice-cloud").spaces[0].pages[0]


def test_view_page_link(any_page):
    storage = (
        '<ac:link><ri:page ri:content-title="Road &amp; map" />'
        "<ac:link-body>the <em>map</em></ac:link-body></ac:link>"
    )
    view = storage_to_view(storage, any_page, {})
    assert view == '<a href="#">the <em>map</em></a>'


def test_view_unknown_user(any_page):
    storage = '<ac:link><ri:user ri:account-id="no-such-id" /></ac:link>'
    view = storage_to_view(storage, any_page, {})
    assert view == '<a href="/wiki/people/no-such-id">@Unknown user</a>'


def test_view_code_cdata_escaped(any_page):
    storage = (
        '<ac:structured-macro ac:name="code"><ac:plain-text-body>'
        "<![CDATA[<b>&</b>]]></ac:plain-text-body></ac:structured-macro>"
    )
    view = storage_to_view(storage, any_page, {})
    assert view == '<pre class="syntaxhighlighter-pre">&lt;b&gt;&amp;&lt;/b&gt;</pre>'


def test_view_keeps_plain_html(any_page):
    storage = '<p class="x">a &amp; b<br /><!-- note --></p>'
    assert storage_to_view(storage, any_page, {}) == storage

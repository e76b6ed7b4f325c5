from html.parser import HTMLParser

import pytest

from conftest import load_realdata
from lib import sanitize
from lib.sandbox.data import HOSTILE_BODY, PEOPLE, build_dataset
from lib.sandbox.page_bodies import storage_body, storage_to_view
from lib.sanitize import LINK_REL, clean_html, to_plain_text

BASE = "https://example.atlassian.net/wiki"


class Markup(HTMLParser):
    """The tags and attributes of an HTML fragment, as a browser would read them."""

    def __init__(self, html: str):
        super().__init__(convert_charrefs=True)
        self.tags: list[str] = []
        self.attributes: list[tuple[str, str, str]] = []
        self.feed(html)
        self.close()

    def handle_starttag(self, tag, attrs):
        self.tags.append(tag)
        self.attributes.extend((tag, name, value or "") for name, value in attrs)

    def handle_startendtag(self, tag, attrs):
        self.handle_starttag(tag, attrs)

    def event_handlers(self) -> list[str]:
        return [name for _, name, _ in self.attributes if name.startswith("on")]

    def script_urls(self) -> list[str]:
        return [
            value
            for _, _, value in self.attributes
            if "javascript:" in "".join(value.lower().split())
        ]

    def attribute(self, tag: str, name: str) -> list[str]:
        return [value for t, n, value in self.attributes if (t, n) == (tag, name)]


# Each payload with the parts that must not survive sanitizing.
HOSTILE = {
    "script tag": (
        "<p>intro</p><script>alert('script')</script>",
        ["<script", "alert('script')"],
    ),
    "img onerror": ('<img src=x onerror="alert(1)">', ["onerror", "alert(1)"]),
    "a javascript": ('<a href="javascript:alert(1)">go</a>', ["javascript:"]),
    "a mixed case": ('<a href="JaVaScRiPt:alert(1)">go</a>', ["javascript:"]),
    "a entity encoded": (
        '<a href="&#106;avascript:alert(1)">go</a>',
        ["avascript:", "&#106;"],
    ),
    "a tab in scheme": ('<a href="java&#9;script:alert(1)">go</a>', ["script:"]),
    "a leading space": ('<a href=" javascript:alert(1)">go</a>', ["javascript:"]),
    "a vbscript": ('<a href="vbscript:msgbox(1)">go</a>', ["vbscript:"]),
    "a file": ('<a href="file:///etc/passwd">go</a>', ["file:", "/etc/passwd"]),
    "a data html": (
        '<a href="data:text/html;base64,PHNjcmlwdD4=">go</a>',
        ["data:", "PHNjcmlwdD4="],
    ),
    "img data": (
        '<img src="data:image/svg+xml;base64,PHN2Zz4=" alt="pic">',
        ["data:", "PHN2Zz4="],
    ),
    "iframe": (
        '<iframe src="https://evil.example.test/frame">inner</iframe>',
        ["<iframe", "evil.example.test", "inner"],
    ),
    "svg onload": (
        '<svg onload="alert(1)"><circle r="5"/></svg>',
        ["<svg", "onload", "<circle"],
    ),
    "math": ("<math><mi>x</mi></math>", ["<math", "<mi"]),
    "style element": (
        "<style>body { display: none }</style><p>text</p>",
        ["<style", "display: none"],
    ),
    "style attribute": (
        "<p style=\"background:url('javascript:alert(1)')\">text</p>",
        ["style=", "javascript:", "background"],
    ),
    "form": (
        '<form action="https://evil.example.test/collect"><input name="pw">'
        "<button>Log in</button><textarea>t</textarea>"
        "<select><option>o</option></select></form>",
        ["<form", "<input", "<button", "<textarea", "<select", "evil.example.test"],
    ),
    "meta refresh": (
        '<meta http-equiv="refresh" content="0;url=https://evil.example.test">',
        ["<meta", "refresh", "evil.example.test"],
    ),
    "base href": ('<base href="https://evil.example.test/">', ["<base", "evil"]),
    "object": ('<object data="movie.swf">fallback</object>', ["<object", "movie.swf"]),
    "embed": ('<embed src="movie.swf">', ["<embed", "movie.swf"]),
    "noscript": ("<noscript><p>no script</p></noscript>", ["<noscript", "no script"]),
    "template": ("<template><p>later</p></template>", ["<template", "later"]),
    "unclosed img": ('<p>text <img src=x onerror="alert(1)"', ["onerror", "<img"]),
    "unclosed a": ('<a href="javascript:alert(1)">go', ["javascript:"]),
    "unclosed script": ("<p>text</p><script>alert(1)", ["<script", "alert(1)"]),
    "nested script": (
        "<scr<script>ipt>alert(1)</script>",
        ["<script", "<scr", "</script"],
    ),
    "event on allowed tag": ('<p onclick="alert(1)">text</p>', ["onclick", "alert"]),
    "link target attack": ('<a href="https://a.test" target="_self">x</a>', ["_self"]),
    "class and id": ('<p class="aui" id="main">text</p>', ["class=", "id="]),
    "comment": ("<!-- <script>alert(1)</script> --><p>x</p>", ["<!--", "alert"]),
    "conditional comment": (
        "<!--[if IE]><script>alert(1)</script><![endif]--><p>x</p>",
        ["<!--", "alert", "endif"],
    ),
    "confluence html macro": (
        '<ac:structured-macro ac:name="html"><ac:plain-text-body><![CDATA['
        "<script>alert(1)</script><img src=x onerror=alert(2)>]]>"
        "</ac:plain-text-body></ac:structured-macro>",
        ["<script", "onerror", "alert", "CDATA"],
    ),
}
HOSTILE_PARTS = [
    pytest.param(html, part, id=f"{name}: {part}")
    for name, (html, parts) in HOSTILE.items()
    for part in parts
]


@pytest.mark.parametrize(("html", "part"), HOSTILE_PARTS)
def test_clean_html_removes(html, part):
    assert part.lower() not in clean_html(html).lower()


@pytest.mark.parametrize(("html", "part"), HOSTILE_PARTS)
def test_clean_html_with_base_removes(html, part):
    assert part.lower() not in clean_html(html, base_url=BASE).lower()


@pytest.mark.parametrize(
    ("html", "text"),
    [
        ('<a href="javascript:alert(1)">go there</a>', "go there"),
        ("<p>intro</p><script>alert(1)</script>", "intro"),
        ('<p style="color: red" onclick="x()">styled</p>', "styled"),
        ("<blink><marquee>moving</marquee></blink>", "moving"),
    ],
)
def test_clean_html_keeps_text(html, text):
    assert text in clean_html(html)


SAFE_BODY = (
    "<h2>Checklist</h2>"
    "<ul><li>First item</li><li>Second item</li></ul>"
    '<ol start="3"><li>Third</li></ol>'
    '<table><tbody><tr><th scope="col">Area</th><th>Owner</th></tr>'
    '<tr><td colspan="2">Login &amp; SSO</td></tr></tbody></table>'
    '<p><a href="https://docs.example.test/setup?a=1&amp;b=2" title="Setup">'
    "setup guide</a> and <strong>bold</strong> <code>make test</code></p>"
    '<img src="https://images.example.test/team.jpg" alt="Team" width="320">'
)


@pytest.fixture(scope="module")
def safe():
    cleaned = clean_html(SAFE_BODY)
    return cleaned, Markup(cleaned)


def test_clean_html_keeps_heading(safe):
    assert "<h2>Checklist</h2>" in safe[0]


def test_clean_html_keeps_list_items(safe):
    assert "<li>First item</li><li>Second item</li>" in safe[0]


def test_clean_html_keeps_ordered_start(safe):
    assert safe[1].attribute("ol", "start") == ["3"]


def test_clean_html_keeps_table_cells(safe):
    assert '<td colspan="2">Login &amp; SSO</td>' in safe[0]


def test_clean_html_keeps_header_scope(safe):
    assert safe[1].attribute("th", "scope") == ["col"]


def test_clean_html_keeps_https_link(safe):
    assert safe[1].attribute("a", "href") == ["https://docs.example.test/setup?a=1&b=2"]


def test_clean_html_link_rel(safe):
    assert safe[1].attribute("a", "rel") == [LINK_REL]


def test_clean_html_link_new_tab(safe):
    assert safe[1].attribute("a", "target") == ["_blank"]


def test_clean_html_keeps_link_title(safe):
    assert safe[1].attribute("a", "title") == ["Setup"]


def test_clean_html_keeps_image(safe):
    assert safe[1].attribute("img", "src") == ["https://images.example.test/team.jpg"]


def test_clean_html_keeps_image_alt(safe):
    assert safe[1].attribute("img", "alt") == ["Team"]


def test_clean_html_keeps_inline_markup(safe):
    assert "<strong>bold</strong> <code>make test</code>" in safe[0]


def test_clean_html_keeps_mailto():
    markup = Markup(clean_html('<a href="mailto:help@example.test">mail</a>'))
    assert markup.attribute("a", "href") == ["mailto:help@example.test"]


def test_clean_html_drops_generic_attributes():
    assert clean_html('<p lang="en" title="t" dir="rtl">x</p>') == "<p>x</p>"


# Relative URLs

RELATIVE = {
    "root path": ("/wiki/spaces/ENG/pages/1", f"{BASE}/spaces/ENG/pages/1"),
    "path": ("spaces/ENG", f"{BASE}/spaces/ENG"),
    "fragment": ("#owners", f"{BASE}/#owners"),
    "query": ("?focusedCommentId=5", f"{BASE}/?focusedCommentId=5"),
}


@pytest.mark.parametrize(("href", "expected"), RELATIVE.values(), ids=RELATIVE)
def test_clean_html_relative_link_rewritten(href, expected):
    markup = Markup(clean_html(f'<a href="{href}">x</a>', base_url=BASE))
    assert markup.attribute("a", "href") == [expected]


def test_clean_html_base_with_slash():
    cleaned = clean_html('<a href="spaces/ENG">x</a>', base_url=BASE + "/")
    assert Markup(cleaned).attribute("a", "href") == [f"{BASE}/spaces/ENG"]


def test_clean_html_relative_image_rewritten():
    html = '<img src="/wiki/download/attachments/1/a.png" alt="A">'
    markup = Markup(clean_html(html, base_url=BASE))
    assert markup.attribute("img", "src") == [f"{BASE}/download/attachments/1/a.png"]


def test_clean_html_absolute_link_not_rewritten():
    markup = Markup(clean_html('<a href="https://other.test/x">x</a>', base_url=BASE))
    assert markup.attribute("a", "href") == ["https://other.test/x"]


@pytest.mark.parametrize("href", [value for value, _ in RELATIVE.values()])
def test_clean_html_relative_link_dropped(href):
    markup = Markup(clean_html(f'<a href="{href}">x</a>'))
    assert markup.attribute("a", "href") == []


def test_clean_html_relative_link_text_kept():
    assert ">read more</a>" in clean_html('<a href="/wiki/x">read more</a>')


def test_clean_html_relative_image_dropped():
    markup = Markup(clean_html('<img src="/wiki/a.png" alt="A">'))
    assert markup.attribute("img", "src") == []


@pytest.mark.parametrize(
    "base_url",
    ["javascript:alert(1)//", "/wiki", "example.atlassian.net/wiki", "", "data:x"],
)
def test_clean_html_rejects_invalid_base(base_url):
    with pytest.raises(ValueError, match="base_url"):
        clean_html("<p>x</p>", base_url=base_url)


@pytest.mark.parametrize("value", [None, b"<p>x</p>", 42, ["<p>x</p>"]])
def test_clean_html_non_string_is_empty(value):
    assert clean_html(value) == ""


def test_clean_html_large_input():
    chunk = '<p>Row <b>bold</b> <a href="/wiki/x">link</a><script>x()</script></p>\n'
    html = chunk * (10_000_000 // len(chunk)) + "<p>last paragraph</p>"
    cleaned = clean_html(html, base_url=BASE)
    assert cleaned.endswith("<p>last paragraph</p>")


# Confluence storage format


def test_clean_html_confluence_parameters_removed():
    html = (
        '<ac:structured-macro ac:name="code"><ac:parameter ac:name="language">'
        "python</ac:parameter></ac:structured-macro><p>after</p>"
    )
    assert clean_html(html) == "<p>after</p>"


def test_clean_html_macro_body_kept():
    html = (
        '<ac:structured-macro ac:name="info"><ac:rich-text-body><p>Read this</p>'
        "</ac:rich-text-body></ac:structured-macro>"
    )
    assert clean_html(html) == "<p>Read this</p>"


def test_clean_html_ri_user_keeps_text():
    html = '<p>Written by <ac:link><ri:user ri:account-id="1" /></ac:link>, me.</p>'
    assert clean_html(html) == "<p>Written by , me.</p>"


def test_clean_html_task_metadata_removed():
    html = (
        "<ac:task-list><ac:task><ac:task-id>1</ac:task-id><ac:task-status>"
        "incomplete</ac:task-status><ac:task-body>Book the room</ac:task-body>"
        "</ac:task></ac:task-list>"
    )
    assert clean_html(html) == "Book the room"


def test_clean_html_placeholder_removed():
    html = "<p>Email: <ac:placeholder>Insert your email here</ac:placeholder></p>"
    assert clean_html(html) == "<p>Email: </p>"


def test_clean_html_adf_fallback_removed():
    html = (
        '<ac:adf-extension><ac:adf-node type="panel"><ac:adf-attribute '
        'key="panel-type">note</ac:adf-attribute><ac:adf-content><p>Focus</p>'
        "</ac:adf-content></ac:adf-node><ac:adf-fallback><div><p>Focus</p></div>"
        "</ac:adf-fallback></ac:adf-extension>"
    )
    assert clean_html(html) == "<p>Focus</p>"


# Page bodies the sandbox serves


def sandbox_bodies():
    """Return the storage and view forms of every hostile sandbox page body.

    Rich and plain bodies differ between pages only in titles and names, so one
    of each kind is enough.
    """
    dataset = build_dataset(project_count=5, space_count=12, issue_count=10)
    people = {person.account_id: person for person in PEOPLE}
    bodies = {}
    for site in dataset.sites:
        for space in site.spaces:
            for page in space.pages:
                storage = storage_body(space, page)
                key = storage if page.body_kind == HOSTILE_BODY else page.body_kind
                if (page.body_kind, key) in bodies:
                    continue
                view = storage_to_view(storage, page, people)
                bodies[(page.body_kind, key)] = (storage, view)
    params = []
    for index, ((kind, _), (storage, view)) in enumerate(bodies.items()):
        params.append(pytest.param(storage, id=f"{kind}-storage-{index}"))
        params.append(pytest.param(view, id=f"{kind}-view-{index}"))
    return params


SANDBOX_BODIES = sandbox_bodies()
HOSTILE_BODIES = [param for param in SANDBOX_BODIES if HOSTILE_BODY in param.id]
RICH_VIEW_BODY = next(
    param.values[0] for param in SANDBOX_BODIES if param.id.startswith("rich-view")
)
RICH_STORAGE_BODY = next(
    param.values[0] for param in SANDBOX_BODIES if param.id.startswith("rich-storage")
)


def test_sandbox_has_hostile_bodies():
    assert len(HOSTILE_BODIES) >= 2


@pytest.mark.parametrize("body", SANDBOX_BODIES)
def test_sandbox_body_no_script(body):
    assert "<script" not in clean_html(body, base_url=BASE).lower()


@pytest.mark.parametrize("body", SANDBOX_BODIES)
def test_sandbox_body_no_event_handler(body):
    assert Markup(clean_html(body, base_url=BASE)).event_handlers() == []


@pytest.mark.parametrize("body", SANDBOX_BODIES)
def test_sandbox_body_no_javascript_url(body):
    assert Markup(clean_html(body, base_url=BASE)).script_urls() == []


@pytest.mark.parametrize("body", SANDBOX_BODIES)
def test_sandbox_body_no_iframe(body):
    assert "<iframe" not in clean_html(body, base_url=BASE).lower()


@pytest.mark.parametrize("body", SANDBOX_BODIES)
def test_sandbox_body_no_style(body):
    assert "style=" not in clean_html(body, base_url=BASE).lower()


@pytest.mark.parametrize("body", SANDBOX_BODIES)
def test_sandbox_body_only_web_urls(body):
    markup = Markup(clean_html(body, base_url=BASE))
    urls = markup.attribute("a", "href") + markup.attribute("img", "src")
    assert [url for url in urls if not url.startswith(("https:", "mailto:"))] == []


@pytest.mark.parametrize("body", HOSTILE_BODIES)
def test_sandbox_hostile_body_keeps_text(body):
    assert "Click this paragraph." in clean_html(body)


@pytest.mark.parametrize("body", HOSTILE_BODIES)
def test_sandbox_hostile_body_escapes_markup_text(body):
    assert "&lt;script&gt;alert('escaped')" in clean_html(body)


def test_sandbox_rich_view_keeps_headings():
    assert "<h2>Checklist</h2>" in clean_html(RICH_VIEW_BODY, base_url=BASE)


def test_sandbox_rich_view_keeps_table():
    assert "<th><p>Area</p></th>" in clean_html(RICH_VIEW_BODY, base_url=BASE)


def test_sandbox_rich_view_keeps_status():
    assert "<span>On track</span>" in clean_html(RICH_VIEW_BODY, base_url=BASE)


def test_sandbox_rich_view_image_absolute():
    markup = Markup(clean_html(RICH_VIEW_BODY, base_url=BASE))
    sources = markup.attribute("img", "src")
    assert f"{BASE}/download/attachments/" in sources[0]


def test_sandbox_rich_view_mention_link_absolute():
    markup = Markup(clean_html(RICH_VIEW_BODY, base_url=BASE))
    assert any(
        href.startswith(f"{BASE}/people/") for href in markup.attribute("a", "href")
    )


def test_sandbox_rich_storage_parameters_removed():
    cleaned = clean_html(RICH_STORAGE_BODY, base_url=BASE)
    assert "Green" not in cleaned


def test_sandbox_rich_storage_code_removed():
    cleaned = clean_html(RICH_STORAGE_BODY, base_url=BASE)
    assert "print(" not in cleaned


def test_sandbox_rich_storage_task_status_removed():
    cleaned = clean_html(RICH_STORAGE_BODY, base_url=BASE)
    assert "incomplete" not in cleaned


def test_sandbox_rich_storage_task_kept():
    assert "Book the room" in clean_html(RICH_STORAGE_BODY, base_url=BASE)


# Recorded Confluence storage bodies


@pytest.fixture(scope="module")
def recorded_pages():
    response = load_realdata("wiki-api-v2-pages-body-storage")
    base = response["_links"]["base"]
    return {
        page["title"]: clean_html(page["body"]["storage"]["value"], base_url=base)
        for page in response["results"]
    }


def test_realdata_storage_no_confluence_tags(recorded_pages):
    leftovers = [title for title, html in recorded_pages.items() if "<ac:" in html]
    assert leftovers == []


def test_realdata_storage_no_resource_tags(recorded_pages):
    leftovers = [title for title, html in recorded_pages.items() if "<ri:" in html]
    assert leftovers == []


def test_realdata_storage_no_style(recorded_pages):
    leftovers = [title for title, html in recorded_pages.items() if "style=" in html]
    assert leftovers == []


def test_realdata_storage_keeps_heading(recorded_pages):
    assert (
        "<h2>📄 Recent content that I've worked on</h2>" in recorded_pages["Overview"]
    )


def test_realdata_storage_keeps_panel_text(recorded_pages):
    page = recorded_pages["Getting started in Confluence"]
    assert "Welcome to Confluence!" in page


def test_realdata_storage_panel_parameters_removed(recorded_pages):
    page = recorded_pages["Getting started in Confluence"]
    assert "#EAE6FF" not in page


def test_realdata_storage_placeholder_removed(recorded_pages):
    assert "Insert your email here" not in recorded_pages["Overview"]


def test_realdata_storage_macro_parameters_removed(recorded_pages):
    assert "titles" not in recorded_pages["Overview"]


def test_realdata_storage_keeps_links(recorded_pages):
    page = recorded_pages["Getting started in Confluence"]
    assert ">More about spaces</a>" in page


def test_realdata_storage_adf_fallback_removed(recorded_pages):
    page = recorded_pages["Template - Weekly status report"]
    assert page.count("<strong>Focus</strong>") == 1


# Plain text

PLAIN = {
    "blocks separated": ("<h1>Title</h1><p>One</p><p>Two</p>", "Title One Two"),
    "inline joined": (
        "<p><b>Bold</b>face and <em>it</em>alic</p>",
        "Boldface and italic",
    ),
    "entities decoded": (
        "<p>a &amp; b &lt;c&gt; &eacute; &#128512;</p>",
        "a & b <c> é 😀",
    ),
    "whitespace collapsed": ("<p>  a \n\n\t b&nbsp;&nbsp;c </p>", "a b c"),
    "list items": ("<ul><li>x</li><li>y</li></ul>", "x y"),
    "table cells": ("<table><tr><td>a</td><td>b</td></tr></table>", "a b"),
    "line break": ("one<br>two", "one two"),
    "script removed": ("<p>a</p><script>alert(1)</script><style>p{}</style>", "a"),
    "macro parameter removed": (
        '<ac:structured-macro><ac:parameter ac:name="x">param</ac:parameter>'
        "<ac:rich-text-body><p>body</p></ac:rich-text-body></ac:structured-macro>",
        "body",
    ),
    "comment removed": ("<!-- hidden --><p>shown</p>", "shown"),
    "empty": ("", ""),
}


@pytest.mark.parametrize(("html", "expected"), PLAIN.values(), ids=PLAIN)
def test_to_plain_text(html, expected):
    assert to_plain_text(html) == expected


@pytest.mark.parametrize("value", [None, b"<p>x</p>", 42])
def test_to_plain_text_non_string_is_empty(value):
    assert to_plain_text(value) == ""


def test_to_plain_text_realdata():
    response = load_realdata("wiki-api-v2-pages-body-storage")
    text = to_plain_text(response["results"][0]["body"]["storage"]["value"])
    assert text.startswith("Say hello to your colleagues")


def test_nesting_depth_counts_unclosed():
    assert sanitize.nesting_depth("<i><div>" * 10) == 20


def test_nesting_depth_ignores_void_and_closed():
    assert sanitize.nesting_depth("<p>a<br><img src=x></p><p>b</p>") == 1


def test_can_render_rejects_deep_nesting():
    assert not sanitize.can_render("<div>" * (sanitize.MAX_RENDERED_DEPTH + 1))


def test_can_render_accepts_ordinary_page():
    assert sanitize.can_render("<h1>T</h1>" + "<p>text</p>" * 10_000)

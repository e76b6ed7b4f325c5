import json

import pytest

from conftest import load_realdata
from lib.adf import ELLIPSIS, MAX_DEPTH, NESTING_MARKER, RULE, summary_line, to_text
from lib.sandbox import adf as sandbox_adf
from lib.sandbox.confluence import page_body
from lib.sandbox.data import build_dataset


def text(value, *marks):
    node = {"type": "text", "text": value}
    if marks:
        node["marks"] = list(marks)
    return node


def link(href):
    return {"type": "link", "attrs": {"href": href}}


def paragraph(*content):
    return {"type": "paragraph", "content": list(content)}


def doc(*content):
    return {"type": "doc", "version": 1, "content": list(content)}


def item(*content, kind="listItem", **attrs):
    node = {"type": kind, "content": list(content)}
    if attrs:
        node["attrs"] = attrs
    return node


def node(kind, *content, **attrs):
    result = {"type": kind, "attrs": attrs}
    if content:
        result["content"] = list(content)
    return result


CELL_ROW = node(
    "tableRow",
    node("tableHeader", paragraph(text("Area"))),
    node("tableHeader", paragraph(text("Owner"))),
)
DATA_ROW = node(
    "tableRow",
    node("tableCell", paragraph(text("Login")), paragraph(text("and SSO"))),
    node("tableCell", paragraph(text("Amélie"))),
)

CASES = {
    "paragraphs": (
        doc(paragraph(text("One")), paragraph(text("Two"))),
        "One\n\nTwo",
    ),
    "marks plain": (
        doc(
            paragraph(text("bold", {"type": "strong"}), text(" code", {"type": "code"}))
        ),
        "bold code",
    ),
    "link": (
        doc(paragraph(text("the guide", link("https://docs.example.test/g")))),
        "the guide (https://docs.example.test/g)",
    ),
    "link text equals href": (
        doc(paragraph(text("https://a.example.test", link("https://a.example.test")))),
        "https://a.example.test",
    ),
    "link split over nodes": (
        doc(
            paragraph(
                text("read "),
                text("the ", link("https://e.test/x")),
                text("guide", link("https://e.test/x"), {"type": "strong"}),
                text(" today"),
            )
        ),
        "read the guide (https://e.test/x) today",
    ),
    "hard break": (
        doc(paragraph(text("line 1"), {"type": "hardBreak"}, text("line 2"))),
        "line 1\nline 2",
    ),
    "heading level 1": (
        doc(node("heading", text("Title"), level=1), paragraph(text("Body"))),
        "Title\n=====\n\nBody",
    ),
    "heading level 2": (
        doc(node("heading", text("Setup"), level=2)),
        "Setup\n-----",
    ),
    "heading level 4": (
        doc(node("heading", text("Notes"), level=4)),
        "Notes\n~~~~~",
    ),
    "heading wide letters": (
        doc(node("heading", text("中文"), level=1)),
        "中文\n====",
    ),
    "bullet list": (
        doc(
            node(
                "bulletList",
                item(paragraph(text("one"))),
                item(paragraph(text("two"))),
            )
        ),
        "• one\n• two",
    ),
    "ordered list": (
        doc(
            node(
                "orderedList",
                item(paragraph(text("first"))),
                item(paragraph(text("second"))),
            )
        ),
        "1. first\n2. second",
    ),
    "ordered list start": (
        doc(
            node(
                "orderedList",
                item(paragraph(text("third"))),
                item(paragraph(text("fourth"))),
                order=3,
            )
        ),
        "3. third\n4. fourth",
    ),
    "ordered list invalid start": (
        doc(node("orderedList", item(paragraph(text("x"))), order="3")),
        "1. x",
    ),
    "nested lists": (
        doc(
            node(
                "bulletList",
                item(
                    paragraph(text("outer")),
                    node(
                        "bulletList",
                        item(
                            paragraph(text("inner")),
                            node("orderedList", item(paragraph(text("deepest")))),
                        ),
                    ),
                ),
                item(paragraph(text("next"))),
            )
        ),
        "• outer\n  • inner\n    1. deepest\n• next",
    ),
    "code block": (
        doc(
            node(
                "codeBlock",
                text("if a < b:\n    print('{x}')"),
                language="python",
            )
        ),
        "```python\nif a < b:\n    print('{x}')\n```",
    ),
    "code block without language": (
        doc(node("codeBlock", text("make test"))),
        "```\nmake test\n```",
    ),
    "blockquote": (
        doc(node("blockquote", paragraph(text("first")), paragraph(text("second")))),
        "> first\n>\n> second",
    ),
    "rule": (
        doc(paragraph(text("above")), node("rule"), paragraph(text("below"))),
        f"above\n\n{RULE}\n\nbelow",
    ),
    "mention text": (
        doc(paragraph(node("mention", id="712020:x", text="@Amélie"), text(" hi"))),
        "@Amélie hi",
    ),
    "mention id only": (
        doc(paragraph(node("mention", id="712020:x"))),
        "@712020:x",
    ),
    "emoji text": (
        doc(paragraph(node("emoji", shortName=":rocket:", text="🚀"))),
        "🚀",
    ),
    "emoji short name": (
        doc(paragraph(node("emoji", shortName=":party:"))),
        ":party:",
    ),
    "inline card": (
        doc(paragraph(text("see "), node("inlineCard", url="https://e.test/KAN-1"))),
        "see https://e.test/KAN-1",
    ),
    "block card": (
        doc(node("blockCard", url="https://e.test/page")),
        "https://e.test/page",
    ),
    "embed card": (
        doc(node("embedCard", url="https://e.test/video", layout="center")),
        "https://e.test/video",
    ),
    "date": (
        doc(paragraph(text("due "), node("date", timestamp="1582156800000"))),
        "due 2020-02-20",
    ),
    "date number": (
        doc(paragraph(node("date", timestamp=1582243199999))),
        "2020-02-20",
    ),
    "status": (
        doc(paragraph(node("status", text="In progress", color="blue"))),
        "[In progress]",
    ),
    "panel": (
        doc(node("panel", paragraph(text("Read this first.")), panelType="note")),
        "Note: Read this first.",
    ),
    "panel warning": (
        doc(node("panel", paragraph(text("Careful.")), panelType="warning")),
        "Warning: Careful.",
    ),
    "table": (
        doc(node("table", CELL_ROW, DATA_ROW)),
        "Area | Owner\nLogin and SSO | Amélie",
    ),
    "table empty row": (
        doc(node("table", CELL_ROW, node("tableRow", node("tableCell")))),
        "Area | Owner",
    ),
    "media single": (
        doc(node("mediaSingle", node("media", id="m1", type="file", alt="plan.png"))),
        "[attachment: plan.png]",
    ),
    "media file name": (
        doc(node("mediaSingle", node("media", id="m1", __fileName="log.txt"))),
        "[attachment: log.txt]",
    ),
    "media group": (
        doc(
            node(
                "mediaGroup",
                node("media", id="m1", type="file"),
                node("media", id="m2", type="file", alt="b.pdf"),
            )
        ),
        "[attachment]\n[attachment: b.pdf]",
    ),
    "media inline": (
        doc(paragraph(text("file "), node("mediaInline", id="m3"))),
        "file [attachment]",
    ),
    "expand": (
        doc(node("expand", paragraph(text("hidden text")), title="Details")),
        "▸ Details\nhidden text",
    ),
    "nested expand": (
        doc(node("nestedExpand", paragraph(text("inside")), title="")),
        "inside",
    ),
    "task list": (
        doc(
            node(
                "taskList",
                item(text("ship it"), kind="taskItem", state="DONE", localId="1"),
                item(text("write notes"), kind="taskItem", state="TODO"),
                node(
                    "taskList",
                    item(text("sub task"), kind="taskItem", state="TODO"),
                ),
            )
        ),
        "[x] ship it\n[ ] write notes\n  [ ] sub task",
    ),
    "decision list": (
        doc(
            node(
                "decisionList",
                item(text("Use nh3"), kind="decisionItem", state="DECIDED"),
            )
        ),
        "◆ Use nh3",
    ),
    "placeholder": (
        doc(paragraph(node("placeholder", text="Type here"))),
        "Type here",
    ),
    "extension": (
        doc(node("extension", extensionKey="jira-chart", extensionType="x")),
        "[macro: jira-chart]",
    ),
    "bodied extension": (
        doc(
            node(
                "bodiedExtension",
                paragraph(text("macro body")),
                extensionKey="details",
            )
        ),
        "[macro: details]\nmacro body",
    ),
    "inline extension": (
        doc(paragraph(text("chart: "), node("inlineExtension", extensionKey="c"))),
        "chart: [macro: c]",
    ),
    "extension without key": (
        doc(node("extension")),
        "[macro]",
    ),
    "unknown inline node": (
        doc(paragraph(text("a "), {"type": "futureInline", "text": "future"})),
        "a future",
    ),
    "unknown block node": (
        doc({"type": "futureBlock", "content": [paragraph(text("kept"))]}),
        "kept",
    ),
    "blank lines collapsed": (
        doc(paragraph(text("a\n\n\n\nb   ")), paragraph(), paragraph(text("  "))),
        "a\n\nb",
    ),
    "paragraph node alone": (
        paragraph(text("not in a doc")),
        "not in a doc",
    ),
}


@pytest.mark.parametrize(("document", "expected"), CASES.values(), ids=CASES.keys())
def test_to_text_renders(document, expected):
    assert to_text(document) == expected


MALFORMED = {
    "none": None,
    "list": [],
    "string": "plain text",
    "number": 42,
    "empty dict": {},
    "content not a list": {"type": "doc", "content": "x"},
    "content of junk": {"type": "doc", "content": [None, 1, "x", [], {}]},
    "text without text": doc(paragraph({"type": "text"})),
    "text not a string": doc(paragraph({"type": "text", "text": {"a": 1}})),
    "attrs not a dict": doc(paragraph({"type": "mention", "attrs": ["x"]})),
    "marks not a list": doc(paragraph({"type": "text", "text": "", "marks": "x"})),
    "link without attrs": doc(paragraph(text("", {"type": "link"}))),
    "heading level list": doc(node("heading", level=[1])),
    "ordered list order text": doc(node("orderedList", order="x")),
    "date not a number": doc(paragraph(node("date", timestamp="soon"))),
    "date out of range": doc(paragraph(node("date", timestamp=10**30))),
    "date boolean": doc(paragraph(node("date", timestamp=True))),
    "type not a string": {"type": ["doc"], "content": []},
}


@pytest.mark.parametrize("document", MALFORMED.values(), ids=MALFORMED.keys())
def test_to_text_malformed_is_empty(document):
    assert to_text(document) == ""


def test_to_text_skips_bad_node_keeps_rest():
    document = doc(
        paragraph(text("before"), {"type": "text", "text": 5}, text(" after"))
    )
    assert to_text(document) == "before after"


def nested(kind, depth, leaf):
    """Return `depth` nodes of one kind, each the only child of the one above."""
    document = leaf
    for _ in range(depth):
        document = {"type": kind, "content": [document]}
    return document


@pytest.mark.parametrize("kind", ["blockquote", "unknownNode", "panel", "tableCell"])
def test_to_text_deep_nesting_cut(kind):
    document = doc(nested(kind, 1000, paragraph(text("bottom"))))
    rendered = to_text(document)
    assert NESTING_MARKER in rendered
    assert "bottom" not in rendered


def test_to_text_deep_lists_cut():
    leaf = node("bulletList", item(paragraph(text("bottom"))))
    document = leaf
    for _ in range(1000):
        document = node("bulletList", item(paragraph(text("level")), document))
    rendered = to_text(doc(document))
    assert NESTING_MARKER in rendered
    assert "bottom" not in rendered


def test_to_text_nesting_below_cap_kept():
    document = doc(nested("blockquote", MAX_DEPTH - 2, paragraph(text("bottom"))))
    rendered = to_text(document)
    assert "bottom" in rendered
    assert NESTING_MARKER not in rendered


def test_to_text_cut_at_max_length():
    document = doc(paragraph(text("word " * 1000)))
    rendered = to_text(document, max_length=50)
    assert len(rendered) == 50
    assert rendered.endswith(ELLIPSIS)


def test_to_text_short_text_not_cut():
    document = doc(paragraph(text("short")))
    assert to_text(document, max_length=5) == "short"


def test_to_text_default_cap():
    document = doc(*(paragraph(text("x" * 1000)) for _ in range(300)))
    rendered = to_text(document)
    assert len(rendered) == 200_000
    assert rendered.endswith(ELLIPSIS)


def test_to_text_rejects_zero_max_length():
    with pytest.raises(ValueError, match="max_length"):
        to_text(doc(), max_length=0)


def test_to_text_no_trailing_spaces():
    document = doc(
        node("blockquote", paragraph(text("q ")), paragraph()),
        node("bulletList", item()),
        node("codeBlock", text("code   \n\n\n\nmore  ")),
    )
    rendered = to_text(document)
    assert all(line == line.rstrip() for line in rendered.split("\n"))
    assert "\n\n\n" not in rendered


SUMMARIES = {
    "first paragraph": (doc(paragraph(text("Hello")), paragraph(text("x"))), "Hello"),
    "skips heading underline": (
        doc(node("heading", text("Title"), level=1), paragraph(text("x"))),
        "Title",
    ),
    "skips code fence": (doc(node("codeBlock", text("make"))), "make"),
    "skips rule": (doc(node("rule"), paragraph(text("after"))), "after"),
    "no text": (doc(paragraph()), ""),
    "none": (None, ""),
}


@pytest.mark.parametrize(("document", "expected"), SUMMARIES.values(), ids=SUMMARIES)
def test_summary_line(document, expected):
    assert summary_line(document) == expected


def test_summary_line_cut_at_limit():
    line = summary_line(doc(paragraph(text("a" * 300))), limit=10)
    assert line == "a" * 9 + ELLIPSIS


def test_summary_line_default_limit():
    line = summary_line(doc(paragraph(text("b" * 300))))
    assert len(line) == 120


def test_summary_line_rejects_zero_limit():
    with pytest.raises(ValueError, match="limit"):
        summary_line(doc(), limit=0)


# Recorded Jira responses


def adf_documents(value):
    """Yield every ADF document inside a decoded JSON response."""
    if isinstance(value, dict):
        if value.get("type") == "doc":
            yield value
            return
        for child in value.values():
            yield from adf_documents(child)
    elif isinstance(value, list):
        for child in value:
            yield from adf_documents(child)


def test_realdata_issue_description():
    issue = load_realdata("rest-api-3-issue-get")
    rendered = to_text(issue["fields"]["description"])
    assert rendered == (
        "This is a test issue created for testing the delete-comment action"
    )


def test_realdata_search_description():
    page = load_realdata("rest-api-3-search-legacy-2024")
    rendered = to_text(page["issues"][0]["fields"]["description"])
    assert "implementation of the new feature" in rendered


def test_realdata_comment_table():
    page = load_realdata("rest-api-3-search-legacy-2024")
    comments = page["issues"][12]["fields"]["comment"]["comments"]
    assert to_text(comments[1]["body"]) == "222 | 3333 | 2222"


def test_realdata_comment_emoji():
    page = load_realdata("rest-api-3-search-legacy-2024")
    comments = page["issues"][12]["fields"]["comment"]["comments"]
    assert to_text(comments[0]["body"]) == "😀"


@pytest.mark.parametrize(
    "name",
    [
        "rest-api-3-issue-get",
        "rest-api-3-search-jql-get",
        "rest-api-3-search-legacy-2024",
    ],
)
def test_realdata_documents_clean(name):
    documents = list(adf_documents(load_realdata(name)))
    assert documents
    for document in documents:
        rendered = to_text(document)
        assert rendered
        assert "{" not in rendered
        assert "'type'" not in rendered


# Documents the sandbox generates

CONTEXT = sandbox_adf.DescriptionContext(
    project_name="Practice Project",
    mention_account_id="712020:00000000-0000-4000-8000-00000000abcd",
    mention_name="Amélie Dubois",
)
SANDBOX_DESCRIPTIONS = {
    kind: sandbox_adf.description(index, CONTEXT)
    for index, kind in enumerate(sandbox_adf.DESCRIPTION_KINDS)
}


@pytest.mark.parametrize(
    "document", SANDBOX_DESCRIPTIONS.values(), ids=SANDBOX_DESCRIPTIONS.keys()
)
def test_sandbox_description_renders(document):
    rendered = to_text(document)
    words = sandbox_adf.words(sandbox_adf.plain_text(document))
    assert bool(rendered) == bool(words)
    assert words <= sandbox_adf.words(rendered)


def test_sandbox_mention_description():
    rendered = to_text(SANDBOX_DESCRIPTIONS["mention"])
    assert rendered == (
        "@Amélie Dubois please review this 🚀 and read the setup guide "
        "(https://docs.example.test/guide?a=1&b=2)."
    )


def test_sandbox_hostile_description_verbatim():
    rendered = to_text(SANDBOX_DESCRIPTIONS["hostile"])
    assert "<script>alert('description')</script>" in rendered
    assert "a javascript: address (javascript:alert(1))" in rendered


def test_sandbox_code_description_keeps_code():
    rendered = to_text(SANDBOX_DESCRIPTIONS["code"])
    assert '```python\nif a < b and c > d:\n    print("<done> & ok")\n```' in rendered


def test_sandbox_checklist_description():
    rendered = to_text(SANDBOX_DESCRIPTIONS["checklist"])
    assert "• Keyboard only: Tab reaches it" in rendered


def test_sandbox_page_documents_render():
    dataset = build_dataset(project_count=5, space_count=12, issue_count=10)
    pages = [
        (space, page)
        for site in dataset.sites
        for space in site.spaces
        for page in space.pages
    ]
    assert pages
    for space, page in pages:
        body = page_body(space, page, "atlas_doc_format")["value"]
        rendered = to_text(json.loads(body))
        assert rendered.startswith(page.title)
        assert "Practice page in" in rendered

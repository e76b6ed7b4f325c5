"""Atlassian Document Format (ADF): Jira issue descriptions, and ADF to HTML.

Jira REST v3 returns rich text fields as ADF documents: `{"type": "doc",
"version": 1, "content": [...]}`. The sample descriptions use paragraphs,
headings, lists, code blocks, a panel, a blockquote and a rule, the marks strong,
em, code, link, strike, underline and textColor, and the inline nodes mention,
emoji and hardBreak. Some contain markup-like text and a `javascript:` link, which
clients must not turn into live HTML.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from html import escape

# Index 0 is an issue without a description, which Jira returns as null.
DESCRIPTION_KINDS = (
    "none",
    "paragraph",
    "checklist",
    "code",
    "mention",
    "hostile",
    "multilingual",
    "panel",
)


@dataclass(frozen=True)
class DescriptionContext:
    """The issue details that a description mentions."""

    project_name: str
    mention_account_id: str
    mention_name: str


def _text(value: str, *marks: str | dict) -> dict:
    node = {"type": "text", "text": value}
    if marks:
        node["marks"] = [
            {"type": mark} if isinstance(mark, str) else mark for mark in marks
        ]
    return node


def _link(href: str) -> dict:
    return {"type": "link", "attrs": {"href": href}}


def _paragraph(*content: dict) -> dict:
    return {"type": "paragraph", "content": list(content)}


def _heading(level: int, text: str) -> dict:
    return {"type": "heading", "attrs": {"level": level}, "content": [_text(text)]}


def _list(kind: str, *items: list[dict]) -> dict:
    return {
        "type": kind,
        "content": [
            {"type": "listItem", "content": [_paragraph(*item)]} for item in items
        ],
    }


def _doc(*content: dict) -> dict:
    return {"type": "doc", "version": 1, "content": list(content)}


def _paragraph_doc(context: DescriptionContext) -> dict:
    return _doc(
        _paragraph(
            _text("Steps to reproduce are in the runbook. Seen in "),
            _text(context.project_name, "strong"),
            _text("."),
        )
    )


def _checklist_doc(context: DescriptionContext) -> dict:
    return _doc(
        _heading(2, "Acceptance criteria"),
        _paragraph(
            _text("The change is "),
            _text("done", "strong"),
            _text(" when "),
            _text("all", "em"),
            _text(" checks pass and "),
            _text("make test", "code"),
            _text(" is green."),
        ),
        _list(
            "bulletList",
            [_text("Works in Firefox and Chromium")],
            [_text("Keyboard only: "), _text("Tab", "code"), _text(" reaches it")],
            [_text("Release notes updated")],
        ),
        # Jira stores an empty line as a paragraph without text.
        _paragraph(),
    )


def _code_doc(context: DescriptionContext) -> dict:
    return _doc(
        _paragraph(
            _text("Run this to reproduce:"),
            {"type": "hardBreak"},
            _text("then check the log for the error."),
        ),
        {
            "type": "codeBlock",
            "attrs": {"language": "python"},
            "content": [_text('if a < b and c > d:\n    print("<done> & ok")')],
        },
        _paragraph(
            _text("The request was "),
            _text('curl -H "Authorization: Bearer <token>" /rest/api/3/myself', "code"),
        ),
    )


def _mention_doc(context: DescriptionContext) -> dict:
    mention = {
        "type": "mention",
        "attrs": {
            "id": context.mention_account_id,
            "text": f"@{context.mention_name}",
            # Jira leaves accessLevel empty in stored documents.
            "accessLevel": "",
        },
    }
    emoji = {
        "type": "emoji",
        "attrs": {"shortName": ":rocket:", "id": "1f680", "text": "🚀"},
    }
    return _doc(
        _paragraph(
            mention,
            _text(" please review this "),
            emoji,
            _text(" and read "),
            _text("the setup guide", _link("https://docs.example.test/guide?a=1&b=2")),
            _text("."),
        )
    )


def _hostile_doc(context: DescriptionContext) -> dict:
    return _doc(
        _heading(3, "<h1>Not a heading</h1>"),
        _paragraph(_text("<script>alert('description')</script>")),
        _paragraph(_text("**bold** and [link](javascript:alert(1)) are Markdown")),
        _paragraph(
            _text("A link mark with "),
            _text("a javascript: address", _link("javascript:alert(1)")),
            _text(" and "),
            _text('<img src=x onerror="alert(2)">', "code"),
        ),
    )


def _multilingual_doc(context: DescriptionContext) -> dict:
    return _doc(
        _heading(3, "Многоязычный текст"),
        _list(
            "orderedList",
            [_text("Ελληνικά: η σύνδεση αποτυγχάνει")],
            [_text("العربية: فشل تسجيل الدخول")],
            [_text("中文：登录失败")],
            [_text("日本語：ログインに失敗しました")],
        ),
        {
            "type": "blockquote",
            "content": [_paragraph(_text("“Quoted” text — with dashes… and ‘more’"))],
        },
        {"type": "rule"},
    )


def _panel_doc(context: DescriptionContext) -> dict:
    red = {"type": "textColor", "attrs": {"color": "#ff5630"}}
    return _doc(
        {
            "type": "panel",
            "attrs": {"panelType": "info"},
            "content": [_paragraph(_text("A fix is planned for the next release."))],
        },
        _paragraph(
            _text("old behaviour", "strike"),
            _text(" "),
            _text("new behaviour", "underline"),
            _text(" "),
            _text("urgent", red, "strong"),
        ),
    )


_BUILDERS = (
    None,
    _paragraph_doc,
    _checklist_doc,
    _code_doc,
    _mention_doc,
    _hostile_doc,
    _multilingual_doc,
    _panel_doc,
)


def description(kind: int, context: DescriptionContext) -> dict | None:
    """Return the ADF description of a kind (an index of DESCRIPTION_KINDS)."""
    builder = _BUILDERS[kind]
    return builder(context) if builder is not None else None


# Plain text and words


def plain_text(node: dict | None) -> str:
    """Return the text of an ADF node, with mentions and emoji as their text."""
    if node is None:
        return ""
    if node.get("type") == "text":
        return node.get("text", "")
    if node.get("type") in ("mention", "emoji"):
        return node.get("attrs", {}).get("text", "")
    if node.get("type") == "hardBreak":
        return "\n"
    parts = [plain_text(child) for child in node.get("content", [])]
    return ("\n" if node.get("type") == "doc" else " ").join(parts)


def words(text: str) -> frozenset[str]:
    """Return the case-folded words of a text, as Jira's `~` operator matches them."""
    return frozenset(re.findall(r"\w+", text.casefold()))


_EMPTY_CONTEXT = DescriptionContext("", "", "")
# Words of each description kind without the issue-specific names, which is what
# the sandbox's text search matches.
DESCRIPTION_WORDS = tuple(
    words(plain_text(description(kind, _EMPTY_CONTEXT)))
    for kind in range(len(DESCRIPTION_KINDS))
)


# HTML

_SAFE_SCHEMES = ("http://", "https://", "mailto:")
_BLOCK_TAGS = {
    "paragraph": "p",
    "bulletList": "ul",
    "orderedList": "ol",
    "listItem": "li",
    "blockquote": "blockquote",
}
_MARK_TAGS = {
    "strong": "b",
    "em": "em",
    "code": "code",
    "strike": "del",
    "underline": "ins",
}


def to_html(node: dict | None) -> str:
    """Render an ADF node as HTML in the style of Jira's renderedFields.

    Text is escaped. A link keeps its address only when it is http, https or
    mailto; other addresses, `javascript:` among them, become plain text.
    """
    if node is None:
        return ""
    kind = node.get("type")
    inner = "".join(to_html(child) for child in node.get("content", []))
    if kind == "doc":
        return inner
    if kind == "text":
        return _marked_text(node)
    if kind in _BLOCK_TAGS:
        tag = _BLOCK_TAGS[kind]
        return f"<{tag}>{inner}</{tag}>"
    if kind == "heading":
        level = int(node.get("attrs", {}).get("level", 1))
        return f"<h{level}>{inner}</h{level}>"
    if kind == "codeBlock":
        return f'<div class="code panel"><pre><code>{inner}</code></pre></div>'
    if kind == "panel":
        return f'<div class="panel">{inner}</div>'
    if kind == "rule":
        return "<hr />"
    if kind == "hardBreak":
        return "<br/>"
    if kind in ("mention", "emoji"):
        return escape(node.get("attrs", {}).get("text", ""))
    return inner


def _marked_text(node: dict) -> str:
    html = escape(node.get("text", "")).replace("\n", "<br/>")
    for mark in node.get("marks", []):
        kind = mark.get("type")
        if kind in _MARK_TAGS:
            tag = _MARK_TAGS[kind]
            html = f"<{tag}>{html}</{tag}>"
        elif kind == "link":
            href = mark.get("attrs", {}).get("href", "")
            if href.lower().startswith(_SAFE_SCHEMES):
                html = f'<a href="{escape(href)}" rel="nofollow">{html}</a>'
        elif kind == "textColor":
            color = escape(mark.get("attrs", {}).get("color", ""))
            html = f'<span style="color: {color}">{html}</span>'
    return html

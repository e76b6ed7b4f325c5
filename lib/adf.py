"""Render Atlassian Document Format (ADF) documents as plain text.

Jira REST v3 returns rich text (issue descriptions, comments, worklog comments) as
ADF: a tree of `{"type": …, "attrs": {…}, "content": […]}` nodes under a
`{"type": "doc"}` root, with the words in `text` nodes that carry `marks`.
`to_text` turns a document into text for `st.text`, which shows it as it is, so
nothing here is escaped and no Markdown is written on purpose.

Layout of the text:

- Blocks (paragraphs, headings, lists, tables, …) are separated by one blank line.
- A heading is underlined: "=" for level 1, "-" for level 2, "~" for levels 3 to 6.
- List items start with "• ", "1. ", "[x] ", "[ ] " or "◆ ". Their continuation
  lines and nested lists are indented by two spaces per level.
- A code block is fenced with ``` and the language, and keeps its text.
- A quote has "> " before each line, and table cells are joined by " | ".
- Links read "text (href)". Cards, media, dates, statuses and macros become short
  labels such as "[attachment: plan.png]" or "[macro: jira-chart]".

The whole output, code blocks included, gets no trailing spaces and at most one
blank line in a row. No document, however malformed, makes `to_text` raise. Nodes
of the wrong shape are skipped, unknown node types show their text and children,
and content nested deeper than MAX_DEPTH is replaced by NESTING_MARKER.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable
from datetime import UTC, datetime

MAX_DEPTH = 64
NESTING_MARKER = "[nested content not shown]"
ELLIPSIS = "…"
RULE = "-" * 20

_INDENT = "  "
_UNDERLINES = {1: "=", 2: "-"}
_MINOR_UNDERLINE = "~"
_PANEL_LABELS = {
    "info": "Info: ",
    "note": "Note: ",
    "tip": "Tip: ",
    "warning": "Warning: ",
    "error": "Error: ",
    "success": "Success: ",
}
# Lines that only decorate: heading underlines, rules and code fences.
_DECORATION = re.compile(r"[=~-]+|```.*")


def to_text(document: object, *, max_length: int = 200_000) -> str:
    """Render an ADF document as plain text of at most `max_length` characters.

    A dict that is not a "doc" node is rendered as a single node, so a paragraph
    or a table on its own gives its text. Anything other than a dict gives "".
    Text longer than `max_length` is cut and ends with "…".

    Raises ValueError when `max_length` is less than 1.
    """
    if max_length < 1:
        raise ValueError(f"max_length must be at least 1, not {max_length}.")
    if not isinstance(document, dict):
        return ""

    text = _render_children({"content": [document]}, -1)
    return _truncate(_normalize_whitespace(text), max_length)


def summary_line(document: object, limit: int = 120) -> str:
    """Return the first line of text of an ADF document, cut to `limit` characters.

    Heading underlines, rules and code fences are skipped, so a document that
    starts with a heading or a code block is summarized by its text. A line longer
    than `limit` is cut and ends with "…". Returns "" for a document without text.

    Raises ValueError when `limit` is less than 1.
    """
    if limit < 1:
        raise ValueError(f"limit must be at least 1, not {limit}.")

    for line in to_text(document).split("\n"):
        line = line.strip()
        if line and not _DECORATION.fullmatch(line):
            return _truncate(line, limit)
    return ""


# Whitespace and length


def _normalize_whitespace(text: str) -> str:
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    kept: list[str] = []
    for line in lines:
        line = line.rstrip()
        if line or (kept and kept[-1]):
            kept.append(line)
    return "\n".join(kept).strip()


def _truncate(text: str, limit: int) -> str:
    if len(text) <= limit:
        return text
    return text[: limit - 1].rstrip() + ELLIPSIS


def _display_width(text: str) -> int:
    """Return the terminal columns a text takes, counting wide CJK letters as two."""
    width = 0
    for character in text:
        if unicodedata.combining(character):
            continue
        width += 2 if unicodedata.east_asian_width(character) in ("W", "F") else 1
    return width


# Field access that tolerates malformed nodes


def _content(node: dict) -> list:
    content = node.get("content")
    return content if isinstance(content, list) else []


def _attrs(node: dict) -> dict:
    attrs = node.get("attrs")
    return attrs if isinstance(attrs, dict) else {}


def _attr_text(node: dict, name: str) -> str:
    value = _attrs(node).get(name)
    return value if isinstance(value, str) else ""


def _type(node: dict) -> str:
    kind = node.get("type")
    return kind if isinstance(kind, str) else ""


def _child_nodes(node: dict) -> list[dict]:
    return [child for child in _content(node) if isinstance(child, dict)]


# Content: runs of inline nodes and blocks


def _render_children(node: dict, depth: int, separator: str = "\n\n") -> str:
    """Render the children of a node, joining blocks with `separator`.

    Adjacent inline children form one block of text. `depth` is the nesting level
    of `node`, so its children are rendered one level deeper, and content below
    MAX_DEPTH is replaced by NESTING_MARKER.
    """
    if depth >= MAX_DEPTH:
        return NESTING_MARKER

    blocks: list[str] = []
    run = _InlineRun()
    for child in _child_nodes(node):
        if _is_inline(child):
            run.add(child, depth + 1)
        else:
            blocks.append(run.flush())
            blocks.append(_render_block(child, depth + 1))
    blocks.append(run.flush())
    return separator.join(block for block in blocks if block.strip())


def _is_inline(node: dict) -> bool:
    kind = _type(node)
    if kind in _INLINE_RENDERERS or kind == "text":
        return True
    if kind in _BLOCK_RENDERERS:
        return False
    # An unknown node is a block when one of its children is a known block.
    if isinstance(node.get("text"), str):
        return True
    return not any(_type(child) in _BLOCK_RENDERERS for child in _child_nodes(node))


class _InlineRun:
    """The inline pieces of one block of text. Adjacent pieces of one link merge."""

    def __init__(self) -> None:
        self.pieces: list[tuple[str, str]] = []

    def add(self, node: dict, depth: int) -> None:
        if _type(node) == "text":
            text = node.get("text")
            if isinstance(text, str):
                self.pieces.append((text, _link_href(node)))
        else:
            self.pieces.append((_render_inline(node, depth), ""))

    def flush(self) -> str:
        parts: list[str] = []
        text, href = "", ""
        for piece_text, piece_href in self.pieces:
            if piece_href and piece_href == href:
                text += piece_text
                continue
            parts.append(_linked(text, href))
            text, href = piece_text, piece_href
        parts.append(_linked(text, href))
        self.pieces = []
        return "".join(parts)


def _link_href(node: dict) -> str:
    marks = node.get("marks")
    for mark in marks if isinstance(marks, list) else []:
        if isinstance(mark, dict) and mark.get("type") == "link":
            return _attr_text(mark, "href")
    return ""


def _linked(text: str, href: str) -> str:
    core = text.strip()
    if not href or core == href:
        return text
    if not core:
        return text + href
    leading = text[: len(text) - len(text.lstrip())]
    trailing = text[len(text.rstrip()) :]
    return f"{leading}{core} ({href}){trailing}"


def _render_block(node: dict, depth: int) -> str:
    renderer = _BLOCK_RENDERERS.get(_type(node))
    if renderer is not None:
        return renderer(node, depth)
    return _render_unknown(node, depth)


def _render_inline(node: dict, depth: int) -> str:
    renderer = _INLINE_RENDERERS.get(_type(node))
    if renderer is not None:
        return renderer(node, depth)
    return _render_unknown(node, depth)


def _render_unknown(node: dict, depth: int) -> str:
    text = node.get("text")
    if isinstance(text, str):
        return text
    return _render_children(node, depth)


# Text blocks


def _render_heading(node: dict, depth: int) -> str:
    text = _render_children(node, depth)
    if not text.strip():
        return ""
    level = _attrs(node).get("level")
    underline = _MINOR_UNDERLINE
    if isinstance(level, int) and level in _UNDERLINES:
        underline = _UNDERLINES[level]
    width = max(_display_width(line.rstrip()) for line in text.split("\n"))
    return f"{text}\n{underline * width}"


def _render_code_block(node: dict, depth: int) -> str:
    language = _attr_text(node, "language").strip()
    code = _render_children(node, depth, separator="\n")
    return f"```{language}\n{code}\n```"


def _render_blockquote(node: dict, depth: int) -> str:
    return _prefix_lines(_render_children(node, depth), "> ")


def _render_rule(node: dict, depth: int) -> str:
    return RULE


def _render_panel(node: dict, depth: int) -> str:
    panel_type = _attr_text(node, "panelType")
    label = _PANEL_LABELS.get(panel_type, "")
    if panel_type == "custom" and _attr_text(node, "panelIconText"):
        label = _attr_text(node, "panelIconText") + " "
    return label + _render_children(node, depth)


def _render_expand(node: dict, depth: int) -> str:
    title = _attr_text(node, "title").strip()
    body = _render_children(node, depth)
    return f"▸ {title}\n{body}" if title else body


def _render_extension(node: dict, depth: int) -> str:
    key = _attr_text(node, "extensionKey").strip()
    label = f"[macro: {key}]" if key else "[macro]"
    body = _render_children(node, depth)
    return f"{label}\n{body}" if body else label


def _prefix_lines(text: str, prefix: str) -> str:
    return "\n".join(
        prefix + line if line else prefix.rstrip() for line in text.split("\n")
    )


def _hang(marker: str, text: str) -> str:
    """Put a list marker before the first line and indent the other lines."""
    first, *rest = text.split("\n")
    lines = [marker + first]
    lines.extend(_INDENT + line if line else "" for line in rest)
    return "\n".join(lines)


# Lists

_LIST_TYPES = frozenset({"bulletList", "orderedList", "taskList", "decisionList"})
_ITEM_TYPES = frozenset({"listItem", "taskItem", "decisionItem"})


def _render_list(node: dict, depth: int, marker: Callable[[int, dict], str]) -> str:
    """Render list items one per line, each after the prefix `marker(index, item)`."""
    if depth >= MAX_DEPTH:
        return NESTING_MARKER

    lines: list[str] = []
    index = 0
    for item in _child_nodes(node):
        # A list directly inside a list (as taskList nests) is indented one level.
        if _type(item) in _LIST_TYPES:
            lines.append(_prefix_lines(_render_block(item, depth + 1), _INDENT))
            continue
        if _type(item) in _ITEM_TYPES:
            body = _render_children(item, depth + 1, separator="\n")
        else:
            body = _render_block(item, depth + 1)
        lines.append(_hang(marker(index, item), body))
        index += 1
    return "\n".join(lines)


def _render_bullet_list(node: dict, depth: int) -> str:
    return _render_list(node, depth, lambda index, item: "• ")


def _render_ordered_list(node: dict, depth: int) -> str:
    start = _attrs(node).get("order")
    if isinstance(start, float) and start.is_integer():
        start = int(start)
    # A start beyond a million is no real list, and a huge integer could not even
    # be turned into text.
    if not isinstance(start, int) or isinstance(start, bool) or not 0 <= start < 10**6:
        start = 1
    return _render_list(node, depth, lambda index, item: f"{start + index}. ")


def _task_marker(item: dict) -> str:
    return "[x] " if _attr_text(item, "state") == "DONE" else "[ ] "


def _render_task_list(node: dict, depth: int) -> str:
    return _render_list(node, depth, lambda index, item: _task_marker(item))


def _render_decision_list(node: dict, depth: int) -> str:
    return _render_list(node, depth, lambda index, item: "◆ ")


def _render_list_item(node: dict, depth: int) -> str:
    return _render_children(node, depth, separator="\n")


def _render_task_item(node: dict, depth: int) -> str:
    return _hang(_task_marker(node), _render_list_item(node, depth))


def _render_decision_item(node: dict, depth: int) -> str:
    return _hang("◆ ", _render_list_item(node, depth))


# Tables


def _render_table(node: dict, depth: int) -> str:
    if depth >= MAX_DEPTH:
        return NESTING_MARKER
    rows = (_render_table_row(row, depth + 1) for row in _child_nodes(node))
    return "\n".join(row for row in rows if row)


def _render_table_row(node: dict, depth: int) -> str:
    if depth >= MAX_DEPTH:
        return NESTING_MARKER
    cells = [_render_table_cell(cell, depth + 1) for cell in _child_nodes(node)]
    # A row of empty cells would read as a line of bars.
    if not any(cells):
        return ""
    return " | ".join(cells).strip()


def _render_table_cell(node: dict, depth: int) -> str:
    """Render a cell on one line, joining its lines with spaces."""
    text = _render_children(node, depth, separator="\n")
    return " ".join(line.strip() for line in text.split("\n") if line.strip())


# Media and cards


def _attachment_label(node: dict) -> str:
    for name in ("alt", "__fileName", "url"):
        value = _attr_text(node, name).strip()
        if value:
            return f"[attachment: {value}]"
    return "[attachment]"


def _render_media(node: dict, depth: int) -> str:
    return _attachment_label(node)


def _render_media_group(node: dict, depth: int) -> str:
    return _render_children(node, depth, separator="\n")


def _render_card(node: dict, depth: int) -> str:
    url = _attr_text(node, "url")
    if not url:
        data = _attrs(node).get("data")
        url = data.get("url", "") if isinstance(data, dict) else ""
    return url if isinstance(url, str) else ""


# Inline nodes


def _render_hard_break(node: dict, depth: int) -> str:
    return "\n"


def _render_mention(node: dict, depth: int) -> str:
    text = _attr_text(node, "text")
    if text:
        return text
    account_id = _attr_text(node, "id")
    return "@" + account_id if account_id else ""


def _render_emoji(node: dict, depth: int) -> str:
    return _attr_text(node, "text") or _attr_text(node, "shortName")


def _render_date(node: dict, depth: int) -> str:
    """Render attrs.timestamp, milliseconds since the epoch, as a UTC date."""
    timestamp = _attrs(node).get("timestamp")
    if isinstance(timestamp, bool):
        return ""
    try:
        milliseconds = int(timestamp)
        moment = datetime.fromtimestamp(milliseconds / 1000, tz=UTC)
    except (TypeError, ValueError, OverflowError, OSError):
        return ""
    return moment.strftime("%Y-%m-%d")


def _render_status(node: dict, depth: int) -> str:
    text = _attr_text(node, "text").strip()
    return f"[{text}]" if text else ""


def _render_placeholder(node: dict, depth: int) -> str:
    return _attr_text(node, "text")


_Renderer = Callable[[dict, int], str]

_BLOCK_RENDERERS: dict[str, _Renderer] = {
    "doc": _render_children,
    "paragraph": _render_children,
    "heading": _render_heading,
    "bulletList": _render_bullet_list,
    "orderedList": _render_ordered_list,
    "listItem": _render_list_item,
    "codeBlock": _render_code_block,
    "blockquote": _render_blockquote,
    "rule": _render_rule,
    "panel": _render_panel,
    "table": _render_table,
    "tableRow": _render_table_row,
    "tableHeader": _render_table_cell,
    "tableCell": _render_table_cell,
    "mediaSingle": _render_media_group,
    "mediaGroup": _render_media_group,
    "media": _render_media,
    "expand": _render_expand,
    "nestedExpand": _render_expand,
    "taskList": _render_task_list,
    "taskItem": _render_task_item,
    "decisionList": _render_decision_list,
    "decisionItem": _render_decision_item,
    "blockCard": _render_card,
    "embedCard": _render_card,
    "extension": _render_extension,
    "bodiedExtension": _render_extension,
}

_INLINE_RENDERERS: dict[str, _Renderer] = {
    "hardBreak": _render_hard_break,
    "mention": _render_mention,
    "emoji": _render_emoji,
    "inlineCard": _render_card,
    "date": _render_date,
    "status": _render_status,
    "mediaInline": _render_media,
    "placeholder": _render_placeholder,
    "inlineExtension": _render_extension,
}

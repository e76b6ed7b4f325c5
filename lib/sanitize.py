"""Sanitize Confluence page bodies for display, and reduce them to plain text.

Confluence REST v2 returns a page body as HTML: `body-format=view` is the rendered
page, `storage` is Confluence's XHTML with `ac:` elements (macros, layouts, tasks,
links, images) and `ri:` resource identifiers. Either may carry markup that runs in
the viewer's browser. `clean_html` passes the body through nh3 (the Python binding
of the Rust sanitizer ammonia) with an allow-list of tags, attributes and URL
schemes, so only inert rich text reaches the page.

How nh3 0.3.8 (its parser is html5ever) reads Confluence's elements:

- An `ac:` or `ri:` element becomes an ordinary HTML element whose name includes
  the prefix, for example "ac:parameter", so nh3 matches it by that name.
  Elements that are not allowed lose their tags and keep their text, which keeps
  the text of macro bodies, layouts, tasks and links.
- Editor data is removed with its content. That covers macro parameters, task ids
  and statuses, placeholders (the editor's hint text) and `ac:adf-attribute`. It
  also covers `ac:plain-text-body`, which contains the code of a code macro and
  the raw markup of an HTML macro, and `ac:adf-fallback`, which repeats the
  `ac:adf-content` beside it.
- `ri:` elements are stripped but not removed with their content. HTML ignores the
  "/>" of a non-void element, so `<ri:user ri:account-id="…" />` stays open and
  the text after it becomes its content. `ri:` elements have no text of their own.
- A CDATA section is read as a comment that ends at the first ">", so any of its
  text after that point becomes page text. Code and HTML macros keep their CDATA
  in `ac:plain-text-body`, which is removed.
"""

from __future__ import annotations

import functools
import re
from html.parser import HTMLParser
from urllib.parse import urlsplit

import nh3

ALLOWED_TAGS = frozenset(
    {
        *("p", "br", "hr", "h1", "h2", "h3", "h4", "h5", "h6"),
        *("strong", "b", "em", "i", "u", "s", "del", "ins", "sub", "sup", "small"),
        *("code", "pre", "kbd", "blockquote"),
        *("ul", "ol", "li", "dl", "dt", "dd"),
        *("a", "img"),
        *("table", "caption", "thead", "tbody", "tfoot", "tr", "th", "td"),
        *("colgroup", "col"),
        *("span", "div", "figure", "figcaption"),
    }
)

# Elements removed together with their content. The others that are not allowed
# lose only their tags.
# NOTE: in storage format this also drops what a macro keeps only in parameters or
# in its plain-text body, such as a status macro's title or a code macro's code.
# The view format has both as HTML.
REMOVED_WITH_CONTENT = frozenset(
    {
        *("script", "style", "iframe", "object", "embed", "noscript", "template"),
        *("svg", "math", "form", "input", "button", "textarea", "select"),
        *("ac:parameter", "ac:plain-text-body", "ac:placeholder"),
        *("ac:task-id", "ac:task-status", "ac:adf-attribute", "ac:adf-fallback"),
    }
)

# The "*" entry replaces nh3's default attributes of every tag (lang, title).
ALLOWED_ATTRIBUTES = {
    "*": frozenset(),
    "a": frozenset({"href", "title"}),
    "img": frozenset({"src", "alt", "title", "width", "height"}),
    "th": frozenset({"colspan", "rowspan", "scope"}),
    "td": frozenset({"colspan", "rowspan", "scope"}),
    "ol": frozenset({"start"}),
    "col": frozenset({"span"}),
    "colgroup": frozenset({"span"}),
}

URL_SCHEMES = frozenset({"http", "https", "mailto"})
LINK_REL = "noopener noreferrer nofollow"

_INLINE_TAGS = frozenset(
    {"a", "b", "code", "del", "em", "i", "img", "ins", "kbd", "s", "small", "span"}
    | {"strong", "sub", "sup", "u"}
)


def clean_html(html: str, *, base_url: str | None = None) -> str:
    """Sanitize a Confluence page body (view or storage format) for display.

    Returns "" when `html` is not a string. Links and image sources keep only
    http, https and mailto URLs. A relative URL is made absolute on `base_url`
    (the site's `_links.base`, such as "https://x.atlassian.net/wiki"), resolved
    as a browser would against that base with a "/" appended. Without `base_url`,
    relative URLs are removed, because in the dashboard they would point at the
    dashboard itself. Every link opens in a new tab with rel="noopener noreferrer
    nofollow".

    Raises ValueError when `base_url` is not an absolute http or https URL.
    """
    if not isinstance(html, str):
        return ""
    base = _normalize_base(base_url) if base_url is not None else None
    return _cleaner(base).clean(html)


# nh3's time grows faster than the input with the nesting of unclosed elements.
# On a 2-core machine, 160 KB of "<i><div>" took 2.8 s and 640 KB took 43 s. So
# bodies nested deeper than this, or larger than MAX_RENDERED_CHARS, are shown as
# source text instead of being sanitized.
MAX_RENDERED_DEPTH = 200
MAX_RENDERED_CHARS = 2_000_000

_TAG = re.compile(r"<(/?)([A-Za-z][\w:.-]*)[^>]*?(/?)>")
_VOID = frozenset(
    {
        "area",
        "base",
        "br",
        "col",
        "embed",
        "hr",
        "img",
        "input",
        "link",
        "meta",
        "source",
        "track",
        "wbr",
    }
)


def nesting_depth(html: str) -> int:
    """Return the deepest element nesting in html, counted in one linear pass.

    Unclosed elements count as open to the end, as a browser would read them.
    """
    depth = deepest = 0
    for closing, name, self_closing in _TAG.findall(html):
        if closing:
            depth = max(0, depth - 1)
        elif not self_closing and name.lower() not in _VOID:
            depth += 1
            deepest = max(deepest, depth)
    return deepest


def can_render(html: str) -> bool:
    """Return whether html is small and shallow enough to sanitize quickly."""
    return len(html) <= MAX_RENDERED_CHARS and nesting_depth(html) <= MAX_RENDERED_DEPTH


def to_plain_text(html: str) -> str:
    """Return the text of an HTML body for a preview.

    The body is sanitized first, so script and style text, macro parameters and
    placeholders are left out. Entities are decoded and every run of whitespace,
    no-break spaces included, becomes one space. Returns "" when `html` is not a
    string.
    """
    if not isinstance(html, str):
        return ""
    collector = _TextCollector()
    collector.feed(_cleaner(None).clean(html))
    collector.close()
    return " ".join("".join(collector.parts).split())


def _normalize_base(base_url: str) -> str:
    parts = urlsplit(base_url) if isinstance(base_url, str) else None
    if parts is None or parts.scheme not in ("http", "https") or not parts.netloc:
        raise ValueError(
            f"base_url {base_url!r} is not an absolute http or https URL. "
            "Pass the site's _links.base, such as https://example.atlassian.net/wiki."
        )
    # Without the trailing slash, "spaces/X" would resolve beside "wiki", not in it.
    return base_url if base_url.endswith("/") else base_url + "/"


@functools.lru_cache(maxsize=32)
def _cleaner(base: str | None) -> nh3.Cleaner:
    url_relative = ("rewrite_with_base", base) if base is not None else "deny"
    return nh3.Cleaner(
        tags=ALLOWED_TAGS,
        clean_content_tags=REMOVED_WITH_CONTENT,
        attributes=ALLOWED_ATTRIBUTES,
        strip_comments=True,
        link_rel=LINK_REL,
        set_tag_attribute_values={"a": {"target": "_blank"}},
        url_schemes=URL_SCHEMES,
        url_relative=url_relative,
    )


class _TextCollector(HTMLParser):
    """A parser that keeps the text of sanitized HTML, with a space after blocks."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []

    def handle_starttag(self, tag, attrs):
        # A space at each block boundary keeps "<p>a</p><p>b</p>" from reading "ab".
        if tag not in _INLINE_TAGS:
            self.parts.append(" ")

    def handle_endtag(self, tag):
        self.handle_starttag(tag, [])

    def handle_data(self, data):
        self.parts.append(data)

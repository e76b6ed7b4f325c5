"""The three paging styles of Atlassian's APIs, as iterators over whole pages.

- Offset paging (Jira project search, Confluence v1): `startAt`/`maxResults` with
  `total` and `isLast`. When the first page gives a total, later pages are
  independent and can be fetched a few at a time.
- Token paging (Jira `search/jql`): each page names the next one with
  `nextPageToken`, absent on the last page. Pages can only be fetched in order.
- Link paging (Confluence v2): each page's `_links.next` is the next page's URL.

Every iterator stops with InvalidResponse instead of looping forever. It stops
when the server repeats a token or link, or returns an empty offset page that is
not the last. It also stops after more than MAX_EMPTY_PAGES empty token or link
pages in a row. (Servers that
filter by permission may return a short or empty page now and then.)
"""

from __future__ import annotations

import itertools
import logging
from collections import deque
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Protocol, TypeVar

from lib.errors import InvalidResponse

logger = logging.getLogger(__name__)

# Requests in flight at once when offset pages are fetched in parallel: few
# enough to stay clear of Atlassian's per-second rate limits.
MAX_CONCURRENCY = 4

MAX_EMPTY_PAGES = 3

# Offset pages requested ahead of the one being yielded, per worker.
_WINDOW_PER_WORKER = 2


class OffsetPage(Protocol):
    @property
    def items(self) -> tuple: ...
    @property
    def total(self) -> int | None: ...
    @property
    def is_last(self) -> bool: ...
    @property
    def max_results(self) -> int: ...


class TokenPage(Protocol):
    @property
    def items(self) -> tuple: ...
    @property
    def next_token(self) -> str | None: ...


class LinkPage(Protocol):
    @property
    def items(self) -> tuple: ...
    @property
    def next_url(self) -> str | None: ...


P = TypeVar("P")


def iter_offset_pages(
    fetch: Callable[[int, int], P],
    *,
    page_size: int,
    concurrency: int = 1,
    max_pages: int | None = None,
) -> Iterator[P]:
    """Yield offset pages in order, from `fetch(start_at, max_results)`.

    The step between offsets is the page size the server reports on the first
    page, since servers cap `maxResults` (Jira's project search at 100). With a
    total and `concurrency` > 1, the later pages are requested in parallel, at
    most `concurrency` (capped at MAX_CONCURRENCY) at a time, and still yielded
    in order, each as soon as it and the pages before it have arrived.
    """
    first = fetch(0, page_size)
    yield first
    if first.is_last or max_pages == 1:
        return
    step = first.max_results or len(first.items)
    if step <= 0 or not first.items:
        raise _empty_page_error(0)

    if first.total is not None and concurrency > 1:
        yield from _parallel_offsets(fetch, first, step, concurrency, max_pages)
    else:
        yield from _sequential_offsets(fetch, first, step, max_pages)


def _sequential_offsets(fetch, first, step, max_pages) -> Iterator:
    start_at, count = len(first.items), 1
    while max_pages is None or count < max_pages:
        page = fetch(start_at, step)
        count += 1
        yield page
        if page.is_last:
            return
        if not page.items:
            raise _empty_page_error(start_at)
        start_at += len(page.items)


def _parallel_offsets(fetch, first, step, concurrency, max_pages) -> Iterator:
    """Fetch the offsets after the first page with a sliding window of requests,
    so a huge reported total costs memory only for the window."""
    offsets = iter(range(step, first.total, step))
    if max_pages is not None:
        offsets = itertools.islice(offsets, max_pages - 1)
    workers = max(1, min(concurrency, MAX_CONCURRENCY))
    pending: deque = deque()
    with ThreadPoolExecutor(max_workers=workers) as pool:
        try:
            for offset in itertools.islice(offsets, workers * _WINDOW_PER_WORKER):
                pending.append((offset, pool.submit(fetch, offset, step)))
            while pending:
                offset, future = pending.popleft()
                page = future.result()
                yield page
                if page.is_last:
                    return
                if not page.items:
                    raise _empty_page_error(offset)
                for next_offset in itertools.islice(offsets, 1):
                    pending.append((next_offset, pool.submit(fetch, next_offset, step)))
        finally:
            for _, future in pending:
                future.cancel()


def _empty_page_error(start_at: int) -> InvalidResponse:
    return InvalidResponse(
        f"The server returned an empty page at offset {start_at} without saying "
        "it was the last one.",
        hint="Reload the list. If it repeats, the listing changed while paging.",
    )


def repeated_error() -> InvalidResponse:
    return InvalidResponse(
        "The server returned the same next-page token or link twice, so paging "
        "stopped instead of looping.",
        hint="Reload the list. If it repeats, report it to the server's owner.",
    )


def empty_pages_error() -> InvalidResponse:
    return InvalidResponse(
        f"The server returned more than {MAX_EMPTY_PAGES} empty pages in a row, each "
        "pointing to another, so paging stopped.",
        hint="Reload the list. If it repeats, report it to the server's owner.",
    )


def iter_token_pages(
    fetch: Callable[[str | None], P], *, max_pages: int | None = None
) -> Iterator[P]:
    """Yield pages from `fetch(next_page_token)`, starting with None, until a page
    has no next token."""
    seen: set[str] = set()
    token: str | None = None
    count = empty = 0
    while max_pages is None or count < max_pages:
        page = fetch(token)
        count += 1
        yield page
        token = page.next_token
        if not token:
            return
        empty = 0 if page.items else empty + 1
        if empty > MAX_EMPTY_PAGES:
            raise empty_pages_error()
        if token in seen:
            raise repeated_error()
        seen.add(token)


def iter_link_pages(
    fetch_first: Callable[[], P],
    fetch_next: Callable[[str], P],
    *,
    max_pages: int | None = None,
) -> Iterator[P]:
    """Yield the first page, then the page each `next_url` names, until none."""
    seen: set[str] = set()
    page = fetch_first()
    count = 1
    empty = 0 if page.items else 1
    yield page
    while page.next_url and (max_pages is None or count < max_pages):
        if empty > MAX_EMPTY_PAGES:
            raise empty_pages_error()
        if page.next_url in seen:
            raise repeated_error()
        seen.add(page.next_url)
        page = fetch_next(page.next_url)
        count += 1
        empty = 0 if page.items else empty + 1
        yield page

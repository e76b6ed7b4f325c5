import threading
import time
from dataclasses import dataclass

import pytest

from lib import paging
from lib.errors import InvalidResponse


@dataclass(frozen=True)
class Offset:
    items: tuple
    total: int | None
    is_last: bool
    max_results: int


class OffsetServer:
    """Serves `count` numbered items in pages of at most `cap`, like Jira."""

    def __init__(self, count: int, cap: int = 100, send_total: bool = True):
        self.count = count
        self.cap = cap
        self.send_total = send_total
        self.calls: list[int] = []
        self.in_flight = 0
        self.max_in_flight = 0
        self._lock = threading.Lock()

    def __call__(self, start_at: int, max_results: int) -> Offset:
        with self._lock:
            self.calls.append(start_at)
            self.in_flight += 1
            self.max_in_flight = max(self.max_in_flight, self.in_flight)
        time.sleep(0.01)
        size = min(max_results, self.cap)
        items = tuple(range(start_at, min(start_at + size, self.count)))
        with self._lock:
            self.in_flight -= 1
        return Offset(
            items=items,
            total=self.count if self.send_total else None,
            is_last=start_at + size >= self.count,
            max_results=size,
        )


def collect(pages) -> list:
    return [item for page in pages for item in page.items]


@pytest.mark.parametrize("concurrency", [1, 4])
@pytest.mark.parametrize("count", [0, 1, 100, 101, 250, 1000])
def test_offset_reaches_every_item(count, concurrency):
    server = OffsetServer(count)
    pages = paging.iter_offset_pages(server, page_size=100, concurrency=concurrency)
    assert collect(pages) == list(range(count))


def test_offset_uses_server_page_size():
    server = OffsetServer(250, cap=50)
    collect(paging.iter_offset_pages(server, page_size=100))
    assert server.calls == [0, 50, 100, 150, 200]


def test_offset_parallel_stays_within_limit():
    server = OffsetServer(2000, cap=100)
    collect(paging.iter_offset_pages(server, page_size=100, concurrency=10))
    assert server.max_in_flight <= paging.MAX_CONCURRENCY


def test_offset_parallel_runs_concurrently():
    server = OffsetServer(2000, cap=100)
    collect(paging.iter_offset_pages(server, page_size=100, concurrency=4))
    assert server.max_in_flight > 1


def test_offset_without_total_is_sequential():
    server = OffsetServer(300, send_total=False)
    pages = paging.iter_offset_pages(server, page_size=100, concurrency=4)
    assert len(collect(pages)) == 300
    assert server.max_in_flight == 1


def test_offset_max_pages():
    server = OffsetServer(1000)
    pages = list(paging.iter_offset_pages(server, page_size=100, max_pages=3))
    assert len(pages) == 3


def test_offset_empty_page_not_last():
    def fetch(start_at, max_results):
        items = (1, 2) if start_at == 0 else ()
        return Offset(items=items, total=None, is_last=False, max_results=2)

    with pytest.raises(InvalidResponse):
        collect(paging.iter_offset_pages(fetch, page_size=2))


def test_offset_stops_early_when_consumer_stops():
    server = OffsetServer(5000)
    pages = paging.iter_offset_pages(server, page_size=100, concurrency=4)
    next(pages)
    next(pages)
    pages.close()
    assert len(server.calls) < 50


@dataclass(frozen=True)
class Token:
    items: tuple
    next_token: str | None


def test_token_pages_until_absent():
    tokens = {None: ("a", (1, 2)), "a": ("b", (3,)), "b": (None, (4,))}

    def fetch(token):
        next_token, items = tokens[token]
        return Token(items, next_token)

    assert collect(paging.iter_token_pages(fetch)) == [1, 2, 3, 4]


def test_token_single_page():
    assert collect(paging.iter_token_pages(lambda token: Token((1,), None))) == [1]


def test_token_empty_result():
    assert collect(paging.iter_token_pages(lambda token: Token((), None))) == []


def test_token_repeated_stops():
    with pytest.raises(InvalidResponse) as caught:
        collect(paging.iter_token_pages(lambda token: Token((1,), "same")))
    assert "same next-page token or link twice" in caught.value.message


def test_token_max_pages():
    pages = list(
        paging.iter_token_pages(
            lambda token: Token((1,), (token or "") + "x"), max_pages=5
        )
    )
    assert len(pages) == 5


@dataclass(frozen=True)
class Link:
    items: tuple
    next_url: str | None


def test_link_pages_follow_next():
    pages = {"/2": Link((2,), "/3"), "/3": Link((3,), None)}
    result = paging.iter_link_pages(lambda: Link((1,), "/2"), pages.__getitem__)
    assert collect(result) == [1, 2, 3]


def test_link_pages_single():
    result = paging.iter_link_pages(lambda: Link((1,), None), lambda url: None)
    assert collect(result) == [1]


def test_link_repeated_stops():
    with pytest.raises(InvalidResponse):
        collect(
            paging.iter_link_pages(
                lambda: Link((1,), "/x"), lambda url: Link((2,), "/x")
            )
        )


def test_token_empty_pages_with_fresh_tokens_stop():
    counter = iter(range(10_000))

    def fetch(token):
        return Token((), f"t{next(counter)}")

    with pytest.raises(InvalidResponse):
        collect(paging.iter_token_pages(fetch))
    assert next(counter) <= paging.MAX_EMPTY_PAGES + 2


def test_token_few_empty_pages_allowed():
    pages = {None: Token((), "a"), "a": Token((), "b"), "b": Token((1,), None)}
    assert collect(paging.iter_token_pages(pages.__getitem__)) == [1]


def test_link_empty_pages_with_fresh_links_stop():
    counter = iter(range(10_000))
    with pytest.raises(InvalidResponse):
        collect(
            paging.iter_link_pages(
                lambda: Link((), "/0"), lambda url: Link((), f"/{next(counter) + 1}")
            )
        )
    assert next(counter) <= paging.MAX_EMPTY_PAGES + 2


def test_offset_huge_total_uses_window():
    def fetch(start_at, max_results):
        return Offset(items=(start_at,), total=10**12, is_last=False, max_results=1)

    pages = paging.iter_offset_pages(fetch, page_size=1, concurrency=4)
    first_ten = [next(pages) for _ in range(10)]
    pages.close()
    assert [page.items[0] for page in first_ten] == list(range(10))

import pytest
from streamlit.testing.v1 import AppTest

from ui.common import escape_markdown, format_duration


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("**bold**", "\\*\\*bold\\*\\*"),
        ("[x](javascript:alert(1))", "\\[x\\]\\(javascript\\:alert\\(1\\)\\)"),
        (":red[boom]", "\\:red\\[boom\\]"),
        ("<b>tag</b>", "\\<b\\>tag\\<\\/b\\>"),
        ("plain words", "plain words"),
    ],
)
def test_escape_markdown(text, expected):
    assert escape_markdown(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("see http://x.test/a now", "see `http://x.test/a` now"),
        ("HTTPS://x.test", "`HTTPS://x.test`"),
        ("www.x.test", "`www.x.test`"),
        ("mail zoe@example.test", "mail `zoe@example.test`"),
        ("[a](https://x.test)", "\\[a\\]\\(`https://x.test)`"),
    ],
)
def test_escape_markdown_puts_addresses_in_code(text, expected):
    assert escape_markdown(text) == expected


@pytest.mark.parametrize(
    ("seconds", "expected"),
    [
        (-5, "expired"),
        (0, "expired"),
        (12, "12 s"),
        (245, "4 min 05 s"),
        (3720, "1 h 02 min"),
    ],
)
def test_format_duration(seconds, expected):
    assert format_duration(seconds) == expected


def growing_table_script():
    import streamlit as st

    from ui.explore import GrowingTable

    calls = st.session_state.setdefault("built", [])
    table = GrowingTable()
    for page in range(100):
        table.show(lambda page=page: calls.append(page) or [{"page": page}])


def test_growing_table_redraws_at_most_twice_a_second(monkeypatch):
    moments = iter(range(0, 10_000, 1))
    monkeypatch.setattr("ui.explore.time.monotonic", lambda: next(moments) / 10)
    at = AppTest.from_function(growing_table_script)
    at.run()
    assert not at.exception
    # One step of the fake clock is 0.1 s: a redraw every fifth page.
    assert at.session_state["built"] == list(range(0, 100, 5))

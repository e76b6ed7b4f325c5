import pytest

from ui.common import WORD_JOINER, escape_markdown, format_duration


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


@pytest.mark.parametrize("text", ["http://x.test/a", "HTTPS://x.test", "www.x.test"])
def test_escape_markdown_breaks_autolinks(text):
    escaped = escape_markdown(text)
    assert WORD_JOINER in escaped
    assert escaped.replace(WORD_JOINER, "").replace("\\", "") == text


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

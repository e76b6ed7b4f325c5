import pytest

from lib import credentials, settings
from lib.errors import InvalidInput


@pytest.mark.parametrize(
    ("value", "fragment"),
    [
        (None, "is empty"),
        ("", "is empty"),
        ("   \t", "is empty"),
        ('"abc123"', "quote mark"),
        ("'abc123'", "quote mark"),
        ("“abc123”", "quote mark"),
        ("abc\n123", "spaces or line breaks"),
        ("abc 123", "spaces or line breaks"),
        ("abcé123", "not plain ASCII"),
        ("abc\x00123", "not plain ASCII"),
        ("a" * 600, "characters long"),
    ],
)
def test_client_id_rejected(value, fragment):
    with pytest.raises(InvalidInput) as caught:
        credentials.validate_client_id(value)
    assert fragment in caught.value.message
    assert caught.value.field == "client_id"


def test_client_id_stripped():
    assert credentials.validate_client_id("  Abc123xyz \n") == "Abc123xyz"


def test_client_id_error_names_value():
    with pytest.raises(InvalidInput) as caught:
        credentials.validate_client_id("abc 123")
    assert "'abc 123'" in caught.value.message


def test_client_secret_error_hides_value():
    with pytest.raises(InvalidInput) as caught:
        credentials.validate_client_secret('"super-secret-value"')
    assert "super-secret-value" not in caught.value.message
    assert "super-secret-value" not in caught.value.hint


def test_client_secret_rejects_line_break():
    with pytest.raises(InvalidInput) as caught:
        credentials.validate_client_secret("ATOA\nsecret")
    assert caught.value.field == "client_secret"


@pytest.mark.parametrize(
    ("value", "fragment"),
    [
        ("", "is empty"),
        ("   ", "is empty"),
        ("/callback", "is relative"),
        ("localhost:8501/callback", "missing http:// or https://"),
        ("ftp://localhost/callback", "scheme 'ftp'"),
        ("javascript:alert(1)", "scheme 'javascript'"),
        ("http:///callback", "no valid host"),
        ("http://localhost:0/callback", "no valid host"),
        ("http://[::1]]:8501/callback", "invalid host or port"),
        ("http://[::1:8501/callback", "invalid host or port"),
        ("https://[x]/callback", "invalid host or port"),
        ("https://exa_mple.test/callback", "no valid host"),
        ("'https://example.test/callback", "quote mark"),
        ("https://example.test/callback'", "quote mark"),
        ("http://localhost:8501/call\u200bback", "invisible or non-ASCII"),
        ("http://localhost:8501/call\x00back", "invisible or non-ASCII"),
        ("http://localhost:8501/callback?code=x", "already contains code="),
        ("http://localhost:8501/callback?state=1&x=2", "already contains state="),
        ("http://localhost/" + "a" * 3000, "characters long"),
        ("http://localhost:8501/callback#top", "fragment"),
        ("http://user:pw@localhost/callback", "user name or password"),
        ("http://example.test/callback", "plain http"),
        ("http://localhost:99999/callback", "invalid host or port"),
        ("http://local host/callback", "spaces"),
        ("http://localhost:8501/\ncallback", "line breaks"),
    ],
)
def test_redirect_uri_rejected(value, fragment):
    with pytest.raises(InvalidInput) as caught:
        credentials.validate_redirect_uri(value)
    assert fragment in caught.value.message
    assert caught.value.field == "redirect_uri"


@pytest.mark.parametrize(
    "value",
    [
        "http://localhost:8501/callback",
        "http://127.0.0.1:8501/callback",
        "http://[::1]:8501/callback",
        "https://dashboard.example.test/oauth/callback",
        "https://dashboard.example.test/cb?tenant=1",
    ],
)
def test_redirect_uri_accepted(value):
    assert credentials.validate_redirect_uri(f" {value} ") == value


def test_collect_errors_reports_each_field():
    errors = credentials.collect_errors("", "", "nope")
    assert set(errors) == {"client_id", "client_secret", "redirect_uri"}


def test_collect_errors_empty_when_valid():
    errors = credentials.collect_errors(
        "abc", "fake-secret", "http://localhost:8501/callback"
    )
    assert errors == {}


def test_credentials_repr_hides_secret():
    valid = credentials.validate_credentials(
        "abc", "fake-secret-123", "http://localhost:8501/callback"
    )
    assert "fake-secret-123" not in repr(valid)


@pytest.mark.parametrize(
    ("redirect", "app", "expected"),
    [
        ("http://localhost:8501/callback", "http://localhost:8501/consent", True),
        ("http://localhost:8501/callback/", "http://localhost:8501/", True),
        ("http://127.0.0.1:8501/callback", "http://localhost:8501/", True),
        ("http://localhost:8502/callback", "http://localhost:8501/", False),
        ("http://localhost:8501/oauth/callback", "http://localhost:8501/", False),
        ("https://example.test/callback", "http://localhost:8501/", False),
        ("https://dash.example.test/callback", "https://dash.example.test/x", True),
    ],
)
def test_is_served_by(redirect, app, expected):
    assert credentials.is_served_by(redirect, app, "/callback") is expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (None, ""),
        ("", ""),
        ("short", "••••••••"),
        ("ATOAabcdefghijklmnopWXYZ", "••••••••WXYZ"),
    ],
)
def test_mask_secret(value, expected):
    assert credentials.mask_secret(value) == expected


def test_callback_url_writes_loopback_as_localhost():
    url = settings.callback_url(
        "http://127.0.0.1:8599/consent", loopback_name="localhost"
    )
    assert url == "http://localhost:8599/callback"


def test_callback_url_keeps_other_hosts():
    url = settings.callback_url(
        "https://dash.example.test/x", loopback_name="localhost"
    )
    assert url == "https://dash.example.test/callback"

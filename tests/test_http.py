import logging

import pytest
import requests
import responses

from lib.atlassian import get_json
from lib.errors import NetworkError
from lib.http import BearerAuth, DisallowedHost, RequestLog, create_session

TOKEN = "fake-access-token-5150"


def test_bearer_auth_repr_hides_token():
    auth = BearerAuth(TOKEN, frozenset({"https://api.example.test"}))
    assert TOKEN not in repr(auth)


@responses.activate
def test_bearer_auth_sent_to_allowed_host():
    responses.get("https://api.example.test/me", json={})
    session = create_session(
        auth=BearerAuth(TOKEN, frozenset({"https://api.example.test"}))
    )
    session.get("https://api.example.test/me")
    assert responses.calls[0].request.headers["Authorization"] == f"Bearer {TOKEN}"


@pytest.mark.parametrize(
    "url",
    [
        "https://evil.example.test/me",
        "https://api.example.test.evil.test/me",
        "https://api.example.test:8443/me",
    ],
)
def test_bearer_auth_refuses_other_hosts(url):
    session = create_session(
        auth=BearerAuth(TOKEN, frozenset({"https://api.example.test"}))
    )
    with pytest.raises(DisallowedHost) as caught:
        session.get(url)
    assert TOKEN not in str(caught.value)


@responses.activate
def test_redirect_to_other_host_drops_token():
    responses.get(
        "https://api.example.test/x",
        status=302,
        headers={"Location": "https://other.example.test/y"},
    )
    responses.get("https://other.example.test/y", json={})
    session = create_session(
        auth=BearerAuth(TOKEN, frozenset({"https://api.example.test"}))
    )
    session.get("https://api.example.test/x")
    assert "Authorization" not in responses.calls[1].request.headers


@responses.activate
def test_request_log_records_calls():
    responses.get("https://api.example.test/a/b", json={}, status=404)
    log = RequestLog()
    session = create_session(request_log=log, retries=False)
    session.get("https://api.example.test/a/b", params={"q": "hidden"})
    record = log.records()[0]
    assert record.method == "GET"
    assert record.path == "/a/b"
    assert record.status == 404
    assert "hidden" not in repr(record)


@responses.activate
def test_request_log_records_network_failure():
    responses.get("https://api.example.test/a", body=requests.ConnectionError("x"))
    log = RequestLog()
    session = create_session(request_log=log, retries=False)
    with pytest.raises(NetworkError):
        get_json(session, "https://api.example.test/a")
    record = log.records()[0]
    assert record.status is None
    assert record.error == "ConnectionError"


def test_request_log_keeps_newest():
    log = RequestLog(limit=3)
    for number in range(5):
        log.add(number)
    assert log.records() == [4, 3, 2]


@responses.activate
def test_log_line_has_no_query_or_token(caplog):
    caplog.set_level(logging.DEBUG, logger="lib")
    responses.get("https://api.example.test/a", json={})
    session = create_session(
        auth=BearerAuth(TOKEN, frozenset({"https://api.example.test"}))
    )
    session.get("https://api.example.test/a", params={"jql": "secret words"})
    assert "GET api.example.test/a -> 200" in caplog.text
    assert "secret words" not in caplog.text
    assert TOKEN not in caplog.text


@responses.activate
def test_default_timeout_applied():
    responses.get("https://api.example.test/a", json={})
    session = create_session()
    session.get("https://api.example.test/a")
    assert responses.calls[0].request.req_kwargs["timeout"] == (5.0, 30.0)

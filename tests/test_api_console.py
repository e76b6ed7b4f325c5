"""lib.api_console: building requests, snippets, and sending to a local sandbox."""

import ast
import json
import os
import shlex
import shutil
import socket
import subprocess
import sys

import pytest
import requests
import responses

from lib import api_console, atlassian, oauth
from lib.api_console import (
    MASK,
    TOKEN_PLACEHOLDER,
    build_request,
    curl_command,
    python_snippet,
    send,
)
from lib.atlassian import Endpoints
from lib.errors import InvalidInput, NetworkError
from lib.http import BearerAuth, create_session
from lib.sandbox import SandboxConfig, SandboxServer
from lib.sandbox.consent import approve

CLOUD_ID = "500ecfab-bb88-519d-9909-ce014988d02e"
OTHER_CLOUD_ID = "b94f9506-abc5-5cb1-a345-fde1760cec48"
ATLASSIAN = Endpoints(
    auth_base="https://auth.atlassian.com", api_base="https://api.atlassian.com"
)
JIRA = f"https://api.atlassian.com/ex/jira/{CLOUD_ID}"
CONFLUENCE = f"https://api.atlassian.com/ex/confluence/{CLOUD_ID}"
FAKE_TOKEN = "fake-console-token-0123456789"
BASH = shutil.which("bash")
CURL = shutil.which("curl")
BASE_SENTENCE = "The access token is only sent to the configured Atlassian API base"

CLIENT_ID = "console-test-client"
CLIENT_SECRET = "fake-console-secret"
REDIRECT_URI = "http://localhost:8501/callback"
JIRA_SCOPES = ("read:jira-work", "read:jira-user")


def jira_request(path, **fields):
    return build_request(ATLASSIAN, CLOUD_ID, "jira", "GET", path, **fields)


# Paths ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("product", "path", "url"),
    [
        ("jira", "/rest/api/3/myself", f"{JIRA}/rest/api/3/myself"),
        ("jira", "rest/api/3/myself", f"{JIRA}/rest/api/3/myself"),
        ("jira", "  /rest/api/3/myself\n", f"{JIRA}/rest/api/3/myself"),
        ("jira", f"{JIRA}/rest/api/3/myself", f"{JIRA}/rest/api/3/myself"),
        (
            "jira",
            f"HTTPS://API.Atlassian.com/ex/jira/{CLOUD_ID}/rest/api/3/myself",
            f"{JIRA}/rest/api/3/myself",
        ),
        (
            "jira",
            f"https://api.atlassian.com:443/ex/jira/{CLOUD_ID}/rest/api/3/myself",
            f"{JIRA}/rest/api/3/myself",
        ),
        (
            "confluence",
            "/wiki/api/v2/spaces?limit=5",
            f"{CONFLUENCE}/wiki/api/v2/spaces",
        ),
        (
            "confluence",
            f"{CONFLUENCE}/wiki/api/v2/spaces?cursor=abc%3D",
            f"{CONFLUENCE}/wiki/api/v2/spaces",
        ),
        (
            "jira",
            "/rest/api/3/issue/ЖУК-1",
            f"{JIRA}/rest/api/3/issue/%D0%96%D0%A3%D0%9A-1",
        ),
        (
            "jira",
            "/rest/api/3/issue/%D0%96%D0%A3%D0%9A-1",
            f"{JIRA}/rest/api/3/issue/%D0%96%D0%A3%D0%9A-1",
        ),
        (
            "jira",
            "/rest/api/3/issue/Ж%D0%A3К-1",
            f"{JIRA}/rest/api/3/issue/%D0%96%D0%A3%D0%9A-1",
        ),
        ("jira", "/rest/api/3/project/100%", f"{JIRA}/rest/api/3/project/100%25"),
        ("jira", "/rest/api/3/a:b@c;d=e", f"{JIRA}/rest/api/3/a:b@c;d=e"),
        ("jira", '/rest/api/3/x"<>{}|', f"{JIRA}/rest/api/3/x%22%3C%3E%7B%7D%7C"),
        ("jira", "/rest/api/3/myself?", f"{JIRA}/rest/api/3/myself"),
    ],
)
def test_path_accepted(product, path, url):
    request = build_request(ATLASSIAN, CLOUD_ID, product, "GET", path)
    assert request.url == url


@pytest.mark.parametrize(
    ("path", "fragment"),
    [
        ("", "The path is empty"),
        ("   \n", "The path is empty"),
        ("/", "names the jira base itself"),
        ("?maxResults=1", "names the jira base itself"),
        (JIRA, "names the jira base itself"),
        (f"{JIRA}/", "names the jira base itself"),
        ("/" + "a" * 2001, "2,002 characters long"),
        ("/rest/api/3/my self", "U+0020 at position 15"),
        ("/rest/api/3/myself\x00", "U+0000"),
        ("/rest/\tapi/3/myself", "U+0009"),
        ("/rest/api/3/\u200bmyself", "U+200B"),
        ("/rest/api/3/\u00a0myself", "U+00A0"),
        ("/rest/api/3/myself\\..\\x", "backslash at position 19"),
        ("https:\\\\evil.test/x", "backslash"),
        ("/rest/api/3/myself#top", "fragment (#) at position 19"),
        ("/rest/api/3/../../../oauth/token", "'..' segment"),
        ("/rest/api/3/%2e%2e/%2E%2E/me", "'..' segment"),
        ("/rest/api/3/%252e%252e/x", "'..' segment"),
        ("/rest/api/3/..;/x", "'..' segment"),
        ("/rest/api/3/.%2e%2fx", "'..' segment"),
        (f"{JIRA}/rest/../../confluence/{CLOUD_ID}/x", "'..' segment"),
        ("/rest/./api/3/myself", "'.' segment"),
    ],
)
def test_path_rejected(path, fragment):
    with pytest.raises(InvalidInput) as caught:
        jira_request(path)
    assert fragment in caught.value.message
    assert caught.value.field == "path"
    assert caught.value.hint


FOREIGN_URLS = [
    (
        f"https://api.atlassian.com/ex/jira/{OTHER_CLOUD_ID}/rest/api/3/myself",
        f"starts with '/ex/jira/{OTHER_CLOUD_ID}', not with the jira base path",
    ),
    (
        f"{CONFLUENCE}/wiki/api/v2/spaces",
        f"starts with '/ex/confluence/{CLOUD_ID}'",
    ),
    (f"https://api.atlassian.com/ex/jira/{CLOUD_ID}x/rest", "not with the jira"),
    (
        f"https://api.atlassian.com.evil.test/ex/jira/{CLOUD_ID}/rest/api/3/myself",
        "host api.atlassian.com.evil.test is not the API host api.atlassian.com",
    ),
    (
        f"https://api.atlassian.com@evil.test/ex/jira/{CLOUD_ID}/rest/api/3/myself",
        "user information before its host evil.test",
    ),
    (
        f"https://user:pw@api.atlassian.com/ex/jira/{CLOUD_ID}/rest/api/3/myself",
        "user information before its host api.atlassian.com",
    ),
    ("//evil.test/x", "names the host evil.test"),
    (
        f"http://api.atlassian.com/ex/jira/{CLOUD_ID}/rest/api/3/myself",
        "scheme is http: but the API base uses https:",
    ),
    (f"ftp://api.atlassian.com/ex/jira/{CLOUD_ID}/x", "scheme is ftp:"),
    ("javascript:alert(1)", "scheme is javascript:"),
    (
        f"https://api.atlassian.com:8443/ex/jira/{CLOUD_ID}/rest/api/3/myself",
        "host api.atlassian.com:8443 is not the API host",
    ),
    (
        f"https://api.atlassian.com:99999/ex/jira/{CLOUD_ID}/rest/api/3/myself",
        "port is not a number from 0 to 65535",
    ),
    ("https:///ex/jira/x", "host (missing)"),
]


@pytest.mark.parametrize(("url", "fragment"), FOREIGN_URLS)
def test_foreign_url_rejected(url, fragment):
    with pytest.raises(InvalidInput) as caught:
        jira_request(url)
    assert fragment in caught.value.message
    assert caught.value.field == "path"


@pytest.mark.parametrize("url", [url for url, _ in FOREIGN_URLS])
def test_foreign_url_names_api_base(url):
    with pytest.raises(InvalidInput) as caught:
        jira_request(url)
    assert f"{BASE_SENTENCE}, {JIRA}." in caught.value.message
    assert f"starts with {JIRA}/" in caught.value.hint


def test_userinfo_password_not_in_message():
    url = f"https://user:pw-fake-9876@api.atlassian.com/ex/jira/{CLOUD_ID}/x"
    with pytest.raises(InvalidInput) as caught:
        jira_request(url)
    assert "pw-fake-9876" not in caught.value.message
    assert "pw-fake-9876" not in caught.value.hint


def test_sandbox_base_accepts_own_port():
    endpoints = Endpoints(
        auth_base="http://127.0.0.1:8599", api_base="http://127.0.0.1:8599"
    )
    base = f"http://127.0.0.1:8599/ex/jira/{CLOUD_ID}"
    request = build_request(
        endpoints, CLOUD_ID, "jira", "GET", f"{base}/rest/api/3/myself"
    )
    assert request.url == f"{base}/rest/api/3/myself"


def test_sandbox_base_rejects_default_port():
    endpoints = Endpoints(
        auth_base="http://127.0.0.1:8599", api_base="http://127.0.0.1:8599"
    )
    with pytest.raises(InvalidInput) as caught:
        build_request(
            endpoints,
            CLOUD_ID,
            "jira",
            "GET",
            f"http://127.0.0.1/ex/jira/{CLOUD_ID}/rest/api/3/myself",
        )
    assert "host 127.0.0.1 is not the API host 127.0.0.1:8599" in caught.value.message


@pytest.mark.parametrize(
    ("changes", "field", "fragment"),
    [
        ({"product": "bitbucket"}, "product", "'bitbucket' is not jira or confluence"),
        ({"product": "Jira"}, "product", "'Jira' is not jira or confluence"),
        ({"method": "HEAD"}, "method", "'HEAD' is not one of GET, POST"),
        ({"method": ""}, "method", "'' is not one of"),
        ({"cloud_id": ""}, "cloud_id", "The cloud id '' is invalid"),
        ({"cloud_id": "../oauth"}, "cloud_id", "The cloud id '../oauth' is invalid"),
        ({"cloud_id": "a/b"}, "cloud_id", "only letters, digits and hyphens"),
    ],
)
def test_field_rejected(changes, field, fragment):
    fields = {
        "cloud_id": CLOUD_ID,
        "product": "jira",
        "method": "GET",
        "path": "/rest/api/3/myself",
        **changes,
    }
    with pytest.raises(InvalidInput) as caught:
        build_request(ATLASSIAN, **fields)
    assert fragment in caught.value.message
    assert caught.value.field == field


@pytest.mark.parametrize("method", ["get", " Post ", "PATCH", "delete", "put"])
def test_method_case_insensitive(method):
    request = build_request(ATLASSIAN, CLOUD_ID, "jira", method, "/rest/api/3/x")
    assert request.method == method.strip().upper()


def test_request_records_product():
    request = build_request(ATLASSIAN, CLOUD_ID, "confluence", "GET", "/wiki/x")
    assert request.product == "confluence"


# Query ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("query", "params"),
    [
        ("", ()),
        ("\n  \n", ()),
        ("a=1&b=2", (("a", "1"), ("b", "2"))),
        ("a=1\nb=2", (("a", "1"), ("b", "2"))),
        ("a=1\r\n\r\n  \nb=2\n", (("a", "1"), ("b", "2"))),
        ("\n\njql=project = CAFE\n", (("jql", "project = CAFE"),)),
        ("expand=names&expand=schema", (("expand", "names"), ("expand", "schema"))),
        ("expand=names\nexpand=schema", (("expand", "names"), ("expand", "schema"))),
        ("cql=type=page", (("cql", "type=page"),)),
        ("jql=project%20%3D%20CAFE", (("jql", "project = CAFE"),)),
        ("q=a+b", (("q", "a b"),)),
        ("q=a+b\nx=1", (("q", "a+b"), ("x", "1"))),
        ("q=R%26D\nx=1", (("q", "R%26D"), ("x", "1"))),
        (
            'jql=summary ~ "R&D"\nmaxResults=5',
            (("jql", 'summary ~ "R&D"'), ("maxResults", "5")),
        ),
        ("a=&b=2", (("a", ""), ("b", "2"))),
        ("a=1&&b=2&", (("a", "1"), ("b", "2"))),
        (" maxResults = 5 \nstartAt=0", (("maxResults", "5"), ("startAt", "0"))),
        ("query=Übung", (("query", "Übung"),)),
    ],
)
def test_query_parsed(query, params):
    assert jira_request("/rest/api/3/project/search", query=query).params == params


def test_path_query_comes_first():
    request = jira_request("/rest/api/3/project/search?a=1&b=2", query="c=3\na=4")
    assert request.params == (("a", "1"), ("b", "2"), ("c", "3"), ("a", "4"))


def test_path_query_decoded():
    request = jira_request("/rest/api/3/search/jql?jql=key%20%3D%20CAFE-1&x=a+b")
    assert request.params == (("jql", "key = CAFE-1"), ("x", "a b"))


@pytest.mark.parametrize(
    ("path", "query", "field", "fragment"),
    [
        ("/x", "a=1\nflag\nb=2", "query", "Line 2 of the query, 'flag', has no '='"),
        ("/x", "\n\na=1\n\nflag", "query", "Line 5 of the query"),
        ("/x", "flag", "query", "The query has a part without '=': 'flag'"),
        ("/x", 'jql=summary ~ "R&D"', "query", "part without '=': 'D\"'"),
        ("/x", "=1", "query", "The query has a parameter with an empty name"),
        ("/x", "a=1\n=2", "query", "Line 2 of the query has a parameter with an empty"),
        ("/x?flag", "", "path", "The query in the path has a part without '='"),
        ("/x?=1", "", "path", "The query in the path has a parameter with an empty"),
    ],
)
def test_query_rejected(path, query, field, fragment):
    with pytest.raises(InvalidInput) as caught:
        jira_request(path, query=query)
    assert fragment in caught.value.message
    assert caught.value.field == field


def test_full_url_encodes_params():
    request = jira_request("/rest/api/3/search/jql", query="jql=a = b\nfields=*all")
    expected = f"{JIRA}/rest/api/3/search/jql?jql=a+%3D+b&fields=%2Aall"
    assert request.full_url == expected


def test_full_url_without_params():
    assert jira_request("/rest/api/3/myself").full_url == f"{JIRA}/rest/api/3/myself"


# Body ----------------------------------------------------------------------------


def post_request(body, method="POST"):
    return build_request(
        ATLASSIAN, CLOUD_ID, "jira", method, "/rest/api/3/search/jql", body=body
    )


@pytest.mark.parametrize(
    ("method", "body", "expected"),
    [
        ("POST", "", None),
        ("POST", "  \n ", None),
        ("GET", "   ", None),
        ("DELETE", "\n", None),
        ("POST", '{"jql": "project = CAFE"}', {"jql": "project = CAFE"}),
        ("PUT", " [1, 2.5, true, null] ", [1, 2.5, True, None]),
        ("PATCH", '"text"', "text"),
        ("POST", '{"name": "Übung 🚀"}', {"name": "Übung 🚀"}),
        ("post", "0", 0),
    ],
)
def test_body_accepted(method, body, expected):
    assert post_request(body, method).json_body == expected


@pytest.mark.parametrize(
    ("method", "body", "fragment"),
    [
        ("GET", '{"a": 1}', "sends GET requests without a body"),
        ("DELETE", "{}", "sends DELETE requests without a body"),
        ("POST", '{\n  "a": 1\n  "b": 2\n}', "line 3, column 3"),
        ("POST", "{'a': 1}", "The body is not valid JSON"),
        ("PUT", "project = CAFE", "line 1, column 1"),
        ("POST", '{"a": NaN}', "The body contains NaN"),
        ("POST", "-Infinity", "The body contains -Infinity"),
        ("POST", '{"n": 1e999}', "'1e999' in the body is too large"),
        ("POST", "1" * 5000, "too many digits"),
        ("POST", "[" * 100_000 + "]" * 100_000, "nests arrays or objects too deeply"),
        ("POST", "null", "JSON value null"),
        ("POST", '"' + "a" * (1024 * 1024) + '"', "1,048,578 bytes"),
    ],
)
def test_body_rejected(method, body, fragment):
    with pytest.raises(InvalidInput) as caught:
        post_request(body, method)
    assert fragment in caught.value.message
    assert caught.value.field == "body"
    assert caught.value.hint


def test_body_size_counts_utf8_bytes():
    body = '"' + "ü" * (512 * 1024) + '"'
    with pytest.raises(InvalidInput) as caught:
        post_request(body)
    assert "1,048,578 bytes" in caught.value.message


def test_body_at_size_limit_accepted():
    body = '"' + "a" * (1024 * 1024 - 2) + '"'
    assert len(post_request(body).json_body) == 1024 * 1024 - 2


# Snippets ------------------------------------------------------------------------


SEARCH_BODY = {"jql": "summary ~ \"O'Brien\" AND text ~ 'Übung'", "fields": ["summary"]}


def get_request():
    return jira_request(
        "/rest/api/3/project/search?orderBy=key",
        query="query=O'Brien & Co\nmaxResults=5",
    )


def search_request():
    return build_request(
        ATLASSIAN,
        CLOUD_ID,
        "jira",
        "POST",
        "/rest/api/3/search/jql",
        body=json.dumps(SEARCH_BODY, ensure_ascii=False),
    )


def test_curl_get_argv():
    request = get_request()
    assert shlex.split(curl_command(request)) == [
        "curl",
        "-sS",
        "-X",
        "GET",
        f"{JIRA}/rest/api/3/project/search"
        "?orderBy=key&query=O%27Brien+%26+Co&maxResults=5",
        "-H",
        f"Authorization: Bearer {TOKEN_PLACEHOLDER}",
        "-H",
        "Accept: application/json",
    ]


def test_curl_post_argv():
    assert shlex.split(curl_command(search_request())) == [
        "curl",
        "-sS",
        "-X",
        "POST",
        f"{JIRA}/rest/api/3/search/jql",
        "-H",
        f"Authorization: Bearer {TOKEN_PLACEHOLDER}",
        "-H",
        "Accept: application/json",
        "-H",
        "Content-Type: application/json",
        "--data",
        json.dumps(SEARCH_BODY),
    ]


@pytest.mark.parametrize("make_request", [get_request, search_request])
def test_curl_is_one_line(make_request):
    assert "\n" not in curl_command(make_request())


@pytest.mark.parametrize("make_request", [get_request, search_request])
def test_curl_uses_placeholder(make_request):
    command = curl_command(make_request())
    assert f'-H "Authorization: Bearer {TOKEN_PLACEHOLDER}"' in command


@pytest.mark.skipif(BASH is None, reason="bash is not installed")
@pytest.mark.parametrize("make_request", [get_request, search_request])
def test_curl_expands_token_in_bash(make_request):
    """bash expands only the token variable; every other argument stays literal."""
    command = curl_command(make_request())
    script = 'curl() { printf "%s\\0" "$@"; }\n' + command
    result = subprocess.run(
        [BASH, "-c", script],
        env={"PATH": os.environ.get("PATH", ""), "ATLASSIAN_ACCESS_TOKEN": FAKE_TOKEN},
        capture_output=True,
        check=True,
    )
    argv = result.stdout.decode("utf-8").split("\0")[:-1]
    expected = shlex.split(command)[1:]
    expected[expected.index(f"Authorization: Bearer {TOKEN_PLACEHOLDER}")] = (
        f"Authorization: Bearer {FAKE_TOKEN}"
    )
    assert argv == expected


@pytest.mark.skipif(BASH is None, reason="bash is not installed")
@pytest.mark.parametrize("email", ["dev@example.test", 'o"brien$x`y\\z@example.test'])
def test_curl_basic_auth_expands_api_token_in_bash(email):
    """With an email, curl gets -u email:token and only the token is expanded."""
    command = curl_command(get_request(), basic_auth_email=email)
    script = 'curl() { printf "%s\\0" "$@"; }\n' + command
    result = subprocess.run(
        [BASH, "-c", script],
        env={"PATH": os.environ.get("PATH", ""), "ATLASSIAN_API_TOKEN": FAKE_TOKEN},
        capture_output=True,
        check=True,
    )
    argv = result.stdout.decode("utf-8").split("\0")[:-1]
    assert argv[argv.index("-u") + 1] == f"{email}:{FAKE_TOKEN}"
    assert "Authorization" not in command


def test_python_snippet_basic_auth():
    source = python_snippet(get_request(), basic_auth_email="dev@example.test")
    compile(source, "snippet.py", "exec")
    assert 'os.environ["ATLASSIAN_API_TOKEN"]' in source
    assert "auth=('dev@example.test', token)" in source
    assert "Bearer" not in source


def assigned_literals(source):
    """Return the literal values assigned to names at the top of a script."""
    values = {}
    for node in ast.parse(source).body:
        if isinstance(node, ast.Assign) and isinstance(node.targets[0], ast.Name):
            try:
                values[node.targets[0].id] = ast.literal_eval(node.value)
            except ValueError:
                continue
    return values


@pytest.mark.parametrize("make_request", [get_request, search_request])
def test_python_snippet_compiles(make_request):
    source = python_snippet(make_request())
    assert compile(source, "snippet.py", "exec")


@pytest.mark.parametrize("make_request", [get_request, search_request])
def test_python_snippet_reads_env_token(make_request):
    source = python_snippet(make_request())
    assert 'os.environ["ATLASSIAN_ACCESS_TOKEN"]' in source


@pytest.mark.parametrize("make_request", [get_request, search_request])
def test_python_snippet_has_timeout(make_request):
    assert "timeout=30" in python_snippet(make_request())


def test_python_snippet_get_values():
    request = get_request()
    values = assigned_literals(python_snippet(request))
    assert values["url"] == request.url
    assert values["params"] == list(request.params)
    assert "body" not in values


def test_python_snippet_post_values():
    request = search_request()
    values = assigned_literals(python_snippet(request))
    assert values["url"] == request.url
    assert values["body"] == SEARCH_BODY
    assert "params" not in values


def test_python_snippet_sends_method():
    source = python_snippet(search_request())
    assert "requests.request(\n    'POST',\n    url," in source


def test_python_snippet_large_body():
    body = {"items": [{"id": n, "name": f"item {n} " * 20} for n in range(200)]}
    request = post_request(json.dumps(body))
    values = assigned_literals(python_snippet(request))
    assert values["body"] == body


@pytest.mark.parametrize("make_request", [get_request, search_request])
@pytest.mark.parametrize("render", [curl_command, python_snippet])
def test_snippet_has_no_token(make_request, render):
    assert FAKE_TOKEN not in render(make_request())


# Sending to the sandbox ----------------------------------------------------------


@pytest.fixture(scope="module")
def sandbox():
    with SandboxServer(SandboxConfig()) as server:
        server.register_client(CLIENT_ID, CLIENT_SECRET, REDIRECT_URI, name="Console")
        yield server


@pytest.fixture(scope="module")
def sandbox_endpoints(sandbox):
    return Endpoints(auth_base=sandbox.base_url, api_base=sandbox.base_url)


@pytest.fixture(scope="module")
def access_token(sandbox, sandbox_endpoints):
    """Consent to the Jira scopes on practice-cloud and return the access token."""
    server = atlassian.authorization_server(sandbox_endpoints)
    url = oauth.create_authorization_url(
        server,
        client_id=CLIENT_ID,
        redirect_uri=REDIRECT_URI,
        scopes=JIRA_SCOPES,
        state=oauth.generate_state(),
    )
    callback = oauth.parse_callback(approve(url, site_name="practice-cloud"))
    with create_session() as token_session:
        tokens = oauth.fetch_token(
            token_session,
            server,
            client_id=CLIENT_ID,
            client_secret=CLIENT_SECRET,
            code=callback.code,
            redirect_uri=REDIRECT_URI,
        )
    return tokens.access_token


@pytest.fixture
def session(access_token, sandbox_endpoints):
    with create_session(
        auth=BearerAuth(access_token, sandbox_endpoints.api_origins)
    ) as opened:
        yield opened


def sandbox_request(endpoints, path, product="jira", method="GET", **fields):
    return build_request(endpoints, CLOUD_ID, product, method, path, **fields)


def test_send_json_200(session, sandbox_endpoints):
    request = sandbox_request(sandbox_endpoints, "/rest/api/3/myself")
    response = send(session, request)
    assert response.status == 200
    assert response.reason == "OK"
    assert response.json["active"] is True
    assert json.loads(response.text) == response.json
    assert response.url == request.full_url
    assert not response.truncated
    assert response.elapsed_ms > 0


def test_send_keeps_content_type(session, sandbox_endpoints):
    response = send(session, sandbox_request(sandbox_endpoints, "rest/api/3/myself"))
    content_types = [
        value for name, value in response.headers if name.lower() == "content-type"
    ]
    assert content_types == ["application/json"]


def test_send_query_params(session, sandbox_endpoints):
    request = sandbox_request(
        sandbox_endpoints,
        "/rest/api/3/project/search?orderBy=key",
        query="maxResults=2\nstartAt=3",
    )
    response = send(session, request)
    assert response.status == 200
    assert len(response.json["values"]) == 2
    assert response.json["startAt"] == 3
    assert response.url == request.full_url


def test_send_full_url_path(session, sandbox_endpoints):
    base = sandbox_endpoints.jira_base(CLOUD_ID)
    request = sandbox_request(
        sandbox_endpoints, f"{base}/rest/api/3/project/search?maxResults=1"
    )
    assert len(send(session, request).json["values"]) == 1


def test_send_post_json_body(session, sandbox_endpoints):
    request = sandbox_request(
        sandbox_endpoints,
        "/rest/api/3/search/jql",
        method="POST",
        body='{"jql": "project = CAFE", "maxResults": 3, "fields": ["summary"]}',
    )
    response = send(session, request)
    assert response.status == 200
    assert len(response.json["issues"]) == 3


def test_send_404_returned(session, sandbox_endpoints):
    request = sandbox_request(sandbox_endpoints, "/rest/api/3/issue/NOPE-999999")
    response = send(session, request)
    assert response.status == 404
    assert response.reason == "Not Found"
    assert "Issue does not exist" in response.json["errorMessages"][0]


def test_send_non_ascii_path_encoded_once(session, sandbox_endpoints):
    request = sandbox_request(sandbox_endpoints, "/rest/api/3/issue/ЖУК-1")
    response = send(session, request)
    assert response.status == 404
    assert response.url.endswith("/rest/api/3/issue/%D0%96%D0%A3%D0%9A-1")


def test_send_scope_mismatch_401(session, sandbox_endpoints):
    request = sandbox_request(
        sandbox_endpoints, "/wiki/api/v2/spaces", product="confluence"
    )
    response = send(session, request)
    assert response.status == 401
    assert response.json == {
        "code": 401,
        "message": "Unauthorized; scope does not match",
    }


def test_send_unknown_token_401(sandbox_endpoints):
    auth = BearerAuth("not-a-sandbox-token", sandbox_endpoints.api_origins)
    with create_session(auth=auth) as unknown:
        request = sandbox_request(sandbox_endpoints, "/rest/api/3/myself")
        assert send(unknown, request).status == 401


def test_send_headers_hide_token(session, access_token, sandbox_endpoints):
    response = send(session, sandbox_request(sandbox_endpoints, "/rest/api/3/myself"))
    assert access_token not in repr(response.headers)


def closed_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_send_closed_port_network_error(access_token):
    port = closed_port()
    endpoints = Endpoints(
        auth_base=f"http://127.0.0.1:{port}", api_base=f"http://127.0.0.1:{port}"
    )
    request = sandbox_request(endpoints, "/rest/api/3/myself")
    auth = BearerAuth(access_token, endpoints.api_origins)
    with (
        create_session(auth=auth, retries=False) as unreachable,
        pytest.raises(NetworkError) as caught,
    ):
        send(unreachable, request)
    assert f"127.0.0.1:{port}" in caught.value.message
    assert "the connection was refused" in caught.value.message
    assert access_token not in caught.value.message
    assert access_token not in caught.value.hint


def test_send_disallowed_host_invalid_input(access_token, sandbox_endpoints):
    request = sandbox_request(sandbox_endpoints, "/rest/api/3/myself")
    auth = BearerAuth(access_token, ATLASSIAN.api_origins)
    with create_session(auth=auth) as other, pytest.raises(InvalidInput) as caught:
        send(other, request)
    assert caught.value.field == "path"
    assert "only for https://api.atlassian.com" in caught.value.message
    assert access_token not in caught.value.message
    assert access_token not in caught.value.hint


def test_send_disallowed_host_not_network_error(access_token, sandbox_endpoints):
    request = sandbox_request(sandbox_endpoints, "/rest/api/3/myself")
    auth = BearerAuth(access_token, ATLASSIAN.api_origins)
    with create_session(auth=auth) as other, pytest.raises(InvalidInput) as caught:
        send(other, request)
    assert not isinstance(caught.value, NetworkError)


def test_python_snippet_runs_against_sandbox(access_token, sandbox_endpoints):
    request = sandbox_request(
        sandbox_endpoints, "/rest/api/3/project/search", query="maxResults=2"
    )
    result = subprocess.run(
        [sys.executable, "-c", python_snippet(request)],
        env={**os.environ, "ATLASSIAN_ACCESS_TOKEN": access_token},
        capture_output=True,
        text=True,
        timeout=30,
        check=True,
    )
    assert len(json.loads(result.stdout)["values"]) == 2


@pytest.mark.skipif(
    BASH is None or CURL is None, reason="bash or curl is not installed"
)
def test_curl_runs_against_sandbox(access_token, sandbox_endpoints):
    request = sandbox_request(
        sandbox_endpoints,
        "/rest/api/3/search/jql",
        method="POST",
        body='{"jql": "project = CAFE", "maxResults": 2}',
    )
    result = subprocess.run(
        [BASH, "-c", curl_command(request)],
        env={**os.environ, "ATLASSIAN_ACCESS_TOKEN": access_token},
        capture_output=True,
        text=True,
        timeout=30,
        check=True,
    )
    assert len(json.loads(result.stdout)["issues"]) == 2


# Sending to mocked responses -----------------------------------------------------


@pytest.fixture
def fake_session():
    with create_session(auth=BearerAuth(FAKE_TOKEN, ATLASSIAN.api_origins)) as opened:
        yield opened


@pytest.fixture
def mocked():
    with responses.RequestsMock() as mock:
        yield mock


MYSELF = f"{JIRA}/rest/api/3/myself"


def test_send_html_not_parsed(fake_session, mocked):
    page = "<html><body>Log in</body></html>"
    mocked.get(MYSELF, body=page, content_type="text/html; charset=utf-8")
    response = send(fake_session, jira_request("/rest/api/3/myself"))
    assert response.json is None
    assert response.text == page


def test_send_problem_json_parsed(fake_session, mocked):
    mocked.get(
        MYSELF,
        body='{"title": "Unsupported"}',
        status=415,
        content_type="application/problem+json",
    )
    response = send(fake_session, jira_request("/rest/api/3/myself"))
    assert response.json == {"title": "Unsupported"}


def test_send_invalid_json_kept_as_text(fake_session, mocked):
    mocked.get(MYSELF, body='{"cut": ', content_type="application/json")
    response = send(fake_session, jira_request("/rest/api/3/myself"))
    assert response.json is None
    assert response.text == '{"cut": '


def test_send_empty_204(fake_session, mocked):
    mocked.delete(f"{JIRA}/rest/api/3/issue/CAFE-1", status=204)
    request = build_request(
        ATLASSIAN, CLOUD_ID, "jira", "DELETE", "/rest/api/3/issue/CAFE-1"
    )
    response = send(fake_session, request)
    assert response.status == 204
    assert response.json is None
    assert response.text == ""


def test_send_truncates_long_body(fake_session, mocked, monkeypatch):
    monkeypatch.setattr(api_console, "MAX_BODY_BYTES", 1000)
    body = json.dumps({"data": "x" * 1500})
    mocked.get(MYSELF, body=body, content_type="application/json")
    response = send(fake_session, jira_request("/rest/api/3/myself"))
    assert response.truncated
    assert response.json is None
    assert response.text.startswith(body[:1000] + "\n\n[Cut:")
    assert "longer than 1,000 bytes" in response.text


def test_send_reads_five_megabytes(fake_session, mocked):
    body = b"a" * (api_console.MAX_BODY_BYTES + 1)
    mocked.get(MYSELF, body=body, content_type="text/plain")
    response = send(fake_session, jira_request("/rest/api/3/myself"))
    assert response.truncated
    assert response.text.startswith("a" * api_console.MAX_BODY_CHARS + "\n\n[Cut:")


def test_send_body_at_limit_not_truncated(fake_session, mocked, monkeypatch):
    monkeypatch.setattr(api_console, "MAX_BODY_BYTES", 1000)
    body = json.dumps({"data": "x" * 988})
    mocked.get(MYSELF, body=body, content_type="application/json")
    response = send(fake_session, jira_request("/rest/api/3/myself"))
    assert len(body) == 1000
    assert not response.truncated
    assert response.json == {"data": "x" * 988}


def test_send_cuts_text_at_max_chars(fake_session, mocked, monkeypatch):
    monkeypatch.setattr(api_console, "MAX_BODY_CHARS", 100)
    body = json.dumps({"data": "ü" * 300}, ensure_ascii=False)
    mocked.get(MYSELF, body=body, content_type="application/json")
    response = send(fake_session, jira_request("/rest/api/3/myself"))
    assert not response.truncated
    assert response.json == {"data": "ü" * 300}
    assert response.text.startswith(body[:100] + "\n\n[Cut:")
    assert "shows 100 of the body's 312 characters" in response.text


def test_send_redirect_not_followed(fake_session, mocked):
    mocked.get(MYSELF, status=302, headers={"Location": "https://evil.test/collect"})
    stolen = mocked.get("https://evil.test/collect", body="{}")
    mocked.assert_all_requests_are_fired = False
    response = send(fake_session, jira_request("/rest/api/3/myself"))
    assert response.status == 302
    assert ("Location", "https://evil.test/collect") in response.headers
    assert stolen.call_count == 0


def test_send_carries_token_to_api_host(fake_session, mocked):
    mocked.get(MYSELF, json={})
    send(fake_session, jira_request("/rest/api/3/myself"))
    sent = mocked.calls[0].request.headers["Authorization"]
    assert sent == f"Bearer {FAKE_TOKEN}"


def test_send_masks_headers(fake_session, mocked):
    mocked.get(
        MYSELF,
        json={},
        headers=[
            ("Set-Cookie", "atlassian.xsrf.token=abc123; Path=/; Secure"),
            ("X-Request-Id", "req-1"),
            ("Set-Cookie", "JSESSIONID=def456"),
            ("X-Auth-Token", "opaque-value"),
            ("Proxy-Authorization", "Basic b3RoZXI="),
            ("WWW-Authenticate", 'Bearer realm="api"'),
            ("X-Echo", f"Bearer {FAKE_TOKEN}"),
            ("X-Api-Key", "key-1"),
            ("Set-Cookie", "flag"),
        ],
    )
    response = send(fake_session, jira_request("/rest/api/3/myself"))
    headers = [pair for pair in response.headers if pair[0] != "Content-Type"]
    assert headers == [
        ("Set-Cookie", f"atlassian.xsrf.token={MASK}; Path=/; Secure"),
        ("Set-Cookie", f"JSESSIONID={MASK}"),
        ("Set-Cookie", MASK),
        ("X-Request-Id", "req-1"),
        ("X-Auth-Token", MASK),
        ("Proxy-Authorization", MASK),
        ("WWW-Authenticate", 'Bearer realm="api"'),
        ("X-Echo", f"Bearer {MASK}"),
        ("X-Api-Key", MASK),
    ]


def test_send_headers_never_contain_token(fake_session, mocked):
    mocked.get(MYSELF, json={}, headers={"Link": f"<{FAKE_TOKEN}>; rel=next"})
    response = send(fake_session, jira_request("/rest/api/3/myself"))
    assert FAKE_TOKEN not in repr(response.headers)


@pytest.mark.parametrize(
    ("failure", "fragment"),
    [
        (requests.ConnectionError("Connection reset by peer"), "connection was reset"),
        (requests.ReadTimeout("read timed out"), "it timed out"),
        (requests.ConnectTimeout("connect timed out"), "it timed out"),
        (requests.ConnectionError("Name or service not known"), "host name was not"),
    ],
)
def test_send_failure_network_error(fake_session, mocked, failure, fragment):
    mocked.get(MYSELF, body=failure)
    with pytest.raises(NetworkError) as caught:
        send(fake_session, jira_request("/rest/api/3/myself"))
    assert fragment in caught.value.message
    assert "GET api.atlassian.com/ex/jira/" in caught.value.message
    assert FAKE_TOKEN not in caught.value.message


def test_send_body_read_failure(fake_session, monkeypatch, mocked):
    mocked.get(MYSELF, json={"a": 1})

    def broken(self, chunk_size=1, decode_unicode=False):
        raise requests.exceptions.ChunkedEncodingError("Connection reset by peer")

    monkeypatch.setattr(requests.Response, "iter_content", broken)
    with pytest.raises(NetworkError) as caught:
        send(fake_session, jira_request("/rest/api/3/myself"))
    assert "returned 200, but reading its body failed" in caught.value.message


@responses.activate
def test_send_masks_token_echoed_in_body():
    responses.get(
        f"{JIRA}/rest/api/3/myself",
        json={"echo": f"Bearer {FAKE_TOKEN}"},
    )
    request = api_console.build_request(
        ATLASSIAN, CLOUD_ID, "jira", "GET", "/rest/api/3/myself"
    )
    with create_session(auth=BearerAuth(FAKE_TOKEN, ATLASSIAN.api_origins)) as session:
        response = api_console.send(session, request)
    assert FAKE_TOKEN not in response.text
    assert FAKE_TOKEN not in json.dumps(response.json)


def test_body_nesting_limit():
    body = "[" * 100 + "]" * 100
    with pytest.raises(InvalidInput) as caught:
        api_console.build_request(
            ATLASSIAN, CLOUD_ID, "jira", "POST", "/rest/api/3/issue", body=body
        )
    assert "levels" in caught.value.message

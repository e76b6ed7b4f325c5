"""The bad-input corpus: values a user types or pastes, and responses a server sends,
each with the message fragments that must explain it.

Every case names its surface, the lib function and the page field it goes through
(SURFACES), and two fragments: `problem` names what is wrong, `fix` the next step.
tests/test_corpus.py runs each case through the lib function and through the page.

Placeholders in inputs are filled when a case runs: {state} is the state of a
consent started for the case, {state_prefix} its first 12 characters,
{expired_state} the state of a consent past its time limit, and {used_state} the
state of a consent whose callback already arrived.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field

CALLBACK = "http://localhost:8501/callback"

# Fixed fake values that no message or page may show.
CLIENT_SECRET = "fake-corpus-secret-0001"
ACCESS_TOKEN = "fake-corpus-access-token-0001"
REFRESH_TOKEN = "fake-corpus-refresh-token-0001"
CODE = "fake-corpus-code-0001"


@dataclass(frozen=True)
class Surface:
    """Where a case enters: the lib function and the page with its field."""

    lib: str
    page: str


SURFACES = {
    "client_id": Surface(
        "lib.credentials.validate_client_id", "views/credentials.py: Client ID"
    ),
    "client_secret": Surface(
        "lib.credentials.validate_client_secret", "views/credentials.py: Client secret"
    ),
    "redirect_uri": Surface(
        "lib.credentials.validate_redirect_uri",
        "views/credentials.py: Redirect URI (callback URL)",
    ),
    "callback_paste": Surface(
        "lib.oauth.parse_callback, then lib.connect.complete_consent with the "
        "tab's state",
        "views/consent.py: Address from the browser bar, or just the code",
    ),
    "callback_query": Surface(
        "lib.oauth.callback_from_query, then lib.connect.complete_consent",
        "views/callback.py: the query string",
    ),
    "scopes": Surface(
        "lib.scopes.validate_scope_names (lib.connect.begin_consent)",
        "views/consent.py: the saved scope selection",
    ),
    "token_response": Surface(
        "lib.oauth.fetch_token",
        "views/callback.py: the answer of /oauth/token to the code exchange",
    ),
    "api_response": Surface(
        "lib.atlassian.list_sites (get_json)",
        "views/sites.py: the answer of accessible-resources",
    ),
    "console_field": Surface(
        "lib.api_console.build_request",
        "views/api_console.py: Method, Path, Query parameters, JSON body",
    ),
    "console_response": Surface(
        "lib.api_console.send",
        "views/api_console.py: the response of the request sent",
    ),
}


@dataclass(frozen=True)
class Case:
    """One bad input and the fragments that the message and hint must contain.

    `value` is a string for typed fields, a dict of query parameters for
    callback_query, a tuple of names for scopes, a dict of console fields for
    console_field, and a Reply for server responses.
    """

    id: str
    surface: str
    value: object
    problem: str
    fix: str
    # The fix as the page words it, when the page's failure catalogue
    # (lib/failures.py) replaces the hint of the lib error.
    page_fix: str | None = None
    # The page refreshes the access token on a 401 and tries once more, so the
    # stored tokens rotate while everything else stays.
    refreshes: bool = False
    # A fragment that must not appear in the message (a secret or password).
    hidden: tuple[str, ...] = ()
    # A known bug: the case is expected to fail, for this reason.
    xfail: str | None = None


@dataclass(frozen=True)
class Reply:
    """A server response: status, body (str sent as is, else JSON) and content type."""

    status: int
    body: object
    content_type: str = "application/json"
    headers: dict = field(default_factory=dict)

    def text(self) -> str:
        return self.body if isinstance(self.body, str) else json.dumps(self.body)


HTML_LOGIN = (
    "<!DOCTYPE html><html><head><title>Sign in</title></head><body>"
    "<form action='/login'>Sign in to continue</form></body></html>"
)
HTML_502 = (
    "<html><head><title>502 Bad Gateway</title></head><body>"
    "<center><h1>502 Bad Gateway</h1></center><hr><center>nginx</center>"
    "</body></html>"
)
HOSTILE_DESCRIPTION = (
    "<script>alert(1)</script> **bold** [link](javascript:alert(1)) :red[text]"
)

CREDENTIAL_CASES = [
    Case("client-id-empty", "client_id", "", "client ID is empty", "Copy it from"),
    Case(
        "client-id-whitespace",
        "client_id",
        "  \t  ",
        "client ID is empty",
        "Copy it from",
    ),
    Case(
        "client-id-over-long",
        "client_id",
        "A" * 600,
        "600 characters long",
        "Copy only the client ID",
    ),
    Case(
        "client-id-non-ascii",
        "client_id",
        "clïent-ïd-0001",
        "not plain ASCII",
        "Copy it again",
    ),
    Case(
        "client-id-zero-width-space",
        "client_id",
        "AbCd\u200bEf0123",
        "not plain ASCII",
        "Copy it again",
    ),
    Case(
        "client-id-double-quotes",
        "client_id",
        '"AbCdEf0123"',
        "quote mark",
        "Remove the quotes",
    ),
    Case(
        "client-id-curly-quotes",
        "client_id",
        "“AbCdEf0123”",
        "quote mark",
        "Remove the quotes",
    ),
    Case(
        "client-id-line-break",
        "client_id",
        "AbCdEf\n0123",
        "spaces or line breaks",
        "one unbroken word",
    ),
    Case(
        "client-id-is-callback-url",
        "client_id",
        CALLBACK,
        "is a web address",
        "Redirect URI field",
    ),
    Case(
        "client-secret-empty",
        "client_secret",
        "",
        "client secret is empty",
        "Copy it from",
    ),
    Case(
        "client-secret-whitespace",
        "client_secret",
        " \n ",
        "client secret is empty",
        "Copy it from",
    ),
    Case(
        "client-secret-over-long",
        "client_secret",
        "s" * 700,
        "700 characters long",
        "Copy only the client secret",
    ),
    Case(
        "client-secret-non-ascii",
        "client_secret",
        "fake-sécret-value-0002",
        "not plain ASCII",
        "Copy it again",
        hidden=("fake-sécret-value-0002",),
    ),
    Case(
        "client-secret-single-quotes",
        "client_secret",
        "'fake-secret-value-0003'",
        "quote mark",
        "Remove the quotes",
        hidden=("fake-secret-value-0003",),
    ),
    Case(
        "client-secret-line-break",
        "client_secret",
        "fake-secret\nvalue-0004",
        "spaces or line breaks",
        "one unbroken word",
        hidden=("fake-secret", "value-0004"),
    ),
    Case(
        "client-secret-tab",
        "client_secret",
        "fake-secret\tvalue-0005",
        "spaces or line breaks",
        "one unbroken word",
        hidden=("value-0005",),
    ),
    Case(
        "redirect-empty",
        "redirect_uri",
        "",
        "redirect URI is empty",
        "Enter the callback URL",
    ),
    Case(
        "redirect-whitespace",
        "redirect_uri",
        "   ",
        "redirect URI is empty",
        "Enter the callback URL",
    ),
    Case(
        "redirect-over-long",
        "redirect_uri",
        "https://dash.example.test/" + "a" * 2100,
        "characters long",
        "Paste only the callback URL",
    ),
    Case(
        "redirect-non-ascii-host",
        "redirect_uri",
        "https://dashböard.example.test/callback",
        "non-ASCII",
        "xn--",
    ),
    Case(
        "redirect-quoted",
        "redirect_uri",
        f'"{CALLBACK}"',
        "quote mark",
        "Remove the quotes",
    ),
    Case(
        "redirect-line-break",
        "redirect_uri",
        "http://localhost:8501/call\nback",
        "spaces or line breaks",
        "in one piece",
    ),
    Case(
        "redirect-relative-path",
        "redirect_uri",
        "/callback",
        "is relative",
        "Write the full URL",
    ),
    Case(
        "redirect-host-without-scheme",
        "redirect_uri",
        "localhost:8501/callback",
        "missing http:// or https://",
        "Write it as http://localhost:8501/callback",
    ),
    Case(
        "redirect-fragment",
        "redirect_uri",
        "http://localhost:8501/callback#done",
        "fragment",
        "Remove everything from #",
    ),
    Case(
        "redirect-javascript-scheme",
        "redirect_uri",
        "javascript:alert(1)",
        "scheme 'javascript'",
        "Use an https:// URL",
    ),
    Case(
        "redirect-ftp-scheme",
        "redirect_uri",
        "ftp://files.example.test/callback",
        "scheme 'ftp'",
        "Use an https:// URL",
    ),
    Case(
        "redirect-app-scheme",
        "redirect_uri",
        "dashboard-app://callback",
        "scheme 'dashboard-app'",
        "Use an https:// URL",
    ),
    Case(
        "redirect-plain-http-remote",
        "redirect_uri",
        "http://dash.example.test/callback",
        "plain http",
        "Use https",
    ),
    Case(
        "redirect-with-code-parameter",
        "redirect_uri",
        "http://localhost:8501/callback?code=x",
        "already contains code=",
        "Atlassian adds code=",
    ),
    Case(
        "redirect-with-password",
        "redirect_uri",
        "https://dash:fake-password-0006@dash.example.test/callback",
        "user name or password",
        "Remove the part before @",
        hidden=("fake-password-0006",),
    ),
    Case(
        "redirect-port-out-of-range",
        "redirect_uri",
        "http://localhost:99999/callback",
        "invalid host or port",
        "Check the part after //",
    ),
]

PASTE_CASES = [
    Case("paste-empty", "callback_paste", "", "pasted text is empty", "Paste the"),
    Case(
        "paste-whitespace",
        "callback_paste",
        "  \n\t ",
        "pasted text is empty",
        "Paste the",
    ),
    Case(
        "paste-only-quotes",
        "callback_paste",
        '""',
        "pasted text is empty",
        "Paste the",
    ),
    Case(
        "paste-over-long",
        "callback_paste",
        f"{CALLBACK}?code=" + "a" * 9000,
        "characters long",
        "Copy only the address",
    ),
    Case(
        "paste-non-ascii-code",
        "callback_paste",
        f"{CALLBACK}?code=кодик&state={{state}}",
        "code contains spaces or characters",
        "Copy the address again",
    ),
    # urlsplit drops line breaks and tabs, so a code wrapped by a chat window is
    # joined again and exchanged; the made-up code is then rejected.
    Case(
        "paste-wrapped-code",
        "callback_paste",
        f"{CALLBACK}?code=ab\ncd&state={{state}}",
        "authorization code was rejected",
        "Start the consent again",
    ),
    Case(
        "paste-two-codes",
        "callback_paste",
        f"{CALLBACK}?code=abc&code=def&state={{state}}",
        "code= 2 times",
        "Copy the address again",
    ),
    Case(
        "paste-two-states",
        "callback_paste",
        f"{CALLBACK}?code=abc&state={{state}}&state=other",
        "state= 2 times",
        "Copy the address again",
    ),
    Case(
        "paste-code-and-error",
        "callback_paste",
        f"{CALLBACK}?code=abc&error=access_denied&state={{state}}",
        "both a code and error=access_denied",
        "Copy the address again",
    ),
    Case(
        "paste-no-code",
        "callback_paste",
        f"{CALLBACK}?state={{state}}",
        "no code= parameter",
        "After you press Accept",
    ),
    Case(
        "paste-unknown-state",
        "callback_paste",
        f"{CALLBACK}?code=abc&state=forged-state-0001",
        "different consent",
        "Paste the address from the consent you opened",
    ),
    Case(
        "paste-code-encoded-twice",
        "callback_paste",
        f"{CALLBACK}?code=ab%252Fcd&state={{state}}",
        "encoded twice",
        "Copy the address straight",
    ),
    Case(
        "paste-whole-address-encoded",
        "callback_paste",
        "http%3A%2F%2Flocalhost%3A8501%2Fcallback%3Fcode%3Dabc%26state%3D{state}",
        "encoded twice",
        "Copy the address straight",
    ),
    Case(
        "paste-cut-after-code",
        "callback_paste",
        f"{CALLBACK}?code=",
        "no code= parameter",
        "After you press Accept",
    ),
    Case(
        "paste-cut-inside-state",
        "callback_paste",
        f"{CALLBACK}?code=abc&state={{state_prefix}}",
        "different consent",
        "Paste the address from the consent you opened",
    ),
    Case(
        "paste-non-ascii-state",
        "callback_paste",
        f"{CALLBACK}?code=abc&state=ständig",
        "state contains spaces or characters",
        "Copy the address again",
    ),
    Case(
        "paste-quoted-address-wrong-code",
        "callback_paste",
        f'"{CALLBACK}?code=abc&state={{state}}"',
        "authorization code was rejected",
        "Start the consent again",
    ),
    Case(
        "paste-cancelled-consent",
        "callback_paste",
        f"{CALLBACK}?error=access_denied&state={{state}}",
        "cancelled",
        "press Accept",
    ),
]

QUERY_CASES = [
    Case(
        "query-no-code",
        "callback_query",
        {"state": "{state}"},
        "no code= parameter",
        "After you press Accept",
    ),
    Case(
        "query-empty-code",
        "callback_query",
        {"code": "", "state": "{state}"},
        "no code= parameter",
        "After you press Accept",
    ),
    Case(
        "query-whitespace-code",
        "callback_query",
        {"code": "   ", "state": "{state}"},
        "no code= parameter",
        "After you press Accept",
    ),
    Case(
        "query-two-codes",
        "callback_query",
        {"code": ["abc", "def"], "state": "{state}"},
        "code= 2 times",
        "Copy the address again",
    ),
    Case(
        "query-two-states",
        "callback_query",
        {"code": "abc", "state": ["{state}", "other"]},
        "state= 2 times",
        "Copy the address again",
    ),
    Case(
        "query-code-and-error",
        "callback_query",
        {"code": "abc", "error": "access_denied", "state": "{state}"},
        "both a code and error=access_denied",
        "Copy the address again",
    ),
    Case(
        "query-unknown-state",
        "callback_query",
        {"code": "abc", "state": "forged-state-0001"},
        "matches no consent",
        "Start the consent from the Consent page",
    ),
    Case(
        "query-expired-state",
        "callback_query",
        {"code": "abc", "state": "{expired_state}"},
        "has expired",
        "Start the consent again",
    ),
    Case(
        "query-replayed-state",
        "callback_query",
        {"code": "abc", "state": "{used_state}"},
        "already used",
        "start the consent again",
        page_fix="start a new consent",
    ),
    Case(
        "query-code-encoded-twice",
        "callback_query",
        {"code": "ab%2Fcd", "state": "{state}"},
        "encoded twice",
        "Copy the address straight",
    ),
    Case(
        "query-state-encoded-twice",
        "callback_query",
        {"code": "abc", "state": "{state}%3D"},
        "state still contains percent-encoded",
        "Copy the address straight",
    ),
    Case(
        "query-cut-before-state",
        "callback_query",
        {"code": "abc"},
        "code but no state",
        "Use the whole address",
    ),
    Case(
        "query-cut-inside-state",
        "callback_query",
        {"code": "abc", "state": "{state_prefix}"},
        "matches no consent",
        "Start the consent from the Consent page",
    ),
    Case(
        "query-over-long-code",
        "callback_query",
        {"code": "a" * 9000, "state": "{state}"},
        "9000 characters long",
        "Copy the address again",
    ),
    Case(
        "query-non-ascii-code",
        "callback_query",
        {"code": "кодик", "state": "{state}"},
        "code contains spaces or characters",
        "Copy the address again",
    ),
    Case(
        "query-hostile-error-description",
        "callback_query",
        {
            "error": "server_error",
            "error_description": HOSTILE_DESCRIPTION,
            "state": "{state}",
        },
        "returned the error server_error",
        "Check the client ID",
    ),
]

SCOPE_CASES = [
    Case(
        "scopes-joined-by-commas",
        "scopes",
        ("read:jira-work,offline_access",),
        "commas or plus signs",
        "separated by spaces",
    ),
    Case(
        "scopes-joined-by-plus",
        "scopes",
        ("read:jira-work+offline_access",),
        "commas or plus signs",
        "separated by spaces",
    ),
    Case(
        "scopes-comma-and-space",
        "scopes",
        ("read:jira-work, read:me",),
        "commas or plus signs",
        "separated by spaces",
    ),
    Case(
        "scopes-only-whitespace",
        "scopes",
        ("  ",),
        "No scope is selected",
        "Tick at least one scope",
    ),
    Case(
        "scopes-non-ascii",
        "scopes",
        ("lire:jira-trävail",),
        "is not a scope name",
        "look like read:jira-work",
    ),
    Case(
        "scopes-upper-case",
        "scopes",
        ("READ:JIRA-WORK",),
        "is not a scope name",
        "look like read:jira-work",
    ),
]

TOKEN_CASES = [
    Case(
        "token-html-page",
        "token_response",
        Reply(200, HTML_LOGIN, "text/html"),
        "not a JSON object (text/html",
        "captive portal",
    ),
    Case(
        "token-empty-body",
        "token_response",
        Reply(200, "", "text/plain"),
        "not a JSON object",
        "captive portal",
    ),
    Case(
        "token-truncated-json",
        "token_response",
        Reply(200, '{"access_token": "fake-corpus-acc', "application/json"),
        "not a JSON object",
        "captive portal",
    ),
    Case(
        "token-json-array",
        "token_response",
        Reply(200, [ACCESS_TOKEN]),
        "not a JSON object",
        "captive portal",
        hidden=(ACCESS_TOKEN,),
    ),
    Case(
        "token-no-access-token",
        "token_response",
        Reply(200, {"expires_in": 3600, "refresh_token": REFRESH_TOKEN}),
        "has no access_token",
        "Try the consent again",
        page_fix="Try again",
        hidden=(REFRESH_TOKEN,),
    ),
    Case(
        "token-empty-access-token",
        "token_response",
        Reply(200, {"access_token": "", "expires_in": 3600}),
        "has no access_token",
        "Try the consent again",
        page_fix="Try again",
    ),
    Case(
        "token-negative-expires-in",
        "token_response",
        Reply(200, {"access_token": ACCESS_TOKEN, "expires_in": -5}),
        "invalid expires_in: -5",
        "Try again",
        hidden=(ACCESS_TOKEN,),
    ),
    Case(
        "token-string-expires-in",
        "token_response",
        Reply(200, {"access_token": ACCESS_TOKEN, "expires_in": "3600"}),
        "the string '3600', not a number",
        "Try again",
        hidden=(ACCESS_TOKEN,),
    ),
    Case(
        "token-missing-expires-in",
        "token_response",
        Reply(200, {"access_token": ACCESS_TOKEN, "token_type": "Bearer"}),
        "no expires_in",
        "Try again",
        hidden=(ACCESS_TOKEN,),
    ),
    Case(
        "token-zero-expires-in",
        "token_response",
        Reply(200, {"access_token": ACCESS_TOKEN, "expires_in": 0}),
        "invalid expires_in: 0",
        "Try again",
        hidden=(ACCESS_TOKEN,),
    ),
    Case(
        "token-refresh-token-number",
        "token_response",
        Reply(
            200, {"access_token": ACCESS_TOKEN, "expires_in": 3600, "refresh_token": 7}
        ),
        "refresh_token that is not a string",
        "Try again",
        hidden=(ACCESS_TOKEN,),
    ),
    Case(
        "token-html-502",
        "token_response",
        Reply(502, HTML_502, "text/html"),
        "authorization server failed with status 502",
        "Wait a few minutes",
    ),
]

API_CASES = [
    Case(
        "api-html-502-page",
        "api_response",
        Reply(502, HTML_502, "text/html"),
        "failed on Atlassian's side (502)",
        "try again in a few minutes",
        page_fix="Wait a few minutes",
    ),
    Case(
        "api-html-login-page",
        "api_response",
        Reply(200, HTML_LOGIN, "text/html"),
        "not JSON (text/html",
        "proxy or login page",
        page_fix="Try again",
    ),
    Case(
        "api-html-404",
        "api_response",
        Reply(404, "<html><body>Not Found</body></html>", "text/html"),
        "was not found (404)",
        "Check the site",
        page_fix="Check the key or id and the site",
    ),
    Case(
        "api-html-401",
        "api_response",
        Reply(401, "<html><body>Unauthorized</body></html>", "text/html"),
        "rejected (401)",
        "Refresh the token",
        page_fix="Refresh now",
        refreshes=True,
    ),
    Case(
        "api-truncated-json",
        "api_response",
        Reply(200, '[{"id": "500ecfab-bb88-519d", "name": "practice-cl'),
        "not JSON",
        "proxy or login page",
        page_fix="Try again",
    ),
    Case(
        "api-object-instead-of-array",
        "api_response",
        Reply(200, {"sites": []}),
        "did not return a JSON array",
        "Check the API base URL",
        page_fix="Try again",
    ),
]

CONSOLE_FIELD_CASES = [
    Case(
        "console-path-empty",
        "console_field",
        {"path": ""},
        "path is empty",
        "Enter a path",
    ),
    Case(
        "console-path-whitespace",
        "console_field",
        {"path": "   "},
        "path is empty",
        "Enter a path",
    ),
    Case(
        "console-path-over-long",
        "console_field",
        {"path": "/rest/api/3/" + "a" * 2100},
        "characters long",
        "Shorten the path",
    ),
    Case(
        "console-path-no-break-space",
        "console_field",
        {"path": "/rest/api/3/my\u00a0self"},
        "U+00A0",
        "Remove it",
    ),
    Case(
        "console-path-zero-width-space",
        "console_field",
        {"path": "/rest/api/3/my\u200bself"},
        "U+200B",
        "Remove it",
    ),
    Case(
        "console-path-line-break",
        "console_field",
        {"path": "/rest/api/3/myself\n/x"},
        "U+000A",
        "Remove it",
    ),
    Case(
        "console-path-fragment",
        "console_field",
        {"path": "/rest/api/3/myself#top"},
        "fragment (#)",
        "Remove the #",
    ),
    Case(
        "console-path-other-host",
        "console_field",
        {"path": "https://evil.example.test/rest/api/3/myself"},
        "is not the API host",
        "Enter a path such as",
    ),
    Case(
        "console-path-javascript-scheme",
        "console_field",
        {"path": "javascript:alert(1)"},
        "scheme is javascript:",
        "Enter a path such as",
    ),
    Case(
        "console-path-dot-segments",
        "console_field",
        {"path": "/rest/api/3/../../../../oauth/token"},
        "'..' segment",
        "without . or .. segments",
    ),
    Case(
        "console-path-encoded-dot-segments",
        "console_field",
        {"path": "/rest/api/3/%2e%2e/%2E%2E/x"},
        "'..' segment",
        "without . or .. segments",
    ),
    Case(
        "console-path-backslash",
        "console_field",
        {"path": "/rest\\api\\3\\myself"},
        "backslash",
        "Separate segments with /",
    ),
    Case(
        "console-query-without-equals",
        "console_field",
        {"query": "maxResults"},
        "part without '='",
        "name=value",
    ),
    Case(
        "console-query-empty-name",
        "console_field",
        {"query": "=5"},
        "empty name",
        "name=value",
    ),
    Case(
        "console-query-no-break-space-name",
        "console_field",
        {"query": "\u00a0=5"},
        "empty name",
        "name=value",
    ),
    Case(
        "console-query-line-without-equals",
        "console_field",
        {"query": "maxResults=5\nstartAt"},
        "Line 2 of the query",
        "one name=value pair per line",
    ),
    Case(
        "console-query-over-long",
        "console_field",
        {"query": "jql=" + "x" * 100_000},
        "characters long",
        "Shorten it",
    ),
    Case(
        "console-body-with-get",
        "console_field",
        {"method": "GET", "body": "{}"},
        "without a body",
        "choose POST",
    ),
    Case(
        "console-body-python-quotes",
        "console_field",
        {"method": "POST", "body": "{'jql': 'project = CAFE'}"},
        "not valid JSON",
        "Fix the JSON",
    ),
    Case(
        "console-body-curly-quotes",
        "console_field",
        {"method": "POST", "body": "{“jql”: “project = CAFE”}"},
        "not valid JSON",
        "Fix the JSON",
    ),
    Case(
        "console-body-truncated",
        "console_field",
        {"method": "POST", "body": '{"jql": "project = CAFE"'},
        "not valid JSON",
        "Fix the JSON",
    ),
    Case(
        "console-body-nan",
        "console_field",
        {"method": "POST", "body": '{"maxResults": NaN}'},
        "contains NaN",
        "Write the value as a string",
    ),
    Case(
        "console-body-too-deep",
        "console_field",
        {"method": "POST", "body": "[" * 100 + "]" * 100},
        "more than 64 levels",
        "Flatten the body",
    ),
    Case(
        "console-body-over-long",
        "console_field",
        {"method": "POST", "body": '{"a": "' + "x" * (1024 * 1024) + '"}'},
        "bytes, and the console sends at most",
        "Shorten the body",
    ),
    Case(
        "console-body-null",
        "console_field",
        {"method": "POST", "body": "null"},
        "JSON value null",
        "Clear the body",
    ),
]

CONSOLE_RESPONSE_CASES = [
    Case(
        "console-response-html-502",
        "console_response",
        Reply(502, HTML_502, "text/html"),
        "502 Bad Gateway",
        "<center>nginx</center>",
    ),
    Case(
        "console-response-far-larger",
        "console_response",
        Reply(200, {"values": ["x" * 1000] * 6000}),
        "the body is longer than 5,242,880 bytes",
        "Use the curl line",
    ),
]

CASES = [
    *CREDENTIAL_CASES,
    *PASTE_CASES,
    *QUERY_CASES,
    *SCOPE_CASES,
    *TOKEN_CASES,
    *API_CASES,
    *CONSOLE_FIELD_CASES,
    *CONSOLE_RESPONSE_CASES,
]

"""lib/api_token.py: input checks and basic auth with `responses`, verification
with `responses` and against a sandbox over real HTTP on 127.0.0.1."""

from __future__ import annotations

import base64
import functools

import pytest
import requests
import responses

from conftest import FakeClock
from lib import confluence, jira
from lib.api_token import (
    GATEWAY,
    SITE,
    AccountInactive,
    ApiTokenAuth,
    ApiTokenEndpoints,
    ApiTokenRejected,
    SiteWithoutProducts,
    TokenScopesMissing,
    Verification,
    basic_authorization,
    clean_api_token,
    has_token_prefix,
    normalize_site_url,
    validate_email,
    verify,
)
from lib.errors import InvalidInput, NetworkError
from lib.http import DisallowedHost, RequestLog, create_session
from lib.sandbox import SandboxConfig, SandboxServer
from lib.sandbox.api_tokens import PRACTICE_API_TOKEN, PRACTICE_API_TOKEN_EMAIL

SITE_URL = "https://fake-site.atlassian.net"
GATEWAY_BASE = "https://api.example.test"
CLOUD_ID = "11111111-2222-3333-4444-555555555555"
EMAIL = "zoe@example.test"
TOKEN = "ATATTfakeTokenQ9w8E7r6T5y4"
PASSWORD_LIKE = "hunter2-fake-password"
ACCOUNT_ID = "712020:fake-account"
RAW_401_BODY = "Client must be authenticated BODY-MARKER-77"

JIRA_MYSELF = f"{SITE_URL}/rest/api/3/myself"
CONFLUENCE_USER = f"{SITE_URL}/wiki/rest/api/user/current"
TENANT_INFO = f"{SITE_URL}/_edge/tenant_info"
GATEWAY_JIRA = f"{GATEWAY_BASE}/ex/jira/{CLOUD_ID}/rest/api/3/myself"
GATEWAY_CONFLUENCE = (
    f"{GATEWAY_BASE}/ex/confluence/{CLOUD_ID}/wiki/rest/api/user/current"
)

JIRA_USER = {
    "accountId": ACCOUNT_ID,
    "displayName": "Zoë Fake",
    "emailAddress": EMAIL,
    "active": True,
}
CONFLUENCE_KNOWN = {"type": "known", "accountId": ACCOUNT_ID, "displayName": "Zoë Fake"}
CONFLUENCE_ANONYMOUS = {"type": "anonymous", "displayName": "Anonymous"}

factory = functools.partial(create_session, retries=False)


def run_verify(token: str = TOKEN, **changes):
    arguments = {"site_url": SITE_URL, "email": EMAIL, "token": token}
    arguments.update(changes)
    return verify(factory, gateway_base=GATEWAY_BASE, **arguments)


def reject_401(url: str) -> None:
    responses.get(url, status=401, body=RAW_401_BODY)


# normalize_site_url


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("https://fake-site.atlassian.net", SITE_URL),
        ("https://fake-site.atlassian.net/", SITE_URL),
        ("  fake-site.atlassian.net \n", SITE_URL),
        ("//fake-site.atlassian.net", SITE_URL),
        ("HTTPS://Fake-Site.Atlassian.NET", SITE_URL),
        ("https://fake-site.atlassian.net/jira/software/projects/ABC", SITE_URL),
        ("https://fake-site.atlassian.net/wiki/spaces/ENG?x=1#top", SITE_URL),
        ("https://fake-site.atlassian.net:443/browse/ABC-1", SITE_URL),
        ("https://fake-site.atlassian.net\u200b", SITE_URL),
    ],
)
def test_site_url_normalized(text, expected):
    assert normalize_site_url(text) == expected


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("", "empty"),
        ("   ", "empty"),
        ("http://fake-site.atlassian.net", "only over https"),
        ("ftp://fake-site.atlassian.net", "only over https"),
        ("https://fake-site.atlassian.net:8443", "port 8443"),
        ("https://evil.test/fake-site.atlassian.net", "does not end in"),
        ("https://fake-site.atlassian.net.evil.test", "does not end in"),
        ("https://atlassian.net", "does not end in"),
        ("https://a.b.atlassian.net", "more than one name"),
        ("https://fake_site.atlassian.net", "invalid site name"),
        ("https://-fake.atlassian.net", "invalid site name"),
        ("https://api.atlassian.com", "API gateway"),
        ("https://id.atlassian.com/manage-profile", "Atlassian's own pages"),
        ("https://[::1", "invalid host or port"),
        ("https://[::1]/", "does not end in"),
        ("https://fake-site.atlassian.net]", "invalid host or port"),
        ("https://fake-site.atlassian.net:abc", "invalid host or port"),
        ("https://fake site.atlassian.net", "spaces"),
        ("'https://fake-site.atlassian.net'", "quote mark"),
        ("https://bücher.atlassian.net", "non-ASCII"),
        ("https://fake-site.atlassian.net\x07", "control characters"),
        ("https://", "no host"),
        ("https://" + "a" * 3000, "characters long"),
    ],
)
def test_site_url_rejected(text, words):
    with pytest.raises(InvalidInput) as caught:
        normalize_site_url(text)
    assert caught.value.field == "site_url"
    assert words in caught.value.message
    assert caught.value.hint


def test_site_url_error_names_value():
    with pytest.raises(InvalidInput) as caught:
        normalize_site_url("http://fake-site.atlassian.net")
    assert "'http://fake-site.atlassian.net'" in caught.value.message
    assert "https://fake-site.atlassian.net" in caught.value.hint


def test_site_url_error_hides_password():
    with pytest.raises(InvalidInput) as caught:
        normalize_site_url("https://zoe:pa55word-77@fake-site.atlassian.net")
    assert "user name or password" in caught.value.message
    assert "pa55word-77" not in caught.value.message
    assert "pa55word-77" not in caught.value.hint


def test_site_url_error_hides_query():
    with pytest.raises(InvalidInput) as caught:
        normalize_site_url("https://evil.test/?jwt=SECRET-JWT-55")
    assert "SECRET-JWT-55" not in caught.value.message


PRACTICE_BASE = "http://127.0.0.1:8599"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "http://127.0.0.1:8599/sites/practice-cloud",
            "http://127.0.0.1:8599/sites/practice-cloud",
        ),
        (
            "http://127.0.0.1:8599/sites/practice-cloud/browse/CAFE-1?x=1",
            "http://127.0.0.1:8599/sites/practice-cloud",
        ),
        (
            "127.0.0.1:8599/sites/jira-only/",
            "http://127.0.0.1:8599/sites/jira-only",
        ),
        (
            "http://127.0.0.1:8599/sites/übungsseite",
            "http://127.0.0.1:8599/sites/%C3%BCbungsseite",
        ),
        (
            "http://127.0.0.1:8599/sites/%C3%BCbungsseite/wiki",
            "http://127.0.0.1:8599/sites/%C3%BCbungsseite",
        ),
    ],
)
def test_practice_site_url_normalized(text, expected):
    assert normalize_site_url(text, practice_base=PRACTICE_BASE) == expected


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("https://fake-site.atlassian.net", "not a site of the practice sandbox"),
        ("http://localhost:8599/sites/practice-cloud", "not a site of the practice"),
        ("http://127.0.0.1:8600/sites/practice-cloud", "not a site of the practice"),
        ("https://127.0.0.1:8599/sites/practice-cloud", "not a site of the practice"),
        ("http://127.0.0.1:8599/", "does not name a sandbox site"),
        ("http://127.0.0.1:8599/sites/", "does not name a sandbox site"),
        ("http://127.0.0.1:8599/browse/CAFE", "does not name a sandbox site"),
    ],
)
def test_practice_site_url_rejected(text, words):
    with pytest.raises(InvalidInput) as caught:
        normalize_site_url(text, practice_base=PRACTICE_BASE)
    assert words in caught.value.message
    assert "http://127.0.0.1:8599/sites/practice-cloud" in caught.value.hint


# validate_email


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("zoe@example.test", "zoe@example.test"),
        ("  Zoe.Practice@Example.TEST\n", "Zoe.Practice@example.test"),
        ("mailto:zoe@example.test", "zoe@example.test"),
        ("o'brien+jira@example.test", "o'brien+jira@example.test"),
    ],
)
def test_email_accepted(text, expected):
    assert validate_email(text) == expected


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("", "empty"),
        ("zoe", "no @"),
        ("@example.test", "nothing comes before"),
        ("zoe@example", "has no dot"),
        ("zoe@@example.test", "contains @"),
        ("zoe:x@example.test", "contains @ or one of"),
        ("zoe@-example.test", "not a valid host name"),
        ("zoe@exa_mple.test", "not a valid host name"),
        ("Zoë Practice <zoe@example.test>", "name around it"),
        ("zoe @example.test", "spaces"),
        ("z" * 65 + "@example.test", "longer than 64"),
        ("z@" + "a" * 260 + ".test", "characters long"),
    ],
)
def test_email_rejected(text, words):
    with pytest.raises(InvalidInput) as caught:
        validate_email(text)
    assert caught.value.field == "email"
    assert words in caught.value.message
    assert caught.value.hint


# clean_api_token


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (TOKEN, TOKEN),
        (f"  {TOKEN}\n", TOKEN),
        ("ATATTfake\nToken\r\nQ9w8 E7r6\tT5y4", "ATATTfakeTokenQ9w8E7r6T5y4"),
        (f"\ufeff{TOKEN}\u200b", TOKEN),
    ],
)
def test_token_whitespace_removed(text, expected):
    assert clean_api_token(text) == expected


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("", "empty"),
        (" \n ", "empty"),
        (None, "empty"),
        (f"Basic {TOKEN}", "Authorization header"),
        (f"Bearer {TOKEN}", "Authorization header"),
        (f'"{TOKEN}"', "quote mark"),
        (f"{EMAIL}:{TOKEN}", "email address and a colon"),
        (f"{TOKEN}é", "not plain ASCII"),
        (f"{TOKEN}\x00", "not plain ASCII"),
        ("A" * 2000, "characters long"),
    ],
)
def test_token_rejected(text, words):
    with pytest.raises(InvalidInput) as caught:
        clean_api_token(text)
    assert caught.value.field == "api_token"
    assert words in caught.value.message
    if text and len(text) < 100:
        assert TOKEN not in caught.value.message
        assert TOKEN not in caught.value.hint


def test_token_prefix_detected():
    assert has_token_prefix(TOKEN)


def test_password_lacks_token_prefix():
    assert not has_token_prefix(PASSWORD_LIKE)


# ApiTokenAuth


def test_basic_header_is_base64_of_email_and_token():
    header = basic_authorization(EMAIL, TOKEN)
    scheme, _, value = header.partition(" ")
    assert scheme == "Basic"
    assert base64.b64decode(value).decode() == f"{EMAIL}:{TOKEN}"


def test_basic_header_encodes_utf8():
    header = basic_authorization("zoë@example.test", TOKEN)
    decoded = base64.b64decode(header.split()[1]).decode("utf-8")
    assert decoded == f"zoë@example.test:{TOKEN}"


@responses.activate
def test_auth_sent_to_allowed_origin():
    responses.get(JIRA_MYSELF, json={})
    session = create_session(auth=ApiTokenAuth(EMAIL, TOKEN, frozenset({SITE_URL})))
    session.get(JIRA_MYSELF)
    sent = responses.calls[0].request.headers["Authorization"]
    assert sent == basic_authorization(EMAIL, TOKEN)


@pytest.mark.parametrize(
    "url",
    [
        "https://other-site.atlassian.net/rest/api/3/myself",
        "http://fake-site.atlassian.net/rest/api/3/myself",
        "https://fake-site.atlassian.net:8443/rest/api/3/myself",
        "https://fake-site.atlassian.net.evil.test/rest/api/3/myself",
        "https://api.atlassian.com/ex/jira/x/rest/api/3/myself",
    ],
)
def test_auth_refuses_other_origins(url):
    session = create_session(auth=ApiTokenAuth(EMAIL, TOKEN, frozenset({SITE_URL})))
    with pytest.raises(DisallowedHost) as caught:
        session.get(url)
    assert TOKEN not in str(caught.value)


@responses.activate
def test_auth_dropped_on_redirect_to_other_host():
    responses.get(
        JIRA_MYSELF, status=302, headers={"Location": "https://evil.test/collect"}
    )
    responses.get("https://evil.test/collect", json={})
    session = create_session(auth=ApiTokenAuth(EMAIL, TOKEN, frozenset({SITE_URL})))
    session.get(JIRA_MYSELF)
    assert "Authorization" not in responses.calls[1].request.headers


@responses.activate
def test_auth_dropped_on_redirect_to_other_port():
    target = "https://fake-site.atlassian.net:8443/collect"
    responses.get(JIRA_MYSELF, status=302, headers={"Location": target})
    responses.get(target, json={})
    session = create_session(auth=ApiTokenAuth(EMAIL, TOKEN, frozenset({SITE_URL})))
    session.get(JIRA_MYSELF)
    assert "Authorization" not in responses.calls[1].request.headers


def test_auth_repr_hides_token():
    auth = ApiTokenAuth(EMAIL, TOKEN, frozenset({SITE_URL}))
    assert TOKEN not in repr(auth)
    assert "[secure]" in repr(auth)


def test_auth_rejects_colon_in_email():
    with pytest.raises(ValueError, match="colon"):
        ApiTokenAuth("zoe:x@example.test", TOKEN, frozenset({SITE_URL}))


# ApiTokenEndpoints


def test_site_endpoints_use_site_url():
    endpoints = ApiTokenEndpoints(site_url=SITE_URL)
    assert endpoints.jira_base(CLOUD_ID) == SITE_URL
    assert endpoints.confluence_base(CLOUD_ID) == SITE_URL
    assert endpoints.api_origins == frozenset({SITE_URL})


def test_gateway_endpoints_use_cloud_id():
    endpoints = ApiTokenEndpoints(
        api_base=GATEWAY_BASE, site_url=SITE_URL, route=GATEWAY
    )
    assert endpoints.jira_base(CLOUD_ID) == f"{GATEWAY_BASE}/ex/jira/{CLOUD_ID}"
    assert endpoints.confluence_base(CLOUD_ID) == (
        f"{GATEWAY_BASE}/ex/confluence/{CLOUD_ID}"
    )
    assert endpoints.api_origins == frozenset({GATEWAY_BASE})


def test_endpoints_reject_unknown_route():
    with pytest.raises(ValueError, match="route"):
        ApiTokenEndpoints(site_url=SITE_URL, route="elsewhere")


def test_site_endpoints_need_site_url():
    with pytest.raises(ValueError, match="site_url"):
        ApiTokenEndpoints()


@responses.activate
def test_jira_module_calls_site_url():
    url = f"{SITE_URL}/rest/api/3/project/search"
    responses.get(url, json={"values": [], "isLast": True, "startAt": 0})
    endpoints = ApiTokenEndpoints(site_url=SITE_URL)
    session = create_session(auth=ApiTokenAuth(EMAIL, TOKEN, endpoints.api_origins))
    page = jira.search_projects(session, endpoints, CLOUD_ID)
    assert page.url == url


@responses.activate
def test_confluence_module_calls_site_wiki():
    url = f"{SITE_URL}/wiki/api/v2/spaces"
    responses.get(url, json={"results": [], "_links": {}})
    endpoints = ApiTokenEndpoints(site_url=SITE_URL)
    session = create_session(auth=ApiTokenAuth(EMAIL, TOKEN, endpoints.api_origins))
    page = confluence.list_spaces(session, endpoints, CLOUD_ID)
    assert page.url == url


# verify with responses


@responses.activate
def test_verify_on_site_url():
    responses.get(JIRA_MYSELF, json=JIRA_USER)
    responses.get(CONFLUENCE_USER, json=CONFLUENCE_KNOWN)
    responses.get(TENANT_INFO, json={"cloudId": CLOUD_ID})
    result = run_verify(site_url="fake-site.atlassian.net/jira/your-work")
    assert result == Verification(
        site_url=SITE_URL,
        cloud_id=CLOUD_ID,
        route=SITE,
        account_id=ACCOUNT_ID,
        display_name="Zoë Fake",
        email=EMAIL,
        products=("jira", "confluence"),
    )


@responses.activate
def test_verify_summary_names_user():
    responses.get(JIRA_MYSELF, json=JIRA_USER)
    responses.get(CONFLUENCE_USER, json=CONFLUENCE_KNOWN)
    responses.get(TENANT_INFO, json={"cloudId": CLOUD_ID})
    assert run_verify().summary == "authenticated as Zoë Fake"


@responses.activate
def test_verify_sends_basic_auth_to_site():
    responses.get(JIRA_MYSELF, json=JIRA_USER)
    responses.get(CONFLUENCE_USER, json=CONFLUENCE_KNOWN)
    responses.get(TENANT_INFO, json={"cloudId": CLOUD_ID})
    run_verify(token=f" {TOKEN}\n")
    expected = basic_authorization(EMAIL, TOKEN)
    assert responses.calls[0].request.headers["Authorization"] == expected
    assert responses.calls[1].request.headers["Authorization"] == expected


@responses.activate
def test_verify_tenant_info_sent_without_auth():
    responses.get(JIRA_MYSELF, json=JIRA_USER)
    responses.get(CONFLUENCE_USER, json=CONFLUENCE_KNOWN)
    responses.get(TENANT_INFO, json={"cloudId": CLOUD_ID})
    run_verify()
    assert "Authorization" not in responses.calls[2].request.headers


@responses.activate
def test_verify_jira_only_site():
    responses.get(JIRA_MYSELF, json=JIRA_USER)
    responses.get(CONFLUENCE_USER, status=404, body="Not Found")
    responses.get(TENANT_INFO, json={"cloudId": CLOUD_ID})
    assert run_verify().products == ("jira",)


@responses.activate
def test_verify_site_without_cloud_id():
    responses.get(JIRA_MYSELF, json=JIRA_USER)
    responses.get(CONFLUENCE_USER, json=CONFLUENCE_KNOWN)
    responses.get(TENANT_INFO, status=404)
    result = run_verify()
    assert result.route == SITE
    assert result.cloud_id is None


@responses.activate
def test_verify_falls_back_to_gateway():
    reject_401(JIRA_MYSELF)
    reject_401(CONFLUENCE_USER)
    responses.get(TENANT_INFO, json={"cloudId": CLOUD_ID})
    responses.get(GATEWAY_JIRA, json=JIRA_USER)
    responses.get(GATEWAY_CONFLUENCE, json=CONFLUENCE_KNOWN)
    result = run_verify()
    assert result.route == GATEWAY
    assert result.cloud_id == CLOUD_ID
    assert result.products == ("jira", "confluence")


@responses.activate
def test_verify_gateway_gets_basic_auth():
    reject_401(JIRA_MYSELF)
    reject_401(CONFLUENCE_USER)
    responses.get(TENANT_INFO, json={"cloudId": CLOUD_ID})
    responses.get(GATEWAY_JIRA, json=JIRA_USER)
    responses.get(GATEWAY_CONFLUENCE, json=CONFLUENCE_KNOWN)
    run_verify()
    gateway_calls = [
        call for call in responses.calls if call.request.url.startswith(GATEWAY_BASE)
    ]
    assert len(gateway_calls) == 2
    for call in gateway_calls:
        assert call.request.headers["Authorization"] == basic_authorization(
            EMAIL, TOKEN
        )


@responses.activate
def test_verify_gateway_for_one_product():
    reject_401(JIRA_MYSELF)
    reject_401(CONFLUENCE_USER)
    responses.get(TENANT_INFO, json={"cloudId": CLOUD_ID})
    responses.get(GATEWAY_JIRA, json=JIRA_USER)
    responses.get(
        GATEWAY_CONFLUENCE,
        status=401,
        json={"code": 401, "message": "Unauthorized; scope does not match"},
    )
    result = run_verify()
    assert result.route == GATEWAY
    assert result.products == ("jira",)


@responses.activate
def test_verify_rejects_bad_tenant_cloud_id():
    reject_401(JIRA_MYSELF)
    reject_401(CONFLUENCE_USER)
    responses.get(TENANT_INFO, json={"cloudId": "../../admin"})
    with pytest.raises(ApiTokenRejected) as caught:
        run_verify()
    assert "no valid cloudId" in caught.value.causes[3]
    assert len(responses.calls) == 3


def rejected_everywhere() -> ApiTokenRejected:
    reject_401(JIRA_MYSELF)
    reject_401(CONFLUENCE_USER)
    responses.get(TENANT_INFO, json={"cloudId": CLOUD_ID})
    reject_401(GATEWAY_JIRA)
    reject_401(GATEWAY_CONFLUENCE)
    with pytest.raises(ApiTokenRejected) as caught:
        run_verify()
    return caught.value


@responses.activate
def test_rejection_lists_causes_in_order():
    error = rejected_everywhere()
    assert len(error.causes) == 5
    assert "is not the address of the Atlassian account" in error.causes[0]
    assert "revoked or has expired" in error.causes[1]
    assert "password was pasted" in error.causes[2]
    assert "scoped token" in error.causes[3]
    assert "check the site URL" in error.causes[4]


@responses.activate
def test_rejection_hint_numbers_causes():
    error = rejected_everywhere()
    assert error.hint.index("1. The email") < error.hint.index("2. The token")
    assert error.hint.index("4. It is a scoped") < error.hint.index("5. The site")


@responses.activate
def test_rejection_names_email_site_and_answers():
    error = rejected_everywhere()
    assert EMAIL in error.message
    assert SITE_URL in error.message
    assert "On the site URL: Jira 401, Confluence 401." in error.message
    assert "Through the gateway: Jira 401, Confluence 401." in error.message
    assert "the gateway rejected it too" in error.causes[3]


@responses.activate
def test_rejection_hides_token_and_body():
    error = rejected_everywhere()
    for text in (error.message, error.hint, str(error), error.body, repr(error)):
        assert TOKEN not in text
        assert "BODY-MARKER-77" not in text


@responses.activate
def test_rejection_is_unauthorized():
    error = rejected_everywhere()
    assert error.status == 401
    assert error.url == JIRA_MYSELF


@responses.activate
def test_password_cause_names_missing_prefix():
    reject_401(JIRA_MYSELF)
    reject_401(CONFLUENCE_USER)
    responses.get(TENANT_INFO, json={"cloudId": CLOUD_ID})
    reject_401(GATEWAY_JIRA)
    reject_401(GATEWAY_CONFLUENCE)
    with pytest.raises(ApiTokenRejected) as caught:
        run_verify(token=PASSWORD_LIKE)
    assert "does not start with ATAT" in caught.value.causes[2]
    assert PASSWORD_LIKE not in caught.value.hint


@responses.activate
def test_password_cause_without_prefix_note():
    error = rejected_everywhere()
    assert "ATAT" not in error.causes[2]


@responses.activate
def test_rejection_when_tenant_lookup_fails():
    reject_401(JIRA_MYSELF)
    reject_401(CONFLUENCE_USER)
    responses.get(TENANT_INFO, status=404, json={"message": "none"})
    with pytest.raises(ApiTokenRejected) as caught:
        run_verify()
    assert "gateway was not tried" in caught.value.causes[3]
    assert "_edge/tenant_info" in caught.value.causes[3]
    assert "Through the gateway" not in caught.value.message


@responses.activate
def test_anonymous_confluence_is_failure():
    responses.get(JIRA_MYSELF, status=404)
    responses.get(CONFLUENCE_USER, json=CONFLUENCE_ANONYMOUS)
    with pytest.raises(ApiTokenRejected) as caught:
        run_verify()
    assert "Confluence an anonymous user" in caught.value.message
    assert caught.value.status == 200


@responses.activate
def test_anonymous_confluence_with_jira_401_tries_gateway():
    reject_401(JIRA_MYSELF)
    responses.get(CONFLUENCE_USER, json=CONFLUENCE_ANONYMOUS)
    responses.get(TENANT_INFO, json={"cloudId": CLOUD_ID})
    responses.get(GATEWAY_JIRA, json=JIRA_USER)
    responses.get(GATEWAY_CONFLUENCE, json=CONFLUENCE_KNOWN)
    assert run_verify().route == GATEWAY


@responses.activate
def test_empty_jira_identity_is_failure():
    responses.get(JIRA_MYSELF, json={"accountId": "", "displayName": ""})
    responses.get(CONFLUENCE_USER, status=404)
    with pytest.raises(ApiTokenRejected) as caught:
        run_verify()
    assert "Jira an anonymous user" in caught.value.message


@responses.activate
def test_identity_without_account_id_is_failure():
    responses.get(JIRA_MYSELF, json={"displayName": "Someone"})
    responses.get(CONFLUENCE_USER, json={"type": "known"})
    with pytest.raises(ApiTokenRejected):
        run_verify()


@responses.activate
def test_inactive_account_is_failure():
    responses.get(JIRA_MYSELF, json={**JIRA_USER, "active": False})
    responses.get(CONFLUENCE_USER, json=CONFLUENCE_KNOWN)
    with pytest.raises(AccountInactive) as caught:
        run_verify()
    assert EMAIL in caught.value.message
    assert "deactivated" in caught.value.message
    assert "reactivate" in caught.value.hint


@responses.activate
def test_inactive_account_on_gateway_is_failure():
    reject_401(JIRA_MYSELF)
    reject_401(CONFLUENCE_USER)
    responses.get(TENANT_INFO, json={"cloudId": CLOUD_ID})
    responses.get(GATEWAY_JIRA, json={**JIRA_USER, "active": False})
    responses.get(GATEWAY_CONFLUENCE, json=CONFLUENCE_KNOWN)
    with pytest.raises(AccountInactive):
        run_verify()


@responses.activate
def test_site_without_products():
    responses.get(JIRA_MYSELF, status=404)
    responses.get(CONFLUENCE_USER, status=404)
    with pytest.raises(SiteWithoutProducts) as caught:
        run_verify()
    assert SITE_URL in caught.value.message
    assert "site URL" in caught.value.hint


@responses.activate
def test_scoped_token_without_user_scopes():
    reject_401(JIRA_MYSELF)
    reject_401(CONFLUENCE_USER)
    responses.get(TENANT_INFO, json={"cloudId": CLOUD_ID})
    mismatch = {"code": 401, "message": "Unauthorized; scope does not match"}
    responses.get(GATEWAY_JIRA, status=401, json=mismatch)
    responses.get(GATEWAY_CONFLUENCE, status=401, json=mismatch)
    with pytest.raises(TokenScopesMissing) as caught:
        run_verify()
    assert "read:jira-user" in caught.value.hint
    assert "read:jira-user" in caught.value.required


@responses.activate
def test_unreachable_site_names_site():
    with pytest.raises(NetworkError) as caught:
        run_verify()
    assert SITE_URL in caught.value.hint


@responses.activate
def test_invalid_input_sends_nothing():
    with pytest.raises(InvalidInput):
        run_verify(email="not-an-email")
    assert len(responses.calls) == 0


@responses.activate
def test_verify_calls_reach_request_log():
    responses.get(JIRA_MYSELF, json=JIRA_USER)
    responses.get(CONFLUENCE_USER, json=CONFLUENCE_KNOWN)
    responses.get(TENANT_INFO, json={"cloudId": CLOUD_ID})
    log = RequestLog()
    logged = functools.partial(create_session, retries=False, request_log=log)
    verify(logged, SITE_URL, EMAIL, TOKEN, gateway_base=GATEWAY_BASE)
    paths = [record.path for record in log.records()]
    assert "/rest/api/3/myself" in paths
    assert "/wiki/rest/api/user/current" in paths


@responses.activate
def test_verify_logs_no_token(caplog):
    caplog.set_level("DEBUG", logger="lib")
    rejected_everywhere()
    assert "fake-site.atlassian.net" in caplog.text
    assert TOKEN not in caplog.text
    assert basic_authorization(EMAIL, TOKEN).split()[1] not in caplog.text


def test_practice_gateway_must_be_sandbox():
    with pytest.raises(ValueError, match="sandbox"):
        verify(
            factory,
            "http://127.0.0.1:8599/sites/practice-cloud",
            EMAIL,
            TOKEN,
            gateway_base="https://api.atlassian.com",
            practice_base="http://127.0.0.1:8599",
        )


@responses.activate
def test_practice_gateway_defaults_to_sandbox():
    base = "http://127.0.0.1:8599"
    site = f"{base}/sites/practice-cloud"
    reject_401(f"{site}/rest/api/3/myself")
    reject_401(f"{site}/wiki/rest/api/user/current")
    responses.get(f"{site}/_edge/tenant_info", json={"cloudId": CLOUD_ID})
    responses.get(f"{base}/ex/jira/{CLOUD_ID}/rest/api/3/myself", json=JIRA_USER)
    responses.get(
        f"{base}/ex/confluence/{CLOUD_ID}/wiki/rest/api/user/current",
        json=CONFLUENCE_KNOWN,
    )
    result = verify(factory, site, EMAIL, TOKEN, practice_base=base)
    assert result.route == GATEWAY


def test_verification_endpoints_follow_route():
    result = Verification(
        SITE_URL, CLOUD_ID, GATEWAY, ACCOUNT_ID, "Zoë", EMAIL, ("jira",)
    )
    endpoints = result.endpoints(GATEWAY_BASE + "/")
    assert endpoints.jira_base(CLOUD_ID) == f"{GATEWAY_BASE}/ex/jira/{CLOUD_ID}"


# verify against the sandbox


@pytest.fixture(scope="module")
def sandbox():
    with SandboxServer(SandboxConfig(clock=FakeClock())) as server:
        yield server


@pytest.fixture
def practice(sandbox):
    sandbox.app.state.api_tokens.reset()
    return sandbox.base_url


def practice_verify(base: str, slug="practice-cloud", **changes):
    arguments = {
        "site_url": f"{base}/sites/{slug}",
        "email": PRACTICE_API_TOKEN_EMAIL,
        "token": PRACTICE_API_TOKEN,
    }
    arguments.update(changes)
    return verify(factory, practice_base=base, **arguments)


def create_token(base: str, **body) -> str:
    response = requests.post(f"{base}/_sandbox/api-tokens", json=body, timeout=10)
    response.raise_for_status()
    return response.json()["token"]


def test_sandbox_practice_token_on_site(practice, sandbox):
    result = practice_verify(practice)
    site = sandbox.state.dataset.site_by_slug("practice-cloud")
    assert result.route == SITE
    assert result.products == ("jira", "confluence")
    assert result.display_name == "Zoë Practice"
    assert result.cloud_id == site.cloud_id


def test_sandbox_jira_only_site(practice):
    result = practice_verify(practice, slug="jira-only")
    assert result.products == ("jira",)


def test_sandbox_german_site_by_pasted_name(practice):
    result = practice_verify(practice, slug="übungsseite/wiki/spaces/TECHNIK")
    assert result.site_url == f"{practice}/sites/%C3%BCbungsseite"


def test_sandbox_scoped_token_uses_gateway(practice):
    token = create_token(practice, kind="scoped")
    result = practice_verify(practice, token=token)
    assert result.route == GATEWAY
    assert result.products == ("jira", "confluence")


def test_sandbox_scoped_jira_token(practice):
    token = create_token(practice, kind="scoped", scopes=["read:jira-user"])
    result = practice_verify(practice, token=token)
    assert result.products == ("jira",)


def test_sandbox_scoped_token_without_user_scope(practice):
    token = create_token(practice, kind="scoped", scopes=["read:jira-work"])
    with pytest.raises(TokenScopesMissing):
        practice_verify(practice, token=token)


def test_sandbox_revoked_token_rejected(practice):
    requests.delete(f"{practice}/_sandbox/api-tokens/practice", timeout=10)
    with pytest.raises(ApiTokenRejected) as caught:
        practice_verify(practice)
    assert "Through the gateway: Jira 401, Confluence 401." in caught.value.message


def test_sandbox_wrong_email_rejected(practice):
    with pytest.raises(ApiTokenRejected) as caught:
        practice_verify(practice, email="amelie.dubois@example.test")
    assert "amelie.dubois@example.test" in caught.value.causes[0]


def test_sandbox_password_rejected(practice):
    with pytest.raises(ApiTokenRejected) as caught:
        practice_verify(practice, token=PASSWORD_LIKE)
    assert "does not start with ATAT" in caught.value.causes[2]


def test_sandbox_unknown_site(practice):
    with pytest.raises(SiteWithoutProducts):
        practice_verify(practice, slug="no-such-site")


def test_sandbox_site_route_lists_projects_and_spaces(practice):
    result = practice_verify(practice)
    endpoints = result.endpoints(practice)
    session = factory(
        auth=ApiTokenAuth(result.email, PRACTICE_API_TOKEN, endpoints.api_origins)
    )
    projects = jira.search_projects(session, endpoints, result.cloud_id, max_results=5)
    spaces = confluence.list_spaces(session, endpoints, result.cloud_id, limit=5)
    assert projects.total == 120
    assert len(spaces.spaces) == 5
    following = confluence.list_spaces(
        session, endpoints, result.cloud_id, next_url=spaces.next_url
    )
    assert following.spaces[0].id != spaces.spaces[0].id


def test_sandbox_gateway_route_lists_projects(practice):
    token = create_token(practice, kind="scoped")
    result = practice_verify(practice, token=token)
    endpoints = result.endpoints(practice)
    session = factory(auth=ApiTokenAuth(result.email, token, endpoints.api_origins))
    projects = jira.search_projects(session, endpoints, result.cloud_id, max_results=5)
    assert projects.total == 120
    assert projects.url.startswith(f"{practice}/ex/jira/")

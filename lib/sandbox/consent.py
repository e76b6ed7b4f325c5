"""Drive the sandbox's consent screen over HTTP, the way a browser submits it.

Tests and benchmarks use it to obtain a code without a browser.
"""

import html
import re

import requests

TIMEOUT = 10


def approve(authorize_url: str, site_name: str | None = None, decision="accept") -> str:
    """Open the consent screen, pick a site by visible name, press a button, and
    return the address the browser would be sent to."""
    page = requests.get(authorize_url, timeout=TIMEOUT, allow_redirects=False)
    if page.status_code == 302:
        return page.headers["Location"]
    page.raise_for_status()

    request_id = re.search(r'name="request_id" value="([^"]+)"', page.text).group(1)
    options = {
        html.unescape(label): html.unescape(value)
        for value, label in re.findall(
            r'<option value="([^"]+)">([^<]*)</option>', page.text
        )
    }

    site = next(iter(options.values()), "")
    if site_name is not None:
        site = next(value for label, value in options.items() if site_name in label)

    action = authorize_url.split("/authorize")[0] + "/authorize"
    response = requests.post(
        action,
        data={
            "request_id": html.unescape(request_id),
            "site": site,
            "decision": decision,
        },
        timeout=TIMEOUT,
        allow_redirects=False,
    )
    if response.status_code != 302:
        raise RuntimeError(
            f"The consent form returned {response.status_code}, not a redirect."
        )
    return response.headers["Location"]

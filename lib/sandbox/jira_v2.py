"""Jira Cloud platform REST v2 routes under /ex/jira/{cloudid}/rest/api/2.

Jira Cloud serves REST v2 and v3 side by side. They differ in how rich-text
fields are written: wiki markup in v2, Atlassian Document Format in v3. A page of
project search contains no rich-text field, so the v2 route returns the v3 body
with the API version in its URLs changed. Clients such as atlassian-python-api
list a Cloud site's projects through v2.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from lib.sandbox import jira
from lib.sandbox.data import JIRA
from lib.sandbox.gateway import ApiContext, api_route

# URLs under these v3 resources are rewritten to v2: the page's `self` and
# `nextPage`, each project's `self` and each lead's `self`. Avatar URLs keep v3,
# which the sandbox serves.
_REWRITTEN_RESOURCES = ("project", "user?")


# NOTE: the sandbox applies the v3 scope requirement to v2, because both serve
# the same operation (searchProjects).
@api_route(JIRA, "/rest/api/3/project/search")
async def project_search(request: Request, context: ApiContext) -> Response:
    """GET /rest/api/2/project/search: the v3 project search with v2 URLs."""
    response = await jira.project_search.__wrapped__(request, context)
    if response.status_code != 200:
        return response
    api = context.product_base(JIRA) + "/rest/api"
    body = response.body
    for resource in _REWRITTEN_RESOURCES:
        body = body.replace(
            f"{api}/3/{resource}".encode(), f"{api}/2/{resource}".encode()
        )
    return Response(body, media_type="application/json")

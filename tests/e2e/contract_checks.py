"""Checks schemathesis runs besides its own (loaded with SCHEMATHESIS_HOOKS): every error answer is
an RFC 9457 problem document, unless the operation documents that status as an answer of its own
(the health report's 503)."""

import schemathesis

PROBLEM_JSON = "application/problem+json"


@schemathesis.check
def errors_are_problem_documents(ctx, response, case):
    if response.status_code < 400 or _documented_otherwise(case, response.status_code):
        return
    values = {name.lower(): value for name, value in response.headers.items()}.get("content-type", [""])
    content_type = values[0] if isinstance(values, list) else values
    assert content_type.startswith(PROBLEM_JSON), (
        f"{response.status_code} answered with {content_type or 'no content type'}, not {PROBLEM_JSON}")
    body = response.json()
    assert body.get("status") == response.status_code and body.get("type", "").startswith("urn:simgate:problem:")


def _documented_otherwise(case, status: int) -> bool:
    documented = case.operation.definition.raw.get("responses", {}).get(str(status), {})
    return bool(documented.get("content")) and PROBLEM_JSON not in documented["content"]

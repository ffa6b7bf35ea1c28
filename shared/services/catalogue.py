"""Use cases of the case catalogue: list, read, publish."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

from shared.auth import Principal
from shared.domain.cases import CaseHeader, PublishedCase, parse_definition
from shared.errors import Forbidden, ValidationFailed
from shared.services.paging import PageQuery, fetch_page
from shared.services.ports import CaseRepository, Page, Publication


def list_cases(repository: CaseRepository, query: PageQuery) -> Page[CaseHeader]:
    return fetch_page(repository.list_headers, query)


def get_case(repository: CaseRepository, case_id: str, version: int | None = None) -> tuple[PublishedCase, int]:
    """The version asked for (the latest by default), and the latest version number."""
    latest = repository.latest_version(case_id)
    return repository.get(case_id, version or latest), latest


def publish_case(repository: CaseRepository, principal: Principal, admin_role: str, document: Any,
                 case_id: str | None = None, now: datetime | None = None) -> Publication:
    """Publish a definition (admins only). ``case_id`` is the id in the URL, if any."""
    if not principal.has_role(admin_role):
        raise Forbidden(f"publishing cases needs the '{admin_role}' role")
    if case_id is not None and isinstance(document, dict):
        body_id = document.setdefault("id", case_id)
        if body_id != case_id:
            raise ValidationFailed("the definition is for another case", errors=[
                {"field": "id", "message": f"is '{body_id}' but the URL names case '{case_id}'"}])
    definition = parse_definition(document)
    return repository.publish(definition, principal.user_id, now or datetime.now(timezone.utc))

"""In-memory implementations of the ports, for unit tests of the services."""

from __future__ import annotations

from datetime import datetime

from shared.domain.cases import CaseDefinition, CaseHeader, PublishedCase
from shared.errors import NotFound
from shared.services.ports import CaseRepository, Page, Publication, decode_continuation, encode_continuation


class InMemoryCaseRepository(CaseRepository):
    def __init__(self) -> None:
        self.versions: dict[str, list[PublishedCase]] = {}
        self.writes = 0

    def list_headers(self, per_page: int, continuation: str | None = None) -> Page[CaseHeader]:
        after = (decode_continuation(continuation) or {}).get("after", "")
        ids = [i for i in sorted(self.versions) if i > after]
        chosen = ids[:per_page]
        more = len(ids) > per_page
        return Page([self.versions[i][-1].header() for i in chosen],
                    encode_continuation({"after": chosen[-1]}) if more else None)

    def latest_version(self, case_id: str) -> int:
        if case_id not in self.versions:
            raise NotFound(f"there is no case '{case_id}'")
        return self.versions[case_id][-1].version

    def get(self, case_id: str, version: int | None = None) -> PublishedCase:
        version = version or self.latest_version(case_id)
        for published in self.versions.get(case_id, []):
            if published.version == version:
                return published
        self.latest_version(case_id)
        raise NotFound(f"case '{case_id}' has no version {version}")

    def publish(self, definition: CaseDefinition, published_by: str, now: datetime) -> Publication:
        history = self.versions.setdefault(definition.id, [])
        if history and history[-1].digest == definition.digest():
            return Publication(history[-1], changed=False)
        published = PublishedCase(definition=definition, version=len(history) + 1, published=now,
                                  published_by=published_by, digest=definition.digest())
        history.append(published)
        self.writes += 1
        return Publication(published, changed=True)

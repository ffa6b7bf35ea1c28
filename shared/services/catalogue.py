"""Use cases of the case catalogue: list, read, publish. Publishing always goes through here, from
the API and from the case-folder loader alike."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

from shared.auth import Principal
from shared.config import SimulatorSpec
from shared.domain.cases import CaseDefinition, CaseHeader, PublishedCase, parse_definition
from shared.domain.sites import missing_licences
from shared.errors import Forbidden, ValidationFailed
from shared.services.paging import fetch_page
from shared.services.ports import CaseRepository, Clock, Page, PageRequest, Publication

log = logging.getLogger("simgate.cases")

SEARCHED = 5000  # a search reads at most this many case headers


class Catalogue:
    def __init__(self, cases: CaseRepository, clock: Clock, simulators: Sequence[SimulatorSpec] = ()) -> None:
        self._cases = cases
        self._clock = clock
        self._simulators = simulators

    def list(self, page: PageRequest, *, words: str | None = None, tag: str | None = None) -> Page[CaseHeader]:
        """A page of case headers in id order; with ``words`` or a ``tag``, of the cases that match."""
        if not words and not tag:
            return fetch_page(self._cases.list_headers, page)
        found = [h for h in self._all_headers() if _matches(h, words, tag)]  # a catalogue is small: filter in memory
        chosen = found[page.skip:page.skip + page.per_page]
        return Page(chosen, None, more=len(found) > page.skip + len(chosen))

    def _all_headers(self) -> list[CaseHeader]:
        headers, token = [], None
        while len(headers) < SEARCHED:
            page = self._cases.list_headers(100, token)
            headers += page.items
            token = page.continuation
            if token is None:
                break
        return headers

    def get(self, case_id: str, version: int | None = None) -> tuple[PublishedCase, int]:
        """The version asked for (the latest by default), and the latest version number."""
        latest = self._cases.latest_version(case_id)
        return self._cases.get(case_id, version or latest), latest

    def publish(self, caller: Principal, document: Any, case_id: str | None = None) -> Publication:
        """Publish a definition (admins only). ``case_id`` is the id the request names, if any."""
        if not caller.is_admin:
            raise Forbidden("publishing cases needs the admin role")
        if case_id is not None and isinstance(document, dict):
            body_id = document.setdefault("id", case_id)
            if body_id != case_id:
                raise ValidationFailed("the definition is for another case", errors=[
                    {"field": "id", "message": f"is '{body_id}' but the URL names case '{case_id}'"}])
        definition = parse_definition(document)
        self._check_licences(definition)
        publication = self._cases.publish(definition, caller.user_id, self._clock.now())
        if publication.changed:
            log.info("case %s version %d published by %s", definition.id, publication.case.version, caller.user_id)
        return publication

    def _check_licences(self, definition: CaseDefinition) -> None:
        """A case whose runs need licences that no one site it may run on has could never run: refused. (An
        app with no simulator configured at all only keeps a catalogue: it publishes unchecked.)"""
        if not self._simulators:
            return
        sites = [s for s in self._simulators if not definition.simulators or s.name in definition.simulators]
        needs = definition.licences
        if not needs or any(missing_licences(site.limits, needs) is None for site in sites):
            return
        problems = []
        for name, count in sorted(needs.items()):
            have = ", ".join(f"{s.name} has {s.licences[name]}" for s in sites if name in s.licences)
            problems.append({"field": f"licences.{name}", "message": f"a run needs {count} {name} licence"
                             f"{'s' if count > 1 else ''} and no simulator the case may run on has all it needs"
                             + (f" ({have})" if have else "")})
        raise ValidationFailed("no simulator has the licences this case needs", errors=problems)


def _matches(header: CaseHeader, words: str | None, tag: str | None) -> bool:
    text = f"{header.title} {header.summary}".casefold()
    return (all(w in text for w in (words or "").casefold().split())
            and (tag is None or tag.casefold() in {t.casefold() for t in header.tags}))

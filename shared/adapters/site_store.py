"""The governor's records in the jobs table, beside the jobs.

Partition ``~site:<name>`` per site (``~site:*`` for jobs whose site is not chosen yet): '~' sorts
after every job's partition, so no listing of jobs ever meets these rows, and the table needs no
sibling. In each partition:

- ``~ledger``: the site's grants, one entity replaced with If-Match on its ETag, so concurrent
  instances can never grant past a limit (a lost race is a 412 and a re-read);
- one row per job active on the site (its line entry), keyed by the job id;
- ``~history:<case>:<version>``: the run times of that case version's last finished runs there.

The line of a site is one partition query, so the governor and the reconciler read what is active,
never the history of every job ever run.
"""

from __future__ import annotations

import json
from typing import Any

from azure.core import MatchConditions
from azure.core.exceptions import HttpResponseError, ResourceExistsError, ResourceNotFoundError
from azure.data.tables import UpdateMode

from shared.adapters.storage import StorageClients, storage_errors
from shared.adapters.table_text import join_text, split_text
from shared.domain.sites import DurationHistory, Ledger, LineEntry
from shared.errors import StaleWrite
from shared.services.ports import SiteStore, Stored

PREFIX = "~site:"
LEDGER = "~ledger"
HISTORY = "~history:"


def partition(site: str) -> str:
    return PREFIX + site


class TableSiteStore(SiteStore):
    def __init__(self, clients: StorageClients, table: str) -> None:
        self._clients = clients
        self._table_name = table

    @property
    def _table(self):
        return self._clients.table(self._table_name)

    def ledger(self, site: str) -> Stored[Ledger] | None:
        entity = self._get(site, LEDGER, f"reading the ledger of {site}")
        return Stored(Ledger.model_validate_json(join_text("grants", entity)), entity.metadata["etag"]) if entity else None

    def save_ledger(self, site: str, ledger: Ledger, etag: str | None) -> Stored[Ledger]:
        entity = {"PartitionKey": partition(site), "RowKey": LEDGER, **split_text("grants", ledger.model_dump_json())}
        return Stored(ledger, self._put(entity, etag, f"the ledger of {site}"))

    def enter(self, entry: LineEntry) -> None:
        entity = {"PartitionKey": partition(entry.site), "RowKey": entry.job_id, "owner": entry.owner,
                  "licences": json.dumps(entry.licences), "since": entry.since}
        with storage_errors(f"putting job {entry.job_id} in the line of {entry.site}"):
            self._table.upsert_entity(entity, mode=UpdateMode.REPLACE)

    def leave(self, site: str, job_id: str) -> None:
        with storage_errors(f"taking job {job_id} out of the line of {site}"):
            try:
                self._table.delete_entity(partition(site), job_id)
            except ResourceNotFoundError:
                pass  # not in the line: nothing to take out

    def line(self, site: str | None = None) -> list[LineEntry]:
        if site is None:
            query, parameters = "PartitionKey ge @low and PartitionKey lt @high", {"low": PREFIX, "high": "~site;"}
        else:
            query, parameters = "PartitionKey eq @site", {"site": partition(site)}
        query += " and RowKey lt @tilde"
        parameters["tilde"] = "~"
        with storage_errors(f"reading the line of {site or 'every site'}"):
            entities = self._table.query_entities(query, parameters=parameters, results_per_page=1000,
                                                  select=["PartitionKey", "RowKey", "owner", "licences", "since"])
            return [_entry(entity) for entity in entities]

    def history(self, site: str, case_id: str, case_version: int) -> Stored[DurationHistory] | None:
        entity = self._get(site, _history_key(case_id, case_version), f"reading run times on {site}")
        if entity is None:
            return None
        return Stored(DurationHistory.model_validate_json(entity["seconds"]), entity.metadata["etag"])

    def save_history(self, site: str, case_id: str, case_version: int, history: DurationHistory,
                     etag: str | None) -> None:
        entity = {"PartitionKey": partition(site), "RowKey": _history_key(case_id, case_version),
                  "seconds": history.model_dump_json()}
        self._put(entity, etag, f"run times of {case_id} on {site}")

    def _get(self, site: str, row: str, what: str) -> Any:
        with storage_errors(what):
            try:
                return self._table.get_entity(partition(site), row)
            except ResourceNotFoundError:
                return None

    def _put(self, entity: dict[str, Any], etag: str | None, what: str) -> str:
        """Create (``etag`` None) or replace if unchanged: the new ETag, or StaleWrite."""
        with storage_errors(f"writing {what}"):
            try:
                if etag is None:
                    return self._table.create_entity(entity)["etag"]
                return self._table.update_entity(entity, mode=UpdateMode.REPLACE, etag=etag,
                                                 match_condition=MatchConditions.IfNotModified)["etag"]
            except ResourceExistsError:
                raise StaleWrite(f"{what} was created meanwhile") from None
            except ResourceNotFoundError:
                raise StaleWrite(f"{what} was removed meanwhile") from None
            except HttpResponseError as exc:
                if exc.status_code == 412:
                    raise StaleWrite(f"{what} changed since it was read") from None
                raise


def _history_key(case_id: str, case_version: int) -> str:
    return f"{HISTORY}{case_id}:{case_version}"


def _entry(entity: dict[str, Any]) -> LineEntry:
    return LineEntry(site=entity["PartitionKey"].removeprefix(PREFIX), job_id=entity["RowKey"], owner=entity["owner"],
                     licences=json.loads(entity.get("licences") or "{}"), since=entity["since"])

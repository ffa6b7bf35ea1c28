"""Jobs in Table storage.

One entity per job: partition = the owner partition encoded in the job id (see
shared/domain/jobs.py), row key = the job id. So reading a job by id is a point read, and a user's
jobs are one partition whose row keys sort newest first. The whole job is kept as JSON (split over
properties when long); status, case and times are also plain columns, for filters and the list.

Nothing queries across partitions by status: the reconciler finds active jobs through the sites'
lines (shared/adapters/site_store.py), one small entity per active job, kept in this table under
partitions that sort after every job's.

An Idempotency-Key is stored as a row ``~idem-<hash>`` in the same partition, inserted in the same
entity-group transaction as the job: either both exist or neither.
"""

from __future__ import annotations

import json
from typing import Any

from azure.core import MatchConditions
from azure.core.exceptions import HttpResponseError, ResourceNotFoundError
from azure.data.tables import TableTransactionError, UpdateMode

from shared.adapters.storage import StorageClients, storage_errors
from shared.adapters.table_paging import ContinuationTokens, read_page
from shared.adapters.table_text import join_text, split_text
from shared.domain.jobs import Job, JobStatus, JobSummary, owner_partition, partition_of
from shared.errors import NotFound, StaleWrite, ValidationFailed
from shared.services.ports import IdempotencyKeyReused, IdempotencyRecord, JobRepository, Page, Stored

IDEMPOTENCY_PREFIX = "~idem-"  # '~' sorts after every job id, so these rows never mix into a list
_SUMMARY_COLUMNS = ["RowKey", "title", "case_id", "case_version", "status", "created", "updated", "owner", "progress"]


class TableJobRepository(JobRepository):
    def __init__(self, clients: StorageClients, table: str, tokens: ContinuationTokens | None = None) -> None:
        self._clients = clients
        self._table_name = table
        self._tokens = tokens or ContinuationTokens(clients, table)

    @property
    def table_name(self) -> str:
        return self._table_name

    @property
    def _table(self):
        return self._clients.table(self._table_name)

    def add(self, job: Job, idempotency: IdempotencyRecord | None = None) -> Stored[Job]:
        entity = _entity(job)
        operations: list[tuple[str, dict[str, Any]]] = [("create", entity)]
        if idempotency:
            operations.append(("create", {
                "PartitionKey": entity["PartitionKey"],
                "RowKey": IDEMPOTENCY_PREFIX + idempotency.key_hash,
                "job_id": job.job_id,
                "request_hash": idempotency.request_hash,
            }))
        with storage_errors(f"creating job {job.job_id}"):
            try:
                results = self._table.submit_transaction(operations)
            except TableTransactionError as exc:
                if idempotency and exc.index == 1 and "exists" in str(exc.error_code or exc).lower():
                    existing = self._table.get_entity(entity["PartitionKey"], IDEMPOTENCY_PREFIX + idempotency.key_hash)
                    raise IdempotencyKeyReused(existing["job_id"], existing["request_hash"]) from None
                raise
        return Stored(job, results[0]["etag"])

    def find(self, job_id: str) -> Stored[Job] | None:
        partition = partition_of(job_id)
        if partition is None:
            return None  # no such row can exist; and it must not become part of a Table key
        with storage_errors(f"reading job {job_id}"):
            try:
                entity = self._table.get_entity(partition, job_id)
            except ResourceNotFoundError:
                return None
        return Stored(_job(entity), entity.metadata["etag"])

    def update(self, job: Job, etag: str) -> Stored[Job]:
        with storage_errors(f"updating job {job.job_id}"):
            try:
                metadata = self._table.update_entity(_entity(job), mode=UpdateMode.REPLACE, etag=etag,
                                                     match_condition=MatchConditions.IfNotModified)
            except ResourceNotFoundError:
                raise NotFound(f"there is no job '{job.job_id}'") from None
            except HttpResponseError as exc:
                if exc.status_code == 412:
                    raise StaleWrite(f"job {job.job_id} has changed since it was read") from None
                raise
        return Stored(job, metadata["etag"])

    def delete(self, job: Job, etag: str) -> None:
        partition = partition_of(job.job_id)
        with storage_errors(f"deleting job {job.job_id}"):
            try:
                self._table.delete_entity(partition, job.job_id, etag=etag,
                                          match_condition=MatchConditions.IfNotModified)
            except HttpResponseError as exc:
                if exc.status_code == 412:
                    raise StaleWrite(f"job {job.job_id} has changed since it was read") from None
                raise
            if job.idempotency_key_hash:
                self._table.delete_entity(partition, IDEMPOTENCY_PREFIX + job.idempotency_key_hash)

    def list_jobs(self, owner: str | None, per_page: int, continuation: str | None = None, *, skip: int = 0,
                  status: JobStatus | None = None, case_id: str | None = None) -> Page[JobSummary]:
        if owner is None:  # every owner's: partition by partition ('~' sorts after every job's partition and id)
            query, parameters = "PartitionKey lt @tilde and RowKey lt @tilde", {"tilde": "~"}
        else:
            query = "PartitionKey eq @partition and RowKey lt @idempotency and owner eq @owner"
            parameters = {"partition": owner_partition(owner), "idempotency": IDEMPOTENCY_PREFIX, "owner": owner}
        if status is not None:
            query += " and status eq @status"
            parameters["status"] = status.value
        if case_id is not None:
            query += " and case_id eq @case_id"
            parameters["case_id"] = case_id
        with storage_errors(f"listing the jobs of {owner or 'every user'}"):
            return read_page(self._table, self._tokens, query, per_page, continuation, _summary,
                             select=_SUMMARY_COLUMNS, parameters=parameters, skip=skip)


def _entity(job: Job) -> dict[str, Any]:
    try:
        document = split_text("job", job.model_dump_json())
    except ValueError:
        raise ValidationFailed("the job's field values are too large to store") from None
    return {
        "PartitionKey": partition_of(job.job_id),
        "RowKey": job.job_id,
        "owner": job.owner,
        "title": job.title,
        "case_id": job.case_id,
        "case_version": job.case_version,
        "status": job.status.value,
        "created": job.created,
        "updated": job.updated,
        **({"progress": job.progress} if job.progress is not None else {}),
        **document,
    }


def _job(entity: dict[str, Any]) -> Job:
    return Job.model_validate(json.loads(join_text("job", entity)))


def _summary(entity: dict[str, Any]) -> JobSummary:
    return JobSummary(job_id=entity["RowKey"], title=entity["title"], case_id=entity["case_id"],
                      case_version=entity["case_version"], status=entity["status"], created=entity["created"],
                      updated=entity["updated"], owner=entity.get("owner"), progress=entity.get("progress"))


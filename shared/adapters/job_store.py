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

from collections.abc import Iterator, Sequence
from datetime import datetime
from typing import Any

from azure.core import MatchConditions
from azure.core.exceptions import HttpResponseError, ResourceExistsError, ResourceNotFoundError
from azure.data.tables import TableTransactionError, UpdateMode

from shared.adapters.idempotency import insert_with_key
from shared.adapters.storage import StorageClients, storage_errors
from shared.adapters.table_paging import ContinuationTokens, read_page
from shared.adapters.table_text import join_text, split_text
from shared.domain.jobs import Job, JobStatus, JobSummary, owner_partition, partition_of
from shared.domain.sweeps import Sweep
from shared.errors import NotFound, StaleWrite, ValidationFailed
from shared.services.ports import IdempotencyRecord, JobRepository, Page, Stored

IDEMPOTENCY_PREFIX = "~idem-"  # '~' sorts after every job id, so these rows never mix into a list
_SUMMARY_COLUMNS = ["RowKey", "title", "case_id", "case_version", "status", "created", "updated", "owner", "progress",
                    "sweep_id"]
BATCH = 100  # a Table transaction's most operations
BATCH_BYTES = 3 * 1024 * 1024
MAX_KEYS_A_QUERY = 14  # a Table filter holds at most 15 comparisons: the partition and 14 row keys
SPAN_ROWS_PER_ID, SPAN_ROWS_MIN = 4, 100  # how far a read of the range between ids goes before it gives up
SPAN_CHUNKS = 1  # a span reads the job documents' first chunk only: almost every job fits in one
_DOCUMENT_COLUMNS = ["RowKey", "job_chunks", *(f"job_{index:02d}" for index in range(SPAN_CHUNKS))]


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
        with storage_errors(f"creating job {job.job_id}"):
            etag = insert_with_key(self._table, entity, idempotency, prefix=IDEMPOTENCY_PREFIX, column="job_id",
                                   item_id=job.job_id)
        return Stored(job, etag)

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

    def add_many(self, jobs: Sequence[Job]) -> set[str]:
        written: set[str] = set()
        for entities in _batches([_entity(job) for job in jobs]):
            with storage_errors(f"creating {len(entities)} jobs"):
                try:
                    self._table.submit_transaction([("create", entity) for entity in entities])
                    written.update(entity["RowKey"] for entity in entities)
                    continue
                except TableTransactionError as exc:
                    if "exists" not in str(exc.error_code or exc).lower():
                        raise
                for entity in entities:  # some are there already (a retried create): write the others
                    try:
                        self._table.create_entity(entity)
                        written.add(entity["RowKey"])
                    except ResourceExistsError:
                        pass
        return written

    def find_many(self, job_ids: Sequence[str]) -> dict[str, Stored[Job]]:
        """Per partition, first the range the ids span, read while it holds few others (ids made close
        together, like a sweep's members, are close in the table); what that leaves is read with a query
        per 14 ids."""
        by_partition: dict[str, list[str]] = {}
        for job_id in dict.fromkeys(job_ids):
            partition = partition_of(job_id)
            if partition is not None:
                by_partition.setdefault(partition, []).append(job_id)
        found: dict[str, Stored[Job]] = {}
        for partition, ids in by_partition.items():
            found.update(self._read_span(partition, sorted(ids)))
            missing = [job_id for job_id in ids if job_id not in found]
            for start in range(0, len(missing), MAX_KEYS_A_QUERY):
                found.update(self._read_keys(partition, missing[start:start + MAX_KEYS_A_QUERY]))
        return found

    def _read_span(self, partition: str, ids: list[str]) -> dict[str, Stored[Job]]:
        wanted, budget = set(ids), max(SPAN_ROWS_PER_ID * len(ids), SPAN_ROWS_MIN)
        found: dict[str, Stored[Job]] = {}
        query = "PartitionKey eq @partition and RowKey ge @low and RowKey le @high"
        with storage_errors(f"reading {len(ids)} jobs"):
            pages = self._table.query_entities(query, parameters={"partition": partition, "low": ids[0],
                                                                  "high": ids[-1]},
                                               results_per_page=min(budget, 1000), select=_DOCUMENT_COLUMNS).by_page()
            read = 0
            for page in pages:
                for entity in page:
                    read += 1
                    if entity["RowKey"] in wanted and entity["job_chunks"] <= SPAN_CHUNKS:
                        found[entity["RowKey"]] = Stored(_job(entity), entity.metadata["etag"])
                if read >= budget or len(found) == len(wanted):
                    break
        return found  # a job whose document has more chunks than were read is read by its key

    def _read_keys(self, partition: str, ids: list[str]) -> dict[str, Stored[Job]]:
        keys = " or ".join(f"RowKey eq @k{index}" for index in range(len(ids)))
        parameters = {"partition": partition, **{f"k{index}": job_id for index, job_id in enumerate(ids)}}
        with storage_errors(f"reading {len(ids)} jobs"):  # the SDK needs the spaces around the parentheses
            entities = self._table.query_entities(f"PartitionKey eq @partition and ( {keys} )", parameters=parameters)
            return {entity["RowKey"]: Stored(_job(entity), entity.metadata["etag"]) for entity in entities}

    def members(self, sweep: Sweep) -> list[Job]:
        low, high = sweep.member_range()
        query = "PartitionKey eq @partition and RowKey ge @low and RowKey lt @high and sweep_id eq @sweep"
        parameters = {"partition": partition_of(sweep.member_id(0)), "low": low, "high": high,
                      "sweep": sweep.sweep_id}
        with storage_errors(f"reading the members of sweep {sweep.sweep_id}"):
            return [_job(entity) for entity in self._table.query_entities(query, parameters=parameters)]

    def list_jobs(self, owner: str | None, per_page: int, continuation: str | None = None, *, skip: int = 0,
                  status: JobStatus | None = None, case_id: str | None = None,
                  sweep: Sweep | None = None) -> Page[JobSummary]:
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
        if sweep is not None:
            low, high = sweep.member_range()
            query += " and RowKey ge @low and RowKey lt @high and sweep_id eq @sweep"
            parameters.update(low=low, high=high, sweep=sweep.sweep_id)
        with storage_errors(f"listing the jobs of {owner or 'every user'}"):
            return read_page(self._table, self._tokens, query, per_page, continuation, _summary,
                             select=_SUMMARY_COLUMNS, parameters=parameters, skip=skip)


    def changed_since(self, owner: str, since: datetime) -> list[JobSummary]:
        query = "PartitionKey eq @partition and RowKey lt '~' and owner eq @owner and updated ge @since"
        with storage_errors(f"listing the jobs of {owner} changed since {since.isoformat()}"):
            rows = self._table.query_entities(query, select=_SUMMARY_COLUMNS, parameters={
                "partition": owner_partition(owner), "owner": owner, "since": since})
            return [_summary(row) for row in rows]


def _batches(entities: list[dict[str, Any]]) -> Iterator[list[dict[str, Any]]]:
    """Entity-group transactions of at most 100 entities and about 3 MiB (a transaction takes 4 MiB)."""
    batch: list[dict[str, Any]] = []
    size = 0
    for entity in entities:
        # the text properties dominate; counted as UTF-16, an upper bound of their JSON on the wire
        weight = 2 * sum(len(value) for value in entity.values() if isinstance(value, str)) + 1024
        if batch and (len(batch) == BATCH or size + weight > BATCH_BYTES):
            yield batch
            batch, size = [], 0
        batch.append(entity)
        size += weight
    if batch:
        yield batch


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
        **({"sweep_id": job.sweep_id} if job.sweep_id else {}),
        **document,
    }


def _job(entity: dict[str, Any]) -> Job:
    return Job.model_validate_json(join_text("job", entity))


def _summary(entity: dict[str, Any]) -> JobSummary:
    return JobSummary(job_id=entity["RowKey"], title=entity["title"], case_id=entity["case_id"],
                      case_version=entity["case_version"], status=entity["status"], created=entity["created"],
                      updated=entity["updated"], owner=entity.get("owner"), progress=entity.get("progress"),
                      sweep_id=entity.get("sweep_id"))


"""What the API answers: one pydantic model per kind of answer, each a projection made from the
domain objects the services return (``JobSummary.of(job)``), so renaming a domain attribute cannot
change the contract by accident. The OpenAPI document (``shared.api.openapi``), the web app's types
(generated from that document) and the CLI (which parses answers with these models) all come from
here; what the API reads is in ``shared.api.requests``."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from shared.domain import cases as domain_cases
from shared.domain import compare as domain_compare
from shared.domain import jobs as domain_jobs
from shared.domain import notifications as domain_notifications
from shared.domain import sites as domain_sites
from shared.domain import summaries
from shared.domain import sweeps as domain_sweeps
from shared.domain.cases import PublishedCase
from shared.domain.fields import FieldSpec, FieldType, FieldValue
from shared.domain.jobs import Job, JobStatus
from shared.domain.live import STREAMS
from shared.domain.outputs import Output
from shared.services import health, live, previews, sites
from shared.services import sweeps as sweep_service
from shared.services.ports import Link, Publication


class Answer(BaseModel):
    model_config = ConfigDict(frozen=True)


# --- problems ---


def _absent_when_none(value: object) -> bool:
    return value is None


class ProblemEntry(Answer):
    field: str | None = Field(default=None, exclude_if=_absent_when_none,
                              description="the field, parameter or header the problem is about")
    message: str
    rule: str | None = Field(default=None, exclude_if=_absent_when_none,
                             description="for field values: unknown, type, min, max, choice, pattern, max_length, "
                                         "characters, required")


class Problem(Answer):
    """An RFC 9457 problem document (application/problem+json)."""

    model_config = ConfigDict(frozen=True, json_schema_extra={"examples": [{
        "type": "urn:simgate:problem:validation-failed", "title": "Validation failed", "status": 422,
        "detail": "some field values are not valid", "instance": "/api/job/5f2c9a0e11b7-8230312345678-3fa9c2d1",
        "errors": [{"field": "speed_rpm", "rule": "max", "message": "must be at most 30000 rpm, not 40000"}]}]})

    type: str = Field(description="urn:simgate:problem:<kind>")
    title: str
    status: int
    detail: str
    instance: str | None = Field(default=None, exclude_if=_absent_when_none)
    errors: list[ProblemEntry] | None = Field(default=None, exclude_if=_absent_when_none)


# --- cases ---


# Answers ignore attributes they do not know, unlike the definitions authors write, so that a
# client built against this version still reads the answers of a later one.
TOLERANT = ConfigDict(extra="ignore", frozen=True)


class CaseHeader(Answer):
    """What the case list shows."""

    model_config = TOLERANT

    id: str
    title: str
    summary: str
    tags: list[str]
    version: int
    updated: datetime

    @classmethod
    def of(cls, header: domain_cases.CaseHeader) -> "CaseHeader":
        return cls(id=header.id, title=header.title, summary=header.summary, tags=list(header.tags),
                   version=header.version, updated=header.updated)


class FieldInfo(Answer):
    """A case field with the label to show (its own, or one made from its name)."""

    model_config = TOLERANT

    name: str
    label: str
    type: FieldType
    unit: str | None = None
    min: float | None = None
    max: float | None = None
    choices: list[str] | None = None
    pattern: str | None = None
    max_length: int | None = None
    required: bool = True
    help: str = ""
    default: FieldValue = None

    @classmethod
    def of(cls, spec: FieldSpec) -> "FieldInfo":
        return cls(name=spec.name, label=spec.display_label, type=spec.type, unit=spec.unit, min=spec.min,
                   max=spec.max, choices=spec.choices, pattern=spec.pattern, max_length=spec.max_length,
                   required=spec.required, help=spec.help, default=spec.default)

    def to_spec(self) -> FieldSpec:
        """The field's rules, to check values on the client's side as the API will."""
        return FieldSpec.model_validate(self.model_dump())


class CaseOutput(Answer):
    """Files a run of the case produces."""

    model_config = TOLERANT

    pattern: str
    description: str = ""
    live: bool = False


class CaseResources(Answer):
    """What one run of the case needs."""

    model_config = TOLERANT

    cores: int = 1
    memory_mb: int = 1024
    wall_time_minutes: int = 60
    partition: str | None = None
    account: str | None = None


class ScriptInfo(Answer):
    name: str
    entry_point: bool


class CaseDetails(CaseHeader):
    latest_version: int
    description: str
    fields: list[FieldInfo]
    scripts: list[ScriptInfo]
    entry_point: str
    outputs: list[CaseOutput] = Field(description="the files a run produces")
    resources: CaseResources = Field(description="what one run needs")
    simulators: list[str] = Field(description="the simulators the case may run on; empty: any")
    licences: dict[str, int] = Field(default_factory=dict,
                                     description="solver licences one run holds while it is on its site")

    @classmethod
    def of(cls, case: PublishedCase, latest_version: int) -> "CaseDetails":
        d = case.definition
        return cls(**CaseHeader.of(case.header()).model_dump(), latest_version=latest_version,
                   description=d.description, fields=[FieldInfo.of(f) for f in d.fields],
                   scripts=[ScriptInfo(name=n, entry_point=n == d.entry_point) for n in d.scripts],
                   entry_point=d.entry_point, outputs=[CaseOutput(**o.model_dump()) for o in d.outputs],
                   resources=CaseResources(**d.resources.model_dump()), simulators=d.simulators,
                   licences=dict(d.licences))


class Published(Answer):
    id: str
    version: int
    changed: bool = Field(description="false when the definition equals the latest version: nothing was written")

    @classmethod
    def of(cls, publication: Publication) -> "Published":
        return cls(id=publication.case.id, version=publication.case.version, changed=publication.changed)


# --- jobs ---


class JobCreated(Answer):
    job_id: str


class CancelRequestInfo(Answer):
    by: str
    at: datetime


class OutputsSummary(Answer):
    count: int
    bytes: int


class Transition(Answer):
    model_config = TOLERANT

    status: JobStatus
    at: datetime
    source: str = Field(description='who moved the job: "api:<user>", "manager", "agent", "reconciler"')
    reason: str = ""

    @classmethod
    def of(cls, transition: domain_jobs.Transition) -> "Transition":
        return cls(status=transition.status, at=transition.at, source=transition.source, reason=transition.reason)


class JobSummary(Answer):
    """What the job list shows."""

    model_config = TOLERANT

    job_id: str
    title: str
    case_id: str
    case_version: int
    status: JobStatus
    created: datetime
    updated: datetime
    owner: str | None = None
    progress: float | None = None
    sweep_id: str | None = Field(default=None, description="the sweep the job is a member of")

    @classmethod
    def of(cls, job: Job | domain_jobs.JobSummary) -> "JobSummary":
        return cls(job_id=job.job_id, title=job.title, case_id=job.case_id, case_version=job.case_version,
                   status=job.status, created=job.created, updated=job.updated, owner=job.owner,
                   progress=job.progress, sweep_id=job.sweep_id)


class JobDetails(JobSummary):
    uws_status: str = Field(description="the IVOA UWS phase: PENDING, QUEUED, EXECUTING, COMPLETED, ERROR, ABORTED")
    fields: dict[str, FieldValue]
    history: list[Transition]
    detail: str
    cancel_requested: CancelRequestInfo | None
    simulator: str | None
    scheduler_job_id: str | None
    error: str | None
    outputs: OutputsSummary
    placement: str = Field(default="", description="where the job went and why (empty until it has a site)")
    sweep_index: int | None = Field(default=None, description="a sweep member's place in its sweep, from 0")
    sweep_attempt: int = Field(default=0, description="0 for a member as created, n for its n-th retry")

    @classmethod
    def of(cls, job: Job) -> "JobDetails":
        request = job.cancel_requested
        return cls(**JobSummary.of(job).model_dump(), uws_status=job.status.uws, fields=job.fields,
                   history=[Transition.of(t) for t in job.history],
                   detail=job.detail, simulator=job.simulator, scheduler_job_id=job.scheduler_job_id, error=job.error,
                   placement=job.placement, sweep_index=job.sweep_index, sweep_attempt=job.sweep_attempt,
                   cancel_requested=CancelRequestInfo(by=request.by, at=request.at) if request else None,
                   outputs=OutputsSummary(count=len(job.outputs),
                                          bytes=sum(int(o.get("size", 0)) for o in job.outputs)))


class JobStatusInfo(Answer):
    job_id: str
    status: JobStatus
    uws_status: str
    updated_at: datetime
    detail: str
    progress: float | None
    cancel_requested: bool

    @classmethod
    def of(cls, job: Job) -> "JobStatusInfo":
        return cls(job_id=job.job_id, status=job.status, uws_status=job.status.uws, updated_at=job.updated,
                   detail=job.detail, progress=job.progress, cancel_requested=job.cancel_requested is not None)


# --- sites ---


class SiteLimitsInfo(Answer):
    model_config = TOLERANT

    max_parallel_jobs: int = Field(description="jobs on the site at once, from their start until they leave it")
    licences: dict[str, int] = Field(default_factory=dict, description="solver licences the site has, by name")
    max_jobs_per_user: int | None = Field(default=None, description="jobs of one user on the site at once")

    @classmethod
    def of(cls, limits: domain_sites.SiteLimits) -> "SiteLimitsInfo":
        return cls(**limits.model_dump())


class OfferInfo(Answer):
    """One site for one job: whether it can run it, how busy it is, and when it would start it."""

    model_config = TOLERANT

    simulator: str
    scheduler: str
    available: bool
    reason: str | None = Field(description="why the site cannot take the job (null when it can)")
    running: int = Field(description="jobs holding a slot there now")
    waiting: int = Field(description="jobs in its line waiting for a slot, a licence or their owner's share")
    limits: SiteLimitsInfo
    licences_in_use: dict[str, int]
    estimated_start: datetime | None = Field(description="an estimate; null when nothing is known to estimate from")
    start_basis: str = Field(description="what the start estimate rests on")
    estimated_duration_s: float | None
    basis: str = Field(description='what the duration rests on: "median of N finished runs ..." or "no history"')

    @classmethod
    def of(cls, offer: sites.Offer) -> "OfferInfo":
        return cls(simulator=offer.simulator, scheduler=offer.scheduler, available=offer.available,
                   reason=offer.reason, running=offer.running, waiting=offer.waiting,
                   limits=SiteLimitsInfo.of(offer.limits), licences_in_use=offer.licences_in_use,
                   estimated_start=offer.estimated_start, start_basis=offer.start_basis,
                   estimated_duration_s=offer.estimated_duration_s, basis=offer.basis)


class JobOffers(Answer):
    job_id: str
    simulator: str | None = Field(description="the site the job went to (null until it has one)")
    placement: str = Field(description="why it went there")
    offers: list[OfferInfo] = Field(description="every simulator the job's case may use, in configuration order")


class WaitingInfo(Answer):
    model_config = TOLERANT

    job_id: str
    owner: str
    since: datetime
    place: int = Field(description="1 for the head of the line")
    reason: str


class SiteInfo(Answer):
    """A site as admins see it: limits, what is in use, who waits."""

    model_config = TOLERANT

    name: str
    scheduler: str
    nodes_call_out: bool
    reachable: bool
    reason: str | None = Field(description="why it could not be reached (null when it could)")
    limits: SiteLimitsInfo
    running: int
    licences_in_use: dict[str, int]
    per_user: dict[str, int] = Field(description="jobs holding a slot, by user")
    waiting: list[WaitingInfo]

    @classmethod
    def of(cls, view: sites.SiteView) -> "SiteInfo":
        spec = view.spec
        return cls(name=spec.name, scheduler=spec.scheduler, nodes_call_out=spec.nodes_call_out,
                   reachable=view.reachable, reason=view.reason, limits=SiteLimitsInfo.of(spec.limits),
                   running=view.running, licences_in_use=view.licences_in_use, per_user=view.per_user,
                   waiting=[WaitingInfo(job_id=w.job_id, owner=w.owner, since=w.since, place=w.place,
                                        reason=w.reason) for w in view.waiting])


class FieldsSet(Answer):
    success: bool = True
    fields: dict[str, FieldValue]


class RunAccepted(Answer):
    success: bool = True
    status: JobStatus


class CancelAccepted(Answer):
    success: bool = True
    status: JobStatus
    cancel_requested: bool


class UploadGrant(Answer):
    expires_at: datetime | None
    files: dict[str, str] = Field(description="output name -> a link that creates and writes that one blob")


class StatusAnswer(JobStatusInfo):
    """The webhook's answer to the agent; after a cleanup report, with the upload grant."""

    upload: UploadGrant | None = None

    @classmethod
    def with_grant(cls, job: Job, grant: dict[str, Link] | None) -> "StatusAnswer":
        upload = None
        if grant is not None:
            expires = min((link.expires_at for link in grant.values()), default=None)
            upload = UploadGrant(expires_at=expires, files={name: link.url for name, link in grant.items()})
        return cls(**JobStatusInfo.of(job).model_dump(), upload=upload)


# --- studies: sweeps, previews, comparisons ---


class ColumnStats(Answer):
    """One numeric column of a CSV output, summarised when the job was done."""

    count: int
    min: float
    max: float
    mean: float
    last: float

    @classmethod
    def of(cls, column: summaries.ColumnSummary) -> "ColumnStats":
        return cls.model_construct(count=column.count, min=column.min, max=column.max, mean=column.mean,
                                   last=column.last)  # kept at the seal, checked then


OutputColumns = dict[str, dict[str, ColumnStats]]


def _output_columns(job: Job) -> OutputColumns:
    """The summaries kept with a job's outputs (plain data as stored: a sweep has up to 10,000 members)."""
    return {output["name"]: {name: ColumnStats.model_construct(**column)
                             for name, column in output["summary"]["columns"].items()}
            for output in job.outputs if output.get("summary")}


class SweepCreated(Answer):
    sweep_id: str
    job_ids: list[str] = Field(description="the members' jobs, in the sweep's order")
    complete: bool = Field(description="whether every member is written already (false: a large sweep's members "
                                       "are being written in the background)")

    @classmethod
    def of(cls, sweep: domain_sweeps.Sweep) -> "SweepCreated":
        return cls(sweep_id=sweep.sweep_id, job_ids=sweep.member_ids(), complete=sweep.materialised)


class SweepSummary(Answer):
    """What the sweep list shows."""

    model_config = TOLERANT

    sweep_id: str
    title: str
    case_id: str
    case_version: int
    mode: Literal["grid", "zip", "table"]
    varied: list[str] = Field(description="the fields that differ between members")
    total: int = Field(description="how many members the sweep has")
    run: bool = Field(description="whether the members were asked to run when it was created")
    created: datetime
    complete: bool = Field(description="false while its members are still being written (a create that was "
                                       "interrupted is finished by its retry, or by the next read a minute later)")

    @classmethod
    def of(cls, sweep: domain_sweeps.Sweep) -> "SweepSummary":
        return cls(sweep_id=sweep.sweep_id, title=sweep.title, case_id=sweep.case_id, case_version=sweep.case_version,
                   mode="table" if sweep.rows is not None else sweep.mode, varied=sweep.varied, total=sweep.total,
                   run=sweep.run, created=sweep.created, complete=sweep.materialised)


class SweepMember(Answer):
    model_config = TOLERANT

    index: int = Field(description="the member's place in the sweep, from 0")
    job_id: str = Field(description="its current job: the latest retry, if it was retried")
    title: str
    status: JobStatus
    progress: float | None
    values: dict[str, FieldValue] = Field(description="its values of the varied fields")
    attempts: int = Field(description="1, or more once it was retried")
    outputs: OutputColumns = Field(description="CSV output -> numeric column -> its summary (once done)")

    @classmethod
    def of(cls, member: sweep_service.Member) -> "SweepMember":
        job = member.job
        return cls(index=member.index, job_id=job.job_id, title=job.title, status=job.status, progress=job.progress,
                   values=member.values, attempts=member.attempts, outputs=_output_columns(job))


class SweepDetails(SweepSummary):
    state: Literal["creating", "draft", "active", "finished"] = Field(
        description="creating: members still being written; draft: none asked to run; active: some not finished; "
                    "finished: every member done, failed or cancelled")
    base: dict[str, FieldValue] = Field(description="the values every member shares")
    counts: dict[str, int] = Field(description="members by status (current attempts)")
    progress: float = Field(description="0 to 1: finished members count whole, running ones by their progress")
    members: list[SweepMember]

    @classmethod
    def of(cls, view: sweep_service.SweepView) -> "SweepDetails":  # type: ignore[override]
        return cls(**SweepSummary.of(view.sweep).model_dump(), state=view.state, base=view.sweep.base,
                   counts=view.counts, progress=view.progress, members=[SweepMember.of(m) for m in view.members])


class SweepStarted(Answer):
    started: int = Field(description="draft members asked to run now")
    others: int = Field(description="members that were not drafts (already asked to run, or finished)")


class SweepCancelled(Answer):
    cancelled: int = Field(description="members whose cancellation was requested now")
    finished: int = Field(description="members that had already finished")


class SweepRetried(Answer):
    job_ids: list[str] = Field(description="the new jobs, one per failed member, asked to run")


class MemberCheck(Answer):
    index: int
    title: str
    values: dict[str, Any] = Field(description="its values as given (a value its field refuses may be of any type)")
    valid: bool
    problems: list[ProblemEntry]


class RenderedRun(Answer):
    index: int
    job_id: str | None = Field(description="null before the job exists: its scripts show job_id as "
                                           f"{previews.PREVIEW_JOB_ID!r}")
    title: str
    values: dict[str, FieldValue]
    scripts: dict[str, str] = Field(description="script name -> its text exactly as it would be written to run/")


class Quote(OfferInfo):
    runs: int = Field(description="how many runs the quote is for")
    estimated_finish: datetime | None = Field(description="when the last run would end if all ran there; an "
                                                          "estimate, null when nothing is known to estimate from")
    finish_basis: str

    @classmethod
    def of(cls, quote: previews.Quote) -> "Quote":  # type: ignore[override]
        return cls(**OfferInfo.of(quote.offer).model_dump(), runs=quote.runs, estimated_finish=quote.finish,
                   finish_basis=quote.finish_basis)


class PreviewAnswer(Answer):
    """What would run, checked and rendered, and what each site quotes for it. Nothing was written."""

    case_id: str
    case_version: int
    runs: int
    valid: bool = Field(description="whether every run is valid: a create would succeed")
    problems: list[ProblemEntry] = Field(description="every problem, as a create would report it")
    members: list[MemberCheck]
    rendered: list[RenderedRun] = Field(description="a sample member's scripts (for a job: the job's own)")
    placement: str | None = Field(description="where a run would go now without a choice, and why")
    quotes: list[Quote]

    @classmethod
    def of(cls, preview: previews.Preview) -> "PreviewAnswer":
        return cls(case_id=preview.case.id, case_version=preview.case.version, runs=preview.runs,
                   valid=not preview.problems, problems=[ProblemEntry(**p.entry()) for p in preview.problems],
                   members=[MemberCheck(index=m.index, title=m.title, values=m.values, valid=not m.problems,
                                        problems=[ProblemEntry(**p.entry()) for p in m.problems])
                            for m in preview.members],
                   rendered=[RenderedRun(index=r.index, job_id=r.job_id, title=r.title, values=r.values,
                                         scripts=r.scripts) for r in preview.rendered],
                   placement=preview.placement, quotes=[Quote.of(q) for q in preview.quotes])


class ComparedJob(Answer):
    job_id: str
    title: str
    case_version: int
    status: JobStatus
    sweep_id: str | None


class ComparedField(Answer):
    name: str
    label: str
    values: list[FieldValue] = Field(description="one per job, in the jobs' order (null: the job's version has "
                                                 "no such field)")
    differs: bool


class ComparedFile(Answer):
    size: int
    md5: str | None


class ComparedOutput(Answer):
    name: str
    files: list[ComparedFile | None] = Field(description="one per job; null where the job has no such output")
    identical: bool = Field(description="every job has it, with the same size and MD5")


class ComparedColumn(Answer):
    output: str
    column: str
    stats: list[ColumnStats | None] = Field(description="one per job; null where the job's file has no such column")
    differs: bool


class Comparison(Answer):
    case_id: str
    jobs: list[ComparedJob]
    fields: list[ComparedField]
    outputs: list[ComparedOutput]
    columns: list[ComparedColumn] = Field(description="each numeric column of each CSV output, summarised per job")

    @classmethod
    def of(cls, compared: domain_compare.Comparison) -> "Comparison":
        return cls(case_id=compared.case_id,
                   jobs=[ComparedJob(job_id=j.job_id, title=j.title, case_version=j.case_version, status=j.status,
                                     sweep_id=j.sweep_id) for j in compared.jobs],
                   fields=[ComparedField(name=f.name, label=f.label, values=f.values, differs=f.differs)
                           for f in compared.fields],
                   outputs=[ComparedOutput(name=o.name, identical=o.identical,
                                           files=[ComparedFile.model_construct(size=f.size, md5=f.md5) if f else None
                                                  for f in o.files])  # up to 50 a row: already plain data
                            for o in compared.outputs],
                   columns=[ComparedColumn(output=c.output, column=c.column, differs=c.differs,
                                           stats=[ColumnStats.of(s) if s else None for s in c.stats])
                            for c in compared.columns])


# --- outputs ---


class OutputInfo(Answer):
    output_id: str = Field(description='like the seed\'s: "csv1", "json1", "log1", numbered by kind in name order')
    name: str = Field(description="the file's path in the job's run directory (logs/stdout.log for the logs)")
    size: int
    content_type: str
    md5: str | None
    state: Literal["final", "partial"] = Field(
        default="final", description="final: sealed at done; partial: a live file as last taken while the job ran")
    taken_at: datetime | None = Field(default=None, description="partial: when this copy was taken")

    @classmethod
    def of(cls, output: Output) -> "OutputInfo":
        if output.taken_at is not None:
            return cls.partial(output)
        return cls(**output.model_dump(include=Output.PUBLIC_FIELDS))

    @classmethod
    def partial(cls, output: Output) -> "OutputInfo":
        return cls(**output.model_dump(include=Output.PUBLIC_FIELDS), state="partial", taken_at=output.taken_at)


# --- live runs ---


class LiveAnswer(Answer):
    """The live channel's answer to the agent: where each stream stands in storage now, and links."""

    status: JobStatus
    cancel_requested: bool
    streams: dict[str, int] = Field(description="stream -> the offset storage has it up to: send from there")
    links: dict[str, str] = Field(default_factory=dict, description="live file -> a link that creates and writes it")
    links_expire_at: datetime | None = None

    @classmethod
    def of(cls, ack: live.LiveAck) -> "LiveAnswer":
        return cls(status=ack.job.status, cancel_requested=ack.job.cancel_requested is not None,
                   streams=dict(ack.streams), links={name: link.url for name, link in ack.links.items()},
                   links_expire_at=min((link.expires_at for link in ack.links.values()), default=None))


class LogTail(Answer):
    """A piece of a log: the text of bytes [offset, next_offset)."""

    stream: str
    offset: int = Field(description="where this text starts (later than asked when the window no longer had it)")
    next_offset: int = Field(description="ask from here for what follows")
    text: str = Field(description="at most 64 KiB of the log as UTF-8 (bytes that are not UTF-8 are replaced)")
    complete: bool = Field(description="the job has finished and nothing more will come")
    truncated_before: int = Field(description="storage keeps the log from this offset on (0: all of it)")

    @classmethod
    def of(cls, tail) -> "LogTail":
        return cls(stream=tail.stream, offset=tail.offset, next_offset=tail.next_offset, text=tail.text,
                   complete=tail.complete, truncated_before=tail.truncated_before)


class StreamInfo(Answer):
    size: int = Field(description="bytes written so far")
    truncated_before: int = Field(description="storage keeps the stream from this offset on")


class LiveView(Answer):
    """One look at a running job: its status and progress, a piece of one log and of the series, and
    its live files. What a page following the job asks every few seconds."""

    job_id: str
    status: JobStatus
    updated_at: datetime
    detail: str
    progress: float | None
    streams: dict[str, StreamInfo] = Field(description="stdout, stderr, series -> how much there is")
    log: LogTail
    series: LogTail = Field(description="CSV text: a header row naming the columns, then one row per point")
    files: list[OutputInfo] = Field(description="live outputs as last taken (state partial)")

    @classmethod
    def of(cls, look: live.LiveLook) -> "LiveView":
        job = look.job
        return cls(job_id=job.job_id, status=job.status, updated_at=job.updated, detail=job.detail,
                   progress=job.progress,
                   streams={name: StreamInfo(size=look.listing.extent(name).end,
                                             truncated_before=look.listing.extent(name).start)
                            for name in STREAMS},
                   log=LogTail.of(look.log), series=LogTail.of(look.series),
                   files=[OutputInfo.partial(output) for output in look.files])


class OutputLink(Answer):
    url: str = Field(description="a read-only user-delegation SAS link to the sealed output, https only")
    expires_at: datetime


# --- sign-in (the web app's roles source; no service behind it) ---


class AssignedRoles(Answer):
    roles: list[str] = Field(description="the roles the site gives the user, besides anonymous and authenticated")


# --- operations ---


class ProbeResult(Answer):
    group: str
    name: str
    ok: bool
    latency_ms: int
    error: str | None = None

    @classmethod
    def of(cls, result: health.ProbeResult) -> "ProbeResult":
        return cls(group=result.group, name=result.name, ok=result.ok, latency_ms=result.latency_ms,
                   error=result.error)


class HealthReport(Answer):
    status: str = Field(description='"ok", or "degraded" when a check failed')
    checks: list[ProbeResult]

    @classmethod
    def of(cls, report: health.HealthReport) -> "HealthReport":
        return cls(status="ok" if report.healthy else "degraded", checks=[ProbeResult.of(r) for r in report.checks])


# --- vocabularies: enums the clients need as values, not only as types ---


def _statuses(description: str, chosen) -> dict:
    return {"type": "string", "enum": [s.value for s in JobStatus if chosen(s)], "description": description}


VOCABULARIES = {
    "ActiveJobStatus": _statuses("handed to a simulator and not finished: worth watching, and cancelling needs the "
                                 "simulator", lambda s: s.active),
    "TerminalJobStatus": _statuses("finished: nothing changes any more", lambda s: s.terminal),
}


# --- notifications ---


class SubscriptionInfo(Answer):
    """A subscription as its owner sees it (never its secret)."""

    id: str
    url: str
    events: list[str]
    case_id: str | None = None
    sweep_id: str | None = None
    description: str = ""
    enabled: bool
    disabled_reason: str = Field(default="", description="why it is disabled: paused, 410 Gone, or days of failures")
    created: datetime
    updated: datetime
    failing_since: datetime | None = Field(default=None, description="the first failure since the last success")
    previous_secret_expires: datetime | None = Field(
        default=None, description="after a rotation: until when the old secret still signs beside the new one")

    @classmethod
    def of(cls, subscription: domain_notifications.Subscription, now: datetime) -> "SubscriptionInfo":
        return cls(id=subscription.subscription_id, url=subscription.url, events=list(subscription.events),
                   case_id=subscription.case_id, sweep_id=subscription.sweep_id,
                   description=subscription.description, enabled=subscription.enabled,
                   disabled_reason=subscription.disabled_reason, created=subscription.created,
                   updated=subscription.updated, failing_since=subscription.failing_since,
                   previous_secret_expires=subscription.previous_secret_expires(now))


class SubscriptionSecret(SubscriptionInfo):
    secret: str = Field(description="the Standard Webhooks signing secret (whsec_…): shown this once, keep it")


class PingQueued(Answer):
    delivery_id: str = Field(description="the ping's webhook-id")


class RedeliveryQueued(Answer):
    delivery_id: str


class DeliveryAttempt(Answer):
    """One POST of one event: never the receiver's answer body."""

    delivery_id: str = Field(description="the event's webhook-id (the same on every attempt of it)")
    event: str
    job_id: str | None = None
    sweep_id: str | None = None
    sequence: int
    attempt: int
    at: datetime
    status_code: int | None = None
    latency_ms: float
    error_class: str | None = Field(default=None, description="refused_address, dns, connect, timeout, tls, "
                                                              "redirect, http_status, gone, rate_limited, "
                                                              "unavailable; none when delivered")
    error: str = ""
    outcome: Literal["delivered", "retrying", "failed"]
    next_attempt: datetime | None = None
    redelivery: bool = False

    @classmethod
    def of(cls, attempt: domain_notifications.Attempt) -> "DeliveryAttempt":
        stream = attempt.stream
        return cls(delivery_id=attempt.message_id, event=attempt.type,
                   job_id=stream if domain_jobs.JOB_ID.match(stream) else None,
                   sweep_id=stream.removeprefix("sweep-") if stream.startswith("sweep-") else None,
                   sequence=attempt.sequence, attempt=attempt.attempt, at=attempt.at, status_code=attempt.status_code,
                   latency_ms=attempt.latency_ms, error_class=attempt.error_class, error=attempt.error,
                   outcome=attempt.outcome, next_attempt=attempt.next_attempt, redelivery=attempt.redelivery)

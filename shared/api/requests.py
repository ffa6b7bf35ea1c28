"""What the API reads: every request body and query string it publishes, one pydantic model each.

Services never see these: each model turns itself into the domain objects or plain values a service
takes (``to_...`` methods), so a service's signature can change without changing the contract, and
the other way round.
"""

from __future__ import annotations

import base64
import binascii
from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, WithJsonSchema, field_validator

from shared.auth import app_roles
from shared.domain import live, notifications, outputs, sweeps
from shared.domain.cases import CASE_ID, CaseDefinition
from shared.domain.jobs import JobStatus, parse_status
from shared.domain.outputs import MAX_FILES
from shared.domain.reports import AgentReport
from shared.domain.text import Line
from shared.services.ports import PageRequest

MAX_PER_PAGE = 100
MAX_WAIT_SECONDS = 25

# The definition authors publish (PUT /api/case/{id}) is the case folder's format, defined once by the
# domain; the API publishes that model's schema as the body.
CaseDefinitionBody = CaseDefinition


class Request(BaseModel):
    """A request body: unknown attributes are mistakes, reported as such."""

    model_config = ConfigDict(extra="forbid")


class Query(BaseModel):
    """A query string: parameters the API does not know are left alone (caches, trackers)."""

    model_config = ConfigDict(extra="ignore")


# --- paging ---


class PageQuery(Query):
    page: int = Field(default=1, ge=1, le=10_000, description="the page, from 1 (the seed's paging)")
    per_page: int = Field(default=20, ge=1, le=10_000, description=f"items per page, at most {MAX_PER_PAGE} served")
    continuation: str | None = Field(default=None, min_length=1, max_length=2048,
                                     description="the X-Continuation-Token of the previous page: the next page")

    @property
    def capped_per_page(self) -> int:
        return min(self.per_page, MAX_PER_PAGE)

    def to_page_request(self) -> PageRequest:
        if self.continuation:
            return PageRequest(self.capped_per_page, self.continuation)
        return PageRequest(self.capped_per_page, skip=(self.page - 1) * self.capped_per_page)


# --- cases ---


class CaseListQuery(PageQuery):
    q: str | None = Field(default=None, min_length=1, max_length=100,
                          description="words that every listed case's title or summary contains")
    tag: str | None = Field(default=None, min_length=1, max_length=40, description="only cases with this tag")


class VersionQuery(Query):
    version: int | None = Field(default=None, ge=1, le=1_000_000, description="an older version of the case")


# --- jobs ---


def _as_values(value: Any) -> Any:
    """[{name, value}, ...] or {name: value}: both become {name: value}."""
    if not isinstance(value, list):
        return value
    values: dict[str, Any] = {}
    for index, item in enumerate(value):
        if not isinstance(item, dict) or set(item) - {"name", "value"} or not isinstance(item.get("name"), str):
            raise ValueError(f"entry {index} must be {{\"name\": ..., \"value\": ...}}")
        if item["name"] in values:
            raise ValueError(f"field {item['name']!r} is set twice")
        values[item["name"]] = item.get("value")
    return values


FieldValues = Annotated[dict[str, Any], BeforeValidator(_as_values), WithJsonSchema({
    "description": "field values: {name: value}, or the seed's [{name, value}, ...]",
    "anyOf": [{"type": "object", "additionalProperties": {"type": ["number", "integer", "string", "boolean", "null"]}},
              {"type": "array", "items": {"type": "object", "required": ["name"], "additionalProperties": False,
                                          "properties": {"name": {"type": "string"}, "value": {}}}}]})]


class NewJob(Request):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True, json_schema_extra={"examples": [
        {"case_id": "heat-rod", "job_title": "Copper rod, ends at 100 and 0 °C",
         "fields": {"material": "copper", "run_seconds": 0}}]})

    case_id: str = Field(min_length=1, max_length=64)
    job_title: Line = Field(min_length=1, max_length=200)
    user: str | None = Field(default=None, max_length=128)
    fields: FieldValues = Field(default_factory=dict)


class RunRequest(Request):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True,
                              json_schema_extra={"examples": [{}, {"simulator": "local"}]})

    simulator: str | None = Field(default=None, min_length=1, max_length=40,
                                  description="run on this simulator; without it the job goes to the offer that "
                                              "starts it soonest (see the job's offers)")


class FieldsUpdate(Request):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{"fields": {"material": "brass"}}]})

    fields: FieldValues = Field(min_length=1)


class JobListQuery(PageQuery):
    status: JobStatus | None = Field(default=None, description="only jobs in this status")
    case_id: str | None = Field(default=None, min_length=1, max_length=64, description="only jobs of this case")
    user: str | None = Field(default=None, min_length=1, max_length=128, description="admins: this user's jobs")
    all: bool = Field(default=False, description="admins: every user's jobs (user by user, each newest first)")
    sweep_id: str | None = Field(default=None, min_length=1, max_length=64,
                                 description="only the members of this sweep (every attempt), in the sweep's order")


class StatusQuery(Query):
    wait: float = Field(default=0, ge=0, le=MAX_WAIT_SECONDS,
                        description="answer as soon as the status changes, waiting at most this many seconds")
    since: JobStatus | None = Field(default=None, description="the status the caller knows (default: the current one)")


# --- studies: sweeps, previews, comparisons ---

FieldValueList = Annotated[list[Any], Field(min_length=1, max_length=sweeps.MAX_MEMBERS_LIMIT)]


class SweepPlanBody(Request):
    """Which values vary: ``vary`` lists combined by ``mode``, or a ``table`` with one row per run."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    case_id: str = Field(min_length=1, max_length=64)
    fields: FieldValues = Field(default_factory=dict, description="the base values every run shares")
    vary: dict[str, FieldValueList] = Field(
        default_factory=dict, max_length=20,
        description="field -> the values it takes; grid: every combination (the first field outermost), "
                    "zip: element by element (lists of one length)")
    mode: Literal["grid", "zip"] = Field(default="grid", description="how vary's lists combine")
    table: str | list[dict[str, Any]] | None = Field(
        default=None, description="instead of vary: one run per row, as CSV text whose header row names the "
                                  "fields, or as a list of {field: value}; an empty cell takes the base value")

    def to_plan(self) -> sweeps.SweepPlan:
        if isinstance(self.table, str):
            return sweeps.SweepPlan(base=self.fields, vary=self.vary, mode=self.mode, table=self.table)
        return sweeps.SweepPlan(base=self.fields, vary=self.vary, mode=self.mode, rows=self.table)


class NewSweep(SweepPlanBody):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True, json_schema_extra={"examples": [
        {"case_id": "smoothie", "title": "Speed and time", "fields": {"fruit": "mango"},
         "vary": {"speed_rpm": [4000, 8000, 12000], "duration_s": [10, 20, 30, 40]}, "mode": "grid", "run": True},
        {"case_id": "smoothie", "title": "From a table", "table": "speed_rpm,duration_s\n4000,10\n8000,20\n"}]})

    title: Line = Field(min_length=1, max_length=150, description="each member is titled with it and its values")
    run: bool = Field(default=False, description="run every member at once (the sites' limits decide when each "
                                                 "starts); otherwise they are drafts")
    simulator: str | None = Field(default=None, min_length=1, max_length=40,
                                  description="with run: run every member on this simulator")


class PreviewRequest(SweepPlanBody):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True, json_schema_extra={"examples": [
        {"case_id": "smoothie", "title": "Speed and time", "vary": {"speed_rpm": [4000, 8000]}}]})

    title: Line = Field(default="Preview", min_length=1, max_length=150)
    vary: dict[str, FieldValueList] = Field(
        default_factory=dict, max_length=20, description="as for a sweep; without vary or table: one run")


class SweepListQuery(PageQuery):
    case_id: str | None = Field(default=None, min_length=1, max_length=64, description="only sweeps of this case")


MAX_COMPARED = 50


class CompareQuery(Query):
    job: list[str] = Field(default_factory=list, max_length=MAX_COMPARED,
                           description=f"a job to compare: give 2 to {MAX_COMPARED} (job=A&job=B...)")
    sweep_id: str | None = Field(default=None, min_length=1, max_length=64,
                                 description="instead of job: the current members of this sweep")


# --- outputs ---


class DownloadQuery(Query):
    redirect: bool = False


# --- the agent's status webhook ---


class ReportedFile(outputs.ReportedFile):
    """A file the agent is about to upload (cleanup) or has uploaded (done)."""  # checked as the domain checks it


class StatusReport(Request):
    status: JobStatus
    detail: Line = Field(default="", max_length=2000)
    progress: float | None = Field(default=None, ge=0, le=1)
    exit_code: int | None = None
    stderr_tail: str | None = Field(default=None, max_length=4000)
    # cleanup: the files about to be uploaded; done: what was uploaded (with MD5)
    files: list[ReportedFile] = Field(default_factory=list, max_length=MAX_FILES)

    @field_validator("status", mode="before")
    @classmethod
    def _aliases(cls, value: object) -> object:
        return parse_status(value) if isinstance(value, str) else value

    @field_validator("files")
    @classmethod
    def _unique(cls, files: list[ReportedFile]) -> list[ReportedFile]:
        names = [f.name for f in files]
        if len(set(names)) != len(names):
            raise ValueError("each file may be reported once")
        return files

    def to_report(self) -> AgentReport:
        return AgentReport(status=self.status, detail=self.detail, progress=self.progress, exit_code=self.exit_code,
                           stderr_tail=self.stderr_tail,
                           files=tuple(self.files))


# --- live runs ---


class LogQuery(Query):
    stream: Literal["stdout", "stderr"] = Field(default="stdout", description="which log")
    offset: int = Field(default=0, ge=0, description="the byte offset to read from (the last answer's next_offset)")
    wait: float = Field(default=0, ge=0, le=MAX_WAIT_SECONDS,
                        description="when nothing exists past offset yet, wait at most this many seconds for it")


class LiveQuery(Query):
    log: Literal["stdout", "stderr"] = Field(default="stdout", description="which log to include")
    log_offset: int = Field(default=0, ge=0, description="the log's byte offset to read from")
    series_offset: int = Field(default=0, ge=0, description="the series' byte offset to read from")


def _base64(value: Any) -> bytes:
    if not isinstance(value, str):
        raise ValueError("must be base64 text")
    try:
        return base64.b64decode(value, validate=True)
    except binascii.Error:
        raise ValueError("must be base64 text") from None


Base64Bytes = Annotated[bytes, BeforeValidator(_base64), WithJsonSchema(
    {"type": "string", "contentEncoding": "base64", "description": "the bytes, base64-encoded"})]


class StreamBytes(Request):
    offset: int = Field(ge=0, description="where in the stream these bytes start")
    data: Base64Bytes = Field(max_length=live.DELTA_BYTES)


class LiveReport(Request):
    """What changed in a running job since its agent last sent; an empty one is a heartbeat."""

    progress: float | None = Field(default=None, ge=0, le=1)
    message: Line | None = Field(default=None, max_length=500)
    streams: dict[Literal["stdout", "stderr", "series"], StreamBytes] = Field(default_factory=dict)
    links: list[str] = Field(default_factory=list, max_length=live.MAX_LIVE_FILES,
                             description="live files to get upload links for")

    @field_validator("links")
    @classmethod
    def _names(cls, names: list[str]) -> list[str]:
        for name in names:
            outputs.check_output_name(name)
        return names

    def to_delta(self) -> live.LiveDelta:
        return live.LiveDelta(progress=self.progress, message=self.message,
                              streams={name: live.StreamDelta(s.offset, s.data) for name, s in self.streams.items()},
                              links=tuple(dict.fromkeys(self.links)))


# --- sign-in (the web app's roles source) ---


class SignInClaim(BaseModel):
    model_config = ConfigDict(extra="ignore")

    typ: str
    val: str


class SignedIn(BaseModel):
    """What the site posts after a sign-in. Only the claims are read: the rest (the provider's access
    token among it) is ignored, never kept or logged."""

    model_config = ConfigDict(extra="ignore", json_schema_extra={"examples": [{
        "identityProvider": "aad", "userId": "72137ad3ae0042b58d54aacb38576d76", "userDetails": "ellen@contoso.com",
        "claims": [{"typ": "name", "val": "Ellen Contoso"}, {"typ": "roles", "val": "simgate.admin"}]}]})

    claims: list[SignInClaim] = Field(default_factory=list, description="the identity provider's claims")

    def app_roles(self) -> list[str]:
        return app_roles((c.typ, c.val) for c in self.claims)


# --- notifications ---

EventName = notifications.EventType
_EVENTS_DESCRIPTION = ("job.status_changed (every status), job.finished (done, failed or cancelled), job.progress "
                       "(at most one a minute per job) and sweep.finished (every member of a sweep has finished)")


class NewSubscription(Request):
    url: str = Field(min_length=1, max_length=2000, description="where to POST events: https, public addresses only",
                     examples=["https://hooks.example.org/simgate"])
    events: list[EventName] = Field(min_length=1, max_length=4, description=_EVENTS_DESCRIPTION)
    case_id: str | None = Field(default=None, pattern=CASE_ID, description="only the jobs of this case")
    sweep_id: str | None = Field(default=None, pattern=r"^sw-[0-9a-f]{12}-[0-9]{13}-[0-9a-f]{8}$",
                                 description="only the jobs of this sweep (one of the caller's)")
    description: Line = Field(default="", max_length=notifications.MAX_DESCRIPTION)


class SubscriptionChange(Request):
    events: list[EventName] | None = Field(default=None, min_length=1, max_length=4, description=_EVENTS_DESCRIPTION)
    enabled: bool | None = Field(default=None, description="false pauses it; true resumes it (and tries at once what waited)")
    description: Line | None = Field(default=None, max_length=notifications.MAX_DESCRIPTION)


class DeliveriesQuery(Query):
    limit: int = Field(default=50, ge=1, le=200, description="the latest attempts, newest first")

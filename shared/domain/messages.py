"""The job queue's messages: what the API and the reconciler ask the manager to do. Built and parsed
here, and nowhere else.

A message's id is derived from the job, the action and (for a start retried while its simulator is
unreachable) the attempt, so Service Bus duplicate detection drops a resend of a message it already
has, while each scheduled retry is a message of its own.
"""

from __future__ import annotations

import json
import secrets
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from shared.domain.jobs import JOB_ID, Job
from shared.domain.notifications import SUBSCRIPTION_ID

Action = Literal["start", "cancel"]


class JobMessage(BaseModel):
    """Start or cancel one job."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    action: Action
    job_id: str
    case_id: str | None = None
    attempt: int = Field(default=0, ge=0)  # which start: 0 the first, n the n-th retry while waiting
    # What sent a start again while the job waited for room on its site (a release, a reconciler cycle):
    # part of the id, so that a nudge is not dropped as a duplicate of the first start.
    nudge: str | None = Field(default=None, max_length=120, pattern=r"^[A-Za-z0-9:._-]+$")

    @field_validator("job_id")
    @classmethod
    def _a_job_id(cls, value: str) -> str:
        if not JOB_ID.match(value):
            raise ValueError("not a job id")
        return value

    @classmethod
    def start(cls, job: Job, attempt: int | None = None, nudge: str | None = None) -> "JobMessage":
        """The start of ``job``: by default the one its current attempt waits for."""
        return cls(action="start", job_id=job.job_id, case_id=job.case_id,
                   attempt=job.start_attempt if attempt is None else attempt, nudge=nudge)

    @classmethod
    def cancel(cls, job: Job) -> "JobMessage":
        return cls(action="cancel", job_id=job.job_id, case_id=job.case_id)

    @property
    def message_id(self) -> str:
        return (f"{self.job_id}:{self.action}" + (f":{self.attempt}" if self.attempt else "")
                + (f":{self.nudge}" if self.nudge else ""))

    @property
    def subject(self) -> str:
        return self.action

    def body(self) -> str:
        """The message body on the wire (JSON)."""
        body = {"action": self.action, "job_id": self.job_id}
        if self.attempt:
            body["attempt"] = self.attempt
        if self.nudge:
            body["nudge"] = self.nudge
        return json.dumps(body)

    def properties(self) -> dict[str, str]:
        """Application properties: let an operator filter the queue without reading bodies."""
        properties = {"action": self.action, "job_id": self.job_id}
        if self.case_id:
            properties["case_id"] = self.case_id
        return properties

    @classmethod
    def parse(cls, body: bytes | str) -> "JobMessage | None":
        """The message in ``body``, or None for one that no version of simgate could act on."""
        try:
            return cls.model_validate(json.loads(body))
        except (ValueError, ValidationError):
            return None


class SweepMessage(BaseModel):
    """Write the members of a sweep that its create left to the manager (a large one, or an
    interrupted one found by a read). Writing them again writes nothing twice."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    action: Literal["sweep"] = "sweep"
    sweep_id: str = Field(pattern=r"^sw-[0-9a-f]{12}-[0-9]{13}-[0-9a-f]{8}$")
    nudge: str | None = Field(default=None, max_length=120, pattern=r"^[A-Za-z0-9:._-]+$")

    @property
    def message_id(self) -> str:
        return f"{self.sweep_id}:sweep" + (f":{self.nudge}" if self.nudge else "")

    @property
    def subject(self) -> str:
        return self.action

    def body(self) -> str:
        return json.dumps({"action": self.action, "sweep_id": self.sweep_id, **({"nudge": self.nudge} if self.nudge
                                                                                 else {})})

    def properties(self) -> dict[str, str]:
        return {"action": self.action, "sweep_id": self.sweep_id}




def parse_message(body: bytes | str) -> QueueMessage | None:
    """The job or sweep message in ``body``, or None for one that no version of simgate could act on."""
    try:
        document = json.loads(body)
    except ValueError:
        return None
    if isinstance(document, dict) and document.get("action") == "sweep":
        try:
            return SweepMessage.model_validate(document)
        except ValidationError:
            return None
    return JobMessage.parse(body)


MESSAGE_CONTENT_TYPE = "application/json"


# --- the notifications queue -----------------------------------------------------------------------


class NotifyMessage(BaseModel):
    """A job changed: turn what it did into events for its owner's subscriptions (``notify``), send a
    subscription's stream in order (``deliver``), or send one event again (``redeliver``). Each message
    is distinct (a nonce in its id): Service Bus drops none as a duplicate. A ``notify`` sent twice does
    no harm; the notifier keeps extra ``deliver`` messages few (a stream notes the retry it scheduled)."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    action: Literal["notify", "deliver", "redeliver"]
    job_id: str | None = Field(default=None, pattern=JOB_ID.pattern)
    subscription_id: str | None = Field(default=None, pattern=SUBSCRIPTION_ID.pattern)
    stream: str | None = Field(default=None, pattern=r"^[A-Za-z0-9-]{1,80}$")
    event_id: str | None = Field(default=None, max_length=100)  # a webhook-id, to redeliver
    now: bool | None = None  # deliver: try the first waiting event at once (a resume)
    nonce: str = Field(default_factory=lambda: secrets.token_hex(6), pattern=r"^[0-9a-f]{1,32}$")

    @classmethod
    def notify(cls, job_id: str) -> "NotifyMessage":
        return cls(action="notify", job_id=job_id)

    @classmethod
    def deliver(cls, subscription_id: str, stream: str, now: bool = False) -> "NotifyMessage":
        return cls(action="deliver", subscription_id=subscription_id, stream=stream, now=now or None)

    @classmethod
    def redeliver(cls, subscription_id: str, message_id: str) -> "NotifyMessage":
        return cls(action="redeliver", subscription_id=subscription_id, event_id=message_id)

    @property
    def message_id(self) -> str:
        return ":".join(part for part in (self.action, self.job_id, self.subscription_id, self.stream,
                                          self.event_id, self.nonce) if part)

    @property
    def subject(self) -> str:
        return self.action

    def body(self) -> str:
        return self.model_dump_json(exclude_none=True)

    def properties(self) -> dict[str, str]:
        return {"action": self.action, **({"job_id": self.job_id} if self.job_id else {}),
                **({"subscription_id": self.subscription_id} if self.subscription_id else {})}

    @classmethod
    def parse(cls, body: bytes | str) -> "NotifyMessage | None":
        try:
            return cls.model_validate_json(body)
        except ValidationError:
            return None


QueueMessage = JobMessage | SweepMessage | NotifyMessage  # what a queue port sends

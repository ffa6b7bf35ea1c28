"""The API over HTTP: one method per operation, answers parsed with the API's own models, every
failure turned into one of the CLI's errors (a problem document, a connection that failed)."""

from __future__ import annotations

import ssl
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Generic, TypeVar
from urllib.parse import quote

import httpx
from pydantic import BaseModel, TypeAdapter, ValidationError

from cli.errors import ApiProblem, CannotConnect, CliError, UsageProblem, entry_line
from cli.settings import Settings, is_loopback
from shared.api.models import (
    CancelAccepted,
    CaseDetails,
    CaseHeader,
    Comparison,
    DeliveryAttempt,
    FieldsSet,
    JobCreated,
    JobDetails,
    JobOffers,
    JobStatus,
    JobStatusInfo,
    JobSummary,
    LogTail,
    OutputInfo,
    OutputLink,
    PingQueued,
    PreviewAnswer,
    Problem,
    RedeliveryQueued,
    RunAccepted,
    SiteInfo,
    SubscriptionInfo,
    SubscriptionSecret,
    SweepCancelled,
    SweepCreated,
    SweepDetails,
    SweepRetried,
    SweepStarted,
    SweepSummary,
)
from shared.api.requests import (
    CaseListQuery,
    CompareQuery,
    DeliveriesQuery,
    FieldsUpdate,
    JobListQuery,
    LogQuery,
    NewJob,
    NewSubscription,
    NewSweep,
    PreviewRequest,
    RunRequest,
    SubscriptionChange,
    SweepListQuery,
)
from shared.domain.fields import FieldValue
from shared.errors import describe_pydantic_errors

Model = TypeVar("Model", bound=BaseModel)
Item = TypeVar("Item", bound=BaseModel)

TIMEOUT = httpx.Timeout(30.0, connect=10.0)
CONNECT_RETRIES = 3
RETRIES_ON_503 = 3
MAX_RETRY_AFTER = 10.0
LONG_POLL_MARGIN = 30.0


@dataclass(frozen=True)
class Page(Generic[Item]):
    items: list[Item]
    next_url: str | None


@dataclass(frozen=True)
class Seen:
    """A job's status as last answered, with the answer's ETag: what the next long-poll is measured against."""

    info: JobStatusInfo
    etag: str | None


class Api:
    def __init__(self, settings: Settings, auth: httpx.Auth, transport: httpx.BaseTransport | None = None,
                 sleep: Callable[[float], None] = time.sleep) -> None:
        self.settings = settings
        self.root = settings.url
        self._sleep = sleep
        self._http = httpx.Client(base_url=self.root + "/", auth=auth, timeout=TIMEOUT,
                                  transport=transport or api_transport(settings),
                                  headers={"Accept": "application/json, application/problem+json"})

    def close(self) -> None:
        self._http.close()

    # --- cases ---

    def cases(self, query: CaseListQuery) -> Page[CaseHeader]:
        return self._page("case", query, CaseHeader)

    def case(self, case_id: str, version: int | None = None) -> CaseDetails:
        params = {"version": version} if version else None
        return self._call("GET", f"case/{_segment(case_id)}", CaseDetails, params=params)

    # --- jobs ---

    def jobs(self, query: JobListQuery) -> Page[JobSummary]:
        return self._page("job", query, JobSummary)

    def next_page(self, page: Page[Item], model: type[Item]) -> Page[Item]:
        assert page.next_url is not None
        response = self._send("GET", httpx.URL(self.root).join(page.next_url))
        return Page(_parse(response, TypeAdapter(list[model])), _next_link(response))

    def create_job(self, case_id: str, title: str, fields: dict[str, FieldValue]) -> JobCreated:
        body = request_model(NewJob, case_id=case_id, job_title=title, fields=fields)
        # the same key on a retry: the API answers with the job the first attempt created
        headers = {"Idempotency-Key": str(uuid.uuid4())}
        return self._call("POST", "job", JobCreated, json=body.model_dump(mode="json", exclude_none=True),
                          headers=headers)

    def job(self, job_id: str) -> JobDetails:
        return self._call("GET", f"job/{_segment(job_id)}", JobDetails)

    def set_fields(self, job_id: str, fields: dict[str, FieldValue]) -> FieldsSet:
        body = request_model(FieldsUpdate, fields=fields)
        return self._call("PATCH", f"job/{_segment(job_id)}", FieldsSet, json=body.model_dump(mode="json"))

    def run(self, job_id: str, simulator: str | None = None) -> RunAccepted:
        """Without ``simulator``, no body: the API places the job on the offer that starts it soonest."""
        body = None if simulator is None else request_model(RunRequest, simulator=simulator).model_dump(mode="json")
        return self._call("POST", f"job/{_segment(job_id)}", RunAccepted, json=body)

    def offers(self, job_id: str) -> JobOffers:
        return self._call("GET", f"job/{_segment(job_id)}/offers", JobOffers)

    def status(self, job_id: str, wait: float = 0, since: JobStatus | None = None) -> JobStatusInfo:
        params: dict[str, Any] = {"wait": wait} if wait else {}
        if since is not None:
            params["since"] = since.value
        return self._call("GET", f"job/{_segment(job_id)}/status", JobStatusInfo, params=params,
                          timeout=_long_poll(wait))

    def watch(self, job_id: str, seen: Seen | None = None, wait: float = 0) -> Seen:
        """The job's status once anything shown (status, progress, detail) differs from ``seen``, waiting at
        most ``wait`` seconds; ``seen`` itself when nothing changed (the API's 304 to its If-None-Match)."""
        headers = {"If-None-Match": seen.etag} if seen is not None and seen.etag else {}
        response = self._send("GET", f"job/{_segment(job_id)}/status", params={"wait": wait} if wait else {},
                              headers=headers, timeout=_long_poll(wait))
        if response.status_code == 304 and seen is not None:
            return seen
        return Seen(_parse(response, TypeAdapter(JobStatusInfo)), response.headers.get("ETag"))

    def log(self, job_id: str, stream: str = "stdout", offset: int = 0, wait: float = 0) -> LogTail:
        """Up to 64 KiB of a job's log from ``offset``; with ``wait``, as soon as there are bytes past it."""
        query = request_model(LogQuery, stream=stream, offset=offset, wait=wait)
        params: dict[str, Any] = {"stream": query.stream, "offset": query.offset, **({"wait": wait} if wait else {})}
        return self._call("GET", f"job/{_segment(job_id)}/log", LogTail, params=params, timeout=_long_poll(wait))

    def cancel(self, job_id: str) -> CancelAccepted:
        return self._call("POST", f"job/{_segment(job_id)}/cancel", CancelAccepted)

    def relaunch(self, job_id: str) -> JobCreated:
        return self._call("POST", f"job/{_segment(job_id)}/relaunch", JobCreated)

    def delete(self, job_id: str) -> None:
        self._send("DELETE", f"job/{_segment(job_id)}")

    # --- simulators ---

    def simulators(self) -> list[SiteInfo]:
        return _parse(self._send("GET", "simulators"), TypeAdapter(list[SiteInfo]))

    # --- outputs ---

    def outputs(self, job_id: str) -> list[OutputInfo]:
        return _parse(self._send("GET", f"job/{_segment(job_id)}/output"), TypeAdapter(list[OutputInfo]))

    def output_link(self, job_id: str, output_id: str) -> OutputLink:
        return self._call("GET", f"job/{_segment(job_id)}/output/{_segment(output_id)}", OutputLink)

    # --- the wire ---

    # --- studies ---

    def create_sweep(self, body: NewSweep) -> SweepCreated:
        # one key per invocation: a retry of this POST (a 503, say) answers with the sweep the first made
        headers = {"Idempotency-Key": str(uuid.uuid4())}
        return self._call("POST", "sweep", SweepCreated, json=body.model_dump(mode="json", exclude_none=True),
                          headers=headers)

    def sweeps(self, query: SweepListQuery) -> Page[SweepSummary]:
        return self._page("sweep", query, SweepSummary)

    def sweep(self, sweep_id: str) -> SweepDetails:
        return self._call("GET", f"sweep/{_segment(sweep_id)}", SweepDetails)

    def run_sweep(self, sweep_id: str, simulator: str | None = None) -> SweepStarted:
        body = None if simulator is None else request_model(RunRequest, simulator=simulator).model_dump(mode="json")
        return self._call("POST", f"sweep/{_segment(sweep_id)}/run", SweepStarted, json=body)

    def cancel_sweep(self, sweep_id: str) -> SweepCancelled:
        return self._call("POST", f"sweep/{_segment(sweep_id)}/cancel", SweepCancelled)

    def retry_sweep(self, sweep_id: str) -> SweepRetried:
        return self._call("POST", f"sweep/{_segment(sweep_id)}/retry", SweepRetried)

    def preview(self, body: PreviewRequest) -> PreviewAnswer:
        return self._call("POST", "preview", PreviewAnswer, json=body.model_dump(mode="json", exclude_none=True))

    def preview_job(self, job_id: str) -> PreviewAnswer:
        return self._call("POST", f"job/{_segment(job_id)}/preview", PreviewAnswer)

    def compare(self, query: CompareQuery) -> Comparison:
        return self._call("GET", "compare", Comparison, params=query.model_dump(mode="json", exclude_defaults=True))

    # --- notifications ---

    def subscribe(self, body: NewSubscription) -> SubscriptionSecret:
        """A new subscription, with its signing secret (the only answer that ever shows it). Not sent
        again on a 503: the API takes no Idempotency-Key here, and a second try could make a second one."""
        return self._call("POST", "subscription", SubscriptionSecret,
                          json=body.model_dump(mode="json", exclude_none=True))

    def subscriptions(self) -> list[SubscriptionInfo]:
        return _parse(self._send("GET", "subscription"), TypeAdapter(list[SubscriptionInfo]))

    def subscription(self, subscription_id: str) -> SubscriptionInfo:
        return self._call("GET", f"subscription/{_segment(subscription_id)}", SubscriptionInfo)

    def change_subscription(self, subscription_id: str, body: SubscriptionChange) -> SubscriptionInfo:
        """Only what ``body`` sets is changed (events, enabled, description)."""
        return self._call("PATCH", f"subscription/{_segment(subscription_id)}", SubscriptionInfo,
                          json=body.model_dump(mode="json", exclude_none=True))

    def unsubscribe(self, subscription_id: str) -> None:
        self._send("DELETE", f"subscription/{_segment(subscription_id)}")

    def rotate_secret(self, subscription_id: str) -> SubscriptionSecret:
        return self._call("POST", f"subscription/{_segment(subscription_id)}/rotate", SubscriptionSecret)

    def ping(self, subscription_id: str) -> PingQueued:
        return self._call("POST", f"subscription/{_segment(subscription_id)}/test", PingQueued)

    def deliveries(self, subscription_id: str, query: DeliveriesQuery | None = None) -> list[DeliveryAttempt]:
        params = query.model_dump(mode="json", exclude_defaults=True) if query is not None else {}
        return _parse(self._send("GET", f"subscription/{_segment(subscription_id)}/deliveries", params=params),
                      TypeAdapter(list[DeliveryAttempt]))

    def redeliver(self, subscription_id: str, delivery_id: str) -> RedeliveryQueued:
        return self._call("POST", f"subscription/{_segment(subscription_id)}/deliveries/{_segment(delivery_id)}"
                          "/redeliver", RedeliveryQueued)

    def _page(self, path: str, query: BaseModel, model: type[Item]) -> Page[Item]:
        params = query.model_dump(mode="json", exclude_defaults=True)
        response = self._send("GET", path, params=params)
        return Page(_parse(response, TypeAdapter(list[model])), _next_link(response))

    def _call(self, method: str, path: str, model: type[Model], **kwargs: Any) -> Model:
        return _parse(self._send(method, path, **kwargs), TypeAdapter(model))

    def _send(self, method: str, url: str | httpx.URL, **kwargs: Any) -> httpx.Response:
        # 503 means "not now" (storage busy, a simulator away): worth repeating where repeating is safe
        retry_503 = method == "GET" or "Idempotency-Key" in (kwargs.get("headers") or {})
        for attempt in range(RETRIES_ON_503 + 1):
            try:
                response = self._http.request(method, url, **kwargs)
            except httpx.TransportError as exc:
                raise connection_problem(exc, self.root) from None
            if response.status_code != 503 or not retry_503 or attempt == RETRIES_ON_503:
                break
            self._sleep(_retry_delay(response, attempt))
        if response.status_code >= 400:
            raise answer_problem(response, self.settings)
        return response


def api_transport(settings: Settings) -> httpx.BaseTransport:
    """Connection failures (nothing sent yet) are tried again; answers are judged by ``Api._send``."""
    verify = trust(settings.ca_bundle) if settings.url.startswith("https:") else True
    return httpx.HTTPTransport(retries=CONNECT_RETRIES, verify=verify)


def trust(ca_bundle: Path | None) -> ssl.SSLContext:
    """The system's certificate authorities and certifi's, and the extra bundle when there is one."""
    import certifi

    context = ssl.create_default_context()
    context.load_verify_locations(certifi.where())
    if ca_bundle is not None:
        context.load_verify_locations(str(ca_bundle))
    return context


def paged(first: Page[Item], more: Callable[[Page[Item]], Page[Item]], limit: int | None) -> Iterator[Page[Item]]:
    """The first page, then (with a limit) the pages after it until ``limit`` items are listed."""
    page, count = first, len(first.items)
    yield page
    while limit is not None and count < limit and page.next_url:
        page = more(page)
        count += len(page.items)
        yield page


def connection_problem(exc: httpx.TransportError, url: str) -> CliError:
    reason = _reason(exc)
    if isinstance(exc, httpx.TimeoutException):
        return CannotConnect(f"{url} did not answer in time ({reason})", ["is the network up and the API running?"])
    hint = "is `make up` running?" if is_loopback(url) else "check the URL (--url, SIMGATE_URL) and your network"
    if "CERTIFICATE_VERIFY_FAILED" in reason or "SSL" in reason:
        hint = "its TLS certificate is not trusted: give its CA with --ca-bundle or SIMGATE_CA_BUNDLE"
    return CannotConnect(f"cannot reach {url}: {reason}", [hint])


def answer_problem(response: httpx.Response, settings: Settings) -> CliError:
    """The CLI's error for an error answer: its problem document, or a description of what came back."""
    hint = _hint(response.status_code, settings)
    if "json" in response.headers.get("content-type", ""):
        try:
            return ApiProblem(Problem.model_validate_json(response.content), hint)
        except ValidationError:
            pass
    reason = response.reason_phrase or "error"
    problem = Problem(type="about:blank", title=reason.lower(), status=response.status_code,
                      detail=f"{response.request.method} {response.request.url.path} answered "
                             f"{response.status_code} {reason}", instance=response.request.url.path)
    return ApiProblem(problem, hint)


def _hint(status: int, settings: Settings) -> str | None:
    if status != 401:
        return None
    if settings.auth == "dev":
        return "this API does not take development sign-in; sign in to it with SIMGATE_AUTH=azure"
    return "the API did not accept the token: check SIMGATE_CLIENT_ID or SIMGATE_SCOPE"


def _parse(response: httpx.Response, adapter: TypeAdapter[Any]) -> Any:
    try:
        return adapter.validate_json(response.content)
    except ValidationError as exc:
        raise CliError(f"{response.request.method} {response.request.url.path} answered something this "
                       "simgate does not understand (is it a newer API? update simgate)",
                       [entry_line(e["field"], e["message"]) for e in describe_pydantic_errors(exc.errors())][:5]
                       ) from None


def request_model(model: type[Model], **values: Any) -> Model:
    try:
        return model.model_validate(values)
    except ValidationError as exc:
        problems = describe_pydantic_errors(exc.errors())
        raise UsageProblem("the request is not valid",
                           [entry_line(p["field"], p["message"]) for p in problems]
                           ) from None


def _next_link(response: httpx.Response) -> str | None:
    return response.links.get("next", {}).get("url")


def _retry_delay(response: httpx.Response, attempt: int) -> float:
    try:
        return min(float(response.headers["Retry-After"]), MAX_RETRY_AFTER)
    except (KeyError, ValueError):
        return min(0.5 * 2 ** attempt, MAX_RETRY_AFTER)


def _long_poll(wait: float) -> httpx.Timeout:
    return httpx.Timeout(wait + LONG_POLL_MARGIN, connect=10.0)


def _segment(value: str) -> str:
    return quote(value, safe="")


def _reason(exc: Exception) -> str:
    text = str(exc).strip() or type(exc).__name__
    return text.splitlines()[0][:200]

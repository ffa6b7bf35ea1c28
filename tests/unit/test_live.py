"""Live runs on an App of fakes: the agent's channel (bytes by offset, progress, links; refused once the
job has finished, with another job's token, or too large), the log tail (windowed, whole characters,
waiting, complete), the page's one look with its ETag, partial outputs, and the status long-poll waking
on progress."""

from __future__ import annotations

import base64
import json
from datetime import datetime, timezone

import azure.functions as func
import pytest

from functions import jobs, live, outputs
from shared.auth import Principal
from shared.config import SimulatorSpec
from shared.domain import live as domain
from shared.domain.bundle import Placement, build_bundle
from shared.domain.cases import parse_definition
from shared.domain.jobs import Job, JobStatus, Transition, agent_token_hash, new_job_id
from shared.domain.reports import AgentReport
from shared.wiring import installed
from tests.factories import case_document
from tests.fakes import fake_app

NOW = datetime(2026, 5, 1, tzinfo=timezone.utc)
ALICE = {"X-Simgate-User": "alice"}
BOB = {"X-Simgate-User": "bob"}
TOKEN = "the-token"
ALICE_P = Principal("alice", "Alice")


@pytest.fixture
def world():
    world = fake_app(AUTH_DEV_MODE="true")
    world.cases.publish(parse_definition(case_document("mixer")), "carol", NOW)
    with installed(world.app):
        yield world


def running_job(world, owner="alice", status=JobStatus.RUNNING, token=TOKEN) -> str:
    job_id = new_job_id(owner, NOW)
    world.jobs.add(Job(job_id=job_id, owner=owner, title="t", case_id="mixer", case_version=1, fields={},
                       status=status, created=NOW, updated=NOW, agent_token_hash=agent_token_hash(token),
                       history=[Transition(status=status, at=NOW, source="agent")]))
    return job_id


def call(function, method, path, *, headers=None, body=None, raw=None, params=None, **route):
    data = raw if raw is not None else json.dumps(body).encode() if body is not None else b""
    return function(func.HttpRequest(method, f"http://localhost/api/{path}", headers=headers or {},
                                     params={k: str(v) for k, v in (params or {}).items()}, route_params=route,
                                     body=data))


def answer(response):
    return json.loads(response.get_body())


def send(job_id, token=TOKEN, **body):
    return call(live.report_live, "POST", f"job/{job_id}/live", job_id=job_id, body=body,
                headers={"Authorization": f"Bearer {token}"})


def piece(offset, data: bytes) -> dict:
    return {"offset": offset, "data": base64.b64encode(data).decode()}


def tail(job_id, headers=ALICE, **params):
    return call(live.get_log, "GET", f"job/{job_id}/log", job_id=job_id, headers=headers, params=params)


# --- the agent's channel ---


def test_stream_bytes_go_by_offset_and_the_answer_says_where_each_stream_stands(world):
    job_id = running_job(world)
    first = send(job_id, streams={"stdout": piece(0, b"one\ntwo\n")})
    assert first.status_code == 200 and answer(first)["streams"] == {"stdout": 8}
    again = send(job_id, streams={"stdout": piece(0, b"one\ntwo\nthree\n")})  # the first answer was lost
    assert answer(again)["streams"] == {"stdout": 14}
    assert answer(tail(job_id))["text"] == "one\ntwo\nthree\n"
    gap = send(job_id, streams={"stdout": piece(20, b"later\n")})
    assert answer(gap)["streams"] == {"stdout": 14}  # a gap is not taken: send from 14


def test_progress_and_its_message_go_to_the_job_and_wake_a_status_long_poll(world):
    job_id = running_job(world)
    before = world.app.jobs.get(ALICE_P, job_id)
    send(job_id, progress=0.25, message="step 5 of 20")
    job = world.jobs.find(job_id).item
    assert (job.progress, job.detail, job.status) == (0.25, "step 5 of 20", JobStatus.RUNNING)
    woken = world.app.jobs.wait_for_status(ALICE_P, job_id, wait=20, known=before.etag)
    assert woken.item.progress == 0.25 and world.clock.elapsed == 0  # answered at once: it changed
    unchanged = world.app.jobs.wait_for_status(ALICE_P, job_id, wait=3, known=woken.etag)
    assert unchanged.etag == woken.etag and world.clock.elapsed >= 3


def test_a_heartbeat_changes_nothing_and_answers_the_status(world):
    job_id = running_job(world)
    before = world.jobs.find(job_id)
    beat = send(job_id)
    assert answer(beat) == {"status": "running", "cancel_requested": False, "streams": {}, "links": {},
                            "links_expire_at": None}
    assert world.jobs.find(job_id).etag == before.etag


def test_live_files_get_write_links_and_are_listed_partial_until_done(world):
    job_id = running_job(world)
    links = answer(send(job_id, links=["results/profile.csv"]))
    assert set(links["links"]) == {"results/profile.csv"} and links["links_expire_at"]
    world.live.take(job_id, "results/profile.csv", b"x,T\n0,20\n")
    listed = answer(call(outputs.list_job_outputs, "GET", f"job/{job_id}/output", job_id=job_id, headers=ALICE))
    assert [(o["output_id"], o["name"], o["state"], o["size"]) for o in listed] == [
        ("live-csv1", "results/profile.csv", "partial", 9)]
    assert listed[0]["taken_at"]
    link = call(outputs.get_job_output, "GET", f"job/{job_id}/output/live-csv1", job_id=job_id,
                output_id="live-csv1", headers=ALICE)
    assert link.status_code == 200 and "sig=r" in answer(link)["url"]


def test_the_channel_is_refused_after_the_job_finished_for_another_jobs_token_and_when_too_large(world):
    finished = running_job(world, status=JobStatus.FAILED)
    assert send(finished, streams={"stdout": piece(0, b"late\n")}).status_code == 401
    assert world.live.chunks == {}  # nothing changed
    mine, other = running_job(world), running_job(world, token="other-token")
    assert send(mine, token="other-token", streams={"stdout": piece(0, b"x")}).status_code == 401
    assert world.live.chunks == {} and other
    too_much = json.dumps({"streams": {s: piece(0, b"x" * domain.DELTA_BYTES) for s in domain.STREAMS},
                           "message": "x" * 200_000}).encode()
    big = call(live.report_live, "POST", f"job/{mine}/live", job_id=mine, raw=too_much,
               headers={"Authorization": f"Bearer {TOKEN}"})
    assert big.status_code == 413 and world.live.chunks == {}
    over = send(mine, streams={"stdout": piece(0, b"x" * (domain.DELTA_BYTES + 1))})
    assert over.status_code == 422 and world.live.chunks == {}


# --- followers ---


def test_the_tail_is_at_most_64_kib_and_ends_on_a_whole_character(world):
    job_id = running_job(world)
    text = ("é" * 40_000).encode()  # 80,000 bytes
    send(job_id, streams={"stdout": piece(0, text[:70_001])})
    first = answer(tail(job_id))
    assert first["next_offset"] == domain.MAX_TAIL_BYTES and first["text"] == "é" * 32_768
    rest = answer(tail(job_id, offset=first["next_offset"]))
    assert rest["next_offset"] == 70_000 and not rest["complete"]  # the half character waits for its other byte


def test_a_tail_skips_what_the_window_no_longer_holds_and_says_so(world):
    job_id = running_job(world)
    chunk = b"y" * domain.CHUNK_BYTES
    offset = 0
    for _ in range(domain.WINDOW_CHUNKS + 2):
        for start in range(0, domain.CHUNK_BYTES, domain.DELTA_BYTES):
            offset = answer(send(job_id, streams={"stdout": piece(offset, chunk[start:start + domain.DELTA_BYTES])})
                            )["streams"]["stdout"]
    read = answer(tail(job_id, offset=0))
    assert read["truncated_before"] == domain.CHUNK_BYTES and read["offset"] == domain.CHUNK_BYTES
    assert len(read["text"]) == domain.MAX_TAIL_BYTES


def test_waiting_for_a_tail_ends_when_bytes_come_and_a_finished_log_is_complete(world):
    job_id = running_job(world)
    waited = answer(tail(job_id, wait=5))
    assert waited["text"] == "" and world.clock.elapsed >= 5
    send(job_id, streams={"stdout": piece(0, b"done\n")})
    world.jobs.update(world.jobs.find(job_id).item.model_copy(update={"status": JobStatus.DONE}),
                      world.jobs.find(job_id).etag)  # as another instance would: this one learns of it
    world.clock.advance(world.app.settings.follow_fresh_seconds)  # within the time it trusts its memory
    last = answer(tail(job_id, wait=25))
    assert last == {"stream": "stdout", "offset": 0, "next_offset": 5, "text": "done\n", "complete": True,
                    "truncated_before": 0}


def test_bad_tail_requests_are_400_and_someone_elses_job_404(world):
    job_id = running_job(world)
    for params in ({"offset": -1}, {"offset": "1.5"}, {"stream": "series"}, {"wait": 26}):
        response = tail(job_id, **params)
        assert response.status_code == 400 and response.mimetype == "application/problem+json", params
    assert tail(job_id, headers=BOB).status_code == 404


def test_one_look_has_everything_and_a_conditional_look_is_answered_from_memory(world, monkeypatch):
    job_id = running_job(world)
    send(job_id, progress=0.5, message="half", streams={"stdout": piece(0, b"a\n"), "series": piece(0, b"x,y\n1,2\n")})
    looked = call(live.get_live, "GET", f"job/{job_id}/live", job_id=job_id, headers=ALICE)
    body = answer(looked)
    assert (body["progress"], body["detail"], body["log"]["text"], body["series"]["text"]) == (
        0.5, "half", "a\n", "x,y\n1,2\n")
    assert body["streams"]["stdout"] == {"size": 2, "truncated_before": 0}
    reads = []
    find = world.jobs.find
    monkeypatch.setattr(world.jobs, "find", lambda job: reads.append(job) or find(job))
    again = call(live.get_live, "GET", f"job/{job_id}/live", job_id=job_id,
                 headers={**ALICE, "If-None-Match": looked.headers["ETag"]})
    assert again.status_code == 304 and again.headers["ETag"] == looked.headers["ETag"]
    assert reads == []  # answered without reading the job
    send(job_id, streams={"stdout": piece(2, b"b\n")})  # a change through this instance: memory is stale
    changed = call(live.get_live, "GET", f"job/{job_id}/live", job_id=job_id,
                   headers={**ALICE, "If-None-Match": looked.headers["ETag"]})
    assert changed.status_code == 200 and answer(changed)["log"]["text"] == "a\nb\n"
    theirs = call(live.get_live, "GET", f"job/{job_id}/live", job_id=job_id,
                  headers={**BOB, "If-None-Match": looked.headers["ETag"]})
    assert theirs.status_code == 404


def test_a_conditional_status_is_answered_from_memory_while_fresh(world):
    job_id = running_job(world)
    first = call(jobs.get_status, "GET", f"job/{job_id}/status", job_id=job_id, headers=ALICE)
    etag = first.headers["ETag"]
    again = call(jobs.get_status, "GET", f"job/{job_id}/status", job_id=job_id,
                 headers={**ALICE, "If-None-Match": etag})
    assert again.status_code == 304
    world.clock.advance(world.app.settings.follow_fresh_seconds)
    stale = call(jobs.get_status, "GET", f"job/{job_id}/status", job_id=job_id,
                 headers={**ALICE, "If-None-Match": etag})
    assert stale.status_code == 304  # read again, and still unchanged
    assert call(jobs.get_status, "GET", f"job/{job_id}/status", job_id=job_id,
                headers={**BOB, "If-None-Match": etag}).status_code == 404


# --- sites whose nodes cannot call out: pulled ---


HOST_KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIDq5oY1Q2TQ0YcXv0l1gRkq7r0bqJXHn7nN8ZVUCMXw5"


def site(name: str, **changes) -> SimulatorSpec:
    return SimulatorSpec(name=name, host="hpc.example", user="sim", host_key=HOST_KEY, private_key_path="/keys/id",
                         scheduler="slurm", **changes)


def closed_world():
    sites = [site("open"), site("closed", nodes_call_out=False)]
    world = fake_app(simulators=sites, AUTH_DEV_MODE="true")
    world.cases.publish(parse_definition(case_document("mixer")), "carol", NOW)
    return world, {site.name: site for site in sites}


def job_on(world, simulator, status=JobStatus.QUEUED) -> str:
    job_id = running_job(world, status=status)
    stored = world.jobs.find(job_id)
    world.jobs.update(stored.item.model_copy(update={"simulator": simulator}), stored.etag)
    return job_id


def test_a_followed_job_on_a_closed_site_is_pulled_in_one_batch_and_moves_to_running():
    world, _ = closed_world()
    with installed(world.app):
        followed, unfollowed, elsewhere = job_on(world, "closed"), job_on(world, "closed"), job_on(world, "open")
        for job_id in (followed, elsewhere):
            call(live.get_log, "GET", f"job/{job_id}/log", job_id=job_id, headers=ALICE)
        world.simulators.channels[("closed", followed)] = domain.LiveDelta(
            progress=0.3, message="pulled", streams={"stdout": domain.StreamDelta(0, b"from the node\n")},
            links=("profile.csv",))
        assert world.app.live_puller.run() == {"followed": 1, "pulled": 1}
        ((site, requests),) = world.simulators.pull_calls
        assert site == "closed" and set(requests) == {followed} and unfollowed not in requests
        job = world.jobs.find(followed).item
        assert (job.status, job.progress, job.detail) == (JobStatus.RUNNING, 0.3, "pulled")
        assert job.history[-1].source == "live-pull"
        assert answer(tail(followed))["text"] == "from the node\n"
        world.simulators.channels.clear()
        world.app.live_puller.run()
        again = world.simulators.pull_calls[-1][1][followed]
        assert again.acked == {"stdout": 14} and again.progress == (0.3, "pulled") and set(again.links) == {
            "profile.csv"}
        world.clock.advance(61)  # nobody followed it for a minute
        assert world.app.live_puller.run() == {"followed": 0, "pulled": 0}


def test_a_job_on_a_closed_site_gets_no_address_to_call():
    world, _ = closed_world()
    case = world.cases.get("mixer")
    job = world.jobs.find(job_on(world, "closed")).item
    made = build_bundle(case, job, Placement("closed", "slurm", "python3", 4, nodes_call_out=False), {},
                        callback_base_url="https://simgate.example.org/api", token="t")
    assert (made.job.status_url, made.job.live_url, made.job.pull) == (None, None, True)


def test_a_live_file_shows_in_a_look_within_a_second_while_the_streams_keep_growing(world):
    job_id = running_job(world)
    offset = 0

    def look():
        return answer(call(live.get_live, "GET", f"job/{job_id}/live", job_id=job_id, headers=ALICE))

    offset = answer(send(job_id, streams={"stdout": piece(offset, b"1\n")}))["streams"]["stdout"]
    assert look()["files"] == []
    world.live.take(job_id, "profile.csv", b"x\n1\n")  # the agent writes it straight to storage
    for _ in range(3):
        world.clock.advance(0.4)
        offset = answer(send(job_id, streams={"stdout": piece(offset, b"more\n")}))["streams"]["stdout"]
    seen = look()
    assert [f["name"] for f in seen["files"]] == ["profile.csv"] and seen["streams"]["stdout"]["size"] == offset


def test_a_run_that_fails_keeps_its_last_partial_files_and_a_later_upload_changes_nothing(world):
    job_id = running_job(world)
    world.live.take(job_id, "profile.csv", b"x\n1\n")
    send(job_id, progress=0.5)
    stored = world.app.jobs.get(ALICE_P, job_id)  # read through the app, as its writers do
    world.app.agent_reports.record(stored, AgentReport(status=JobStatus.FAILED, detail="diverged"))
    world.clock.advance(5)
    world.live.take(job_id, "profile.csv", b"x\n1\n2\n3\n")  # a link handed out before still writes
    listed = answer(call(outputs.list_job_outputs, "GET", f"job/{job_id}/output", job_id=job_id, headers=ALICE))
    assert [(o["name"], o["state"], o["size"]) for o in listed] == [("profile.csv", "partial", 4)]
    link = answer(call(outputs.get_job_output, "GET", f"job/{job_id}/output/live-csv1", job_id=job_id,
                       output_id="live-csv1", headers=ALICE))
    assert "snapshot=" in link["url"]

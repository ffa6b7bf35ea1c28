"""The agent's live channel, in-process against a loopback stand-in for simgate's live endpoint: at most
one request a second, nothing while nothing changes but a heartbeat a minute, bytes sent from where
simgate says it has them (so an outage loses nothing), a sender far behind skipping to a chunk start,
a finished job closing the channel; and the ``pull`` command that reads the same from a job's directory."""

from __future__ import annotations

import base64
import json
import os
import threading
from pathlib import Path

import pytest

from shared.agent import simgate_agent as agent
from shared.agent.simgate_agent import JobDescription, JobDirectory, LiveChannel
from tests.loopback import JsonHandler, LoopbackServer


class Simgate(JsonHandler):
    """Keeps each stream as simgate would (bytes by offset) and answers where each stands."""

    streams: dict[str, bytearray]
    bodies: list[dict]
    refuse_with: list[int]
    lock = threading.Lock()

    def do_POST(self):
        body = self.read_json()
        with self.lock:
            self.bodies.append(body)
            self.times.append(self.clock())
            if self.refuse_with:
                code = self.refuse_with.pop(0)
                return self.answer(code, {"status": code})
            ends = {}
            for name, part in (body.get("streams") or {}).items():
                held = self.streams.setdefault(name, bytearray())
                data = base64.b64decode(part["data"])
                if part["offset"] <= len(held):
                    held[part["offset"]:] = data if part["offset"] + len(data) > len(held) else held[part["offset"]:]
                ends[name] = len(held)
            links = {name: f"{self.server_url}/files/{name}" for name in body.get("links") or []}
            self.answer(200, {"status": "running", "cancel_requested": False, "streams": ends, "links": links})

    def do_PUT(self):
        self.rfile.read(int(self.headers["Content-Length"]))
        with self.lock:
            self.bodies.append({"put": self.path})
        self.answer(201, {})


@pytest.fixture
def simgate():
    handler = type("Handler", (Simgate,), {"streams": {}, "bodies": [], "refuse_with": [], "times": [],
                                           "clock": staticmethod(lambda: 0.0)})
    server = LoopbackServer(handler)
    handler.server_url = server.url
    yield handler
    server.close()


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += seconds


def job_dir(tmp_path: Path, url: str | None, live_outputs=()) -> tuple[JobDescription, JobDirectory]:
    directory = JobDirectory(str(tmp_path))
    (tmp_path / "run").mkdir(exist_ok=True)
    job = JobDescription(job_id="j1", token="t", entry_command=("true",), live_url=url and f"{url}/live",
                         live_outputs=tuple(live_outputs), retry_seconds=1)
    (tmp_path / "job.json").write_text(json.dumps(job.to_dict()))
    return job, directory


def write(path: Path, text: str) -> None:
    with open(path, "a", encoding="utf-8") as handle:
        handle.write(text)


def test_changes_are_coalesced_into_one_request_a_second_and_nothing_is_sent_while_nothing_changes(tmp_path, simgate):
    job, directory = job_dir(tmp_path, simgate.server_url)
    clock = Clock()
    channel = LiveChannel(job, directory, clock, clock.sleep)
    write(tmp_path / "stdout.log", "line 1\n")
    (tmp_path / "progress").write_text("0.1 starting")
    channel.tick()
    write(tmp_path / "stdout.log", "line 2\n")
    clock.now += 0.5
    channel.tick()  # within the second: waits
    assert len(simgate.bodies) == 1
    clock.now += 0.5
    channel.tick()
    assert len(simgate.bodies) == 2 and bytes(simgate.streams["stdout"]) == b"line 1\nline 2\n"
    assert simgate.bodies[0]["progress"] == 0.1 and "progress" not in simgate.bodies[1]  # sent once
    for _ in range(59):
        clock.now += 1
        channel.tick()
    assert len(simgate.bodies) == 2  # nothing changed: nothing sent
    clock.now += 1
    channel.tick()
    assert simgate.bodies[-1] == {}  # the heartbeat


def test_an_outage_loses_nothing_and_the_channel_backs_off_while_it_lasts(tmp_path, simgate):
    job, directory = job_dir(tmp_path, simgate.server_url)
    clock = Clock()
    simgate.clock = staticmethod(clock)
    channel = LiveChannel(job, directory, clock, clock.sleep)
    write(tmp_path / "stdout.log", "a\n")
    channel.tick()
    simgate.refuse_with.extend([503] * 100)  # unreachable
    attempts_before = len(simgate.bodies)
    for step in range(1, 31):
        write(tmp_path / "stdout.log", f"during {step}\n")
        clock.now += 1
        channel.tick()
    assert len(simgate.bodies) - attempts_before <= 5  # backed off: 2, 4, 8, 16 s apart
    simgate.refuse_with.clear()  # back
    clock.now += 60
    channel.flush()
    gaps = [b - a for a, b in zip(simgate.times, simgate.times[1:])]
    assert min(gaps) >= 1.0  # one a second, the flush too
    expected = "a\n" + "".join(f"during {step}\n" for step in range(1, 31))
    assert bytes(simgate.streams["stdout"]).decode() == expected


def test_a_sender_more_than_a_window_behind_skips_to_a_chunk_start(tmp_path, simgate):
    size = agent.LIVE_WINDOW_BYTES + agent.LIVE_CHUNK_BYTES + 10
    assert agent.skip_ahead(0, size) == 2 * agent.LIVE_CHUNK_BYTES
    assert agent.skip_ahead(0, agent.LIVE_WINDOW_BYTES) == 0
    assert agent.skip_ahead(3 * agent.LIVE_CHUNK_BYTES, size) == 3 * agent.LIVE_CHUNK_BYTES
    job, directory = job_dir(tmp_path, None)
    with open(tmp_path / "stderr.log", "wb") as handle:
        handle.truncate(size)
    delta = agent.stream_delta(directory, {})
    assert delta["stderr"]["offset"] == 2 * agent.LIVE_CHUNK_BYTES
    assert len(base64.b64decode(delta["stderr"]["data"])) == agent.LIVE_DELTA_BYTES


def test_a_finished_job_closes_the_channel(tmp_path, simgate):
    job, directory = job_dir(tmp_path, simgate.server_url)
    clock = Clock()
    channel = LiveChannel(job, directory, clock, clock.sleep)
    simgate.refuse_with.append(401)
    write(tmp_path / "stdout.log", "late\n")
    channel.tick()
    clock.now += 100
    assert channel.tick() is False and len(simgate.bodies) == 1 and channel.closed


def test_changed_live_files_are_taken_through_the_links_simgate_gives(tmp_path, simgate):
    job, directory = job_dir(tmp_path, simgate.server_url, live_outputs=("profile.csv",))
    clock = Clock()
    channel = LiveChannel(job, directory, clock, clock.sleep)
    (tmp_path / "run" / "profile.csv").write_text("x,T\n0,20\n")
    channel.tick()
    assert simgate.bodies[0]["links"] == ["profile.csv"] and simgate.bodies[1] == {"put": "/files/profile.csv"}
    clock.now += 1
    channel.tick()
    assert len(simgate.bodies) == 2  # unchanged: not taken again
    (tmp_path / "run" / "profile.csv").write_text("x,T\n0,21\n")
    os.utime(tmp_path / "run" / "profile.csv", ns=(1, 2))
    clock.now += 1
    channel.tick(final=True)
    assert simgate.bodies[-1] == {"put": "/files/profile.csv"}  # the link is kept: no new request for it


def test_pull_reads_what_the_channel_would_send_from_the_jobs_directory(tmp_path, simgate):
    (tmp_path / "j1").mkdir()
    job_dir(tmp_path / "j1", None, live_outputs=("profile.csv",))
    write(tmp_path / "j1" / "stdout.log", "one\ntwo\n")
    (tmp_path / "j1" / "progress").write_text("0.5 half way")
    (tmp_path / "j1" / "run" / "profile.csv").write_text("x\n1\n")
    answer = agent.pull(str(tmp_path), json.dumps({
        "j1": {"acked": {"stdout": 4}, "progress": None, "links": {}},
        "00000000000a-0000000000000-00000000": {}}).encode())
    pulled = answer["jobs"]["j1"]
    assert base64.b64decode(pulled["streams"]["stdout"]["data"]) == b"two\n" and pulled["progress"] == 0.5
    assert pulled["links"] == ["profile.csv"]
    assert answer["jobs"]["00000000000a-0000000000000-00000000"] == {"missing": True}
    again = agent.pull(str(tmp_path), json.dumps({"j1": {
        "acked": {"stdout": 8}, "progress": [0.5, "half way"],
        "links": {"profile.csv": f"{simgate.server_url}/files/profile.csv"}}}).encode())
    assert again["jobs"]["j1"] == {} and simgate.bodies == [{"put": "/files/profile.csv"}]

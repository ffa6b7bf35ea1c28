"""Downloading outputs straight from Blob storage by their read-only links: streamed into a temporary file
beside the target, checked (size, MD5) and only then renamed, so that an interrupted or damaged download
leaves no file behind. The API's sign-in is never sent to storage: the link carries its own."""

from __future__ import annotations

import hashlib
import os
import re
import sys
import tempfile
from pathlib import Path, PurePosixPath
from typing import BinaryIO

import httpx
from rich.console import Console
from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn, TimeRemainingColumn, TransferSpeedColumn

from cli.client import CONNECT_RETRIES, connection_problem, trust
from cli.errors import CliError, UsageProblem
from cli.render import size
from shared.api.models import OutputInfo, OutputLink

CHUNK = 256 * 1024
TIMEOUT = httpx.Timeout(60.0, connect=10.0)


def storage_client(ca_bundle: Path | None, transport: httpx.BaseTransport | None = None) -> httpx.Client:
    verify = trust(ca_bundle)
    return httpx.Client(timeout=TIMEOUT, verify=verify,
                        transport=transport or httpx.HTTPTransport(retries=CONNECT_RETRIES, verify=verify))


def target_for(output: OutputInfo, destination: Path | None) -> Path:
    """Where one output goes: ``destination`` (into it, when it is a folder), else its file name here."""
    name = PurePosixPath(output.name).name
    if destination is None:
        return Path(name)
    return destination / name if destination.is_dir() else destination


def target_in(folder: Path, output: OutputInfo) -> Path:
    """Where an output goes in a folder of all of them: its path in the job's run directory, kept inside."""
    target = folder / PurePosixPath(output.name)
    if not target.resolve().is_relative_to(folder.resolve()):
        raise CliError(f"the output name {output.name!r} points outside {folder}; not written")
    return target


class Downloads:
    """Progress bars on stderr (a line per file when stderr is no terminal)."""

    def __init__(self, http: httpx.Client, console: Console) -> None:
        self.http = http
        self.console = console
        self.progress = Progress(TextColumn("{task.description}", markup=False), BarColumn(bar_width=24),
                                 DownloadColumn(), TransferSpeedColumn(), TimeRemainingColumn(), console=console)

    def __enter__(self) -> Downloads:
        if self.console.is_terminal:
            self.progress.start()
        return self

    def __exit__(self, *exc: object) -> None:
        if self.console.is_terminal:
            self.progress.stop()

    def to_file(self, output: OutputInfo, link: OutputLink, target: Path) -> Path:
        target.parent.mkdir(parents=True, exist_ok=True)
        handle, temporary = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".part")
        try:
            with os.fdopen(handle, "wb") as file:
                self._stream(output, link, file)
            os.chmod(temporary, 0o666 & ~_umask())  # as a file made the usual way, not mkstemp's 0600
            os.replace(temporary, target)
        finally:
            Path(temporary).unlink(missing_ok=True)
        if not self.console.is_terminal:
            self.console.print(f"{output.output_id}: {output.name} -> {target} ({size(output.size)})", markup=False,
                               soft_wrap=True)
        return target

    def to_stdout(self, output: OutputInfo, link: OutputLink) -> None:
        self._stream(output, link, sys.stdout.buffer)
        sys.stdout.buffer.flush()

    def _stream(self, output: OutputInfo, link: OutputLink, file: BinaryIO) -> None:
        task = self.progress.add_task(output.name, total=output.size)
        digest, received = hashlib.md5(usedforsecurity=False), 0
        try:
            with self.http.stream("GET", link.url) as response:
                if response.status_code != 200:
                    raise storage_refused(response, output)
                for chunk in response.iter_bytes(CHUNK):
                    file.write(chunk)
                    digest.update(chunk)
                    received += len(chunk)
                    self.progress.update(task, completed=received)
        except httpx.TransportError as exc:
            raise connection_problem(exc, without_query(link.url)) from None
        if received != output.size:
            raise CliError(f"{output.name}: received {received} bytes, not {output.size}; nothing was kept")
        if output.md5 and digest.hexdigest() != output.md5:
            raise CliError(f"{output.name}: the MD5 of what arrived differs from the output's; nothing was kept")


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def storage_refused(response: httpx.Response, output: OutputInfo) -> CliError:
    response.read()
    code = re.search(r"<Code>([^<]{1,100})</Code>", response.text)
    reason = code.group(1) if code else response.reason_phrase
    hint = " (the link is valid 15 minutes: try again)" if response.status_code == 403 else ""
    return CliError(f"storage answered {response.status_code} {reason} for {output.name}{hint}")


def without_query(url: str) -> str:
    """The link without its signature: for messages."""
    return url.split("?", 1)[0]


def check_destination(destination: Path | None, many: bool) -> None:
    if many and destination is not None and destination.exists() and not destination.is_dir():
        raise UsageProblem(f"{destination} is a file: all outputs go into a folder (-o FOLDER)")

"""The commands: each parses its options, calls the API and renders the answer. Errors are translated
once, in ``Commands.invoke``: a one-line message on stderr and the exit code listed in ``cli.errors``."""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass, field
from enum import Enum
from pathlib import Path
from typing import Annotated, Any

import typer
from typer.core import TyperGroup

from cli import version_text
from cli.errors import CliError, Interrupted, UsageProblem

HELP = """Run simgate's simulation cases from the command line.

Locally (`make up`) it signs in with the development header; in Azure with an Entra ID token from the
Azure CLI (`az login`) or a device-code sign-in. Tables are for people; --json prints the API's answers
for scripts. Exit codes: 0 ok, 1 the API refused, 2 usage, 3 cannot connect, 4 job failed, 5 job
cancelled, 6 sign-in failed, 130 interrupted. More: docs/cli.md."""


class Commands(TyperGroup):
    def invoke(self, ctx: Any) -> Any:
        try:
            return super().invoke(ctx)
        except CliError as error:
            fail(error)
        except KeyboardInterrupt:
            fail(Interrupted("interrupted"))


def fail(error: CliError) -> None:
    sys.stdout.flush()
    print("\n".join(error.lines()), file=sys.stderr)
    raise typer.Exit(error.exit_code)


app = typer.Typer(cls=Commands, help=HELP, no_args_is_help=True, add_completion=False, rich_markup_mode=None,
                  pretty_exceptions_show_locals=False, context_settings={"help_option_names": ["-h", "--help"]})


@dataclass
class Session:
    options: dict[str, Any]
    _api: Any = field(default=None)

    def api(self) -> Any:
        if self._api is None:
            from cli.auth import choose_auth
            from cli.client import Api
            from cli.settings import resolve

            settings = resolve(**self.options)
            self._api = Api(settings, choose_auth(settings))
        return self._api

    def close(self) -> None:
        if self._api is not None:
            self._api.close()


def session(ctx: typer.Context) -> Session:
    return ctx.find_object(Session)


def _version(value: bool) -> None:
    if value:
        print(version_text())
        raise typer.Exit()


@app.callback()
def options(
    ctx: typer.Context,
    url: Annotated[str | None, typer.Option(envvar="SIMGATE_URL", show_envvar=True, help=(
        "The API: https://<app>.azurewebsites.net, with or without /api. [default: http://localhost:7071]"))] = None,
    user: Annotated[str | None, typer.Option(envvar="SIMGATE_USER", show_envvar=True, help=(
        "Development sign-in: who you are. [default: your login name]"))] = None,
    roles: Annotated[str | None, typer.Option(envvar="SIMGATE_ROLES", show_envvar=True, help=(
        "Development sign-in: your roles, comma separated (simgate.admin for an admin)."))] = None,
    auth: Annotated[str | None, typer.Option(envvar="SIMGATE_AUTH", show_envvar=True, help=(
        "auto (dev for a localhost URL, azure otherwise), dev or azure."))] = None,
    ca_bundle: Annotated[Path | None, typer.Option(envvar="SIMGATE_CA_BUNDLE", show_envvar=True, help=(
        "Extra CA certificates to trust (PEM), e.g. the local Azurite's for downloads."))] = None,
    version: Annotated[bool, typer.Option("--version", callback=_version, is_eager=True,
                                          help="Show the version and exit.")] = False,
) -> None:
    ctx.obj = Session({"url": url, "user": user, "roles": roles, "auth": auth, "ca_bundle": ca_bundle})
    ctx.call_on_close(ctx.obj.close)


class Stream(str, Enum):
    """The logs a run has."""

    STDOUT = "stdout"
    STDERR = "stderr"


JsonOption = Annotated[bool, typer.Option("--json", help="Print the API's answer as JSON (for scripts).")]
PageOption = Annotated[int | None, typer.Option(min=1, help="The page to show, from 1.")]
PerPageOption = Annotated[int | None, typer.Option(min=1, max=100, help="Items per page (at most 100). [default: 20]")]
LimitOption = Annotated[int | None, typer.Option(min=1, help="List up to this many, following the pages.")]
WaitOption = Annotated[bool, typer.Option("--wait", "-w", help=(
    "Follow the job until it finishes (exit 4 if it fails, 5 if cancelled); Ctrl-C stops following."))]
SetOption = Annotated[list[str] | None, typer.Option("--set", "-s", metavar="NAME=VALUE", help=(
    "A field value, converted to the field's type; repeat for more."))]
JobArgument = Annotated[str, typer.Argument(metavar="JOB", help="The job's id.")]
SimulatorOption = Annotated[str | None, typer.Option("--simulator", metavar="NAME", help=(
    "Run it on this simulator (simgate offers JOB lists them). [default: the one that starts it soonest]"))]


# --- cases ---


@app.command("cases")
def cases(
    ctx: typer.Context,
    search: Annotated[str | None, typer.Option("--search", "-q", help="Words the case's title or summary contains.")]
    = None,
    tag: Annotated[str | None, typer.Option(help="Only cases with this tag.")] = None,
    page: PageOption = None, per_page: PerPageOption = None, limit: LimitOption = None, json: JsonOption = False,
) -> None:
    """List the cases you can run."""
    from cli import render
    from cli.workflows import list_cases
    from shared.api.requests import CaseListQuery

    query = _query(CaseListQuery, q=search, tag=tag, page=page)
    items, more = list_cases(session(ctx).api(), query, per_page, limit)
    if json:
        return render.print_json(items)
    _table(render.cases_table(items) if items else None, "no cases", more, page, limit)


@app.command("case")
def show_case(
    ctx: typer.Context,
    case_id: Annotated[str, typer.Argument(metavar="CASE", help="The case's id, e.g. smoothie.")],
    version: Annotated[int | None, typer.Option(min=1, help="An older version. [default: the latest]")] = None,
    json: JsonOption = False,
) -> None:
    """Show a case: its description, fields (with their rules and defaults) and outputs."""
    from cli import render

    case = session(ctx).api().case(case_id, version)
    if json:
        return render.print_json(case)
    render.case_view(render.stdout(), case)


# --- jobs ---


@app.command("new")
def new_job(
    ctx: typer.Context,
    case_id: Annotated[str, typer.Argument(metavar="CASE", help="The case to run, e.g. smoothie.")],
    title: Annotated[str, typer.Option("--title", "-t", help="The job's title.")],
    values: SetOption = None,
    run: Annotated[bool, typer.Option("--run", help="Run it right away.")] = False,
    simulator: SimulatorOption = None,
    wait: WaitOption = False,
    json: JsonOption = False,
) -> None:
    """Create a draft job from a case's latest version; prints its id.

    Fields not set keep the case's defaults. Each --set value is checked against its field before the
    job is created: a bad one creates nothing.

    Example: simgate new smoothie --title "Test 1" --set speed_rpm=6000 --set fruit_mix=mango-pineapple --run --wait
    """
    from cli import render
    from cli.workflows import create_job

    _check_run_choice(run or wait, simulator)
    created = create_job(session(ctx).api(), case_id, title, values or [])
    render.note(f"created job {created.job_id} (draft)")
    _start_new(ctx, created, run or wait, wait, json, simulator)


@app.command("set")
def set_fields(
    ctx: typer.Context,
    job_id: JobArgument,
    values: Annotated[list[str], typer.Argument(metavar="NAME=VALUE", help="Field values for the draft job.")],
    json: JsonOption = False,
) -> None:
    """Set field values of a draft job, each checked against its case version.

    Example: simgate set JOB speed_rpm=8000 duration_s=90
    """
    from cli import render
    from cli.workflows import set_values

    answer = set_values(session(ctx).api(), job_id, values)
    if json:
        return render.print_json(answer)
    render.stdout().print(render.values_table(answer.fields))


@app.command("offers")
def job_offers(ctx: typer.Context, job_id: JobArgument, json: JsonOption = False) -> None:
    """Where a job could run: each simulator its case may use, how busy it is, when it would start it.

    Starts and durations are estimates: what each rests on is listed under the table. Choose one with
    simgate run JOB --simulator NAME.
    """
    from cli import render

    answer = session(ctx).api().offers(job_id)
    if json:
        return render.print_json(answer)
    if not answer.offers:
        return render.note(f"no configured simulator may run job {job_id}'s case")
    render.offers_view(render.stdout(), answer)


@app.command("run")
def run_job(ctx: typer.Context, job_id: JobArgument, simulator: SimulatorOption = None, wait: WaitOption = False,
            json: JsonOption = False) -> None:
    """Run a draft job (again while submitted: sends its start again)."""
    from cli import render

    accepted = session(ctx).api().run(job_id, simulator)
    if wait:
        return _follow(ctx, job_id, json)
    if json:
        return render.print_json(accepted)
    render.note(f"job {job_id} is {accepted.status.value}; follow it with: simgate status {job_id} --wait")


def _check_run_choice(run: bool, simulator: str | None) -> None:
    if simulator is not None and not run:
        raise UsageProblem("--simulator chooses where the job runs: add --run (or --wait)")


def _start_new(ctx: typer.Context, created: Any, run: bool, wait: bool, json: bool,
               simulator: str | None = None) -> None:
    """A job just created: its id on stdout (or its JSON), run (where asked) and followed if asked."""
    from cli import render

    if run:
        accepted = session(ctx).api().run(created.job_id, simulator)
        render.note(f"job {created.job_id} is {accepted.status.value}")
    if wait:
        return _follow(ctx, created.job_id, json, print_id=True)
    _print_id(created, json)


def _follow(ctx: typer.Context, job_id: str, json: bool, print_id: bool = False, any_end: bool = False) -> None:
    from cli import render
    from cli.follow import follow

    try:
        final = follow(session(ctx).api(), job_id, render.stderr(), any_end=any_end)
    finally:
        if print_id and not json:
            print(job_id)
    if json:
        render.print_json(final)
    elif any_end:
        render.note(f"job {job_id} is {final.status.value}")


@app.command("jobs")
def jobs(
    ctx: typer.Context,
    status: Annotated[str | None, typer.Option(help=(
        "Only jobs in this status: draft, submitted, queued, running, cleanup, done, failed, cancelled."))] = None,
    case_id: Annotated[str | None, typer.Option("--case", metavar="CASE", help="Only jobs of this case.")] = None,
    user: Annotated[str | None, typer.Option("--owner", metavar="USER", help="Admins: this user's jobs.")] = None,
    everyone: Annotated[bool, typer.Option("--all", help="Admins: every user's jobs.")] = False,
    page: PageOption = None, per_page: PerPageOption = None, limit: LimitOption = None, json: JsonOption = False,
) -> None:
    """List your jobs, newest first."""
    from cli import render
    from cli.workflows import list_jobs
    from shared.api.requests import JobListQuery

    query = _query(JobListQuery, status=_status(status), case_id=case_id, user=user, all=everyone, page=page)
    items, more = list_jobs(session(ctx).api(), query, per_page, limit)
    if json:
        return render.print_json(items)
    _table(render.jobs_table(items, owners=everyone or user is not None) if items else None, "no jobs", more, page,
           limit)


@app.command("job")
def show_job(ctx: typer.Context, job_id: JobArgument, json: JsonOption = False) -> None:
    """Show everything about a job: its values, history, detail and error."""
    from cli import render

    job = session(ctx).api().job(job_id)
    if json:
        return render.print_json(job)
    render.job_view(render.stdout(), job)


@app.command("status")
def job_status(ctx: typer.Context, job_id: JobArgument, wait: WaitOption = False, json: JsonOption = False) -> None:
    """Show a job's status; with --wait, follow it until it finishes."""
    from cli import render

    if wait:
        return _follow(ctx, job_id, json)
    info = session(ctx).api().status(job_id)
    if json:
        return render.print_json(info)
    render.stdout().print(render.status_line(info))


@app.command("logs")
def job_logs(
    ctx: typer.Context,
    job_id: JobArgument,
    stream: Annotated[Stream, typer.Option(help="Which log: the run's stdout or its stderr.")] = Stream.STDOUT,
    follow: Annotated[bool, typer.Option("--follow", "-f", help=(
        "Follow the log as it grows until the job has finished (exit 4 if it failed, 5 if cancelled); "
        "Ctrl-C stops following."))] = False,
) -> None:
    """Print a job's log as it is now (while it runs too); with -f, follow it to the end.

    The text is printed exactly as the run wrote it; notes go to stderr. The API keeps the last 8 MiB of
    each log live; once the job is done, the whole log is its output logs/stdout.log (or logs/stderr.log).

    Example: simgate logs JOB -f
    """
    from cli.logs import print_log

    try:
        print_log(session(ctx).api(), job_id, stream.value, sys.stdout, follow=follow)
    except BrokenPipeError:  # the reader has seen enough (| head)
        _quiet_stdout()


@app.command("cancel")
def cancel_job(ctx: typer.Context, job_id: JobArgument, wait: WaitOption = False, json: JsonOption = False) -> None:
    """Cancel a job: a draft at once; a running one is stopped on its simulator."""
    from cli import render

    answer = session(ctx).api().cancel(job_id)
    if wait and not answer.status.terminal:
        render.note(f"cancel requested; job {job_id} is {answer.status.value}")
        return _follow(ctx, job_id, json, any_end=True)
    if json:
        return render.print_json(answer)
    requested = "" if answer.status.terminal else "; cancel requested"
    render.note(f"job {job_id} is {answer.status.value}{requested}")


@app.command("relaunch")
def relaunch_job(
    ctx: typer.Context,
    job_id: JobArgument,
    values: SetOption = None,
    run: Annotated[bool, typer.Option("--run", help="Run the new job right away.")] = False,
    simulator: SimulatorOption = None,
    wait: WaitOption = False,
    json: JsonOption = False,
) -> None:
    """Make a new draft with the same case version and values (--set changes some); prints its id."""
    from cli import render
    from cli.workflows import relaunch

    _check_run_choice(run or wait, simulator)
    created = relaunch(session(ctx).api(), job_id, values or [])
    render.note(f"created job {created.job_id} (draft) from {job_id}")
    _start_new(ctx, created, run or wait, wait, json, simulator)


@app.command("delete")
def delete_job(
    ctx: typer.Context,
    job_id: JobArgument,
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Do not ask.")] = False,
) -> None:
    """Delete a draft or finished job and its outputs."""
    from cli import render

    if not yes and sys.stdin.isatty():
        typer.confirm(f"Delete job {job_id} and its outputs?", abort=True, err=True)
    session(ctx).api().delete(job_id)
    render.note(f"deleted job {job_id}")


# --- simulators ---


@app.command("simulators")
def simulators(ctx: typer.Context, json: JsonOption = False) -> None:
    """Admins: every simulator with its limits, what is in use, whether it answers, and who waits."""
    from cli import render

    sites = session(ctx).api().simulators()
    if json:
        return render.print_json(sites)
    if not sites:
        return render.note("no simulators are configured")
    render.simulators_view(render.stdout(), sites)


# --- outputs ---


@app.command("outputs")
def list_outputs(ctx: typer.Context, job_id: JobArgument, json: JsonOption = False) -> None:
    """List a job's outputs (once it is done)."""
    from cli import render

    outputs = session(ctx).api().outputs(job_id)
    if json:
        return render.print_json(outputs)
    _table(render.outputs_table(outputs) if outputs else None, f"job {job_id} has no outputs", False, None, None)


@app.command("download")
def download(
    ctx: typer.Context,
    job_id: JobArgument,
    output: Annotated[str | None, typer.Argument(metavar="OUTPUT", help=(
        "The output's id (csv1) or name; without it, every output."))] = None,
    destination: Annotated[Path | None, typer.Option("--output", "-o", metavar="PATH", help=(
        "One output: the file (or folder) to write, - for stdout [default: its name, here]. "
        "Every output: the folder [default: ./JOB]."))] = None,
) -> None:
    """Download outputs straight from Blob storage, checked against their size and MD5."""
    from cli import render
    from cli.download import Downloads, check_destination, storage_client
    from cli.workflows import download_all, download_one

    api = session(ctx).api()
    check_destination(destination, many=output is None)
    with storage_client(api.settings.ca_bundle) as http, Downloads(http, render.stderr()) as downloads:
        if output is not None:
            download_one(api, downloads, job_id, output, destination)
        else:
            download_all(api, downloads, job_id, destination or Path(job_id))


# --- studies: sweeps, previews, comparisons ---


SweepArgument = Annotated[str, typer.Argument(metavar="SWEEP", help="The sweep's id.")]
SweepWaitOption = Annotated[bool, typer.Option("--wait", "-w", help=(
    "Follow the sweep until every member has finished (exit 4 if one failed, 5 if one was cancelled); "
    "Ctrl-C stops following."))]


@app.command("sweep")
def new_sweep(
    ctx: typer.Context,
    case_id: Annotated[str, typer.Argument(metavar="CASE", help="The case to run, e.g. smoothie.")],
    vary: Annotated[list[str] | None, typer.Option("--vary", metavar="NAME=VALUES", help=(
        "A field and its values: a list (4000,8000,12000), a range START:STOP:STEP with the stop included "
        "(10:60:10), or both (5,10:60:10); repeat for more fields."))] = None,
    table: Annotated[Path | None, typer.Option("--table", metavar="FILE.csv", help=(
        "Instead of --vary: one run per row of a CSV file whose header row names the fields (- reads stdin); "
        "an empty cell takes the base value."))] = None,
    values: Annotated[list[str] | None, typer.Option("--set", "-s", metavar="NAME=VALUE", help=(
        "A value every run shares; repeat for more. Fields neither set nor varied keep the case's defaults."))]
    = None,
    title: Annotated[str | None, typer.Option("--title", "-t", help=(
        "The sweep's title; each member's is it and its values. [default: the case's title]"))] = None,
    zipped: Annotated[bool, typer.Option("--zip", help=(
        "Combine the --vary lists element by element (lists of one length) instead of every combination."))]
    = False,
    preview: Annotated[bool, typer.Option("--preview", help=(
        "Create nothing: show how many runs, each problem, a sample run's scripts and each site's quote; "
        "exit 0 if every run is valid."))] = False,
    run: Annotated[bool, typer.Option("--run", help="Run every member right away (the sites' limits decide when "
                                                    "each starts).")] = False,
    simulator: Annotated[str | None, typer.Option("--simulator", metavar="NAME", help=(
        "Run every member on this simulator. [default: each to the one that starts it soonest]"))] = None,
    wait: Annotated[bool, typer.Option("--wait", "-w", help=(
        "Run every member and follow the sweep until each has finished (exit 4 if one failed, 5 if one was "
        "cancelled); Ctrl-C stops following."))] = False,
    json: JsonOption = False,
) -> None:
    """Create a sweep: one job per combination of values (or per row of a table); prints its id.

    Every value is checked before anything is created: one bad value creates nothing, and each is named.

    Example: simgate sweep smoothie --vary speed_rpm=4000,8000,12000 --vary duration_s=10:60:10 --run --wait
    """
    from cli import render, studies

    if preview and (run or wait or simulator):
        raise UsageProblem("--preview creates nothing: leave out --run, --wait and --simulator")
    if simulator is not None and not (run or wait):
        raise UsageProblem("--simulator chooses where the members run: add --run (or --wait)")
    api = _studies(ctx)
    plan = studies.plan(api, case_id, vary=vary or [], table=table, assignments=values or [], zipped=zipped,
                        title=title)
    if preview:
        answer = studies.preview(api, plan)
        if json:
            render.print_json(answer)
        else:
            studies.preview_view(render.stdout(), answer)
        return studies.check_preview(answer, "the sweep")
    created = studies.create(api, plan, run or wait, simulator)
    render.note(studies.created_note(created, run or wait))
    if wait:
        return _follow_sweep(ctx, created.sweep_id, json, print_id=True)
    if json:
        return render.print_json(created)
    print(created.sweep_id)
    if run:
        render.note(f"follow it with: simgate sweep-status {created.sweep_id} --wait")


def _follow_sweep(ctx: typer.Context, sweep_id: str, json: bool, print_id: bool = False, view: bool = False) -> None:
    """Follow the sweep to its end; then its id, its view or its JSON; exit by how its members ended."""
    from cli import render, studies

    try:
        final = studies.follow_sweep(_studies(ctx), sweep_id, render.stderr())
    finally:
        if print_id and not json:
            print(sweep_id)
    if json:
        render.print_json(final)
    elif view:
        studies.sweep_view(render.stdout(), final)
    render.note(studies.outcome(final))
    if not json:
        render.note(f"side by side: simgate compare --sweep {sweep_id}")


@app.command("sweeps")
def sweeps(
    ctx: typer.Context,
    case_id: Annotated[str | None, typer.Option("--case", metavar="CASE", help="Only sweeps of this case.")] = None,
    page: PageOption = None, per_page: PerPageOption = None, limit: LimitOption = None, json: JsonOption = False,
) -> None:
    """List your sweeps, newest first."""
    from cli import render, studies
    from shared.api.requests import SweepListQuery

    query = _query(SweepListQuery, case_id=case_id, page=page)
    items, more = studies.list_sweeps(_studies(ctx), query, per_page, limit)
    if json:
        return render.print_json(items)
    _table(studies.sweeps_table(items) if items else None, "no sweeps", more, page, limit)


@app.command("sweep-status")
def sweep_status(ctx: typer.Context, sweep_id: SweepArgument, wait: SweepWaitOption = False,
                 json: JsonOption = False) -> None:
    """Show a sweep: counts by status, progress, and each member with its values (and, once done, the last
    value of each column of its CSV outputs); with --wait, follow it until every member has finished."""
    from cli import render, studies

    if wait:
        return _follow_sweep(ctx, sweep_id, json, view=True)
    details = _studies(ctx).sweep(sweep_id)
    if json:
        return render.print_json(details)
    studies.sweep_view(render.stdout(), details)


@app.command("sweep-run")
def sweep_run(ctx: typer.Context, sweep_id: SweepArgument, simulator: SimulatorOption = None,
              wait: SweepWaitOption = False, json: JsonOption = False) -> None:
    """Run every member of a sweep that is still a draft (a sweep created without --run)."""
    from cli import render, studies

    answer = _studies(ctx).run_sweep(sweep_id, simulator)
    if wait:
        render.note(studies.started_note(sweep_id, answer))
        return _follow_sweep(ctx, sweep_id, json)
    if json:
        return render.print_json(answer)
    render.note(studies.started_note(sweep_id, answer))


@app.command("sweep-cancel")
def sweep_cancel(ctx: typer.Context, sweep_id: SweepArgument, json: JsonOption = False) -> None:
    """Cancel every member of a sweep that has not finished (drafts at once, running ones on their simulator)."""
    from cli import render, studies

    answer = _studies(ctx).cancel_sweep(sweep_id)
    if json:
        return render.print_json(answer)
    render.note(studies.cancelled_note(sweep_id, answer))


@app.command("sweep-retry")
def sweep_retry(ctx: typer.Context, sweep_id: SweepArgument, wait: SweepWaitOption = False,
                json: JsonOption = False) -> None:
    """Run a sweep's failed members again, each as a new job with the same values; prints the new jobs' ids."""
    from cli import render, studies

    answer = _studies(ctx).retry_sweep(sweep_id)
    render.note(studies.retried_note(sweep_id, answer))
    if wait:
        return _follow_sweep(ctx, sweep_id, json)
    if json:
        return render.print_json(answer)
    for job_id in answer.job_ids:
        print(job_id)


@app.command("preview")
def preview_job(ctx: typer.Context, job_id: JobArgument, json: JsonOption = False) -> None:
    """Show a job's scripts exactly as its start writes them, and what each site quotes for it."""
    from cli import render, studies

    answer = _studies(ctx).preview_job(job_id)
    if json:
        render.print_json(answer)
    else:
        studies.preview_view(render.stdout(), answer, job_id=job_id)
    studies.check_preview(answer, f"job {job_id}")


@app.command("compare")
def compare(
    ctx: typer.Context,
    job_ids: Annotated[list[str] | None, typer.Argument(metavar="JOB", help="2 to 50 jobs of one case.")]
    = None,
    sweep_id: Annotated[str | None, typer.Option("--sweep", metavar="SWEEP", help=(
        "Instead of jobs: the members of this sweep."))] = None,
    every_field: Annotated[bool, typer.Option("--all", help="Show every field, not only those that differ.")]
    = False,
    json: JsonOption = False,
) -> None:
    """Jobs of one case side by side: the fields that differ, each output's size and MD5, and the mean and
    last value of each numeric column of their CSV outputs. * marks what differs.

    Example: simgate compare --sweep SWEEP
    """
    from cli import render, studies

    compared = _studies(ctx).compare(studies.compare_query(job_ids or [], sweep_id))
    if json:
        return render.print_json(compared)
    studies.compare_view(render.stdout(), compared, every_field)


def _studies(ctx: typer.Context) -> Any:
    return session(ctx).api()


# --- notifications ---


SubscriptionArgument = Annotated[str, typer.Argument(metavar="SUB", help=(
    "The subscription's id (simgate subscriptions lists them)."))]


@app.command("subscribe")
def subscribe(
    ctx: typer.Context,
    url: Annotated[str, typer.Argument(metavar="URL", help=(
        "Where to POST the events: https, and a host with public addresses only."))],
    events: Annotated[list[str] | None, typer.Option("--events", "-e", metavar="EVENT[,EVENT...]", help=(
        "What to hear of: job.finished (done, failed or cancelled), job.status_changed (every status), "
        "job.progress (at most one a minute per job), sweep.finished (every member has finished); repeat "
        "or give a comma list. [default: job.finished]"))] = None,
    case_id: Annotated[str | None, typer.Option("--case", metavar="CASE", help="Only the jobs of this case.")]
    = None,
    sweep_id: Annotated[str | None, typer.Option("--sweep", metavar="SWEEP", help=(
        "Only the jobs of this sweep (one of yours)."))] = None,
    description: Annotated[str | None, typer.Option("--description", "-d", metavar="TEXT", help=(
        "A note for you: what the endpoint is."))] = None,
    json: JsonOption = False,
) -> None:
    """Subscribe a URL to your job and sweep events, sent as signed webhooks (Standard Webhooks).

    Prints the subscription's id and its signing secret on stdout, the secret this once: keep it.

    Example: simgate subscribe https://hooks.example.org/simgate --events job.finished,sweep.finished
    """
    from cli import notifications, render

    body = notifications.new_subscription(url, events, case_id, sweep_id, description)
    created = session(ctx).api().subscribe(body)
    if json:
        return render.print_json(created)
    print("\n".join(notifications.secret_lines(created)))
    render.note(f"send it a test event with: simgate subscription-test {created.id} --wait")


@app.command("subscriptions")
def subscriptions(ctx: typer.Context, json: JsonOption = False) -> None:
    """List your subscriptions, newest first: their URL, events, state and filters (never their secrets)."""
    from cli import notifications, render

    items = session(ctx).api().subscriptions()
    if json:
        return render.print_json(items)
    if not items:
        return render.note("no subscriptions; make one with: simgate subscribe URL")
    render.stdout().print(notifications.subscriptions_table(items))
    for line in notifications.rotations(items):
        render.note(line)


@app.command("deliveries")
def deliveries(
    ctx: typer.Context,
    subscription_id: SubscriptionArgument,
    limit: Annotated[int | None, typer.Option("--limit", "-n", min=1, max=200, help=(
        "List up to this many attempts (at most 200). [default: 50]"))] = None,
    redeliver: Annotated[str | None, typer.Option("--redeliver", metavar="DELIVERY", help=(
        "Instead of listing: send this event again (its id from the DELIVERY column)."))] = None,
    json: JsonOption = False,
) -> None:
    """A subscription's latest delivery attempts, newest first: each event's status code, latency,
    outcome, error and next attempt (never what the receiver answered).

    Example: simgate deliveries SUB --redeliver msg_3fa9c2d1_ping_1
    """
    from cli import notifications, render
    from shared.api.requests import DeliveriesQuery

    api = session(ctx).api()
    if redeliver is not None:
        if limit is not None:
            raise UsageProblem("--redeliver sends one event again and lists nothing: leave out --limit")
        queued = api.redeliver(subscription_id, redeliver)
        if json:
            return render.print_json(queued)
        return render.note(notifications.redelivered_note(subscription_id, queued.delivery_id))
    attempts = api.deliveries(subscription_id, _query(DeliveriesQuery, limit=limit))
    if json:
        return render.print_json(attempts)
    if not attempts:
        return render.note(f"no delivery attempts yet; send a test event with: simgate subscription-test "
                           f"{subscription_id} --wait")
    notifications.deliveries_view(render.stdout(), subscription_id, attempts)


@app.command("subscription-test")
def subscription_test(
    ctx: typer.Context,
    subscription_id: SubscriptionArgument,
    wait: Annotated[bool, typer.Option("--wait", "-w", help=(
        "Wait for its first attempt and say how it went (exit 1 if it was not delivered)."))] = False,
    timeout: Annotated[float, typer.Option("--timeout", min=1, metavar="SECONDS", help=(
        "With --wait: how long to wait for the attempt."))] = 60.0,
    json: JsonOption = False,
) -> None:
    """Send a ping event to a subscription's URL, signed like every event; prints its delivery id."""
    from cli import notifications, render

    api = session(ctx).api()
    queued = api.ping(subscription_id)
    if not wait:
        if json:
            return render.print_json(queued)
        print(queued.delivery_id)
        return render.note(f"ping queued; its attempts show in: simgate deliveries {subscription_id}")
    if not json:
        print(queued.delivery_id)
    render.note(f"ping queued; waiting for its first attempt (at most {timeout:g} s)")
    attempt = notifications.wait_for_attempt(api, subscription_id, queued.delivery_id, timeout)
    if json:
        render.print_json(attempt)
    render.note(notifications.outcome(subscription_id, attempt))


@app.command("subscription-pause")
def subscription_pause(ctx: typer.Context, subscription_id: SubscriptionArgument, json: JsonOption = False) -> None:
    """Pause a subscription: nothing is sent to it until it is resumed, and job changes meanwhile are not
    announced."""
    from cli import notifications, render

    info = session(ctx).api().change_subscription(subscription_id, notifications.enabled(False))
    if json:
        return render.print_json(info)
    render.note(notifications.paused_note(info))


@app.command("subscription-resume")
def subscription_resume(ctx: typer.Context, subscription_id: SubscriptionArgument, json: JsonOption = False) -> None:
    """Resume a paused (or disabled) subscription: events waiting for it are sent first, in order."""
    from cli import notifications, render

    info = session(ctx).api().change_subscription(subscription_id, notifications.enabled(True))
    if json:
        return render.print_json(info)
    render.note(notifications.resumed_note(info))


@app.command("rotate-secret")
def rotate_secret(ctx: typer.Context, subscription_id: SubscriptionArgument, json: JsonOption = False) -> None:
    """A new signing secret for a subscription, printed this once; the old one keeps signing beside it
    for 24 hours, so that receivers can switch without losing an event."""
    from cli import notifications, render

    rotated = session(ctx).api().rotate_secret(subscription_id)
    if json:
        return render.print_json(rotated)
    print("\n".join(notifications.secret_lines(rotated, rotated=True)))


@app.command("unsubscribe")
def unsubscribe(
    ctx: typer.Context,
    subscription_id: SubscriptionArgument,
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Do not ask.")] = False,
) -> None:
    """Delete a subscription, the events still waiting for it and its delivery log."""
    from cli import render

    if not yes and sys.stdin.isatty():
        typer.confirm(f"Delete subscription {subscription_id} and its delivery log?", abort=True, err=True)
    session(ctx).api().unsubscribe(subscription_id)
    render.note(f"deleted subscription {subscription_id}")


# --- helpers ---


def _query(model: Any, **values: Any) -> Any:
    from cli.client import request_model

    return request_model(model, **{k: v for k, v in values.items() if v is not None})


def _status(text: str | None) -> Any:
    if text is None:
        return None
    from shared.domain.jobs import parse_status
    from shared.errors import ValidationFailed

    try:
        return parse_status(text)
    except ValidationFailed as exc:
        raise UsageProblem(f"--status: {exc.detail}", [e["message"] for e in exc.errors]) from None


def _print_id(created: Any, json: bool) -> None:
    from cli import render

    if json:
        return render.print_json(created)
    print(created.job_id)


def _table(table: Any, empty: str, more: bool, page: int | None, limit: int | None) -> None:
    from cli import render

    if table is None:
        render.note(empty)
    else:
        render.stdout().print(table)
    if more:
        render.note(f"more beyond --limit {limit}" if limit else f"more on --page {(page or 1) + 1} (or use --limit)")


def _quiet_stdout() -> None:
    """Stdout is a pipe nobody reads any more: what is left to write goes nowhere, and no error at exit."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):
        pass


def main() -> None:
    app(prog_name="simgate")

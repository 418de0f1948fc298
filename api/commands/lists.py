"""`lists import|show|rescreen`: screening list versions stored in the catalog, and re-screens with them."""

from __future__ import annotations

import enum
import json
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated

import typer

from api.commands._common import DataDirOption, load_settings, services
from api.commands.screen_images import registry_report_lines
from api.wiring import Services
from customization_vault.catalog import ListVersionView, RescreenJobView
from customization_vault.errors import NotFound
from customization_vault.lists import ListKind, RegisterFormat
from customization_vault.rescreen import Progress, Rescreener, rate_of

lists_app = typer.Typer(
    help="Screening list versions (marks, terms, allow, images, fonts, register) and re-screens.",
    no_args_is_help=True,
)

_FOLLOW_SECONDS = 1.0
_FINISHED = ("done", "failed")

ActorOption = Annotated[str, typer.Option("--actor", help="Who does it (audited)")]
ProgressOption = Annotated[bool, typer.Option("--progress", help="Show a progress bar until the job ends")]
WaitOption = Annotated[
    bool, typer.Option("--wait", help="Run the re-screen in this process (foreground) instead of a worker")
]


def register(app: typer.Typer) -> None:
    app.add_typer(lists_app, name="lists")


ImportKind = enum.StrEnum("ImportKind", {**{k.name: k.value for k in ListKind}, "USPTO": "uspto"})  # type: ignore[misc]
_PROGRESS_EVERY = 100_000


@lists_app.command("import")
def lists_import(
    kind: Annotated[
        ImportKind,
        typer.Argument(
            help="marks, terms, allow, images, fonts; register (a register CSV) or uspto (USPTO "
            "trademark-applications XML, daily or annual, or zips of it)",
            metavar="KIND",
        ),
    ],
    files: Annotated[
        list[Path],
        typer.Argument(
            help="A file in the format its CV_SCREENING__*_PATH setting takes; images: the registry CSV "
            "(its images are carried along) or a zip of the CSV and its images. register and uspto "
            "take several files, applied in order on top of the stored register",
            metavar="FILE",
        ),
    ],
    rescreen: Annotated[
        bool, typer.Option("--rescreen", help="Then re-screen every open order's items")
    ] = False,
    fresh: Annotated[
        bool, typer.Option("--fresh", help="register/uspto: start from an empty register, not the stored one")
    ] = False,
    wait: WaitOption = False,
    progress: ProgressOption = False,
    actor: ActorOption = "cli:admin",
    data_dir: DataDirOption = None,
) -> None:
    """Store FILE as the next version of a list (checked by the engine's loader first)."""
    settings = load_settings(data_dir)
    register = kind.value in (ListKind.REGISTER.value, "uspto")
    if not register and len(files) != 1:
        raise typer.BadParameter(f"{kind.value} takes exactly one file", param_hint="FILES")
    with services(settings) as svc:
        if register:
            fmt = RegisterFormat.USPTO if kind.value == "uspto" else RegisterFormat.CSV
            v = _import_register(svc, fmt, files, actor=actor, fresh=fresh)
        else:
            v = svc.lists.import_file(ListKind(kind.value), files[0], actor=actor)
        typer.echo(f"imported {v.kind}@{v.version}: {v.entries} entries (sha256 {v.sha256[:12]})", err=True)
        if rescreen:
            job = svc.rescreener().request(reason=f"{v.kind}@{v.version} imported", actor=actor)
            _carry_out(svc, job, wait=wait, progress=progress)


def _import_register(
    svc: Services, fmt: RegisterFormat, files: list[Path], *, actor: str, fresh: bool
) -> ListVersionView:
    """Progress (records merged) and, at the end, what was read, on stderr."""
    next_at = _PROGRESS_EVERY

    def progress(n: int) -> None:
        nonlocal next_at
        if n >= next_at:
            typer.echo(f"  {n:,} records merged", err=True)
            next_at = n - n % _PROGRESS_EVERY + _PROGRESS_EVERY

    done = svc.lists.import_register(fmt, files, actor=actor, fresh=fresh, progress=progress)
    m = done.meta
    typer.echo(
        f"read {m['read']} records from {len(m['sources'])} source(s)"  # type: ignore[arg-type]
        + (f" on top of {m['applied_on']}" if "applied_on" in m else "")
        + f"; {m['bad_records']} bad (skipped); {m['records']} live marks kept"
        + f"; built in {m['build_seconds']} s",
        err=True,
    )
    typer.echo(f"register by status: {_counts(m['by_status'])}", err=True)
    typer.echo(f"register by class: {_counts(m['by_class'])}", err=True)
    for why in m["problems"]:  # type: ignore[attr-defined]
        typer.echo(f"  bad record: {why}", err=True)
    return done.version


def _counts(d: object) -> str:
    return ", ".join(f"{k} {v}" for k, v in d.items()) if isinstance(d, dict) and d else "-"


@lists_app.command("show")
def lists_show(
    kind: Annotated[ListKind | None, typer.Option("--kind", help="Only this kind")] = None,
    references: Annotated[
        bool,
        typer.Option(
            "--references",
            help="Then each reference of an images version: matchers (shape, artwork), severity, keypoints",
        ),
    ] = False,
    version: Annotated[
        int | None, typer.Option("--version", help="With --references: this images version (default newest)")
    ] = None,
    data_dir: DataDirOption = None,
) -> None:
    """Every stored version: kind, version, entries, created, sha256, processes using it, source."""
    settings = load_settings(data_dir)
    with services(settings) as svc:
        versions = svc.lists.history(kind)
        processes = svc.lists.processes()
        try:
            report = svc.lists.image_report(version) if references else None
        except NotFound as exc:
            typer.echo(f"error: {exc}", err=True)
            raise typer.Exit(code=1) from exc
    typer.echo("kind\tversion\tentries\tcreated_at\tsha256\tin_use\tsource")
    for k in [kind] if kind is not None else list(ListKind):
        mine = [v for v in versions if v.kind == k.value]
        if not mine:
            typer.echo(f"{k.value}\t-\t-\t-\t-\t-\t(none stored: the settings file or the shipped list)")
        for v in mine:
            users = sum(1 for p in processes if p.versions.get(v.kind) == v.version)
            in_use = f"{users} process{'es' if users != 1 else ''}" if users else "-"
            typer.echo(
                f"{v.kind}\t{v.version}\t{v.entries}\t{v.created_at:%Y-%m-%d %H:%M:%S}Z\t"
                f"{v.sha256[:12]}\t{in_use}\t{v.source}"
            )
    if report is not None:
        typer.echo("")
        for line in registry_report_lines(report):
            typer.echo(line)


@lists_app.command("register-info")
def lists_register_info(
    version: Annotated[int | None, typer.Option("--version", help="This version, not the newest")] = None,
    data_dir: DataDirOption = None,
) -> None:
    """What a stored trademark register was built from: its source files, records read and bad (with
    the first problems), live marks kept, counts by status and by Nice class, and when and how fast it
    was built, as JSON on stdout."""
    settings = load_settings(data_dir)
    with services(settings) as svc:
        info = svc.lists.register_info(version)
    if info is None:
        typer.echo("no such register version stored", err=True)
        raise typer.Exit(code=1)
    typer.echo(json.dumps({"list": f"{ListKind.REGISTER.value}@{info[0]}", **info[1]}, indent=1))


@lists_app.command("rescreen")
def lists_rescreen(
    wait: WaitOption = False,
    progress: ProgressOption = False,
    job: Annotated[
        str | None, typer.Option("--job", help="Follow (or with --wait resume) this job instead of a new one")
    ] = None,
    reason: Annotated[str, typer.Option("--reason", help="Why (kept with the job)")] = "requested",
    actor: ActorOption = "cli:admin",
    data_dir: DataDirOption = None,
) -> None:
    """Re-screen every open order's items with the newest lists: flagged items open cases, cleared
    ones close theirs, decided and blocked items stay as they are. Without --wait a `serve` or
    `worker` process runs it; prints the job id on stdout."""
    settings = load_settings(data_dir)
    with services(settings) as svc:
        rescreener = svc.rescreener()
        view = rescreener.get(job) if job is not None else rescreener.request(reason=reason, actor=actor)
        typer.echo(view.id)
        _carry_out(svc, view, wait=wait, progress=progress)


@contextmanager
def _bar(job: RescreenJobView, *, shown: bool) -> Iterator[Progress]:
    """A progress bar on stderr fed with job views (the total grows with uploads during the walk)."""
    if not shown:
        yield lambda _view: None
        return
    with typer.progressbar(length=max(job.total, 1), label=f"re-screen {job.id[:8]}", file=sys.stderr) as bar:
        seen = 0

        def update(view: RescreenJobView) -> None:
            nonlocal seen
            bar.length = max(bar.length or 0, view.total)
            bar.update(view.done - seen)
            seen = view.done

        update(job)
        yield update


def _carry_out(svc: Services, job: RescreenJobView, *, wait: bool, progress: bool) -> None:
    rescreener = svc.rescreener()
    if wait:
        try:
            with _bar(job, shown=progress) as update:
                ran = rescreener.run(job.id, progress=update)
        finally:
            if svc.reloader is not None:
                svc.reloader.stop()  # this process no longer screens: withdraw its list versions
        if ran is None:
            typer.echo(f"re-screen {job.id} is running elsewhere; following it", err=True)
            ran = _follow(rescreener, job, progress=progress)
        job = ran
    elif progress:
        job = _follow(rescreener, job, progress=True)
    else:
        typer.echo(
            f"re-screen {job.id} {job.state}: a `serve` or `worker` process runs it "
            f"(follow it: lists rescreen --job {job.id} --progress)",
            err=True,
        )
        return
    _summary(job)
    if job.state != "done":
        raise typer.Exit(code=1)


def _follow(rescreener: Rescreener, job: RescreenJobView, *, progress: bool) -> RescreenJobView:
    """Poll the job row until it ends (a background runner is doing the work)."""
    with _bar(job, shown=progress) as update:
        while job.state not in _FINISHED:
            time.sleep(_FOLLOW_SECONDS)
            job = rescreener.get(job.id)
            update(job)
    return job


def _summary(job: RescreenJobView) -> None:
    rate = rate_of(job)
    typer.echo(
        f"re-screen {job.id} {job.state}: {job.done} items, {job.flagged} flagged, {job.cleared} cleared, "
        f"{job.failed} failed" + (f", {rate:g} items/s" if rate is not None else ""),
        err=True,
    )

"""`erp-crm chains`: check, preview, enrol into and run the notification chains of jobs/chains/."""

from __future__ import annotations

import json
import sys
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import click

from erp_crm.automation.configured import chain_runtime
from erp_crm.entrypoints.cli.context import Context, pass_ctx
from erp_crm.entrypoints.cli.options import Count
from erp_crm.errors import UserError
from erp_crm.queries.chains import chain_status, chains_overview

if TYPE_CHECKING:
    from erp_crm.automation.dry_run import Preview
    from erp_crm.automation.tick import TickReport


@click.group()
def chains() -> None:
    """Notification chains (jobs/chains/*.yaml): e-mails, text messages, waits and tasks for the people a segment names."""


@chains.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@pass_ctx
def list_(obj: Context, as_json: bool) -> None:
    """The chain files, whether each is valid, its published version and its enrolments."""
    from erp_crm.automation.chain_definition import chain_files
    from erp_crm.automation.ready_chains import not_added

    with obj.overlay.connect() as conn:
        overview = chains_overview(conn)
    rows = []
    for path in chain_files(obj.home):
        problem = _problem(obj, path.stem)
        rows.append(
            {"name": path.stem, "file": str(path), "valid": problem is None, "problem": problem, **overview.pop(path.stem, {"version": None, "enrolments": {}})}
        )
    rows += [{"name": name, "file": None, "valid": None, "problem": "its file is gone; running enrolments go on", **info} for name, info in overview.items()]
    if as_json:
        click.echo(json.dumps(rows, indent=2, ensure_ascii=False, default=str))
        return
    if not rows:
        click.echo(f"no chains: put one in {obj.home / 'jobs' / 'chains'} (docs/chains.md)")
    for row in rows:
        published = f"v{row['version']}" if row["version"] else "not published"
        enrolments = ", ".join(f"{n} {status}" for status, n in sorted(row["enrolments"].items())) or "no enrolments"
        state = "ok" if row["valid"] else f"INVALID: {row['problem']}" if row["valid"] is False else row["problem"]
        click.echo(f"{row['name']}: {published}, {enrolments}; {state}")
    ready = not_added(obj.home)
    if ready:
        click.echo(f"ready to add (erp-crm chains add NAME): {', '.join(ready)}")


def _problem(obj: Context, name: str) -> str | None:
    try:
        _validated(obj, (name,))
    except UserError as error:
        return str(error)
    return None


def _validated(obj: Context, names: tuple[str, ...]) -> list[Any]:
    """Check the chains as a tick would publish them, keeping nothing."""
    from erp_crm.automation.outbox import utc_now
    from erp_crm.automation.tick import read_chains

    with obj.overlay.connect() as conn:
        return [chain_def for chain_def, _data, _path in read_chains(conn, chain_runtime(obj.settings), utc_now(), names)]


@chains.command()
@click.argument("name")
@pass_ctx
def add(obj: Context, name: str) -> None:
    """Copy the ready chain NAME (jobs/ready_chains/) into jobs/chains/ and check it; an invalid copy is removed again. Never overwrites."""
    from erp_crm.automation.ready_chains import add_ready_chain

    added = add_ready_chain(obj.home, name)
    try:
        (chain_def,) = _validated(obj, (name,))
    except UserError as error:
        added.undo()
        raise UserError(f"{error} ({name} was not added)") from None
    copied = "".join(f"; copied {path.relative_to(obj.home)}" for path in added.templates)
    click.echo(f"added {added.chain.relative_to(obj.home)} ({len(chain_def.steps)} steps, checked){copied}; it starts at the next tick")


@chains.command()
@click.argument("names", nargs=-1)
@pass_ctx
def validate(obj: Context, names: tuple[str, ...]) -> None:
    """Check chain files (default: all): steps, templates, conditions, paths. Exit 2 at the first mistake, naming file, line and step."""
    for chain_def in _validated(obj, names):
        click.echo(
            f"ok: {chain_def.name} ({len(chain_def.steps)} steps, trigger {chain_def.trigger.kind}{' ' + chain_def.trigger.segment if chain_def.trigger.segment else ''}{f', {chain_def.trigger.days} days' if chain_def.trigger.days else ''})"
        )


@chains.command("dry-run")
@click.argument("name")
@click.option("--partner", "partners", multiple=True, help="An ERP partner key to preview (may be repeated).")
@click.option("--segment", help="Preview for the segment's current members.")
@click.option("--show", type=Count(1, 1000, "partners"), default=5, show_default=True, help="How many partners to show in full.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@pass_ctx
def dry_run(obj: Context, name: str, partners: tuple[str, ...], segment: str | None, show: int, as_json: bool) -> None:
    """Who NAME would enrol (default: from its trigger's new events) and what each would receive up to the first wait; nothing is sent or kept."""
    from erp_crm.automation.dry_run import dry_run as preview_chain

    ids = _chosen(obj, partners, segment)
    preview = preview_chain(obj.overlay, chain_runtime(obj.settings), name, ids, shown=show)
    click.echo(json.dumps(preview.__dict__, indent=2, ensure_ascii=False, default=str) if as_json else format_preview(preview))


def _chosen(obj: Context, partners: tuple[str, ...], segment: str | None) -> list[int] | None:
    from erp_crm.automation.chain_store import partner_by_key, segment_members

    if partners and segment:
        raise UserError("give --partner or --segment, not both")
    with obj.overlay.connect() as conn:
        if segment:
            if not _segment_exists(conn, segment):
                raise UserError(f"no segment named {segment!r} (see `erp-crm segments list`)")
            return segment_members(conn, segment)
        if partners:
            return [partner_by_key(conn, key) for key in partners]
    return None


def _skipped_words(skipped: Mapping[str, int]) -> str:
    """Partners not enrolled, by reason: "3 in the chain already; 1 in a suppression segment"."""
    return "; ".join(f"{n} {why}" for why, n in sorted(skipped.items()))


def _segment_exists(conn: Any, name: str) -> bool:
    from erp_crm.queries.segments import list_segments

    return any(row["name"] == name for row in list_segments(conn, []))


def format_preview(preview: Preview) -> str:
    skipped = _skipped_words(preview.skipped)
    lines = [f"{preview.chain} {preview.version}: would enrol {preview.enrolled}" + (f" (skipped: {skipped})" if skipped else "")]
    for partner in preview.partners:
        lines.append(f"  {partner['partner']} {partner['name']}")
        for step in partner["steps"]:
            lines.append(f"    {step['step']}: {_step_words(step)}")
        lines.append(f"    {partner['after']}")
    return "\n".join(lines)


def _step_words(step: dict[str, Any]) -> str:
    if "channel" in step:
        if step["suppressed"]:
            return f"{step['channel']} suppressed: {step['suppressed']}"
        head = f"{step['channel']} to {step['to']}"
        if step["channel"] == "sms":
            return f"{head} ({step['encoding']}, {step['segments']} segments): {step['text']}"
        return f"{head}: {step['subject']}"
    if "task" in step:
        return f"task {step['task']!r}, due {step['due']}"
    return f"{step['outcome']} {step['detail'] or ''}".strip()


@chains.command()
@click.argument("name")
@click.option("--partner", "partners", multiple=True, help="An ERP partner key (may be repeated).")
@click.option("--segment", help="Every current member of this segment.")
@pass_ctx
def enrol(obj: Context, name: str, partners: tuple[str, ...], segment: str | None) -> None:
    """Enrol partners in NAME by hand (once per day each); the next tick starts them."""
    from erp_crm.automation.chain_store import enrol as enrol_partners
    from erp_crm.automation.outbox import utc_now
    from erp_crm.automation.tick import publish_all

    ids = _chosen(obj, partners, segment)
    if ids is None:
        raise UserError("name whom to enrol: --partner KEY or --segment NAME")
    now = utc_now()
    with obj.overlay.begin_writing() as conn:
        (published,) = publish_all(conn, chain_runtime(obj.settings), now, [name])
        done = enrol_partners(conn, published, ids, f"manual:{now:%Y-%m-%d}", now)
    skipped = _skipped_words(done.skipped)
    click.echo(f"{name} v{published.version}: enrolled {done.enrolled}" + (f"; skipped {skipped}" if skipped else ""))


@chains.command()
@click.argument("name")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@pass_ctx
def status(obj: Context, name: str, as_json: bool) -> None:
    """Per version of NAME: enrolments by state, who waits at which step, and each step's outcomes."""
    with obj.overlay.connect() as conn:
        found = chain_status(conn, name)
    if found is None:
        raise UserError(f"chain {name!r} was never published (run `erp-crm chains tick` or `chains enrol`)")
    if as_json:
        click.echo(json.dumps(found, indent=2, ensure_ascii=False, default=str))
        return
    for version in found["versions"]:
        enrolments = ", ".join(f"{n} {s}" for s, n in sorted(version["enrolments"].items())) or "no enrolments"
        click.echo(f"{name} v{version['version']} (published {version['published_at']:%Y-%m-%d %H:%M} UTC): {enrolments}")
        for step, outcomes in version["steps"].items():
            waiting = version["at_step"].get(step)
            done = ", ".join(f"{n} {o}" for o, n in sorted(outcomes.items())) or "not run yet"
            click.echo(f"  {step}: {done}" + (f"; {waiting} waiting here" if waiting else ""))


@chains.command()
@click.option("--limit", type=Count(1, 100_000_000, "enrolments"), help="Move at most this many enrolments, then stop.")
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
@pass_ctx
def tick(obj: Context, limit: int | None, as_json: bool) -> None:
    """Publish changed chains, enrol from their triggers, and move every due enrolment on (run it every minute)."""
    from erp_crm.automation.tick import tick as run_tick

    report = run_tick(obj.overlay, chain_runtime(obj.settings), limit=limit)
    click.echo(json.dumps(report.as_dict(), indent=2, ensure_ascii=False) if as_json else format_tick(report))
    if report.failures:
        sys.exit(1)


def format_tick(report: TickReport) -> str:
    data = report.as_dict()
    lines = []
    if data["enrolling_elsewhere"]:
        lines.append("another tick was publishing and enrolling: left to it")
    if data["published"]:
        lines.append("published: " + ", ".join(data["published"]))
    skipped = _skipped_words(data["skipped"])
    lines.append(f"enrolled {data['enrolled']}" + (f" (skipped: {skipped})" if skipped else "") + f"; moved {data['moved']} enrolments on")
    for step in data["steps"]:
        lines.append(f"  {step['chain']} {step['step']}: {step['count']} {step['outcome']}")
    if data["ended"]:
        lines.append("ended: " + ", ".join(f"{n} {status}" for status, n in sorted(data["ended"].items())))
    for failure in data["failures"]:
        lines.append(f"  failed: {failure}")
    return "\n".join(lines)

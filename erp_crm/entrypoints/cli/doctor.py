"""`erp-crm doctor`: every check of a running install, one line each, with what to do about what is wrong."""

from __future__ import annotations

import json
import math
import sys

import click

from erp_crm.doctor.examine import DoctorReport, examine
from erp_crm.doctor.findings import Status
from erp_crm.entrypoints.cli.context import Context, pass_ctx

# The exit code by the worst finding. 2 stays a mistake on the command line and 70 an
# internal error, as for every command; 3 is outbox dispatch's unreachable server.
EXIT_CODES = {Status.OK: 0, Status.SKIPPED: 0, Status.WARN: 1, Status.FAIL: 4}
LABELS = {Status.OK: ("OK", "green"), Status.SKIPPED: ("SKIP", None), Status.WARN: ("WARN", "yellow"), Status.FAIL: ("FAIL", "red")}
COUNTED = ((Status.FAIL, "failed"), (Status.WARN, "warned"), (Status.OK, "ok"), (Status.SKIPPED, "skipped"))


@click.command()
@click.option("--json", "as_json", is_flag=True, help="Print the findings as JSON.")
@click.option(
    "--timeout",
    type=click.FloatRange(1, 120),
    default=5.0,
    show_default=True,
    callback=lambda _ctx, _param, value: finite(value),
    help="Seconds any one server may take to answer.",
)
@pass_ctx
def doctor(obj: Context, as_json: bool, timeout: float) -> None:
    """Check what a running install needs: settings, overlay and migrations, ERP login and read-only role, ODBC driver,
    SMTP relay, SMS gateway and webhook hosts, disk space, clock. Nothing is written and no message is sent.

    Exit code: 0 all ok (or not set up), 1 a warning, 4 a failure.
    """
    report = examine(obj.home_option, timeout)
    click.echo(json.dumps(report.as_dict(), indent=2, ensure_ascii=False) if as_json else format_report(report))
    sys.exit(EXIT_CODES[report.status])


def finite(seconds: float) -> float:
    """`seconds`, unless it is NaN: a range lets NaN through (it compares false with both ends), and every deadline with it."""
    if math.isnan(seconds):
        raise click.BadParameter("'nan' is not a number of seconds")
    return seconds


def format_report(report: DoctorReport) -> str:
    width = max(len(f.name) for f in report.findings)
    lines = [f"erp-crm doctor: {report.home or 'no home'}"]
    for finding in report.findings:
        label, colour = LABELS[finding.status]
        lines.append(f"{click.style(f'{label:<4}', fg=colour, bold=colour is not None)}  {finding.name:<{width}}  {finding.message}")
        if finding.fix:
            lines.append(f"{'':<4}  {'':<{width}}  fix: {finding.fix}")
    counts = report.counts()
    lines.append(", ".join(f"{counts[status.value]} {word}" for status, word in COUNTED if counts[status.value]))
    return "\n".join(lines)

"""The `erp-crm` command: one module per area, each command a thin wrapper over a service or a query.

Command docstrings are the --help text. Services and queries return data; the commands
turn it into text or JSON. A user's mistake is one line on stderr and exit code 2, never
a traceback (unless --debug).
"""

from __future__ import annotations

import re
import sys

import click

from erp_crm import __version__
from erp_crm.entrypoints.cli.chains import chains
from erp_crm.entrypoints.cli.consent import consent
from erp_crm.entrypoints.cli.context import Context
from erp_crm.entrypoints.cli.database import db
from erp_crm.entrypoints.cli.demo import demo
from erp_crm.entrypoints.cli.doctor import doctor
from erp_crm.entrypoints.cli.home import init
from erp_crm.entrypoints.cli.jobs import jobs
from erp_crm.entrypoints.cli.metrics import metrics
from erp_crm.entrypoints.cli.outbox import outbox
from erp_crm.entrypoints.cli.owners import owners
from erp_crm.entrypoints.cli.scheduler import scheduler
from erp_crm.entrypoints.cli.segments import segments
from erp_crm.entrypoints.cli.serve import serve
from erp_crm.entrypoints.cli.sync import check, sync
from erp_crm.entrypoints.cli.tasks import tasks
from erp_crm.entrypoints.cli.templates import templates
from erp_crm.entrypoints.cli.worker import worker
from erp_crm.errors import UserError
from erp_crm.yamlfile import CONTROL_CHARACTERS

_NOT_SHOWN = re.compile(f"[{CONTROL_CHARACTERS}\t\n\r]")


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--home", envvar="ERP_CRM_HOME", type=click.Path(file_okay=False), help="The home folder (config/, connectors/, var/). Default: $ERP_CRM_HOME, else the current folder.")
@click.option("--debug", is_flag=True, help="Show tracebacks.")
@click.version_option(__version__, prog_name="erp-crm")
@click.pass_context
def cli(ctx: click.Context, home: str | None, debug: bool) -> None:
    """erp-crm: a CRM beside your ERP. It reads the ERP's history read-only and acts on it."""
    ctx.obj = Context(home, debug)
    ctx.call_on_close(ctx.obj.close)


for command in (init, db, check, doctor, sync, demo, metrics, segments, chains, tasks, owners, templates, consent, outbox, serve, scheduler, jobs, worker):
    cli.add_command(command)


def main() -> None:
    """Entry point: user mistakes are one line on stderr and a non-zero exit, never a traceback."""
    debug = "--debug" in sys.argv[1:]
    try:
        cli.main(standalone_mode=False)
    except click.exceptions.Abort:
        click.echo("aborted", err=True)
        sys.exit(130)
    except click.exceptions.NoArgsIsHelpError as exc:  # a group without its command: the help is the answer
        exc.show()
        sys.exit(exc.exit_code)
    except click.UsageError as exc:  # a mistyped command or option: one line, as every other mistake
        help_hint = f" (see {exc.ctx.command_path} --help)" if exc.ctx else ""
        _say(f"error: {exc.format_message()}{help_hint}")
        sys.exit(exc.exit_code)
    except click.ClickException as exc:
        exc.show()
        sys.exit(exc.exit_code)
    except UserError as exc:
        if debug:
            raise
        _say(f"error: {exc}")
        sys.exit(2)
    except KeyboardInterrupt:
        click.echo("interrupted", err=True)
        sys.exit(130)
    except SystemExit:
        raise
    except Exception as exc:  # a bug, not a user mistake: say so plainly
        if debug:
            raise
        _say(f"internal error: {type(exc).__name__}: {exc} (run again with --debug for the traceback)")
        sys.exit(70)


def _say(message: str) -> None:
    """Write `message` to stderr as one line that shows what it says.

    Messages quote what users and ERPs wrote (keys, values, names); a control character
    among them (an escape sequence, a line break, a bidi override) is written as its
    escape (`\\x1b`), so it can neither rewrite the terminal nor break the one line.
    """
    click.echo(_NOT_SHOWN.sub(lambda m: m.group().encode("unicode_escape").decode("ascii"), message), err=True)

"""The ``vaekit`` command group and its entry point. User errors end as one line on stderr and
exit code 2, never a traceback; a stop (Ctrl-C, SIGTERM) ends with exit code 130.

A new command is a module of this package whose ``click.command`` is added below.
"""

from __future__ import annotations

import sys

import click

from ..errors import VaekitError, speaking_cli
from ..runtime import flush_process_wide, keep_freed_memory
from .common import EXIT_INTERRUPTED, EXIT_USER_ERROR
from .evaluate import evaluate
from .generate import decode, encode, reconstruct, sample
from .train import train


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(package_name="vaekit")
def cli() -> None:
    """Variational autoencoders: train, evaluate, sample, reconstruct, encode, decode."""


for _command in (train, evaluate, sample, reconstruct, encode, decode):
    cli.add_command(_command)


def main(argv: list[str] | None = None) -> None:
    """Entry point: a VaekitError becomes 'vaekit: error: …' and exit code 2, no traceback.
    Messages name options as flags here (``speaking_cli``), as Python arguments elsewhere."""
    with speaking_cli():
        _main(argv)


def _main(argv: list[str] | None) -> None:
    try:
        cli.main(args=argv, prog_name="vaekit", standalone_mode=False)
    except click.exceptions.Abort:
        click.echo("vaekit: interrupted", err=True)
        sys.exit(EXIT_INTERRUPTED)
    except click.UsageError as e:  # one line, as every other error, with where to look
        where = f" (see {e.ctx.command_path} --help)" if e.ctx is not None else ""
        click.echo(f"vaekit: error: {' '.join(e.format_message().split())}{where}", err=True)
        sys.exit(EXIT_USER_ERROR)
    except click.ClickException as e:
        e.show()
        sys.exit(e.exit_code)
    except VaekitError as e:
        click.echo(f"vaekit: error: {e}", err=True)
        sys.exit(EXIT_USER_ERROR)
    except KeyboardInterrupt:
        click.echo("vaekit: interrupted", err=True)
        sys.exit(EXIT_INTERRUPTED)
    except OSError as e:  # disk full, permission denied while writing an output…
        click.echo(f"vaekit: error: {e.strerror or e}: {e.filename or ''}".rstrip(": "), err=True)
        sys.exit(EXIT_USER_ERROR)


def entry() -> None:
    """The ``vaekit`` executable: :func:`main` in a process of its own.

    Owning the process, it sets the CPU settings process-wide: subnormals flushed in every
    thread (before torch starts its workers, so they inherit it) and freed memory kept for
    reuse (``vaekit.runtime``). ``main`` called from Python changes only what the command's
    library call changes (``vaekit.train`` keeps freed memory from then on).
    """
    flush_process_wide()
    keep_freed_memory()
    main()


if __name__ == "__main__":
    entry()

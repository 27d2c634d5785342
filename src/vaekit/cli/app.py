"""The ``vaekit`` command group and its entry point. User errors end as one line on stderr and
exit code 2, never a traceback; a stop (Ctrl-C, SIGTERM) ends with exit code 130.

A new command is a module of this package whose ``click.command`` is named in ``COMMANDS``.
Commands are imported when they run (or show their own help), so ``vaekit --help`` and
``vaekit --version`` answer without importing torch.
"""

from __future__ import annotations

import importlib
import os
import sys
from typing import Any

import click

from ..errors import PeerError, VaekitError, speaking_cli
from ..launcher_env import launched, launcher_rank, local_rank

EXIT_USER_ERROR = 2
EXIT_INTERRUPTED = 130

# name -> (module of this package, one-line help shown by `vaekit --help`; a test checks it
# is the first line of the command's own docstring).
COMMANDS = {
    "train": ("train", "Train a VAE and write its run directory; rerun the same command to "
                       "continue it."),
    "evaluate": ("evaluate", "ELBO and its terms, log p(x) by importance sampling, and the "
                             "anatomy of the gap."),
    "sample": ("generate", "Generate from the prior: decoder means at z ~ p(z)."),
    "reconstruct": ("generate", "Originals and their reconstructions (decoder mean at the "
                                "posterior mean), as a PNG."),
    "encode": ("generate", "Posterior means E_q[z|x] of a split, saved as an (N, latent_dim) "
                           ".npy array."),
    "decode": ("generate", "Decoder means at given latents, in the data's units and shape."),
    "export": ("export", "The run's encoder, decoder and score as ONNX files, verified with "
                         "ONNX Runtime."),
    "baseline": ("baseline", "A finite mixture fitted by EM, as a run directory that "
                             "evaluate, sample and score take."),
    "serve": ("serve", "A local web page to explore a run: latent map, live decoding, "
                       "sliders, samples."),
    "plot": ("plot", "Pictures of a run: latent map, manifold, interpolation, traversal, or "
                     "curves."),
    "complete": ("conditional", "Complete partly observed images: the observed part, "
                                "completions, the truth, as a PNG."),
    "score": ("score", "Anomaly scores per example (larger = more anomalous), with AUROC when "
                       "labelled."),
}  # fmt: skip


class LazyGroup(click.Group):
    """A group that imports a command's module only when that command is used."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return list(COMMANDS)

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        if name not in COMMANDS:
            return None
        module = importlib.import_module(f"{__package__}.{COMMANDS[name][0]}")
        return getattr(module, name)

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        with formatter.section("Commands"):
            formatter.write_dl([(name, short) for name, (_, short) in COMMANDS.items()])


@click.group(
    cls=LazyGroup,
    context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100},
)
@click.version_option(package_name="vaekit")
@click.pass_context
def cli(ctx: click.Context) -> None:
    """Variational autoencoders: train, evaluate, sample, reconstruct, encode, decode."""
    if (ctx.obj or {}).get("own_process"):
        # The `vaekit` executable owns its process: CPU settings for all of it, before torch
        # starts its worker threads (they inherit the flag); see vaekit.runtime.
        from ..runtime import flush_process_wide, keep_freed_memory

        flush_process_wide()
        keep_freed_memory()


def main(argv: list[str] | None = None, *, own_process: bool = False) -> None:
    """Entry point: a VaekitError becomes 'vaekit: error: …' and exit code 2, no traceback.
    Messages name options as flags here (``speaking_cli``), as Python arguments elsewhere."""
    with speaking_cli():
        _main(argv, {"own_process": own_process})


def _main(argv: list[str] | None, obj: dict[str, Any]) -> None:
    obj["argv"] = list(sys.argv[1:] if argv is None else argv)  # what --processes passes on
    try:
        cli.main(args=argv, prog_name="vaekit", standalone_mode=False, obj=obj)
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
        rank = _speaker()  # of several data-parallel processes (torchrun), the first
        # one speaks of what all agreed on; a process that lost its peers speaks for itself
        # (the first may be the one lost).
        if rank == 0:
            click.echo(f"vaekit: error: {e}", err=True)
        elif isinstance(e, PeerError):
            click.echo(f"vaekit: error: process {rank}: {e}", err=True)
        sys.exit(EXIT_USER_ERROR)
    except KeyboardInterrupt:
        click.echo("vaekit: interrupted", err=True)
        sys.exit(EXIT_INTERRUPTED)
    except OSError as e:  # disk full, permission denied while writing an output…
        click.echo(f"vaekit: error: {e.strerror or e}: {e.filename or ''}".rstrip(": "), err=True)
        sys.exit(EXIT_USER_ERROR)


def _speaker() -> int:
    """This process's rank, for deciding who speaks of an error (0 if the variable is bad)."""
    try:
        return launcher_rank()
    except VaekitError:
        return 0


def entry() -> None:
    """The ``vaekit`` executable: :func:`main` in a process of its own.

    Owning the process, it sets the CPU settings process-wide: subnormals flushed in every
    thread (before torch starts its workers, so they inherit it) and freed memory kept for
    reuse (``vaekit.runtime``). ``main`` called from Python changes only what the command's
    library call changes (``vaekit.train`` keeps freed memory from then on).
    """
    try:
        launcher_rank(), local_rank()  # checked once, before anything reads them
        several = launched()
    except VaekitError as e:
        click.echo(f"vaekit: error: {e}", err=True)
        sys.exit(EXIT_USER_ERROR)
    if several:  # one of several processes:
        # torch's C++ distributed logs (a connection retry prints a C++ stack) stay off the
        # terminal; vaekit says what failed in one line. libtorch reads this when it loads.
        os.environ.setdefault("TORCH_CPP_LOG_LEVEL", "FATAL")
    main(own_process=True)


if __name__ == "__main__":
    entry()

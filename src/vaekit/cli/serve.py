"""``vaekit serve``: the explorer page of a run, served locally with uvicorn."""

from __future__ import annotations

import errno
import socket
from typing import Any

import click

from ..errors import ConfigError, DataError, RunDirError
from ..training import load_run
from .common import data_of, data_options


def require_server() -> tuple[Any, Any]:
    """(uvicorn, make_app), or a one-line error naming the extra to install."""
    try:
        import uvicorn

        from ..serve.app import make_app
    except ImportError as e:
        raise ConfigError(f"vaekit serve needs the optional packages of the serve extra "
                          f"({e.name} is missing): pip install 'vaekit[serve]'") from None  # fmt: skip
    return uvicorn, make_app


def listen(host: str, port: int) -> socket.socket:
    """The server's listening socket (so --port 0 can say which port it got); a port that is
    taken or a host this machine cannot bind is one line."""
    try:
        return socket.create_server((host, port))
    except OSError as e:
        if e.errno == errno.EADDRINUSE:
            raise RunDirError(f"port {port} on {host} is in use; try --port {port + 1} (or "
                              "--port 0 for any free port)") from None  # fmt: skip
        raise RunDirError(f"cannot listen on {host}:{port}: {e.strerror or e}") from None


@click.command()
@click.argument("run_dir")
@data_options
@click.option("--host", default="127.0.0.1", show_default=True,
              help="Address to listen on; 127.0.0.1 keeps the page on this machine.")  # fmt: skip
@click.option("--port", type=click.IntRange(0, 65535), default=8000, show_default=True)
@click.option("--max-points", type=click.IntRange(min=2), default=5000, show_default=True,
              help="Examples on the latent map (a seeded sample of the split).")  # fmt: skip
def serve(run_dir: str, data: str | None, data_dir: str | None, split: str, host: str,
          port: int, max_points: int) -> None:  # fmt: skip
    """A local web page to explore a run: latent map, live decoding, sliders, samples."""
    uvicorn, make_app = require_server()
    from ..serve import Explorer

    run = load_run(run_dir)
    ds = data_of(run, data, data_dir)
    rows = ds.inputs(split)
    if rows.shape[0] < 2:
        raise DataError(f"the {split} split of {ds.name} has {rows.shape[0]} example(s); the "
                        "map needs at least 2")  # fmt: skip
    try:
        explorer = Explorer(run, rows, ds.labels.get(split), max_points)
    except ValueError as e:
        raise ConfigError(f"{run_dir}: {e}") from None
    sock = listen(host, port)
    app = make_app(explorer, ("127.0.0.1", "localhost", "::1", host))
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning"))
    click.echo(f"vaekit explorer of {run_dir}: http://{host}:{sock.getsockname()[1]}/ "
               "(Ctrl-C stops it)")  # fmt: skip
    server.run(sockets=[sock])

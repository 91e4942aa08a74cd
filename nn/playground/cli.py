"""The ``backprop playground`` command, registered on the main parser by :func:`add_command`."""

from __future__ import annotations

import argparse
from typing import Any

__all__ = ["add_command"]


def _port(text: str) -> int:
    try:
        port = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a port number from 0 to 65535, got {text!r}") from None
    if not 0 <= port <= 65535:
        raise argparse.ArgumentTypeError(f"expected a port number from 0 to 65535, got {port}")
    return port


def add_command(commands: Any) -> argparse.ArgumentParser:
    """Add ``playground`` to the sub-commands ``commands`` (from ``add_subparsers``)."""
    parser = commands.add_parser(
        "playground", help="train a network in your browser, TensorFlow Playground style, on this engine",
        description="Serve the Playground on 127.0.0.1 and open it in the browser. The URL carries a random "
                    "token (as Jupyter's does); requests without it are refused. Training runs in this "
                    "process; Ctrl-C stops the server.")
    parser.add_argument("--port", type=_port, default=0, help="port to listen on (default: a random free port)")
    parser.add_argument("--no-browser", dest="browser", action="store_false",
                        help="print the URL but do not open a browser")
    parser.set_defaults(run=_run, command_parser=parser)
    return parser


def _run(args: argparse.Namespace, parser: argparse.ArgumentParser) -> int:
    from .server import serve

    try:
        return serve(port=args.port, open_browser=args.browser)
    except OSError as e:
        parser.error(f"cannot listen on 127.0.0.1:{args.port}: {e.strerror or e}")
    return 2

"""The command line: `ubiops-local serve` and `ubiops-local demo` (also `python -m ubiops.local ...`)."""

import argparse
import logging
import os
import shlex
import signal
import sys
import threading
from pathlib import Path
from typing import Any, List, Optional

from ubiops.local.app import DEFAULT_MAX_BODY_SIZE
from ubiops.local.backend import DEFAULT_STOP_GRACE
from ubiops.local.config import ConfigError
from ubiops.local.http_connections import DEFAULT_MAX_CONNECTIONS
from ubiops.local.logfile import DEFAULT_MAX_LOG_SIZE
from ubiops.local.runtime import DEFAULT_MAX_OUTPUT_SIZE

TOKEN_VARIABLE = "UBIOPS_LOCAL_TOKEN"
LOG_LEVELS = ("debug", "info", "warning", "error")


def parser() -> argparse.ArgumentParser:
    main = argparse.ArgumentParser(prog="ubiops-local", description="A local UbiOps-compatible server.")
    commands = main.add_subparsers(dest="command", required=True, metavar="COMMAND")
    serve = commands.add_parser(
        "serve",
        help="serve deployment packages over the UbiOps API until Ctrl-C or SIGTERM",
        description="Serve deployment packages over the UbiOps deployment-requests API. Without --config and "
        "--deployment it serves the bundled example deployments echo and calculator.",
    )
    serve.add_argument("--config", metavar="FILE", type=Path, help="YAML file with the project and its deployments")
    serve.add_argument(
        "--deployment",
        metavar="DIR",
        type=Path,
        action="append",
        default=[],
        help="a deployment package to serve with defaults (named after DIR, plain in/out, version v1); repeatable",
    )
    _limit_options(serve)
    serve.add_argument(
        "--log-level", choices=LOG_LEVELS, default="warning", help="what is logged to stderr (default warning)"
    )
    serve.add_argument(
        "--no-build",
        action="store_true",
        help="run every package in this Python: do not install the packages' requirements.txt into environments",
    )
    serve.add_argument("--certfile", type=Path, help="TLS certificate (PEM); serve https with --keyfile")
    serve.add_argument("--keyfile", type=Path, help="TLS private key (PEM)")
    commands.add_parser(
        "demo",
        help="start a server with the bundled deployments and use it as a user would (see demo --help)",
        add_help=False,  # demo parses its own options
    )
    return main


def _limit_options(serve: argparse.ArgumentParser) -> None:
    """Where the server listens and what it keeps, and the limits on what it takes."""
    serve.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    serve.add_argument("--port", type=int, default=8900, help="port to bind, 0 for a free one (default 8900)")
    serve.add_argument(
        "--data-dir",
        metavar="DIR",
        type=Path,
        help="where requests (SQLite) and logs are kept; default: a temporary directory removed at stop",
    )
    serve.add_argument(
        "--token",
        help=f"API token to accept (default: ${TOKEN_VARIABLE}, else a new random token); "
        "visible to other users in the process list, prefer the variable",
    )
    serve.add_argument(
        "--max-body-size",
        metavar="BYTES",
        type=int,
        default=DEFAULT_MAX_BODY_SIZE,
        help=f"largest request body accepted, larger ones get 413 (default {DEFAULT_MAX_BODY_SIZE})",
    )
    serve.add_argument(
        "--max-connections",
        metavar="N",
        type=int,
        default=DEFAULT_MAX_CONNECTIONS,
        help="connections served at once; when all are taken the longest idle one is closed for a new one "
        f"(default {DEFAULT_MAX_CONNECTIONS})",
    )
    serve.add_argument(
        "--stop-grace",
        metavar="SECONDS",
        type=float,
        default=DEFAULT_STOP_GRACE,
        help="at a stop, how long requests in progress may still run before they end as failed "
        f"(default {DEFAULT_STOP_GRACE:g})",
    )
    serve.add_argument(
        "--max-output-size",
        metavar="BYTES",
        type=int,
        default=DEFAULT_MAX_OUTPUT_SIZE,
        help="largest output of one request, as JSON; a larger one fails the request "
        f"(default {DEFAULT_MAX_OUTPUT_SIZE})",
    )
    serve.add_argument(
        "--max-log-size",
        metavar="BYTES",
        type=int,
        default=DEFAULT_MAX_LOG_SIZE,
        help=f"size of a deployment's log file before it rotates to <name>.log.1 (default {DEFAULT_MAX_LOG_SIZE})",
    )


def configure_logging(level: str) -> None:
    """The server logs to the `ubiops.local` logger; the command line shows it on stderr."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(message)s", "%Y-%m-%d %H:%M:%S"))
    logger = logging.getLogger("ubiops.local")
    logger.addHandler(handler)
    logger.setLevel(level.upper())


def serve(args: argparse.Namespace) -> int:
    from ubiops.local.server import LocalServer

    configure_logging(args.log_level)
    token = args.token if args.token is not None else os.environ.get(TOKEN_VARIABLE) or None
    if args.token is None and token is not None and any(c.isspace() for c in token):
        print(f"ubiops-local: error: ${TOKEN_VARIABLE}: the token may not contain whitespace", file=sys.stderr)
        return 2
    try:
        server = LocalServer(
            config=args.config,
            data_dir=args.data_dir,
            host=args.host,
            port=args.port,
            token=token,
            max_body_size=args.max_body_size,
            certfile=args.certfile,
            keyfile=args.keyfile,
            deployment_dirs=args.deployment,
            max_connections=args.max_connections,
            stop_grace=args.stop_grace,
            max_output_size=args.max_output_size,
            max_log_size=args.max_log_size,
            build_environments=not args.no_build,
        )
    except (ConfigError, ValueError) as exc:
        print(f"ubiops-local: error: {exc}", file=sys.stderr)
        return 2
    stopping = threading.Event()

    def request_stop(signum: int, frame: Any) -> None:
        stopping.set()

    signal.signal(signal.SIGTERM, request_stop)
    signal.signal(signal.SIGINT, request_stop)
    try:
        server.start()
    except Exception as exc:
        print(f"ubiops-local: error: cannot start: {exc}", file=sys.stderr)
        return 1
    try:
        announce(server, temporary=args.data_dir is None)
        stopping.wait()
    finally:
        stopped = server.stop()
    if not stopped:
        print("ubiops-local: error: the server did not stop cleanly (see the errors above)", file=sys.stderr)
        return 1
    print("ubiops-local: stopped", flush=True)
    return 0


def announce(server: Any, temporary: bool) -> None:
    deployments = ", ".join(
        f"{d.name} ({', '.join(v.name for v in d.versions)}; default {d.default_version})"
        for d in server.config.deployments
    )
    print(
        f"UbiOps local server at {server.url}\n"
        f"project: {server.config.project}; deployments: {deployments}\n"
        f"data directory: {server.data_dir}{' (temporary)' if temporary else ''}\n"
        f"token: {server.token}\n"
        f"export UBIOPS_API_HOST={shlex.quote(server.url)}\n"
        f"export UBIOPS_API_TOKEN={shlex.quote('Token ' + server.token)}\n"
        "Ctrl-C stops the server.",
        flush=True,
    )


def main(argv: Optional[List[str]] = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["demo"]:
        from ubiops.local.demo import main as demo

        return demo(argv[1:])
    args = parser().parse_args(argv)
    if args.command == "serve":
        return serve(args)
    raise AssertionError(f"unhandled command {args.command}")  # argparse only lets known commands through

"""The command line: `ubiops-local serve` and `ubiops-local demo` (also `python -m ubiops.local ...`)."""

import argparse
import errno
import faulthandler
import json
import logging
import os
import shlex
import signal
import sys
import textwrap
import threading
from pathlib import Path
from typing import Any, List, Optional

from ubiops.local.app import DEFAULT_MAX_BODY_SIZE
from ubiops.local.backend import DEFAULT_STOP_GRACE
from ubiops.local.config import ConfigError
from ubiops.local.http_connections import DEFAULT_MAX_CONNECTIONS
from ubiops.local.logfile import DEFAULT_MAX_LOG_SIZE
from ubiops.local.runtime import DEFAULT_MAX_OUTPUT_SIZE
from ubiops.local.validation import MIN_TIMEOUT

TOKEN_VARIABLE = "UBIOPS_LOCAL_TOKEN"
LOG_LEVELS = ("debug", "info", "warning", "error")
SERVE_EPILOG = """\
examples:
  ubiops-local serve --deployment ./my_model          serve a package folder as deployment my-model
  ubiops-local serve --deployment scorer=./model.zip   a zipped package, named scorer
  ubiops-local serve --config ubiops-local.yaml --data-dir ./.ubiops-local
  ubiops-local serve --port 0 --quiet                 the bundled examples on a free port, problems only

input and output: a deployment that declares no input_type/output_type takes a JSON body as structured data
and a text/plain body as plain text, and returns whatever request() returns. Declared types and fields (in
--config, or the UbiOps CLI's YAML) are checked as UbiOps checks them.

start-up: every package is imported and its Deployment.__init__ run before the server answers; a package
that fails stops the start with the file, line and a hint (--keep-going serves the others instead).

terminal and logs: one line per API call, instance starts and exits, and deployment output prefixed with
deployment, version and request id (--quiet shows only problems). Deployment output is also kept in
<data dir>/logs/<deployment>.log, with timestamps and request ids; without --data-dir the data dir is a
temporary one, removed at stop. The token: --token, else $UBIOPS_LOCAL_TOKEN, else the one stored in the
data dir by its first start, else a new one.
"""


def parser() -> argparse.ArgumentParser:
    from ubiops import __version__

    main = argparse.ArgumentParser(
        prog="ubiops-local",
        description="A local UbiOps-compatible server that runs your deployment packages.",
        epilog="Start with: ubiops-local serve --deployment DIR   (ubiops-local serve --help for more)",
    )
    main.add_argument("--version", action="version", version=f"ubiops-local {__version__}")
    commands = main.add_subparsers(dest="command", required=True, metavar="COMMAND")
    serve = commands.add_parser(
        "serve",
        help="serve deployment packages over the UbiOps API until Ctrl-C or SIGTERM",
        description="Serve deployment packages over the UbiOps deployment-requests API. Without --config and "
        "--deployment it serves the bundled example deployments echo and calculator.",
        epilog=SERVE_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    serve.add_argument("--config", metavar="FILE", type=Path, help="YAML file with the project and its deployments")
    serve.add_argument(
        "--deployment",
        metavar="[NAME=]DIR",
        action="append",
        default=[],
        help="a deployment package (folder or .zip) to serve, named NAME or after DIR; untyped (any JSON in and "
        "out, text as plain) unless a --deployment-config says otherwise; version v1; repeatable",
    )
    serve.add_argument(
        "--deployment-config",
        metavar="FILE",
        type=Path,
        action="append",
        default=[],
        help="the YAML file of `ubiops deployments create -f` for a --deployment (paired by deployment_name); "
        "repeatable",
    )
    serve.add_argument(
        "--version-config",
        metavar="FILE",
        type=Path,
        action="append",
        default=[],
        help="the YAML file of `ubiops deployments deploy -f` for a --deployment (paired by deployment_name); "
        "repeatable",
    )
    serve.add_argument(
        "--reload",
        action="store_true",
        help="reload a version when its package's files change (running requests finish on the old code)",
    )
    serve.add_argument("--no-ui", action="store_true", help="serve no web view at / (only the API under /v2.1)")
    serve.add_argument(
        "--keep-going",
        action="store_true",
        help="serve the other deployments when a package fails to load (its requests then fail with the error)",
    )
    _limit_options(serve)
    serve.add_argument("--log-level", choices=LOG_LEVELS, default="info", help="what is shown on stderr (default info)")
    serve.add_argument("--quiet", "-q", action="store_true", help="show only warnings and errors (--log-level warning)")
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
        help=f"API token to accept (default: ${TOKEN_VARIABLE}, else the one stored in --data-dir, else a new "
        "random token); visible to other users in the process list, prefer the variable",
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
        "--min-timeout",
        metavar="SECONDS",
        type=int,
        default=MIN_TIMEOUT,
        help="for tests only: the least request timeout the API accepts, 1 to 10 "
        f"(default {MIN_TIMEOUT}, as UbiOps), so that a test of a timeout need not wait {MIN_TIMEOUT} s",
    )
    serve.add_argument(
        "--max-log-size",
        metavar="BYTES",
        type=int,
        default=DEFAULT_MAX_LOG_SIZE,
        help=f"size of a deployment's log file before it rotates to <name>.log.1 (default {DEFAULT_MAX_LOG_SIZE})",
    )


class _TerminalFormatter(logging.Formatter):
    """`12:00:01 message`; other levels than info say which: `12:00:01 warning: message`."""

    def format(self, record: logging.LogRecord) -> str:
        text = super().format(record)
        label = "" if record.levelno == logging.INFO else f"{record.levelname.lower()}: "
        return f"{self.formatTime(record, '%H:%M:%S')} {label}{text}"


def configure_logging(level: str) -> None:
    """The server logs to the `ubiops.local` loggers (access, instances, output below it); the command line shows
    them on stderr."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(_TerminalFormatter("%(message)s"))
    logger = logging.getLogger("ubiops.local")
    logger.addHandler(handler)
    logger.setLevel(level.upper())


def serve(args: argparse.Namespace) -> int:
    from ubiops.local.server import LocalServer

    configure_logging("warning" if args.quiet else args.log_level)
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
            deployment_configs=args.deployment_config,
            version_configs=args.version_config,
            max_connections=args.max_connections,
            stop_grace=args.stop_grace,
            max_output_size=args.max_output_size,
            max_log_size=args.max_log_size,
            keep_going=args.keep_going,
            reload=args.reload,
            build_environments=not args.no_build,
            ui=not args.no_ui,
            min_timeout=args.min_timeout,
        )
    except (ConfigError, ValueError) as exc:
        print(f"ubiops-local: error: {exc}", file=sys.stderr)
        return 2
    stopping = threading.Event()
    code = start(server, args, stopping)
    if code is not None:
        return code
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


def start(server: Any, args: argparse.Namespace, stopping: threading.Event) -> Optional[int]:
    """Start the server (which loads every package first); an exit code when that failed, else None. Ctrl-C and
    SIGTERM interrupt a start that waits for a slow package; once it runs, they set `stopping`."""
    from ubiops.local.runtime import DeploymentStartError

    def interrupt(signum: int, frame: Any) -> None:
        raise KeyboardInterrupt

    def request_stop(signum: int, frame: Any) -> None:
        stopping.set()

    signal.signal(signal.SIGTERM, interrupt)
    if hasattr(signal, "SIGUSR1"):  # `kill -USR1 <pid>`: where every thread is, for a server that seems stuck
        faulthandler.register(signal.SIGUSR1, all_threads=True)
    try:
        server.start()
        signal.signal(signal.SIGTERM, request_stop)
        signal.signal(signal.SIGINT, request_stop)
    except KeyboardInterrupt:  # also one that came just after the start: then it is stopped here
        server.stop()
        print("ubiops-local: interrupted while starting", file=sys.stderr)
        return 130
    except DeploymentStartError as exc:
        for deployment, version, path, error in exc.problems:
            print(f"ubiops-local: error: deployment {deployment!r} version {version!r} ({path}):", file=sys.stderr)
            print(textwrap.indent(error, "  "), file=sys.stderr)
        shown = logging.getLogger("ubiops.local.output").isEnabledFor(logging.INFO)
        where = "the output above has the details" if shown else "without --quiet the details are shown"
        print(f"  ({where}; --keep-going serves the other deployments)", file=sys.stderr)
        return 1
    except OSError as exc:
        print(f"ubiops-local: error: cannot start: {exc}", file=sys.stderr)
        if exc.errno == errno.EADDRINUSE:
            print(f"  port {args.port} is taken; --port 0 picks a free one", file=sys.stderr)
        return 1
    except Exception as exc:
        print(f"ubiops-local: error: cannot start: {exc}", file=sys.stderr)
        return 1
    return None


def announce(server: Any, temporary: bool) -> None:
    deployments = ", ".join(
        f"{d.name} ({', '.join(v.name for v in d.versions)}; default {d.default_version})"
        for d in server.config.deployments
    )
    print(
        f"UbiOps local server at {server.url}\n"
        f"project: {server.config.project}; deployments: {deployments}\n"
        f"data directory: {server.data_dir}{' (temporary, removed at stop)' if temporary else ''}\n"
        f"deployment logs: {server.data_dir / 'logs'}\n"
        f"token: {server.token}\n"
        f"export UBIOPS_API_HOST={shlex.quote(server.url)}\n"
        f"export UBIOPS_API_TOKEN={shlex.quote('Token ' + server.token)}\n"
        f"try: {try_command(server)}\n"
        + (f"web view: {server.web_url}\n" if server.web_url else "")
        + "Ctrl-C stops the server.",
        flush=True,
    )


def try_command(server: Any) -> str:
    """A curl command that sends the first deployment a request, using the exported variables."""
    deployment = server.config.deployments[0]
    url = f"$UBIOPS_API_HOST/projects/{server.config.project}/deployments/{deployment.name}/requests"
    if deployment.input_type == "plain":
        body, kind = "hello", "text/plain"
    else:
        body, kind = json.dumps({f.name: _SAMPLES[f.data_type] for f in deployment.input_fields}), "application/json"
    return f'curl -H "Authorization: $UBIOPS_API_TOKEN" -H "Content-Type: {kind}" -d {shlex.quote(body)} "{url}"'


_SAMPLES = {
    "int": 1,
    "double": 1.5,
    "string": "text",
    "bool": True,
    "dict": {},
    "file": "",
    "array_int": [1, 2],
    "array_double": [1.5, 2.5],
    "array_string": ["a", "b"],
    "array_file": [],
}


def main(argv: Optional[List[str]] = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if not argv:
        parser().print_help()
        return 0
    if argv[:1] == ["demo"]:
        from ubiops.local.demo import main as demo

        return demo(argv[1:])
    args = parser().parse_args(argv)
    if args.command == "serve":
        return serve(args)
    raise AssertionError(f"unhandled command {args.command}")  # argparse only lets known commands through

"""The ``nbreactive`` command.

    nbreactive serve APP.py [--port N] [--host H] [--allow-origin URL ...] [--allow-host NAME ...]
                            [--admin-key KEY]

runs the app defined in ``APP.py`` (a module-level ``app = nr.App(...)`` with its
functions) behind the same server as ``app.serve()``, prints its URL and admin key, and
serves until Ctrl-C or SIGTERM, then closes the app (flushing a database file).
"""

from __future__ import annotations

import argparse
import os
import runpy
import signal
import sys
import threading
import traceback
from collections.abc import Sequence
from pathlib import Path
from typing import Any

__all__ = ["main"]


def _load_app(path: str) -> Any:
    from nbreactive.app import App

    file = Path(path)
    if not file.is_file():
        raise SystemExit(f"nbreactive serve: {path} is not a file")
    sys.path.insert(0, str(file.resolve().parent))  # the app may import its neighbours
    try:
        namespace = runpy.run_path(str(file), run_name="__nbreactive_app__")
    except SystemExit:
        raise
    except BaseException as e:
        if isinstance(e, Exception):
            _print_app_traceback(e, file)
        raise SystemExit(f"nbreactive serve: running {path} failed: {type(e).__name__}: {e}") from e
    app = namespace.get("app")
    if not isinstance(app, App):
        found = [k for k, v in namespace.items() if isinstance(v, App)]
        hint = f" (it defines {', '.join(found)}: name one of them `app`)" if found else ""
        raise SystemExit(f"nbreactive serve: {path} has no module-level `app = nr.App(...)`{hint}")
    return app


def _print_app_traceback(error: Exception, file: Path) -> None:
    """Print where running the app file failed: the traceback from the file's own first
    frame on (runpy's and ours left out); for a syntax error, the line and its caret."""
    resolved = file.resolve()
    tb = error.__traceback__
    while tb is not None:
        name = tb.tb_frame.f_code.co_filename
        if not name.startswith("<") and Path(name).resolve() == resolved:
            break
        tb = tb.tb_next
    sys.stderr.write("".join(traceback.format_exception(type(error), error, tb)))
    sys.stderr.flush()


def _serve(args: argparse.Namespace) -> int:
    from nbreactive.server.security import is_loopback

    app = _load_app(args.app)
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    try:
        server = app.serve(port=args.port, host=args.host, allowed_origins=args.allow_origin or None,
                           allowed_hosts=args.allow_host or None,
                           admin_key=args.admin_key or os.environ.get("NBREACTIVE_ADMIN_KEY") or None,
                           quiet=True)
    except (OSError, ValueError) as e:
        app.close()
        raise SystemExit(f"nbreactive serve: cannot serve on {args.host}:{args.port}: {e}") from e
    functions = ", ".join(sorted(app.functions)) or "none"
    where = "" if is_loopback(args.host) else " (reachable from other machines)"
    print(f"nbreactive serving {args.app} at {server.url}{where}", flush=True)
    print(f"  functions: {functions}", flush=True)
    print(f"  admin key: {server.admin_key}", flush=True)
    print("  Ctrl-C to stop", flush=True)
    try:
        while not stop.wait(0.5):
            pass
    finally:
        server.stop()
        app.close()
        print("nbreactive: stopped", flush=True)
    return 0


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="nbreactive",
        description="nbreactive: a reactive document backend for Python (Convex's model, in a "
        "notebook or any process).",
    )
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    serve = commands.add_parser(
        "serve",
        help="serve the app defined in a Python file (Convex's HTTP API and sync protocol)",
        description="Serve the app defined in APP.py (a module-level `app = nr.App(...)`) with "
        "Convex's HTTP API and WebSocket sync protocol, so that notebooks, scripts, browsers and the "
        "official Convex clients share its live state. Stops on Ctrl-C or SIGTERM and closes the app.",
    )
    serve.add_argument("app", metavar="APP.py", help="the Python file defining `app`")
    serve.add_argument("--port", type=int, default=8187, help="port to listen on (0: any free port; default 8187)")
    serve.add_argument("--host", default="127.0.0.1",
                       help="address to listen on (default 127.0.0.1: this machine only)")
    serve.add_argument("--allow-origin", action="append", metavar="URL",
                       help="a browser origin allowed besides loopback pages, e.g. https://app.example.com "
                       "(repeatable; '*' allows any)")
    serve.add_argument("--allow-host", action="append", metavar="NAME",
                       help="a Host name requests may use, e.g. notebook.example.com (repeatable; with "
                       "--host 0.0.0.0 and none given, any Host is accepted)")
    serve.add_argument("--admin-key", help="the admin key (default: $NBREACTIVE_ADMIN_KEY, else a new random "
                       "one, printed at start; the variable keeps it out of the process list)")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    if args.command == "serve":
        return _serve(args)
    parser.print_help()
    return 2


if __name__ == "__main__":  # python -m nbreactive.cli
    sys.exit(main())

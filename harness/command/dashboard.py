"""``harness dashboard``: optuna-dashboard on the storage, with the kept models' artifact
store, so that a grid's or search's studies are browsed in Optuna's own tool (history per
task, learning curves from the intermediate values, param importances of the variant).

optuna-dashboard is an optional extra (``pip install -e ".[dashboard]"``): only this
command needs it. The server is optuna-dashboard's WSGI app under the standard library's
server, so that the address it really listens on (``--port 0``: any free port) is printed
before it serves.
"""

from __future__ import annotations

import argparse
import signal
import sys
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

import optuna

from harness.queue import kept_models, storage_url


class _Quiet(WSGIRequestHandler):
    def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - the base's name
        """No line per request (the dashboard polls every few seconds)."""


def cmd_dashboard(args: argparse.Namespace) -> int:
    try:
        from optuna_dashboard import wsgi
    except ImportError:
        raise LookupError(
            "optuna-dashboard is not installed; pip install -e '.[dashboard]'"
        ) from None
    storage = storage_url.open_storage(args.storage)
    summaries = optuna.get_all_study_summaries(storage)
    if not summaries:
        raise LookupError(
            f"no study in {storage_url.shown(args.storage)}; run a grid or "
            "search first (or name the storage with --storage)"
        )
    artifacts = next(
        (
            kept_models.artifact_store(s)
            for s in summaries
            if s.user_attrs.get(kept_models.MODELS_ATTR)
        ),
        None,
    )
    app = wsgi(storage, artifact_store=artifacts)
    server: WSGIServer = make_server(args.host, args.port, app, handler_class=_Quiet)
    host, port = server.server_address[:2]
    print(
        f"optuna-dashboard on http://{host}:{port}/ for {len(summaries)} studies in "
        f"{storage_url.shown(args.storage)} (Ctrl-C stops it)",
        flush=True,
    )
    # SIGTERM ends it at once (it holds nothing to put back): raised as an exception, as the
    # other commands take it, it would land in a request's handler, which logs it and serves on
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        print("dashboard stopped", file=sys.stderr)
    finally:
        server.server_close()
    return 0

"""The sandbox: local fakes of every upstream API, served together on one loopback port.

Each fake follows the published contract of its API (docs/processes.md, "Upstream fakes"). The
fakes of the shared clients (``functions/townhall/upstreams/<api>/``) are the modules of this
package, ``townhall_tools/fakes/<api>.py``; a process's own client has its fake beside it,
``library/<process>/fake.py`` (tooling: never bundled). A fake module defines

    PREFIX = "pay"              # mounted at http://127.0.0.1:<port>/pay/...
    def app(): ...              # a WSGI application (Flask is handy); fresh state on each call

and is found on disk: adding one never edits a list. The demo tenants' settings point at
``DEMO_BASE`` (port 8090); whoever serves the fakes elsewhere serves copies of the tenant files
pointed at them (``sandbox_tenants``): ``make run`` (any ``FAKES_PORT``), ``townhall chat`` and
the tests (``served_fakes``, on a free port).

Dates: a fake's calendar (elections, collections) counts from ``today(request.environ)``: the
day the server was given (``FakesServer(today=...)``, ``townhall fakes serve --today``,
``townhall chat --now``), else the real today, so the demo shows upcoming dates any day and the
tests pin the day their scripts expect.
"""

from __future__ import annotations

import datetime as dt
import importlib
import json
import threading
from collections.abc import Iterable
from pathlib import Path
from types import ModuleType
from typing import Any

from townhall.library import Library, LibraryError, _package, default_library

HERE = Path(__file__).resolve().parent
DEMO_BASE = "http://127.0.0.1:8090"  # where the demo tenants' settings point
TODAY_KEY = "townhall.fakes.today"  # WSGI environ: the day the fakes' calendars count from


def today(environ: dict | None = None) -> dt.date:
    """The day a fake's calendar counts from: the server's pinned day, else today."""
    pinned = (environ or {}).get(TODAY_KEY)
    return pinned if isinstance(pinned, dt.date) else dt.date.today()


def fake_modules(library: Library | None = None) -> dict[str, ModuleType]:
    """Every fake module, by prefix; a clash of prefixes is an error naming both files."""
    found: dict[str, tuple[ModuleType, Path]] = {}

    def add(module: ModuleType, path: Path) -> None:
        prefix = getattr(module, "PREFIX", None)
        if not isinstance(prefix, str) or not prefix or "/" in prefix or not callable(getattr(module, "app", None)):
            raise LibraryError(f"{path}: a fake defines PREFIX (one path segment) and app() -> WSGI app")
        if prefix in found:
            raise LibraryError(f"{path}: PREFIX {prefix!r} is already used by {found[prefix][1]}")
        found[prefix] = (module, path)

    for path in sorted(HERE.glob("[a-z]*.py")):
        add(importlib.import_module(f"{__name__}.{path.stem}"), path)
    library = library or default_library()
    for process in library.processes.values():
        path = process.folder / "fake.py"
        if path.is_file():
            add(importlib.import_module(f"{_package(process)}.fake"), path)
    return {prefix: module for prefix, (module, _) in sorted(found.items())}


def application(modules: dict[str, ModuleType], today: dt.date | None = None) -> Any:
    """One WSGI app: ``/<prefix>/...`` goes to that fake; ``/`` lists them. ``today`` pins the
    day the fakes' calendars count from (default: each request's real today)."""
    from werkzeug.middleware.dispatcher import DispatcherMiddleware
    from werkzeug.wrappers import Response

    def index(environ, start_response):
        body = {"fakes": sorted(modules), "note": "Local fakes of upstream APIs, for development and tests."}
        status = 200 if environ.get("PATH_INFO", "/") in ("", "/") else 404
        if status == 404:
            body = {"error": f"no fake at {environ.get('PATH_INFO')}; mounted: {sorted(modules)}"}
        return Response(json.dumps(body), status, content_type="application/json")(environ, start_response)

    dispatch = DispatcherMiddleware(index, {f"/{prefix}": module.app() for prefix, module in modules.items()})
    if today is None:
        return dispatch

    def pinned(environ, start_response):
        environ[TODAY_KEY] = today
        return dispatch(environ, start_response)

    return pinned


def _handler(quiet: bool):
    """werkzeug's request handler, without its access log when ``quiet`` (the log shows the
    demo keys in query strings)."""
    from werkzeug.serving import WSGIRequestHandler

    if not quiet:
        return WSGIRequestHandler

    class Quiet(WSGIRequestHandler):
        def log_request(self, *args, **kwargs) -> None:
            pass

    return Quiet


class FakesServer:
    """The fakes served in a background thread (``with FakesServer() as fakes: fakes.url``).
    ``today`` pins the day their calendars count from; ``quiet`` (the default) drops the access
    log."""

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        library: Library | None = None,
        today: dt.date | None = None,
        quiet: bool = True,
    ):
        from werkzeug.serving import make_server

        self.modules = fake_modules(library)
        self.server = make_server(
            host, port, application(self.modules, today), threaded=True, request_handler=_handler(quiet)
        )
        self.url = f"http://{host}:{self.server.server_port}"
        self._thread = threading.Thread(target=self.server.serve_forever, name="fakes", daemon=True)

    def __enter__(self) -> FakesServer:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.server.shutdown()
        self.server.server_close()
        self._thread.join(5)


def point_at(text: str, base: str) -> str:
    """A tenant file's text with the demo sandbox address replaced by ``base``."""
    return text.replace(DEMO_BASE, base.rstrip("/"))


def sandbox_tenants(source: Path, target: Path, base: str, files: Iterable[Path] | None = None) -> Path:
    """Copy tenant files to ``target`` with their sandbox URLs pointing at fakes served at ``base``."""
    target.mkdir(parents=True, exist_ok=True)
    for path in files or sorted(Path(source).glob("*.yaml")):
        (target / path.name).write_text(point_at(path.read_text(encoding="utf-8"), base), encoding="utf-8")
    return target


def serve(
    host: str = "127.0.0.1",
    port: int = 8090,
    today: dt.date | None = None,
    tenants: Path | None = None,
    sandbox: Path | None = None,
    quiet: bool = False,
) -> None:
    """Serve the fakes in the foreground until interrupted (``townhall fakes serve``). With
    ``sandbox``, first write there copies of the tenant files in ``tenants`` pointed at them."""
    from werkzeug.serving import make_server

    modules = fake_modules()
    server = make_server(host, port, application(modules, today), threaded=True, request_handler=_handler(quiet))
    url = f"http://{host}:{server.server_port}"
    if sandbox is not None:
        for old in sandbox.glob("*.yaml"):
            old.unlink()  # a tenant file removed since the last run is not served
        sandbox_tenants(Path(tenants), sandbox, url)
        print(f"Tenant files pointed at the fakes: {sandbox}/ (copies of {tenants}/)", flush=True)
    print(
        f"Upstream fakes on {url}/ : {', '.join(modules) or 'none yet'}"
        + (f" (dates counted from {today})" if today else ""),
        flush=True,
    )
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()

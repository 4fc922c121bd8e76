"""`convtui serve`: the app in a browser, through textual-serve, one app process per browser tab.

The server runs `python -m convtui ARGUMENTS` (this interpreter, so a virtual environment works
without PATH) for every tab that connects; the app's files are read and written on the server's
machine, in the folder the server was started from. Imported only by the serve command, so the
rest of convtui never pays for aiohttp.
"""

from __future__ import annotations

import asyncio
import os
import shlex
import signal
import socket
import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from convtui.errors import ConvtuiError

if TYPE_CHECKING:
    from textual_serve.server import Server

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8000
SHUTDOWN_TIMEOUT = 5.0
"""Seconds the server waits for the open tabs' apps to quit after Ctrl+C."""


def app_command(app_arguments: Sequence[str]) -> str:
    """The shell command textual-serve runs for each tab: this Python, `-m convtui ARGUMENTS`.

    Ctrl+C in the server's terminal goes to every process in its group; the apps ignore it (the
    server tells each one to quit as it stops), so none of them prints a KeyboardInterrupt.
    """
    return "trap '' INT; exec " + shlex.join([sys.executable, "-m", "convtui", *app_arguments])


def serve_app(app_arguments: Sequence[str], host: str = DEFAULT_HOST, port: int = DEFAULT_PORT) -> None:
    """Serve the app until Ctrl+C (or SIGTERM), which stops the server and every tab's app and returns normally.

    A port that is taken or a host that cannot be bound is a ConvtuiError (exit 2).
    """
    shown_arguments = list(app_arguments[1:] if list(app_arguments[:1]) == ["app"] else app_arguments)
    title = shlex.join(["convtui", *shown_arguments])
    server = build_server(app_command(app_arguments), host=host, port=port, title=title)
    try:
        server.serve()
    except KeyboardInterrupt:  # Ctrl+C before the server's own handler was installed
        pass
    except OSError as error:
        reason = error.strerror if isinstance(error, socket.gaierror) or not error.errno else os.strerror(error.errno)
        raise ConvtuiError(f"cannot serve on {host}:{port}: {str(reason).lower()}; choose another --port or --host") from None


def build_server(command: str, *, host: str, port: int, title: str) -> Server:
    """textual-serve's Server, with the page's URLs taken from each request (so `--host 0.0.0.0` works
    from other machines), every open tab closed on shutdown, and Ctrl+C ending it without a traceback."""
    import aiohttp_jinja2
    from aiohttp import web
    from textual_serve.app_service import AppService
    from textual_serve.server import Server, log, to_int

    class ClassroomServer(Server):
        def __init__(self) -> None:
            super().__init__(command, host=host, port=port, title=title)
            self.open_sockets: set[web.WebSocketResponse] = set()

        def announce(self, *_: object) -> None:
            """Once the port is bound (aiohttp's `print` after the sites start), where to point a browser."""
            shown_host = f"[{host}]" if ":" in host else host
            self.console.print(f"Serving {title} on http://{shown_host}:{port}/ (a new app for every browser tab)", highlight=False, soft_wrap=True)
            if host in ("0.0.0.0", "::"):
                self.console.print("Every network: other machines use this machine's address or name", highlight=False, soft_wrap=True)
            self.console.print("Press Ctrl+C to stop", highlight=False, soft_wrap=True)

        async def on_startup(self, app: web.Application) -> None:
            """Nothing before the port is bound (textual-serve prints its banner here)."""

        async def on_shutdown(self, app: web.Application) -> None:
            """Close every tab's connection, so its handler tells its app to quit."""
            await asyncio.gather(*(websocket.close() for websocket in list(self.open_sockets)), return_exceptions=True)

        async def handle_websocket(self, request: web.Request) -> web.WebSocketResponse:
            """textual-serve's handler (one AppService, so one app process, per connection), remembering the socket."""
            websocket = web.WebSocketResponse(heartbeat=15)
            width = to_int(request.query.get("width", "80"), 80)
            height = to_int(request.query.get("height", "24"), 24)
            app_service: AppService | None = None
            self.open_sockets.add(websocket)
            try:
                await websocket.prepare(request)
                app_service = AppService(
                    self.command,
                    write_bytes=websocket.send_bytes,
                    write_str=websocket.send_str,
                    close=websocket.close,
                    download_manager=self.download_manager,
                    debug=self.debug,
                )
                await app_service.start(width, height)
                await self._process_messages(websocket, app_service)
            except asyncio.CancelledError:
                await websocket.close()
            except Exception as error:
                log.exception(error)
            finally:
                self.open_sockets.discard(websocket)
                if app_service is not None:
                    await app_service.stop()
            return websocket

        @aiohttp_jinja2.template("app_index.html")
        async def handle_index(self, request: web.Request) -> dict[str, Any]:
            base = f"{request.scheme}://{request.host}"
            websocket_scheme = "wss" if request.scheme == "https" else "ws"
            return {
                "font_size": to_int(request.query.get("fontsize", "16"), 16),
                "app_websocket_url": f"{websocket_scheme}://{request.host}{request.app.router['websocket'].url_for()}",
                "config": {"static": {"url": f"{base}{request.app.router['static'].url_for(filename='/')}".rstrip("/") + "/"}},
                "application": {"name": self.title},
            }

        def serve(self, debug: bool = False) -> None:
            self.debug = debug
            self.initialize_logging()
            loop = asyncio.new_event_loop()
            asyncio.set_event_loop(loop)
            loop.add_signal_handler(signal.SIGINT, self.request_exit)
            loop.add_signal_handler(signal.SIGTERM, self.request_exit)
            try:
                web.run_app(
                    self._make_app(),
                    host=host,
                    port=port,
                    handle_signals=False,
                    loop=loop,
                    print=self.announce,
                    shutdown_timeout=SHUTDOWN_TIMEOUT,
                )
            finally:
                asyncio.set_event_loop(None)

    return ClassroomServer()

"""``python launch.py api [--host H] [--port 8000]``: the execution API and the gateway, in the
foreground until Ctrl+C, on the same settings and database as the app."""

from __future__ import annotations

import argparse
import socket
import sys


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "api", help="serve the execution API and the OpenAI-compatible gateway (docs at /docs)",
        description="The governed pipeline over HTTP, for services and CI jobs holding an API token.",
    )
    p.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    p.add_argument("--port", type=int, default=8000, help="port (default 8000)")
    p.set_defaults(handler=cmd_api)


def cmd_api(args) -> int:
    import uvicorn

    from api.app import create_app
    from config.errors import ConfigError
    from config.settings import get_settings

    with socket.socket() as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((args.host, args.port))
        except OSError:
            raise ConfigError(f"Port {args.port} is in use.", "Stop what holds it, or pass --port.") from None
    settings = get_settings()
    print(f"PromptForge API on http://{args.host}:{args.port} (documentation at /docs)", file=sys.stderr)
    uvicorn.run(create_app(settings), host=args.host, port=args.port, log_level="warning", access_log=False)
    return 0

"""``python launch.py verify-audit``: check the audit chain from a shell.

Prints one line (intact with counts, or where and how the chain broke), exits 0 when
intact and 1 when broken, and records the check itself as an ``audit_verified`` event.
``--export-head FILE`` keeps the verified head outside the database; ``--check-head FILE``
later proves that no event was removed from the end, or rewritten, since that export.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

from config.errors import InputError, StorageError

if TYPE_CHECKING:
    from config.settings import Settings
    from security.identity import Principal



def add_parser(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
    """Register the ``verify-audit`` subcommand (its handler takes the parsed args)."""
    from execution.cli_support import caller_path

    parser = subparsers.add_parser(
        "verify-audit",
        help="verify the tamper-evident audit chain (exit 0 intact, 1 broken)",
        description="Verify the audit chain; exit 0 when intact, 1 when broken.",
    )
    parser.add_argument(
        "--export-head", type=caller_path, metavar="FILE", help="after a successful verification, write the head to FILE"
    )
    parser.add_argument(
        "--check-head", type=caller_path, metavar="FILE", help="also check the head exported earlier to FILE"
    )
    parser.set_defaults(handler=cmd_verify_audit)
    return parser


def cmd_verify_audit(args: argparse.Namespace) -> int:
    return verify_audit(export_head=args.export_head, check_head=args.check_head)


def verify_audit(
    settings: Settings | None = None,
    *,
    principal: Principal | None = None,
    export_head: Path | None = None,
    check_head: Path | None = None,
    out: TextIO | None = None,
) -> int:
    """Verify the chain (and an exported head), print the verdict, record ``audit_verified``
    as ``principal`` (default: who the command line acts as); 0 intact, 1 broken."""
    from security.audit_trail import AuditTrail
    from security.identity.cli import cli_principal
    from storage import migrate
    from storage.audit import audit_log
    from storage.engine import make_engine

    if settings is None:
        from config.settings import get_settings

        settings = get_settings()
    out = out or sys.stdout
    principal = principal or cli_principal(settings)
    head = _read_head(check_head) if check_head is not None else None

    engine = make_engine(settings)
    migrate.ensure(engine)  # a fresh database gets its (empty) chain and the append-only triggers
    trail = AuditTrail(audit_log(settings, engine), principal)  # checks the principal may verify
    result = trail.check_head(head) if head is not None else trail.verify()

    print(result.verdict, file=out)
    if head is not None and result.ok:
        if head["seq"]:
            print(f"exported head event {head['seq']} is present and unchanged", file=out)
        else:
            print("the exported head was taken of an empty log", file=out)
    if export_head is not None:
        if result.ok:
            _write_head(export_head, trail.export_head(result))
            print(f"head written to {export_head}", file=out)
        else:
            print(f"head not written to {export_head}: the chain is broken", file=out)
    return 0 if result.ok else 1


def _read_head(path: Path) -> dict:
    try:
        head = json.loads(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise InputError(f"The head file {path} does not exist.", "Check the path.") from None
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        raise InputError(
            f"The head file {path} is not readable JSON ({type(exc).__name__}).",
            "Pass a file written by `python launch.py verify-audit --export-head FILE`.",
        ) from None
    if not isinstance(head, dict):
        raise InputError(
            f"The head file {path} is not an audit head export.",
            "Pass a file written by `python launch.py verify-audit --export-head FILE`.",
        )
    return head


def _write_head(path: Path, head: dict) -> None:
    """Write atomically: a crash never leaves half a head behind."""
    path = Path(path)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        tmp.write_text(json.dumps(head, indent=2) + "\n", encoding="utf-8")
        os.replace(tmp, path)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        raise StorageError(
            f"Cannot write the audit head to {path}: {exc.strerror or exc}.",
            "Check that the folder exists and is writable.",
        ) from None

"""The manifest of a compliance export, its signature, and checking an export folder against it.

``manifest.json`` lists every file of the export with its row count, byte size and SHA-256,
and says what was exported (the scope), by whom, when, with which tool, and the head of the
audit chain at the time. When a key is configured the manifest carries an HMAC-SHA256
signature over the canonical JSON of everything else in it:

* ``export_hmac_key`` (or the file named by ``export_hmac_key_file``) when set;
* otherwise a key derived from the audit HMAC key (``audit_hmac_key``/``audit_hmac_key_file``):
  HMAC-SHA256(audit key, ``KEY_DERIVATION``), so the audit rows and the manifests never share
  a key while one secret serves both;
* neither: the manifest is not signed (its hashes then show that the files match it, not
  who wrote it).

The key is never written: the manifest names which setting it came from and a key id
(the first 16 hex digits of HMAC-SHA256(key, ``KEY_ID``)) so a verifier holding another key
is told so.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from config.errors import InputError
from storage.audit import canonical_json, hmac_key, load_hmac_key

if TYPE_CHECKING:
    from config.settings import Settings

MANIFEST = "manifest.json"
FORMAT = "promptforge-export/1"
HMAC_SHA256 = "hmac-sha256"
KEY_DERIVATION = b"promptforge export manifest signing key v1"
KEY_ID = b"promptforge export manifest key id"
_CHUNK = 1 << 20


@dataclass(frozen=True)
class SigningKey:
    key: bytes = field(repr=False)
    source: str  # which setting it comes from (never the key)

    @property
    def key_id(self) -> str:
        return hmac.digest(self.key, KEY_ID, "sha256").hex()[:16]


def signing_key(settings: Settings) -> SigningKey | None:
    """The key that signs manifests for ``settings`` (see the module docstring), or None."""
    key = load_hmac_key(settings.export_hmac_key, settings.export_hmac_key_file, "export_hmac_key", "export HMAC key")
    if key is not None:
        return SigningKey(key, "export_hmac_key")
    audit_key = hmac_key(settings)
    if audit_key is not None:
        return SigningKey(hmac.digest(audit_key, KEY_DERIVATION, "sha256"), "derived from audit_hmac_key")
    return None


def signed_bytes(manifest: dict[str, Any]) -> bytes:
    """What the signature covers: the manifest without its ``signature``, as canonical JSON."""
    return canonical_json({k: v for k, v in manifest.items() if k != "signature"}).encode("utf-8")


def sign(manifest: dict[str, Any], key: SigningKey | None) -> dict[str, Any]:
    """``manifest`` with its ``signature`` (None when there is no key)."""
    signature = None
    if key is not None:
        signature = {
            "alg": HMAC_SHA256,
            "key": key.source,
            "key_id": key.key_id,
            "value": hmac.digest(key.key, signed_bytes(manifest), "sha256").hex(),
        }
    return {**manifest, "signature": signature}


def file_digest(path: Path) -> tuple[int, str]:
    """(bytes, SHA-256 hex) of a file, read in chunks."""
    digest, size = hashlib.sha256(), 0
    with open(path, "rb") as fh:
        while chunk := fh.read(_CHUNK):
            digest.update(chunk)
            size += len(chunk)
    return size, digest.hexdigest()


# -- verification ---------------------------------------------------------------------------------

VALID, INVALID, UNSIGNED, UNCHECKED, OTHER_KEY = "valid", "invalid", "unsigned", "unchecked", "other key"


@dataclass(frozen=True)
class ExportCheck:
    """What ``verify_export`` found. ``ok``: every listed file is there unchanged, nothing
    else is in the folder, and the signature is valid (or the manifest is not signed)."""

    folder: Path
    files: int  # files the manifest lists
    changed: list[str]
    removed: list[str]
    added: list[str]
    signature: str  # valid | invalid | unsigned | unchecked (no key here) | other key
    signature_note: str = ""
    manifest: dict[str, Any] = field(default_factory=dict, repr=False)

    @property
    def ok(self) -> bool:
        return not (self.changed or self.removed or self.added) and self.signature in (VALID, UNSIGNED)

    def lines(self) -> list[str]:
        """What a person reads: one line per problem, then the verdict."""
        out = [f"changed: {name} (its size or SHA-256 differs from the manifest)" for name in self.changed]
        out += [f"removed: {name} (listed in the manifest, not in the folder)" for name in self.removed]
        out += [f"added: {name} (in the folder, not in the manifest)" for name in self.added]
        out.append(f"signature: {self.signature}" + (f" ({self.signature_note})" if self.signature_note else ""))
        if self.ok:
            count = f"{self.files} file{'s' if self.files != 1 else ''}"
            how = "signed manifest" if self.signature == VALID else "manifest (not signed)"
            out.append(f"export intact: {count} match the {how}")
        else:
            out.append("export NOT intact")
        return out


def read_manifest(folder: Path) -> dict[str, Any]:
    path = Path(folder) / MANIFEST
    if not Path(folder).is_dir():
        raise InputError(f"{folder} is not a folder.", "Pass the folder an export was written to.")
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise InputError(
            f"{folder} holds no {MANIFEST}: it is not a complete export.",
            "Pass the folder an export was written to; an export that did not finish has no manifest.",
        ) from None
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        raise InputError(f"{path} is not readable JSON ({type(exc).__name__}).", "It was damaged: the export cannot be verified.") from None
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT or not isinstance(manifest.get("files"), list):
        raise InputError(f"{path} is not a PromptForge export manifest ({FORMAT}).", "Pass the folder an export was written to.")
    return manifest


def verify_export(folder: Path | str, settings: Settings) -> ExportCheck:
    """Check every file the manifest lists (size and SHA-256), look for files it does not
    list, and check the signature with the key ``settings`` configure."""
    folder = Path(folder)
    manifest = read_manifest(folder)
    changed, removed, listed = [], [], {MANIFEST}
    for entry in manifest["files"]:
        name = str(entry.get("name", "")) if isinstance(entry, dict) else ""
        if not _plain_name(name):
            changed.append(name or "(a file with no name)")
            continue
        listed.add(name)
        path = folder / name
        if not path.is_file():
            removed.append(name)
            continue
        size, digest = file_digest(path)
        if size != entry.get("bytes") or not hmac.compare_digest(digest, str(entry.get("sha256", ""))):
            changed.append(name)
    added = sorted(p.name + ("/" if p.is_dir() else "") for p in folder.iterdir() if p.name not in listed)
    status, note = check_signature(manifest, settings)
    return ExportCheck(folder, len(manifest["files"]), changed, removed, added, status, note, manifest)


def check_signature(manifest: dict[str, Any], settings: Settings) -> tuple[str, str]:
    signature = manifest.get("signature")
    if signature is None:
        return UNSIGNED, "the hashes show the files match the manifest, not who wrote it"
    if not isinstance(signature, dict) or signature.get("alg") != HMAC_SHA256:
        return INVALID, "the signature is not an hmac-sha256 signature"
    key = signing_key(settings)
    if key is None:
        return UNCHECKED, (
            f"the manifest is signed ({signature.get('key')}) but no key is configured here: "
            "set PROMPTFORGE_EXPORT_HMAC_KEY (or the audit key it was derived from) to check it"
        )
    expected = hmac.digest(key.key, signed_bytes(manifest), "sha256").hex()
    if hmac.compare_digest(expected, str(signature.get("value", ""))):
        return VALID, f"hmac-sha256, key {key.key_id} ({key.source})"
    if signature.get("key_id") != key.key_id:
        return OTHER_KEY, (
            f"signed with key {signature.get('key_id')}, the key configured here is {key.key_id}: "
            "configure the key the export was signed with"
        )
    return INVALID, "the manifest was changed after it was signed"


def _plain_name(name: str) -> bool:
    """A file directly in the export folder (no path, no parent, not the manifest)."""
    return bool(name) and name not in (".", "..", MANIFEST) and "/" not in name and "\\" not in name


def export_file_names(datasets: Iterable[str], formats: Iterable[str]) -> set[str]:
    """Every file name an export of these datasets and formats may write (the manifest too)."""
    names = {MANIFEST, "report.pdf"}
    for dataset in datasets:
        for fmt in formats:
            if fmt != "pdf":
                names.add(f"{dataset}.{fmt}")
    return names

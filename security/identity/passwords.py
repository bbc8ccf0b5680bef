"""Password hashing (Argon2id via argon2-cffi), policy, and one-time passwords."""

from __future__ import annotations

import secrets
import string

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from config.errors import InputError

# argon2-cffi's RFC 9106 low-memory profile: Argon2id, 64 MiB, 3 passes
_hasher = PasswordHasher()
# verified against when the user name is unknown, so both paths cost the same
_DUMMY_HASH = _hasher.hash(secrets.token_urlsafe(16))
_ALPHABET = string.ascii_letters + string.digits


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(stored_hash: str | None, password: str) -> bool:
    """Constant work whether or not the account exists (``stored_hash`` None)."""
    try:
        return _hasher.verify(stored_hash or _DUMMY_HASH, password) and stored_hash is not None
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def needs_rehash(stored_hash: str) -> bool:
    return _hasher.check_needs_rehash(stored_hash)


def one_time_password(length: int = 20) -> str:
    """A random password to hand out once (printed, never stored in clear)."""
    return "".join(secrets.choice(_ALPHABET) for _ in range(length))


def check_policy(password: str, min_length: int, username: str = "") -> None:
    """Raise ``InputError`` saying what to change when ``password`` is too weak."""
    if len(password) < min_length:
        raise InputError(
            f"The password is too short ({len(password)} characters).",
            f"Use at least {min_length} characters; a few unrelated words work well.",
        )
    if username and username.lower() in password.lower():
        raise InputError("The password contains the user name.", "Choose a password without it.")
    if len(set(password)) < 5:
        raise InputError("The password repeats too few characters.", "Mix more different characters.")

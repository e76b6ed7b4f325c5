"""Encryption at rest for client secrets and tokens (Fernet from `cryptography`).

The key is $ATLASSIAN_DASHBOARD_KEY when set, else a key file beside the database,
created with mode 0600 on first use. Losing the key makes stored secrets unreadable,
so the key file is never replaced once it exists.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping
from pathlib import Path

from cryptography.fernet import Fernet, InvalidToken

from lib import settings
from lib.errors import StorageError

logger = logging.getLogger(__name__)


class Vault:
    """Text encryption with one Fernet key, whose repr shows no key."""

    def __init__(self, key: bytes):
        try:
            self._fernet = Fernet(key)
        except (ValueError, TypeError) as exc:
            raise StorageError(
                "The encryption key is not a valid Fernet key.",
                hint=f"Set {settings.KEY_ENV} to the output of "
                "`python -c 'from cryptography.fernet import Fernet; "
                "print(Fernet.generate_key().decode())'`, or unset it to use the "
                "key file.",
            ) from exc

    def __repr__(self) -> str:
        return "Vault([secure])"

    def encrypt(self, plaintext: str) -> str:
        return self._fernet.encrypt(plaintext.encode("utf-8")).decode("ascii")

    def decrypt(self, ciphertext: str) -> str:
        try:
            return self._fernet.decrypt(ciphertext.encode("ascii")).decode("utf-8")
        except (InvalidToken, UnicodeError) as exc:
            raise StorageError(
                "A stored secret cannot be decrypted with the current key.",
                hint="Use the key that encrypted the data (the secret.key file or "
                f"{settings.KEY_ENV} used before), or disconnect and connect again.",
            ) from exc


def load_key(environ: Mapping[str, str] = os.environ) -> bytes:
    """Return the key from the environment, else from the key file, creating it."""
    configured = environ.get(settings.KEY_ENV, "").strip()
    if configured:
        return configured.encode("ascii", errors="replace")
    return _read_or_create_key_file(settings.key_path(environ))


def _read_or_create_key_file(path: Path) -> bytes:
    try:
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return _read_key_file(path)
    except OSError as exc:
        raise StorageError(
            f"Cannot create the key file {path}: {exc.strerror or exc}.",
            hint=f"Make sure {path.parent} is a writable folder, or set "
            f"{settings.DATA_DIR_ENV} to another folder.",
        ) from exc

    key = Fernet.generate_key()
    with os.fdopen(descriptor, "wb") as handle:
        handle.write(key)
    logger.info("Created encryption key file %s", path)
    return key


def _read_key_file(path: Path) -> bytes:
    try:
        return path.read_bytes().strip()
    except OSError as exc:
        raise StorageError(
            f"Cannot read the key file {path}: {exc.strerror}.",
            hint="Check the file's owner and permissions (it should be mode 0600).",
        ) from exc

"""Storage faults: a database locked by another process, read-only, deleted while
the dashboard runs, corrupt, full, or written by an older version, and a key file
that is damaged or gone.

Each must end in a StorageError that names the file and the way out, or in a
migration that keeps the data. None may end in a silent reset that loses
connections.
tests/test_store.py already covers a lock held by a second connection of this
process, a file that is not a database at all, a newer schema, and a data folder
that is a file.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import sqlite3
import subprocess
import sys
import time

import pytest
import responses
import sqlite_utils
import streamlit as st
from cryptography.fernet import Fernet
from test_pages import (
    callback_query,
    consent_url,
    plain,
    run_page,
    start_practice,
)

from lib import connect, practice, settings
from lib.errors import DashboardError, StorageError
from lib.oauth import TokenSet
from lib.sandbox.consent import approve
from lib.store import MIGRATIONS, Store
from lib.vault import Vault

CLIENT_SECRET = "fake-storage-secret-0001"
ACCESS = "fake-storage-access-0001"
REFRESH = "fake-storage-refresh-0001"
REDIRECT_URI = "http://localhost:8501/callback"
CHATTR = shutil.which("chattr") or "/usr/bin/chattr"
SCOPES = ("read:jira-work", "offline_access")

# Holds SQLite's write lock from another process until its stdin closes.
LOCKER = """
import sqlite3, sys
connection = sqlite3.connect(sys.argv[1], isolation_level=None)
connection.execute("BEGIN IMMEDIATE")
print("locked", flush=True)
sys.stdin.read()
connection.execute("ROLLBACK")
"""


@pytest.fixture(autouse=True)
def fresh_streamlit_state():
    st.cache_data.clear()
    yield
    practice.stop_sandbox()


@pytest.fixture(autouse=True)
def short_lock_wait(monkeypatch):
    """Wait 0.2 s instead of LOCK_TIMEOUT for another process's lock."""
    monkeypatch.setattr("lib.store.LOCK_TIMEOUT", 0.2)


@pytest.fixture
def vault():
    return Vault(Fernet.generate_key())


def save_app(store: Store):
    return store.save_app(
        environment="atlassian",
        client_id="storage-client",
        client_secret=CLIENT_SECRET,
        redirect_uri=REDIRECT_URI,
        auth_base="https://auth.example.test",
        api_base="https://api.example.test",
    )


def save_connection(store: Store, app_id: int):
    tokens = TokenSet(ACCESS, time.time() + 3600, REFRESH, SCOPES)
    return store.save_connection(app_id=app_id, tokens=tokens, requested_scopes=SCOPES)


def filled_store(path, vault):
    """Create a store with an app and a connection, and close it."""
    with Store.open(path, vault=vault) as store:
        app = save_app(store)
        connection = save_connection(store, app.id)
    return app, connection


def rows(path) -> dict:
    """Return the apps and connections of a database file, read without Store."""
    connection = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        return {
            table: connection.execute(f"select * from {table}").fetchall()  # noqa: S608
            for table in ("apps", "connections")
        }
    finally:
        connection.close()


@contextlib.contextmanager
def locked_by_other_process(path):
    """Hold the database's write lock from a second Python process."""
    locker = subprocess.Popen(
        [sys.executable, "-c", LOCKER, str(path)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert locker.stdout.readline().strip() == "locked"
        yield locker
    finally:
        locker.stdin.close()
        locker.wait(10)


# Locked by another process -------------------------------------------------------


def test_locked_by_process_write_explained(tmp_path, vault):
    path = tmp_path / "locked.db"
    app, connection = filled_store(path, vault)
    with Store.open(path, vault=vault) as store, locked_by_other_process(path):
        with pytest.raises(StorageError) as caught:
            store.save_selected_scopes(("read:me",))
        assert "locked by another program" in caught.value.message
        assert str(path) in caught.value.message
        assert "Close other dashboards" in caught.value.hint
        assert store.client_secret(app.id) == CLIENT_SECRET
        assert store.active_connection() == connection
    with Store.open(path, vault=vault) as store:
        store.save_selected_scopes(("read:me",))
        assert store.selected_scopes() == ("read:me",)


def test_locked_by_process_refresh_sends_nothing(tmp_path, vault):
    path = tmp_path / "locked.db"
    _, connection = filled_store(path, vault)
    with (
        Store.open(path, vault=vault) as store,
        locked_by_other_process(path),
        responses.RequestsMock() as mock,
        pytest.raises(StorageError),
    ):
        connect.refresh_connection(store, connection.id)
    assert len(mock.calls) == 0
    with Store.open(path, vault=vault) as store:
        assert store.tokens(connection.id).refresh_token == REFRESH


def submit_credentials_while(blocked) -> object:
    """Save new credentials on the page while `blocked` locks the database."""
    with Store.open() as store:
        save_app(store)
    at = run_page("views/credentials.py")
    at.text_input[0].set_value("storage-client-2")
    at.text_input[1].set_value("fake-storage-secret-0002")
    with blocked:
        at.button[0].click().run()
    return at


def test_locked_by_process_credentials_page_keeps_app():
    path = settings.database_path()
    at = submit_credentials_while(locked_by_other_process(path))
    assert not at.exception
    with Store.open() as store:
        assert store.active_app().client_id == "storage-client"
        assert store.client_secret(store.active_app().id) == CLIENT_SECRET


def test_locked_by_process_credentials_page_explains():
    at = submit_credentials_while(locked_by_other_process(settings.database_path()))
    text = plain("\n".join(str(element.value) for element in at.error))
    assert "locked by another program" in text


def test_locked_by_process_callback_then_reload_connects():
    start_practice()
    consent = run_page("views/consent.py")
    location = approve_location(consent)
    with locked_by_other_process(settings.database_path()):
        at = run_page("views/callback.py", query=callback_query(location))
    assert not at.exception
    text = plain("\n".join(str(e.value) for e in (*at.error, *at.info)))
    assert "locked by another program" in text
    assert "Reload this page" in text
    assert at.query_params
    at.run()
    assert not at.exception
    assert any("Connected" in plain(s.value) for s in at.success)


def approve_location(consent_page) -> str:
    return approve(consent_url(consent_page), site_name="practice-cloud")


# Read-only file ----------------------------------------------------------------


@contextlib.contextmanager
def read_only(path):
    """Make a file read-only for this process. Root ignores mode bits, so as root
    the file is made immutable with chattr +i instead."""
    if os.geteuid() != 0:
        path.chmod(0o400)
        try:
            yield
        finally:
            path.chmod(0o600)
        return
    result = subprocess.run(
        [CHATTR, "+i", str(path)], capture_output=True, text=True, check=False
    )
    if result.returncode != 0:
        pytest.skip(f"chattr +i failed as root: {result.stderr.strip()}")
    try:
        yield
    finally:
        subprocess.run([CHATTR, "-i", str(path)], check=True)


def test_read_only_file_write_explained(tmp_path, vault):
    path = tmp_path / "read-only.db"
    app, connection = filled_store(path, vault)
    before = rows(path)
    with read_only(path), Store.open(path, vault=vault) as store:
        assert store.active_connection() == connection
        with pytest.raises(StorageError) as caught:
            store.save_selected_scopes(("read:me",))
        assert "read-only" in caught.value.message
        assert str(path) in caught.value.message
        assert "writable" in caught.value.hint
        assert store.client_secret(app.id) == CLIENT_SECRET
    assert rows(path) == before


def test_read_only_file_refresh_sends_nothing(tmp_path, vault):
    path = tmp_path / "read-only.db"
    _, connection = filled_store(path, vault)
    with (
        read_only(path),
        Store.open(path, vault=vault) as store,
        responses.RequestsMock(assert_all_requests_are_fired=False) as mock,
    ):
        with contextlib.suppress(DashboardError):
            connect.refresh_connection(store, connection.id)
        assert len(mock.calls) == 0


def test_read_only_file_credentials_page_keeps_app():
    path = settings.database_path()
    with Store.open() as store:
        save_app(store)
    before = rows(path)
    with read_only(path):
        at = run_page("views/credentials.py")
        at.text_input[0].set_value("storage-client-2")
        at.text_input[1].set_value("fake-storage-secret-0002")
        at.button[0].click().run()
    assert not at.exception
    assert rows(path) == before


def test_read_only_file_credentials_page_explains():
    path = settings.database_path()
    with Store.open() as store:
        save_app(store)
    with read_only(path):
        at = run_page("views/credentials.py")
        at.text_input[0].set_value("storage-client-2")
        at.text_input[1].set_value("fake-storage-secret-0002")
        at.button[0].click().run()
    text = plain("\n".join(str(e.value) for e in at.error))
    assert "read-only" in text


# Deleted while the dashboard runs ------------------------------------------------


def test_deleted_file_write_fails(tmp_path, vault):
    """SQLite notices the unlinked file (SQLITE_READONLY_DBMOVED), so a write
    after the deletion fails instead of going to a file that no program reads again."""
    path = tmp_path / "store.db"
    with Store.open(path, vault=vault) as store:
        app = save_app(store)
        path.unlink()
        with pytest.raises(StorageError) as caught:
            save_connection(store, app.id)
    assert str(path) in caught.value.message
    assert not path.exists()


def test_deleted_file_write_names_deletion(tmp_path, vault):
    path = tmp_path / "store.db"
    with Store.open(path, vault=vault) as store:
        app = save_app(store)
        path.unlink()
        with pytest.raises(StorageError) as caught:
            save_connection(store, app.id)
    assert "deleted or moved" in caught.value.message


def test_deleted_file_page_starts_over():
    with Store.open() as store:
        app = save_app(store)
        save_connection(store, app.id)
    at = run_page("views/connection.py")
    assert not at.exception
    settings.database_path().unlink()
    at.run()
    assert not at.exception
    assert any("no connection yet" in plain(i.value) for i in at.info)


# Corrupt file ----------------------------------------------------------------


def corrupt_middle(path) -> None:
    """Overwrite every page after the first with zeros, keeping the header."""
    data = bytearray(path.read_bytes())
    page_size = int.from_bytes(data[16:18], "big")
    data[page_size:] = bytes(len(data) - page_size)
    path.write_bytes(bytes(data))


def truncate_half(path) -> None:
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])


def overwrite_header(path) -> None:
    data = bytearray(path.read_bytes())
    data[:100] = b"\xff" * 100
    path.write_bytes(bytes(data))


@pytest.mark.parametrize(
    "damage",
    [corrupt_middle, truncate_half, overwrite_header],
    ids=["zeroed-pages", "truncated", "overwritten-header"],
)
def test_corrupt_file_explained_and_kept(tmp_path, vault, damage):
    path = tmp_path / "corrupt.db"
    filled_store(path, vault)
    damage(path)
    damaged = path.read_bytes()
    with pytest.raises(StorageError) as caught, Store.open(path, vault=vault) as store:
        store.active_app()
        store.active_connection()
    assert str(path) in caught.value.message
    assert "Keep the old file" in caught.value.hint or "malformed" in str(caught.value)
    assert path.read_bytes() == damaged


def test_corrupt_file_every_page_explains():
    with Store.open() as store:
        save_app(store)
    path = settings.database_path()
    corrupt_middle(path)
    damaged = path.read_bytes()
    for page in (None, "views/credentials.py", "views/connection.py"):
        at = run_page(page)
        assert not at.exception
        assert any(str(path) in plain(e.value) for e in at.error)
    assert path.read_bytes() == damaged


# Database or disk full -----------------------------------------------------------


def test_full_database_explained(tmp_path, vault):
    path = tmp_path / "full.db"
    filled_store(path, vault)
    before = rows(path)
    with Store.open(path, vault=vault) as store:
        pages = store.db.execute("PRAGMA page_count").fetchone()[0]
        store.db.execute(f"PRAGMA max_page_count = {pages}")
        with pytest.raises(StorageError) as caught:
            store.save_selected_scopes(tuple(f"read:{n:05d}" * 20 for n in range(5000)))
        assert "full" in caught.value.message
        assert "Keep the old file" in caught.value.hint
    assert rows(path) == before


# Key file ------------------------------------------------------------------------


def test_damaged_key_file_explained_and_kept(isolated_data_dir):
    with Store.open() as store:
        save_app(store)
    key_path = settings.key_path()
    key_path.write_bytes(b"not a fernet key")
    with pytest.raises(StorageError) as caught:
        Store.open()
    assert "not a valid Fernet key" in caught.value.message
    assert key_path.read_bytes() == b"not a fernet key"


def test_deleted_key_file_keeps_rows(isolated_data_dir):
    """A new key is created, the old secrets cannot be read, and nothing is
    deleted: the rows stay for the old key to come back."""
    with Store.open() as store:
        app = save_app(store)
        connection = save_connection(store, app.id)
    settings.key_path().unlink()
    with Store.open() as store:
        with pytest.raises(StorageError) as caught:
            store.tokens(connection.id)
        assert "cannot be decrypted" in caught.value.message
        assert "Use the key that encrypted the data" in caught.value.hint
        assert store.get_connection(connection.id) == connection


def test_deleted_key_file_sites_page_explains(isolated_data_dir):
    with Store.open() as store:
        app = save_app(store)
        connection = save_connection(store, app.id)
    settings.key_path().unlink()
    at = run_page("views/sites.py")
    assert not at.exception
    assert any("cannot be decrypted" in plain(e.value) for e in at.error)
    with Store.open() as store:
        assert store.get_connection(connection.id) == connection


# Older schema ------------------------------------------------------------------


def test_first_migration_only_upgraded_with_data(tmp_path, vault):
    """A database that has seen only the first migration gets the rest, and its
    app, connection and settings survive with secrets still decryptable."""
    path = tmp_path / "old.db"
    first_name, first = MIGRATIONS[0]
    db = sqlite_utils.Database(path)
    db["migrations"].create({"name": str, "applied_at": float}, pk="name")
    first(db)
    db["migrations"].insert({"name": first_name, "applied_at": 1.0})
    app_id = (
        db["apps"]
        .insert(
            {
                "environment": "atlassian",
                "client_id": "old-client",
                "client_secret": vault.encrypt(CLIENT_SECRET),
                "redirect_uri": REDIRECT_URI,
                "auth_base": "https://auth.example.test",
                "api_base": "https://api.example.test",
                "created_at": 1.0,
                "updated_at": 1.0,
            }
        )
        .last_pk
    )
    connection_id = (
        db["connections"]
        .insert(
            {
                "app_id": app_id,
                "access_token": vault.encrypt(ACCESS),
                "refresh_token": vault.encrypt(REFRESH),
                "token_type": "Bearer",
                "expires_at": 2_000_000_000.0,
                "granted_scopes": '["read:jira-work", "offline_access"]',
                "requested_scopes": '["read:jira-work", "offline_access"]',
                "granted_at": 1.0,
                "status": "active",
            }
        )
        .last_pk
    )
    db["settings"].insert_all(
        [
            {"key": "active_app_id", "value": str(app_id)},
            {"key": "active_connection_id", "value": str(connection_id)},
        ]
    )
    db.close()

    with Store.open(path, vault=vault) as store:
        applied = {row["name"] for row in store.db["migrations"].rows}
        assert applied == {name for name, _ in MIGRATIONS}
        assert store.active_app().client_id == "old-client"
        assert store.client_secret(app_id) == CLIENT_SECRET
        connection = store.active_connection()
        assert connection.id == connection_id
        tokens = store.tokens(connection_id)
        assert (tokens.access_token, tokens.refresh_token) == (ACCESS, REFRESH)

import os
import sqlite3
import stat

import pytest
import sqlite_utils
from cryptography.fernet import Fernet

from lib import vault as vault_module
from lib.errors import StateExpired, StateReplayed, StateUnknown, StorageError
from lib.oauth import TokenSet
from lib.store import (
    MIGRATIONS,
    Account,
    Store,
    apply_migrations,
    hash_state,
)
from lib.vault import Vault

CLIENT_SECRET = "fake-client-secret-1234"
ACCESS = "fake-access-token-abcd"
REFRESH = "fake-refresh-token-wxyz"


def save_app(store, client_id="client-1", secret=CLIENT_SECRET):
    return store.save_app(
        environment="atlassian",
        client_id=client_id,
        client_secret=secret,
        redirect_uri="http://localhost:8501/callback",
        auth_base="https://auth.example.test",
        api_base="https://api.example.test",
    )


def tokens(access=ACCESS, refresh=REFRESH, expires_at=1_800_003_600.0):
    return TokenSet(
        access_token=access,
        refresh_token=refresh,
        expires_at=expires_at,
        scopes=("read:jira-work", "offline_access"),
    )


def test_migrations_recorded(store):
    names = [row["name"] for row in store.db["migrations"].rows]
    assert names == [name for name, _ in MIGRATIONS]


def test_migrations_run_once(store):
    assert apply_migrations(store.db) == []


def test_newer_database_rejected(store):
    store.db["migrations"].insert({"name": "9999_future", "applied_at": 0.0})
    with pytest.raises(StorageError) as caught:
        apply_migrations(store.db)
    assert "9999_future" in caught.value.message


def test_save_app_becomes_active(store):
    app = save_app(store)
    assert store.active_app() == app
    assert app.has_secret


def test_save_app_updates_same_client(store):
    first = save_app(store)
    second = save_app(store, secret="another-fake-secret")
    assert first.id == second.id
    assert store.client_secret(first.id) == "another-fake-secret"


def test_app_record_has_no_secret(store):
    app = save_app(store)
    assert CLIENT_SECRET not in repr(app)


def test_secrets_not_in_database_file(tmp_path):
    path = tmp_path / "plain-check.db"
    with Store.open(path, vault=Vault(Fernet.generate_key())) as store:
        app = save_app(store)
        store.save_connection(app_id=app.id, tokens=tokens(), requested_scopes=())
    raw = path.read_bytes()
    for secret in (CLIENT_SECRET, ACCESS, REFRESH):
        assert secret.encode() not in raw


def test_database_file_mode(tmp_path):
    path = tmp_path / "mode.db"
    Store.open(path, vault=Vault(Fernet.generate_key())).close()
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600


def test_key_file_created_private(isolated_data_dir):
    key = vault_module.load_key()
    key_file = isolated_data_dir / "secret.key"
    assert key_file.read_bytes() == key
    assert stat.S_IMODE(os.stat(key_file).st_mode) == 0o600


def test_key_file_reused(isolated_data_dir):
    assert vault_module.load_key() == vault_module.load_key()


def test_key_from_environment(monkeypatch, isolated_data_dir):
    key = Fernet.generate_key()
    monkeypatch.setenv("ATLASSIAN_DASHBOARD_KEY", key.decode())
    assert vault_module.load_key() == key
    assert not (isolated_data_dir / "secret.key").exists()


def test_invalid_key_rejected():
    with pytest.raises(StorageError) as caught:
        Vault(b"not-a-fernet-key")
    assert "ATLASSIAN_DASHBOARD_KEY" in caught.value.hint


def test_wrong_key_cannot_decrypt(tmp_path):
    path = tmp_path / "rekeyed.db"
    with Store.open(path, vault=Vault(Fernet.generate_key())) as store:
        app_id = save_app(store).id
    with (
        Store.open(path, vault=Vault(Fernet.generate_key())) as store,
        pytest.raises(StorageError) as caught,
    ):
        store.client_secret(app_id)
    assert "cannot be decrypted" in caught.value.message


def test_vault_repr_hides_key():
    key = Fernet.generate_key()
    assert key.decode() not in repr(Vault(key))


def test_corrupt_database_reported(tmp_path):
    path = tmp_path / "corrupt.db"
    path.write_bytes(b"this is not a database" * 100)
    with pytest.raises(StorageError) as caught:
        Store.open(path, vault=Vault(Fernet.generate_key()))
    assert str(path) in caught.value.message


def add_state(store, state="state-1", lifetime=600):
    app = save_app(store)
    return store.add_pending_state(
        state,
        app_id=app.id,
        scopes=("read:jira-work",),
        redirect_uri=app.redirect_uri,
        lifetime=lifetime,
    )


def test_state_stored_hashed(store):
    add_state(store, "plain-state-value")
    rows = list(store.db["pending_states"].rows)
    assert rows[0]["state_hash"] == hash_state("plain-state-value")
    assert "plain-state-value" not in str(rows)


def test_state_consumed_once(store):
    add_state(store)
    pending = store.consume_state("state-1")
    assert pending.consumed_at is not None
    with pytest.raises(StateReplayed):
        store.consume_state("state-1")


def test_state_unknown(store):
    add_state(store)
    with pytest.raises(StateUnknown):
        store.consume_state("state-2")


def test_state_expired(store, clock):
    add_state(store, lifetime=600)
    clock.advance(601)
    with pytest.raises(StateExpired) as caught:
        store.consume_state("state-1")
    assert "10 minutes" in caught.value.message


def test_state_valid_until_expiry(store, clock):
    add_state(store, lifetime=600)
    clock.advance(599)
    assert store.consume_state("state-1").scopes == ("read:jira-work",)


def test_state_outcome_recorded(store):
    pending = add_state(store)
    store.record_state_outcome(pending.state_hash, connection_id=7)
    assert store.pending_state(pending.state_hash).connection_id == 7


def test_old_states_purged(store, clock):
    add_state(store, "old")
    clock.advance(3 * 24 * 3600)
    add_state(store, "new")
    assert store.pending_state(hash_state("old")) is None


def test_connection_round_trip(store):
    app = save_app(store)
    connection = store.save_connection(
        app_id=app.id, tokens=tokens(), requested_scopes=("read:jira-work",)
    )
    assert store.active_connection() == connection
    assert connection.has_refresh_token
    assert store.tokens(connection.id).access_token == ACCESS
    assert store.tokens(connection.id).refresh_token == REFRESH


def test_connection_replaced_for_same_app(store):
    app = save_app(store)
    first = store.save_connection(app_id=app.id, tokens=tokens(), requested_scopes=())
    store.set_connection_site(first.id, "cloud-1")
    second = store.save_connection(
        app_id=app.id, tokens=tokens(access="fake-access-2"), requested_scopes=()
    )
    assert second.id == first.id
    assert second.cloud_id == "cloud-1"
    assert store.tokens(second.id).access_token == "fake-access-2"


ALICE = Account("account-alice", "Alice Example")
BOB = Account("account-bob", "Bob Example")


def connect_as(store, app, account, access="fake-access-1", **kwargs):
    return store.save_connection(
        app_id=app.id,
        tokens=tokens(access=access),
        requested_scopes=(),
        account=account,
        **kwargs,
    )


def test_connections_kept_per_account(store):
    app = save_app(store)
    alice = connect_as(store, app, ALICE)
    bob = connect_as(store, app, BOB, access="fake-access-bob")
    assert alice.id != bob.id
    assert [c.label for c in store.list_connections()] == [
        "Bob Example",
        "Alice Example",
    ]
    assert store.active_connection().id == bob.id
    assert store.tokens(alice.id).access_token == "fake-access-1"


def test_same_account_replaces_its_connection(store):
    app = save_app(store)
    first = connect_as(store, app, ALICE)
    connect_as(store, app, BOB)
    again = connect_as(store, app, ALICE, access="fake-access-2")
    assert again.id == first.id
    assert store.tokens(first.id).access_token == "fake-access-2"
    assert len(store.list_connections()) == 2


def test_consent_renewing_a_connection_replaces_it(store):
    app = save_app(store)
    old = store.save_connection(app_id=app.id, tokens=tokens(), requested_scopes=())
    renewed = connect_as(store, app, ALICE, access="fake-access-2", replaces=old.id)
    assert renewed.id == old.id
    assert renewed.account_name == "Alice Example"


def test_renewing_another_apps_connection_makes_a_new_one(store):
    first_app = save_app(store)
    old = connect_as(store, first_app, ALICE)
    other_app = save_app(store, client_id="client-2")
    new = connect_as(store, other_app, ALICE, replaces=old.id)
    assert new.id != old.id
    assert store.get_connection(old.id).app_id == first_app.id


def test_set_active_connection_switches_app(store):
    first_app = save_app(store)
    first = connect_as(store, first_app, ALICE)
    second_app = save_app(store, client_id="client-2")
    connect_as(store, second_app, ALICE)
    store.set_active_connection(first.id)
    assert store.active_app().id == first_app.id
    assert store.active_connection().id == first.id


def test_set_active_connection_unknown(store):
    with pytest.raises(StorageError) as caught:
        store.set_active_connection(404)
    assert "Connection 404" in caught.value.message


def test_delete_active_connection_activates_another(store):
    app = save_app(store)
    alice = connect_as(store, app, ALICE)
    bob = connect_as(store, app, BOB)
    store.delete_connection(bob.id)
    assert store.active_connection().id == alice.id
    assert store.get_connection(bob.id) is None


def test_list_connections_by_environment(store):
    app = save_app(store)
    connect_as(store, app, ALICE)
    assert store.list_connections("practice") == []
    assert len(store.list_connections("atlassian")) == 1


def test_identity_migration_keeps_connections(tmp_path):
    path = tmp_path / "old.db"
    vault = Vault(Fernet.generate_key())
    db = sqlite_utils.Database(path)
    db["migrations"].create({"name": str, "applied_at": float}, pk="name")
    MIGRATIONS[0][1](db)
    db["migrations"].insert({"name": MIGRATIONS[0][0], "applied_at": 0.0})
    app = {"id": 1, "environment": "atlassian", "client_id": "c", "redirect_uri": "r"}
    db["apps"].insert(
        app | {"auth_base": "https://a.test", "api_base": "https://b.test"}
    )
    db["connections"].insert(
        {"id": 7, "app_id": 1, "access_token": vault.encrypt("fake-old-access")}
    )
    db.close()
    with Store.open(path, vault=vault) as upgraded:
        connection = upgraded.get_connection(7)
        assert connection.account_id is None
        assert upgraded.tokens(7).access_token == "fake-old-access"


def test_update_tokens_rotates_refresh(store):
    app = save_app(store)
    connection = store.save_connection(
        app_id=app.id, tokens=tokens(), requested_scopes=()
    )
    updated = store.update_tokens(
        connection.id, tokens(access="fake-access-2", refresh="fake-refresh-2")
    )
    assert store.tokens(connection.id).refresh_token == "fake-refresh-2"
    assert updated.refreshed_at is not None


def test_update_tokens_keeps_refresh_when_absent(store):
    app = save_app(store)
    connection = store.save_connection(
        app_id=app.id, tokens=tokens(), requested_scopes=()
    )
    store.update_tokens(connection.id, tokens(access="fake-access-2", refresh=None))
    assert store.tokens(connection.id).refresh_token == REFRESH
    assert store.tokens(connection.id).access_token == "fake-access-2"


def test_delete_connection_clears_active(store):
    app = save_app(store)
    connection = store.save_connection(
        app_id=app.id, tokens=tokens(), requested_scopes=()
    )
    store.delete_connection(connection.id)
    assert store.active_connection() is None
    assert store.get_connection(connection.id) is None


def test_delete_connection_keeps_app(store):
    app = save_app(store)
    connection = store.save_connection(
        app_id=app.id, tokens=tokens(), requested_scopes=()
    )
    store.delete_connection(connection.id)
    assert store.client_secret(app.id) == CLIENT_SECRET


def test_selected_scopes_round_trip(store):
    assert store.selected_scopes() is None
    store.save_selected_scopes(("read:me", "offline_access"))
    assert store.selected_scopes() == ("read:me", "offline_access")


def test_store_survives_reopen(tmp_path):
    path = tmp_path / "reopen.db"
    vault = Vault(Fernet.generate_key())
    with Store.open(path, vault=vault) as store:
        app_id = save_app(store).id
    with Store.open(path, vault=vault) as store:
        assert store.client_secret(app_id) == CLIENT_SECRET


def test_fresh_in_memory_store():
    db = sqlite_utils.Database(memory=True)
    store = Store(db, Vault(Fernet.generate_key()))
    assert store.active_app() is None


@pytest.fixture
def locked(tmp_path):
    """Open a store file and hold its write lock from a second connection."""
    path = tmp_path / "locked.db"
    vault = Vault(Fernet.generate_key())
    store = Store.open(path, vault=vault)
    app = save_app(store)
    other = sqlite3.connect(path)
    other.execute("BEGIN IMMEDIATE")
    store.db.conn.execute("PRAGMA busy_timeout = 50")
    yield store, app
    other.rollback()
    other.close()
    store.close()


def test_locked_write_is_storage_error(locked):
    store, _ = locked
    with pytest.raises(StorageError) as caught:
        store.save_selected_scopes(("read:me",))
    assert "locked by another program" in caught.value.message


def test_locked_write_transaction_fails_first(locked):
    store, _ = locked
    ran = []
    with pytest.raises(StorageError), store.write_transaction():
        ran.append(True)
    assert ran == []


def test_locked_reads_still_work(locked):
    store, app = locked
    assert store.client_secret(app.id) == CLIENT_SECRET


def test_new_app_without_connection_clears_active(store):
    app = save_app(store)
    store.save_connection(app_id=app.id, tokens=tokens(), requested_scopes=())
    save_app(store, client_id="client-2")
    assert store.active_connection() is None


def test_switching_back_restores_connection(store):
    app = save_app(store)
    connection = store.save_connection(
        app_id=app.id, tokens=tokens(), requested_scopes=()
    )
    save_app(store, client_id="client-2")
    store.set_active_app(app.id)
    assert store.active_connection() == connection


def test_data_dir_that_is_a_file(monkeypatch, tmp_path):
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("x")
    monkeypatch.setenv("ATLASSIAN_DASHBOARD_DATA", str(blocker))
    with pytest.raises(StorageError) as caught:
        Store.open()
    assert str(blocker) in caught.value.message


API_TOKEN = "ATATT-fake-api-token-5678"
JIRA_SCOPES = ("read:jira-work", "read:jira-user")


def save_api_token(store, environment="atlassian", token=API_TOKEN, **changes):
    values = {
        "environment": environment,
        "site_url": "https://fake-site.atlassian.net",
        "email": "person@example.test",
        "api_route": "site",
        "api_token": token,
        "account": ALICE,
        "cloud_id": "fake-cloud-id",
        "scopes": JIRA_SCOPES,
    }
    return store.save_api_token_connection(**(values | changes))


def test_api_token_connection_round_trip(store):
    connection = save_api_token(store)
    assert connection.kind == "api_token"
    assert connection.app_id is None
    assert connection.environment == "atlassian"
    assert connection.site_url == "https://fake-site.atlassian.net"
    assert connection.email == "person@example.test"
    assert connection.api_route == "site"
    assert connection.granted_scopes == JIRA_SCOPES
    assert connection.label == ALICE.name
    assert store.api_token(connection.id) == API_TOKEN


def test_api_token_connection_becomes_active(store):
    app = save_app(store)
    connect_as(store, app, BOB)
    connection = save_api_token(store)
    assert store.active_connection() == connection
    assert store.active_environment() == "atlassian"
    assert store.active_app() == app


def test_api_token_not_in_record_or_database(tmp_path):
    path = tmp_path / "s.db"
    with Store.open(path, vault=Vault(Fernet.generate_key())) as store:
        connection = save_api_token(store)
        assert API_TOKEN not in repr(connection)
    assert API_TOKEN.encode() not in path.read_bytes()


def test_api_token_replaces_same_site_and_email(store):
    first = save_api_token(store)
    second = save_api_token(store, token="ATATT-fake-new-token")
    assert first.id == second.id
    assert store.api_token(first.id) == "ATATT-fake-new-token"


def test_api_token_listed_with_its_environment(store):
    app = save_app(store)
    connect_as(store, app, BOB)
    practice = save_api_token(
        store, "practice", site_url="http://127.0.0.1:1/sites/practice-cloud"
    )
    atlassian = [item.kind for item in store.list_connections("atlassian")]
    assert atlassian == ["oauth"]
    assert [item.id for item in store.list_connections("practice")] == [practice.id]
    assert len(store.list_connections()) == 2


def test_practice_api_token_switches_environment(store):
    save_app(store)
    save_api_token(store, "practice", site_url="http://127.0.0.1:1/sites/x")
    assert store.active_environment() == "practice"
    assert store.active_app() is None


def test_set_active_api_token_connection_keeps_app(store):
    app = save_app(store)
    bob = connect_as(store, app, BOB)
    token_connection = save_api_token(store)
    store.set_active_connection(bob.id)
    store.set_active_connection(token_connection.id)
    assert store.active_connection().id == token_connection.id
    assert store.active_app() == app


def test_api_token_connection_has_no_oauth_tokens(store):
    connection = save_api_token(store)
    with pytest.raises(StorageError) as caught:
        store.tokens(connection.id)
    assert f"Connection {connection.id}" in caught.value.message


def test_oauth_connection_has_no_api_token(store):
    app = save_app(store)
    connection = connect_as(store, app, BOB)
    assert connection.kind == "oauth"
    with pytest.raises(StorageError):
        store.api_token(connection.id)


def test_api_token_connection_never_expires(store):
    connection = save_api_token(store)
    assert connection.expires_at == float("inf")
    assert not connection.has_refresh_token


def test_delete_api_token_connection(store):
    app = save_app(store)
    bob = connect_as(store, app, BOB)
    connection = save_api_token(store)
    store.delete_connection(connection.id)
    assert store.get_connection(connection.id) is None
    assert store.active_connection().id == bob.id
    assert store.get_app(app.id) == app


def test_set_api_token_site_url(store):
    connection = save_api_token(store, "practice", site_url="http://127.0.0.1:1/s/a")
    store.set_api_token_site_url(connection.id, "http://127.0.0.1:2/s/a")
    assert store.get_connection(connection.id).site_url == "http://127.0.0.1:2/s/a"


def test_api_token_migration_from_0002(tmp_path):
    path = tmp_path / "old.db"
    vault = Vault(Fernet.generate_key())
    db = sqlite_utils.Database(path)
    db["migrations"].create({"name": str, "applied_at": float}, pk="name")
    for name, migrate in MIGRATIONS[:2]:
        migrate(db)
        db["migrations"].insert({"name": name, "applied_at": 0.0})
    app = {"id": 1, "environment": "practice", "client_id": "c", "redirect_uri": "r"}
    db["apps"].insert(
        app | {"auth_base": "https://a.test", "api_base": "https://b.test"}
    )
    db["connections"].insert(
        {
            "id": 7,
            "app_id": 1,
            "access_token": vault.encrypt("fake-old-access"),
            "expires_at": 1_800_000_000.0,
            "granted_at": 1.0,
            "account_name": "Old Account",
        }
    )
    db.close()
    with Store.open(path, vault=vault) as upgraded:
        names = [row["name"] for row in upgraded.db["migrations"].rows]
        assert names[-1] == "0003_api_token_connections"
        connection = upgraded.get_connection(7)
        assert connection.kind == "oauth"
        assert connection.environment == "practice"
        assert connection.account_name == "Old Account"
        assert upgraded.tokens(7).access_token == "fake-old-access"
        assert [item.id for item in upgraded.list_connections("practice")] == [7]

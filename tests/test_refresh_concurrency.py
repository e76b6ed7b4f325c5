"""Single-flight refresh: threads and processes sharing one data folder refresh an
expiring token once, and every caller ends up with the new token.

The sandbox counts the refresh requests that reach its token endpoint.
"""

import json
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
import requests
from cryptography.fernet import Fernet

from lib import connect, oauth
from lib.sandbox import SandboxConfig, SandboxServer
from lib.sandbox.consent import approve
from lib.store import Store
from lib.vault import Vault

ROOT = Path(__file__).resolve().parents[1]
CLIENT_ID = "concurrency-client"
CLIENT_SECRET = "fake-concurrency-secret"
REDIRECT_URI = "http://localhost:8501/callback"
THREADS = 8
TIMEOUT = 10

# Run in each child process: wait for the common start time, then have several
# threads ask for an authorized session at once, and print the tokens they got.
CHILD = """
import json, sys, threading, time
from pathlib import Path
from lib import connect
from lib.store import Store
from lib.vault import Vault

path, key = sys.argv[1], sys.argv[2]
start_at, threads = float(sys.argv[3]), int(sys.argv[4])
seen = []

def run():
    with Store.open(Path(path), vault=Vault(key.encode())) as store:
        while time.time() < start_at:
            time.sleep(0.001)
        connection = store.active_connection()
        connect.authorized_session(store, connection)
        seen.append(store.tokens(connection.id).access_token)

workers = [threading.Thread(target=run) for _ in range(threads)]
for worker in workers:
    worker.start()
for worker in workers:
    worker.join()
print(json.dumps(seen))
"""


@pytest.fixture
def sandbox():
    with SandboxServer(SandboxConfig(token_lifetime=30)) as server:
        server.register_client(CLIENT_ID, CLIENT_SECRET, REDIRECT_URI)
        yield server


@pytest.fixture
def key():
    return Fernet.generate_key()


@pytest.fixture
def connected_store(tmp_path, sandbox, key):
    """A store whose connection's access token expires within the refresh leeway."""
    path = tmp_path / "shared.db"
    with Store.open(path, vault=Vault(key)) as store:
        app = store.save_app(
            environment="practice",
            client_id=CLIENT_ID,
            client_secret=CLIENT_SECRET,
            redirect_uri=REDIRECT_URI,
            auth_base=sandbox.base_url,
            api_base=sandbox.base_url,
        )
        start = connect.begin_consent(store, app, ("read:jira-work", "offline_access"))
        connect.complete_consent(store, oauth.parse_callback(approve(start.url)))
        old = store.tokens(store.active_connection().id).access_token
    # Tokens issued from now on live an hour, so one refresh is enough for all.
    sandbox.state.config.token_lifetime = 3600
    return path, old


def refresh_requests(sandbox) -> int:
    url = f"{sandbox.base_url}/_sandbox/stats"
    stats = requests.get(url, timeout=TIMEOUT).json()
    return stats["token_requests"].get("refresh_token", 0)


def test_threads_refresh_once(connected_store, sandbox, key):
    path, old = connected_store
    barrier = threading.Barrier(THREADS)
    seen, failures = [], []

    def run():
        try:
            with Store.open(path, vault=Vault(key)) as store:
                connection = store.active_connection()
                barrier.wait()
                connect.authorized_session(store, connection)
                seen.append(store.tokens(connection.id).access_token)
        except Exception as exc:  # the assert below reports it
            failures.append(exc)

    workers = [threading.Thread(target=run) for _ in range(THREADS)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(TIMEOUT * 3)

    assert failures == []
    assert refresh_requests(sandbox) == 1
    assert len(seen) == THREADS
    assert len(set(seen)) == 1
    assert old not in seen


def test_processes_refresh_once(connected_store, sandbox, key):
    path, old = connected_store
    start_at = time.time() + 3
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    children = [
        subprocess.Popen(
            [sys.executable, "-c", CHILD, str(path), key.decode(), str(start_at), "4"],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
            cwd=ROOT,
        )
        for _ in range(2)
    ]
    seen = []
    for child in children:
        out, err = child.communicate(timeout=60)
        assert child.returncode == 0, err
        seen.extend(json.loads(out))

    assert refresh_requests(sandbox) == 1
    assert len(seen) == 8
    assert len(set(seen)) == 1
    assert old not in seen
    with Store.open(path, vault=Vault(key)) as store:
        assert store.tokens(store.active_connection().id).access_token == seen[0]

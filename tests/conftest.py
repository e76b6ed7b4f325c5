"""Shared fixtures: an isolated data folder, a store, recorded Atlassian responses."""

import json
import os
import sys
from pathlib import Path

import pytest
from cryptography.fernet import Fernet

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))


def _find_realdata() -> Path:
    """Locate responses recorded from Atlassian Cloud, kept outside this repository.

    $ATLASSIAN_REALDATA wins; otherwise a shared/realdata folder beside the checkout
    or under /work is used.
    """
    configured = os.environ.get("ATLASSIAN_REALDATA")
    if configured:
        return Path(configured)
    for candidate in (
        ROOT.parent / "shared" / "realdata",
        Path("/work/shared/realdata"),
    ):
        if candidate.is_dir():
            return candidate
    return ROOT.parent / "shared" / "realdata"


REALDATA = _find_realdata()

from lib.store import Store  # noqa: E402
from lib.vault import Vault  # noqa: E402


@pytest.fixture(autouse=True)
def isolated_data_dir(tmp_path, monkeypatch):
    """Point the dashboard's data folder and key at a fresh temporary folder."""
    data = tmp_path / "data"
    monkeypatch.setenv("ATLASSIAN_DASHBOARD_DATA", str(data))
    monkeypatch.delenv("ATLASSIAN_DASHBOARD_KEY", raising=False)
    for name in (
        "ATLASSIAN_CLIENT_ID",
        "ATLASSIAN_CLIENT_SECRET",
        "ATLASSIAN_REDIRECT_URI",
    ):
        monkeypatch.delenv(name, raising=False)
    return data


class FakeClock:
    """A clock that tests move by hand."""

    def __init__(self, now: float = 1_800_000_000.0):
        self.now = now

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture
def clock():
    return FakeClock()


@pytest.fixture
def store(tmp_path, clock):
    vault = Vault(Fernet.generate_key())
    with Store.open(tmp_path / "store.db", vault=vault, clock=clock) as opened:
        yield opened


def load_realdata(name: str):
    """Return one recorded response body, or skip when the recordings are absent."""
    matches = sorted(REALDATA.glob(f"{name}__*.json"))
    if not matches:
        pytest.skip(f"recorded response {name} is not available in {REALDATA}")
    return json.loads(matches[0].read_text(encoding="utf-8"))


def pytest_configure(config):
    """Register the plugin that writes test-artifacts/hardening.json."""
    from figures import HardeningFigures

    config.pluginmanager.register(HardeningFigures(ROOT), "hardening-figures")

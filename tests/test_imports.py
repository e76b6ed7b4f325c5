"""without_optional hides modules from one import and gives them back after."""

import sys
from pathlib import Path

import pytest

from lib.imports import without_optional


def test_hidden_module_cannot_be_imported_inside(monkeypatch):
    monkeypatch.delitem(sys.modules, "colorsys", raising=False)
    with without_optional("colorsys"), pytest.raises(ImportError):
        import colorsys
    import colorsys

    assert colorsys.rgb_to_hsv(1, 0, 0)[0] == 0


def test_imported_module_stays_visible():
    import json

    with without_optional("json"):
        import json as inside
    assert inside is json


def test_store_imports_without_pandas():
    code = "import sys, lib.store; print('pandas' in sys.modules)"
    import subprocess

    root = Path(__file__).resolve().parents[1]
    answer = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        check=True,
        cwd=root,
    )
    assert answer.stdout.strip() == "False"

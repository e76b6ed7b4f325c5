"""Import helpers that keep the dashboard's start fast."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def without_optional(*names: str) -> Iterator[None]:
    """Make `import name` fail inside the block for modules not yet imported, so
    a library that imports them only if present does without them.

    Modules already imported stay visible, and after the block every module can
    be imported as usual.
    """
    hidden = [name for name in names if name not in sys.modules]
    for name in hidden:
        sys.modules[name] = None
    try:
        yield
    finally:
        for name in hidden:
            if sys.modules.get(name, ...) is None:
                del sys.modules[name]

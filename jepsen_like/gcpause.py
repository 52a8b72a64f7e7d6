"""Pausing Python's cyclic garbage collector around bulk work.

Building hundreds of thousands of small objects (events, operations, search
entries) triggers collection after collection, each walking every live object:
checking a 100,000-operation history spends most of its time there. Nothing
these passes build needs collecting before they finish, so they run with the
collector paused; it is restored (if it was on) afterwards.
"""

from __future__ import annotations

import functools
import gc
from collections.abc import Callable
from typing import ParamSpec, TypeVar

P = ParamSpec("P")
R = TypeVar("R")


def paused(fn: Callable[P, R]) -> Callable[P, R]:
    """Decorate `fn` to run with the cyclic garbage collector off."""

    @functools.wraps(fn)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        was_enabled = gc.isenabled()
        gc.disable()
        try:
            return fn(*args, **kwargs)
        finally:
            if was_enabled:
                gc.enable()

    return wrapper

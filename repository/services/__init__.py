"""Service layer: every public function takes the acting user first and checks the policy first.

`guarded(action)` declares which policy action a service function checks; `unguarded(reason)`
marks the few entry points that run before anyone is signed in (sign-in, one-time links). A test
walks every public function here and fails when one carries neither mark.
"""
from __future__ import annotations

from typing import Callable, TypeVar

F = TypeVar("F", bound=Callable)


def guarded(action: str) -> Callable[[F], F]:
    """Mark a service function as checking `action` through repository.permissions.require."""

    def mark(fn: F) -> F:
        fn.__policy_action__ = action  # type: ignore[attr-defined]
        return fn

    return mark


def unguarded(reason: str) -> Callable[[F], F]:
    """Mark a service function that needs no signed-in actor, saying why."""

    def mark(fn: F) -> F:
        fn.__unguarded_reason__ = reason  # type: ignore[attr-defined]
        return fn

    return mark

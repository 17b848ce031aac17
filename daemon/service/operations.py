"""How an engine operation is declared: `@operation(ADMIN)` on an `Engine` method.

The declaration is the one list of what the socket API answers and with which role
(`daemon/service/api.py` derives its method table from it). Roles follow the seed product's
permissions: `viewer` reads, `users_manager` also edits contact details, `rostering_admin` does
everything else (approve, reject, merge, unarchive, settings).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Literal, TypeVar

Role = Literal["viewer", "users_manager", "rostering_admin"]
ROLE_ORDER: dict[str, int] = {"viewer": 0, "users_manager": 1, "rostering_admin": 2}

READ: Role = "viewer"
CONTACTS: Role = "users_manager"
ADMIN: Role = "rostering_admin"

ROLE_ATTRIBUTE = "__operation_role__"
F = TypeVar("F", bound=Callable[..., object])


def operation(role: Role) -> Callable[[F], F]:
    """Declare an engine method an operation of the API, callable by `role` and above."""

    def declare(method: F) -> F:
        setattr(method, ROLE_ATTRIBUTE, role)
        return method

    return declare


def declared_operations(cls: type) -> dict[str, Role]:
    """name -> the least role that may call it, for every declared method of `cls`, in the
    order they are defined."""
    found: dict[str, Role] = {}
    for klass in reversed(cls.__mro__):
        for name, value in vars(klass).items():
            role = getattr(value, ROLE_ATTRIBUTE, None)
            if role is not None:
                found[name] = role
    return found

"""Passwords hidden where Redis hides them: in MONITOR's feed and the slow log.

Redis 7.0 replaces the secret arguments of AUTH, HELLO ... AUTH, ACL SETUSER,
MIGRATE ... AUTH/AUTH2 and CONFIG SET of a sensitive option with ``(redacted)``.
"""

from __future__ import annotations

REDACTED = b"(redacted)"
SENSITIVE_OPTIONS = {"requirepass", "masterauth"}
MIGRATE_OPTIONS_START = 6  # MIGRATE host port key db timeout, then its options


def redacted(argv: list[bytes]) -> list[bytes]:
    """argv as MONITOR and SLOWLOG show it."""
    name = argv[0].lower()
    if name == b"auth":
        return [argv[0]] + [REDACTED] * (len(argv) - 1)
    if name == b"acl" and len(argv) > 2 and argv[1].lower() == b"setuser":
        return argv[:2] + [REDACTED] * (len(argv) - 2)
    out = list(argv)
    if name == b"hello":
        _redact_hello(out)
    elif name == b"migrate":
        _redact_migrate(out)
    elif name == b"config" and len(argv) > 3 and argv[1].lower() == b"set":
        for i in range(2, len(argv) - 1, 2):
            if argv[i].decode("utf-8", "replace").lower() in SENSITIVE_OPTIONS:
                out[i + 1] = REDACTED
    return out


def _redact_hello(argv: list[bytes]) -> None:
    """HELLO's options in order, as it parses them, hiding AUTH's user and password."""
    i = 2
    while i < len(argv):
        option = argv[i].lower()
        if option == b"auth" and len(argv) - i > 2:
            argv[i + 1] = argv[i + 2] = REDACTED
            i += 3
        elif option == b"setname" and len(argv) - i > 1:
            i += 2
        else:
            return


def _redact_migrate(argv: list[bytes]) -> None:
    """MIGRATE's options in order, as it parses them: AUTH's password, AUTH2's user and password."""
    i = MIGRATE_OPTIONS_START
    while i < len(argv):
        option = argv[i].lower()
        if option == b"auth" and len(argv) - i > 1:
            argv[i + 1] = REDACTED
            i += 2
        elif option == b"auth2" and len(argv) - i > 2:
            argv[i + 1] = argv[i + 2] = REDACTED
            i += 3
        elif option in (b"copy", b"replace"):
            i += 1
        else:
            return

"""The process title ps shows (set-proc-title, proc-title-template), as redis-server sets its own."""

from __future__ import annotations

import sys

from kvcore.config import Config, expand_title

try:
    from setproctitle import setproctitle
except ImportError:  # pragma: no cover - a declared dependency; without it the title stays as it was
    setproctitle = None


def executable() -> str:
    """The name the server was started under ({title}): the kvserver script, or for ``python -m
    net.main`` what the interpreter was started as (a wrapper's ``exec -a`` name)."""
    return sys.orig_argv[0] if sys.argv[0].endswith("main.py") else sys.argv[0]


def update(config: Config, config_file: str) -> None:
    """Set the title from the template, if set-proc-title is on (``config_file``: absolute, or "")."""
    if not config["set-proc-title"] or setproctitle is None:
        return
    title = expand_title(config["proc-title-template"], variables(config, config_file))
    if title is not None:
        setproctitle(title)


def variables(config: Config, config_file: str) -> dict[str, str]:
    bind = config["bind"].split()
    port = config["port"]
    listen = f"{bind[0] if bind else '*'}:{port}" if port else f"unixsocket:{config['unixsocket']}"
    return {
        "title": executable(), "listen-addr": listen, "server-mode": "", "port": str(port), "tls-port": "0",
        "unixsocket": config["unixsocket"], "config-file": config_file,
    }

"""kvcore: the whole database as a pure state machine (see ../shared/DESIGN.md).

The command table is built as the package loads: its families import modules
(scripting, cluster, pause...) that import the table's own types back, so any
one of those imported first would meet a half-built table.
"""

import kvcore.commands  # noqa: F401

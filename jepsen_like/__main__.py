"""`python -m jepsen_like check ...`: the check command outside the kvsim group."""

from jepsen_like.cli import main

main(prog_name="python -m jepsen_like")

"""`python -m sim` is `kvsim`."""

from sim.cli import main

main(prog_name="kvsim")

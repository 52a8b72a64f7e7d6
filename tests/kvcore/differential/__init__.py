"""Differential testing: the same commands against kvcore and redis-server 7.0.

Each command family has a module here with a Hypothesis strategy `commands`
(drawing one argv, given the shared key pool) and a `COMPARE` map naming the
commands whose replies are compared as sets or only by shape.
"""

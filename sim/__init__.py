"""sim: the deterministic world that runs kvcore nodes, clients and faults, and `kvsim`.

One `simpy.Environment` per run; one integer seed decides everything, each
component drawing from its own stream (`rng`). Modules, each owning one thing:

- `world`: `RunConfig` (everything that decides a run), `World` (builds and
  plays the phases: faults, liveness, final reads, convergence), `Result`.
- `node`: a real kvcore `Node` on a simulated machine: inputs in, effects
  carried out (its own outgoing connections too); kill, power loss, pause,
  restart through a `recover` hook.
- `replication`: which nodes replicate which, and whether replicas caught up.
- `net`: hosts, links and TCP-like connections: segments, latency, lag,
  partitions. `disk`: files with a volatile cache, fsync, torn writes, faults.
  `clock`: a machine's clock, an offset from simulated time.
- `client`: simulated Redis clients recording a jepsen_like history.
  `workloads`: register, counter, set, append, and their checkers.
- `faults`: fault kinds as frozen option structs and their schedules;
  `nemesis` carries a schedule out. `checks`: the verdicts of a run.
- `trace`: the incrementally hashed record of a run. `output`: a run's
  directory. `sweep`, `shrink`: many seeds, smaller failing runs.
- `cli`: the `kvsim` command. `testing`: Hypothesis strategies and helpers.
"""

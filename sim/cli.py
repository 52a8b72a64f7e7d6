"""`kvsim`: run, replay, sweep and shrink simulations; check histories.

    kvsim run --seed 7 --workload register --faults kill,partition --duration 60s
    kvsim replay DIR [--around 12.5s]       kvsim replay --seed 7 ... --expect-hash H
    kvsim sweep --seeds 1-1000 --jobs 2 --faults swarm
    kvsim shrink DIR | --seed 7 ...
    kvsim real --workload register --faults kill,partition --duration 20s   (real kvserver processes)
    kvsim check history.jsonl               (jepsen_like's checker, when installed)

Exit codes: 0 every checker valid, 1 a violation, 2 a checker could not tell;
replay: 0 the trace hash is identical, 1 it differs.
"""

from __future__ import annotations

import dataclasses
import json
import re
import shlex
import sys
from pathlib import Path

import click

from jepsen_like import harness, history
from sim import output
from sim import shrink as shrinking
from sim import sweep as sweeping
from sim.faults import parse_kinds
from sim.trace import around, to_json
from sim.workloads import WORKLOADS
from sim.world import Result, RunConfig, run

DEFAULT = RunConfig()
_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h)?\s*$")
_UNIT_MS = {"ms": 1, "s": 1000, "m": 60_000, "h": 3_600_000, None: 1000}


class Duration(click.ParamType):
    """``60s``, ``500ms``, ``2m``, ``1.5s``; a bare number is seconds. Gives integer ms."""

    name = "duration"

    def convert(self, value, param, ctx) -> int:
        if isinstance(value, int):
            return value
        match = _DURATION.match(str(value))
        if match is None:
            self.fail(f"{value!r} is not a duration like 60s, 500ms or 2m", param, ctx)
        return int(float(match.group(1)) * _UNIT_MS[match.group(2)])


DURATION = Duration()


def format_ms(ms: int) -> str:
    return f"{ms // 1000}s" if ms % 1000 == 0 else f"{ms}ms"


def command(config: RunConfig, verb: str = "run") -> list[str]:
    """The kvsim command line that runs `config` again."""
    args = ["kvsim", verb, "--seed", str(config.seed), "--workload", config.workload, "--nodes", str(config.nodes),
            "--clients", str(config.clients), "--duration", format_ms(config.duration_ms),
            "--faults", ",".join(config.faults) or "none"]
    if config.replicas:
        args += ["--replicas", str(config.replicas)]
    if config.cluster:
        args.append("--cluster")
    if config.only_faults is not None:
        args += ["--only-faults", ",".join(map(str, config.only_faults)) or "none"]
    if config.think_ms_mean != DEFAULT.think_ms_mean:
        args += ["--think", format_ms(config.think_ms_mean)]
    if config.liveness_ms_max != DEFAULT.liveness_ms_max:
        args += ["--liveness", format_ms(config.liveness_ms_max)]
    for name, value in config.config:
        args += ["--config", f"{name}={value}"]
    return args


def replay_command(result: Result) -> str:
    return shlex.join(command(result.config, "replay") + ["--expect-hash", result.trace_hash])


def run_options(with_seed: bool = True):
    """The options that make a RunConfig, shared by every subcommand."""

    def decorate(fn):
        options = [
            click.option("--workload", type=click.Choice(list(WORKLOADS)), default=DEFAULT.workload, show_default=True),
            click.option("--nodes", type=click.IntRange(1), default=DEFAULT.nodes, show_default=True,
                         help="primaries (keys are spread over them)"),
            click.option("--replicas", type=click.IntRange(0), default=DEFAULT.replicas, show_default=True,
                         help="replicas of each primary, which must catch up with it at the end"),
            click.option("--cluster", is_flag=True, default=DEFAULT.cluster,
                         help="cluster-enabled nodes: the slots split among the primaries, clients redirected by MOVED"),
            click.option("--clients", type=click.IntRange(1), default=DEFAULT.clients, show_default=True),
            click.option("--duration", type=DURATION, default="60s", show_default=True, help="the fault phase"),
            click.option("--faults", default="none", show_default=True,
                         help="comma-separated: partition,kill (or crash),power,lag,pause,disk,clock,failover; or swarm"),
            click.option("--only-faults", default=None, help="keep only these schedule indices (from shrink)"),
            click.option("--think", type=DURATION, default=f"{DEFAULT.think_ms_mean}ms", show_default=True,
                         help="mean pause between a client's operations"),
            click.option("--liveness", type=DURATION, default=format_ms(DEFAULT.liveness_ms_max), show_default=True,
                         help="how soon after the heal every client must be served"),
            click.option("--config", "core_config", multiple=True,
                         help="a kvcore option for every node: name=value (unless one names appendonly or save, "
                              "nodes run with appendonly yes and appendfsync always)"),
        ]
        if with_seed:
            options.insert(0, click.option("--seed", type=int, default=None, help="the run's seed [default: 0]"))
        for option in reversed(options):
            fn = option(fn)
        return fn

    return decorate


def make_config(seed: int | None, workload: str, nodes: int, replicas: int, clients: int, duration: int, faults: str,
                only_faults: str | None, think: int, liveness: int, core_config: tuple[str, ...],
                cluster: bool = False) -> RunConfig:
    try:
        kinds = parse_kinds(faults)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--faults") from None
    only = None
    if only_faults is not None:
        only = tuple(int(index) for index in only_faults.split(",") if index.strip() and index != "none")
    return RunConfig(
        seed=0 if seed is None else seed, workload=workload, nodes=nodes, replicas=replicas, clients=clients, duration_ms=duration,
        faults=kinds, only_faults=only, think_ms_mean=think, liveness_ms_max=liveness, config=config_pairs(core_config),
        cluster=cluster,
    )


def config_pairs(core_config: tuple[str, ...]) -> tuple[tuple[str, str], ...]:
    """``--config name=value`` options as (name, value) pairs."""
    pairs = []
    for item in core_config:
        name, sep, value = item.partition("=")
        if not sep:
            raise click.BadParameter(f"{item!r} is not name=value", param_hint="--config")
        pairs.append((name.strip(), value.strip()))
    return tuple(pairs)


def exit_code(result: Result | harness.RealResult) -> int:
    return {True: 0, False: 1, None: 2}[result.valid]


def format_summary(result: Result) -> str:
    """The human summary: operations, faults, verdicts, times, trace hash."""
    config = result.config
    speed = result.sim_ms / 1000 / result.wall_s if result.wall_s else 0.0
    lines = [
        f"kvsim  seed {config.seed}  workload {config.workload}  nodes {config.nodes}  replicas {config.replicas}  "
        f"{'cluster  ' if config.cluster else ''}"
        f"clients {config.clients}  "
        f"duration {format_ms(config.duration_ms)}  faults {','.join(config.faults) or 'none'}",
        *counts_lines(result),
        "",
        verdict_table(result.verdicts),
        "",
        f"simulated {result.sim_ms / 1000:.1f} s   wall {result.wall_s:.2f} s ({speed:.0f}x)   "
        f"checking {result.check_s:.2f} s   trace {result.trace_hash}",
    ]
    return "\n".join(lines)


def counts_lines(result: Result | harness.RealResult) -> list[str]:
    """Operations by outcome and faults by kind, a line each."""
    return ["operations  " + "   ".join(f"{kind} {count}" for kind, count in result.ops.items()),
            "faults      " + ("   ".join(f"{kind} {count}" for kind, count in result.faults.items()) or "none")]


def verdict_table(verdicts: dict) -> str:
    lines = [f"{'checker':<17}{'verdict':<9}reason"]
    lines += [f"{name:<17}{verdict.outcome:<9}{verdict.reason}" for name, verdict in verdicts.items()]
    return "\n".join(lines)


def _report(result: Result, as_json: bool) -> None:
    if as_json:
        summary = result.summary()
        if result.valid is False:
            summary["replay"] = replay_command(result)
        click.echo(json.dumps(summary, default=str))
        return
    click.echo(format_summary(result))
    if result.valid is False:
        click.echo(f"\nFAILED ({', '.join(result.failed_checkers)}). Replay with:\n  {replay_command(result)}")


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
def main() -> None:
    """Deterministic simulation of kvsim nodes, clients and faults."""


@main.command("run")
@run_options()
@click.option("--out", type=click.Path(file_okay=False), help="write args, trace, history and verdicts here")
@click.option("--json", "as_json", is_flag=True, help="print one JSON object")
def run_command(out, as_json, **options) -> None:
    """Run one simulation and check it."""
    config = make_config(**options)
    result = run(config, keep_trace=out is not None)
    if out is not None:
        output.write(result, out)
    _report(result, as_json)
    sys.exit(exit_code(result))


@main.command()
@click.argument("directory", required=False, type=click.Path(exists=True, file_okay=False))
@run_options()
@click.option("--expect-hash", default=None, help="the trace hash the run must reproduce")
@click.option("--around", type=DURATION, default=None, help="print the trace near this simulated time")
@click.option("--window", type=DURATION, default="50ms", show_default=True, help="how near, for --around")
@click.option("--json", "as_json", is_flag=True)
def replay(directory, expect_hash, around, window, as_json, **options) -> None:
    """Re-run a recorded run (DIR) or a seed, and confirm its trace hash is identical."""
    if directory is not None:
        config, recorded = output.read_args(directory)
        expect_hash = expect_hash or recorded
    else:
        if options["seed"] is None:
            raise click.UsageError("give a run directory or --seed")
        config = make_config(**options)
    result = run(config, keep_trace=around is not None)
    if expect_hash is None:
        expect_hash = run(config).trace_hash  # no record: a second run must agree with the first
    _report(result, as_json)
    if around is not None:
        for record in _around(result, around, window):
            click.echo(json.dumps(record, separators=(",", ":")))
    same = result.trace_hash == expect_hash
    click.echo(f"\ntrace hash {'identical' if same else 'DIFFERS'}: {result.trace_hash} (expected {expect_hash})",
               err=as_json)
    sys.exit(0 if same else 1)


def _around(result: Result, t_ms: int, window_ms: int) -> list[dict]:
    return around((to_json(record) for record in result.records or ()), t_ms, window_ms)


@main.command("real")
@click.option("--workload", type=click.Choice([name for name, workload in WORKLOADS.items() if not workload.subscribers]),
              default="register", show_default=True)
@click.option("--nodes", type=click.IntRange(1), default=1, show_default=True, help="kvserver processes")
@click.option("--clients", type=click.IntRange(1), default=5, show_default=True)
@click.option("--duration", type=DURATION, default="20s", show_default=True, help="the fault phase")
@click.option("--faults", default="none", show_default=True, help=f"comma-separated: {','.join(harness.FAULTS)}")
@click.option("--config", "core_config", multiple=True, help="a kvserver option for every process: name=value")
@click.option("--seed", type=int, default=0, show_default=True, help="draws the operations and the faults")
@click.option("--out", type=click.Path(file_okay=False), help="write the history and the verdicts here")
@click.option("--json", "as_json", is_flag=True, help="print one JSON object")
def real_command(workload, nodes, clients, duration, faults, core_config, seed, out, as_json) -> None:
    """Run a workload against real kvserver processes under real faults, and check it.

    Exits 0 valid, 1 a violation, 2 unknown, 3 a process would not start."""
    kinds = tuple(kind.strip() for kind in faults.split(",") if kind.strip() and kind.strip() != "none")
    try:
        config = harness.RealConfig(workload, nodes, clients, duration / 1000, kinds, config_pairs(core_config), seed)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--faults") from None
    try:
        result = harness.run(config)
    except RuntimeError as exc:  # a process would not start
        click.echo(str(exc), err=True)
        sys.exit(3)
    verdicts = {name: verdict.to_json() for name, verdict in result.verdicts.items()}
    if out is not None:
        Path(out).mkdir(parents=True, exist_ok=True)
        with open(Path(out) / output.HISTORY, "w", encoding="utf-8") as fp:
            history.dump(result.history, fp)
        (Path(out) / output.VERDICTS).write_text(json.dumps(verdicts, indent=2, default=str) + "\n", encoding="utf-8")
    if as_json:
        click.echo(json.dumps({"valid": result.valid, "ops": result.ops, "faults": result.faults,
                               "verdicts": verdicts, "wall_seconds": round(result.wall_s, 3)}, default=str))
    else:
        click.echo("\n".join([
            f"kvsim real  seed {seed}  workload {workload}  nodes {nodes}  clients {clients}  "
            f"duration {format_ms(duration)}  faults {','.join(kinds) or 'none'}",
            *counts_lines(result),
            "", verdict_table(result.verdicts), "", f"wall {result.wall_s:.1f} s",
        ]))
        if result.valid is False:
            click.echo(f"\nFAILED ({', '.join(result.failed_checkers)})")
    sys.exit(exit_code(result))


@main.command()
@click.option("--seeds", default="1-100", show_default=True, help="e.g. 1-1000 or 3,7,10-20")
@run_options(with_seed=False)
@click.option("--jobs", type=click.IntRange(1), default=2, show_default=True, help="parallel processes")
@click.option("--stop-on-failure", is_flag=True, help="stop at the first failing seed")
@click.option("--json", "as_json", is_flag=True)
def sweep(seeds, jobs, stop_on_failure, as_json, **options) -> None:
    """Run many seeds in parallel; list the failing ones with their replay commands."""
    base = make_config(seed=0, **options)
    seed_list = sweeping.parse_seeds(seeds)
    failures: list[sweeping.Outcome] = []
    unknown = 0
    with click.progressbar(length=len(seed_list), label="sweeping", file=sys.stderr) as bar:
        for outcome in sweeping.outcomes(base, seed_list, jobs):
            bar.update(1)
            unknown += outcome.valid is None
            if outcome.valid is False:
                failures.append(outcome)
                if stop_on_failure:
                    break
    failures.sort(key=lambda outcome: outcome.seed)
    rows = [
        {"seed": f.seed, "failed": list(f.failed),
         "replay": shlex.join(command(dataclasses.replace(base, seed=f.seed), "replay") + ["--expect-hash", f.trace_hash])}
        for f in failures
    ]
    if as_json:
        click.echo(json.dumps({"seeds": len(seed_list), "failing": rows, "unknown": unknown}))
    else:
        click.echo(f"{len(seed_list)} seeds: {len(failures)} failing, {unknown} unknown")
        if rows:
            click.echo(f"\n{'seed':>8}  {'failed':<32}replay")
            for row in rows:
                click.echo(f"{row['seed']:>8}  {','.join(row['failed']):<32}{row['replay']}")
    sys.exit(1 if failures else 0)


@main.command()
@click.argument("directory", required=False, type=click.Path(exists=True, file_okay=False))
@run_options()
@click.option("--max-runs", type=click.IntRange(1), default=100, show_default=True)
@click.option("--out", type=click.Path(file_okay=False), help="write the smallest failing run here")
def shrink(directory, max_runs, out, **options) -> None:
    """Search for a smaller failing run (fewer clients, faults, seconds) and print it."""
    config = output.read_args(directory)[0] if directory is not None else make_config(**options)
    original = run(config)
    if original.valid is not False:
        click.echo("the run does not fail: nothing to shrink")
        sys.exit(exit_code(original))
    click.echo(f"shrinking a run that fails {', '.join(original.failed_checkers)} ...", err=True)

    def tried(candidate: RunConfig, fails: bool) -> None:
        click.echo("x" if fails else ".", nl=False, err=True)

    found = shrinking.shrink(original, max_runs, tried)
    click.echo("", err=True)
    smallest = run(found.config, keep_trace=out is not None)
    if out is not None:
        output.write(smallest, out)
    before, after = original.config, found.config
    click.echo(
        f"shrunk in {found.runs} runs: {before.clients} -> {after.clients} clients, "
        f"{_fault_count(original)} -> {_fault_count(smallest)} faults, "
        f"{format_ms(before.duration_ms)} -> {format_ms(after.duration_ms)}\n"
    )
    _report(smallest, False)
    sys.exit(exit_code(smallest))


def _fault_count(result: Result) -> int:
    return sum(result.faults.values())


def _mount_check() -> None:
    """`kvsim check`: jepsen_like's history checker, mounted when jepsen_like provides it."""
    try:
        from jepsen_like.cli import check
    except ImportError:
        return
    main.add_command(check, "check")


_mount_check()

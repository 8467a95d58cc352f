"""CPU overhead of fluoro and its peers: wall time of each program profiled / bare.

    python benches/cpu_overhead.py [--quick] [--tools bare,cprofile,...] [--rates 100,1000]
                                   [--rounds 5] [--programs calls,nbody,...] [--json FILE]
                                   [--no-install] [--python PYTHON] [--scale N]

Programs: the three workloads in benches/workloads and a dozen pyperformance scripts, each
run as one process doing a fixed amount of work (~1.5 s bare on CPython 3.11). Every tool
runs every program once per round, rounds interleaved; a cell is the median profiled wall
time over the median bare wall time. Workloads print a checksum that must not change under
a profiler. A tool that cannot run here is reported as n/a with the reason.

`fluoro-cpu` is `fluoro run --cpu-only` at each of `--rates`: stacks only, what the stdlib
sampler records. `stdlib` is CPython 3.15's own sampler (`python -m profiling.sampling run`,
PEP 799) at each of `--rates`, as fluoro: all threads, collapsed stacks to a file; run it with
`--python 3.15`.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import bench_env
from bench_env import (
    PYPERFORMANCE_LOOPS,
    Program,
    bin_in,
    clean_env,
    ensure_env,
    log,
    pyperformance_program,
    python_in,
    workload_programs,
)

ALL_TOOLS = [
    "bare",
    "fluoro",
    "fluoro-cpu",
    "fluoro-exact",
    "cprofile",
    "pyspy",
    "pyinstrument",
    "scalene",
    "yappi",
    "stdlib",
]
# The pip package of each peer tool that needs one installed.
PEER_OF = {
    "pyspy": "py-spy",
    "pyinstrument": "pyinstrument",
    "scalene": "scalene",
    "yappi": "yappi",
}
QUICK_PYPERFORMANCE = ["nbody", "richards", "go", "json_dumps"]
# Processes whose presence means the machine is busy compiling (noise for the figures).
COMPILERS = {"cargo", "rustc", "cc", "cc1", "ld", "maturin", "clippy-driver"}
# The probe: long enough (~0.5 s) for py-spy to attach before it exits.
PROBE = "total = sum(i * i for i in range(6_000_000))\nprint(f'checksum: {total}')\n"


@dataclass
class Run:
    wall: float
    cpu: float
    returncode: int
    stdout: str
    stderr: str
    compiling: bool


@dataclass
class Cell:
    """All measurements of one tool on one program."""

    walls: list[float] = field(default_factory=list)
    cpus: list[float] = field(default_factory=list)
    failure: str | None = None


def tool_command(tool: str, program: Program, scratch: Path) -> list[str]:
    """The command line that runs `program` under `tool` (bare: plain python)."""
    python = str(python_in(bench_env.BENCH_ENV))
    target = [str(program.script), *program.args]
    profile = str(scratch / "profile.fluoro")
    if tool == "bare":
        return [python, *target]
    if tool == "fluoro-exact":
        return [
            str(bin_in(bench_env.BENCH_ENV, "fluoro")),
            "run",
            "-q",
            "--exact",
            "-o",
            profile,
            *target,
        ]
    if tool.startswith("fluoro-"):
        rate = tool.removeprefix("fluoro-")
        fluoro = [str(bin_in(bench_env.BENCH_ENV, "fluoro")), "run", "-q"]
        if rate.startswith("cpu-"):
            # Stacks only, as the stdlib sampler: no allocation sampling, no GC timing.
            rate = rate.removeprefix("cpu-")
            fluoro.append("--cpu-only")
        return [*fluoro, "--rate", rate, "-o", profile, *target]
    if tool.startswith("stdlib-"):
        # -a: every thread, as fluoro samples them; collapsed stacks, fluoro's cheapest output.
        rate = tool.removeprefix("stdlib-")
        out = str(scratch / "stdlib.collapsed")
        sampling = [python, "-m", "profiling.sampling", "run", "-r", rate, "-a"]
        return [*sampling, "--collapsed", "-o", out, *target]
    if tool == "cprofile":
        return [python, "-m", "cProfile", "-o", os.devnull, *target]
    if tool == "pyspy":
        pyspy = str(bin_in(bench_env.BENCH_ENV, "py-spy"))
        record = [pyspy, "record", "--rate", "100", "-o", os.devnull, "--format", "raw"]
        return [*record, "--", python, *target]
    if tool == "pyinstrument":
        return [str(bin_in(bench_env.BENCH_ENV, "pyinstrument")), "-o", os.devnull, *target]
    if tool == "scalene":
        # `scalene run` profiles without a browser or prompt; --cpu-only drops memory/GPU.
        extra = ["---", *program.args] if program.args else []
        scalene = str(bin_in(bench_env.BENCH_ENV, "scalene"))
        return [scalene, "run", "--cpu-only", "-o", os.devnull, str(program.script), *extra]
    if tool == "yappi":
        return [python, "-m", "yappi", "-o", os.devnull, *target]
    raise ValueError(f"unknown tool {tool}")


def compiling_now() -> bool:
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if (entry / "comm").read_text().strip() in COMPILERS:
                    return True
            except OSError:
                continue
    return False


def run_once(cmd: list[str], timeout: float) -> Run:
    """Runs one process to its end; wall clock and the CPU time of its whole process tree."""
    compiling = compiling_now()
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        start = time.perf_counter()
        proc = subprocess.Popen(
            cmd, stdout=out, stderr=err, env=clean_env(), start_new_session=True
        )
        timer = threading.Timer(timeout, _kill_group, (proc.pid,))
        timer.start()
        # wait4 rather than Popen.wait: the rusage covers the child and what it waited for.
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - start
        timer.cancel()
        proc.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        return Run(
            wall,
            usage.ru_utime + usage.ru_stime,
            proc.returncode,
            out.read(),
            err.read(),
            compiling or compiling_now(),
        )


def _kill_group(pid: int) -> None:
    try:
        os.killpg(pid, signal.SIGKILL)
    except ProcessLookupError:
        pass


def checksum_of(stdout: str) -> str | None:
    for line in stdout.splitlines():
        if line.startswith("checksum:"):
            return line
    return None


def why_failed(run: Run) -> str:
    lines = [line.strip() for line in run.stderr.splitlines() if line.strip()]
    useful = [line for line in lines if not line.startswith(("Stack backtrace", "0:", "1:"))]
    detail = (useful or lines or ["no output"])[-1]
    for line in lines:
        if "ermission" in line or "ptrace" in line.lower() or "not permitted" in line:
            detail = line
            break
    return f"exit {run.returncode}: {detail[:160]}"


def probe(tool: str, scratch: Path) -> str | None:
    """None when `tool` runs a small program correctly here, else why not."""
    if tool.startswith("fluoro") and not bin_in(bench_env.BENCH_ENV, "fluoro").exists():
        return "fluoro is not installed in the bench venv"
    script = scratch / "probe.py"
    script.write_text(PROBE)
    program = Program("probe", "workload", script)
    expected = run_once(tool_command("bare", program, scratch), 60)
    run = run_once(tool_command(tool, program, scratch), 120)
    if run.returncode != 0:
        return why_failed(run)
    if checksum_of(run.stdout) != checksum_of(expected.stdout):
        return f"changed the probe's output: {run.stdout.strip()[:120]!r}"
    return None


def machine() -> dict[str, str]:
    facts = {"nproc": str(os.cpu_count()), "os": platform.platform()}
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            facts["cpu"] = line.split(":", 1)[1].strip()
            break
    for line in Path("/proc/meminfo").read_text().splitlines():
        if line.startswith("MemTotal"):
            facts["ram"] = f"{int(line.split()[1]) / 1024 / 1024:.1f} GiB"
    try:
        for line in Path("/etc/os-release").read_text().splitlines():
            if line.startswith("PRETTY_NAME="):
                facts["os"] = line.split("=", 1)[1].strip('"') + f" ({platform.release()})"
    except OSError:
        pass
    version = subprocess.run(
        [str(python_in(bench_env.BENCH_ENV)), "-c", "import sys; print(sys.version.split()[0])"],
        capture_output=True,
        text=True,
    )
    facts["python"] = f"CPython {version.stdout.strip()}"
    return facts


def tool_versions() -> dict[str, str]:
    listing = subprocess.run(
        [str(python_in(bench_env.BENCH_ENV)), "-m", "pip", "list", "--format", "json"],
        capture_output=True,
        text=True,
    )
    wanted = {"fluoro", "py-spy", "pyinstrument", "scalene", "yappi", "pyperf", "pyperformance"}
    try:
        packages = json.loads(listing.stdout)
    except json.JSONDecodeError:
        return {}
    return {p["name"]: p["version"] for p in packages if p["name"].lower() in wanted}


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description="CPU overhead of fluoro and its peers (profiled wall / bare wall)."
    )
    parser.add_argument(
        "--quick", action="store_true", help="1 round, workloads and 4 pyperformance scripts"
    )
    parser.add_argument(
        "--tools",
        default=",".join(ALL_TOOLS),
        help=f"comma-separated tools (default: all of {','.join(ALL_TOOLS)})",
    )
    parser.add_argument(
        "--rates", default="100,1000", help="sampling rates (Hz) of fluoro and stdlib"
    )
    parser.add_argument("--rounds", type=int, help="interleaved rounds (default 5; --quick: 1)")
    parser.add_argument("--programs", help="comma-separated program names (default: all)")
    parser.add_argument("--json", metavar="FILE", help="write the raw measurements to FILE")
    parser.add_argument(
        "--no-install", action="store_true", help="reuse the fluoro already in the bench venv"
    )
    parser.add_argument(
        "--timeout", type=float, default=300, help="seconds before one run counts as failed"
    )
    parser.add_argument(
        "--scale",
        type=int,
        help="run the calls, loops and allocs workloads N times longer (steady state, less "
        "of each tool's start-up in the ratio)",
    )
    parser.add_argument(
        "--python",
        help="interpreter of the bench venv: a path, or 3.14/3.15 from scripts/get-python "
        "(default: the one running this; venv target/bench-env-X.Y)",
    )
    return parser.parse_args(argv)


def expand_tools(names: str, rates: str) -> list[str]:
    tools = ["bare"]
    for name in (n.strip() for n in names.split(",") if n.strip()):
        if name in ("fluoro", "fluoro-cpu", "stdlib"):
            tools += [f"{name}-{rate.strip()}" for rate in rates.split(",") if rate.strip()]
        elif name in ALL_TOOLS or name.startswith(("fluoro-", "stdlib-")):
            tools.append(name)
        else:
            raise SystemExit(f"cpu_overhead: unknown tool {name!r} (known: {ALL_TOOLS})")
    return list(dict.fromkeys(tools))


def select_programs(args: argparse.Namespace) -> list[Program]:
    names = list(PYPERFORMANCE_LOOPS)
    if args.quick:
        names = QUICK_PYPERFORMANCE
    programs = workload_programs() + [pyperformance_program(name) for name in names]
    if args.programs:
        wanted = {n.strip() for n in args.programs.split(",")}
        everything = workload_programs() + [pyperformance_program(n) for n in PYPERFORMANCE_LOOPS]
        programs = [p for p in everything if p.name in wanted]
        unknown = wanted - {p.name for p in programs}
        if unknown:
            raise SystemExit(f"cpu_overhead: unknown programs {sorted(unknown)}")
    if args.scale:
        scaled = {"calls", "loops", "allocs"}  # the workloads that take a scale argument
        programs = [
            Program(p.name, p.kind, p.script, [str(args.scale)]) if p.name in scaled else p
            for p in programs
        ]
    return programs


def measure(
    programs: list[Program],
    tools: list[str],
    rounds: int,
    timeout: float,
    scratch: Path,
) -> tuple[dict[str, dict[str, Cell]], int, int]:
    cells = {p.name: {t: Cell() for t in tools} for p in programs}
    expected: dict[str, str | None] = {}
    busy = total = 0
    for program in programs:  # an untimed bare run: warms caches, gives the checksum
        warm = run_once(tool_command("bare", program, scratch), timeout)
        expected[program.name] = checksum_of(warm.stdout)
        if warm.returncode != 0:
            for cell in cells[program.name].values():
                cell.failure = f"bare run failed: {why_failed(warm)}"
    for r in range(rounds):
        order = tools[r % len(tools) :] + tools[: r % len(tools)]  # vary who goes first
        for program in programs:
            for tool in order:
                cell = cells[program.name][tool]
                if cell.failure:
                    continue
                run = run_once(tool_command(tool, program, scratch), timeout)
                total += 1
                busy += run.compiling
                if run.returncode != 0:
                    cell.failure = why_failed(run)
                elif program.has_checksum and checksum_of(run.stdout) != expected[program.name]:
                    cell.failure = f"checksum changed: {checksum_of(run.stdout)!r}"
                else:
                    cell.walls.append(run.wall)
                    cell.cpus.append(run.cpu)
                note = cell.failure or f"{run.wall:.2f} s"
                log(f"round {r + 1}/{rounds}  {program.name:<14} {tool:<13} {note}")
    return cells, busy, total


def ratio(cell: Cell, bare: Cell, attr: str = "walls") -> float | None:
    values, base = getattr(cell, attr), getattr(bare, attr)
    if cell.failure or not values or not base:
        return None
    return statistics.median(values) / statistics.median(base)


def geomean(values: list[float]) -> float | None:
    if not values:
        return None
    return statistics.geometric_mean(values)


def table(
    programs: list[Program],
    tools: list[str],
    cells: dict[str, dict[str, Cell]],
    unavailable: dict[str, str],
    attr: str,
) -> list[str]:
    """A markdown table: bare seconds, then each tool's ratio; geometric means at the end."""
    profiled = [t for t in tools if t != "bare"]
    unit = "wall" if attr == "walls" else "CPU"
    head = f"| program | bare {unit} (s) | " + " | ".join(profiled) + " |"
    lines = [head, "|" + "---|" * (len(profiled) + 2)]
    notes: dict[str, int] = {}

    def mark(reason: str) -> str:
        notes.setdefault(reason, len(notes) + 1)
        return f"[{notes[reason]}]"

    per_tool: dict[str, dict[str, list[float]]] = {t: {} for t in profiled}
    for program in programs:
        bare = cells[program.name]["bare"]
        values = getattr(bare, attr)
        base = f"{statistics.median(values):.2f}" if values else "FAIL " + mark(bare.failure or "")
        row = [program.name, base]
        for tool in profiled:
            if tool in unavailable:
                row.append("n/a")
                continue
            cell = cells[program.name][tool]
            value = ratio(cell, bare, attr)
            if value is None:
                row.append("FAIL " + mark(cell.failure or "no measurement"))
                continue
            per_tool[tool].setdefault(program.kind, []).append(value)
            row.append(f"{value:.2f}×")
        lines.append("| " + " | ".join(row) + " |")
    for kind, label in (
        ("workload", "geomean workloads"),
        ("pyperformance", "geomean pyperformance"),
    ):
        count = sum(p.kind == kind for p in programs)
        if not count:
            continue
        row = [f"**{label} ({count})**", ""]
        for tool in profiled:
            values = per_tool[tool].get(kind, [])
            mean = geomean(values)
            if tool in unavailable or mean is None:
                row.append("n/a")
            else:
                partial = "" if len(values) == count else f" (of {len(values)})"
                row.append(f"**{mean:.2f}×**{partial}")
        lines.append("| " + " | ".join(row) + " |")
    for tool, reason in unavailable.items():
        lines.append(f"- {tool}: n/a — {reason}")
    for reason, number in notes.items():
        lines.append(f"- [{number}] {reason}")
    return lines


def main(argv: list[str]) -> int:
    args = parse_args(argv)
    bench_env.select_python(args.python)
    tools = expand_tools(args.tools, args.rates)
    rounds = args.rounds or (1 if args.quick else 5)
    started = time.monotonic()
    want_fluoro = any(t.startswith("fluoro") for t in tools)
    # The peers the chosen tools are (pip names), and what runs the pyperformance scripts.
    peers = ["pyperf", "pyperformance"]
    peers += [PEER_OF[t] for t in tools if t in PEER_OF]
    fluoro_problem = ensure_env(want_fluoro, not args.no_install, peers)
    programs = select_programs(args)
    unavailable: dict[str, str] = {}
    load_before = os.getloadavg()
    with tempfile.TemporaryDirectory(prefix="fluoro-bench-") as tmp:
        scratch = Path(tmp)
        for tool in tools[1:]:
            reason = fluoro_problem if tool.startswith("fluoro") else None
            reason = reason or probe(tool, scratch)
            if reason:
                unavailable[tool] = reason
                log(f"bench: {tool} is not available here: {reason}")
        measured = [t for t in tools if t not in unavailable]
        cells, busy, total = measure(programs, measured, rounds, args.timeout, scratch)
    for tool in unavailable:
        for program in programs:
            cells[program.name][tool] = Cell(failure=unavailable[tool])
    load_after = os.getloadavg()
    elapsed = time.monotonic() - started

    facts = machine()
    versions = tool_versions()
    print(f"command: python benches/cpu_overhead.py {' '.join(argv)}".rstrip())
    print(f"date: {datetime.date.today().isoformat()}")
    for key, value in facts.items():
        print(f"{key}: {value}")
    print("tools: " + ", ".join(f"{name} {version}" for name, version in sorted(versions.items())))
    print(
        f"rounds: {rounds} (interleaved; cells are median profiled wall / median bare wall); "
        f"load average {load_before[0]:.2f} before, {load_after[0]:.2f} after; "
        f"a compiler (cargo/rustc/cc/ld) was running during {busy} of {total} runs; "
        f"took {elapsed / 60:.1f} min"
    )
    print()
    print("Wall time, profiled / bare:")
    print("\n".join(table(programs, tools, cells, unavailable, "walls")))
    print()
    print("CPU time (user+sys of the whole process tree, profiler included), profiled / bare:")
    print("\n".join(table(programs, tools, cells, unavailable, "cpus")))

    if args.json:
        raw = {
            "command": ["benches/cpu_overhead.py", *argv],
            "date": datetime.date.today().isoformat(),
            "machine": facts,
            "tool_versions": versions,
            "rounds": rounds,
            "load_average": {"before": load_before, "after": load_after},
            "runs_while_compiling": busy,
            "runs": total,
            "unavailable": unavailable,
            "programs": {
                p.name: {
                    "kind": p.kind,
                    "commands": {t: tool_command(t, p, Path("$SCRATCH")) for t in tools},
                    "tools": {
                        t: {
                            "wall_s": cells[p.name][t].walls,
                            "cpu_s": cells[p.name][t].cpus,
                            "failure": cells[p.name][t].failure,
                            "wall_ratio": ratio(cells[p.name][t], cells[p.name]["bare"]),
                            "cpu_ratio": ratio(cells[p.name][t], cells[p.name]["bare"], "cpus"),
                        }
                        for t in tools
                    },
                }
                for p in programs
            },
        }
        Path(args.json).write_text(json.dumps(raw, indent=2) + "\n")
        log(f"bench: wrote {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

"""Load: the application under gunicorn on loopback, driven by locust with a realistic mix.

Seeds (once, reused on later runs) a deployment of N materials under a cache folder: a PostgreSQL
database (or SQLite), local storage and a search index (bench/load_seed.py: bulk inserts, about
five minutes for 100,000 materials, most of it building the index). Then, for each setting of
the search caches — on: SEARCH_RESULT_CACHE=1024 with SEARCH_RESULT_MAX_AGE and
SEARCH_PAGE_MAX_AGE (anonymous results pages reused); off: SEARCH_RESULT_CACHE=0 and no page
reuse — starts gunicorn (bench/load_gunicorn.py: gthread workers, each with its own index
reader) with a `search worker` and a `materials process --loop` beside it as in a production
host (SEARCH_DOWNLOAD_BATCH_SECONDS in both runs), and runs locust headless
(bench/load_locustfile.py) with a fixed number of users for warm-up + a measured window:
search 70% (a few hundred queries by Zipf popularity, bench/load_queries.py), material pages 20%,
downloads 7%, uploads 3%. Reports requests/s, p50/p95/p99 overall and per kind, errors, the
caches' hit rates, the workers' memory and where the CPU went. Locust runs in its own virtualenv
under the cache folder (created on first use; it is not a dependency of the application).

Development run (small, while the machine is shared):

    .venv/bin/python bench/load.py --materials 5000 --duration 20

The full run (100,000 materials; the first run seeds for about five minutes):

    .venv/bin/python bench/load.py --materials 100000 --duration 120
"""
from __future__ import annotations

import argparse
import csv
import json
import os
import shutil
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.load_seed import Deployment, is_seeded, remove_uploads, seed  # noqa: E402

LOCUST = "locust==2.47.0"
KINDS = ("search", "material page", "download", "upload")
# All simulated people share one address: the per-address limits meant for one person would
# refuse them, so the benchmark raises them (the per-token API limit stays as configured).
BENCH_LIMITS = {"LOGIN_RATE_LIMIT": "100000 per minute", "API_IP_RATE_LIMIT": "100000 per minute"}


def default_cache() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "kho-hoc-lieu-load"


def database_url(choice: str, materials: int, folder: Path) -> str:
    if choice == "sqlite":
        return f"sqlite:///{folder / 'instance' / 'bench.sqlite3'}"
    if choice == "postgresql":
        return f"postgresql+psycopg://postgres@127.0.0.1:5432/bench_load_{materials}"
    return choice


def ensure_locust(cache: Path) -> Path:
    """Locust in its own virtualenv under the cache folder (created once)."""
    venv = cache / "locust-venv"
    binary = venv / "bin" / "locust"
    if not binary.exists():
        print(f"installing {LOCUST} into {venv} ...", flush=True)
        subprocess.run(["python3", "-m", "venv", str(venv)], check=True)
        subprocess.run([str(venv / "bin" / "pip"), "install", "-q", LOCUST], check=True)
    return binary


# --- processes ---------------------------------------------------------------------------

def children(pid: int) -> list[int]:
    found = []
    for task in Path(f"/proc/{pid}/task").glob("*"):
        text = (task / "children").read_text() if (task / "children").exists() else ""
        found += [int(p) for p in text.split()]
    return found


def cpu_seconds(pids: list[int], waited: bool = False) -> float:
    """User + system CPU of the processes, from /proc/<pid>/stat; with `waited`, also that of
    their children that have exited (a processing worker's converters run for a moment each)."""
    total = 0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += int(fields[11]) + int(fields[12]) + (int(fields[13]) + int(fields[14]) if waited else 0)
    return total / os.sysconf("SC_CLK_TCK")


def machine_busy_seconds() -> float:
    """CPU seconds spent by every process on the machine (other helpers' too)."""
    fields = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = fields[3] + fields[4]
    return (sum(fields[:8]) - idle) / os.sysconf("SC_CLK_TCK")


def postgres_backends(database: str) -> list[int]:
    """PostgreSQL backend processes serving the benchmark's database."""
    pids = []
    for cmdline in Path("/proc").glob("[0-9]*/cmdline"):
        try:
            text = cmdline.read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        if text.startswith("postgres:") and f" {database} " in text:
            pids.append(int(cmdline.parent.name))
    return pids


def wait_ready(url: str, seconds: float = 90) -> None:
    deadline = time.monotonic() + seconds
    while True:
        try:
            with urllib.request.urlopen(url, timeout=5) as response:
                if response.status == 200:
                    return
        except OSError:
            pass
        if time.monotonic() > deadline:
            raise RuntimeError(f"the server did not answer {url} in {seconds:.0f} s")
        time.sleep(0.5)


def stop(process: subprocess.Popen) -> None:
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


# --- one run -----------------------------------------------------------------------------

class Run:
    """One server + load run with a given result-cache size; `figures()` is its report."""

    def __init__(self, args: argparse.Namespace, deployment: Deployment, locust: Path, cache_size: int) -> None:
        self.args, self.deployment, self.locust, self.cache_size = args, deployment, locust, cache_size
        self.folder = args.cache / "runs" / f"{time.strftime('%Y%m%dT%H%M%S')}-cache{cache_size}"
        self.folder.mkdir(parents=True)
        self.stats_dir = self.folder / "worker-stats"
        self.processes: dict[str, subprocess.Popen] = {}
        self.snapshots: list[dict[str, Any]] = []

    def env(self) -> dict[str, str]:
        # "Cache off" turns off both caches of search answers: results and anonymous pages.
        cached = self.cache_size > 0
        return {**os.environ, **self.deployment.env, **BENCH_LIMITS, "SEARCH_RESULT_CACHE": str(self.cache_size),
                "SEARCH_RESULT_MAX_AGE": str(self.args.result_max_age if cached else 0),
                "SEARCH_PAGE_MAX_AGE": str(self.args.page_max_age if cached else 0),
                "SEARCH_DOWNLOAD_BATCH_SECONDS": str(self.args.download_batch),
                "PYTHONUNBUFFERED": "1", "PYTHONFAULTHANDLER": "1",  # a native crash leaves its traceback in the log
                "LOAD_BIND": f"127.0.0.1:{self.args.port}", "LOAD_WORKERS": str(self.args.workers),
                "LOAD_THREADS": str(self.args.threads), "LOAD_STATS_DIR": str(self.stats_dir),
                "LOAD_ACCESS_LOG": str(self.folder / "access.log")}

    def _start(self, name: str, command: list[str], idle: bool = False) -> None:
        log = (self.folder / f"{name}.log").open("w")
        # SCHED_IDLE: the process runs only on CPU time nothing else wants (nice 19 where chrt is missing).
        prefix = (["chrt", "--idle", "0"] if shutil.which("chrt") else ["nice", "-n", "19"]) if idle else []
        self.processes[name] = subprocess.Popen(prefix + command, cwd=ROOT, env=self.env(), stdout=log,
                                                stderr=subprocess.STDOUT)

    def start_server(self) -> None:
        python = sys.executable
        self._start("gunicorn", [python, "-m", "gunicorn", "-c", str(ROOT / "bench" / "load_gunicorn.py")])
        self._start("search-worker", [python, "-m", "flask", "--app", "app", "search", "worker", "--interval",
                                      str(self.args.apply_interval)])
        if self.args.processing_worker:
            # Thumbnails and text of the uploads, at idle priority and only while the host's load
            # stays under --processing-max-load: they may lag, requests may not (the backlog left at
            # the end of the measured window is reported).
            self._start("processing-worker", [python, "-m", "flask", "--app", "app", "materials", "process",
                                              "--loop", "--max-load", str(self.args.processing_max_load)],
                        idle=True)
        wait_ready(f"http://127.0.0.1:{self.args.port}/")

    def write_plan(self, queries: list[dict[str, Any]], weights: list[float]) -> Path:
        plan = json.loads(self.deployment.plan_path.read_text())
        plan.update(queries=queries, query_weights=weights, signed_in_share=self.args.signed_in,
                    rate_per_user=self.args.rate / self.args.users if self.args.rate else 0)
        path = self.folder / "plan.json"
        path.write_text(json.dumps(plan))
        return path

    def _process_groups(self) -> dict[str, list[int]]:
        """Process ids whose CPU is reported, by role (a processing worker's converters included)."""
        master = self.processes["gunicorn"].pid
        groups = {"gunicorn workers": children(master), "gunicorn master": [master],
                  "search worker": [self.processes["search-worker"].pid],
                  "postgresql (bench db)": postgres_backends(self.deployment.database_url.rsplit("/", 1)[-1]),
                  "locust": [self.processes["locust"].pid]}
        if "processing-worker" in self.processes:
            pid = self.processes["processing-worker"].pid
            groups["processing worker"] = [pid, *children(pid)]
        return groups

    def snapshot(self) -> dict[str, Any]:
        """Counters at one moment: each worker's stats file, CPU seconds by role, machine CPU."""
        stats = {}
        for path in self.stats_dir.glob("*.json"):
            try:
                stats[int(path.stem)] = json.loads(path.read_text())
            except (OSError, ValueError):
                continue
        groups = self._process_groups()
        return {"time": time.time(), "workers": groups["gunicorn workers"], "stats": stats,
                "machine": machine_busy_seconds(), "unprocessed_files": self.unprocessed_files(),
                "cpu": {name: cpu_seconds(pids, waited=name == "processing worker") for name, pids in groups.items()}}

    def unprocessed_files(self) -> int:
        """Uploaded files the processing worker has not reached yet (thumbnails, text)."""
        from sqlalchemy import create_engine, text

        engine = create_engine(self.deployment.database_url)
        try:
            with engine.connect() as connection:
                return int(connection.execute(text("SELECT count(*) FROM material_files WHERE state = 'uploaded'")).scalar())
        finally:
            engine.dispose()

    def drive(self, plan: Path) -> None:
        args = self.args
        spawn_rate = max(1.0, args.users / max(1.0, args.warmup / 2))
        env = {**os.environ, "LOAD_PLAN": str(plan), "LOAD_RECORDS": str(self.folder / "records.csv")}
        log = (self.folder / "locust.log").open("w")
        started = time.time()
        self.processes["locust"] = subprocess.Popen(
            [str(self.locust), "-f", str(ROOT / "bench" / "load_locustfile.py"), "--headless", "-u", str(args.users),
             "-r", f"{spawn_rate:.2f}", "-t", f"{args.warmup + args.duration + 3:.0f}s", "--stop-timeout", "5",
             "--host", f"http://127.0.0.1:{args.port}", "--only-summary", "--loglevel", "WARNING"],
            cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
        self.window = (started + args.warmup, started + args.warmup + args.duration)
        for moment in self.window:
            time.sleep(max(0.0, moment - time.time()))
            self.snapshots.append(self.snapshot())
        self.processes["locust"].wait(timeout=args.warmup + args.duration + 120)
        # Locust exits 1 when any request failed; the failures are counted from the records.
        if not (self.folder / "records.csv").exists():
            raise RuntimeError(f"locust failed; see {self.folder / 'locust.log'}")

    def execute(self, queries: list[dict[str, Any]], weights: list[float]) -> dict[str, Any]:
        plan = self.write_plan(queries, weights)
        try:
            self.start_server()
            self.drive(plan)
        finally:
            for name in ("locust", "processing-worker", "search-worker", "gunicorn"):
                if name in self.processes:
                    stop(self.processes[name])
        figures = self.figures()
        (self.folder / "figures.json").write_text(json.dumps(figures, indent=2, ensure_ascii=False))
        return figures

    # --- figures -----------------------------------------------------------------------

    def _records(self) -> list[tuple[float, str, float, str]]:
        with (self.folder / "records.csv").open(encoding="utf-8") as source:
            return [(float(r["end"]), r["name"], float(r["ms"]), r["error"]) for r in csv.DictReader(source)]

    def figures(self) -> dict[str, Any]:
        records = self._records()
        start, end = self.window
        measured = [r for r in records if start <= r[0] < end]
        env = self.env()
        out: dict[str, Any] = {"result_cache": self.cache_size, "duration_s": end - start,
                               "result_max_age": float(env["SEARCH_RESULT_MAX_AGE"]),
                               "page_max_age": float(env["SEARCH_PAGE_MAX_AGE"]),
                               "requests": len(measured), "rps": len(measured) / (end - start),
                               "errors": sum(1 for r in measured if r[3]),
                               "errors_whole_run": sum(1 for r in records if r[3]),
                               "error_samples": sorted({r[3] for r in records if r[3]})[:5],
                               "latency_ms": latency([r[2] for r in measured])}
        out["by_kind"] = {kind: {"requests": len([r for r in measured if r[1] == kind]),
                                 **latency([r[2] for r in measured if r[1] == kind])} for kind in KINDS}
        first, last = self.snapshots
        out["cache"] = cache_figures(first["stats"], last["stats"])
        workers = [s for pid, s in last["stats"].items() if pid in last["workers"]]
        out["workers_rss_mib"] = sorted(round(s["VmRSS"] / 1024) for s in workers)
        out["workers_peak_rss_mib"] = max((round(s["VmHWM"] / 1024) for s in workers), default=None)
        seconds = last["time"] - first["time"]
        out["cpu_cores"] = {name: (last["cpu"][name] - first["cpu"][name]) / seconds for name in last["cpu"]}
        out["cpu_cores"]["whole machine"] = (last["machine"] - first["machine"]) / seconds
        # CPU per request does not depend on how much of the machine other processes took.
        worker_cpu = last["cpu"]["gunicorn workers"] - first["cpu"]["gunicorn workers"]
        out["worker_cpu_ms_per_request"] = 1000 * worker_cpu / len(measured) if measured else None
        applies = (self.folder / "search-worker.log").read_text(errors="replace").splitlines()
        out["index_applies_whole_run"] = sum(1 for line in applies if line.startswith("Đã áp dụng"))
        out["unprocessed_files"] = {"window_start": first["unprocessed_files"], "window_end": last["unprocessed_files"]}
        # A worker that dies is replaced by gunicorn, and the load tool retries a GET whose
        # connection broke, so a crash need not show as an error: it is counted from the log.
        log = (self.folder / "gunicorn.log").read_text(errors="replace")
        out["worker_crashes_whole_run"] = log.count("was sent SIG")
        return out


def cache_figures(first: dict[int, Any], last: dict[int, Any]) -> dict[str, Any]:
    """Result-cache hits and misses over the window, summed over workers (a worker that started
    inside the window counts from zero)."""
    def delta(name: str) -> int:
        return sum(s.get(name, 0) - first.get(pid, {}).get(name, 0) for pid, s in last.items())

    hits, misses = delta("cache_hits"), delta("cache_misses")
    page_hits, page_misses = delta("page_hits"), delta("page_misses")
    return {"hits": hits, "misses": misses, "hit_rate": hits / (hits + misses) if hits + misses else None,
            "page_hits": page_hits, "page_misses": page_misses,
            "page_hit_rate": page_hits / (page_hits + page_misses) if page_hits + page_misses else None}


def latency(values: list[float]) -> dict[str, float | None]:
    if not values:
        return {"p50": None, "p95": None, "p99": None, "max": None}
    ordered = sorted(values)

    def at(share: float) -> float:
        return ordered[min(len(ordered) - 1, int(share * len(ordered)))]

    return {"p50": at(0.50), "p95": at(0.95), "p99": at(0.99), "max": ordered[-1]}


# --- report ------------------------------------------------------------------------------

def _ms(value: float | None) -> str:
    return "-" if value is None else f"{value:,.0f}"


def report(figures: dict[str, Any]) -> None:
    cache = figures["cache"]
    rate = "off" if figures["result_cache"] == 0 else (
        f"{cache['hit_rate']:.1%} ({cache['hits']:,} hits, {cache['misses']:,} misses)" if cache["hit_rate"] is not None
        else "no searches")
    lat = figures["latency_ms"]
    print(f"\n-- SEARCH_RESULT_CACHE={figures['result_cache']} (SEARCH_RESULT_MAX_AGE={figures['result_max_age']:g}, "
          f"SEARCH_PAGE_MAX_AGE={figures['page_max_age']:g}): {figures['requests']:,} requests in "
          f"{figures['duration_s']:.0f} s = {figures['rps']:.1f} requests/s; errors {figures['errors']} "
          f"(whole run incl. warm-up and sign-ins: {figures['errors_whole_run']})")
    print(f"   latency p50 {_ms(lat['p50'])} ms, p95 {_ms(lat['p95'])} ms, p99 {_ms(lat['p99'])} ms, "
          f"max {_ms(lat['max'])} ms")
    for kind, row in figures["by_kind"].items():
        print(f"   {kind:<14} {row['requests']:>7,}  p50 {_ms(row['p50']):>6} ms  p95 {_ms(row['p95']):>6} ms  "
              f"p99 {_ms(row['p99']):>6} ms")
    print(f"   result cache hit rate: {rate}")
    if cache.get("page_hit_rate") is not None:
        print(f"   results pages reused: {cache['page_hit_rate']:.1%} ({cache['page_hits']:,} of "
              f"{cache['page_hits'] + cache['page_misses']:,} shareable searches: anonymous, or signed in "
              "with none of their own materials matching)")
    print(f"   gunicorn worker CPU per request: {_ms(figures['worker_cpu_ms_per_request'])} ms; index commits by the "
          f"search worker (whole run): {figures['index_applies_whole_run']}")
    print(f"   worker RSS (MiB): {figures['workers_rss_mib']}, peak {figures['workers_peak_rss_mib']}; "
          f"workers that died (whole run, from gunicorn's log): {figures['worker_crashes_whole_run']}")
    backlog = figures["unprocessed_files"]
    print(f"   uploaded files not processed yet: {backlog['window_start']} at the window's start, "
          f"{backlog['window_end']} at its end")
    print("   CPU (cores): " + ", ".join(f"{k} {v:.2f}" for k, v in figures["cpu_cores"].items()))
    for sample in figures["error_samples"]:
        print(f"   error: {sample}")


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--materials", type=int, default=100_000, help="size of the seeded catalogue")
    parser.add_argument("--duration", type=float, default=120, help="measured seconds per run")
    parser.add_argument("--warmup", type=float, default=20, help="seconds of load before measuring")
    parser.add_argument("--users", type=int, default=60, help="simulated people (locust users)")
    parser.add_argument("--rate", type=float, default=120,
                        help="requests/s offered by all users together (0: each user as fast as it can)")
    parser.add_argument("--signed-in", type=float, default=0.3, help="share of users who sign in")
    parser.add_argument("--workers", type=int, default=3,
                        help="gunicorn worker processes (each runs Python on one core at a time and holds its "
                             "own index readers and caches)")
    parser.add_argument("--threads", type=int, default=3,
                        help="threads per worker (more wait on each other for the GIL; see the README)")
    parser.add_argument("--result-cache", choices=("both", "on", "off"), default="both",
                        help="run with SEARCH_RESULT_CACHE=1024, 0, or both")
    parser.add_argument("--result-max-age", type=float, default=5.0,
                        help="SEARCH_RESULT_MAX_AGE of the cached run: seconds a result outlives index changes")
    parser.add_argument("--page-max-age", type=float, default=30.0,
                        help="SEARCH_PAGE_MAX_AGE of the cached run: seconds an anonymous results page is reused")
    parser.add_argument("--download-batch", type=float, default=60.0,
                        help="SEARCH_DOWNLOAD_BATCH_SECONDS (both runs): download counts reach the index together")
    parser.add_argument("--apply-interval", type=float, default=5.0,
                        help="seconds between two applies of the search worker (`search worker --interval`)")
    parser.add_argument("--queries", type=int, default=300, help="distinct queries in the mix")
    parser.add_argument("--database", default="postgresql",
                        help="postgresql (database bench_load_<N> on 127.0.0.1), sqlite, or a full URL")
    parser.add_argument("--no-processing-worker", dest="processing_worker", action="store_false",
                        help="do not run `materials process --loop` beside the server")
    parser.add_argument("--processing-max-load", type=float, default=float(os.cpu_count() or 2),
                        help="the processing worker's --max-load (default: the number of cores)")
    parser.add_argument("--teachers", type=int, default=100, help="teacher accounts with password and token")
    parser.add_argument("--reseed", action="store_true", help="seed again even if the cache holds this size")
    parser.add_argument("--port", type=int, default=5055)
    parser.add_argument("--cache", type=Path, default=default_cache(), help="cache folder")
    return parser.parse_args()


def main() -> None:
    args = parse_args()
    args.cache.mkdir(parents=True, exist_ok=True)
    locust = ensure_locust(args.cache)
    kind = "sqlite" if args.database == "sqlite" else "pg"
    folder = args.cache / f"{kind}-{args.materials}"
    deployment = Deployment(folder, database_url(args.database, args.materials, folder))
    if args.reseed or not is_seeded(deployment, args.materials):
        print(f"seeding {args.materials:,} materials into {folder} ({deployment.database_url}) ...", flush=True)
        seed(deployment, args.materials, args.teachers, uploads=2000, log=lambda line: print(line, flush=True))
    from bench.load_queries import describe, queries

    chosen, weights = queries(args.queries)
    print(f"catalogue: {args.materials:,} materials ({deployment.database_url}); searches: {describe(chosen, weights)}")
    print(f"server: gunicorn {args.workers} workers x {args.threads} threads on 127.0.0.1:{args.port}; load: "
          f"{args.users} locust users ({args.signed_in:.0%} signed in), offered "
          f"{'as fast as possible' if not args.rate else f'{args.rate:.0f} requests/s'}, "
          f"{args.warmup:.0f} s warm-up + {args.duration:.0f} s measured; search worker every "
          f"{args.apply_interval:g} s")
    sizes = {"both": [1024, 0], "on": [1024], "off": [0]}[args.result_cache]
    remove_uploads(deployment, log=print)  # left by a run that was interrupted
    results = []
    for size in sizes:
        results.append(Run(args, deployment, locust, size).execute(chosen, weights))
        remove_uploads(deployment, log=print)  # each run starts from the seeded deployment
    for figures in results:
        report(figures)
    (args.cache / "last-results.json").write_text(json.dumps(results, indent=2, ensure_ascii=False))


if __name__ == "__main__":
    main()

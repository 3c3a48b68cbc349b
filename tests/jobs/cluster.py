"""A real Spark standalone cluster on loopback for tests: one master and two workers started with
pyspark's own `bin/spark-class`, and helpers to run `chronomix` commands as separate driver processes.

Every process is started in its own session and remembered by pid; `StandaloneCluster.stop` kills each one
and every descendant it spawned (executor JVMs, Python workers), also when the test fails. Ports are free
ports on 127.0.0.1 only. Executors and drivers run this interpreter (`PYSPARK_PYTHON = sys.executable`), so
they see the project exactly as the tests do.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import psutil
import pytest

ROOT = Path(__file__).resolve().parents[2]
LOOPBACK = "127.0.0.1"
# Small daemons and executors: the test machine has 2 cores and is shared.
DAEMON_MEMORY = "384m"
WORKER_MEMORY = "1g"
EXECUTOR_MEMORY = "640m"
START_TIMEOUT_S = 180.0


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((LOOPBACK, 0))
        return int(sock.getsockname()[1])


def spark_home() -> Path:
    """The Spark distribution inside the pyspark package (it ships bin/spark-class and the jars)."""
    import pyspark

    return Path(pyspark.__file__).resolve().parent


def process_env(extra: dict[str, str] | None = None) -> dict[str, str]:
    """Environment for every process we start: this venv's Python for workers, loopback only."""
    env = dict(os.environ)
    env.update(
        {
            "SPARK_HOME": str(spark_home()),
            "PYSPARK_PYTHON": sys.executable,
            "PYSPARK_DRIVER_PYTHON": sys.executable,
            "SPARK_LOCAL_IP": LOOPBACK,
            "SPARK_LOCAL_HOSTNAME": LOOPBACK,
            "SPARK_DAEMON_MEMORY": DAEMON_MEMORY,
            "PYTHONPATH": os.pathsep.join([str(ROOT), env.get("PYTHONPATH", "")]).rstrip(os.pathsep),
        }
    )
    # The JVMs started here (drivers, spark-submit, the cluster's daemons and executors) compile with C1
    # only: they live for seconds to minutes on 2 cores, where C2's compiler threads cost more than its
    # faster code repays (one `chronomix ingest` of the cluster chain's inputs: 32.9 s against 36.6 and
    # 38.8 s by default). The tests' own long-lived session keeps the default, which was faster for it.
    # The `java` launcher reads JDK_JAVA_OPTIONS.
    # (after the options already set, such as tests/class_archive.py's, unless they name a level)
    options = env.get("JDK_JAVA_OPTIONS", "")
    if "TieredStopAtLevel" not in options:
        env["JDK_JAVA_OPTIONS"] = f"{options} -XX:TieredStopAtLevel=1".strip()
    env.pop("SPARK_ENV_LOADED", None)
    env.pop("PYSPARK_GATEWAY_PORT", None)
    env.update(extra or {})
    return env


def get_json(url: str, timeout: float = 5.0) -> object | None:
    """The JSON at `url`, or None when nothing answers (yet)."""
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            return json.loads(response.read().decode("utf-8"))
    except (urllib.error.URLError, ConnectionError, TimeoutError, json.JSONDecodeError, OSError):
        return None


def kill_tree(pid: int, sig: int = signal.SIGKILL) -> list[int]:
    """Send `sig` to `pid` and every process below it, children first. Returns the pids signalled."""
    try:
        root = psutil.Process(pid)
        procs = [*root.children(recursive=True), root]
    except psutil.NoSuchProcess:
        return []
    signalled = []
    for proc in procs:
        try:
            proc.send_signal(sig)
            signalled.append(proc.pid)
        except psutil.NoSuchProcess:
            continue
    psutil.wait_procs(procs, timeout=10)
    return signalled


@dataclass
class Daemon:
    """A process we started: its Popen, its web UI port, and the log it writes."""

    name: str
    popen: subprocess.Popen[bytes]
    webui_port: int
    log: Path
    descendants: set[int] = field(default_factory=set)

    @property
    def pid(self) -> int:
        return self.popen.pid

    def remember_descendants(self) -> None:
        """Note the pids this daemon spawned so far (executor JVMs, Python workers) so stop() can reap them
        even after the daemon itself is gone and they were re-parented."""
        with contextlib.suppress(psutil.NoSuchProcess):
            self.descendants.update(p.pid for p in psutil.Process(self.pid).children(recursive=True))

    def kill(self) -> None:
        """SIGKILL the daemon and everything it spawned (a lost machine)."""
        self.remember_descendants()
        kill_tree(self.pid)
        for pid in sorted(self.descendants):
            kill_tree(pid)
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.popen.wait(timeout=10)


@dataclass
class StandaloneCluster:
    """A standalone master and its workers on 127.0.0.1."""

    root: Path
    master: Daemon
    master_port: int
    workers: list[Daemon]
    drivers: list[subprocess.Popen[bytes]] = field(default_factory=list)

    @property
    def url(self) -> str:
        return f"spark://{LOOPBACK}:{self.master_port}"

    @property
    def master_json_url(self) -> str:
        return f"http://{LOOPBACK}:{self.master.webui_port}/json/"

    def state(self) -> dict:
        found = get_json(self.master_json_url)
        return found if isinstance(found, dict) else {}

    def alive_workers(self) -> int:
        return sum(1 for w in self.state().get("workers", []) if w.get("state") == "ALIVE")

    def wait_for_workers(self, n: int, timeout: float = START_TIMEOUT_S) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.alive_workers() >= n:
                return
            for daemon in [self.master, *self.workers]:
                if daemon.popen.poll() is not None:
                    raise RuntimeError(f"{daemon.name} exited early; log:\n{_tail(daemon.log)}")
            time.sleep(0.5)
        raise TimeoutError(
            f"{n} workers did not register in {timeout:.0f}s; master log:\n{_tail(self.master.log)}"
        )

    def worker_by_webui_port(self, port: int) -> Daemon | None:
        return next((w for w in self.workers if w.webui_port == port), None)

    def spark_conf(self) -> list[str]:
        """`--conf` pairs a driver needs to use this cluster from this machine."""
        return [
            f"spark.driver.host={LOOPBACK}",
            f"spark.driver.bindAddress={LOOPBACK}",
            f"spark.executor.memory={EXECUTOR_MEMORY}",
            "spark.executor.cores=1",
            "spark.driver.memory=1g",
        ]

    def stop(self) -> None:
        """Kill every driver, worker and the master we started, with everything they spawned."""
        for popen in self.drivers:
            kill_tree(popen.pid)
        for daemon in [*self.workers, self.master]:
            daemon.kill()


def start_cluster(root: Path, workers: int = 2) -> StandaloneCluster:
    """Start a master and `workers` workers (1 core, 1 GiB each) under `root`; returns once all registered.
    On any failure everything already started is stopped before the error propagates."""
    root.mkdir(parents=True, exist_ok=True)
    spark_class = str(spark_home() / "bin" / "spark-class")
    master_port, master_ui = free_port(), free_port()
    env = process_env()
    started: list[Daemon] = []
    cluster: StandaloneCluster | None = None
    try:
        master = _spawn(
            "master",
            [
                spark_class,
                "org.apache.spark.deploy.master.Master",
                "--host",
                LOOPBACK,
                "--port",
                str(master_port),
                "--webui-port",
                str(master_ui),
            ],
            master_ui,
            root,
            env,
        )
        started.append(master)
        # A worker that registers before the master is elected leader is told it is in standby and
        # retries 5-15 s later (Spark's fuzzed interval): both workers did, and a cluster took 17-19 s to
        # start instead of about 7.
        _wait_until_alive(master, f"http://{LOOPBACK}:{master_ui}/json/")
        daemons = []
        for index in range(workers):
            ui = free_port()
            work = root / f"worker-{index}"
            work.mkdir(exist_ok=True)
            worker = _spawn(
                f"worker-{index}",
                [
                    spark_class,
                    "org.apache.spark.deploy.worker.Worker",
                    f"spark://{LOOPBACK}:{master_port}",
                    "--cores",
                    "1",
                    "--memory",
                    WORKER_MEMORY,
                    "--host",
                    LOOPBACK,
                    "--webui-port",
                    str(ui),
                    "--work-dir",
                    str(work),
                ],
                ui,
                root,
                env,
            )
            started.append(worker)
            daemons.append(worker)
        cluster = StandaloneCluster(root=root, master=master, master_port=master_port, workers=daemons)
        cluster.wait_for_workers(workers)
        return cluster
    except BaseException:
        for daemon in started:
            daemon.kill()
        raise


def _wait_until_alive(master: Daemon, json_url: str, timeout: float = START_TIMEOUT_S) -> None:
    """Return once the master's state is ALIVE (it accepts workers), else raise."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        state = get_json(json_url)
        if isinstance(state, dict) and state.get("status") == "ALIVE":
            return
        if master.popen.poll() is not None:
            raise RuntimeError(f"{master.name} exited early; log:\n{_tail(master.log)}")
        time.sleep(0.2)
    raise TimeoutError(f"the master was not ALIVE in {timeout:.0f}s; log:\n{_tail(master.log)}")


def _spawn(name: str, argv: list[str], webui_port: int, root: Path, env: dict[str, str]) -> Daemon:
    log = root / f"{name}.log"
    with open(log, "wb") as out:
        # A new session per daemon: a Ctrl-C in the test run does not reach it; we stop it by pid.
        popen = subprocess.Popen(
            argv, stdout=out, stderr=subprocess.STDOUT, env=env, cwd=root, start_new_session=True
        )
    return Daemon(name, popen, webui_port, log)


def _tail(path: Path, lines: int = 40) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"


def chronomix_argv(args: Sequence[str]) -> list[str]:
    """The command line of a `chronomix` driver process running this interpreter."""
    return [sys.executable, "-m", "jobs.cli", *args]


def start_driver(
    args: Sequence[str],
    log: Path,
    extra_env: dict[str, str] | None = None,
    cluster: StandaloneCluster | None = None,
) -> subprocess.Popen[bytes]:
    """Start `chronomix ARGS` as its own process (its own session); output goes to `log`."""
    with open(log, "wb") as out:
        popen = subprocess.Popen(
            chronomix_argv(args),
            stdout=out,
            stderr=subprocess.STDOUT,
            env=process_env(extra_env),
            cwd=ROOT,
            start_new_session=True,
        )
    if cluster is not None:
        cluster.drivers.append(popen)
    return popen


def wait_for_running_task(
    ui_port: int, popen: subprocess.Popen[bytes], timeout: float = 300, min_completed: int = 0
) -> list[dict]:
    """Poll the driver's REST API (http://127.0.0.1:<ui_port>/api/v1) until an executor runs a task (and at
    least `min_completed` tasks finished); returns the executors' records. Raises if the driver exits
    first."""
    base = f"http://{LOOPBACK}:{ui_port}/api/v1/applications"
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if popen.poll() is not None:
            raise AssertionError(f"the driver exited ({popen.returncode}) before a task was seen running")
        apps = get_json(base, timeout=2)
        if isinstance(apps, list) and apps:
            executors = get_json(f"{base}/{apps[0]['id']}/executors", timeout=2)
            if isinstance(executors, list):
                busy = [e for e in executors if e.get("id") != "driver" and e.get("activeTasks", 0) > 0]
                done = sum(e.get("completedTasks", 0) for e in executors)
                if busy and done >= min_completed:
                    return executors
                if (
                    not busy
                    and any(e.get("id") == "driver" and e.get("activeTasks", 0) > 0 for e in executors)
                    and done >= min_completed
                ):
                    return executors  # local mode: the driver is the executor
        time.sleep(0.2)
    raise TimeoutError(f"no running task seen in {timeout:.0f}s")


def executor_worker_ui_port(executor: dict) -> int | None:
    """The web UI port of the worker hosting `executor` (from its log URLs: http://host:PORT/logPage/...)."""
    for url in (executor.get("executorLogs") or {}).values():
        try:
            return int(url.split("://", 1)[1].split("/", 1)[0].rsplit(":", 1)[1])
        except (IndexError, ValueError):
            continue
    return None


@pytest.fixture(scope="module")
def standalone_cluster(
    tmp_path_factory: pytest.TempPathFactory, jvm_class_archive: Path | None
) -> Iterator[StandaloneCluster]:
    """A master and two 1-core workers on 127.0.0.1, stopped (every pid) when the module's tests end. Its
    JVMs, as every JVM the tests start, map Spark's classes from the session's archive."""
    cluster = start_cluster(tmp_path_factory.mktemp("cluster"))
    try:
        yield cluster
    finally:
        cluster.stop()


# ---------------------------------------------------------------------------------------------------------
# Comparing stage outputs


def data_files(folder: Path) -> list[Path]:
    """Every file of a stage output, relative order by name (data parts and bookkeeping alike)."""
    return sorted(p for p in folder.rglob("*") if p.is_file())


def assert_same_output(
    left: Path,
    right: Path,
    ignore_json_keys: tuple[str, ...] = ("inputs", "seconds"),
    ignore_stats_keys: tuple[str, ...] = ("seconds",),
    same_writer: bool = True,
) -> None:
    """Two stage outputs hold the same files with the same contents.

    Parquet files must hold equal tables (schema with its metadata, every row, in the same order) with the
    same row-group layout and the same column-chunk metadata; the one thing allowed to differ is the order
    in which parquet-mr lists a column chunk's encodings, which it takes from a hash set and so varies from
    one JVM to the next. `_stats.json` must be equal but for `ignore_stats_keys` (the run time; and the input
    layout, files_in and bytes_in, where the runs read differently split inputs), other JSON files but for
    `ignore_json_keys` (input paths, step timings); every other file must be equal byte for byte. Where the
    two were written by different Parquet writers (not `same_writer`: dedup's driver path writes with
    pyarrow, its Spark path with parquet-mr), the tables must be equal and the layouts may differ."""
    import pyarrow.parquet as pq

    left_files = [p.relative_to(left) for p in data_files(left)]
    right_files = [p.relative_to(right) for p in data_files(right)]
    assert left_files == right_files, f"different files: {left_files} vs {right_files}"
    assert any(p.suffix == ".parquet" for p in left_files) or any(p.suffix == ".gz" for p in left_files)
    for relative in left_files:
        a, b = left / relative, right / relative
        if relative.suffix == ".parquet":
            fa, fb = pq.ParquetFile(a), pq.ParquetFile(b)
            ta, tb = fa.read(), fb.read()
            assert ta.schema.equals(tb.schema, check_metadata=True), f"{relative}: schemas differ"
            assert ta.equals(tb), f"{relative}: rows differ"
            if same_writer:
                assert parquet_layout(fa) == parquet_layout(fb), f"{relative}: Parquet layout differs"
        elif relative.name == "_stats.json":
            sa, sb = json.loads(a.read_text()), json.loads(b.read_text())
            for key in ignore_stats_keys:
                sa.pop(key, None), sb.pop(key, None)
            assert sa == sb, f"{relative}: {sa} vs {sb}"
        elif relative.name == "_complete.json":
            continue
        elif relative.suffix == ".json":
            # A manifest names the run's own input paths, which differ between the runs compared, and
            # _dedup.json the seconds each step took.
            ja, jb = json.loads(a.read_text()), json.loads(b.read_text())
            for key in ignore_json_keys:
                ja.pop(key, None), jb.pop(key, None)
            assert ja == jb, f"{relative}: JSON differs"
        else:
            assert a.read_bytes() == b.read_bytes(), f"{relative}: bytes differ"


def parquet_layout(file: object) -> list:
    """A Parquet file's rows, writer and column-chunk metadata by row group (encodings sorted: parquet-mr
    lists them from a hash set, in an order that varies from one JVM to the next)."""
    meta = file.metadata  # type: ignore[attr-defined]
    groups = []
    for g in range(meta.num_row_groups):
        group = meta.row_group(g)
        columns = []
        for c in range(group.num_columns):
            chunk = group.column(c).to_dict()
            chunk["encodings"] = sorted(chunk["encodings"])
            columns.append(chunk)
        groups.append((group.num_rows, columns))
    return [meta.num_rows, meta.created_by, groups]


def split_parquet(source: Path, target: Path, parts: int) -> Path:
    """Rewrite the Parquet rows of stage output `source` as `parts` files under `target` (more input files,
    so more input partitions, for the same documents)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    table = pa.concat_tables(pq.read_table(p) for p in sorted(source.glob("*.parquet")))
    target.mkdir(parents=True, exist_ok=True)
    size = -(-table.num_rows // parts)
    for index in range(parts):
        pq.write_table(table.slice(index * size, size), target / f"split-{index:03d}.parquet")
    return target

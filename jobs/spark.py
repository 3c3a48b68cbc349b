"""The Spark session factory: embedded `local[*]` by default, any master (`spark://`, `yarn`, `k8s://`) on request.

Settings that make outputs reproducible and readable by pyarrow are fixed here rather than left to each job:
UTC session time, Parquet timestamps as TIMESTAMP_MICROS (Spark's default INT96 loses the time zone), and
Arrow batches in mapInArrow bounded in rows so a kernel's memory is bounded by the batch.
"""

from __future__ import annotations

import contextlib
import os
import re
import socket
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from pyspark.errors import IllegalArgumentException
from pyspark.sql import Column, DataFrame, SparkSession
from pyspark.sql import functions as F

from jobs import progress
from jobs.contract import UsageError
from jobs.fs import remove_abandoned
from jobs.spark_environment import PYTHON_SETTING, refuse_broken_environment, utf8_locale_for_java

# Always set: correctness and reproducibility depend on them.
FIXED_CONF: dict[str, str] = {
    "spark.sql.session.timeZone": "UTC",
    "spark.sql.parquet.outputTimestampType": "TIMESTAMP_MICROS",
    "spark.sql.parquet.compression.codec": "zstd",
    "spark.sql.execution.arrow.pyspark.enabled": "true",
    # Kernels are written against pa.string(); plain (not large) var types keep batch schemas identical in
    # and out of Spark. Batches are bounded by maxRecordsPerBatch, far below the 2 GiB offset limit.
    "spark.sql.execution.arrow.useLargeVarTypes": "false",
    "spark.sql.execution.arrow.maxRecordsPerBatch": "2000",
    "spark.sql.sources.partitionOverwriteMode": "static",
    # Our output committer renames part files itself; _SUCCESS files would only be noise in the output.
    "spark.hadoop.mapreduce.fileoutputcommitter.marksuccessfuljobs": "false",
    "spark.hadoop.parquet.enable.summary-metadata": "false",
    "spark.sql.parquet.writeLegacyFormat": "false",
}

# Defaults a user may override with --conf.
DEFAULT_CONF: dict[str, str] = {
    "spark.ui.enabled": "false",
    "spark.ui.showConsoleProgress": "false",
    "spark.sql.shuffle.partitions": "8",
    "spark.driver.memory": "4g",
    "spark.sql.adaptive.enabled": "true",
    # Determinism across partitionings is by explicit hash repartitioning in the writers, not by AQE's
    # coalescing, so disable coalescing that would change the number of output files.
    "spark.sql.adaptive.coalescePartitions.enabled": "false",
    "spark.python.worker.reuse": "true",
    # With spark.checkpoint.dir set (see `checkpointed`), a checkpoint's files go once nothing refers to it.
    "spark.cleaner.referenceTracking.cleanCheckpoints": "true",
}


MIN_SPLITS_KEY = "spark.sql.files.minPartitionNum"
SPLITS_PER_CORE = 4


@dataclass(frozen=True)
class SparkOptions:
    """Where and how to run: `master` is a Spark master URL; `conf` holds `key=value` overrides."""

    master: str = "local[*]"
    conf: Sequence[str] = field(default_factory=tuple)
    app_name: str = "chronomix"


def parse_conf(pairs: Sequence[str]) -> dict[str, str]:
    """`["k=v", ...]` -> dict; raises ValueError naming the bad pair, or a FIXED_CONF key given another
    value (it was replaced without a word: a session time zone of Asia/Kolkata still bucketed UTC months)."""
    parsed: dict[str, str] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key.strip():
            raise ValueError(f"--conf {pair!r}: expected key=value")
        key, value = key.strip(), value.strip()
        if key in FIXED_CONF and value.lower() != FIXED_CONF[key].lower():
            raise ValueError(
                f"--conf {key}={value}: chronomix fixes {key} to {FIXED_CONF[key]} (its outputs' dates, "
                "types and reproducibility depend on it); leave it out"
            )
        parsed[key] = value
    return parsed


def say_overridden_submitted_conf(submitted: dict[str, str]) -> None:
    """Says on stderr which settings handed over by spark-submit (its --conf, spark-defaults.conf) give a
    FIXED_CONF key another value: chronomix's value is used."""
    for key, value in submitted.items():
        if key in FIXED_CONF and value.lower() != FIXED_CONF[key].lower():
            print(
                f"chronomix: spark-submit's {key}={value} is not used: chronomix fixes it to {FIXED_CONF[key]}",
                file=sys.stderr,
            )


def spark_session(options: SparkOptions = SparkOptions()) -> SparkSession:
    """Get or create the session. Under spark-submit the master given there wins over `options.master`."""
    user_conf = parse_conf(options.conf)
    if not _submitted_conf():  # spark-submit started the JVM already, from its own environment
        refuse_broken_environment(options.master.startswith("local"), user_conf)
        utf8_locale_for_java()
    workers_python = user_conf.get(PYTHON_SETTING)
    if workers_python:
        # PySpark's context reads only the variable (spark-submit sets it from its own setting): the job's
        # setting was ignored, and the workers ran the driver's interpreter path
        os.environ["PYSPARK_PYTHON"] = workers_python
    # The Python workers must run the interpreter the driver runs (the project's venv), not the system one.
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    os.environ.setdefault("PYSPARK_DRIVER_PYTHON", sys.executable)
    if options.master.startswith("local"):
        # Embedded runs talk to themselves only: bind to loopback, whatever the host name resolves to.
        os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
    submitted = _submitted_conf()
    master = submitted.get("spark.master", options.master)
    if "spark.master" not in submitted or master.startswith("spark://"):  # spark-submit checked yarn's own
        refuse_unreachable_master(master)
    # Under spark-submit, what was submitted wins over our defaults (but not over the fixed settings).
    defaults = {k: v for k, v in DEFAULT_CONF.items() if k not in submitted}
    say_overridden_submitted_conf(submitted)
    conf = {**defaults, **user_conf, **FIXED_CONF}
    builder = SparkSession.builder.appName(options.app_name)
    if "spark.master" not in submitted:
        builder = builder.master(options.master)
    for key, value in conf.items():
        builder = builder.config(key, value)
    try:
        session = builder.getOrCreate()
        session.conf.get(MIN_SPLITS_KEY, None)  # Spark checks the SQL settings on their first use
    except IllegalArgumentException as error:  # a --conf value Spark refuses (partitions=abc)
        started = SparkSession.getActiveSession()
        if started is not None:
            started.stop()
        reason = str(error).split("JVM stacktrace:", 1)[0].strip().splitlines()[0]
        raise UsageError(f"--conf: Spark refuses a setting: {reason}", option="--conf") from None
    session.sparkContext.setLogLevel("ERROR")
    if MIN_SPLITS_KEY not in conf and session.conf.get(MIN_SPLITS_KEY, None) is None:
        # Spark reads a small input in about one split per core; the kernels' Python work then ends on a
        # single straggling task while the other cores idle. Several splits per core even that out.
        splits = SPLITS_PER_CORE * session.sparkContext.defaultParallelism
        session.conf.set(MIN_SPLITS_KEY, str(splits))
    return session


def refuse_unreachable_master(master: str, timeout_s: float = 5.0) -> None:
    """UsageError where Spark would retry for about 70 s and then fail with Java traces: a standalone master
    (spark://host:port[,host:port]) that answers on none of its addresses within `timeout_s` seconds each, or
    answers only as a web server (its web UI's port, 8080, for its own, 7077); or `yarn` without the
    HADOOP_CONF_DIR or YARN_CONF_DIR that tells Spark where the cluster is."""
    if master == "yarn" and not (os.environ.get("HADOOP_CONF_DIR") or os.environ.get("YARN_CONF_DIR")):
        raise UsageError(
            "--master yarn: set HADOOP_CONF_DIR or YARN_CONF_DIR to the folder of the cluster's configuration",
            option="--master",
        )
    if not master.startswith("spark://"):
        return
    addresses = [a for a in master.removeprefix("spark://").split(",") if a]
    for address in addresses:
        _refuse_malformed_address(master, address)
    web_ui = None
    for address in addresses:
        host, _, port = address.rpartition(":")
        try:
            with socket.create_connection((host.strip("[]"), int(port)), timeout=timeout_s) as connection:
                web_ui = _web_ui_master(connection, host, int(port), timeout_s)
                if web_ui is None:
                    return
        except (OSError, ValueError):
            continue
    if web_ui is not None:
        hint = f" (this one names {web_ui})" if web_ui else ""
        raise UsageError(
            f"--master {master!r}: a web server answers there, not a Spark master; a master's URL is shown at "
            f"the top of its web UI{hint}",
            option="--master",
        )
    raise UsageError(f"--master {master!r}: no Spark master answers there", option="--master")


def _refuse_malformed_address(master: str, address: str) -> None:
    """UsageError for a master address Spark refuses as written (it said only that no master answers): a
    path after the port ("spark://head:7077/") or no port ("spark://head")."""
    if "/" in address:
        raise UsageError(
            f"--master {master!r}: a master URL ends with the port, with no path: spark://HOST:PORT",
            option="--master",
        )
    host, _, port = address.rpartition(":")
    bare_ipv6 = ":" in host and not host.startswith("[")  # spark://::1 (IPv6 goes in brackets)
    if not host or bare_ipv6 or not port.isdigit():
        raise UsageError(
            f"--master {master!r}: give the master's host and port: spark://HOST:PORT (7077 unless it was "
            "set; an IPv6 address in brackets)",
            option="--master",
        )


# Bytes a master's RPC port reads as the start of a 16-byte frame and waits on (nothing logged when the
# connection closes), and a web server answers at once with "400 Bad Request".
_PROBE = b"\x00\x00\x00\x00\x00\x00\x00\x10\r\n\r\n"


def _web_ui_master(connection: socket.socket, host: str, port: int, timeout_s: float) -> str | None:
    """None where the port does not answer as a web server (a master's RPC port waits for the rest of the
    frame); else the master URL a standalone master's web UI gives on its /json/ page, "" when none."""
    connection.settimeout(0.5)
    try:
        connection.sendall(_PROBE)
        if not connection.recv(16).startswith(b"HTTP/"):
            return None
    except OSError:
        return None
    try:
        with socket.create_connection((host.strip("[]"), port), timeout=timeout_s) as page:
            page.settimeout(2.0)
            page.sendall(f"GET /json/ HTTP/1.0\r\nHost: {host}\r\n\r\n".encode())
            reply = b""
            while len(reply) < 65536 and (chunk := page.recv(65536)):
                reply += chunk
    except OSError:
        return ""
    found = re.search(rb'"url"\s*:\s*"(spark://[^"]+)"', reply)
    return found.group(1).decode() if found else ""


def column(name: str) -> Column:
    """The column called `name`, however it is spelled: Spark would read "page.type" as a field of a struct
    and a backtick as quoting, so the name is quoted whole."""
    return F.col("`" + name.replace("`", "``") + "`")


# Spark's DataSource.GLOB_PATHS_KEY, the option its file streaming source sets to read paths as written.
_GLOB_PATHS = "__globPaths__"


def read_parquet(spark: SparkSession, *uris: str) -> DataFrame:
    """Parquet files (or folders) read as named. chronomix resolves its inputs to files itself, so Spark is
    told not to read them as globs again: a folder named "dump[1]" was read as the pattern for "dump1", a
    sibling's files silently taken for its own (and "a*b" took both)."""
    return spark.read.option(_GLOB_PATHS, "false").parquet(*uris)


def checkpointed(df: DataFrame) -> DataFrame:
    """`df` computed now, with its lineage cut (an iterative job's plan would grow with every round): saved to
    the session's checkpoint folder where it has one (`--conf spark.checkpoint.dir=hdfs://...` or s3a://: it
    outlives a lost executor), else kept in the executors' storage (localCheckpoint: no write, but a lost
    executor's share cannot be recomputed, and the job fails)."""
    if df.sparkSession.sparkContext.getCheckpointDir():
        return df.checkpoint(eager=True)
    return df.localCheckpoint(eager=True)


def _submitted_conf() -> dict[str, str]:
    """The settings spark-submit handed this process (empty when it was not submitted)."""
    if not (os.environ.get("SPARK_ENV_LOADED") or os.environ.get("PYSPARK_GATEWAY_PORT")):
        return {}
    from pyspark import SparkConf

    return dict(SparkConf().getAll())


def session_for_job(options: SparkOptions = SparkOptions()) -> tuple[SparkSession, bool]:
    """The running session when there is one (a test's, a notebook's, spark-submit's), else a new one.
    Returns (session, owned): only an owned session is for the caller to stop."""
    existing = SparkSession.getActiveSession()
    if existing is not None:
        return existing, False
    return spark_session(options), True


class LazySession:
    """The Spark session of one command, pipeline or experiment: started on the first call (a run whose
    stages need no Spark never starts one) and, on exit, stopped when this holder started it (a test's,
    notebook's or spark-submit's session is left running)."""

    def __init__(self, options: SparkOptions = SparkOptions()) -> None:
        self.options = options
        self._session: SparkSession | None = None
        self._owned = False
        self._unwatch: Callable[[], None] | None = None

    def __call__(self) -> SparkSession:
        if self._session is None:
            self._session, self._owned = session_for_job(self.options)
            # The command's progress shows the session's stages while it runs (jobs/progress.py).
            self._unwatch = progress.current().watch_spark(self._session.sparkContext)
        return self._session

    def stop(self, interrupted: bool = False) -> None:
        """Stop the session if this holder started it. `interrupted`: the job was stopped by the user, so the
        errors of the tasks cancelled under it (Java traces of missing blocks) are not logged."""
        if self._unwatch is not None:
            self._unwatch()
            self._unwatch = None
        if self._session is not None and self._owned:
            if interrupted:
                with contextlib.suppress(Exception):  # the gateway may be going down with the interrupt
                    self._session.sparkContext.setLogLevel("OFF")
            self._session.stop()
        elif self._session is not None and interrupted:
            with contextlib.suppress(Exception):  # a session of its caller's: left running, its jobs not
                self._session.sparkContext.cancelAllJobs()
        self._session, self._owned = None, False
        # a task that committed after its stage's output was given up wrote its working folder again
        remove_abandoned()

    def __enter__(self) -> LazySession:
        return self

    def __exit__(self, kind: type[BaseException] | None, *_: object) -> None:
        self.stop(interrupted=kind is not None and issubclass(kind, KeyboardInterrupt))

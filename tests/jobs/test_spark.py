"""jobs/spark.py: the session's master checked before Spark retries for a minute and fails with traces (the
standalone master's own checks need a running master: tests/jobs/test_cli.py, tests/jobs/test_cluster.py)."""

from __future__ import annotations

import pytest

from jobs.contract import UsageError
from jobs.spark import refuse_unreachable_master


def test_yarn_without_its_configuration_folder_is_a_bad_argument(monkeypatch: pytest.MonkeyPatch) -> None:
    # Spark started, then failed with "Java gateway process exited before sending its port number" (exit 1),
    # the cause only in the trace above it.
    monkeypatch.delenv("HADOOP_CONF_DIR", raising=False)
    monkeypatch.delenv("YARN_CONF_DIR", raising=False)
    with pytest.raises(UsageError, match="--master yarn: set HADOOP_CONF_DIR or YARN_CONF_DIR"):
        refuse_unreachable_master("yarn")
    monkeypatch.setenv("YARN_CONF_DIR", "/etc/hadoop/conf")
    refuse_unreachable_master("yarn")
    refuse_unreachable_master("local[2]")  # nothing to check

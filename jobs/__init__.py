"""jobs: the CLI and Spark jobs."""

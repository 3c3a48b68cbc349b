"""`spark-submit [--py-files chronomix.zip] jobs/submit/dedup_main.py ARGS`: runs `chronomix dedup ARGS`."""

from jobs.submit import main

if __name__ == "__main__":
    main("dedup")

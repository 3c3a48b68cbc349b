"""`spark-submit [--py-files chronomix.zip] jobs/submit/ingest_main.py ARGS`: runs `chronomix ingest ARGS`."""

from jobs.submit import main

if __name__ == "__main__":
    main("ingest")

"""`spark-submit [--py-files chronomix.zip] jobs/submit/run_main.py ARGS`: runs `chronomix run ARGS`."""

from jobs.submit import main

if __name__ == "__main__":
    main("run")

"""`spark-submit [--py-files chronomix.zip] jobs/submit/date_main.py ARGS`: runs `chronomix date ARGS`."""

from jobs.submit import main

if __name__ == "__main__":
    main("date")

"""`spark-submit [--py-files chronomix.zip] jobs/submit/mix_main.py ARGS`: runs `chronomix mix ARGS`."""

from jobs.submit import main

if __name__ == "__main__":
    main("mix")

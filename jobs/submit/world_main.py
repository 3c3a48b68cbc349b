"""`spark-submit [--py-files chronomix.zip] jobs/submit/world_main.py ARGS`: runs `chronomix world ARGS`."""

from jobs.submit import main

if __name__ == "__main__":
    main("world")

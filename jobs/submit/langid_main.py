"""`spark-submit [--py-files chronomix.zip] jobs/submit/langid_main.py ARGS`: runs `chronomix langid ARGS`."""

from jobs.submit import main

if __name__ == "__main__":
    main("langid")

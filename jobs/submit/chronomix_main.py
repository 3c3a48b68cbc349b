"""`spark-submit [--py-files chronomix.zip] chronomix_main.py COMMAND ARGS`: runs `chronomix COMMAND ARGS`.

This one script serves every command; `chronomix package` copies it beside the zip it builds."""

from jobs.submit import main

if __name__ == "__main__":
    main()

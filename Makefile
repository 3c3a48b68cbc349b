# The two commands of the README. Each does all the set-up it needs on a fresh Debian/Ubuntu machine.
.PHONY: demo test setup lint

demo:  ## set up, then run the main job (pipelines/demo.yaml) on a generated tiny world
	bash scripts/setup.sh
	.venv/bin/chronomix run pipelines/demo.yaml --output out/demo

test:  ## set up, then run the whole test suite
	bash scripts/setup.sh --test
	.venv/bin/python -m pytest -q

lint:
	.venv/bin/ruff check . && .venv/bin/ruff format --check .

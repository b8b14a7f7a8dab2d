# One command each: `make test` runs every test, `make lint` every check.
.PHONY: test lint format venv explain clean

test:
	bash scripts/test.sh

lint:
	bash scripts/lint.sh

format:
	bash scripts/format.sh

venv:
	bash scripts/venv.sh

# EXPLAIN ANALYZE of the search shapes on a throwaway database of PARTS parts.
explain:
	bash scripts/explain.sh

clean:
	rm -rf .venv .cache .pytest_cache .mypy_cache .ruff_cache

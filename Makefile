# One command each: `make test` runs every test, `make lint` every check.
.PHONY: up down status cluster cluster-down push test test-fast test-swarm test-cluster lint format venv explain bench clean

# The whole stack on a single-node Docker Swarm; a second run changes nothing.
up:
	bash scripts/up.sh

# Remove the stack, keeping data; `make down ARGS=--volumes` deletes it too.
down:
	bash scripts/down.sh $(ARGS)

status:
	bash scripts/status.sh

# Three Docker-in-Docker nodes in one swarm beside an HTTPS registry (scripts/cluster.sh); a second run changes
# nothing. Then: eval "$$(scripts/cluster.sh env)".
cluster:
	bash scripts/cluster.sh up

# Remove the cluster's containers and network, keeping their volumes; `make cluster-down ARGS=--volumes` deletes them too.
cluster-down:
	bash scripts/cluster.sh down $(ARGS)

# Build, then push every image as $(REGISTRY)/partscat/<name>:$(TAG) (TAG defaults to the commit):
# make push REGISTRY=registry.partscat.test:5443 TAG=abc1234.
push:
	bash scripts/build-images.sh --push "$(REGISTRY)" $(if $(TAG),--tag "$(TAG)")

# Every test: lint, the fast suite, the Swarm suite, then the cluster suite.
test:
	bash scripts/test.sh

test-fast:
	bash scripts/test.sh fast

test-swarm:
	bash scripts/test.sh swarm

test-cluster:
	bash scripts/test.sh cluster

lint:
	bash scripts/lint.sh

format:
	bash scripts/format.sh

venv:
	bash scripts/venv.sh

# EXPLAIN ANALYZE of the search shapes on a throwaway database of PARTS parts.
explain:
	bash scripts/explain.sh

# wrk and pgbench on the running stack at each data size and profile; writes bench-results/<date>-<commit>/
# (docs/benchmark.md). Options as variables: make bench PARTS="10000 1000000" PROFILES="task realistic" RUNS=3
# DURATION=10 CONNECTIONS="8 32 128" WORKLOAD_SEEDS="1 2 3" LONG_TAIL=50000; DRY_RUN=1 prints the plan only.
bench:
	bash scripts/bench.sh

clean:
	rm -rf .venv .cache .pytest_cache .mypy_cache .ruff_cache

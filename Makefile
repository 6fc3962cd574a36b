# The few verbs a newcomer needs. Each works on a fresh clone (it creates .venv first).
.PHONY: setup run test lint bench clean
setup:
	bash -c 'source scripts/bootstrap.sh dev'
run:
	bash run.sh
test:
	bash test.sh
lint:
	bash -c 'source scripts/bootstrap.sh dev && ruff check ledger tests benchmarks && ruff format --check ledger tests benchmarks && mypy ledger tests && lint-imports'
bench:
	bash -c 'source scripts/bootstrap.sh dev && python benchmarks/run.py'
clean:
	rm -rf .venv .pytest_cache .mypy_cache .ruff_cache ledger.db ledger.db-wal ledger.db-shm

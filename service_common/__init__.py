"""What both search services (and the jobs) share without being the contract: configuration read from the
environment (environment.py), the probes' answers (health.py), the Redis response cache's decisions and order of
calls (search_cache.py), how ``count`` and ``summ`` are found without reading every part (totals.py), and a test
release's fault knobs (faults.py).

The contract itself, what a search accepts and answers (the parser, the error body, the page, the release header
and their OpenAPI schemas), is search_contract/. Both packages ship in the one wheel every image installs.
Pure standard library: no framework import.
"""

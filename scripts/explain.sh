#!/usr/bin/env bash
# Seed a throwaway PostgreSQL with PARTS parts (default 1 000 000) of PROFILE (default task) and print every search plan.
#
# The throwaway server runs the stack's own entrypoint (scripts/images/postgres-entrypoint.sh), so it plans with
# the settings `make bench` measures (no parallel workers, no JIT); scripts/explain_plans.py prints the
# settings it read from the server above the plans and refuses to capture when they differ from the stack's.
# Arguments go to scripts/explain_plans.py (--any-settings).
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/system-packages.sh
bash scripts/venv.sh
PARTS=${PARTS:-1000000} PROFILE=${PROFILE:-task} exec .venv/bin/python - "$@" <<'PY'
import os, shutil, subprocess, sys, tempfile
from pathlib import Path
from tests.servers import manage, start_postgres

base = Path(tempfile.mkdtemp(prefix="parts-explain-"))
pg = start_postgres(base)
try:
    # Migrated as the owner role; seeded, and explained, as the apps' role.
    pg.database_create("catalog")
    manage(pg.owner_url("catalog"), "migrate", "--no-input", "-v", "0")
    url = pg.app_url("catalog")
    profile = [] if os.environ["PROFILE"] == "task" else ["--profile", os.environ["PROFILE"]]
    print(manage(url, "seed_parts", "--parts", os.environ["PARTS"], "--seed", "1", *profile), file=sys.stderr)
    pg.psql("VACUUM ANALYZE", dbname="catalog")
    explain = [sys.executable, "-m", "scripts.explain_plans", *sys.argv[1:]]
    subprocess.run(explain, env={**os.environ, "DATABASE_URL": url}, check=True)
finally:
    pg.stop()
    shutil.rmtree(base, ignore_errors=True)
PY

#!/usr/bin/env bash
# Seed a throwaway PostgreSQL with PARTS parts (default 1 000 000) and print every search plan.
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/system-packages.sh
bash scripts/venv.sh
PARTS=${PARTS:-1000000} exec .venv/bin/python - <<'PY'
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
    print(manage(url, "seed_parts", "--parts", os.environ["PARTS"], "--seed", "1"), file=sys.stderr)
    pg.psql("VACUUM ANALYZE", dbname="catalog")
    subprocess.run([sys.executable, "scripts/explain_plans.py"], env={**os.environ, "DATABASE_URL": url}, check=True)
finally:
    pg.stop()
    shutil.rmtree(base, ignore_errors=True)
PY

#!/usr/bin/env bash
# Install the Debian packages the tests and benchmarks need, when missing (idempotent; root or sudo).
set -euo pipefail

# package name -> a file it installs (a glob), to tell whether it is there already
declare -A wanted=(
  # PostgreSQL 15's server package also ships pgbench (the benchmark's tests run it; `make bench` runs the
  # copy inside the stack's postgres image, whose server package is the same).
  [postgresql]='/usr/lib/postgresql/*/bin/initdb'
  [redis-server]=/usr/bin/redis-server
  # `make lint` checks every shell script with shellcheck (hadolint, not packaged by Debian, comes from PyPI).
  [shellcheck]=/usr/bin/shellcheck
  # The edge's tests run the real Nginx with the stack's Lua balancer (nginx/lua/edge.lua).
  [nginx]=/usr/sbin/nginx
  [libnginx-mod-http-lua]=/usr/lib/nginx/modules/ngx_http_lua_module.so
  [lua-resty-core]=/usr/share/lua/5.1/resty/core.lua
  # The control server's and the metrics' JSON (nginx/lua/edge_json.lua), as in the nginx image.
  [lua-cjson]='/usr/lib/*/lua/5.1/cjson.so'
  # The edge's Lua specs (tests/nginx/lua/) run in plain LuaJIT. luajit2 is the OpenResty branch that the Lua
  # module runs on; Debian's `luajit` package would replace its library and remove libnginx-mod-http-lua.
  [luajit2]=/usr/bin/luajit
  # The HTTPS tests make a throwaway self-signed certificate with the openssl CLI.
  [openssl]=/usr/bin/openssl
  # build-images.sh --push asks the cluster's registry whether it answers before pushing (the cluster suite).
  [curl]=/usr/bin/curl
  # `make bench` drives the searches through Nginx with wrk (scripts/bench/wrk.lua).
  [wrk]=/usr/bin/wrk
  # The docs pages' tests render them in a real headless browser (tests/browser.py).
  [chromium]=/usr/bin/chromium
)
# Debian's own python3 needs python3-venv for `python3 -m venv`; other builds carry it.
python3 -c "import ensurepip, venv" 2>/dev/null || wanted[python3-venv]=/nonexistent
for extra in "$@"; do wanted[$extra]=/nonexistent; done

missing=()
for package in "${!wanted[@]}"; do
  # The file, not dpkg's word: a removed package stays known to dpkg ("config-files").
  if ! compgen -G "${wanted[$package]}" >/dev/null; then
    missing+=("$package")
  fi
done
if [ ${#missing[@]} -eq 0 ]; then
  echo "system packages: all present"
  exit 0
fi

sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"
echo "system packages: installing ${missing[*]}"
$sudo apt-get update -qq
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
# Debian starts the services it installs where it can; the tests start their own.
for service in postgresql redis-server nginx; do
  $sudo service "$service" stop >/dev/null 2>&1 || true
done
echo "system packages: done"

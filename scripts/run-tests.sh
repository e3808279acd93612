#!/usr/bin/env bash
# The whole test suite: lint, SQLite, PostgreSQL, browser. Called by `make test`.
set -euo pipefail
cd "$(dirname "$0")/.."
VENV=.venv
export WANGGE_VAR_DIR="${WANGGE_VAR_DIR:-$(mktemp -d -t wangge-test-XXXX)}"
unset DATABASE_URL

echo "== ruff"
$VENV/bin/ruff check src tests bench scripts

echo "== tests on SQLite"
$VENV/bin/pytest -q -m "not browser" -p no:cacheprovider "$@"

TEST_DATABASE_URL="${TEST_DATABASE_URL:-postgres://postgres@127.0.0.1:5432/wangge}"
if $VENV/bin/python - "$TEST_DATABASE_URL" <<'PY'
import sys, psycopg, dj_database_url
cfg = dj_database_url.parse(sys.argv[1])
try:
    psycopg.connect(host=cfg["HOST"], port=cfg["PORT"] or 5432, user=cfg["USER"],
                    password=cfg["PASSWORD"] or None, dbname="postgres", connect_timeout=5).close()
except Exception as exc:
    print(exc, file=sys.stderr); sys.exit(1)
PY
then
  echo "== tests on PostgreSQL ($TEST_DATABASE_URL, fresh test database)"
  DATABASE_URL="$TEST_DATABASE_URL" $VENV/bin/pytest -q -m "not browser" -p no:cacheprovider --create-db "$@"
else
  echo "!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!"
  echo "!! NO POSTGRESQL ANSWERS at $TEST_DATABASE_URL: the suite ran on SQLite ONLY."
  echo "!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!"
  if [ "${WANGGE_REQUIRE_POSTGRES:-0}" = "1" ]; then
    echo "WANGGE_REQUIRE_POSTGRES=1: a missing PostgreSQL is a failure." >&2
    exit 1
  fi
fi

echo "== browser tests (Debian chromium)"
if [ ! -x /usr/bin/chromium ]; then
  if [ "$(id -u)" = "0" ]; then
    apt-get update -qq && apt-get install -y -qq chromium >/dev/null
  else
    echo "chromium is missing and this user cannot install it (apt-get install chromium)" >&2
    exit 1
  fi
fi
$VENV/bin/wangge collectstatic --no-input -v 0
$VENV/bin/pytest -q -m browser -p no:cacheprovider tests/browser

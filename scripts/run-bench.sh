#!/usr/bin/env bash
# Every benchmark under bench/ (called by `make bench`), or only those named: run-bench.sh locate
#
# Each bench/<name>.py prints human lines on stderr and one JSON object as the last line of its
# stdout. That line is checked to be JSON, saved as $WANGGE_VAR_DIR/bench/<name>.json (var/ by
# default) and printed, so `make bench | tail` gives every figure. A bench that fails, or whose
# last line is not JSON, makes the whole run fail after the others have run.
set -uo pipefail
cd "$(dirname "$0")/.."
PY=.venv/bin/python
OUT="${WANGGE_VAR_DIR:-var}/bench"
mkdir -p "$OUT"

if [ "$#" -gt 0 ]; then
  scripts=()
  for name in "$@"; do scripts+=("bench/${name%.py}.py"); done
else
  scripts=(bench/*.py)
fi

failed=()
for script in "${scripts[@]}"; do
  name=$(basename "$script" .py)
  case "$name" in _*) continue ;; esac
  if [ ! -f "$script" ]; then
    echo "no such benchmark: $script" >&2; failed+=("$name"); continue
  fi
  echo "== bench $name" >&2
  stdout=$("$PY" "$script")
  code=$?
  line=$(printf '%s\n' "$stdout" | tail -n 1)
  if ! printf '%s' "$line" | "$PY" -c 'import json, sys; json.loads(sys.stdin.read())' 2>/dev/null
  then
    echo "!! $name: the last line on stdout is not a JSON object: $line" >&2
    failed+=("$name"); continue
  fi
  printf '%s\n' "$line" > "$OUT/$name.json"
  printf '%s\n' "$line"
  if [ "$code" -ne 0 ]; then
    echo "!! $name exited with $code" >&2; failed+=("$name")
  fi
done

if [ "${#failed[@]}" -gt 0 ]; then
  echo "failed benchmarks: ${failed[*]}" >&2
  exit 1
fi
echo "figures saved under $OUT/" >&2

#!/bin/sh
# demo.sh - starts contrib/demo_app.py and shows `pyheapscope info` on it,
# text and JSON, then stops the demo. Used by `make demo`.
set -eu
here=$(dirname "$0")
bin=${PYHEAPSCOPE:-$here/../pyheapscope}
python=${PYTHON:-python3}
ready=$(mktemp)
rm -f "$ready"
"$python" "$here/demo_app.py" "$ready" &
pid=$!
trap 'kill $pid 2>/dev/null || true; rm -f "$ready"' EXIT
i=0
while [ ! -s "$ready" ] && [ $i -lt 100 ]; do sleep 0.05; i=$((i + 1)); done
echo "\$ pyheapscope info $pid"
"$bin" info "$pid"
echo
echo "\$ pyheapscope info --json $pid"
"$bin" info --json "$pid"

#!/bin/sh
# demo.sh - starts contrib/demo_app.py and shows `pyheapscope summary` on it
# (the heap histogram, then its largest kinds as JSON) and `pyheapscope
# info`, then stops the demo. Used by `make demo`.
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
sleep 1   # let its cache grow a little
echo "\$ pyheapscope summary $pid"
"$bin" summary "$pid"
echo
echo "\$ pyheapscope summary --json --top 3 $pid"
"$bin" summary --json --top 3 "$pid"
echo
echo "\$ pyheapscope info $pid"
"$bin" info "$pid"

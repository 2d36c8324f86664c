#!/bin/sh
# demo.sh - starts contrib/demo_app.py (a small service whose cache grows)
# and watches it with `pyheapscope top` (q quits), then stops the demo. Without
# a terminal it prints `summary`, three `top --batch` frames and `info`
# instead. Used by `make demo`.
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
if [ -t 0 ] && [ -t 1 ] && [ -z "${DEMO_BATCH:-}" ]; then
    exec_status=0
    "$bin" top "$pid" || exec_status=$?
    exit $exec_status
fi
echo "\$ pyheapscope summary $pid"
"$bin" summary "$pid"
echo
echo "\$ pyheapscope summary --json --top 3 $pid"
"$bin" summary --json --top 3 "$pid"
echo
echo "\$ pyheapscope top --batch --iterations 3 --interval 1 --top 8 $pid"
"$bin" top --batch --iterations 3 --interval 1 --top 8 "$pid"
echo "\$ pyheapscope info $pid"
"$bin" info "$pid"

#!/bin/sh
# make-corpus.sh BUILD - records the fuzzer's seed corpus: tests/fuzz/fuzz_target.py
# under each interpreter found, one recording each (record-heap), gzipped into
# tests/fuzz/corpus/. Run by `make fuzz-corpus`; the result is committed.
# A recording keeps every page the walk touched (about 3 MiB, 0.7 MiB
# gzipped), so the corpus holds one heap per layout generation, not one per
# interpreter: frame objects and old dicts (3.7), interpreter frames and
# managed dicts (3.11), immortal objects and inline values (3.13), the
# newest (3.15).
set -eu
want="pyenv-3.7. pyenv-3.11. pyenv-3.13. debian-unstable-3.15."
build=${1:-build}
here=$(cd "$(dirname "$0")" && pwd)
pyenv_root=$(pyenv root 2>/dev/null || echo "$HOME/.pyenv")
for py in "$pyenv_root"/versions/3.*/bin/python3 /usr/bin/python3.11 \
          $(for v in 3.13 3.14 3.15; do "$here/../../../shared/tools/debian-python" "$v" 2>/dev/null || true; done); do
    [ -x "$py" ] || continue
    v=$("$py" -c 'import sys; print("%d.%d.%d" % sys.version_info[:3])')
    case "$v" in 3.[0-6].*) continue ;; esac
    case "$py" in "$pyenv_root"/*) name="pyenv-$v" ;; /usr/bin/*) name="debian-$v" ;; *) name="debian-unstable-$v" ;; esac
    wanted=0
    for w in $want; do case "$name" in "$w"*) wanted=1 ;; esac; done
    [ "$wanted" = 1 ] || continue
    fifo=$(mktemp -u)
    mkfifo "$fifo"
    "$py" -S -I "$here/fuzz_target.py" > "$fifo" &
    pid=$!
    read -r line < "$fifo"
    rm -f "$fifo"
    if [ "$line" = ready ] && "$build/record-heap" "$pid" "$here/corpus/$name.rec"; then
        gzip -9 -f "$here/corpus/$name.rec"
    else
        echo "make-corpus: no recording of $py" >&2
    fi
    kill "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
done
ls -l "$here/corpus"

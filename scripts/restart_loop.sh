#!/usr/bin/env bash
# Run the restart tests N times in a row in one integration slot and log each run.
#
#   scripts/restart_loop.sh N [LOG] [pytest node ids...]
#
# Each run is one pytest process (a fresh lab, as `make test` gives it). Per run the log
# gets: the run number, start time, load average (1 min) before and after, the result, and
# for a failure the failing assertion lines; the slot's runtime folder of a failed run is
# copied to LOG.dir/run-N so the control-plane and Asterisk logs can be read afterwards.
# Environment: CENTRALA_IT_SLOT (default 5), PYTHON_BIN (default /work/main/.venv/bin/python),
# SRC: the tree to test (default this checkout; e.g. `git archive HEAD | tar -x -C DIR` to
# keep testing one commit while the checkout changes).
set -u
n=${1:?usage: restart_loop.sh N [LOG] [tests...]}
log=${2:-restart_loop.log}
shift $(( $# >= 2 ? 2 : 1 ))
tests=("$@")
if [ ${#tests[@]} -eq 0 ]; then
  tests=(tests/integration/test_restart.py tests/integration/test_restart_amd.py
         "tests/integration/test_acd_load.py::test_restart_under_load_keeps_places_and_talks")
fi
slot=${CENTRALA_IT_SLOT:-5}
py=${PYTHON_BIN:-/work/main/.venv/bin/python}
here=${SRC:-$(cd "$(dirname "$0")/.." && pwd)}
mkdir -p "$log.dir"
pass=0
for i in $(seq 1 "$n"); do
  load0=$(cut -d' ' -f1 /proc/loadavg)
  start=$(date -u +%FT%TZ)
  out="$log.dir/run-$i.out"
  (cd "$here" && CENTRALA_IT_SLOT=$slot PYTHONPATH=$here "$py" -m pytest -q -p no:cacheprovider \
     -rf "${tests[@]}") >"$out" 2>&1
  rc=$?
  load1=$(cut -d' ' -f1 /proc/loadavg)
  summary=$(grep -E '^(FAILED|ERROR)|[0-9]+ (passed|failed)' "$out" | tr '\n' ' ')
  if [ $rc -eq 0 ]; then
    pass=$((pass + 1)); verdict=PASS
  else
    verdict=FAIL
    rt=/tmp/centrala-it$slot
    [ -d "$rt" ] && cp -r "$rt" "$log.dir/run-$i" 2>/dev/null
  fi
  echo "run $i $start load $load0->$load1 $verdict rc=$rc $summary" | tee -a "$log"
  if [ $rc -ne 0 ]; then
    grep -E '^E ' "$out" | head -8 | sed 's/^/    /' | tee -a "$log"
  fi
done
echo "total: $pass/$n passed" | tee -a "$log"

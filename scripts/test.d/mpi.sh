#!/usr/bin/env bash
# MPI scale-out (docs/SCALING.md): `mpirun -n R dgeval evaluate|generate|infer|experiment
# bound-surface|grid-scan|inference` with R = 1, 2, 3 gives the bytes of a single-process run
# (cmp), the ranks really split the work (DGEVAL_MPI_DEBUG=1 makes each rank name the ranges it
# computes), a rank that fails ends the run non-zero with its message and no output, other
# commands are refused under R > 1, and a run killed (SIGKILL, at a seeded random point, printed)
# and resumed with another R gives the same bytes. Run by scripts/test.sh after ctest, hence by
# .ci/run (as root: --allow-run-as-root). Skips, saying so, when mpirun is missing or build/dgeval
# was built without MPI.
set -euo pipefail
cd "$(dirname "$0")/../.."
dgeval="$PWD/build/dgeval"
[ -x "$dgeval" ] || { echo "mpi.sh: build/dgeval is not built (run scripts/test.sh)" >&2; exit 1; }
if ! command -v mpirun >/dev/null 2>&1; then
  echo "mpi.sh: skipped: mpirun is not installed (Debian: openmpi-bin libopenmpi-dev, scripts/install-deps.sh)"
  exit 0
fi
if ! ldd "$dgeval" | grep -q 'libmpi'; then
  echo "mpi.sh: skipped: build/dgeval was built without MPI (DGEVAL_MPI=OFF or no MPI found at configure time)"
  exit 0
fi
work="$(mktemp -d "${TMPDIR:-/tmp}/dgeval-mpi.XXXXXX")"
trap 'rm -rf "$work"' EXIT
cd "$work"
# Open MPI as root and with more ranks than cores; no remote launcher (one node).
export OMPI_MCA_plm_rsh_agent=false OMPI_MCA_rmaps_base_oversubscribe=1
mpi() {
  local r=$1
  shift
  mpirun --oversubscribe --allow-run-as-root -n "$r" "$@"
}
checks=0
fail() {
  echo "mpi.sh: FAILED: $*" >&2
  exit 1
}
pass() { checks=$((checks + 1)); }

# 1. Byte-identical outputs whatever R, and every rank computes ranges.
"$dgeval" generate --dims 3x3 --games 1000 --seed 2 -o games.npz --chunk-games 100 -q
"$dgeval" evaluate --random 1000 --dims 3x2x2 --seed 5 -o random.csv --chunk-games 90 -q
"$dgeval" evaluate --input games.npz -o file.npz --chunk-games 70 -q
"$dgeval" evaluate --input games.npz -o file.jsonl --chunk-games 70 -q
"$dgeval" generate --dims 2x3 --games 500 --seed 9 --agents a.npy --principals p.npy --chunk-games 60 -q
for r in 1 2 3; do
  DGEVAL_MPI_DEBUG=1 mpi "$r" "$dgeval" generate --dims 3x3 --games 1000 --seed 2 -o "games$r.npz" \
    --chunk-games 100 -q 2>"gen$r.err"
  cmp games.npz "games$r.npz" || fail "generate with $r ranks differs from one process"
  DGEVAL_MPI_DEBUG=1 mpi "$r" "$dgeval" evaluate --random 1000 --dims 3x2x2 --seed 5 -o "random$r.csv" \
    --chunk-games 90 -q 2>"random$r.err"
  cmp random.csv "random$r.csv" || fail "evaluate --random with $r ranks differs from one process"
  DGEVAL_MPI_DEBUG=1 mpi "$r" "$dgeval" evaluate --input games.npz -o "file$r.npz" --chunk-games 70 -q 2>"file$r.err"
  cmp file.npz "file$r.npz" || fail "evaluate --input .npz -> .npz with $r ranks differs from one process"
  mpi "$r" "$dgeval" evaluate --input games.npz -o "file$r.jsonl" --chunk-games 70 -q
  cmp file.jsonl "file$r.jsonl" || fail "evaluate --input .npz -> .jsonl with $r ranks differs from one process"
  mpi "$r" "$dgeval" generate --dims 2x3 --games 500 --seed 9 --agents "a$r.npy" --principals "p$r.npy" \
    --chunk-games 60 -q
  cmp a.npy "a$r.npy" && cmp p.npy "p$r.npy" || fail "generate --agents/--principals with $r ranks differs"
  for err in "gen$r.err" "random$r.err" "file$r.err"; do
    for ((k = 0; k < r; k++)); do
      grep -q "rank $k of $r computes games" "$err" || fail "rank $k of $r computed no range ($err)"
    done
    # Each range computed exactly once, by one rank.
    ranges="$(grep -c 'computes games' "$err")"
    unique="$(grep -o 'computes games .*' "$err" | sort -u | wc -l)"
    [ "$ranges" = "$unique" ] || fail "a range was computed twice ($err)"
  done
  pass
done
[ "$(grep -c 'computes games' random3.err)" = 12 ] || fail "12 ranges of 90 games expected in random3.err"
pass

# The delegation generator (targets per game), split the same way.
"$dgeval" generate --dims 3x3 --games 1000 --ia 0.3 --ca-principals 0.6 --seed 7 -o deleg.npz --chunk-games 150 -q
mpi 3 "$dgeval" generate --dims 3x3 --games 1000 --ia 0.3 --ca-principals 0.6 --seed 7 -o deleg3.npz \
  --chunk-games 150 -q
cmp deleg.npz deleg3.npz || fail "generate --ia/--ca-principals with 3 ranks differs from one process"
pass

# 2. --check under MPI: rank 0 re-evaluates the sample, whoever computed it.
mpi 2 "$dgeval" evaluate --input games.npz -o checked.jsonl --chunk-games 70 --check 50 -q
cmp file.jsonl checked.jsonl || fail "evaluate --check with 2 ranks differs"
pass

# 3. A rank that fails after the setup ends the whole run non-zero with its message; no output.
set +e
DGEVAL_TEST_FAIL_RANK=1 mpi 3 "$dgeval" evaluate --random 1000 --dims 3x3 -o failed.csv --chunk-games 100 -q \
  2>failed.err
status=$?
set -e
[ "$status" != 0 ] || fail "a failing rank: exit status 0"
grep -q '(rank 1 of 3) dgeval evaluate: error: rank 1 fails as DGEVAL_TEST_FAIL_RANK asks' failed.err ||
  fail "a failing rank: its message is missing: $(cat failed.err)"
[ ! -e failed.csv ] || fail "a failing rank left an output"
pass
# A setup failure (every rank: a missing input): exit 1, the message once.
set +e
mpi 3 "$dgeval" evaluate --input missing.npz -o missing.csv 2>missing.err
status=$?
set -e
[ "$status" = 1 ] || fail "a missing input under MPI: exit status $status, expected 1"
[ "$(grep -c 'cannot open missing.npz' missing.err)" = 1 ] || fail "the message should be printed once: $(cat missing.err)"
pass
# Ranks started with different command lines (an MPMD launch, "A : B") are refused: exit 2, no output.
set +e
mpirun --oversubscribe --allow-run-as-root -n 1 "$dgeval" evaluate --random 100 --dims 3x3 --seed 1 -o mpmd.csv : \
  -n 1 "$dgeval" evaluate --random 100 --dims 3x3 --seed 2 -o mpmd.csv 2>mpmd.err
status=$?
set -e
[ "$status" = 2 ] || fail "ranks with different command lines: exit status $status, expected 2"
grep -q 'the ranks were started with different command lines' mpmd.err || fail "MPMD message: $(cat mpmd.err)"
[ ! -e mpmd.csv ] || fail "ranks with different command lines left an output"
pass

# 4. experiment bound-surface splits its chunks: the same bins and points whatever R.
surface="experiment bound-surface --games 200000 --chunk 20000 --keep-points 30000 -q"
"$dgeval" $surface -o surface.csv --points points.csv
for r in 2 3; do
  DGEVAL_MPI_DEBUG=1 mpi "$r" "$dgeval" $surface -o "surface$r.csv" --points "points$r.csv" 2>"surface$r.err"
  cmp surface.csv "surface$r.csv" && cmp points.csv "points$r.csv" || fail "bound-surface with $r ranks differs"
  for ((k = 0; k < r; k++)); do
    grep -q "rank $k of $r computes games" "surface$r.err" || fail "bound-surface: rank $k of $r computed nothing"
  done
  [ "$(grep -c 'computes games' "surface$r.err")" = 10 ] || fail "bound-surface: 10 chunks expected ($r ranks)"
done
pass
# 5. experiment grid-scan splits its units (a point's games, --chunk at a time): the same CSV
#    whatever R. Under --pure-ne authors the IC state carries from game to game across units and
#    points (rounds of R units whose eps_tol values the ranks exchange); the reference run must show
#    such a carry (a point with no game of its own raising eps_tol whose least IC is below its IC,
#    lowered by an earlier point), else the check would prove nothing.
for ne in reject authors; do
  grid="experiment grid-scan --sizes 3x3x3 --variables ia,ca --others 1,0.995 --increments 2 --games-per-point 60
    --chunk 25 --pure-ne $ne --seed 4 -q"
  "$dgeval" $grid -o "grid-$ne.csv"
  for r in 1 2 3; do
    DGEVAL_MPI_DEBUG=1 mpi "$r" "$dgeval" $grid -o "grid-$ne$r.csv" 2>"grid-$ne$r.err"
    cmp "grid-$ne.csv" "grid-$ne$r.csv" || fail "grid-scan --pure-ne $ne with $r ranks differs from one process"
    for ((k = 0; k < r; k++)); do
      grep -q "rank $k of $r computes games" "grid-$ne$r.err" || fail "grid-scan: rank $k of $r computed nothing"
    done
    [ "$(grep -c 'computes games' "grid-$ne$r.err")" = 36 ] || fail "grid-scan: 36 units expected ($r ranks)"
    [ "$(grep -o 'computes games .*' "grid-$ne$r.err" | sort -u | wc -l)" = 36 ] || fail "grid-scan: a unit twice"
  done
  pass
done
carried="$(awk -F, 'NR == 1 { for (i = 1; i <= NF; i++) c[$i] = i; next }
  $c["eps_tol_raised"] == 0 && $c["ic_effective_min"] < $c["ic"] { n++ } END { print n + 0 }' grid-authors.csv)"
[ "$carried" -gt 0 ] || fail "grid-scan --pure-ne authors: no IC state carried to a later point (the check is void)"
pass
# A rank that fails in a round of --pure-ne authors (the others wait in the exchange) ends the run.
set +e
DGEVAL_TEST_FAIL_RANK=2 timeout 120 mpirun --oversubscribe --allow-run-as-root -n 3 "$dgeval" $grid \
  -o grid-failed.csv 2>grid-failed.err
status=$?
set -e
[ "$status" != 0 ] && [ "$status" != 124 ] || fail "grid-scan with a failing rank: exit status $status"
grep -q '(rank 2 of 3) dgeval experiment: error: rank 2 fails' grid-failed.err ||
  fail "grid-scan with a failing rank: its message is missing: $(cat grid-failed.err)"
[ ! -e grid-failed.csv ] || fail "grid-scan with a failing rank left an output"
pass

# 6. experiment inference splits its units (a size's games, --chunk at a time): the same curves and
#    per-game errors whatever R.
inference="experiment inference --sizes 3x3,2x2x2 --games 40 --samples 60 --every 20 --chunk 7 -q"
"$dgeval" $inference -o curves.csv --per-game per-game.csv
for r in 1 2 3; do
  DGEVAL_MPI_DEBUG=1 mpi "$r" "$dgeval" $inference -o "curves$r.csv" --per-game "per-game$r.csv" 2>"curves$r.err"
  cmp curves.csv "curves$r.csv" && cmp per-game.csv "per-game$r.csv" || fail "inference with $r ranks differs"
  for ((k = 0; k < r; k++)); do
    grep -q "rank $k of $r computes games" "curves$r.err" || fail "inference: rank $k of $r computed nothing"
  done
  [ "$(grep -c 'computes games' "curves$r.err")" = 12 ] || fail "inference: 12 units expected ($r ranks)"
done
pass

# infer splits its bootstrap replicates (R contiguous ranges): the same estimates and intervals.
"$dgeval" generate --dims 3x4 --games 2 --seed 2 -o infer-game.npz -q
infer="infer --game infer-game.npz --game-index 1 --sample all,eps_ne,played --ic 0.5 --cc 0.5 --samples 150
  --resamples 200 --format csv --seed 3"
"$dgeval" $infer -o estimates.csv 2>/dev/null
for r in 1 2 3; do
  DGEVAL_MPI_DEBUG=1 mpi "$r" "$dgeval" $infer -o "estimates$r.csv" 2>"estimates$r.err"
  cmp estimates.csv "estimates$r.csv" || fail "infer with $r ranks differs from one process"
  for ((k = 0; k < r; k++)); do
    grep -q "rank $k of $r computes bootstrap replicates" "estimates$r.err" || fail "infer: rank $k of $r: nothing"
  done
done
pass

# Commands that do not split their work refuse R > 1 (no R copies over one output).
set +e
mpi 2 "$dgeval" experiment throughput --games 10 >refused.out 2>refused.err
status=$?
set -e
[ "$status" = 2 ] || fail "experiment throughput under 2 ranks: exit status $status, expected 2"
grep -q 'only evaluate, generate, infer and experiment bound-surface, grid-scan and inference split their' \
  refused.err || fail "throughput refusal message: $(cat refused.err)"
[ ! -s refused.out ] || fail "a refused throughput printed results"
pass

# 7. Killed (SIGKILL on rank 0, the journal's writer, at a seeded random range) and resumed with
#    another R, or without MPI: the same bytes (evaluate, generate, experiment bound-surface).
seed="${DGEVAL_MPI_TEST_SEED:-$(date +%s)}"
echo "mpi.sh: kill points from seed $seed (DGEVAL_MPI_TEST_SEED=$seed replays them)"
RANDOM=$seed
for plan in "2 3" "3 1" "1 2" "3 0"; do
  set -- $plan
  first=$1 then=$2
  stage=record
  ((RANDOM % 2)) && stage=part
  k=$((1 + RANDOM % 10))
  rm -f killed.csv killed.npz
  set +e
  DGEVAL_TEST_KILL_AT="$stage:$k" mpi "$first" "$dgeval" evaluate --random 1000 --dims 3x2x2 --seed 5 \
    -o killed.csv --chunk-games 90 -q 2>/dev/null
  status=$?
  set -e
  [ "$status" != 0 ] || fail "evaluate killed at $stage:$k with $first ranks: exit status 0"
  [ -d killed.csv.dgeval-journal ] || fail "no journal after the kill at $stage:$k"
  if [ "$then" = 0 ]; then
    "$dgeval" evaluate --random 1000 --dims 3x2x2 --seed 5 -o killed.csv --chunk-games 90 -q --resume
  else
    mpi "$then" "$dgeval" evaluate --random 1000 --dims 3x2x2 --seed 5 -o killed.csv --chunk-games 90 -q --resume
  fi
  cmp random.csv killed.csv || fail "evaluate killed at $stage:$k with $first ranks, resumed with $then: differs"
  [ ! -e killed.csv.dgeval-journal ] || fail "the journal is left after the resumed run"
  set +e
  DGEVAL_TEST_KILL_AT="$stage:$k" mpi "$first" "$dgeval" generate --dims 3x3 --games 1000 --seed 2 \
    -o killed.npz --chunk-games 100 -q 2>/dev/null
  status=$?
  set -e
  [ "$status" != 0 ] || fail "generate killed at $stage:$k with $first ranks: exit status 0"
  if [ "$then" = 0 ]; then
    "$dgeval" generate --dims 3x3 --games 1000 --seed 2 -o killed.npz --chunk-games 100 -q --resume
  else
    mpi "$then" "$dgeval" generate --dims 3x3 --games 1000 --seed 2 -o killed.npz --chunk-games 100 -q --resume
  fi
  cmp games.npz killed.npz || fail "generate killed at $stage:$k with $first ranks, resumed with $then: differs"
  rm -f killed-s.csv killed-p.csv
  set +e
  DGEVAL_TEST_KILL_AT="$stage:$k" mpi "$first" "$dgeval" $surface -o killed-s.csv --points killed-p.csv 2>/dev/null
  status=$?
  set -e
  [ "$status" != 0 ] || fail "bound-surface killed at $stage:$k with $first ranks: exit status 0"
  [ -d killed-s.csv.dgeval-journal ] || fail "bound-surface: no journal after the kill at $stage:$k"
  if [ "$then" = 0 ]; then
    "$dgeval" $surface -o killed-s.csv --points killed-p.csv --resume
  else
    mpi "$then" "$dgeval" $surface -o killed-s.csv --points killed-p.csv --resume
  fi
  cmp surface.csv killed-s.csv && cmp points.csv killed-p.csv ||
    fail "bound-surface killed at $stage:$k with $first ranks, resumed with $then: differs"
  [ ! -e killed-s.csv.dgeval-journal ] || fail "bound-surface: the journal is left after the resumed run"
  pass
done
echo "mpi.sh: $checks checks of MPI runs passed"

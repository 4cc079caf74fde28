# Sourced by scripts/fuzz.sh and scripts/fuzz_ci.sh: what both do before running a target.
#   fuzz_build NAME       finds clang++ ($FUZZ_CXX, else clang++-14, else clang++) and builds the
#                         libFuzzer targets of fuzz/ into build-fuzz/ (NAME prefixes its messages)
#   fuzz_seed DIR EXT...  copies the seed corpus of each file type EXT into DIR: fuzz/seeds/EXT,
#                         the fixtures tests/data/*.EXT, and the regression inputs
#                         tests/data/fuzz-regressions/EXT; with FUZZ_SEED_FIXTURE_DIRS=1 also
#                         tests/data/EXT/*.EXT (fuzz.sh; fuzz_ci.sh keeps its recorded corpus)
fuzz_build() {
  local name=$1 cxx="${FUZZ_CXX:-}" c
  if [ -z "$cxx" ]; then
    for c in clang++-14 clang++; do
      if command -v "$c" >/dev/null 2>&1; then cxx="$c"; break; fi
    done
  fi
  if [ -z "$cxx" ]; then
    echo "$name: clang++ not found (install clang-14 and libclang-rt-14-dev: scripts/install-deps.sh)" >&2
    exit 1
  fi
  cmake -B build-fuzz -S fuzz -DCMAKE_CXX_COMPILER="$cxx" -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
  cmake --build build-fuzz -j"$(nproc)"
}

fuzz_seed() {
  local dir=$1 e
  shift
  mkdir -p "$dir"
  for e in "$@"; do
    [ -d "fuzz/seeds/$e" ] && cp -f fuzz/seeds/"$e"/* "$dir"/ 2>/dev/null || true
    cp -f tests/data/*."$e" "$dir"/ 2>/dev/null || true
    [ "${FUZZ_SEED_FIXTURE_DIRS:-0}" = 1 ] && [ -d "tests/data/$e" ] && cp -f tests/data/"$e"/*."$e" "$dir"/ 2>/dev/null || true
    [ -d "tests/data/fuzz-regressions/$e" ] && cp -f tests/data/fuzz-regressions/"$e"/* "$dir"/ 2>/dev/null || true
  done
}

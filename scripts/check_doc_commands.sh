#!/usr/bin/env bash
# Runs every documented `dgeval ...` command, as written, the way a user of a fresh clone would.
#
# Every line that starts with `dgeval` inside a ```sh (or ```bash, ```shell) block of README.md
# and docs/*.md (or of the Markdown files named as arguments) is run with bash, in order, with
# build/dgeval first on the PATH. Each document runs in its own fresh copy of the repository's
# tracked files (a temporary folder, so that every document stands alone and nothing is written
# into the checkout), from the copy's top level. A command continued with a trailing `\` is
# joined with its next line. The check fails, printing the command and its output, when
#   - a command's exit status differs from the expected one: 0, or N for a command documented to
#     fail, marked with a trailing comment holding `exits N` (e.g. `dgeval ... # exits 2`);
#     the rest of that document is then skipped;
#   - after a document's commands, its copy holds a new or changed file that .gitignore does not
#     ignore (a documented command writes into the repository).
# Long commands: a command whose trailing comment states a run time of 10 s or more (`# 32 s`,
# `# 24 min on 2 CPU cores`) is run scaled down, with each of --games, --games-per-point,
# --scale and --random divided by 1000 (rounded up), unless DGEVAL_DOC_FULL=1. Lines that do not
# start with `dgeval` (python3, bash, ./build/...) are not run.
#
# Usage: bash scripts/check_doc_commands.sh [--root DIR] [--dgeval PATH] [DOC.md ...]
#        bash scripts/check_doc_commands.sh --self-test
# Environment: DGEVAL_CLI (the binary, default DIR/build/dgeval), DGEVAL_DOC_FULL=1,
#              DGEVAL_DOC_TIMEOUT (seconds per command, default 900).
# Run by scripts/test.d/doc-commands.sh (so by scripts/test.sh and CI).
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$here/.."
dgeval="${DGEVAL_CLI:-}"
docs=()
self_test=0
while [ $# -gt 0 ]; do
  case "$1" in
    --root) root="$2"; shift 2 ;;
    --dgeval) dgeval="$2"; shift 2 ;;
    --self-test) self_test=1; shift ;;
    -h|--help) sed -n '2,/^set -euo/p' "${BASH_SOURCE[0]}" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    -*) echo "check_doc_commands.sh: unknown option $1" >&2; exit 2 ;;
    *) docs+=("$1"); shift ;;
  esac
done

# Prints "NAME:LINE<TAB>COMMAND" for each dgeval line of the shell blocks of FILE (named NAME).
extract() {
  awk -v file="$2" '
    function flush() { if (cmd != "" && cmd ~ /^dgeval([ \t]|$)/) printf "%s:%d\t%s\n", file, start, cmd; cmd = "" }
    /^[ \t]*(```|~~~)/ {
      if (!inblock) { lang = $0; sub(/^[ \t]*(```+|~~~+)[ \t]*/, "", lang); sub(/[ \t].*$/, "", lang)
                      inblock = 1; shell = (lang == "sh" || lang == "bash" || lang == "shell"); cont = 0; next }
      flush(); inblock = 0; next
    }
    inblock && shell {
      line = $0
      if (!cont) { sub(/^[ \t]+/, "", line); start = FNR; cmd = "" }
      else { sub(/^[ \t]+/, "", line) }
      if (line ~ /\\$/) { sub(/[ \t]*\\$/, " ", line); cmd = cmd line; cont = 1; next }
      cmd = cmd line; cont = 0; flush()
    }
  ' "$1"
}

# Divides the size flags of a command by 1000 (rounded up, at least 1).
scale_down() {
  local out="" word pending="" value
  for word in $1; do
    if [ -n "$pending" ] && [[ $word =~ ^[0-9]+$ ]]; then
      word=$(( (word + 999) / 1000 ))
    elif [[ $word =~ ^(--(games|games-per-point|scale|random)=)([0-9]+)$ ]]; then
      value=${BASH_REMATCH[3]}
      word="${BASH_REMATCH[1]}$(( (value + 999) / 1000 ))"
    fi
    pending=""
    [[ $word =~ ^--(games|games-per-point|scale|random)$ ]] && pending=1
    out+="${out:+ }$word"
  done
  printf '%s' "$out"
}

run_checks() {
  root="$(cd "$root" && pwd)"
  [ -n "$dgeval" ] || dgeval="$root/build/dgeval"
  if [ ! -x "$dgeval" ]; then
    echo "check_doc_commands.sh: $dgeval is not an executable; build first (cmake --build build) or set DGEVAL_CLI" >&2
    return 2
  fi
  if [ ${#docs[@]} -eq 0 ]; then
    docs=(README.md)
    while IFS= read -r f; do docs+=("$f"); done < <(cd "$root" && LC_ALL=C ls docs/*.md 2>/dev/null)
  fi
  tmp="$(mktemp -d "${TMPDIR:-/tmp}/dgeval-doc-commands.XXXXXX")"
  trap 'rm -rf "$tmp"' EXIT
  mkdir -p "$tmp/bin"
  ln -s "$(cd "$(dirname "$dgeval")" && pwd)/$(basename "$dgeval")" "$tmp/bin/dgeval"
  (cd "$root" && git ls-files -z | tar --null -T - --ignore-failed-read -cf "$tmp/tree.tar")

  local failures=0 commands=0 total_ms=0 doc n copy where cmd code comment expected run status t0 ms note
  for doc in "${docs[@]}"; do
    [ -f "$root/$doc" ] || { echo "check_doc_commands.sh: no $doc in $root" >&2; failures=$((failures + 1)); continue; }
    n=0
    copy="$tmp/run-$(echo "$doc" | tr '/' '_')"
    mkdir -p "$copy"
    tar -xf "$tmp/tree.tar" -C "$copy"
    (cd "$copy" && git init -q && git add -A)
    while IFS=$'\t' read -r where cmd; do
      n=$((n + 1)); commands=$((commands + 1))
      code="${cmd%%[[:space:]]#*}"
      comment="${cmd#"$code"}"
      code="${code%"${code##*[![:space:]]}"}"
      expected=0
      [[ $comment =~ exits[[:space:]]+([0-9]+) ]] && expected=${BASH_REMATCH[1]}
      run="$code"; note=""
      if [[ $comment =~ ([0-9]+)(\.[0-9]+)?[[:space:]]*(s|min|h)([^[:alnum:]]|$) ]] && [ "${DGEVAL_DOC_FULL:-0}" != 1 ]; then
        local secs=${BASH_REMATCH[1]}
        case "${BASH_REMATCH[3]}" in min) secs=$((secs * 60)) ;; h) secs=$((secs * 3600)) ;; esac
        if [ "$secs" -ge 10 ]; then
          run="$(scale_down "$code")"
          note=" (scaled down: $run)"
        fi
      fi
      t0=$(date +%s%N)
      set +e
      (cd "$copy" && PATH="$tmp/bin:$PATH" timeout "${DGEVAL_DOC_TIMEOUT:-900}" bash -o pipefail -c "$run") \
        </dev/null >"$tmp/out" 2>&1
      status=$?
      set -e
      ms=$(( ($(date +%s%N) - t0) / 1000000 ))
      total_ms=$((total_ms + ms))
      if [ "$status" -ne "$expected" ]; then
        printf 'FAIL %4d.%02ds  %s  %s%s\n' $((ms / 1000)) $((ms % 1000 / 10)) "$where" "$code" "$note"
        echo "     exit status $status, expected $expected; output (last 40 lines):"
        tail -n 40 "$tmp/out" | sed 's/^/     | /'
        echo "     (the rest of $doc is skipped)"
        failures=$((failures + 1))
        break
      fi
      printf 'ok   %4d.%02ds  %s  %s%s\n' $((ms / 1000)) $((ms % 1000 / 10)) "$where" "$code" "$note"
    done < <(extract "$root/$doc" "$doc")
    local written
    written="$(cd "$copy" && git diff --name-only && git -c core.excludesFile=/dev/null ls-files --others --exclude-standard)"
    if [ -n "$written" ]; then
      echo "FAIL $doc: its commands wrote into the repository (not ignored by .gitignore):"
      echo "$written" | sed 's/^/     | /'
      failures=$((failures + 1))
    fi
    rm -rf "$copy"
  done
  printf 'check_doc_commands.sh: %d commands in %d documents, %d.%01d s, %d failure(s)\n' \
    "$commands" "${#docs[@]}" $((total_ms / 1000)) $((total_ms % 1000 / 100)) "$failures"
  [ "$failures" -eq 0 ]
}

# The checker on a temporary repository with a stub dgeval that logs its arguments.
run_self_test() {
  t="$(mktemp -d "${TMPDIR:-/tmp}/dgeval-doc-selftest.XXXXXX")"
  trap 'rm -rf "$t"' EXIT
  mkdir -p "$t/repo/docs" "$t/stub"
  cat >"$t/stub/dgeval" <<'EOF'
#!/usr/bin/env bash
echo "$*" >>"$DOC_SELFTEST_LOG"
case "$1" in
  fail) echo "dgeval: bad flag --nope" >&2; exit 1 ;;
  write) echo x >"$2" ;;
esac
EOF
  chmod +x "$t/stub/dgeval"
  cat >"$t/repo/README.md" <<'EOF'
# Title
```sh
dgeval ok first
dgeval fail expected        # exits 1: an error shown on purpose
dgeval ok --games 5000 --scale=3000 --random 20 --seed 7   # about 30 s
dgeval ok --games-per-point 10 --dims 5x5   # 1 min on 2 cores
dgeval ok --games 2000      # 5 s: short, run as written
dgeval ok continued \
    --flag
dgeval write ignored.out
python3 not-run
```
```text
dgeval fail in-a-text-block
```
```
dgeval fail in-an-untagged-block
```
EOF
  printf '```sh\ndgeval fail unexpected\ndgeval ok after-failure\n```\n' >"$t/repo/docs/a.md"
  printf '```sh\ndgeval write written.txt\n```\n' >"$t/repo/docs/b.md"
  printf '```bash\ndgeval ok should-fail   # exits 2\n```\n' >"$t/repo/docs/c.md"
  echo '*.out' >"$t/repo/.gitignore"
  (cd "$t/repo" && git init -q && git add -A)
  export DOC_SELFTEST_LOG="$t/log"
  local me="${BASH_SOURCE[0]}" bad=0 out
  expect_log() {
    local want="$1" got
    got="$(cat "$DOC_SELFTEST_LOG" 2>/dev/null)"
    if [ "$got" != "$want" ]; then
      printf 'check_doc_commands.sh --self-test: FAILED: the stub ran\n%s\nexpected\n%s\n' "$got" "$want" >&2
      bad=1
    fi
    rm -f "$DOC_SELFTEST_LOG"
  }
  # README.md alone passes: the marked failure, the scaled-down long command, the continuation.
  if ! out="$(DGEVAL_DOC_FULL=0 bash "$me" --root "$t/repo" --dgeval "$t/stub/dgeval" README.md 2>&1)"; then
    printf 'check_doc_commands.sh --self-test: FAILED: README.md should pass:\n%s\n' "$out" >&2; bad=1
  fi
  expect_log "ok first
fail expected
ok --games 5 --scale=3 --random 1 --seed 7
ok --games-per-point 1 --dims 5x5
ok --games 2000
ok continued --flag
write ignored.out"
  # Full size on request.
  DGEVAL_DOC_FULL=1 bash "$me" --root "$t/repo" --dgeval "$t/stub/dgeval" README.md >/dev/null 2>&1 || bad=1
  [ "$(sed -n 3p "$DOC_SELFTEST_LOG")" = "ok --games 5000 --scale=3000 --random 20 --seed 7" ] || {
    echo "check_doc_commands.sh --self-test: FAILED: DGEVAL_DOC_FULL=1 did not run the long command as written" >&2; bad=1; }
  rm -f "$DOC_SELFTEST_LOG"
  # Each bad document fails, and says why.
  local doc why
  for doc in docs/a.md docs/b.md docs/c.md; do
    case "$doc" in
      docs/a.md) why="exit status 1, expected 0" ;;
      docs/b.md) why="wrote into the repository" ;;
      docs/c.md) why="exit status 0, expected 2" ;;
    esac
    if out="$(bash "$me" --root "$t/repo" --dgeval "$t/stub/dgeval" "$doc" 2>&1)"; then
      printf 'check_doc_commands.sh --self-test: FAILED: %s should fail:\n%s\n' "$doc" "$out" >&2; bad=1
    elif [[ $out != *"$why"* ]]; then
      printf 'check_doc_commands.sh --self-test: FAILED: %s: no "%s" in\n%s\n' "$doc" "$why" "$out" >&2; bad=1
    fi
  done
  [[ $out == *"docs/c.md:2"*"dgeval ok should-fail"* ]] || {
    printf 'check_doc_commands.sh --self-test: FAILED: the failure does not name the command:\n%s\n' "$out" >&2; bad=1; }
  expect_log "fail unexpected
write written.txt
ok should-fail"
  [ "$bad" -eq 0 ] && echo "check_doc_commands.sh --self-test: ok"
  return "$bad"
}

if [ "$self_test" = 1 ]; then
  run_self_test
else
  run_checks
fi

#!/usr/bin/env bash
# The registers, spills and stack of every kernel, from ptxas -v for sm_90 (docs/PERFORMANCE.md,
# "The kernels' cost without a GPU"). Two uses:
#   kernel_resources.sh table OUT.tsv NVCC [nvcc flags...] -- SOURCE.cu...
#       compiles each source to a cubin for sm_90 with -Xptxas -v and writes one line per kernel:
#       kernel  registers  stack  spill_stores  spill_loads  shared  (bytes; tab-separated, sorted)
#       (the build runs this into build/kernel_resources.tsv: CMakeLists.txt, dgeval_kernel_resources)
#   kernel_resources.sh check MEASURED.tsv RECORDED.tsv
#       the ratchet: fails if a kernel uses more registers or stack, or spills more, than recorded,
#       or is missing from the record; says which figures went down (then lower the record:
#       cp build/kernel_resources.tsv tests/data/kernel_resources_sm90.tsv).
# Kernels are named without their namespaces and parameters (c++filt), e.g. tiled_mask_kernel<float>.
set -euo pipefail

mode=${1:?usage: kernel_resources.sh table OUT NVCC FLAGS -- SOURCES | check MEASURED RECORDED}
shift
if [[ $mode == table ]]; then
  out=$1 nvcc=$2
  shift 2
  flags=()
  while [[ $# -gt 0 && $1 != -- ]]; do flags+=("$1"); shift; done
  shift
  tmp=$(mktemp -d)
  trap 'rm -rf "$tmp"' EXIT
  for src in "$@"; do
    name=$(basename "$src" .cu)
    "$nvcc" "${flags[@]}" -arch=sm_90 -cubin -Xptxas -v "$src" -o "$tmp/$name.cubin" 2> "$tmp/$name.log" || {
      cat "$tmp/$name.log" >&2
      exit 1
    }
    cat "$tmp/$name.log" >> "$tmp/all.log"
  done
  # ptxas -v: "Compiling entry function 'NAME' for 'sm_90'", then "N bytes stack frame, N bytes
  # spill stores, N bytes spill loads", then "Used N registers, ... N bytes smem".
  awk '
    /Compiling entry function/ { match($0, /function .([^'"'"']+)/); name = substr($0, RSTART + 10, RLENGTH - 10); next }
    /bytes stack frame/ && name != "" { stack = $1; stores = $5; loads = $9; next }
    /Used [0-9]+ registers/ && name != "" {
      regs = 0; smem = 0
      for (i = 1; i <= NF; ++i) { if ($i == "registers,") regs = $(i - 1); if ($i == "smem" || $i == "smem,") smem = $(i - 2) }
      print name "\t" regs "\t" stack "\t" stores "\t" loads "\t" smem
      name = ""
    }' "$tmp/all.log" > "$tmp/mangled.tsv"
  cut -f1 "$tmp/mangled.tsv" | c++filt |
    sed -E 's/\(anonymous namespace\):://g; s/^void //; s/\(.*$//; s/^([A-Za-z_0-9]+::)*//' > "$tmp/names"
  cut -f2- "$tmp/mangled.tsv" | paste "$tmp/names" - | LC_ALL=C sort > "$tmp/table.tsv"
  { printf 'kernel\tregisters\tstack\tspill_stores\tspill_loads\tshared\n'; cat "$tmp/table.tsv"; } > "$out"
  exit 0
fi

if [[ $mode == check ]]; then
  measured=$1 recorded=$2
  awk -F'\t' '
    FNR == 1 { next }
    NR == FNR { rec[$1] = $0; next }
    {
      if (!($1 in rec)) { print "NEW    " $1 ": not in the record (add it)"; bad = 1; next }
      split(rec[$1], r, "\t"); seen[$1] = 1
      what[2] = "registers"; what[3] = "stack bytes"; what[4] = "spill-store bytes"; what[5] = "spill-load bytes"
      for (c = 2; c <= 5; ++c) {
        if ($c + 0 > r[c] + 0) { print "WORSE  " $1 ": " what[c] " " r[c] " -> " $c; bad = 1 }
        else if ($c + 0 < r[c] + 0) print "better " $1 ": " what[c] " " r[c] " -> " $c " (lower the record)"
      }
    }
    END {
      for (k in rec) if (!(k in seen)) print "gone   " k ": recorded, no longer built (remove it from the record)"
      exit bad
    }' "$recorded" "$measured" && { echo "kernel resources: no kernel uses more registers or stack, or spills more, than recorded"; exit 0; }
  echo "kernel resources: the ratchet failed (recorded: $recorded, measured: $measured)" >&2
  exit 1
fi
echo "kernel_resources.sh: unknown mode $mode" >&2
exit 2

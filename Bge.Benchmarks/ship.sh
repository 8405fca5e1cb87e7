#!/usr/bin/env bash
# The three ways in, measured side by side on this machine: time from process start to the first printed embedding
# for `bge embed hello` (dotnet run, the installed .NET tool, the Native AOT binary), steady-state encoder throughput
# of the AOT binary against the JIT build (`bge bench`, alternating), and the sizes of the binaries and packages.
# Usage: bash Bge.Benchmarks/ship.sh [runs per startup case, default 10] [seconds per bench shape, default 2] [bench rounds, default 5]
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-10}
seconds=${2:-2}
rounds=${3:-5}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
rid=linux-$(uname -m | sed 's/x86_64/x64/; s/aarch64/arm64/')

echo "cpu: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | xargs), $(nproc) cores; flags: $(grep -m1 flags /proc/cpuinfo | tr ' ' '\n' | grep -E '^(avx2|fma|avx512f|avx512bw|avx_vnni)$' | tr '\n' ' ')"
rm -rf artifacts
dotnet pack -c Release -o artifacts/ -v q -nologo > /dev/null
dotnet tool install --tool-path "$work/tool" bge --add-source artifacts/ > /dev/null
dotnet publish Bge.Cli -c Release -r "$rid" -p:PublishAot=true -o "$work/aot" -v q -nologo > /dev/null
dotnet build Bge.Cli -c Release -v q -nologo > /dev/null
export BGE_WEIGHTS="$PWD/weights"
"$work/aot/bge" embed hello > /dev/null   # provisions the default model once, outside the timings

# Milliseconds from start until the first line that prints a vector ("  [0] [...").
first_vector_ms() {
  local start end
  start=$(date +%s%N)
  "$@" embed hello 2>/dev/null | while IFS= read -r line; do
    if [[ $line == "  [0] ["* ]]; then date +%s%N; fi
  done > "$work/stamp"
  end=$(head -1 "$work/stamp")
  echo $(( (end - start) / 1000000 ))
}
median() { sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }

declare -A times
for ((i = 0; i < runs; i++)); do
  times[run]+="$(first_vector_ms dotnet run --project Bge.Cli -c Release --no-build --) "
  times[tool]+="$(first_vector_ms "$work/tool/bge") "
  times[aot]+="$(first_vector_ms "$work/aot/bge") "
  times[aot_direct]+="$(BGE_AOT_DISPATCH=0 first_vector_ms "$work/aot/bge") "
done
echo
echo "time to the first embedding, bge embed hello, median of $runs (ms):"
for k in run tool aot aot_direct; do
  printf '  %-11s %6s   (all: %s)\n' "$k" "$(tr ' ' '\n' <<< "${times[$k]}" | grep . | median)" "${times[$k]}"
done

echo
echo "throughput, bge bench --seconds $seconds, JIT (dotnet bge.dll) and AOT alternating, $rounds rounds each (tok/s):"
for ((round = 1; round <= rounds; round++)); do
  dotnet Bge.Cli/bin/Release/net10.0/bge.dll bench --seconds "$seconds" | sed -n 's/^\([0-9x]*\) tok\/s \([0-9]*\).*/jit \1 \2/p' >> "$work/bench"
  "$work/aot/bge" bench --seconds "$seconds" | sed -n 's/^\([0-9x]*\) tok\/s \([0-9]*\).*/aot \1 \2/p' >> "$work/bench"
done
"$work/aot/bge" bench --seconds 0 | head -1 | sed 's/^/  aot /'
for shape in $(awk '{ print $2 }' "$work/bench" | awk '!seen[$0]++'); do
  jit=$(awk -v s="$shape" '$1 == "jit" && $2 == s { print $3 }' "$work/bench" | median)
  aot=$(awk -v s="$shape" '$1 == "aot" && $2 == s { print $3 }' "$work/bench" | median)
  ratios=$(paste <(awk -v s="$shape" '$1 == "jit" && $2 == s { print $3 }' "$work/bench") <(awk -v s="$shape" '$1 == "aot" && $2 == s { print $3 }' "$work/bench") | awk '{ printf "%.2f ", $2 / $1 }')
  printf '  %-7s jit %6s  aot %6s  aot/jit %s   (per round: %s)\n' "$shape" "$jit" "$aot" "$(awk -v a="$aot" -v j="$jit" 'BEGIN { printf "%.2f", a / j }')" "$ratios"
done

echo
echo "sizes:"
ls -l "$work/aot" | awk 'NR > 1 && $5 > 100000 { printf "  aot %-16s %6.1f MB\n", $9, $5 / 1e6 }'
for p in artifacts/*.nupkg; do printf '  %-32s %6.1f kB\n' "$(basename "$p")" "$(( $(stat -c %s "$p") ))e-3"; done

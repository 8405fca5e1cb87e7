#!/usr/bin/env bash
# Load test of `bge serve` (arctic-embed-xs) beside a per-request ONNX Runtime host (Bge.Benchmarks ort-serve), both
# on 127.0.0.1 only, driven by Debian's `hey` (installed here if missing), each case bounded in time and run against
# the two servers in turn. Prints requests/s, p50 and p99 latency and the status codes per case, the in-process
# 32-text batch throughput of Embedder, and the server's resident memory across 100,000 requests.
#   bash Bge.Benchmarks/serve-load.sh [seconds per case, default 10]
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-10}
if ! command -v hey > /dev/null; then
  apt-get update -qq && apt-get install -y -qq hey > /dev/null
fi
dotnet build Bge.Cli -c Release -nologo -v q > /dev/null
dotnet build Bge.Benchmarks -c Release -nologo -v q > /dev/null
ours_port=18181 ort_port=18182
# With four or more CPUs the load generator gets CPU 0 and the servers the rest, so that hey does not take compute
# from them; with fewer, pinning would halve the servers, so all share every CPU (said in the output).
cpus=$(nproc)
if [ "$cpus" -ge 4 ]; then
  server_pin="taskset -c 1-$((cpus - 1))" load_pin="taskset -c 0" pinning="hey on CPU 0, servers on CPUs 1-$((cpus - 1))"
else
  server_pin="" load_pin="" pinning="not pinned: hey and the servers share all $cpus CPUs"
fi
$server_pin dotnet Bge.Cli/bin/Release/net10.0/bge.dll serve --port $ours_port --max-concurrent-requests 4096 > /tmp/bge-serve-load.log 2>&1 &
ours=$!
$server_pin dotnet Bge.Benchmarks/bin/Release/net10.0/Bge.Benchmarks.dll ort-serve --port $ort_port > /tmp/ort-serve-load.log 2>&1 &
ort=$!
trap 'kill $ours $ort 2> /dev/null || true' EXIT
for port in $ours_port $ort_port; do
  for _ in $(seq 600); do
    curl -sf -o /dev/null -X POST -H 'Content-Type: application/json' -d '{"inputs":"warm"}' http://127.0.0.1:$port/embed && break
    sleep 0.2
  done
done

text='I love machine learning and nlp'
one="{\"inputs\": \"$text\"}"
many="{\"inputs\": [$(for i in $(seq 32); do printf '"%s %d",' "$text" "$i"; done | sed 's/,$//')]}"
run() { # run NAME PORT CLIENTS BODY TEXTS_PER_REQUEST
  local out
  out=$($load_pin hey -z "${seconds}s" -c "$3" -m POST -T application/json -d "$4" "http://127.0.0.1:$2/embed")
  local rps p50 p99 codes
  rps=$(printf '%s\n' "$out" | awk '/Requests\/sec:/ { print $2 }')
  p50=$(printf '%s\n' "$out" | awk '/ 50% in / { print $3 * 1000 }')
  p99=$(printf '%s\n' "$out" | awk '/ 99% in / { print $3 * 1000 }')
  codes=$(printf '%s\n' "$out" | awk '/Status code distribution/ { on = 1; next } on && /\[/ { printf "%s%s", sep, $1 $2; sep = " " }')
  printf '| %-5s | %-26s | %9.1f | %9.0f | %8.1f | %8.1f | %s |\n' "$1" "$3 clients x $5 text(s)" "$rps" "$(echo "$rps * $5" | bc)" "$p50" "$p99" "$codes"
}
grep -m1 'model name' /proc/cpuinfo | sed 's/.*: /CPU: /'
echo "$cpus logical CPUs ($pinning); $seconds s per case; hey $(dpkg-query -W -f '${Version}' hey 2> /dev/null || echo '?')"
echo
echo '| server | load                       | requests/s |   texts/s | p50 ms | p99 ms | status codes |'
echo '|-------|----------------------------|-----------|-----------|----------|----------|--------------|'
for clients in 1 8 64; do
  run bge $ours_port $clients "$one" 1
  run ort $ort_port $clients "$one" 1
done
run bge $ours_port 8 "$many" 32
run ort $ort_port 8 "$many" 32
echo
$server_pin dotnet Bge.Benchmarks/bin/Release/net10.0/Bge.Benchmarks.dll serve-baseline --text "$text" --seconds "$seconds"
kill $ort 2> /dev/null || true
rss() { awk '/VmRSS/ { printf "%.0f", $2 / 1024 }' /proc/$ours/status; }
before=$(rss)
$load_pin hey -n 10000 -c 64 -m POST -T application/json -d "$one" http://127.0.0.1:$ours_port/embed > /dev/null
at10k=$(rss)
$load_pin hey -n 90000 -c 64 -m POST -T application/json -d "$one" http://127.0.0.1:$ours_port/embed > /dev/null
at100k=$(rss)
echo "bge serve resident memory: $before MB before, $at10k MB after 10,000 requests, $at100k MB after 100,000 (64 clients)"

#!/usr/bin/env bash
# Records new public API in each library's PublicAPI.Unshipped.txt: builds, collects the symbols PublicApiAnalyzers
# reports as undeclared (RS0016), appends them to the file of the project that reported them, and sorts the file.
# Review the diff: it is the change to the public API.
set -euo pipefail
cd "$(dirname "$0")/.."
log=$(mktemp)
dotnet build Bge.sln -c Release --no-incremental 2>&1 > "$log" || true
grep -oE "error RS0016: Symbol '.*' is not part of the declared public API .*\[[^]]+\.csproj\]" "$log" | sort -u |
  while IFS= read -r line; do
    symbol=$(printf '%s' "$line" | sed -E "s/^error RS0016: Symbol '(.*)' is not part of the declared public API .*/\1/")
    project=$(printf '%s' "$line" | sed -E 's/.*\[([^]]+\.csproj)\]$/\1/')
    printf '%s\n' "$symbol" >> "$(dirname "$project")/PublicAPI.Unshipped.txt"
  done
for file in */PublicAPI.Unshipped.txt; do
  { echo '#nullable enable'; grep -v '^#nullable enable$' "$file" | LC_ALL=C sort -u; } > "$file.tmp" && mv "$file.tmp" "$file"
done
rm -f "$log"
git diff --stat -- '*/PublicAPI.*.txt'

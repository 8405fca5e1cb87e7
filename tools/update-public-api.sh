#!/usr/bin/env bash
# Records a change of public API in each library's PublicAPI.Unshipped.txt: builds, appends the symbols
# PublicApiAnalyzers reports as undeclared (RS0016) to the file of the project that reported them, removes those it
# reports as gone (RS0017), and sorts the file.
# Review the diff: it is the change to the public API.
set -euo pipefail
cd "$(dirname "$0")/.."
log=$(mktemp)
dotnet build Bge.sln -c Release --no-incremental 2>&1 > "$log" || true
{ grep -oE "error RS0016: Symbol '.*' is not part of the declared public API .*\[[^]]+\.csproj\]" "$log" || true; } | sort -u |
  while IFS= read -r line; do
    symbol=$(printf '%s' "$line" | sed -E "s/^error RS0016: Symbol '(.*)' is not part of the declared public API .*/\1/")
    project=$(printf '%s' "$line" | sed -E 's/.*\[([^]]+\.csproj)\]$/\1/')
    printf '%s\n' "$symbol" >> "$(dirname "$project")/PublicAPI.Unshipped.txt"
  done
{ grep -oE "error RS0017: Symbol '.*' is part of the declared API, but is either not public or could not be found .*\[[^]]+\.csproj\]" "$log" || true; } | sort -u |
  while IFS= read -r line; do
    symbol=$(printf '%s' "$line" | sed -E "s/^error RS0017: Symbol '(.*)' is part of the declared API.*/\1/")
    project=$(printf '%s' "$line" | sed -E 's/.*\[([^]]+\.csproj)\]$/\1/')
    file="$(dirname "$project")/PublicAPI.Unshipped.txt"
    grep -vxF -- "$symbol" "$file" > "$file.tmp" || true
    mv "$file.tmp" "$file"
  done
for file in */PublicAPI.Unshipped.txt; do
  { echo '#nullable enable'; grep -v '^#nullable enable$' "$file" | LC_ALL=C sort -u; } > "$file.tmp" && mv "$file.tmp" "$file"
done
rm -f "$log"
git diff --stat -- '*/PublicAPI.*.txt'

#!/usr/bin/env bash
# Run one of the two commands README.md gives (the fenced block after the marker line
# "<!-- command: NAME -->"), exactly as written there, so CI proves the README.
set -euo pipefail
name="$1"
cmd=$(awk -v marker="<!-- command: $name -->" '
  $0 == marker {found = 1; next}
  found && /^```/ {if (inblock) exit; inblock = 1; next}
  found && inblock {print}
' README.md)
if [ -z "$cmd" ]; then
  echo "README.md has no command block '$name'" >&2
  exit 2
fi
echo "+ $cmd"
bash -euo pipefail -c "$cmd"

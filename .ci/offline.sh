#!/usr/bin/env bash
# Run a command with networking disabled: in a new network namespace that has only a loopback
# interface (the notebook kernels talk to Jupyter over 127.0.0.1). As root `unshare -n`; as
# another user `unshare -rn` (a user namespace). Where neither is allowed the command runs with
# the network and says so, so a missing namespace never passes for an offline check.
set -euo pipefail
inner='ip link set lo up && exec "$@"'
if ! command -v ip > /dev/null; then
  echo "offline.sh: 'ip' (iproute2) is missing; running WITH the network: $*" >&2
  exec "$@"
elif unshare -n true 2> /dev/null; then
  exec unshare -n sh -c "$inner" offline "$@"
elif unshare -rn true 2> /dev/null; then
  exec unshare -rn sh -c "$inner" offline "$@"
else
  echo "offline.sh: cannot create a network namespace here; running WITH the network: $*" >&2
  exec "$@"
fi

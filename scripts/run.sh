#!/usr/bin/env bash
# Sets everything up and runs cavra on the embedded SQLite default
# (.cavra/cavra.db under the repository, migrated automatically) at
# http://127.0.0.1:8080. Extra arguments go to `cavra serve`, e.g.
#   bash scripts/run.sh --listen 127.0.0.1:9090
#   bash scripts/run.sh --database postgresql://cavra@db/cavra
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

bash scripts/deps.sh run

# CAVRA_TESTS=OFF: the run group does not install cmocka.
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCAVRA_SANITIZE= -DCAVRA_WERROR=OFF \
	-DCAVRA_TESTS=OFF >/dev/null
cmake --build build -j2

echo "run: cavra serve $*" >&2
exec build/cavra serve "$@"

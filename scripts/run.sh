#!/usr/bin/env bash
# Sets everything up and runs cavra on the embedded SQLite default
# (.cavra/cavra.db, migrated automatically) at http://127.0.0.1:8080.
# Extra arguments go to `cavra serve`.
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/deps.sh run
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCAVRA_SANITIZE= -DCAVRA_WERROR=OFF \
	-DCAVRA_TESTS=OFF >/dev/null
cmake --build build -j"$(nproc)"
exec build/cavra serve "$@"

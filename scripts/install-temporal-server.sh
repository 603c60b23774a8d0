#!/usr/bin/env bash
# Builds the Temporal server and its SQL schema tool at the version docker-compose.yml pins, from the
# Go module proxy, into .tools/temporal-server-<version>/ (bin/temporal-server, bin/temporal-sql-tool
# and the module's Postgres schemas in schema/). Skips the build when that folder is complete.
# Needs Go 1.24+ (about 5 minutes on 2 cores the first time; seconds with warm Go caches).
#
#   bash scripts/install-temporal-server.sh           # npm run cluster, npm run test:cluster
set -euo pipefail
cd "$(dirname "$0")/.."
TEMPORAL_SERVER_VERSION=1.29.1
target=.tools/temporal-server-$TEMPORAL_SERVER_VERSION
stamp="$target/.installed"

if [ -x "$target/bin/temporal-server" ] && [ -x "$target/bin/temporal-sql-tool" ] && [ -f "$stamp" ]; then
  exit 0
fi
command -v go >/dev/null || { echo "install-temporal-server.sh: Go is needed to build the Temporal server (https://go.dev/dl)" >&2; exit 1; }
echo "Building Temporal server $TEMPORAL_SERVER_VERSION into $target (about 5 minutes the first time)" >&2
started=$SECONDS
rm -rf "$target"
build=$(mktemp -d)
trap 'rm -rf "$build"' EXIT
# Module mode outside any module: exactly the tagged version and its go.sum, checked against sum.golang.org.
GOBIN="$build" GOFLAGS=-mod=mod go install "go.temporal.io/server/cmd/server@v$TEMPORAL_SERVER_VERSION"
GOBIN="$build" GOFLAGS=-mod=mod go install "go.temporal.io/server/cmd/tools/sql@v$TEMPORAL_SERVER_VERSION"
module=$(go env GOMODCACHE)/go.temporal.io/server@v$TEMPORAL_SERVER_VERSION
mkdir -p "$target/bin" "$target/schema"
mv "$build/server" "$target/bin/temporal-server"
mv "$build/sql" "$target/bin/temporal-sql-tool"
cp -R "$module/schema/postgresql" "$target/schema/"
chmod -R u+w "$target/schema"
echo "$TEMPORAL_SERVER_VERSION built in $((SECONDS - started)) s" > "$stamp"
echo "Temporal server $TEMPORAL_SERVER_VERSION ready in $target ($((SECONDS - started)) s)" >&2

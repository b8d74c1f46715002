#!/usr/bin/env bash
# The full test suite on a fresh Debian machine: installs what the tests need
# (curl, jq, make, Node.js for the OpenAPI lint, PostgreSQL 15 with pgvector;
# each step does nothing when already installed), then runs `make test`.
# Installing needs root or sudo; `make test` alone runs on a prepared machine.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-test-deps.sh
scripts/install-pgvector.sh
go version
make test

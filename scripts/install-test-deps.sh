#!/usr/bin/env bash
# Installs what the test suite needs beyond Go: curl and jq (the developer
# guide's polling loop runs as written), Node.js and npm (the OpenAPI lint).
# Does nothing for what is already installed.
set -euo pipefail
need=()
for cmd in curl jq make; do command -v "$cmd" >/dev/null || need+=("$cmd"); done
command -v npx >/dev/null || need+=(nodejs npm)
if [ ${#need[@]} -gt 0 ]; then
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -qq
	apt-get install -y -qq "${need[@]}"
fi

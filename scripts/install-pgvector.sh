#!/usr/bin/env bash
# Makes the pgvector extension (`CREATE EXTENSION vector`, HNSW indexes need
# pgvector >= 0.7) available to the local PostgreSQL 15, for the scale-out
# deployment and the postgres package's tests.
#
# Does nothing when $(pg_config --sharedir)/extension/vector.control exists.
# Otherwise it installs PostgreSQL 15 if missing, the build tools and the
# server headers, fetches Debian trixie's pgvector source package (through a
# deb-src-only entry, so no binary package comes from trixie; the entry is
# removed again when the script ends), builds it and installs it. ~20 s plus
# downloads. Debian 12 (bookworm) is what it is written for; run as root or
# with sudo available.
set -euo pipefail

PG_MAJOR=${PG_MAJOR:-15}
PG_CONFIG=/usr/lib/postgresql/$PG_MAJOR/bin/pg_config
SRC_LIST=/etc/apt/sources.list.d/umami-pgvector-trixie-src.sources

log() { echo "install-pgvector: $*"; }

SUDO=()
if [ "$(id -u)" -ne 0 ]; then
	command -v sudo >/dev/null || { log "run as root (or install sudo)"; exit 1; }
	SUDO=(sudo)
fi
export DEBIAN_FRONTEND=noninteractive

apt_install() {
	log "apt-get install $*"
	"${SUDO[@]}" apt-get install -y -qq --no-install-recommends "$@" >/dev/null
}

control_file() {
	[ -x "$PG_CONFIG" ] || return 1
	echo "$("$PG_CONFIG" --sharedir)/extension/vector.control"
}

if control="$(control_file)" && [ -f "$control" ]; then
	log "pgvector already available ($control); nothing to do"
	exit 0
fi

log "apt-get update"
"${SUDO[@]}" apt-get update -qq

if [ ! -x "/usr/lib/postgresql/$PG_MAJOR/bin/postgres" ]; then
	apt_install "postgresql-$PG_MAJOR"
fi
apt_install "postgresql-server-dev-$PG_MAJOR" build-essential dpkg-dev ca-certificates

# Source only: without a `deb` line for trixie no binary package can come from it.
log "adding deb-src entry for Debian trixie: $SRC_LIST"
"${SUDO[@]}" tee "$SRC_LIST" >/dev/null <<'EOF'
# Added by umami scripts/install-pgvector.sh to fetch the pgvector source package.
Types: deb-src
URIs: http://deb.debian.org/debian
Suites: trixie
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
EOF
work="$(mktemp -d)"
cleanup() {
	rm -rf "$work"
	if [ -f "$SRC_LIST" ]; then
		log "removing $SRC_LIST"
		"${SUDO[@]}" rm -f "$SRC_LIST"
	fi
}
trap cleanup EXIT

log "apt-get update (with trixie sources)"
"${SUDO[@]}" apt-get update -qq

log "apt-get source pgvector in $work"
(cd "$work" && apt-get source -qq pgvector >/dev/null 2>&1) || (cd "$work" && apt-get source pgvector)
srcdir="$(find "$work" -mindepth 1 -maxdepth 1 -type d -name 'pgvector-*' | head -n1)"
[ -n "$srcdir" ] || { log "no pgvector source directory in $work"; exit 1; }
log "building $(basename "$srcdir") against $("$PG_CONFIG" --version)"

# OPTFLAGS="" builds portable code (no -march=native), as Debian does.
make -s -C "$srcdir" -j"$(nproc)" PG_CONFIG="$PG_CONFIG" OPTFLAGS="" >/dev/null
"${SUDO[@]}" make -s -C "$srcdir" PG_CONFIG="$PG_CONFIG" OPTFLAGS="" install >/dev/null

control="$(control_file)"
[ -f "$control" ] || { log "build finished but $control is missing"; exit 1; }
log "installed: $control ($(grep -E '^default_version' "$control"))"

#!/bin/sh
# bootstrap.sh [CONFIGURE-OPTIONS]: install what kurier needs to build and
# test (Debian packages, as root), then autoreconf, configure and make.
# Quick and harmless when everything is already in place.
set -eu
cd "$(dirname "$0")"

PACKAGES="gcc make autoconf automake pkg-config libc6-dev libgnutls28-dev \
libgsasl-dev libidn2-dev libcmocka-dev gnutls-bin ca-certificates time \
bash-completion zsh fish mandoc man-db"

missing=""
for p in $PACKAGES; do
	if ! dpkg-query -W -f='${Status}\n' "$p" 2>/dev/null | grep -q '^install ok installed'; then
		missing="$missing $p"
	fi
done
if [ -n "$missing" ]; then
	if [ "$(id -u)" -ne 0 ]; then
		echo "bootstrap.sh: missing Debian packages:$missing" >&2
		echo "bootstrap.sh: install them with: sudo apt-get install -y$missing" >&2
		exit 1
	fi
	echo "bootstrap.sh: installing:$missing" >&2
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -qq
	# shellcheck disable=SC2086
	apt-get install -y -qq --no-install-recommends $missing >/dev/null
fi

if [ ! -x configure ] || [ configure.ac -nt configure ] || [ Makefile.am -nt Makefile.in ]; then
	autoreconf -fi
fi
if [ $# -gt 0 ] || [ ! -f Makefile ] || [ configure -nt config.status ]; then
	./configure "$@"
fi
make -j"$(nproc 2>/dev/null || echo 2)"

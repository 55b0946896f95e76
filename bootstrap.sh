#!/bin/sh
# bootstrap.sh [CONFIGURE-OPTIONS]: install what kurier needs to build and
# test (Debian packages, as root; $EXTRA_PACKAGES too, as .ci/run adds
# clang for make fuzz), then autoreconf, configure and make.
# Quick and harmless when everything is already in place.
set -eu
cd "$(dirname "$0")"

PACKAGES="gcc make autoconf automake pkg-config libc6-dev libgnutls28-dev \
libgsasl-dev libidn2-dev libjson-c-dev libcmocka-dev gnutls-bin ca-certificates time \
bash-completion zsh fish mandoc man-db strace"
# systemd: systemd.pc says where make install puts the units, and
# tests/systemd-units.test runs its systemd-analyze verify (no running
# systemd needed).
PACKAGES="$PACKAGES systemd"
# The real callers that tests/callers/*.test and tests/system/ drive, and a
# Kerberos KDC for tests/gssapi.test (run on loopback by the test itself).
PACKAGES="$PACKAGES mutt neomutt git git-email libmailtools-perl bsd-mailx \
mailutils php-cli php-symfony-mailer python3 cron passwd krb5-kdc krb5-admin-server krb5-user ${EXTRA_PACKAGES:-}"

# bsd-mailx depends on some mail-transport-agent, and apt would pick exim4,
# which takes /usr/sbin/sendmail. Where no MTA is installed, a local
# placeholder package (nothing in it, built here with dpkg-deb) satisfies
# the dependency instead; any real MTA replaces it when installed later.
mta_placeholder() {
	dpkg-query -W -f='${Status} ${Provides}\n' 2>/dev/null |
		grep -q '^install ok installed.*mail-transport-agent' && return 0
	d=$(mktemp -d)
	mkdir -p "$d/pkg/DEBIAN"
	cat >"$d/pkg/DEBIAN/control" <<CONTROL
Package: kurier-mta-placeholder
Version: 1
Architecture: all
Maintainer: kurier developers <kurier@localhost>
Provides: mail-transport-agent
Conflicts: mail-transport-agent
Replaces: mail-transport-agent
Section: mail
Priority: optional
Description: empty stand-in for a mail transport agent (kurier tests)
 Lets bsd-mailx install without exim4 taking /usr/sbin/sendmail.
CONTROL
	dpkg-deb --build "$d/pkg" "$d/placeholder.deb" >/dev/null
	dpkg -i "$d/placeholder.deb" >/dev/null
	rm -rf "$d"
}

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
	mta_placeholder
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

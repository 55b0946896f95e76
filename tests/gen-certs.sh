#!/bin/sh
# gen-certs.sh DIR: throw-away certificates for the TLS tests, made with
# GnuTLS's certtool only. Writes into DIR:
#   ca.pem ca-key.pem                  the test CA
#   good.pem good-key.pem              localhost, 127.0.0.1, ::1 (signed by the CA)
#   wrongname.pem wrongname-key.pem    wrong.example (signed by the CA)
#   expired.pem expired-key.pem        localhost, expired in 2001 (signed by the CA)
#   selfsigned.pem selfsigned-key.pem  localhost, self-signed
#   client.pem client-key.pem          TLS client certificate for CN alice (signed by the CA)
#   idn.pem idn-key.pem                xn--bcher-kva.example, the A-label of
#                                      bücher.example (signed by the CA)
#   revoked-good.crl                   a CRL from the CA that revokes good.pem
#   empty.crl                          a CRL from the CA that revokes nothing
# Keys are ECDSA P-256, so this takes well under a second. Does nothing when
# DIR/ca.pem exists and is newer than this script.
set -eu

if [ $# -ne 1 ]; then
	echo "usage: $0 DIR" >&2
	exit 64
fi
dir=$1
# DIR/ca.pem exists and is newer than this script (find -newer: POSIX).
fresh() {
	[ -f "$dir/ca.pem" ] && [ -n "$(find "$dir/ca.pem" -newer "$0" 2>/dev/null)" ]
}
fresh && exit 0
command -v certtool >/dev/null 2>&1 || {
	echo "$0: certtool not found (Debian package gnutls-bin)" >&2
	exit 77
}

mkdir -p "$dir"
# One writer at a time (parallel test runs): a lock directory, taken over
# when a killed run left it behind.
tries=0
until mkdir "$dir/.lock" 2>/dev/null; do
	tries=$((tries + 1))
	if [ "$tries" -ge 10 ]; then
		rm -rf "$dir/.lock"
		tries=0
	fi
	sleep 1
done
tmp=
trap 'rm -rf "$tmp" "$dir/.lock"' EXIT
trap 'exit 1' INT TERM
fresh && exit 0
tmp=$(mktemp -d "$dir/.gen.XXXXXX")

# certtool is chatty on success: show what it said only when it fails.
ct() {
	certtool "$@" >"$tmp/log" 2>&1 || {
		cat "$tmp/log" >&2
		echo "$0: certtool $* failed" >&2
		exit 1
	}
}

key() {
	ct --generate-privkey --key-type=ecdsa --curve=secp256r1 \
		--outfile "$tmp/$1"
}

# sign NAME TEMPLATE-LINES: a leaf NAME.pem with key NAME-key.pem, signed by the CA.
sign() {
	name=$1
	shift
	key "$name-key.pem"
	printf '%s\n' "$@" >"$tmp/$name.tmpl"
	ct --generate-certificate --load-privkey "$tmp/$name-key.pem" \
		--load-ca-certificate "$tmp/ca.pem" --load-ca-privkey "$tmp/ca-key.pem" \
		--template "$tmp/$name.tmpl" --outfile "$tmp/$name.pem"
}

key ca-key.pem
printf '%s\n' 'cn = "kurier test CA"' 'organization = "kurier tests"' 'serial = 1' \
	'expiration_days = 3650' 'ca' 'cert_signing_key' 'crl_signing_key' >"$tmp/ca.tmpl"
ct --generate-self-signed --load-privkey "$tmp/ca-key.pem" --template "$tmp/ca.tmpl" \
	--outfile "$tmp/ca.pem"

sign good 'cn = "localhost"' 'serial = 2' 'expiration_days = 3650' \
	'dns_name = "localhost"' 'ip_address = "127.0.0.1"' 'ip_address = "::1"' \
	'tls_www_server' 'signing_key'
sign wrongname 'cn = "wrong.example"' 'serial = 3' 'expiration_days = 3650' \
	'dns_name = "wrong.example"' 'tls_www_server' 'signing_key'
sign expired 'cn = "localhost"' 'serial = 4' \
	'activation_date = "2000-01-01 00:00:00"' 'expiration_date = "2001-01-01 00:00:00"' \
	'dns_name = "localhost"' 'ip_address = "127.0.0.1"' 'tls_www_server' 'signing_key'
sign client 'cn = "alice"' 'serial = 5' 'expiration_days = 3650' \
	'tls_www_client' 'signing_key'
sign idn 'cn = "xn--bcher-kva.example"' 'serial = 7' 'expiration_days = 3650' \
	'dns_name = "xn--bcher-kva.example"' 'tls_www_server' 'signing_key'

key selfsigned-key.pem
printf '%s\n' 'cn = "localhost"' 'serial = 6' 'expiration_days = 3650' \
	'dns_name = "localhost"' 'ip_address = "127.0.0.1"' 'tls_www_server' 'signing_key' \
	>"$tmp/selfsigned.tmpl"
ct --generate-self-signed --load-privkey "$tmp/selfsigned-key.pem" \
	--template "$tmp/selfsigned.tmpl" --outfile "$tmp/selfsigned.pem"

# crl NAME [CERT]: NAME.crl from the CA, revoking CERT.pem if given.
crl() {
	printf '%s\n' 'crl_next_update = 3650' "crl_number = $3" >"$tmp/$1.tmpl"
	ct --generate-crl --load-ca-privkey "$tmp/ca-key.pem" --load-ca-certificate "$tmp/ca.pem" \
		${2:+--load-certificate "$tmp/$2.pem"} --template "$tmp/$1.tmpl" --outfile "$tmp/$1.crl"
}
crl revoked-good good 1
crl empty '' 2

for f in good wrongname expired selfsigned client idn; do
	mv -f "$tmp/$f-key.pem" "$tmp/$f.pem" "$dir/"
done
mv -f "$tmp/revoked-good.crl" "$tmp/empty.crl" "$dir/"
mv -f "$tmp/ca-key.pem" "$dir/"
mv -f "$tmp/ca.pem" "$dir/"

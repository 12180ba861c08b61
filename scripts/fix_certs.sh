#!/usr/bin/env bash
# fix_certs.sh DIR: the certificates the FIX TLS specs use, made fresh with
# openssl (nothing secret is committed). In DIR (created if missing):
#   ca.pem ca.key                  the test CA (give ca.pem to the client as its CA file)
#   server.pem server.key          good: CN=localhost, SAN DNS:localhost IP:127.0.0.1, by the CA
#   expired.pem expired.key        localhost too, by the CA, valid 2020-01-01..2020-01-02 only
#   wronghost.pem wronghost.key    by the CA, for wrong.example (no localhost, no 127.0.0.1)
#   unknown-ca.pem unknown-ca.key  another CA, which the client is not given
#   unknown.pem unknown.key        localhost, signed by unknown-ca
#   client.pem client.key          a client certificate (CN=gantry-client) by the CA
# Keys are EC P-256 (fast to make), mode 0600. Exit 2 on a usage error, 1 if
# openssl fails (its message on stderr). Deterministic in what it makes, not
# in the bytes (fresh keys each run).
set -euo pipefail
if [ $# -ne 1 ] || [ -z "$1" ]; then
  echo "usage: scripts/fix_certs.sh DIR" >&2
  exit 2
fi
dir=$1
mkdir -p "$dir"
cd "$dir"
umask 077

key() { openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$1" 2>/dev/null; }

# ca NAME CN: a self-signed CA valid ten years
ca() {
  key "$1.key"
  openssl req -x509 -new -key "$1.key" -sha256 -days 3650 -subj "/CN=$2" \
    -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" \
    -out "$1.pem" 2>/dev/null
}

# leaf NAME CA CN SAN USAGE [START END]: a certificate signed by CA; with
# START/END (YYYYMMDDHHMMSSZ) its validity is exactly that (openssl ca, the
# only way OpenSSL 3.0 sets a past notAfter).
leaf() {
  local name=$1 cauth=$2 cn=$3 san=$4 usage=$5 start=${6:-} end=${7:-}
  key "$name.key"
  openssl req -new -key "$name.key" -subj "/CN=$cn" -out "$name.csr" 2>/dev/null
  printf 'basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=%s\n%s' \
    "$usage" "${san:+subjectAltName=$san
}" >"$name.ext"
  if [ -z "$start" ]; then
    openssl x509 -req -in "$name.csr" -CA "$cauth.pem" -CAkey "$cauth.key" -CAcreateserial \
      -days 825 -sha256 -extfile "$name.ext" -out "$name.pem" 2>/dev/null
  else
    mkdir -p "ca-$name/new"
    : >"ca-$name/index.txt"
    cat >"ca-$name/ca.cnf" <<EOF
[ca]
default_ca = c
[c]
dir = ca-$name
database = \$dir/index.txt
new_certs_dir = \$dir/new
serial = \$dir/serial
default_md = sha256
policy = p
copy_extensions = none
[p]
commonName = supplied
EOF
    openssl rand -hex 8 >"ca-$name/serial"
    openssl ca -batch -config "ca-$name/ca.cnf" -cert "$cauth.pem" -keyfile "$cauth.key" \
      -startdate "$start" -enddate "$end" -extfile "$name.ext" -notext \
      -in "$name.csr" -out "$name.pem" 2>/dev/null
    rm -rf "ca-$name"
  fi
  rm -f "$name.csr" "$name.ext"
}

ca ca "gantry test CA"
ca unknown-ca "unknown test CA"
leaf server ca localhost "DNS:localhost,IP:127.0.0.1" serverAuth
leaf expired ca localhost "DNS:localhost,IP:127.0.0.1" serverAuth 20200101000000Z 20200102000000Z
leaf wronghost ca wrong.example "DNS:wrong.example" serverAuth
leaf unknown unknown-ca localhost "DNS:localhost,IP:127.0.0.1" serverAuth
leaf client ca gantry-client "" clientAuth
rm -f ./*.srl
chmod 0600 ./*.key
chmod 0644 ./*.pem

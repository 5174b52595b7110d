#!/usr/bin/env bash
# make-sample-ca.sh DIR - build a small OpenSSL CA directory for demos and tests:
# a root CA and an issuing (intermediate) CA in the `openssl ca` layout, with
# index.txt, serial, crlnumber, certs/, newcerts/, private/ (keys mode 0600),
# crl/ (a current CRL listing one revoked certificate) and openssl.cnf.
# Needs only the openssl CLI. Keys are fresh each run (nothing secret is committed).
set -euo pipefail
out=${1:?usage: make-sample-ca.sh DIR}
[ -e "$out" ] && { echo "make-sample-ca.sh: $out exists" >&2; exit 2; }
umask 022
mkdir -p "$out"
out=$(cd "$out" && pwd)

config() { # config DIR POLICY EXTENSIONS_FOR_ISSUING
  cat > "$1/openssl.cnf" <<CNF
[ ca ]
default_ca = CA_default

[ CA_default ]
dir               = $1
certs             = \$dir/certs
crl_dir           = \$dir/crl
new_certs_dir     = \$dir/newcerts
database          = \$dir/index.txt
serial            = \$dir/serial
crlnumber         = \$dir/crlnumber
private_key       = \$dir/private/ca.key.pem
certificate       = \$dir/certs/ca.cert.pem
crl               = \$dir/crl/ca.crl.pem
default_md        = sha256
default_days      = 375
default_crl_days  = 30
preserve          = no
unique_subject    = no
policy            = $2
copy_extensions   = copy

[ policy_strict ]
countryName             = match
organizationName        = match
commonName              = supplied

[ policy_loose ]
countryName             = optional
organizationName        = optional
commonName              = supplied

[ req ]
distinguished_name = req_dn
prompt             = no
[ req_dn ]
CN = unused

[ v3_ca ]
subjectKeyIdentifier   = hash
authorityKeyIdentifier = keyid:always,issuer
basicConstraints       = critical, CA:true
keyUsage               = critical, digitalSignature, cRLSign, keyCertSign

[ v3_intermediate_ca ]
subjectKeyIdentifier   = hash
authorityKeyIdentifier = keyid:always,issuer
basicConstraints       = critical, CA:true, pathlen:0
keyUsage               = critical, digitalSignature, cRLSign, keyCertSign

[ server_cert ]
basicConstraints       = CA:FALSE
subjectKeyIdentifier   = hash
authorityKeyIdentifier = keyid,issuer
keyUsage               = critical, digitalSignature, keyEncipherment
extendedKeyUsage       = serverAuth
CNF
}

layout() { # layout DIR
  mkdir -p "$1"/{certs,crl,newcerts,private,csr}
  chmod 700 "$1/private"
  : > "$1/index.txt"
  echo 1000 > "$1/serial"
  echo 1000 > "$1/crlnumber"
}

q() { "$@" >/dev/null 2>&1 || { echo "make-sample-ca.sh: failed: $*" >&2; "$@"; exit 1; }; }

root=$out
inter=$out/intermediate
layout "$root"; config "$root" policy_strict
layout "$inter"; config "$inter" policy_loose

# Root CA.
q openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:3072 -out "$root/private/ca.key.pem"
chmod 600 "$root/private/ca.key.pem"
q openssl req -config "$root/openssl.cnf" -new -x509 -days 7300 -sha256 -extensions v3_ca \
  -key "$root/private/ca.key.pem" -subj "/C=NL/O=Example Community CA/CN=Example Community Root CA" \
  -out "$root/certs/ca.cert.pem"

# Issuing CA, signed by the root.
q openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$inter/private/ca.key.pem"
chmod 600 "$inter/private/ca.key.pem"
q openssl req -config "$inter/openssl.cnf" -new -sha256 -key "$inter/private/ca.key.pem" \
  -subj "/C=NL/O=Example Community CA/CN=Example Community Issuing CA" -out "$inter/csr/ca.csr.pem"
q openssl ca -batch -config "$root/openssl.cnf" -extensions v3_intermediate_ca -days 3650 -notext \
  -in "$inter/csr/ca.csr.pem" -out "$inter/certs/ca.cert.pem"
cat "$inter/certs/ca.cert.pem" "$root/certs/ca.cert.pem" > "$inter/certs/ca-chain.cert.pem"

# Server certificates from the issuing CA; the last one is revoked.
for name in www.example-ca.org ocsp.example-ca.org old.example-ca.org; do
  q openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$inter/private/$name.key.pem"
  chmod 600 "$inter/private/$name.key.pem"
  q openssl req -config "$inter/openssl.cnf" -new -sha256 -key "$inter/private/$name.key.pem" \
    -subj "/CN=$name" -addext "subjectAltName=DNS:$name" -out "$inter/csr/$name.csr.pem"
  q openssl ca -batch -config "$inter/openssl.cnf" -extensions server_cert -days 375 \
    -in "$inter/csr/$name.csr.pem" -out "$inter/certs/$name.cert.pem"
done
q openssl ca -config "$inter/openssl.cnf" -revoke "$inter/certs/old.example-ca.org.cert.pem" -crl_reason superseded
q openssl ca -config "$root/openssl.cnf" -gencrl -out "$root/crl/ca.crl.pem"
q openssl ca -config "$inter/openssl.cnf" -gencrl -out "$inter/crl/ca.crl.pem"
echo "sample CA in $out: $(find "$out" -type f | wc -l) files"

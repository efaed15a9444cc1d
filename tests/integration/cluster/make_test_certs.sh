#!/usr/bin/env bash
# Generates throw-away TLS material for the node-port tests, at test time:
# never commit what it writes. Usage:
#   make_test_certs.sh [--passphrase PASS] DIR [NODE...]
# NODE defaults to "gateway worker". Writes into DIR (created, mode 0700):
#   ca.pem, ca.key                 the test CA (the nodes' openssl.cafile)
#   NODE.pem, NODE.key             a node certificate signed by the CA, for
#                                  both TLS roles (serverAuth, clientAuth),
#                                  SAN DNS:NODE, DNS:localhost, IP:127.0.0.1
#   rogue-ca.pem, rogue-ca.key     another CA, trusted by nobody
#   rogue.pem, rogue.key           a node certificate signed by the rogue CA
#   self-signed.pem, self-signed.key   a self-signed node certificate
#   expired.pem, expired.key       signed by the test CA, valid only in 2020
# With --passphrase, every node key (NODE.key, rogue.key, self-signed.key,
# expired.key) is encrypted with PASS (AES-256); the CA keys never are.
# Keys are EC P-256; certificates are valid for 2 days (except expired.pem).
set -euo pipefail

usage() {
  sed -n '2,17p' "$0" | sed 's/^# \{0,1\}//' >&2
  exit 2
}

passphrase=""
while [ $# -gt 0 ]; do
  case "$1" in
    --passphrase) [ $# -ge 2 ] || usage; passphrase="$2"; shift 2 ;;
    --passphrase=*) passphrase="${1#*=}"; shift ;;
    -h|--help) usage ;;
    --) shift; break ;;
    -*) echo "make_test_certs.sh: unknown option $1" >&2; usage ;;
    *) break ;;
  esac
done
[ $# -ge 1 ] || usage
dir="$1"
shift
nodes=("$@")
if [ ${#nodes[@]} -eq 0 ]; then
  nodes=(gateway worker)
fi
for node in "${nodes[@]}"; do
  case "$node" in
    ca|rogue-ca|rogue|self-signed|expired|*[!A-Za-z0-9._-]*|'')
      echo "make_test_certs.sh: bad node name '$node'" >&2
      exit 2 ;;
  esac
done

command -v openssl >/dev/null || {
  echo "make_test_certs.sh: the openssl command is missing (apt-get install openssl)" >&2
  exit 1
}

mkdir -p "$dir"
chmod 700 "$dir"
umask 077
work="$(mktemp -d "$dir/.work.XXXXXX")"
trap 'rm -rf "$work"' EXIT

days=2
subj_prefix="/O=weft test"

# new_key FILE [encrypt]: an EC P-256 private key in PKCS#8 PEM.
new_key() {
  if [ "${2:-}" = encrypt ] && [ -n "$passphrase" ]; then
    openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 \
      -aes-256-cbc -pass "pass:$passphrase" -out "$1" 2>/dev/null
  else
    openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$1" \
      2>/dev/null
  fi
}

# new_ca NAME: NAME.key and a self-signed CA certificate NAME.pem.
new_ca() {
  new_key "$dir/$1.key"
  openssl req -x509 -new -key "$dir/$1.key" -sha256 -days "$days" \
    -subj "$subj_prefix/CN=$1" \
    -addext "basicConstraints=critical,CA:TRUE" \
    -addext "keyUsage=critical,keyCertSign,cRLSign" \
    -out "$dir/$1.pem"
}

# node_ext NAME: the X.509v3 extensions of a node certificate.
node_ext() {
  cat > "$work/$1.ext" <<EXT
basicConstraints=critical,CA:FALSE
keyUsage=critical,digitalSignature,keyEncipherment
extendedKeyUsage=serverAuth,clientAuth
subjectAltName=DNS:$1,DNS:localhost,IP:127.0.0.1
EXT
}

# key_pass: the -passin argument for an encrypted node key.
key_pass() {
  if [ -n "$passphrase" ]; then
    printf 'pass:%s' "$passphrase"
  else
    printf 'pass:'
  fi
}

# new_node NAME CA: NAME.key and NAME.pem signed by CA.
new_node() {
  new_key "$dir/$1.key" encrypt
  node_ext "$1"
  openssl req -new -key "$dir/$1.key" -passin "$(key_pass)" \
    -subj "$subj_prefix/CN=$1" -out "$work/$1.csr"
  openssl x509 -req -in "$work/$1.csr" -CA "$dir/$2.pem" -CAkey "$dir/$2.key" \
    -CAcreateserial -CAserial "$work/$2.srl" -sha256 -days "$days" \
    -extfile "$work/$1.ext" -out "$dir/$1.pem" 2>/dev/null
}

new_ca ca
new_ca rogue-ca
for node in "${nodes[@]}"; do
  new_node "$node" ca
done
new_node rogue rogue-ca

# A self-signed node certificate (its own issuer, not a CA).
new_key "$dir/self-signed.key" encrypt
node_ext self-signed
openssl req -x509 -new -key "$dir/self-signed.key" -passin "$(key_pass)" \
  -sha256 -days "$days" -subj "$subj_prefix/CN=self-signed" \
  -addext "basicConstraints=critical,CA:FALSE" \
  -addext "extendedKeyUsage=serverAuth,clientAuth" \
  -addext "subjectAltName=DNS:self-signed,DNS:localhost,IP:127.0.0.1" \
  -out "$dir/self-signed.pem"

# An expired certificate from the real CA: `openssl x509` cannot back-date,
# `openssl ca` can (-startdate / -enddate).
new_key "$dir/expired.key" encrypt
openssl req -new -key "$dir/expired.key" -passin "$(key_pass)" \
  -subj "$subj_prefix/CN=expired" -out "$work/expired.csr"
node_ext expired
mkdir -p "$work/ca-db"
: > "$work/ca-db/index.txt"
cat > "$work/ca.cnf" <<CNF
[ ca ]
default_ca = test_ca
[ test_ca ]
database = $work/ca-db/index.txt
new_certs_dir = $work/ca-db
serial = $work/ca-db/serial
default_md = sha256
policy = any
unique_subject = no
[ any ]
organizationName = optional
commonName = supplied
CNF
echo 1000 > "$work/ca-db/serial"
openssl ca -batch -config "$work/ca.cnf" -cert "$dir/ca.pem" \
  -keyfile "$dir/ca.key" -in "$work/expired.csr" -out "$dir/expired.pem" \
  -startdate 20200101000000Z -enddate 20200102000000Z \
  -extfile "$work/expired.ext" -notext 2>/dev/null

chmod 600 "$dir"/*.key
chmod 644 "$dir"/*.pem
echo "make_test_certs.sh: wrote CA, ${nodes[*]}, rogue, self-signed and expired certificates to $dir"

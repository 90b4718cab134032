#!/bin/sh
# Generate throw-away test PKI for tests_host/test_x509.py into directory $1.
# Everything (keys included) is created at test time in a temp dir; nothing here is
# meant to be committed or reused.
#
#   root (self-signed CA)  -> int1 (CA) -> int2 (CA) -> leaf (localhost, 127.0.0.1)
#
# plus variants that each break one rule, signed with the same keys so only that
# rule fails. All keys are P-256 and all signatures ecdsa-with-SHA256 unless named.
set -eu
OUT=${1:?usage: make_certs.sh OUTDIR}
mkdir -p "$OUT"
cd "$OUT"

ecgen() { openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$1" 2>/dev/null; }

cat > ext.cnf <<'EOF'
[ca]
basicConstraints = critical, CA:TRUE
keyUsage = critical, keyCertSign, cRLSign
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
[ca_pathlen0]
basicConstraints = critical, CA:TRUE, pathlen:0
keyUsage = critical, keyCertSign, cRLSign
[ca_noca]
basicConstraints = critical, CA:FALSE
keyUsage = critical, keyCertSign, cRLSign
[ca_nokcs]
basicConstraints = critical, CA:TRUE
keyUsage = critical, digitalSignature
[leaf]
basicConstraints = CA:FALSE
keyUsage = critical, digitalSignature
extendedKeyUsage = serverAuth
subjectAltName = DNS:localhost, IP:127.0.0.1, DNS:Device.Example.COM, IP:::1
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
[leaf_wild]
subjectAltName = DNS:*.example.com
[leaf_nosan]
keyUsage = critical, digitalSignature
[leaf_crit]
subjectAltName = DNS:localhost
1.3.6.1.4.1.55555.1 = critical, ASN1:NULL
[leaf_noncrit]
subjectAltName = DNS:localhost
1.3.6.1.4.1.55555.1 = ASN1:NULL
[leaf_client]
extendedKeyUsage = clientAuth
subjectAltName = DNS:localhost
[leaf_keyenc]
keyUsage = critical, keyEncipherment
subjectAltName = DNS:localhost
EOF

# Minimal `openssl ca` setup, only to choose arbitrary validity dates.
mkdir -p newcerts
: > index.txt
echo 1000 > serial
cat > ca.cnf <<EOF
[ca]
default_ca = dflt
[dflt]
dir = .
database = ./index.txt
new_certs_dir = ./newcerts
serial = ./serial
default_md = sha256
policy = pol
unique_subject = no
[pol]
commonName = supplied
EOF

# sign NAME CN KEY ISSUER EXTSECTION SERIAL
sign() {
    openssl req -new -key "$3" -subj "/CN=$2" -out "$1.csr"
    openssl x509 -req -in "$1.csr" -CA "$4.pem" -CAkey "$4.key" -sha256 -days 3650 \
        -set_serial "$6" -extfile ext.cnf -extensions "$5" -out "$1.pem" 2>/dev/null
}
# sign_dates NAME CN KEY ISSUER EXTSECTION START END
sign_dates() {
    openssl req -new -key "$3" -subj "/CN=$2" -out "$1.csr"
    openssl ca -config ca.cnf -batch -notext -in "$1.csr" -cert "$4.pem" -keyfile "$4.key" \
        -startdate "$6" -enddate "$7" -extfile ext.cnf -extensions "$5" -out "$1.pem" 2>/dev/null
}

for k in root int1 int2 leaf other_root; do ecgen "$k.key"; done
openssl req -x509 -new -key root.key -subj "/O=microdtls test/CN=Test Root CA" -sha256 \
    -days 7300 -set_serial 1 -addext "basicConstraints=critical,CA:TRUE" \
    -addext "keyUsage=critical,keyCertSign,cRLSign" -out root.pem
# A different root with a different name, and one with the same name but another key.
openssl req -x509 -new -key other_root.key -subj "/CN=Other Root CA" -sha256 -days 7300 \
    -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign" \
    -out other_root.pem
openssl req -x509 -new -key other_root.key -subj "/O=microdtls test/CN=Test Root CA" -sha256 \
    -days 7300 -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign" \
    -out same_name_root.pem

sign int1 "Test Intermediate 1" int1.key root ca 0x0100
sign int2 "Test Intermediate 2" int2.key int1 ca 0x80
# 20-octet serial with the top bit set (encoded in 21 octets with a leading zero)
sign leaf localhost leaf.key int2 leaf 0xF123456789ABCDEF0123456789ABCDEF01234567

# Variants of int1/int2 with the same names and keys, so signatures still verify.
sign int1_pathlen0 "Test Intermediate 1" int1.key root ca_pathlen0 0x0101
sign int2_noca "Test Intermediate 2" int2.key int1 ca_noca 0x81
sign int2_nokcs "Test Intermediate 2" int2.key int1 ca_nokcs 0x82

# Leaf variants under int2.
sign leaf_wild wild.example.com leaf.key int2 leaf_wild 11
sign leaf_nosan localhost leaf.key int2 leaf_nosan 12
sign leaf_crit localhost leaf.key int2 leaf_crit 13
sign leaf_noncrit localhost leaf.key int2 leaf_noncrit 14
sign leaf_client localhost leaf.key int2 leaf_client 15
sign leaf_keyenc localhost leaf.key int2 leaf_keyenc 16
openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:1024 -out rsa.key 2>/dev/null
sign leaf_rsa localhost rsa.key int2 leaf 17
# Validity: expired (UTCTime), not yet valid (GeneralizedTime past 2049), 1990s UTCTime.
sign_dates leaf_expired localhost leaf.key int2 leaf 200101000000Z 210101000000Z
sign_dates leaf_future localhost leaf.key int2 leaf 20600101000000Z 20700101000000Z
sign_dates leaf_1999 localhost leaf.key int2 leaf 991231235959Z 20500101000000Z
# An RSA-signed CA (signature algorithm the client does not support).
cp rsa.key rsa_root.key
openssl req -x509 -new -key rsa_root.key -subj "/CN=RSA Root" -sha256 -days 3650 \
    -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign" \
    -out rsa_root.pem
sign leaf_under_rsa localhost leaf.key rsa_root leaf 18

# Keys in the formats parse_spki / parse_ec_private_key accept or reject.
openssl pkey -in leaf.key -pubout -out leaf_pub.pem
openssl pkey -in leaf.key -pubout -outform DER -out leaf_pub.der
openssl pkey -in leaf.key -pubout -out leaf_pub_compressed.pem -ec_conv_form compressed 2>/dev/null \
    || openssl ec -in leaf.key -pubout -conv_form compressed -out leaf_pub_compressed.pem 2>/dev/null
openssl ec -in leaf.key -out leaf_sec1.key 2>/dev/null
openssl ec -in leaf.key -outform DER -out leaf_sec1.der 2>/dev/null
openssl pkey -in leaf.key -outform DER -out leaf_pkcs8.der
openssl ecparam -name prime256v1 -genkey -out ecparam.key
openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-384 -out p384.key 2>/dev/null
openssl pkey -in p384.key -pubout -out p384_pub.pem
openssl pkey -in rsa.key -pubout -out rsa_pub.pem
openssl pkcs8 -topk8 -in leaf.key -passout pass:test -out leaf_encrypted.key 2>/dev/null

# DER copies of every certificate and a bundle for PEM multi-block tests.
for f in *.pem; do
    case "$f" in *_pub*.pem) continue ;; esac
    openssl x509 -in "$f" -outform DER -out "${f%.pem}.der"
done
cat root.pem other_root.pem > bundle.pem
rm -f ./*.csr

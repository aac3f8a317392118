#!/usr/bin/env bash
# Generates the spdm-lite test PKI for both algorithm sets (run from anywhere; writes next to
# this script). Set A: P-256 keys, ecdsa-with-SHA256. Set B: P-384 keys, ecdsa-with-SHA384.
# Per set: root CA -> intermediate CA -> responder leaf (digitalSignature, CA:FALSE), plus an
# unrelated root with its own intermediate and leaf for the "wrong root" negative test.
# Outputs DER certificates (*.cert.der), SEC1 DER private keys (*.key.der) and, per set,
# chain.der (root||intermediate||leaf) and other_chain.der.
# Test material only: these keys are public.
set -euo pipefail
cd "$(dirname "$0")"
DAYS=36500

gen_set() {
    local dir=$1 curve=$2 md=$3
    mkdir -p "$dir"
    local t
    t=$(mktemp -d)
    cat >"$t/ca.ext" <<'X'
basicConstraints=critical,CA:TRUE
keyUsage=critical,keyCertSign,cRLSign
subjectKeyIdentifier=hash
authorityKeyIdentifier=keyid
X
    cat >"$t/leaf.ext" <<'X'
basicConstraints=critical,CA:FALSE
keyUsage=critical,digitalSignature
subjectKeyIdentifier=hash
authorityKeyIdentifier=keyid
X
    for p in "" other_; do
        openssl ecparam -name "$curve" -genkey -noout -outform DER -out "$dir/${p}root.key.der"
        openssl ecparam -name "$curve" -genkey -noout -outform DER -out "$dir/${p}inter.key.der"
        openssl ecparam -name "$curve" -genkey -noout -outform DER -out "$dir/${p}leaf.key.der"
        openssl req -new -x509 -"$md" -days $DAYS -keyform DER -key "$dir/${p}root.key.der" \
            -subj "/CN=spdm-lite test ${p}root $curve" -addext basicConstraints=critical,CA:TRUE \
            -addext keyUsage=critical,keyCertSign,cRLSign -set_serial 1 \
            -outform DER -out "$dir/${p}root.cert.der"
        openssl req -new -"$md" -keyform DER -key "$dir/${p}inter.key.der" \
            -subj "/CN=spdm-lite test ${p}intermediate $curve" -out "$t/inter.csr"
        openssl x509 -req -"$md" -days $DAYS -in "$t/inter.csr" -CAform DER -CA "$dir/${p}root.cert.der" \
            -CAkeyform DER -CAkey "$dir/${p}root.key.der" -set_serial 2 -extfile "$t/ca.ext" \
            -outform DER -out "$dir/${p}inter.cert.der"
        openssl req -new -"$md" -keyform DER -key "$dir/${p}leaf.key.der" \
            -subj "/CN=spdm-lite test ${p}responder $curve" -out "$t/leaf.csr"
        openssl x509 -req -"$md" -days $DAYS -in "$t/leaf.csr" -CAform DER -CA "$dir/${p}inter.cert.der" \
            -CAkeyform DER -CAkey "$dir/${p}inter.key.der" -set_serial 3 -extfile "$t/leaf.ext" \
            -outform DER -out "$dir/${p}leaf.cert.der"
        cat "$dir/${p}root.cert.der" "$dir/${p}inter.cert.der" "$dir/${p}leaf.cert.der" \
            >"$dir/${p}chain.der"
    done
    # A leaf without digitalSignature (keyCertSign only), for the key-usage negative test.
    cat >"$t/bad.ext" <<'X'
basicConstraints=critical,CA:FALSE
keyUsage=critical,keyEncipherment
X
    openssl req -new -"$md" -keyform DER -key "$dir/leaf.key.der" \
        -subj "/CN=spdm-lite test leaf without digitalSignature" -out "$t/bad.csr"
    openssl x509 -req -"$md" -days $DAYS -in "$t/bad.csr" -CAform DER -CA "$dir/inter.cert.der" \
        -CAkeyform DER -CAkey "$dir/inter.key.der" -set_serial 4 -extfile "$t/bad.ext" \
        -outform DER -out "$dir/bad_usage_leaf.cert.der"
    cat "$dir/root.cert.der" "$dir/inter.cert.der" "$dir/bad_usage_leaf.cert.der" \
        >"$dir/bad_usage_chain.der"
    bridge "$dir" "$md" "$curve" "$t"
    rm -rf "$t"
}

# A second responder under the same intermediate: the serializer bridge of a camera link
# (cse-link's demo authenticates a sensor and a bridge on one link). Run alone with
# `gen.sh bridge` to add it to an existing PKI without regenerating the rest.
bridge() {
    local dir=$1 md=$2 curve=$3 t=$4
    cat >"$t/bridge.ext" <<'X'
basicConstraints=critical,CA:FALSE
keyUsage=critical,digitalSignature
subjectKeyIdentifier=hash
authorityKeyIdentifier=keyid
X
    openssl ecparam -name "$curve" -genkey -noout -outform DER -out "$dir/bridge_leaf.key.der"
    openssl req -new -"$md" -keyform DER -key "$dir/bridge_leaf.key.der" \
        -subj "/CN=spdm-lite test serializer bridge $curve" -out "$t/bridge.csr"
    openssl x509 -req -"$md" -days $DAYS -in "$t/bridge.csr" -CAform DER -CA "$dir/inter.cert.der" \
        -CAkeyform DER -CAkey "$dir/inter.key.der" -set_serial 5 -extfile "$t/bridge.ext" \
        -outform DER -out "$dir/bridge_leaf.cert.der"
    cat "$dir/root.cert.der" "$dir/inter.cert.der" "$dir/bridge_leaf.cert.der" \
        >"$dir/bridge_chain.der"
}

# Requester (ECU) identities for mutual authentication, under the existing root/intermediate
# of a set (and the other root): req_chain.der (leaf EKU = SPDM requester-auth
# 1.3.6.1.4.1.412.274.4), req_noeku_chain.der (the same kind of leaf, EKU = responder-auth only,
# for the EKU negative test), other_req_chain.der (requester leaf under the other root).
# Keys: req_leaf.key.der, other_req_leaf.key.der. `gen.sh requester` adds only these files.
gen_requester() {
    local dir=$1 curve=$2 md=$3
    local t
    t=$(mktemp -d)
    cat >"$t/req.ext" <<'X'
basicConstraints=critical,CA:FALSE
keyUsage=critical,digitalSignature
extendedKeyUsage=1.3.6.1.4.1.412.274.4
subjectKeyIdentifier=hash
authorityKeyIdentifier=keyid
X
    cat >"$t/noeku.ext" <<'X'
basicConstraints=critical,CA:FALSE
keyUsage=critical,digitalSignature
extendedKeyUsage=1.3.6.1.4.1.412.274.3
subjectKeyIdentifier=hash
authorityKeyIdentifier=keyid
X
    for p in "" other_; do
        openssl ecparam -name "$curve" -genkey -noout -outform DER -out "$dir/${p}req_leaf.key.der"
        openssl req -new -"$md" -keyform DER -key "$dir/${p}req_leaf.key.der" \
            -subj "/CN=spdm-lite test ${p}requester $curve" -out "$t/req.csr"
        openssl x509 -req -"$md" -days $DAYS -in "$t/req.csr" -CAform DER -CA "$dir/${p}inter.cert.der" \
            -CAkeyform DER -CAkey "$dir/${p}inter.key.der" -set_serial 5 -extfile "$t/req.ext" \
            -outform DER -out "$dir/${p}req_leaf.cert.der"
        cat "$dir/${p}root.cert.der" "$dir/${p}inter.cert.der" "$dir/${p}req_leaf.cert.der" \
            >"$dir/${p}req_chain.der"
    done
    openssl req -new -"$md" -keyform DER -key "$dir/req_leaf.key.der" \
        -subj "/CN=spdm-lite test requester without requester-auth EKU" -out "$t/noeku.csr"
    openssl x509 -req -"$md" -days $DAYS -in "$t/noeku.csr" -CAform DER -CA "$dir/inter.cert.der" \
        -CAkeyform DER -CAkey "$dir/inter.key.der" -set_serial 6 -extfile "$t/noeku.ext" \
        -outform DER -out "$dir/req_noeku_leaf.cert.der"
    cat "$dir/root.cert.der" "$dir/inter.cert.der" "$dir/req_noeku_leaf.cert.der" \
        >"$dir/req_noeku_chain.der"
    rm -rf "$t"
}

case "${1:-}" in
bridge)
    t=$(mktemp -d)
    bridge p256 sha256 prime256v1 "$t"
    bridge p384 sha384 secp384r1 "$t"
    rm -rf "$t"
    echo "bridge generated in $(pwd)"
    exit 0
    ;;
requester) ;;
*)
    gen_set p256 prime256v1 sha256
    gen_set p384 secp384r1 sha384
    t=$(mktemp -d)
    bridge p256 sha256 prime256v1 "$t"
    bridge p384 sha384 secp384r1 "$t"
    rm -rf "$t"
    ;;
esac
gen_requester p256 prime256v1 sha256
gen_requester p384 secp384r1 sha384
echo "generated in $(pwd)"

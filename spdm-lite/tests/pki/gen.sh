#!/usr/bin/env bash
# Generates the spdm-lite test PKI for both algorithm sets with the project's own tool,
# `cse pki` (cse-link; no openssl). Run from anywhere; writes next to this script, replacing
# every file (all keys are new). Set A: P-256 keys, ecdsa-with-SHA256. Set B: P-384 keys,
# ecdsa-with-SHA384.
#
# Per set, made with `cse pki init` (root CA: CA pathLen 1; intermediate CA: CA pathLen 0; both
# keyCertSign/cRLSign, SKI/AKI), `cse pki csr` (a device key and its PKCS#10 request) and
# `cse pki issue` (the device certificate: CA:FALSE, digitalSignature, SPDM EKU, the request's
# serialNumber):
#   root.cert.der, inter.cert.der                 the CA (keys root.key.der, inter.key.der: PKCS#8)
#   leaf.cert.der, chain.der, leaf.key.der        the responder (EKU responder-auth, serial 3)
#   other_*                                       the same under an unrelated root, for the
#                                                 "wrong root" negative tests
#   bad_usage_leaf.cert.der, bad_usage_chain.der  leaf.key.der's key with keyUsage
#                                                 keyEncipherment only (the key-usage negative test)
#   bridge_leaf.*, bridge_chain.der               a second responder under the same intermediate:
#                                                 the serializer bridge of cse-link's demo
#   req_leaf.*, req_chain.der                     the requester (ECU) identity for mutual
#                                                 authentication (EKU requester-auth)
#   other_req_leaf.*, other_req_chain.der         a requester under the other root
#   req_noeku_leaf.cert.der, req_noeku_chain.der  req_leaf.key.der's key with the responder-auth
#                                                 EKU only (the requester EKU negative test)
# chain.der-style files are root || intermediate || leaf (concatenated DER); device keys
# (*leaf.key.der) are SEC1 DER, what `EcdsaSigningKey::from_sec1_der` reads.
#
# After regenerating, copy the files of cse-link/pki/p256 (cse-link's tests/pki.rs checks they
# are equal) and regenerate what embeds them: examples/firmware-m4/src/recorded.rs with
#   cargo run --release --manifest-path examples/firmware-host/Cargo.toml -- examples/firmware-m4/src/recorded.rs
# Test material only: these keys are public.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
repo="$(cd "$here/../../.." && pwd)"
cargo build -q --manifest-path "$repo/Cargo.toml" -p cse-link --bin cse
cse="${CARGO_TARGET_DIR:-$repo/target}/debug/cse"

gen_set() {
    local dir=$out/$1 curve=$2
    local t
    t=$(mktemp -d)
    mkdir -p "$dir"
    for p in "" other_; do
        "$cse" pki init --out "$t/${p}ca" --curve "$curve" --years 100 --name "spdm-lite test ${p}$curve" >/dev/null
        for f in root.cert.der root.key.der inter.cert.der inter.key.der; do
            cp "$t/${p}ca/$f" "$dir/${p}$f"
        done
        leaf "$t" "${p}ca" "$dir" "$curve" "${p}leaf" "spdm-lite test ${p}responder" 3 responder "${p}chain.der"
        leaf "$t" "${p}ca" "$dir" "$curve" "${p}req_leaf" "spdm-lite test ${p}requester" 5 requester "${p}req_chain.der"
    done
    leaf "$t" ca "$dir" "$curve" bridge_leaf "spdm-lite test serializer bridge" 5 responder bridge_chain.der
    # Existing keys, other certificates: the negative tests sign with the genuine keys.
    "$cse" pki csr --curve "$curve" --cn "spdm-lite test leaf without digitalSignature" \
        --key "$dir/leaf.key.der" --out "$t/bad.csr" >/dev/null
    "$cse" pki issue --ca "$t/ca" --csr "$t/bad.csr" --serial 4 --role responder \
        --test-key-encipherment --out "$dir/bad_usage_leaf.cert.der" \
        --chain-out "$dir/bad_usage_chain.der" >/dev/null
    "$cse" pki csr --curve "$curve" --cn "spdm-lite test requester without requester-auth EKU" \
        --key "$dir/req_leaf.key.der" --out "$t/noeku.csr" >/dev/null
    "$cse" pki issue --ca "$t/ca" --csr "$t/noeku.csr" --serial 6 --role responder \
        --out "$dir/req_noeku_leaf.cert.der" --chain-out "$dir/req_noeku_chain.der" >/dev/null
    rm -rf "$t"
}

# leaf TMP CA DIR CURVE NAME CN SERIAL ROLE CHAIN: a new device key DIR/NAME.key.der, its
# certificate DIR/NAME.cert.der from CA, and the chain DIR/CHAIN.
leaf() {
    local t=$1 ca=$2 dir=$3 curve=$4 name=$5 cn=$6 serial=$7 role=$8 chain=$9
    "$cse" pki csr --curve "$curve" --cn "$cn $curve" --device-serial "${name//_/-}-$serial" \
        --key-out "$dir/$name.key.der" --out "$t/$name.csr" >/dev/null
    "$cse" pki issue --ca "$t/$ca" --csr "$t/$name.csr" --serial "$serial" --role "$role" \
        --out "$dir/$name.cert.der" --chain-out "$dir/$chain" >/dev/null
}

# Everything is made in a temporary directory first: the cse binary embeds files of this PKI
# (spdm-lite's fuzzing module), and a failed run leaves the committed files as they were.
out=$(mktemp -d)
gen_set p256 p256
gen_set p384 p384
for set in p256 p384; do
    rm -f "$here/$set"/*.der
    mkdir -p "$here/$set"
    cp "$out/$set"/*.der "$here/$set/"
done
rm -rf "$out"
echo "generated in $here"

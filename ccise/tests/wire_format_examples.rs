//! The CCISE worked examples of `docs/wire-format.md` (section "CCISE"), byte for byte, with
//! the tags and the keystream recomputed independently from the documented MAC input (RustCrypto
//! `cmac`, `aes` and `aes-gcm`), so neither the document nor the code can drift.
#![allow(clippy::unwrap_used)]

mod common;

use aes::Aes128;
use aes::cipher::{BlockCipherEncrypt, KeyInit};
use ccise::wire::{self, ContextParams, Kind};
use ccise::{Config, Controller, SimSensor};
use cmac::{Cmac, Mac};
use cse_core::{CipherSuite, KeyId, Profile, TagLen};
use hex_literal::hex;

const TO_TARGET_KEY: [u8; 16] = hex!("00 01 02 03 04 05 06 07 08 09 0A 0B 0C 0D 0E 0F");
const TO_CONTROLLER_KEY: [u8; 16] = hex!("40 41 42 43 44 45 46 47 48 49 4A 4B 4C 4D 4E 4F");
const TO_CONTROLLER_MAC_KEY: [u8; 16] = hex!("C0 C1 C2 C3 C4 C5 C6 C7 C8 C9 CA CB CC CD CE CF");

fn cmac16(key: &[u8; 16], pieces: &[&[u8]]) -> [u8; 16] {
    let mut m = <Cmac<Aes128> as KeyInit>::new_from_slice(key).unwrap();
    for p in pieces {
        m.update(p);
    }
    m.finalize().into_bytes().into()
}

fn hexs(b: &[u8]) -> String {
    b.iter()
        .map(|x| format!("{x:02X}"))
        .collect::<Vec<_>>()
        .join(" ")
}

// Example 1: AES-128-CMAC, 16-byte tag, device 0x36, write 12 34 56 78 to 0x0100, counter 1.
const EX1_CONTEXT: [u8; 32] = hex!(
    "01 02 00 03 10 02 00 00 00 00 01 00 00 00 00 01 00 00 00 36 00 00 00 00"
    "00 00 00 00 00 00 00 00"
);
const EX1_HEADER: [u8; 16] = hex!("01 36 01 00 00 04 00 00 00 01 00 00 00 00 00 00");
const EX1_FRAME: [u8; 26] = hex!(
    "01 00 12 34 56 78 00 00 00 01"
    "52 54 63 16 63 13 48 40 8E 45 38 84 3F 93 97 94"
);

#[test]
fn example_1_cmac_write() {
    let p = ContextParams {
        suite: CipherSuite::Aes128Cmac,
        tag_len: TagLen::L16,
        key_id: KeyId::default(),
    };
    let ctx = wire::context(&Profile::DRAFT_1, &p, Kind::Write, false, 1, 0x36);
    let hdr = wire::mac_header(Kind::Write, 0x36, 0x0100, 4, 1, 0);
    let data = hex!("12 34 56 78");
    let tag = cmac16(&TO_TARGET_KEY, &[&ctx, &hdr, &data]);

    let mut ctrl =
        Controller::new(Config::new(0x36), common::keys(CipherSuite::Aes128Cmac)).unwrap();
    let mut frame = [0u8; 64];
    let s = ctrl.seal_write(0x0100, &data, &mut frame).unwrap();
    println!(
        "ctx {}\nhdr {}\nframe {}",
        hexs(&ctx),
        hexs(&hdr),
        hexs(&frame[..s.len])
    );
    assert_eq!(
        &frame[10..s.len],
        &tag,
        "tag = CMAC(key, context ‖ header ‖ data)"
    );
    assert_eq!(ctx, EX1_CONTEXT);
    assert_eq!(hdr, EX1_HEADER);
    assert_eq!(&frame[..s.len], &EX1_FRAME);
}

// Example 2: AES-128-CMAC, 8-byte tags, read 4 bytes from 0x0000 (the chip id): request counter
// 1, response counter 1, clear data.
const EX2_REQUEST: [u8; 15] = hex!("00 00 04 00 00 00 01 D8 39 E5 C1 C0 6E A8 16");
const EX2_RESPONSE: [u8; 16] = hex!("0C 15 E0 01 00 00 00 01 4E 30 C7 63 29 D8 05 87");

#[test]
fn example_2_clear_read() {
    let cfg = Config::new(0x36).with_tag_len(TagLen::L8);
    let p = ContextParams {
        suite: CipherSuite::Aes128Cmac,
        tag_len: TagLen::L8,
        key_id: KeyId::default(),
    };
    let (mut ctrl, mut tgt) = common::pair(CipherSuite::Aes128Cmac, cfg);
    let mut map = SimSensor::demo();
    let mut req = [0u8; 64];
    let (pending, s) = ctrl.seal_read_request(0x0000, 4, &mut req).unwrap();
    let req = &req[..s.len];
    let mut resp = [0u8; 64];
    let a = tgt.handle_read(req, &mut map, &mut resp).unwrap();
    let resp = &resp[..a.response_len];
    println!("req {}\nresp {}", hexs(req), hexs(resp));

    let ctx = wire::context(&Profile::DRAFT_1, &p, Kind::ReadRequest, false, 1, 0x36);
    let hdr = wire::mac_header(Kind::ReadRequest, 0x36, 0x0000, 4, 1, 0);
    assert_eq!(&req[7..], &cmac16(&TO_TARGET_KEY, &[&ctx, &hdr])[..8]);
    let ctx = wire::context(&Profile::DRAFT_1, &p, Kind::ReadResponse, false, 1, 0x36);
    let hdr = wire::mac_header(Kind::ReadResponse, 0x36, 0x0000, 4, 1, 1);
    println!("resp ctx {}\nresp hdr {}", hexs(&ctx), hexs(&hdr));
    assert_eq!(
        ctx,
        hex!(
            "01 02 00 03 08 02 00 00 00 00 00 00 00 00 00 01 00 00 00 36 00 00 00 00"
            "00 00 00 00 00 00 00 00"
        )
    );
    assert_eq!(hdr, hex!("03 36 00 00 00 04 00 00 00 01 00 00 00 01 00 00"));
    assert_eq!(
        &resp[8..],
        &cmac16(&TO_CONTROLLER_KEY, &[&ctx, &hdr, &resp[..4]])[..8]
    );

    assert_eq!(req, &EX2_REQUEST);
    assert_eq!(resp, &EX2_RESPONSE);
    let mut out = [0u8; 4];
    assert_eq!(ctrl.open_read_response(pending, resp, &mut out), Ok(4));
    assert_eq!(out, hex!("0C 15 E0 01"));
}

// Example 3: AES-128-CTR+CMAC, 16-byte tags, encrypted reads: read 4 bytes from the protected
// register 0x0300 (plaintext C0 C1 C2 C3); request counter 1, response counter 1.
const EX3_IV: [u8; 12] = hex!("80 A1 A2 A3 A4 A5 A6 A6 A8 A9 AA 9D");
const EX3_REQUEST: [u8; 23] =
    hex!("03 00 04 00 00 00 01 ED F6 0D DC CB 36 27 8A 08 FE 72 5F 49 0E 42 27");
const EX3_RESPONSE: [u8; 24] = hex!(
    "22 A7 EA 95 00 00 00 01"
    "36 B8 36 BF 97 0F 6B 6B 90 F9 BB 46 9D 6B 21 4A"
);

#[test]
fn example_3_encrypted_read() {
    let suite = CipherSuite::Aes128CtrCmac;
    let cfg = Config::new(0x36).with_encrypted_reads(true);
    let (mut ctrl, mut tgt) = common::pair(suite, cfg);
    let mut map = SimSensor::demo();
    let mut req = [0u8; 64];
    let (pending, s) = ctrl.seal_read_request(0x0300, 4, &mut req).unwrap();
    let mut resp = [0u8; 64];
    let a = tgt.handle_read(&req[..s.len], &mut map, &mut resp).unwrap();
    let resp = &resp[..a.response_len];
    println!("req {}\nresp {}", hexs(&req[..s.len]), hexs(resp));

    // IV = salt XOR (stream id ‖ counter << 32 | address); keystream from IV ‖ 00000002.
    let salt: [u8; 12] = core::array::from_fn(|i| 0xA0 + i as u8);
    let mut sid_pn = [0u8; 12];
    sid_pn[..4].copy_from_slice(&0x2000_0000u32.to_be_bytes());
    sid_pn[4..].copy_from_slice(&((1u64 << 32) | 0x36).to_be_bytes());
    let iv: [u8; 12] = core::array::from_fn(|i| salt[i] ^ sid_pn[i]);
    println!("iv {}", hexs(&iv));
    let mut block = [0u8; 16];
    block[..12].copy_from_slice(&iv);
    block[15] = 2;
    let mut block = block.into();
    Aes128::new(&TO_CONTROLLER_KEY.into()).encrypt_block(&mut block);
    let ct: Vec<u8> = hex!("C0 C1 C2 C3")
        .iter()
        .zip(block.iter())
        .map(|(p, k)| p ^ k)
        .collect();
    assert_eq!(&resp[..4], &ct[..]);
    let p = ContextParams {
        suite,
        tag_len: TagLen::L16,
        key_id: KeyId::default(),
    };
    let ctx = wire::context(&Profile::DRAFT_1, &p, Kind::ReadResponse, true, 1, 0x36);
    let hdr = wire::mac_header(Kind::ReadResponse, 0x36, 0x0300, 4, 1, 1);
    println!("ctx {}", hexs(&ctx));
    assert_eq!(
        &resp[8..],
        &cmac16(&TO_CONTROLLER_MAC_KEY, &[&ctx, &hdr, &ct])
    );

    assert_eq!(iv, EX3_IV);
    assert_eq!(&req[..s.len], &EX3_REQUEST);
    assert_eq!(resp, &EX3_RESPONSE);
    let mut out = [0u8; 4];
    assert_eq!(ctrl.open_read_response(pending, resp, &mut out), Ok(4));
    assert_eq!(out, hex!("C0 C1 C2 C3"));
}

// Example 4: AES-128-GCM, 16-byte tags, encrypted reads: read 4 bytes from the protected
// register 0x0300 (plaintext C0 C1 C2 C3); request counter 1, response counter 1. The response
// is AES-GCM with AAD = context ‖ header (48 bytes) and the register bytes as plaintext, not a
// GMAC over context ‖ header ‖ ciphertext.
const EX4_REQUEST: [u8; 23] =
    hex!("03 00 04 00 00 00 01 06 56 A3 51 30 19 EF DF 48 FE 09 92 9D 3B B0 B4");
const EX4_RESPONSE: [u8; 24] = hex!(
    "22 A7 EA 95 00 00 00 01"
    "40 92 07 23 93 A4 CE E5 D7 C3 0D EC DB 03 22 0D"
);

#[test]
fn example_4_gcm_encrypted_read() {
    use aes_gcm::Aes128Gcm;
    use aes_gcm::aead::{AeadInOut, KeyInit as _};
    let suite = CipherSuite::Aes128Gcm;
    let cfg = Config::new(0x36).with_encrypted_reads(true);
    let (mut ctrl, mut tgt) = common::pair(suite, cfg);
    let mut map = SimSensor::demo();
    let mut req = [0u8; 64];
    let (pending, s) = ctrl.seal_read_request(0x0300, 4, &mut req).unwrap();
    let req = &req[..s.len];
    let mut resp = [0u8; 64];
    let a = tgt.handle_read(req, &mut map, &mut resp).unwrap();
    let resp = &resp[..a.response_len];
    println!("req {}\nresp {}", hexs(req), hexs(resp));

    let p = ContextParams {
        suite,
        tag_len: TagLen::L16,
        key_id: KeyId::default(),
    };
    // The request: GMAC = AES-GCM with AAD = context ‖ header and an empty plaintext, IV of
    // the controller-to-sensor stream (0xA0000000).
    let salt: [u8; 12] = core::array::from_fn(|i| 0xA0 + i as u8);
    let iv_of = |sid: u32| -> [u8; 12] {
        let mut sid_pn = [0u8; 12];
        sid_pn[..4].copy_from_slice(&sid.to_be_bytes());
        sid_pn[4..].copy_from_slice(&((1u64 << 32) | 0x36).to_be_bytes());
        core::array::from_fn(|i| salt[i] ^ sid_pn[i])
    };
    // A request carries no data: its context says SV 2 even when responses are encrypted.
    let ctx = wire::context(&Profile::DRAFT_1, &p, Kind::ReadRequest, false, 1, 0x36);
    let hdr = wire::mac_header(Kind::ReadRequest, 0x36, 0x0300, 4, 1, 0);
    let aad: Vec<u8> = [&ctx[..], &hdr[..]].concat();
    let req_tag = Aes128Gcm::new_from_slice(&TO_TARGET_KEY)
        .unwrap()
        .encrypt_inout_detached(&iv_of(0xA000_0000).into(), &aad, (&mut [][..]).into())
        .unwrap();
    assert_eq!(
        &req[7..],
        &req_tag[..],
        "request tag = GMAC(context ‖ header)"
    );

    // The response: AES-GCM, IV of the sensor-to-controller stream (0x20000000), AAD = context
    // (SV 1) ‖ header, plaintext = the register bytes.
    let ctx = wire::context(&Profile::DRAFT_1, &p, Kind::ReadResponse, true, 1, 0x36);
    let hdr = wire::mac_header(Kind::ReadResponse, 0x36, 0x0300, 4, 1, 1);
    println!("resp ctx {}\nresp hdr {}", hexs(&ctx), hexs(&hdr));
    let aad: Vec<u8> = [&ctx[..], &hdr[..]].concat();
    let iv = iv_of(0x2000_0000);
    println!("iv {}", hexs(&iv));
    let mut data = hex!("C0 C1 C2 C3");
    let tag = Aes128Gcm::new_from_slice(&TO_CONTROLLER_KEY)
        .unwrap()
        .encrypt_inout_detached(&iv.into(), &aad, (&mut data[..]).into())
        .unwrap();
    assert_eq!(&resp[..4], &data, "ciphertext = GCM-AE(plaintext)");
    assert_eq!(
        &resp[8..],
        &tag[..],
        "tag = GCM tag over AAD and ciphertext"
    );
    // What the docs used to say (a GMAC over context ‖ header ‖ ciphertext) is another tag.
    let gmac_input: Vec<u8> = [&ctx[..], &hdr[..], &data[..]].concat();
    let wrong = Aes128Gcm::new_from_slice(&TO_CONTROLLER_KEY)
        .unwrap()
        .encrypt_inout_detached(&iv.into(), &gmac_input, (&mut [][..]).into())
        .unwrap();
    assert_ne!(&resp[8..], &wrong[..]);

    assert_eq!(
        iv, EX3_IV,
        "same IV as example 3: the IV does not depend on the suite"
    );
    assert_eq!(req, &EX4_REQUEST);
    assert_eq!(resp, &EX4_RESPONSE);
    let mut out = [0u8; 4];
    assert_eq!(ctrl.open_read_response(pending, resp, &mut out), Ok(4));
    assert_eq!(out, hex!("C0 C1 C2 C3"));
}

// Example 5: AES-128-CMAC, 16-byte tags: after example 1's write, read 4 bytes from 0x0000
// (the chip id): request counter 2, response counter 1 (the read of the vector
// `aes128cmac-t16-clear-reads`). The response's context and IV number use the response's own
// counter; the request's counter is bound only by header bytes 10..14.
const EX5_REQUEST: [u8; 23] =
    hex!("00 00 04 00 00 00 02 1C 34 87 A1 BC FE 49 F6 35 1A E2 5A 57 B1 C3 07");
const EX5_RESPONSE_CONTEXT: [u8; 32] = hex!(
    "01 02 00 03 10 02 00 00 00 00 00 00 00 00 00 01 00 00 00 36 00 00 00 00"
    "00 00 00 00 00 00 00 00"
);
const EX5_RESPONSE_HEADER: [u8; 16] = hex!("03 36 00 00 00 04 00 00 00 01 00 00 00 02 00 00");
const EX5_RESPONSE: [u8; 24] = hex!(
    "0C 15 E0 01 00 00 00 01"
    "8C 6E 1E F1 5D 0B 62 21 9F F4 CF 6C 21 C1 DD E0"
);

#[test]
fn example_5_response_counter_differs_from_the_request_counter() {
    let cfg = Config::new(0x36);
    let p = ContextParams {
        suite: CipherSuite::Aes128Cmac,
        tag_len: TagLen::L16,
        key_id: KeyId::default(),
    };
    let (mut ctrl, mut tgt) = common::pair(CipherSuite::Aes128Cmac, cfg);
    let mut map = SimSensor::demo();
    let mut frame = [0u8; 64];
    let s = ctrl
        .seal_write(0x0100, &hex!("12 34 56 78"), &mut frame)
        .unwrap();
    assert_eq!(&frame[..s.len], &EX1_FRAME);
    assert_eq!(
        tgt.handle_write(&frame[..s.len], &mut map).unwrap().counter,
        1
    );

    let mut req = [0u8; 64];
    let (pending, s) = ctrl.seal_read_request(0x0000, 4, &mut req).unwrap();
    let req = &req[..s.len];
    let mut resp = [0u8; 64];
    let a = tgt.handle_read(req, &mut map, &mut resp).unwrap();
    let resp = &resp[..a.response_len];
    println!("req {}\nresp {}", hexs(req), hexs(resp));

    // The request: its own counter 2 in the context and header.
    let ctx = wire::context(&Profile::DRAFT_1, &p, Kind::ReadRequest, false, 2, 0x36);
    let hdr = wire::mac_header(Kind::ReadRequest, 0x36, 0x0000, 4, 2, 0);
    assert_eq!(&req[7..], &cmac16(&TO_TARGET_KEY, &[&ctx, &hdr]));

    // The response: context number 1 << 32 | 0x36 (its own counter 1), header counter 1 and
    // request counter 2.
    let ctx = wire::context(&Profile::DRAFT_1, &p, Kind::ReadResponse, false, 1, 0x36);
    let hdr = wire::mac_header(Kind::ReadResponse, 0x36, 0x0000, 4, 1, 2);
    println!("resp ctx {}\nresp hdr {}", hexs(&ctx), hexs(&hdr));
    assert_eq!(ctx, EX5_RESPONSE_CONTEXT);
    assert_eq!(hdr, EX5_RESPONSE_HEADER);
    assert_eq!(
        &resp[8..],
        &cmac16(&TO_CONTROLLER_KEY, &[&ctx, &hdr, &resp[..4]])
    );
    // With the request's counter in the context instead, the tag would differ.
    let wrong_ctx = wire::context(&Profile::DRAFT_1, &p, Kind::ReadResponse, false, 2, 0x36);
    assert_ne!(
        &resp[8..],
        &cmac16(&TO_CONTROLLER_KEY, &[&wrong_ctx, &hdr, &resp[..4]])
    );

    assert_eq!(req, &EX5_REQUEST);
    assert_eq!(resp, &EX5_RESPONSE);
    let mut out = [0u8; 4];
    assert_eq!(ctrl.open_read_response(pending, resp, &mut out), Ok(4));
    assert_eq!(out, hex!("0C 15 E0 01"));
}

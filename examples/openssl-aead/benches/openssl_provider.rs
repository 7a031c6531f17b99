#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]
//! The ovpn data channel with the OpenSSL AEAD provider, one operation per iteration, measured
//! by the same code as `ovpn/benches/data_channel.rs` (shared by path), so
//! `ovpn/benches/compare_openssl.sh` reports both backends side by side:
//!
//! * `openssl_provider/<cipher>/{encrypt,decrypt}/<N>`: `DataKey::encrypt` / `decrypt` of an
//!   N-byte tunnel packet as P_DATA_V2 with AEAD keys from [`openssl_aead::OpensslAead`].
//!
//! `cargo bench -p openssl-aead --features openssl --bench openssl_provider`

use criterion::{criterion_group, criterion_main, Criterion};
use ovpn::crypto::Digest;
use ovpn::data::Cipher;

#[path = "../../../ovpn/benches/common/mod.rs"]
mod common;

fn openssl_provider(c: &mut Criterion) {
    common::per_packet(
        c,
        "openssl_provider",
        &[
            (Cipher::Aes256Gcm, Digest::None),
            (Cipher::ChaCha20Poly1305, Digest::None),
        ],
        &[1024, 1400, 8192],
        Some(&openssl_aead::OpensslAead::default()),
    );
}

criterion_group!(benches, openssl_provider);
criterion_main!(benches);

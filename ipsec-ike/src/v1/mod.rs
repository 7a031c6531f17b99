//! IKEv1 (ISAKMP, RFC 2408; IKE, RFC 2409): the message codec ([`wire`]), the key schedule
//! and message protection ([`crypto`]), and a sans-IO main/aggressive mode PSK + quick mode
//! session in both roles ([`session`], which also teaches NAT traversal, DPD, deletes, XAuth
//! and mode config).
//!
//! # IKEv1 in one page
//!
//! IKEv1 negotiates in two phases. **Phase 1** builds an ISAKMP SA (named by the two 8-byte
//! cookies of the header) that protects everything after it; **phase 2** (quick mode) uses it
//! to negotiate the ESP/AH SAs. Unlike IKEv2 there is no request/response window: each
//! exchange is a fixed sequence of messages, and the side that sent the last message
//! retransmits until it sees the next one.
//!
//! ```text
//!  Main mode (exchange 2, six messages, identities encrypted):
//!   I -> R  HDR, SA                       proposals (encryption, hash, auth method, group,
//!                                         lifetime as TV/TLV data attributes), VIDs
//!   R -> I  HDR, SA                       the one chosen transform
//!   I -> R  HDR, KE, Ni, NAT-D, NAT-D     g^xi, nonce, hashes of the addresses (RFC 3947)
//!   R -> I  HDR, KE, Nr, NAT-D, NAT-D     both now compute g^xy, SKEYID and the keys; NAT
//!                                         found: move to UDP 4500 with the non-ESP marker
//!   I -> R  HDR*, IDii, HASH_I            * = encrypted (flag E) with Ka, CBC
//!   R -> I  HDR*, IDir, HASH_R
//!
//!  Aggressive mode (exchange 4, three messages, identities in the clear):
//!   I -> R  HDR, SA, KE, Ni, IDii
//!   R -> I  HDR, SA, KE, Nr, IDir, HASH_R, NAT-D...
//!   I -> R  HDR*, HASH_I
//!
//!  Quick mode (exchange 32, under the ISAKMP SA, fresh random M-ID):
//!   I -> R  HDR*, HASH(1), SA, Ni [, KE] [, IDci, IDcr]   ESP proposals (SPI = I's inbound)
//!   R -> I  HDR*, HASH(2), SA, Nr [, KE] [, IDci, IDcr]   SPI = R's inbound
//!   I -> R  HDR*, HASH(3)                                  liveness proof; SAs installed
//!
//!  Informational (exchange 5): HDR*, HASH(1), N or D   (DPD R-U-THERE, delete, errors)
//!  Transaction (exchange 6): HDR*, HASH, ATTR          (XAuth user/password, mode config)
//! ```
//!
//! What each payload is for: **SA** (with its **Proposal** and **Transform** sub-payloads)
//! offers and answers algorithms and lifetimes; **KE** carries a Diffie-Hellman public value;
//! **NONCE** the freshness both key schedules mix in; **ID** says who the peer is in phase 1
//! (address, FQDN, user FQDN, DN, key ID) and which traffic the SA carries in phase 2
//! (address, subnet or range, with protocol and port); **HASH** authenticates (HASH_I/HASH_R
//! with a pre-shared key, HASH(1..3) in quick mode, the HASH of informational messages);
//! **SIG**, **CERT** and **CR** carry signatures, certificates and certificate requests;
//! **N** notifies errors and status (INITIAL-CONTACT, R-U-THERE for dead peer detection);
//! **D** deletes SAs by SPI; **VID** advertises extensions (NAT-T, DPD, XAuth, fragmentation);
//! **NAT-D** and **NAT-OA** detect NATs and carry the original address for transport mode;
//! **ATTR** carries mode config and XAuth attributes.
//!
//! ## Keys and the CBC IV chain
//!
//! After message 4 of main mode both sides derive SKEYID (from the pre-shared key and the
//! nonces, or for signatures from the nonces and g^xy) and from it SKEYID_d (phase-2 keying),
//! SKEYID_a (phase-2 authentication) and SKEYID_e (the encryption key Ka); see
//! [`crypto`] for the formulas. Encryption is CBC with an IV that is never sent:
//!
//! * the first encrypted phase-1 message uses `hash(g^xi | g^xr)` truncated to the block
//!   size, and each following phase-1 message uses the last ciphertext block of the one
//!   before it;
//! * every phase-2 and informational exchange starts from `hash(last phase-1 block | M-ID)`,
//!   and quick mode then chains on its own last ciphertext block, so the exchanges of one
//!   ISAKMP SA run independent chains.
//!
//! A lost or reordered message therefore breaks decryption of what follows in the same chain,
//! which is why a receiver keeps the IV of the last message it accepted and a retransmission
//! is the same ciphertext again. The capture test
//! (`tests/v1_captures.rs`) decrypts a strongSwan main mode, quick mode and two informational
//! messages along exactly these chains.

pub mod crypto;
pub mod session;
pub mod wire;

//! CHAP-MD5 (RFC 1994 s4.1), MS-CHAPv1 (RFC 2433), MS-CHAPv2 (RFC 2759 s8) and the MPPE master
//! keys derived from them (RFC 3079 s2, s3), built on RustCrypto's MD4, MD5, SHA-1 and DES.
//!
//! Passwords are UTF-8 strings converted to UTF-16LE ("Unicode" in the RFCs).

use des::cipher::{BlockEncrypt, KeyInit};
use md4::{Digest as _, Md4};
use md5::Md5;
use sha1::Sha1;
use zeroize::Zeroize;

/// CHAP-MD5 response: MD5(Identifier || secret || Challenge) (RFC 1994 s4.1).
pub fn chap_md5_response(id: u8, secret: &[u8], challenge: &[u8]) -> [u8; 16] {
    let mut h = Md5::new();
    h.update([id]);
    h.update(secret);
    h.update(challenge);
    h.finalize().into()
}

fn utf16le(password: &str) -> Vec<u8> {
    password.encode_utf16().flat_map(u16::to_le_bytes).collect()
}

/// NtPasswordHash: MD4 of the UTF-16LE password (RFC 2759 s8.3).
pub fn nt_password_hash(password: &str) -> [u8; 16] {
    let mut u = utf16le(password);
    let h: [u8; 16] = Md4::digest(&u).into();
    u.zeroize();
    h
}

/// HashNtPasswordHash: MD4 of the password hash (RFC 2759 s8.4).
pub fn hash_nt_password_hash(hash: &[u8; 16]) -> [u8; 16] {
    Md4::digest(hash).into()
}

/// Spread 7 key octets into an 8-octet DES key with odd parity (RFC 2759 s8.6, s9.3).
pub fn des_key_from_7(k: &[u8; 7]) -> [u8; 8] {
    let mut bits: u64 = 0;
    for &b in k {
        bits = (bits << 8) | u64::from(b);
    }
    let mut out = [0u8; 8];
    for (i, o) in out.iter_mut().enumerate() {
        let seven = ((bits >> (49 - 7 * i)) & 0x7f) as u8;
        let mut v = seven << 1;
        if v.count_ones().is_multiple_of(2) {
            v |= 1;
        }
        *o = v;
    }
    out
}

/// DES-encrypt one block under a 7-octet key spread with [`des_key_from_7`] (RFC 2759 s8.6
/// DesEncrypt; also the LM hash of RFC 2433 A.2).
pub fn des_encrypt_block(key7: &[u8; 7], clear: &[u8; 8]) -> [u8; 8] {
    let key = des_key_from_7(key7);
    let cipher = des::Des::new(&key.into());
    let mut block = (*clear).into();
    cipher.encrypt_block(&mut block);
    block.into()
}

/// ChallengeResponse: three DES encryptions of the challenge under the zero-padded hash
/// (RFC 2759 s8.5, RFC 2433 App. A).
pub fn challenge_response(challenge: &[u8; 8], hash: &[u8; 16]) -> [u8; 24] {
    let mut z = [0u8; 21];
    z[..16].copy_from_slice(hash);
    let mut out = [0u8; 24];
    for i in 0..3 {
        let mut k = [0u8; 7];
        k.copy_from_slice(&z[i * 7..i * 7 + 7]);
        out[i * 8..i * 8 + 8].copy_from_slice(&des_encrypt_block(&k, challenge));
    }
    z.zeroize();
    out
}

/// ChallengeHash: the 8-octet challenge of MS-CHAPv2 (RFC 2759 s8.2).
pub fn challenge_hash(
    peer_challenge: &[u8; 16],
    auth_challenge: &[u8; 16],
    user: &[u8],
) -> [u8; 8] {
    let mut h = Sha1::new();
    h.update(peer_challenge);
    h.update(auth_challenge);
    h.update(strip_domain(user));
    let d = h.finalize();
    let mut c = [0u8; 8];
    c.copy_from_slice(&d[..8]);
    c
}

/// The user name MS-CHAPv2 hashes: without a leading `DOMAIN\` (RFC 2759 s8.2 note).
pub fn strip_domain(user: &[u8]) -> &[u8] {
    match user.iter().rposition(|&b| b == b'\\') {
        Some(i) => &user[i + 1..],
        None => user,
    }
}

/// GenerateNTResponse (RFC 2759 s8.1).
pub fn generate_nt_response(
    auth_challenge: &[u8; 16],
    peer_challenge: &[u8; 16],
    user: &[u8],
    password: &str,
) -> [u8; 24] {
    let c = challenge_hash(peer_challenge, auth_challenge, user);
    let mut h = nt_password_hash(password);
    let r = challenge_response(&c, &h);
    h.zeroize();
    r
}

const MAGIC1: &[u8; 39] = b"Magic server to client signing constant";
const MAGIC2: &[u8; 41] = b"Pad to make it do more than one iteration";

/// GenerateAuthenticatorResponse: the 20 octets behind `S=` (RFC 2759 s8.7).
pub fn authenticator_response(
    password_hash: &[u8; 16],
    nt_response: &[u8; 24],
    peer_challenge: &[u8; 16],
    auth_challenge: &[u8; 16],
    user: &[u8],
) -> [u8; 20] {
    let hh = hash_nt_password_hash(password_hash);
    let mut h = Sha1::new();
    h.update(hh);
    h.update(nt_response);
    h.update(MAGIC1);
    let digest = h.finalize();
    let c = challenge_hash(peer_challenge, auth_challenge, user);
    let mut h = Sha1::new();
    h.update(digest);
    h.update(c);
    h.update(MAGIC2);
    h.finalize().into()
}

/// Format an authenticator response as `S=` + 40 uppercase hex digits.
pub fn format_authenticator_response(r: &[u8; 20]) -> String {
    let mut s = String::from("S=");
    for b in r {
        s.push_str(&format!("{b:02X}"));
    }
    s
}

/// MS-CHAPv1 NT response: ChallengeResponse(challenge, NtPasswordHash) (RFC 2433 s5, App. A).
pub fn mschap1_nt_response(challenge: &[u8; 8], password: &str) -> [u8; 24] {
    let mut h = nt_password_hash(password);
    let r = challenge_response(challenge, &h);
    h.zeroize();
    r
}

/// Key material derived from a successful MS-CHAP exchange, for MPPE (RFC 3078) and SSTP crypto
/// binding. Zeroised on drop.
#[derive(Clone, PartialEq, Eq, zeroize::ZeroizeOnDrop)]
pub struct MsChapKeys {
    /// MS-CHAPv2: GetMasterKey (RFC 3079 s3.4); MS-CHAPv1: the 16-octet InitialSessionKey
    /// source (RFC 3079 s2.4 uses PasswordHashHash and the challenge).
    pub master_key: [u8; 16],
    /// MS-CHAPv2 only: master send key (from this side's point of view), 16 octets.
    pub send_key: [u8; 16],
    /// MS-CHAPv2 only: master receive key (from this side's point of view), 16 octets.
    pub recv_key: [u8; 16],
    /// The NT password hash hash (HashNtPasswordHash), used by MS-CHAPv1 key derivation.
    pub password_hash_hash: [u8; 16],
}

impl std::fmt::Debug for MsChapKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("MsChapKeys{..}")
    }
}

/// GetMasterKey (RFC 3079 s3.4).
pub fn get_master_key(password_hash_hash: &[u8; 16], nt_response: &[u8; 24]) -> [u8; 16] {
    const MAGIC: &[u8; 27] = b"This is the MPPE Master Key";
    let mut h = Sha1::new();
    h.update(password_hash_hash);
    h.update(nt_response);
    h.update(MAGIC);
    let d = h.finalize();
    let mut k = [0u8; 16];
    k.copy_from_slice(&d[..16]);
    k
}

const SHS_PAD1: [u8; 40] = [0u8; 40];
const SHS_PAD2: [u8; 40] = [0xf2u8; 40];

/// GetAsymmetricStartKey (RFC 3079 s3.4): `is_send` / `is_server` select Magic2 or Magic3.
pub fn get_asymmetric_start_key(
    master_key: &[u8; 16],
    key_len: usize,
    is_send: bool,
    is_server: bool,
) -> Vec<u8> {
    const MAGIC2: &[u8] =
        b"On the client side, this is the send key; on the server side, it is the receive key.";
    const MAGIC3: &[u8] =
        b"On the client side, this is the receive key; on the server side, it is the send key.";
    let magic = if is_send == is_server { MAGIC3 } else { MAGIC2 };
    let mut h = Sha1::new();
    h.update(master_key);
    h.update(SHS_PAD1);
    h.update(magic);
    h.update(SHS_PAD2);
    let d = h.finalize();
    d[..key_len.min(20)].to_vec()
}

/// GetNewKeyFromSHA as used for the initial session key (RFC 3079 s2.4, s3.4 step "GetNewKey").
pub fn get_new_key_from_sha(start_key: &[u8], session_key: &[u8]) -> Vec<u8> {
    let mut h = Sha1::new();
    h.update(start_key);
    h.update(SHS_PAD1);
    h.update(session_key);
    h.update(SHS_PAD2);
    let d = h.finalize();
    d[..start_key.len().min(20)].to_vec()
}

/// Derive MS-CHAPv2 key material for one side (`is_server` = authenticator).
pub fn mschap2_keys(password: &str, nt_response: &[u8; 24], is_server: bool) -> MsChapKeys {
    let mut ph = nt_password_hash(password);
    let phh = hash_nt_password_hash(&ph);
    ph.zeroize();
    let master = get_master_key(&phh, nt_response);
    let mut send = [0u8; 16];
    let mut recv = [0u8; 16];
    send.copy_from_slice(&get_asymmetric_start_key(&master, 16, true, is_server));
    recv.copy_from_slice(&get_asymmetric_start_key(&master, 16, false, is_server));
    MsChapKeys {
        master_key: master,
        send_key: send,
        recv_key: recv,
        password_hash_hash: phh,
    }
}

/// Derive MS-CHAPv1 key material: the 128-bit initial session key of RFC 3079 s2.4 (used in
/// both directions).
pub fn mschap1_keys(password: &str, challenge: &[u8; 8]) -> MsChapKeys {
    let mut ph = nt_password_hash(password);
    let phh = hash_nt_password_hash(&ph);
    ph.zeroize();
    let mut h = Sha1::new();
    h.update(phh);
    h.update(phh);
    h.update(challenge);
    let d = h.finalize();
    let mut k = [0u8; 16];
    k.copy_from_slice(&d[..16]);
    MsChapKeys {
        master_key: k,
        send_key: k,
        recv_key: k,
        password_hash_hash: phh,
    }
}

/// A parsed MS-CHAP Failure message (`E=691 R=1 C=<hex> V=3 M=<text>`, RFC 2759 s6).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct MsChapFailure {
    /// Error code (646, 647, 648, 649, 691, 709).
    pub error: Option<u32>,
    /// Retry allowed.
    pub retry: bool,
    /// New authenticator challenge (16 octets for v2, 8 for v1).
    pub challenge: Option<Vec<u8>>,
    /// Password-change protocol version.
    pub version: Option<u32>,
    /// Text message.
    pub message: String,
}

fn hex_decode(s: &str) -> Option<Vec<u8>> {
    if !s.len().is_multiple_of(2) {
        return None;
    }
    (0..s.len())
        .step_by(2)
        .map(|i| s.get(i..i + 2).and_then(|h| u8::from_str_radix(h, 16).ok()))
        .collect()
}

/// Parse an MS-CHAP Failure message. Tolerant: unknown fields are ignored.
pub fn parse_failure(msg: &[u8]) -> MsChapFailure {
    let s = String::from_utf8_lossy(msg);
    let mut f = MsChapFailure::default();
    let mut rest = s.as_ref();
    while let Some(tok) = rest.split_whitespace().next() {
        if let Some(m) = tok.strip_prefix("M=") {
            let start = rest.find("M=").map(|i| i + 2).unwrap_or(0);
            f.message = rest.get(start..).unwrap_or(m).to_string();
            break;
        }
        if let Some(v) = tok.strip_prefix("E=") {
            f.error = v.parse().ok();
        } else if let Some(v) = tok.strip_prefix("R=") {
            f.retry = v == "1";
        } else if let Some(v) = tok.strip_prefix("C=") {
            f.challenge = hex_decode(v);
        } else if let Some(v) = tok.strip_prefix("V=") {
            f.version = v.parse().ok();
        }
        let idx = rest.find(tok).map(|i| i + tok.len()).unwrap_or(rest.len());
        rest = rest.get(idx..).unwrap_or("");
    }
    f
}

/// Extract the 20-octet authenticator response from an MS-CHAPv2 Success message.
///
/// Accepts the RFC form `S=<40 hex> M=<text>`, and (interop quirk, ppp issue 156) a message with
/// the `S=` field not at the start or without the ` M=` part.
pub fn parse_success(msg: &[u8]) -> Option<[u8; 20]> {
    let s = std::str::from_utf8(msg).ok()?;
    let i = s.find("S=")?;
    let hex = s.get(i + 2..i + 42)?;
    let v = hex_decode(hex)?;
    v.try_into().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn h(s: &str) -> Vec<u8> {
        hex::decode(s.replace(' ', "")).unwrap()
    }

    #[test]
    fn rfc2759_9_2() {
        let auth: [u8; 16] = h("5B 5D 7C 7D 7B 3F 2F 3E 3C 2C 60 21 32 26 26 28")
            .try_into()
            .unwrap();
        let peer: [u8; 16] = h("21 40 23 24 25 5E 26 2A 28 29 5F 2B 3A 33 7C 7E")
            .try_into()
            .unwrap();
        assert_eq!(
            challenge_hash(&peer, &auth, b"User").to_vec(),
            h("D0 2E 43 86 BC E9 12 26")
        );
        let ph = nt_password_hash("clientPass");
        assert_eq!(
            ph.to_vec(),
            h("44 EB BA 8D 53 12 B8 D6 11 47 44 11 F5 69 89 AE")
        );
        let nt = generate_nt_response(&auth, &peer, b"User", "clientPass");
        assert_eq!(
            nt.to_vec(),
            h("82 30 9E CD 8D 70 8B 5E A0 8F AA 39 81 CD 83 54 42 33 11 4A 3D 85 D6 DF")
        );
        assert_eq!(
            hash_nt_password_hash(&ph).to_vec(),
            h("41 C0 0C 58 4B D2 D9 1C 40 17 A2 A1 2F A5 9F 3F")
        );
        let ar = authenticator_response(&ph, &nt, &peer, &auth, b"User");
        assert_eq!(
            format_authenticator_response(&ar),
            "S=407A5589115FD0D6209F510FE9C04566932CDA56"
        );
        assert_eq!(
            parse_success(b"S=407A5589115FD0D6209F510FE9C04566932CDA56 M=ok"),
            Some(ar)
        );
        // RFC 3079 s3.5 master key.
        let keys = mschap2_keys("clientPass", &nt, false);
        assert_eq!(
            keys.master_key.to_vec(),
            h("FD EC E3 71 7A 8C 83 8C B3 88 E5 27 AE 3C DD 31")
        );
        // The s3.5.3 SendStartKey128 matches exactly one of the two magics: Magic3, i.e. the
        // server's send key (= the client's receive key). The RFC does not say which side.
        let want = h("8B 7C DC 14 9B 99 3A 1B A1 18 CB 15 3F 56 DC CB");
        let matches: Vec<(bool, bool)> =
            [(true, true), (true, false), (false, true), (false, false)]
                .into_iter()
                .filter(|&(s, srv)| get_asymmetric_start_key(&keys.master_key, 16, s, srv) == want)
                .collect();
        assert_eq!(matches, vec![(true, true), (false, false)]);
        assert_eq!(
            get_asymmetric_start_key(&keys.master_key, 8, true, true),
            h("8B 7C DC 14 9B 99 3A 1B")
        );
        assert_eq!(keys.recv_key.to_vec(), want);
        let server = mschap2_keys("clientPass", &nt, true);
        assert_eq!(server.send_key.to_vec(), want);
        assert_eq!(server.recv_key, keys.send_key);
    }

    #[test]
    fn rfc2759_9_3_des_keys() {
        let ph = nt_password_hash("MyPw");
        assert_eq!(
            ph.to_vec(),
            h("FC 15 6A F7 ED CD 6C 0E DD E3 33 7D 42 7F 4E AC")
        );
        let k1: [u8; 7] = ph[..7].try_into().unwrap();
        let k2: [u8; 7] = ph[7..14].try_into().unwrap();
        assert_eq!(des_key_from_7(&k1).to_vec(), h("FD 0B 5B 5E 7F 6E 34 D9"));
        assert_eq!(des_key_from_7(&k2).to_vec(), h("0E 6E 79 67 37 EA 08 FE"));
    }

    #[test]
    fn rfc2433_b2() {
        let c: [u8; 8] = h("10 2D B5 DF 08 5D 30 41").try_into().unwrap();
        assert_eq!(
            mschap1_nt_response(&c, "MyPw").to_vec(),
            h("4E 9D 3C 8F 9C FD 38 5D 5B F4 D3 24 67 91 95 6C A4 C3 51 AB 40 9A 3D 61")
        );
    }

    #[test]
    fn rfc3079_2_5_3_initial_session_key() {
        let c: [u8; 8] = h("10 2d b5 df 08 5d 30 41").try_into().unwrap();
        let k = mschap1_keys("clientPass", &c);
        assert_eq!(
            k.password_hash_hash.to_vec(),
            h("41 c0 0c 58 4b d2 d9 1c 40 17 a2 a1 2f a5 9f 3f")
        );
        // The RFC prints byte 7 of InitialSessionKey as `ca` in step 3 and `c1` in step 4; the
        // computation gives `c1`, and step 5 (below) only matches with `c1`.
        assert_eq!(
            k.master_key.to_vec(),
            h("a8 94 78 50 cf c0 ac c1 d1 78 9f b6 2d dc dd b0")
        );
        // Step 5: GetKey(InitialSessionKey, CurrentSessionKey, 16) with current = initial.
        assert_eq!(
            get_new_key_from_sha(&k.master_key, &k.master_key),
            h("59 d1 59 bc 09 f7 6f 1d a2 a8 6a 28 ff ec 0b 1e")
        );
    }

    #[test]
    fn chap_md5_rfc1994_definition() {
        // MD5 of the concatenation, checked against RFC 1321's MD5("abc") known answer:
        // id 'a', secret "b", challenge "c".
        assert_eq!(
            chap_md5_response(b'a', b"b", b"c").to_vec(),
            h("900150983cd24fb0d6963f7d28e17f72")
        );
    }

    #[test]
    fn success_message_quirks() {
        // ppp issue 156: Windows servers send malformed Success messages; the S= field is
        // found wherever it is, with or without " M=".
        let ar = "S=407A5589115FD0D6209F510FE9C04566932CDA56";
        let want = parse_success(ar.as_bytes()).unwrap();
        assert_eq!(parse_success(format!("{ar} M=ok").as_bytes()), Some(want));
        assert_eq!(
            parse_success(format!("M=Welcome {ar}").as_bytes()),
            Some(want)
        );
        assert_eq!(parse_success(format!("{ar}\0").as_bytes()), Some(want));
        assert_eq!(parse_success(b"S=407A55 M=short"), None);
        assert_eq!(parse_success(b"Access granted"), None);
    }

    #[test]
    fn failure_parse() {
        let f = parse_failure(
            b"E=691 R=1 C=000102030405060708090A0B0C0D0E0F V=3 M=Authentication failure",
        );
        assert_eq!(f.error, Some(691));
        assert!(f.retry);
        assert_eq!(f.challenge.unwrap().len(), 16);
        assert_eq!(f.version, Some(3));
        assert_eq!(f.message, "Authentication failure");
        let g = parse_failure(b"E=649 R=0");
        assert_eq!((g.error, g.retry), (Some(649), false));
    }
}

//! IANA registry values of IKEv2 (RFC 7296 section 3 and the IANA "Internet Key Exchange
//! Version 2 (IKEv2) Parameters" registry). Each is an open newtype: values not listed here are
//! carried through unchanged.

macro_rules! open_enum {
    ($(#[$m:meta])* $name:ident($t:ty) { $($(#[$vm:meta])* $c:ident = $v:expr,)* }) => {
        $(#[$m])*
        #[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
        pub struct $name(pub $t);
        impl $name {
            $($(#[$vm])* pub const $c: $name = $name($v);)*
            /// The registry name, if this value is one of the listed ones.
            pub fn name(self) -> Option<&'static str> {
                match self.0 {
                    $(v if v == $v => Some(stringify!($c)),)*
                    _ => None,
                }
            }
        }
        impl core::fmt::Debug for $name {
            fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
                match self.name() {
                    Some(n) => f.write_str(n),
                    None => write!(f, "{}({})", stringify!($name), self.0),
                }
            }
        }
        impl core::fmt::Display for $name {
            fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
                core::fmt::Debug::fmt(self, f)
            }
        }
    };
}

open_enum! {
    /// Exchange type (RFC 7296 3.1).
    ExchangeType(u8) {
        /// IKE_SA_INIT.
        IKE_SA_INIT = 34,
        /// IKE_AUTH.
        IKE_AUTH = 35,
        /// CREATE_CHILD_SA.
        CREATE_CHILD_SA = 36,
        /// INFORMATIONAL.
        INFORMATIONAL = 37,
    }
}

open_enum! {
    /// Payload type (RFC 7296 3.2; SKF from RFC 7383).
    PayloadType(u8) {
        /// No next payload.
        NONE = 0,
        /// Security Association.
        SA = 33,
        /// Key Exchange.
        KE = 34,
        /// Identification - Initiator.
        IDI = 35,
        /// Identification - Responder.
        IDR = 36,
        /// Certificate.
        CERT = 37,
        /// Certificate Request.
        CERTREQ = 38,
        /// Authentication.
        AUTH = 39,
        /// Nonce.
        NONCE = 40,
        /// Notify.
        NOTIFY = 41,
        /// Delete.
        DELETE = 42,
        /// Vendor ID.
        VENDOR_ID = 43,
        /// Traffic Selector - Initiator.
        TSI = 44,
        /// Traffic Selector - Responder.
        TSR = 45,
        /// Encrypted and Authenticated.
        SK = 46,
        /// Configuration.
        CP = 47,
        /// Extensible Authentication.
        EAP = 48,
        /// Encrypted and Authenticated Fragment (RFC 7383).
        SKF = 53,
    }
}

open_enum! {
    /// Security protocol identifier (RFC 7296 3.3.1).
    ProtocolId(u8) {
        /// IKE.
        IKE = 1,
        /// AH.
        AH = 2,
        /// ESP.
        ESP = 3,
    }
}

open_enum! {
    /// Transform type (RFC 7296 3.3.2).
    TransformType(u8) {
        /// Encryption algorithm.
        ENCR = 1,
        /// Pseudo-random function.
        PRF = 2,
        /// Integrity algorithm.
        INTEG = 3,
        /// Diffie-Hellman group (Key Exchange Method).
        DH = 4,
        /// Extended sequence numbers.
        ESN = 5,
    }
}

open_enum! {
    /// Notify message type (RFC 7296 3.10.1, RFC 7383, RFC 5998, RFC 7427).
    NotifyType(u16) {
        /// UNSUPPORTED_CRITICAL_PAYLOAD.
        UNSUPPORTED_CRITICAL_PAYLOAD = 1,
        /// INVALID_IKE_SPI.
        INVALID_IKE_SPI = 4,
        /// INVALID_MAJOR_VERSION.
        INVALID_MAJOR_VERSION = 5,
        /// INVALID_SYNTAX.
        INVALID_SYNTAX = 7,
        /// INVALID_MESSAGE_ID.
        INVALID_MESSAGE_ID = 9,
        /// INVALID_SPI.
        INVALID_SPI = 11,
        /// NO_PROPOSAL_CHOSEN.
        NO_PROPOSAL_CHOSEN = 14,
        /// INVALID_KE_PAYLOAD.
        INVALID_KE_PAYLOAD = 17,
        /// AUTHENTICATION_FAILED.
        AUTHENTICATION_FAILED = 24,
        /// SINGLE_PAIR_REQUIRED.
        SINGLE_PAIR_REQUIRED = 34,
        /// NO_ADDITIONAL_SAS.
        NO_ADDITIONAL_SAS = 35,
        /// INTERNAL_ADDRESS_FAILURE.
        INTERNAL_ADDRESS_FAILURE = 36,
        /// FAILED_CP_REQUIRED.
        FAILED_CP_REQUIRED = 37,
        /// TS_UNACCEPTABLE.
        TS_UNACCEPTABLE = 38,
        /// INVALID_SELECTORS.
        INVALID_SELECTORS = 39,
        /// TEMPORARY_FAILURE.
        TEMPORARY_FAILURE = 43,
        /// CHILD_SA_NOT_FOUND.
        CHILD_SA_NOT_FOUND = 44,
        /// INITIAL_CONTACT.
        INITIAL_CONTACT = 16384,
        /// SET_WINDOW_SIZE.
        SET_WINDOW_SIZE = 16385,
        /// ADDITIONAL_TS_POSSIBLE.
        ADDITIONAL_TS_POSSIBLE = 16386,
        /// IPCOMP_SUPPORTED.
        IPCOMP_SUPPORTED = 16387,
        /// NAT_DETECTION_SOURCE_IP.
        NAT_DETECTION_SOURCE_IP = 16388,
        /// NAT_DETECTION_DESTINATION_IP.
        NAT_DETECTION_DESTINATION_IP = 16389,
        /// COOKIE.
        COOKIE = 16390,
        /// USE_TRANSPORT_MODE.
        USE_TRANSPORT_MODE = 16391,
        /// HTTP_CERT_LOOKUP_SUPPORTED.
        HTTP_CERT_LOOKUP_SUPPORTED = 16392,
        /// REKEY_SA.
        REKEY_SA = 16393,
        /// ESP_TFC_PADDING_NOT_SUPPORTED.
        ESP_TFC_PADDING_NOT_SUPPORTED = 16394,
        /// NON_FIRST_FRAGMENTS_ALSO.
        NON_FIRST_FRAGMENTS_ALSO = 16395,
        /// MOBIKE_SUPPORTED (RFC 4555).
        MOBIKE_SUPPORTED = 16396,
        /// EAP_ONLY_AUTHENTICATION (RFC 5998).
        EAP_ONLY_AUTHENTICATION = 16417,
        /// IKEV2_FRAGMENTATION_SUPPORTED (RFC 7383).
        IKEV2_FRAGMENTATION_SUPPORTED = 16430,
        /// SIGNATURE_HASH_ALGORITHMS (RFC 7427).
        SIGNATURE_HASH_ALGORITHMS = 16431,
    }
}

impl NotifyType {
    /// Error types are below 16384 (RFC 7296 3.10.1).
    pub fn is_error(self) -> bool {
        self.0 < 16384
    }
}

open_enum! {
    /// Encryption transform IDs (transform type 1).
    EncrId(u16) {
        /// DES (RFC 2405).
        DES = 2,
        /// 3DES (RFC 2451).
        TRIPLE_DES = 3,
        /// Blowfish.
        BLOWFISH = 7,
        /// NULL (RFC 2410).
        NULL = 11,
        /// AES-CBC (RFC 3602); key length attribute.
        AES_CBC = 12,
        /// AES-CTR (RFC 3686).
        AES_CTR = 13,
        /// AES-GCM with an 8-octet ICV (RFC 4106).
        AES_GCM_8 = 18,
        /// AES-GCM with a 12-octet ICV.
        AES_GCM_12 = 19,
        /// AES-GCM with a 16-octet ICV.
        AES_GCM_16 = 20,
        /// Camellia-CBC (RFC 5529).
        CAMELLIA_CBC = 23,
        /// ChaCha20-Poly1305 (RFC 7634).
        CHACHA20_POLY1305 = 28,
    }
}

open_enum! {
    /// Pseudo-random function transform IDs (transform type 2).
    PrfId(u16) {
        /// HMAC-MD5.
        HMAC_MD5 = 1,
        /// HMAC-SHA1.
        HMAC_SHA1 = 2,
        /// AES128-XCBC (RFC 4434).
        AES128_XCBC = 4,
        /// HMAC-SHA2-256.
        HMAC_SHA2_256 = 5,
        /// HMAC-SHA2-384.
        HMAC_SHA2_384 = 6,
        /// HMAC-SHA2-512.
        HMAC_SHA2_512 = 7,
    }
}

open_enum! {
    /// Integrity transform IDs (transform type 3).
    IntegId(u16) {
        /// NONE (AEAD).
        NONE = 0,
        /// HMAC-MD5-96.
        HMAC_MD5_96 = 1,
        /// HMAC-SHA1-96.
        HMAC_SHA1_96 = 2,
        /// AES-XCBC-96 (RFC 3566).
        AES_XCBC_96 = 5,
        /// HMAC-SHA2-256-128 (RFC 4868).
        HMAC_SHA2_256_128 = 12,
        /// HMAC-SHA2-384-192.
        HMAC_SHA2_384_192 = 13,
        /// HMAC-SHA2-512-256.
        HMAC_SHA2_512_256 = 14,
    }
}

open_enum! {
    /// Diffie-Hellman group / key exchange method IDs (transform type 4).
    DhId(u16) {
        /// NONE.
        NONE = 0,
        /// 768-bit MODP (RFC 2409).
        MODP768 = 1,
        /// 1024-bit MODP (RFC 2409).
        MODP1024 = 2,
        /// 1536-bit MODP (RFC 3526).
        MODP1536 = 5,
        /// 2048-bit MODP.
        MODP2048 = 14,
        /// 3072-bit MODP.
        MODP3072 = 15,
        /// 4096-bit MODP.
        MODP4096 = 16,
        /// 6144-bit MODP.
        MODP6144 = 17,
        /// 8192-bit MODP.
        MODP8192 = 18,
        /// 256-bit random ECP (RFC 5903).
        ECP256 = 19,
        /// 384-bit random ECP.
        ECP384 = 20,
        /// 521-bit random ECP.
        ECP521 = 21,
        /// Curve25519 (RFC 8031).
        CURVE25519 = 31,
    }
}

open_enum! {
    /// Extended sequence numbers transform IDs (transform type 5).
    EsnId(u16) {
        /// No ESN.
        NO_ESN = 0,
        /// ESN.
        ESN = 1,
    }
}

open_enum! {
    /// Authentication method (RFC 7296 3.8, RFC 7427).
    AuthMethod(u8) {
        /// RSA digital signature (PKCS#1 v1.5 with SHA-1).
        RSA_SIG = 1,
        /// Shared key message integrity code.
        PSK = 2,
        /// DSS digital signature.
        DSS_SIG = 3,
        /// ECDSA with SHA-256 on P-256 (RFC 4754).
        ECDSA_256 = 9,
        /// ECDSA with SHA-384 on P-384.
        ECDSA_384 = 10,
        /// ECDSA with SHA-512 on P-521.
        ECDSA_521 = 11,
        /// Digital signature with an ASN.1 AlgorithmIdentifier (RFC 7427).
        DIGITAL_SIGNATURE = 14,
    }
}

open_enum! {
    /// Identification type (RFC 7296 3.5).
    IdType(u8) {
        /// IPv4 address.
        IPV4_ADDR = 1,
        /// Fully-qualified domain name.
        FQDN = 2,
        /// RFC 822 e-mail address (user-fqdn).
        RFC822_ADDR = 3,
        /// IPv6 address.
        IPV6_ADDR = 5,
        /// DER ASN.1 distinguished name.
        DER_ASN1_DN = 9,
        /// DER ASN.1 GeneralName.
        DER_ASN1_GN = 10,
        /// Opaque key ID.
        KEY_ID = 11,
    }
}

open_enum! {
    /// Certificate encoding (RFC 7296 3.6).
    CertEncoding(u8) {
        /// X.509 certificate - signature.
        X509_SIGNATURE = 4,
        /// Raw RSA key.
        RAW_RSA_KEY = 11,
        /// Hash and URL of an X.509 certificate.
        HASH_URL_X509 = 12,
    }
}

open_enum! {
    /// Traffic selector type (RFC 7296 3.13.1).
    TsType(u8) {
        /// IPv4 address range.
        IPV4_ADDR_RANGE = 7,
        /// IPv6 address range.
        IPV6_ADDR_RANGE = 8,
    }
}

open_enum! {
    /// Configuration payload type (RFC 7296 3.15).
    CfgType(u8) {
        /// CFG_REQUEST.
        REQUEST = 1,
        /// CFG_REPLY.
        REPLY = 2,
        /// CFG_SET.
        SET = 3,
        /// CFG_ACK.
        ACK = 4,
    }
}

open_enum! {
    /// Configuration attribute type (RFC 7296 3.15.1, RFC 8598, Cisco Unity).
    CfgAttrType(u16) {
        /// INTERNAL_IP4_ADDRESS.
        INTERNAL_IP4_ADDRESS = 1,
        /// INTERNAL_IP4_NETMASK.
        INTERNAL_IP4_NETMASK = 2,
        /// INTERNAL_IP4_DNS.
        INTERNAL_IP4_DNS = 3,
        /// INTERNAL_IP4_NBNS.
        INTERNAL_IP4_NBNS = 4,
        /// INTERNAL_IP4_DHCP.
        INTERNAL_IP4_DHCP = 6,
        /// APPLICATION_VERSION.
        APPLICATION_VERSION = 7,
        /// INTERNAL_IP6_ADDRESS.
        INTERNAL_IP6_ADDRESS = 8,
        /// INTERNAL_IP6_DNS.
        INTERNAL_IP6_DNS = 10,
        /// INTERNAL_IP4_SUBNET.
        INTERNAL_IP4_SUBNET = 13,
        /// SUPPORTED_ATTRIBUTES.
        SUPPORTED_ATTRIBUTES = 14,
        /// INTERNAL_IP6_SUBNET.
        INTERNAL_IP6_SUBNET = 15,
        /// INTERNAL_DNS_DOMAIN (RFC 8598).
        INTERNAL_DNS_DOMAIN = 25,
        /// Cisco Unity UNITY_SPLITDNS_NAME.
        UNITY_SPLITDNS_NAME = 28675,
        /// Cisco Unity UNITY_SPLIT_INCLUDE.
        UNITY_SPLIT_INCLUDE = 28676,
    }
}

/// Transform attribute type: Key Length (in bits), TV format (RFC 7296 3.3.5).
pub const ATTR_KEY_LENGTH: u16 = 14;

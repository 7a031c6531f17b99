//! The HTTPS layer of SSTP (MS-SSTP 3.2.4.1 / 3.3.4.1 "HTTPS initialization"): one HTTP
//! request and its response turn the TLS connection into a duplex byte stream; and the HTTP
//! proxy `CONNECT` that RouterOS `http-proxy` / `proxy-port` use to reach the server.
//!
//! ```text
//!  client -> server (inside TLS)
//!    SSTP_DUPLEX_POST /sra_{BA195980-CD49-458b-9E23-C84EE0ADCD75}/ HTTP/1.1\r\n
//!    Content-Length: 18446744073709551615\r\n        (ULONGLONG_MAX: the body never ends)
//!    Host: <server name>\r\n
//!    SSTPCORRELATIONID: {<GUID>}\r\n                 (ties logs of both ends together)
//!    \r\n
//!  server -> client
//!    HTTP/1.1 200\r\n
//!    Content-Length: 18446744073709551615\r\n
//!    Server: ...\r\n
//!    \r\n
//!  then SSTP packets both ways, no more HTTP.
//! ```
//!
//! The client sends no entity body and waits up to 60 seconds for the response. The server
//! validates the method (`SSTP_DUPLEX_POST`), the URI and the version (`HTTP/1.1`) and answers
//! 200; anything else gets an HTTP error status and the connection closes. The header fields
//! are written in the order of the specification. Parsers are incremental (`Ok(None)` until
//! the blank line arrives) and bounded ([`MAX_HEAD`]).
//!
//! Proxy (RFC 9110 s9.3.6), sent in clear before TLS:
//! ```text
//!    CONNECT vpn.example.com:443 HTTP/1.1\r\n
//!    Host: vpn.example.com:443\r\n
//!    [Proxy-Authorization: Basic base64(user:password)\r\n]
//!    \r\n
//!  <- HTTP/1.1 200 Connection established\r\n ... \r\n   (then TLS starts)
//! ```

use std::fmt;

/// The URI the server listens on (MS-SSTP HTTPS layer; the GUID is fixed).
pub const SSTP_URI: &str = "/sra_{BA195980-CD49-458b-9E23-C84EE0ADCD75}/";
/// The method.
pub const SSTP_METHOD: &str = "SSTP_DUPLEX_POST";
/// Content-Length of request and response: ULONGLONG_MAX.
pub const SSTP_CONTENT_LENGTH: u64 = u64::MAX;
/// Largest HTTP head (request or response line plus header fields) accepted.
pub const MAX_HEAD: usize = 8192;
/// Most header fields accepted in one head.
pub const MAX_FIELDS: usize = 32;

/// A malformed or refused HTTP exchange.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum HttpError {
    /// No blank line within [`MAX_HEAD`] bytes.
    #[error("HTTP head longer than {MAX_HEAD} bytes")]
    TooLarge,
    /// Not HTTP: bad start line, a field without a colon, bytes that are not text.
    #[error("malformed HTTP: {0}")]
    Malformed(&'static str),
    /// The request used another method (server answers 405).
    #[error("method {0:?} is not SSTP_DUPLEX_POST")]
    Method(String),
    /// The request asked for another URI (server answers 404).
    #[error("URI {0:?} is not the SSTP URI")]
    Uri(String),
    /// Not HTTP/1.1 (server answers 505).
    #[error("HTTP version {0:?} is not HTTP/1.1")]
    Version(String),
    /// The response's status is not 200.
    #[error("HTTP status {0}")]
    Status(u16),
    /// The response's Content-Length is not ULONGLONG_MAX.
    #[error("Content-Length {0:?} is not 18446744073709551615")]
    ContentLength(String),
}

impl HttpError {
    /// The status a server answers this request error with.
    pub fn status(&self) -> u16 {
        match self {
            HttpError::Method(_) => 405,
            HttpError::Uri(_) => 404,
            HttpError::Version(_) => 505,
            HttpError::TooLarge => 431,
            _ => 400,
        }
    }
}

/// A GUID as SSTPCORRELATIONID carries it: `{XXXXXXXX-XXXX-XXXX-XXXX-XXXXXXXXXXXX}`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Guid(pub [u8; 16]);

impl Guid {
    /// A random (version 4) GUID from the injected RNG.
    pub fn random(rng: &mut dyn rand_core::RngCore) -> Self {
        let mut b = [0u8; 16];
        rng.fill_bytes(&mut b);
        b[6] = (b[6] & 0x0f) | 0x40;
        b[8] = (b[8] & 0x3f) | 0x80;
        Guid(b)
    }
}

impl fmt::Display for Guid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let b = &self.0;
        f.write_str("{")?;
        for (i, x) in b.iter().enumerate() {
            if matches!(i, 4 | 6 | 8 | 10) {
                f.write_str("-")?;
            }
            write!(f, "{x:02X}")?;
        }
        f.write_str("}")
    }
}

/// The parsed head of an HTTP message.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Head {
    /// Start line tokens: method, target, version (request) or version, status, reason
    /// (response; the reason may be empty).
    pub start: [String; 3],
    /// Header fields in order (names as sent).
    pub fields: Vec<(String, String)>,
}

impl Head {
    /// The first field named `name` (ASCII case-insensitive), value trimmed.
    pub fn field(&self, name: &str) -> Option<&str> {
        self.fields
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

fn find_blank_line(b: &[u8]) -> Option<usize> {
    b.windows(4).position(|w| w == b"\r\n\r\n")
}

/// Split an HTTP head off the front of `b`: `Ok(None)` until the blank line arrived.
pub fn parse_head(b: &[u8]) -> Result<Option<(Head, usize)>, HttpError> {
    let Some(end) = find_blank_line(b) else {
        if b.len() > MAX_HEAD {
            return Err(HttpError::TooLarge);
        }
        // Not even a start line that could be HTTP: fail early instead of buffering.
        if b.len() >= 4
            && !b
                .iter()
                .take(64)
                .all(|&c| c == b'\r' || c == b'\n' || (0x20..0x7f).contains(&c))
        {
            return Err(HttpError::Malformed("not text"));
        }
        return Ok(None);
    };
    if end + 4 > MAX_HEAD {
        return Err(HttpError::TooLarge);
    }
    let text = std::str::from_utf8(&b[..end]).map_err(|_| HttpError::Malformed("not text"))?;
    let mut lines = text.split("\r\n");
    let start_line = lines.next().ok_or(HttpError::Malformed("empty"))?;
    let mut parts = start_line.splitn(3, ' ');
    let a = parts.next().unwrap_or_default();
    let b2 = parts.next().ok_or(HttpError::Malformed("start line"))?;
    let c = parts.next().unwrap_or_default();
    if a.is_empty() || b2.is_empty() {
        return Err(HttpError::Malformed("start line"));
    }
    let mut head = Head {
        start: [a.to_string(), b2.to_string(), c.to_string()],
        fields: Vec::new(),
    };
    for line in lines {
        if head.fields.len() >= MAX_FIELDS {
            return Err(HttpError::Malformed("too many header fields"));
        }
        if line.starts_with([' ', '\t']) {
            return Err(HttpError::Malformed("folded header field"));
        }
        let (n, v) = line
            .split_once(':')
            .ok_or(HttpError::Malformed("header field without a colon"))?;
        if n.is_empty() || n.contains([' ', '\t']) {
            return Err(HttpError::Malformed("header field name"));
        }
        head.fields.push((n.to_string(), v.trim().to_string()));
    }
    Ok(Some((head, end + 4)))
}

/// The client's request (field order as in MS-SSTP).
pub fn client_request(host: &str, correlation_id: &Guid) -> Vec<u8> {
    format!(
        "{SSTP_METHOD} {SSTP_URI} HTTP/1.1\r\nContent-Length: {SSTP_CONTENT_LENGTH}\r\nHost: {host}\r\nSSTPCORRELATIONID: {correlation_id}\r\n\r\n"
    )
    .into_bytes()
}

/// What a server learned from a valid request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SstpRequest {
    /// `Host`.
    pub host: Option<String>,
    /// `SSTPCORRELATIONID` as sent.
    pub correlation_id: Option<String>,
}

/// Server: parse and validate the request. Errors carry the status to answer
/// ([`HttpError::status`]).
pub fn parse_request(b: &[u8]) -> Result<Option<(SstpRequest, usize)>, HttpError> {
    let Some((head, n)) = parse_head(b)? else {
        return Ok(None);
    };
    let [method, uri, version] = &head.start;
    if version != "HTTP/1.1" {
        return Err(HttpError::Version(version.clone()));
    }
    if !uri.eq_ignore_ascii_case(SSTP_URI) {
        return Err(HttpError::Uri(uri.clone()));
    }
    if method != SSTP_METHOD {
        return Err(HttpError::Method(method.clone()));
    }
    Ok(Some((
        SstpRequest {
            host: head.field("Host").map(str::to_string),
            correlation_id: head.field("SSTPCORRELATIONID").map(str::to_string),
        },
        n,
    )))
}

/// Server: the 200 response. `server` names the software in the `Server` field.
pub fn ok_response(server: &str) -> Vec<u8> {
    format!("HTTP/1.1 200\r\nContent-Length: {SSTP_CONTENT_LENGTH}\r\nServer: {server}\r\n\r\n")
        .into_bytes()
}

/// Server: an error response (the connection closes after it).
pub fn error_response(status: u16) -> Vec<u8> {
    let reason = match status {
        404 => "Not Found",
        405 => "Method Not Allowed",
        431 => "Request Header Fields Too Large",
        505 => "HTTP Version Not Supported",
        _ => "Bad Request",
    };
    format!("HTTP/1.1 {status} {reason}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
        .into_bytes()
}

fn status_of(head: &Head) -> Result<u16, HttpError> {
    let [version, status, _] = &head.start;
    if version != "HTTP/1.1" && version != "HTTP/1.0" {
        return Err(HttpError::Version(version.clone()));
    }
    if status.len() != 3 {
        return Err(HttpError::Malformed("status code"));
    }
    status
        .parse::<u16>()
        .map_err(|_| HttpError::Malformed("status code"))
}

/// Client: parse and check the server's response (status 200, and a Content-Length, when
/// present, of ULONGLONG_MAX).
pub fn parse_response(b: &[u8]) -> Result<Option<usize>, HttpError> {
    let Some((head, n)) = parse_head(b)? else {
        return Ok(None);
    };
    let status = status_of(&head)?;
    if status != 200 {
        return Err(HttpError::Status(status));
    }
    if let Some(cl) = head.field("Content-Length") {
        if cl.parse::<u64>() != Ok(SSTP_CONTENT_LENGTH) {
            return Err(HttpError::ContentLength(cl.to_string()));
        }
    }
    Ok(Some(n))
}

/// The proxy `CONNECT` request for `authority` (`host:port`), with Basic credentials when
/// given (RFC 7617).
pub fn connect_request(authority: &str, credentials: Option<(&str, &str)>) -> Vec<u8> {
    let mut s = format!("CONNECT {authority} HTTP/1.1\r\nHost: {authority}\r\n");
    if let Some((u, p)) = credentials {
        let token = base64_encode(format!("{u}:{p}").as_bytes());
        s.push_str(&format!("Proxy-Authorization: Basic {token}\r\n"));
    }
    s.push_str("\r\n");
    s.into_bytes()
}

/// The proxy's answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ProxyReply {
    /// 2xx: the tunnel is open; TLS starts now.
    Established,
    /// 407: credentials needed; the `Proxy-Authenticate` challenge.
    AuthRequired(Option<String>),
    /// Anything else.
    Refused(u16),
}

/// Parse the proxy's answer to `CONNECT`: `Ok(None)` until its head is complete; the `usize`
/// is the head length (TLS bytes may follow in the same read).
pub fn parse_connect_response(b: &[u8]) -> Result<Option<(ProxyReply, usize)>, HttpError> {
    let Some((head, n)) = parse_head(b)? else {
        return Ok(None);
    };
    let status = status_of(&head)?;
    let reply = match status {
        200..=299 => ProxyReply::Established,
        407 => ProxyReply::AuthRequired(head.field("Proxy-Authenticate").map(str::to_string)),
        s => ProxyReply::Refused(s),
    };
    Ok(Some((reply, n)))
}

fn base64_encode(data: &[u8]) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD.encode(data)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn request_bytes_and_server_parse() {
        let g = Guid([
            0x12, 0x34, 0x56, 0x78, 0x12, 0x34, 0x12, 0x34, 0x12, 0x34, 0x12, 0x34, 0x56, 0x78,
            0x9a, 0xbc,
        ]);
        assert_eq!(g.to_string(), "{12345678-1234-1234-1234-123456789ABC}");
        let r = client_request("vpn.example", &g);
        assert_eq!(
            r,
            b"SSTP_DUPLEX_POST /sra_{BA195980-CD49-458b-9E23-C84EE0ADCD75}/ HTTP/1.1\r\nContent-Length: 18446744073709551615\r\nHost: vpn.example\r\nSSTPCORRELATIONID: {12345678-1234-1234-1234-123456789ABC}\r\n\r\n"
        );
        let (req, n) = parse_request(&r).unwrap().unwrap();
        assert_eq!(n, r.len());
        assert_eq!(req.host.as_deref(), Some("vpn.example"));
        assert_eq!(
            req.correlation_id.as_deref(),
            Some("{12345678-1234-1234-1234-123456789ABC}")
        );
        assert_eq!(parse_request(&r[..r.len() - 1]), Ok(None));
    }

    #[test]
    fn server_refusals_carry_a_status() {
        let e = parse_request(b"GET / HTTP/1.1\r\n\r\n").unwrap_err();
        assert_eq!(e.status(), 404);
        let e =
            parse_request(b"POST /sra_{BA195980-CD49-458b-9E23-C84EE0ADCD75}/ HTTP/1.1\r\n\r\n")
                .unwrap_err();
        assert_eq!(e.status(), 405);
        let e = parse_request(
            b"SSTP_DUPLEX_POST /sra_{BA195980-CD49-458b-9E23-C84EE0ADCD75}/ HTTP/1.0\r\n\r\n",
        )
        .unwrap_err();
        assert_eq!(e.status(), 505);
        assert_eq!(
            parse_request(&[0x16, 0x03, 0x01, 0x02, 0x00]),
            Err(HttpError::Malformed("not text"))
        );
        assert_eq!(
            parse_request(&[b'A'; MAX_HEAD + 1]),
            Err(HttpError::TooLarge)
        );
        assert!(error_response(404).starts_with(b"HTTP/1.1 404 Not Found\r\n"));
    }

    #[test]
    fn responses() {
        let ok = ok_response("rosproto-sstp");
        assert_eq!(parse_response(&ok), Ok(Some(ok.len())));
        // Windows RRAS and sstpc's own documentation show the bare "HTTP/1.1 200".
        let win = b"HTTP/1.1 200\r\nContent-Length: 18446744073709551615\r\nServer: Microsoft-HTTPAPI/2.0\r\nDate: Sat, 19 Feb 2011 02:13:44 GMT\r\n\r\n";
        assert_eq!(parse_response(win), Ok(Some(win.len())));
        assert_eq!(
            parse_response(b"HTTP/1.1 404 Not Found\r\n\r\n"),
            Err(HttpError::Status(404))
        );
        assert_eq!(
            parse_response(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n"),
            Err(HttpError::ContentLength("0".into()))
        );
    }

    #[test]
    fn proxy_connect() {
        let r = connect_request("10.0.0.1:443", Some(("Aladdin", "open sesame")));
        assert_eq!(
            r,
            b"CONNECT 10.0.0.1:443 HTTP/1.1\r\nHost: 10.0.0.1:443\r\nProxy-Authorization: Basic QWxhZGRpbjpvcGVuIHNlc2FtZQ==\r\n\r\n"
        );
        let mut reply = b"HTTP/1.1 200 Connection established\r\n\r\n".to_vec();
        reply.extend_from_slice(&[0x16, 0x03]);
        assert_eq!(
            parse_connect_response(&reply),
            Ok(Some((ProxyReply::Established, reply.len() - 2)))
        );
        let r = b"HTTP/1.1 407 Proxy Authentication Required\r\nProxy-Authenticate: Basic realm=\"x\"\r\n\r\n";
        assert_eq!(
            parse_connect_response(r).unwrap().unwrap().0,
            ProxyReply::AuthRequired(Some("Basic realm=\"x\"".into()))
        );
        assert_eq!(base64_encode(b"ab"), "YWI=");
        assert_eq!(base64_encode(b"a"), "YQ==");
    }
}

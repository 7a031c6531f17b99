//! Multilink PPP (RFC 1990): the MP header codec, a fragmenter and a bounded reassembler.
//!
//! # What MP does
//! Once both sides have negotiated the LCP option MRRU (17), a PPP packet (its protocol field
//! and information, the "reconstructed" packet of up to MRRU octets) may be cut into
//! fragments, each sent as a PPP frame of protocol `0x003d` with an MP header in front. The
//! receiver puts the fragments back together by sequence number. RouterOS uses this on a
//! single link to carry 1500-octet packets over a tunnel whose MTU is smaller (the `mrru`
//! setting; Windows always asks for an MRRU of 1614), and to spread traffic over several
//! links (a bundle).
//!
//! # Header layouts (RFC 1990 s3)
//! Long sequence number format (the default, 24-bit sequence):
//! ```text
//!  0               1               2               3
//! +-+-+-+-+-+-+-+-+---------------+---------------+---------------+
//! |B|E|0|0|0|0|0|0|        sequence number (24 bits, big endian)   |
//! +-+-+-+-+-+-+-+-+---------------+---------------+---------------+
//! |  fragment data ...
//! ```
//! Short sequence number format (12-bit sequence; used towards a peer that sent the LCP option
//! Short-Sequence-Number-Header-Format, 18):
//! ```text
//!  0               1
//! +-+-+-+-+-------+---------------+
//! |B|E|0|0| sequence number (12)  |
//! +-+-+-+-+-------+---------------+
//! |  fragment data ...
//! ```
//! `B` marks the first fragment of a packet, `E` the last; a packet that fits one fragment
//! has both. Sequence numbers increase by one per fragment (not per packet) and wrap.
//!
//! # Lost-fragment detection (RFC 1990 s4.1, s4.2)
//! Each member link delivers in order, so the receiver tracks, per member, the most recent
//! sequence number received; `M` is the minimum of those. A fragment that is still missing
//! and whose number is below `M` can never arrive: the fragments around it that cannot form
//! a packet any more are dropped and counted ([`ReassemblyCounters`]). On top of that the
//! reassembler is bounded ([`Limits`]: buffered octets, buffered fragments, the MRRU and an
//! age), so a flood of fragments that never complete cannot grow memory.
//!
//! Everything here is sans-IO; fragment buffers are recycled, so the steady-state data path
//! does not allocate.

use crate::error::WireError;
use std::time::{Duration, Instant};

/// The B (beginning) bit of the first header octet.
pub const B_BIT: u8 = 0x80;
/// The E (ending) bit of the first header octet.
pub const E_BIT: u8 = 0x40;

/// Which sequence-number format a direction uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SeqFormat {
    /// 24-bit sequence numbers, 4-octet header (default).
    #[default]
    Long,
    /// 12-bit sequence numbers, 2-octet header (LCP option 18).
    Short,
}

impl SeqFormat {
    /// Header length in octets.
    pub const fn header_len(self) -> usize {
        match self {
            SeqFormat::Long => 4,
            SeqFormat::Short => 2,
        }
    }
    /// Sequence number bits.
    pub const fn bits(self) -> u32 {
        match self {
            SeqFormat::Long => 24,
            SeqFormat::Short => 12,
        }
    }
    /// Mask of the sequence number space.
    pub const fn mask(self) -> u32 {
        (1 << self.bits()) - 1
    }
}

/// An MP fragment header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MpHeader {
    /// First fragment of a packet.
    pub begin: bool,
    /// Last fragment of a packet.
    pub end: bool,
    /// Sequence number (24 or 12 bits).
    pub seq: u32,
}

impl MpHeader {
    /// Parse the header of an MP frame's information field; returns the header and the
    /// fragment data. Never panics. Reserved bits must be zero (RFC 1990 s3).
    pub fn parse(format: SeqFormat, data: &[u8]) -> Result<(MpHeader, &[u8]), WireError> {
        let hl = format.header_len();
        if data.len() < hl {
            return Err(WireError::Truncated {
                what: "MP header",
                offset: 0,
                needed: hl,
                have: data.len(),
            });
        }
        let b0 = data[0];
        let (reserved, seq) = match format {
            SeqFormat::Long => (
                b0 & 0x3f,
                u32::from_be_bytes([0, data[1], data[2], data[3]]),
            ),
            SeqFormat::Short => (b0 & 0x30, (u32::from(b0 & 0x0f) << 8) | u32::from(data[1])),
        };
        if reserved != 0 {
            return Err(WireError::BadValue {
                field: "MP header",
                reason: "reserved bits set",
            });
        }
        Ok((
            MpHeader {
                begin: b0 & B_BIT != 0,
                end: b0 & E_BIT != 0,
                seq,
            },
            &data[hl..],
        ))
    }

    /// Write the header into `out` (at least [`SeqFormat::header_len`] octets); returns the
    /// length written, or `None` if `out` is too short. The sequence number is masked to the
    /// format's width.
    pub fn emit(&self, format: SeqFormat, out: &mut [u8]) -> Option<usize> {
        let hl = format.header_len();
        let out = out.get_mut(..hl)?;
        let flags = if self.begin { B_BIT } else { 0 } | if self.end { E_BIT } else { 0 };
        let s = self.seq & format.mask();
        match format {
            SeqFormat::Long => {
                let b = s.to_be_bytes();
                out.copy_from_slice(&[flags, b[1], b[2], b[3]]);
            }
            SeqFormat::Short => {
                out[0] = flags | ((s >> 8) as u8 & 0x0f);
                out[1] = s as u8;
            }
        }
        Some(hl)
    }
}

/// The sending side: sequence numbering and splitting of packets into fragments.
#[derive(Debug, Clone)]
pub struct Fragmenter {
    format: SeqFormat,
    next_seq: u32,
}

impl Fragmenter {
    /// A fragmenter starting at sequence number `first` (RFC 1990 lets the sender start
    /// anywhere; 0 is customary).
    pub fn new(format: SeqFormat, first: u32) -> Self {
        Fragmenter {
            format,
            next_seq: first & format.mask(),
        }
    }
    /// The header format.
    pub fn format(&self) -> SeqFormat {
        self.format
    }
    /// The next sequence number to be used.
    pub fn next_seq(&self) -> u32 {
        self.next_seq
    }
    /// Split `packet` (protocol field and information) into fragments whose MP information
    /// (header + data) is at most `max_info` octets. `emit` is called once per fragment with the
    /// header and the fragment's slice of `packet` (no copy, no allocation). Returns the
    /// number of fragments, or 0 if `max_info` leaves no room for data.
    pub fn fragment(
        &mut self,
        packet: &[u8],
        max_info: usize,
        mut emit: impl FnMut(MpHeader, &[u8]),
    ) -> usize {
        let room = max_info.saturating_sub(self.format.header_len());
        if room == 0 {
            return 0;
        }
        let mut n = 0;
        let mut chunks = packet.chunks(room).peekable();
        if packet.is_empty() {
            // An empty packet is one fragment with B and E.
            emit(self.take(true, true), &[]);
            return 1;
        }
        let mut first = true;
        while let Some(c) = chunks.next() {
            let last = chunks.peek().is_none();
            let h = self.take(first, last);
            emit(h, c);
            first = false;
            n += 1;
        }
        n
    }
    fn take(&mut self, begin: bool, end: bool) -> MpHeader {
        let h = MpHeader {
            begin,
            end,
            seq: self.next_seq,
        };
        self.next_seq = (self.next_seq + 1) & self.format.mask();
        h
    }
}

/// Bounds of a [`Reassembler`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Largest reconstructed packet in octets, its protocol field included (a session uses
    /// the MRRU it announced plus 2).
    pub mrru: usize,
    /// Octets of fragment data buffered at most (default 64 KiB).
    pub max_bytes: usize,
    /// Fragments buffered at most (default 128).
    pub max_fragments: usize,
    /// A buffered fragment older than this is dropped (default 2 s).
    pub max_age: Duration,
    /// Reordering tolerated within a member link, in fragments (default 0: the strict RFC
    /// 1990 rule, a missing fragment is lost as soon as `M` passes it). With `w > 0` a missing
    /// fragment counts as lost only once `M` is more than `w` past it: tunnels over UDP or
    /// IP reorder, which the RFC's in-order links do not. A session uses
    /// [`SESSION_REORDER_WINDOW`].
    pub reorder_window: u32,
}

/// The [`Limits::reorder_window`] a [`Session`](crate::Session) uses: 8 fragments (a
/// reordering of a few packets on a tunnel costs nothing; a real loss is declared after at
/// most 8 more fragments, or [`Limits::max_age`] when traffic stops).
pub const SESSION_REORDER_WINDOW: u32 = 8;

impl Limits {
    /// Defaults for an MRRU.
    pub fn new(mrru: u16) -> Self {
        Limits {
            mrru: usize::from(mrru),
            max_bytes: 64 * 1024,
            max_fragments: 128,
            max_age: Duration::from_secs(2),
            reorder_window: 0,
        }
    }
}

/// Why fragments were dropped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum FragmentDrop {
    /// The MP header did not parse.
    Malformed,
    /// A fragment whose sequence number was already delivered or dropped (late or duplicate).
    Stale,
    /// Fragments that can no longer form a packet because a fragment below `M` is missing.
    Lost,
    /// The reconstructed packet would exceed the MRRU.
    TooBig,
    /// The buffer limits were reached; the oldest fragments went.
    Overflow,
    /// Buffered longer than [`Limits::max_age`].
    Expired,
}

/// Reassembly counters.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ReassemblyCounters {
    /// Fragments received.
    pub fragments: u64,
    /// Packets reconstructed.
    pub packets: u64,
    /// Fragments dropped, any reason.
    pub dropped_fragments: u64,
    /// Of those: malformed headers.
    pub malformed: u64,
    /// Of those: late or duplicate.
    pub stale: u64,
    /// Of those: lost by the `M` rule.
    pub lost: u64,
    /// Of those: over the MRRU.
    pub too_big: u64,
    /// Of those: buffer limits.
    pub overflow: u64,
    /// Of those: too old.
    pub expired: u64,
}

impl ReassemblyCounters {
    fn count(&mut self, why: FragmentDrop, n: u64) {
        self.dropped_fragments += n;
        let c = match why {
            FragmentDrop::Malformed => &mut self.malformed,
            FragmentDrop::Stale => &mut self.stale,
            FragmentDrop::Lost => &mut self.lost,
            FragmentDrop::TooBig => &mut self.too_big,
            FragmentDrop::Overflow => &mut self.overflow,
            FragmentDrop::Expired => &mut self.expired,
        };
        *c += n;
    }
}

#[derive(Debug)]
struct Frag {
    seq: u32,
    begin: bool,
    end: bool,
    at: Instant,
    data: Vec<u8>,
}

/// The receiving side (RFC 1990 s4): buffers fragments by sequence number and rebuilds
/// packets, with the `M` rule for lost fragments and hard bounds on memory.
///
/// Feed every received MP frame's information field to [`Reassembler::push`] with the index
/// of the member link it came on, then take finished packets with [`Reassembler::poll`]
/// until `None`.
#[derive(Debug)]
pub struct Reassembler {
    format: SeqFormat,
    limits: Limits,
    /// Buffered fragments, ascending by sequence number (serial arithmetic).
    frags: Vec<Frag>,
    bytes: usize,
    /// Most recent sequence number per member link (`None`: nothing yet).
    members: Vec<Option<u32>>,
    /// The lowest sequence number not yet consumed (delivered or dropped).
    expected: Option<u32>,
    /// Recycled fragment buffers.
    spare: Vec<Vec<u8>>,
    /// The last reconstructed packet.
    out: Vec<u8>,
    counters: ReassemblyCounters,
}

impl Reassembler {
    /// A reassembler for `members` member links (at least one).
    pub fn new(format: SeqFormat, limits: Limits, members: usize) -> Self {
        Reassembler {
            format,
            limits,
            frags: Vec::new(),
            bytes: 0,
            members: vec![None; members.max(1)],
            expected: None,
            spare: Vec::new(),
            out: Vec::new(),
            counters: ReassemblyCounters::default(),
        }
    }
    /// The header format received.
    pub fn format(&self) -> SeqFormat {
        self.format
    }
    /// Counters.
    pub fn counters(&self) -> ReassemblyCounters {
        self.counters
    }
    /// Fragments buffered now.
    pub fn buffered_fragments(&self) -> usize {
        self.frags.len()
    }
    /// Octets buffered now.
    pub fn buffered_bytes(&self) -> usize {
        self.bytes
    }
    /// Add a member link; returns its index.
    pub fn add_member(&mut self) -> usize {
        self.members.push(None);
        self.members.len() - 1
    }
    /// A member link left: it no longer holds `M` back.
    pub fn remove_member(&mut self, member: usize) {
        if member < self.members.len() && self.members.len() > 1 {
            self.members.remove(member);
        }
    }
    /// When the oldest buffered fragment expires.
    pub fn deadline(&self) -> Option<Instant> {
        self.frags
            .iter()
            .map(|f| f.at)
            .min()
            .map(|t| t + self.limits.max_age)
    }

    /// `a - b` in the sequence space, as a signed distance.
    fn diff(&self, a: u32, b: u32) -> i64 {
        let bits = self.format.bits();
        let m = self.format.mask();
        let d = a.wrapping_sub(b) & m;
        if d >= 1 << (bits - 1) {
            i64::from(d) - (1i64 << bits)
        } else {
            i64::from(d)
        }
    }

    /// `M`: the minimum over members of the most recent sequence number; unknown (nothing is
    /// declared lost) while a member has received nothing yet. The buffer limits and the age
    /// bound still apply then.
    fn m(&self) -> Option<u32> {
        let mut m: Option<u32> = None;
        for s in &self.members {
            let s = (*s)?;
            m = Some(match m {
                Some(x) if self.diff(s, x) >= 0 => x,
                _ => s,
            });
        }
        m
    }

    /// Take one received MP information field (header + data) from member `member`.
    /// Returns the reason if this fragment itself was dropped.
    pub fn push(&mut self, now: Instant, member: usize, info: &[u8]) -> Result<(), FragmentDrop> {
        let (h, data) = match MpHeader::parse(self.format, info) {
            Ok(x) => x,
            Err(_) => {
                self.counters.fragments += 1;
                self.counters.count(FragmentDrop::Malformed, 1);
                return Err(FragmentDrop::Malformed);
            }
        };
        self.push_fragment(now, member, h, data)
    }

    /// Like [`Reassembler::push`] with the header already parsed.
    pub fn push_fragment(
        &mut self,
        now: Instant,
        member: usize,
        h: MpHeader,
        data: &[u8],
    ) -> Result<(), FragmentDrop> {
        self.counters.fragments += 1;
        let seq = h.seq & self.format.mask();
        if let Some(slot) = self.members.get_mut(member) {
            *slot = Some(seq);
        } else if let Some(slot) = self.members.last_mut() {
            *slot = Some(seq);
        }
        self.expire(now);
        if data.len() > self.limits.mrru {
            self.counters.count(FragmentDrop::TooBig, 1);
            return Err(FragmentDrop::TooBig);
        }
        if let Some(e) = self.expected {
            if self.diff(seq, e) < 0 {
                self.counters.count(FragmentDrop::Stale, 1);
                return Err(FragmentDrop::Stale);
            }
        }
        // Insert in order (search from the back: fragments mostly arrive in order).
        let mut pos = self.frags.len();
        while pos > 0 {
            let d = self.diff(seq, self.frags[pos - 1].seq);
            if d == 0 {
                self.counters.count(FragmentDrop::Stale, 1);
                return Err(FragmentDrop::Stale);
            }
            if d > 0 {
                break;
            }
            pos -= 1;
        }
        let mut buf = self.spare.pop().unwrap_or_default();
        buf.clear();
        buf.extend_from_slice(data);
        self.bytes += buf.len();
        self.frags.insert(
            pos,
            Frag {
                seq,
                begin: h.begin,
                end: h.end,
                at: now,
                data: buf,
            },
        );
        if self.expected.is_none() && pos == 0 && h.begin {
            self.expected = Some(seq);
        }
        while self.frags.len() > self.limits.max_fragments || self.bytes > self.limits.max_bytes {
            self.drop_head_packet(FragmentDrop::Overflow);
        }
        Ok(())
    }

    /// Drop fragments older than [`Limits::max_age`] (also done on every push).
    pub fn expire(&mut self, now: Instant) {
        while let Some(f) = self.frags.first() {
            if now.saturating_duration_since(f.at) < self.limits.max_age {
                // Anything behind an unexpired head stays: packets complete in order.
                if !self
                    .frags
                    .iter()
                    .any(|f| now.saturating_duration_since(f.at) >= self.limits.max_age)
                {
                    return;
                }
            }
            self.drop_head_packet(FragmentDrop::Expired);
        }
    }

    /// Drop the head fragment and everything after it up to (not including) the next
    /// fragment with B.
    fn drop_head_packet(&mut self, why: FragmentDrop) {
        let mut n = 0;
        let mut first = true;
        while let Some(f) = self.frags.first() {
            if !first && f.begin {
                break;
            }
            first = false;
            self.release(0);
            n += 1;
        }
        self.counters.count(why, n);
        self.expected = self.frags.first().map(|f| f.seq);
    }

    fn release(&mut self, i: usize) -> u32 {
        let f = self.frags.remove(i);
        self.bytes -= f.data.len();
        let seq = f.seq;
        if self.spare.len() < 8 {
            self.spare.push(f.data);
        }
        seq
    }

    fn lost(&self, seq: u32, m: Option<u32>) -> bool {
        m.is_some_and(|m| self.diff(m, seq) > i64::from(self.limits.reorder_window))
    }

    /// The next reconstructed packet (protocol field and information), if one is complete.
    pub fn poll(&mut self) -> Option<&[u8]> {
        self.poll_mut().map(|p| &*p)
    }

    /// The last packet [`Reassembler::poll`] returned (empty before the first).
    pub fn packet(&self) -> &[u8] {
        &self.out
    }

    /// Like [`Reassembler::poll`], mutable (to decrypt in place).
    pub fn poll_mut(&mut self) -> Option<&mut [u8]> {
        let mask = self.format.mask();
        loop {
            let m = self.m();
            let head = self.frags.first()?;
            let (hseq, hbegin) = (head.seq, head.begin);
            // A gap before the head that can no longer be filled.
            if let Some(e) = self.expected {
                if e != hseq {
                    if self.lost(e, m) {
                        self.expected = Some(hseq);
                        continue;
                    }
                    return None;
                }
            }
            if !hbegin {
                // The head's packet started before it: its beginning is gone once the
                // predecessor is below M (or was consumed).
                if self.expected == Some(hseq) || self.lost(hseq.wrapping_sub(1) & mask, m) {
                    self.release(0);
                    self.counters.count(FragmentDrop::Lost, 1);
                    self.expected = Some((hseq + 1) & mask);
                    continue;
                }
                return None;
            }
            self.expected = Some(hseq);
            // Walk the contiguous run from the head.
            let mut end = None;
            let mut gap = None;
            let mut total = 0usize;
            for (i, f) in self.frags.iter().enumerate() {
                let want = (hseq + i as u32) & mask;
                if f.seq != want {
                    gap = Some(want);
                    break;
                }
                if i > 0 && f.begin {
                    // A new packet starts before this one ended: its end was lost.
                    gap = Some(want);
                    end = None;
                    break;
                }
                total += f.data.len();
                if f.end {
                    end = Some(i);
                    break;
                }
            }
            match (end, gap) {
                (Some(last), _) => {
                    if total > self.limits.mrru {
                        for _ in 0..=last {
                            self.release(0);
                        }
                        self.counters.count(FragmentDrop::TooBig, last as u64 + 1);
                        self.expected = Some((hseq + last as u32 + 1) & mask);
                        continue;
                    }
                    self.out.clear();
                    for _ in 0..=last {
                        let f = self.frags.remove(0);
                        self.bytes -= f.data.len();
                        self.out.extend_from_slice(&f.data);
                        if self.spare.len() < 8 {
                            self.spare.push(f.data);
                        }
                    }
                    self.expected = Some((hseq + last as u32 + 1) & mask);
                    self.counters.packets += 1;
                    return Some(&mut self.out);
                }
                (None, Some(g)) => {
                    let next_begins = self
                        .frags
                        .iter()
                        .find(|f| f.seq == g)
                        .is_some_and(|f| f.begin);
                    if next_begins || self.lost(g, m) {
                        // This packet cannot complete.
                        let n = self.diff(g, hseq).max(1) as usize;
                        for _ in 0..n.min(self.frags.len()) {
                            self.release(0);
                        }
                        self.counters.count(FragmentDrop::Lost, n as u64);
                        self.expected = Some(g);
                        continue;
                    }
                    return None;
                }
                (None, None) => return None,
            }
        }
    }
}

/// What binds member links into one bundle (RFC 1990 s5.1.3, RouterOS "several member
/// links of the same user"): the name the peer authenticated with plus the Endpoint
/// Discriminator (class, address) it sent in LCP. A link without a discriminator joins by
/// name alone (`endpoint: None`), as RFC 1990 allows.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct BundleKey {
    /// The authenticated peer name ([`Session::user`](crate::Session::user)).
    pub user: String,
    /// The peer's Endpoint Discriminator ([`LcpNegotiated::peer_endpoint`](crate::LcpNegotiated::peer_endpoint)).
    pub endpoint: Option<(u8, Vec<u8>)>,
}

impl BundleKey {
    /// The key of a session whose LCP and authentication are done.
    pub fn of(session: &crate::Session) -> Self {
        BundleKey {
            user: session.user().to_string(),
            endpoint: session.lcp_negotiated().peer_endpoint.clone(),
        }
    }
}

/// Identifies a member link within a [`Bundle`] (never reused by that bundle).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct MemberId(pub u64);

/// Why a [`Bundle`] refused something.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum BundleError {
    /// The link's [`BundleKey`] differs from the bundle's (another user or endpoint).
    KeyMismatch,
    /// The bundle already has [`Bundle::max_members`] links.
    Full,
    /// No member link is left to send on.
    NoMembers,
    /// A member's MTU leaves no room for fragment data.
    MtuTooSmall,
    /// The packet exceeds the peer's MRRU.
    TooBig {
        /// Packet length.
        len: usize,
        /// The limit.
        mrru: usize,
    },
    /// No such member.
    NoSuchMember(MemberId),
}

#[derive(Debug, Clone)]
struct Member {
    id: MemberId,
    mtu: usize,
}

/// A multilink bundle (RFC 1990): one sequence space spread over several member links.
///
/// * **Join**: every member link of the same [`BundleKey`] (authenticated name + Endpoint
///   Discriminator) [`join`](Bundle::join)s the bundle; a link with another key is refused.
///   RouterOS reports the member count as `active-links` ([`Bundle::active_links`]).
/// * **Send**: [`Bundle::send`] cuts a packet into fragments no larger than the smallest
///   member MTU and deals them round robin over the members (so a 1500-octet packet over two
///   links goes out as one fragment on each), all from one [`Fragmenter`].
/// * **Receive**: fragments from every member go into one [`Reassembler`] that knows the
///   member each came on; `M`, the minimum over members of the last sequence number seen,
///   decides when a missing fragment is lost (RFC 1990 s4.2), so a lossy member costs only
///   its own fragments' packets.
/// * **Leave**: [`Bundle::leave`] takes a member out; the reassembler stops waiting for it
///   and the bundle carries on over the others. It goes down only with its last member.
///
/// State is bounded: at most [`Bundle::max_members`] links, and the reassembler's
/// [`Limits`] bound what is buffered whatever the peer sends.
///
/// The bundle works on MP information fields (MP header + data): the application takes the
/// protocol `0x003d` frames of each member session off the wire before handing the rest to
/// that [`Session`](crate::Session), and wraps what [`Bundle::send`] emits as protocol
/// `0x003d` frames on the member given.
#[derive(Debug)]
pub struct Bundle {
    key: BundleKey,
    peer_mrru: usize,
    max_members: usize,
    members: Vec<Member>,
    next_id: u64,
    rr: usize,
    tx: Fragmenter,
    rx: Reassembler,
}

impl Bundle {
    /// A bundle for `key` with no members yet. `tx`/`rx`: the sequence formats negotiated
    /// (the peer's Short-Sequence request decides `tx`); `peer_mrru`: the largest packet sent;
    /// `limits`: the receive bounds (our MRRU); `max_members`: the most links accepted.
    pub fn new(
        key: BundleKey,
        tx: SeqFormat,
        rx: SeqFormat,
        peer_mrru: u16,
        limits: Limits,
        max_members: usize,
    ) -> Self {
        Bundle {
            key,
            peer_mrru: usize::from(peer_mrru),
            max_members: max_members.max(1),
            members: Vec::new(),
            next_id: 0,
            rr: 0,
            tx: Fragmenter::new(tx, 0),
            rx: Reassembler::new(rx, limits, 1),
        }
    }
    /// The bundle's key.
    pub fn key(&self) -> &BundleKey {
        &self.key
    }
    /// The most member links this bundle accepts.
    pub fn max_members(&self) -> usize {
        self.max_members
    }
    /// Member links now (RouterOS `active-links`).
    pub fn active_links(&self) -> usize {
        self.members.len()
    }
    /// The members, in join order.
    pub fn members(&self) -> impl Iterator<Item = MemberId> + '_ {
        self.members.iter().map(|m| m.id)
    }
    /// Add a member link whose MTU (the peer's MRU for MP frames, MP header included) is
    /// `mtu`.
    pub fn join(&mut self, key: &BundleKey, mtu: u16) -> Result<MemberId, BundleError> {
        if *key != self.key {
            return Err(BundleError::KeyMismatch);
        }
        if self.members.len() >= self.max_members {
            return Err(BundleError::Full);
        }
        let id = MemberId(self.next_id);
        self.next_id += 1;
        // The reassembler starts with one member slot: the first member takes it.
        if !self.members.is_empty() {
            self.rx.add_member();
        }
        self.members.push(Member {
            id,
            mtu: usize::from(mtu),
        });
        Ok(id)
    }
    /// A member link left (its session ended). The bundle stays up while members remain;
    /// returns how many are left.
    pub fn leave(&mut self, id: MemberId) -> Result<usize, BundleError> {
        let i = self.index(id)?;
        self.members.remove(i);
        if self.members.is_empty() {
            // The reassembler keeps one slot; reset its view of that member.
            self.rx.remove_member(0);
        } else {
            self.rx.remove_member(i);
        }
        if self.rr >= self.members.len() {
            self.rr = 0;
        }
        Ok(self.members.len())
    }
    fn index(&self, id: MemberId) -> Result<usize, BundleError> {
        self.members
            .iter()
            .position(|m| m.id == id)
            .ok_or(BundleError::NoSuchMember(id))
    }
    /// Send one packet (protocol field and information, as MP reconstructs it): `emit` gets
    /// each fragment's member and MP information field (header + data) in sequence order.
    /// Returns the number of fragments.
    pub fn send(
        &mut self,
        packet: &[u8],
        mut emit: impl FnMut(MemberId, &[u8]),
    ) -> Result<usize, BundleError> {
        if packet.len() > self.peer_mrru + 2 {
            return Err(BundleError::TooBig {
                len: packet.len(),
                mrru: self.peer_mrru + 2,
            });
        }
        let mtu = self
            .members
            .iter()
            .map(|m| m.mtu)
            .min()
            .ok_or(BundleError::NoMembers)?;
        let format = self.tx.format();
        let hl = format.header_len();
        if mtu <= hl {
            return Err(BundleError::MtuTooSmall);
        }
        // Spread a packet over every member when it is big enough to be worth it: fragments
        // of ceil(len / members) octets, but never above the smallest MTU.
        let per = packet.len().div_ceil(self.members.len()).max(1);
        let max_info = (per + hl).min(mtu);
        let mut buf = Vec::with_capacity(max_info);
        let (members, rr) = (&self.members, &mut self.rr);
        let n = self.tx.fragment(packet, max_info, |h, data| {
            buf.clear();
            buf.resize(hl, 0);
            let _ = h.emit(format, &mut buf);
            buf.extend_from_slice(data);
            let m = &members[*rr % members.len()];
            *rr = (*rr + 1) % members.len();
            emit(m.id, &buf);
        });
        Ok(n)
    }
    /// Take one received MP information field from member `id`.
    pub fn receive(&mut self, now: Instant, id: MemberId, info: &[u8]) -> Result<(), BundleError> {
        let i = self.index(id)?;
        let _ = self.rx.push(now, i, info);
        Ok(())
    }
    /// The next reconstructed packet, if one is complete (call until `None`).
    pub fn poll(&mut self) -> Option<&[u8]> {
        self.rx.poll()
    }
    /// When [`Bundle::handle_timeout`] is due.
    pub fn poll_timeout(&self) -> Option<Instant> {
        self.rx.deadline()
    }
    /// Expire fragments that waited too long.
    pub fn handle_timeout(&mut self, now: Instant) {
        self.rx.expire(now);
    }
    /// The reassembler's counters.
    pub fn counters(&self) -> ReassemblyCounters {
        self.rx.counters()
    }
    /// Fragments buffered now.
    pub fn buffered_fragments(&self) -> usize {
        self.rx.buffered_fragments()
    }
    /// Octets buffered now.
    pub fn buffered_bytes(&self) -> usize {
        self.rx.buffered_bytes()
    }
}

/// Split a reconstructed packet into its protocol field (1 or 2 octets, RFC 1661 s2) and
/// information.
pub fn split_protocol(packet: &[u8]) -> Option<(u16, &[u8])> {
    match packet {
        [p, rest @ ..] if p & 1 == 1 => Some((u16::from(*p), rest)),
        [a, b, rest @ ..] if b & 1 == 1 && a & 1 == 0 => Some((u16::from_be_bytes([*a, *b]), rest)),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn header_known_bytes() {
        let h = MpHeader {
            begin: true,
            end: false,
            seq: 0x012345,
        };
        let mut b = [0u8; 4];
        assert_eq!(h.emit(SeqFormat::Long, &mut b), Some(4));
        assert_eq!(b, [0x80, 0x01, 0x23, 0x45]);
        let h = MpHeader {
            begin: false,
            end: true,
            seq: 0xabc,
        };
        assert_eq!(h.emit(SeqFormat::Short, &mut b), Some(2));
        assert_eq!(&b[..2], &[0x4a, 0xbc]);
        assert_eq!(
            MpHeader::parse(SeqFormat::Short, &[0x4a, 0xbc, 9]).unwrap(),
            (h, &[9u8][..])
        );
        assert!(MpHeader::parse(SeqFormat::Long, &[0x81, 0, 0, 0]).is_err());
        assert!(MpHeader::parse(SeqFormat::Short, &[0x10, 0]).is_err());
        assert!(MpHeader::parse(SeqFormat::Long, &[0x80, 0]).is_err());
    }

    fn frags(packet: &[u8], max: usize, f: &mut Fragmenter) -> Vec<Vec<u8>> {
        let mut v = Vec::new();
        let fmt = f.format();
        f.fragment(packet, max, |h, d| {
            let mut b = vec![0u8; fmt.header_len()];
            h.emit(fmt, &mut b).unwrap();
            b.extend_from_slice(d);
            v.push(b);
        });
        v
    }

    #[test]
    fn fragment_and_reassemble_in_order() {
        let now = Instant::now();
        for fmt in [SeqFormat::Long, SeqFormat::Short] {
            let mut f = Fragmenter::new(fmt, fmt.mask() - 2); // crosses the wrap
            let mut r = Reassembler::new(fmt, Limits::new(1600), 1);
            for i in 0..20u8 {
                let pkt: Vec<u8> = (0..1502).map(|j| (j as u8).wrapping_add(i)).collect();
                let fr = frags(&pkt, 1450, &mut f);
                assert_eq!(fr.len(), 2);
                for x in &fr {
                    r.push(now, 0, x).unwrap();
                }
                assert_eq!(r.poll().unwrap(), &pkt[..]);
                assert!(r.poll().is_none());
            }
            assert_eq!(r.counters().packets, 20);
            assert_eq!(r.buffered_fragments(), 0);
        }
    }

    #[test]
    fn lost_fragment_is_counted_by_the_m_rule() {
        let now = Instant::now();
        let mut f = Fragmenter::new(SeqFormat::Long, 0);
        let mut r = Reassembler::new(SeqFormat::Long, Limits::new(1600), 1);
        let a = frags(&[1u8; 1500], 1000, &mut f);
        let b = frags(&[2u8; 1500], 1000, &mut f);
        let c = frags(&[3u8; 1500], 1000, &mut f);
        r.push(now, 0, &a[0]).unwrap(); // a[1] lost
        assert!(r.poll().is_none());
        r.push(now, 0, &b[0]).unwrap(); // b[0] has B: a cannot complete
        r.push(now, 0, &b[1]).unwrap();
        assert_eq!(r.poll().unwrap(), &[2u8; 1500][..]);
        r.push(now, 0, &c[1]).unwrap(); // c[0] lost: c[1] below nothing, dropped
        assert!(r.poll().is_none());
        assert_eq!(r.counters().lost, 2);
        assert_eq!(r.buffered_fragments(), 0);
    }

    #[test]
    fn two_members_wait_for_the_slower_one() {
        let now = Instant::now();
        let mut f = Fragmenter::new(SeqFormat::Long, 0);
        let mut r = Reassembler::new(SeqFormat::Long, Limits::new(1600), 2);
        let a = frags(&[7u8; 1500], 800, &mut f);
        // Fragment 1 arrives on member 1 first; fragment 0 on member 0 later.
        r.push(now, 1, &a[1]).unwrap();
        assert!(r.poll().is_none());
        r.push(now, 0, &a[0]).unwrap();
        assert_eq!(r.poll().unwrap().len(), 1500);
    }

    #[test]
    fn reorder_window_waits_for_a_late_fragment() {
        let now = Instant::now();
        let mut f = Fragmenter::new(SeqFormat::Long, 0);
        let limits = Limits {
            reorder_window: 2,
            ..Limits::new(1600)
        };
        let mut r = Reassembler::new(SeqFormat::Long, limits, 1);
        let a = frags(&[1u8; 1500], 1000, &mut f);
        let b = frags(&[2u8; 100], 1000, &mut f);
        // a[1] overtaken by b[0]: within the window, nothing is declared lost.
        r.push(now, 0, &a[0]).unwrap();
        r.push(now, 0, &b[0]).unwrap();
        assert!(r.poll().is_none());
        r.push(now, 0, &a[1]).unwrap();
        assert_eq!(r.poll().unwrap(), &[1u8; 1500][..]);
        assert_eq!(r.poll().unwrap(), &[2u8; 100][..]);
        assert_eq!(r.counters().dropped_fragments, 0);
        // Strict (window 0) would have dropped a[0] when b[0] arrived.
        let mut f = Fragmenter::new(SeqFormat::Long, 0);
        let mut r = Reassembler::new(SeqFormat::Long, Limits::new(1600), 1);
        let a = frags(&[1u8; 1500], 1000, &mut f);
        let b = frags(&[2u8; 100], 1000, &mut f);
        r.push(now, 0, &a[0]).unwrap();
        r.push(now, 0, &b[0]).unwrap();
        assert_eq!(r.poll().unwrap(), &[2u8; 100][..]);
        assert_eq!(r.push(now, 0, &a[1]), Err(FragmentDrop::Stale));
        assert_eq!(r.counters().lost, 1);
    }

    #[test]
    fn bounded_and_expiring() {
        let now = Instant::now();
        let mut r = Reassembler::new(SeqFormat::Long, Limits::new(1600), 4);
        // Middle fragments only, on member links that never advance M past them.
        for s in 0..1000u32 {
            let h = MpHeader {
                begin: s == 0,
                end: false,
                seq: s * 2,
            };
            let _ = r.push_fragment(now, 0, h, &[0u8; 700]);
            assert!(r.poll().is_none());
            assert!(r.buffered_fragments() <= 128 && r.buffered_bytes() <= 64 * 1024);
        }
        assert!(r.counters().overflow > 0);
        r.expire(now + Duration::from_secs(3));
        assert_eq!(r.buffered_fragments(), 0);
        assert!(r.counters().expired > 0);
    }

    #[test]
    fn protocol_split() {
        assert_eq!(split_protocol(&[0x21, 1]), Some((0x21, &[1u8][..])));
        assert_eq!(split_protocol(&[0, 0x21, 1]), Some((0x21, &[1u8][..])));
        assert_eq!(split_protocol(&[0]), None);
    }
}

//! SA payload proposals: built from RouterOS profiles (IKE SA) and proposals (Child SA), and
//! the responder's selection (RFC 7296 2.7, 3.3.6): the first of the initiator's proposals
//! whose every transform type has an acceptable transform; the answer carries exactly one
//! transform per type.

use crate::config::{Profile, Proposal as RosProposal};
use crate::crypto::{Encr, Group, IkeSuite, Integ, Prf};
use crate::wire::{
    DhId, EncrId, EsnId, IntegId, PrfId, Proposal, ProtocolId, Transform, TransformType,
};

fn encr_transform(e: Encr) -> Transform {
    let (id, kl) = e.transform();
    match kl {
        Some(bits) => Transform::with_key_len(TransformType::ENCR, id.0, bits),
        None => Transform::new(TransformType::ENCR, id.0),
    }
}

/// The IKE SA proposal of a profile (one proposal, every configured transform).
pub fn ike_proposal(p: &Profile, spi: &[u8]) -> Proposal {
    let mut t = Vec::new();
    for e in &p.enc_algorithm {
        t.push(encr_transform(*e));
    }
    for h in &p.hash_algorithm {
        t.push(Transform::new(TransformType::PRF, h.prf().id().0));
    }
    for h in &p.hash_algorithm {
        t.push(Transform::new(TransformType::INTEG, h.integ().id().0));
    }
    for g in &p.dh_group {
        t.push(Transform::new(TransformType::DH, g.id().0));
    }
    Proposal {
        number: 1,
        protocol: ProtocolId::IKE,
        spi: spi.to_vec(),
        transforms: t,
        reserved: 0,
    }
}

/// The ESP proposals of a RouterOS proposal: AEAD ciphers in one proposal (integrity none),
/// the others with the configured integrity algorithms in another; `pfs` adds the DH group.
pub fn esp_proposals(p: &RosProposal, spi: u32, pfs: Option<Group>) -> Vec<Proposal> {
    let mut out = Vec::new();
    let aead: Vec<Encr> = p
        .enc_algorithms
        .iter()
        .copied()
        .filter(|e| e.is_aead())
        .collect();
    let plain: Vec<Encr> = p
        .enc_algorithms
        .iter()
        .copied()
        .filter(|e| !e.is_aead())
        .collect();
    let integs: Vec<Integ> = p.auth_algorithms.iter().flatten().copied().collect();
    let tail = |t: &mut Vec<Transform>| {
        if let Some(g) = pfs {
            t.push(Transform::new(TransformType::DH, g.id().0));
        }
        t.push(Transform::new(TransformType::ESN, EsnId::NO_ESN.0));
    };
    if !aead.is_empty() {
        let mut t: Vec<Transform> = aead.iter().map(|e| encr_transform(*e)).collect();
        tail(&mut t);
        out.push(t);
    }
    if !plain.is_empty() && !integs.is_empty() {
        let mut t: Vec<Transform> = plain.iter().map(|e| encr_transform(*e)).collect();
        t.extend(
            integs
                .iter()
                .map(|i| Transform::new(TransformType::INTEG, i.id().0)),
        );
        tail(&mut t);
        out.push(t);
    }
    out.into_iter()
        .enumerate()
        .map(|(i, transforms)| Proposal {
            number: i as u8 + 1,
            protocol: ProtocolId::ESP,
            spi: spi.to_be_bytes().to_vec(),
            transforms,
            reserved: 0,
        })
        .collect()
}

/// The algorithms of a selected ESP proposal.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ChildSuite {
    /// Encryption.
    pub encr: Encr,
    /// Integrity.
    pub integ: Option<Integ>,
    /// PFS group.
    pub dh: Option<Group>,
    /// Extended sequence numbers.
    pub esn: bool,
}

fn encr_of(t: &Transform) -> Option<Encr> {
    Encr::from_transform(EncrId(t.id), t.key_len()).ok()
}

/// Pick the first acceptable IKE proposal from `offered` against `profile`. Returns the
/// answer proposal (one transform per type, the offer's number) and the suite.
pub fn select_ike(offered: &[Proposal], profile: &Profile) -> Option<(Proposal, IkeSuite)> {
    for p in offered.iter().filter(|p| p.protocol == ProtocolId::IKE) {
        let encr = p
            .of_type(TransformType::ENCR)
            .find(|t| encr_of(t).is_some_and(|e| profile.enc_algorithm.contains(&e)));
        let prf = p.of_type(TransformType::PRF).find(|t| {
            profile
                .hash_algorithm
                .iter()
                .any(|h| h.prf().id().0 == t.id)
        });
        let integ = p.of_type(TransformType::INTEG).find(|t| {
            profile
                .hash_algorithm
                .iter()
                .any(|h| h.integ().id().0 == t.id)
        });
        let dh = p
            .of_type(TransformType::DH)
            .find(|t| profile.dh_group.iter().any(|g| g.id().0 == t.id));
        if let (Some(e), Some(f), Some(i), Some(d)) = (encr, prf, integ, dh) {
            let suite = IkeSuite {
                encr: encr_of(e)?,
                integ: Integ::from_id(IntegId(i.id)).ok()?,
                prf: Prf::from_id(PrfId(f.id)).ok()?,
                dh: Group::from_id(DhId(d.id)).ok()?,
            };
            let ans = Proposal {
                number: p.number,
                protocol: ProtocolId::IKE,
                spi: Vec::new(),
                transforms: vec![e.clone(), f.clone(), i.clone(), d.clone()],
                reserved: 0,
            };
            return Some((ans, suite));
        }
    }
    None
}

/// Check the responder's IKE answer against what we offered; returns the suite.
pub fn accept_ike_answer(answer: &[Proposal], profile: &Profile) -> Option<IkeSuite> {
    let [p] = answer else { return None };
    let one = |t: TransformType| {
        let mut it = p.of_type(t);
        let x = it.next();
        if it.next().is_some() {
            None
        } else {
            x
        }
    };
    let e = encr_of(one(TransformType::ENCR)?)?;
    if !profile.enc_algorithm.contains(&e) {
        return None;
    }
    let prf = Prf::from_id(PrfId(one(TransformType::PRF)?.id)).ok()?;
    let integ = match one(TransformType::INTEG) {
        Some(t) => Integ::from_id(IntegId(t.id)).ok()?,
        None => None,
    };
    let dh = Group::from_id(DhId(one(TransformType::DH)?.id)).ok()?;
    if !profile.hash_algorithm.iter().any(|h| h.prf() == prf) || !profile.dh_group.contains(&dh) {
        return None;
    }
    if integ.is_some_and(|i| !profile.hash_algorithm.iter().any(|h| h.integ() == i)) {
        return None;
    }
    Some(IkeSuite {
        encr: e,
        integ,
        prf,
        dh,
    })
}

/// Pick the first acceptable ESP proposal from `offered` against the RouterOS proposal;
/// `pfs` is the group required (None: no DH transform or NONE accepted). Returns the answer
/// (with our SPI) and the suite and the peer's SPI.
pub fn select_esp(
    offered: &[Proposal],
    ours: &RosProposal,
    pfs: Option<Group>,
    our_spi: u32,
) -> Option<(Proposal, ChildSuite, u32)> {
    for p in offered
        .iter()
        .filter(|p| p.protocol == ProtocolId::ESP && p.spi.len() == 4)
    {
        let encr = p
            .of_type(TransformType::ENCR)
            .find(|t| encr_of(t).is_some_and(|e| ours.enc_algorithms.contains(&e)));
        let Some(encr) = encr else { continue };
        let e = encr_of(encr)?;
        let integ = if e.is_aead() {
            if p.of_type(TransformType::INTEG)
                .any(|t| t.id != IntegId::NONE.0)
            {
                continue;
            }
            None
        } else {
            match p.of_type(TransformType::INTEG).find(|t| {
                ours.auth_algorithms
                    .iter()
                    .flatten()
                    .any(|i| i.id().0 == t.id)
            }) {
                Some(t) => Some(t.clone()),
                None => continue,
            }
        };
        let dhs: Vec<&Transform> = p.of_type(TransformType::DH).collect();
        let dh = match pfs {
            Some(g) => match dhs.iter().find(|t| t.id == g.id().0) {
                Some(t) => Some((*t).clone()),
                None => continue,
            },
            None => {
                if !dhs.is_empty() && !dhs.iter().any(|t| t.id == 0) {
                    continue;
                }
                None
            }
        };
        let esns: Vec<&Transform> = p.of_type(TransformType::ESN).collect();
        let esn = if esns.is_empty() || esns.iter().any(|t| t.id == EsnId::NO_ESN.0) {
            false
        } else if esns.iter().any(|t| t.id == EsnId::ESN.0) {
            true
        } else {
            continue;
        };
        let mut t = vec![encr.clone()];
        if let Some(i) = &integ {
            t.push(i.clone());
        }
        if let Some(d) = &dh {
            t.push(d.clone());
        }
        t.push(Transform::new(TransformType::ESN, if esn { 1 } else { 0 }));
        let suite = ChildSuite {
            encr: e,
            integ: match &integ {
                Some(i) => Integ::from_id(IntegId(i.id)).ok()?,
                None => None,
            },
            dh: pfs,
            esn,
        };
        let peer_spi = u32::from_be_bytes([p.spi[0], p.spi[1], p.spi[2], p.spi[3]]);
        return Some((
            Proposal {
                number: p.number,
                protocol: ProtocolId::ESP,
                spi: our_spi.to_be_bytes().to_vec(),
                transforms: t,
                reserved: 0,
            },
            suite,
            peer_spi,
        ));
    }
    None
}

/// Check the responder's ESP answer against our RouterOS proposal; returns the suite and
/// the responder's SPI.
pub fn accept_esp_answer(
    answer: &[Proposal],
    ours: &RosProposal,
    pfs: Option<Group>,
) -> Option<(ChildSuite, u32)> {
    let [p] = answer else { return None };
    if p.protocol != ProtocolId::ESP || p.spi.len() != 4 {
        return None;
    }
    let e = encr_of(p.of_type(TransformType::ENCR).next()?)?;
    if !ours.enc_algorithms.contains(&e) {
        return None;
    }
    let integ = match p.of_type(TransformType::INTEG).next() {
        Some(t) => Integ::from_id(IntegId(t.id)).ok()?,
        None => None,
    };
    if e.is_aead() != integ.is_none()
        || integ.is_some_and(|i| !ours.auth_algorithms.contains(&Some(i)))
    {
        return None;
    }
    let dh = p
        .of_type(TransformType::DH)
        .next()
        .and_then(|t| Group::from_id(DhId(t.id)).ok());
    if dh != pfs {
        return None;
    }
    let esn = p
        .of_type(TransformType::ESN)
        .next()
        .is_some_and(|t| t.id == 1);
    let spi = u32::from_be_bytes([p.spi[0], p.spi[1], p.spi[2], p.spi[3]]);
    Some((
        ChildSuite {
            encr: e,
            integ,
            dh,
            esn,
        },
        spi,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::HashAlgorithm;

    #[test]
    fn ike_selection_follows_the_offer_and_profile() {
        let ours = Profile {
            dh_group: vec![Group::Modp(2048), Group::Ecp256],
            enc_algorithm: vec![Encr::AesCbc(32), Encr::AesCbc(16)],
            hash_algorithm: vec![HashAlgorithm::Sha256],
            ..Profile::default()
        };
        let theirs = Profile {
            dh_group: vec![Group::Ecp256, Group::Modp(2048)],
            enc_algorithm: vec![Encr::AesCbc(16)],
            hash_algorithm: vec![HashAlgorithm::Sha1, HashAlgorithm::Sha256],
            ..Profile::default()
        };
        let offer = ike_proposal(&theirs, &[]);
        let (ans, suite) = select_ike(&[offer], &ours).unwrap();
        assert_eq!(suite.encr, Encr::AesCbc(16));
        assert_eq!(suite.prf, Prf::HmacSha256);
        assert_eq!(suite.dh, Group::Ecp256, "the initiator's order wins");
        assert_eq!(accept_ike_answer(&[ans], &theirs), Some(suite));
        let none = Profile {
            dh_group: vec![Group::Modp(1024)],
            ..Profile::default()
        };
        assert!(select_ike(&[ike_proposal(&ours, &[])], &none).is_none());
    }

    #[test]
    fn esp_selection_aead_and_pfs() {
        let ours = RosProposal {
            enc_algorithms: vec![Encr::AesGcm(16, 16), Encr::AesCbc(16)],
            auth_algorithms: vec![Some(Integ::HmacSha256_128)],
            ..RosProposal::default()
        };
        let offer = esp_proposals(&ours, 0x11223344, None);
        assert_eq!(offer.len(), 2);
        let (ans, suite, spi) = select_esp(&offer, &ours, None, 0xaabbccdd).unwrap();
        assert_eq!(
            (suite.encr, suite.integ, spi),
            (Encr::AesGcm(16, 16), None, 0x11223344)
        );
        assert_eq!(
            accept_esp_answer(&[ans], &ours, None),
            Some((suite, 0xaabbccdd))
        );
        // PFS required but not offered: refused.
        assert!(select_esp(&offer, &ours, Some(Group::Ecp256), 1).is_none());
        let with = esp_proposals(&ours, 1, Some(Group::Ecp256));
        let (_, s, _) = select_esp(&with, &ours, Some(Group::Ecp256), 2).unwrap();
        assert_eq!(s.dh, Some(Group::Ecp256));
        let cbc_only = RosProposal {
            enc_algorithms: vec![Encr::AesCbc(16)],
            ..ours.clone()
        };
        let (_, s, _) = select_esp(&offer, &cbc_only, None, 3).unwrap();
        assert_eq!(
            (s.encr, s.integ),
            (Encr::AesCbc(16), Some(Integ::HmacSha256_128))
        );
    }
}

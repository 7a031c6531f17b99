//! INFORMATIONAL (delete, liveness) and the per-SA timers (retransmission, DPD, lifetimes, NAT keepalives).

use super::*;

pub(crate) fn informational_request(
    ike: &mut Ike,
    now: Instant,
    id: u64,
    msg_id: u32,
    ps: &[Payload],
) -> Input {
    let mut out = Vec::new();
    let mut delete_ike = false;
    let mut ours = Vec::new();
    for p in ps {
        if let Body::Delete(d) = &p.body {
            match d.protocol {
                ProtocolId::IKE => delete_ike = true,
                ProtocolId::ESP | ProtocolId::AH => {
                    for s in &d.spis {
                        if s.len() != 4 {
                            continue;
                        }
                        let spi_out = u32::from_be_bytes([s[0], s[1], s[2], s[3]]);
                        let found = ike.sas[&id]
                            .children
                            .iter()
                            .find(|c| c.spi_out == spi_out)
                            .map(|c| (c.spi_in, c.rekeyed_by.is_some()));
                        if let Some((spi_in, rekeyed)) = found {
                            // 1.4.1: answer with our SPIs of the same SAs, unless we already
                            // sent our own Delete for them (a simultaneous delete).
                            let already = matches!(&ike.sas[&id].pending, Some(Pending { kind: PendingKind::DeleteChildren(v), .. }) if v.contains(&spi_in));
                            if !already {
                                ours.push(spi_in.to_be_bytes().to_vec());
                            }
                            remove_child_by_spi_in(
                                ike,
                                id,
                                spi_in,
                                Some(if rekeyed {
                                    ChildDownReason::Rekeyed
                                } else {
                                    ChildDownReason::DeletedByPeer
                                }),
                            );
                        }
                    }
                }
                _ => {}
            }
        }
    }
    if !ours.is_empty() {
        out.push(Payload::new(
            PayloadType::DELETE,
            Body::Delete(Delete {
                protocol: ProtocolId::ESP,
                spi_size: 4,
                spis: ours,
            }),
        ));
    }
    respond(ike, now, id, ExchangeType::INFORMATIONAL, msg_id, out);
    if delete_ike {
        let reason = if ike.sas[&id].replaced_by.is_some() {
            DownReason::Rekeyed
        } else {
            DownReason::DeletedByPeer
        };
        ike.kill(id, reason);
    }
    Input::Handled
}

/// Timer work of one SA.
pub(crate) fn timers(ike: &mut Ike, now: Instant, id: u64) {
    let s = ike.config.settings.clone();
    let Some(sa) = ike.sas.get_mut(&id) else {
        return;
    };
    // Retransmission (2.1): doubling timeouts; give up after the configured tries.
    if let Some(p) = sa.pending.as_mut() {
        if now >= p.next {
            if p.tries >= s.retransmit_tries {
                ike.kill(id, DownReason::Timeout);
                return;
            }
            p.tries += 1;
            p.next = now + s.retransmit_timeout * (1u32 << p.tries.min(16));
            let pk = p.packets.clone();
            ike.stats.retransmits += 1;
            ike.send_packets(id, now, &pk);
        }
    }
    let Some(sa) = ike.sas.get_mut(&id) else {
        return;
    };
    if sa.half_open_until.is_some_and(|t| now >= t) {
        ike.kill(id, DownReason::HalfOpenTimeout);
        return;
    }
    if sa.state != SaState::Established {
        return;
    }
    if sa.expire_at.is_some_and(|t| now >= t) {
        ike.kill(id, DownReason::Expired);
        return;
    }
    let mut reqs = Vec::new();
    if sa.rekey_at.is_some_and(|t| now >= t) && sa.replaced_by.is_none() {
        sa.rekey_at = None;
        reqs.push(Req::RekeyIke);
    }
    let mut expired = Vec::new();
    for c in sa.children.iter_mut() {
        if now >= c.hard_at {
            expired.push(c.spi_in);
        } else if now >= c.soft_at && c.rekeyed_by.is_none() && !c.rekeying {
            c.soft_at = c.hard_at;
            reqs.push(Req::RekeyChild(c.id));
        }
    }
    let dpd = ike.dpd_interval(&ike.sas[&id]);
    let sa = ike.sas.get_mut(&id).expect_or_skip();
    if let Some(d) = dpd {
        if sa.pending.is_none() && sa.queue.is_empty() && now >= sa.last_rx + d {
            reqs.push(Req::Dpd);
        }
    }
    let keepalive = sa.nat_local && now >= sa.last_tx + s.nat_keepalive;
    for spi in &expired {
        remove_child_by_spi_in(ike, id, *spi, Some(ChildDownReason::Expired));
    }
    if !expired.is_empty() {
        // Tell the peer (the SAs are gone here already).
        let d = Delete {
            protocol: ProtocolId::ESP,
            spi_size: 4,
            spis: expired.iter().map(|s| s.to_be_bytes().to_vec()).collect(),
        };
        if ike.sas[&id].pending.is_none() {
            start_request(
                ike,
                now,
                id,
                ExchangeType::INFORMATIONAL,
                vec![Payload::new(PayloadType::DELETE, Body::Delete(d))],
                PendingKind::DeleteChildren(expired.clone()),
            );
        }
    }
    for r in reqs {
        queue_request(ike, now, id, r);
    }
    if keepalive {
        let (local, remote) = {
            let sa = ike.sas.get_mut(&id).expect_or_skip();
            sa.last_tx = now;
            (sa.local, sa.remote)
        };
        ike.stats.keepalives_sent += 1;
        ike.out.push_back(crate::ike::Transmit {
            local,
            remote,
            payload: crate::esp::NAT_KEEPALIVE.to_vec(),
        });
    }
}

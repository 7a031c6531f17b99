//! `/system ptp monitor` and `/system ptp status` snapshots (seed L128-161, L38).

use core::fmt;

use crate::wire::ClockIdentity;
use crate::PortState;

/// Monitor snapshot with every RouterOS monitor field.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Monitor {
    /// `name`.
    pub name: String,
    /// `clock-id`.
    pub clock_id: ClockIdentity,
    /// `priority1`.
    pub priority1: u8,
    /// `priority2`.
    pub priority2: u8,
    /// `i-am-gm`.
    pub i_am_gm: bool,
    /// `gm-clock-id`.
    pub gm_clock_id: ClockIdentity,
    /// `gm-priority1`.
    pub gm_priority1: u8,
    /// `gm-priority2`.
    pub gm_priority2: u8,
    /// `master-clock-id` (parent clock; equals gm-clock-id when directly attached).
    pub master_clock_id: ClockIdentity,
    /// `slave-port`.
    pub slave_port: Option<String>,
    /// `freq-drift` in ppb.
    pub freq_drift_ppb: Option<i64>,
    /// `offset` in ns.
    pub offset_ns: Option<i64>,
    /// `hw-offset` in ns (offset of the hardware clock to the system clock; filled in by the
    /// caller that owns a PHC, `None` otherwise).
    pub hw_offset_ns: Option<i64>,
    /// `slave-port-delay` in ns.
    pub slave_port_delay_ns: Option<i64>,
}

impl fmt::Display for Monitor {
    /// RouterOS layout: `key: value` lines; fields without a value are omitted.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let yn = |b: bool| if b { "yes" } else { "no" };
        writeln!(f, "name: {}", self.name)?;
        writeln!(f, "clock-id: {}", self.clock_id)?;
        writeln!(f, "priority1: {}", self.priority1)?;
        writeln!(f, "priority2: {}", self.priority2)?;
        writeln!(f, "i-am-gm: {}", yn(self.i_am_gm))?;
        writeln!(f, "gm-clock-id: {}", self.gm_clock_id)?;
        writeln!(f, "gm-priority1: {}", self.gm_priority1)?;
        writeln!(f, "gm-priority2: {}", self.gm_priority2)?;
        writeln!(f, "master-clock-id: {}", self.master_clock_id)?;
        if let Some(p) = &self.slave_port {
            writeln!(f, "slave-port: {p}")?;
        }
        if let Some(v) = self.freq_drift_ppb {
            writeln!(f, "freq-drift: {v} ppb")?;
        }
        if let Some(v) = self.offset_ns {
            writeln!(f, "offset: {v} ns")?;
        }
        if let Some(v) = self.hw_offset_ns {
            writeln!(f, "hw-offset: {v} ns")?;
        }
        if let Some(v) = self.slave_port_delay_ns {
            writeln!(f, "slave-port-delay: {v} ns")?;
        }
        Ok(())
    }
}

/// One `/system ptp status` row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PortStatus {
    /// Interface.
    pub interface: String,
    /// Port state.
    pub state: PortState,
    /// Delay in ns (E2E: on the slave port; P2P: link delay of every port).
    pub delay_ns: Option<i64>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn golden_seed_rendering() {
        let m = Monitor {
            name: "ptp1".into(),
            clock_id: ClockIdentity([0x64, 0xD1, 0x54, 0xFF, 0xFE, 0xEB, 0xAD, 0xC7]),
            priority1: 246,
            priority2: 248,
            i_am_gm: false,
            gm_clock_id: ClockIdentity([0x64, 0xD1, 0x54, 0xFF, 0xFE, 0xEB, 0xAE, 0xC3]),
            gm_priority1: 100,
            gm_priority2: 248,
            master_clock_id: ClockIdentity([0x64, 0xD1, 0x54, 0xFF, 0xFE, 0xEB, 0xAE, 0xC3]),
            slave_port: Some("ether1".into()),
            freq_drift_ppb: Some(2690),
            offset_ns: Some(3),
            hw_offset_ns: Some(-889419842),
            slave_port_delay_ns: Some(306),
        };
        let expect = "name: ptp1\nclock-id: 64:D1:54:FF:FE:EB:AD:C7\npriority1: 246\npriority2: 248\ni-am-gm: no\ngm-clock-id: 64:D1:54:FF:FE:EB:AE:C3\ngm-priority1: 100\ngm-priority2: 248\nmaster-clock-id: 64:D1:54:FF:FE:EB:AE:C3\nslave-port: ether1\nfreq-drift: 2690 ppb\noffset: 3 ns\nhw-offset: -889419842 ns\nslave-port-delay: 306 ns\n";
        assert_eq!(m.to_string(), expect);
    }
}

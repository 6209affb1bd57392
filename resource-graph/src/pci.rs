//! PCI addresses, as hwloc, NVML and lspci write them, and where hwloc
//! placed a PCI device in the graph: the common ground of the hwloc reader
//! and the GPU merge.
use std::fmt;
use std::str::FromStr;

use crate::graph::VertexIdx;

/// A PCI address, `domain:bus:device.function`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct PciAddr {
    pub domain: u32,
    pub bus: u8,
    pub device: u8,
    pub function: u8,
}

impl fmt::Display for PciAddr {
    /// The short form hwloc and lspci print: `0000:04:00.0`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{:04x}:{:02x}:{:02x}.{:x}",
            self.domain, self.bus, self.device, self.function
        )
    }
}

impl FromStr for PciAddr {
    type Err = String;

    /// Reads `0000:04:00.0`, NVML's `00000000:04:00.0` (any case) and a
    /// domain-less `04:00.0` (domain 0).
    fn from_str(s: &str) -> Result<Self, String> {
        let bad = || format!("\"{s}\" is not a PCI address (domain:bus:device.function)");
        let (rest, function) = s.rsplit_once('.').ok_or_else(bad)?;
        let mut parts: Vec<&str> = rest.split(':').collect();
        if parts.len() == 2 {
            parts.insert(0, "0");
        }
        let [domain, bus, device] = parts[..] else {
            return Err(bad());
        };
        let hex = |t: &str, max: u32| {
            u32::from_str_radix(t, 16)
                .ok()
                .filter(|&v| v <= max && !t.is_empty())
                .ok_or_else(bad)
        };
        Ok(PciAddr {
            domain: hex(domain, u32::MAX)?,
            bus: hex(bus, 0xff)? as u8,
            device: hex(device, 0x1f)? as u8,
            function: hex(function, 0x7)? as u8,
        })
    }
}

/// Where hwloc placed a PCI device: the graph vertex it would hang under,
/// and the `gpu` vertex made from one of its OS devices, if any.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PciSite {
    pub parent: VertexIdx,
    pub gpu: Option<VertexIdx>,
}

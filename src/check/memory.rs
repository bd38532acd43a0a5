//! Placeholder until the memory check lands.

use super::{Kind, Probe};
use crate::config::{Builder, RawCheck};

pub const KIND: Kind = Kind { name: "memory", keys: &[], readings: &[], build };

fn build(_raw: &RawCheck, b: &mut Builder) -> Option<Box<dyn Probe>> {
    b.error("type", "not built yet");
    None
}

//! The invariants, checked after every tick and once the partition has settled.

use super::cluster::Sim;
use super::node::Entry;

pub(super) fn check(sim: &mut Sim) -> Result<(), String> {
    high_watermarks_are_on_every_isr_member(sim)?;
    acknowledged_records_are_on_every_isr_member(sim)?;
    high_watermarks_never_fall(sim)
}

fn first_difference(a: &[Entry], b: &[Entry]) -> Option<usize> {
    a.iter().zip(b).position(|(x, y)| x != y)
}

/// No broker that believes it leads exposes a record that some member of the controller's
/// ISR (the brokers it may elect next) lacks or holds differently.
fn high_watermarks_are_on_every_isr_member(sim: &Sim) -> Result<(), String> {
    let ps = sim.controller.partition();
    for leader in sim.nodes.iter().filter(|n| n.leading().is_some()) {
        let hw = leader.high_watermark().unwrap_or(0);
        if hw < 0 || hw > leader.end() {
            return Err(format!(
                "leader {} has high watermark {hw} outside its log (end {})",
                leader.id,
                leader.end()
            ));
        }
        for &m in &ps.isr {
            let member = sim.node(m);
            if member.end() < hw {
                return Err(format!(
                    "leader {} has high watermark {hw} beyond the log end {} of ISR member {m}",
                    leader.id,
                    member.end()
                ));
            }
            let upto = hw as usize;
            if let Some(o) = first_difference(&leader.log[..upto], &member.log[..upto]) {
                return Err(format!(
                    "leader {} and ISR member {m} differ at offset {o}, below the high watermark {hw}",
                    leader.id
                ));
            }
        }
    }
    Ok(())
}

/// Every acknowledged record is at its offset on every member of the controller's ISR.
fn acknowledged_records_are_on_every_isr_member(sim: &Sim) -> Result<(), String> {
    let ps = sim.controller.partition();
    for &m in &ps.isr {
        acknowledged_records_are_on(sim, m)?;
    }
    Ok(())
}

pub(super) fn acknowledged_records_are_on(sim: &Sim, id: i32) -> Result<(), String> {
    let log = &sim.node(id).log;
    for a in &sim.acked {
        let held = log.get(a.offset as usize);
        if held != Some(&a.entry) {
            return Err(format!(
                "acknowledged record {:?} at offset {} is {held:?} on broker {id}",
                a.entry, a.offset
            ));
        }
    }
    Ok(())
}

/// A leader's high watermark never moves back within its epoch.
fn high_watermarks_never_fall(sim: &mut Sim) -> Result<(), String> {
    for n in &sim.nodes {
        let (Some(epoch), Some(hw)) = (n.leading(), n.high_watermark()) else {
            continue;
        };
        let seen = sim.hw_seen.entry((n.id, epoch)).or_insert(hw);
        if hw < *seen {
            return Err(format!(
                "leader {} fell from high watermark {} to {hw} in epoch {epoch}",
                n.id, *seen
            ));
        }
        *seen = hw;
    }
    Ok(())
}

/// After settling: the logs are one log, holding every acknowledged record.
pub(super) fn settled(sim: &Sim) -> Result<(), String> {
    if !sim.converged() {
        return Err("the logs did not converge after the faults ended".into());
    }
    for n in &sim.nodes {
        acknowledged_records_are_on(sim, n.id)?;
    }
    Ok(())
}

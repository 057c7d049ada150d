//! Which ISR the high watermark passed each offset under: acks=all fails a produce whose
//! records the mark passed while the ISR was smaller than `min.insync.replicas` (Kafka's
//! NOT_ENOUGH_REPLICAS_AFTER_APPEND) unless the ISR holding them has grown back since
//! (`Progress::replicas_holding`); a produce may settle some time after that moment.

use std::collections::VecDeque;

/// ISR changes kept: a waiter settles within its request's timeout, during which a partition
/// sees a handful of ISR changes at most.
const KEPT: usize = 64;

/// The sizes the (maximal) ISR took, each with the high watermark when it took effect: the
/// mark moves from that value on under that ISR.
#[derive(Debug, Default)]
pub(crate) struct IsrSizes {
    changes: VecDeque<(i64, usize)>,
}

impl IsrSizes {
    /// The ISR now has `size` members, and the high watermark is `high_watermark`.
    pub fn note(&mut self, high_watermark: i64, size: usize) {
        if self.changes.back().is_some_and(|&(_, last)| last == size) {
            return;
        }
        if self.changes.len() == KEPT {
            self.changes.pop_front();
        }
        self.changes.push_back((high_watermark, size));
    }

    /// The size of the ISR under which the high watermark moved past `offset` (the latest
    /// ISR that took effect at a mark not beyond it); `None` when that is no longer known.
    pub fn when_passed(&self, offset: i64) -> Option<usize> {
        let known_from = self.changes.front()?.0;
        if offset < known_from {
            return None;
        }
        (self.changes.iter().rev())
            .find(|(from, _)| *from <= offset)
            .map(|&(_, size)| size)
    }
}

#[cfg(test)]
mod tests {
    use super::IsrSizes;

    #[test]
    fn each_offset_is_judged_by_the_isr_the_mark_passed_it_under() {
        let mut sizes = IsrSizes::default();
        assert_eq!(sizes.when_passed(0), None);
        sizes.note(0, 3);
        sizes.note(10, 3);
        // A follower dropped at mark 10: the mark passes 10.. under an ISR of 2.
        sizes.note(10, 2);
        sizes.note(25, 1);
        sizes.note(40, 3);
        assert_eq!(sizes.when_passed(0), Some(3));
        assert_eq!(sizes.when_passed(9), Some(3));
        assert_eq!(sizes.when_passed(10), Some(2));
        assert_eq!(sizes.when_passed(24), Some(2));
        assert_eq!(sizes.when_passed(25), Some(1));
        assert_eq!(sizes.when_passed(1000), Some(3));
    }

    #[test]
    fn forgotten_history_is_unknown_rather_than_guessed() {
        let mut sizes = IsrSizes::default();
        for i in 0..200 {
            sizes.note(i, (i % 2 + 1) as usize);
        }
        assert_eq!(sizes.when_passed(10), None);
        assert_eq!(sizes.when_passed(199), Some(2));
    }
}

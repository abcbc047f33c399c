//! The held-out split: the last `data.eval_items` usable items are kept out of
//! training and used for evaluation. A dataset with no more items than that
//! holds nothing out (evaluation is then off), so tiny corpora still train on
//! everything.

use std::ops::Range;

use super::dataset::Dataset;

/// Which usable items train and which are held out (indices into `Dataset::items`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HoldOut {
    /// Items the sampler may draw.
    pub train: Range<usize>,
    /// Items only evaluation reads (empty when the dataset is too small).
    pub eval: Range<usize>,
}

impl HoldOut {
    /// Splits `len` items holding out the last `eval_items`, or none when
    /// `len <= eval_items` (at least one item must remain to train on).
    pub fn split(len: usize, eval_items: usize) -> Self {
        let held = if len > eval_items { eval_items } else { 0 };
        Self { train: 0..len - held, eval: len - held..len }
    }

    /// True when some items are held out.
    pub fn has_eval(&self) -> bool {
        !self.eval.is_empty()
    }
}

impl Dataset {
    /// The split of this dataset's usable items for `eval_items` held-out items.
    pub fn holdout(&self, eval_items: usize) -> HoldOut {
        HoldOut::split(self.len(), eval_items)
    }
}

#[cfg(test)]
mod tests {
    use super::HoldOut;

    #[test]
    fn last_items_are_held_out_unless_too_few() {
        assert_eq!(HoldOut::split(10, 4), HoldOut { train: 0..6, eval: 6..10 });
        assert_eq!(HoldOut::split(4, 4), HoldOut { train: 0..4, eval: 4..4 });
        assert!(!HoldOut::split(3, 0).has_eval());
    }
}

//! Merging `--by` results: records with the same loss, parameter, reduction, dtype and key are
//! merged, whichever shards hold them, and listed again per loss in the first shard's order and
//! within a loss by key. The merged shape is all the shards' shapes joined, for every group, as
//! one run over all the data gives it.

use std::collections::{BTreeMap, HashSet};

use crate::error::{Context, Result, bail, ensure};

use super::{join_shapes, same_kind};
use crate::reduce::Accumulator;
use crate::summary::{Group, GroupKey, Summary};

/// Merges shards of grouped results; a shard that holds an ungrouped result is an error.
pub fn merge(shards: &[(&str, Vec<Summary>)]) -> Result<Vec<Summary>> {
    let Some((first_path, first)) = shards.first() else {
        bail!("nothing to merge")
    };
    let heads = heads(first);
    let mut merged = Merged {
        groups: vec![BTreeMap::new(); heads.len()],
        heads,
        first: first_path,
        shape: None,
        kind: None,
    };
    for (path, results) in shards {
        merged.add(path, results)?;
    }
    Ok(merged.results())
}

/// The groups merged so far.
struct Merged<'a> {
    /// The kinds of result (loss, parameter, reduction, dtype), from the first shard.
    heads: Vec<&'a Summary>,
    first: &'a str,
    /// Per head: the groups by key.
    groups: Vec<BTreeMap<GroupKey, (Group, Accumulator)>>,
    shape: Option<Vec<usize>>,
    /// The shard that set the kind of key, and the kind.
    kind: Option<(&'a str, &'static str)>,
}

impl<'a> Merged<'a> {
    /// Adds one shard's records.
    fn add(&mut self, path: &'a str, results: &'a [Summary]) -> Result<()> {
        let shard_heads = heads_checked(path, results)?;
        ensure!(
            shard_heads.len() == self.heads.len()
                && shard_heads
                    .iter()
                    .zip(&self.heads)
                    .all(|(a, b)| same_kind(a, b).is_ok()),
            "cannot merge: {} holds results for {} where {} holds them for {}: shards must come \
             from the same command",
            path,
            describe(&shard_heads),
            self.first,
            describe(&self.heads)
        );
        let own = results.first().map(|r| r.shape.clone()).unwrap_or_default();
        let joined = match &self.shape {
            None => Some(own),
            Some(s) => join_shapes(s, &own),
        };
        self.shape = Some(joined.with_context(|| {
            format!(
                "{}: field 'shape': the merged element count overflows 64 bits",
                path
            )
        })?);
        // One run writes each key once per kind of result: a key twice is not a shard huber wrote.
        let mut seen = HashSet::new();
        for r in results {
            let h = self.head_of(r);
            if let Some(g) = &r.group {
                ensure!(
                    seen.insert((h, &g.key)),
                    "{}: key {:?} appears twice for {} {}: not a result written by huber",
                    path,
                    g.key,
                    r.loss,
                    r.reduction
                );
            }
            self.add_record(path, r)?;
        }
        Ok(())
    }

    /// Which of the heads `r` is a result of.
    fn head_of(&self, r: &Summary) -> usize {
        self.heads
            .iter()
            .position(|h| same_kind(h, r).is_ok())
            .unwrap_or(0)
    }

    fn add_record(&mut self, path: &'a str, r: &Summary) -> Result<()> {
        let group = r
            .group
            .as_ref()
            .context("internal error: an ungrouped result")?;
        match self.kind {
            Some((p, k)) if k != group.key.kind_name() => bail!(
                "cannot merge: {} has {} keys where {} has {} keys",
                path,
                group.key.kind_name(),
                p,
                k
            ),
            _ => self.kind = Some((path, group.key.kind_name())),
        }
        let h = self.head_of(r);
        let (_, acc) = self.groups[h]
            .entry(group.key.clone())
            .or_insert_with(|| (group.clone(), Accumulator::default()));
        ensure!(
            acc.count().checked_add(r.state.count()).is_some(),
            "{}: field 'count': the merged count of key {:?} overflows 64 bits",
            path,
            group.key
        );
        acc.merge(&r.state);
        Ok(())
    }

    /// The merged records: per head, by key.
    fn results(self) -> Vec<Summary> {
        let shape = self.shape.unwrap_or_default();
        let mut out = Vec::new();
        for (head, groups) in self.heads.iter().zip(self.groups) {
            for (group, acc) in groups.into_values() {
                let s = Summary::new(
                    head.loss,
                    head.reduction,
                    &acc,
                    shape.clone(),
                    head.precision,
                );
                out.push(s.in_group(group));
            }
        }
        out
    }
}

/// The distinct kinds of result (loss, parameter, reduction, dtype) in order of appearance.
fn heads(results: &[Summary]) -> Vec<&Summary> {
    let mut heads: Vec<&Summary> = Vec::new();
    for r in results {
        if !heads.iter().any(|h| same_kind(h, r).is_ok()) {
            heads.push(r);
        }
    }
    heads
}

/// [`heads`] of a shard whose results are all grouped means or sums; else an error naming the
/// shard.
fn heads_checked<'a>(path: &str, results: &'a [Summary]) -> Result<Vec<&'a Summary>> {
    if let Some(i) = results.iter().position(|r| r.group.is_none()) {
        bail!(
            "cannot merge: {} result {} has no group key ('by' and 'key'), but other results are \
             of --by groups: merge grouped and ungrouped results separately",
            path,
            i + 1
        );
    }
    if let Some(i) = results.iter().position(|r| r.weights.is_some()) {
        bail!(
            "{}: result {} is a grouped weighted mean, which huber does not write (--by gives one \
             mean or sum per group): not a result written by huber",
            path,
            i + 1
        );
    }
    Ok(heads(results))
}

fn describe(heads: &[&Summary]) -> String {
    let names: Vec<String> = heads
        .iter()
        .map(|h| format!("{} {} of {}", h.loss, h.reduction, h.precision))
        .collect();
    names.join(", ")
}

//! Partial results of the stream aggregations of §6: state, merge, encoding
//! and finish.
//!
//! Every peer folds its chunks into a [`Partial`], encodes it, and sends the
//! bytes up the tree; parents decode, [`merge`](Partial::merge) and encode
//! again; the origin [`finish`](Partial::finish)es. Merges are associative
//! and commutative *at the byte level*: each partial is kept in a canonical
//! form (tables sorted by key bytes, ranked lists sorted and truncated,
//! exact float sums), so merging the same chunks in any tree shape gives the
//! same bytes and the same final value. (`reduce` and `reduce_by` inherit
//! this from the user's function, which must be associative and
//! commutative.)
//!
//! # Semantics decided here
//!
//! - `sum` of ints accumulates in 128 bits and fails only if the final sum
//!   does not fit in 64 bits, so whether it fails does not depend on the
//!   split. The same holds per key for `sum_by`.
//! - `min`, `max`, `reduce` and `mean` fail on an empty stream.
//! - `min`/`max` use the total natural order of [`crate::value`].
//! - Keyed results (`count_by`, `sum_by`, `reduce_by`) and `distinct` finish
//!   as lists sorted by key in natural order; `collect` finishes sorted in
//!   natural order (the language leaves the order unspecified; sorting makes
//!   it deterministic). Keys are equal when their encodings are equal, so
//!   `0.0` and `-0.0` are distinct keys.
//! - `top(n, by: f)` is the first `n` elements of the input sorted by `f(x)`
//!   descending, then `x` ascending in natural order; `bottom(n, by: f)` the
//!   first `n` sorted by `f(x)` ascending, then `x` ascending. So in both the
//!   tie rule is "the smaller element first": among elements with equal keys
//!   the smallest are kept. Duplicates are kept as many times as they occur.
//!   `n ≤ 0` gives an empty list. `sort(by: f)` is the whole input sorted like
//!   `bottom`.
//!
//! # Encoding
//!
//! A tag byte naming the aggregation, then:
//!
//! | tag | aggregation | payload |
//! |---|---|---|
//! | 1 | count | varint |
//! | 2 | int sum | 16 bytes, little-endian `i128` |
//! | 3 | float sum | exact sum ([`crate::exact_sum`]) |
//! | 4, 5, 6 | min, max, reduce | `0`, or `1` and a value |
//! | 7 | mean | varint count, exact sum |
//! | 8 | count_by | varint entries; each: key value, varint count |
//! | 9 | int sum_by | varint entries; each: key value, `i128` |
//! | 10 | float sum_by | varint entries; each: key value, exact sum |
//! | 11 | reduce_by | varint entries; each: key value, value |
//! | 12 | distinct | varint entries; each: value |
//! | 13 | ranked | order byte (0 top, 1 bottom/sort by key, 2 natural), varint limit + 1 (0: none), varint items; each: key value (not for order 2), element value |
//! | 14 | group | varint members (at least one); each: varint length, the member's encoding (never a group) |
//!
//! Table entries are strictly increasing by key bytes and ranked items are
//! in rank order, at most `limit` of them; decoding rejects anything else,
//! so every partial has exactly one encoding.
//!
//! # Groups
//!
//! A *group* holds the partials of several aggregations over the same input
//! that one pass computes together (`flowc` fuses stages that read the same
//! input in the same phase, so the input is read and decoded once and a
//! common prefix of their chains runs once). It merges member by member and
//! finishes into the tuple of its members' finished values.

use crate::encode::{Reader, encode_value, encode_value_into, put_varint};
use crate::error::{Result, RuntimeError};
use crate::exact_sum::ExactSum;
use crate::table::ByteTable;
use crate::value::Value;
use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;
use core::cmp::Ordering;

/// A user function combining two values, for `reduce` and `reduce_by`.
pub type Reducer<'a> = &'a mut dyn FnMut(Value, Value) -> Result<Value>;

/// How a ranked partial orders its items.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RankOrder {
    /// Key descending, then element ascending: `top`.
    KeyDescending,
    /// Key ascending, then element ascending: `bottom`, `sort(by: f)`.
    KeyAscending,
    /// Element ascending, no key: `sort()` and `collect()`.
    Natural,
}

/// Elements kept in rank order, optionally only the first `limit`.
#[derive(Clone, Debug)]
pub struct Ranked {
    order: RankOrder,
    limit: Option<u64>,
    /// `(key, element)`; the key is `None` exactly for [`RankOrder::Natural`].
    items: Vec<(Option<Value>, Value)>,
    /// Whether `items` is sorted and truncated.
    tidy: bool,
}

impl Ranked {
    fn compare(
        order: RankOrder,
        a: &(Option<Value>, Value),
        b: &(Option<Value>, Value),
    ) -> Ordering {
        let by_key = match order {
            RankOrder::KeyDescending => b.0.cmp(&a.0),
            RankOrder::KeyAscending | RankOrder::Natural => a.0.cmp(&b.0),
        };
        by_key.then_with(|| a.1.cmp(&b.1))
    }

    fn tidy(&mut self) {
        if !self.tidy {
            let order = self.order;
            self.items.sort_by(|a, b| Self::compare(order, a, b));
            if let Some(limit) = self.limit {
                self.items
                    .truncate(usize::try_from(limit).unwrap_or(usize::MAX));
            }
            self.tidy = true;
        }
    }

    fn push(&mut self, key: Option<Value>, element: Value) {
        if self.limit == Some(0) {
            return;
        }
        self.items.push((key, element));
        self.tidy = false;
        // With a limit, sort and cut whenever the list doubles, so memory
        // stays within twice the limit and the cost per element is small.
        if let Some(limit) = self.limit
            && self.items.len() as u64 >= limit.saturating_mul(2).max(64)
        {
            self.tidy();
        }
    }
}

/// The partial result of one stream aggregation.
#[derive(Clone, Debug)]
pub enum Partial {
    /// `count()`.
    Count(u64),
    /// `sum()` of ints, in 128 bits.
    SumInt(i128),
    /// `sum()` of floats.
    SumFloat(ExactSum),
    /// `min()`; `None` while empty.
    Min(Option<Value>),
    /// `max()`; `None` while empty.
    Max(Option<Value>),
    /// `mean()` of ints or floats.
    Mean {
        /// The exact sum of the elements.
        sum: ExactSum,
        /// How many elements.
        count: u64,
    },
    /// `reduce(f)`; `None` while empty.
    Reduce(Option<Value>),
    /// `count_by(k)`: encoded key → count.
    CountBy(ByteTable<u64>),
    /// `sum_by(k, v)` of ints: encoded key → sum.
    SumByInt(ByteTable<i128>),
    /// `sum_by(k, v)` of floats: encoded key → exact sum.
    SumByFloat(ByteTable<ExactSum>),
    /// `reduce_by(k, v, f)`: encoded key → reduced value.
    ReduceBy(ByteTable<Value>),
    /// `distinct()`: the set of encoded elements.
    Distinct(ByteTable<()>),
    /// `top`, `bottom`, `sort`, `collect`.
    Ranked(Ranked),
    /// The partials of several aggregations computed in one pass, in the
    /// order of the group's members (see "Groups" in the module doc).
    Group(Vec<Partial>),
}

fn mismatch(what: &str, partial: &Partial) -> RuntimeError {
    RuntimeError::Mismatch {
        what: format!("{what} on a {} partial", partial.name()),
    }
}

fn overflow() -> RuntimeError {
    RuntimeError::IntOverflow { operation: "sum" }
}

impl Partial {
    /// An empty `count()` partial.
    pub fn count() -> Self {
        Partial::Count(0)
    }
    /// An empty `sum()` partial of ints.
    pub fn sum_int() -> Self {
        Partial::SumInt(0)
    }
    /// An empty `sum()` partial of floats.
    pub fn sum_float() -> Self {
        Partial::SumFloat(ExactSum::new())
    }
    /// An empty `min()` partial.
    pub fn min() -> Self {
        Partial::Min(None)
    }
    /// An empty `max()` partial.
    pub fn max() -> Self {
        Partial::Max(None)
    }
    /// An empty `mean()` partial.
    pub fn mean() -> Self {
        Partial::Mean {
            sum: ExactSum::new(),
            count: 0,
        }
    }
    /// An empty `reduce(f)` partial.
    pub fn reduce() -> Self {
        Partial::Reduce(None)
    }
    /// An empty `count_by(k)` partial.
    pub fn count_by() -> Self {
        Partial::CountBy(ByteTable::new())
    }
    /// An empty `sum_by(k, v)` partial of int values.
    pub fn sum_by_int() -> Self {
        Partial::SumByInt(ByteTable::new())
    }
    /// An empty `sum_by(k, v)` partial of float values.
    pub fn sum_by_float() -> Self {
        Partial::SumByFloat(ByteTable::new())
    }
    /// An empty `reduce_by(k, v, f)` partial.
    pub fn reduce_by() -> Self {
        Partial::ReduceBy(ByteTable::new())
    }
    /// An empty `distinct()` partial.
    pub fn distinct() -> Self {
        Partial::Distinct(ByteTable::new())
    }
    /// An empty `top(n, by: f)` partial; feed it with [`Partial::add_keyed`].
    pub fn top(n: i64) -> Self {
        Self::ranked(RankOrder::KeyDescending, Some(n.max(0) as u64))
    }
    /// An empty `bottom(n, by: f)` partial; feed it with [`Partial::add_keyed`].
    pub fn bottom(n: i64) -> Self {
        Self::ranked(RankOrder::KeyAscending, Some(n.max(0) as u64))
    }
    /// An empty `sort(by: f)` partial; feed it with [`Partial::add_keyed`].
    pub fn sort_by() -> Self {
        Self::ranked(RankOrder::KeyAscending, None)
    }
    /// An empty `sort()` or `collect()` partial; feed it with
    /// [`Partial::add_value`].
    pub fn collect() -> Self {
        Self::ranked(RankOrder::Natural, None)
    }

    /// A group of the given member partials, none of them a group.
    pub fn group(members: Vec<Partial>) -> Result<Self> {
        if members.is_empty() || members.iter().any(|m| matches!(m, Partial::Group(_))) {
            return Err(RuntimeError::Mismatch {
                what: String::from("a group of no members, or of groups"),
            });
        }
        Ok(Partial::Group(members))
    }

    /// The members of a group partial, in order.
    pub fn into_members(self) -> Result<Vec<Partial>> {
        match self {
            Partial::Group(members) => Ok(members),
            other => Err(mismatch("into_members", &other)),
        }
    }

    fn ranked(order: RankOrder, limit: Option<u64>) -> Self {
        Partial::Ranked(Ranked {
            order,
            limit,
            items: Vec::new(),
            tidy: true,
        })
    }

    /// The aggregation's name, for messages.
    pub fn name(&self) -> &'static str {
        match self {
            Partial::Count(_) => "count",
            Partial::SumInt(_) => "int sum",
            Partial::SumFloat(_) => "float sum",
            Partial::Min(_) => "min",
            Partial::Max(_) => "max",
            Partial::Mean { .. } => "mean",
            Partial::Reduce(_) => "reduce",
            Partial::CountBy(_) => "count_by",
            Partial::SumByInt(_) => "int sum_by",
            Partial::SumByFloat(_) => "float sum_by",
            Partial::ReduceBy(_) => "reduce_by",
            Partial::Distinct(_) => "distinct",
            Partial::Ranked(ranked) => match (ranked.order, ranked.limit) {
                (RankOrder::KeyDescending, _) => "top",
                (RankOrder::KeyAscending, Some(_)) => "bottom",
                (RankOrder::KeyAscending, None) => "sort",
                (RankOrder::Natural, _) => "collect",
            },
            Partial::Group(_) => "group",
        }
    }

    /// Counts `n` more elements (`count`): a stage counts a chunk's
    /// elements in a local and adds them once.
    pub fn count_many(&mut self, n: u64) -> Result<()> {
        match self {
            Partial::Count(total) => {
                *total = total
                    .checked_add(n)
                    .ok_or(RuntimeError::IntOverflow { operation: "count" })?;
                Ok(())
            }
            _ => Err(mismatch("count_many", self)),
        }
    }

    /// Counts one element (`count`).
    pub fn count_one(&mut self) -> Result<()> {
        match self {
            Partial::Count(n) => {
                *n += 1;
                Ok(())
            }
            _ => Err(mismatch("count_one", self)),
        }
    }

    /// Adds an int element (`sum`, `mean`).
    pub fn add_int(&mut self, n: i64) -> Result<()> {
        match self {
            Partial::SumInt(total) => {
                *total = total.checked_add(i128::from(n)).ok_or_else(overflow)?;
            }
            Partial::Mean { sum, count } => {
                sum.add_int(n);
                *count += 1;
            }
            _ => return Err(mismatch("add_int", self)),
        }
        Ok(())
    }

    /// Adds a float element (`sum`, `mean`).
    pub fn add_float(&mut self, x: f64) -> Result<()> {
        match self {
            Partial::SumFloat(sum) => sum.add(x),
            Partial::Mean { sum, count } => {
                sum.add(x);
                *count += 1;
            }
            _ => return Err(mismatch("add_float", self)),
        }
        Ok(())
    }

    /// Adds an element (`min`, `max`, `distinct`, `collect`, `sort()`).
    pub fn add_value(&mut self, element: Value) -> Result<()> {
        match self {
            Partial::Min(best) => {
                if best.as_ref().is_none_or(|b| element < *b) {
                    *best = Some(element);
                }
            }
            Partial::Max(best) => {
                if best.as_ref().is_none_or(|b| element > *b) {
                    *best = Some(element);
                }
            }
            Partial::Distinct(table) => {
                table.get_or_insert_with(&encode_value(&element), || ());
            }
            Partial::Ranked(ranked) if ranked.order == RankOrder::Natural => {
                ranked.push(None, element);
            }
            _ => return Err(mismatch("add_value", self)),
        }
        Ok(())
    }

    /// Adds a key (`count_by`).
    pub fn add_key(&mut self, key: &Value) -> Result<()> {
        self.add_encoded_key(&encode_value(key))
    }

    /// [`Partial::add_key`] of a key already in its canonical encoding, so
    /// a caller can encode every key into one reused buffer.
    pub fn add_encoded_key(&mut self, key: &[u8]) -> Result<()> {
        match self {
            Partial::CountBy(table) => {
                *table.get_or_insert_with(key, || 0) += 1;
                Ok(())
            }
            _ => Err(mismatch("add_key", self)),
        }
    }

    /// Adds a keyed element: `sum_by` (key, number), `top`, `bottom` and
    /// `sort(by: f)` (`f(x)`, `x`).
    pub fn add_keyed(&mut self, key: Value, element: Value) -> Result<()> {
        match (&mut *self, element) {
            (Partial::SumByInt(table), Value::Int(n)) => {
                let total = table.get_or_insert_with(&encode_value(&key), || 0);
                *total = total.checked_add(i128::from(n)).ok_or_else(overflow)?;
            }
            (Partial::SumByFloat(table), Value::Float(x)) => {
                table
                    .get_or_insert_with(&encode_value(&key), ExactSum::new)
                    .add(x);
            }
            (Partial::Ranked(ranked), element) if ranked.order != RankOrder::Natural => {
                ranked.push(Some(key), element);
            }
            _ => return Err(mismatch("add_keyed", self)),
        }
        Ok(())
    }

    /// Adds an element to `reduce`, combining with `reducer`.
    pub fn add_reduced(&mut self, element: Value, reducer: Reducer<'_>) -> Result<()> {
        match self {
            Partial::Reduce(acc) => {
                *acc = Some(match acc.take() {
                    None => element,
                    Some(previous) => reducer(previous, element)?,
                });
                Ok(())
            }
            _ => Err(mismatch("add_reduced", self)),
        }
    }

    /// Adds a keyed value to `reduce_by`, combining with `reducer`.
    pub fn add_keyed_reduced(
        &mut self,
        key: &Value,
        value: Value,
        reducer: Reducer<'_>,
    ) -> Result<()> {
        match self {
            Partial::ReduceBy(table) => {
                let key = encode_value(key);
                let combined = match table.get_mut(&key) {
                    Some(slot) => {
                        let previous = core::mem::replace(slot, Value::Bool(false));
                        reducer(previous, value)?
                    }
                    None => value,
                };
                table.insert(&key, combined);
                Ok(())
            }
            _ => Err(mismatch("add_keyed_reduced", self)),
        }
    }

    /// Merges `other` into `self`, for every aggregation but `reduce` and
    /// `reduce_by` (use [`Partial::merge_with`]).
    pub fn merge(&mut self, other: Partial) -> Result<()> {
        let mut no_reducer = |_: Value, _: Value| -> Result<Value> {
            Err(RuntimeError::Mismatch {
                what: String::from("reduce partials merged without a reducer"),
            })
        };
        self.merge_with(other, &mut no_reducer)
    }

    /// Merges the group `other` into the group `self` member by member:
    /// `merge(i, a, b)` merges member `i` of `other` (`b`) into that of
    /// `self` (`a`), so each member can have its own reducer.
    pub fn merge_members(
        &mut self,
        other: Partial,
        mut merge: impl FnMut(usize, &mut Partial, Partial) -> Result<()>,
    ) -> Result<()> {
        match (&mut *self, other) {
            (Partial::Group(a), Partial::Group(b)) if a.len() == b.len() => {
                for (index, (a, b)) in a.iter_mut().zip(b).enumerate() {
                    merge(index, a, b)?;
                }
                Ok(())
            }
            (_, other) => Err(RuntimeError::Mismatch {
                what: format!(
                    "cannot merge a {} partial into a {} partial member by member",
                    other.name(),
                    self.name()
                ),
            }),
        }
    }

    /// Merges `other` into `self`; `reducer` combines values of `reduce` and
    /// `reduce_by` (every member of a group with the same `reducer`: use
    /// [`Partial::merge_members`] when they differ).
    pub fn merge_with(&mut self, other: Partial, reducer: Reducer<'_>) -> Result<()> {
        match (&mut *self, other) {
            (Partial::Group(_), other @ Partial::Group(_)) => {
                return self.merge_members(other, |_, a, b| a.merge_with(b, reducer));
            }
            (Partial::Count(a), Partial::Count(b)) => {
                *a = a
                    .checked_add(b)
                    .ok_or(RuntimeError::IntOverflow { operation: "count" })?
            }
            (Partial::SumInt(a), Partial::SumInt(b)) => {
                *a = a.checked_add(b).ok_or_else(overflow)?
            }
            (Partial::SumFloat(a), Partial::SumFloat(b)) => a.merge(&b),
            (Partial::Min(a), Partial::Min(b)) => {
                if let Some(b) = b
                    && a.as_ref().is_none_or(|a| b < *a)
                {
                    *a = Some(b);
                }
            }
            (Partial::Max(a), Partial::Max(b)) => {
                if let Some(b) = b
                    && a.as_ref().is_none_or(|a| b > *a)
                {
                    *a = Some(b);
                }
            }
            (
                Partial::Mean { sum, count },
                Partial::Mean {
                    sum: other_sum,
                    count: other_count,
                },
            ) => {
                sum.merge(&other_sum);
                *count = count
                    .checked_add(other_count)
                    .ok_or(RuntimeError::IntOverflow { operation: "mean" })?;
            }
            (Partial::Reduce(a), Partial::Reduce(b)) => {
                if let Some(b) = b {
                    *a = Some(match a.take() {
                        None => b,
                        Some(a) => reducer(a, b)?,
                    });
                }
            }
            (Partial::CountBy(a), Partial::CountBy(b)) => {
                let mut overflowed = false;
                a.merge_with(b, |x, y| match x.checked_add(y) {
                    Some(total) => *x = total,
                    None => overflowed = true,
                });
                if overflowed {
                    return Err(RuntimeError::IntOverflow {
                        operation: "count_by",
                    });
                }
            }
            (Partial::SumByInt(a), Partial::SumByInt(b)) => {
                let mut overflowed = false;
                a.merge_with(b, |x, y| match x.checked_add(y) {
                    Some(total) => *x = total,
                    None => overflowed = true,
                });
                if overflowed {
                    return Err(overflow());
                }
            }
            (Partial::SumByFloat(a), Partial::SumByFloat(b)) => a.merge_with(b, |x, y| x.merge(&y)),
            (Partial::ReduceBy(a), Partial::ReduceBy(b)) => {
                let mut failure = None;
                a.merge_with(b, |x, y| {
                    if failure.is_none() {
                        let previous = core::mem::replace(x, Value::Bool(false));
                        match reducer(previous, y) {
                            Ok(value) => *x = value,
                            Err(error) => failure = Some(error),
                        }
                    }
                });
                if let Some(error) = failure {
                    return Err(error);
                }
            }
            (Partial::Distinct(a), Partial::Distinct(b)) => a.merge_with(b, |_, _| ()),
            (Partial::Ranked(a), Partial::Ranked(b))
                if a.order == b.order && a.limit == b.limit =>
            {
                a.items.extend(b.items);
                a.tidy = false;
                a.tidy();
            }
            (_, other) => {
                return Err(RuntimeError::Mismatch {
                    what: format!(
                        "cannot merge a {} partial into a {} partial",
                        other.name(),
                        self.name()
                    ),
                });
            }
        }
        Ok(())
    }

    /// The final value of the aggregation.
    pub fn finish(self) -> Result<Value> {
        Ok(match self {
            Partial::Count(n) => Value::Int(
                i64::try_from(n).map_err(|_| RuntimeError::IntOverflow { operation: "count" })?,
            ),
            Partial::SumInt(total) => Value::Int(i64::try_from(total).map_err(|_| overflow())?),
            Partial::SumFloat(sum) => Value::Float(sum.round()),
            Partial::Min(best) => best.ok_or(RuntimeError::Empty { aggregation: "min" })?,
            Partial::Max(best) => best.ok_or(RuntimeError::Empty { aggregation: "max" })?,
            Partial::Mean { sum, count } => {
                if count == 0 {
                    return Err(RuntimeError::Empty {
                        aggregation: "mean",
                    });
                }
                Value::Float(sum.mean(count))
            }
            Partial::Reduce(acc) => acc.ok_or(RuntimeError::Empty {
                aggregation: "reduce",
            })?,
            Partial::CountBy(table) => keyed_list(table, |n| {
                Ok(Value::Int(i64::try_from(n).map_err(|_| {
                    RuntimeError::IntOverflow {
                        operation: "count_by",
                    }
                })?))
            })?,
            Partial::SumByInt(table) => keyed_list(table, |n| {
                Ok(Value::Int(i64::try_from(n).map_err(|_| overflow())?))
            })?,
            Partial::SumByFloat(table) => keyed_list(table, |sum| Ok(Value::Float(sum.round())))?,
            Partial::ReduceBy(table) => keyed_list(table, Ok)?,
            Partial::Distinct(table) => {
                let mut items = table
                    .into_sorted()
                    .into_iter()
                    .map(|(key, ())| crate::encode::decode_value(&key))
                    .collect::<Result<Vec<Value>>>()?;
                items.sort();
                Value::List(items)
            }
            Partial::Ranked(mut ranked) => {
                ranked.tidy();
                Value::List(
                    ranked
                        .items
                        .into_iter()
                        .map(|(_, element)| element)
                        .collect(),
                )
            }
            Partial::Group(members) => Value::Tuple(
                members
                    .into_iter()
                    .map(Partial::finish)
                    .collect::<Result<Vec<Value>>>()?,
            ),
        })
    }

    /// The canonical encoding described in the module doc.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::new();
        match self {
            Partial::Count(n) => {
                out.push(1);
                put_varint(&mut out, *n);
            }
            Partial::SumInt(total) => {
                out.push(2);
                out.extend_from_slice(&total.to_le_bytes());
            }
            Partial::SumFloat(sum) => {
                out.push(3);
                sum.encode_into(&mut out);
            }
            Partial::Min(best) | Partial::Max(best) | Partial::Reduce(best) => {
                out.push(match self {
                    Partial::Min(_) => 4,
                    Partial::Max(_) => 5,
                    _ => 6,
                });
                match best {
                    None => out.push(0),
                    Some(value) => {
                        out.push(1);
                        encode_value_into(&mut out, value);
                    }
                }
            }
            Partial::Mean { sum, count } => {
                out.push(7);
                put_varint(&mut out, *count);
                sum.encode_into(&mut out);
            }
            Partial::CountBy(table) => {
                out.push(8);
                encode_table(&mut out, table, |out, n| put_varint(out, *n));
            }
            Partial::SumByInt(table) => {
                out.push(9);
                encode_table(&mut out, table, |out, n| {
                    out.extend_from_slice(&n.to_le_bytes())
                });
            }
            Partial::SumByFloat(table) => {
                out.push(10);
                encode_table(&mut out, table, |out, sum| sum.encode_into(out));
            }
            Partial::ReduceBy(table) => {
                out.push(11);
                encode_table(&mut out, table, encode_value_into);
            }
            Partial::Distinct(table) => {
                out.push(12);
                encode_table(&mut out, table, |_, ()| ());
            }
            Partial::Ranked(ranked) => {
                let mut ranked = ranked.clone();
                ranked.tidy();
                out.push(13);
                out.push(match ranked.order {
                    RankOrder::KeyDescending => 0,
                    RankOrder::KeyAscending => 1,
                    RankOrder::Natural => 2,
                });
                put_varint(&mut out, ranked.limit.map_or(0, |n| n.saturating_add(1)));
                put_varint(&mut out, ranked.items.len() as u64);
                for (key, element) in &ranked.items {
                    if let Some(key) = key {
                        encode_value_into(&mut out, key);
                    }
                    encode_value_into(&mut out, element);
                }
            }
            Partial::Group(members) => {
                out.push(14);
                put_varint(&mut out, members.len() as u64);
                for member in members {
                    let bytes = member.encode();
                    put_varint(&mut out, bytes.len() as u64);
                    out.extend_from_slice(&bytes);
                }
            }
        }
        out
    }

    /// Decodes a partial, validating that the encoding is canonical.
    pub fn decode(bytes: &[u8]) -> Result<Partial> {
        let mut reader = Reader::new(bytes);
        let tag_offset = reader.position();
        let partial = match reader.byte()? {
            1 => Partial::Count(reader.varint()?),
            2 => {
                let mut word = [0u8; 16];
                word.copy_from_slice(reader.bytes(16)?);
                Partial::SumInt(i128::from_le_bytes(word))
            }
            3 => Partial::SumFloat(ExactSum::decode_from(&mut reader)?),
            tag @ 4..=6 => {
                let best = match reader.byte()? {
                    0 => None,
                    1 => Some(reader.value()?),
                    _ => return Err(reader.error("bad presence byte")),
                };
                match tag {
                    4 => Partial::Min(best),
                    5 => Partial::Max(best),
                    _ => Partial::Reduce(best),
                }
            }
            7 => {
                let count = reader.varint()?;
                let sum = ExactSum::decode_from(&mut reader)?;
                if (count == 0) != sum.is_empty() {
                    return Err(reader.error("mean count disagrees with its sum"));
                }
                Partial::Mean { sum, count }
            }
            8 => Partial::CountBy(decode_table(&mut reader, |r| r.varint())?),
            9 => Partial::SumByInt(decode_table(&mut reader, |r| {
                let mut word = [0u8; 16];
                word.copy_from_slice(r.bytes(16)?);
                Ok(i128::from_le_bytes(word))
            })?),
            10 => Partial::SumByFloat(decode_table(&mut reader, ExactSum::decode_from)?),
            11 => Partial::ReduceBy(decode_table(&mut reader, |r| r.value())?),
            12 => Partial::Distinct(decode_table(&mut reader, |_| Ok(()))?),
            13 => Partial::Ranked(decode_ranked(&mut reader)?),
            14 => {
                // Each member takes at least its length and its tag.
                let count = reader.count(2)?;
                if count == 0 {
                    return Err(reader.error("a group of no members"));
                }
                let mut members = Vec::with_capacity(count);
                for _ in 0..count {
                    let length = reader.varint()?;
                    let at = reader.position();
                    let length = usize::try_from(length)
                        .ok()
                        .filter(|n| *n <= reader.remaining())
                        .ok_or_else(|| reader.error("a group member longer than the group"))?;
                    let bytes = reader.bytes(length)?;
                    // Checked before decoding, so nested groups cannot
                    // make decoding recurse deeply.
                    if bytes.first() == Some(&14) {
                        return Err(RuntimeError::malformed("a group inside a group", at));
                    }
                    let member = Partial::decode(bytes)
                        .map_err(|_| RuntimeError::malformed("a bad group member", at))?;
                    members.push(member);
                }
                Partial::Group(members)
            }
            _ => return Err(RuntimeError::malformed("unknown partial tag", tag_offset)),
        };
        reader.finish()?;
        Ok(partial)
    }
}

/// Appends a table's entries sorted by key bytes.
fn encode_table<V>(out: &mut Vec<u8>, table: &ByteTable<V>, mut put: impl FnMut(&mut Vec<u8>, &V)) {
    let mut entries: Vec<(&[u8], &V)> = table.iter().collect();
    // Keys are distinct, so an unstable sort gives the one order.
    entries.sort_unstable_by(|a, b| crate::table::bytes_cmp(a.0, b.0));
    put_varint(out, entries.len() as u64);
    for (key, value) in entries {
        out.extend_from_slice(key);
        put(out, value);
    }
}

fn decode_table<V>(
    reader: &mut Reader<'_>,
    mut get: impl FnMut(&mut Reader<'_>) -> Result<V>,
) -> Result<ByteTable<V>> {
    let count = reader.count(1)?;
    let mut table = ByteTable::new();
    let mut previous: Option<&[u8]> = None;
    for _ in 0..count {
        let start = reader.position();
        // The key's bytes, checked but never built into a value.
        let key = reader.value_bytes()?;
        if previous.is_some_and(|p| crate::table::bytes_cmp(p, key).is_ge()) {
            return Err(RuntimeError::malformed(
                "table keys not strictly increasing",
                start,
            ));
        }
        table.insert(key, get(reader)?);
        previous = Some(key);
    }
    Ok(table)
}

fn decode_ranked(reader: &mut Reader<'_>) -> Result<Ranked> {
    let start = reader.position();
    let order = match reader.byte()? {
        0 => RankOrder::KeyDescending,
        1 => RankOrder::KeyAscending,
        2 => RankOrder::Natural,
        _ => return Err(reader.error("unknown rank order")),
    };
    let limit = match reader.varint()? {
        0 => None,
        n => Some(n - 1),
    };
    let count = reader.count(1)?;
    if limit.is_some_and(|limit| count as u64 > limit) {
        return Err(RuntimeError::malformed(
            "more ranked items than the limit",
            start,
        ));
    }
    let mut items: Vec<(Option<Value>, Value)> = Vec::with_capacity(count);
    for _ in 0..count {
        let item_start = reader.position();
        let key = if order == RankOrder::Natural {
            None
        } else {
            Some(reader.value()?)
        };
        let item = (key, reader.value()?);
        if items
            .last()
            .is_some_and(|last| Ranked::compare(order, last, &item) == Ordering::Greater)
        {
            return Err(RuntimeError::malformed(
                "ranked items out of order",
                item_start,
            ));
        }
        items.push(item);
    }
    Ok(Ranked {
        order,
        limit,
        items,
        tidy: true,
    })
}

/// A keyed table as a list of `(key, value)` tuples sorted by key.
fn keyed_list<V>(
    table: ByteTable<V>,
    mut convert: impl FnMut(V) -> Result<Value>,
) -> Result<Value> {
    let mut pairs = Vec::with_capacity(table.len());
    for (key, value) in table.into_sorted() {
        pairs.push((crate::encode::decode_value(&key)?, convert(value)?));
    }
    pairs.sort_by(|a, b| a.0.cmp(&b.0));
    Ok(Value::List(
        pairs
            .into_iter()
            .map(|(k, v)| Value::Tuple(alloc::vec![k, v]))
            .collect(),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::table::splitmix64;
    use alloc::vec;
    use alloc::vec::Vec;
    use proptest::prelude::*;

    const KINDS: usize = 16;

    fn empty(kind: usize) -> Partial {
        match kind {
            0 => Partial::count(),
            1 => Partial::sum_int(),
            2 => Partial::sum_float(),
            3 => Partial::min(),
            4 => Partial::max(),
            5 => Partial::mean(),
            6 => Partial::reduce(),
            7 => Partial::count_by(),
            8 => Partial::sum_by_int(),
            9 => Partial::sum_by_float(),
            10 => Partial::reduce_by(),
            11 => Partial::distinct(),
            12 => Partial::top(3),
            13 => Partial::bottom(5),
            14 => Partial::sort_by(),
            _ => Partial::collect(),
        }
    }

    fn add_ints(a: Value, b: Value) -> Result<Value> {
        match (a, b) {
            (Value::Int(a), Value::Int(b)) => Ok(Value::Int(a.wrapping_add(b))),
            _ => Err(RuntimeError::Mismatch {
                what: String::from("not ints"),
            }),
        }
    }

    fn element(k: i64, x: f64) -> Value {
        Value::Tuple(vec![Value::Int(k), Value::Float(x)])
    }

    fn feed(kind: usize, items: &[(i64, f64)]) -> Partial {
        let mut partial = empty(kind);
        for &(k, x) in items {
            match kind {
                0 => partial.count_one(),
                1 => partial.add_int(k),
                2 | 5 => partial.add_float(x),
                3 | 4 | 15 => partial.add_value(element(k, x)),
                6 => partial.add_reduced(Value::Int(k), &mut add_ints),
                7 => partial.add_key(&Value::Int(k % 4)),
                8 => partial.add_keyed(Value::Int(k % 3), Value::Int(k)),
                9 => partial.add_keyed(Value::Int(k % 3), Value::Float(x)),
                10 => partial.add_keyed_reduced(&Value::Int(k % 3), Value::Int(k), &mut add_ints),
                11 => partial.add_value(Value::Int(k % 7)),
                _ => partial.add_keyed(Value::Int(k % 3), element(k, x)),
            }
            .unwrap();
        }
        partial
    }

    /// Encodes and decodes, as a partial crossing the network does.
    fn ship(partial: &Partial) -> Partial {
        let bytes = partial.encode();
        let decoded = Partial::decode(&bytes).unwrap();
        assert_eq!(decoded.encode(), bytes);
        decoded
    }

    fn merge_tree(mut parts: Vec<Partial>, seed: u64) -> Partial {
        let mut state = seed;
        while parts.len() > 1 {
            state = splitmix64(state);
            let i = (state % parts.len() as u64) as usize;
            let a = parts.swap_remove(i);
            state = splitmix64(state);
            let j = (state % parts.len() as u64) as usize;
            let b = parts.swap_remove(j);
            let (mut into, from) = if state & 1 == 0 { (a, b) } else { (b, a) };
            into.merge_with(ship(&from), &mut add_ints).unwrap();
            parts.push(ship(&into));
        }
        parts.pop().unwrap()
    }

    fn split(items: &[(i64, f64)], chunks: usize, seed: u64) -> Vec<&[(i64, f64)]> {
        let mut cuts: Vec<usize> = (1..chunks)
            .map(|i| (splitmix64(seed ^ i as u64) % (items.len() as u64 + 1)) as usize)
            .collect();
        cuts.push(0);
        cuts.push(items.len());
        cuts.sort();
        cuts.windows(2).map(|w| &items[w[0]..w[1]]).collect()
    }

    fn finished_bytes(partial: Partial) -> Vec<u8> {
        match partial.finish() {
            Ok(value) => encode_value(&value),
            Err(error) => alloc::format!("{error}").into_bytes(),
        }
    }

    fn arb_items() -> impl Strategy<Value = Vec<(i64, f64)>> {
        proptest::collection::vec(
            (
                -20i64..20,
                prop_oneof![-1e3f64..1e3, Just(0.0), Just(-0.0), Just(0.1), Just(1e300)],
            ),
            0..80,
        )
    }

    proptest! {
        #[test]
        fn merges_are_byte_identical_whatever_the_tree(
            items in arb_items(),
            kind in 0..KINDS,
            chunks in prop_oneof![Just(1usize), Just(2), Just(7), Just(64)],
            seed in any::<u64>(),
        ) {
            let whole = feed(kind, &items);
            let parts: Vec<Partial> = split(&items, chunks, seed).into_iter().map(|c| ship(&feed(kind, c))).collect();
            let merged = merge_tree(parts, seed);
            prop_assert_eq!(merged.encode(), whole.encode());
            prop_assert_eq!(finished_bytes(merged), finished_bytes(whole));
        }

        #[test]
        fn top_bottom_sort_match_a_full_sort(items in arb_items()) {
            let mut elements: Vec<(Value, Value)> = items.iter().map(|&(k, x)| (Value::Int(k % 3), element(k, x))).collect();
            elements.sort_by(|a, b| b.0.cmp(&a.0).then_with(|| a.1.cmp(&b.1)));
            let top: Vec<Value> = elements.iter().take(3).map(|p| p.1.clone()).collect();
            prop_assert_eq!(feed(12, &items).finish().unwrap(), Value::List(top));
            elements.sort_by(|a, b| a.0.cmp(&b.0).then_with(|| a.1.cmp(&b.1)));
            let bottom: Vec<Value> = elements.iter().take(5).map(|p| p.1.clone()).collect();
            prop_assert_eq!(feed(13, &items).finish().unwrap(), Value::List(bottom));
            let sorted: Vec<Value> = elements.iter().map(|p| p.1.clone()).collect();
            prop_assert_eq!(feed(14, &items).finish().unwrap(), Value::List(sorted));
        }

        #[test]
        fn decoding_garbage_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..48)) {
            if let Ok(partial) = Partial::decode(&bytes) {
                prop_assert_eq!(partial.encode(), bytes);
            }
        }

        #[test]
        fn decoding_mutated_partials_never_panics(items in arb_items(), kind in 0..KINDS, position in any::<usize>(), byte in any::<u8>()) {
            let mut bytes = feed(kind, &items).encode();
            let index = position % bytes.len();
            bytes[index] = byte;
            if let Ok(partial) = Partial::decode(&bytes) {
                prop_assert_eq!(partial.encode(), bytes);
            }
        }
    }

    /// A group of three members, as a fused pass holds them.
    fn feed_group(items: &[(i64, f64)]) -> Partial {
        Partial::group(vec![feed(0, items), feed(7, items), feed(12, items)]).unwrap()
    }

    proptest! {
        #[test]
        fn groups_merge_like_their_members(
            items in arb_items(),
            chunks in prop_oneof![Just(1usize), Just(2), Just(7), Just(64)],
            seed in any::<u64>(),
        ) {
            let whole = feed_group(&items);
            let parts: Vec<Partial> = split(&items, chunks, seed).into_iter().map(|c| ship(&feed_group(c))).collect();
            let merged = merge_tree(parts, seed);
            prop_assert_eq!(merged.encode(), whole.encode());
            let members: Vec<Vec<u8>> = [0, 7, 12].iter().map(|k| finished_bytes(feed(*k, &items))).collect();
            let Ok(Value::Tuple(finished)) = merged.finish() else {
                return Err(TestCaseError::fail("a group finishes into a tuple"));
            };
            let finished: Vec<Vec<u8>> = finished.iter().map(encode_value).collect();
            prop_assert_eq!(finished, members);
        }

        #[test]
        fn decoding_mutated_groups_never_panics(items in arb_items(), position in any::<usize>(), byte in any::<u8>()) {
            let mut bytes = feed_group(&items).encode();
            let index = position % bytes.len();
            bytes[index] = byte;
            if let Ok(partial) = Partial::decode(&bytes) {
                prop_assert_eq!(partial.encode(), bytes);
            }
        }
    }

    #[test]
    fn groups_reject_what_is_not_one_pass() {
        assert!(Partial::group(vec![]).is_err());
        assert!(Partial::group(vec![feed_group(&[])]).is_err());
        // Groups nested 5,000 deep are refused at the first level, without
        // recursing (which would overflow a test thread's stack).
        let mut nested = Partial::count().encode();
        for _ in 0..5_000 {
            let mut outer = vec![14, 1];
            put_varint(&mut outer, nested.len() as u64);
            outer.extend_from_slice(&nested);
            nested = outer;
        }
        assert!(Partial::decode(&nested).is_err());
        // Members differing in kind or number do not merge.
        let mut group = feed_group(&[]);
        assert!(
            group
                .merge(Partial::group(vec![feed(0, &[])]).unwrap())
                .is_err()
        );
        assert!(group.merge(feed(0, &[])).is_err());
    }

    #[test]
    fn known_results() {
        let items = [(3, 1.5), (1, 0.25), (3, -2.0), (2, 0.25)];
        assert_eq!(feed(0, &items).finish(), Ok(Value::Int(4)));
        assert_eq!(feed(1, &items).finish(), Ok(Value::Int(9)));
        assert_eq!(feed(2, &items).finish(), Ok(Value::Float(0.0)));
        assert_eq!(feed(3, &items).finish(), Ok(element(1, 0.25)));
        assert_eq!(feed(4, &items).finish(), Ok(element(3, 1.5)));
        assert_eq!(feed(5, &items).finish(), Ok(Value::Float(0.0)));
        assert_eq!(feed(6, &items).finish(), Ok(Value::Int(9)));
        let pair = |k: i64, n: i64| Value::Tuple(vec![Value::Int(k), Value::Int(n)]);
        assert_eq!(
            feed(7, &items).finish(),
            Ok(Value::List(vec![pair(1, 1), pair(2, 1), pair(3, 2)]))
        );
        assert_eq!(
            feed(8, &items).finish(),
            Ok(Value::List(vec![pair(0, 6), pair(1, 1), pair(2, 2)]))
        );
        assert_eq!(
            feed(12, &items).finish(),
            Ok(Value::List(vec![
                element(2, 0.25),
                element(1, 0.25),
                element(3, -2.0)
            ]))
        );
        assert_eq!(
            feed(15, &items).finish(),
            Ok(Value::List(vec![
                element(1, 0.25),
                element(2, 0.25),
                element(3, -2.0),
                element(3, 1.5)
            ]))
        );
    }

    #[test]
    fn empty_streams_fail_where_the_language_says() {
        for kind in [3, 4, 5, 6] {
            assert!(matches!(
                empty(kind).finish(),
                Err(RuntimeError::Empty { .. })
            ));
        }
        assert_eq!(empty(0).finish(), Ok(Value::Int(0)));
        assert_eq!(empty(12).finish(), Ok(Value::List(vec![])));
        assert_eq!(Partial::top(-4).finish(), Ok(Value::List(vec![])));
    }

    #[test]
    fn int_sums_overflow_only_if_the_total_does() {
        let mut sum = Partial::sum_int();
        sum.add_int(i64::MAX).unwrap();
        sum.add_int(i64::MAX).unwrap();
        let mut negative = Partial::sum_int();
        negative.add_int(i64::MIN).unwrap();
        let mut overflowing = sum.clone();
        assert!(matches!(
            overflowing.clone().finish(),
            Err(RuntimeError::IntOverflow { .. })
        ));
        overflowing.merge(negative).unwrap();
        assert_eq!(overflowing.finish(), Ok(Value::Int(i64::MAX - 1)));
    }

    #[test]
    fn mismatched_partials_do_not_merge() {
        assert!(Partial::count().merge(Partial::sum_int()).is_err());
        assert!(Partial::top(3).merge(Partial::top(4)).is_err());
        assert!(Partial::reduce().merge(feed(6, &[(1, 0.0)])).is_ok());
        let mut reduce = feed(6, &[(1, 0.0)]);
        assert!(reduce.merge(feed(6, &[(1, 0.0)])).is_err());
        assert!(Partial::count().add_float(1.0).is_err());
        assert!(
            Partial::sum_by_int()
                .add_keyed(Value::Int(1), Value::Float(1.0))
                .is_err()
        );
    }
}

//! The result record: one scalar result, as `-f json` writes it, `-f csv` takes its columns from
//! it and `huber merge` reads it back.
//!
//! [`Summary`] is what the program holds; [`Record`] is its schema on the wire, the one place
//! that names the fields and their order. A record read back is checked to be one huber could
//! have written (see [`Summary::try_from`]): a shard's fields are data, and anything out of range
//! or inconsistent is refused naming the field.

use serde::de::{self, Deserializer, Visitor};
use serde::{Deserialize, Serialize, Serializer};
use serde_json::{Map, Value};

use crate::dtype::Precision;
use crate::error::{Context, Error, Result, bail, clip, ensure};
use crate::exact::ExactSum;
use crate::loss::{Loss, LossKind, Parameter};
use crate::number;
use crate::reduce::{Accumulator, Reduction};
use crate::weighted::WeightedMean;

/// A finished scalar result: what JSON and CSV report for one loss.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(into = "Record", try_from = "Record")]
pub struct Summary {
    /// The loss and its parameter.
    pub loss: Loss,
    /// `mean` or `sum`.
    pub reduction: Reduction,
    /// The result, rounded once to `precision`.
    pub value: f64,
    /// The sum in `f64`, for merging shards.
    pub sum: f64,
    /// Elements counted.
    pub count: u64,
    /// Shape of the inputs.
    pub shape: Vec<usize>,
    /// The result type.
    pub precision: Precision,
    /// Share of counted elements with `|r| ≥ δ`, for losses with a threshold.
    pub linear_fraction: Option<f64>,
    /// The accumulator the result was finished from: what shards carry so that they merge
    /// exactly (the exact sum and the integer counts).
    pub state: Accumulator,
    /// For a weighted mean, the weights' sum Σw of the counted elements (its count is theirs).
    pub weights: Option<Accumulator>,
    /// For `--by`: the group this result is of.
    pub group: Option<Group>,
}

/// `results` as `huber -f json` writes them: one object, or an array of them for several (a δ
/// sweep, groups); what `merge::parse` reads back.
pub fn to_json(results: &[Summary]) -> String {
    let mut buf = Vec::new();
    let mut json = serde_json::Serializer::with_formatter(&mut buf, number::Shortest);
    match results {
        [one] => one.serialize(&mut json),
        _ => results.serialize(&mut json),
    }
    .expect("a result serialises: its numbers are finite or spelled as strings");
    String::from_utf8(buf).expect("serde_json writes UTF-8")
}

/// The group of a `--by` result: the key input as given and the group's key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Group {
    /// The key input as it was given (`sales.csv:store`).
    pub by: String,
    /// The key.
    pub key: GroupKey,
}

/// A group's key as results carry it. The derived order is the order results are listed in:
/// bools false before true, integers numerically, text bytewise (as pandas'
/// `groupby(sort=True)`); results of different kinds of key are never listed together.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(untagged)]
pub enum GroupKey {
    /// A bool label.
    Bool(bool),
    /// An integer label.
    Int(i64),
    /// Text (a CSV field).
    Text(String),
}

impl GroupKey {
    /// What kind of key this is, for messages.
    pub fn kind_name(&self) -> &'static str {
        match self {
            GroupKey::Bool(_) => "bool",
            GroupKey::Int(_) => "integer",
            GroupKey::Text(_) => "text",
        }
    }
}

impl Summary {
    /// Finishes an accumulator.
    pub fn new(
        loss: Loss,
        reduction: Reduction,
        acc: &Accumulator,
        shape: Vec<usize>,
        precision: Precision,
    ) -> Summary {
        Summary {
            loss,
            reduction,
            value: acc.value(reduction, precision),
            sum: acc.reduce(Reduction::Sum),
            count: acc.count(),
            shape,
            precision,
            linear_fraction: loss.threshold().map(|_| acc.linear_fraction()),
            state: acc.clone(),
            weights: None,
            group: None,
        }
    }

    /// This result as the result of group `group`.
    pub fn in_group(self, group: Group) -> Summary {
        Summary {
            group: Some(group),
            ..self
        }
    }

    /// Finishes a weighted mean: Σwℓ / Σw from both exact sums.
    pub fn weighted(
        loss: Loss,
        sums: &WeightedMean,
        shape: Vec<usize>,
        precision: Precision,
    ) -> Summary {
        Summary {
            value: sums.value_in(precision),
            weights: Some(sums.weights.clone()),
            ..Summary::new(
                loss,
                Reduction::WeightedMean,
                &sums.losses,
                shape,
                precision,
            )
        }
    }

    /// Finishes `reduction` from the loss sums and, for a weighted mean, the weights' sums.
    pub fn finish(
        loss: Loss,
        reduction: Reduction,
        acc: &Accumulator,
        weights: Option<&Accumulator>,
        shape: Vec<usize>,
        precision: Precision,
    ) -> Summary {
        match (reduction, weights) {
            (Reduction::WeightedMean, Some(w)) => {
                let sums = WeightedMean {
                    losses: acc.clone(),
                    weights: w.clone(),
                };
                Summary::weighted(loss, &sums, shape, precision)
            }
            _ => Summary::new(loss, reduction, acc, shape, precision),
        }
    }
}

/// The fields of a result in the order they are written. Numbers that may be non-finite are
/// written as JSON strings (`"NaN"`, `"Infinity"`, `"-Infinity"`), since JSON has no such numbers.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Record {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[serde(deserialize_with = "de_by")]
    by: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[serde(deserialize_with = "de_key")]
    key: Option<GroupKey>,
    #[serde(deserialize_with = "de_loss")]
    loss: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[serde(serialize_with = "ser_some_float", deserialize_with = "de_delta")]
    delta: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[serde(serialize_with = "ser_some_float", deserialize_with = "de_beta")]
    beta: Option<f64>,
    #[serde(deserialize_with = "de_reduction")]
    reduction: String,
    /// The value in the `f64` whose shortest form is the result type's shortest form of it.
    #[serde(serialize_with = "ser_float", deserialize_with = "de_value")]
    value: f64,
    #[serde(serialize_with = "ser_float", deserialize_with = "de_sum")]
    sum: f64,
    #[serde(deserialize_with = "de_count")]
    count: u64,
    #[serde(deserialize_with = "de_shape")]
    shape: Vec<usize>,
    #[serde(deserialize_with = "de_dtype")]
    dtype: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[serde(
        serialize_with = "ser_some_float",
        deserialize_with = "de_linear_fraction"
    )]
    linear_fraction: Option<f64>,
    /// Optional only so that a result without it gets a message saying what it is for.
    #[serde(default)]
    state: Option<State>,
    /// A weighted mean's Σw, for people.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[serde(serialize_with = "ser_some_float", deserialize_with = "de_weight_sum")]
    weight_sum: Option<f64>,
    /// A weighted mean's Σw as an exact state (`linear` absent), so that shards merge exactly.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[serde(deserialize_with = "de_weight_state")]
    weight_state: Option<State>,
    /// Fields huber does not write, kept to be refused by name.
    #[serde(flatten, skip_serializing)]
    unknown: Map<String, Value>,
}

/// `{"sum":"0x1.8p+3","linear":2}`: `sum` is the exact sum in [`ExactSum`]'s canonical text (an
/// exact hexadecimal float, `0` for zero, followed by `;nan`, `;+inf`, `;-inf` for the non-finite
/// values that went in); `linear` is the integer count behind `linear_fraction`, for losses with
/// a threshold.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(expecting = "an object {sum, linear} in field 'state'")]
struct State {
    /// Optional only so that an older huber's state (`hi`, `lo`, `scale`) gets a message of its
    /// own.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[serde(serialize_with = "ser_exact", deserialize_with = "de_state_sum")]
    sum: Option<ExactSum>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[serde(deserialize_with = "de_linear")]
    linear: Option<u64>,
    #[serde(flatten, skip_serializing)]
    unknown: Map<String, Value>,
}

impl From<Summary> for Record {
    fn from(s: Summary) -> Record {
        let param = |name: Parameter| s.loss.param().filter(|&(p, _)| p == name).map(|(_, v)| v);
        let (by, key) = match s.group {
            Some(g) => (Some(g.by), Some(g.key)),
            None => (None, None),
        };
        let linear = s.linear_fraction.map(|_| s.state.linear());
        let weight_sum = s.weights.as_ref().map(|w| w.reduce(Reduction::Sum));
        Record {
            by,
            key,
            loss: s.loss.kind().name().to_string(),
            delta: param(Parameter::Delta),
            beta: param(Parameter::Beta),
            reduction: s.reduction.name().to_string(),
            value: number::shortest(s.value, s.precision),
            sum: s.sum,
            count: s.count,
            shape: s.shape,
            dtype: s.precision.name().to_string(),
            linear_fraction: s.linear_fraction,
            state: Some(State {
                sum: Some(s.state.into_sum()),
                linear,
                unknown: Map::new(),
            }),
            weight_sum,
            weight_state: s.weights.map(|w| State {
                sum: Some(w.into_sum()),
                linear: None,
                unknown: Map::new(),
            }),
            unknown: Map::new(),
        }
    }
}

impl TryFrom<Record> for Summary {
    type Error = String;

    /// Checks a record read back: known loss, parameter and dtype, counts within the shape, a
    /// consistent state, and `value`, `sum` and `linear_fraction` as the state gives them.
    fn try_from(r: Record) -> Result<Summary, String> {
        r.check().map_err(|e| format!("{e:#}"))
    }
}

impl Record {
    fn check(self) -> Result<Summary> {
        let kind = LossKind::from_name(&self.loss)
            .with_context(|| format!("field 'loss': unknown loss {}", quoted(&self.loss)))?;
        let loss = self.loss(kind)?;
        let reduction = match self.reduction.as_str() {
            "mean" => Reduction::Mean,
            "sum" => Reduction::Sum,
            "weighted-mean" => Reduction::WeightedMean,
            other => bail!(
                "field 'reduction': cannot merge {}: only mean, sum and weighted-mean results merge",
                quoted(other)
            ),
        };
        let precision = Precision::from_name(&self.dtype)
            .with_context(|| format!("field 'dtype': unknown dtype {}", quoted(&self.dtype)))?;
        ensure!(
            self.shape.len() <= 64,
            "field 'shape': {} dimensions, more than 64",
            self.shape.len()
        );
        let elements = shape_len(&self.shape)?;
        let state = self.state(loss, elements)?;
        let weights = self.weights(reduction, &state)?;
        let summary = Summary::finish(
            loss,
            reduction,
            &state,
            weights.as_ref(),
            self.shape.clone(),
            precision,
        );
        self.check_reported(&summary)?;
        self.only_known(loss, reduction)?;
        Ok(match self.group()? {
            Some(group) => summary.in_group(group),
            None => summary,
        })
    }

    /// The group of a `--by` result: `by` and `key` come together or not at all.
    fn group(&self) -> Result<Option<Group>> {
        match (&self.by, &self.key) {
            (Some(by), Some(key)) => Ok(Some(Group {
                by: by.clone(),
                key: key.clone(),
            })),
            (None, None) => Ok(None),
            (Some(_), None) => bail!("the result has field 'by' but no field 'key'"),
            (None, Some(_)) => bail!("the result has field 'key' but no field 'by'"),
        }
    }

    /// The loss with its parameter, checked as data: no mention of an option the user did not
    /// give, and no usage error in the chain.
    fn loss(&self, kind: LossKind) -> Result<Loss> {
        let param = kind.parameter().map(|p| match p {
            Parameter::Delta => (p.name(), self.delta),
            Parameter::Beta => (p.name(), self.beta),
        });
        let value = match param {
            Some((p, None)) => bail!("the result has no field '{p}'"),
            Some((_, v)) => v,
            None => None,
        };
        kind.with_param(value).map_err(|e| {
            let field = param.map_or("loss", |(p, _)| p);
            let why = e.to_string().replacen(&format!("--{field} "), "", 1);
            Error::invalid_record(format!("field '{field}': {why}"))
        })
    }

    /// The accumulator the result was finished from, checked: counts within the shape, and an
    /// exact sum in canonical form, 0 when nothing was counted.
    fn state(&self, loss: Loss, elements: u64) -> Result<Accumulator> {
        let count = self.count;
        ensure!(
            count <= elements,
            "field 'count': {count} is more than the {elements} elements of the shape"
        );
        let Some(s) = &self.state else {
            bail!(
                "the result has no field 'state' (the exact sum that merging needs; huber -f json writes it)"
            )
        };
        let sum = checked_sum("state", s, count)?;
        Ok(Accumulator::from_parts(
            sum,
            count,
            linear(loss, s.linear, count)?,
        ))
    }

    /// A weighted mean's Σw state, checked as the loss state is: present exactly for a weighted
    /// mean, an exact sum in canonical form, 0 when nothing was counted, and without a linear
    /// count.
    fn weights(&self, reduction: Reduction, state: &Accumulator) -> Result<Option<Accumulator>> {
        let weighted = reduction == Reduction::WeightedMean;
        let s = match (&self.weight_state, weighted) {
            (None, false) => return Ok(None),
            (Some(_), false) => bail!(
                "field 'weight_state': a {} result has no weights' sum",
                reduction
            ),
            (None, true) => bail!(
                "the result has no field 'weight_state' (the exact weights' sum that merging a weighted mean needs; huber -f json writes it)"
            ),
            (Some(s), true) => s,
        };
        ensure!(
            s.linear.is_none(),
            "field 'weight_state.linear': the weights' sum has no linear count"
        );
        let sum = checked_sum("weight_state", s, state.count())?;
        Ok(Some(Accumulator::from_parts(sum, state.count(), 0)))
    }

    /// Checks the fields written for people (`value`, `sum`, `linear_fraction`) against the
    /// state, so that a shard edited in one place and not the other is not merged silently.
    fn check_reported(&self, s: &Summary) -> Result<()> {
        let mut given = vec![("value", self.value, s.value), ("sum", self.sum, s.sum)];
        match (&s.weights, self.weight_sum) {
            (Some(w), Some(got)) => given.push(("weight_sum", got, w.reduce(Reduction::Sum))),
            (Some(_), None) => bail!("the result has no field 'weight_sum'"),
            (None, Some(_)) => bail!(
                "field 'weight_sum': a {} result has no weights' sum",
                s.reduction
            ),
            (None, None) => {}
        }
        match (s.linear_fraction, self.linear_fraction) {
            (Some(want), Some(got)) => given.push(("linear_fraction", got, want)),
            (Some(_), None) => bail!("the result has no field 'linear_fraction'"),
            (None, Some(_)) => bail!(
                "field 'linear_fraction': the {} loss has no linear regime",
                s.loss.kind()
            ),
            (None, None) => {}
        }
        for (field, got, want) in given {
            let got_bits = match field {
                "value" => s.precision.round(got).to_bits(),
                _ => got.to_bits(),
            };
            ensure!(
                got_bits == want.to_bits() || (got.is_nan() && want.is_nan()),
                "field '{field}': {got:?} disagrees with the exact state, which gives {want:?}"
            );
        }
        Ok(())
    }

    /// Refuses a field huber does not write: a hand-edited or foreign result (a `delta` on an
    /// `mse` result, a misspelt `cout`) is not merged silently.
    fn only_known(&self, loss: Loss, reduction: Reduction) -> Result<()> {
        let empty = Accumulator::default();
        let written = serde_json::to_value(Record::from(Summary::finish(
            loss,
            reduction,
            &empty,
            Some(&empty),
            Vec::new(),
            Precision::F64,
        )))
        .map_err(|e| Error::invalid_record(e.to_string()))?;
        let names = |v: &Value| -> Vec<String> {
            v.as_object()
                .map(|m| m.keys().cloned().collect())
                .unwrap_or_default()
        };
        let known = names(&written);
        let stray_param = [("delta", self.delta), ("beta", self.beta)]
            .into_iter()
            .filter(|(p, v)| v.is_some() && !known.iter().any(|k| k == p))
            .map(|(p, _)| p.to_string());
        let stray = stray_param.chain(self.unknown.keys().cloned()).next();
        if let Some(field) = stray {
            bail!(
                "field '{}': not a field of this result (huber -f json writes {})",
                field.escape_debug(),
                known.join(", ")
            );
        }
        for (name, state) in [("state", &self.state), ("weight_state", &self.weight_state)] {
            let unknown = state.as_ref().map(|s| &s.unknown);
            if let Some(field) = unknown.and_then(|u| u.keys().next()) {
                let known = names(&written[name]);
                bail!(
                    "field '{name}.{}': not a field of this result (huber -f json writes {})",
                    field.escape_debug(),
                    known.join(", ")
                );
            }
        }
        Ok(())
    }
}

/// The linear count of a state: present exactly for losses with a threshold, at most the count.
fn linear(loss: Loss, linear: Option<u64>, count: u64) -> Result<u64> {
    match (loss.threshold(), linear) {
        (Some(_), Some(n)) if n <= count => Ok(n),
        (Some(_), Some(n)) => bail!(
            "field 'state.linear': expected an integer from 0 to the count {count}, found {n}"
        ),
        (Some(_), None) => bail!("the result has no field 'state.linear'"),
        (None, Some(_)) => bail!(
            "field 'state.linear': the {} loss has no linear regime to count",
            loss.kind()
        ),
        (None, None) => Ok(0),
    }
}

/// The element count of a shape, checked.
pub fn shape_len(shape: &[usize]) -> Result<u64> {
    shape
        .iter()
        .try_fold(1u64, |n, &d| n.checked_mul(d as u64))
        .context("field 'shape': the element count overflows 64 bits")
}

/// A string as JSON writes it, cut short for a message.
fn quoted(s: &str) -> String {
    clip(&Value::from(s).to_string(), 40, false)
}

fn ser_float<S: Serializer>(x: &f64, s: S) -> Result<S::Ok, S::Error> {
    match *x {
        x if x.is_nan() => s.serialize_str("NaN"),
        f64::INFINITY => s.serialize_str("Infinity"),
        f64::NEG_INFINITY => s.serialize_str("-Infinity"),
        x => s.serialize_f64(x),
    }
}

fn ser_some_float<S: Serializer>(x: &Option<f64>, s: S) -> Result<S::Ok, S::Error> {
    match x {
        Some(x) => ser_float(x, s),
        None => s.serialize_none(),
    }
}

/// The exact sum a shard's `field` (`state` or `weight_state`) holds, checked: present, and 0
/// when `count` is (its canonical form was checked as it was read). A double-double state of
/// an older huber is refused with what to do.
fn checked_sum(field: &str, s: &State, count: u64) -> Result<ExactSum> {
    let Some(sum) = &s.sum else {
        if ["hi", "lo", "scale"]
            .iter()
            .any(|k| s.unknown.contains_key(*k))
        {
            bail!(
                "field '{field}': a double-double state (hi, lo, scale), written by a huber older than \
                 the exact sums; re-run this shard with this huber to merge it"
            );
        }
        bail!("the result has no field '{field}.sum'");
    };
    ensure!(
        count > 0 || *sum == ExactSum::default(),
        "field '{field}.sum': {sum}, but the count is 0: a sum of nothing is 0"
    );
    Ok(sum.clone())
}

fn ser_exact<S: Serializer>(x: &Option<ExactSum>, s: S) -> Result<S::Ok, S::Error> {
    match x {
        Some(x) => s.collect_str(x),
        None => s.serialize_none(),
    }
}

/// `Deserialize` for `$ty` through a visitor that `$method` drives, described in messages as
/// `$what`, with the `visit_*` methods given.
macro_rules! deserialize_by_visitor {
    ($ty:ident, $method:ident, $what:expr, { $($visit:item)* }) => {
        impl<'de> Deserialize<'de> for $ty {
            fn deserialize<D: Deserializer<'de>>(d: D) -> Result<$ty, D::Error> {
                struct V;
                impl Visitor<'_> for V {
                    type Value = $ty;
                    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                        write!(f, "{}", $what)
                    }
                    $($visit)*
                }
                d.$method(V)
            }
        }
    };
}

/// A JSON number, or one of the strings huber writes for non-finite numbers.
#[derive(Debug, Clone, Copy)]
struct Float(f64);

deserialize_by_visitor!(
    Float,
    deserialize_any,
    "a number (or \"NaN\", \"Infinity\", \"-Infinity\")",
    {
        fn visit_f64<E: de::Error>(self, x: f64) -> Result<Float, E> {
            Ok(Float(x))
        }
        fn visit_u64<E: de::Error>(self, x: u64) -> Result<Float, E> {
            Ok(Float(x as f64))
        }
        fn visit_i64<E: de::Error>(self, x: i64) -> Result<Float, E> {
            Ok(Float(x as f64))
        }
        fn visit_str<E: de::Error>(self, s: &str) -> Result<Float, E> {
            match s {
                "NaN" => Ok(Float(f64::NAN)),
                "Infinity" => Ok(Float(f64::INFINITY)),
                "-Infinity" => Ok(Float(f64::NEG_INFINITY)),
                _ => Err(E::invalid_value(de::Unexpected::Str(s), &self)),
            }
        }
    }
);

/// A count: `u64`, named as the message should read.
#[derive(Debug, Clone, Copy)]
struct Count(u64);

deserialize_by_visitor!(
    Count,
    deserialize_u64,
    format_args!("an integer from 0 to {}", u64::MAX),
    {
        fn visit_u64<E: de::Error>(self, x: u64) -> Result<Count, E> {
            Ok(Count(x))
        }
    }
);

/// A group key read back: a string, an integer that fits `i64`, or a bool; anything else
/// (a float, an integer beyond `i64`) is not a key huber writes.
#[derive(Debug, Clone)]
struct KeyField(GroupKey);

deserialize_by_visitor!(
    KeyField,
    deserialize_any,
    "a string, a 64-bit signed integer or a bool",
    {
        fn visit_bool<E: de::Error>(self, b: bool) -> Result<KeyField, E> {
            Ok(KeyField(GroupKey::Bool(b)))
        }
        fn visit_i64<E: de::Error>(self, x: i64) -> Result<KeyField, E> {
            Ok(KeyField(GroupKey::Int(x)))
        }
        fn visit_u64<E: de::Error>(self, x: u64) -> Result<KeyField, E> {
            i64::try_from(x)
                .map(|x| KeyField(GroupKey::Int(x)))
                .map_err(|_| E::invalid_value(de::Unexpected::Unsigned(x), &self))
        }
        fn visit_str<E: de::Error>(self, s: &str) -> Result<KeyField, E> {
            Ok(KeyField(GroupKey::Text(s.to_string())))
        }
    }
);

/// The weights' state reads as the loss state does, but its messages must name it, not `state`.
fn de_weight_state<'de, D: Deserializer<'de>>(d: D) -> Result<Option<State>, D::Error> {
    State::deserialize(d).map(Some).map_err(|e| {
        let message = e.to_string().replace("field 'state", "field 'weight_state");
        de::Error::custom(message)
    })
}

/// Deserializers that name their field in the message, since serde's own do not.
macro_rules! named {
    ($($f:ident -> $out:ty = $name:literal, |$d:ident| $body:expr;)*) => {$(
        fn $f<'de, D: Deserializer<'de>>($d: D) -> Result<$out, D::Error> {
            let read: Result<$out, D::Error> = $body;
            read.map_err(|e| de::Error::custom(format_args!("field '{}': {e}", $name)))
        }
    )*};
}

named! {
    de_by -> Option<String> = "by", |d| String::deserialize(d).map(Some);
    de_key -> Option<GroupKey> = "key", |d| KeyField::deserialize(d).map(|k| Some(k.0));
    de_loss -> String = "loss", |d| String::deserialize(d);
    de_delta -> Option<f64> = "delta", |d| Float::deserialize(d).map(|x| Some(x.0));
    de_beta -> Option<f64> = "beta", |d| Float::deserialize(d).map(|x| Some(x.0));
    de_reduction -> String = "reduction", |d| String::deserialize(d);
    de_value -> f64 = "value", |d| Float::deserialize(d).map(|x| x.0);
    de_sum -> f64 = "sum", |d| Float::deserialize(d).map(|x| x.0);
    de_count -> u64 = "count", |d| Count::deserialize(d).map(|n| n.0);
    de_shape -> Vec<usize> = "shape", |d| Vec::<Count>::deserialize(d).and_then(|dims| {
        dims.into_iter()
            .map(|n| usize::try_from(n.0).map_err(de::Error::custom))
            .collect()
    });
    de_dtype -> String = "dtype", |d| String::deserialize(d);
    de_linear_fraction -> Option<f64> = "linear_fraction", |d| Float::deserialize(d).map(|x| Some(x.0));
    de_weight_sum -> Option<f64> = "weight_sum", |d| Float::deserialize(d).map(|x| Some(x.0));
    de_state_sum -> Option<ExactSum> = "state.sum", |d| String::deserialize(d)
        .and_then(|t| t.parse().map(Some).map_err(de::Error::custom));
    de_linear -> Option<u64> = "state.linear", |d| Count::deserialize(d).map(|n| Some(n.0));
}

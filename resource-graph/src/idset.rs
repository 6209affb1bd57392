//! RFC 22 idsets: sets of non-negative integer ids written compactly, as
//! in `"0-3,7,9-10"` or `"[0-3,7]"`.
//!
//! Decoding is strict: ids ascend, ranges run low to high, no id repeats,
//! no leading zeros, nothing but digits, commas, hyphens and one optional
//! pair of enclosing brackets. (Flux's own decoder is laxer: it swaps a
//! descending range and merges repeats; R documents written by Flux never
//! need that.) The empty string is rejected: every idset an R document
//! carries names at least one id. Ids are `u32` below `u32::MAX`, the
//! value Flux reserves for "no id".
//!
//! An [`IdSet`] keeps ranges rather than ids, so `"0-4000000000"` costs
//! two numbers, not four billion; ask it [`IdSet::contains`] rather than
//! listing ids. [`decode`], which does list them, refuses a set of more
//! than [`MAX_DECODED`] ids before allocating any.
//!
//! [`encode_fluxion`] writes the same text from what Fluxion's writers
//! hold when they print R: a sorted list of signed ids that may repeat (a
//! rank-less graph gives every node rank -1), each repeat written again.
use std::fmt;

/// The most ids [`decode`] lists: 1 Mi, far above any machine's CPUs or
/// cluster's ranks, and 4 MB of ids.
pub const MAX_DECODED: u64 = 1 << 20;

/// Why a string is not an RFC 22 idset.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid idset \"{input}\": {reason}")]
pub struct IdsetError {
    /// The string that was given.
    pub input: String,
    /// What is wrong with it.
    pub reason: String,
}

/// A set of ids as ascending, disjoint, non-adjacent inclusive ranges.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct IdSet {
    ranges: Vec<(u32, u32)>,
}

impl IdSet {
    /// The empty set.
    pub fn new() -> Self {
        Self::default()
    }

    /// Decode an RFC 22 idset string.
    pub fn parse(s: &str) -> Result<IdSet, IdsetError> {
        let fail = |reason: String| IdsetError {
            input: s.to_owned(),
            reason,
        };
        let body = match (s.strip_prefix('['), s.ends_with(']')) {
            (Some(inner), true) => &inner[..inner.len() - 1],
            (None, false) => s,
            _ => return Err(fail("unbalanced brackets".into())),
        };
        if body.is_empty() {
            return Err(fail("no ids".into()));
        }
        let mut set = IdSet::new();
        for elem in body.split(',') {
            let (lo, hi) = match elem.split_once('-') {
                Some((lo, hi)) => (parse_id(lo, &fail)?, parse_id(hi, &fail)?),
                None => {
                    let id = parse_id(elem, &fail)?;
                    (id, id)
                }
            };
            if lo >= hi && elem.contains('-') {
                return Err(fail(format!("range \"{elem}\" does not ascend")));
            }
            if let Some(&(_, last)) = set.ranges.last() {
                if lo <= last {
                    return Err(fail(format!(
                        "\"{elem}\" does not come after {last}: ids must ascend without repeats"
                    )));
                }
            }
            set.push_range(lo, hi);
        }
        Ok(set)
    }

    /// The set of the given ids, in any order, repeats ignored.
    pub fn from_ids<I: IntoIterator<Item = u32>>(ids: I) -> IdSet {
        let mut v: Vec<u32> = ids.into_iter().collect();
        v.sort_unstable();
        v.dedup();
        let mut set = IdSet::new();
        for id in v {
            set.push_range(id, id);
        }
        set
    }

    /// Append `lo..=hi`, which must lie above every id already present.
    fn push_range(&mut self, lo: u32, hi: u32) {
        match self.ranges.last_mut() {
            Some((_, last)) if last.checked_add(1) == Some(lo) => *last = hi,
            _ => self.ranges.push((lo, hi)),
        }
    }

    /// The ids in ascending order.
    pub fn iter(&self) -> impl Iterator<Item = u32> + '_ {
        self.ranges.iter().flat_map(|&(lo, hi)| lo..=hi)
    }

    /// The maximal runs of consecutive ids, as inclusive `(low, high)` pairs.
    pub fn ranges(&self) -> &[(u32, u32)] {
        &self.ranges
    }

    /// How many ids the set holds.
    pub fn len(&self) -> u64 {
        self.ranges
            .iter()
            .map(|&(lo, hi)| u64::from(hi - lo) + 1)
            .sum()
    }

    /// Whether the set holds no id.
    pub fn is_empty(&self) -> bool {
        self.ranges.is_empty()
    }

    /// Whether `id` is in the set.
    pub fn contains(&self, id: u32) -> bool {
        let i = self.ranges.partition_point(|&(_, hi)| hi < id);
        self.ranges.get(i).is_some_and(|&(lo, _)| lo <= id)
    }

    /// The smallest id, if any.
    pub fn first(&self) -> Option<u32> {
        self.ranges.first().map(|&(lo, _)| lo)
    }

    /// The largest id, if any.
    pub fn last(&self) -> Option<u32> {
        self.ranges.last().map(|&(_, hi)| hi)
    }
}

/// The compact form: runs of two or more ids as `lo-hi`, joined by commas,
/// without brackets (as Flux writes R). The empty set is `""`.
impl fmt::Display for IdSet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, &(lo, hi)) in self.ranges.iter().enumerate() {
            write_run(f, i == 0, lo, hi)?;
        }
        Ok(())
    }
}

/// Write one run, `lo` or `lo-hi`, after a comma unless it is the first.
fn write_run<W: fmt::Write, T: fmt::Display + PartialEq>(
    out: &mut W,
    first: bool,
    lo: T,
    hi: T,
) -> fmt::Result {
    if !first {
        out.write_char(',')?;
    }
    if lo == hi {
        write!(out, "{lo}")
    } else {
        write!(out, "{lo}-{hi}")
    }
}

impl std::str::FromStr for IdSet {
    type Err = IdsetError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        IdSet::parse(s)
    }
}

/// Decode an RFC 22 idset string into its ids, ascending: at most
/// [`MAX_DECODED`] of them, counted from the ranges before any is listed.
pub fn decode(s: &str) -> Result<Vec<u32>, IdsetError> {
    let set = IdSet::parse(s)?;
    let n = set.len();
    if n > MAX_DECODED {
        return Err(IdsetError {
            input: s.to_owned(),
            reason: format!("it has {n} ids; at most {MAX_DECODED} are expanded"),
        });
    }
    Ok(set.iter().collect())
}

/// Encode ids (in any order; repeats ignored) in the compact form.
pub fn encode(ids: &[u32]) -> String {
    IdSet::from_ids(ids.iter().copied()).to_string()
}

/// Encode ids given in ascending order as Fluxion's writers do
/// (`compress_ids`): runs of consecutive ids as `lo-hi`, joined by commas,
/// with a repeated id starting a new run rather than merging (`-1,-1`).
/// Ids may be negative. The empty list is `""`.
pub fn encode_fluxion(ids: &[i64]) -> String {
    let mut out = String::new();
    let mut i = 0;
    while i < ids.len() {
        let mut j = i;
        while j + 1 < ids.len() && ids[j].checked_add(1) == Some(ids[j + 1]) {
            j += 1;
        }
        // Writing into a String cannot fail.
        let _ = write_run(&mut out, i == 0, ids[i], ids[j]);
        i = j + 1;
    }
    out
}

/// One decimal id: digits only, no leading zero, below `u32::MAX`.
fn parse_id(s: &str, fail: &impl Fn(String) -> IdsetError) -> Result<u32, IdsetError> {
    if s.is_empty() {
        return Err(fail("empty element".into()));
    }
    if let Some(c) = s.chars().find(|c| !c.is_ascii_digit()) {
        return Err(fail(format!("unexpected character '{c}' in \"{s}\"")));
    }
    if s.len() > 1 && s.starts_with('0') {
        return Err(fail(format!("\"{s}\" has a leading zero")));
    }
    match s.parse::<u32>() {
        Ok(id) if id < u32::MAX => Ok(id),
        _ => Err(fail(format!(
            "{s} is too large (ids stay below {})",
            u32::MAX
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_ids_ranges_and_brackets() {
        assert_eq!(decode("0").unwrap(), vec![0]);
        assert_eq!(decode("0-3,7,9-10").unwrap(), vec![0, 1, 2, 3, 7, 9, 10]);
        assert_eq!(decode("[1-3,5-6,42]").unwrap(), vec![1, 2, 3, 5, 6, 42]);
        assert_eq!(decode("1,2,3").unwrap(), vec![1, 2, 3]);
        assert_eq!(decode("4294967294").unwrap(), vec![u32::MAX - 1]);
    }

    #[test]
    fn encodes_compactly() {
        assert_eq!(encode(&[0, 1, 2, 3, 7, 9, 10]), "0-3,7,9-10");
        assert_eq!(encode(&[5]), "5");
        assert_eq!(encode(&[3, 1, 2, 2]), "1-3");
        assert_eq!(encode(&[]), "");
        assert_eq!(IdSet::parse("[1,2,3,5]").unwrap().to_string(), "1-3,5");
    }

    #[test]
    fn encodes_as_fluxion_with_repeats_and_negative_ids() {
        assert_eq!(encode_fluxion(&[]), "");
        assert_eq!(encode_fluxion(&[7]), "7");
        assert_eq!(encode_fluxion(&[0, 1, 2, 3, 5]), "0-3,5");
        assert_eq!(encode_fluxion(&[0, 2, 3]), "0,2-3");
        assert_eq!(encode_fluxion(&[-1, -1, -1]), "-1,-1,-1");
        assert_eq!(encode_fluxion(&[-2, -1, 0, 1]), "-2-1");
        assert_eq!(encode_fluxion(&[0, 1, 1, 2]), "0-1,1-2");
        assert_eq!(encode_fluxion(&[1, 2, 4, 5, 6, 9]), "1-2,4-6,9");
        assert_eq!(
            encode_fluxion(&[i64::MAX - 1, i64::MAX]),
            "9223372036854775806-9223372036854775807"
        );
        // Without repeats or negative ids it is the compact form.
        let ids = [0, 2, 3, 4, 8, 9, 11];
        assert_eq!(encode_fluxion(&ids.map(i64::from)), encode(&ids));
    }

    #[test]
    fn round_trips() {
        for s in ["0", "0-15", "0-3,7,9-10", "1,3,5", "2-3,5-7,100-4000"] {
            assert_eq!(IdSet::parse(s).unwrap().to_string(), s);
            assert_eq!(encode(&decode(s).unwrap()), s);
        }
        let ids: Vec<u32> = vec![0, 2, 3, 4, 8, 9, 11];
        assert_eq!(decode(&encode(&ids)).unwrap(), ids);
    }

    #[test]
    fn huge_ranges_stay_small() {
        let s = IdSet::parse("0-4000000000").unwrap();
        assert_eq!(s.len(), 4_000_000_001);
        assert!(s.contains(123_456_789));
        assert!(!s.contains(4_000_000_001));
        assert_eq!((s.first(), s.last()), (Some(0), Some(4_000_000_000)));
    }

    #[test]
    fn decode_refuses_huge_sets_before_listing_them() {
        let err = decode("0-999999999").unwrap_err();
        assert_eq!(
            err.to_string(),
            "invalid idset \"0-999999999\": it has 1000000000 ids; at most 1048576 are expanded"
        );
        assert!(decode("999-99999999").is_err());
        assert_eq!(decode("0-1048575").unwrap().len(), 1 << 20);
        assert!(decode("0-1048575,2000000").is_err());
    }

    #[test]
    fn contains_looks_in_the_right_range() {
        let s = IdSet::parse("1-3,7,9-10").unwrap();
        let inside: Vec<u32> = (0..12).filter(|&i| s.contains(i)).collect();
        assert_eq!(inside, vec![1, 2, 3, 7, 9, 10]);
    }

    #[test]
    fn rejects_malformed_input() {
        for (s, why) in [
            ("", "no ids"),
            ("[]", "no ids"),
            ("3-1", "does not ascend"),
            ("2-2", "does not ascend"),
            ("a", "unexpected character 'a'"),
            ("1,a", "unexpected character 'a'"),
            ("-1", "empty element"),
            ("1-", "empty element"),
            ("1,,2", "empty element"),
            ("1,", "empty element"),
            ("1-2-3", "unexpected character '-'"),
            (" 1", "unexpected character ' '"),
            ("[1-2", "unbalanced brackets"),
            ("1-2]", "unbalanced brackets"),
            ("[[1]]", "unexpected character '['"),
            ("01", "leading zero"),
            ("3,1", "does not come after 3"),
            ("1-5,5", "does not come after 5"),
            ("1,1", "does not come after 1"),
            ("4294967295", "too large"),
            ("99999999999", "too large"),
        ] {
            let err = IdSet::parse(s).expect_err(s);
            assert_eq!(err.input, s);
            assert!(
                err.to_string().contains(why),
                "{s:?}: {err} (expected {why:?})"
            );
        }
    }
}

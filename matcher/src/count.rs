//! RFC 14 counts: an integer, or `{min, max, operator, operand}`, with the
//! arithmetic a match needs (the largest reachable count, the next step)
//! and the parser that checks them as Fluxion does.
use serde_yaml::Value;

use crate::spec_error::{err, field, only_keys, show, uint, JobspecError};

/// A count request: `min`, at most `max`, stepping by `operator operand`.
///
/// RFC 14 writes it as an integer (exactly that many) or as
/// `{min, max, operator, operand}`; `max` defaults to unlimited (`u32::MAX`)
/// and the step to `+ 1`, as in Fluxion. Parsing guarantees `1 <= min <=
/// max`, `operand >= 1` for `+` and `operand >= 2` for `*` and `^`, and
/// `min >= 2` for `^`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Count {
    pub min: u32,
    pub max: u32,
    pub oper: char,
    pub operand: u32,
}

impl Count {
    /// Exactly `n`.
    pub fn fixed(n: u32) -> Self {
        Count {
            min: n,
            max: n,
            oper: '+',
            operand: 1,
        }
    }

    /// Largest count reachable from `min` by the operator without
    /// exceeding `max`.
    pub fn effective_max(&self) -> u32 {
        self.calc(u32::MAX)
    }

    /// The count to take when `qualified` units are available: the largest
    /// reachable value not above `qualified` or `max`; 0 when `min` cannot
    /// be met.
    pub fn calc(&self, qualified: u32) -> u32 {
        if self.min > self.max || self.min > qualified {
            return 0;
        }
        let mut count = 0;
        let mut cur = self.min as u64;
        let lim = (qualified.min(self.max)) as u64;
        match self.oper {
            // The largest `min + k * operand <= lim`, in closed form: a
            // count with only `min` steps by 1 up to u32::MAX.
            '+' if self.operand == 0 => count = cur,
            '+' => count = lim - (lim - cur) % self.operand as u64,
            '*' => {
                while cur <= lim {
                    count = cur;
                    if self.operand < 2 {
                        break;
                    }
                    cur *= self.operand as u64;
                }
            }
            '^' => {
                if self.operand < 2 {
                    count = cur;
                } else {
                    while cur <= lim {
                        count = cur;
                        let base = cur;
                        // Stop raising once past `lim`: a large operand
                        // would otherwise cost that many multiplications.
                        for _ in 1..self.operand {
                            cur = cur.saturating_mul(base);
                            if cur > lim {
                                break;
                            }
                        }
                        if cur == base {
                            break;
                        }
                    }
                }
            }
            _ => {}
        }
        count as u32
    }
}

/// A count value of at most `u32::MAX`.
fn count_uint(v: &Value, key: &str) -> Result<u32, JobspecError> {
    let n = uint(v, key)?;
    u32::try_from(n).map_err(|_| err(key, format!("count too large ({n} > {})", u32::MAX)))
}

/// An RFC 14 count: an integer, or `{min, max, operator, operand}` with
/// Fluxion's checks on the operand.
pub(crate) fn count(v: &Value, key: &str) -> Result<Count, JobspecError> {
    let Value::Mapping(m) = v else {
        let n = count_uint(v, key)?;
        if n < 1 {
            return Err(err(key, "must be >= 1"));
        }
        return Ok(Count::fixed(n));
    };
    only_keys(
        m,
        &["min", "max", "operator", "operand"],
        key,
        "unknown key",
    )?;
    let at = |k: &str| format!("{key}.{k}");
    let min = field(m, "min")
        .ok_or_else(|| err(&at("min"), "required"))
        .and_then(|v| count_uint(v, &at("min")))?;
    if min < 1 {
        return Err(err(&at("min"), "must be >= 1"));
    }
    let max = match field(m, "max") {
        Some(v) => count_uint(v, &at("max"))?,
        None => u32::MAX,
    };
    if max < min {
        return Err(err(&at("max"), format!("{max} is below min {min}")));
    }
    let oper = match field(m, "operator") {
        None => '+',
        Some(Value::String(s)) if ["+", "*", "^"].contains(&s.as_str()) => {
            s.chars().next().unwrap_or('+')
        }
        Some(o) => {
            return Err(err(
                &at("operator"),
                format!("must be one of + * ^, got {}", show(o)),
            ))
        }
    };
    let operand = match field(m, "operand") {
        Some(v) => count_uint(v, &at("operand"))?,
        None => 1,
    };
    match oper {
        '+' if operand < 1 => return Err(err(&at("operand"), "must be >= 1 for +")),
        '*' | '^' if operand < 2 => {
            return Err(err(
                &at("operand"),
                format!("must be >= 2 for {oper}, got {operand}"),
            ))
        }
        '^' if min < 2 => return Err(err(&at("min"), "must be >= 2 for ^")),
        _ => {}
    }
    Ok(Count {
        min,
        max,
        oper,
        operand,
    })
}

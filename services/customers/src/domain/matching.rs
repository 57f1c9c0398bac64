//! Duplicate detection: the phonetic name key used for blocking, and the pair score.
//!
//! Scoring (documented in ARCHITECTURE.md, thresholds per request):
//! - the same national-ID hash or the same external id: certain (1.0);
//! - the same phone +0.50, the same e-mail +0.45;
//! - names compared in toneless pinyin (so 王小明, 王晓明 and "Wang Xiaoming" meet) with
//!   given/family order ignored: equal +0.35, similar (Jaro-Winkler ≥ 0.92) +0.25,
//!   clearly different −0.20;
//! - the same birthday +0.25, a different one −0.40 (the strongest evidence of two people);
//! - the same city +0.10, the same street +0.10;
//! - the total is clamped to [0, 1].

use pinyin::ToPinyin;

use super::{Kind, Profile};

/// Why two records look alike, with the weight each reason added.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rule {
    SameNationalId,
    SameExternalId,
    SamePhone,
    SameEmail,
    SameName,
    SwappedName,
    SimilarName,
    DifferentName,
    SameBirthday,
    DifferentBirthday,
    SameCity,
    SameStreet,
}

/// One reason and its weight.
#[derive(Debug, Clone, PartialEq)]
pub struct Reason {
    pub rule: Rule,
    pub weight: f64,
}

/// Two-character surnames, so that a full name written in one field splits correctly.
const COMPOUND_SURNAMES: &[&str] = &[
    "欧阳", "司马", "上官", "诸葛", "东方", "皇甫", "令狐", "慕容", "夏侯", "尉迟", "长孙", "宇文",
    "司徒", "公孙",
];

fn is_han(c: char) -> bool {
    matches!(c, '\u{3400}'..='\u{4DBF}' | '\u{4E00}'..='\u{9FFF}' | '\u{F900}'..='\u{FAFF}')
}

/// A name part in lower-case toneless pinyin / Latin letters, without separators.
fn romanise(part: &str) -> String {
    let mut out = String::new();
    for c in part.chars() {
        if is_han(c) {
            if let Some(p) = c.to_pinyin() {
                out.push_str(p.plain());
            }
        } else if c.is_alphanumeric() {
            out.extend(c.to_lowercase());
        }
    }
    out
}

/// The name as (family, given) in pinyin; a Chinese full name written in one field is
/// split after its surname, a Latin one at its spaces.
fn name_parts(p: &Profile) -> Vec<String> {
    let (family, given) = (p.family_name.trim(), p.given_name.trim());
    let whole = if given.is_empty() {
        family
    } else if family.is_empty() {
        given
    } else {
        ""
    };
    if !whole.is_empty() {
        let han: Vec<char> = whole.chars().filter(|c| is_han(*c)).collect();
        if han.len() >= 2 && han.len() == whole.chars().count() {
            let split = if COMPOUND_SURNAMES.iter().any(|s| whole.starts_with(s)) && han.len() > 2 {
                2
            } else {
                1
            };
            let family: String = han[..split].iter().collect();
            let given: String = han[split..].iter().collect();
            return vec![romanise(&family), romanise(&given)];
        }
        return whole
            .split_whitespace()
            .map(romanise)
            .filter(|s| !s.is_empty())
            .collect();
    }
    [family, given]
        .iter()
        .map(|s| romanise(s))
        .filter(|s| !s.is_empty())
        .collect()
}

/// The blocking key: name parts in pinyin, sorted, so that order and script do not
/// matter. Organisations use their whole name.
pub fn phonetic_key(p: &Profile) -> String {
    match p.kind {
        Kind::Organization => romanise(&p.organization_name),
        Kind::Person => {
            let mut parts = name_parts(p);
            parts.sort();
            parts.join(" ")
        }
    }
}

fn name_reason(a: &Profile, b: &Profile) -> Option<Reason> {
    let (ka, kb) = (phonetic_key(a), phonetic_key(b));
    if ka.is_empty() || kb.is_empty() {
        return None;
    }
    if ka == kb {
        let ordered = a.kind == Kind::Person && name_parts(a) != name_parts(b);
        let rule = if ordered {
            Rule::SwappedName
        } else {
            Rule::SameName
        };
        return Some(Reason { rule, weight: 0.35 });
    }
    let similarity = strsim::jaro_winkler(&ka, &kb);
    if similarity >= 0.92 {
        Some(Reason {
            rule: Rule::SimilarName,
            weight: 0.25,
        })
    } else if similarity < 0.80 {
        Some(Reason {
            rule: Rule::DifferentName,
            weight: -0.20,
        })
    } else {
        None
    }
}

/// How likely `a` and `b` are one party, in [0, 1], with the reasons.
pub fn score(a: &Profile, b: &Profile) -> (f64, Vec<Reason>) {
    let mut reasons = Vec::new();
    let mut certain = false;
    if let (Some(x), Some(y)) = (&a.national_id, &b.national_id)
        && x.hash == y.hash
    {
        reasons.push(Reason {
            rule: Rule::SameNationalId,
            weight: 1.0,
        });
        certain = true;
    }
    if a.external_ids.iter().any(|x| b.external_ids.contains(x)) {
        reasons.push(Reason {
            rule: Rule::SameExternalId,
            weight: 1.0,
        });
        certain = true;
    }
    if a.phones
        .iter()
        .any(|p| b.phones.iter().any(|q| q.e164 == p.e164))
    {
        reasons.push(Reason {
            rule: Rule::SamePhone,
            weight: 0.50,
        });
    }
    if a.emails.iter().any(|e| b.emails.contains(e)) {
        reasons.push(Reason {
            rule: Rule::SameEmail,
            weight: 0.45,
        });
    }
    if a.kind == b.kind
        && let Some(r) = name_reason(a, b)
    {
        reasons.push(r);
    }
    match (a.birthday, b.birthday) {
        (Some(x), Some(y)) if x == y => reasons.push(Reason {
            rule: Rule::SameBirthday,
            weight: 0.25,
        }),
        (Some(_), Some(_)) => reasons.push(Reason {
            rule: Rule::DifferentBirthday,
            weight: -0.40,
        }),
        _ => {}
    }
    if !a.address.city.is_empty() && a.address.city == b.address.city {
        reasons.push(Reason {
            rule: Rule::SameCity,
            weight: 0.10,
        });
        if !a.address.street.is_empty() && a.address.street == b.address.street {
            reasons.push(Reason {
                rule: Rule::SameStreet,
                weight: 0.10,
            });
        }
    }
    let sum: f64 = reasons.iter().map(|r| r.weight).sum();
    // Rounded to 4 places so that 0.35 + 0.25 + 0.10 + 0.10 is 0.8 and meets a 0.8 threshold.
    let total = if certain {
        1.0
    } else {
        ((sum * 10_000.0).round() / 10_000.0).clamp(0.0, 1.0)
    };
    (total, reasons)
}

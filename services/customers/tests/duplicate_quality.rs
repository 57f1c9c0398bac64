//! Duplicate detection quality on a labelled synthetic set: precision, recall and F1 of
//! blocking + scoring at the default threshold. Run with `--nocapture` to see the figures.

use std::collections::{HashMap, HashSet};

use dealernet_customers::{
    api::convert::profile_from_proto,
    demo::labelled::labelled_set,
    domain::{IdHasher, Profile, matching},
};
use secrecy::SecretString;

/// FindDuplicates' default `min_score`.
const THRESHOLD: f64 = 0.6;

#[test]
fn f1_is_at_least_095_on_the_labelled_set() {
    let hasher = IdHasher::new(SecretString::from("k".repeat(32)));
    let set = labelled_set(42, 4000);
    let records: Vec<(usize, Profile)> = set
        .iter()
        .map(|l| {
            (
                l.person,
                profile_from_proto(&l.customer, &hasher).expect("valid labelled record"),
            )
        })
        .collect();

    // Blocking, as the store does it: records sharing an identifier, or the phonetic name
    // key with the birthday or with the city.
    let mut blocks: HashMap<String, Vec<usize>> = HashMap::new();
    for (i, (_, p)) in records.iter().enumerate() {
        let name = matching::phonetic_key(p);
        let mut keys = vec![format!("nc:{name}:{}", p.address.city)];
        if let Some(birthday) = p.birthday {
            keys.push(format!("nb:{name}:{birthday}"));
        }
        keys.extend(p.phones.iter().map(|x| format!("p:{}", x.e164)));
        keys.extend(p.emails.iter().map(|x| format!("e:{x}")));
        for k in keys {
            blocks.entry(k).or_default().push(i);
        }
    }
    let mut candidates = HashSet::new();
    for members in blocks.values() {
        for (x, &a) in members.iter().enumerate() {
            for &b in &members[x + 1..] {
                candidates.insert((a.min(b), a.max(b)));
            }
        }
    }

    let mut truth = HashSet::new();
    for a in 0..records.len() {
        for b in a + 1..records.len() {
            if records[a].0 == records[b].0 {
                truth.insert((a, b));
            }
        }
    }
    let predicted: HashSet<(usize, usize)> = candidates
        .iter()
        .copied()
        .filter(|&(a, b)| matching::score(&records[a].1, &records[b].1).0 >= THRESHOLD)
        .collect();
    let tp = predicted.intersection(&truth).count() as f64;
    let precision = tp / predicted.len() as f64;
    let recall = tp / truth.len() as f64;
    let f1 = 2.0 * precision * recall / (precision + recall);
    println!(
        "records {} people {} true pairs {} candidate pairs {} predicted {} precision {precision:.4} recall {recall:.4} F1 {f1:.4}",
        records.len(),
        records.iter().map(|r| r.0).collect::<HashSet<_>>().len(),
        truth.len(),
        candidates.len(),
        predicted.len()
    );
    for &(a, b) in truth.difference(&predicted).take(5) {
        println!(
            "missed: {:?} / {:?} -> {:?}",
            records[a].1.family_name,
            records[b].1.family_name,
            matching::score(&records[a].1, &records[b].1)
        );
    }
    assert!(
        f1 >= 0.95,
        "F1 {f1:.4} below 0.95 (precision {precision:.4}, recall {recall:.4})"
    );
}

//! Object-level visibility: who sees a customer's full record, and the masked record the
//! others get when they reach a customer by an exact identifier.

use dealernet_kit::auth::{ORG_CALLCENTER, ORG_HQ, Principal, Role};

use super::{Address, Customer, Kind};

/// Whether `principal` sees every customer unmasked: head office, the hotline and the
/// platform's own services. Dealers and stations see only customers linked to them.
pub fn sees_everything(principal: &Principal) -> bool {
    let central = principal.organization() == ORG_HQ || principal.organization() == ORG_CALLCENTER;
    principal.has_role(Role::System)
        || (central
            && [Role::Hq, Role::Steward, Role::Agent]
                .iter()
                .any(|r| principal.has_role(*r)))
}

/// `+8613800138000` → `+86138****8000`: enough to recognise a number one already has.
pub fn mask_phone(e164: &str) -> String {
    let chars: Vec<char> = e164.chars().collect();
    if chars.len() <= 8 {
        return "*".repeat(chars.len());
    }
    let head: String = chars[..chars.len() - 8].iter().collect();
    let tail: String = chars[chars.len() - 4..].iter().collect();
    format!("{head}****{tail}")
}

/// `wangwei@example.com` → `w***@example.com`.
pub fn mask_email(email: &str) -> String {
    match email.split_once('@') {
        Some((local, domain)) => format!("{}***@{domain}", local.chars().next().unwrap_or('*')),
        None => "***".into(),
    }
}

fn initial(name: &str, keep: usize) -> String {
    let kept: String = name.chars().take(keep).collect();
    if kept.is_empty() {
        String::new()
    } else {
        format!("{kept}*")
    }
}

/// The record a caller without a relationship may see: name initial, masked contact
/// points, province and city; no street, birthday, identifiers or preferences.
pub fn mask(customer: &Customer) -> Customer {
    let p = &customer.profile;
    let mut masked = customer.clone();
    let m = &mut masked.profile;
    match p.kind {
        Kind::Person => {
            m.family_name = initial(&p.family_name, 1);
            m.given_name = String::new();
            if m.family_name.is_empty() {
                m.given_name = initial(&p.given_name, 1);
            }
        }
        Kind::Organization => m.organization_name = initial(&p.organization_name, 2),
    }
    for phone in &mut m.phones {
        phone.e164 = mask_phone(&phone.e164);
    }
    m.emails = p.emails.iter().map(|e| mask_email(e)).collect();
    m.address = Address {
        province: p.address.province.clone(),
        city: p.address.city.clone(),
        ..Address::default()
    };
    m.birthday = None;
    m.national_id = None;
    m.external_ids.clear();
    m.preferred_language.clear();
    m.preferred_dealer.clear();
    m.preferred_station.clear();
    masked
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn contact_points_are_partly_hidden() {
        assert_eq!(mask_phone("+8613800138000"), "+86138****8000");
        assert_eq!(mask_phone("+861065529988"), "+8610****9988");
        assert_eq!(mask_phone("+4930"), "*****");
        assert_eq!(mask_email("wangwei@example.com"), "w***@example.com");
    }

    #[test]
    fn who_sees_everything() {
        let p = |org: &str, role| Principal::new("u", org, &[role]).expect("principal");
        assert!(sees_everything(&p("HQ", Role::Hq)));
        assert!(sees_everything(&p("CALLCENTER", Role::Agent)));
        assert!(sees_everything(&p("D1001", Role::System)));
        assert!(!sees_everything(&p("D1001", Role::Dealer)));
        assert!(
            !sees_everything(&p("D1001", Role::Hq)),
            "an HQ role outside HQ is not HQ"
        );
        assert!(!sees_everything(&p("HQ", Role::Dealer)));
    }
}

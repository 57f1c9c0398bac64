//! Token buckets per organisation, shared by every connection of the gateway: one keyed
//! `governor` limiter per rate class (the default, and each role with an override), keyed
//! by organisation. A connection-local limiter (tower's `RateLimit`) would let a client
//! multiply its rate by opening connections.

use std::{num::NonZeroU32, time::Duration};

use dealernet_kit::{
    auth::{Principal, Role},
    config::RateLimits,
};
use governor::{
    DefaultKeyedRateLimiter, Quota, RateLimiter,
    clock::{Clock, DefaultClock},
};

/// A call its bucket refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limited {
    /// How long until the bucket has room again.
    pub wait: Duration,
    /// The rate class: the overriding role's name, or `default` (the metrics' `role` label).
    pub class: &'static str,
}

/// The per-organisation limiters.
#[derive(Debug)]
pub struct OrgRateLimiter {
    default: DefaultKeyedRateLimiter<String>,
    per_role: Vec<(Role, DefaultKeyedRateLimiter<String>)>,
    clock: DefaultClock,
}

fn quota(rps: u32, burst: u32) -> Quota {
    let rps = NonZeroU32::new(rps).unwrap_or(NonZeroU32::MIN);
    let burst = NonZeroU32::new(burst.max(1)).unwrap_or(NonZeroU32::MIN);
    Quota::per_second(rps).allow_burst(burst)
}

impl OrgRateLimiter {
    pub fn new(limits: &RateLimits) -> OrgRateLimiter {
        OrgRateLimiter {
            default: RateLimiter::keyed(quota(limits.per_org_rps, limits.burst)),
            per_role: limits
                .per_role_rps
                .iter()
                // A role's bucket is at least as deep as one second of its rate.
                .map(|(role, rps)| {
                    (
                        *role,
                        RateLimiter::keyed(quota(*rps, limits.burst.max(*rps))),
                    )
                })
                .collect(),
            clock: DefaultClock::default(),
        }
    }

    /// Takes one call from the caller's bucket, or says how long until one is free. The
    /// bucket is that of the first of the caller's roles with an override, else the
    /// organisation's default one.
    pub fn check(&self, principal: &Principal) -> Result<(), Limited> {
        let (class, limiter) = self
            .per_role
            .iter()
            .find(|(role, _)| principal.has_role(*role))
            .map(|(role, l)| (role.name(), l))
            .unwrap_or(("default", &self.default));
        limiter
            .check_key(&principal.organization().to_owned())
            .map_err(|not_until| Limited {
                wait: not_until.wait_time_from(self.clock.now()),
                class,
            })
    }

    /// Drops buckets that are full again, so idle organisations cost no memory.
    pub fn forget_idle(&self) {
        self.default.retain_recent();
        for (_, limiter) in &self.per_role {
            limiter.retain_recent();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn organisations_have_buckets_of_their_own() {
        let limiter = OrgRateLimiter::new(&RateLimits {
            per_org_rps: 1,
            burst: 3,
            per_role_rps: vec![(Role::Agent, 100)],
        });
        let d1 = Principal::new("a", "D1001", &[Role::Dealer]).expect("principal");
        let d2 = Principal::new("b", "D1002", &[Role::Dealer]).expect("principal");
        for _ in 0..3 {
            assert!(limiter.check(&d1).is_ok());
        }
        let Limited { wait, class } = limiter.check(&d1).expect_err("over the burst");
        assert_eq!(class, "default");
        assert!(
            wait > Duration::ZERO && wait <= Duration::from_secs(1),
            "{wait:?}"
        );
        assert!(
            limiter.check(&d2).is_ok(),
            "another organisation is unaffected"
        );
        let agent = Principal::new("c", "CALLCENTER", &[Role::Agent]).expect("principal");
        for _ in 0..50 {
            assert!(
                limiter.check(&agent).is_ok(),
                "the agents' override applies"
            );
        }
    }
}

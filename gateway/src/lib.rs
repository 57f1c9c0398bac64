//! The gateway: one public endpoint in front of every service. Its routing proxy, method
//! permissions, rate limits and Customer360 come with the gateway issue; until then each
//! service authenticates callers itself through `dealernet_kit::auth`.

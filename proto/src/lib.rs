//! Generated protobuf messages, tonic servers and clients for every dealernet API.
//!
//! Everything here is produced by `build.rs` from `dealernet/**/v1/*.proto`; nothing is
//! written by hand except this module tree.
#![allow(clippy::all, clippy::pedantic, missing_docs)]

/// Shared value types (money, postal address, calendar date).
pub mod types {
    pub mod v1 {
        tonic::include_proto!("dealernet.types.v1");
    }
}

/// The vehicle lifecycle API.
pub mod vehicles {
    pub mod v1 {
        tonic::include_proto!("dealernet.vehicles.v1");
    }
}

/// The dealer network API: outlets, staff, locator, leads, scorecards.
pub mod dealers {
    pub mod v1 {
        tonic::include_proto!("dealernet.dealers.v1");
    }
}

/// The call center API.
pub mod callcenter {
    pub mod v1 {
        tonic::include_proto!("dealernet.callcenter.v1");
    }
}

/// The customer registry API.
pub mod customers {
    pub mod v1 {
        tonic::include_proto!("dealernet.customers.v1");
    }
}

/// Serialized `FileDescriptorSet` of every dealernet proto, for gRPC reflection.
pub const FILE_DESCRIPTOR_SET: &[u8] = tonic::include_file_descriptor_set!("dealernet_descriptor");

/// The gateway's own API: API keys and Customer360.
pub mod gateway {
    pub mod v1 {
        tonic::include_proto!("dealernet.gateway.v1");
    }
}

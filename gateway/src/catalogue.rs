//! The platform's methods, read from the embedded descriptor set: which service owns a
//! gRPC path and what kind of stream it is. Built once at start; a lookup is one hash probe.

use std::collections::HashMap;

use prost::Message;

/// The services the gateway routes to, one per proto package.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Backend {
    Customers,
    Vehicles,
    Callcenter,
    Dealers,
    /// Answered by the gateway itself (`dealernet.gateway.v1`).
    Gateway,
}

impl Backend {
    /// The owner of a proto package, if it is one of ours.
    fn of_package(package: &str) -> Option<Backend> {
        Some(match package {
            "dealernet.customers.v1" => Backend::Customers,
            "dealernet.vehicles.v1" => Backend::Vehicles,
            "dealernet.callcenter.v1" => Backend::Callcenter,
            "dealernet.dealers.v1" => Backend::Dealers,
            "dealernet.gateway.v1" => Backend::Gateway,
            _ => return None,
        })
    }

    pub fn name(self) -> &'static str {
        match self {
            Backend::Customers => "customers",
            Backend::Vehicles => "vehicles",
            Backend::Callcenter => "callcenter",
            Backend::Dealers => "dealers",
            Backend::Gateway => "gateway",
        }
    }
}

/// One RPC of the platform.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Method {
    /// `dealernet.customers.v1.CustomerService/GetCustomer` (the path without its slash).
    pub name: String,
    pub backend: Backend,
    /// Whether the server answers with a stream (server-streaming or bidirectional): such
    /// calls may be long-lived feeds, so the gateway imposes no deadline the client did not ask for.
    pub server_streaming: bool,
}

/// Every method of every dealernet service, by gRPC path.
#[derive(Debug, Clone)]
pub struct Catalogue {
    by_path: HashMap<String, Method>,
    services: Vec<(String, Backend)>,
}

impl Catalogue {
    /// Reads an encoded `FileDescriptorSet`.
    pub fn from_descriptor_set(bytes: &[u8]) -> Result<Catalogue, prost::DecodeError> {
        let set = prost_types::FileDescriptorSet::decode(bytes)?;
        let mut by_path = HashMap::new();
        let mut services = Vec::new();
        for file in &set.file {
            let package = file.package();
            let Some(backend) = Backend::of_package(package) else {
                continue;
            };
            for service in &file.service {
                let service_name = format!("{package}.{}", service.name());
                for method in &service.method {
                    let name = format!("{service_name}/{}", method.name());
                    by_path.insert(
                        format!("/{name}"),
                        Method {
                            name,
                            backend,
                            server_streaming: method.server_streaming(),
                        },
                    );
                }
                services.push((service_name, backend));
            }
        }
        services.sort();
        Ok(Catalogue { by_path, services })
    }

    /// The platform's own catalogue.
    pub fn platform() -> Catalogue {
        Catalogue::from_descriptor_set(dealernet_proto::FILE_DESCRIPTOR_SET)
            .unwrap_or_else(|e| unreachable!("the embedded descriptor set decodes: {e}"))
    }

    /// The method a request path names.
    pub fn method(&self, path: &str) -> Option<&Method> {
        self.by_path.get(path)
    }

    /// Every method, sorted by name.
    pub fn methods(&self) -> Vec<&Method> {
        let mut methods: Vec<&Method> = self.by_path.values().collect();
        methods.sort_by(|a, b| a.name.cmp(&b.name));
        methods
    }

    /// Every service by full name (`dealernet.customers.v1.CustomerService`, …) and owner.
    pub fn service_backends(&self) -> Vec<(String, Backend)> {
        self.services.clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_service_of_the_platform_is_routed() {
        let catalogue = Catalogue::platform();
        let get = catalogue
            .method("/dealernet.customers.v1.CustomerService/GetCustomer")
            .expect("GetCustomer");
        assert_eq!(get.backend, Backend::Customers);
        assert!(!get.server_streaming);
        let scan = catalogue
            .method("/dealernet.customers.v1.CustomerService/ScanDuplicates")
            .expect("ScanDuplicates");
        assert!(scan.server_streaming);
        assert!(
            catalogue
                .method("/dealernet.customers.v1.Nope/Get")
                .is_none()
        );
        for backend in ["customers", "vehicles", "callcenter", "dealers", "gateway"] {
            assert!(
                catalogue
                    .methods()
                    .iter()
                    .any(|m| m.backend.name() == backend),
                "{backend}"
            );
        }
    }
}

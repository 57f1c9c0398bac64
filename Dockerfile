# syntax=docker/dockerfile:1
# The one dealernet binary in a small image: every service, the gateway and the
# command-line tools (migrate, token, apikey); helm/dealernet runs it with different
# arguments per component. Build: docker build -t dealernet .

FROM rust:1.95-bookworm AS builder
WORKDIR /src
COPY . .
# The protos compile with the protoc inside protoc-bin-vendored: no system protoc.
# The caches keep the registry and target/ between builds (BuildKit).
RUN --mount=type=cache,target=/usr/local/cargo/registry \
    --mount=type=cache,target=/src/target \
    cargo build --release --locked --bin dealernet \
    && install -m 0755 target/release/dealernet /usr/local/bin/dealernet

# Same Debian release as the builder, so the binary finds the glibc it was linked
# against. Only CA certificates are added: the PostgreSQL server binaries are needed
# by `dealernet dev` alone (it starts a private server), never by serve, gateway or
# migrate, which connect to an existing PostgreSQL.
FROM debian:bookworm-slim
# Unpinned on purpose (DL3008): bookworm's archive keeps one version of a package, so a
# pin breaks the build at its next security update.
# hadolint ignore=DL3008
RUN apt-get update \
    && apt-get install -y --no-install-recommends ca-certificates \
    && rm -rf /var/lib/apt/lists/* \
    && groupadd --system --gid 10001 dealernet \
    && useradd --system --uid 10001 --gid 10001 --no-create-home \
       --home-dir /nonexistent --shell /usr/sbin/nologin dealernet
COPY --from=builder /usr/local/bin/dealernet /usr/local/bin/dealernet
# Listen on every interface inside the container (the binary's default is loopback).
ENV DEALERNET_LISTEN_ADDR=0.0.0.0:50051 \
    DEALERNET_METRICS_ADDR=0.0.0.0:9464
USER 10001:10001
# The one writable place (an emptyDir in the chart; the root filesystem is read-only).
WORKDIR /tmp
# gRPC (every service and the gateway), Prometheus metrics (/metrics).
EXPOSE 50051 9464
ENTRYPOINT ["dealernet"]
CMD ["--help"]

# syntax=docker/dockerfile:1
# One image for every role (collector, ingest, indexer, query-api, detect):
#   docker build -t logwarden .
#   docker run --rm logwarden check-config /etc/logwarden/logwarden.example.toml
# Multi-stage: the compiler, headers and build tools stay in the build stage;
# the runtime image holds the binary, its TLS libraries and the default
# rules, and runs as the unprivileged user 10001 (the Helm chart's too).

FROM rust:1.95-bookworm AS build
# librdkafka is built from source: cmake, perl, pkg-config, OpenSSL headers.
RUN apt-get update \
 && apt-get install -y --no-install-recommends cmake perl pkg-config libssl-dev \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY . .
# The cache mounts keep the registry and the dependency build between
# builds (BuildKit); the binary is copied out of the cached target dir.
RUN --mount=type=cache,target=/usr/local/cargo/registry \
    --mount=type=cache,target=/src/target \
    cargo build --release --locked --bin logwarden \
 && strip --strip-debug target/release/logwarden \
 && install -D -m 0755 target/release/logwarden /out/logwarden

FROM debian:bookworm-slim
# libssl3: librdkafka's TLS and SASL/SCRAM; ca-certificates: brokers and
# hooks signed by a public CA. No compiler, no package manager cache.
RUN apt-get update \
 && apt-get install -y --no-install-recommends libssl3 ca-certificates \
 && rm -rf /var/lib/apt/lists/* \
 && groupadd --system --gid 10001 logwarden \
 && useradd --system --uid 10001 --gid 10001 --home-dir /var/lib/logwarden --shell /usr/sbin/nologin logwarden \
 && install -d -o 10001 -g 10001 -m 0750 /var/lib/logwarden
COPY --from=build /out/logwarden /usr/local/bin/logwarden
COPY rules /etc/logwarden/rules
COPY config/logwarden.example.toml /etc/logwarden/logwarden.example.toml
USER 10001:10001
WORKDIR /var/lib/logwarden
ENV LOGWARDEN_DATA_DIR=/var/lib/logwarden
VOLUME ["/var/lib/logwarden"]
# query API 8080; HTTP ingest 9200; syslog 5514/udp+tcp and 6514 (TLS)
EXPOSE 8080 9200 5514/udp 5514/tcp 6514
ENTRYPOINT ["/usr/local/bin/logwarden"]
CMD ["--help"]

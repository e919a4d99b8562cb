# Build: docker build -t logwarden .
FROM rust:1.95-bookworm AS build
RUN apt-get update && apt-get install -y --no-install-recommends cmake perl pkg-config libssl-dev && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY . .
RUN cargo build --release --bin logwarden

FROM debian:bookworm-slim
# libssl3: librdkafka's TLS and SASL/SCRAM; ca-certificates: brokers signed by a public CA.
RUN apt-get update && apt-get install -y --no-install-recommends libssl3 ca-certificates && rm -rf /var/lib/apt/lists/*
RUN useradd --system --home /var/lib/logwarden logwarden && mkdir -p /var/lib/logwarden && chown logwarden /var/lib/logwarden
COPY --from=build /src/target/release/logwarden /usr/local/bin/logwarden
COPY --from=build /src/rules /etc/logwarden/rules
USER logwarden
ENV LOGWARDEN_DATA_DIR=/var/lib/logwarden
ENTRYPOINT ["/usr/local/bin/logwarden"]
CMD ["--help"]

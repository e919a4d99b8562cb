//! ECS field names, as they appear in the wire format and in queries.

pub const TIMESTAMP: &str = "@timestamp";
pub const INGESTED: &str = "event.ingested";
pub const ID: &str = "event.id";
pub const ORIGINAL: &str = "event.original";
pub const MESSAGE: &str = "message";
pub const STREAM: &str = "stream";
pub const PARSE_ERROR: &str = "parse.error";
pub const FIELDS: &str = "fields";
/// Network peer (`ip:port`) that pushed the event (syslog, HTTP ingest).
pub const LOG_SOURCE_ADDRESS: &str = "log.source.address";

/// Every name an [`Event`](crate::Event) holds as a field of its own (all
/// but the free `fields`): a JSON document's key among them fills that
/// field, any other key goes to `fields`. One list for every source.
pub const EVENT_FIELDS: &[&str] = &[
    TIMESTAMP,
    INGESTED,
    ID,
    ORIGINAL,
    MESSAGE,
    STREAM,
    "host.name",
    "host.ip",
    "log.file.path",
    "log.offset",
    LOG_SOURCE_ADDRESS,
    "log.level",
    "log.syslog.facility.code",
    "log.syslog.severity.code",
    "process.name",
    "process.pid",
    "source.ip",
    "source.port",
    "destination.ip",
    "destination.port",
    "user.name",
    "event.category",
    "event.action",
    "event.outcome",
    "event.code",
    "observer.vendor",
    "observer.product",
    PARSE_ERROR,
];

/// Fields holding one exact value each (host names, IPs, user names, …):
/// indexed untokenized, so `host.name:web01` matches exactly.
pub const KEYWORDS: &[&str] = &[
    ID,
    STREAM,
    PARSE_ERROR,
    "host.name",
    "host.ip",
    "log.file.path",
    "log.level",
    "process.name",
    "source.ip",
    "destination.ip",
    "log.source.address",
    "event.code",
    "user.name",
    "event.category",
    "event.action",
    "event.outcome",
    "observer.vendor",
    "observer.product",
];

/// Fields holding whole numbers.
pub const NUMBERS: &[&str] = &[
    "log.offset",
    "log.syslog.facility.code",
    "log.syslog.severity.code",
    "process.pid",
    "source.port",
    "destination.port",
];

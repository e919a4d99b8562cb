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

/// Free fields (parsers' fields without an ECS field of their own, kept
/// under `fields`) indexed by default, so `fields.NAME:value` finds them:
/// names, or prefixes ending in `.*`. Any other free field is kept in the
/// stored event (returned by searches, exports) but not indexed: ids,
/// durations, byte counts and vendor extras would cost more to index than
/// searching them is worth. `["*"]` indexes every free field.
pub const INDEXED_FREE_FIELDS: &[&str] = &[
    // who and where
    "source.*",
    "destination.*",
    "client.*",
    "server.*",
    "user.*",
    "group.*",
    "related.*",
    "observer.*",
    // what
    "process.*",
    "file.*",
    "registry.*",
    "dns.*",
    "network.*",
    "url.*",
    "http.request.method",
    "http.request.referrer",
    "http.response.status_code",
    "user_agent.original",
    "tls.*",
    "service.name",
    "error.code",
    "event.kind",
    "event.type",
    "event.severity",
    "event.module",
    "event.dataset",
    "event.provider",
    "event.reason",
    "rule.*",
    "threat.*",
    // sources with their own names
    "winlog.event_id",
    "winlog.channel",
    "winlog.provider_name",
    "winlog.computer_name",
    "winlog.event_data.*",
    "event_data.*",
    "EventData.*",
    "cef.*",
    "leef.*",
    "sd.*",
    "ssh.*",
    "sudo.*",
    "su.*",
    "pam.*",
    "iptables.*",
    "tty",
];

//! The Kafka header names of `proto/yidi/v1/envelope.proto`.

pub const MSGID: &str = "msgid";
pub const MDTRT_ID: &str = "mdtrt_id";
pub const SENDER: &str = "sender";
pub const RECEIVER: &str = "receiver";
pub const MSG_TYPE: &str = "msg_type";
pub const SCHEMA_VERSION: &str = "schema_version";
pub const CONTENT_TYPE: &str = "content-type";
pub const TRACEPARENT: &str = "traceparent";

/// The schema version this build writes.
pub const SCHEMA: &str = "1";

pub const PROTOBUF: &str = "application/x-protobuf";
pub const JSON: &str = "application/json";

/// On a result the hub forwards to an exchange: the clearing period (`yyyy-MM`) the hub
/// posted the bill (or its reversal) in, which the exchange's statement totals by.
pub const CLEARING_PERIOD: &str = "clearing_period";

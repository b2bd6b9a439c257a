//! Encoding by content type: protobuf by default, proto3 JSON when the `content-type` header
//! says `application/json`, so that any Kafka client can talk to yidi.

use thiserror::Error;

use crate::headers;

#[derive(Debug, Error)]
pub enum DecodeError {
    #[error("not a valid protobuf {message}: {detail}")]
    Protobuf { message: &'static str, detail: String },
    #[error("not a valid JSON {message}: {detail}")]
    Json { message: &'static str, detail: String },
    #[error("unsupported content-type {0:?}")]
    ContentType(String),
}

impl DecodeError {
    pub fn code(&self) -> &'static str {
        match self {
            DecodeError::Protobuf { .. } => "WIRE_01",
            DecodeError::Json { .. } => "WIRE_02",
            DecodeError::ContentType(_) => "WIRE_03",
        }
    }
}

/// How a value is encoded.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ContentType {
    Protobuf,
    Json,
}

impl ContentType {
    /// Reads the header; absent means protobuf.
    pub fn from_header(value: Option<&str>) -> Result<ContentType, DecodeError> {
        match value.map(|v| v.split(';').next().unwrap_or("").trim()) {
            None | Some("") | Some(headers::PROTOBUF) | Some("application/protobuf") => {
                Ok(ContentType::Protobuf)
            }
            Some(headers::JSON) => Ok(ContentType::Json),
            Some(other) => Err(DecodeError::ContentType(other.to_owned())),
        }
    }

    pub fn header(self) -> &'static str {
        match self {
            ContentType::Protobuf => headers::PROTOBUF,
            ContentType::Json => headers::JSON,
        }
    }
}

/// Decodes a message of type `T` (named `name` in errors).
pub fn decode<T>(
    bytes: &[u8],
    content_type: ContentType,
    name: &'static str,
) -> Result<T, DecodeError>
where
    T: prost::Message + Default + serde::de::DeserializeOwned,
{
    match content_type {
        ContentType::Protobuf => T::decode(bytes)
            .map_err(|error| DecodeError::Protobuf { message: name, detail: error.to_string() }),
        ContentType::Json => serde_json::from_slice(bytes)
            .map_err(|error| DecodeError::Json { message: name, detail: error.to_string() }),
    }
}

/// Encodes a message.
pub fn encode<T>(message: &T, content_type: ContentType) -> Vec<u8>
where
    T: prost::Message + serde::Serialize,
{
    match content_type {
        ContentType::Protobuf => message.encode_to_vec(),
        // Serializing generated messages to a Vec cannot fail: no maps with non-string keys.
        ContentType::Json => serde_json::to_vec(message).unwrap_or_default(),
    }
}

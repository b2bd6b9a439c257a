//! Messages with yidi's headers.

use std::collections::BTreeMap;

use rdkafka::message::{BorrowedMessage, Header, Headers, Message, OwnedHeaders};
use yidi_wire::codec::{self, ContentType, DecodeError};
use yidi_wire::headers;

use crate::authority::Signer;

/// A consumed message, copied out of the client's buffer.
#[derive(Clone, Debug)]
pub struct Incoming {
    pub topic: String,
    pub partition: i32,
    pub offset: i64,
    pub key: Option<String>,
    pub headers: BTreeMap<String, String>,
    pub payload: Vec<u8>,
    /// Who signed it, once the runtime has admitted it ([`crate::authority`]).
    pub signer: Signer,
}

impl Incoming {
    pub fn from_kafka(message: &BorrowedMessage<'_>) -> Incoming {
        let mut header_map = BTreeMap::new();
        if let Some(headers) = message.headers() {
            for header in headers.iter() {
                let value = header
                    .value
                    .map(|v| String::from_utf8_lossy(v).into_owned())
                    .unwrap_or_default();
                header_map.insert(header.key.to_owned(), value);
            }
        }
        Incoming {
            topic: message.topic().to_owned(),
            partition: message.partition(),
            offset: message.offset(),
            key: message.key().map(|k| String::from_utf8_lossy(k).into_owned()),
            headers: header_map,
            payload: message.payload().map(<[u8]>::to_vec).unwrap_or_default(),
            signer: Signer::Unchecked,
        }
    }

    /// What a consumer reads of `message` once the broker has put it at `partition` and
    /// `offset`: how tests hand a handler the very message another handler produced.
    pub fn read_back(message: Outgoing, partition: i32, offset: i64) -> Incoming {
        Incoming {
            topic: message.topic,
            partition,
            offset,
            key: Some(message.key),
            headers: message.headers.into_iter().collect(),
            payload: message.payload,
            signer: Signer::Unchecked,
        }
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).map(String::as_str)
    }

    pub fn content_type(&self) -> Result<ContentType, DecodeError> {
        ContentType::from_header(self.header(headers::CONTENT_TYPE))
    }

    /// Decodes the value as `T`, by its content type.
    pub fn decode<T>(&self, name: &'static str) -> Result<T, DecodeError>
    where
        T: prost::Message + Default + serde::de::DeserializeOwned,
    {
        codec::decode(&self.payload, self.content_type()?, name)
    }
}

/// A message to send.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Outgoing {
    pub topic: String,
    pub key: String,
    pub headers: Vec<(String, String)>,
    pub payload: Vec<u8>,
}

impl Outgoing {
    /// A yidi message: encoded in `content_type`, with the envelope headers.
    pub fn new<T>(
        topic: impl Into<String>,
        key: &str,
        msg_type: &str,
        message: &T,
        content_type: ContentType,
    ) -> Outgoing
    where
        T: prost::Message + serde::Serialize,
    {
        Outgoing {
            topic: topic.into(),
            key: key.to_owned(),
            headers: vec![
                (headers::MSG_TYPE.into(), msg_type.into()),
                (headers::SCHEMA_VERSION.into(), headers::SCHEMA.into()),
                (headers::CONTENT_TYPE.into(), content_type.header().into()),
            ],
            payload: codec::encode(message, content_type),
        }
    }

    pub fn with_header(mut self, name: &str, value: &str) -> Outgoing {
        if !value.is_empty() {
            self.headers.retain(|(key, _)| key != name);
            self.headers.push((name.to_owned(), value.to_owned()));
        }
        self
    }

    /// Carries the correlation headers of `incoming` (msgid, mdtrt_id, traceparent).
    pub fn following(mut self, incoming: &Incoming) -> Outgoing {
        for name in [headers::MSGID, headers::MDTRT_ID, headers::TRACEPARENT] {
            if let Some(value) = incoming.header(name) {
                if !self.headers.iter().any(|(key, _)| key == name) {
                    self.headers.push((name.to_owned(), value.to_owned()));
                }
            }
        }
        self
    }

    /// The bytes the record carries: value, key and headers.
    pub fn size(&self) -> usize {
        let headers: usize =
            self.headers.iter().map(|(name, value)| name.len() + value.len()).sum();
        self.payload.len() + self.key.len() + headers
    }

    /// The record's headers, with the signature headers after the message's own.
    pub(crate) fn kafka_headers(&self, signature: &[(&str, String)]) -> OwnedHeaders {
        unique_headers(self, signature)
            .into_iter()
            .fold(OwnedHeaders::new(), |headers, (key, value)| {
                headers.insert(Header { key, value: Some(value) })
            })
    }
}

/// `message`'s headers and then `signature`'s, each name once with its last value, as a
/// receiver reads them ([`Incoming::headers`]): a forwarded message's previous signature gives
/// way to this hop's. Kafka allows a name twice, but not every broker stores it (tansu's
/// PostgreSQL storage keys a record's headers by name).
fn unique_headers<'m>(
    message: &'m Outgoing,
    signature: &'m [(&str, String)],
) -> Vec<(&'m str, &'m str)> {
    let own = message.headers.iter().map(|(key, value)| (key.as_str(), value.as_str()));
    let all: Vec<(&str, &str)> =
        own.chain(signature.iter().map(|(key, value)| (*key, value.as_str()))).collect();
    all.iter()
        .enumerate()
        .filter(|(at, (key, _))| !all[at + 1..].iter().any(|(later, _)| later == key))
        .map(|(_, header)| *header)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_forwarded_message_carries_each_header_once_this_hops_signature_last() {
        let mut forwarded = Outgoing {
            topic: "agency.110000.requests".into(),
            key: "k".into(),
            headers: vec![
                ("msgid".into(), "m-1".into()),
                ("yidi-signer".into(), "exchange".into()),
            ],
            payload: Vec::new(),
        };
        forwarded.headers.push(("yidi-signature".into(), "old".into()));
        let signature = [("yidi-signer", "hub".to_owned()), ("yidi-signature", "new".to_owned())];
        assert_eq!(
            unique_headers(&forwarded, &signature),
            [("msgid", "m-1"), ("yidi-signer", "hub"), ("yidi-signature", "new")]
        );
    }
}

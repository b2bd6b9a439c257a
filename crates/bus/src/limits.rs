//! The sizes yidi keeps to, in one place.
//!
//! A bill may have up to `BILL_LINES_MAX` lines (`yidi_domain::claim`); its settlement request
//! and result, in either content type, must fit in one Kafka message, and every broker yidi
//! runs on must accept that message (`message.max.bytes`: deploy/config and
//! scripts/network.sh). A test in `tests/` encodes the largest bill and checks it fits.

/// The largest record yidi sends: value, key and headers. Larger replies are not sent; their
/// cause is dead-lettered (`MESSAGE_TOO_LARGE`).
pub const MESSAGE_BYTES_MAX: usize = 8 * 1024 * 1024;

/// What the client itself accepts (librdkafka's `message.max.bytes`): the record plus its
/// framing, so a record within [`MESSAGE_BYTES_MAX`] is never refused by the client.
pub const CLIENT_MESSAGE_BYTES_MAX: usize = MESSAGE_BYTES_MAX + 64 * 1024;

/// The settlement ids of one statement part take at most this many bytes (each id counted
/// with [`STATEMENT_ID_OVERHEAD`] for its framing in either content type): a month's 3202
/// detail can outgrow one message, so an exchange sends its statement in parts of this size,
/// each well inside [`MESSAGE_BYTES_MAX`] with its per-province rows.
pub const STATEMENT_PART_ID_BYTES: usize = 4 * 1024 * 1024;

/// What one id costs beyond its own bytes: a protobuf tag and length, or JSON's quotes,
/// comma and indentation.
pub const STATEMENT_ID_OVERHEAD: usize = 8;

/// A statement of more parts than this is refused: at [`STATEMENT_PART_ID_BYTES`] a part, it
/// would name billions of settlements.
pub const STATEMENT_PARTS_MAX: u32 = 4096;

/// A dead letter carries the refused payload up to this size; beyond it, the payload's
/// SHA-256 and size, and where it lies (topic, partition, offset).
pub const DEAD_LETTER_PAYLOAD_MAX: usize = 64 * 1024;

/// A dead letter's reason and each copied header are cut to this many bytes.
pub const DEAD_LETTER_HEADER_MAX: usize = 1024;

/// `text` cut to at most `max` bytes, on a character boundary.
pub fn clip(text: &str, max: usize) -> &str {
    if text.len() <= max {
        return text;
    }
    let mut end = max;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    &text[..end]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clipping_keeps_whole_characters() {
        assert_eq!(clip("医保结算", 7), "医保");
        assert_eq!(clip("abc", 7), "abc");
    }
}

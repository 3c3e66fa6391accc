//! SIP messages: parsing (with compact forms and comma-split headers), serialising, header helpers,
//! request/response builders. [`fields`] has the same header helpers for `&rsip::Request` /
//! `&rsip::Response` (no clone into a `SipMessage` needed).

mod bad_request;
mod builder;
mod compact;
pub mod fields;
mod helpers;
mod ids;
mod ipv6;
pub mod lite;
pub mod lite_response;
mod parse;
mod reason;
mod strict;
mod validate;

pub use bad_request::{bad_request_reply, error_reply, error_reply_with};
pub(crate) use builder::name_addr;
pub use builder::{response, RequestBuilder};
pub use helpers::make_header;
pub(crate) use helpers::unquote;
pub use helpers::{
    call_id, contact_uri, cseq, from_display_name, from_tag, from_uri, header_value, header_values,
    to_tag, to_uri,
};
pub use ids::{new_branch, new_call_id, new_tag};
pub use ipv6::uri_text;
pub(crate) use parse::split_head as parse_split_head;
pub use parse::{
    parse, parse_uri, request_bytes, response_bytes, to_bytes, ParseError, MAX_HEADER_BYTES,
};
pub use reason::reason_phrase;

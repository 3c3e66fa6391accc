//! Header normalisation before rsip sees a message.

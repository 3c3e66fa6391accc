//! G.711 µ-law (PCMU) and A-law (PCMA) sample conversion.

// Package hash hashes and verifies stored passwords in the common encoded
// formats used by password databases and SASL servers.
//
// A server's accounts hold their passwords in these encodings
// ([github.com/saslkit/saslkit/creds.Account].Password); the server checks
// them through its [github.com/saslkit/saslkit/creds.Verifier], which calls
// [Verify], rather than calling Verify itself.
//
// [Verify] and [Scheme] recognise these encodings:
//
//   - PBKDF2 (RFC 8018), in the pysasl/passlib modular-crypt form
//     "$pbkdf2-sha256$<rounds>$<salt>$<dk>", "$pbkdf2-sha512$..." and, for
//     HMAC-SHA-1, "$pbkdf2$...". Salt and derived key are accepted in
//     standard padded base64 (as written by pysasl and by [PBKDF2.Hash]) and
//     in passlib's "ab64" alphabet ('.' instead of '+', no padding). The
//     derived key length is the digest size of the hash.
//   - bcrypt, "$2a$", "$2b$" and "$2y$" (the three are equivalent for
//     golang.org/x/crypto/bcrypt).
//   - Argon2id (RFC 9106), as a PHC string
//     "$argon2id$v=19$m=<KiB>,t=<passes>,p=<lanes>$<salt>$<tag>" with
//     unpadded standard base64. Argon2i, Argon2d and versions other than 19
//     (0x13) are reported as unsupported.
//   - scrypt (RFC 7914), as the PHC/passlib string
//     "$scrypt$ln=<log2 N>,r=<r>,p=<p>$<salt>$<key>" with unpadded standard
//     base64.
//   - Cleartext, "{PLAIN}<password>" or "{CLEARTEXT}<password>".
//
// Dovecot-style scheme prefixes are also accepted in front of the other
// formats and are case-insensitive: "{BLF-CRYPT}" and "{BCRYPT}" before a
// bcrypt string, "{ARGON2ID}" before an Argon2id string and "{PBKDF2}" before
// a pysasl PBKDF2 string. SCRAM stored keys such as "{SCRAM-SHA-256}..." are
// not handled by this package: they are reported as an unsupported scheme.
//
// # Bounds
//
// An encoded hash is usually read from a database, so it must be treated as
// possibly corrupt or hostile. Verify rejects, with a [*FormatError] and
// before doing any work, every cost parameter above the documented bounds
// ([MaxPBKDF2Rounds], [MaxBcryptCost], [MaxArgon2Memory], [MaxArgon2Time],
// [MaxScryptLogN], [MaxScryptMemory], ...). Memory allocated by one Verify
// call is therefore bounded (at about 1 GiB for the memory-hard schemes) and
// Verify never panics. The [Hasher] implementations refuse to produce hashes
// outside the same bounds, so anything they produce verifies.
//
// # Errors
//
// Verify returns nil on a match, an error matching [ErrMismatch] (errors.Is)
// for a wrong password, and a [*FormatError] (errors.As) when the encoded
// string is malformed or its scheme is unknown or unsupported. Error strings
// never contain the password or the encoded hash.
package hash

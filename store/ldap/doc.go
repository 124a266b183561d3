// Package ldapstore is a [creds.Store] of the accounts of an LDAP
// directory (RFC 4511), for a SASL (RFC 4422) server that checks its
// users' secrets against OpenLDAP, 389 Directory Server or any directory
// that holds userPassword hashes, RFC 5803 SCRAM keys, or will only
// answer binds.
//
// The package is ldapstore, not ldap, so that it can be used beside
// github.com/go-ldap/ldap/v3, on which it is built, without renaming
// either.
//
// # Finding an account
//
// [Open] connects, with ldaps:// or StartTLS (plain ldap:// only with
// Config.InsecureNoTLS), binding as a service account, and keeps a pool of
// connections that it replaces when they fail. [Store.Lookup] prepares the
// user name with SASLprep (RFC 4013), escapes it (RFC 4515 section 3: "*",
// "(", ")", "\", NUL and every octet above 0x7F become "\XX") into the one
// "%s" of Config.Filter, and searches Config.BaseDN for two entries,
// without dereferencing aliases or following referrals. No entry is
// [creds.ErrUnknownUser]; two are [ErrAmbiguous], in an [*Error]: a fault
// of the directory or of the filter, and never a login. By default the
// entry must also hold a Config.NameAttr value equal, after SASLprep, to
// the name, and that value is the account's canonical name
// ([creds.Identity.AccountName]) whatever the client's spelling.
//
// Every failure of the directory (unreachable, a timeout, a result code
// other than success, a cancelled context) is an *[Error], a temporary
// failure: never [creds.ErrUnknownUser], never [creds.ErrBadCredentials].
// Every operation is bounded by Config.Timeout within its context's
// deadline.
//
// # Checking a password
//
// By default the service account reads the entry's userPassword, and the
// identity checks a PLAIN password itself. These values are supported,
// with scheme names matched without regard to case as slapd matches them:
//
//	{SSHA} {SSHA256} {SSHA384} {SSHA512} {SMD5}   base64(H(password salt) salt)
//	{SHA} {SHA256} {SHA384} {SHA512} {MD5}        base64(H(password))
//	{CRYPT}$2a$… $2b$… $2y$…                      bcrypt, cost at most 20
//	{CRYPT}$5$… $6$…                              SHA-crypt, rounds at most MaxCryptRounds
//	{PBKDF2} {PBKDF2-SHA1} {PBKDF2-SHA256} {PBKDF2-SHA512}
//	                                              <iterations>$<salt>$<key>
//	{PBKDF2_SHA256}                               389 Directory Server's older scheme
//	{ARGON2}$argon2i$… $argon2id$…                v=19, PHC string
//	{CLEARTEXT}pencil, or pencil with no scheme   clear (CRAM-MD5 can use it)
//
// {PBKDF2…} is the format of OpenLDAP's pw-pbkdf2 module: the iteration
// count in decimal, then salt and derived key in passlib's adapted base64
// ('.' for '+', no padding); the format 389 Directory Server's pwdchan
// plugin writes for the same scheme names, with standard padded base64, is
// read too. The derived key is the hash's size. {PBKDF2} is HMAC-SHA-1.
// {PBKDF2_SHA256}, with an underscore, is 389 Directory Server's own:
// base64 of a 4-octet big-endian iteration count, a 64-octet salt and a
// 256-octet PBKDF2-HMAC-SHA-256 key. {ARGON2} is OpenLDAP's argon2 module,
// which writes Argon2i when built with libargon2 (Debian's slapd) and
// Argon2id with libsodium. Other crypt(3) methods (DES, $1$, $y$
// yescrypt) and schemes are a [*SchemeError], as are cost parameters above
// the bounds of package creds/hash (a PBKDF2 count above 2^24, Argon2
// memory above 1 GiB, ...), refused before any work as hostile.
// [Verify] checks one value.
//
// An entry with several userPassword values matches a password that
// matches any of them; each is checked. An entry with no userPassword it
// can read is checked against its first SCRAM keys. Passwords are
// prepared with SASLprep first, as package creds prepares the passwords it
// hashes, unless Config.NoPasswordPrep is set. Comparisons are
// constant-time.
//
// # Checking by bind
//
// A directory that does not release hashes is used with Config.BindVerify:
// the identity's CheckPassword binds as the entry's DN, on connections of
// their own, with the password. invalidCredentials (49) is
// [creds.ErrBadCredentials]; any other failure is an *[Error]. An empty
// password is never sent (RFC 4513 section 5.1.2: it would be an
// unauthenticated bind, which succeeds).
//
// # Unknown users
//
// The [creds.Verifier] checks an unknown user's password against
// Profile().PasswordDecoy, which costs what an account costs. Without
// BindVerify it is Config.Decoy, or else a password of the most common
// scheme and cost among the entries [Open] (and [Store.Refresh]) samples;
// call Refresh after changing the accounts' scheme. With BindVerify it is
// a bind as Config.DecoyDN, an entry of the accounts' scheme kept for the
// purpose, with a random password, so that an unknown user costs the
// search, the bind round trip and the directory's hashing that a wrong
// password costs. BindVerify requires it: binding as a DN that does not
// exist costs the round trip alone, which slapd answers without hashing,
// and the difference shows (with Argon2id accounts, a tenth of the time).
//
// # SCRAM keys
//
// The entry's authPassword values (RFC 3112) of a SCRAM scheme hold its
// SCRAM keys as RFC 5803 writes them,
//
//	SCRAM-SHA-256$<iterations>:<salt>$<StoredKey>:<ServerKey>
//
// base64 throughout, with optional spaces around each "$" (RFC 3112
// section 2.1). The attribute is read under any attribute options (RFC
// 4512 section 2.5), as a search for the attribute type returns them.
// Identities are [creds.SCRAMKeyHolder]s, and the Profile's SCRAM shapes
// are the sample's most common salt length and iteration count of each
// hash. OpenLDAP ships no schema for authPassword; the tests define it
// with octetString syntax.
package ldapstore

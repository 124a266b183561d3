package mech_test

import "github.com/saslkit/saslkit/creds/hash"

// testHasher is a cheap hasher, so that tests stay fast.
var testHasher = hash.PBKDF2{Digest: "sha256", Rounds: 1000}

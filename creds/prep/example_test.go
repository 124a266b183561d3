package prep_test

import (
	"errors"
	"fmt"

	"github.com/saslkit/saslkit/creds/prep"
)

func ExampleStored() {
	for _, s := range []string{
		"user",         // printable ASCII: unchanged
		"I\u00ADX",     // soft hyphen: mapped to nothing
		"\u2168",       // ROMAN NUMERAL NINE: NFKC
		"a\u00A0b",     // NO-BREAK SPACE: mapped to SPACE
		"\u0627\u0031", // aleph 1: bidi rule broken
		"pass\u0007",   // BEL: prohibited
		"\u0221",       // unassigned in Unicode 3.2
	} {
		p, err := prep.Stored(s)
		fmt.Printf("%q %v\n", p, err)
	}
	// Output:
	// "user" <nil>
	// "IX" <nil>
	// "IX" <nil>
	// "a b" <nil>
	// "" saslkit/prep: bidirectional rule violated at byte offset 2
	// "" saslkit/prep: prohibited code point at byte offset 4
	// "" saslkit/prep: unassigned code point at byte offset 0
}

func ExampleQuery() {
	// Queries may hold code points unassigned in Unicode 3.2; stored strings
	// may not.
	_, err := prep.Stored("\u0221")
	fmt.Println(errors.Is(err, prep.ErrUnassigned))
	q, err := prep.Query("\u0221")
	fmt.Printf("%+q %v\n", q, err)
	// Output:
	// true
	// "\u0221" <nil>
}

func ExampleError() {
	_, err := prep.Stored("secret\u202Epassword")
	var pe *prep.Error
	if errors.As(err, &pe) {
		fmt.Println(errors.Is(err, prep.ErrProhibited), pe.Offset)
	}
	// Output:
	// true 6
}

// Package prep implements SASLprep (RFC 4013), the stringprep (RFC 3454)
// profile for user names and passwords used by SASL mechanisms.
//
// Stored and Query apply the steps of RFC 4013 section 2, in order:
//
//  1. Map: characters of RFC 3454 Table B.1 ("commonly mapped to nothing")
//     are removed, and non-ASCII space characters (Table C.1.2) become
//     U+0020 SPACE.
//  2. Normalize: the result is normalized with Unicode Normalization Form KC.
//  3. Prohibit: the normalized string must not contain a character of Tables
//     C.1.2, C.2.1, C.2.2, C.3, C.4, C.5, C.6, C.7, C.8 or C.9.
//  4. Check bidi: RFC 3454 section 6 is applied to the normalized string: if
//     it contains a RandALCat character (Table D.1) it must not contain an
//     LCat character (Table D.2), and its first and last characters must be
//     RandALCat.
//
// Stored additionally rejects code points that are unassigned in Unicode 3.2
// (Table A.1), as RFC 3454 section 7 requires of stored strings; Query lets
// them through, as it allows for queries. The unassigned check is made on the
// input, before normalization, so a stored string only ever contains
// characters that Unicode 3.2 assigns.
//
// The tables are generated from the text of RFC 3454 (see internal/gen).
// Normalization uses golang.org/x/text/unicode/norm, whose data is newer than
// Unicode 3.2; thanks to Unicode's normalization stability policy the result
// is the same for the characters Unicode 3.2 assigns, except for the handful
// of CJK compatibility ideographs changed by Unicode Corrigendum #4.
//
// Errors never contain the input or any character of it, since the input is
// often a password: they say what rule was broken and the byte offset where
// (see Error).
package prep

//go:generate go run ./internal/gen

import (
	"bytes"
	"errors"
	"strconv"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"
)

// Func prepares a string: it returns the prepared string, or "" and an error
// if s cannot be prepared. Stored, Query and None are Funcs.
type Func func(s string) (string, error)

var (
	_ Func = Stored
	_ Func = Query
	_ Func = None
)

// Sentinel errors. Every error returned by Stored and Query is an *Error
// wrapping exactly one of them; match them with errors.Is.
var (
	// ErrProhibited reports a character, after mapping and normalization,
	// that SASLprep prohibits (RFC 4013 section 2.3).
	ErrProhibited = errors.New("saslkit/prep: prohibited code point")
	// ErrUnassigned reports a code point unassigned in Unicode 3.2 (RFC 3454
	// Table A.1) given to Stored.
	ErrUnassigned = errors.New("saslkit/prep: unassigned code point")
	// ErrBidi reports a prepared string that breaks the bidirectional rules
	// of RFC 3454 section 6.
	ErrBidi = errors.New("saslkit/prep: bidirectional rule violated")
	// ErrInvalidUTF8 reports an input that is not valid UTF-8.
	ErrInvalidUTF8 = errors.New("saslkit/prep: invalid UTF-8")
)

// Error is the error returned by Stored and Query. Its message names the rule
// broken and the byte offset, never the input or the offending character.
type Error struct {
	// Err is ErrProhibited, ErrUnassigned, ErrBidi or ErrInvalidUTF8.
	Err error
	// Offset is the byte offset in the input of the offending character: the
	// first invalid byte for ErrInvalidUTF8, the unassigned code point for
	// ErrUnassigned, and for ErrProhibited and ErrBidi the input character
	// the offending prepared character came from (when normalization combined
	// or replaced characters, the start of that normalization segment). For
	// ErrBidi the offending character is the first LCat character of a string
	// that also has RandALCat characters, else the first or last character
	// when it is not RandALCat.
	Offset int
}

// Error returns the sentinel's message and the byte offset.
func (e *Error) Error() string {
	return e.Err.Error() + " at byte offset " + strconv.Itoa(e.Offset)
}

// Unwrap returns e.Err.
func (e *Error) Unwrap() error { return e.Err }

// Stored prepares s with SASLprep as a stored string (RFC 3454 section 7):
// code points unassigned in Unicode 3.2 (Table A.1) are an error. Use it for
// strings that are kept, such as a password being set or hashed. It returns
// the prepared string, or "" and an *Error. The empty string prepares to the
// empty string, and so may an input made only of characters mapped to
// nothing; callers decide whether an empty result is acceptable. A printable
// ASCII input (bytes 0x20 to 0x7E) is returned as it is, without allocating.
func Stored(s string) (string, error) { return prepare(s, false) }

// Query prepares s with SASLprep as a query (RFC 3454 section 7): code points
// unassigned in Unicode 3.2 are let through. Use it for strings that are
// compared with stored ones, such as a password presented at login. Otherwise
// it behaves as Stored, and when Stored succeeds Query returns the same
// string.
func Query(s string) (string, error) { return prepare(s, true) }

// None returns s unchanged and a nil error: the opt-out for mechanisms or
// deployments that compare strings byte for byte.
func None(s string) (string, error) { return s, nil }

// printableASCII reports whether s consists only of bytes 0x20 to 0x7E. Such
// a string is its own SASLprep output: no printable ASCII character is mapped,
// changed by NFKC, prohibited, unassigned or RandALCat.
func printableASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c > 0x7E {
			return false
		}
	}
	return true
}

// segment records where a normalization segment's output came from.
type segment struct {
	out  int  // start of the segment in the normalized output
	src  int  // start of the segment in the mapped string
	same bool // output bytes equal the mapped bytes
}

func prepare(s string, allowUnassigned bool) (string, error) {
	if printableASCII(s) {
		return s, nil
	}
	if !utf8.ValidString(s) {
		return "", &Error{Err: ErrInvalidUTF8, Offset: firstInvalid(s)}
	}

	// Step 1, map. inOff[i] is the input offset of mapped byte i. Table A.1
	// is checked here, on the input characters, before normalization.
	mapped := make([]byte, 0, len(s))
	inOff := make([]int, 0, len(s))
	for i, r := range s {
		if r < utf8.RuneSelf {
			mapped = append(mapped, byte(r))
			inOff = append(inOff, i)
			continue
		}
		if !allowUnassigned && tableA1.contains(r) {
			return "", &Error{Err: ErrUnassigned, Offset: i}
		}
		switch {
		case tableB1.contains(r):
			continue
		case tableC12.contains(r):
			mapped = append(mapped, ' ')
			inOff = append(inOff, i)
		default:
			n := len(mapped)
			mapped = utf8.AppendRune(mapped, r)
			for range len(mapped) - n {
				inOff = append(inOff, i)
			}
		}
	}
	if len(mapped) == 0 {
		return "", nil
	}

	// Step 2, normalize with NFKC, segment by segment so that a character of
	// the output can be traced back to the input for error offsets.
	out := make([]byte, 0, len(mapped)+len(mapped)/2)
	var segs []segment
	var it norm.Iter
	it.Init(norm.NFKC, mapped)
	for !it.Done() {
		src := it.Pos()
		seg := it.Next()
		end := it.Pos()
		segs = append(segs, segment{
			out:  len(out),
			src:  src,
			same: bytes.Equal(seg, mapped[src:end]),
		})
		out = append(out, seg...)
	}
	// offset returns the input offset of the output character at byte i.
	offset := func(i int) int {
		k := 0
		for k+1 < len(segs) && segs[k+1].out <= i {
			k++
		}
		if sg := segs[k]; sg.same {
			return inOff[sg.src+i-sg.out]
		}
		return inOff[segs[k].src]
	}

	// Steps 3 and 4: prohibit, then check bidi, on the normalized string.
	firstRandAL, firstL := -1, -1
	for i, r := range string(out) {
		if tableProhibited.contains(r) {
			return "", &Error{Err: ErrProhibited, Offset: offset(i)}
		}
		if firstRandAL < 0 && tableD1.contains(r) {
			firstRandAL = i
		}
		if firstL < 0 && tableD2.contains(r) {
			firstL = i
		}
	}
	if firstRandAL >= 0 {
		last, _ := utf8.DecodeLastRune(out)
		switch {
		case firstL >= 0:
			return "", &Error{Err: ErrBidi, Offset: offset(firstL)}
		case firstRandAL != 0:
			return "", &Error{Err: ErrBidi, Offset: offset(0)}
		case !tableD1.contains(last):
			return "", &Error{Err: ErrBidi, Offset: offset(len(out) - utf8.RuneLen(last))}
		}
	}
	return string(out), nil
}

// firstInvalid returns the offset of the first byte of s that does not start
// a valid UTF-8 sequence.
func firstInvalid(s string) int {
	for i, r := range s {
		if r == utf8.RuneError {
			if _, n := utf8.DecodeRuneInString(s[i:]); n == 1 {
				return i
			}
		}
	}
	return len(s)
}

// table is a sorted list of non-overlapping inclusive code point ranges.
type table []struct{ lo, hi rune }

// contains reports whether r is in t, by binary search.
func (t table) contains(r rune) bool {
	lo, hi := 0, len(t)
	for lo < hi {
		m := int(uint(lo+hi) >> 1)
		switch {
		case r < t[m].lo:
			hi = m
		case r > t[m].hi:
			lo = m + 1
		default:
			return true
		}
	}
	return false
}

package prep

import (
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/google/go-cmp/cmp"
	"golang.org/x/text/unicode/norm"
)

// goodVector is an input that Stored and Query both prepare to Want.
type goodVector struct {
	Name string `json:"name"`
	In   string `json:"in"`
	Want string `json:"want"`
}

// badVector is an input that Stored and Query both reject with Err at
// Offset, unless QueryWant is set: then only Stored rejects it, and Query
// prepares it to *QueryWant.
type badVector struct {
	Name      string  `json:"name"`
	In        string  `json:"in"`
	InHex     string  `json:"in_hex"`
	Err       string  `json:"err"`
	Offset    int     `json:"offset"`
	QueryWant *string `json:"query_want"`
}

type vectors struct {
	Good []goodVector `json:"good"`
	Bad  []badVector  `json:"bad"`
}

var sentinels = map[string]error{
	"prohibited":   ErrProhibited,
	"unassigned":   ErrUnassigned,
	"bidi":         ErrBidi,
	"invalid-utf8": ErrInvalidUTF8,
}

func loadVectors(tb testing.TB) vectors {
	tb.Helper()
	data, err := os.ReadFile("testdata/vectors.json")
	if err != nil {
		tb.Fatal(err)
	}
	var v vectors
	if err := json.Unmarshal(data, &v); err != nil {
		tb.Fatal(err)
	}
	if len(v.Good) == 0 || len(v.Bad) == 0 {
		tb.Fatal("testdata/vectors.json: no vectors")
	}
	for i, b := range v.Bad {
		if b.InHex != "" {
			in, err := hex.DecodeString(b.InHex)
			if err != nil {
				tb.Fatalf("%s: in_hex: %v", b.Name, err)
			}
			v.Bad[i].In = string(in)
		}
		if sentinels[b.Err] == nil {
			tb.Fatalf("%s: unknown err %q", b.Name, b.Err)
		}
	}
	return v
}

// inputs returns every input of the vectors.
func (v vectors) inputs() []string {
	var in []string
	for _, g := range v.Good {
		in = append(in, g.In)
	}
	for _, b := range v.Bad {
		in = append(in, b.In)
	}
	return in
}

var funcs = []struct {
	name string
	f    Func
}{
	{"Stored", Stored},
	{"Query", Query},
}

func TestGoodVectors(t *testing.T) {
	for _, v := range loadVectors(t).Good {
		t.Run(v.Name, func(t *testing.T) {
			for _, fn := range funcs {
				got, err := fn.f(v.In)
				if err != nil {
					t.Fatalf("%s(%+q): unexpected error %v", fn.name, v.In, err)
				}
				if diff := cmp.Diff(v.Want, got); diff != "" {
					t.Errorf("%s(%+q) (-want +got):\n%s", fn.name, v.In, diff)
				}
			}
		})
	}
}

// checkErr checks that err is an *Error wrapping want at offset.
func checkErr(t *testing.T, call string, got string, err, want error, offset int) {
	t.Helper()
	if !errors.Is(err, want) {
		t.Fatalf("%s = %+q, %v; want error %v", call, got, err, want)
	}
	if got != "" {
		t.Errorf("%s returned %+q with its error; want \"\"", call, got)
	}
	var pe *Error
	if !errors.As(err, &pe) {
		t.Fatalf("%s: error %T is not an *Error", call, err)
	}
	if diff := cmp.Diff(offset, pe.Offset); diff != "" {
		t.Errorf("%s: Offset (-want +got):\n%s", call, diff)
	}
}

func TestBadVectors(t *testing.T) {
	for _, v := range loadVectors(t).Bad {
		t.Run(v.Name, func(t *testing.T) {
			want := sentinels[v.Err]
			got, err := Stored(v.In)
			checkErr(t, fmt.Sprintf("Stored(%+q)", v.In), got, err, want, v.Offset)

			got, err = Query(v.In)
			call := fmt.Sprintf("Query(%+q)", v.In)
			if v.QueryWant == nil {
				checkErr(t, call, got, err, want, v.Offset)
				return
			}
			if err != nil {
				t.Fatalf("%s: unexpected error %v", call, err)
			}
			if diff := cmp.Diff(*v.QueryWant, got); diff != "" {
				t.Errorf("%s (-want +got):\n%s", call, diff)
			}
		})
	}
}

func TestIdempotent(t *testing.T) {
	v := loadVectors(t)
	for _, in := range v.inputs() {
		t.Run(fmt.Sprintf("%+q", in), func(t *testing.T) {
			for _, fn := range funcs {
				once, err := fn.f(in)
				if err != nil {
					continue
				}
				twice, err := fn.f(once)
				if err != nil {
					t.Fatalf("%s(%+q) = %v; its own output is rejected", fn.name, once, err)
				}
				if diff := cmp.Diff(once, twice); diff != "" {
					t.Errorf("%s(%s(%+q)) (-once +twice):\n%s", fn.name, fn.name, in, diff)
				}
			}
		})
	}
}

// refPrepare is a direct transcription of RFC 4013 section 2, normalizing the
// whole string at once and reporting no offsets. prepare must agree with it.
func refPrepare(s string, allowUnassigned bool) (string, error) {
	if !utf8.ValidString(s) {
		return "", ErrInvalidUTF8
	}
	var b strings.Builder
	for _, r := range s {
		if !allowUnassigned && tableA1.contains(r) {
			return "", ErrUnassigned
		}
		switch {
		case tableB1.contains(r):
		case tableC12.contains(r):
			b.WriteByte(' ')
		default:
			b.WriteRune(r)
		}
	}
	out := norm.NFKC.String(b.String())
	rs := []rune(out)
	for _, r := range rs {
		if tableProhibited.contains(r) {
			return "", ErrProhibited
		}
	}
	randAL, l := false, false
	for _, r := range rs {
		randAL = randAL || tableD1.contains(r)
		l = l || tableD2.contains(r)
	}
	if randAL && (l || !tableD1.contains(rs[0]) || !tableD1.contains(rs[len(rs)-1])) {
		return "", ErrBidi
	}
	return out, nil
}

// checkAgainstRef reports where prepare and refPrepare disagree on s.
func checkAgainstRef(t *testing.T, s string) {
	t.Helper()
	for _, allow := range []bool{false, true} {
		got, err := prepare(s, allow)
		want, wantErr := refPrepare(s, allow)
		if got != want || (err == nil) != (wantErr == nil) || (wantErr != nil && !errors.Is(err, wantErr)) {
			t.Errorf("prepare(%+q, %v) = %+q, %v; reference gives %+q, %v", s, allow, got, err, want, wantErr)
		}
	}
}

func TestMatchesReference(t *testing.T) {
	for _, in := range loadVectors(t).inputs() {
		checkAgainstRef(t, in)
	}
}

func TestNone(t *testing.T) {
	for _, in := range []string{"", "user", "\u0007", "\xff", "\u0627\u0031", "I\u00ADX"} {
		got, err := None(in)
		if err != nil {
			t.Errorf("None(%+q): unexpected error %v", in, err)
		}
		if diff := cmp.Diff(in, got); diff != "" {
			t.Errorf("None(%+q) (-want +got):\n%s", in, diff)
		}
	}
}

func TestErrorDoesNotLeakInput(t *testing.T) {
	tests := []struct {
		name string
		in   string
		bad  rune // the offending character; utf8.RuneError for invalid UTF-8
		want error
	}{
		{"prohibited control", "hunter2\u0007secret", '\u0007', ErrProhibited},
		{"prohibited private use", "hunter2\uE123secret", '\uE123', ErrProhibited},
		{"prohibited tag", "hunter2\U000E0041secret", '\U000E0041', ErrProhibited},
		{"unassigned", "hunter2\u0221secret", '\u0221', ErrUnassigned},
		{"bidi", "\u05D0hunter2secret\u05D1", 'h', ErrBidi},
		{"invalid UTF-8", "hunter2\xffsecret", utf8.RuneError, ErrInvalidUTF8},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Stored(tt.in)
			if !errors.Is(err, tt.want) {
				t.Fatalf("Stored(%+q) error = %v; want %v", tt.in, err, tt.want)
			}
			msg := err.Error()
			leaks := []string{tt.in, "hunter", "secret", string(tt.bad),
				fmt.Sprintf("%U", tt.bad), fmt.Sprintf("%04X", tt.bad), fmt.Sprintf("%04x", tt.bad), fmt.Sprintf("%+q", tt.bad)}
			for _, leak := range leaks {
				if strings.Contains(msg, leak) {
					t.Errorf("error %q contains %q", msg, leak)
				}
			}
			var pe *Error
			if !errors.As(err, &pe) {
				t.Fatalf("error %T is not an *Error", err)
			}
			if diff := cmp.Diff(tt.want.Error()+" at byte offset "+strconv.Itoa(pe.Offset), msg); diff != "" {
				t.Errorf("message (-want +got):\n%s", diff)
			}
		})
	}
}

func TestErrorUnwrap(t *testing.T) {
	e := &Error{Err: ErrBidi, Offset: 7}
	if diff := cmp.Diff("saslkit/prep: bidirectional rule violated at byte offset 7", e.Error()); diff != "" {
		t.Errorf("Error() (-want +got):\n%s", diff)
	}
	if e.Unwrap() != ErrBidi {
		t.Errorf("Unwrap() = %v; want ErrBidi", e.Unwrap())
	}
	if errors.Is(e, ErrProhibited) {
		t.Error("errors.Is(bidi error, ErrProhibited) = true")
	}
}

func TestASCIIFastPathAllocs(t *testing.T) {
	const in = "correct horse battery staple ~!@#$%^&*()_+{}|:\"<>?`-=[]\\;',./"
	for _, fn := range funcs {
		t.Run(fn.name, func(t *testing.T) {
			var got string
			allocs := testing.AllocsPerRun(100, func() {
				got, _ = fn.f(in)
			})
			if diff := cmp.Diff(in, got); diff != "" {
				t.Errorf("%s (-want +got):\n%s", fn.name, diff)
			}
			if allocs != 0 {
				t.Errorf("%s allocated %v times per call on printable ASCII; want 0", fn.name, allocs)
			}
		})
	}
}

// TestPrintableASCIIIsFixedPoint backs the fast path: each printable ASCII
// character, alone and in context, passes the full algorithm unchanged.
func TestPrintableASCIIIsFixedPoint(t *testing.T) {
	for c := rune(0x20); c <= 0x7E; c++ {
		s := "a" + string(c) + "b"
		want, err := refPrepare(s, false)
		if err != nil || want != s {
			t.Errorf("refPrepare(%+q) = %+q, %v; want it unchanged", s, want, err)
		}
	}
}

func TestTableCounts(t *testing.T) {
	tests := []struct {
		name string
		t    table
		want int
	}{
		{"A.1", tableA1, 396},
		{"B.1", tableB1, 27},
		{"C.1.2", tableC12, 17},
		{"D.1", tableD1, 34},
		{"D.2", tableD2, 360},
		{"prohibited (merged)", tableProhibited, 34},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if diff := cmp.Diff(tt.want, len(tt.t)); diff != "" {
				t.Errorf("entries (-want +got):\n%s", diff)
			}
			for i, r := range tt.t {
				if r.lo > r.hi || r.hi > utf8.MaxRune || (i > 0 && tt.t[i-1].hi >= r.lo) {
					t.Errorf("entry %d {%#x, %#x} is not a sorted, non-overlapping range", i, r.lo, r.hi)
				}
			}
		})
	}
}

func TestTableContains(t *testing.T) {
	linear := func(t table, r rune) bool {
		for _, e := range t {
			if e.lo <= r && r <= e.hi {
				return true
			}
		}
		return false
	}
	tables := map[string]table{"A.1": tableA1, "B.1": tableB1, "C.1.2": tableC12, "D.1": tableD1, "D.2": tableD2, "prohibited": tableProhibited}
	for name, tab := range tables {
		t.Run(name, func(t *testing.T) {
			probe := []rune{-1, 0, utf8.MaxRune, utf8.MaxRune + 1}
			for _, e := range tab {
				probe = append(probe, e.lo-1, e.lo, e.lo+1, e.hi-1, e.hi, e.hi+1)
			}
			for _, r := range probe {
				if got, want := tab.contains(r), linear(tab, r); got != want {
					t.Errorf("contains(%#x) = %v; want %v", r, got, want)
				}
			}
		})
	}
	spot := []struct {
		t    table
		r    rune
		want bool
	}{
		{tableProhibited, 0x0000, true},
		{tableProhibited, 0x0020, false}, // C.1.1 is not prohibited by SASLprep
		{tableProhibited, 0x00A0, true},
		{tableProhibited, 0x007F, true},
		{tableProhibited, 0xD800, true},
		{tableProhibited, 0xE0001, true},
		{tableProhibited, 0xE0002, false},
		{tableProhibited, 0x10FFFF, true},
		{tableA1, 0x0221, true},
		{tableA1, 0x0222, false},
		{tableB1, 0x00AD, true},
		{tableD1, 0x0627, true},
		{tableD2, 'a', true},
		{tableD2, '1', false},
	}
	for _, s := range spot {
		if got := s.t.contains(s.r); got != s.want {
			t.Errorf("contains(%#x) = %v; want %v", s.r, got, s.want)
		}
	}
}

func FuzzStored(f *testing.F) {
	for _, in := range loadVectors(f).inputs() {
		f.Add(in)
	}
	f.Fuzz(func(t *testing.T, s string) {
		out, err := Stored(s)
		if !utf8.ValidString(out) {
			t.Fatalf("Stored(%+q) = %+q: not valid UTF-8", s, out)
		}
		if err != nil {
			var pe *Error
			if !errors.As(err, &pe) {
				t.Fatalf("Stored(%+q): error %T is not an *Error", s, err)
			}
			if out != "" {
				t.Fatalf("Stored(%+q) = %+q with error %v", s, out, err)
			}
			if pe.Offset < 0 || pe.Offset >= len(s) {
				t.Fatalf("Stored(%+q): offset %d out of range", s, pe.Offset)
			}
			if want := pe.Err.Error() + " at byte offset " + strconv.Itoa(pe.Offset); err.Error() != want {
				t.Fatalf("Stored(%+q): message %q; want %q", s, err.Error(), want)
			}
			known := false
			for _, e := range sentinels {
				known = known || pe.Err == e
			}
			if !known {
				t.Fatalf("Stored(%+q): wraps unknown error %v", s, pe.Err)
			}
		} else {
			again, err := Stored(out)
			if err != nil || again != out {
				t.Fatalf("Stored(Stored(%+q)) = %+q, %v; want %+q, nil", s, again, err, out)
			}
			q, err := Query(s)
			if err != nil || q != out {
				t.Fatalf("Query(%+q) = %+q, %v; Stored gave %+q, nil", s, q, err, out)
			}
		}
		if q, err := Query(s); err == nil {
			again, err := Query(q)
			if err != nil || again != q {
				t.Fatalf("Query(Query(%+q)) = %+q, %v; want %+q, nil", s, again, err, q)
			}
		}
		checkAgainstRef(t, s)
	})
}

func BenchmarkStored(b *testing.B) {
	benchmarks := []struct{ name, in string }{
		{"ASCII", "correct horse battery staple"},
		{"Latin", "P\u00E4ssw\u00F6rd-\u00C5ngstr\u00F6m"},
		{"Mapped", "I\u00ADX\u00A0\uFB01\u2168\uFF21\u200Bpass"},
		{"Arabic", "\u0627\u0644\u0633\u0644\u0627\u0645 \u0639\u0644\u064A\u0643\u0645"},
		{"CJK", "\u5BC6\u7801\u30D1\u30B9\u30EF\u30FC\u30C9"},
	}
	for _, bm := range benchmarks {
		b.Run(bm.name, func(b *testing.B) {
			if _, err := Stored(bm.in); err != nil {
				b.Fatal(err)
			}
			b.ReportAllocs()
			b.SetBytes(int64(len(bm.in)))
			for b.Loop() {
				_, _ = Stored(bm.in)
			}
		})
	}
}

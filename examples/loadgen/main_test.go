package main

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/saslkit/saslkit/creds/hash"
	"github.com/saslkit/saslkit/examples/loadgen/imapbench"
)

func TestParseFlags(t *testing.T) {
	o, err := parseFlags([]string{"-duration", "3s", "-conns", "4", "-rounds", "2", "-scenarios", "plain,tls"}, &bytes.Buffer{})
	if err != nil {
		t.Fatal(err)
	}
	got := []any{o.duration, o.conns, o.rounds, o.scenarios, o.warmup, o.servers, o.maxOther}
	want := []any{3 * time.Second, 4, 2, "plain,tls", 2 * time.Second, "saslkit,dovecot", 0.3}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("flags (-want +got):\n%s", diff)
	}
	for _, bad := range [][]string{
		{"-duration", "0s"}, {"-conns", "0"}, {"-conns", "1001"}, {"-rounds", "0"}, {"-warmup", "-1s"}, {"stray"},
	} {
		if _, err := parseFlags(bad, &bytes.Buffer{}); err == nil {
			t.Errorf("parseFlags(%q): nil error", bad)
		}
	}
}

func TestParseArgon2(t *testing.T) {
	got, err := parseArgon2("m=19456, t=2, p=1")
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(hash.Argon2id{Memory: 19456, Time: 2, Threads: 1}, got, cmp.AllowUnexported(hash.Argon2id{})); diff != "" {
		t.Errorf("parseArgon2 (-want +got):\n%s", diff)
	}
	for _, bad := range []string{"", "m=1", "m=x,t=1,p=1", "m=1,t=1,p=256", "m=1,t=1,p=1,q=2"} {
		if _, err := parseArgon2(bad); err == nil {
			t.Errorf("parseArgon2(%q): nil error", bad)
		}
	}
}

func TestScenariosFor(t *testing.T) {
	names := func(s []scenario) []string {
		var n []string
		for _, x := range s {
			n = append(n, x.name)
		}
		return n
	}
	all, err := scenariosFor("all", "m=1,t=1,p=1")
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"plain", "bcrypt", "argon2id", "scram", "scram-nocache", "tls", "refused"}, names(all)); diff != "" {
		t.Errorf("all (-want +got):\n%s", diff)
	}
	some, err := scenariosFor("tls, argon2id", "m=1,t=1,p=1")
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"argon2id", "tls"}, names(some)); diff != "" {
		t.Errorf("in run order (-want +got):\n%s", diff)
	}
	if !strings.Contains(some[0].title, "m=1,t=1,p=1") {
		t.Errorf("argon2id title %q lacks the parameters", some[0].title)
	}
	for _, bad := range []string{"", "plain,nope"} {
		if _, err := scenariosFor(bad, ""); err == nil {
			t.Errorf("scenariosFor(%q): nil error", bad)
		}
	}
	files := usersFiles(all, false)
	if len(files) != 4 || files[0].mechs() != "SCRAM-SHA-256,PLAIN" || files[1].mechs() != "PLAIN" {
		t.Errorf("usersFiles = %+v", files)
	}
	if mixed := usersFiles(some, true); len(mixed) != 1 || len(mixed[0].groups) != len(imapbench.Groups) {
		t.Errorf("usersFiles, mixed = %+v", mixed)
	}
}

func TestFmtDur(t *testing.T) {
	got := []string{fmtDur(0), fmtDur(412 * time.Microsecond), fmtDur(2314 * time.Microsecond), fmtDur(18440 * time.Microsecond), fmtDur(1200 * time.Millisecond)}
	if diff := cmp.Diff([]string{"–", "412 µs", "2.31 ms", "18.4 ms", "1.20 s"}, got); diff != "" {
		t.Errorf("fmtDur (-want +got):\n%s", diff)
	}
}

// TestEndToEnd runs the PLAIN scenario for about a second against both
// servers: examples/imapserver, built from this repository, and Dovecot.
func TestEndToEnd(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end: builds examples/imapserver and starts Dovecot")
	}
	if err := imapbench.HaveDovecot(""); errors.Is(err, imapbench.ErrNoDovecot) {
		t.Skipf("dovecot: %v", err)
	}
	if os.Geteuid() != 0 {
		t.Skip("dovecot: the test must run as root, to start Dovecot as the unprivileged user nobody")
	}
	out := filepath.Join(t.TempDir(), "results.md")
	var stderr bytes.Buffer
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	code := run(ctx, []string{"-duration", "1s", "-warmup", "200ms", "-rounds", "1", "-conns", "4",
		"-scenarios", "plain", "-max-other", "0", "-out", out}, &bytes.Buffer{}, &stderr)
	t.Logf("stderr:\n%s", stderr.String())
	if code != 0 {
		t.Fatalf("exit code %d", code)
	}
	b, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	report := string(b)
	for _, server := range []string{"saslkit", "Dovecot"} {
		// | Scenario | Server | logins/s | p50 | p99 | server CPU/login | client CPU/login | unexpected |
		row := regexp.MustCompile(`(?m)^\| [^|]* \| ` + server + ` \| (\d+) \| [^|]+ \| [^|]+ \| ([^|]+) \| [^|]+ \| 0 \|$`)
		m := row.FindStringSubmatch(report)
		if m == nil || m[1] == "0" || strings.TrimSpace(m[2]) == "–" {
			t.Errorf("no %s row with logins, server CPU and no unexpected outcome:\n%s", server, report)
		}
	}
	if !strings.Contains(report, "service_count = 1000") || !strings.Contains(report, "imapserver -listen") {
		t.Errorf("the report lacks the servers' setup:\n%s", report)
	}
}

package loadtest

import (
	"bufio"
	"context"
	"encoding/base64"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/saslkit/saslkit/creds"
)

// TestVerificationFlood floods examples/imapserver, whose one account has
// an Argon2id hash at the default cost (64 MiB a check), with PLAIN
// attempts for unknown users: 8 connections at once, 3 attempts each. Each
// attempt costs a decoy check of the same 64 MiB. The server's Verifier
// runs at most GOMAXPROCS of them at once (-max-verify, default), so its
// peak RSS stays within a few checks' memory, where without the bound it
// grew by a check per attempt in flight (1 GiB for this flood).
func TestVerificationFlood(t *testing.T) {
	if os.Getenv("SASLKIT_LOAD") != "1" {
		t.Skip("flood test: set SASLKIT_LOAD=1 to run it (it uses several hundred MiB)")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	dir := t.TempDir()
	bin := filepath.Join(dir, "imapserver")
	if out, err := exec.CommandContext(ctx, "go", "build", "-o", bin, "github.com/saslkit/saslkit/examples/imapserver").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	pw, err := creds.HashPassword("pencil", nil) // Argon2id, m=64 MiB
	if err != nil {
		t.Fatal(err)
	}
	users := filepath.Join(dir, "users")
	if err := os.WriteFile(users, []byte("user:"+pw+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	srv := startServer(t, bin, filepath.Join(dir, "server.log"),
		"-listen", "127.0.0.1:0", "-insecure-auth", "-mechs", "PLAIN", "-users", users)
	base := procStatus(t, srv.pid)

	const conns, tries = 8, 3
	var wg sync.WaitGroup
	replies := make([][]string, conns)
	for i := range conns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var d net.Dialer
			c, err := d.DialContext(ctx, "tcp", srv.addr)
			if err != nil {
				t.Error(err)
				return
			}
			defer c.Close()
			r := bufio.NewReader(c)
			if _, err := r.ReadString('\n'); err != nil {
				t.Error(err)
				return
			}
			for j := range tries {
				ir := base64.StdEncoding.EncodeToString([]byte(fmt.Sprintf("\x00nobody%d\x00guess%d", i, j)))
				fmt.Fprintf(c, "a%d AUTHENTICATE PLAIN %s\r\n", j, ir)
				line, err := r.ReadString('\n')
				if err != nil {
					t.Error(err)
					return
				}
				replies[i] = append(replies[i], strings.TrimSpace(line))
			}
		}()
	}
	wg.Wait()
	for i, rs := range replies {
		for j, l := range rs {
			if !strings.HasPrefix(l, fmt.Sprintf("a%d NO [AUTHENTICATIONFAILED]", j)) {
				t.Errorf("connection %d attempt %d: %q", i, j, l)
			}
		}
	}
	peak := procStatus(t, srv.pid)
	srv.stop(t)
	// Each check holds 64 MiB; the garbage collector may keep the previous
	// round's as long again before it frees them.
	const check = 64 << 10 // kB
	bound := base.hwm + 2*runtime.GOMAXPROCS(0)*check + check
	t.Logf("server VmHWM %d kB after start, %d kB after %d×%d decoy checks of 64 MiB (bound %d kB, GOMAXPROCS %d)",
		base.hwm, peak.hwm, conns, tries, bound, runtime.GOMAXPROCS(0))
	if peak.hwm > bound {
		t.Errorf("server peak RSS %d kB, above %d kB: concurrent verifications are not bounded", peak.hwm, bound)
	}
}

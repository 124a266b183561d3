package imapbench

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
)

// DefaultDovecot is Debian's Dovecot binary, outside a user's PATH.
const DefaultDovecot = "/usr/sbin/dovecot"

// dhFile holds Debian's Diffie-Hellman parameters, which Dovecot 2.3
// wants for ssl = yes although the benchmark's key exchange is X25519.
const dhFile = "/usr/share/dovecot/dh.pem"

// DovecotConfig configures [StartDovecot].
type DovecotConfig struct {
	// Bin is the dovecot binary; empty means DefaultDovecot.
	Bin string
	// Dir is the instance's private directory, created if missing. It and
	// everything Dovecot writes under it belong to the user Dovecot runs
	// as, so its parents must be searchable by that user.
	Dir string
	// Users, Cert and Key are the passwd-file and the TLS certificate and
	// key, copied into Dir.
	Users, Cert, Key string
	// Conns is the number of concurrent clients to expect: as many imap
	// processes are kept ready.
	Conns int
	// Cores is the number of imap-login processes kept ready, one per
	// core as Dovecot's performance tuning advises.
	Cores int
}

// dovecotConfig is the configuration, in the style of
// adapters/gosasl/dovecot_test.go: every process runs as one unprivileged
// user, without chroot, on private loopback ports, with every file under
// DIR. The tuning is Dovecot's documented one (doc.dovecot.org,
// "Performance tuning" and "Login processes", 2.3): login processes in
// high-performance mode (service_count = 0, one process serving many
// connections, process_min_avail = the cores, a larger vsz_limit), imap
// processes reused (service_count = 1000) and kept ready, no failure delay
// and no per-IP auth penalty (anvil-auth-penalty unreachable), and
// X25519 as the only key exchange group.
//
// The auth cache is off, so that every login does the same work. It could
// not help anyway: Dovecot 2.3's passwd-file passdb sets no cache key, so
// its lookups are never cached, and auth_cache_verify_password_with_worker,
// the documented way to spread hashing over auth-worker processes, applies
// only to cached passwords. The one auth process verifies every password.
const dovecotConfig = `# Written by examples/loadgen (imapbench.StartDovecot).
base_dir = {{DIR}}/run
state_dir = {{DIR}}/state
log_path = {{DIR}}/dovecot.log
instance_name = loadgen-{{PORT}}
protocols = imap
listen = 127.0.0.1
hostname = localhost
default_internal_user = {{USER}}
default_internal_group = {{GROUP}}
default_login_user = {{USER}}
default_process_limit = {{PROCESS_LIMIT}}
ssl = yes
ssl_cert = <{{DIR}}/server.pem
ssl_key = <{{DIR}}/server.key
{{DH}}ssl_curve_list = X25519
disable_plaintext_auth = no
auth_mechanisms = plain scram-sha-256
auth_failure_delay = 0
auth_cache_size = 0
passdb {
  driver = passwd-file
  args = username_format=%n {{DIR}}/users
}
userdb {
  driver = static
  args = uid={{UID}} gid={{GID}} home={{DIR}}/mail/%n
}
mail_location = maildir:~/Maildir
service imap-login {
  chroot =
  service_count = 0
  process_min_avail = {{CORES}}
  vsz_limit = 1G
  inet_listener imap {
    address = 127.0.0.1
    port = {{PORT}}
  }
  inet_listener imaps {
    address = 127.0.0.1
    port = {{TLS_PORT}}
    ssl = yes
  }
}
service imap {
  service_count = 1000
  process_min_avail = {{CONNS}}
}
service auth-worker {
  user = $default_internal_user
}
service anvil {
  chroot =
  unix_listener anvil-auth-penalty {
    mode = 0
  }
}
`

// runAs is the unprivileged account Dovecot runs as.
type runAs struct {
	user, group string
	uid, gid    int
	cred        *syscall.Credential // nil: as this process
}

// dovecotAccount is nobody when this process is root, and this process's
// own user otherwise.
func dovecotAccount() (*runAs, error) {
	name := "nobody"
	if os.Geteuid() != 0 {
		u, err := user.Current()
		if err != nil {
			return nil, err
		}
		name = u.Username
	}
	u, err := user.Lookup(name)
	if err != nil {
		return nil, fmt.Errorf("imapbench: user %s: %w", name, err)
	}
	g, err := user.LookupGroupId(u.Gid)
	if err != nil {
		return nil, fmt.Errorf("imapbench: group of %s: %w", name, err)
	}
	r := &runAs{user: u.Username, group: g.Name}
	if r.uid, err = strconv.Atoi(u.Uid); err != nil {
		return nil, err
	}
	if r.gid, err = strconv.Atoi(u.Gid); err != nil {
		return nil, err
	}
	if os.Geteuid() == 0 {
		r.cred = &syscall.Credential{Uid: uint32(r.uid), Gid: uint32(r.gid), Groups: []uint32{}}
	}
	return r, nil
}

// DovecotConfigText returns the configuration StartDovecot writes, for a
// report, with the paths, ports and account left as placeholders.
func DovecotConfigText(cfg *DovecotConfig) string {
	return renderDovecot(cfg, &runAs{user: "{{USER}}", group: "{{GROUP}}", uid: -1, gid: -1}, "{{DIR}}", 0, 0)
}

func renderDovecot(cfg *DovecotConfig, as *runAs, dir string, port, tlsPort int) string {
	dh := ""
	if _, err := os.Stat(dhFile); err == nil {
		dh = "ssl_dh = <" + dhFile + "\n"
	}
	num := func(n int, placeholder string) string {
		if n <= 0 {
			return placeholder
		}
		return strconv.Itoa(n)
	}
	uid, gid := "{{UID}}", "{{GID}}"
	if as.uid >= 0 {
		uid, gid = strconv.Itoa(as.uid), strconv.Itoa(as.gid)
	}
	return strings.NewReplacer(
		"{{DIR}}", dir,
		"{{PORT}}", num(port, "{{PORT}}"),
		"{{TLS_PORT}}", num(tlsPort, "{{TLS_PORT}}"),
		"{{USER}}", as.user, "{{GROUP}}", as.group, "{{UID}}", uid, "{{GID}}", gid,
		"{{PROCESS_LIMIT}}", strconv.Itoa(max(100, 2*cfg.Conns+cfg.Cores+10)),
		"{{CORES}}", strconv.Itoa(max(1, cfg.Cores)),
		"{{CONNS}}", strconv.Itoa(max(1, cfg.Conns)),
		"{{DH}}", dh,
	).Replace(dovecotConfig)
}

// StartDovecot sets up a Dovecot instance in cfg.Dir and starts it, in
// the foreground (dovecot -F), as nobody when this process is root and as
// this process's user otherwise, on two free loopback ports, plain and
// implicit TLS. Stop it with [Server.Stop].
func StartDovecot(ctx context.Context, cfg *DovecotConfig) (*Server, error) {
	bin := cfg.Bin
	if bin == "" {
		bin = DefaultDovecot
	}
	if _, err := os.Stat(bin); err != nil {
		return nil, fmt.Errorf("imapbench: dovecot: %w (Debian packages dovecot-core and dovecot-imapd)", err)
	}
	as, err := dovecotAccount()
	if err != nil {
		return nil, err
	}
	ports, err := freePorts(2)
	if err != nil {
		return nil, err
	}
	dir, err := filepath.Abs(cfg.Dir)
	if err != nil {
		return nil, err
	}
	for _, d := range []string{dir, filepath.Join(dir, "run"), filepath.Join(dir, "state"), filepath.Join(dir, "mail")} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return nil, err
		}
	}
	files := map[string]string{"users": cfg.Users, "server.pem": cfg.Cert, "server.key": cfg.Key}
	for name, src := range files {
		b, err := os.ReadFile(src)
		if err != nil {
			return nil, err
		}
		if err := os.WriteFile(filepath.Join(dir, name), b, 0o600); err != nil {
			return nil, err
		}
	}
	conf := filepath.Join(dir, "dovecot.conf")
	if err := os.WriteFile(conf, []byte(renderDovecot(cfg, as, dir, ports[0], ports[1])), 0o600); err != nil {
		return nil, err
	}
	if err := os.Chmod(dir, 0o755); err != nil {
		return nil, err
	}
	if os.Geteuid() == 0 {
		err := filepath.Walk(dir, func(path string, _ os.FileInfo, err error) error {
			if err != nil {
				return err
			}
			return os.Lchown(path, as.uid, as.gid)
		})
		if err != nil {
			return nil, err
		}
	}

	version, err := exec.CommandContext(ctx, bin, "--version").Output()
	if err != nil {
		return nil, fmt.Errorf("imapbench: dovecot --version: %w", err)
	}
	cmd := exec.Command(bin, "-F", "-c", conf)
	cmd.Dir = dir
	cmd.Env = []string{"PATH=/usr/sbin:/usr/bin:/sbin:/bin", "HOME=" + dir}
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: as.cred}
	p, err := startProcess("dovecot", cmd, filepath.Join(dir, "dovecot.out"))
	if err != nil {
		return nil, err
	}
	addr := "127.0.0.1:" + strconv.Itoa(ports[0])
	tlsAddr := "127.0.0.1:" + strconv.Itoa(ports[1])
	logPath := filepath.Join(dir, "dovecot.log")
	if err := waitListening(ctx, p, addr, tlsAddr); err != nil {
		p.Stop()
		err = withLog(err, filepath.Join(dir, "dovecot.out"))
		return nil, withLog(err, logPath)
	}
	return &Server{
		Name:    "Dovecot",
		Version: strings.TrimSpace(string(version)),
		Addr:    addr, TLSAddr: tlsAddr, Dir: dir, Log: logPath, Proc: p,
	}, nil
}

// ErrNoDovecot reports that Dovecot is not installed.
var ErrNoDovecot = errors.New("imapbench: dovecot is not installed (Debian packages dovecot-core and dovecot-imapd)")

// HaveDovecot returns nil if the dovecot binary bin (empty: DefaultDovecot)
// exists, and an error wrapping ErrNoDovecot otherwise.
func HaveDovecot(bin string) error {
	if bin == "" {
		bin = DefaultDovecot
	}
	if _, err := os.Stat(bin); err != nil {
		return fmt.Errorf("%w: %v", ErrNoDovecot, err)
	}
	return nil
}

package ldapstore

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/saslkit/saslkit/internal/interop"
	"github.com/saslkit/saslkit/internal/testpki"
)

// The test directory: a suffix, its root DN, and two service accounts,
// one that reads the password attributes and one that can only search.
const (
	suffix      = "dc=example,dc=org"
	rootDN      = "cn=admin," + suffix
	rootPW      = "admin-Secret-1"
	readerDN    = "cn=reader," + suffix
	searcherDN  = "cn=searcher," + suffix
	servicePW   = "service-Secret-2"
	slapdModDir = "/usr/lib/ldap"
)

// slapd is an OpenLDAP server the test started, as an unprivileged user,
// on loopback ports, with a cn=config directory and an mdb database in a
// temporary directory. It is stopped, by its PID, when the test ends.
type slapd struct {
	t        *testing.T
	dir      string
	port     int // ldap://
	tlsPort  int // ldaps://
	pki      *testpki.PKI
	cred     *syscall.Credential
	mu       sync.Mutex // guards cmd, exited and log
	cmd      *exec.Cmd
	exited   chan struct{}
	log      *syncBuffer
	ouSerial atomic.Int64
}

// syncBuffer collects a process's output; it is safe for concurrent use.
type syncBuffer struct {
	mu sync.Mutex // guards b
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// freePort returns a loopback TCP port that was free a moment ago.
func freePort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// runAs returns the credential to run slapd with when the test runs as
// root: the "openldap" user Debian's package made, or nobody.
func runAs(t *testing.T) *syscall.Credential {
	t.Helper()
	if os.Geteuid() != 0 {
		return nil
	}
	for _, name := range []string{"openldap", "nobody"} {
		u, err := user.Lookup(name)
		if err != nil {
			continue
		}
		uid, _ := strconv.Atoi(u.Uid)
		gid, _ := strconv.Atoi(u.Gid)
		return &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}
	}
	t.Skip("running as root, and no openldap or nobody user to run slapd as")
	return nil
}

// modules are the slapd modules the tests load: the mdb backend, and the
// password schemes of slapd (argon2) and slapd-contrib (pw-sha2,
// pw-pbkdf2).
var modules = []string{"back_mdb", "pw-sha2", "pw-pbkdf2", "argon2"}

// configLDIF is the cn=config directory slapadd -n0 makes.
func (d *slapd) configLDIF() string {
	var mods strings.Builder
	for _, m := range modules {
		fmt.Fprintf(&mods, "olcModuleLoad: %s\n", m)
	}
	var schema strings.Builder
	for _, s := range []string{"core", "cosine", "inetorgperson"} {
		fmt.Fprintf(&schema, "include: file:///etc/ldap/schema/%s.ldif\n\n", s)
	}
	return fmt.Sprintf(`dn: cn=config
objectClass: olcGlobal
cn: config
olcPidFile: %[1]s/slapd.pid
olcTLSCACertificateFile: %[1]s/ca.pem
olcTLSCertificateFile: %[1]s/server.pem
olcTLSCertificateKeyFile: %[1]s/server.key

dn: cn=module{0},cn=config
objectClass: olcModuleList
cn: module{0}
olcModulePath: %[2]s
%[3]s
dn: cn=schema,cn=config
objectClass: olcSchemaConfig
cn: schema

%[4]sdn: cn=authpassword,cn=schema,cn=config
objectClass: olcSchemaConfig
cn: authpassword
olcAttributeTypes: ( 1.3.6.1.4.1.4203.1.3.4 NAME 'authPassword' DESC 'RFC 3112 authentication password' EQUALITY octetStringMatch SYNTAX 1.3.6.1.4.1.1466.115.121.1.40 )
olcObjectClasses: ( 1.3.6.1.4.1.4203.1.4.7 NAME 'authPasswordObject' DESC 'RFC 3112 authentication password mix in class' AUXILIARY MAY authPassword )

dn: olcDatabase={-1}frontend,cn=config
objectClass: olcDatabaseConfig
objectClass: olcFrontendConfig
olcDatabase: {-1}frontend
olcSizeLimit: 500

dn: olcDatabase={0}config,cn=config
objectClass: olcDatabaseConfig
olcDatabase: {0}config
olcAccess: {0}to * by * none

dn: olcDatabase={1}mdb,cn=config
objectClass: olcDatabaseConfig
objectClass: olcMdbConfig
olcDatabase: {1}mdb
olcSuffix: %[5]s
olcRootDN: %[6]s
olcRootPW: %[7]s
olcDbDirectory: %[1]s/db
olcDbMaxSize: 67108864
olcDbNoSync: TRUE
olcAccess: {0}to attrs=userPassword,authPassword by dn.exact="%[8]s" read by anonymous auth by * none
olcAccess: {1}to * by dn.exact="%[8]s" read by dn.exact="%[9]s" read by * none
`, d.dir, slapdModDir, mods.String(), schema.String(), suffix, rootDN, rootPW, readerDN, searcherDN)
}

// startSlapd makes the directory and starts slapd, or skips the test,
// naming what is missing.
func startSlapd(t *testing.T) *slapd {
	t.Helper()
	interop.NeedTools(t, "slapd", "slapadd", "ldapadd", "slappasswd")
	for _, m := range modules {
		if _, err := os.Stat(filepath.Join(slapdModDir, m+".so")); err != nil {
			t.Skipf("slapd module %s not installed (%s; Debian packages slapd and slapd-contrib)", m, slapdModDir)
		}
	}
	d := &slapd{t: t, cred: runAs(t), port: freePort(t), tlsPort: freePort(t)}
	base := t.TempDir()
	// The unprivileged user must reach the directory through the test's
	// temporary directories, which are 0700.
	for _, dir := range []string{filepath.Dir(base), base} {
		if err := os.Chmod(dir, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	d.dir = filepath.Join(base, "slapd")
	for _, dir := range []string{d.dir, filepath.Join(d.dir, "conf"), filepath.Join(d.dir, "db")} {
		if err := os.Mkdir(dir, 0o700); err != nil {
			t.Fatal(err)
		}
	}
	d.pki = testpki.New(t, "")
	for name, src := range map[string]string{"ca.pem": d.pki.CAFile, "server.pem": d.pki.CertFile, "server.key": d.pki.KeyFile} {
		b, err := os.ReadFile(src)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(d.dir, name), b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	slapadd := exec.CommandContext(ctx, "slapadd", "-n0", "-F", filepath.Join(d.dir, "conf"))
	slapadd.Stdin = strings.NewReader(d.configLDIF())
	if out, err := slapadd.CombinedOutput(); err != nil {
		t.Fatalf("slapadd -n0: %v\n%s", err, out)
	}
	if d.cred != nil {
		err := filepath.Walk(d.dir, func(p string, _ os.FileInfo, err error) error {
			if err != nil {
				return err
			}
			return os.Chown(p, int(d.cred.Uid), int(d.cred.Gid))
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	d.start()
	t.Cleanup(d.stop)
	d.add(fmt.Sprintf(`dn: %s
objectClass: dcObject
objectClass: organization
o: example
dc: example

dn: %s
objectClass: person
cn: reader
sn: reader
userPassword: %s

dn: %s
objectClass: person
cn: searcher
sn: searcher
userPassword: %s
`, suffix, readerDN, servicePW, searcherDN, servicePW))
	return d
}

// url is the server's ldap:// URL; tlsURL its ldaps:// one.
func (d *slapd) url() string    { return fmt.Sprintf("ldap://127.0.0.1:%d", d.port) }
func (d *slapd) tlsURL() string { return fmt.Sprintf("ldaps://127.0.0.1:%d", d.tlsPort) }

// start runs slapd in the foreground (-d 0) and waits until it listens.
func (d *slapd) start() {
	t := d.t
	t.Helper()
	d.mu.Lock()
	defer d.mu.Unlock()
	d.log = &syncBuffer{}
	cmd := exec.Command("slapd", "-d", "0", "-F", filepath.Join(d.dir, "conf"),
		"-h", d.url()+"/ "+d.tlsURL()+"/")
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: d.cred, Setpgid: true}
	cmd.Env = []string{"PATH=/usr/sbin:/usr/bin:/sbin:/bin", "LANG=C"}
	cmd.Stdout, cmd.Stderr = d.log, d.log
	if err := cmd.Start(); err != nil {
		t.Fatalf("slapd: %v", err)
	}
	exited := make(chan struct{})
	go func() { cmd.Wait(); close(exited) }()
	d.cmd, d.exited = cmd, exited
	deadline := time.Now().Add(15 * time.Second)
	for {
		c, err := net.DialTimeout("tcp", fmt.Sprintf("127.0.0.1:%d", d.port), time.Second)
		if err == nil {
			c.Close()
			return
		}
		select {
		case <-exited:
			t.Fatalf("slapd exited:\n%s", d.log)
		case <-time.After(20 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatalf("slapd did not listen:\n%s", d.log)
		}
	}
}

// kill kills slapd at once (SIGKILL, by PID), as a crash would.
func (d *slapd) kill() {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.cmd == nil {
		return
	}
	syscall.Kill(d.cmd.Process.Pid, syscall.SIGKILL)
	<-d.exited
	d.cmd = nil
}

// signal sends sig to slapd, by PID.
func (d *slapd) signal(sig syscall.Signal) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.cmd != nil {
		syscall.Kill(d.cmd.Process.Pid, sig)
	}
}

// stop ends slapd (SIGINT, then SIGKILL after 10 seconds), by PID.
func (d *slapd) stop() {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.cmd == nil {
		return
	}
	syscall.Kill(d.cmd.Process.Pid, syscall.SIGCONT)
	syscall.Kill(d.cmd.Process.Pid, syscall.SIGINT)
	select {
	case <-d.exited:
	case <-time.After(10 * time.Second):
		syscall.Kill(d.cmd.Process.Pid, syscall.SIGKILL)
		<-d.exited
	}
	d.cmd = nil
	if d.t.Failed() {
		d.t.Logf("slapd log:\n%s", d.log)
	}
}

// add loads ldif with ldapadd, as the root DN, its password in a file.
func (d *slapd) add(ldif string) {
	t := d.t
	t.Helper()
	pw := filepath.Join(t.TempDir(), "pw")
	if err := os.WriteFile(pw, []byte(rootPW), 0o600); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, "ldapadd", "-x", "-H", d.url(), "-D", rootDN, "-y", pw)
	cmd.Stdin = strings.NewReader(ldif)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("ldapadd: %v\n%s\nLDIF:\n%s", err, out, ldif)
	}
}

// ou adds an organizational unit of its own under the suffix, for one
// test's entries, and returns its DN.
func (d *slapd) ou() string {
	dn := fmt.Sprintf("ou=t%d,%s", d.ouSerial.Add(1), suffix)
	d.add(fmt.Sprintf("dn: %s\nobjectClass: organizationalUnit\nou: %s\n", dn, strings.TrimPrefix(strings.Split(dn, ",")[0], "ou=")))
	return dn
}

// entry is a test account: its DN is cn=<cn>,<base>.
type entry struct {
	cn   string
	uid  []string // inetOrgPerson's uid values; none makes a person
	pw   []string // userPassword values
	auth []string // authPassword values
}

// ldif returns e under base, binary-safe: every value in base64.
func (e entry) ldif(base string) string {
	var b strings.Builder
	b64 := func(attr, v string) { fmt.Fprintf(&b, "%s:: %s\n", attr, base64.StdEncoding.EncodeToString([]byte(v))) }
	fmt.Fprintf(&b, "dn: cn=%s,%s\n", e.cn, base)
	if len(e.uid) > 0 {
		b.WriteString("objectClass: inetOrgPerson\n")
	} else {
		b.WriteString("objectClass: person\n")
	}
	if len(e.auth) > 0 {
		b.WriteString("objectClass: authPasswordObject\n")
	}
	fmt.Fprintf(&b, "cn: %s\nsn: %s\n", e.cn, e.cn)
	for _, v := range e.uid {
		b64("uid", v)
	}
	for _, v := range e.pw {
		b64("userPassword", v)
	}
	for _, v := range e.auth {
		b64("authPassword", v)
	}
	return b.String()
}

// addEntries adds entries under base.
func (d *slapd) addEntries(base string, entries ...entry) {
	d.t.Helper()
	var b strings.Builder
	for _, e := range entries {
		b.WriteString(e.ldif(base))
		b.WriteString("\n")
	}
	d.add(b.String())
}

// slappasswd hashes password with the directory's own tool, loading
// module if it is not empty, and args (-h scheme, -c salt format).
func slappasswd(t *testing.T, module, password string, args ...string) string {
	t.Helper()
	pw := filepath.Join(t.TempDir(), "pw")
	if err := os.WriteFile(pw, []byte(password), 0o600); err != nil {
		t.Fatal(err)
	}
	a := []string{"-n", "-T", pw}
	if module != "" {
		a = append(a, "-o", "module-path="+slapdModDir, "-o", "module-load="+module)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, "slappasswd", append(a, args...)...).Output()
	if err != nil {
		t.Fatalf("slappasswd %v: %v", args, err)
	}
	return string(out)
}

// decoy adds a decoy entry under base for BindVerify, with a random
// password in {SSHA}, and returns its DN.
func (d *slapd) decoy(base string) string {
	d.t.Helper()
	var b [16]byte
	rand.Read(b[:])
	d.addEntries(base, entry{cn: "decoy", pw: []string{slappasswd(d.t, "", hex.EncodeToString(b[:]), "-h", "{SSHA}")}})
	return "cn=decoy," + base
}

// config returns a Config for the server's ldap:// URL, searching base
// for inetOrgPersons by uid as the reader.
func (d *slapd) config(base string) Config {
	return Config{
		URL:           d.url(),
		InsecureNoTLS: true,
		BindDN:        readerDN,
		BindPassword:  servicePW,
		BaseDN:        base,
		Filter:        "(&(objectClass=inetOrgPerson)(uid=%s))",
		Timeout:       5 * time.Second,
	}
}

// open opens a store with cfg, closed when the test ends.
func open(t *testing.T, cfg Config) *Store {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	s, err := Open(ctx, cfg)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

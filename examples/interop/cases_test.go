package interop

import (
	"fmt"
	"net"
	"regexp"
	"strings"
)

// The accounts of the servers' embedded default store, and the secrets
// the wrong-secret cases use instead.
const (
	user        = "user"
	password    = "pencil"
	token       = "tok123"
	wrongSecret = "wrong"
	// otherAuthzid is what EXTERNAL's wrong case asks to act as: the
	// client certificate is the secret, and a valid one cannot be made
	// wrong, so the case asks for an identity it may not have.
	otherAuthzid = "other"
)

// A connection kind: how a client reaches the server.
type connKind int

const (
	plainConn   connKind = iota // no TLS
	startTLS                    // plain, then STARTTLS
	implicitTLS                 // TLS from the start
)

// label names the connection in the matrix.
func (k connKind) label() string {
	return [...]string{"plain", "STARTTLS", "implicit TLS"}[k]
}

// protoName is the protocol element of a subtest's name: imap,
// imap-starttls or imaps, and the same for smtp.
func (k connKind) protoName(proto string) string {
	p := strings.ToLower(proto)
	return p + [...]string{"", "-starttls", "s"}[k]
}

// addr returns the server address to connect to for k.
func (k connKind) addr(s *server) string {
	if k == implicitTLS {
		return s.tls
	}
	return s.plain
}

var protos = []string{"IMAP", "SMTP"}

// allCases returns every case, in the order of the matrix.
func allCases() []*clientCase {
	var all []*clientCase
	all = append(all, curlCases()...)
	all = append(all, gsaslCases()...)
	all = append(all, pythonCases()...)
	all = append(all, swaksCases()...)
	return all
}

// newCase fills in the fields every case has. nameClient and nameMech are
// the client and mechanism elements of the subtest's name.
func newCase(nameClient, client, proto string, k connKind, conn, nameMech, mech string, wrong bool) *clientCase {
	if conn == "" {
		conn = k.label()
	}
	c := &clientCase{
		Result:  Result{Client: client, Proto: proto, Conn: conn, Mech: mech, Wrong: wrong},
		logMech: mech,
		log:     logOK,
	}
	c.name = nameClient + "/" + k.protoName(proto) + "/" + nameMech + "/ok"
	if wrong {
		c.name = strings.TrimSuffix(c.name, "ok") + "wrong"
		c.log = logRefused
	}
	return c
}

// curlCases: PLAIN, LOGIN, CRAM-MD5, XOAUTH2, OAUTHBEARER and EXTERNAL,
// with and without --sasl-ir. curl exits 0 when it logged in and 67 when
// the login was denied. Over IMAP curl sends an initial response whenever
// the server advertises SASL-IR, so the IMAP server advertises it only for
// the --sasl-ir variant (-no-sasl-ir otherwise): curl then sends an initial
// response exactly with --sasl-ir, over IMAP and SMTP alike.
func curlCases() []*clientCase {
	var all []*clientCase
	for _, ir := range []bool{false, true} {
		nameClient, client := "curl", "curl"
		if ir {
			nameClient, client = "curl-sasl-ir", "curl --sasl-ir"
		}
		for _, proto := range protos {
			add := func(mech string, k connKind, opts serverOpts, conn string, ok, wrong []string) {
				for _, w := range []bool{false, true} {
					c := newCase(nameClient, client, proto, k, conn, mech, mech, w)
					c.tool = "curl"
					c.server = opts
					c.server.noIR = !ir && proto == "IMAP"
					creds := ok
					if w {
						creds, c.want = wrong, 67
					}
					c.check = curlSentIR(proto, mech, ir)
					c.argv = func(e *env, s *server) []string {
						scheme := strings.ToLower(proto)
						if k == implicitTLS {
							scheme += "s"
						}
						a := []string{"curl", "-sS", "-v", "--max-time", "15", "-o", "/dev/null"}
						if ir {
							a = append(a, "--sasl-ir")
						}
						a = append(a, scheme+"://"+k.addr(s)+"/")
						switch k {
						case startTLS:
							a = append(a, "--ssl-reqd", "--cacert", e.pki.CAFile)
						case implicitTLS:
							a = append(a, "--cacert", e.pki.CAFile)
						}
						if mech == "EXTERNAL" {
							a = append(a, "--cert", e.clientCert, "--key", e.clientKey)
						}
						a = append(a, "--login-options", "AUTH="+mech)
						a = append(a, creds...)
						if proto == "SMTP" {
							a = append(a, "-X", "NOOP") // otherwise curl sends HELP
						}
						return a
					}
					all = append(all, c)
				}
			}
			pw := func(p string) []string { return []string{"-u", user + ":" + p} }
			bearer := func(tok string) []string { return []string{"-u", user + ":", "--oauth2-bearer", tok} }
			add("PLAIN", startTLS, serverOpts{}, "", pw(password), pw(wrongSecret))
			add("LOGIN", startTLS, serverOpts{}, "", pw(password), pw(wrongSecret))
			add("CRAM-MD5", plainConn, serverOpts{}, "", pw(password), pw(wrongSecret))
			// Bearer tokens are reusable secrets: the servers offer
			// XOAUTH2 and OAUTHBEARER over TLS, or in the clear with
			// -insecure-auth. curl prefers OAUTHBEARER whenever it is
			// offered.
			xoauth2 := "XOAUTH2"
			add("XOAUTH2", startTLS, serverOpts{mechs: xoauth2}, "STARTTLS, only XOAUTH2 offered", bearer(token), bearer(wrongSecret))
			add("XOAUTH2", plainConn, serverOpts{mechs: xoauth2, insecure: true}, "plain, -insecure-auth, only XOAUTH2 offered", bearer(token), bearer(wrongSecret))
			add("OAUTHBEARER", startTLS, serverOpts{}, "", bearer(token), bearer(wrongSecret))
			add("OAUTHBEARER", plainConn, serverOpts{insecure: true}, "plain, -insecure-auth", bearer(token), bearer(wrongSecret))
			// "-u :" is no authzid (curl then sends "=" as a continuation).
			for _, k := range []connKind{startTLS, implicitTLS} {
				add("EXTERNAL", k, serverOpts{}, "", []string{"-u", ":"}, []string{"-u", otherAuthzid + ":"})
			}
		}
	}
	return all
}

// curlSentIR returns a check that curl's trace (-v) shows the
// authentication command with an initial response when want is set, and
// without one otherwise. CRAM-MD5 has none.
func curlSentIR(proto, mech string, want bool) func(stdout, stderr string) error {
	cmd := `AUTH`
	if proto == "IMAP" {
		cmd = `A\d+ AUTHENTICATE`
	}
	re := regexp.MustCompile(`(?m)^> ` + cmd + ` ` + regexp.QuoteMeta(mech) + `( \S+)?\r?$`)
	if mech == "CRAM-MD5" {
		want = false
	}
	return func(_, stderr string) error {
		m := re.FindStringSubmatch(stderr)
		switch {
		case m == nil:
			return fmt.Errorf("no %s %s command in the trace", proto, mech)
		case want && m[1] == "":
			return fmt.Errorf("%q has no initial response, want one", m[0])
		case !want && m[1] != "":
			return fmt.Errorf("%q has an initial response, want none", m[0])
		}
		return nil
	}
}

// gsaslXFailNoCB is gsasl 2.2.0's bug with non-PLUS SCRAM over TLS.
const gsaslXFailNoCB = "known gsasl 2.2.0 bug: non-PLUS SCRAM over STARTTLS needs --no-cb; " +
	"without it gsasl gives up (\"Error authenticating user\") before sending its first message"

// gsaslCases: PLAIN, LOGIN, CRAM-MD5, SCRAM-SHA-1, SCRAM-SHA-256,
// SCRAM-SHA-256-PLUS (tls-exporter, since the servers speak TLS 1.3),
// ANONYMOUS and EXTERNAL. gsasl exits 0 on success (for SCRAM, with the
// server's signature verified) and 1 when refused. It never sends an
// initial response.
func gsaslCases() []*clientCase {
	var all []*clientCase
	for _, proto := range protos {
		add := func(mech string, k connKind, conn string, wrongToo bool, extra func(e *env, wrong bool) []string) []*clientCase {
			var added []*clientCase
			for _, w := range []bool{false, true} {
				if w && !wrongToo {
					continue
				}
				c := newCase("gsasl", "gsasl", proto, k, conn, mech, mech, w)
				c.tool = "gsasl"
				if w {
					c.want = 1
				}
				c.argv = func(e *env, s *server) []string {
					a := []string{"gsasl", "--client", "-d", "--quiet", "--" + strings.ToLower(proto), "--connect=" + s.plain}
					if k == startTLS {
						a = append(a, "--starttls", "--x509-ca-file="+e.pki.CAFile, "--hostname=localhost")
					} else {
						a = append(a, "--no-starttls")
					}
					a = append(a, extra(e, w)...)
					return append(a, "-m", mech)
				}
				all = append(all, c)
				added = append(added, c)
			}
			return added
		}
		pw := func(e *env, wrong bool) []string {
			if wrong {
				return []string{"-a", user, "-p", wrongSecret}
			}
			return []string{"-a", user, "-p", password}
		}
		// Without TLS, SCRAM needs --no-cb, or gsasl prompts for
		// channel-binding data.
		pwNoCB := func(e *env, wrong bool) []string { return append(pw(e, wrong), "--no-cb") }
		add("PLAIN", startTLS, "", true, pw)
		add("LOGIN", startTLS, "", true, pw)
		add("CRAM-MD5", plainConn, "", true, pwNoCB)
		add("SCRAM-SHA-1", plainConn, "", true, pwNoCB)
		add("SCRAM-SHA-256", plainConn, "", true, pwNoCB)
		add("SCRAM-SHA-256-PLUS", startTLS, "", true, pw)
		for _, c := range add("SCRAM-SHA-256", startTLS, "STARTTLS, without --no-cb", false, pw) {
			c.xfail = gsaslXFailNoCB
			c.log = logNone
		}
		// ANONYMOUS has no secret to get wrong.
		add("ANONYMOUS", plainConn, "", false, func(*env, bool) []string { return []string{"-n", "trace"} })
		add("EXTERNAL", startTLS, "", true, func(e *env, wrong bool) []string {
			a := []string{"--x509-cert-file=" + e.clientCert, "--x509-key-file=" + e.clientKey}
			if wrong {
				a = append(a, "-z", otherAuthzid)
			}
			return a
		})
	}
	return all
}

// pythonCases: imaplib and smtplib with login(), PLAIN, LOGIN, CRAM-MD5,
// XOAUTH2, OAUTHBEARER, SCRAM-SHA-256 and EXTERNAL, run by
// testdata/client.py. Each wrong case tries the wrong secret, which must
// be refused, then the right one on the same connection, which must
// succeed.
func pythonCases() []*clientCase {
	var all []*clientCase
	for _, proto := range protos {
		add := func(nameMech, mech string, k connKind, secret, wrong string) {
			for _, w := range []bool{false, true} {
				c := newCase("python", "Python", proto, k, "", nameMech, mech, w)
				c.tool = python
				if k == plainConn && (mech == "XOAUTH2" || mech == "OAUTHBEARER") {
					// Bearer tokens in the clear only with
					// -insecure-auth.
					c.server.insecure = true
					c.Conn = "plain, -insecure-auth"
				}
				if w {
					c.log = logRetry
				}
				switch {
				case nameMech != "login":
				case proto == "IMAP":
					c.logMech = "LOGIN command"
				case w:
					// On failure, smtplib's login() goes on to PLAIN
					// and LOGIN before giving up.
					c.logMech = anyMech
				default:
					c.logMech = "CRAM-MD5" // smtplib's first choice
				}
				c.argv = func(e *env, s *server) []string {
					host, port, _ := net.SplitHostPort(k.addr(s))
					a := []string{python, e.script, strings.ToLower(proto),
						[...]string{"plain", "starttls", "tls"}[k], host, port, nameMech, user, secret}
					if w {
						a = append(a, "--first", wrong)
					}
					if k != plainConn {
						a = append(a, "--cafile", e.pki.CAFile)
					}
					if mech == "EXTERNAL" {
						a = append(a, "--cert", e.clientCert, "--key", e.clientKey)
					}
					return a
				}
				all = append(all, c)
			}
		}
		login := "login()"
		if proto == "SMTP" {
			login = "login() (picks CRAM-MD5)"
		}
		add("login", login, startTLS, password, wrongSecret)
		add("PLAIN", "PLAIN", startTLS, password, wrongSecret)
		add("LOGIN", "LOGIN", startTLS, password, wrongSecret)
		add("CRAM-MD5", "CRAM-MD5", plainConn, password, wrongSecret)
		add("XOAUTH2", "XOAUTH2", startTLS, token, wrongSecret)
		add("OAUTHBEARER", "OAUTHBEARER", startTLS, token, wrongSecret)
		add("OAUTHBEARER", "OAUTHBEARER", plainConn, token, wrongSecret)
		add("SCRAM-SHA-256", "SCRAM-SHA-256", plainConn, password, wrongSecret)
		add("EXTERNAL", "EXTERNAL", implicitTLS, "", otherAuthzid)
	}
	return all
}

// swaksCases: PLAIN, LOGIN and CRAM-MD5 over SMTP. swaks exits 0 on
// success and 28 when authentication fails. Its STARTTLS needs Perl's
// Net::SSLeay, which the interop packages do not pull in, so PLAIN and
// LOGIN run without TLS against a server started with -insecure-auth.
func swaksCases() []*clientCase {
	var all []*clientCase
	for _, mech := range []string{"PLAIN", "LOGIN", "CRAM-MD5"} {
		for _, w := range []bool{false, true} {
			conn, opts := "", serverOpts{}
			if mech != "CRAM-MD5" {
				conn, opts = "plain, -insecure-auth", serverOpts{insecure: true}
			}
			c := newCase("swaks", "swaks", "SMTP", plainConn, conn, mech, mech, w)
			c.tool = "swaks"
			c.server = opts
			secret := password
			if w {
				secret, c.want = wrongSecret, 28
			}
			c.argv = func(e *env, s *server) []string {
				return []string{"swaks", "--server", s.plain, "--helo", "localhost", "--auth", mech,
					"--auth-user", user, "--auth-password", secret, "--quit-after", "AUTH", "--timeout", "15"}
			}
			all = append(all, c)
		}
	}
	return all
}

package pgsasl

import (
	"context"
	"testing"
	"time"

	"github.com/saslkit/saslkit/internal/pgtest"
	"github.com/saslkit/saslkit/internal/testpki"
)

// The roles the test cluster holds, with their passwords. carol's password
// changes under SASLprep (NFKC: "ﬁ" is "fi"), as PostgreSQL prepares it
// before deriving the keys.
const (
	alicePassword = "alice-Pencil-2"
	carolPassword = "\ufb01sh-3"
)

// cluster is a PostgreSQL 15 cluster (internal/pgtest) listening on
// 127.0.0.1 with TLS and scram-sha-256 in pg_hba.conf.
type cluster struct {
	*pgtest.Cluster
	pki *testpki.PKI
	// Keys are the "role:rolpassword" lines of alice and carol, read from
	// pg_authid.
	Keys string
}

// startCluster starts a cluster, serving the certificate of a fresh test
// PKI, and creates the test roles. The cluster is stopped, by its PID, when
// t ends.
func startCluster(t *testing.T) *cluster {
	t.Helper()
	pki := testpki.New(t, "")
	c := &cluster{pki: pki, Cluster: pgtest.Start(t, &pgtest.Options{
		CertFile: pki.CertFile,
		KeyFile:  pki.KeyFile,
		HBA:      []string{"hostssl all all 127.0.0.1/32 scram-sha-256"},
		Settings: []string{"max_connections=20", "log_connections=on"},
	})}
	c.Exec(t,
		"CREATE ROLE alice LOGIN PASSWORD '"+alicePassword+"'",
		"CREATE ROLE carol LOGIN PASSWORD '"+carolPassword+"'",
		"CREATE DATABASE alice OWNER alice",
		"CREATE DATABASE carol OWNER carol")
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	keys, err := c.Psql(ctx, "SELECT rolname || ':' || rolpassword FROM pg_authid WHERE rolname IN ('alice', 'carol') ORDER BY 1;\n")
	if err != nil {
		t.Fatal(err)
	}
	c.Keys = keys
	return c
}

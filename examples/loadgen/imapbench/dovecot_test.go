package imapbench

import (
	"strings"
	"testing"
)

func TestDovecotConfigText(t *testing.T) {
	tests := []struct {
		name      string
		cfg       DovecotConfig
		want, not []string
	}{
		{
			name: "auth cache off",
			cfg:  DovecotConfig{Conns: 32, Cores: 2},
			want: []string{
				"auth_cache_size = 0\n", "auth_failure_delay = 0\n", "ssl_curve_list = X25519\n",
				"service imap-login {\n  chroot =\n  service_count = 0\n  process_min_avail = 2\n  vsz_limit = 1G\n",
				"service imap {\n  service_count = 1000\n  process_min_avail = 32\n",
				"unix_listener anvil-auth-penalty {\n    mode = 0\n", "default_process_limit = 100\n",
				"args = uid={{UID}} gid={{GID}} home={{DIR}}/mail/%n\n", "port = {{TLS_PORT}}\n",
			},
			not: []string{"auth_cache_verify_password_with_worker"},
		},
		{
			name: "many connections",
			cfg:  DovecotConfig{Conns: 200, Cores: 4},
			want: []string{"process_min_avail = 4\n", "process_min_avail = 200\n", "default_process_limit = 414\n"},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := DovecotConfigText(&tc.cfg)
			for _, w := range tc.want {
				if !strings.Contains(got, w) {
					t.Errorf("config lacks %q:\n%s", w, got)
				}
			}
			for _, n := range tc.not {
				if strings.Contains(got, n) {
					t.Errorf("config has %q:\n%s", n, got)
				}
			}
		})
	}
}

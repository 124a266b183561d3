#!/bin/sh
# Regenerates userpassword.txt with slappasswd (Debian's slapd, with the
# pw-sha2, pw-pbkdf2 and argon2 modules of slapd and slapd-contrib):
# userPassword values the directory itself makes, one per line, the
# password, a tab, the value. Run from this directory.
set -e
M=/usr/lib/ldap
gen() { # module password slappasswd-args...
	mod=$1 pw=$2
	shift 2
	if [ -n "$mod" ]; then
		v=$(slappasswd -o module-path=$M -o module-load=$mod -s "$pw" "$@")
	else
		v=$(slappasswd -s "$pw" "$@")
	fi
	printf '%s\t%s\n' "$pw" "$v"
}
{
	echo "# Made by testdata/gen.sh with OpenLDAP $(slapd -VV 2>&1 | sed -n 's/.*slapd \([0-9.+a-z-]*\).*/\1/p'): do not edit."
	for pw in pencil 'correct horse battery staple, and a long tail to pass the 64 octets of SHA-512 ...'; do
		for h in '{SSHA}' '{SHA}' '{SMD5}' '{MD5}'; do gen "" "$pw" -h "$h"; done
		for h in '{SSHA256}' '{SSHA384}' '{SSHA512}' '{SHA256}' '{SHA384}' '{SHA512}'; do gen pw-sha2 "$pw" -h "$h"; done
		for h in '{PBKDF2}' '{PBKDF2-SHA1}' '{PBKDF2-SHA256}' '{PBKDF2-SHA512}'; do gen pw-pbkdf2 "$pw" -h "$h"; done
		gen argon2 "$pw" -h '{ARGON2}'
		for c in '$6$%.16s' '$5$%.16s' '$6$rounds=1200$%.16s' '$5$rounds=1000$%.16s' '$6$%.3s' '$2y$05$%.22s' '$2b$04$%.22s'; do
			gen "" "$pw" -h '{CRYPT}' -c "$c"
		done
	done
	# The examples of Drepper's specification, through glibc.
	gen "" 'Hello world!' -h '{CRYPT}' -c '$6$saltstring'
	gen "" 'Hello world!' -h '{CRYPT}' -c '$5$rounds=10000$saltstringsaltstring'
} >userpassword.txt

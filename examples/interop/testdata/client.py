#!/usr/bin/python3
"""Authenticates to examples/imapserver or examples/smtpserver with Python's
imaplib or smtplib, for the interop suite in examples/interop.

usage: client.py imap|smtp plain|starttls|tls HOST PORT MECH USER SECRET
                 [--first SECRET] [--cafile F] [--cert F --key F]

MECH is login (IMAP LOGIN command; smtplib's SMTP.login), PLAIN, LOGIN,
CRAM-MD5, XOAUTH2, OAUTHBEARER, SCRAM-SHA-256 or EXTERNAL. SECRET is the
password, the bearer token, or for EXTERNAL the authorization identity
("" for none). With --first, the client first authenticates with that
secret, which must be refused, then with SECRET on the same connection.

Exit status: 0 authenticated; 3 refused; 4 the --first attempt was not
refused; 5 a SCRAM server signature was missing or wrong; 1 anything else.
The protocol trace goes to stderr.
"""

import argparse
import base64
import hashlib
import hmac
import imaplib
import os
import smtplib
import ssl
import sys


class BadServerSignature(Exception):
    pass


class Steps:
    """An authobject for imaplib and smtplib: called once per challenge,
    first with None (smtplib, for the initial response) or the server's
    first challenge (imaplib, which never sends an initial response)."""

    def __init__(self, mech, user, secret):
        self.mech, self.user, self.secret = mech, user, secret
        self.n = 0
        self.verified = False

    def __call__(self, challenge=None):
        self.n += 1
        m = self.mech
        if m == "PLAIN":
            return "\0%s\0%s" % (self.user, self.secret)
        if m == "LOGIN":  # server first: "Username:", then "Password:"
            return self.user if self.n == 1 else self.secret
        if m == "XOAUTH2":
            # After an error challenge, an empty response gets the failure.
            if self.n > 1:
                return ""
            return "user=%s\x01auth=Bearer %s\x01\x01" % (self.user, self.secret)
        if m == "OAUTHBEARER":
            if self.n > 1:
                return "\x01"  # RFC 7628 section 3.2.3: the dummy reply
            return "n,a=%s,\x01auth=Bearer %s\x01\x01" % (self.user, self.secret)
        if m == "EXTERNAL":
            return self.secret  # the authzid; "" for none
        if m == "SCRAM-SHA-256":
            return self.scram(challenge)
        raise ValueError("no mechanism " + m)

    # SCRAM-SHA-256 (RFC 5802, RFC 7677) without channel binding.
    def scram(self, challenge):
        h = "sha256"
        if self.n == 1:
            self.nonce = base64.b64encode(os.urandom(18)).decode()
            name = self.user.replace("=", "=3D").replace(",", "=2C")
            self.bare = "n=%s,r=%s" % (name, self.nonce)
            return "n,," + self.bare
        msg = challenge.decode()
        if self.n == 2:
            a = dict(kv.split("=", 1) for kv in msg.split(","))
            if not a["r"].startswith(self.nonce):
                raise ValueError("server nonce does not extend ours")
            salted = hashlib.pbkdf2_hmac(h, self.secret.encode(), base64.b64decode(a["s"]), int(a["i"]))
            client_key = hmac.new(salted, b"Client Key", h).digest()
            stored_key = hashlib.new(h, client_key).digest()
            final = "c=biws,r=" + a["r"]
            auth_msg = ",".join((self.bare, msg, final)).encode()
            sig = hmac.new(stored_key, auth_msg, h).digest()
            proof = bytes(x ^ y for x, y in zip(client_key, sig))
            server_key = hmac.new(salted, b"Server Key", h).digest()
            self.want_v = "v=" + base64.b64encode(hmac.new(server_key, auth_msg, h).digest()).decode()
            return final + ",p=" + base64.b64encode(proof).decode()
        # The server-final message comes as a last challenge (IMAP, SMTP).
        if msg.startswith("e="):
            print("server error: " + msg, file=sys.stderr)
            return ""
        if not hmac.compare_digest(msg, self.want_v):
            raise BadServerSignature(msg)
        self.verified = True
        return ""


def context(args):
    ctx = ssl.create_default_context(cafile=args.cafile)
    if args.cert:
        ctx.load_cert_chain(args.cert, args.key)
    return ctx


def imap_connect(args):
    if args.conn == "tls":
        c = imaplib.IMAP4_SSL(args.host, args.port, ssl_context=context(args), timeout=10)
    else:
        c = imaplib.IMAP4(args.host, args.port, timeout=10)
    c.debug = 4
    if args.conn == "starttls":
        c.starttls(context(args))
    return c


def imap_auth(c, args, secret):
    """Returns the authobject, or None, after a successful attempt; raises
    imaplib.IMAP4.error when refused."""
    if args.mech == "login":
        c.login(args.user, secret)
        return None
    if args.mech == "CRAM-MD5":
        c.login_cram_md5(args.user, secret)
        return None
    s = Steps(args.mech, args.user, secret)
    c.authenticate(args.mech, s)
    return s


def smtp_connect(args):
    if args.conn == "tls":
        c = smtplib.SMTP_SSL(args.host, args.port, context=context(args), timeout=10)
    else:
        c = smtplib.SMTP(args.host, args.port, timeout=10)
    c.set_debuglevel(1)
    c.ehlo()
    if args.conn == "starttls":
        c.starttls(context=context(args))
        c.ehlo()
    return c


def smtp_auth(c, args, secret):
    """As imap_auth, raising smtplib.SMTPAuthenticationError when refused."""
    c.user, c.password = args.user, secret
    if args.mech == "login":
        c.login(args.user, secret)  # picks CRAM-MD5, PLAIN or LOGIN
        return None
    builtin = {"PLAIN": c.auth_plain, "LOGIN": c.auth_login, "CRAM-MD5": c.auth_cram_md5}
    if args.mech in builtin:
        c.auth(args.mech, builtin[args.mech])
        return None
    s = Steps(args.mech, args.user, secret)
    c.auth(args.mech, s)
    return s


def main():
    p = argparse.ArgumentParser()
    for a in ("proto", "conn", "host", "port", "mech", "user", "secret"):
        p.add_argument(a)
    p.add_argument("--first")
    p.add_argument("--cafile")
    p.add_argument("--cert")
    p.add_argument("--key")
    args = p.parse_args()
    args.port = int(args.port)

    if args.proto == "imap":
        connect, auth, refused = imap_connect, imap_auth, imaplib.IMAP4.error
    else:
        connect, auth, refused = smtp_connect, smtp_auth, smtplib.SMTPAuthenticationError
    c = connect(args)
    if args.first is not None:
        try:
            auth(c, args, args.first)
            print("the first attempt was not refused", file=sys.stderr)
            return 4
        except refused as e:
            print("first attempt refused as expected: %s" % e, file=sys.stderr)
    try:
        s = auth(c, args, args.secret)
    except refused as e:
        print("refused: %s" % e, file=sys.stderr)
        return 3
    except BadServerSignature as e:
        print("bad server signature: %s" % e, file=sys.stderr)
        return 5
    if s is not None and args.mech.startswith("SCRAM") and not s.verified:
        print("authenticated without a verified server signature", file=sys.stderr)
        return 5
    if args.proto == "imap":
        c.logout()
    else:
        code, _ = c.noop()
        if code != 250:
            print("NOOP after AUTH: %d" % code, file=sys.stderr)
            return 1
        c.quit()
    return 0


if __name__ == "__main__":
    sys.exit(main())

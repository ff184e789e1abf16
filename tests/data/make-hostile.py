#!/usr/bin/env python3
"""make-hostile: write the hostile-message corpus into DIR.

Usage: make-hostile.py DIR

Every file is a message Roost must store byte for byte and index in linear
time without crashing: deep MIME nesting, 10,000+ parts, broken boundaries,
bad base64/QP, broken encoded-words, unknown charsets, 1 MB header lines,
500,000 address header lines, NUL bytes, bare LF and bare CR. The files are
generated (some are several MB) so that nothing large is committed.
"""
import os
import sys

CRLF = b"\r\n"


def msg(*lines, nl=CRLF):
    return nl.join(lines) + nl


def deep_multipart(levels=200):
    out = [b"Subject: deep multipart", b"Content-Type: multipart/mixed; boundary=b0", b""]
    for i in range(1, levels):
        out += [b"--b%d" % (i - 1), b"Content-Type: multipart/mixed; boundary=b%d" % i, b""]
    out += [b"--b%d" % (levels - 1), b"Content-Type: text/plain", b"", b"leaf"]
    for i in reversed(range(levels)):
        out += [b"--b%d--" % i]
    return msg(*out)


def deep_message(levels=200):
    out = []
    for i in range(levels):
        out += [b"Subject: level %d" % i, b"Content-Type: message/rfc822", b""]
    out += [b"Subject: bottom", b"", b"body"]
    return msg(*out)


def many_parts(n=12000):
    out = [b"Subject: many parts", b"Content-Type: multipart/mixed; boundary=p", b""]
    for i in range(n):
        out += [b"--p", b"Content-Type: text/plain", b"", b"part %d" % i]
    out += [b"--p--"]
    return msg(*out)


def empty_parts(n=20000):
    # Delimiters with nothing between them: parts of zero bytes.
    return b"Content-Type: multipart/mixed; boundary=e\r\n\r\n" + b"--e\r\n" * n + b"--e--\r\n"


def broken_boundaries():
    return msg(
        b"Subject: broken boundaries",
        b"Content-Type: multipart/mixed; boundary=\"outer\"",
        b"",
        b"--outer",
        b"Content-Type: multipart/alternative; boundary=inner",
        b"",
        b"--inner",
        b"Content-Type: text/plain",
        b"",
        b"inner part whose close delimiter never comes",
        b"--outer",
        b"Content-Type: multipart/mixed; boundary=\"\"",
        b"",
        b"empty boundary parameter",
        b"--outer",
        b"Content-Type: multipart/mixed",
        b"",
        b"no boundary parameter",
        b"--outer",
        b"Content-Type: multipart/mixed; boundary=never",
        b"",
        b"boundary that never appears",
        b"--outerX not a delimiter",
        b"--outer-- ",
        b"epilogue",
        b"--outer",
        b"after the close",
    )


def missing_close():
    return msg(b"Content-Type: multipart/mixed; boundary=m", b"", b"--m",
               b"Content-Type: text/plain", b"", b"no close delimiter, no newline") [:-2]


def bad_encodings():
    return msg(
        b"Subject: bad encodings",
        b"Content-Type: multipart/mixed; boundary=x",
        b"",
        b"--x",
        b"Content-Type: application/octet-stream",
        b"Content-Transfer-Encoding: base64",
        b"",
        b"!!!!====QUJD=\x00\xff====",
        b"--x",
        b"Content-Type: text/plain; charset=utf-8",
        b"Content-Transfer-Encoding: quoted-printable",
        b"",
        b"=ZZ=4=\xff=" + b"=" * 1000,
        b"--x",
        b"Content-Type: text/plain",
        b"Content-Transfer-Encoding: x-\xff\x00bogus (comment",
        b"",
        b"unknown encoding",
        b"--x--",
    )


def broken_encoded_words():
    return msg(
        b"Subject: =?utf-8?q?unterminated =?utf-8?b?====?= =??q??= =?x-unknown?q?abc?=",
        b"From: =?utf-8?q?=E2=82?= <a@b.c>, =?iso-8859-1?b?!!!?= <d@e.f>",
        b"To: \"=?utf-8?q?quoted?=\" <g@h.i>",
        b"Cc: =?utf-8*en?q?lang?= <j@k.l>",
        b"",
        b"body",
    )


def unknown_charsets():
    return msg(
        b"Subject: =?x-klingon?q?Qapla=27?= =?utf-7?q?+AGEAYgBj-?=",
        b"Content-Type: text/plain; charset=x-klingon",
        b"",
        b"\xde\xad\xbe\xef",
    )


def long_header_lines():
    mb = 1024 * 1024
    return msg(
        b"Subject: " + b"s" * mb,
        b"From: " + b"\"" + b"q" * mb,
        b"To: " + b"(" * (mb // 2),
        b"Content-Type: text/plain" + b"; a=b" * (mb // 5),
        b"X-Long: " + b"=?utf-8?q?x?= " * (mb // 14),
        b"",
        b"body",
    )


def address_lines(n=500000):
    lines = [b"Subject: 500,000 address lines", b"To: a0@x.io,"]
    lines += [b" a%d@x.io," % i for i in range(1, n)]
    lines += [b" last@x.io", b"Cc: c@x.io", b"", b"body"]
    return msg(*lines)


def many_address_headers(n=500000):
    return b"".join(b"Cc: c%d@x.io\r\n" % i for i in range(n)) + b"\r\nbody\r\n"


def nul_bytes():
    return msg(
        b"Subject: nul\x00inside",
        b"From: Nul\x00Name <n\x00l@x.io>",
        b"Content-Type: multipart/mixed; boundary=\"n\x00b\"",
        b"",
        b"--n\x00b",
        b"",
        b"\x00\x00\x00",
        b"--n\x00b--",
    )


def bare_lf():
    return msg(
        b"From: lf@x.io",
        b"Subject: bare LF",
        b"Content-Type: multipart/mixed; boundary=lf",
        b"",
        b"--lf",
        b"Content-Type: text/plain",
        b"",
        b"one",
        b"two",
        b"--lf",
        b"Content-Type: message/rfc822",
        b"",
        b"Subject: inner",
        b"",
        b"inner",
        b"--lf--",
        nl=b"\n",
    )


def bare_cr():
    return (b"From: cr@x.io\rSubject: bare CR\r\rContent-Type: multipart/mixed; "
            b"boundary=cr\r\r--cr\r\rbody\r--cr--\r")


def mixed_line_endings():
    return (b"Subject: mixed\r\nContent-Type: multipart/mixed; boundary=m\n\r\n"
            b"--m\nContent-Type: text/plain\r\n\nA\r\r\n--m\r\n\r\nB\n--m--\r\n")


def eight_bit_headers():
    return msg(
        "Subject: caf\u00e9 \u00fcber".encode("utf-8"),
        b"From: Andr\xe9 <andre@x.io>",
        "To: \u65e5\u672c <nihon@x.io>".encode("utf-8"),
        b"",
        b"body",
    )


def header_only():
    return b"Subject: no body\r\nFrom: a@b.c"


def deep_digest():
    return msg(
        b"Content-Type: multipart/digest; boundary=d",
        b"",
        b"--d",
        b"",
        b"Subject: digest member",
        b"",
        b"body",
        b"--d--",
    )


CORPUS = {
    "deep-multipart.eml": deep_multipart,
    "deep-message.eml": deep_message,
    "parts-12000.eml": many_parts,
    "empty-parts-20000.eml": empty_parts,
    "broken-boundaries.eml": broken_boundaries,
    "missing-close.eml": missing_close,
    "bad-encodings.eml": bad_encodings,
    "broken-encoded-words.eml": broken_encoded_words,
    "unknown-charsets.eml": unknown_charsets,
    "long-header-lines.eml": long_header_lines,
    "address-lines-500000.eml": address_lines,
    "address-headers-500000.eml": many_address_headers,
    "nul-bytes.eml": nul_bytes,
    "bare-lf.eml": bare_lf,
    "bare-cr.eml": bare_cr,
    "mixed-line-endings.eml": mixed_line_endings,
    "8bit-headers.eml": eight_bit_headers,
    "header-only.eml": header_only,
    "digest.eml": deep_digest,
    "empty.eml": lambda: b"",
}


def main():
    if len(sys.argv) != 2:
        sys.exit("usage: make-hostile.py DIR")
    out = sys.argv[1]
    os.makedirs(out, exist_ok=True)
    for name, make in CORPUS.items():
        with open(os.path.join(out, name), "wb") as f:
            f.write(make())


if __name__ == "__main__":
    main()

"""PREVIEW (RFC 8970): FETCH PREVIEW and PREVIEW (LAZY), computed at store
time (decoding and HTML reduction are unit-tested in test-mime-preview.c)."""
import re

from imap_raw import Raw

HTML = (b"From: a@example.org\r\nSubject: news\r\nMIME-Version: 1.0\r\n"
        b"Content-Type: multipart/alternative; boundary=zz\r\n\r\n"
        b"--zz\r\nContent-Type: text/html; charset=utf-8\r\n"
        b"Content-Transfer-Encoding: quoted-printable\r\n\r\n"
        b"<html><head><style>p{}</style></head><body><p>Caf=C3=A9 &amp;   more</p></body></html>\r\n"
        b"--zz--\r\n")
ATTACH_ONLY = (b"From: a@example.org\r\nSubject: pdf\r\nContent-Type: application/pdf\r\n"
               b"Content-Transfer-Encoding: base64\r\n\r\nJVBERi0=\r\n")


def test_fetch_preview_and_lazy(roost):
    roost.deliver(HTML, "alice@example.com")
    roost.deliver(ATTACH_ONLY, "alice@example.com")
    c = Raw(roost)
    assert c.ok(b"ENABLE UTF8=ACCEPT")
    assert c.ok(b"SELECT INBOX")
    out = c.cmd(b"FETCH 1 (PREVIEW)")
    assert out[-1].split()[1] == b"OK", out
    text = b"".join(out)
    assert "Café & more".encode() in text, text
    # RFC 8970 3.1 example: FETCH 1 (PREVIEW (LAZY)) answers with the text
    out = c.cmd(b"FETCH 1:2 (UID PREVIEW (LAZY))")
    text = b"".join(out)
    assert "Café & more".encode() in text, text
    # no text to preview: a zero-length string (RFC 8970 3.2)
    assert re.search(rb"\* 2 FETCH \(UID 2 PREVIEW \"\"\)", text), text
    out = c.cmd(b"FETCH 1 (PREVIEW (EAGER))")
    assert out[-1].split()[1] == b"BAD", out
    out = c.cmd(b"FETCH 1 (PREVIEW ())")
    assert out[-1].split()[1] == b"BAD", out

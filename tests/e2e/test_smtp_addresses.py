"""SMTP recipient addresses (RFC 5321 4.1.2, 4.5.1).

- RCPT TO:<postmaster> (no domain) is accepted, and postmaster@ every
  hosted domain is deliverable without such an account: to an account or
  alias of that name when the admin made one, else to smtp.postmaster,
  else to the first account in `roost user list` order. Case-insensitive.
- A quoted local part whose content is a plain name ("alice", "al.ice") is
  that mailbox; other quoted forms get 553, never 501 (valid syntax).
"""
import smtplib

import pytest

MSG = b"From: x@example.org\r\nSubject: addr\r\n\r\nbody for the postmaster\r\n"


def wire(address):
    return address if address.startswith("<") else "<%s>" % address


def rcpt(r, address):
    # docmd: the exact bytes (smtplib.rcpt() would re-quote the address)
    with smtplib.SMTP("127.0.0.1", r.port("smtp"), timeout=10) as s:
        s.ehlo("client.example.org")
        s.mail("x@example.org")
        return s.docmd("RCPT", "TO:" + wire(address))


def send(r, address, body=MSG):
    with smtplib.SMTP("127.0.0.1", r.port("smtp"), timeout=10) as s:
        s.ehlo("client.example.org")
        s.mail("x@example.org")
        code, text = s.docmd("RCPT", "TO:" + wire(address))
        assert code == 250, (address, code, text)
        code, text = s.data(body)
        assert code == 250, (code, text)


def count(r, user):
    return r.users()[user][2]


@pytest.mark.parametrize("address", ["<postmaster>", "<Postmaster>", "<POSTMASTER>",
                                     "<postmaster@example.com>", "<PostMaster@EXAMPLE.com>"])
def test_postmaster_is_always_accepted(roost, address):
    code, text = rcpt(roost, address)
    assert code == 250, (code, text)


def test_postmaster_without_account_goes_to_first_account(roost):
    roost.add_user("zed@example.com")
    send(roost, "<postmaster>")
    send(roost, "postmaster@example.com")
    assert count(roost, "alice@example.com") == 2   # first in `user list` order
    assert count(roost, "zed@example.com") == 0


def test_postmaster_of_every_hosted_domain(roost):
    roost.cli("domain", "add", "other.org")
    roost.add_user("bob@other.org")
    send(roost, "postmaster@other.org")
    assert count(roost, "alice@example.com") == 1
    # not hosted: still no relay for postmaster@ elsewhere
    code, _ = rcpt(roost, "<postmaster@not-hosted.example>")
    assert code == 554


def test_postmaster_alias_set_by_admin_wins(roost):
    roost.add_user("admin@example.com")
    roost.cli("alias", "add", "postmaster@example.com", "admin@example.com")
    send(roost, "<postmaster>")
    send(roost, "<POSTMASTER@example.com>")
    assert count(roost, "admin@example.com") == 2
    assert count(roost, "alice@example.com") == 0


def test_smtp_postmaster_setting(roost_factory):
    r = roost_factory(smtp__postmaster="ops@example.com")
    r.add_user("ops@example.com")
    send(r, "<postmaster>")
    send(r, "postmaster@example.com")
    assert count(r, "ops@example.com") == 2
    assert count(r, "alice@example.com") == 0


@pytest.mark.parametrize("address", ['<"alice"@example.com>', '<"ALICE"@example.com>',
                                     '<"alice+tag"@example.com>'])
def test_quoted_plain_local_part_is_the_same_mailbox(roost, address):
    send(roost, address)
    assert count(roost, "alice@example.com") == 1


def test_quoted_dotted_local_part(roost):
    roost.add_user("al.ice@example.com")
    send(roost, '<"al.ice"@example.com>')
    assert count(roost, "al.ice@example.com") == 1
    assert count(roost, "alice@example.com") == 0


@pytest.mark.parametrize("address", ['<"al ice"@example.com>', '<"a..b"@example.com>',
                                     '<"a@b"@example.com>', '<""@example.com>',
                                     '<"a\\"b"@example.com>'])
def test_other_quoted_forms_are_refused_with_553(roost, address):
    code, text = rcpt(roost, address)
    assert code == 553, (address, code, text)


@pytest.mark.parametrize("address", ['<"alice@example.com>', '<"al"ice@example.com>'])
def test_broken_quoting_is_a_syntax_error(roost, address):
    code, text = rcpt(roost, address)
    assert code == 501, (address, code, text)


def test_quoted_unknown_user_is_550(roost):
    code, text = rcpt(roost, '<"nobody"@example.com>')
    assert code == 550, (code, text)


def test_smtp_postmaster_naming_nobody_falls_back(roost_factory):
    r = roost_factory(smtp__postmaster="gone@example.com")
    send(r, "<postmaster>")
    assert count(r, "alice@example.com") == 1
    assert "smtp.postmaster gone@example.com" in r.read_log()

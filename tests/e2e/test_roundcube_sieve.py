"""Roundcube's managesieve plugin against Roost, in a real browser.

Debian's Roundcube 1.6 (served by `php -S`, tests/e2e/roundcube_site.py)
logs in to Roost over IMAP and talks ManageSieve to it; headless Chromium
under Selenium fills in the plugin's forms the way a user does: Settings >
Filters creates "Subject contains invoice -> move to Invoices", Settings >
Out of Office sets a vacation reply. Then mail is delivered over LMTP and
the rules must act on it: the invoice lands in Invoices and not in INBOX,
and the outside sender gets exactly one vacation reply (RFC 5230: once per
period), seen at the loopback "internet"'s SMTP sink.

On failure the browser's screenshot and page source are saved in the
test's tmp dir (the paths are printed) and Roundcube's logs (including its
ManageSieve and IMAP conversations) are in the assertion message.
"""
import email
import imaplib
import os
import re
import time

import pytest

from conftest import free_port
from outbound_net import Dns, Sink, wait_for
from roundcube_site import Site, browser
from test_sieve_delivery import lmtp, msg

from selenium.common.exceptions import WebDriverException
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions as EC
from selenium.webdriver.support.ui import Select, WebDriverWait

ALICE = "alice@example.com"
CAROL = "carol@remote.test"
WAIT = 15           # seconds for any one thing to appear in the browser
VACATION_SUBJECT = "Out until Monday"
VACATION_BODY = "I am at the Roost summit and read mail on Monday."


@pytest.fixture
def setup(roost_factory, tmp_path):
    """Roost with outbound mail to a private DNS and SMTP sink, Roundcube
    for it, and a browser: (roost, site, driver, sink)."""
    port = free_port()
    dns = Dns(tmp_path / "dns", ["remote.test. MX 10 mx.remote.test.",
                                 "mx.remote.test. A 127.0.0.2"])
    sink = Sink("127.0.0.2", port).start()
    site = driver = None
    try:
        r = roost_factory(dns__resolver=dns.resolver, dns__trust_anchor="",
                          outbound__port=str(port), queue__retry_min="1s",
                          queue__retry_max="2s", outbound__connect_timeout="2s",
                          server__hostname="mail.example.com")
        site = Site(tmp_path / "roundcube", r.port("imap"), r.port("submission"),
                    r.port("managesieve")).start()
        driver = browser()
        yield r, site, driver, sink
    finally:
        if driver is not None:
            driver.quit()
        if site is not None:
            site.stop()
        sink.stop()
        dns.stop()


class Ui:
    """The few moves a user makes in Roundcube's elastic skin."""

    def __init__(self, driver, site, tmp_path):
        self.d = driver
        self.site = site
        self.tmp = str(tmp_path)
        self.step = "start"

    def wait(self, cond, what, timeout=WAIT):
        self.step = what
        return WebDriverWait(self.d, timeout).until(cond, message=what)

    def element(self, css, what, clickable=False):
        cond = (EC.element_to_be_clickable if clickable else
                EC.visibility_of_element_located)((By.CSS_SELECTOR, css))
        return self.wait(cond, what)

    def login(self, user, password):
        self.step = "open the login page"
        self.d.get(self.site.url)
        self.element("#rcmloginuser", "the login form").send_keys(user)
        self.d.find_element(By.ID, "rcmloginpwd").send_keys(password)
        self.d.find_element(By.ID, "rcmloginsubmit").click()
        self.wait(EC.url_contains("_task=mail"), "the mailbox view after login")
        self.element("#messagelist", "the message list")

    def settings_section(self, css, what):
        """Settings in the task menu, then a section of the list."""
        self.element("#taskmenu a.settings", "Settings in the task menu", True).click()
        self.wait(EC.url_contains("_task=settings"), "the settings page")
        self.element("#settings-menu " + css, what, True).click()

    def frame(self, css, what):
        self.wait(EC.frame_to_be_available_and_switch_to_it((By.CSS_SELECTOR, css)), what)

    def save_form(self, what):
        """Save (in the form's frame or page); Roundcube answers with a
        confirmation message in the main window."""
        self.element("button.submit", "the Save button of " + what, True).click()
        self.d.switch_to.default_content()
        self.wait(EC.visibility_of_element_located(
            (By.CSS_SELECTOR, "#messagestack div.confirmation")),
            "Roundcube's confirmation that %s was saved" % what)

    def evidence(self):
        """Screenshot and page source into the tmp dir; their paths."""
        out = []
        try:
            self.d.switch_to.default_content()
            png = os.path.join(self.tmp, "roundcube-failure.png")
            self.d.save_screenshot(png)
            html = os.path.join(self.tmp, "roundcube-failure.html")
            with open(html, "w") as f:
                f.write(self.d.page_source)
            out += [png, html]
        except WebDriverException as e:
            out.append("(no screenshot: %s)" % e.msg)
        return out


def set_select(select_element, value):
    Select(select_element).select_by_value(value)


def script_text(r):
    """The active script as Roost stores it (what the plugin uploaded)."""
    out = r.cli("sieve", "list", ALICE).stdout
    active = [l.split("\t")[0] for l in out.splitlines() if l.split("\t")[1:2] == ["active"]]
    if not active:
        return ""
    return r.cli("sieve", "get", ALICE, active[0]).stdout


def subjects(m, mailbox):
    typ, data = m.select('"%s"' % mailbox, readonly=True)
    assert typ == "OK", (mailbox, data)
    if int(data[0]) == 0:
        return []
    typ, data = m.fetch("1:*", "(BODY.PEEK[HEADER.FIELDS (SUBJECT)])")
    return sorted(item[1].decode().split(":", 1)[1].strip()
                  for item in data if isinstance(item, tuple))



def show_evidence(ui, site):
    """What a failed browser step leaves for the reader: screenshots and
    page sources, the step, the web server's logs."""
    for p in ui.evidence():
        print("roundcube evidence:", p)
    print("failed at:", ui.step)
    print(site.read_logs())

def test_filter_and_vacation_made_in_roundcube_act_on_delivered_mail(setup, tmp_path):
    started = time.time()
    r, site, driver, sink = setup
    # the target folder exists before the filter is made (the filter
    # form lists the account's folders)
    m = imaplib.IMAP4("127.0.0.1", r.port("imap"))
    m.login(ALICE, "secret")
    assert m.create("Invoices")[0] == "OK"
    m.subscribe("Invoices")
    m.logout()

    ui = Ui(driver, site, tmp_path)
    try:
        ui.login(ALICE, "secret")

        # Settings > Filters > Create: Subject contains "invoice" -> Invoices
        ui.settings_section("a.filter", "Filters in the settings list")
        ui.element("a.create[onclick*='managesieve-add']", "the Create button", True).click()
        ui.frame("iframe#filter-box", "the filter form frame")
        ui.element("#_name", "the filter name field").send_keys("Invoices to their folder")
        assert Select(driver.find_element(By.ID, "header0")).first_selected_option \
            .get_attribute("value") == "subject"
        set_select(driver.find_element(By.ID, "rule_op0"), "contains")
        ui.element("input[name='_rule_target[0][]']", "the rule's value field") \
            .send_keys("invoice")
        set_select(driver.find_element(By.ID, "action_type0"), "fileinto")
        set_select(ui.element("#action_mailbox0", "the folder list of the action"),
                   "Invoices")
        ui.save_form("the filter")
        ui.wait(lambda d: "fileinto" in script_text(r),
                "the filter stored over ManageSieve")
        # the new filter is listed
        ui.wait(EC.text_to_be_present_in_element((By.ID, "filterslist"),
                                                 "Invoices to their folder"),
                "the new filter in the list")

        # Settings > Out of Office: subject, body, once a day, on (the
        # form is the page itself, no frame)
        ui.settings_section("a.vacation", "Out of Office in the settings list")
        ui.element("#vacation_subject", "the vacation subject field").send_keys(VACATION_SUBJECT)
        ui.element("#vacation_reason", "the vacation body field").send_keys(VACATION_BODY)
        interval = ui.element("#vacation_interval", "the reply interval field")
        interval.clear()
        interval.send_keys("1")
        set_select(driver.find_element(By.NAME, "vacation_interval_type"), "days")
        set_select(driver.find_element(By.ID, "vacation_status"), "on")
        ui.save_form("the vacation reply")
        ui.wait(lambda d: "vacation" in script_text(r),
                "the vacation rule stored over ManageSieve")
    except Exception:
        show_evidence(ui, site)
        raise

    script = script_text(r)
    assert re.search(r'header :contains "subject" "invoice"', script, re.I), script
    assert 'fileinto "Invoices"' in script, script
    assert VACATION_SUBJECT in script and VACATION_BODY in script, script
    assert re.search(r"vacation :days 1\b", script), script

    # mail arrives: the rules Roundcube wrote act on it
    out = lmtp(r, msg("Your invoice 2026-117", frm=CAROL), [ALICE], mail_from=CAROL)
    assert out[0][0] == 250, out
    out = lmtp(r, msg("Lunch on Friday?", frm=CAROL, mid="<lunch@remote.test>"),
               [ALICE], mail_from=CAROL)
    assert out[0][0] == 250, out

    m = imaplib.IMAP4("127.0.0.1", r.port("imap"))
    m.login(ALICE, "secret")
    assert subjects(m, "Invoices") == ["Your invoice 2026-117"]
    assert subjects(m, "INBOX") == ["Lunch on Friday?"]
    m.logout()

    # one vacation reply to the outside sender, not one per message
    assert wait_for(lambda: len(sink.messages) >= 1, timeout=20), \
        r.cli("queue", "list").stdout + r.read_log()[-3000:]
    time.sleep(2)
    assert len(sink.messages) == 1, [x[1] for x in sink.messages]
    mail_from, rcpts, data = sink.messages[0]
    assert mail_from.startswith("<>") and rcpts == [CAROL], (mail_from, rcpts)
    reply = email.message_from_bytes(data)
    assert reply["Subject"] == VACATION_SUBJECT
    assert reply["Auto-Submitted"] == "auto-replied"
    assert VACATION_BODY in reply.get_payload(decode=True).decode()
    assert time.time() - started < 90


RAW_GOOD = 'require ["fileinto"];\nif header :contains "subject" "x" { fileinto "Junk"; }\n'
# line 3 holds the mistake: a command that does not exist
RAW_BAD = 'require ["fileinto"];\n# a comment\nfrobnicate "x";\nkeep;\n'


def test_raw_editor_marks_the_line_a_compile_error_names(setup, tmp_path):
    """Roundcube's raw script editor finds the failing line in the
    server's PUTSCRIPT answer with /line (\\d+):/ and marks that line in
    the editor; the broken script is not stored."""
    r, site, driver, sink = setup
    r.cli("sieve", "put", ALICE, "roundcube", input=RAW_GOOD)
    r.cli("sieve", "activate", ALICE, "roundcube")
    ui = Ui(driver, site, tmp_path)
    try:
        ui.login(ALICE, "secret")
        ui.step = "open the raw editor of the script"
        driver.get(site.url + "?_task=settings&_action=plugin.managesieve-action"
                   "&_framed=1&_seteditraw=1&_set=roundcube")
        ui.element("#filtersetrawform .CodeMirror", "the raw editor")
        ui.step = "replace the script and save it"
        driver.execute_script(
            "var cm = document.querySelector('#filtersetrawform .CodeMirror').CodeMirror;"
            "cm.setValue(arguments[0]); cm.save();"
            "document.getElementById('filtersetrawform').submit();", RAW_BAD)
        marked = ui.element("#filtersetrawform .CodeMirror .line-error",
                            "the line the error names, marked")
        lines = driver.execute_script(
            "var cm = document.querySelector('#filtersetrawform .CodeMirror').CodeMirror;"
            "var out = []; cm.eachLine(function (h) {"
            " if ((h.bgClass || '').indexOf('line-error') >= 0) out.push(cm.getLineNumber(h) + 1); });"
            "return out;")
        gutter = driver.execute_script(
            "var cm = document.querySelector('#filtersetrawform .CodeMirror').CodeMirror;"
            "var g = cm.lineInfo(2).gutterMarkers;"
            "return g && g.errorGutter ? g.errorGutter.title : '';")
    except Exception:
        show_evidence(ui, site)
        raise
    assert marked is not None
    assert lines == [3], lines
    assert "frobnicate" in gutter, gutter
    # nothing stored: the script is still the good one
    assert r.cli("sieve", "get", ALICE, "roundcube").stdout == RAW_GOOD
